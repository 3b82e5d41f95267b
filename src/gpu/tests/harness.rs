//! What every kernel test shares: the seed, the device, poisoned buffers, a runner that records
//! several steps into one compute pass and one submission as the engine does (the step table
//! bound at dynamic offsets), and the comparisons.
//!
//! * Seed: `SPIKEGPU_SEED` if set, else random; every assertion message names it, so a failure
//!   replays with `SPIKEGPU_SEED=<seed> cargo test --release --lib gpu::tests`.
//! * Every buffer a kernel writes is poisoned first ([`POISON_F`], [`POISON_U`]) and has a
//!   poisoned tail of [`TAIL`] words past the region the kernel owns: an element the kernel
//!   forgot shows as poison, an element it must not touch must still be poison.
//! * With `SPIKEGPU_REQUIRE_GPU=1` (or `CI` set) a missing adapter fails the tests; otherwise
//!   they print that they did not run.

use crate::gpu::kernels::{self, KernelBindings, Kernels, STEP_STRIDE};
use crate::gpu::uniforms::StepInfo;
use crate::gpu::GpuContext;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wgpu::BufferUsages as U;

/// Sizes that are not multiples of the workgroup (and one that is smaller than it).
pub const SIZES: [usize; 4] = [1, 63, 65, 1007];
/// Batch rows.
pub const BATCHES: [usize; 2] = [1, 3];
/// Float poison (quiet NaN, bits `0x7fc0_0000`).
pub const POISON_F: f32 = f32::NAN;
/// Word poison.
pub const POISON_U: u32 = 0xDEAD_BEEF;
/// Poisoned words after every written region.
pub const TAIL: usize = 37;

/// `SPIKEGPU_SEED`, or a random seed.
pub fn base_seed() -> u64 {
    match std::env::var("SPIKEGPU_SEED") {
        Ok(s) => s.trim().parse().unwrap_or_else(|_| panic!("SPIKEGPU_SEED={s:?} is not a u64")),
        Err(_) => rand::random(),
    }
}

/// A seeded RNG per test: the test's name is mixed into the seed, so tests do not share streams.
pub fn rng_for(test: &str, seed: u64) -> ChaCha8Rng {
    let salt = test.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    ChaCha8Rng::seed_from_u64(seed ^ salt)
}

/// Whether a missing GPU is a failure (`SPIKEGPU_REQUIRE_GPU=1`, or on CI).
pub fn gpu_required() -> bool {
    std::env::var("SPIKEGPU_REQUIRE_GPU").is_ok_and(|v| v.trim() == "1") || std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
}

/// The device and the compiled kernels of one test.
pub struct Gpu {
    pub ctx: GpuContext,
    pub k: Kernels,
    pub test: &'static str,
    pub seed: u64,
}

/// A kernel's bind group, with the kernel it is for.
pub struct Bound {
    pub kernel: &'static str,
    pub group: wgpu::BindGroup,
}

/// One dispatch of every step: a bound kernel and its thread count per step (0: skipped, as the
/// engine skips a spike input without events).
pub struct Pass<'a> {
    pub bound: &'a Bound,
    pub threads: &'a dyn Fn(usize) -> u64,
}

/// Opens the device and compiles the kernels, or returns `None` when there is no adapter and
/// none is required.
pub fn gpu(test: &'static str, seed: u64) -> Option<Gpu> {
    match GpuContext::new() {
        Ok(ctx) => {
            eprintln!("{test} (seed {seed}): on {} ({})", ctx.adapter_name(), ctx.backend_name());
            let k = Kernels::new(&ctx).unwrap_or_else(|e| panic!("{test}: the kernels do not compile: {e}"));
            Some(Gpu { ctx, k, test, seed })
        }
        Err(e) if gpu_required() => panic!("{test}: a GPU is required (SPIKEGPU_REQUIRE_GPU=1 or CI) but: {e}"),
        Err(e) => {
            eprintln!("{test}: no GPU adapter, not run ({e})");
            None
        }
    }
}

/// The step table entry of step `step` (time `f32(step) * dt`, as both engines form it).
pub fn step_info(step: u32, dt: f32, chunk_start: u32) -> StepInfo {
    StepInfo { step, t: crate::model::step_time(step as usize, dt), chunk_start, _pad0: 0 }
}

/// `data` followed by [`TAIL`] copies of `poison`.
pub fn with_tail<T: Copy>(data: &[T], poison: T) -> Vec<T> {
    let mut v = data.to_vec();
    v.extend(std::iter::repeat_n(poison, TAIL));
    v
}

