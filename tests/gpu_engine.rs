//! Whole networks on the GPU engine against the CPU reference engine (and against BrainPy's
//! golden traces), both run through `spikegpu::sim::run_collect`.
//!
//! Comparisons use the golden README's rules (`common::compare`): V within 1e-3 mV, g within
//! 1e-5 + 1e-4 relative, currents within 1e-3 + 1e-4 relative, spikes partnered within one
//! step with at most 2% shifted, and a neuron's traces compared only up to its first spike
//! disagreement. The GPU may legitimately differ from the CPU by FMA contraction; on lavapipe it
//! usually does not, so each test also prints whether the runs were bit-identical.
//!
//! On CI (or with `SPIKEGPU_REQUIRE_GPU=1`) a missing GPU fails these tests; otherwise they
//! print "no GPU adapter, not run" and return.

mod common;

use common::{Tol, VInitMode};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spikegpu::cpu::CpuEngine;
use spikegpu::model::plan::UpdateMode;
use spikegpu::gpu::context::gpu_required;
use spikegpu::gpu::{GpuContext, GpuEngine, GpuOptions};
use spikegpu::model::{
    Coba, Csr, LifRef, Monitor, Network, NeuronModel, Population, Projection, SpikeTimes, Synapse, SynapseKind, Target,
    VInit, Weights,
};
use spikegpu::sim::{run_collect, Backend, MonitorData};
use spikegpu::Error;
use std::time::Instant;

/// Opens a device, or `None` when there is none and none is required.
fn context(test: &str) -> Option<GpuContext> {
    match GpuContext::new() {
        Ok(ctx) => {
            eprintln!("{test}: on {} ({})", ctx.adapter_name(), ctx.backend_name());
            Some(ctx)
        }
        Err(e) if gpu_required() => panic!("{test}: a GPU is required (CI or SPIKEGPU_REQUIRE_GPU=1) but: {e}"),
        Err(e) => {
            println!("{test}: no GPU adapter, not run ({e})");
            None
        }
    }
}

/// Runs `net` on a GPU engine built with `opts` and checks that wgpu reported no error and
/// that the engine's spike counts agree with its own spike monitors.
fn run_gpu_with(test: &str, ctx: GpuContext, net: &Network, opts: GpuOptions, chunk: usize) -> (Vec<MonitorData>, GpuEngine) {
    let mut eng = GpuEngine::with_context(ctx, net, opts).unwrap_or_else(|e| panic!("{test}: GpuEngine: {e}"));
    let (data, stats) = run_collect(&mut eng, net, chunk).unwrap_or_else(|e| panic!("{test}: GPU run failed: {e}"));
    if let Err(e) = eng.context().take_errors() {
        panic!("{test}: uncaptured GPU errors: {e}");
    }
    // The spike counter (atomics in lif_update) against the recorded LIF spike flags.
    assert_eq!(stats.spike_counts.len(), net.populations.len(), "{test}: spike counts per population");
    for (name, flags) in common::lif_spike_counts(net, &data) {
        let pop = net.populations.iter().position(|p| p.name == name).unwrap();
        assert_eq!(stats.spike_counts[pop], flags as u64, "{test}: GPU spike count of {name} differs from its spike monitor");
    }
    (data, eng)
}

fn run_gpu(test: &str, net: &Network, chunk: usize) -> Option<Vec<MonitorData>> {
    let ctx = context(test)?;
    Some(run_gpu_with(test, ctx, net, GpuOptions::default(), chunk).0)
}

fn run_cpu(net: &Network, chunk: usize) -> (Vec<MonitorData>, spikegpu::sim::RunStats) {
    let mut eng = CpuEngine::new(net).unwrap_or_else(|e| panic!("CpuEngine: {e}"));
    run_collect(&mut eng, net, chunk).unwrap_or_else(|e| panic!("CPU run failed: {e}"))
}

