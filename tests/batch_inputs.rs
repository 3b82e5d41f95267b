//! Per-row inputs in a batch: spike-time events with a batch row each, and Poisson sources that
//! draw per row. Each batch row must equal a batch-1 run of that row's own input, on the CPU
//! engine and on the GPU engine.

mod common;

use common::*;
use spikegpu::cpu::CpuEngine;
use spikegpu::gpu::context::gpu_required;
use spikegpu::gpu::{GpuContext, GpuEngine, GpuOptions};
use spikegpu::model::file;
use spikegpu::sim::{run_collect, Backend, MonitorData};

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

/// The monitors of batch row `b` (of `batch`), as a batch-1 run would record them.
fn row_of(data: &[MonitorData], batch: usize, b: usize) -> Vec<MonitorData> {
    data.iter()
        .map(|d| {
            let pick = |len: usize| {
                let w = len / 600 / batch;
                (0..600).flat_map(move |s| (s * batch + b) * w..(s * batch + b + 1) * w)
            };
            match d {
                MonitorData::F32(v) => MonitorData::F32(pick(v.len()).map(|k| v[k]).collect()),
                MonitorData::Spike(v) => MonitorData::Spike(pick(v.len()).map(|k| v[k]).collect()),
            }
        })
        .collect()
}

fn engines(net: &spikegpu::Network) -> Vec<(String, Box<dyn Backend>)> {
    let mut out: Vec<(String, Box<dyn Backend>)> = vec![("cpu".into(), Box::new(CpuEngine::new(net).unwrap()))];
    match GpuContext::new() {
        Ok(ctx) => out.push(("gpu".into(), Box::new(GpuEngine::with_context(ctx, net, GpuOptions::default()).unwrap()))),
        Err(e) if gpu_required() => panic!("a GPU is required (CI or SPIKEGPU_REQUIRE_GPU=1) but: {e}"),
        Err(e) => println!("no GPU adapter, GPU part not run ({e})"),
    }
    out
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
    for (name, mut eng) in engines(&net) {
        let (data, _) = run_collect(eng.as_mut(), &net, 100).unwrap();
        for (b, one) in single.iter().enumerate() {
            let want = run_cpu(one, 100);
            assert_bit_identical(one, &row_of(&data, 2, b), &want, &format!("{name}: batch row {b} against its own batch-1 run"));
        }
    }
}

#[test]
fn poisson_per_row_gives_each_row_its_own_draw() {
    let per_row = r#"{"name": "src", "model": "poisson", "size": 20, "rate_hz": 200, "seed": 11, "per_row": true}"#;
    let net = file::parse(&net_json(3, per_row)).unwrap();
    for (name, mut eng) in engines(&net) {
        let (data, _) = run_collect(eng.as_mut(), &net, 100).unwrap();
        let rows: Vec<_> = (0..3).map(|b| row_of(&data, 3, b)).collect();
        assert_ne!(rows[0][2], rows[1][2], "{name}: rows 0 and 1 got the same source spikes");
        for (b, row) in rows.iter().enumerate() {
            let one = format!(r#"{{"name": "src", "model": "poisson", "size": 20, "rate_hz": 200, "seed": {}}}"#, 11 + b);
            let single = file::parse(&net_json(1, &one)).unwrap();
            let want = run_cpu(&single, 100);
            assert_bit_identical(&single, row, &want, &format!("{name}: batch row {b} against a batch-1 run with seed {}", 11 + b));
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
