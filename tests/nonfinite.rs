//! Non-finite state: a network whose input current overflows (one synapse of weight 3e38) stops
//! with `Error::NonFinite` naming the population, the step and the neuron, the same on every
//! engine; with `NonFinitePolicy::Record` it runs to the end and reports it in
//! `stats().nonfinite`.

mod common;

use common::engines::open;
use common::*;
use spikegpu::model::file;
use spikegpu::runtime::{run_collect, NonFinitePolicy};
use spikegpu::{Error, Network};

/// Source neuron 2 fires at 5 ms and reaches post neuron 4 through a synapse of weight 3e38:
/// the conductance stays finite (3e38 times a gating value below 1), its current `g (E - V)`
/// does not.
fn network(batch: usize) -> Network {
    let text = serde_json::json!({
        "dt": 0.1, "steps": 200, "batch": batch,
        "populations": [
            {"name": "pre", "model": "spike_times", "size": 5, "indices": [0, 1, 2, 3, 4], "times": [1.0, 2.0, 5.0, 7.0, 9.0]},
            {"name": "post", "model": "lif_ref", "size": 7, "V_rest": -60, "V_th": -50, "V_reset": -60,
             "tau": 20, "tau_ref": 5, "R": 1, "V_init": -60}
        ],
        "projections": [
            {"name": "syn", "pre": "pre", "post": "post", "synapse": {"model": "ampa"},
             "connectivity": {"kind": "csr", "indptr": [0, 1, 2, 4, 5, 6], "indices": [0, 1, 4, 2, 3, 5]},
             "weight": [0.5, 0.5, 3e38, 0.5, 0.5, 0.5], "output": {"model": "coba", "E": 0.0}}
        ],
        "monitors": {"V": "post.V", "spike": "post.spike", "g": "syn.g"}
    });
    file::parse(&text.to_string()).unwrap()
}

#[test]
fn an_overflowing_current_stops_the_run_naming_where() {
    let test = "an_overflowing_current_stops_the_run_naming_where";
    for batch in [1, 3] {
        let net = network(batch);
        let mut found = Vec::new();
        for kind in engines(test) {
            let mut e = open(kind, &net, UpdateMode::Dense);
            let err = match run_collect(e.as_mut(), 64) {
                Ok(_) => panic!("{kind} batch {batch}: an infinite current ran to the end"),
                Err(e) => e,
            };
            let msg = err.to_string();
            println!("{kind} batch {batch}: {msg}");
            let Error::NonFinite { ref what, step, neuron, batch_row, value } = err else { panic!("{kind} batch {batch}: expected Error::NonFinite, got {err:?}") };
            assert!(what.contains("\"post\""), "{kind} batch {batch}: the error does not name the population: {msg}");
            assert_eq!(neuron, 4, "{kind} batch {batch}: {msg}");
            assert!(!value.is_finite(), "{kind} batch {batch}: {msg}");
            // the spike at 5 ms (step 50) reaches post in the same step
            assert!((50..60).contains(&step), "{kind} batch {batch}: at step {step}: {msg}");
            assert!(msg.contains(&format!("step {step}")) && msg.contains("neuron 4"), "{kind} batch {batch}: {msg}");
            match batch_row {
                None => assert_eq!(batch, 1, "{kind}: {msg}"),
                Some(b) => assert!(batch > 1 && b < batch, "{kind} batch {batch}: {msg}"),
            }
            found.push((kind, what.clone(), step, neuron, batch_row));
        }
        // the same step and neuron on every engine (the batch row of a batched run: every row
        // overflows in the same step, and the GPU's record is the first thread's to get there)
        for f in &found[1..] {
            assert_eq!((&f.1, f.2, f.3), (&found[0].1, found[0].2, found[0].3), "batch {batch}: {:?} against {:?}", f.0, found[0].0);
            if batch == 1 {
                assert_eq!(f.4, found[0].4);
            }
        }
    }
}

#[test]
fn recorded_nonfinite_values_let_the_run_finish() {
    let test = "recorded_nonfinite_values_let_the_run_finish";
    let net = network(1);
    let mut reports = Vec::new();
    for kind in engines(test) {
        let mut e = open(kind, &net, UpdateMode::Dense);
        e.set_nonfinite(NonFinitePolicy::Record);
        let (data, stats) = run_collect(e.as_mut(), 64).unwrap_or_else(|err| panic!("{kind}: with Record the run stopped: {err}"));
        assert_eq!(data[0].len(), net.steps * 7, "{kind}: the run did not reach its end");
        assert_eq!(e.steps_done(), net.steps, "{kind}");
        println!("{kind}: {:?}", stats.nonfinite);
        assert_eq!(stats.nonfinite.len(), 1, "{kind}: one population diverged: {:?}", stats.nonfinite);
        let r = &stats.nonfinite[0];
        assert!(r.contains("\"post\"") && r.contains("neuron 4"), "{kind}: {r}");
        reports.push(r.clone());
        // a network that does not diverge records nothing
        let mut fine = network(1);
        fine.projections[0].weights = spikegpu::model::Weights::Shared(0.5);
        let mut e = open(kind, &fine, UpdateMode::Dense);
        e.set_nonfinite(NonFinitePolicy::Record);
        let (_, stats) = run_collect(e.as_mut(), 64).unwrap();
        assert!(stats.nonfinite.is_empty(), "{kind}: {:?}", stats.nonfinite);
    }
    // the same report on every engine
    assert!(reports.windows(2).all(|w| w[0] == w[1]), "{reports:?}");
}
