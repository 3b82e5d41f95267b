//! Golden cases (BrainPy 2.9.0 traces): the ones in the repository (`tests/golden`, which must
//! be there: a missing case fails), and the optional extra folder `../shared/golden`.

use spikegpu::model::{Network, Output, Synapse};
use spikegpu::runtime::compare::Case;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The cases of the AMPA/GABAa engine, in `tests/golden`.
pub const CASES: [&str; 4] = ["seed_E0", "seed_delay", "net_small", "extra_seed_drive"];

/// The cases of the other models, in `tests/golden/models`.
pub const MODEL_CASES: [&str; 4] = ["expon_post_coba", "expon_pre_cuba", "nmda_mg", "ei_small"];

/// `tests/golden` of this repository.
pub fn golden_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden"))
}

/// Every `*.json` under `dir`, recursively, sorted.
pub fn json_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn named(sub: &str, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| {
            let p = golden_dir().join(sub).join(format!("{n}.json"));
            assert!(p.is_file(), "golden case {} is missing: the tests need it (it is part of the repository)", p.display());
            p
        })
        .collect()
}

/// The paths of [`CASES`]; panics when one is missing.
pub fn case_paths() -> Vec<PathBuf> {
    named("", &CASES)
}

/// The paths of [`MODEL_CASES`]; panics when one is missing.
pub fn model_case_paths() -> Vec<PathBuf> {
    named("models", &MODEL_CASES)
}

/// Reads a golden case; panics naming the file when it cannot.
pub fn load(path: &Path) -> Case {
    Case::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every case of the repository ([`CASES`], then [`MODEL_CASES`], then any other file under
/// `tests/golden`), loaded once per test binary.
pub fn all_cases() -> &'static [Case] {
    static ALL: OnceLock<Vec<Case>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut paths = case_paths();
        paths.extend(model_case_paths());
        for p in json_files_under(&golden_dir()) {
            if !paths.contains(&p) {
                paths.push(p);
            }
        }
        paths.iter().map(|p| load(p)).collect()
    })
}

/// The case named `name` (its `source.case`).
pub fn case(name: &str) -> &'static Case {
    all_cases().iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no golden case {name}"))
}

/// `../shared/golden` beside the checkout, when it exists (the issue filer's folder: an extra
/// check, never needed).
pub fn shared_golden_dir() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/golden"));
    p.is_dir().then_some(p)
}

/// `../shared/tools` beside the checkout, when it exists.
pub fn shared_tools_dir() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/tools"));
    p.is_dir().then_some(p)
}

/// Whether `net` divides at run time (an `nmda` synapse or an `mg_block` output). WGSL allows
/// a division to be 2.5 ulp off the correctly rounded quotient (lavapipe lowers it to a
/// reciprocal and a multiply), so on these the GPU engine matches the CPU engine within the
/// golden tolerances, not bit for bit. Every other operation both engines use is exactly
/// rounded in both, in the same order.
pub fn divides_at_run_time(net: &Network) -> bool {
    net.projections.iter().any(|p| matches!(p.synapse, Synapse::Nmda { .. }) || matches!(p.output, Output::MgBlock(_)))
}
