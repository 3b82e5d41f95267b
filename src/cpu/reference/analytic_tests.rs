//! Analytic checks of the CPU twins and of small networks run by the CPU engine: every expected
//! value here comes from a closed-form solution of the model equations (computed in f64), not
//! from another run. Each tolerance says why it holds.
//!
//! A fact several bounds use: every decay `x + c (-x r)` with `r = f32(1/tau)` and
//! `c = dt exprel(-dt r)` is exp_auto's exact one-step solution, so the only error is f32's. The
//! largest part is in the constant: `exprel` subtracts 1 from the rounded `exp(-dt r)`, whose
//! half ulp (at most `2^-25`) then becomes a relative error of up to `2^-25 / (1 - q)` of `c`
//! (`q = e^{-dt/tau}`; 3e-6 for `dt/tau = 0.01`) on top of its three roundings ([`c_err`]), and
//! an absolute error of at most `2^-25 + 4 2^-24 (1 - q)` in the decay factor `1 - c r`. Each
//! step then rounds `x r`, `c (..)` and the sum: at most `(1 + 2 (1 - q)) 2^-24` relative to x.
//! Per step a decaying state thus gains at most [`per_step`] of relative error.

use super::csr_gather::csr_gather;
use super::lif_update::{lif_update, LifState};
use super::pre_synapse::pre_synapse;
use super::{math, output};
use crate::api::{run, EngineChoice, Traces};
use crate::cpu::fast::columns::Indices;
use crate::cpu::fast::sliced::Sliced;
use crate::model::{file, firing_step, step_time, Csr, LifRef, MgBlock, Network, Output, Synapse, VInit};
use crate::plan::{delay_steps, read_offset, NeuronParams, OutputParams, Plan, PlanWeights, SynParams, UpdateMode};
use serde_json::json;

const DT: f32 = 0.1;
/// `2^-24`: half an ulp of 1, the relative rounding error of one f32 operation.
const U: f64 = 1.0 / (1u64 << 24) as f64;

/// The relative error one step adds to a state decaying by `q` (module docs): the decay factor's
/// error over q, plus the step's roundings.
fn per_step(q: f64) -> f64 {
    U / q + 2.0 * U
}

/// The relative error of `c = dt exprel(-dt / tau)` (module docs).
fn c_err(q: f64) -> f64 {
    0.5 * U / (1.0 - q) + 3.0 * U
}

fn lif_params(v_rest: f32, v_th: f32, v_reset: f32, tau: f32, tau_ref: f32, r: f32) -> NeuronParams {
    NeuronParams::lif_ref(&LifRef { v_rest, v_th, v_reset, tau, tau_ref, r, v_init: VInit::Scalar(v_rest) }, DT)
}

/// Runs one LIF neuron under a constant input slot (`output` with conductance `g`; none when
/// `g == 0`) for `steps` steps; returns V after each step and the spike steps.
fn run_lif(p: &NeuronParams, v0: f32, g: f32, out: OutputParams, steps: usize) -> (Vec<f32>, Vec<usize>) {
    let outputs = if g == 0.0 { vec![] } else { vec![out] };
    let mut s = LifState::new(&[v0], outputs.len());
    if !outputs.is_empty() {
        s.gsyn[0] = g;
    }
    let mut vs = Vec::with_capacity(steps);
    let mut spk = Vec::new();
    for i in 0..steps {
        lif_update(p, i as u32, step_time(i, DT), &outputs, None, &mut s, 0, &mut []);
        vs.push(s.v[0]);
        if s.spike[0] != 0 {
            spk.push(i);
        }
    }
    (vs, spk)
}

fn run_lif_const_g(p: &NeuronParams, v0: f32, g: f32, e: f32, steps: usize) -> (Vec<f32>, Vec<usize>) {
    run_lif(p, v0, g, OutputParams::Coba { e }, steps)
}

/// How far f32 V can sit from the exact trace: near its fixed point an update moves V by
/// `c (1+Rg) (V* - V)` with c = 1 - e^{-dt/tau}, and once that is below half an ulp of V the
/// step rounds to no change, so V stalls up to ulp(V) / (2 c (1+Rg)) away (3.8e-4 mV at -60 mV
/// for tau = 20 ms, g = 0): that is f32, not an engine error (BrainPy's f32 run stalls the same
/// way). Twice that is the bound.
fn stall_bound(v_max: f32, tau: f32, rg: f32) -> f64 {
    let ulp = (f32::from_bits(v_max.abs().max(1.0).to_bits() + 1) - v_max.abs().max(1.0)) as f64;
    let c = 1.0 - (-(DT as f64) / tau as f64).exp();
    ulp / (c * (1.0 + rg as f64)) + 1e-5
}

/// V(t) = V_rest + (V0 - V_rest) exp(-t/tau) with no input: exp_auto is the exact solution of
/// the linear membrane equation over a step, so the f32 trace follows the f64 exponential.
#[test]
fn lif_relaxes_exactly_exponentially_without_input() {
    for (v0, v_rest, tau) in [(-40.0f32, -60.0f32, 20.0f32), (-75.0, -65.0, 8.0), (10.0, 0.0, 30.0)] {
        let p = lif_params(v_rest, 1e9, v_rest, tau, 0.0, 1.0);
        let (vs, _) = run_lif_const_g(&p, v0, 0.0, 0.0, 3000);
        let mut worst = 0.0f64;
        for (n, &v) in vs.iter().enumerate() {
            let t = (n + 1) as f64 * DT as f64;
            let want = v_rest as f64 + (v0 as f64 - v_rest as f64) * (-t / tau as f64).exp();
            worst = worst.max((v as f64 - want).abs());
        }
        let bound = stall_bound(v0.abs().max(v_rest.abs()), tau, 0.0);
        println!("no input, V0 {v0}, V_rest {v_rest}, tau {tau}: max |V - exact| = {worst:.3e} mV (bound {bound:.2e})");
        assert!(worst < bound, "V0 {v0} V_rest {v_rest} tau {tau}: max error {worst:e}, bound {bound:e}");
    }
}

