//! `spikegpu run --out`: outputs never destroy what spikegpu did not write (issue 10, item 1),
//! leftovers of killed runs are recognised, `summary.json` says where a run came from (item 8),
//! `--allow-nonfinite` (item 5) and the driver's XDG_RUNTIME_DIR noise (item 6). Each test runs
//! the real binary in a fresh folder.

mod cli_support;
use cli_support::*;
use std::path::Path;

fn seed() -> String {
    std::fs::read_to_string(root().join("examples/ampa_seed.json")).unwrap()
}

fn run_seed(cwd: &Path, out: &str) -> Ran {
    spikegpu(cwd, &["run", "net.json", "--out", out, "--backend", "cpu", "--quiet"])
}

/// A refusal: exit 2, one line naming the folder and `what`, and nothing changed on disk.
fn refused(r: &Ran, folder: &str, what: &str) {
    r.expect(2, "refusal");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {}", r.stderr);
    assert!(lines[0].starts_with(&format!("error: --out: {folder}: ")), "{}", r.stderr);
    assert!(lines[0].contains(what), "wanted {what:?} in {}", r.stderr);
}

#[test]
fn missing_and_empty_folders_are_used() {
    let s = Scratch::new("out-missing");
    s.write("net.json", &seed());
    run_seed(s.path(), "a/b/run").expect(0, "missing");
    assert!(s.join("a/b/run/V.npy").is_file());
    std::fs::create_dir(s.join("empty")).unwrap();
    run_seed(s.path(), "empty").expect(0, "empty");
    assert!(s.join("empty/summary.json").is_file());
    // nothing but the outputs appeared beside them
    assert_eq!(entries(s.path()), vec!["a", "empty", "net.json"]);
}

#[test]
fn an_earlier_run_is_replaced_and_only_its_files() {
    let s = Scratch::new("out-rerun");
    s.write("net.json", &seed());
    run_seed(s.path(), "out").expect(0, "first");
    let marker = std::fs::read_to_string(s.join("out/.spikegpu-outputs.json")).unwrap();
    assert!(marker.contains("\"V.npy\"") && marker.contains("\"summary.json\""), "{marker}");
    // the README's command run again works
    run_seed(s.path(), "out").expect(0, "again");
    // a monitor renamed: the old file goes with the old run
    s.write("net.json", &seed().replace("\"V\": \"post.V\"", "\"V2\": \"post.V\""));
    run_seed(s.path(), "out").expect(0, "renamed");
    let e = entries(&s.join("out"));
    assert!(e.contains(&"V2.npy".to_string()) && !e.contains(&"V.npy".to_string()), "{e:?}");
    assert_eq!(entries(s.path()), vec!["net.json", "out"], "no leftovers beside it");
}

#[test]
fn foreign_files_are_refused_and_kept() {
    let s = Scratch::new("out-foreign");
    s.write("net.json", &seed());
    s.write("out/fig1.pdf", "x");
    refused(&run_seed(s.path(), "out"), "out", "holds fig1.pdf, which spikegpu did not write");
    assert_eq!(std::fs::read_to_string(s.join("out/fig1.pdf")).unwrap(), "x");
    // added to an earlier run's folder: refused too, and the earlier outputs stay
    run_seed(s.path(), "run").expect(0, "first");
    s.write("run/analysis.py", "print(1)");
    std::fs::create_dir(s.join("run/data")).unwrap();
    refused(&run_seed(s.path(), "run"), "run", "holds analysis.py, data/");
    assert!(s.join("run/V.npy").is_file() && s.join("run/analysis.py").is_file());
    // many: the first five are named
    for k in 0..9 {
        s.write(&format!("many/f{k}"), "");
    }
    refused(&run_seed(s.path(), "many"), "many", "f0, f1, f2, f3, f4 and 4 more");
}

