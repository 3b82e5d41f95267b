//! Random networks (tests/common/random.rs) on every engine: determinism, chunking and batching
//! invariants, the GPU engine against the CPU engine, and networks of every model (`lif` and
//! `lif_ref` with `I_ext`, AMPA, GABAa, Expon and DualExponV2 aligned pre and post, DualExpon,
//! Alpha, NMDA; COBA, CUBA and MgBlock outputs; delays; merged post-aligned projections): CPU
//! dense against CPU event against the GPU in both modes. Each test prints its seeds; replay one
//! with `SPIKEGPU_SEED=<seed>`.
//!
//! Where the arithmetic is the same (the same update mode on the CPU and the GPU, and no `nmda`
//! synapse or `mg_block` output, which divide at run time: see
//! `common::golden::divides_at_run_time`) the runs must be bit-identical; otherwise they are held
//! to the golden README's tolerances. Population sizes are off the workgroup multiple (64), and
//! initial potentials and the input currents differ per neuron and batch row, so an element a
//! kernel failed to write (left at zero, or holding another chunk's value: chunks of 7 and 333
//! steps reuse the buffers) differs from the CPU's value.

mod common;

use common::golden::divides_at_run_time;
use common::*;
use serde_json::Value;
use spikegpu::model::file;
use spikegpu::plan::Plan;
use spikegpu::CpuEngine;

const SEEDS: usize = 6;

/// The generator makes what it promises, and its drive makes LIF neurons spike.
#[test]
fn random_networks_have_every_feature_and_spike() {
    let (mut spiking, mut total) = (0, 0);
    for seed in test_seeds(SEEDS * 2) {
        let v = random_network_json(seed, &NetOpts::default());
        let net = file::parse(&v.to_string()).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let ctx = format!("seed {seed}");
        assert!(net.populations.iter().all(|p| p.size % 64 != 0), "{ctx}: a size is a multiple of 64");
        assert!(net.projections.iter().any(|p| p.pre == p.post), "{ctx}: no self projection");
        let mut posts: Vec<usize> = net.projections.iter().map(|p| p.post).collect();
        posts.sort();
        assert!(posts.windows(2).any(|w| w[0] == w[1]), "{ctx}: no population with two projections onto it");
        assert!(
            net.projections.iter().any(|p| p.conn.n_rows > 1 && (0..p.conn.n_rows).any(|r| p.conn.row(r).is_empty())),
            "{ctx}: no empty CSR row"
        );
        let kinds: std::collections::HashSet<_> = net.monitors.iter().map(|m| std::mem::discriminant(&m.target)).collect();
        assert_eq!(kinds.len(), 6, "{ctx}: not every monitor kind");
        let run = run_cpu(&net, 1000);
        let counts = lif_spike_counts(&run);
        println!("{ctx}: batch {}, LIF spikes {counts:?}", net.batch);
        total += counts.len();
        spiking += counts.iter().filter(|c| c.1 > 0).count();
        assert!(counts.iter().any(|c| c.1 > 0), "{ctx}: no LIF neuron spiked");
        for (m, d) in net.monitors.iter().zip(&run.data) {
            if let MonitorData::F32(x) = d {
                assert!(x.iter().all(|v| v.is_finite()), "{ctx}: {} is not finite", m.name);
            }
        }
    }
    assert!(spiking * 3 >= total * 2, "fewer than 2/3 of LIF populations spiked ({spiking}/{total})");
}

/// The generator of every model makes what it promises.
#[test]
fn model_networks_have_every_model() {
    use spikegpu::model::Align;
    let mut seen = std::collections::BTreeSet::new();
    for seed in test_seeds(SEEDS * 2) {
        let net = random_network(seed, &NetOpts { models: Models::All, ..Default::default() });
        let ctx = format!("seed {seed}");
        assert!(net.populations.iter().all(|p| p.size % 64 != 0), "{ctx}: a size is a multiple of 64");
        // a merged pair of post-aligned projections: the same post, synapse and output
        let post: Vec<_> = net.projections.iter().filter(|p| p.align == Align::Post).collect();
        assert!(
            post.iter().enumerate().any(|(i, a)| post[i + 1..].iter().any(|b| a.post == b.post && a.synapse.same_state_as(&b.synapse) && a.output.same_as(&b.output))),
            "{ctx}: no merged post-aligned projections"
        );
        assert!(post.iter().any(|p| net.populations[p.pre].is_lif() && p.delay_ms.is_some()), "{ctx}: no delayed post-aligned projection from a LIF population");
        for p in &net.projections {
            seen.insert(format!("{}/{:?}", p.synapse.model_name(), p.align));
            seen.insert(p.output.model_name().to_string());
        }
        for p in &net.populations {
            seen.insert(p.model_name().to_string());
            if p.i_ext.is_some() {
                seen.insert("I_ext".into());
            }
        }
    }
    println!("models seen: {seen:?}");
    if std::env::var("SPIKEGPU_SEED").is_err() {
        for m in ["lif", "lif_ref", "I_ext", "coba", "cuba", "mg_block", "expon/Pre", "expon/Post", "nmda/Pre", "alpha/Pre"] {
            assert!(seen.contains(m), "{} random networks never used {m}", SEEDS * 2);
        }
    }
}

