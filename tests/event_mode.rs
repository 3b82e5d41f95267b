//! The exact event-driven update against the dense reference: the golden cases within the same
//! tolerances, random networks (delays, GABAa, recurrent, batches, per-synapse weights), and a
//! 100k-step run showing that its rounding error stays bounded (the recurrence is a contraction).

mod common;

use common::*;
use spikegpu::cpu::CpuEngine;
use spikegpu::model::plan::UpdateMode;
use spikegpu::model::{file, Target};

fn run_mode(net: &spikegpu::Network, mode: UpdateMode) -> Vec<spikegpu::sim::MonitorData> {
    let mut eng = CpuEngine::with_mode(net, mode).unwrap();
    run_backend(&mut eng, net, 1000).0
}

#[test]
fn golden_cases_in_event_mode() {
    let mut failures = Vec::new();
    for path in golden_case_paths() {
        let case = load_golden(&path);
        let got = run_mode(&case.net, UpdateMode::Event);
        let rep = compare(&case.net, &got, &case.expected, &Tol::golden(), &format!("{} (event mode)", case.name));
        println!("{rep}");
        if !rep.ok() {
            failures.push(rep.to_string());
        }
    }
    assert!(failures.is_empty(), "golden cases failed in event mode:\n{}", failures.join("\n"));
}

#[test]
fn random_networks_event_matches_dense() {
    for seed in test_seeds(6) {
        let net = random_network(seed, &NetOpts { steps: 1500, ..Default::default() });
        let dense = run_mode(&net, UpdateMode::Dense);
        let event = run_mode(&net, UpdateMode::Event);
        let rep = compare_runs(&net, &event, &dense, &Tol::golden());
        if rep.ok() {
            continue;
        }
        // Event mode rounds the conductance sum differently (about 1e-7 relative), so V differs
        // by about 1e-5 mV; where V grazes the threshold that can move a crossing by more than
        // one step (seed 5198964566310954011: one neuron's spikes 2 steps apart, V within
        // 1.2e-5 mV everywhere). Such a run must still keep every continuous trace within the
        // tolerances (up to each neuron's first spike disagreement) and pass the golden README's
        // ISI rule, its rule for runs whose arithmetic differs in rounding (`extra_seed_drive`).
        assert!(rep.monitors.iter().all(|m| m.violations == 0), "seed {seed}: event vs dense traces\n{rep}");
        let mut want = expected_from_run(&net, &dense);
        want.rule = SpikeRule::Isi;
        let isi = compare(&net, &event, &want, &Tol::golden(), "event against dense, ISI rule");
        assert!(isi.ok(), "seed {seed}: event vs dense\n{rep}\n{isi}");
        println!("seed {seed}: a crossing moved by more than one step; traces and the ISI rule hold\n{rep}");
    }
}

/// 100k steps of 40 regular sources onto 30 LIF neurons: the largest relative difference of the
/// post conductance between event and dense mode over the last 10k steps is no larger than
/// over the first 10k (no drift), and small in absolute terms. `input` is monitored, and its
/// conductance is recovered as input / (E - V) with E = 0.
#[test]
fn event_error_stays_bounded_over_100k_steps() {
    let n_pre = 40usize;
    let n_post = 30usize;
    let steps = 100_000usize;
    let (mut indptr, mut indices) = (vec![0u32], Vec::new());
    for i in 0..n_pre {
        for j in 0..n_post {
            if (i * 7 + j * 3) % 5 == 0 {
                indices.push(j as u32);
            }
        }
        indptr.push(indices.len() as u32);
    }
    let text = serde_json::json!({
        "dt": 0.1, "steps": steps,
        "populations": [
            {"name": "src", "model": "regular", "size": n_pre, "period_steps": 97},
            {"name": "post", "model": "lif_ref", "size": n_post, "V_rest": -60, "V_th": -50, "V_reset": -60,
             "tau": 20, "tau_ref": 5, "R": 1, "V_init": -60}
        ],
        "projections": [{"name": "syn", "pre": "src", "post": "post", "synapse": {"model": "ampa"}, "delay": 0.3,
            "connectivity": {"kind": "csr", "indptr": indptr, "indices": indices}, "weight": 0.05,
            "output": {"model": "coba", "E": 0.0}}],
        "monitors": {"I": "syn.current", "V": "post.V"}
    })
    .to_string();
    let net = file::parse(&text).unwrap();
    let dense = run_mode(&net, UpdateMode::Dense);
    let event = run_mode(&net, UpdateMode::Event);
    let (i_d, i_e) = (f32s(&dense[monitor_index(&net, "I")]), f32s(&event[monitor_index(&net, "I")]));
    let (v_d, v_e) = (f32s(&dense[monitor_index(&net, "V")]), f32s(&event[monitor_index(&net, "V")]));
    assert_eq!(net.monitors[0].target, Target::ProjCurrent(0));
    let worst = |range: std::ops::Range<usize>| {
        let mut w = 0.0f64;
        for s in range {
            for j in 0..n_post {
                let k = s * n_post + j;
                // compare conductances while both runs agree on V to rounding (before any spike
                // shift; this drive keeps V below threshold almost always)
                if (v_d[k] - v_e[k]).abs() > 1e-3 {
                    continue;
                }
                let (gd, ge) = (i_d[k] as f64 / -(v_d[k] as f64), i_e[k] as f64 / -(v_e[k] as f64));
                w = w.max((gd - ge).abs() / gd.abs().max(1e-3));
            }
        }
        w
    };
    let first = worst(0..10_000);
    let last = worst(steps - 10_000..steps);
    println!("event vs dense, largest relative conductance difference: first 10k steps {first:.3e}, last 10k steps {last:.3e}");
    assert!(last < 1e-4, "event-mode error {last:e} after 100k steps");
    assert!(last <= 10.0 * first.max(1e-7), "event-mode error grows: {first:e} -> {last:e}");
}
