//! `lif_update.wgsl` against `cpu::reference::lif_update`: COBA, CUBA and MgBlock outputs in one
//! population, with and without `I_ext`, Lif and LifRef (refractory boundaries exactly hit), a
//! stamp ring and none, the spike counter, several steps per submission; and the non-finite
//! record (the first step, neuron and what: a conductance, the input current or V).
//!
//! Bit-exact, except in populations with an MgBlock slot: its output divides by the block at run
//! time, and WGSL allows the division to be 2.5 ulp off the correctly rounded quotient the CPU
//! computes (3 ulp of the term from the CPU's; the block's `exp_poly` may add 1 ulp on lavapipe,
//! see `math.rs`), which may change the rounding of each later addition of the sum by 1 ulp of
//! the partial sum: with at most 3 slots, the input current is within `(4 + 3) 2^-23 < 1e-6` of
//! the magnitude of its terms (`|I_ext| + sum |o_k|`) per step.
//! V's update multiplies that by `dt_phi R / tau` and rounds its own terms once more (within
//! `1e-6` of `|V| + dt_phi/tau (|V_rest - V| + R |terms|)`), and a difference carried from an
//! earlier step is damped; over `k` steps the bounds are `k` times those. A neuron whose V came
//! within that bound of the threshold on the CPU may spike on one engine and not on the other: it
//! is left out of the comparison (and counted), as is the spike counter's difference it causes.

use super::harness::*;
use crate::cpu::reference::lif_update::{lif_update, LifState};
use crate::cpu::reference::output;
use crate::gpu::kernels::LifBindings;
use crate::gpu::uniforms::{LifParams, SlotOutput};
use crate::model::{Lif, LifRef, MgBlock, Output, VInit};
use crate::plan::{NeuronParams, OutputParams, NEVER, T_INIT};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// V after the integration and refractoriness, before threshold and reset (the kernel's `held`).
fn held(p: &NeuronParams, t: f32, t_last: f32, v_old: f32, i: f32) -> f32 {
    let v_new = v_old + p.dt_phi * (((p.v_rest - v_old) + p.r * i) * p.inv_tau);
    if p.refractory && (t - t_last) <= p.tau_ref {
        v_old
    } else {
        v_new
    }
}

fn random_neuron(rng: &mut ChaCha8Rng, refractory: bool, dt: f32) -> NeuronParams {
    let v_rest = -60.0 + rng.random_range(-5.0f32..5.0);
    let (v_th, v_reset) = (v_rest + rng.random_range(7.0f32..13.0), v_rest + rng.random_range(-2.0f32..2.0));
    let (tau, r) = (rng.random_range(5.0f32..30.0), rng.random_range(0.5f32..2.0));
    if refractory {
        NeuronParams::lif_ref(&LifRef { v_rest, v_th, v_reset, tau, tau_ref: rng.random_range(1.0f32..6.0), r, v_init: VInit::Scalar(v_rest) }, dt)
    } else {
        NeuronParams::lif(&Lif { v_rest, v_th, v_reset, tau, r, v_init: VInit::Scalar(v_rest) }, dt)
    }
}

fn mg_block(rng: &mut ChaCha8Rng) -> OutputParams {
    OutputParams::from(&Output::MgBlock(MgBlock {
        e: rng.random_range(-10.0f32..10.0),
        cc_mg: 1.2 * rng.random_range(0.5f32..1.5),
        alpha: 0.062 * rng.random_range(0.5f32..1.5),
        beta: 3.57 * rng.random_range(0.5f32..1.5),
        v_offset: rng.random_range(-5.0f32..5.0),
    }))
}

/// Output sets: none, COBA, COBA + CUBA, all three kinds, MgBlock first.
fn outputs(rng: &mut ChaCha8Rng, set: usize) -> Vec<OutputParams> {
    let coba = |rng: &mut ChaCha8Rng| OutputParams::Coba { e: [0.0f32, -80.0, -70.0, 10.0, rng.random_range(-90.0..20.0)][rng.random_range(0..5)] };
    match set {
        0 => vec![],
        1 => vec![coba(rng)],
        2 => vec![coba(rng), OutputParams::Cuba],
        3 => vec![coba(rng), OutputParams::Cuba, mg_block(rng)],
        _ => vec![mg_block(rng), coba(rng)],
    }
}

