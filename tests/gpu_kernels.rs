//! Each WGSL kernel driven directly, against its CPU twin in `src/cpu/`, on seeded random inputs.
//!
//! * Seed: `SPIKEGPU_SEED` if set, else random; every assertion message names it, so a failure
//!   can be replayed with `SPIKEGPU_SEED=<seed>`.
//! * Every buffer a kernel writes is poisoned first (NaN / 0xDEADBEEF) and has a poisoned tail
//!   past the region the kernel owns: an element the kernel forgot shows as poison, an element
//!   it should not touch must still be poison.
//! * Sizes are not multiples of the workgroup (1, 63, 65, 1007), batch 1 and 3, and some
//!   dispatches use a tiny per-dimension limit so the 2-D workgroup split of `linear_id` runs.
//! * Flags, stamps, integers and copies must be bit-exact. Arithmetic results are compared with
//!   a tolerance (see [`close`]): the shader compiler may contract `a * b + c` into an FMA
//!   (WGSL allows it), which changes the rounding of one product by at most half an ulp of that
//!   product. No transcendental function runs on the GPU (the `exp` terms are derived on the
//!   host), so nothing else may differ. The number of results that were not bit-exact is printed.
//!
//! On CI (or with `SPIKEGPU_REQUIRE_GPU=1`) a missing GPU fails these tests.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spikegpu::cpu;
use spikegpu::cpu::columns::Columns;
use spikegpu::cpu::lif_update::LifState;
use spikegpu::gpu::context::gpu_required;
use spikegpu::gpu::kernels::{self, record_mode, Kernel, Kernels, StepInfo};
use spikegpu::gpu::GpuContext;
use spikegpu::model::plan::{self, PlanWeights};
use spikegpu::model::{Synapse, SynapseKind};
use wgpu::BufferUsages as U;

const SIZES: [usize; 4] = [1, 63, 65, 1007];
const BATCHES: [usize; 2] = [1, 3];
const POISON_F: f32 = f32::NAN;
const POISON_U: u32 = 0xDEAD_BEEF;
/// Poisoned words after every written region.
const TAIL: usize = 37;
/// Relative tolerance on the magnitude of the terms of a result: one contracted FMA changes the
/// result by at most half an ulp of one product (eps/2 relative to that term); 1e-6 is about
/// 8 eps, room for a handful of contractions per result.
const REL: f32 = 1e-6;

fn base_seed() -> u64 {
    match std::env::var("SPIKEGPU_SEED") {
        Ok(s) => s.trim().parse().unwrap_or_else(|_| panic!("SPIKEGPU_SEED={s:?} is not a u64")),
        Err(_) => rand::random(),
    }
}

/// A seeded RNG per test (the test's name is mixed in, so tests do not share streams).
fn rng_for(test: &str, seed: u64) -> ChaCha8Rng {
    let salt = test.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3));
    ChaCha8Rng::seed_from_u64(seed ^ salt)
}

struct Gpu {
    ctx: GpuContext,
    k: Kernels,
}

/// Opens the device and compiles the kernels, or returns `None` when there is no GPU and none
/// is required (CI and `SPIKEGPU_REQUIRE_GPU=1` make a missing GPU a failure).
fn gpu(test: &str) -> Option<Gpu> {
    match GpuContext::new() {
        Ok(ctx) => {
            eprintln!("{test}: on {} ({})", ctx.adapter_name(), ctx.backend_name());
            let k = Kernels::new(&ctx).unwrap_or_else(|e| panic!("{test}: kernels do not compile: {e}"));
            Some(Gpu { ctx, k })
        }
        Err(e) if gpu_required() => panic!("{test}: a GPU is required (CI or SPIKEGPU_REQUIRE_GPU=1) but: {e}"),
        Err(e) => {
            println!("{test}: no GPU adapter, not run ({e})");
            None
        }
    }
}

fn ulp(x: f32) -> f32 {
    let a = x.abs();
    if !a.is_finite() {
        return f32::INFINITY;
    }
    f32::from_bits(a.to_bits() + 1) - a
}

/// `gpu` equals `cpu` within 4 ulp of the larger, or within `REL * scale`, where `scale` is the
/// sum of the magnitudes of the terms that formed the result (so a sum that cancels to a tiny
/// value still gets the tolerance of its large terms). NaN never matches (poison shows).
fn close(gpu: f32, cpu: f32, scale: f32) -> bool {
    if gpu.to_bits() == cpu.to_bits() {
        return true;
    }
    if gpu.is_nan() || cpu.is_nan() {
        return false;
    }
    let d = (gpu - cpu).abs();
    d <= 4.0 * ulp(gpu.abs().max(cpu.abs())) || d <= REL * scale
}

/// Counts results that were within tolerance but not bit-exact (printed per test).
#[derive(Default)]
struct Inexact {
    compared: usize,
    inexact: usize,
    worst_rel: f32,
}