#[test]
fn files_the_current_folder_and_the_network_folder_are_refused() {
    let s = Scratch::new("out-places");
    s.write("net.json", &seed());
    refused(&run_seed(s.path(), "net.json"), "net.json", "is a file, not a folder");
    assert_eq!(std::fs::read_to_string(s.join("net.json")).unwrap(), seed());
    refused(&run_seed(s.path(), "."), ".", "is the current folder");
    let here = s.path().display().to_string();
    refused(&run_seed(s.path(), &here), &here, "is the current folder");
    std::fs::create_dir(s.join("sub")).unwrap();
    let r = spikegpu(&s.join("sub"), &["run", "../net.json", "--out", "..", "--backend", "cpu"]);
    refused(&r, "..", "contains the current folder");
    s.write("proj2/net.json", &seed());
    s.write("proj2/analysis.py", "x");
    let r = spikegpu(s.path(), &["run", "proj2/net.json", "--out", "proj2", "--backend", "cpu"]);
    refused(&r, "proj2", "contains the network file proj2/net.json");
    assert_eq!(entries(&s.join("proj2")), vec!["analysis.py", "net.json"]);
    std::os::unix::fs::symlink(s.join("proj2"), s.join("link")).unwrap();
    refused(&run_seed(s.path(), "link"), "link", "is a symbolic link");
}