/// Under a constant conductance g with reversal E, `I = g (E - V_old)` is held for the step while
/// V relaxes with rate 1/tau, so V_{n+1} - V* = q (V_n - V*) with
/// V* = (V_rest + R g E) / (1 + R g) and q = 1 - (1 - e^{-dt/tau}) (1 + R g),
/// which approaches the continuous solution exp(-(1 + R g) t / tau) to O(dt).
#[test]
fn lif_relaxes_to_the_fixed_point_under_constant_conductance() {
    for (g, e, r, tau, v0) in [(0.1f32, 0.0f32, 1.0f32, 20.0f32, -60.0f32), (0.5, -80.0, 1.3, 10.0, -55.0), (0.25, 0.0, 0.7, 30.0, -70.0), (2.0, 0.0, 1.0, 20.0, -60.0)] {
        let v_rest = -60.0f32;
        let p = lif_params(v_rest, 1e9, v_rest, tau, 0.0, r);
        let (vs, _) = run_lif_const_g(&p, v0, g, e, 6000);
        let (g64, e64, r64, tau64, dt) = (g as f64, e as f64, r as f64, tau as f64, DT as f64);
        let v_star = (v_rest as f64 + r64 * g64 * e64) / (1.0 + r64 * g64);
        let q = 1.0 - (1.0 - (-dt / tau64).exp()) * (1.0 + r64 * g64);
        let (mut worst_map, mut worst_ode) = (0.0f64, 0.0f64);
        for (n, &v) in vs.iter().enumerate() {
            let k = (n + 1) as f64;
            let map = v_star + (v0 as f64 - v_star) * q.powf(k);
            let ode = v_star + (v0 as f64 - v_star) * (-(1.0 + r64 * g64) * k * dt / tau64).exp();
            worst_map = worst_map.max((v as f64 - map).abs());
            worst_ode = worst_ode.max((v as f64 - ode).abs());
        }
        let last = *vs.last().unwrap() as f64;
        println!("g {g}, E {e}, R {r}, tau {tau}: V* = {v_star:.5}, final V {last:.5}; max |V - map| {worst_map:.2e}, max |V - ode| {worst_ode:.2e}");
        let bound = stall_bound(v0.abs().max(v_rest.abs()).max(e.abs()), tau, r * g);
        assert!((last - v_star).abs() < bound, "g {g} E {e}: final V {last} is not the fixed point {v_star} (bound {bound:e})");
        assert!(worst_map < bound, "g {g} E {e}: V departs from the one-step map by {worst_map:e} (bound {bound:e})");
        // the map differs from the ODE by O((dt (1+Rg)/tau)^2) per step
        assert!(worst_ode < 0.01 * (v0 as f64 - v_star).abs().max(1.0), "g {g} E {e}: V departs from the continuous solution by {worst_ode:e}");
    }
}

/// Steady-state firing: from V_reset the neuron is held for the refractory steps, then integrates
/// k steps until V >= V_th, where k = ceil(ln((V* - V_th)/(V* - V_reset)) / ln q). Compared with
/// an independent f64 computation (within one step: f32 rounding at the threshold or of
/// `t - t_last` against tau_ref), and the mean with the continuous-time interval
/// tau_ref + tau/(1+Rg) ln((V* - V_reset)/(V* - V_th)).
#[test]
fn interspike_interval_under_constant_drive() {
    for (g, tau, tau_ref, v_reset, r) in
        [(0.4f32, 20.0f32, 5.0f32, -60.0f32, 1.0f32), (1.0, 10.0, 2.0, -65.0, 1.0), (0.3, 20.0, 0.0, -60.0, 1.2), (0.6, 15.0, 3.3, -58.0, 0.8), (3.0, 20.0, 5.0, -60.0, 1.0)]
    {
        let (v_rest, v_th, e) = (-60.0f32, -50.0f32, 0.0f32);
        let p = lif_params(v_rest, v_th, v_reset, tau, tau_ref, r);
        let (_, spk) = run_lif_const_g(&p, v_reset, g, e, 20000);
        let dt = DT as f64;
        let rg = r as f64 * g as f64;
        let v_star = (v_rest as f64 + rg * e as f64) / (1.0 + rg);
        assert!(v_star > v_th as f64, "test setup: the drive must exceed threshold");
        let q = 1.0 - (1.0 - (-dt / tau as f64).exp()) * (1.0 + rg);
        let k = (((v_star - v_th as f64) / (v_star - v_reset as f64)).ln() / q.ln()).ceil();
        let held = (tau_ref as f64 / dt + 1e-9).floor();
        let isi_pred = held + k;
        let isi_ode = (tau_ref as f64 + tau as f64 / (1.0 + rg) * ((v_star - v_reset as f64) / (v_star - v_th as f64)).ln()) / dt;
        assert!(spk.len() > 10, "g {g}: only {} spikes", spk.len());
        // first spike: k integrating steps from step 0, so at step k - 1
        assert!((spk[0] as f64 - (k - 1.0)).abs() <= 1.0, "g {g} tau {tau}: first spike at step {}, predicted {}", spk[0], k - 1.0);
        let isis: Vec<usize> = spk.windows(2).map(|w| w[1] - w[0]).collect();
        let mean = (spk[spk.len() - 1] - spk[0]) as f64 / isis.len() as f64;
        println!(
            "g {g}, tau {tau}, tau_ref {tau_ref}: {} spikes, ISIs {:?}..{:?} steps, mean {mean:.3}; f64 step model {isi_pred}, continuous {isi_ode:.3}",
            spk.len(),
            isis.iter().min().unwrap(),
            isis.iter().max().unwrap()
        );
        for (j, &isi) in isis.iter().enumerate() {
            assert!((isi as f64 - isi_pred).abs() <= 1.0, "g {g} tau {tau} tau_ref {tau_ref}: ISI #{j} = {isi} steps, f64 prediction {isi_pred}");
        }
        // the step model quantises the rise up to a whole step: the mean lies within 1.5 steps of
        // the continuous interval
        assert!((mean - isi_ode).abs() <= 1.5, "g {g}: mean ISI {mean} steps, continuous {isi_ode}");
    }
}

fn net(v: serde_json::Value) -> Network {
    file::parse(&v.to_string()).unwrap_or_else(|e| panic!("test network: {e}"))
}

/// Runs the CPU engine through the public API.
fn run_cpu(n: &Network) -> Traces {
    run(n, EngineChoice::Cpu).unwrap_or_else(|e| panic!("CPU run: {e}"))
}

fn f32s<'a>(t: &'a Traces, name: &str) -> &'a [f32] {
    t.f32(name).unwrap_or_else(|| panic!("no f32 monitor {name}"))
}