/// A per-dimension workgroup limit: the device's for even cases, 3 for odd ones, so the 2-D split
/// of [`kernels::workgroups`] and its undoing in `linear_id` run too.
pub fn max_dim_for(g: &Gpu, case: usize) -> u32 {
    if case % 2 == 1 {
        3
    } else {
        g.ctx.limits.max_compute_workgroups_per_dimension
    }
}

impl Gpu {
    /// A storage buffer holding `data`.
    pub fn buf<T: bytemuck::Pod>(&self, label: &str, data: &[T]) -> wgpu::Buffer {
        self.ctx.storage_buffer_from(label, data, U::empty()).unwrap_or_else(|e| panic!("{}: buffer {label}: {e}", self.test))
    }

    /// A uniform buffer holding `v`.
    pub fn uniform<T: bytemuck::Pod>(&self, v: &T) -> wgpu::Buffer {
        self.ctx.uniform_buffer("test uniform", v).unwrap_or_else(|e| panic!("{}: uniform: {e}", self.test))
    }

    /// The first `n` elements of `b`.
    pub fn read<T: bytemuck::Pod>(&self, b: &wgpu::Buffer, n: usize) -> Vec<T> {
        self.ctx.read_vec(b, 0, n as u64).unwrap_or_else(|e| panic!("{} (seed {}): reading back: {e}", self.test, self.seed))
    }

    /// Overwrites `b` from element `first` on with `data` (before the next submission).
    pub fn write<T: bytemuck::Pod>(&self, b: &wgpu::Buffer, first: usize, data: &[T]) {
        self.ctx.queue.write_buffer(b, (first * std::mem::size_of::<T>()) as u64, bytemuck::cast_slice(data));
    }

    /// The kernel's bind group from its typed bindings (as the engine makes it).
    pub fn bind<'a, B: KernelBindings<'a>>(&self, b: &B) -> Bound {
        Bound { kernel: B::KERNEL, group: self.k.bind(&self.ctx, b) }
    }

    /// Runs every pass of `passes` for each entry of `steps`, in order, in one compute pass and
    /// one submission (as the engine does), with the step table bound as group 0 at offset
    /// `r * STEP_STRIDE`. `max_per_dim` is handed to [`kernels::workgroups`].
    pub fn run(&self, steps: &[StepInfo], passes: &[Pass<'_>], max_per_dim: u32) {
        let stride = STEP_STRIDE as usize;
        let mut table = vec![0u8; stride * steps.len().max(1)];
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
            for r in 0..steps.len() {
                pass.set_bind_group(0, &g0, &[(r * stride) as u32]);
                for p in passes {
                    let threads = (p.threads)(r);
                    if threads == 0 {
                        continue;
                    }
                    pass.set_pipeline(&self.k.get(p.bound.kernel).pipeline);
                    pass.set_bind_group(1, &p.bound.group, &[]);
                    let (x, y) = kernels::workgroups(threads, max_per_dim);
                    pass.dispatch_workgroups(x, y, 1);
                }
            }
        }
        self.ctx.queue.submit([enc.finish()]);
        self.check_errors();
    }

    /// Fails on any error wgpu reported out of band.
    pub fn check_errors(&self) {
        if let Err(e) = self.ctx.take_errors() {
            panic!("{} (seed {}): uncaptured GPU errors: {e}", self.test, self.seed);
        }
    }

    /// Waits for the device and fails on any error it reported.
    pub fn finish(&self) {
        self.ctx.device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
        self.check_errors();
    }
}

/// One unit in the last place of `x` (infinite for non-finite `x`).
pub fn ulp(x: f32) -> f32 {
    let a = x.abs();
    if !a.is_finite() {
        return f32::INFINITY;
    }
    if a == f32::MAX {
        return a - f32::from_bits(a.to_bits() - 1);
    }
    f32::from_bits(a.to_bits() + 1) - a
}

/// Distance in representable f32 values between two finite floats of any sign.
pub fn ulps_between(a: f32, b: f32) -> u64 {
    let key = |x: f32| {
        let b = x.to_bits() as i64;
        if b < 0x8000_0000 {
            b
        } else {
            0x8000_0000 - b
        }
    };
    (key(a) - key(b)).unsigned_abs()
}

