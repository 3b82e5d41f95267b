//! The GPU engine on its own terms: slicing of projections too large for one binding, large
//! networks (a recurrent E/I network of 265k synapses, 5e7 synapses in one projection), limits
//! checked before anything runs, and what it says about its adapter. Each compares with the CPU
//! engine (bit for bit: these networks do not divide at run time). The golden cases and random
//! networks run on the GPU in `tests/golden.rs` and `tests/random_networks.rs`.
//!
//! On CI (or with `SPIKEGPU_REQUIRE_GPU=1`) a missing GPU fails these tests; otherwise they
//! print "no GPU adapter, GPU part not run" and return.

mod common;

use common::engines::{gpu_context, open_with};
use common::random::{in_degree_csr, random_csr, rng};
use common::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use spikegpu::model::{Coba, Conn, Csr, LifRef, NetworkBuilder, PopRef, SpikeTimes, Synapse, SynapseKind, VInit, Weights};
use spikegpu::plan::Plan;
use spikegpu::{CpuEngine, Engine, Error, GpuEngine, GpuOptions, Network};
use std::time::Instant;

/// GPU against CPU: the golden README's rules, and bit for bit.
fn assert_gpu_matches_cpu(label: &str, gpu: &Run, cpu: &Run) {
    let rep = compare_runs(gpu, cpu, &Tolerance::recurrent(), &format!("{label}: GPU against CPU"));
    assert_ok(&rep, label);
    gpu.assert_bit_identical(cpu, &format!("{label}: GPU against CPU"));
    eprintln!("{label}: GPU vs CPU: bit-identical");
}

/// Runs `net` on a GPU engine built with `opts` in `mode`.
fn run_gpu_with(net: &Network, mode: UpdateMode, opts: GpuOptions, chunk: usize, label: &str) -> (Run, usize) {
    let eng = GpuEngine::new(gpu_context(), Plan::new(net, mode).unwrap(), opts).unwrap_or_else(|e| panic!("{label}: GpuEngine: {e}"));
    run_gpu_engine(eng, net, chunk, label)
}

fn run_gpu_engine(mut eng: GpuEngine, net: &Network, chunk: usize, label: &str) -> (Run, usize) {
    let dispatches = eng.dispatches_per_step();
    let r = run_engine(&mut eng, net, chunk, label);
    eng.context().take_errors().unwrap_or_else(|e| panic!("{label}: uncaptured GPU errors: {e}"));
    (r, dispatches)
}

/// The GPU engine for `net` with the smallest binding size the engine accepts, from `start`
/// bytes doubling (the layout of a product decides how small its pieces can be), and that size.
fn smallest_bindings(net: &Network, mode: UpdateMode, start: u64) -> (GpuEngine, u64) {
    let mut bytes = start.max(4);
    loop {
        match GpuEngine::new(gpu_context(), Plan::new(net, mode).unwrap(), GpuOptions { max_binding_bytes: Some(bytes), ..Default::default() }) {
            Ok(e) => return (e, bytes),
            Err(Error::ResourceLimit { .. }) if bytes < 1 << 20 => bytes *= 2,
            Err(e) => panic!("{mode}: no engine with bindings of {bytes} bytes: {e}"),
        }
    }
}

/// Sources onto E (199) and I (77) and E and I onto E, with a few thousand synapses per
/// projection in uneven rows: enough for the smallest bindings to cut every product into pieces.
fn slicing_network(seed: u64) -> Network {
    let mut rng = rng(seed);
    let (dt, steps) = (0.1f32, 400usize);
    let mut b = NetworkBuilder::new(dt as f64, steps).batch(3);
    let src = source_pop(&mut b, &mut rng, "src", 150, 8, steps, dt);
    let ve = VInit::PerNeuron((0..199).map(|_| rng.random_range(-62.0f32..-51.0)).collect());
    let e = b.lif_ref("E", 199, lif_params(ve));
    let vi = VInit::PerNeuron((0..77).map(|_| rng.random_range(-62.0f32..-51.0)).collect());
    let i = b.lif_ref("I", 77, lif_params(vi));
    let c = random_csr(&mut rng, 150, 199, 0.15);
    projection(&mut b, &mut rng, "se", src, e, SynapseKind::Ampa, Some(0.3), c, (0.2, 0.6), 0.0);
    let c = random_csr(&mut rng, 150, 77, 0.15);
    projection(&mut b, &mut rng, "si", src, i, SynapseKind::Ampa, None, c, (0.4, 0.4), 0.0);
    let c = random_csr(&mut rng, 199, 199, 0.05);
    projection(&mut b, &mut rng, "ee", e, e, SynapseKind::Ampa, Some(1.0), c, (0.02, 0.08), 0.0);
    let c = random_csr(&mut rng, 77, 199, 0.2);
    projection(&mut b, &mut rng, "ie", i, e, SynapseKind::Gabaa, None, c, (0.05, 0.15), -80.0);
    for (name, target) in [("E.V", "E.V"), ("E.spike", "E.spike"), ("I.V", "I.V"), ("I.spike", "I.spike"), ("se.g", "se.g"), ("E.input", "E.input"), ("ie.current", "ie.current")] {
        b.monitor_named(name, target);
    }
    b.into_network().unwrap_or_else(|e| panic!("seed {seed}: slicing network invalid: {e}"))
}