impl Inexact {
    fn check(&mut self, what: &dyn Fn() -> String, gpu: f32, cpu: f32, scale: f32) {
        self.compared += 1;
        assert!(close(gpu, cpu, scale), "{}: GPU {gpu:e} ({:#010x}) vs CPU {cpu:e} (term scale {scale:e})", what(), gpu.to_bits());
        if gpu.to_bits() != cpu.to_bits() {
            self.inexact += 1;
            self.worst_rel = self.worst_rel.max((gpu - cpu).abs() / scale.max(cpu.abs()).max(f32::MIN_POSITIVE));
        }
    }

    fn report(&self, test: &str, seed: u64) {
        eprintln!(
            "{test} (seed {seed}): {} values compared, {} not bit-exact (largest difference {:e} of the term scale)",
            self.compared, self.inexact, self.worst_rel
        );
    }
}

fn assert_tail_u(what: &str, seed: u64, words: &[u32], from: usize) {
    for (k, &w) in words[from..].iter().enumerate() {
        assert_eq!(w, POISON_U, "seed {seed}: {what}: word {} past the written region was overwritten", from + k);
    }
}

fn assert_tail_f(what: &str, seed: u64, vals: &[f32], from: usize) {
    for (k, &v) in vals[from..].iter().enumerate() {
        assert_eq!(v.to_bits(), POISON_F.to_bits(), "seed {seed}: {what}: element {} past the written region was overwritten", from + k);
    }
}

fn with_tail<T: Copy>(data: &[T], poison: T) -> Vec<T> {
    let mut v = data.to_vec();
    v.extend(std::iter::repeat_n(poison, TAIL));
    v
}

impl Gpu {
    fn buf<T: bytemuck::Pod>(&self, label: &str, data: &[T]) -> wgpu::Buffer {
        self.ctx.storage_buffer_from(label, data, U::empty()).unwrap()
    }

    fn uniform<T: bytemuck::Pod>(&self, label: &str, v: &T) -> wgpu::Buffer {
        self.ctx.uniform_buffer(label, v).unwrap()
    }

    fn read<T: bytemuck::Pod>(&self, b: &wgpu::Buffer, n: usize) -> Vec<T> {
        self.ctx.read_vec(b, 0, n as u64).unwrap()
    }

    fn group1(&self, kernel: &Kernel, bufs: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        let entries: Vec<_> = bufs
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
            .collect();
        self.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some("test group 1"), layout: &kernel.layout, entries: &entries })
    }

    /// Runs `kernel` once per entry of `steps`, in order, in one compute pass and one
    /// submission (as the engine does), with the step table bound as group 0 at offset
    /// `r * STEP_STRIDE`. `threads(r)` is the dispatch size of step `r`; `max_per_dim` is the
    /// per-dimension workgroup limit handed to `kernels::workgroups` (the device's, or a tiny
    /// one to force the 2-D split).
    fn run(&self, kernel: &Kernel, group1: &wgpu::BindGroup, steps: &[StepInfo], threads: &dyn Fn(usize) -> u64, max_per_dim: u32) {
        let stride = kernels::STEP_STRIDE as usize;
        let mut table = vec![0u8; stride * steps.len()];
        for (r, s) in steps.iter().enumerate() {
            table[r * stride..r * stride + std::mem::size_of::<StepInfo>()].copy_from_slice(bytemuck::bytes_of(s));
        }
        let tb = self.ctx.buffer_init("step table", &table, U::UNIFORM | U::COPY_DST).unwrap();
        let g0 = self.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("test step table"),
            layout: &self.k.step_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &tb,
                    offset: 0,
                    size: wgpu::BufferSize::new(std::mem::size_of::<StepInfo>() as u64),
                }),
            }],
        });
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&kernel.pipeline);
            pass.set_bind_group(1, group1, &[]);
            for r in 0..steps.len() {
                pass.set_bind_group(0, &g0, &[(r * stride) as u32]);
                let (x, y) = kernels::workgroups(threads(r), max_per_dim);
                pass.dispatch_workgroups(x, y, 1);
            }
        }
        self.ctx.queue.submit([enc.finish()]);
    }

    fn max_dim(&self) -> u32 {
        self.ctx.limits.max_compute_workgroups_per_dimension
    }

    fn finish(&self, test: &str, seed: u64) {
        self.ctx.device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
        if let Err(e) = self.ctx.take_errors() {
            panic!("{test} (seed {seed}): uncaptured GPU errors: {e}");
        }
    }
}

/// The time of step `step`, formed as both engines form it (`f32(i) * f32(dt)`).
fn step_t(step: u32, dt: f32) -> f32 {
    spikegpu::model::step_time(step as usize, dt)
}

fn step_info(step: u32, dt: f32, row: u32) -> StepInfo {
    StepInfo { step, t: step_t(step, dt), row, ..Default::default() }
}

/// A per-dimension workgroup limit: the device's, or (for every other configuration) 3, so
/// the 2-D split of `kernels::workgroups` and its undoing in `linear_id` run too.
fn max_dim_for(g: &Gpu, case: usize) -> u32 {
    if case % 2 == 1 {
        3
    } else {
        g.max_dim()
    }
}

