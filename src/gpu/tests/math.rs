//! `shared/math.wgsl`'s `exp_poly` against `cpu::reference::math::exp`, and how the device
//! divides. A small test kernel (the shared files prepended, as for every kernel) evaluates
//! `exp_poly` on a dense sweep of the clamped range `[-87, 88]`, on random floats in it and on
//! edge values (the clamp bounds and beyond them, the infinities, zeros, tiny and subnormal
//! arguments, the points where the Cody-Waite `n` changes); the results must be bit-identical,
//! since both sides run the same multiplications and additions.
//!
//! Division: NMDA's exprel `(exp_poly(z) - 1) / z` and MgBlock's `/ (1 + k exp(..))` divide at
//! run time. WGSL only promises `x / y` within 2.5 ulp for `|y|` in `[2^-126, 2^126]`; the CPU's
//! is correctly rounded. The test measures both the exprel quotient and plain quotients of random
//! operands, prints how many were not correctly rounded, and fails only beyond WGSL's bound
//! (3 ulp from the correctly rounded quotient).

use super::harness::*;
use crate::cpu::reference::math::exp;
use crate::gpu::kernels::full_source;
use rand::Rng;
use wgpu::BufferUsages as U;

const PROBE: &str = r#"
@group(1) @binding(0) var<storage, read> xs: array<f32>;
@group(1) @binding(1) var<storage, read_write> ys: array<f32>;
@group(1) @binding(2) var<storage, read_write> qs: array<f32>;
@group(1) @binding(3) var<storage, read> den: array<f32>;
@group(1) @binding(4) var<storage, read_write> ds: array<f32>;

// exp_poly(x), and NMDA's exprel quotient as synapse.wgsl forms it
@compute @workgroup_size(64)
fn exp_main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(wid, lid, nwg);
    if (i >= arrayLength(&xs)) {
        return;
    }
    let z = xs[i];
    ys[i] = exp_poly(z);
    qs[i] = (exp_poly(z) - 1.0) / z;
}

// xs[i] / den[i]
@compute @workgroup_size(64)
fn div_main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(wid, lid, nwg);
    if (i >= arrayLength(&xs)) {
        return;
    }
    ds[i] = xs[i] / den[i];
}
"#;

/// Runs entry point `entry` of the probe over `xs` (and `den`); returns ys, qs, ds.
fn probe(g: &Gpu, entry: &str, xs: &[f32], den: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let module = g.ctx.shader("math probe", &full_source(PROBE)).unwrap_or_else(|e| panic!("{}: the probe does not compile: {e}", g.test));
    let entry_of = |binding: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Storage { read_only }, has_dynamic_offset: false, min_binding_size: None },
        count: None,
    };
    let layout = g.ctx.device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("math probe"),
        entries: &[entry_of(0, true), entry_of(1, false), entry_of(2, false), entry_of(3, true), entry_of(4, false)],
    });
    let pl = g.ctx.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("math probe"),
        bind_group_layouts: &[Some(&g.k.step_layout), Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = g.ctx.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("math probe"),
        layout: Some(&pl),
        module: &module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    });
    let n = xs.len();
    let bufs = [g.buf("xs", xs), g.buf("ys", &vec![POISON_F; n]), g.buf("qs", &vec![POISON_F; n]), g.buf("den", den), g.buf("ds", &vec![POISON_F; n])];
    let entries: Vec<_> = bufs.iter().enumerate().map(|(k, b)| wgpu::BindGroupEntry { binding: k as u32, resource: b.as_entire_binding() }).collect();
    let group = g.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some("math probe"), layout: &layout, entries: &entries });
    // the step table the shared prelude declares (unused here, but part of the layout)
    let table = g.ctx.buffer_init("step table", &[0u8; 256], U::UNIFORM).unwrap();
    let g0 = g.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("math probe step"),
        layout: &g.k.step_layout,
        entries: &[wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &table,
                offset: 0,
                size: wgpu::BufferSize::new(std::mem::size_of::<crate::gpu::uniforms::StepInfo>() as u64),
            }),
        }],
    });
    let mut enc = g.ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = enc.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &g0, &[0]);
        pass.set_bind_group(1, &group, &[]);
        let (x, y) = crate::gpu::kernels::workgroups(n as u64, g.ctx.limits.max_compute_workgroups_per_dimension);
        pass.dispatch_workgroups(x, y, 1);
    }
    g.ctx.queue.submit([enc.finish()]);
    g.check_errors();
    (g.read(&bufs[1], n), g.read(&bufs[2], n), g.read(&bufs[4], n))
}