/// Largest |a - b| per f32 monitor over the whole run (no cut-off), and the number of
/// differing spike flags per spike monitor: the raw GPU-vs-CPU difference, for the log.
fn raw_differences(net: &Network, a: &[MonitorData], b: &[MonitorData]) -> Vec<(String, String)> {
    net.monitors
        .iter()
        .zip(a.iter().zip(b))
        .map(|(m, (x, y))| {
            let d = match (x, y) {
                (MonitorData::F32(x), MonitorData::F32(y)) => {
                    let max = x.iter().zip(y).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
                    let exact = x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits());
                    format!("max |gpu-cpu| {max:.3e}{}", if exact { " (bit-identical)" } else { "" })
                }
                (MonitorData::Spike(x), MonitorData::Spike(y)) => {
                    let n = x.iter().zip(y).filter(|(p, q)| p != q).count();
                    format!("{n} differing spike flags of {} spikes", y.iter().filter(|&&s| s != 0).count())
                }
                _ => panic!("monitor {} kinds differ", m.name),
            };
            (m.name.clone(), d)
        })
        .collect()
}

fn bit_identical(a: &[MonitorData], b: &[MonitorData]) -> bool {
    a.iter().zip(b).all(|(x, y)| match (x, y) {
        (MonitorData::F32(x), MonitorData::F32(y)) => x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()),
        (MonitorData::Spike(x), MonitorData::Spike(y)) => x == y,
        _ => false,
    })
}

/// GPU against CPU under the README's rules; prints the report and the raw differences.
fn assert_gpu_matches_cpu(label: &str, net: &Network, gpu: &[MonitorData], cpu: &[MonitorData]) {
    let rep = common::compare_runs(net, gpu, cpu, &Tol::golden());
    if bit_identical(gpu, cpu) {
        eprintln!("{label}: GPU vs CPU: all {} monitors bit-identical", net.monitors.len());
    } else {
        eprintln!("{label}: GPU vs CPU:");
        for (name, d) in raw_differences(net, gpu, cpu) {
            eprintln!("  {label}: {name:<24} {d}");
        }
    }
    rep.assert_ok(&format!("{label}: GPU against CPU"));
}

// ---------------------------------------------------------------------------------------------
// Golden cases
// ---------------------------------------------------------------------------------------------