#[test]
fn sliced_projections_give_identical_monitors() {
    let test = "sliced_projections_give_identical_monitors";
    if !has_gpu(test) {
        return;
    }
    let seed = test_seeds(1)[0];
    let net = slicing_network(seed);
    // Bindings as small as the layout allows (from the longest post row, 4 bytes per synapse,
    // doubling until the engine accepts them), so every projection larger than that is cut.
    let max_row = net
        .projections
        .iter()
        .map(|p| {
            let mut deg = vec![0usize; p.conn.n_cols];
            p.conn.indices.iter().for_each(|&j| deg[j as usize] += 1);
            deg.into_iter().max().unwrap_or(0)
        })
        .max()
        .unwrap_or(0);
    let (whole, d1) = run_gpu_with(&net, UpdateMode::Dense, GpuOptions::default(), 100, "unsliced");
    let (eng, bytes) = smallest_bindings(&net, UpdateMode::Dense, 4 * max_row.max(1) as u64);
    let (sliced, d2) = run_gpu_engine(eng, &net, 100, "sliced");
    eprintln!("seed {seed}: {d1} dispatches per step unsliced, {d2} sliced ({} synapses, {bytes}-byte bindings)", net.synapse_count());
    assert!(d2 > d1, "seed {seed}: max_binding_bytes {bytes} did not cut any projection into slices");
    sliced.assert_bit_identical(&whole, &format!("seed {seed}: sliced ({bytes}-byte bindings) against unsliced"));
    let counts = lif_spike_counts(&whole);
    assert!(counts.iter().all(|c| c.1 > 0), "seed {seed}: a population never spiked: {counts:?}");

    // event mode: bindings as small as the longest pre row allows, so most rows get their own
    // slice; the sums are the same
    let longest = net.projections.iter().flat_map(|p| (0..p.conn.n_rows).map(|r| p.conn.row(r).len())).max().unwrap_or(1);
    let (event, e1) = run_gpu_with(&net, UpdateMode::Event, GpuOptions::default(), 333, "event");
    let (eng, bytes) = smallest_bindings(&net, UpdateMode::Event, 4 * longest.max(1) as u64);
    let (event_sliced, e2) = run_gpu_engine(eng, &net, 333, "event sliced");
    eprintln!("seed {seed}: event mode: {e1} dispatches per step unsliced, {e2} sliced ({bytes}-byte bindings)");
    assert!(event.bit_identical(&event_sliced), "seed {seed}: sliced event-mode run differs from the unsliced one");
}

// ---------------------------------------------------------------------------------------------
// Networks built in Rust
// ---------------------------------------------------------------------------------------------

fn lif_params(v_init: VInit) -> LifRef {
    LifRef { v_rest: -60.0, v_th: -50.0, v_reset: -60.0, tau: 20.0, tau_ref: 5.0, r: 1.0, v_init }
}

/// `size` spike sources, each firing `per_neuron` times at random steps of `0..steps`.
fn source_pop(b: &mut NetworkBuilder, rng: &mut ChaCha8Rng, name: &str, size: usize, per_neuron: usize, steps: usize, dt: f32) -> PopRef {
    let mut indices = Vec::new();
    let mut times = Vec::new();
    for i in 0..size {
        for _ in 0..per_neuron {
            indices.push(i as u32);
            times.push(rng.random_range(0..steps) as f32 * dt);
        }
    }
    b.spike_times(name, size, SpikeTimes { indices, times, rows: Vec::new() })
}

