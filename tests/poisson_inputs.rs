//! Poisson inputs (BrainPy's `PoissonInput`): the counts follow their law (mean, variance, no
//! correlation between neurons, batch rows, steps or inputs), a synaptic target reaches the mean
//! the synapse's decay implies, and every engine draws the same counts bit for bit. The
//! expected values come from the laws and the model's equations, not from the code.

mod common;

use common::*;
use serde_json::json;
use spikegpu::model::file;
use spikegpu::runtime::MonitorData;
use spikegpu::UpdateMode;

/// The per-step counts of V monitor `k` (V of a leak-free population that never fires: V after
/// step s is the sum of the counts up to s, times the weight 1), `[steps, batch * n]`.
fn increments(r: &Run, k: usize, steps: usize, width: usize) -> Vec<Vec<f64>> {
    let MonitorData::F32(v) = &r.data[k] else { panic!("V is continuous") };
    (0..steps)
        .map(|s| (0..width).map(|i| v[s * width + i] as f64 - if s == 0 { 0.0 } else { v[(s - 1) * width + i] as f64 }).collect())
        .collect()
}

fn mean_var(x: &[f64]) -> (f64, f64) {
    let m = x.iter().sum::<f64>() / x.len() as f64;
    (m, x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64)
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let ((ma, va), (mb, vb)) = (mean_var(a), mean_var(b));
    a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum::<f64>() / (a.len() - 1) as f64 / (va * vb).sqrt()
}

#[test]
fn counts_follow_their_law() {
    // tau 1e7 ms: exp(-dt/tau) is 1 in f32, so V only moves by the counts; V_th is never reached
    let lif = |name: &str| json!({"name": name, "model": "lif", "size": 103, "V_rest": 0, "V_th": 1e9, "V_reset": 0, "tau": 1e7, "V_init": 0});
    let (steps, batch, n) = (400usize, 2usize, 103usize);
    let text = json!({"dt": 0.1, "steps": steps, "batch": batch,
        "populations": [lif("a"), lif("b"), lif("c")],
        "poisson_inputs": [
            {"name": "bin", "target": "a.V", "num_input": 40, "freq": 500, "weight": 1.0, "seed": 11},
            {"name": "poi", "target": "b.V", "num_input": 2000, "freq": 8, "weight": 1.0, "seed": 11, "law": "poisson"},
            {"name": "same_seed", "target": "c.V", "num_input": 40, "freq": 500, "weight": 1.0, "seed": 11}],
        "monitors": {"a": "a.V", "b": "b.V", "c": "c.V"}})
    .to_string();
    let net = file::parse(&text).unwrap();
    let r = run_cpu(&net, 97);
    let width = batch * n;
    let flat = |k: usize| increments(&r, k, steps, width).concat();
    // Binomial(40, 0.05): mean 2, variance 1.9; Poisson(1.6): mean and variance 1.6
    for (k, name, mean, var) in [(0, "binomial", 2.0, 1.9), (1, "poisson", 1.6, 1.6)] {
        let x = flat(k);
        assert!(x.iter().all(|c| *c >= 0.0 && c.fract() == 0.0), "{name}: counts are whole numbers >= 0");
        let (m, v) = mean_var(&x);
        // 82,400 counts: the mean's standard error is sqrt(var / 82400) < 0.005; the variance's
        // about var * sqrt(2 / 82400) < 0.01: bounds of about 6 standard errors
        assert!((m - mean).abs() < 0.03, "{name}: mean {m}, law {mean}");
        assert!((v - var).abs() < 0.06, "{name}: variance {v}, law {var}");
    }
    let a = increments(&r, 0, steps, width);
    let column = |i: usize| a.iter().map(|row| row[i]).collect::<Vec<f64>>();
    // neighbours in one Philox block, across blocks, the same neuron in the other batch row, the
    // same neuron one step apart, and the input of equal seed on another population: 400 samples
    // each, so |r| < 0.25 is over 5 standard errors
    let lagged: (Vec<f64>, Vec<f64>) = (a[..steps - 1].iter().map(|r| r[5]).collect(), a[1..].iter().map(|r| r[5]).collect());
    let c = increments(&r, 2, steps, width);
    let other: Vec<f64> = c.iter().map(|row| row[5]).collect();
    for (what, x, y) in [
        ("neurons 4 and 5", column(4), column(5)),
        ("neurons 3 and 4", column(3), column(4)),
        ("rows 0 and 1", column(7), column(n + 7)),
        ("steps s and s+1", lagged.0, lagged.1),
        ("inputs of equal seed", column(5), other),
    ] {
        let rho = correlation(&x, &y);
        assert!(rho.abs() < 0.25, "{what}: correlation {rho}");
    }
}