#[test]
fn golden_cases_on_gpu_match_brainpy_and_cpu() {
    let test = "golden_cases_on_gpu_match_brainpy_and_cpu";
    let Some(_probe) = context(test) else { return };
    drop(_probe);
    let paths = common::golden_case_paths();
    let mut problems = Vec::new();
    for path in &paths {
        let case = common::load_golden(path);
        let net = &case.net;
        let t0 = Instant::now();
        let gpu = run_gpu(test, net, 256).expect("GPU present");
        let t_gpu = t0.elapsed();
        let (cpu, _) = run_cpu(net, 256);
        let golden = common::compare(net, &gpu, &case.expected, &Tol::golden(), &format!("{} GPU vs BrainPy", case.name));
        let vs_cpu = common::compare_runs(net, &gpu, &cpu, &Tol::golden());
        eprintln!("{} ({} steps, GPU {:.2?}): GPU vs BrainPy {}", case.name, net.steps, t_gpu, if golden.ok() { "OK" } else { "FAIL" });
        for m in &golden.monitors {
            eprintln!("  {}: GPU vs BrainPy {:<14} max |err| {:.3e} ({} values)", case.name, m.name, m.max_err, m.compared);
        }
        for s in &golden.spikes {
            eprintln!("  {}: GPU vs BrainPy spikes {}: expected {}, got {}, shifted {}", case.name, s.pop, s.expected, s.got, s.shifted);
        }
        eprintln!("  {}: GPU vs CPU{}", case.name, if bit_identical(&gpu, &cpu) { " (bit-identical)" } else { "" });
        for (name, d) in raw_differences(net, &gpu, &cpu) {
            eprintln!("  {}: GPU vs CPU {name:<14} {d}", case.name);
        }
        if !golden.ok() {
            problems.push(format!("{}", golden));
        }
        if !vs_cpu.ok() {
            problems.push(format!("{} GPU vs CPU:\n{}", case.name, vs_cpu));
        }
    }
    assert!(problems.is_empty(), "{} golden comparison(s) failed:\n{}", problems.len(), problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Random networks
// ---------------------------------------------------------------------------------------------

#[test]
fn random_networks_gpu_matches_cpu() {
    let test = "random_networks_gpu_matches_cpu";
    if context(test).is_none() {
        return;
    }
    for seed in common::test_seeds(3) {
        let net = common::random_network(seed, &common::NetOpts { steps: 3000, batch: Some(3), ..Default::default() });
        let t0 = Instant::now();
        let gpu = run_gpu(test, &net, 500).expect("GPU present");
        let t_gpu = t0.elapsed();
        let (cpu, _) = run_cpu(&net, 500);
        let counts = common::lif_spike_counts(&net, &cpu);
        eprintln!(
            "seed {seed}: {} populations, {} projections, {} synapses, batch {}, {} steps, GPU {t_gpu:.2?}; CPU spikes {counts:?}",
            net.populations.len(),
            net.projections.len(),
            net.synapse_count(),
            net.batch,
            net.steps
        );
        assert!(counts.iter().any(|(_, c)| *c > 0), "seed {seed}: the random network does not spike");
        assert_gpu_matches_cpu(&format!("seed {seed}"), &net, &gpu, &cpu);
    }
}

#[test]
fn chunk_sizes_give_identical_gpu_monitors() {
    let test = "chunk_sizes_give_identical_gpu_monitors";
    if context(test).is_none() {
        return;
    }
    for seed in common::test_seeds(1) {
        let net = common::random_network(seed, &common::NetOpts { steps: 600, batch: Some(3), ..Default::default() });
        let reference = run_gpu(test, &net, 1000).expect("GPU present");
        for chunk in [1usize, 7] {
            let other = run_gpu(test, &net, chunk).expect("GPU present");
            common::assert_bit_identical(&net, &other, &reference, &format!("seed {seed}: chunk {chunk} against chunk 1000"));
        }
        // and the GPU is still the CPU's twin here
        let (cpu, _) = run_cpu(&net, 1000);
        common::compare_runs(&net, &reference, &cpu, &Tol::golden()).assert_ok(&format!("seed {seed}: GPU against CPU"));
    }
}

#[test]
fn sliced_projections_give_identical_monitors() {
    let test = "sliced_projections_give_identical_monitors";
    let Some(ctx) = context(test) else { return };
    let base = common::test_seeds(1)[0];
    {
        // Bindings as small as the longest post row allows (4 bytes per synapse), so any
        // projection with more synapses than that is cut. A random network whose every projection
        // fits in its longest row (it happens: one of 34 synapses) cannot be cut; take the next
        // seed then.
        let max_row = |net: &Network| {
            net.projections
                .iter()
                .map(|p| {
                    let mut deg = vec![0usize; p.conn.n_cols];
                    p.conn.indices.iter().for_each(|&j| deg[j as usize] += 1);
                    deg.into_iter().max().unwrap_or(0)
                })
                .max()
                .unwrap_or(0)
        };
        let (seed, net) = (0..100u64)
            .map(|k| base.wrapping_add(k))
            .map(|seed| (seed, common::random_network(seed, &common::NetOpts { steps: 400, batch: Some(3), ..Default::default() })))
            .find(|(_, net)| net.projections.iter().any(|p| p.conn.nnz() > max_row(net)))
            .unwrap_or_else(|| panic!("seeds {base}..+100: no random network with a projection to cut"));
        let bytes = 4 * max_row(&net).max(1) as u64;
        let (whole, e1) = run_gpu_with(test, ctx, &net, GpuOptions::default(), 100);
        let (sliced, e2) = run_gpu_with(test, GpuContext::new().unwrap(), &net, GpuOptions { max_binding_bytes: Some(bytes), ..Default::default() }, 100);
        eprintln!(
            "seed {seed}: {} dispatches per step unsliced, {} sliced ({} synapses, {bytes}-byte bindings)",
            e1.dispatches_per_step(),
            e2.dispatches_per_step(),
            net.synapse_count()
        );
        assert!(
            e2.dispatches_per_step() > e1.dispatches_per_step(),
            "seed {seed}: max_binding_bytes {bytes} did not cut any projection into slices"
        );
        common::assert_bit_identical(&net, &sliced, &whole, &format!("seed {seed}: sliced ({bytes}-byte bindings) against unsliced"));
    }
}

// ---------------------------------------------------------------------------------------------
// Networks built in Rust
// ---------------------------------------------------------------------------------------------

fn lif_pop(name: &str, size: usize, v_init: VInit) -> Population {
    Population {
        name: name.into(),
        size,
        model: NeuronModel::LifRef(LifRef { v_rest: -60.0, v_th: -50.0, v_reset: -60.0, tau: 20.0, tau_ref: 5.0, r: 1.0, v_init }),
    }
}

/// `size` spike sources, each firing `per_neuron` times at random steps of `0..steps`.
fn source_pop(rng: &mut ChaCha8Rng, name: &str, size: usize, per_neuron: usize, steps: usize, dt: f32) -> Population {
    let mut indices = Vec::new();
    let mut times = Vec::new();
    for i in 0..size {
        for _ in 0..per_neuron {
            indices.push(i as u32);
            times.push(rng.random_range(0..steps) as f32 * dt);
        }
    }
    Population { name: name.into(), size, model: NeuronModel::SpikeTimes(SpikeTimes { indices, times, rows: Vec::new() }) }
}

/// A pre-major CSR in which every post neuron has `k` distinct random pre neurons.
fn in_degree_csr(rng: &mut ChaCha8Rng, n_pre: usize, n_post: usize, k: usize) -> Csr {
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); n_pre];
    let mut seen = vec![u32::MAX; n_pre];
    for j in 0..n_post {
        let mut got = 0;
        while got < k.min(n_pre) {
            let i = rng.random_range(0..n_pre);
            if seen[i] != j as u32 {
                seen[i] = j as u32;
                rows[i].push(j as u32);
                got += 1;
            }
        }
    }
    let mut indptr = vec![0u32];
    let mut indices = Vec::new();
    for r in rows {
        indices.extend(r);
        indptr.push(indices.len() as u32);
    }
    Csr { n_rows: n_pre, n_cols: n_post, indptr, indices }
}