#[allow(clippy::too_many_arguments)]
fn projection(b: &mut NetworkBuilder, rng: &mut ChaCha8Rng, name: &str, pre: PopRef, post: PopRef, kind: SynapseKind, delay_ms: Option<f64>, conn: Csr, w: (f32, f32), e: f32) {
    let weights = if w.0 == w.1 { Weights::Shared(w.0) } else { Weights::PerSynapse((0..conn.nnz()).map(|_| rng.random_range(w.0..w.1)).collect()) };
    let p = b.projection(name, pre, post, Synapse::default_for(kind), Conn::csr(conn.indptr, conn.indices), weights, Coba { e });
    if let Some(d) = delay_ms {
        b.delay_ms(p, d);
    }
}

/// ~6000 neurons, ~265k synapses: sources → E (4000) and I (1000), E→E and E→I (AMPA), I→E and
/// I→I (GABAa), delays, shared and per-synapse weights, 1000 steps.
fn large_network(seed: u64) -> Network {
    let mut rng = rng(seed);
    let (dt, steps) = (0.1f32, 1000usize);
    let v_init = |rng: &mut ChaCha8Rng, n: usize| VInit::PerNeuron((0..n).map(|_| rng.random_range(-62.0f32..-51.0)).collect());
    let (n_src, n_e, n_i) = (1000, 4000, 1000);
    let mut b = NetworkBuilder::new(dt as f64, steps);
    let src = source_pop(&mut b, &mut rng, "src", n_src, 5, steps, dt);
    let ve = v_init(&mut rng, n_e);
    let e = b.lif_ref("E", n_e, lif_params(ve));
    let vi = v_init(&mut rng, n_i);
    let i = b.lif_ref("I", n_i, lif_params(vi));
    let c = in_degree_csr(&mut rng, n_src, n_e, 20);
    projection(&mut b, &mut rng, "se", src, e, SynapseKind::Ampa, Some(0.5), c, (0.1, 0.4), 0.0);
    let c = in_degree_csr(&mut rng, n_src, n_i, 20);
    projection(&mut b, &mut rng, "si", src, i, SynapseKind::Ampa, None, c, (0.25, 0.25), 0.0);
    let c = in_degree_csr(&mut rng, n_e, n_e, 20);
    projection(&mut b, &mut rng, "ee", e, e, SynapseKind::Ampa, Some(1.0), c, (0.01, 0.05), 0.0);
    let c = in_degree_csr(&mut rng, n_e, n_i, 20);
    projection(&mut b, &mut rng, "ei", e, i, SynapseKind::Ampa, Some(0.2), c, (0.03, 0.03), 0.0);
    let c = in_degree_csr(&mut rng, n_i, n_e, 15);
    projection(&mut b, &mut rng, "ie", i, e, SynapseKind::Gabaa, None, c, (0.02, 0.08), -80.0);
    let c = in_degree_csr(&mut rng, n_i, n_i, 5);
    projection(&mut b, &mut rng, "ii", i, i, SynapseKind::Gabaa, Some(0.3), c, (0.05, 0.05), -80.0);
    for (name, target) in [("E.V", "E.V"), ("E.spike", "E.spike"), ("E.input", "E.input"), ("E.current", "E.current"), ("I.V", "I.V"), ("I.spike", "I.spike"), ("se.g", "se.g"), ("ee.g", "ee.g"), ("ie.current", "ie.current"), ("src.spike", "src.spike")] {
        b.monitor_named(name, target);
    }
    b.into_network().unwrap_or_else(|e| panic!("seed {seed}: large network invalid: {e}"))
}

#[test]
fn large_recurrent_network_gpu_matches_cpu() {
    let test = "large_recurrent_network_gpu_matches_cpu";
    if !has_gpu(test) {
        return;
    }
    let seed = test_seeds(1)[0];
    let t0 = Instant::now();
    let net = large_network(seed);
    let t_build = t0.elapsed();
    for mode in MODES {
        let t0 = Instant::now();
        let gpu = run(EngineKind::Gpu, &net, mode, 250);
        let t_gpu = t0.elapsed();
        let t0 = Instant::now();
        let cpu = run(EngineKind::Cpu, &net, mode, 250);
        let t_cpu = t0.elapsed();
        let counts = lif_spike_counts(&cpu);
        eprintln!(
            "seed {seed} ({mode}): large network, {} neurons, {} synapses, {} steps: build {t_build:.2?}, GPU {t_gpu:.2?}, CPU {t_cpu:.2?}; CPU spikes {counts:?}",
            net.populations.iter().map(|p| p.size).sum::<usize>(),
            net.synapse_count(),
            net.steps
        );
        for (name, c) in &counts {
            assert!(*c > 100, "seed {seed}: population {name} spikes only {c} times: the test would not exercise recurrence");
        }
        assert_gpu_matches_cpu(&format!("seed {seed} large ({mode})"), &gpu, &cpu);
    }
}