#[test]
fn two_runs_are_bit_identical() {
    let test = "two_runs_are_bit_identical";
    for kind in engines(test) {
        for seed in test_seeds(if kind == EngineKind::Cpu { SEEDS } else { 2 }) {
            let net = random_network(seed, &NetOpts::default());
            let a = run(kind, &net, UpdateMode::Dense, 1000);
            let b = run(kind, &net, UpdateMode::Dense, 1000);
            a.assert_bit_identical(&b, &format!("seed {seed} {kind}: run 1 against run 2"));
            // and the comparison helper agrees that they match with zero error
            let rep = compare_runs(&a, &b, &Tolerance::exact(), &format!("seed {seed}"));
            assert_ok(&rep, &format!("seed {seed}"));
            assert!(rep.monitors.iter().all(|m| m.max_err == 0.0), "seed {seed}: {rep}");
        }
    }
}

#[test]
fn chunk_sizes_do_not_change_the_monitors() {
    let test = "chunk_sizes_do_not_change_the_monitors";
    for kind in engines(test) {
        let seeds = test_seeds(if kind == EngineKind::Cpu { SEEDS } else { 1 });
        for (k, seed) in seeds.into_iter().enumerate() {
            let models = if k % 2 == 0 { Models::Kinetic } else { Models::All };
            let net = random_network(seed, &NetOpts { steps: 333, batch: Some(3), models, ..NetOpts::default() });
            for mode in MODES {
                let reference = run(kind, &net, mode, 1000);
                for chunk in [1, 7, 333] {
                    let other = run(kind, &net, mode, chunk);
                    other.assert_bit_identical(&reference, &format!("seed {seed} {kind} {mode} {models:?}: chunk {chunk} against chunk 1000"));
                }
            }
        }
    }
}

/// Row `b` of a batched run equals a batch-1 run started from row `b`'s V_init, bit for bit
/// (sources and connectivity are shared; rows never mix). With a V_init that is the same in every
/// row, all rows are also identical to each other.
#[test]
fn batch_rows_equal_batch_one_runs() {
    let test = "batch_rows_equal_batch_one_runs";
    for kind in engines(test) {
        let seeds = test_seeds(if kind == EngineKind::Cpu { SEEDS } else { 2 });
        for (k, seed) in seeds.into_iter().enumerate() {
            let mode = if k % 2 == 0 { VInitMode::SameInEveryRow } else { VInitMode::Any };
            let models = if k % 3 == 2 { Models::All } else { Models::Kinetic };
            let batch = 3;
            let v = random_network_json(seed, &NetOpts { batch: Some(batch), v_init: mode, steps: 300, models, ..NetOpts::default() });
            let big = file::parse(&v.to_string()).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            let big_run = run(kind, &big, UpdateMode::Dense, 1000);
            for b in 0..batch {
                let mut one = v.clone();
                one["batch"] = Value::from(1);
                for p in one["populations"].as_array_mut().unwrap() {
                    if let Some(Value::Array(rows)) = p.get("V_init") {
                        if rows.first().is_some_and(Value::is_array) {
                            p["V_init"] = rows[b].clone();
                        }
                    }
                }
                let small = file::parse(&one.to_string()).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
                let small_run = run(kind, &small, UpdateMode::Dense, 1000);
                let row_b = batch_row(&big_run.layout, &big_run.data, b);
                assert_bit_identical(&small_run.layout, &row_b, &small_run.data, &format!("seed {seed} {kind} ({mode:?}, {models:?}): batch row {b} against a batch-1 run"));
                if mode == VInitMode::SameInEveryRow && b > 0 {
                    let row0 = batch_row(&big_run.layout, &big_run.data, 0);
                    assert_bit_identical(&small_run.layout, &row_b, &row0, &format!("seed {seed} {kind}: batch row {b} against row 0"));
                }
            }
        }
    }
}