#[allow(clippy::too_many_arguments)]
fn projection(
    rng: &mut ChaCha8Rng,
    name: &str,
    pre: usize,
    post: usize,
    kind: SynapseKind,
    delay_ms: Option<f64>,
    conn: Csr,
    w: (f32, f32),
    e: f32,
) -> Projection {
    let weights = if w.0 == w.1 {
        Weights::Shared(w.0)
    } else {
        Weights::PerSynapse((0..conn.nnz()).map(|_| rng.random_range(w.0..w.1)).collect())
    };
    Projection { name: name.into(), pre, post, synapse: Synapse::default_for(kind), delay_ms, conn, weights, output: Coba { e } }
}

fn monitor(name: &str, target: Target) -> Monitor {
    Monitor { name: name.into(), target, format: Default::default() }
}

/// ~6000 neurons, ~265k synapses: sources → E (4000) and I (1000), E→E and E→I (AMPA), I→E and
/// I→I (GABAa), delays, shared and per-synapse weights, 1000 steps.
fn large_network(seed: u64) -> Network {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (dt, steps) = (0.1f32, 1000usize);
    let v_init = |rng: &mut ChaCha8Rng, n: usize| VInit::PerNeuron((0..n).map(|_| rng.random_range(-62.0f32..-51.0)).collect());
    let (n_src, n_e, n_i) = (1000, 4000, 1000);
    let populations = vec![
        source_pop(&mut rng, "src", n_src, 5, steps, dt),
        lif_pop("E", n_e, v_init(&mut rng, n_e)),
        lif_pop("I", n_i, v_init(&mut rng, n_i)),
    ];
    let (src, e, i) = (0, 1, 2);
    let mut projections = Vec::new();
    let c = in_degree_csr(&mut rng, n_src, n_e, 20);
    projections.push(projection(&mut rng, "se", src, e, SynapseKind::Ampa, Some(0.5), c, (0.1, 0.4), 0.0));
    let c = in_degree_csr(&mut rng, n_src, n_i, 20);
    projections.push(projection(&mut rng, "si", src, i, SynapseKind::Ampa, None, c, (0.25, 0.25), 0.0));
    let c = in_degree_csr(&mut rng, n_e, n_e, 20);
    projections.push(projection(&mut rng, "ee", e, e, SynapseKind::Ampa, Some(1.0), c, (0.01, 0.05), 0.0));
    let c = in_degree_csr(&mut rng, n_e, n_i, 20);
    projections.push(projection(&mut rng, "ei", e, i, SynapseKind::Ampa, Some(0.2), c, (0.03, 0.03), 0.0));
    let c = in_degree_csr(&mut rng, n_i, n_e, 15);
    projections.push(projection(&mut rng, "ie", i, e, SynapseKind::Gabaa, None, c, (0.02, 0.08), -80.0));
    let c = in_degree_csr(&mut rng, n_i, n_i, 5);
    projections.push(projection(&mut rng, "ii", i, i, SynapseKind::Gabaa, Some(0.3), c, (0.05, 0.05), -80.0));
    let monitors = vec![
        monitor("E.V", Target::PopV(e)),
        monitor("E.spike", Target::PopSpike(e)),
        monitor("E.input", Target::PopInput(e)),
        monitor("E.current", Target::PopCurrent(e)),
        monitor("I.V", Target::PopV(i)),
        monitor("I.spike", Target::PopSpike(i)),
        monitor("se.g", Target::ProjG(0)),
        monitor("ee.g", Target::ProjG(2)),
        monitor("ie.current", Target::ProjCurrent(4)),
        monitor("src.spike", Target::PopSpike(src)),
    ];
    let net = Network { dt: dt as f64, steps, batch: 1, populations, projections, monitors };
    net.validate().unwrap_or_else(|e| panic!("seed {seed}: large network invalid: {e}"));
    net
}