/// A folder written by a spikegpu that left no marker (summary.json and the monitors it names)
/// is recognised as spikegpu's; with anything else in it, it is not.
#[test]
fn outputs_of_a_spikegpu_without_markers() {
    let s = Scratch::new("out-legacy");
    s.write("net.json", &seed());
    s.write("old/summary.json", r#"{"steps": 10, "wall_seconds": 0.1, "monitors": {"V": "post.V", "old": "post.V"}}"#);
    s.write("old/V.npy", "");
    s.write("old/old.npy", "");
    run_seed(s.path(), "old").expect(0, "legacy");
    assert!(!s.join("old/old.npy").exists());
    s.write("old2/summary.json", r#"{"steps": 10, "wall_seconds": 0.1, "monitors": {"V": "post.V"}}"#);
    s.write("old2/notes.txt", "");
    refused(&run_seed(s.path(), "old2"), "old2", "holds notes.txt");
}

/// The pid of a process that has exited (a child reaped here).
fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

#[test]
fn leftovers_of_killed_runs_are_removed_and_live_ones_respected() {
    let s = Scratch::new("out-leftovers");
    s.write("net.json", &seed());
    let dead = dead_pid();
    // one with an owner file, one of a spikegpu that wrote none
    s.write(&format!(".out.tmp-{dead}/spikegpu-owner.json"), &format!(r#"{{"pid": {dead}, "boot_id": "", "start_ticks": 0}}"#));
    s.write(&format!(".out.tmp-{dead}/V.npy"), "partial");
    s.write(&format!(".out.tmp-{}/V.npy", dead_pid()), "partial");
    let r = spikegpu(s.path(), &["run", "net.json", "--out", "out", "--backend", "cpu"]);
    r.expect(0, "run");
    assert_eq!(r.stderr.matches("left by a spikegpu run").count(), 2, "{}", r.stderr);
    assert_eq!(entries(s.path()), vec!["net.json", "out"]);
    // a folder of another boot is dead even though the pid exists (this test's own)
    let me = std::process::id();
    s.write(&format!(".out.tmp-{me}/spikegpu-owner.json"), &format!(r#"{{"pid": {me}, "boot_id": "another boot", "start_ticks": 0}}"#));
    run_seed(s.path(), "out").expect(0, "other boot");
    assert_eq!(entries(s.path()), vec!["net.json", "out"]);
    // a live writer: refused, its folder untouched
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    s.write(&format!(".out.tmp-{me}/spikegpu-owner.json"), &format!(r#"{{"pid": {me}, "boot_id": "{}", "start_ticks": 0}}"#, boot.trim()));
    refused(&run_seed(s.path(), "out"), "out", &format!("another spikegpu (pid {me}) is writing it now"));
    assert!(s.join(format!(".out.tmp-{me}/spikegpu-owner.json")).is_file());
    std::fs::remove_dir_all(s.join(format!(".out.tmp-{me}"))).unwrap();
    // a dead one holding a stranger's file is left alone, and said so
    s.write(&format!(".out.tmp-{dead}/thesis.tex"), "x");
    let r = spikegpu(s.path(), &["run", "net.json", "--out", "out", "--backend", "cpu"]);
    r.expect(0, "foreign leftover");
    assert!(r.stderr.contains("holds files spikegpu does not write"), "{}", r.stderr);
    assert!(s.join(format!(".out.tmp-{dead}/thesis.tex")).is_file());
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn summary_says_where_the_run_came_from() {
    use sha2::Digest;
    let s = Scratch::new("out-provenance");
    // lif_ref without tau_ref: the parameters as used fill BrainPy's default in
    let text = seed().replace("\"tau_ref\": 5.0,", "");
    assert_ne!(text, seed());
    s.write("net.json", &text);
    run_seed(s.path(), "out").expect(0, "run");
    let v = summary(&s.join("out"));
    assert_eq!(v["spikegpu_version"], env!("CARGO_PKG_VERSION"));
    if root().join(".git").exists() && std::process::Command::new("git").arg("--version").output().is_ok() {
        assert_eq!(v["git_commit"].as_str().map(str::len), Some(40), "{}", v["git_commit"]);
    }
    let cl: Vec<&str> = v["command_line"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    assert_eq!(&cl[1..], ["run", "net.json", "--out", "out", "--backend", "cpu", "--quiet"]);
    let sha: String = sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v["network_sha256"], sha);
    assert_eq!(v["network_file"], "net.json");
    assert_eq!((v["backend"].as_str(), v["mode"].as_str(), v["nonfinite_policy"].as_str()), (Some("cpu"), Some("dense"), Some("stop")));
    assert!(v["threads"].as_u64().unwrap() >= 1);
    let t = v["started_utc"].as_str().unwrap();
    assert!(t.len() == 20 && t.ends_with('Z') && &t[4..5] == "-" && &t[10..11] == "T", "{t}");
    assert_eq!(v["parameters"]["populations"][1]["tau_ref"], 0.0);
    assert_eq!(v["parameters"]["projections"][0]["synapse"]["alpha"].as_f64().map(|x| (x * 100.0).round()), Some(98.0));
    assert_eq!(v["warnings"], serde_json::json!([]));
}

/// A current that overflows to infinity: without `--allow-nonfinite` the run fails with exit 2
/// and one line naming the population, neuron and step, leaving no folder; with it the run ends
/// and the summary records it.
#[test]
fn nonfinite_values_stop_the_run_unless_allowed() {
    let s = Scratch::new("out-nonfinite");
    s.write(
        "net.json",
        r#"{"dt": 0.1, "steps": 50, "populations": [{"name": "hot", "model": "lif", "size": 3, "R": 1e30, "I_ext": -1e30}],
            "monitors": {"V": "hot.V"}}"#,
    );
    let r = spikegpu(s.path(), &["run", "net.json", "--out", "out", "--backend", "cpu"]);
    r.expect(2, "diverged");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("population \"hot\" V is -inf at step 0, neuron 0"), "{}", r.stderr);
    assert_eq!(entries(s.path()), vec!["net.json"], "no folder left");
    let r = spikegpu(s.path(), &["run", "net.json", "--out", "out", "--backend", "cpu", "--allow-nonfinite", "-q"]);
    r.expect(0, "allowed");
    let v = summary(&s.join("out"));
    assert_eq!(v["nonfinite_policy"], "record");
    assert!(v["nonfinite"][0].as_str().unwrap().contains("\"hot\""), "{}", v["nonfinite"]);
}

/// The GPU driver's complaint about XDG_RUNTIME_DIR never reaches the user, whether the variable
/// is unset or unusable.
#[test]
fn no_xdg_runtime_dir_noise() {
    let s = Scratch::new("out-xdg");
    s.write("net.json", &seed());
    if !gpu_present(s.path()) {
        assert!(!gpu_required(), "SPIKEGPU_REQUIRE_GPU=1 but no adapter");
        eprintln!("unsupported: no GPU adapter; the XDG test needs the driver");
        return;
    }
    for value in [None, Some("relative/dir"), Some("/nonexistent/spikegpu")] {
        let mut c = cmd(s.path(), &["run", "net.json", "--out", "out", "--backend", "gpu", "--quiet"]);
        match value {
            None => c.env_remove("XDG_RUNTIME_DIR"),
            Some(v) => c.env("XDG_RUNTIME_DIR", v),
        };
        let r = run_limited(c, std::time::Duration::from_secs(120));
        r.expect(0, "gpu run");
        assert!(!r.stderr.contains("XDG_RUNTIME_DIR"), "{value:?}: {}", r.stderr);
        let r = run_limited(
            {
                let mut c = cmd(s.path(), &["devices"]);
                c.env_remove("XDG_RUNTIME_DIR");
                c
            },
            std::time::Duration::from_secs(60),
        );
        assert!(!r.stderr.contains("XDG_RUNTIME_DIR"), "devices: {}", r.stderr);
    }
}
