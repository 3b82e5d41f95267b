//! Analytic checks of the CPU kernels and of small networks: every expected value here comes
//! from a closed-form (f64) solution of the model equations, not from another run.

mod common;

use common::*;
use serde_json::json;
use spikegpu::cpu::columns::Columns;
use spikegpu::cpu::csr_gather::csr_gather;
use spikegpu::cpu::lif_update::{lif_update, LifState};
use spikegpu::model::plan::{dt_phi, LifParams, PlanWeights};
use spikegpu::model::{file, step_time, Csr, Network};

const DT: f32 = 0.1;

fn lif_params(v_rest: f32, v_th: f32, v_reset: f32, tau: f32, tau_ref: f32, r: f32) -> LifParams {
    LifParams { v_rest, v_th, v_reset, r, inv_tau: 1.0 / tau, dt_phi: dt_phi(DT, -1.0 / tau), tau_ref }
}

/// Runs one LIF neuron under a constant conductance `g` with reversal `e` (no input when
/// `g == 0`) for `steps` steps; returns V after each step and the spike steps.
fn run_lif_const_g(p: &LifParams, v0: f32, g: f32, e: f32, steps: usize) -> (Vec<f32>, Vec<usize>) {
    let (inputs, es) = if g == 0.0 { (0, vec![]) } else { (1, vec![e]) };
    let mut s = LifState::new(&[v0], inputs);
    if inputs == 1 {
        s.gsyn[0] = g;
    }
    let mut vs = Vec::with_capacity(steps);
    let mut spk = Vec::new();
    for i in 0..steps {
        lif_update(p, step_time(i, DT), &es, &mut s);
        vs.push(s.v[0]);
        if s.spike[0] != 0 {
            spk.push(i);
        }
    }
    (vs, spk)
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
    for (g, e, r, tau, v0) in
        [(0.1f32, 0.0f32, 1.0f32, 20.0f32, -60.0f32), (0.5, -80.0, 1.3, 10.0, -55.0), (0.25, 0.0, 0.7, 30.0, -70.0), (2.0, 0.0, 1.0, 20.0, -60.0)]
    {
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
        println!(
            "g {g}, E {e}, R {r}, tau {tau}: V* = {v_star:.5}, final V {last:.5}; max |V - map| {worst_map:.2e}, max |V - ode| {worst_ode:.2e}"
        );
        let bound = stall_bound(v0.abs().max(v_rest.abs()).max(e.abs()), tau, r * g);
        assert!((last - v_star).abs() < bound, "g {g} E {e}: final V {last} is not the fixed point {v_star} (bound {bound:e})");
        assert!(worst_map < bound, "g {g} E {e}: V departs from the one-step map by {worst_map:e} (bound {bound:e})");
        // the map differs from the ODE by O((dt (1+Rg)/tau)^2) per step
        assert!(
            worst_ode < 0.01 * (v0 as f64 - v_star).abs().max(1.0),
            "g {g} E {e}: V departs from the continuous solution by {worst_ode:e}"
        );
    }
}

/// Steady-state firing: from V_reset the neuron is held for the refractory steps, then integrates
/// k steps until V >= V_th, where k = ceil(ln((V* - V_th)/(V* - V_reset)) / ln q). Compared with
/// an independent f64 computation (within one step: f32 rounding at the threshold or of
/// `t - t_last` against tau_ref), and the mean with the continuous-time interval
/// tau_ref + tau/(1+Rg) ln((V* - V_reset)/(V* - V_th)).
#[test]
fn interspike_interval_under_constant_drive() {
    for (g, tau, tau_ref, v_reset, r) in [
        (0.4f32, 20.0f32, 5.0f32, -60.0f32, 1.0f32),
        (1.0, 10.0, 2.0, -65.0, 1.0),
        (0.3, 20.0, 0.0, -60.0, 1.2),
        (0.6, 15.0, 3.3, -58.0, 0.8),
        (3.0, 20.0, 5.0, -60.0, 1.0),
    ] {
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
        assert!(
            (spk[0] as f64 - (k - 1.0)).abs() <= 1.0,
            "g {g} tau {tau}: first spike at step {}, predicted {}",
            spk[0],
            k - 1.0
        );
        let isis: Vec<usize> = spk.windows(2).map(|w| w[1] - w[0]).collect();
        let mean = (spk[spk.len() - 1] - spk[0]) as f64 / isis.len() as f64;
        println!(
            "g {g}, tau {tau}, tau_ref {tau_ref}: {} spikes, ISIs {:?}..{:?} steps, mean {mean:.3}; f64 step model {isi_pred}, continuous {isi_ode:.3}",
            spk.len(),
            isis.iter().min().unwrap(),
            isis.iter().max().unwrap()
        );
        for (j, &isi) in isis.iter().enumerate() {
            assert!(
                (isi as f64 - isi_pred).abs() <= 1.0,
                "g {g} tau {tau} tau_ref {tau_ref}: ISI #{j} = {isi} steps, f64 prediction {isi_pred}"
            );
        }
        // the step model quantises the rise up to a whole step: the mean lies within 1.5 steps of
        // the continuous interval
        assert!((mean - isi_ode).abs() <= 1.5, "g {g}: mean ISI {mean} steps, continuous {isi_ode}");
    }
}