/// The README comparison accepts a run against itself and rejects a run of a perturbed network
/// (a different V_init in one population), naming a monitor.
#[test]
fn compare_runs_detects_a_different_network() {
    for seed in test_seeds(3) {
        let v = random_network_json(seed, &NetOpts::default());
        let net = file::parse(&v.to_string()).unwrap();
        let a = run_cpu(&net, 1000);
        assert_ok(&compare_runs(&a, &a, &Tolerance::recurrent(), "self"), &format!("seed {seed}: self-comparison"));
        let mut w = v.clone();
        let lif = w["populations"].as_array_mut().unwrap().iter_mut().find(|p| p["model"] == "lif_ref").unwrap();
        lif["V_init"] = Value::from(-59.5);
        let net2 = file::parse(&w.to_string()).unwrap();
        let b = run_cpu(&net2, 1000);
        let rep = compare_runs(&b, &a, &Tolerance::recurrent(), "perturbed against original");
        println!("seed {seed}: perturbed V_init\n{rep}");
        assert!(!rep.ok(), "seed {seed}: a different V_init passed the comparison");
    }
}

/// A plan made from an owned network (what `spikegpu run` does: matrices moved or dropped once
/// transposed) holds what a plan made from a borrowed one does, in both update modes, and the
/// two CPU engines give the same bits.
#[test]
fn plan_from_an_owned_network_equals_plan_from_a_borrowed_one() {
    for (k, seed) in test_seeds(SEEDS).into_iter().enumerate() {
        let models = if k % 2 == 0 { Models::Kinetic } else { Models::All };
        let net = random_network(seed, &NetOpts { models, ..NetOpts::default() });
        for mode in MODES {
            let borrowed = Plan::new(&net, mode).unwrap();
            let owned = Plan::from_network(net.clone(), mode).unwrap();
            assert_eq!(borrowed.synapses, owned.synapses, "seed {seed}: synapse counts");
            assert_eq!(borrowed.projections.len(), owned.projections.len());
            for (k, (a, b)) in borrowed.projections.iter().zip(&owned.projections).enumerate() {
                assert_eq!(a.matrix, b.matrix, "seed {seed} {mode:?}: projection {k}, matrix and weights");
                assert_eq!(format!("{:?}", a.product), format!("{:?}", b.product), "seed {seed} {mode:?}: projection {k}, product (event scale)");
            }
            let mut e1 = CpuEngine::new(&net, mode).unwrap();
            let mut e2 = CpuEngine::from_network(net.clone(), mode).unwrap();
            let (a, b) = (run_engine(&mut e1, &net, 100, "borrowed"), run_engine(&mut e2, &net, 100, "owned"));
            a.assert_bit_identical(&b, &format!("seed {seed} {mode:?}: owned against borrowed"));
        }
    }
}

/// GPU against CPU under the README's rules, and bit for bit where the arithmetic is the same.
fn assert_gpu_matches_cpu(label: &str, net: &spikegpu::Network, gpu: &Run, cpu: &Run) {
    let rep = compare_runs(gpu, cpu, &Tolerance::recurrent(), &format!("{label}: GPU against CPU"));
    let identical = gpu.bit_identical(cpu);
    eprintln!("{label}: GPU vs CPU: {}", if identical { "bit-identical" } else { "not bit-identical" });
    assert_ok(&rep, &format!("{label}: GPU against CPU"));
    if !divides_at_run_time(net) {
        gpu.assert_bit_identical(cpu, &format!("{label}: GPU against CPU (no division at run time)"));
    }
}

#[test]
fn random_networks_gpu_matches_cpu() {
    let test = "random_networks_gpu_matches_cpu";
    if !has_gpu(test) {
        return;
    }
    // (a software adapter runs a few hundred steps a second: the runs are kept short; the
    // comparison is bit for bit, so a difference shows at its first step)
    for (mode, seeds, steps) in [(UpdateMode::Dense, 2, 1000), (UpdateMode::Event, 2, 600)] {
        for seed in test_seeds(seeds) {
            let net = random_network(seed, &NetOpts { steps, batch: Some(3), ..Default::default() });
            let t0 = std::time::Instant::now();
            let gpu = run(EngineKind::Gpu, &net, mode, 500);
            let t_gpu = t0.elapsed();
            let cpu = run(EngineKind::Cpu, &net, mode, 500);
            let counts = lif_spike_counts(&cpu);
            eprintln!(
                "seed {seed} ({mode}): {} populations, {} projections, {} synapses, batch {}, {} steps, GPU {t_gpu:.2?}; CPU spikes {counts:?}",
                net.populations.len(),
                net.projections.len(),
                net.synapse_count(),
                net.batch,
                net.steps
            );
            assert!(counts.iter().any(|(_, c)| *c > 0), "seed {seed}: the random network does not spike");
            assert_gpu_matches_cpu(&format!("seed {seed} ({mode})"), &net, &gpu, &cpu);
        }
    }
}

