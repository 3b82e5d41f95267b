//! SIGINT, SIGTERM and SIGHUP sent to a real `spikegpu run` (issue 10, item 2): the run stops at
//! the next chunk boundary, removes its temporary folder, says what was done and exits with
//! 128 + the signal; during set-up it exits at once. A folder left by SIGKILL is removed by the
//! next run into the same place.

mod cli_support;
use cli_support::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// The temporary folder of a running child, once its monitors have data in them (the run is
/// past set-up and writing).
fn wait_until_writing(parent: &Path, name: &str, pid: u32, limit: Duration) -> bool {
    let t = Instant::now();
    let tmp = parent.join(format!(".{name}.tmp-{pid}"));
    while t.elapsed() < limit {
        // more than the header: at least one chunk was written
        if std::fs::metadata(tmp.join("s.npy")).is_ok_and(|m| m.len() > 4096) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn start(s: &Scratch, out: &str, extra: &[&str]) -> std::process::Child {
    let mut args = vec!["run", "net.json", "--out", out, "--backend", "cpu", "--chunk", "100"];
    args.extend_from_slice(extra);
    cmd(s.path(), &args).spawn().expect("spawn")
}

#[test]
fn signals_stop_at_a_chunk_boundary_and_clean_up() {
    let s = Scratch::new("signals");
    s.write("net.json", &busy_network(200_000, 2000));
    for (sig, code, name) in [(libc::SIGINT, 130, "SIGINT"), (libc::SIGTERM, 143, "SIGTERM"), (libc::SIGHUP, 129, "SIGHUP")] {
        let child = start(&s, "out", &["--quiet"]);
        let pid = child.id();
        assert!(wait_until_writing(s.path(), "out", pid, Duration::from_secs(60)), "{name}: the run never started writing");
        let t = Instant::now();
        signal(&child, sig);
        let r = wait_limited(child, Duration::from_secs(30), t);
        assert!(!r.timed_out, "{name}: did not stop within 30 s");
        r.expect(code, name);
        assert!(r.seconds < 10.0, "{name}: took {} s to stop (a chunk is 100 steps)", r.seconds);
        assert!(r.stderr.contains("stopped near step") && r.stderr.contains("removed the partial outputs"), "{name}: {}", r.stderr);
        assert!(r.stderr.contains(&format!("error: interrupted: {name}")), "{}", r.stderr);
        assert_eq!(entries(s.path()), vec!["net.json"], "{name}: something was left");
    }
}

#[test]
fn a_signal_during_set_up_exits_at_once() {
    let s = Scratch::new("signals-setup");
    // 1e8 synapses to draw: set-up lasts long enough to be interrupted
    s.write(
        "net.json",
        r#"{"dt": 0.1, "steps": 100, "populations": [{"name": "a", "model": "lif", "size": 100000}],
            "projections": [{"name": "p", "pre": "a", "post": "a", "synapse": {"model": "expon"}, "connectivity": {"kind": "fixed_prob", "prob": 0.01, "seed": 1},
              "weight": 0.1, "output": {"model": "cuba"}}], "monitors": {"V": "a.V"}}"#,
    );
    let child = start(&s, "out", &[]);
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    signal(&child, libc::SIGINT);
    let r = wait_limited(child, Duration::from_secs(30), t);
    r.expect(130, "set-up");
    assert!(r.seconds < 2.0, "took {} s", r.seconds);
    assert!(r.stderr.contains("interrupted by SIGINT during set-up; nothing was written"), "{}", r.stderr);
    assert_eq!(entries(s.path()), vec!["net.json"]);
}

#[test]
fn a_killed_runs_folder_is_removed_by_the_next_run() {
    let s = Scratch::new("signals-kill");
    s.write("net.json", &busy_network(200_000, 2000));
    let mut child = start(&s, "out", &["--quiet"]);
    let pid = child.id();
    assert!(wait_until_writing(s.path(), "out", pid, Duration::from_secs(60)));
    child.kill().unwrap();
    child.wait().unwrap();
    let left = format!(".out.tmp-{pid}");
    assert_eq!(entries(s.path()), vec![left.clone(), "net.json".to_string()], "SIGKILL leaves its folder");
    // the next run into the same place (a short one) recognises and removes it
    s.write("net.json", &busy_network(300, 200));
    let r = spikegpu(s.path(), &["run", "net.json", "--out", "out", "--backend", "cpu"]);
    r.expect(0, "next run");
    assert!(r.stderr.contains(&format!("removed {}", s.join(&left).display())), "{}", r.stderr);
    assert_eq!(entries(s.path()), vec!["net.json", "out"]);
}