/// The uniform as `gpu::buffers::StateBuffers::new` makes it.
fn lif_params(p: &NeuronParams, width: usize, n: usize, n_inputs: usize, count_slot: u32, ring: usize, has_i_ext: bool) -> LifParams {
    LifParams {
        width: width as u32,
        n: n as u32,
        n_inputs: n_inputs as u32,
        count_slot,
        ring: ring as u32,
        has_i_ext: has_i_ext as u32,
        ..LifParams::from(p)
    }
}

/// A population's buffers on the device.
struct LifBufs {
    p: wgpu::Buffer,
    outputs: wgpu::Buffer,
    gsyn: wgpu::Buffer,
    i_ext: wgpu::Buffer,
    v: wgpu::Buffer,
    t_last: wgpu::Buffer,
    spike: wgpu::Buffer,
    input: wgpu::Buffer,
    stamps: wgpu::Buffer,
    counts: wgpu::Buffer,
    nonfinite: wgpu::Buffer,
}

impl LifBufs {
    fn bind(&self, g: &Gpu) -> Bound {
        g.bind(&LifBindings {
            p: &self.p,
            outputs: &self.outputs,
            gsyn: &self.gsyn,
            i_ext: &self.i_ext,
            v: &self.v,
            t_last: &self.t_last,
            spike: &self.spike,
            input: &self.input,
            stamps: &self.stamps,
            counts: &self.counts,
            nonfinite: &self.nonfinite,
        })
    }
}

const COUNTS0: [u32; 4] = [7, 11, 13, 17];

/// The non-finite records of 4 populations before the run: slot `count_slot` says "none" with its
/// other words poisoned (they must be written with the first record); the others are poison.
fn nonfinite0(count_slot: u32) -> Vec<u32> {
    (0..16).map(|k| if k == 4 * count_slot as usize { u32::MAX } else { POISON_U }).collect()
}

#[allow(clippy::too_many_arguments)]
fn upload(g: &Gpu, up: &LifParams, outs: &[OutputParams], gsyn: &[f32], i_ext: Option<&[f32]>, s: &LifState, ring: usize, stamps: &[u32]) -> LifBufs {
    let width = s.v.len();
    let slot_outputs: Vec<SlotOutput> = outs.iter().map(SlotOutput::from).collect();
    LifBufs {
        p: g.uniform(up),
        outputs: g.buf("outputs", &with_tail(&slot_outputs, SlotOutput { kind: POISON_U, ..Default::default() })),
        gsyn: g.buf("gsyn", &with_tail(gsyn, POISON_F)),
        i_ext: match i_ext {
            Some(x) => g.buf("I_ext", x),
            None => g.buf("unused I_ext", &[POISON_F; 4]),
        },
        v: g.buf("V", &with_tail(&s.v, POISON_F)),
        t_last: g.buf("t_last", &with_tail(&s.t_last, POISON_F)),
        spike: g.buf("spike", &vec![POISON_U; width + TAIL]),
        input: g.buf("input", &vec![POISON_F; width + TAIL]),
        stamps: g.buf("stamps", &with_tail(&stamps[..ring * width], POISON_U)),
        counts: g.buf("counts", &COUNTS0),
        nonfinite: g.buf("nonfinite", &nonfinite0(up.count_slot)),
    }
}