#[test]
fn large_recurrent_network_gpu_matches_cpu() {
    let test = "large_recurrent_network_gpu_matches_cpu";
    let Some(ctx) = context(test) else { return };
    let seed = common::test_seeds(1)[0];
    let t0 = Instant::now();
    let net = large_network(seed);
    let t_build = t0.elapsed();
    let t0 = Instant::now();
    let (gpu, _) = run_gpu_with(test, ctx, &net, GpuOptions::default(), 250);
    let t_gpu = t0.elapsed();
    let t0 = Instant::now();
    let (cpu, _) = run_cpu(&net, 250);
    let t_cpu = t0.elapsed();
    let counts = common::lif_spike_counts(&net, &cpu);
    eprintln!(
        "seed {seed}: large network, {} neurons, {} synapses, {} steps: build {t_build:.2?}, GPU {t_gpu:.2?}, CPU {t_cpu:.2?}; CPU spikes {counts:?}",
        net.populations.iter().map(|p| p.size).sum::<usize>(),
        net.synapse_count(),
        net.steps
    );
    for (name, c) in &counts {
        assert!(*c > 100, "seed {seed}: population {name} spikes only {c} times: the test would not exercise recurrence");
    }
    assert_gpu_matches_cpu(&format!("seed {seed} large"), &net, &gpu, &cpu);
}

