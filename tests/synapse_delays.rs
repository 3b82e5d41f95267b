//! Per-synapse delays on post-aligned projections (GeNN's dendritic delay): a synapse with delay
//! `d` acts as the whole projection would with delay `d`. Checked without trusting the new code
//! path against itself: against projections with one delay each (the existing, golden-tested
//! path), on every engine, from a spike source and from a LIF population, with batches; the
//! sums are fixed point, so the comparisons are bit for bit.

mod common;

use common::*;
use serde_json::{json, Value};
use spikegpu::model::file;
use spikegpu::UpdateMode;

/// A Poisson source and a recurrent LIF population, each projecting onto `E` through Expon
/// synapses aligned post (COBA from the source, CUBA recurrently), `batch` copies.
fn network(input: Value, recurrent: Vec<Value>, batch: usize) -> Value {
    let mut projections = vec![input];
    projections.extend(recurrent);
    json!({"dt": 0.1, "steps": 600, "batch": batch,
        "populations": [
            {"name": "src", "model": "poisson", "size": 120, "rate_hz": 60, "seed": 3},
            {"name": "E", "model": "lif_ref", "size": 70, "V_rest": -60, "V_th": -50, "V_reset": -60, "tau": 20, "tau_ref": 2,
             "V_init": {"normal": [-56, 2], "seed": 4}, "I_ext": 4}],
        "projections": projections,
        "monitors": {"V": "E.V", "spike": "E.spike", "g_in": "in.g", "g_rec": "rec.g"}})
}

/// A post-aligned Expon projection onto `E` with the CSR `(indptr, indices, weights)`.
fn proj(name: &str, pre: &str, tau: f64, (indptr, indices, weights): (&[u32], &[u32], &[f32]), delay: Value, output: Value) -> Value {
    json!({"name": name, "pre": pre, "post": "E", "synapse": {"model": "expon", "tau": tau}, "align": "post",
        "connectivity": {"kind": "csr", "indptr": indptr, "indices": indices}, "weight": weights, "delay": delay, "output": output})
}

/// A random pre-major CSR with per-synapse weights (seeded, printed by the caller).
fn csr(rng: &mut impl rand::Rng, n_pre: usize, n_post: usize, k: usize, w: (f32, f32)) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
    let mut indptr = vec![0u32];
    let mut indices = Vec::new();
    for _ in 0..n_pre {
        let mut row: Vec<u32> = (0..k).map(|_| rng.random_range(0..n_post as u32)).collect();
        row.sort_unstable();
        indices.extend(row);
        indptr.push(indices.len() as u32);
    }
    let weights = (0..indices.len()).map(|_| rng.random_range(w.0..w.1)).collect();
    (indptr, indices, weights)
}

/// The rows of `indptr`/`indices`/`weights` whose synapses satisfy `keep`, as a CSR of its own.
fn subset(indptr: &[u32], indices: &[u32], weights: &[f32], keep: impl Fn(usize) -> bool) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
    let (mut p, mut i, mut w) = (vec![0u32], Vec::new(), Vec::new());
    for r in 0..indptr.len() - 1 {
        for e in indptr[r] as usize..indptr[r + 1] as usize {
            if keep(e) {
                i.push(indices[e]);
                w.push(weights[e]);
            }
        }
        p.push(i.len() as u32);
    }
    (p, i, w)
}