/// A post population that does not move: tau = 1e9 ms keeps V at V_init = -60 (the increment
/// is far below an ulp), so its input is exactly `g_delayed * 60` in f32.
fn frozen_post(name: &str) -> serde_json::Value {
    json!({"name": name, "model": "lif_ref", "size": 1, "V_rest": -60, "V_th": 1e9, "V_reset": -60, "tau": 1e9,
           "tau_ref": 0, "R": 1, "V_init": -60})
}

/// The number of steps the transmitter window stays open after a spike at step s, by the f32
/// rule as written (`t - sat < T_dur`).
fn window_steps(s: usize, t_dur: f32) -> usize {
    (0..).take_while(|&k| step_time(s + k, DT) - step_time(s, DT) < t_dur).count()
}

/// AMPA/GABAa gating in a network: zero before the first spike; while the window is open
/// g = g_inf + (g0 - g_inf) e^{-(alpha T + beta) t} with g_inf = alpha T / (alpha T + beta);
/// after it, g = g_end e^{-beta t}. The window lasts round(T_dur/dt) steps (one more where f32
/// rounding puts `t - sat` just below T_dur).
#[test]
fn gating_follows_the_open_window_and_decay_solutions() {
    let cases = [
        ("ampa", json!({"model": "ampa"}), 0.98f64, 0.18f64, 0.5f64, 0.5f32),
        ("gabaa", json!({"model": "gabaa"}), 0.53, 0.18, 1.0, 1.0),
        ("long window", json!({"model": "ampa", "alpha": 0.5, "beta": 0.1, "T": 1.0, "T_dur": 5.0}), 0.5, 0.1, 1.0, 5.0),
    ];
    let times = [10.0, 12.0, 30.0, 31.23];
    for (label, syn, alpha, beta, t_conc, t_dur) in cases {
        let n = net(json!({"dt": 0.1, "steps": 1000,
            "populations": [{"name": "src", "model": "spike_times", "size": 1, "indices": [0, 0, 0, 0], "times": times},
                            frozen_post("post")],
            "projections": [{"name": "syn", "pre": "src", "post": "post", "synapse": syn, "delay": null,
                             "connectivity": {"kind": "csr", "indptr": [0, 1], "indices": [0]}, "weight": 1.0,
                             "output": {"model": "coba", "E": 0.0}}],
            "monitors": {"g": "syn.g"}}));
        let run = run_cpu(&n);
        let g = f32s(&run, "g");
        let spike_steps: Vec<usize> = times.iter().map(|&t| firing_step(t as f32, DT)).collect();
        assert_eq!(&spike_steps[..3], &[100, 120, 300], "grid times fire at their step");
        assert!(g[..100].iter().all(|&x| x == 0.0), "{label}: g moved before the first spike");
        let k_on = alpha * t_conc + beta;
        let g_inf = alpha * t_conc / k_on;
        let dt = DT as f64;
        let (mut worst_on, mut worst_off) = (0.0f64, 0.0f64);
        let mut sat = 0usize; // step of the last spike
        let mut g_start = 0.0f64; // g before the current window
        let mut on_start = 100usize;
        let mut g_end = 0.0f64;
        let mut end_step = 0usize;
        for i in 100..1000 {
            if spike_steps.contains(&i) {
                sat = i;
                on_start = i;
                g_start = g[i - 1] as f64;
            }
            let open = step_time(i, DT) - step_time(sat, DT) < t_dur;
            let got = g[i] as f64;
            if open {
                let t = (i + 1 - on_start) as f64 * dt;
                let want = g_inf + (g_start - g_inf) * (-k_on * t).exp();
                worst_on = worst_on.max((got - want).abs() / (1e-6 + want.abs()));
                g_end = got;
                end_step = i;
            } else {
                let want = g_end * (-beta * (i - end_step) as f64 * dt).exp();
                if want > 1e-6 {
                    worst_off = worst_off.max((got - want).abs() / want);
                }
            }
        }
        let m = window_steps(100, t_dur);
        let nominal = (t_dur as f64 / dt).round() as usize;
        println!("{label}: window {m} steps (nominal {nominal}); max rel. error open-window {worst_on:.2e}, decay {worst_off:.2e}");
        assert!(m == nominal || m == nominal + 1, "{label}: window of {m} steps");
        // g rises exactly on the window steps after the first spike and falls afterwards
        let rising = (100..120).filter(|&i| g[i] > g[i - 1]).count();
        assert_eq!(rising, m.min(20), "{label}: g rose on {rising} steps, the window is {m}");
        assert!(worst_on < 1e-5, "{label}: open-window solution off by {worst_on:e} (relative)");
        // f32 rounding of ~6e-8 per step, over up to a few hundred decay steps
        assert!(worst_off < 1e-4, "{label}: decay off by {worst_off:e} (relative)");
    }
}

/// A source firing on every step keeps the window open: g follows g_inf (1 - e^{-(alpha T+beta)
/// t}) to g_inf, and the post V settles at V* = (V_rest + R w g_inf E) / (1 + R w g_inf).
#[test]
fn constant_transmitter_drives_g_and_v_to_their_fixed_points() {
    let steps = 4000;
    let times: Vec<f64> = (0..steps).map(|k| k as f64 * 0.1).collect();
    let (w, e, v_rest, r) = (0.2f64, 0.0f64, -60.0f64, 1.0f64);
    let n = net(json!({"dt": 0.1, "steps": steps,
        "populations": [{"name": "src", "model": "spike_times", "size": 1, "indices": vec![0; steps], "times": times},
                        {"name": "post", "model": "lif_ref", "size": 1, "V_rest": v_rest, "V_th": 100, "V_reset": -60,
                         "tau": 20, "tau_ref": 0, "R": r, "V_init": -70}],
        "projections": [{"name": "syn", "pre": "src", "post": "post", "synapse": {"model": "ampa"}, "delay": null,
                         "connectivity": {"kind": "csr", "indptr": [0, 1], "indices": [0]}, "weight": w,
                         "output": {"model": "coba", "E": e}}],
        "monitors": {"g": "syn.g", "V": "post.V"}}));
    let run = run_cpu(&n);
    let (g, v) = (f32s(&run, "g"), f32s(&run, "V"));
    let (alpha, beta, t_conc) = (0.98f64, 0.18f64, 0.5f64);
    let k = alpha * t_conc + beta;
    let g_inf = alpha * t_conc / k;
    let mut worst = 0.0f64;
    for (i, &x) in g.iter().enumerate() {
        let want = g_inf * (1.0 - (-k * (i + 1) as f64 * 0.1).exp());
        worst = worst.max((x as f64 - want).abs());
    }
    let gs = w * g_inf;
    let v_star = (v_rest + r * gs * e) / (1.0 + r * gs);
    let last = v[steps - 1] as f64;
    println!("g_inf {g_inf:.7}, final g {:?}, max |g - exact| {worst:.2e}; V* {v_star:.5}, final V {last:.5}", g[steps - 1]);
    assert!(worst < 1e-5, "g departs from the open-window solution by {worst:e}");
    assert!((last - v_star).abs() < 1e-3, "V ends at {last}, the fixed point is {v_star}");
}

