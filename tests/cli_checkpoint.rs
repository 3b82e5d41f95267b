//! `--checkpoint-every` and `spikegpu resume` (issue 10, item 3): a run killed with SIGKILL
//! mid-run and resumed ends with `.npy` files byte-identical to an uninterrupted run's, on the
//! CPU engine and on the GPU engine; a SIGINT keeps the checkpoint; a changed network file is
//! refused.

mod cli_support;
use cli_support::*;
use std::path::Path;
use std::time::{Duration, Instant};

const STEPS: usize = 20_000;
const N: usize = 1500;

/// Waits for the child's checkpoint file (written atomically, so present means whole).
fn wait_for_checkpoint(parent: &Path, pid: u32, limit: Duration) -> bool {
    let t = Instant::now();
    let ck = parent.join(format!(".out.tmp-{pid}/checkpoint.spkg"));
    while t.elapsed() < limit {
        if ck.is_file() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn npy_files(dir: &Path) -> Vec<String> {
    entries(dir).into_iter().filter(|f| f.ends_with(".npy")).collect()
}

fn same_outputs(a: &Path, b: &Path) {
    let files = npy_files(a);
    assert_eq!(files, vec!["V.npy", "g.npy", "s.npy", "spikes.npy"]);
    assert_eq!(files, npy_files(b));
    for f in files {
        let (x, y) = (std::fs::read(a.join(&f)).unwrap(), std::fs::read(b.join(&f)).unwrap());
        assert!(x == y, "{f}: {} bytes resumed, {} uninterrupted, first difference at byte {:?}", y.len(), x.len(), x.iter().zip(&y).position(|(p, q)| p != q));
    }
}

/// Kills a checkpointed run after its first checkpoint, resumes it, compares with an
/// uninterrupted run on the same engine.
fn kill_and_resume(backend: &str, steps: usize) {
    let s = Scratch::new(&format!("ckpt-{backend}"));
    s.write("net.json", &busy_network(steps, N));
    // lavapipe on a busy 2-core machine takes a minute or more
    run_limited(cmd(s.path(), &["run", "net.json", "--out", "ref", "--backend", backend, "--quiet"]), Duration::from_secs(600)).expect(0, "reference");
    let mut child = cmd(s.path(), &["run", "net.json", "--out", "out", "--backend", backend, "--chunk", "250", "--checkpoint-every", "1000", "-q"]).spawn().unwrap();
    let pid = child.id();
    assert!(wait_for_checkpoint(s.path(), pid, Duration::from_secs(120)), "no checkpoint appeared");
    // let it run on past the checkpoint, so the files hold steps the checkpoint does not
    std::thread::sleep(Duration::from_millis(400));
    child.kill().unwrap();
    let st = child.wait().unwrap();
    assert!(!st.success(), "the run ended before it was killed: make it longer");
    let tmp = s.join(format!(".out.tmp-{pid}"));
    assert!(tmp.join("run.json").is_file() && tmp.join("checkpoint.spkg").is_file());
    // a plain run into the same place refuses to throw the checkpoint away
    let r = spikegpu(s.path(), &["run", "net.json", "--out", "out", "--backend", backend]);
    r.expect(2, "run over a checkpoint");
    assert!(r.stderr.contains("spikegpu resume out"), "{}", r.stderr);
    let r = run_limited(cmd(s.path(), &["resume", "out"]), Duration::from_secs(600));
    r.expect(0, "resume");
    assert!(r.stderr.contains("resuming net.json at step"), "{}", r.stderr);
    same_outputs(&s.join("ref"), &s.join("out"));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(s.join("out/summary.json")).unwrap()).unwrap();
    assert!(v["resumed_from_step"].as_u64().unwrap() >= 1000, "{}", v["resumed_from_step"]);
    assert_eq!(v["spike_counts"], serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(s.join("ref/summary.json")).unwrap()).unwrap()["spike_counts"]);
    assert_eq!(entries(s.path()), vec!["net.json", "out", "ref"], "the temporary folder is gone");
    // nothing left to resume
    spikegpu(s.path(), &["resume", "out"]).expect(2, "second resume");
}

#[test]
fn sigkill_then_resume_is_byte_identical_cpu() {
    kill_and_resume("cpu", STEPS);
}

#[test]
fn sigkill_then_resume_is_byte_identical_gpu() {
    let s = Scratch::new("ckpt-probe");
    if !gpu_present(s.path()) {
        assert!(!gpu_required(), "SPIKEGPU_REQUIRE_GPU=1 but no adapter");
        eprintln!("unsupported: no GPU adapter");
        return;
    }
    // lavapipe is slower: fewer steps still leave seconds between checkpoint and end
    kill_and_resume("gpu", 8000);
}

/// A SIGINT keeps the last checkpoint (the user asked for checkpoints), a changed network is
/// refused, and `--plot` survives a resume.
#[test]
fn interrupted_checkpointed_runs_keep_their_checkpoint() {
    let s = Scratch::new("ckpt-int");
    s.write("net.json", &busy_network(STEPS, N));
    spikegpu(s.path(), &["run", "net.json", "--out", "ref", "--backend", "cpu", "--quiet", "--plot"]).expect(0, "reference");
    let child = cmd(s.path(), &["run", "net.json", "--out", "out", "--backend", "cpu", "--chunk", "250", "--checkpoint-every", "1000", "--plot"]).spawn().unwrap();
    let pid = child.id();
    assert!(wait_for_checkpoint(s.path(), pid, Duration::from_secs(120)));
    let t = Instant::now();
    signal(&child, libc::SIGINT);
    let r = wait_limited(child, Duration::from_secs(60), t);
    r.expect(130, "SIGINT");
    assert!(r.stderr.contains("is kept in") && r.stderr.contains("`spikegpu resume out` continues the run"), "{}", r.stderr);
    // the network file changed: refused, the checkpoint kept
    let text = std::fs::read_to_string(s.join("net.json")).unwrap();
    s.write("net.json", &text.replace("\"weight\": 0.4", "\"weight\": 0.41"));
    let r = spikegpu(s.path(), &["resume", "out"]);
    r.expect(2, "changed network");
    assert!(r.stderr.contains("changed since the run started"), "{}", r.stderr);
    s.write("net.json", &text);
    let r = run_limited(cmd(s.path(), &["resume", "out", "-q"]), Duration::from_secs(300));
    r.expect(0, "resume");
    same_outputs(&s.join("ref"), &s.join("out"));
    // the figure of a resumed run reads the first part back from the files: the same picture
    assert!(std::fs::read(s.join("out/figure.png")).unwrap() == std::fs::read(s.join("ref/figure.png")).unwrap(), "figures differ");
}