#[test]
fn spike_input_matches_cpu() {
    let test = "spike_input_matches_cpu";
    let seed = base_seed();
    let Some(g) = gpu(test) else { return };
    let mut rng = rng_for(test, seed);
    let mut case = 0;
    for &n in &SIZES {
        for s0 in [0u32, rng.random_range(1..500)] {
            case += 1;
            let nsteps = 12usize;
            let total = s0 as usize + nsteps;
            let mut events = Vec::new();
            let mut offsets = vec![0u32];
            for i in 0..total {
                // steps before s0 are not run but get a few events, so ev_start > 0
                let k = if i < s0 as usize {
                    rng.random_range(0..3)
                } else {
                    [0, 1, 63, 65, 1007, rng.random_range(0..300)][rng.random_range(0..6)]
                };
                for _ in 0..k {
                    events.push(rng.random_range(0..n as u32));
                }
                offsets.push(events.len() as u32);
            }
            let init: Vec<u32> = (0..n).map(|_| if rng.random_bool(0.5) { POISON_U } else { rng.random_range(0..s0.max(1)) }).collect();
            let mut cpu_stamp = init.clone();
            for s in s0..s0 + nsteps as u32 {
                cpu::spike_input::spike_input(s, &offsets, &events, &mut cpu_stamp);
            }
            let ev = g.buf("events", &events);
            let stamp = g.buf("stamp", &with_tail(&init, POISON_U));
            let bg = g.group1(&g.k.spike_input, &[&ev, &stamp]);
            let infos: Vec<StepInfo> = (0..nsteps)
                .map(|r| {
                    let s = s0 + r as u32;
                    StepInfo { ev_start: offsets[s as usize], ev_end: offsets[s as usize + 1], ..step_info(s, 0.1, r as u32) }
                })
                .collect();
            g.run(&g.k.spike_input, &bg, &infos, &|r| (infos[r].ev_end - infos[r].ev_start) as u64, max_dim_for(&g, case));
            let got: Vec<u32> = g.read(&stamp, n + TAIL);
            let what = format!("spike_input n={n} steps {s0}..{}", s0 as usize + nsteps);
            for i in 0..n {
                assert_eq!(got[i], cpu_stamp[i], "seed {seed}: {what}: stamp of neuron {i}");
            }
            assert_tail_u(&what, seed, &got, n);
        }
    }
    g.finish(test, seed);
}