/// Quotients compared with the CPU's correctly rounded ones.
#[derive(Default)]
struct Division {
    compared: usize,
    not_rounded: usize,
    worst: u64,
    example: Option<(f32, f32, f32, f32)>,
}

impl Division {
    fn check(&mut self, what: &dyn Fn() -> String, num: f32, den: f32, gpu: f32) {
        let cpu = num / den;
        if !cpu.is_finite() || cpu == 0.0 || cpu.abs() < f32::MIN_POSITIVE || !(f32::MIN_POSITIVE..=2f32.powi(126)).contains(&den.abs()) {
            return; // outside WGSL's accuracy promise
        }
        self.compared += 1;
        let d = ulps_between(gpu, cpu);
        assert!(gpu.is_finite() && d <= 3, "{}: {num:e} / {den:e}: GPU {gpu:e} ({:#010x}), correctly rounded {cpu:e}: {d} ulp", what(), gpu.to_bits());
        if d > 0 {
            self.not_rounded += 1;
            if d > self.worst || self.example.is_none() {
                self.example = Some((num, den, gpu, cpu));
            }
            self.worst = self.worst.max(d);
        }
    }

    fn report(&self, what: &str) {
        eprintln!(
            "{what}: {} quotients, {} not correctly rounded ({:.3}%), largest difference {} ulp{}",
            self.compared,
            self.not_rounded,
            100.0 * self.not_rounded as f64 / self.compared.max(1) as f64,
            self.worst,
            match self.example {
                Some((a, b, gq, cq)) => format!(" (e.g. {a:e} / {b:e}: GPU {gq:e}, CPU {cq:e})"),
                None => String::new(),
            }
        );
    }
}