/// The lag (in steps) at which `input[i] == f32(g[i - lag] * 60)` holds for every step (0 before
/// the delayed value exists), or None.
fn find_lag(g: &[f32], input: &[f32]) -> Option<usize> {
    (0..40).find(|&lag| {
        input.iter().enumerate().all(|(i, &x)| {
            let gd = if i >= lag { g[i - lag] } else { 0.0 };
            x == gd * (0.0 - -60.0)
        })
    })
}

fn delay_network(pre_is_lif: bool, delays: &[Option<f64>]) -> Network {
    let mut pops = vec![json!({"name": "src", "model": "spike_times", "size": 1, "indices": [0, 0], "times": [5.0, 20.0]})];
    let mut projs = Vec::new();
    let pre = if pre_is_lif {
        // Driven hard once at 5 ms, then refractory for the rest of the run: exactly one spike.
        pops.push(json!({"name": "mid", "model": "lif_ref", "size": 1, "V_rest": -60, "V_th": -50, "V_reset": -70,
                         "tau": 20, "tau_ref": 10000, "R": 1, "V_init": -60}));
        projs.push(json!({"name": "drive", "pre": "src", "post": "mid", "synapse": {"model": "ampa"}, "delay": null,
                          "connectivity": {"kind": "csr", "indptr": [0, 1], "indices": [0]}, "weight": 20.0,
                          "output": {"model": "coba", "E": 0.0}}));
        "mid"
    } else {
        "src"
    };
    let mut mons = serde_json::Map::new();
    for (k, d) in delays.iter().enumerate() {
        pops.push(frozen_post(&format!("post{k}")));
        projs.push(json!({"name": format!("d{k}"), "pre": pre, "post": format!("post{k}"), "synapse": {"model": "ampa"},
                          "delay": d, "connectivity": {"kind": "csr", "indptr": [0, 1], "indices": [0]}, "weight": 1.0,
                          "output": {"model": "coba", "E": 0.0}}));
        mons.insert(format!("in{k}"), json!(format!("post{k}.input")));
        mons.insert(format!("V{k}"), json!(format!("post{k}.V")));
        mons.insert(format!("cur{k}"), json!(format!("d{k}.current")));
    }
    mons.insert("g".into(), json!("d0.g"));
    mons.insert("pre_spike".into(), json!(format!("{pre}.spike")));
    net(json!({"dt": 0.1, "steps": 500, "populations": pops, "projections": projs, "monitors": mons}))
}

fn check_lags(pre_is_lif: bool, delays: &[Option<f64>], want: &[usize]) {
    let n = delay_network(pre_is_lif, delays);
    let run = run_cpu(&n);
    let g = f32s(&run, "g");
    let pre_spikes = run.spikes("pre_spike").expect("spike monitor").iter().filter(|&&x| x != 0).count();
    if pre_is_lif {
        assert_eq!(pre_spikes, 1, "the LIF pre must spike exactly once");
    }
    assert!(g.iter().any(|&x| x > 0.01), "the pre gating never opened");
    let plan = Plan::new(&n, UpdateMode::Dense).expect("plan");
    let mut got = Vec::new();
    for (k, d) in delays.iter().enumerate() {
        let input = f32s(&run, &format!("in{k}"));
        let v = f32s(&run, &format!("V{k}"));
        let cur = f32s(&run, &format!("cur{k}"));
        assert!(v.iter().all(|&x| x == -60.0), "post{k}: V moved");
        // V is constant, so the projection current with the new V equals the input
        assert_eq!(cur, input, "post{k}: projection current differs from the population input");
        // Lag relative to the g monitor (this step's gating for a source, the end-of-step
        // gating for a LIF pre, so a LIF pre's "step i-1" is lag 1).
        let lag = find_lag(g, input);
        // the plan compiles the same lag: read_offset of ceil(d / dt) ring slots
        let p = plan.projection_names.iter().position(|name| *name == format!("d{k}")).unwrap();
        let offset = read_offset(delay_steps(*d, 0.1), pre_is_lif);
        assert_eq!(plan.projections[p].read_offset, offset, "d{k}: the plan's read offset");
        assert_eq!(lag, Some(offset), "d{k} (delay {d:?}): the run's lag and plan::read_offset");
        got.push(lag);
    }
    println!("pre {}: delays {delays:?} -> lags {got:?}", if pre_is_lif { "LIF" } else { "spike source" });
    let want: Vec<Option<usize>> = want.iter().map(|&x| Some(x)).collect();
    assert_eq!(got, want, "pre {}: delays {delays:?}", if pre_is_lif { "LIF" } else { "spike source" });
}

const DELAYS: [Option<f64>; 6] = [None, Some(0.1), Some(0.2), Some(0.3), Some(1.0), Some(2.0)];

/// SEMANTICS section 4: a spike source's delayed gating is read `ceil(d/dt) - 1` steps late.
#[test]
fn delay_lag_from_a_spike_source() {
    check_lags(false, &DELAYS, &[0, 0, 1, 2, 9, 19]);
}

/// SEMANTICS "What spikegpu takes": a LIF pre writes its gating at the end of its step, so the
/// projection reads step i-1, i-1, i-1, i-2, i-9, i-19 for delay None, 0.1, 0.2, 0.3, 1, 2 ms.
#[test]
fn delay_lag_from_a_lif_population() {
    check_lags(true, &DELAYS, &[1, 1, 1, 2, 9, 19]);
}

