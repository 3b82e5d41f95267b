//! `spikegpu bench` (issue 10, item 11): the networks are built in, so it works from any folder;
//! every argument is checked before anything runs; `--help` lists every engine.

mod cli_support;
use cli_support::*;

#[test]
fn unknown_engines_and_networks_fail_before_anything_runs() {
    let s = Scratch::new("bench-args");
    let r = spikegpu(s.path(), &["bench", "--backends", "gpu-event,foo", "--out", "b"]);
    r.expect(2, "foo");
    assert!(r.stderr.contains("foo"), "{}", r.stderr);
    assert!(r.seconds < 5.0);
    let r = spikegpu(s.path(), &["bench", "--nets", "B1,nope", "--backends", "cpu", "--out", "b"]);
    r.expect(2, "nope");
    assert!(r.stderr.contains("--nets: nope: not built in (built in: ") && r.stderr.contains("B2x10"), "{}", r.stderr);
    assert_eq!(entries(s.path()), Vec::<String>::new(), "nothing ran");
    let r = spikegpu(s.path(), &["bench", "--repeats", "0", "--backends", "cpu"]);
    r.expect(2, "repeats");
}

#[test]
fn help_lists_every_engine() {
    let s = Scratch::new("bench-help");
    let r = spikegpu(s.path(), &["bench", "--help"]);
    r.expect(0, "help");
    for e in ["cpu", "cpu-event", "gpu", "gpu-event"] {
        assert!(r.stdout.contains(&format!("{e}:")) || r.stdout.contains(&format!("- {e}")), "{e} missing from\n{}", r.stdout);
    }
}

#[test]
fn runs_from_any_folder() {
    let s = Scratch::new("bench-any");
    let r = spikegpu(s.path(), &["bench", "--nets", "B1", "--backends", "cpu,cpu-event", "--out", "b"]);
    r.expect(0, "bench");
    assert!(r.stdout.contains("| B1 | cpu |") && r.stdout.contains("| B1 | cpu-event |"), "{}", r.stdout);
    assert!(s.join("b/B1-cpu/spike.npy").is_file());
    // again into the same place: the earlier outputs are replaced
    spikegpu(s.path(), &["bench", "--nets", "B1", "--backends", "cpu", "--out", "b"]).expect(0, "again");
}