#[test]
fn exp_poly_is_bit_identical_to_the_cpu_exp_and_division_is_measured() {
    let test = "exp_poly_is_bit_identical_to_the_cpu_exp_and_division_is_measured";
    let seed = base_seed();
    let Some(g) = gpu(test, seed) else { return };
    let mut rng = rng_for(test, seed);
    let mut xs: Vec<f32> = Vec::new();
    // dense sweep
    let mut x = -87.0f32;
    while x <= 88.0 {
        xs.push(x);
        x += 0.000_731;
    }
    // random floats of the range
    xs.extend((0..100_000).map(|_| rng.random_range(-87.0f32..=88.0)));
    // edges: the clamp and beyond, infinities, zeros, tiny and subnormal arguments, ln2 / 2
    let ln2 = std::f32::consts::LN_2;
    xs.extend([
        -87.0,
        88.0,
        (-87.0f32).next_down(),
        (-87.0f32).next_up(),
        88.0f32.next_down(),
        88.0f32.next_up(),
        -88.0,
        -103.0,
        89.0,
        100.0,
        -1e30,
        1e30,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        f32::MIN,
        0.0,
        -0.0,
        1e-30,
        -1e-30,
        1e-5,
        -1e-5,
        1e-40,
        -1e-40,
        f32::MIN_POSITIVE,
        ln2 / 2.0,
        -ln2 / 2.0,
    ]);
    // where n = floor(x log2(e) + 0.5) changes: x = (k - 1/2) ln 2, a few values either side
    for k in -126..=127 {
        let b = (k as f32 - 0.5) * ln2;
        let mut lo = b;
        let mut hi = b;
        for _ in 0..3 {
            lo = lo.next_down();
            hi = hi.next_up();
            xs.extend([lo, hi]);
        }
        xs.push(b);
    }
    let (ys, qs, _) = probe(&g, "exp_main", &xs, &vec![1.0; xs.len()]);
    let mut exprel = Division::default();
    let mut exp_bits = Deferred::default();
    let (mut reassociated, mut worst) = (0usize, 0u64);
    for (k, &x) in xs.iter().enumerate() {
        let want = exp(x);
        exp_bits.bits(&format!("seed {seed}: exp_poly({x:e}) (input {k})"), &ys[k..k + 1], &[want]);
        if ys[k].to_bits() != want.to_bits() {
            worst = worst.max(ulps_between(ys[k], want));
            reassociated += (ys[k].to_bits() == exp_reassociated(x).to_bits()) as usize;
        }
        if x != 0.0 {
            // the numerator the GPU divides is its own exp_poly(z) - 1
            exprel.check(&|| format!("seed {seed}: (exp_poly(z) - 1) / z at z = {x:e}"), ys[k] - 1.0, x, qs[k]);
        }
    }
    eprintln!(
        "{test} (seed {seed}): exp_poly at {} arguments: {} differ from the CPU's exp (largest {worst} ulp), {reassociated} of them equal `p (r r) + (r + 1)`",
        xs.len(),
        exp_bits.failed
    );
    exprel.report(&format!("{test} (seed {seed}): the exprel quotient (exp(z) - 1) / z over the sweep"));
    // the range NMDA's exprel sees: z = -dt (a x + 1/tau_decay), small and negative
    let zs: Vec<f32> = (0..50_000).map(|_| -rng.random_range(1e-5f32..2.0)).collect();
    let (e_z, q_z, _) = probe(&g, "exp_main", &zs, &vec![1.0; zs.len()]);
    let mut nmda = Division::default();
    for (k, &z) in zs.iter().enumerate() {
        nmda.check(&|| format!("seed {seed}: NMDA exprel at z = {z:e}"), e_z[k] - 1.0, z, q_z[k]);
    }
    nmda.report(&format!("{test} (seed {seed}): the exprel quotient at NMDA's z in [-2, -1e-5]"));
    // plain quotients of random operands (and MgBlock's: a current over 1 + k exp(..))
    let mut num: Vec<f32> = Vec::new();
    let mut den: Vec<f32> = Vec::new();
    for _ in 0..100_000 {
        let f = |rng: &mut rand_chacha::ChaCha8Rng| {
            let m: f32 = rng.random_range(1.0..2.0);
            let s = if rng.random_bool(0.5) { -1.0 } else { 1.0 };
            s * m * 2f32.powi(rng.random_range(-60..60))
        };
        num.push(f(&mut rng));
        den.push(f(&mut rng));
    }
    for _ in 0..20_000 {
        let v: f32 = rng.random_range(-100.0..50.0);
        num.push(rng.random_range(0.0f32..1.0) * (0.0 - v));
        den.push(1.0 + 0.336_134_46 * exp(0.062 * (0.0 - v)));
    }
    let (_, _, ds) = probe(&g, "div_main", &num, &den);
    let mut plain = Division::default();
    for k in 0..num.len() {
        plain.check(&|| format!("seed {seed}: quotient {k}"), num[k], den[k], ds[k]);
    }
    plain.report(&format!("{test} (seed {seed}): plain quotients x / y"));
    g.finish();
    exp_bits.assert_none(
        "exp_poly is not bit-identical to the CPU's exp: lavapipe evaluates math.wgsl's `p * (r * r) + r + 1.0` as \
         `p * (r * r) + (r + 1.0)` (a reassociation the driver may make: the SPIR-V marks no operation exact)",
    );
}

/// The CPU's exp with the last sum reassociated as lavapipe evaluates it (a diagnostic only).
#[allow(clippy::excessive_precision)] // the twin's constants, spelled as there
fn exp_reassociated(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = (x - n * 0.693_359_375) - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4f32;
    for c in [1.398_199_9e-3f32, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1] {
        p = p * r + c;
    }
    let y = p * (r * r) + (r + 1.0);
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}