#[test]
fn gating_matches_cpu() {
    let test = "gating_matches_cpu";
    let seed = base_seed();
    let Some(g) = gpu(test) else { return };
    let mut rng = rng_for(test, seed);
    let mut stats = Inexact::default();
    let mut case = 0;
    for &n in &SIZES {
        for &batch in &BATCHES {
            for history in [1usize, 4] {
                for from_stamp in [true, false] {
                    for s0 in [0u32, rng.random_range(1..300)] {
                        case += 1;
                        let kind = if rng.random_bool(0.5) { SynapseKind::Ampa } else { SynapseKind::Gabaa };
                        let mut syn = Synapse::default_for(kind);
                        syn.alpha *= rng.random_range(0.5..1.5);
                        syn.beta *= rng.random_range(0.5..1.5);
                        let dt = [0.1f32, 0.05][rng.random_range(0..2)];
                        let params = plan::GatingParams::new(&syn, dt);
                        let width = batch * n;
                        let nsteps = 6u32;
                        // spike arrival times around the first step: inside and outside the window
                        let sat: Vec<f32> = (0..width)
                            .map(|_| {
                                if rng.random_bool(0.2) {
                                    cpu::SAT_INIT
                                } else if rng.random_bool(0.1) {
                                    // at the window's end for one of the steps run
                                    step_t(s0 + rng.random_range(0..nsteps), dt) - params.t_dur
                                } else {
                                    step_t(rng.random_range(s0.saturating_sub(15)..=s0), dt)
                                }
                            })
                            .collect();
                        let spike_base = rng.random_range(0..20usize);
                        let pre: Vec<u32> = if from_stamp {
                            (0..spike_base + width + 5)
                                .map(|_| match rng.random_range(0..4) {
                                    0 => u32::MAX,
                                    1 => rng.random_range(0..s0 + 1),
                                    _ => rng.random_range(s0..s0 + nsteps),
                                })
                                .collect()
                        } else {
                            (0..width).map(|_| rng.random_bool(0.3) as u32).collect()
                        };
                        // random g history; slots written before they are read are poisoned
                        let first_read = (s0 > 0).then(|| (s0 - 1) as usize % history);
                        let mut hist = vec![0f32; history * width];
                        for (k, h) in hist.iter_mut().enumerate() {
                            *h = if Some(k / width) == first_read { rng.random::<f32>() } else { POISON_F };
                        }
                        let mut cpu_sat = sat.clone();
                        let mut cpu_hist = hist.clone();
                        // the window flags of the last step (event mode's record of the active set)
                        let mut cpu_on = Vec::new();
                        for s in s0..s0 + nsteps {
                            let spiked = |idx: usize| if from_stamp { pre[spike_base + idx] == s } else { pre[idx] != 0 };
                            cpu_on.clear();
                            cpu::gating::gating(&params, s, step_t(s, dt), width, history as u32, spiked, &mut cpu_sat, &mut cpu_hist, Some(&mut cpu_on));
                        }
                        let up = kernels::GatingParams {
                            alpha_t: params.alpha_t,
                            beta: params.beta,
                            t_dur: params.t_dur,
                            dt_phi_on: params.dt_phi_on,
                            dt_phi_off: params.dt_phi_off,
                            width: width as u32,
                            _pad0: 0,
                            history: history as u32,
                            spike_base: if from_stamp { spike_base as u32 } else { 0 },
                            from_stamp: from_stamp as u32,
                            record_on: 1,
                            _pad: 0,
                        };
                        let ub = g.uniform("gating params", &up);
                        let pb = g.buf("pre spikes", &pre);
                        let sb = g.buf("sat", &with_tail(&sat, POISON_F));
                        let hb = g.buf("hist", &with_tail(&hist, POISON_F));
                        let ob = g.buf("window flags", &vec![0xDEADBEEFu32; history * width + TAIL]);
                        let bg = g.group1(&g.k.gating, &[&ub, &pb, &sb, &hb, &ob]);
                        let infos: Vec<StepInfo> = (0..nsteps).map(|r| step_info(s0 + r, dt, r)).collect();
                        g.run(&g.k.gating, &bg, &infos, &|_| width as u64, max_dim_for(&g, case));
                        let got_on: Vec<u32> = g.read(&ob, history * width + TAIL);
                        let last = ((s0 + nsteps - 1) as usize % history) * width;
                        for i in 0..width {
                            let want = cpu_on.contains(&(i as u32)) as u32;
                            assert_eq!(got_on[last + i], want, "seed {seed}: gating window flag [{i}] at the last step");
                        }
                        let got_sat: Vec<f32> = g.read(&sb, width + TAIL);
                        let got_hist: Vec<f32> = g.read(&hb, history * width + TAIL);
                        let what = format!(
                            "gating {kind:?} n={n} batch={batch} history={history} from_stamp={from_stamp} steps {s0}..{}",
                            s0 + nsteps
                        );
                        for i in 0..width {
                            assert_eq!(got_sat[i].to_bits(), cpu_sat[i].to_bits(), "seed {seed}: {what}: sat[{i}]: GPU {} CPU {}", got_sat[i], cpu_sat[i]);
                        }
                        assert_tail_f(&format!("{what}: sat"), seed, &got_sat, width);
                        for k in 0..history * width {
                            stats.check(&|| format!("seed {seed}: {what}: hist[slot {}][{}]", k / width, k % width), got_hist[k], cpu_hist[k], 1.0);
                        }
                        assert_tail_f(&format!("{what}: hist"), seed, &got_hist, history * width);
                    }
                }
            }
        }
    }
    stats.report(test, seed);
    g.finish(test, seed);
}