/// `count` random seeds, or the one seed in `SPIKEGPU_SEED` when set (to replay a failure).
fn test_seeds(count: usize) -> Vec<u64> {
    match std::env::var("SPIKEGPU_SEED") {
        Ok(s) => vec![s.trim().parse().unwrap_or_else(|_| panic!("SPIKEGPU_SEED={s:?} is not a u64"))],
        Err(_) => (0..count).map(|_| rand::random()).collect(),
    }
}

/// The post-major gather sums `w * x` in pre order, like BrainPy's pre-major scatter: bit-exact
/// against a direct scatter in f32 (also the engine's sliced product with the 16-bit indices it
/// keeps when n_pre <= 65,536), and close to the f64 matrix product.
#[test]
fn csr_gather_equals_the_pre_major_scatter() {
    use rand::{Rng, SeedableRng};
    for seed in test_seeds(4) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (n_pre, n_post, batch) = (rng.random_range(1..90), rng.random_range(1..90), rng.random_range(1..4));
        let mut indptr = vec![0u32];
        let mut indices = Vec::new();
        for _ in 0..n_pre {
            for j in 0..n_post as u32 {
                if rng.random_bool(0.2) {
                    indices.push(j);
                }
            }
            indptr.push(indices.len() as u32);
        }
        let csr = Csr { n_rows: n_pre, n_cols: n_post, indptr, indices };
        let w: Vec<f32> = (0..csr.nnz()).map(|_| rng.random_range(-2.0..2.0)).collect();
        let x: Vec<f32> = (0..batch * n_pre).map(|_| rng.random_range(0.0..1.0)).collect();
        let (pm, perm) = csr.transpose();
        for shared in [true, false] {
            let weights = if shared { PlanWeights::Shared(0.37) } else { PlanWeights::PerSynapse(perm.iter().map(|&e| w[e as usize]).collect()) };
            let mut y = vec![f32::NAN; batch * n_post];
            csr_gather(&pm.indptr, &pm.indices, &weights, Some(&x), n_pre, &mut y);
            let narrow = Sliced::new(&pm.indptr, Indices::narrowest(pm.indices.clone(), n_pre), &weights);
            assert!(matches!(Indices::narrowest(pm.indices.clone(), n_pre), Indices::Narrow(_)), "seed {seed}: 16-bit indices for {n_pre} pre neurons");
            let mut y16 = vec![f32::NAN; batch * n_post];
            narrow.gather(&x, n_pre, &mut y16);
            for b in 0..batch {
                let mut scatter = vec![0.0f32; n_post];
                let mut exact = vec![0.0f64; n_post];
                for i in 0..n_pre {
                    for e in csr.row(i) {
                        let wi = if shared { 0.37 } else { w[e] };
                        let j = csr.indices[e] as usize;
                        scatter[j] += wi * x[b * n_pre + i];
                        exact[j] += wi as f64 * x[b * n_pre + i] as f64;
                    }
                }
                for j in 0..n_post {
                    let got = y[b * n_post + j];
                    assert_eq!(got.to_bits(), scatter[j].to_bits(), "seed {seed} shared {shared} b {b} j {j}: {got} vs {}", scatter[j]);
                    assert_eq!(y16[b * n_post + j].to_bits(), scatter[j].to_bits(), "seed {seed} shared {shared} b {b} j {j}: 16-bit indices");
                    assert!((got as f64 - exact[j]).abs() < 1e-5 * (1.0 + exact[j].abs()), "seed {seed}: far from f64");
                }
            }
            // before the delay has filled, the input is the initial state 0
            csr_gather(&pm.indptr, &pm.indices, &weights, None, n_pre, &mut y);
            assert!(y.iter().all(|&v| v == 0.0), "seed {seed}: no input must give 0");
        }
    }
}

/// One pre-aligned variable of `synapse` with a single spike at step 0, for `steps` steps: its
/// output (the ring) after every step.
fn single_spike(synapse: &Synapse, steps: usize) -> Vec<f32> {
    let p = SynParams::new(synapse, DT);
    let n_states = match synapse {
        Synapse::DualExponV2 { .. } => 2,
        Synapse::Expon { .. } => 0,
        _ => 1,
    };
    let (mut ring, mut states) = (vec![0.0f32], vec![0.0f32; n_states]);
    (0..steps)
        .map(|s| {
            pre_synapse(&p, DT, s as u32, step_time(s, DT), 1, 1, |_| s == 0, &mut ring, &mut states, None);
            ring[0]
        })
        .collect()
}

/// Expon: after a spike at step 0, g_k = e^{-k dt / tau}. Tolerance: the decay factor's error and
/// each step's roundings compound to `k per_step(q)` relative after k steps (module docs), plus
/// the spike's own rounding.
#[test]
fn expon_decays_exponentially() {
    for tau in [2.0f32, 8.0, 20.0] {
        let g = single_spike(&Synapse::Expon { tau }, 2000);
        let g = normal_part(&g);
        let q = (-(DT as f64) / tau as f64).exp();
        let mut worst = 0.0f64;
        for (k, &x) in g.iter().enumerate() {
            let want = q.powi(k as i32);
            let rel = (x as f64 - want).abs() / want;
            let tol = k as f64 * per_step(q) + U;
            assert!(rel <= tol, "tau {tau}: g after {k} steps {x:e}, e^(-t/tau) = {want:e}: relative {rel:e} > {tol:e}");
            worst = worst.max(rel / tol);
        }
        println!("expon tau {tau}: largest error {worst:.3} of the bound over {} steps", g.len());
    }
}

/// The leading values above 1e-30: f32 keeps 24 bits there, also in a step's products (about
/// 0.05 of the value); further down they become subnormal and the relative bounds end.
fn normal_part(g: &[f32]) -> &[f32] {
    let end = g.iter().rposition(|&x| x.abs() >= 1e-30).map_or(0, |k| k + 1);
    &g[..end]
}

/// The discrete peak of `f` over steps `0..steps`.
fn peak(g: &[f32]) -> (usize, f32) {
    g.iter().copied().enumerate().fold((0, f32::MIN), |a, (k, x)| if x > a.1 { (k, x) } else { a })
}

