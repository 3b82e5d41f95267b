//! Monitor subsets (`{"target": "post.V", "neurons": "2:7", "every": 3}`, `"neurons": [5, 1, 3]`):
//! each holds exactly the rows (steps 0, every, 2 every, ...) and columns (the named neurons, in
//! their order, in every batch row) of the monitor of every neuron at every step, for every kind
//! of source (V, input, a pre-aligned g, a post-aligned g, LIF and source spikes), on every
//! engine, batched and not, in each update mode; and spike-event files of a subset list exactly
//! the spikes of those neurons at those steps.

mod common;

use common::*;
use spikegpu::model::file;
use spikegpu::Network;

const STEPS: usize = 301;

/// The network: a source onto 10 LIF neurons through an AMPA projection (pre-aligned, g per
/// source neuron) and an Expon projection aligned post (g per post neuron), with every full
/// monitor and subsets of each.
fn network(batch: usize) -> Network {
    file::parse(&network_text(batch)).unwrap()
}

/// The network file of [`network`].
fn network_text(batch: usize) -> String {
    let times: Vec<f64> = (0..12 * 6).map(|k| ((k * 37) % 290) as f64 * 0.1).collect();
    let indices: Vec<usize> = (0..12 * 6).map(|k| k % 12).collect();
    let v_init: Vec<f64> = (0..10).map(|i| -60.0 + 0.7 * i as f64).collect();
    let text = serde_json::json!({
        "dt": 0.1, "steps": STEPS, "batch": batch,
        "populations": [
            {"name": "pre", "model": "spike_times", "size": 12, "indices": indices, "times": times},
            {"name": "post", "model": "lif_ref", "size": 10, "V_rest": -60, "V_th": -50, "V_reset": -60,
             "tau": 20, "tau_ref": 2, "R": 1, "V_init": v_init}
        ],
        "projections": [
            {"name": "syn", "pre": "pre", "post": "post", "synapse": {"model": "ampa"}, "delay": 0.2,
             "connectivity": {"kind": "fixed_prob", "prob": 0.5, "seed": 5}, "weight": 0.9,
             "output": {"model": "coba", "E": 0.0}},
            {"name": "syn2", "pre": "pre", "post": "post", "synapse": {"model": "expon", "tau": 4}, "align": "post",
             "connectivity": {"kind": "fixed_prob", "prob": 0.4, "seed": 6}, "weight": 0.2,
             "output": {"model": "coba", "E": 0.0}}
        ],
        "monitors": {
            "V": "post.V",
            "V_range": {"target": "post.V", "neurons": "2:7", "every": 3},
            "V_list": {"target": "post.V", "neurons": [5, 1, 3]},
            "V_list_every": {"target": "post.V", "neurons": [9, 0], "every": 4},
            "input": "post.input",
            "input_sub": {"target": "post.input", "neurons": [0, 9], "every": 7},
            "spike": "post.spike",
            "spike_range": {"target": "post.spike", "neurons": "2:7", "every": 3},
            "spike_list": {"target": "post.spike", "neurons": [5, 1, 3]},
            "events": "post.spike_events",
            "events_list": {"target": "post.spike_events", "neurons": [5, 1, 3], "every": 2},
            "events_range": {"target": "post.spike_events", "neurons": "4:10"},
            "g": "syn.g",
            "g_sub": {"target": "syn.g", "neurons": "3:11", "every": 5},
            "gp": "syn2.g",
            "gp_sub": {"target": "syn2.g", "neurons": [8, 2], "every": 2},
            "src": "pre.spike",
            "src_sub": {"target": "pre.spike", "neurons": [11, 4, 0], "every": 2}
        }
    });
    text.to_string()
}

/// The subset of a full monitor (`[steps, batch, n]` row-major): steps `0, every, ...`,
/// neurons `pick`, every batch row.
fn subset<T: Copy>(full: &[T], n: usize, batch: usize, every: usize, pick: &[u32]) -> Vec<T> {
    let mut out = Vec::new();
    for s in (0..STEPS).step_by(every) {
        for b in 0..batch {
            out.extend(pick.iter().map(|&j| full[(s * batch + b) * n + j as usize]));
        }
    }
    out
}

