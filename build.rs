//! Build script: the git commit for the provenance in `summary.json`, and the benchmark networks
//! of `benches/networks/` built into the binary so `spikegpu bench` works from any folder.
//!
//! Neither may fail the build: without git (a crate tarball, a machine without it) there is just
//! no commit, and a missing networks folder embeds none.

use std::path::Path;
use std::process::Command;

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&root);
    git_commit(root);
    bench_networks(root);
}

/// `SPIKEGPU_GIT_COMMIT` = `git rev-parse HEAD`, when the crate is built from a git checkout.
fn git_commit(root: &Path) {
    let git = root.join(".git");
    // rerun when HEAD moves (a commit, a checkout); listing paths also stops cargo from rerunning
    // this script on every source change
    for p in ["HEAD", "packed-refs"] {
        if git.join(p).exists() {
            println!("cargo:rerun-if-changed={}", git.join(p).display());
        }
    }
    if let Ok(head) = std::fs::read_to_string(git.join("HEAD")) {
        if let Some(r) = head.trim().strip_prefix("ref: ") {
            let path = git.join(r);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    let out = Command::new("git").arg("-C").arg(root).args(["rev-parse", "HEAD"]).output();
    if let Ok(o) = out {
        let commit = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if o.status.success() && commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit()) {
            println!("cargo:rustc-env=SPIKEGPU_GIT_COMMIT={commit}");
        }
    }
}

/// `$OUT_DIR/bench_networks.rs`: `(name, JSON text)` of every `benches/networks/*.json` (each is a
/// few hundred bytes: their connectivity is generated when read).
fn bench_networks(root: &Path) {
    let dir = root.join("benches/networks");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        // a large explicit network stays a file (found beside the binary or in the current folder)
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() <= 1 << 20))
        .filter_map(|p| Some((p.file_stem()?.to_str()?.to_string(), p.clone())))
        .collect();
    entries.sort();
    let mut code = String::from("/// The benchmark networks built into the binary: (name, network file text).\npub const EMBEDDED: &[(&str, &str)] = &[\n");
    for (name, path) in &entries {
        code += &format!("    ({name:?}, include_str!({:?})),\n", path.display().to_string());
    }
    code += "];\n";
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("bench_networks.rs");
    std::fs::write(&out, code).expect("OUT_DIR is writable");
}