/// 10,000 spike sources → 10,000 LIF neurons, each pair connected with probability 1/2: about
/// 5e7 synapses in one projection (200 MB of indices), 20 steps.
fn fifty_million_network(seed: u64) -> Network {
    let mut rng = rng(seed);
    let (n_pre, n_post, steps, dt) = (10_000usize, 10_000usize, 20usize, 0.1f32);
    let conn = random_csr(&mut rng, n_pre, n_post, 0.5);
    let mut b = NetworkBuilder::new(dt as f64, steps);
    let src = source_pop(&mut b, &mut rng, "src", n_pre, 1, steps, dt);
    let v = VInit::PerNeuron((0..n_post).map(|_| rng.random_range(-56.0f32..-50.01)).collect());
    let post = b.lif_ref("post", n_post, lif_params(v));
    let p = b.projection("big", src, post, Synapse::ampa(), Conn::csr(conn.indptr, conn.indices), Weights::Shared(6e-4), Coba { e: 0.0 });
    b.delay_ms(p, 0.3);
    for (name, target) in [("V", "post.V"), ("spike", "post.spike"), ("input", "post.input"), ("g", "big.g")] {
        b.monitor_named(name, target);
    }
    b.into_network().unwrap_or_else(|e| panic!("seed {seed}: 5e7-synapse network invalid: {e}"))
}

#[test]
fn fifty_million_synapses_gpu_matches_cpu() {
    let test = "fifty_million_synapses_gpu_matches_cpu";
    if !has_gpu(test) {
        return;
    }
    let ctx = gpu_context();
    let seed = test_seeds(1)[0];
    eprintln!(
        "{test}: adapter {} ({}), max storage binding {} bytes, max buffer {} bytes",
        ctx.adapter_name(),
        ctx.backend_name(),
        ctx.storage_binding_limit(),
        ctx.max_buffer_size()
    );
    drop(ctx);
    let t0 = Instant::now();
    let net = fifty_million_network(seed);
    let t_build = t0.elapsed();
    assert!(net.synapse_count() >= 49_000_000, "seed {seed}: only {} synapses", net.synapse_count());
    let t0 = Instant::now();
    let gpu = run(EngineKind::Gpu, &net, UpdateMode::Dense, 20);
    let t_gpu = t0.elapsed();
    let t0 = Instant::now();
    let cpu = run(EngineKind::Cpu, &net, UpdateMode::Dense, 20);
    let t_cpu = t0.elapsed();
    let counts = lif_spike_counts(&cpu);
    eprintln!(
        "seed {seed}: {} synapses, {} steps: build {t_build:.2?}, GPU (engine build + run) {t_gpu:.2?}, CPU {t_cpu:.2?}; CPU spikes {counts:?}",
        net.synapse_count(),
        net.steps
    );
    assert!(counts[0].1 > 0, "seed {seed}: nothing spiked");
    assert_gpu_matches_cpu(&format!("seed {seed} 5e7 synapses"), &gpu, &cpu);
}

// ---------------------------------------------------------------------------------------------
// Limits and description
// ---------------------------------------------------------------------------------------------

/// A network of a source population and one LIF neuron, `conn` between them.
fn tiny(rng: &mut ChaCha8Rng, n_src: usize, steps: usize, conn: Csr, src_spikes: usize, proj: &str) -> Network {
    let mut b = NetworkBuilder::new(0.1, steps);
    let src = source_pop(&mut b, rng, "src", n_src, src_spikes, steps.min(1000), 0.1);
    let post = b.lif_ref("post", 1, lif_params(VInit::Scalar(-60.0)));
    b.projection(proj, src, post, Synapse::ampa(), Conn::csr(conn.indptr, conn.indices), Weights::Shared(0.1), Coba { e: 0.0 });
    b.monitor("V", post.v());
    b.into_network().unwrap()
}

