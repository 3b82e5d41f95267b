//! Checkpoint and restore at the library level: run k steps (`run_steps`), `checkpoint()`,
//! build a fresh engine, `restore()`, run the rest; the monitors and spike counts are
//! byte-identical to an uninterrupted run, on every engine, in both update modes, batched and
//! not, for a network with AMPA/GABAa and post-aligned Expon/DualExponV2 projections, delays,
//! LIF→LIF projections and a monitor recording every third step. A checkpoint goes through its
//! file format on the way. It is refused by another network, another update mode and the other
//! engine kind.

mod common;

use common::engines::open;
use common::*;
use spikegpu::model::file;
use spikegpu::runtime::{Checkpoint, Chunk};
use spikegpu::{Engine, Error, Network};

const STEPS: usize = 600;
const CHUNK: usize = 50;

fn network(batch: usize, tau_e: f64) -> Network {
    let text = serde_json::json!({
        "dt": 0.1, "steps": STEPS, "batch": batch,
        "populations": [
            {"name": "src", "model": "poisson", "size": 30, "rate_hz": 120, "seed": 9, "per_row": true},
            {"name": "E", "model": "lif_ref", "size": 41, "V_rest": -60, "V_th": -50, "V_reset": -60,
             "tau": tau_e, "tau_ref": 2, "R": 1, "V_init": -58},
            {"name": "I", "model": "lif", "size": 13, "V_rest": -60, "V_th": -50, "V_reset": -61,
             "tau": 12, "R": 1, "V_init": -59, "I_ext": 3.0}
        ],
        "projections": [
            {"name": "se", "pre": "src", "post": "E", "synapse": {"model": "ampa"}, "delay": 0.5,
             "connectivity": {"kind": "fixed_prob", "prob": 0.3, "seed": 1}, "weight": 0.6, "output": {"model": "coba", "E": 0}},
            {"name": "si", "pre": "src", "post": "I", "synapse": {"model": "expon", "tau": 5}, "align": "post", "delay": 0.3,
             "connectivity": {"kind": "fixed_prob", "prob": 0.3, "seed": 2}, "weight": 0.3, "output": {"model": "coba", "E": 0}},
            {"name": "ee", "pre": "E", "post": "E", "synapse": {"model": "ampa"}, "delay": 1.0,
             "connectivity": {"kind": "fixed_prob", "prob": 0.1, "seed": 3}, "weight": 0.2, "output": {"model": "coba", "E": 0}},
            {"name": "ei", "pre": "E", "post": "I", "synapse": {"model": "expon", "tau": 5}, "align": "post", "delay": 0.2,
             "connectivity": {"kind": "fixed_prob", "prob": 0.2, "seed": 4}, "weight": 0.2, "output": {"model": "coba", "E": 0}},
            {"name": "ie", "pre": "I", "post": "E", "synapse": {"model": "gabaa"},
             "connectivity": {"kind": "fixed_prob", "prob": 0.3, "seed": 5}, "weight": 0.3, "output": {"model": "coba", "E": -80}},
            {"name": "ie2", "pre": "I", "post": "E", "synapse": {"model": "dual_expon_v2"}, "align": "post", "delay": 0.4,
             "connectivity": {"kind": "fixed_prob", "prob": 0.3, "seed": 6}, "weight": 0.1, "output": {"model": "coba", "E": -80}}
        ],
        "monitors": {
            "E.V": "E.V", "E.spike": "E.spike", "I.V": "I.V", "I.spike": "I.spike", "src.spike": "src.spike",
            "se.g": "se.g", "si.g": "si.g", "ee.g": "ee.g", "ie2.g_rise": "ie2.g_rise", "E.input": "E.input",
            "E.current": "E.current", "ei.current": "ei.current",
            "E.V_every3": {"target": "E.V", "neurons": "5:30", "every": 3},
            "I.events": "I.spike_events"
        }
    });
    file::parse(&text.to_string()).unwrap()
}

