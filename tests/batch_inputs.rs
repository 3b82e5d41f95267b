//! Per-row inputs in a batch: spike-time events with a batch row each, and Poisson sources that
//! draw per row. Each batch row must equal a batch-1 run of that row's own input, on the CPU
//! engine and on the GPU engine.

mod common;

use common::*;
use spikegpu::model::file;

fn net_json(batch: usize, source: &str) -> String {
    format!(
        r#"{{"dt": 0.1, "steps": 600, "batch": {batch},
        "populations": [{source},
            {{"name": "post", "model": "lif_ref", "size": 7, "V_rest": -60, "V_th": -50, "V_reset": -60,
              "tau": 20, "tau_ref": 5, "R": 1, "V_init": -60}}],
        "projections": [{{"name": "syn", "pre": "src", "post": "post", "synapse": {{"model": "ampa"}}, "delay": 0.3,
            "connectivity": {{"kind": "fixed_prob", "prob": 0.5, "seed": 3}}, "weight": 0.4,
            "output": {{"model": "coba", "E": 0.0}}}}],
        "monitors": {{"V": "post.V", "spike": "post.spike", "src": "src.spike", "g": "syn.g"}}}}"#
    )
}

#[test]
fn spike_times_with_rows_drive_only_their_row() {
    let src = r#"{"name": "src", "model": "spike_times", "size": 5, "indices": [0, 1, 2, 3, 4, 0, 2],
        "times": [5, 6, 7, 8, 9, 30, 31], "rows": [1, 1, 1, 1, 1, 1, 0]}"#;
    let net = file::parse(&net_json(2, src)).unwrap();
    let only_row1 = r#"{"name": "src", "model": "spike_times", "size": 5, "indices": [0, 1, 2, 3, 4, 0],
        "times": [5, 6, 7, 8, 9, 30]}"#;
    let only_row0 = r#"{"name": "src", "model": "spike_times", "size": 5, "indices": [2], "times": [31]}"#;
    let single = [file::parse(&net_json(1, only_row0)).unwrap(), file::parse(&net_json(1, only_row1)).unwrap()];
    for name in engines("spike_times_with_rows_drive_only_their_row") {
        let got = run(name, &net, UpdateMode::Dense, 100);
        for (b, one) in single.iter().enumerate() {
            let want = run_cpu(one, 100);
            let row = batch_row(&got.layout, &got.data, b);
            assert_bit_identical(&want.layout, &row, &want.data, &format!("{name}: batch row {b} against its own batch-1 run"));
        }
    }
}

#[test]
fn poisson_per_row_gives_each_row_its_own_draw() {
    let per_row = r#"{"name": "src", "model": "poisson", "size": 20, "rate_hz": 200, "seed": 11, "per_row": true}"#;
    let net = file::parse(&net_json(3, per_row)).unwrap();
    for name in engines("poisson_per_row_gives_each_row_its_own_draw") {
        let got = run(name, &net, UpdateMode::Dense, 100);
        let rows: Vec<_> = (0..3).map(|b| batch_row(&got.layout, &got.data, b)).collect();
        assert_ne!(rows[0][2], rows[1][2], "{name}: rows 0 and 1 got the same source spikes");
        for (b, row) in rows.into_iter().enumerate() {
            let one = format!(r#"{{"name": "src", "model": "poisson", "size": 20, "rate_hz": 200, "seed": {}}}"#, 11 + b);
            let single = file::parse(&net_json(1, &one)).unwrap();
            let want = run_cpu(&single, 100);
            assert_bit_identical(&want.layout, &row, &want.data, &format!("{name}: batch row {b} against a batch-1 run with seed {}", 11 + b));
        }
    }
}

#[test]
fn bad_rows_name_the_field() {
    let src = r#"{"name": "src", "model": "spike_times", "size": 5, "indices": [0, 1], "times": [5, 6], "rows": [1]}"#;
    let e = file::parse(&net_json(2, src)).unwrap_err().to_string();
    assert!(e.starts_with("populations[0].rows: has 1 entries but indices has 2"), "{e}");
    let src = r#"{"name": "src", "model": "spike_times", "size": 5, "indices": [0, 1], "times": [5, 6], "rows": [0, 2]}"#;
    let e = file::parse(&net_json(2, src)).unwrap_err().to_string();
    assert!(e.starts_with("populations[0].rows[1]: 2 is out of range for batch 2"), "{e}");
}