/// DualExpon (h jumps by a, g driven by the old h): BrainPy's JointEq holds h over each step, so
/// the exact solution of the scheme is g_k = a c_d (q_d^k - q_r^k) / (q_d - q_r) with
/// c_d = tau_d (1 - q_d), the difference of exponentials of the continuous model
/// g(t) = a tau_d tau_r / (tau_d - tau_r) (e^{-t/tau_d} - e^{-t/tau_r}) scaled at every step by
/// F = (1 - q_d)(tau_d - tau_r) / ((q_d - q_r) tau_r) = 1 + O(dt / tau_r). So the peak time is the
/// continuous one, t* = tau_d tau_r / (tau_d - tau_r) ln(tau_d / tau_r), to the nearest step, and
/// the peak value is F times the continuous peak a tau_r (tau_r / tau_d)^(tau_r / (tau_d - tau_r))
/// (1 with BrainPy's normaliser, A = None), less the curvature over half a step.
/// Tolerance of the trace, relative to `a c_d (q_d^k + q_r^k) / (q_d - q_r)` (which bounds g_k):
/// c_d's error ([`c_err`]), plus `k (per_step(q_d) + per_step(q_r))` of compounded decay factors
/// and roundings of g and of the h that drives it (g is a sum of damped h terms, so h's relative
/// error carries over), plus the final additions' rounding.
#[test]
fn dual_expon_peaks_where_the_difference_of_exponentials_does() {
    for (td, tr, a) in [(10.0f32, 1.0f32, None), (5.0, 1.0, None), (20.0, 2.0, Some(1.5)), (10.0, 0.5, None)] {
        let syn = Synapse::DualExpon { tau_decay: td, tau_rise: tr, a };
        let SynParams::DualExpon { a: a_f32, .. } = SynParams::new(&syn, DT) else { unreachable!() };
        let g = single_spike(&syn, 1000);
        let (dt, td64, tr64, a64) = (DT as f64, td as f64, tr as f64, a_f32 as f64);
        let (qd, qr) = ((-dt / td64).exp(), (-dt / tr64).exp());
        let scheme = |k: usize| a64 * td64 * (1.0 - qd) * (qd.powi(k as i32) - qr.powi(k as i32)) / (qd - qr);
        let cont = |t: f64| a64 * td64 * tr64 / (td64 - tr64) * ((-t / td64).exp() - (-t / tr64).exp());
        let f = (1.0 - qd) * (td64 - tr64) / ((qd - qr) * tr64);
        let mut worst = 0.0f64;
        for (k, &x) in g.iter().enumerate() {
            let scale = a64 * td64 * (1.0 - qd) * (qd.powi(k as i32) + qr.powi(k as i32)) / (qd - qr);
            let tol = scale * (c_err(qd) + k as f64 * (per_step(qd) + per_step(qr)) + 2.0 * U);
            let d = (x as f64 - scheme(k)).abs();
            assert!(d <= tol, "dual_expon {td}/{tr}: g after {k} steps {x:e}, scheme {:e}, |diff| {d:e} > {tol:e}", scheme(k));
            // the scheme is the continuous solution times F at every step
            assert!((scheme(k) - f * cont(k as f64 * dt)).abs() <= 1e-12 * f.max(1.0) * a64 * td64, "dual_expon: the closed forms disagree at step {k}");
            worst = worst.max(d / tol);
        }
        let (k_peak, g_peak) = peak(&g);
        let t_star = td64 * tr64 / (td64 - tr64) * (td64 / tr64).ln();
        let g_star = a64 * tr64 * (tr64 / td64).powf(tr64 / (td64 - tr64));
        // |g''| <= a tau_d tau_r/(tau_d - tau_r) (1/tau_d^2 + 1/tau_r^2); the nearest step is at most dt/2 away
        let drop = a64 * td64 * tr64 / (td64 - tr64) * (1.0 / (td64 * td64) + 1.0 / (tr64 * tr64)) * (dt / 2.0).powi(2) / 2.0;
        println!(
            "dual_expon {td}/{tr} A {a:?}: peak {g_peak} at step {k_peak} (t* = {t_star:.4} ms), continuous peak {g_star:.6}, F = {f:.5}; trace within {worst:.3} of its bound"
        );
        assert!((k_peak as f64 * dt - t_star).abs() <= dt, "dual_expon {td}/{tr}: peak at step {k_peak}, t* = {t_star}");
        let (lo, hi) = (f * (g_star - drop), f * g_star);
        let rel = c_err(qd) + k_peak as f64 * (per_step(qd) + per_step(qr)) + 2.0 * U;
        assert!((lo * (1.0 - rel)..=hi * (1.0 + rel)).contains(&(g_peak as f64)), "dual_expon {td}/{tr}: peak {g_peak} outside F [g* - drop, g*] = [{lo}, {hi}]");
        if a.is_none() {
            assert!((g_star - 1.0).abs() < 1e-6, "dual_expon {td}/{tr}: the normaliser gives a continuous peak of {g_star}, not 1");
        }
    }
}

