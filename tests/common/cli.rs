//! Running the `spikegpu` binary.

use super::npy::read_output_dir;
use spikegpu::runtime::compare::Layout;
use spikegpu::runtime::MonitorData;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `spikegpu` binary.
pub fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_spikegpu"))
}

/// A fresh, empty scratch folder under cargo's per-target temp dir.
pub fn scratch_dir(label: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{label}-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `spikegpu run NET --backend BACKEND --out OUT -q EXTRA...` and asserts that it succeeds.
pub fn run_cli(net_path: &Path, backend: &str, out: &Path, extra: &[&str]) -> Output {
    let o = cli()
        .arg("run")
        .arg(net_path)
        .args(["--backend", backend, "--out"])
        .arg(out)
        .arg("-q")
        .args(extra)
        .output()
        .expect("cannot start the spikegpu binary");
    assert!(o.status.success(), "spikegpu run {} --backend {backend} failed ({}): {}", net_path.display(), o.status, String::from_utf8_lossy(&o.stderr));
    o
}

/// [`run_cli`], then every monitor of `layout` read back from the `.npy` files.
pub fn run_cli_read(net_path: &Path, backend: &str, out: &Path, layout: &Layout) -> Vec<MonitorData> {
    run_cli(net_path, backend, out, &[]);
    read_output_dir(out, layout)
}