/// (subset monitor, its full monitor)
const PAIRS: [(&str, &str); 11] = [
    ("V_range", "V"),
    ("V_list", "V"),
    ("V_list_every", "V"),
    ("input_sub", "input"),
    ("spike_range", "spike"),
    ("spike_list", "spike"),
    ("events_list", "spike"),
    ("events_range", "spike"),
    ("g_sub", "g"),
    ("gp_sub", "gp"),
    ("src_sub", "src"),
];

#[test]
fn subsets_are_rows_and_columns_of_the_full_monitor() {
    let test = "subsets_are_rows_and_columns_of_the_full_monitor";
    for kind in engines(test) {
        // (the update mode changes what is recorded, not how: dense unbatched, event batched)
        for (batch, mode) in [(1, UpdateMode::Dense), (3, UpdateMode::Event)] {
            let net = network(batch);
            let r = run(kind, &net, mode, 64);
            let l = &r.layout;
            let ctx = format!("{kind} {mode} batch {batch}");
            assert!(lif_spike_counts(&r)[0].1 > 0, "{ctx}: post never spiked");
            for (sub, full) in PAIRS {
                let (ks, kf) = (monitor_index(l, sub), monitor_index(l, full));
                let (ms, mf) = (&l.monitors[ks], &l.monitors[kf]);
                assert_eq!(l.shape(ks)[0], STEPS.div_ceil(ms.every), "{ctx}: {sub} rows");
                let n = mf.neurons.len();
                let want = match &r.data[kf] {
                    MonitorData::F32(v) => MonitorData::F32(subset(v, n, batch, ms.every, &ms.neurons)),
                    MonitorData::Spike(v) => MonitorData::Spike(subset(v, n, batch, ms.every, &ms.neurons)),
                };
                assert!(r.data[ks] == want, "{ctx}: {sub} is not its rows and columns of {full}");
            }
            // the subsets of spikes actually hold spikes
            assert!(spikes(&r.data[monitor_index(l, "spike_list")]).iter().any(|&s| s != 0), "{ctx}: spike_list holds no spike");
        }
    }
}

#[test]
fn subset_event_files_list_the_spikes_of_their_neurons_and_steps() {
    let test = "subset_event_files_list_the_spikes_of_their_neurons_and_steps";
    let dir = scratch_dir("subsets");
    for kind in engines(test) {
        for batch in [1, 3] {
            let net = network(batch);
            let path = dir.join(format!("net{batch}.json"));
            // a network file with the subsets, as the parser read it
            std::fs::write(&path, network_text(batch)).unwrap();
            let out = dir.join(format!("out_{kind}_{batch}"));
            let lib = run(kind, &net, UpdateMode::Dense, 1000);
            let files = run_cli_read(&path, kind.backend(), &out, &lib.layout);
            let ctx = format!("{kind} batch {batch}");
            // every file (dense and events) holds what the library computes
            assert_bit_identical(&lib.layout, &files, &lib.data, &format!("{ctx}: files against the library run"));
            // and an event file lists (step, [row,] neuron) of exactly those neurons and steps
            let (_, dense) = read_npy(&out.join("spike.npy"));
            let Npy::U8(dense) = dense else { panic!("spikes are not u8") };
            let (eshape, events) = read_npy(&out.join("events_list.npy"));
            let Npy::I32(events) = events else { panic!("spike events are not int32") };
            let cols = if batch > 1 { 3 } else { 2 };
            assert_eq!(eshape, vec![events.len() / cols, cols], "{ctx}: events shape");
            let mut want = Vec::new();
            for s in (0..STEPS).step_by(2) {
                for b in 0..batch {
                    for j in [5, 1, 3] {
                        if dense[(s * batch + b) * 10 + j] != 0 {
                            want.extend(if batch > 1 { vec![s as i32, b as i32, j as i32] } else { vec![s as i32, j as i32] });
                        }
                    }
                }
            }
            assert!(!want.is_empty(), "{ctx}: neurons 5, 1, 3 never spiked at even steps");
            assert_eq!(events, want, "{ctx}: events_list.npy");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