/// 10,000 spike sources → 10,000 LIF neurons, each pair connected with probability 1/2: about
/// 5e7 synapses in one projection (200 MB of indices), 20 steps.
fn fifty_million_network(seed: u64) -> Network {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (n_pre, n_post, steps, dt) = (10_000usize, 10_000usize, 20usize, 0.1f32);
    let mut indptr = Vec::with_capacity(n_pre + 1);
    indptr.push(0u32);
    let mut indices = Vec::with_capacity(n_pre * n_post / 2 + n_pre * 200);
    for _ in 0..n_pre {
        let mut j = 0u32;
        while (j as usize) < n_post {
            // 64 fair coins at a time
            let bits: u64 = rng.random();
            for b in 0..64u32.min(n_post as u32 - j) {
                if bits >> b & 1 == 1 {
                    indices.push(j + b);
                }
            }
            j += 64;
        }
        indptr.push(indices.len() as u32);
    }
    let conn = Csr { n_rows: n_pre, n_cols: n_post, indptr, indices };
    let populations = vec![
        source_pop(&mut rng, "src", n_pre, 1, steps, dt),
        lif_pop("post", n_post, VInit::PerNeuron((0..n_post).map(|_| rng.random_range(-56.0f32..-50.01)).collect())),
    ];
    let projections = vec![Projection {
        name: "big".into(),
        pre: 0,
        post: 1,
        synapse: Synapse::default_for(SynapseKind::Ampa),
        delay_ms: Some(0.3),
        conn,
        weights: Weights::Shared(6e-4),
        output: Coba { e: 0.0 },
    }];
    let monitors = vec![
        monitor("V", Target::PopV(1)),
        monitor("spike", Target::PopSpike(1)),
        monitor("input", Target::PopInput(1)),
        monitor("g", Target::ProjG(0)),
    ];
    let net = Network { dt: dt as f64, steps, batch: 1, populations, projections, monitors };
    net.validate().unwrap_or_else(|e| panic!("seed {seed}: 5e7-synapse network invalid: {e}"));
    net
}

#[test]
fn fifty_million_synapses_gpu_matches_cpu() {
    let test = "fifty_million_synapses_gpu_matches_cpu";
    let Some(ctx) = context(test) else { return };
    let seed = common::test_seeds(1)[0];
    eprintln!(
        "{test}: adapter {} ({}), max storage binding {} bytes, max buffer {} bytes",
        ctx.adapter_name(),
        ctx.backend_name(),
        ctx.storage_binding_limit(),
        ctx.max_buffer_size()
    );
    let t0 = Instant::now();
    let net = fifty_million_network(seed);
    let t_build = t0.elapsed();
    assert!(net.synapse_count() >= 49_000_000, "seed {seed}: only {} synapses", net.synapse_count());
    let t0 = Instant::now();
    let (gpu, eng) = run_gpu_with(test, ctx, &net, GpuOptions::default(), 20);
    let t_gpu = t0.elapsed();
    drop(eng);
    let t0 = Instant::now();
    let (cpu, _) = run_cpu(&net, 20);
    let t_cpu = t0.elapsed();
    let counts = common::lif_spike_counts(&net, &cpu);
    eprintln!(
        "seed {seed}: {} synapses, {} steps: build {t_build:.2?}, GPU (engine build + run) {t_gpu:.2?}, CPU {t_cpu:.2?}; CPU spikes {counts:?}",
        net.synapse_count(),
        net.steps
    );
    assert!(counts[0].1 > 0, "seed {seed}: nothing spiked");
    assert_gpu_matches_cpu(&format!("seed {seed} 5e7 synapses"), &net, &gpu, &cpu);
}

// ---------------------------------------------------------------------------------------------
// Limits and summary
// ---------------------------------------------------------------------------------------------

