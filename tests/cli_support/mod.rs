//! Helpers shared by the command-line tests (`tests/cli_*.rs`, `tests/fuzz_inputs.rs`): the
//! built `spikegpu` binary run as a child process in a fresh folder, with a time limit.
#![allow(dead_code)] // each test file uses its own part of this

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The binary cargo built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_spikegpu")
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty folder under the system's temporary folder, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!("spikegpu-test-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }

    /// Writes `text` to `name` inside and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `spikegpu` command run in folder `cwd`, without a terminal and with GPU noise settings as
/// CI has them.
pub fn cmd(cwd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(args).current_dir(cwd).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    c.env("WGPU_BACKEND", std::env::var("WGPU_BACKEND").unwrap_or_else(|_| "vulkan".into()));
    c
}

/// What a finished child did.
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub seconds: f64,
}

impl Ran {
    pub fn from_output(o: Output, seconds: f64, timed_out: bool) -> Ran {
        Ran {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            timed_out,
            seconds,
        }
    }

    /// Panics with everything the child printed unless it exited with `code`.
    pub fn expect(&self, code: i32, what: &str) -> &Ran {
        assert_eq!(self.code, Some(code), "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}", self.code, self.stdout, self.stderr);
        self
    }
}

/// Runs `c` to the end, killing it after `limit`.
pub fn run_limited(mut c: Command, limit: Duration) -> Ran {
    let t = Instant::now();
    let child = c.spawn().expect("spawn spikegpu");
    wait_limited(child, limit, t)
}

pub fn wait_limited(mut child: Child, limit: Duration, t: Instant) -> Ran {
    // read the pipes on threads so a chatty child cannot block on a full pipe
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let so = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut s);
        s
    });
    let se = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut s);
        s
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let o = Output { status, stdout: so.join().unwrap(), stderr: se.join().unwrap() };
    Ran::from_output(o, t.elapsed().as_secs_f64(), timed_out)
}

/// Runs `spikegpu args...` in `cwd` with a limit of a minute.
pub fn spikegpu(cwd: &Path, args: &[&str]) -> Ran {
    run_limited(cmd(cwd, args), Duration::from_secs(60))
}

/// Sends `sig` to a child.
pub fn signal(child: &Child, sig: i32) {
    // SAFETY: kill on the pid of a child this test spawned and has not reaped.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

/// Entries of `dir` (names), sorted; hidden ones included.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).map(|r| r.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default();
    v.sort();
    v
}

/// A network of `n` LIF neurons driven by a regular source over a fixed_prob projection, for
/// `steps` steps, recording V of a few neurons, all spikes as events and one g: long enough to
/// signal or kill mid-run, small enough to run in seconds.
pub fn busy_network(steps: usize, n: usize) -> String {
    format!(
        r#"{{"dt": 0.1, "steps": {steps},
  "populations": [
    {{"name": "src", "model": "regular", "size": {n}, "period_steps": 50}},
    {{"name": "post", "model": "lif_ref", "size": {n}, "V_rest": -60, "V_th": -50, "V_reset": -60, "tau": 20, "tau_ref": 5, "V_init": {{"normal": [-55, 3], "seed": 4}}}}],
  "projections": [
    {{"name": "syn", "pre": "src", "post": "post", "synapse": {{"model": "ampa"}}, "delay": 0.5,
     "connectivity": {{"kind": "fixed_prob", "prob": 0.05, "seed": 42}}, "weight": 0.4, "output": {{"model": "coba", "E": 0}}}},
    {{"name": "rec", "pre": "post", "post": "post", "synapse": {{"model": "expon", "tau": 5}}, "align": "post", "delay": 1.0,
     "connectivity": {{"kind": "fixed_prob", "prob": 0.02, "seed": 7}}, "weight": 0.2, "output": {{"model": "coba", "E": -80}}}}],
  "monitors": {{"V": {{"target": "post.V", "neurons": "0:50", "every": 3}}, "spikes": "post.spike_events", "g": {{"target": "syn.g", "neurons": [1, 5, 9]}},
               "s": "post.spike"}}}}"#
    )
}

/// Whether the GPU tests must run (scripts/test.sh sets it, with lavapipe installed).
pub fn gpu_required() -> bool {
    std::env::var("SPIKEGPU_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// Whether wgpu finds any adapter (`spikegpu devices` says so).
pub fn gpu_present(cwd: &Path) -> bool {
    let r = spikegpu(cwd, &["devices"]);
    r.code == Some(0) && !r.stdout.starts_with("no GPU adapter")
}