#[test]
fn lif_update_matches_cpu() {
    let test = "lif_update_matches_cpu";
    let seed = base_seed();
    let Some(g) = gpu(test, seed) else { return };
    let mut rng = rng_for(test, seed);
    let mut mg = Inexact::default();
    let mut case = 0;
    let (mut total_spikes, mut refractory_steps, mut at_boundary, mut left_out) = (0u64, 0u64, 0u64, 0usize);
    for &n in &SIZES {
        for &batch in &BATCHES {
            for set in 0..5 {
                for refractory in [true, false] {
                    case += 1;
                    let width = batch * n;
                    let dt = [0.1f32, 0.05][rng.random_range(0..2)];
                    let p = random_neuron(&mut rng, refractory, dt);
                    let outs = outputs(&mut rng, set);
                    let division = outs.iter().any(|o| matches!(o, OutputParams::MgBlock { .. }));
                    let n_inputs = outs.len();
                    let gsyn: Vec<f32> = (0..n_inputs * width)
                        .map(|k| match outs[k / width] {
                            _ if rng.random_bool(0.2) => 0.0,
                            OutputParams::Cuba => rng.random_range(-2.0f32..6.0),
                            _ => rng.random_range(0.0f32..0.3),
                        })
                        .collect();
                    let i_ext: Option<Vec<f32>> = rng.random_bool(0.5).then(|| (0..n).map(|_| rng.random_range(-2.0f32..15.0)).collect());
                    let s0: u32 = if case % 3 == 0 { 0 } else { rng.random_range(1..5000) };
                    let nsteps = 5u32;
                    let t0 = step_info(s0, dt, 0).t;
                    let ref_steps = (p.tau_ref / dt) as u32;
                    let t_last: Vec<f32> = (0..width)
                        .map(|_| match rng.random_range(0..12) {
                            0..4 => T_INIT,
                            // exactly at the refractory boundary at the first step (t - t_last ==
                            // tau_ref where f32 allows), and one f32 value either side
                            10 => t0 - p.tau_ref,
                            11 => {
                                let b = t0 - p.tau_ref;
                                if rng.random_bool(0.5) {
                                    b.next_up()
                                } else {
                                    b.next_down()
                                }
                            }
                            4..7 => step_info(s0.saturating_sub(ref_steps + rng.random_range(0..3)).saturating_add(1), dt, 0).t,
                            _ => step_info(s0.saturating_sub(rng.random_range(0..2 * ref_steps + 2)), dt, 0).t,
                        })
                        .collect();
                    at_boundary += t_last.iter().filter(|&&tl| p.refractory && (t0 - tl) == p.tau_ref).count() as u64;
                    let v: Vec<f32> = (0..width)
                        .map(|_| {
                            if !division && rng.random_bool(0.4) {
                                // close under the threshold (no division: exactness is expected there too)
                                p.v_th - rng.random_range(0.0f32..0.6)
                            } else if rng.random_bool(0.05) {
                                p.v_th
                            } else {
                                rng.random_range(p.v_reset - 10.0..p.v_th + 2.0)
                            }
                        })
                        .collect();
                    let ring = [0usize, 3][rng.random_range(0..2)];
                    let stamps0: Vec<u32> = (0..ring * width).map(|_| if rng.random_bool(0.5) { NEVER } else { rng.random_range(0..s0 + 1) }).collect();
                    let count_slot = rng.random_range(0..4u32);
                    let mut s = LifState { v: v.clone(), t_last: t_last.clone(), spike: vec![POISON_U; width], input: vec![POISON_F; width], gsyn: gsyn.clone() };
                    let up = lif_params(&p, width, n, n_inputs, count_slot, ring, i_ext.is_some());
                    let bufs = upload(&g, &up, &outs, &gsyn, i_ext.as_deref(), &s, ring, &stamps0);
                    let mut stamps = stamps0.clone();
                    let mut spikes = 0u64;
                    // neurons that came within the tolerance of the threshold (division cases only)
                    let mut ambiguous = vec![false; width];
                    let (mut tol_i, mut tol_v) = (vec![0.0f32; width], vec![0.0f32; width]);
                    for step in s0..s0 + nsteps {
                        let t = step_info(step, dt, 0).t;
                        let k = (step - s0 + 1) as f32;
                        for idx in 0..width {
                            let init = i_ext.as_ref().map_or(0.0, |x| x[idx % n]);
                            let v_old = s.v[idx];
                            let terms = init.abs() + (0..n_inputs).map(|q| output::current(&outs[q], gsyn[q * width + idx], v_old).abs()).sum::<f32>();
                            let i = output::sum(&outs, &gsyn, width, idx, init, v_old);
                            refractory_steps += (p.refractory && (t - s.t_last[idx]) <= p.tau_ref) as u64;
                            if division {
                                tol_i[idx] = k * 1e-6 * terms;
                                tol_v[idx] = k * 1e-6 * (v_old.abs() + p.dt_phi * p.inv_tau * ((p.v_rest - v_old).abs() + p.r * terms));
                                if (held(&p, t, s.t_last[idx], v_old, i) - p.v_th).abs() <= tol_v[idx] {
                                    ambiguous[idx] = true;
                                }
                            }
                        }
                        spikes += lif_update(&p, step, t, &outs, i_ext.as_deref(), &mut s, ring, &mut stamps);
                    }
                    total_spikes += spikes;
                    let bound = bufs.bind(&g);
                    let infos: Vec<_> = (0..nsteps).map(|r| step_info(s0 + r, dt, s0)).collect();
                    g.run(&infos, &[Pass { bound: &bound, threads: &|_| width as u64 }], max_dim_for(&g, case));
                    let got_v: Vec<f32> = g.read(&bufs.v, width + TAIL);
                    let got_t: Vec<f32> = g.read(&bufs.t_last, width + TAIL);
                    let got_s: Vec<u32> = g.read(&bufs.spike, width + TAIL);
                    let got_i: Vec<f32> = g.read(&bufs.input, width + TAIL);
                    let got_st: Vec<u32> = g.read(&bufs.stamps, ring * width + TAIL);
                    let got_c: Vec<u32> = g.read(&bufs.counts, 4);
                    let got_nf: Vec<u32> = g.read(&bufs.nonfinite, 16);
                    let what = format!(
                        "seed {seed}: lif_update n={n} batch={batch} outputs {outs:?} refractory={refractory} I_ext={} ring={ring} dt={dt} steps {s0}..{}",
                        i_ext.is_some(),
                        s0 + nsteps
                    );
                    let n_amb = ambiguous.iter().filter(|&&a| a).count();
                    left_out += n_amb;
                    for idx in 0..width {
                        if ambiguous[idx] {
                            continue;
                        }
                        let at = |x: &str| format!("{what}: {x} of neuron {idx} (V_init {}, t_last {})", v[idx], t_last[idx]);
                        assert_eq!(got_s[idx], s.spike[idx], "{}", at("spike"));
                        assert_eq!(got_t[idx].to_bits(), s.t_last[idx].to_bits(), "{}", at("t_last"));
                        if division {
                            mg.check(&|| at("input current"), got_i[idx], s.input[idx], tol_i[idx]);
                            mg.check(&|| at("V"), got_v[idx], s.v[idx], tol_v[idx]);
                        } else {
                            assert_eq!(got_i[idx].to_bits(), s.input[idx].to_bits(), "{}: GPU {}, CPU {}", at("input current"), got_i[idx], s.input[idx]);
                            assert_eq!(got_v[idx].to_bits(), s.v[idx].to_bits(), "{}: GPU {}, CPU {}", at("V"), got_v[idx], s.v[idx]);
                        }
                        for r in 0..ring {
                            assert_eq!(got_st[r * width + idx], stamps[r * width + idx], "{}", at(&format!("stamp in ring slot {r}")));
                        }
                    }
                    for (name, got) in [("V", &got_v), ("t_last", &got_t), ("input", &got_i)] {
                        assert_tail_f(&format!("{what}: {name}"), got, width);
                    }
                    assert_tail_u(&format!("{what}: spike"), &got_s, width);
                    assert_tail_u(&format!("{what}: stamps"), &got_st, ring * width);
                    let mut want_c = COUNTS0;
                    want_c[count_slot as usize] += spikes as u32;
                    let diff = (got_c[count_slot as usize] as i64 - want_c[count_slot as usize] as i64).unsigned_abs() as usize;
                    assert!(diff <= n_amb * nsteps as usize, "{what}: spike counters {got_c:?}, CPU {want_c:?} (slot {count_slot}, {n_amb} neurons at the threshold)");
                    for (k, &c) in got_c.iter().enumerate() {
                        if k != count_slot as usize {
                            assert_eq!(c, COUNTS0[k], "{what}: spike counter {k} is another population's");
                        }
                    }
                    assert_eq!(got_nf, nonfinite0(count_slot), "{what}: a non-finite value was reported where there is none");
                }
            }
        }
    }
    assert!(
        total_spikes > 0 && refractory_steps > 0 && at_boundary > 0,
        "seed {seed}: the inputs exercised no spike ({total_spikes}), no refractory step ({refractory_steps}) or no exact refractory boundary ({at_boundary})"
    );
    eprintln!("{test} (seed {seed}): {total_spikes} spikes, {refractory_steps} refractory neuron steps, {at_boundary} exactly at the boundary, {left_out} neurons left out at the threshold (MgBlock cases)");
    mg.report(&format!("{test} (seed {seed}), populations with an MgBlock slot"));
    g.finish();
}