/// A random post-major CSR: `rows` rows over `cols` columns, sorted columns per row, about a
/// fifth of the rows empty, one long row.
fn random_csr(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> (Vec<u32>, Vec<u32>) {
    let mut indptr = vec![0u32];
    let mut indices = Vec::new();
    let long = rng.random_range(0..rows);
    for r in 0..rows {
        let k = if r == long {
            rng.random_range(0..=300)
        } else if rng.random_bool(0.2) {
            0
        } else {
            rng.random_range(1..=40)
        };
        let mut row: Vec<u32> = (0..k).map(|_| rng.random_range(0..cols as u32)).collect();
        row.sort_unstable();
        indices.extend(row);
        indptr.push(indices.len() as u32);
    }
    (indptr, indices)
}

#[test]
fn csr_gather_matches_cpu() {
    let test = "csr_gather_matches_cpu";
    let seed = base_seed();
    let Some(g) = gpu(test) else { return };
    let mut rng = rng_for(test, seed);
    let mut stats = Inexact::default();
    let mut case = 0;
    // (history, lag, newest_back, step): read_step = step - newest_back - lag, < 0 in some
    let timing: [(usize, u32, u32, u32); 6] = [(1, 0, 0, 7), (1, 0, 1, 0), (1, 0, 0, 0), (5, 4, 0, 2), (5, 3, 1, 17), (5, 0, 1, 1)];
    for &n_pre in &SIZES {
        for n_post in [1usize, 63, 1007] {
            for &batch in BATCHES.iter().chain(&[11]) {
                for per_synapse in [false, true] {
                    case += 1;
                    let (history, lag, newest_back, step) = timing[rng.random_range(0..timing.len())];
                    let (indptr, indices) = random_csr(&mut rng, n_post, n_pre);
                    let nnz = indices.len();
                    let weights = if per_synapse {
                        PlanWeights::PerSynapse((0..nnz).map(|_| rng.random_range(-0.5f32..2.0)).collect())
                    } else {
                        PlanWeights::Shared(rng.random_range(0.01f32..2.0))
                    };
                    let bw = batch * n_pre;
                    let hist: Vec<f32> = (0..history * bw).map(|_| rng.random::<f32>()).collect();
                    let read_step = step as i64 - newest_back as i64 - lag as i64;
                    let x = (read_step >= 0).then(|| {
                        let slot = read_step as usize % history;
                        &hist[slot * bw..(slot + 1) * bw]
                    });
                    let mut y = vec![POISON_F; batch * n_post];
                    cpu::csr_gather::csr_gather(&indptr, &Columns::new(indices.clone(), n_pre), &weights, x, n_pre, &mut y);
                    // the 16-bit indices the CPU engine keeps when n_pre <= 65,536: same bits
                    let mut y16 = vec![POISON_F; batch * n_post];
                    let narrow = Columns::new(indices.iter().map(|&i| u16::try_from(i).unwrap()).collect(), n_pre);
                    cpu::csr_gather::csr_gather(&indptr, &narrow, &weights, x, n_pre, &mut y16);
                    for (k, (a, b)) in y.iter().zip(&y16).enumerate() {
                        assert_eq!(a.to_bits(), b.to_bits(), "seed {seed}, case {case}: 16-bit indices differ at output {k}");
                    }
                    // the whole projection, and a slice of rows (as the engine cuts large ones)
                    let r0 = rng.random_range(0..n_post);
                    let r1 = rng.random_range(r0 + 1..=n_post);
                    for (row_start, row_end) in [(0, n_post), (r0, r1)] {
                        let n_slots = 2usize;
                        let slot = rng.random_range(0..n_slots);
                        let out_base = slot * batch * n_post;
                        let base = indptr[row_start] as usize;
                        let end = indptr[row_end] as usize;
                        let sl_indptr: Vec<u32> = indptr[row_start..=row_end].iter().map(|&p| p - base as u32).collect();
                        let up = kernels::GatherParams {
                            rows: (row_end - row_start) as u32,
                            row_start: row_start as u32,
                            n_pre: n_pre as u32,
                            n_post: n_post as u32,
                            batch: batch as u32,
                            lag,
                            history: history as u32,
                            newest_back,
                            out_base: out_base as u32,
                            per_synapse: per_synapse as u32,
                            shared_w: match &weights {
                                PlanWeights::Shared(w) => *w,
                                PlanWeights::PerSynapse(_) => f32::NAN,
                            },
                            _pad: 0,
                        };
                        let ub = g.uniform("gather params", &up);
                        let ib = g.buf("indptr", &sl_indptr);
                        let xb = g.buf("indices", &indices[base..end]);
                        let wb = match &weights {
                            PlanWeights::PerSynapse(w) => g.buf("weights", &w[base..end]),
                            PlanWeights::Shared(_) => g.buf("unused weights", &[POISON_F; 4]),
                        };
                        let hb = g.buf("hist", &hist);
                        let gsyn = vec![POISON_F; n_slots * batch * n_post + TAIL];
                        let gb = g.buf("gsyn", &gsyn);
                        let bg = g.group1(&g.k.csr_gather, &[&ub, &ib, &xb, &wb, &hb, &gb]);
                        let infos = [step_info(step, 0.1, 0)];
                        g.run(&g.k.csr_gather, &bg, &infos, &|_| ((row_end - row_start) * batch.div_ceil(kernels::GATHER_TILE)) as u64, max_dim_for(&g, case));
                        let got: Vec<f32> = g.read(&gb, gsyn.len());
                        let what = format!(
                            "csr_gather n_pre={n_pre} n_post={n_post} batch={batch} per_synapse={per_synapse} rows {row_start}..{row_end} \
                             history={history} lag={lag} newest_back={newest_back} step={step} (read_step {read_step}) slot={slot}"
                        );
                        for (k, &v) in got.iter().enumerate() {
                            let in_slot = k >= out_base && k < out_base + batch * n_post;
                            let (b, j) = ((k - out_base.min(k)) / n_post, (k - out_base.min(k)) % n_post);
                            if in_slot && j >= row_start && j < row_end {
                                let (terms, scale) = match x {
                                    None => (0, 0.0),
                                    Some(x) => {
                                        let r = indptr[j] as usize..indptr[j + 1] as usize;
                                        let s: f32 = r
                                            .clone()
                                            .map(|e| {
                                                let w = match &weights {
                                                    PlanWeights::Shared(w) => *w,
                                                    PlanWeights::PerSynapse(ws) => ws[e],
                                                };
                                                (w * x[b * n_pre + indices[e] as usize]).abs()
                                            })
                                            .sum();
                                        (r.len(), s)
                                    }
                                };
                                // a contracted sum of K terms may differ from the plain one by about K eps
                                let scale = scale * (1.0 + terms as f32 / 8.0);
                                stats.check(&|| format!("seed {seed}: {what}: gsyn of batch row {b}, post {j} ({terms} synapses)"), v, y[b * n_post + j], scale);
                            } else {
                                assert_eq!(v.to_bits(), POISON_F.to_bits(), "seed {seed}: {what}: element {k} is outside the slice but was written ({v})");
                            }
                        }
                    }
                }
            }
        }
    }
    stats.report(test, seed);
    g.finish(test, seed);
}

/// `v_new` as the LIF kernel forms it, only to keep random neurons away from the threshold
/// (where a contracted FMA could legitimately flip the spike).
fn lif_v_new(p: &plan::LifParams, v_old: f32, i: f32) -> f32 {
    v_old + p.dt_phi * (((p.v_rest - v_old) + p.r * i) * p.inv_tau)
}

#[test]
fn lif_update_matches_cpu() {
    let test = "lif_update_matches_cpu";
    let seed = base_seed();
    let Some(g) = gpu(test) else { return };
    let mut rng = rng_for(test, seed);
    let mut stats = Inexact::default();
    let mut case = 0;
    let mut total_spikes = 0u64;
    let mut total_refractory = 0u64;
    let mut at_boundary = 0u64;
    for &n in &SIZES {
        for &batch in &BATCHES {
            for n_inputs in [0usize, 1, 3] {
                case += 1;
                let width = batch * n;
                let dt = [0.1f32, 0.05][rng.random_range(0..2)];
                let step: u32 = if case % 3 == 0 { 0 } else { rng.random_range(1..5000) };
                let t = step_t(step, dt);
                let v_rest = -60.0 + rng.random_range(-5.0f32..5.0);
                let tau = rng.random_range(5.0f32..30.0);
                let p = plan::LifParams {
                    v_rest,
                    v_th: v_rest + rng.random_range(7.0f32..13.0),
                    v_reset: v_rest + rng.random_range(-2.0f32..2.0),
                    r: rng.random_range(0.5f32..2.0),
                    inv_tau: 1.0 / tau,
                    dt_phi: plan::dt_phi(dt, -1.0 / tau),
                    tau_ref: rng.random_range(1.0f32..6.0),
                };
                let e: Vec<f32> = (0..n_inputs).map(|_| [0.0f32, -80.0, -70.0, 10.0, rng.random_range(-90.0..20.0)][rng.random_range(0..5)]).collect();
                let gsyn: Vec<f32> =
                    (0..n_inputs * width).map(|_| if rng.random_bool(0.2) { 0.0 } else { rng.random_range(0.0f32..0.3) }).collect();
                let ref_steps = (p.tau_ref / dt) as u32;
                let mut t_last = vec![0f32; width];
                let mut v = vec![0f32; width];
                for idx in 0..width {
                    t_last[idx] = match rng.random_range(0..12) {
                        0..4 => cpu::lif_update::T_LAST_INIT,
                        // exactly at the boundary (t - t_last == tau_ref where f32 allows), and
                        // one f32 step either side
                        10 => t - p.tau_ref,
                        11 => {
                            let b = t - p.tau_ref;
                            if rng.random_bool(0.5) { b.next_up() } else { b.next_down() }
                        }
                        // at the refractory boundary, both sides
                        4..7 => step_t(step.saturating_sub(ref_steps + rng.random_range(0..3)).saturating_add(1), dt),
                        _ => step_t(step.saturating_sub(rng.random_range(0..2 * ref_steps + 2)), dt),
                    };
                    let refractory = (t - t_last[idx]) <= p.tau_ref;
                    // V: spread, or close under the threshold; refractory ones sometimes exactly at it
                    let mut vv = if refractory && rng.random_bool(0.1) {
                        p.v_th
                    } else if rng.random_bool(0.4) {
                        p.v_th - rng.random_range(0.0f32..0.6)
                    } else {
                        rng.random_range(p.v_reset - 10.0..p.v_th + 2.0)
                    };
                    if !refractory {
                        for _ in 0..100 {
                            let i = (0..n_inputs).fold(0.0f32, |acc, k| acc + gsyn[k * width + idx] * (e[k] - vv));
                            if (lif_v_new(&p, vv, i) - p.v_th).abs() > 1e-4 {
                                break;
                            }
                            vv -= 0.01;
                        }
                    }
                    v[idx] = vv;
                }
                let mut s = LifState {
                    v: v.clone(),
                    t_last: t_last.clone(),
                    spike: vec![POISON_U; width],
                    input: vec![POISON_F; width],
                    gsyn: gsyn.clone(),
                };
                cpu::lif_update::lif_update(&p, t, &e, &mut s);
                let count_slot = rng.random_range(0..4u32);
                let counts0 = [7u32, 11, 13, 17];
                let up = kernels::LifParams {
                    width: width as u32,
                    n_inputs: n_inputs as u32,
                    count_slot,
                    _pad0: 0,
                    v_rest: p.v_rest,
                    v_th: p.v_th,
                    v_reset: p.v_reset,
                    r: p.r,
                    inv_tau: p.inv_tau,
                    dt_phi: p.dt_phi,
                    tau_ref: p.tau_ref,
                    _pad1: 0.0,
                };
                let ub = g.uniform("lif params", &up);
                let eb = g.buf("E", &e);
                let gb = g.buf("gsyn", &gsyn);
                let vb = g.buf("V", &with_tail(&v, POISON_F));
                let tb = g.buf("t_last", &with_tail(&t_last, POISON_F));
                let sb = g.buf("spike", &vec![POISON_U; width + TAIL]);
                let ib = g.buf("input", &vec![POISON_F; width + TAIL]);
                let cb = g.buf("counts", &counts0);
                let bg = g.group1(&g.k.lif_update, &[&ub, &eb, &gb, &vb, &tb, &sb, &ib, &cb]);
                g.run(&g.k.lif_update, &bg, &[step_info(step, dt, 0)], &|_| width as u64, max_dim_for(&g, case));
                let got_v: Vec<f32> = g.read(&vb, width + TAIL);
                let got_t: Vec<f32> = g.read(&tb, width + TAIL);
                let got_s: Vec<u32> = g.read(&sb, width + TAIL);
                let got_i: Vec<f32> = g.read(&ib, width + TAIL);
                let got_c: Vec<u32> = g.read(&cb, 4);
                let what = format!("lif_update n={n} batch={batch} inputs={n_inputs} step={step} dt={dt}");
                let mut spikes = 0u32;
                at_boundary += t_last.iter().filter(|&&tl| (t - tl) == p.tau_ref).count() as u64;
                for idx in 0..width {
                    let terms: f32 = (0..n_inputs).map(|k| (gsyn[k * width + idx] * (e[k] - v[idx])).abs()).sum();
                    let refractory = (t - t_last[idx]) <= p.tau_ref;
                    total_refractory += refractory as u64;
                    assert_eq!(
                        got_s[idx], s.spike[idx],
                        "seed {seed}: {what}: spike of {idx} (V_old {}, t_last {}, refractory {refractory}, CPU V {})",
                        v[idx], t_last[idx], s.v[idx]
                    );
                    spikes += s.spike[idx];
                    assert_eq!(got_t[idx].to_bits(), s.t_last[idx].to_bits(), "seed {seed}: {what}: t_last of {idx}");
                    stats.check(&|| format!("seed {seed}: {what}: input current of {idx}"), got_i[idx], s.input[idx], terms);
                    let v_scale = v[idx].abs() + p.dt_phi * p.inv_tau * ((p.v_rest - v[idx]).abs() + p.r * terms);
                    stats.check(&|| format!("seed {seed}: {what}: V of {idx} (spike {})", s.spike[idx]), got_v[idx], s.v[idx], v_scale);
                }
                total_spikes += spikes as u64;
                for (name, got) in [("V", &got_v), ("t_last", &got_t), ("input", &got_i)] {
                    assert_tail_f(&format!("{what}: {name}"), seed, got, width);
                }
                assert_tail_u(&format!("{what}: spike"), seed, &got_s, width);
                let mut want_c = counts0;
                want_c[count_slot as usize] += spikes;
                assert_eq!(got_c, want_c, "seed {seed}: {what}: spike counters (slot {count_slot}, {spikes} spikes)");
            }
        }
    }
    assert!(
        total_spikes > 0 && total_refractory > 0 && at_boundary > 0,
        "seed {seed}: the random inputs exercised no spike, no refractory neuron or no exact refractory boundary"
    );
    eprintln!("{test} (seed {seed}): {total_spikes} spikes, {total_refractory} refractory neurons, {at_boundary} exactly at the boundary");
    stats.report(test, seed);
    g.finish(test, seed);
}

#[test]
fn record_matches_cpu_in_every_mode() {
    let test = "record_matches_cpu_in_every_mode";
    let seed = base_seed();
    let Some(g) = gpu(test) else { return };
    let mut rng = rng_for(test, seed);
    let mut stats = Inexact::default();
    let mut case = 0;
    let modes = [record_mode::COPY, record_mode::RING, record_mode::SPIKE, record_mode::STAMP, record_mode::CURRENT];
    for &n in &SIZES {
        for &batch in &BATCHES {
            for mode in modes {
                case += 1;
                let width = batch * n;
                let rows = 4usize;
                let s0: u32 = rng.random_range(0..3000);
                let mut p = kernels::RecordParams { mode, width: width as u32, ..Default::default() };
                let dummy = g.buf("dummy", &[POISON_U; 4]);
                let rand_f = |rng: &mut ChaCha8Rng| match rng.random_range(0..20) {
                    0 => -0.0f32,
                    1 => f32::INFINITY,
                    2 => 3.0e38,
                    _ => rng.random_range(-100.0f32..100.0),
                };
                // expected words per row (CPU twin), scale per element for the current
                let mut want = vec![POISON_U; rows * width];
                let mut scales = vec![0f32; width];
                let (fsrc, usrc, vsrc, e): (wgpu::Buffer, wgpu::Buffer, wgpu::Buffer, wgpu::Buffer);
                match mode {
                    record_mode::COPY | record_mode::RING => {
                        let (len, history) = if mode == record_mode::COPY {
                            p.src_base = rng.random_range(0..30);
                            (p.src_base as usize + width + 7, 1)
                        } else {
                            p.history = rng.random_range(1..4);
                            (p.history as usize * width, p.history as usize)
                        };
                        let data: Vec<f32> = (0..len).map(|_| rand_f(&mut rng)).collect();
                        let mut out = vec![0f32; rows * width];
                        for r in 0..rows {
                            let base = if mode == record_mode::COPY { p.src_base as usize } else { (s0 as usize + r) % history * width };
                            cpu::record::record_f32(&data[base..base + width], r, &mut out);
                        }
                        want = out.iter().map(|v| v.to_bits()).collect();
                        fsrc = g.buf("fsrc", &data);
                        (usrc, vsrc, e) = (g.buf("u", &[POISON_U; 4]), g.buf("v", &[POISON_U; 4]), g.buf("e", &[POISON_U; 4]));
                    }
                    record_mode::SPIKE => {
                        let flags: Vec<u32> = (0..width).map(|_| rng.random_bool(0.3) as u32).collect();
                        let mut out = vec![0u8; rows * width];
                        for r in 0..rows {
                            cpu::record::record_spike(&flags, r, &mut out);
                        }
                        want = out.iter().map(|&b| b as u32).collect();
                        usrc = g.buf("flags", &flags);
                        (fsrc, vsrc, e) = (g.buf("f", &[POISON_U; 4]), g.buf("v", &[POISON_U; 4]), g.buf("e", &[POISON_U; 4]));
                    }
                    record_mode::STAMP => {
                        p.stamp_base = rng.random_range(0..20);
                        // one stamp per batch row and neuron
                        let stamps: Vec<u32> = (0..p.stamp_base as usize + width + 5)
                            .map(|_| match rng.random_range(0..4) {
                                0 => u32::MAX,
                                1 => POISON_U,
                                _ => s0 + rng.random_range(0..rows as u32),
                            })
                            .collect();
                        let mut out = vec![0u8; rows * width];
                        let sb = p.stamp_base as usize;
                        for r in 0..rows {
                            cpu::record::record_stamp(&stamps[sb..sb + width], s0 + r as u32, r, &mut out);
                        }
                        want = out.iter().map(|&b| b as u32).collect();
                        usrc = g.buf("stamps", &stamps);
                        (fsrc, vsrc, e) = (g.buf("f", &[POISON_U; 4]), g.buf("v", &[POISON_U; 4]), g.buf("e", &[POISON_U; 4]));
                    }
                    _ => {
                        let n_slots = rng.random_range(1..4usize);
                        p.slot_start = rng.random_range(0..n_slots as u32);
                        p.slot_end = rng.random_range(p.slot_start + 1..=n_slots as u32);
                        let gs: Vec<f32> = (0..n_slots * width).map(|_| rng.random_range(0.0f32..0.5)).collect();
                        let v: Vec<f32> = (0..width).map(|_| rng.random_range(-75.0f32..-45.0)).collect();
                        let ev: Vec<f32> = (0..n_slots).map(|_| [0.0f32, -80.0, rng.random_range(-90.0..10.0)][rng.random_range(0..3)]).collect();
                        let range = p.slot_start as usize..p.slot_end as usize;
                        let mut out = vec![0f32; rows * width];
                        for r in 0..rows {
                            cpu::record::record_current(&gs, &v, &ev, range.clone(), r, &mut out);
                        }
                        want = out.iter().map(|v| v.to_bits()).collect();
                        for idx in 0..width {
                            scales[idx] = range.clone().map(|k| (gs[k * width + idx] * (ev[k] - v[idx])).abs()).sum();
                        }
                        (fsrc, vsrc, e) = (g.buf("gsyn", &gs), g.buf("V", &v), g.buf("E", &ev));
                        usrc = g.buf("u", &[POISON_U; 4]);
                    }
                }
                let _ = &dummy;
                let ub = g.uniform("record params", &p);
                let ob = g.buf("out", &vec![POISON_U; rows * width + TAIL]);
                let bg = g.group1(&g.k.record, &[&ub, &fsrc, &usrc, &vsrc, &e, &ob]);
                let infos: Vec<StepInfo> = (0..rows as u32).map(|r| step_info(s0 + r, 0.1, r)).collect();
                g.run(&g.k.record, &bg, &infos, &|_| width as u64, max_dim_for(&g, case));
                let got: Vec<u32> = g.read(&ob, rows * width + TAIL);
                let what = format!("record mode {mode} n={n} batch={batch} steps {s0}..{} params {p:?}", s0 + rows as u32);
                for k in 0..rows * width {
                    if mode == record_mode::CURRENT {
                        let (a, b) = (f32::from_bits(got[k]), f32::from_bits(want[k]));
                        stats.check(&|| format!("seed {seed}: {what}: row {} element {}", k / width, k % width), a, b, scales[k % width]);
                    } else {
                        assert_eq!(got[k], want[k], "seed {seed}: {what}: row {} element {}", k / width, k % width);
                    }
                }
                assert_tail_u(&what, seed, &got, rows * width);
            }
        }
    }
    stats.report(test, seed);
    g.finish(test, seed);
}