/// `[batch][n]` V_init makes the batch rows differ: the GPU must keep them apart.
#[test]
fn v_init_per_batch_row() {
    let test = "v_init_per_batch_row";
    if !has_gpu(test) {
        return;
    }
    for seed in test_seeds(2) {
        let mut j = random_network_json(seed, &NetOpts { steps: 800, batch: Some(3), v_init: VInitMode::Any, ..Default::default() });
        for p in j["populations"].as_array_mut().unwrap() {
            if p["model"] == "lif_ref" {
                let n = p["size"].as_u64().unwrap() as usize;
                let rows: Vec<Vec<f64>> = (0..3).map(|b| (0..n).map(|i| -65.0 + ((i * 7 + b * 3) % 13) as f64).collect()).collect();
                p["V_init"] = serde_json::json!(rows);
            }
        }
        let net = file::parse(&j.to_string()).unwrap();
        let gpu = run(EngineKind::Gpu, &net, UpdateMode::Dense, 300);
        let cpu = run(EngineKind::Cpu, &net, UpdateMode::Dense, 300);
        assert_gpu_matches_cpu(&format!("seed {seed} per-row V_init"), &net, &gpu, &cpu);
    }
}

/// Event mode against dense mode of one engine: within the golden tolerances, or, where a
/// threshold crossing moved by more than one step, with every trace within the tolerances and
/// the ISI rule holding (see `tests/event_mode.rs`).
fn event_close_to_dense(label: &str, event: &Run, dense: &Run) {
    let rep = compare_runs(event, dense, &Tolerance::recurrent(), &format!("{label}: event against dense"));
    if rep.ok() {
        return;
    }
    assert!(rep.monitors.iter().all(|m| m.violations == 0), "{label}: event vs dense traces\n{rep}");
    let mut want = Expected::from_run(&dense.layout, &dense.data);
    want.rule = SpikeRule::Isi;
    let isi = compare(&dense.layout, &event.data, &want, &Tolerance::recurrent(), &format!("{label}: event against dense, ISI rule"));
    assert!(isi.ok(), "{label}: event vs dense\n{rep}\n{isi}");
}

/// Networks of every model: CPU dense, CPU event, GPU dense and GPU event agree, batch 1 and 3,
/// with and without the models that divide at run time.
#[test]
fn model_networks_agree_across_engines_and_modes() {
    let test = "model_networks_agree_across_engines_and_modes";
    let kinds = engines(test);
    let seeds = test_seeds(6);
    let mut spiked = 0;
    for (k, &seed) in seeds.iter().enumerate() {
        // the CPU engine on every seed, with and without the models that divide at run time; the
        // GPU engine (slow on a software adapter) on the first two, one of each
        for divide in [false, true] {
            let on_gpu = k < 2 && divide == (k == 1);
            let batch = if k % 2 == 0 { 1 } else { 3 };
            let steps = if on_gpu { 400 } else { 1000 };
            let net = random_network(seed, &NetOpts { steps, batch: Some(batch), models: Models::All, divide, ..Default::default() });
            let label = format!("seed {seed} (batch {batch}, divide {divide})");
            let dense = run(EngineKind::Cpu, &net, UpdateMode::Dense, 250);
            let event = run(EngineKind::Cpu, &net, UpdateMode::Event, 250);
            for (m, d) in net.monitors.iter().zip(&dense.data) {
                if let MonitorData::F32(x) = d {
                    assert!(x.iter().all(|v| v.is_finite()), "{label}: {} is not finite", m.name);
                }
            }
            let counts = lif_spike_counts(&dense);
            println!("{label}: {} projections, LIF spikes {counts:?}", net.projections.len());
            spiked += counts.iter().any(|c| c.1 > 0) as usize;
            event_close_to_dense(&format!("{label} cpu"), &event, &dense);
            if on_gpu && kinds.contains(&EngineKind::Gpu) {
                for (mode, cpu) in [(UpdateMode::Dense, &dense), (UpdateMode::Event, &event)] {
                    let t0 = std::time::Instant::now();
                    let gpu = run(EngineKind::Gpu, &net, mode, 333);
                    eprintln!("{label} {mode}: GPU {:.2?}", t0.elapsed());
                    assert_gpu_matches_cpu(&format!("{label} {mode}"), &net, &gpu, cpu);
                }
            }
        }
    }
    assert!(spiked * 2 >= seeds.len() * 2, "fewer than half of the model networks spiked ({spiked} of {})", seeds.len() * 2);
}