fn net(v: serde_json::Value) -> Network {
    file::parse(&v.to_string()).unwrap_or_else(|e| panic!("test network: {e}"))
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
        let run = run_cpu(&n, 1000);
        let g = f32s(&run[0]);
        let spike_steps: Vec<usize> = times.iter().map(|&t| spikegpu::model::plan::firing_step(t as f32, DT)).collect();
        assert_eq!(&spike_steps[..3], &[100, 120, 300], "grid times fire at their step");
        assert!(g[..100].iter().all(|&x| x == 0.0), "{label}: g moved before the first spike");
        let k_on = alpha * t_conc + beta;
        let g_inf = alpha * t_conc / k_on;
        let dt = DT as f64;
        let (mut worst_on, mut worst_off) = (0.0f64, 0.0f64);
        let mut i = 100;
        let mut sat = 0usize; // step of the last spike
        let mut g_start = 0.0f64; // g before the current window
        let mut on_start = 100usize;
        let mut g_end = 0.0f64;
        let mut end_step = 0usize;
        while i < 1000 {
            if spike_steps.contains(&i) {
                sat = i;
                on_start = i;
                g_start = if i == 0 { 0.0 } else { g[i - 1] as f64 };
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
            i += 1;
        }
        let m = window_steps(100, t_dur);
        let nominal = (t_dur as f64 / dt).round() as usize;
        println!(
            "{label}: window {m} steps (nominal {nominal}); max rel. error open-window {worst_on:.2e}, decay {worst_off:.2e}"
        );
        assert!(m == nominal || m == nominal + 1, "{label}: window of {m} steps");
        // g rises exactly on the window steps after the first spike and falls afterwards
        let rising = (100..120).filter(|&i| g[i] > if i == 0 { 0.0 } else { g[i - 1] }).count();
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
    let run = run_cpu(&n, 1000);
    let (g, v) = (f32s(&run[0]), f32s(&run[1]));
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

/// For each delay, the lag (in steps) at which `input_k[i] == f32(g[i - lag] * 60)` holds for
/// every step (0 before the delayed value exists), or None.
fn find_lag(g: &[f32], input: &[f32], v_old: &[f32]) -> Option<usize> {
    (0..40).find(|&lag| {
        input.iter().enumerate().all(|(i, &x)| {
            let gd = if i >= lag { g[i - lag] } else { 0.0 };
            x == gd * (0.0 - v_old[i])
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
    let run = run_cpu(&n, 1000);
    let g = f32s(&run[monitor_index(&n, "g")]);
    let pre_spikes = spikes(&run[monitor_index(&n, "pre_spike")]).iter().filter(|&&x| x != 0).count();
    if pre_is_lif {
        assert_eq!(pre_spikes, 1, "the LIF pre must spike exactly once");
    }
    assert!(g.iter().any(|&x| x > 0.01), "the pre gating never opened");
    let mut got = Vec::new();
    for k in 0..delays.len() {
        let input = f32s(&run[monitor_index(&n, &format!("in{k}"))]);
        let v = f32s(&run[monitor_index(&n, &format!("V{k}"))]);
        let cur = f32s(&run[monitor_index(&n, &format!("cur{k}"))]);
        assert!(v.iter().all(|&x| x == -60.0), "post{k}: V moved");
        // V is constant, so the projection current with the new V equals the input
        assert_eq!(cur, input, "post{k}: projection current differs from the population input");
        let v_old = vec![-60.0f32; input.len()];
        // Lag relative to the g monitor (this step's gating for a source, the end-of-step
        // gating for a LIF pre, so a LIF pre's "step i-1" is lag 1).
        got.push(find_lag(g, input, &v_old));
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

/// The post-major gather sums `w * x` in pre order, like BrainPy's pre-major scatter: bit-exact
/// against a direct scatter in f32, and close to the f64 matrix product.
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
            let weights = if shared {
                PlanWeights::Shared(0.37)
            } else {
                PlanWeights::PerSynapse(perm.iter().map(|&e| w[e as usize]).collect())
            };
            // both index widths the CPU engine keeps (16 bits when n_pre <= 65,536)
            let wide = Columns::new(pm.indices.clone(), n_pre);
            let narrow = Columns::new(pm.indices.iter().map(|&i| u16::try_from(i).unwrap()).collect(), n_pre);
            let mut y = vec![f32::NAN; batch * n_post];
            csr_gather(&pm.indptr, &wide, &weights, Some(&x), n_pre, &mut y);
            let mut y16 = vec![f32::NAN; batch * n_post];
            csr_gather(&pm.indptr, &narrow, &weights, Some(&x), n_pre, &mut y16);
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
            csr_gather(&pm.indptr, &wide, &weights, None, n_pre, &mut y);
            assert!(y.iter().all(|&v| v == 0.0), "seed {seed}: no input must give 0");
        }
    }
}
