//! One test per category of bad network file: each is rejected with a message that names the
//! field by its exact JSON path and says what is wrong. A few go through the command line too:
//! exit status 2, one line on stderr, and no output (nor temporary) folder left behind.

mod common;

use common::*;
use serde_json::{json, Value};
use spikegpu::model::file;
use std::time::{Duration, Instant};

fn base() -> Value {
    json!({"dt": 0.1, "steps": 100, "batch": 1,
        "populations": [
            {"name": "pre", "model": "spike_times", "size": 3, "indices": [0, 1, 2], "times": [1.0, 2.0, 3.0]},
            {"name": "post", "model": "lif_ref", "size": 4, "V_rest": -60, "V_th": -50, "V_reset": -60, "tau": 20,
             "tau_ref": 5, "R": 1, "V_init": -60}],
        "projections": [
            {"name": "syn", "pre": "pre", "post": "post",
             "synapse": {"model": "ampa", "alpha": 0.98, "beta": 0.18, "T": 0.5, "T_dur": 0.5},
             "delay": null, "connectivity": {"kind": "csr", "indptr": [0, 2, 3, 5], "indices": [0, 1, 2, 3, 0]},
             "weight": 1.0, "output": {"model": "coba", "E": 0.0}}],
        "monitors": {"V": "post.V", "g": "syn.g", "spike": "post.spike"}})
}