/// Runs `steps` more steps of `engine`, appending each chunk's monitors to `all`.
fn run_into(engine: &mut dyn Engine, steps: usize, all: &mut [MonitorData]) {
    engine
        .run_steps(steps, CHUNK, &mut |c: &Chunk| {
            for (a, b) in all.iter_mut().zip(&c.data) {
                a.extend(b);
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("run_steps: {e}"));
}

#[test]
fn a_restored_run_equals_an_uninterrupted_one() {
    let test = "a_restored_run_equals_an_uninterrupted_one";
    let dir = scratch_dir("checkpoint");
    for kind in engines(test) {
        for batch in [1, 3] {
            let net = network(batch, 20.0);
            for mode in MODES {
                let whole = run(kind, &net, mode, CHUNK);
                let counts = lif_spike_counts(&whole);
                assert!(counts.iter().all(|c| c.1 > 0), "{kind} {mode} batch {batch}: a population never spiked: {counts:?}");
                // 137 is no chunk boundary and no multiple of the monitor's 3
                for k in [137, 300] {
                    let ctx = format!("{kind} {mode} batch {batch}, checkpoint after {k} steps");
                    let mut first = open(kind, &net, mode);
                    let mut all = Chunk::new(&first.plan().monitors, 0, 0).data;
                    run_into(first.as_mut(), k, &mut all);
                    assert_eq!(first.steps_done(), k, "{ctx}");
                    let c = first.checkpoint().unwrap_or_else(|e| panic!("{ctx}: checkpoint: {e}"));
                    assert_eq!(c.step, k, "{ctx}");
                    drop(first);
                    // through the file format
                    let path = dir.join(format!("{kind}-{mode}-{batch}-{k}.ckpt"));
                    c.write_atomic(&path).unwrap_or_else(|e| panic!("{ctx}: write: {e}"));
                    let c2 = Checkpoint::read(&path).unwrap_or_else(|e| panic!("{ctx}: read: {e}"));
                    assert!(c2 == c, "{ctx}: the checkpoint file does not hold the checkpoint");
                    let mut second = open(kind, &net, mode);
                    second.restore(&c2).unwrap_or_else(|e| panic!("{ctx}: restore: {e}"));
                    assert_eq!(second.steps_done(), k, "{ctx}");
                    run_into(second.as_mut(), usize::MAX, &mut all);
                    assert_eq!(second.steps_done(), STEPS, "{ctx}");
                    assert_bit_identical(&whole.layout, &all, &whole.data, &format!("{ctx}: resumed against uninterrupted"));
                    assert_eq!(second.stats().spike_counts, whole.stats.spike_counts, "{ctx}: spike counts");
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn refused(r: spikegpu::Result<()>, ctx: &str) -> String {
    match r {
        Err(e @ Error::Checkpoint(_)) => e.to_string(),
        Err(e) => panic!("{ctx}: refused, but not as a checkpoint error: {e:?}"),
        Ok(()) => panic!("{ctx}: accepted"),
    }
}

#[test]
fn a_checkpoint_is_refused_by_another_plan_or_engine() {
    let test = "a_checkpoint_is_refused_by_another_plan_or_engine";
    let kinds = engines(test);
    let net = network(1, 20.0);
    let other = network(1, 25.0);
    for &kind in &kinds {
        let mut e = open(kind, &net, UpdateMode::Dense);
        let mut all = Chunk::new(&e.plan().monitors, 0, 0).data;
        run_into(e.as_mut(), 100, &mut all);
        let c = e.checkpoint().unwrap();
        let msg = refused(open(kind, &other, UpdateMode::Dense).restore(&c), &format!("{kind}: another network"));
        println!("{kind}, another network: {msg}");
        let msg = refused(open(kind, &net, UpdateMode::Event).restore(&c), &format!("{kind}: another mode"));
        println!("{kind}, another mode: {msg}");
        for &k in kinds.iter().filter(|&&k| k != kind) {
            let msg = refused(open(k, &net, UpdateMode::Dense).restore(&c), &format!("{kind} checkpoint into the {k} engine"));
            println!("{kind} checkpoint into {k}: {msg}");
            assert!(msg.contains(kind.backend()), "{kind} checkpoint into {k}: the message does not say which engine made it: {msg}");
        }
        // and a damaged file is refused
        let mut bytes = c.to_bytes();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x55;
        assert!(matches!(Checkpoint::from_bytes(&bytes), Err(Error::Checkpoint(_))), "{kind}: a damaged checkpoint was read");
    }
}