#[test]
fn too_large_for_a_binding_is_a_resource_limit_before_running() {
    let test = "too_large_for_a_binding_is_a_resource_limit_before_running";
    let Some(ctx) = context(test) else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    // one post neuron with 100 synapses (400 bytes of indices) cannot be cut to fit 256 bytes
    let conn = in_degree_csr(&mut rng, 150, 1, 100);
    let net = Network {
        dt: 0.1,
        steps: 10,
        batch: 1,
        populations: vec![source_pop(&mut rng, "src", 150, 1, 10, 0.1), lif_pop("post", 1, VInit::Scalar(-60.0))],
        projections: vec![projection(&mut rng, "the_proj", 0, 1, SynapseKind::Ampa, None, conn, (0.1, 0.1), 0.0)],
        monitors: vec![monitor("V", Target::PopV(1))],
    };
    net.validate().unwrap();
    match GpuEngine::with_context(ctx, &net, GpuOptions { max_binding_bytes: Some(256), ..Default::default() }) {
        Ok(_) => panic!("{test}: 100 synapses onto one neuron fit a 256-byte binding?"),
        Err(e @ Error::ResourceLimit { .. }) => {
            let Error::ResourceLimit { requested, available, ref what } = e else { unreachable!() };
            assert_eq!((requested, available), (400, 256), "{test}: {e}");
            let msg = e.to_string();
            assert!(msg.contains("400") && msg.contains("256"), "{test}: message does not name requested and available bytes: {msg}");
            assert!(what.contains("the_proj"), "{test}: message does not name the projection: {msg}");
            eprintln!("{test}: {msg}");
        }
        Err(e) => panic!("{test}: expected Error::ResourceLimit, got {e:?}"),
    }
}

#[test]
fn describe_names_the_adapter_and_api() {
    let test = "describe_names_the_adapter_and_api";
    let Some(ctx) = context(test) else { return };
    let (name, api) = (ctx.adapter_name(), ctx.backend_name());
    let net = common::random_network(7, &common::NetOpts { steps: 5, ..Default::default() });
    let eng = GpuEngine::with_context(ctx, &net, GpuOptions::default()).unwrap();
    let info = eng.describe();
    eprintln!("{test}: {info:?}");
    assert_eq!(info.backend, "gpu");
    assert!(!info.device.trim().is_empty(), "{test}: empty device name");
    assert_eq!(info.device, name);
    assert_eq!(info.api.as_deref(), Some(api.as_str()));
    if std::env::var("WGPU_BACKEND").is_ok_and(|v| v.eq_ignore_ascii_case("vulkan")) {
        assert_eq!(info.api.as_deref(), Some("Vulkan"), "{test}: WGPU_BACKEND=vulkan but {info:?}");
    }
    let cpu = CpuEngine::new(&net).unwrap().describe();
    assert_eq!((cpu.backend.as_str(), cpu.api.as_deref()), ("cpu", None));
    eng.context().take_errors().unwrap();
}

#[test]
fn v_init_per_batch_row_on_gpu() {
    // `[batch][n]` V_init makes the batch rows differ: the GPU must keep them apart.
    let test = "v_init_per_batch_row_on_gpu";
    if context(test).is_none() {
        return;
    }
    for seed in common::test_seeds(2) {
        let mut j = common::random_network_json(seed, &common::NetOpts { steps: 800, batch: Some(3), v_init: VInitMode::Any, ..Default::default() });
        for p in j["populations"].as_array_mut().unwrap() {
            if p["model"] == "lif_ref" {
                let n = p["size"].as_u64().unwrap() as usize;
                let rows: Vec<Vec<f64>> = (0..3).map(|b| (0..n).map(|i| -65.0 + ((i * 7 + b * 3) % 13) as f64).collect()).collect();
                p["V_init"] = serde_json::json!(rows);
            }
        }
        let net = spikegpu::model::file::parse(&j.to_string()).unwrap();
        let gpu = run_gpu(test, &net, 300).unwrap();
        let (cpu, _) = run_cpu(&net, 300);
        assert_gpu_matches_cpu(&format!("seed {seed} per-row V_init"), &net, &gpu, &cpu);
    }
}