/// The error message of parsing `text`; panics when it parses.
fn err_text(text: &str) -> String {
    match file::parse(text) {
        Ok(_) => panic!("accepted a bad network:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// Asserts that `v` is rejected with `<path>: ...<problem>...`.
fn rejects(v: &Value, path: &str, problem: &str) {
    let e = err_text(&v.to_string());
    println!("{e}");
    assert!(e.starts_with(&format!("{path}: ")), "message does not start with the path {path:?}: {e}");
    assert!(e.contains(problem), "message does not say {problem:?}: {e}");
    assert_eq!(e.lines().count(), 1, "message is not one line: {e}");
}

/// `base()` edited by `f`.
fn with(f: impl FnOnce(&mut Value)) -> Value {
    let mut v = base();
    f(&mut v);
    v
}

#[test]
fn the_base_network_is_valid() {
    file::parse(&base().to_string()).expect("the base network of these tests must be valid");
}

#[test]
fn invalid_json() {
    let e = err_text(r#"{"dt": 0.1,, "steps": 100}"#);
    println!("{e}");
    assert!(e.starts_with("line 1 column 12: "), "{e}");
    assert!(e.contains("invalid JSON"), "{e}");
}

#[test]
fn truncated_file() {
    let text = serde_json::to_string_pretty(&base()).unwrap();
    let e = err_text(&text[..text.len() / 2]);
    println!("{e}");
    assert!(e.starts_with("line "), "{e}");
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn unknown_neuron_model() {
    rejects(&with(|v| v["populations"][1]["model"] = json!("izhikevich")), "populations[1].model", "unknown neuron model \"izhikevich\"");
}

#[test]
fn unknown_synapse_model() {
    // (nmda, dual_expon, ... are known models now)
    rejects(&with(|v| v["projections"][0]["synapse"]["model"] = json!("stdp")), "projections[0].synapse.model", "unknown synapse model \"stdp\"");
}

#[test]
fn unknown_connectivity_kind() {
    rejects(&with(|v| v["projections"][0]["connectivity"]["kind"] = json!("dense")), "projections[0].connectivity.kind", "unknown connectivity kind \"dense\"");
}

#[test]
fn unknown_output_model() {
    // (cuba and mg_block are known outputs now)
    rejects(&with(|v| v["projections"][0]["output"]["model"] = json!("linear")), "projections[0].output.model", "unknown output model \"linear\"");
}

#[test]
fn missing_field() {
    rejects(&with(|v| drop(v.as_object_mut().unwrap().remove("dt"))), "dt", "is missing");
    rejects(&with(|v| drop(v["populations"][0].as_object_mut().unwrap().remove("size"))), "populations[0].size", "is missing");
    rejects(
        &with(|v| drop(v["projections"][0]["connectivity"].as_object_mut().unwrap().remove("indptr"))),
        "projections[0].connectivity.indptr",
        "is missing",
    );
    rejects(&with(|v| drop(v["projections"][0].as_object_mut().unwrap().remove("weight"))), "projections[0].weight", "is missing");
    rejects(&with(|v| drop(v["projections"][0]["output"].as_object_mut().unwrap().remove("E"))), "projections[0].output.E", "is missing");
}

#[test]
fn wrongly_typed_field() {
    rejects(&with(|v| v["steps"] = json!("100")), "steps", "whole number");
    rejects(&with(|v| v["steps"] = json!(10.5)), "steps", "whole number");
    rejects(&with(|v| v["populations"][1]["tau"] = json!("20")), "populations[1].tau", "must be a number");
    rejects(&with(|v| v["populations"] = json!({"pre": 1})), "populations", "must be a list");
    rejects(&with(|v| v["projections"][0]["weight"] = json!("1.0")), "projections[0].weight", "must be a number, a list of numbers");
    rejects(&with(|v| v["projections"][0]["weight"] = json!([1.0, "x", 1.0, 1.0, 1.0])), "projections[0].weight[1]", "is not a number");
    rejects(&with(|v| v["projections"][0]["connectivity"]["indices"][2] = json!(1.5)), "projections[0].connectivity.indices[2]", "not a non-negative integer");
    rejects(&with(|v| v["projections"][0]["connectivity"]["indices"][2] = json!(-1)), "projections[0].connectivity.indices[2]", "not a non-negative integer");
    rejects(&with(|v| v["monitors"]["V"] = json!(3)), "monitors.V", "must be a string");
    rejects(&with(|v| v["projections"][0]["synapse"] = json!("ampa")), "projections[0].synapse", "must be a JSON object");
}

#[test]
fn duplicate_population_name() {
    let v = with(|v| {
        let extra = json!({"name": "post", "model": "spike_times", "size": 1, "indices": [], "times": []});
        v["populations"].as_array_mut().unwrap().push(extra);
    });
    rejects(&v, "populations[2].name", "duplicate name \"post\"");
}

#[test]
fn duplicate_projection_name() {
    let v = with(|v| {
        let p = v["projections"][0].clone();
        v["projections"].as_array_mut().unwrap().push(p);
    });
    rejects(&v, "projections[1].name", "duplicate name \"syn\"");
}

#[test]
fn projection_named_like_a_population() {
    let v = with(|v| {
        v["projections"][0]["name"] = json!("post");
        v["monitors"] = json!({});
    });
    rejects(&v, "projections[0].name", "already the name of a population");
}

/// The same clash with a monitor on the population: the error should still name the clash
/// (`projections[0].name`), not blame the monitor, whose target is ambiguous only because of it.
#[test]
fn projection_named_like_a_population_with_a_monitor() {
    rejects(&with(|v| v["projections"][0]["name"] = json!("post")), "projections[0].name", "already the name of a population");
}

#[test]
fn unknown_population_in_pre_or_post() {
    rejects(&with(|v| v["projections"][0]["pre"] = json!("nope")), "projections[0].pre", "unknown population \"nope\"");
    rejects(&with(|v| v["projections"][0]["post"] = json!("nope")), "projections[0].post", "unknown population \"nope\"");
}

#[test]
fn unknown_projection_or_population_in_a_monitor() {
    rejects(&with(|v| v["monitors"]["V"] = json!("nope.V")), "monitors.V", "unknown population or projection \"nope\"");
    rejects(&with(|v| v["monitors"]["g"] = json!("nosyn.g")), "monitors.g", "unknown population or projection \"nosyn\"");
    rejects(&with(|v| v["monitors"]["V"] = json!("postV")), "monitors.V", "not of the form");
}

#[test]
fn unknown_monitor_variable() {
    rejects(&with(|v| v["monitors"]["V"] = json!("post.W")), "monitors.V", "unknown variable \"W\" of population \"post\"");
    rejects(&with(|v| v["monitors"]["g"] = json!("syn.h")), "monitors.g", "unknown variable \"h\" of projection \"syn\"");
    rejects(&with(|v| v["monitors"]["V"] = json!("pre.V")), "monitors.V", "unknown variable \"V\" of spike source \"pre\"");
}

#[test]
fn monitor_name_that_is_not_a_file_name() {
    let v = with(|v| {
        v["monitors"].as_object_mut().unwrap().insert("../evil".into(), json!("post.V"));
    });
    rejects(&v, "monitors.../evil", "file name");
}

#[test]
fn projection_onto_a_spike_source() {
    let v = with(|v| {
        v["projections"][0]["post"] = json!("pre");
        v["projections"][0]["connectivity"]["indices"] = json!([0, 1, 2, 2, 0]);
    });
    rejects(&v, "projections[0].post", "\"pre\" is a spike source");
}

#[test]
fn size_zero() {
    rejects(&with(|v| v["populations"][0]["size"] = json!(0)), "populations[0].size", "must be at least 1, got 0");
}

#[test]
fn negative_size() {
    rejects(&with(|v| v["populations"][1]["size"] = json!(-3)), "populations[1].size", "must be at least 1, got -3");
}

#[test]
fn batch_zero() {
    rejects(&with(|v| v["batch"] = json!(0)), "batch", "must be at least 1, got 0");
}

#[test]
fn dt_zero() {
    rejects(&with(|v| v["dt"] = json!(0.0)), "dt", "must be a finite number > 0");
}

#[test]
fn dt_negative() {
    rejects(&with(|v| v["dt"] = json!(-0.1)), "dt", "must be a finite number > 0");
}

#[test]
fn dt_underflowing_f32() {
    // > 0 in f64 but 0 as the f32 every kernel uses
    rejects(&with(|v| v["dt"] = json!(1e-50)), "dt", "must be a finite number > 0");
}

#[test]
fn steps_zero() {
    rejects(&with(|v| v["steps"] = json!(0)), "steps", "must be at least 1, got 0");
}

#[test]
fn steps_huge() {
    rejects(&with(|v| v["steps"] = json!(1_000_000_000_000u64)), "steps", "1000000000000 is too large");
    rejects(&with(|v| v["steps"] = json!(1e12)), "steps", "whole number");
}

#[test]
fn negative_delay() {
    rejects(&with(|v| v["projections"][0]["delay"] = json!(-1.0)), "projections[0].delay", "must be a finite number >= 0");
}

#[test]
fn delay_of_too_many_steps() {
    rejects(&with(|v| v["projections"][0]["delay"] = json!(1e9)), "projections[0].delay", "at most 1e7 steps");
}

/// JSON has no NaN or infinity; serde_json rejects an overflowing literal such as 1e999 ("number
/// out of range") instead of reading it as inf, so it is an invalid-JSON error with a position.
#[test]
fn infinite_parameter_literal() {
    let text = base().to_string().replace("\"tau\":20", "\"tau\":1e999");
    assert!(text.contains("1e999"), "test setup: {text}");
    let e = err_text(&text);
    println!("{e}");
    assert!(e.starts_with("line 1 column "), "{e}");
    assert!(e.contains("out of range"), "{e}");
}

#[test]
fn tau_not_positive() {
    rejects(&with(|v| v["populations"][1]["tau"] = json!(0)), "populations[1].tau", "must be > 0, got 0");
    rejects(&with(|v| v["populations"][1]["tau"] = json!(-1)), "populations[1].tau", "must be > 0, got -1");
    rejects(&with(|v| v["projections"][0]["synapse"]["beta"] = json!(0)), "projections[0].synapse.beta", "must be > 0, got 0");
    rejects(&with(|v| v["populations"][1]["tau_ref"] = json!(-1)), "populations[1].tau_ref", "must be >= 0, got -1");
    rejects(&with(|v| v["projections"][0]["synapse"]["alpha"] = json!(-0.5)), "projections[0].synapse.alpha", "must be >= 0");
}

/// A parameter that is finite in the file but overflows f32 (1e39) becomes inf in the kernels.
#[test]
fn parameter_overflowing_f32() {
    rejects(&with(|v| v["populations"][1]["V_th"] = json!(1e39)), "populations[1].V_th", "not a finite number");
    rejects(&with(|v| v["projections"][0]["weight"] = json!(1e39)), "projections[0].weight", "not a finite number");
    rejects(&with(|v| v["populations"][0]["times"][1] = json!(1e39)), "populations[0].times[1]", "not a finite number");
}

#[test]
fn csr_indptr_wrong_length() {
    rejects(
        &with(|v| v["projections"][0]["connectivity"]["indptr"] = json!([0, 2, 5])),
        "projections[0].connectivity.indptr",
        "has 3 entries, expected 4",
    );
}

#[test]
fn csr_indptr_decreasing() {
    rejects(
        &with(|v| v["projections"][0]["connectivity"]["indptr"] = json!([0, 3, 2, 5])),
        "projections[0].connectivity.indptr[2]",
        "must not decrease",
    );
}

#[test]
fn csr_indptr_not_starting_at_zero() {
    rejects(&with(|v| v["projections"][0]["connectivity"]["indptr"] = json!([1, 2, 3, 5])), "projections[0].connectivity.indptr[0]", "must be 0");
}

#[test]
fn csr_indptr_not_ending_at_len_indices() {
    rejects(
        &with(|v| v["projections"][0]["connectivity"]["indptr"] = json!([0, 2, 3, 4])),
        "projections[0].connectivity.indptr[3]",
        "ends at 4, but indices has 5 entries",
    );
}

#[test]
fn csr_indices_out_of_range() {
    let v = with(|v| {
        v["populations"][1]["size"] = json!(40);
        v["projections"][0]["connectivity"] = json!({"kind": "csr", "indptr": [0, 2, 3, 6], "indices": [0, 1, 2, 3, 0, 40]});
    });
    let e = err_text(&v.to_string());
    assert_eq!(e, "projections[0].connectivity.indices[5]: 40 is out of range for population \"post\" (size 40)");
}

#[test]
fn weight_list_of_wrong_length() {
    rejects(&with(|v| v["projections"][0]["weight"] = json!([1.0, 2.0])), "projections[0].weight", "has 2 values, but the connectivity has 5 synapses");
}

#[test]
fn drawn_weights_with_bad_parameters() {
    let normal = |w: Value| with(|v| v["projections"][0]["weight"] = w);
    rejects(&normal(json!({"normal": [1.0, -0.5], "seed": 1})), "projections[0].weight.normal[1]", "standard deviation must be a finite number >= 0");
    rejects(&normal(json!({"normal": [0.0, 0.5], "seed": 1, "redraw_sign": true})), "projections[0].weight.redraw_sign", "needs a nonzero mean");
    rejects(&normal(json!({"normal": [1.0], "seed": 1})), "projections[0].weight.normal", "must be [mean, sd]");
    rejects(&normal(json!({"normal": [1.0, 0.1], "seed": 1, "redraw": true})), "projections[0].weight.redraw", "unknown field");
    rejects(&normal(json!({"normal": [1.0, 0.1], "seed": 1, "redraw_sign": 1})), "projections[0].weight.redraw_sign", "must be true or false");
    rejects(&normal(json!("heavy")), "projections[0].weight", "must be a number, a list of numbers");
}

#[test]
fn fixed_total_number_with_bad_parameters() {
    let conn = |c: Value| with(|v| v["projections"][0]["connectivity"] = c);
    rejects(&conn(json!({"kind": "fixed_total_number", "n": 5_000_000_000u64, "seed": 1})), "projections[0].connectivity.n", "more than a projection can index with 32 bits");
    rejects(&conn(json!({"kind": "fixed_total_number", "n": -3, "seed": 1})), "projections[0].connectivity.n", "must be a whole number >= 0");
    rejects(&conn(json!({"kind": "fixed_total_number", "seed": 1})), "projections[0].connectivity.n", "is missing");
    rejects(&conn(json!({"kind": "fixed_total_number", "n": 10, "seed": 1, "allow_multapses": false})), "projections[0].connectivity.allow_multapses", "unknown field");
}

#[test]
fn spike_indices_out_of_range() {
    rejects(
        &with(|v| v["populations"][0]["indices"] = json!([0, 7, 2])),
        "populations[0].indices[1]",
        "7 is out of range for population \"pre\" (size 3)",
    );
}

#[test]
fn spike_indices_and_times_of_different_lengths() {
    rejects(&with(|v| v["populations"][0]["times"] = json!([1.0, 2.0])), "populations[0].times", "has 2 entries but indices has 3");
}

#[test]
fn v_init_wrong_length() {
    rejects(&with(|v| v["populations"][1]["V_init"] = json!([-60, -60, -60])), "populations[1].V_init", "has 3 values, expected 4");
    let v = with(|v| {
        v["batch"] = json!(2);
        v["populations"][1]["V_init"] = json!([[-60, -60, -60, -60]]);
    });
    rejects(&v, "populations[1].V_init", "has 1 rows, expected 2");
    let v = with(|v| {
        v["batch"] = json!(2);
        v["populations"][1]["V_init"] = json!([[-60, -60, -60, -60], [-60, -60]]);
    });
    rejects(&v, "populations[1].V_init[1]", "has 2 values, expected 4");
    rejects(&with(|v| v["populations"][1]["V_init"] = json!("cold")), "populations[1].V_init", "must be a number");
}

#[test]
fn unknown_field() {
    rejects(&with(|v| v["populations"][1]["tau_rf"] = json!(5)), "populations[1].tau_rf", "unknown field");
    rejects(&with(|v| v["projections"][0]["synapse"]["Tdur"] = json!(0.5)), "projections[0].synapse.Tdur", "unknown field");
    rejects(&with(|v| v["stepz"] = json!(5)), "stepz", "unknown field");
}

// ---------------------------------------------------------------------------------------------
// Through the command line
// ---------------------------------------------------------------------------------------------

/// Runs `spikegpu run` on `text` in a fresh folder; checks exit status 2, exactly one stderr
/// line `error: <path>: <problem>`, and that nothing but the input file is left in the folder.
fn cli_rejects(text: &str, path: &str, problem: &str) {
    let dir = scratch_dir("bad-input");
    let input = dir.join("bad.json");
    std::fs::write(&input, text).unwrap();
    let out = dir.join("out");
    let o = cli().arg("run").arg(&input).args(["--backend", "cpu", "--out"]).arg(&out).arg("-q").output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    println!("{stderr}");
    assert_eq!(o.status.code(), Some(2), "exit status {:?}, stderr: {stderr}", o.status);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "stderr is not exactly one line: {stderr:?}");
    assert!(lines[0].starts_with(&format!("error: {path}: ")), "stderr does not name {path}: {stderr}");
    assert!(lines[0].contains(problem), "stderr does not say {problem:?}: {stderr}");
    assert!(!out.exists(), "an output folder was created for a rejected network");
    let left: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, vec!["bad.json".to_string()], "files left beside the output folder: {left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cli_rejects_csr_index_out_of_range() {
    let v = with(|v| {
        v["populations"][1]["size"] = json!(40);
        v["projections"][0]["connectivity"] = json!({"kind": "csr", "indptr": [0, 2, 3, 6], "indices": [0, 1, 2, 3, 0, 40]});
    });
    cli_rejects(&v.to_string(), "projections[0].connectivity.indices[5]", "40 is out of range for population \"post\" (size 40)");
}

#[test]
fn cli_rejects_invalid_json() {
    cli_rejects("{\"dt\": 0.1,, \"steps\": 100}", "line 1 column 12", "invalid JSON");
}

#[test]
fn cli_rejects_unknown_field() {
    cli_rejects(&with(|v| v["populations"][1]["tau_rf"] = json!(5)).to_string(), "populations[1].tau_rf", "unknown field");
}

#[test]
fn cli_rejects_huge_steps() {
    cli_rejects(&with(|v| v["steps"] = json!(1_000_000_000_000u64)).to_string(), "steps", "too large");
}

/// A spike time far beyond the run (finite, so valid) must be ignored, not hang or crash the
/// run. Run through the CLI with a time limit so a hang fails instead of blocking the suite.
#[test]
fn spike_time_far_beyond_the_run_is_ignored() {
    for t in [1e6, 1e12, 1e18, 1e30] {
        let v = with(|v| v["populations"][0]["times"][1] = json!(t));
        let dir = scratch_dir("far-spike");
        let input = dir.join("net.json");
        std::fs::write(&input, v.to_string()).unwrap();
        let mut child = cli()
            .arg("run")
            .arg(&input)
            .args(["--backend", "cpu", "--out"])
            .arg(dir.join("out"))
            .arg("-q")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if start.elapsed() > Duration::from_secs(20) {
                child.kill().unwrap();
                child.wait().unwrap();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = std::fs::remove_dir_all(&dir);
        let status = status.unwrap_or_else(|| panic!("spike time {t:e} ms: the run hung (killed after 20 s)"));
        assert!(status.success(), "spike time {t:e} ms: the run failed ({status})");
    }
}

#[test]
fn steps_too_large_for_the_spike_tables() {
    // 2e9 steps would need 8 GB of per-step event tables for one spike source
    let net = r#"{"dt": 0.1, "steps": 2000000000,
        "populations": [{"name": "pre", "model": "spike_times", "size": 1, "indices": [0], "times": [1.0]}]}"#;
    let e = spikegpu::model::file::parse(net).unwrap_err().to_string();
    assert!(e.starts_with("steps: ") && e.contains("per-step spike tables"), "{e}");
}

#[test]
fn poisson_input_errors_name_the_field() {
    let input = |f: &dyn Fn(&mut Value)| {
        with(|v| {
            let mut i = json!({"name": "bg", "target": "post.V", "num_input": 100, "freq": 8, "weight": 0.5});
            f(&mut i);
            v["poisson_inputs"] = json!([i]);
        })
    };
    rejects(&input(&|i| i["target"] = json!("pre.V")), "poisson_inputs[0].target", "of spike source \"pre\"");
    rejects(&input(&|i| i["target"] = json!("syn.g")), "poisson_inputs[0].target", "aligned pre");
    rejects(&input(&|i| i["target"] = json!("post.spike")), "poisson_inputs[0].target", "cannot take input");
    rejects(&input(&|i| i["target"] = json!("nobody.V")), "poisson_inputs[0].target", "nobody");
    rejects(&input(&|i| i["num_input"] = json!(0)), "poisson_inputs[0].num_input", "at least 1");
    rejects(&input(&|i| i["num_input"] = json!(-3)), "poisson_inputs[0].num_input", "whole number");
    rejects(&input(&|i| i["freq"] = json!(-1)), "poisson_inputs[0].freq", ">= 0");
    // 20 kHz at dt 0.1 ms: two spikes per step is not a probability
    rejects(&input(&|i| i["freq"] = json!(20000)), "poisson_inputs[0].freq", "outside [0, 1]");
    rejects(&input(&|i| i["num_input"] = json!(4_000_000_000u64)), "poisson_inputs[0].num_input", "sources per neuron");
    rejects(&input(&|i| i["law"] = json!("gauss")), "poisson_inputs[0].law", "\"binomial\" or \"poisson\"");
    rejects(&input(&|i| i["rate"] = json!(3)), "poisson_inputs[0].rate", "unknown field");
    rejects(
        &with(|v| {
            let i = json!({"name": "bg", "target": "post.V", "num_input": 10, "freq": 8, "weight": 0.5});
            v["poisson_inputs"] = json!([i.clone(), i]);
        }),
        "poisson_inputs[1].name",
        "duplicate",
    );
}