#[test]
fn per_synapse_delays_equal_one_projection_per_delay() {
    use rand::{Rng, SeedableRng};
    let seed: u64 = rand::random();
    println!("seed {seed}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (ip, ii, iw) = csr(&mut rng, 120, 70, 6, (0.02, 0.2));
    let (rp, ri, rw) = csr(&mut rng, 70, 70, 8, (0.1, 0.9));
    // the delays of each synapse: a few values, 0 (none) and some below one step included
    let choices = [0.0, 0.05, 0.1, 0.3, 0.5, 1.0, 2.5];
    let in_d: Vec<f64> = (0..ii.len()).map(|_| choices[rng.random_range(0..choices.len())]).collect();
    let rec_d: Vec<f64> = (0..ri.len()).map(|_| choices[rng.random_range(0..choices.len())]).collect();
    let coba = json!({"model": "coba", "E": 0.0});
    let cuba = json!({"model": "cuba"});
    for batch in [1, 3] {
        let delayed = network(
            proj("in", "src", 2.0, (&ip, &ii, &iw), json!(in_d), coba.clone()),
            vec![proj("rec", "E", 5.0, (&rp, &ri, &rw), json!(rec_d), cuba.clone())],
            batch,
        );
        // the same synapses as one projection per delay value; identical post-aligned synapses
        // onto E merge their state, so "in" and "rec" name the merged states' g
        let split = |name: &str, pre: &str, tau: f64, (p, i, w): (&[u32], &[u32], &[f32]), ds: &[f64], out: &Value| -> Vec<Value> {
            choices
                .iter()
                .enumerate()
                .map(|(c, &d)| {
                    let (sp, si, sw) = subset(p, i, w, |e| ds[e] == d);
                    let label = if c == 0 { name.to_string() } else { format!("{name}_{c}") };
                    proj(&label, pre, tau, (&sp, &si, &sw), if d == 0.0 { Value::Null } else { json!(d) }, out.clone())
                })
                .collect()
        };
        let mut parts = split("in", "src", 2.0, (&ip, &ii, &iw), &in_d, &coba);
        let first = parts.remove(0);
        parts.extend(split("rec", "E", 5.0, (&rp, &ri, &rw), &rec_d, &cuba));
        let reference = network(first, parts, batch);
        let (a, b) = (file::parse(&delayed.to_string()).unwrap(), file::parse(&reference.to_string()).unwrap());
        for kind in engines("per_synapse_delays_equal_one_projection_per_delay") {
            for mode in [UpdateMode::Dense, UpdateMode::Event] {
                let context = format!("seed {seed}, batch {batch}, {kind} {mode:?}");
                let (ra, rb) = (run(kind, &a, mode, 256), run(kind, &b, mode, 256));
                ra.assert_bit_identical(&rb, &context);
                let spikes: usize = lif_spike_counts(&ra).iter().map(|(_, n)| n).sum();
                assert!(spikes > 20, "{context}: only {spikes} spikes, the test says little");
            }
        }
    }
}

#[test]
fn generated_delays_run_the_same_on_every_engine() {
    // NEST's redraw below the minimum, the microcircuit's delay rule, and a checkpoint-sized
    // ring (up to 60 steps); the engines agree bit for bit
    let text = json!({"dt": 0.1, "steps": 800,
        "populations": [
            {"name": "src", "model": "poisson", "size": 300, "rate_hz": 40, "seed": 1},
            {"name": "E", "model": "lif_ref", "size": 200, "V_rest": -60, "V_th": -50, "V_reset": -60, "tau": 20, "tau_ref": 2,
             "V_init": {"normal": [-58, 3], "seed": 2}, "I_ext": 9.5}],
        "projections": [
            {"name": "in", "pre": "src", "post": "E", "synapse": {"model": "expon", "tau": 0.5}, "align": "post",
             "connectivity": {"kind": "fixed_total_number", "n": 12000, "seed": 3},
             "weight": {"normal": [0.6, 0.3], "seed": 4, "redraw_sign": true},
             "delay": {"normal": [1.5, 0.75], "min": 0.1, "seed": 5}, "output": {"model": "cuba"}},
            {"name": "rec", "pre": "E", "post": "E", "synapse": {"model": "expon", "tau": 0.5}, "align": "post",
             "connectivity": {"kind": "fixed_total_number", "n": 4000, "seed": 6},
             "weight": {"normal": [-1.2, 0.6], "seed": 7, "redraw_sign": true},
             "delay": {"normal": [0.75, 0.375], "min": 0.1, "seed": 8}, "output": {"model": "cuba"}}],
        "monitors": {"V": "E.V", "spike": "E.spike"}})
    .to_string();
    let net = file::parse(&text).unwrap();
    let slots = net.projections[0].delay_slots.as_ref().unwrap();
    assert!(slots.iter().all(|&s| s >= 1), "a draw below the minimum was kept");
    let mean = slots.iter().map(|&s| s as f64).sum::<f64>() / slots.len() as f64;
    // ceil(d / dt) of the normal truncated at 0.1 ms: 16.04 slots (12,000 draws: sd 0.065)
    assert!((mean - 16.04).abs() < 0.3, "mean delay {mean} slots");
    let kinds = engines("generated_delays_run_the_same_on_every_engine");
    let runs: Vec<_> = kinds.iter().map(|&k| (k, run(k, &net, UpdateMode::Dense, 300))).collect();
    let spikes: usize = lif_spike_counts(&runs[0].1).iter().map(|(_, n)| n).sum();
    assert!(spikes > 50, "only {spikes} spikes");
    for (k, r) in &runs[1..] {
        runs[0].1.assert_bit_identical(r, &format!("cpu against {k}"));
    }
}

#[test]
fn per_synapse_delays_are_checked() {
    let base = |delay: Value, align: &str| {
        json!({"dt": 0.1, "steps": 10,
            "populations": [{"name": "s", "model": "spike_times", "size": 2, "indices": [0], "times": [1.0]},
                            {"name": "p", "model": "lif_ref", "size": 2}],
            "projections": [{"name": "x", "pre": "s", "post": "p", "synapse": {"model": "expon"}, "align": align,
                "connectivity": {"kind": "csr", "indptr": [0, 2, 3], "indices": [0, 1, 1]}, "weight": 1.0,
                "delay": delay, "output": {"model": "cuba"}}]})
        .to_string()
    };
    let err = |t: String| file::parse(&t).unwrap_err().to_string();
    let e = err(base(json!([1.0, 2.0, 0.5]), "pre"));
    assert!(e.starts_with("projections[0].delay: per-synapse delays need \"align\": \"post\""), "{e}");
    let e = err(base(json!([1.0, 2.0]), "post"));
    assert!(e.starts_with("projections[0].delay: has 2 values, but the connectivity has 3 synapses"), "{e}");
    let e = err(base(json!([1.0, -2.0, 0.5]), "post"));
    assert!(e.starts_with("projections[0].delay[1]: must be a finite number >= 0 ms"), "{e}");
    let e = err(base(json!({"normal": [1.0, 0.1], "min": 3.0}), "post"));
    assert!(e.starts_with("projections[0].delay.min: 3 ms is more than 5 sd above the mean"), "{e}");
    let e = err(base(json!({"steps": [1, 2, 70000]}), "post"));
    assert!(e.starts_with("projections[0].delay.steps[2]: must be a whole number of steps"), "{e}");
    // the exact form and the ms form agree, and `validate`'s preview checks as the build does
    let a = file::parse(&base(json!([0.1, 0.3, 2.0]), "post")).unwrap();
    let b = file::parse(&base(json!({"steps": [1, 3, 20]}), "post")).unwrap();
    assert_eq!(a.projections[0].delay_slots, b.projections[0].delay_slots);
    let t = base(json!([1.0, 2.0]), "post");
    let preview = spikegpu::model::estimate::parse_builder(&t).unwrap().preview().unwrap_err().to_string();
    assert!(preview.starts_with("projections[0].delay: has 2 values"), "{preview}");
}

#[test]
fn nest_rounding_delivers_round_d_over_dt_steps_later() {
    // a source spike at step 10 through delays of NEST's grid: it arrives max(round(d / dt), 1)
    // steps later; BrainPy's ring (the default) lags ceil(d / dt) - 1 steps
    let net = |delay: Value| {
        json!({"dt": 0.1, "steps": 60,
            "populations": [{"name": "s", "model": "spike_times", "size": 1, "indices": [0], "times": [1.0]},
                            {"name": "p", "model": "lif_ref", "size": 1}],
            "projections": [{"name": "x", "pre": "s", "post": "p", "synapse": {"model": "expon"}, "align": "post",
                "connectivity": {"kind": "csr", "indptr": [0, 1], "indices": [0]}, "weight": 1.0,
                "delay": delay, "output": {"model": "cuba"}}],
            "monitors": {"g": "x.g"}})
        .to_string()
    };
    for (d, rounding, arrives) in [(1.5, "nest", 25), (1.54, "nest", 25), (1.56, "nest", 26), (0.02, "nest", 11), (1.5, "brainpy", 24), (1.54, "brainpy", 25)] {
        let n = file::parse(&net(json!({"normal": [d, 0.0], "min": 0.0, "seed": 1, "rounding": rounding}))).unwrap();
        let r = run_cpu(&n, 64);
        let g = f32s(&r.data[0]);
        let first = g.iter().position(|&x| x != 0.0);
        assert_eq!(first, Some(arrives), "delay {d} ms, {rounding} rounding");
    }
}