/// What a non-finite value is planted in.
#[derive(Clone, Copy, Debug)]
enum Plant {
    /// Slot `k`'s conductance (reported as `2 + k`).
    Slot(usize),
    /// Two CUBA slots of 3e38 each: finite conductances, an infinite current (reported as 1).
    Input,
    /// V itself (reported as 0).
    V,
}

#[test]
fn lif_update_reports_the_first_non_finite_value() {
    let test = "lif_update_reports_the_first_non_finite_value";
    let seed = base_seed();
    let Some(g) = gpu(test, seed) else { return };
    let mut rng = rng_for(test, seed);
    let mut case = 0;
    for n in [1usize, 65, 1007] {
        for &batch in &BATCHES {
            for first in [Plant::Slot(0), Plant::Slot(2), Plant::Input, Plant::V] {
                case += 1;
                let width = batch * n;
                let dt = 0.1f32;
                let p = random_neuron(&mut rng, case % 2 == 0, dt);
                // COBA, CUBA, COBA: a NaN in V makes every COBA current NaN, so V is planted in a
                // population of CUBA slots only (else the current is what is reported)
                let outs = match first {
                    Plant::V => vec![OutputParams::Cuba],
                    Plant::Input => vec![OutputParams::Cuba, OutputParams::Cuba, OutputParams::Coba { e: 0.0 }],
                    Plant::Slot(_) => vec![OutputParams::Coba { e: 0.0 }, OutputParams::Cuba, OutputParams::Coba { e: -80.0 }],
                };
                let n_inputs = outs.len();
                let gsyn: Vec<f32> = (0..n_inputs * width).map(|_| rng.random_range(0.0f32..0.2)).collect();
                let v: Vec<f32> = (0..width).map(|_| rng.random_range(p.v_reset - 5.0..p.v_th)).collect();
                let mut s = LifState::new(&v, n_inputs);
                s.gsyn.clone_from(&gsyn);
                s.spike.fill(POISON_U);
                s.input.fill(POISON_F);
                let count_slot = rng.random_range(0..4u32);
                let up = lif_params(&p, width, n, n_inputs, count_slot, 0, false);
                let bufs = upload(&g, &up, &outs, &gsyn, None, &s, 0, &[]);
                let bound = bufs.bind(&g);
                let what = format!("seed {seed}: lif_update non-finite record n={n} batch={batch} planted {first:?} refractory={}", p.refractory);
                let s0: u32 = rng.random_range(0..1000);
                let run = |g: &Gpu, s: &mut LifState, from: u32, steps: u32, case: usize| {
                    let mut stamps = [];
                    for step in from..from + steps {
                        lif_update(&p, step, step_info(step, dt, 0).t, &outs, None, s, 0, &mut stamps);
                    }
                    let infos: Vec<_> = (0..steps).map(|r| step_info(from + r, dt, from)).collect();
                    g.run(&infos, &[Pass { bound: &bound, threads: &|_| width as u64 }], max_dim_for(g, case));
                };
                // clean steps: nothing is reported
                run(&g, &mut s, s0, 3, case);
                assert_eq!(g.read::<u32>(&bufs.nonfinite, 16), nonfinite0(count_slot), "{what}: reported before anything was planted");
                // plant one value in neuron j, on both engines' state
                let plant = |g: &Gpu, s: &mut LifState, what: Plant, j: usize, rng: &mut ChaCha8Rng| -> (u32, f32) {
                    let bad = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][rng.random_range(0..3)];
                    match what {
                        Plant::Slot(k) => {
                            s.gsyn[k * width + j] = bad;
                            g.write(&bufs.gsyn, k * width + j, &[bad]);
                            (2 + k as u32, bad)
                        }
                        Plant::Input => {
                            for k in 0..2 {
                                s.gsyn[k * width + j] = 3e38;
                                g.write(&bufs.gsyn, k * width + j, &[3e38f32]);
                            }
                            (1, f32::INFINITY)
                        }
                        Plant::V => {
                            let v_bad = if bad.is_nan() { bad } else { f32::INFINITY };
                            s.v[j] = v_bad;
                            g.write(&bufs.v, j, &[v_bad]);
                            // V is reported as the kernel holds it: integrated, or kept while refractory
                            let t = step_info(s0 + 3, dt, 0).t;
                            (0, held(&p, t, s.t_last[j], v_bad, output::sum(&outs, &s.gsyn, width, j, 0.0, v_bad)))
                        }
                    }
                };
                let j = rng.random_range(0..width);
                let (kind, value) = plant(&g, &mut s, first, j, &mut rng);
                run(&g, &mut s, s0 + 3, 3, case + 1);
                let want = [s0 + 3, j as u32, kind, value.to_bits()];
                let check = |got: &[u32], when: &str| {
                    let rec = &got[4 * count_slot as usize..4 * count_slot as usize + 4];
                    assert_eq!(&rec[..3], &want[..3], "{what}: {when}: record (step, neuron, what) {:?}, value {}", &rec[..3], f32::from_bits(rec[3]));
                    assert!(same_f(f32::from_bits(rec[3]), value), "{what}: {when}: value {} ({:#010x}), planted {value}", f32::from_bits(rec[3]), rec[3]);
                    for (k, &w) in got.iter().enumerate() {
                        if k / 4 != count_slot as usize {
                            assert_eq!(w, POISON_U, "{what}: {when}: word {k} is another population's record");
                        }
                    }
                };
                check(&g.read::<u32>(&bufs.nonfinite, 16), "first planted value");
                // a second value, elsewhere and later: the first record stays
                let j2 = (j + 1 + rng.random_range(0..width.max(2) - 1)) % width;
                let second = [Plant::Slot(1), Plant::V][rng.random_range(0..2)];
                let second = if matches!(first, Plant::V) { Plant::V } else { second };
                if j2 != j {
                    plant(&g, &mut s, second, j2, &mut rng);
                }
                run(&g, &mut s, s0 + 6, 2, case);
                check(&g.read::<u32>(&bufs.nonfinite, 16), "after a second planted value");
                // the state itself still follows the twin (NaN payloads aside)
                let got_v: Vec<f32> = g.read(&bufs.v, width + TAIL);
                let got_i: Vec<f32> = g.read(&bufs.input, width + TAIL);
                let got_s: Vec<u32> = g.read(&bufs.spike, width + TAIL);
                for idx in 0..width {
                    assert!(same_f(got_v[idx], s.v[idx]), "{what}: V of neuron {idx}: GPU {}, CPU {}", got_v[idx], s.v[idx]);
                    assert!(same_f(got_i[idx], s.input[idx]), "{what}: input of neuron {idx}: GPU {}, CPU {}", got_i[idx], s.input[idx]);
                    assert_eq!(got_s[idx], s.spike[idx], "{what}: spike of neuron {idx}");
                }
                assert_tail_f(&format!("{what}: V"), &got_v, width);
                assert_tail_f(&format!("{what}: input"), &got_i, width);
                assert_tail_u(&format!("{what}: spike"), &got_s, width);
            }
        }
    }
    g.finish();
}
