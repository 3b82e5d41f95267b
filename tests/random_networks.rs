//! Random networks (tests/common): determinism, chunking and batching invariants of the CPU
//! engine. Each test prints its seeds; replay one with `SPIKEGPU_SEED=<seed>`.

mod common;

use common::*;
use serde_json::Value;
use spikegpu::model::file;
use spikegpu::sim::MonitorData;

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
        let counts = lif_spike_counts(&net, &run);
        println!("{ctx}: batch {}, LIF spikes {counts:?}", net.batch);
        total += counts.len();
        spiking += counts.iter().filter(|c| c.1 > 0).count();
        assert!(counts.iter().any(|c| c.1 > 0), "{ctx}: no LIF neuron spiked");
        for (m, d) in net.monitors.iter().zip(&run) {
            if let MonitorData::F32(x) = d {
                assert!(x.iter().all(|v| v.is_finite()), "{ctx}: {} is not finite", m.name);
            }
        }
    }
    assert!(spiking * 3 >= total * 2, "fewer than 2/3 of LIF populations spiked ({spiking}/{total})");
}

#[test]
fn two_runs_are_bit_identical() {
    for seed in test_seeds(SEEDS) {
        let net = random_network(seed, &NetOpts::default());
        let a = run_cpu(&net, 1000);
        let b = run_cpu(&net, 1000);
        assert_bit_identical(&net, &a, &b, &format!("seed {seed}: run 1 against run 2"));
        // and the comparison helper agrees that they match with zero error
        let rep = compare_runs(&net, &a, &b, &Tol::exact());
        rep.assert_ok(&format!("seed {seed}"));
        assert!(rep.monitors.iter().all(|m| m.max_err == 0.0), "seed {seed}: {rep}");
    }
}

#[test]
fn chunk_sizes_do_not_change_the_monitors() {
    for seed in test_seeds(SEEDS) {
        let net = random_network(seed, &NetOpts { steps: 333, ..NetOpts::default() });
        let reference = run_cpu(&net, 1000);
        for chunk in [1, 7, 333, 1000] {
            let run = run_cpu(&net, chunk);
            assert_bit_identical(&net, &run, &reference, &format!("seed {seed}: chunk {chunk} against chunk 1000"));
        }
    }
}

/// Row `b` of a batched run equals a batch-1 run started from row `b`'s V_init, bit for bit
/// (sources and connectivity are shared; rows never mix). With a V_init that is the same in every
/// row, all rows are also identical to each other.
#[test]
fn batch_rows_equal_batch_one_runs() {
    for (k, seed) in test_seeds(SEEDS).into_iter().enumerate() {
        let mode = if k % 2 == 0 { VInitMode::SameInEveryRow } else { VInitMode::Any };
        let batch = 3;
        let v = random_network_json(seed, &NetOpts { batch: Some(batch), v_init: mode, steps: 300, ..NetOpts::default() });
        let big = file::parse(&v.to_string()).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let big_run = run_cpu(&big, 1000);
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
            let small_run = run_cpu(&small, 1000);
            // Row b of every monitor of the batched run.
            let row_b: Vec<MonitorData> = big
                .monitors
                .iter()
                .zip(&big_run)
                .map(|(m, d)| {
                    let n = big.target_size(m.target);
                    let pick = |len: usize| (0..len / (batch * n)).flat_map(move |s| (s * batch + b) * n..(s * batch + b + 1) * n);
                    match d {
                        MonitorData::F32(x) => MonitorData::F32(pick(x.len()).map(|i| x[i]).collect()),
                        MonitorData::Spike(x) => MonitorData::Spike(pick(x.len()).map(|i| x[i]).collect()),
                    }
                })
                .collect();
            assert_bit_identical(&small, &row_b, &small_run, &format!("seed {seed} ({mode:?}): batch row {b} against a batch-1 run"));
            if mode == VInitMode::SameInEveryRow && b > 0 {
                let row0: Vec<MonitorData> = big
                    .monitors
                    .iter()
                    .zip(&big_run)
                    .map(|(m, d)| {
                        let n = big.target_size(m.target);
                        let pick = |len: usize| (0..len / (batch * n)).flat_map(move |s| (s * batch) * n..(s * batch + 1) * n);
                        match d {
                            MonitorData::F32(x) => MonitorData::F32(pick(x.len()).map(|i| x[i]).collect()),
                            MonitorData::Spike(x) => MonitorData::Spike(pick(x.len()).map(|i| x[i]).collect()),
                        }
                    })
                    .collect();
                assert_bit_identical(&small, &row_b, &row0, &format!("seed {seed}: batch row {b} against row 0"));
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
        compare_runs(&net, &a, &a, &Tol::golden()).assert_ok(&format!("seed {seed}: self-comparison"));
        let mut w = v.clone();
        let lif = w["populations"].as_array_mut().unwrap().iter_mut().find(|p| p["model"] == "lif_ref").unwrap();
        lif["V_init"] = Value::from(-59.5);
        let net2 = file::parse(&w.to_string()).unwrap();
        let b = run_cpu(&net2, 1000);
        let rep = compare_runs(&net, &b, &a, &Tol::golden());
        println!("seed {seed}: perturbed V_init\n{rep}");
        assert!(!rep.ok(), "seed {seed}: a different V_init passed the comparison");
    }
}

/// A plan made from an owned network (what `spikegpu run` does: matrices moved or dropped once
/// transposed) holds what a plan made from a borrowed one does, in both update modes, and the
/// two CPU engines give the same bits.
#[test]
fn plan_from_an_owned_network_equals_plan_from_a_borrowed_one() {
    use spikegpu::cpu::CpuEngine;
    use spikegpu::model::plan::{Plan, UpdateMode};
    for seed in test_seeds(SEEDS) {
        let net = random_network(seed, &NetOpts::default());
        for mode in [UpdateMode::Dense, UpdateMode::Event] {
            let borrowed = Plan::with_mode(&net, mode).unwrap();
            let (owned, light) = Plan::from_network(net.clone(), mode).unwrap();
            assert_eq!(light.synapse_count(), 0, "seed {seed}: the returned network keeps no synapses");
            assert_eq!(borrowed.projections.len(), owned.projections.len());
            for (k, (a, b)) in borrowed.projections.iter().zip(&owned.projections).enumerate() {
                assert_eq!(a.post_major, b.post_major, "seed {seed} {mode:?}: projection {k}, post-major matrix");
                assert_eq!(a.pre_major, b.pre_major, "seed {seed} {mode:?}: projection {k}, pre-major matrix");
                assert_eq!(a.weights, b.weights, "seed {seed} {mode:?}: projection {k}, weights");
                assert_eq!(a.event_scale.to_bits(), b.event_scale.to_bits(), "seed {seed} {mode:?}: projection {k}, event scale");
            }
            let mut e1 = CpuEngine::with_mode(&net, mode).unwrap();
            let mut e2 = CpuEngine::from_network(net.clone(), mode).unwrap();
            let (a, b) = (run_backend(&mut e1, &net, 100).0, run_backend(&mut e2, &net, 100).0);
            assert_bit_identical(&net, &a, &b, &format!("seed {seed} {mode:?}: owned against borrowed"));
        }
    }
}
