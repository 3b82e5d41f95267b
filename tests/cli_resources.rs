//! Resources checked before the run (issue 10, item 4): outputs larger than the free disk and a
//! network larger than the memory a process may use are refused in seconds, with exit 2 and
//! one line naming the monitor or projection and both sizes; `validate` counts synapses
//! without building them, so a 1e9-synapse file validates under a 1 GB limit.

mod cli_support;
use cli_support::*;
use std::time::Duration;

fn free_disk(path: &std::path::Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let mut c = path.as_os_str().as_bytes().to_vec();
    c.push(0);
    // SAFETY: a NUL-terminated path and a zeroed struct statvfs fills.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        assert_eq!(libc::statvfs(c.as_ptr().cast(), &mut s), 0);
        s.f_bavail as u64 * s.f_frsize as u64
    }
}

fn one_line_error(r: &Ran, code: i32, want: &[&str]) {
    r.expect(code, want[0]);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    for w in want {
        assert!(r.stderr.contains(w), "wanted {w:?} in {}", r.stderr);
    }
}

#[test]
fn outputs_larger_than_the_disk_are_refused_before_the_run() {
    let s = Scratch::new("res-disk");
    let free = free_disk(s.path());
    // the format's own bound is 1 TiB of monitors
    if free > 600 << 30 {
        eprintln!("unsupported: {free} bytes free, more than a network may write");
        return;
    }
    let n = 100_000u64;
    let steps = (free + free / 2) / (4 * n) + 1;
    s.write(
        "net.json",
        &format!(r#"{{"dt": 0.1, "steps": {steps}, "populations": [{{"name": "p", "model": "lif", "size": {n}}}], "monitors": {{"V": "p.V", "s": "p.spike"}}}}"#),
    );
    let r = run_limited(cmd(s.path(), &["run", "net.json", "--out", "out", "--backend", "cpu"]), Duration::from_secs(60));
    one_line_error(&r, 2, &["disk space at", "V.npy", "but the limit is"]);
    assert!(r.seconds < 10.0, "took {} s", r.seconds);
    assert_eq!(entries(s.path()), vec!["net.json"], "nothing written");
}

/// `spikegpu ARGS` under an address-space limit of `kib` KiB (`ulimit -v`).
fn limited(s: &Scratch, kib: u64, args: &str) -> Ran {
    let mut c = std::process::Command::new("bash");
    c.arg("-c").arg(format!("ulimit -v {kib} && exec {} {args}", bin())).current_dir(s.path());
    c.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    run_limited(c, Duration::from_secs(60))
}

fn big(n_pre: u64, targets: u64) -> String {
    format!(
        r#"{{"dt": 0.1, "steps": 100, "populations": [{{"name": "src", "model": "poisson", "size": {n_pre}, "rate_hz": 5, "seed": 1}},
            {{"name": "post", "model": "lif_ref", "size": 100000}}],
          "projections": [{{"name": "huge", "pre": "src", "post": "post", "synapse": {{"model": "ampa"}},
            "connectivity": {{"kind": "fixed_prob", "prob": {}, "seed": 3}}, "weight": 0.01, "output": {{"model": "coba", "E": 0}}}}],
          "monitors": {{"V": {{"target": "post.V", "neurons": "0:10"}}}}}}"#,
        targets as f64 / 100_000.0
    )
}

#[test]
fn networks_larger_than_memory_are_refused_before_building() {
    let s = Scratch::new("res-mem");
    // 1e9 synapses: 4 GB of indices, under a 1.5 GB limit
    s.write("net.json", &big(100_000, 10_000));
    let r = limited(&s, 1_500_000, "run net.json --out out --backend cpu");
    one_line_error(&r, 2, &["host memory for the run", "projection \"huge\"", "ulimit -v"]);
    assert!(r.seconds < 5.0, "took {} s", r.seconds);
    assert_eq!(entries(s.path()), vec!["net.json"]);
    // validate counts them in no time under the same limit...
    let r = limited(&s, 1_500_000, "validate net.json");
    r.expect(0, "validate");
    assert!(r.stdout.contains("1000000000 synapses") && r.stdout.contains("synapses: 1000000000"), "{}", r.stdout);
    assert!(r.seconds < 5.0, "took {} s", r.seconds);
    // ...and --build refuses to build them instead of aborting
    let r = limited(&s, 1_500_000, "validate --build net.json");
    one_line_error(&r, 2, &["host memory for the run", "projection \"huge\""]);
}

#[test]
fn two_billion_synapses_are_an_error_not_an_abort() {
    let s = Scratch::new("res-2e9");
    // 2e9 fit the 32-bit index: validate counts them, building them is refused up front
    s.write("net.json", &big(200_000, 10_000));
    let r = limited(&s, 1_000_000, "validate net.json");
    r.expect(0, "validate 2e9");
    assert!(r.stdout.contains("synapses: 2000000000"), "{}", r.stdout);
    for args in ["validate --build net.json", "run net.json --out out --backend cpu"] {
        let r = limited(&s, 1_000_000, args);
        one_line_error(&r, 2, &["host memory for the run", "projection \"huge\" 8.0 GB"]);
        assert!(r.seconds < 5.0, "{args}: took {} s", r.seconds);
    }
    // 5e9 do not: an error naming the field, from every command
    s.write("net.json", &big(500_000, 10_000));
    for args in ["validate net.json", "validate --build net.json", "run net.json --out out --backend cpu"] {
        let r = limited(&s, 1_000_000, args);
        one_line_error(&r, 2, &["projections[0].connectivity.prob: 500000 pre neurons x 10000 targets = 5000000000 synapses: more than a projection can index with 32 bits"]);
        assert!(r.seconds < 5.0, "{args}: took {} s", r.seconds);
    }
    assert_eq!(entries(s.path()), vec!["net.json"]);
}

#[test]
fn validate_reports_exact_counts_when_asked_to_build() {
    let s = Scratch::new("res-build");
    s.write("net.json", &big(1000, 500).replace("\"seed\": 3}", "\"seed\": 3, \"include_self\": false}"));
    let r = spikegpu(s.path(), &["validate", "net.json"]);
    r.expect(0, "validate");
    assert!(r.stdout.contains("at most 500000 synapses"), "{}", r.stdout);
    let r = spikegpu(s.path(), &["validate", "--build", "net.json"]);
    r.expect(0, "validate --build");
    // pre i == post i pairs were dropped: 1000 pre neurons, each drew its own index or not
    let line = r.stdout.lines().find(|l| l.starts_with("synapses: ")).unwrap();
    let n: u64 = line["synapses: ".len()..].trim().parse().unwrap();
    assert!(n < 500_000 && n > 499_000, "{line}");
}