#[test]
fn too_large_for_a_binding_is_a_resource_limit_before_running() {
    let test = "too_large_for_a_binding_is_a_resource_limit_before_running";
    if !has_gpu(test) {
        return;
    }
    let mut rng = rng(1);
    // one post neuron with 100 synapses cannot be cut to fit 256 bytes: its slice of the sliced
    // layout (32 rows padded to 100 columns of 16-bit indices, as 150 pre neurons allow) needs
    // 32 * 100 * 2 = 6400 bytes
    let conn = in_degree_csr(&mut rng, 150, 1, 100);
    let net = tiny(&mut rng, 150, 10, conn, 1, "the_proj");
    match GpuEngine::new(gpu_context(), Plan::new(&net, UpdateMode::Dense).unwrap(), GpuOptions { max_binding_bytes: Some(256), ..Default::default() }) {
        Ok(_) => panic!("{test}: 100 synapses onto one neuron fit a 256-byte binding?"),
        Err(e @ Error::ResourceLimit { .. }) => {
            let Error::ResourceLimit { requested, available, ref what } = e else { unreachable!() };
            assert_eq!((requested, available), (6400, 256), "{test}: {e}");
            let msg = e.to_string();
            assert!(msg.contains("6400") && msg.contains("256"), "{test}: message does not name requested and available bytes: {msg}");
            assert!(what.contains("the_proj"), "{test}: message does not name the projection: {msg}");
            eprintln!("{test}: {msg}");
        }
        Err(e) => panic!("{test}: expected Error::ResourceLimit, got {e:?}"),
    }
}

#[test]
fn describe_names_the_adapter_and_api() {
    let test = "describe_names_the_adapter_and_api";
    if !has_gpu(test) {
        return;
    }
    let ctx = gpu_context();
    let (name, api) = (ctx.adapter_name(), ctx.backend_name());
    let net = random_network(7, &NetOpts { steps: 5, ..Default::default() });
    let eng = GpuEngine::new(ctx, Plan::new(&net, UpdateMode::Dense).unwrap(), GpuOptions::default()).unwrap();
    let info = eng.describe();
    eprintln!("{test}: {info:?}");
    assert_eq!(info.backend, "gpu");
    assert!(!info.device.trim().is_empty(), "{test}: empty device name");
    // the adapter's name, and the update mode the engine runs
    assert_eq!(info.device, format!("{name} (dense update)"));
    assert_eq!(info.api.as_deref(), Some(api.as_str()));
    if std::env::var("WGPU_BACKEND").is_ok_and(|v| v.eq_ignore_ascii_case("vulkan")) {
        assert_eq!(info.api.as_deref(), Some("Vulkan"), "{test}: WGPU_BACKEND=vulkan but {info:?}");
    }
    let cpu = CpuEngine::new(&net, UpdateMode::Dense).unwrap().describe();
    assert_eq!((cpu.backend.as_str(), cpu.api.as_deref()), ("cpu", None));
    eng.context().take_errors().unwrap();
    // the generic opener gives the same engine
    let e = open_with(EngineKind::Gpu, &net, UpdateMode::Event, GpuOptions::default());
    assert_eq!(e.describe().device, format!("{name} (event update)"));
}

#[test]
fn long_run_with_a_small_monitor_builds() {
    // Two neurons and one monitor of one value per step, run for 10 million steps (1000 s of
    // simulated time): nothing here is large, so the engine must build. The per-step table is
    // sized for the whole chunk the monitors allow, not for the chunk actually run.
    let test = "long_run_with_a_small_monitor_builds";
    if !has_gpu(test) {
        return;
    }
    let ctx = gpu_context();
    let mut rng = rng(3);
    let steps = 10_000_000;
    let conn = in_degree_csr(&mut rng, 1, 1, 1);
    let net = tiny(&mut rng, 1, steps, conn, 3, "p");
    let limit = ctx.max_buffer_size();
    match GpuEngine::new(ctx, Plan::new(&net, UpdateMode::Dense).unwrap(), GpuOptions::default()) {
        Ok(eng) => eng.context().take_errors().unwrap(),
        Err(e) => panic!("{test}: a 2-neuron network of {steps} steps does not build (max buffer {limit} bytes): {e}"),
    }
}