#[test]
fn long_run_with_a_small_monitor_builds() {
    // Two neurons and one monitor of one value per step, run for 10 million steps (1000 s of
    // simulated time): nothing here is large, so the engine must build. The per-step table is
    // sized for the whole chunk the monitors allow, not for the chunk actually run.
    let test = "long_run_with_a_small_monitor_builds";
    let Some(ctx) = context(test) else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let steps = 10_000_000;
    let conn = in_degree_csr(&mut rng, 1, 1, 1);
    let net = Network {
        dt: 0.1,
        steps,
        batch: 1,
        populations: vec![source_pop(&mut rng, "src", 1, 3, 1000, 0.1), lif_pop("post", 1, VInit::Scalar(-60.0))],
        projections: vec![projection(&mut rng, "p", 0, 1, SynapseKind::Ampa, None, conn, (1.0, 1.0), 0.0)],
        monitors: vec![monitor("V", Target::PopV(1))],
    };
    net.validate().unwrap();
    let limit = ctx.max_buffer_size();
    match GpuEngine::with_context(ctx, &net, GpuOptions::default()) {
        Ok(eng) => eng.context().take_errors().unwrap(),
        Err(e) => panic!("{test}: a 2-neuron network of {steps} steps does not build (max buffer {limit} bytes): {e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Event-driven update on the GPU: against the CPU engine's event mode (the same fixed-point
// sums; only FMA contraction in the GPU's delta and finalize can differ) and against BrainPy.
// ---------------------------------------------------------------------------------------------

fn event_opts() -> GpuOptions {
    GpuOptions { mode: UpdateMode::Event, ..Default::default() }
}

fn run_cpu_event(net: &Network, chunk: usize) -> Vec<MonitorData> {
    let mut eng = CpuEngine::with_mode(net, UpdateMode::Event).unwrap();
    run_collect(&mut eng, net, chunk).unwrap().0
}

#[test]
fn event_mode_golden_cases_on_gpu() {
    let test = "event_mode_golden_cases_on_gpu";
    for path in common::golden_case_paths() {
        let case = common::load_golden(&path);
        let Some(ctx) = context(test) else { return };
        let (gpu, _) = run_gpu_with(test, ctx, &case.net, event_opts(), 1000);
        let rep = common::compare(&case.net, &gpu, &case.expected, &Tol::golden(), &format!("{} (GPU, event mode)", case.name));
        println!("{rep}");
        rep.assert_ok(&format!("{}: GPU event mode against BrainPy", case.name));
        let cpu = run_cpu_event(&case.net, 1000);
        assert_gpu_matches_cpu(&format!("{} (event mode)", case.name), &case.net, &gpu, &cpu);
    }
}

#[test]
fn event_mode_random_networks_on_gpu() {
    let test = "event_mode_random_networks_on_gpu";
    for seed in common::test_seeds(2) {
        let net = common::random_network(seed, &common::NetOpts { steps: 2000, batch: Some(3), ..Default::default() });
        let Some(ctx) = context(test) else { return };
        let (gpu, _) = run_gpu_with(test, ctx, &net, event_opts(), 333);
        let cpu = run_cpu_event(&net, 333);
        assert_gpu_matches_cpu(&format!("seed {seed} (event mode)"), &net, &gpu, &cpu);
        // sliced: bindings as small as the longest pre row allows, so most rows get their own
        // slice; the sums are the same
        let longest = net.projections.iter().flat_map(|p| (0..p.conn.n_rows).map(|r| p.conn.row(r).len())).max().unwrap_or(1);
        let Some(ctx) = context(test) else { return };
        let opts = GpuOptions { max_binding_bytes: Some(4 * longest.max(1) as u64), ..event_opts() };
        let (sliced, _) = run_gpu_with(test, ctx, &net, opts, 333);
        assert!(bit_identical(&gpu, &sliced), "seed {seed}: sliced event-mode run differs from the unsliced one");
    }
}

#[test]
fn event_mode_large_recurrent_network_on_gpu() {
    let test = "event_mode_large_recurrent_network_on_gpu";
    let seed = common::test_seeds(1)[0];
    let net = large_network(seed);
    let Some(ctx) = context(test) else { return };
    let (gpu, _) = run_gpu_with(test, ctx, &net, event_opts(), 1000);
    let cpu = run_cpu_event(&net, 1000);
    assert_gpu_matches_cpu(&format!("large network seed {seed} (event mode)"), &net, &gpu, &cpu);
}