#[test]
fn synaptic_target_reaches_the_decay_mean() {
    // Poisson input into an Expon state aligned post: g = decay(g + count w) has the stationary
    // mean d m w / (1 - d) with d = exp(-dt / tau) and m = K p (SEMANTICS: the projection phase
    // adds, then the post's before-update decays; the projection from the silent
    // source only gives the state a name)
    let (tau, k, freq, w, dt) = (0.5f64, 500u64, 20.0f64, 0.25f64, 0.1f64);
    let text = json!({"dt": dt, "steps": 3000,
        "populations": [
            {"name": "silent", "model": "spike_times", "size": 1, "indices": [], "times": []},
            {"name": "E", "model": "lif", "size": 150, "V_rest": 0, "V_th": 1e9, "V_reset": 0, "tau": 10}],
        "projections": [
            {"name": "syn", "pre": "silent", "post": "E", "synapse": {"model": "expon", "tau": tau}, "align": "post",
             "connectivity": {"kind": "csr", "indptr": [0, 1], "indices": [0]}, "weight": 1.0, "output": {"model": "cuba"}}],
        "poisson_inputs": [{"target": "syn.g", "num_input": k, "freq": freq, "weight": w, "seed": 5}],
        "monitors": {"g": "syn.g"}})
    .to_string();
    let net = file::parse(&text).unwrap();
    let r = run_cpu(&net, 500);
    let MonitorData::F32(g) = &r.data[0] else { panic!() };
    let d = (-dt / tau).exp();
    let want = d * k as f64 * freq * dt / 1000.0 * w / (1.0 - d);
    // long after the start; 2,000 steps x 150 neurons, correlated over about 5 steps: the
    // standard error of the mean is below 0.5% of it, and adding after the decay instead of
    // before it would be 1/d = 22% higher
    let late = &g[1000 * 150..];
    let got = late.iter().map(|&x| x as f64).sum::<f64>() / late.len() as f64;
    assert!((got - want).abs() < 0.02 * want, "mean g {got}, the decay's mean {want}");
}

#[test]
fn every_engine_draws_the_same_counts() {
    let text = json!({"dt": 0.1, "steps": 500, "batch": 2,
        "populations": [
            {"name": "E", "model": "lif_ref", "size": 181, "V_rest": -65, "V_th": -50, "V_reset": -65, "tau": 10, "tau_ref": 2,
             "V_init": {"normal": [-60, 3], "seed": 1}},
            {"name": "I", "model": "lif", "size": 45, "V_rest": -65, "V_th": -50, "V_reset": -65, "tau": 10, "V_init": -62}],
        "projections": [
            {"name": "ee", "pre": "E", "post": "E", "synapse": {"model": "expon", "tau": 0.5}, "align": "post",
             "connectivity": {"kind": "fixed_total_number", "n": 3000, "seed": 2}, "weight": {"normal": [0.8, 0.2], "seed": 3, "redraw_sign": true},
             "delay": {"normal": [1.5, 0.75], "min": 0.1, "seed": 4}, "output": {"model": "cuba"}},
            {"name": "ie", "pre": "I", "post": "E", "synapse": {"model": "expon", "tau": 0.5}, "align": "post",
             "connectivity": {"kind": "fixed_prob", "prob": 0.2, "seed": 5}, "weight": -1.5, "output": {"model": "cuba"}},
            {"name": "ei", "pre": "E", "post": "I", "synapse": {"model": "ampa"},
             "connectivity": {"kind": "fixed_prob", "prob": 0.1, "seed": 6}, "weight": 0.3, "output": {"model": "coba", "E": 0}}],
        "poisson_inputs": [
            {"name": "bg", "target": "ee.g", "num_input": 1600, "freq": 8, "weight": 1.9, "seed": 7, "law": "poisson"},
            {"name": "drive", "target": "I.V", "num_input": 100, "freq": 40, "weight": 0.4, "seed": 8}],
        "monitors": {"V": "E.V", "spike": "E.spike", "g": "ee.g", "VI": "I.V", "spikeI": "I.spike"}})
    .to_string();
    let net = file::parse(&text).unwrap();
    let mut runs = Vec::new();
    for kind in engines("every_engine_draws_the_same_counts") {
        for mode in [UpdateMode::Dense, UpdateMode::Event] {
            runs.push((format!("{kind} {mode:?}"), run(kind, &net, mode, 128)));
        }
    }
    let (first, reference) = &runs[0];
    let spikes: usize = lif_spike_counts(reference).iter().map(|(_, n)| n).sum();
    assert!(spikes > 100, "{first}: only {spikes} spikes, the test says little");
    for (what, r) in &runs[1..] {
        r.assert_bit_identical(reference, &format!("{what} against {first}"));
    }
}