/// DualExponV2: two independent decays both start at 1 with the spike; the output
/// A (g_decay - g_rise) = A (q_d^k - q_r^k) is exactly the continuous A (e^{-t/tau_d} -
/// e^{-t/tau_r}) on the grid (exp_auto is exact for each decay). Peak: at t* to the nearest step;
/// with BrainPy's normaliser (A = None) the continuous peak is 1, the grid's lies below it by at
/// most the curvature over half a step. Tolerance of the trace: each state's compounded decay
/// factor and roundings, `k per_step(q)` relative to it, plus A's rounding (4 2^-24: checked) and
/// the final difference and product (2^-24 each, of the terms).
#[test]
fn dual_expon_v2_is_the_difference_of_exponentials() {
    for (td, tr, a) in [(10.0f32, 1.0f32, None), (5.0, 1.0, None), (20.0, 2.0, Some(2.0)), (10.0, 0.5, None)] {
        let syn = Synapse::DualExponV2 { tau_decay: td, tau_rise: tr, a };
        let SynParams::DualExponV2 { a: a_f32, .. } = SynParams::new(&syn, DT) else { unreachable!() };
        let g = single_spike(&syn, 1000);
        let (dt, td64, tr64) = (DT as f64, td as f64, tr as f64);
        // BrainPy's normaliser in f64: tau_d / (tau_d - tau_r) (tau_r / tau_d)^(tau_r / (tau_r - tau_d))
        let a64 = match a {
            Some(a) => a as f64,
            None => td64 / (td64 - tr64) * (tr64 / td64).powf(tr64 / (tr64 - td64)),
        };
        assert!((a_f32 as f64 - a64).abs() <= 4.0 * U * a64, "dual_expon_v2 {td}/{tr}: A = {a_f32}, f64 {a64}");
        let mut worst = 0.0f64;
        for (k, &x) in g.iter().enumerate() {
            let t = k as f64 * dt;
            let (ed, er) = ((-t / td64).exp(), (-t / tr64).exp());
            let want = a64 * (ed - er);
            let (qd, qr) = ((-dt / td64).exp(), (-dt / tr64).exp());
            let tol = a64 * (ed * k as f64 * per_step(qd) + er * k as f64 * per_step(qr) + (ed + er) * 6.0 * U);
            let d = (x as f64 - want).abs();
            assert!(d <= tol, "dual_expon_v2 {td}/{tr}: output after {k} steps {x:e}, A (e^(-t/td) - e^(-t/tr)) = {want:e}, |diff| {d:e} > {tol:e}");
            worst = worst.max(d / tol.max(f64::MIN_POSITIVE));
        }
        let (k_peak, g_peak) = peak(&g);
        let t_star = td64 * tr64 / (td64 - tr64) * (td64 / tr64).ln();
        let g_star = a64 * ((-t_star / td64).exp() - (-t_star / tr64).exp());
        let drop = a64 * (1.0 / (td64 * td64) + 1.0 / (tr64 * tr64)) * (dt / 2.0).powi(2) / 2.0;
        println!("dual_expon_v2 {td}/{tr} A {a:?}: peak {g_peak} at step {k_peak} (t* = {t_star:.4} ms), continuous peak {g_star:.7}; trace within {worst:.3} of its bound");
        assert!((k_peak as f64 * dt - t_star).abs() <= dt, "dual_expon_v2 {td}/{tr}: peak at step {k_peak}, t* = {t_star}");
        let rel = k_peak as f64 * (per_step((-dt / td64).exp()) + per_step((-dt / tr64).exp())) + 6.0 * U;
        assert!(g_peak as f64 <= g_star * (1.0 + rel) && g_peak as f64 >= (g_star - drop) * (1.0 - rel), "dual_expon_v2 {td}/{tr}: peak {g_peak}, continuous {g_star}, drop {drop}");
        if a.is_none() {
            assert!((g_star - 1.0).abs() < 1e-6, "dual_expon_v2 {td}/{tr}: the normaliser gives a continuous peak of {g_star}, not 1");
        }
    }
}

/// Alpha: h jumps to 1 and decays, g is driven by the old h, so the scheme's exact solution is
/// g_k = k (1 - q) q^{k-1}: the continuous (t / tau) e^{-t/tau} at t = k dt, times
/// F = (1 - q) / (q dt / tau) = (e^x - 1) / x (x = dt / tau) at every step: the same shape. Its
/// peak lies at t = tau to the nearest step, F e^{-1} high (less the curvature over half a step).
/// Tolerance of the trace as for DualExpon: `c_err(q) + 2 k per_step(q)` relative.
#[test]
fn alpha_has_the_t_exp_shape() {
    for tau in [2.0f32, 5.0, 10.0, 20.0] {
        let g = single_spike(&Synapse::Alpha { tau_decay: tau }, 2000);
        let g = normal_part(&g);
        let (dt, tau64) = (DT as f64, tau as f64);
        let q = (-dt / tau64).exp();
        let f = (1.0 - q) / (q * dt / tau64);
        let mut worst = 0.0f64;
        for (k, &x) in g.iter().enumerate() {
            let scheme = k as f64 * (1.0 - q) * q.powi(k as i32 - 1);
            let t = k as f64 * dt;
            assert!((scheme - f * (t / tau64) * (-t / tau64).exp()).abs() <= 1e-12, "alpha: the closed forms disagree at step {k}");
            let tol = scheme * (c_err(q) + 2.0 * k as f64 * per_step(q) + 2.0 * U);
            let d = (x as f64 - scheme).abs();
            assert!(d <= tol, "alpha tau {tau}: g after {k} steps {x:e}, k (1-q) q^(k-1) = {scheme:e}, |diff| {d:e} > {tol:e}");
            worst = worst.max(if tol > 0.0 { d / tol } else { 0.0 });
        }
        let (k_peak, g_peak) = peak(g);
        // g(t) = F (t/tau) e^{-t/tau}: |g''| <= F / tau^2 * 2 near the peak
        let drop = f * 2.0 / (tau64 * tau64) * (dt / 2.0).powi(2) / 2.0;
        let top = f * (-1.0f64).exp();
        println!("alpha tau {tau}: peak {g_peak} at step {k_peak} (tau = {tau} ms), F e^-1 = {top:.6}, F = {f:.6}; trace within {worst:.3} of its bound");
        assert!((k_peak as f64 * dt - tau64).abs() <= dt, "alpha tau {tau}: peak at step {k_peak}");
        let rel = c_err(q) + 2.0 * k_peak as f64 * per_step(q) + 2.0 * U;
        assert!(g_peak as f64 <= top * (1.0 + rel) && g_peak as f64 >= (top - drop) * (1.0 - rel), "alpha tau {tau}: peak {g_peak}, F e^-1 = {top}, drop {drop}");
    }
}

