//! Warnings (issue 10, item 7) on stderr and in summary.json, and `validate` in words (item 8):
//! the parameters with units, no Rust debug text.

mod cli_support;
use cli_support::*;

/// A network with every warning at once: dt in seconds, spike times before 0 and after the end,
/// a negative COBA weight, V_reset above V_th, a refractory period longer than the run, a delay
/// that acts as none, a monitor of more than 1 GB.
const WARNED: &str = r#"{"dt": 0.0001, "steps": 300000,
  "populations": [
    {"name": "early", "model": "spike_times", "size": 2, "indices": [0, 1], "times": [-1.0, 0.5]},
    {"name": "late", "model": "spike_times", "size": 1, "indices": [0], "times": [900.0]},
    {"name": "post", "model": "lif_ref", "size": 1000, "V_reset": 25, "tau_ref": 100}],
  "projections": [
    {"name": "inh", "pre": "early", "post": "post", "synapse": {"model": "gabaa"}, "delay": 0.0001,
     "connectivity": {"kind": "fixed_prob", "prob": 1, "seed": 1}, "weight": -0.5, "output": {"model": "coba", "E": 0}}],
  "monitors": {"V": "post.V"}}"#;

#[test]
fn each_warning_is_one_line_and_listed_in_the_summary() {
    let s = Scratch::new("warn");
    s.write("net.json", WARNED);
    let r = spikegpu(s.path(), &["validate", "net.json"]);
    r.expect(0, "validate");
    let warned: Vec<&str> = r.stderr.lines().filter(|l| l.starts_with("warning: ")).collect();
    let want = [
        "dt: 0.0001 ms is outside [0.001, 1] ms",
        "populations[0] (\"early\"): 1 spike time(s) before 0",
        "populations[1] (\"late\"): all 1 spike times are after the last step",
        "populations[2] (\"post\"): V_reset (25 mV) >= V_th (20 mV)",
        "populations[2] (\"post\"): tau_ref = 100 ms is longer than the run (30 ms)",
        "projections[0] (\"inh\"): a negative weight(s) (the smallest -0.5) with a conductance-based output",
        "projections[0] (\"inh\"): delay 0.0001 ms is shorter than BrainPy's ring buffer can express",
        "monitors.V: will write 1.2 GB",
    ];
    assert_eq!(warned.len(), want.len(), "{}", r.stderr);
    for (got, w) in warned.iter().zip(want) {
        assert!(got.starts_with(&format!("warning: {w}")), "wanted {w:?}, got {got:?}");
    }
    // a run prints the same lines and lists them in the summary (a short run: fewer steps drop
    // the monitor warning)
    s.write("net.json", &WARNED.replace("\"steps\": 300000", "\"steps\": 3000"));
    let r = spikegpu(s.path(), &["run", "net.json", "--out", "out", "--backend", "cpu", "-q"]);
    r.expect(0, "run");
    let warned: Vec<String> = r.stderr.lines().filter_map(|l| l.strip_prefix("warning: ")).map(String::from).collect();
    assert_eq!(warned.len(), want.len() - 1, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(s.join("out/summary.json")).unwrap()).unwrap();
    assert_eq!(v["warnings"], serde_json::json!(warned));
}

/// Every network of the repository, described in words: no `Some(`, no enum names, no
/// `1 neurons`; every parameter with its unit.
#[test]
fn validate_speaks_in_words_and_units() {
    let s = Scratch::new("words");
    let mut files = vec![root().join("examples/ampa_seed.json")];
    for d in ["tests/golden", "tests/golden/models", "benches/networks"] {
        files.extend(std::fs::read_dir(root().join(d)).unwrap().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "json")));
    }
    assert!(files.len() >= 10);
    for f in files {
        let r = spikegpu(s.path(), &["validate", f.to_str().unwrap()]);
        r.expect(0, &f.display().to_string());
        for bad in ["Some(", "None", "Ampa", "Gabaa", "Coba", "LifRef {", "Csr", " 1 neurons", " 1 synapses", "FixedProb", "Scalar("] {
            assert!(!r.stdout.contains(bad), "{}: {bad:?} in\n{}", f.display(), r.stdout);
        }
        for line in r.stdout.lines().filter(|l| l.starts_with("population ") && l.contains("LifRef")) {
            for p in ["V_rest", "V_th", "V_reset", "tau", "tau_ref"] {
                assert!(line.contains(&format!("{p} ")), "{line}");
            }
            assert!(line.contains(" mV") && line.contains(" ms"), "{line}");
        }
        for line in r.stdout.lines().filter(|l| l.starts_with("projection ")) {
            assert!(line.contains(" -> ") && line.contains(" output"), "{line}");
        }
    }
    let r = spikegpu(s.path(), &["validate", root().join("examples/ampa_seed.json").to_str().unwrap()]);
    assert!(r.stdout.contains("population \"post\": LifRef (leaky integrate-and-fire, refractory), 1 neuron: V_rest -60 mV, V_th -50 mV, V_reset -60 mV, tau 20 ms, tau_ref 5 ms, R 1, V_init -60 mV"), "{}", r.stdout);
    assert!(r.stdout.contains("AMPA aligned pre (alpha 0.98 /(mM ms), beta 0.18 /ms, T 0.5 mM, T_dur 0.5 ms), no delay"), "{}", r.stdout);
}