/// Bitwise equality, except that two NaNs are equal whatever their payload.
pub fn same_f(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Every element of `got[..want.len()]` has `want`'s bits.
pub fn assert_bits_f(what: &str, got: &[f32], want: &[f32]) {
    for (k, (&a, &b)) in got.iter().zip(want).enumerate() {
        assert!(a.to_bits() == b.to_bits(), "{what}: element {k}: GPU {a:e} ({:#010x}), CPU {b:e} ({:#010x})", a.to_bits(), b.to_bits());
    }
}

/// Every element of `got[..want.len()]` equals `want`.
pub fn assert_eq_u<T: PartialEq + std::fmt::Debug + Copy>(what: &str, got: &[T], want: &[T]) {
    for (k, (&a, &b)) in got.iter().zip(want).enumerate() {
        assert!(a == b, "{what}: element {k}: GPU {a:?}, CPU {b:?}");
    }
}

/// The words of `got` from `from` on are still poison.
pub fn assert_tail_u(what: &str, got: &[u32], from: usize) {
    for (k, &w) in got[from..].iter().enumerate() {
        assert_eq!(w, POISON_U, "{what}: word {} past the written region was overwritten", from + k);
    }
}

/// The floats of `got` from `from` on are still poison.
pub fn assert_tail_f(what: &str, got: &[f32], from: usize) {
    for (k, &v) in got[from..].iter().enumerate() {
        assert_eq!(v.to_bits(), POISON_F.to_bits(), "{what}: element {} past the written region was overwritten ({v})", from + k);
    }
}

/// The i32 words of `got` from `from` on are still poison.
pub fn assert_tail_i(what: &str, got: &[i32], from: usize) {
    for (k, &w) in got[from..].iter().enumerate() {
        assert_eq!(w as u32, POISON_U, "{what}: word {} past the written region was overwritten", from + k);
    }
}

/// Counts values compared within a tolerance that were not bit-exact (printed per test).
#[derive(Default)]
pub struct Inexact {
    pub compared: usize,
    pub inexact: usize,
    pub worst_ulps: u64,
    pub worst_rel: f64,
}

impl Inexact {
    /// `gpu` equals `cpu` within `tol` (absolute); NaN matches only NaN.
    pub fn check(&mut self, what: &dyn Fn() -> String, gpu: f32, cpu: f32, tol: f32) {
        self.compared += 1;
        if same_f(gpu, cpu) {
            return;
        }
        let ok = gpu.is_finite() && cpu.is_finite() && (gpu - cpu).abs() <= tol;
        assert!(ok, "{}: GPU {gpu:e} ({:#010x}), CPU {cpu:e} ({:#010x}), tolerance {tol:e}", what(), gpu.to_bits(), cpu.to_bits());
        self.inexact += 1;
        self.worst_ulps = self.worst_ulps.max(ulps_between(gpu, cpu));
        self.worst_rel = self.worst_rel.max(((gpu - cpu).abs() / tol.max(f32::MIN_POSITIVE)) as f64);
    }

    /// Prints the counts.
    pub fn report(&self, what: &str) {
        eprintln!(
            "{what}: {} values compared within a tolerance, {} not bit-exact (largest: {} ulp, {:.3} of the tolerance)",
            self.compared, self.inexact, self.worst_ulps, self.worst_rel
        );
    }
}

/// Bit-exactness failures collected so that a test checks everything else before it fails on
/// them (where one known cause would otherwise hide every later case).
#[derive(Default)]
pub struct Deferred {
    pub compared: usize,
    pub failed: usize,
    pub first: Vec<String>,
}

impl Deferred {
    /// Every element of `got[..want.len()]` has `want`'s bits (NaNs: any NaN).
    pub fn bits(&mut self, what: &str, got: &[f32], want: &[f32]) {
        for (k, (&a, &b)) in got.iter().zip(want).enumerate() {
            self.compared += 1;
            if !same_f(a, b) {
                self.failed += 1;
                if self.first.len() < 5 {
                    self.first.push(format!("{what}: element {k}: GPU {a:e} ({:#010x}), CPU {b:e} ({:#010x}), {} ulp", a.to_bits(), b.to_bits(), ulps_between(a, b)));
                }
            }
        }
    }

    /// Fails if any comparison failed, with the count, `why` and the first failures.
    pub fn assert_none(&self, why: &str) {
        assert!(self.failed == 0, "{} of {} values not bit-exact ({why}); the first:\n{}", self.failed, self.compared, self.first.join("\n"));
    }
}