/// NMDA: the exp_auto step of `dg/dt = a x (1 - g) - g / tau_d` with x held over the step is the
/// exact solution g_inf + (g - g_inf) e^{-(a x + 1/tau_d) dt} toward g_inf = a x / (a x + 1/tau_d)
/// < 1, so g stays in [0, 1) whatever the spikes (as long as 1 - g_inf, 1/(1 + a x tau_d), is
/// above f32's resolution at 1, ~6e-8: true here with a x tau_d up to ~5000). Driven on every
/// step, x settles at x_inf = 1 / (1 - q_x) and g at g_inf(x_inf) (within 1e-5: f32's stall
/// near the fixed point, ulp(1) / (1 - e^{-(a x + 1/tau_d) dt}), and exp's 2-ulp error in phi).
#[test]
fn nmda_g_stays_in_zero_one() {
    use rand::{Rng, SeedableRng};
    for (a, td, tr) in [(0.5f32, 100.0f32, 2.0f32), (5.0, 200.0, 5.0), (0.1, 20.0, 1.0)] {
        let syn = Synapse::Nmda { a, tau_decay: td, tau_rise: tr };
        let p = SynParams::new(&syn, DT);
        // no spikes: g stays 0 exactly
        let (mut ring, mut x) = (vec![0.0f32], vec![0.0f32]);
        for s in 0..100 {
            pre_synapse(&p, DT, s, step_time(s as usize, DT), 1, 1, |_| false, &mut ring, &mut x, None);
            assert_eq!(ring[0], 0.0, "nmda: g moved without a spike");
        }
        // a spike every step: g rises monotonically to g_inf(x_inf)
        let (mut ring, mut x) = (vec![0.0f32], vec![0.0f32]);
        let mut last = 0.0f32;
        for s in 0..5000u32 {
            pre_synapse(&p, DT, s, step_time(s as usize, DT), 1, 1, |_| true, &mut ring, &mut x, None);
            assert!((0.0..1.0).contains(&ring[0]), "nmda a {a}: g = {} at step {s}", ring[0]);
            // (near the fixed point the rounded increment may dither by an ulp)
            assert!(ring[0] >= last - f32::EPSILON, "nmda a {a}: g fell under constant drive at step {s}");
            last = ring[0];
        }
        let qx = (-(DT as f64) / tr as f64).exp();
        let x_inf = 1.0 / (1.0 - qx);
        let g_inf = a as f64 * x_inf / (a as f64 * x_inf + 1.0 / td as f64);
        println!("nmda a {a} tau_d {td} tau_r {tr}: x {} (x_inf {x_inf:.4}), g {} (g_inf {g_inf:.7})", x[0], ring[0]);
        assert!((x[0] as f64 - x_inf).abs() < 1e-4 * x_inf, "nmda: x = {}, x_inf = {x_inf}", x[0]);
        assert!((ring[0] as f64 - g_inf).abs() < 1e-5, "nmda: g = {}, g_inf = {g_inf}", ring[0]);
        // random spike trains: g in [0, 1) on every step
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(a.to_bits() as u64);
        let (mut ring, mut x) = (vec![0.0f32; 64], vec![0.0f32; 64]);
        for s in 0..5000u32 {
            let spikes: Vec<bool> = (0..64).map(|i| rng.random_bool(0.02 + 0.9 * (i as f64 / 64.0))).collect();
            pre_synapse(&p, DT, s, step_time(s as usize, DT), 64, 1, |i| spikes[i], &mut ring, &mut x, None);
            assert!(ring.iter().all(|g| (0.0..1.0).contains(g)), "nmda a {a}: g left [0, 1) at step {s}: {ring:?}");
        }
    }
}

/// CUBA: the current is the conductance itself, bit for bit, and a LIF neuron under a constant
/// CUBA input settles at V* = V_rest + R g (within the f32 stall bound, as the COBA test).
#[test]
fn cuba_current_equals_g() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for _ in 0..10_000 {
        let (g, v) = (rng.random_range(-100.0f32..100.0), rng.random_range(-100.0f32..50.0));
        assert_eq!(output::current(&OutputParams::Cuba, g, v).to_bits(), g.to_bits());
        assert_eq!(output::sum(&[OutputParams::Cuba], &[g], 1, 0, 0.0, v).to_bits(), g.to_bits());
    }
    for (g, r, tau) in [(5.0f32, 1.0f32, 20.0f32), (12.0, 0.5, 10.0), (-3.0, 2.0, 8.0)] {
        let v_rest = -60.0f32;
        let p = lif_params(v_rest, 1e9, v_rest, tau, 0.0, r);
        let mut s = LifState::new(&[v_rest], 1);
        s.gsyn[0] = g;
        for i in 0..5000 {
            lif_update(&p, i as u32, step_time(i, DT), &[OutputParams::Cuba], None, &mut s, 0, &mut []);
            assert_eq!(s.input[0].to_bits(), g.to_bits(), "CUBA: the input current is g");
        }
        let v_star = v_rest as f64 + r as f64 * g as f64;
        let bound = stall_bound(v_rest.abs().max(v_star.abs() as f32), tau, 0.0);
        assert!((s.v[0] as f64 - v_star).abs() < bound, "CUBA g {g} R {r}: V = {}, V* = {v_star} (bound {bound:e})", s.v[0]);
    }
}

/// MgBlock: I = g (E - V) / (1 + cc_Mg/beta e^{alpha (V_offset - V)}) at a few voltages, against the
/// f64 formula. Tolerance, relative: k = f32(cc_Mg / beta) (1/2 ulp), the exponent's argument
/// (its rounding: an error of 2^-24 |arg| relative in exp, |arg| <= 7.6 here), exp itself (2 ulp,
/// 4 2^-24: `math.rs`), then k e, 1 + k e, E - V, g (E - V) and the division (2^-24 each): at
/// most (|arg| + 10) 2^-24 < 1.1e-6, taken as 2e-6.
#[test]
fn mg_block_follows_its_formula() {
    for mg in [MgBlock::default(), MgBlock { e: 10.0, cc_mg: 2.0, alpha: 0.08, beta: 3.0, v_offset: -5.0 }] {
        let o = OutputParams::from(&Output::MgBlock(mg));
        for v in [-100.0f32, -80.0, -65.0, -50.0, -40.0, -20.0, 0.0, 20.0, 50.0] {
            let g = 0.37f32;
            let got = output::current(&o, g, v) as f64;
            let block = 1.0 / (1.0 + mg.cc_mg as f64 / mg.beta as f64 * (mg.alpha as f64 * (mg.v_offset as f64 - v as f64)).exp());
            let want = g as f64 * (mg.e as f64 - v as f64) * block;
            println!("MgBlock {mg:?} at V = {v}: block {block:.6}, current {got:.7e} (f64 {want:.7e})");
            assert!((got - want).abs() <= 2e-6 * want.abs(), "MgBlock at V = {v}: current {got:e}, formula {want:e}");
            // the exp is the twin's (the one the shader runs)
            let arg = mg.alpha as f64 * (mg.v_offset as f64 - v as f64);
            let e = math::exp(mg.alpha * (mg.v_offset - v)) as f64;
            assert!((e / arg.exp() - 1.0).abs() <= 4.0 * U + 2.0 * U * arg.abs(), "MgBlock at V = {v}: exp({arg}) = {e}");
        }
        // the block opens with depolarisation
        let b = |v: f32| output::current(&o, 1.0, v) / (mg.e - v);
        assert!(b(-100.0) < b(-50.0) && b(-50.0) < b(-10.0) && b(-10.0) < b(40.0), "MgBlock: the block must open with V");
    }
}
