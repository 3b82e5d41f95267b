//! Every golden case (BrainPy 2.9.0 traces, `tests/golden` and `tests/golden/models`) on every
//! engine in both update modes, through the library and through the command line
//! (`spikegpu run`, .npy files read back), compared with the golden README's rules
//! (`spikegpu::runtime::compare`). Run with `--nocapture` to see the largest error per monitor.
//!
//! Why the README's tolerances hold for the CPU engine: it is f32 throughout and evaluates the
//! same formulas in the same order as BrainPy (SEMANTICS sections 3, 5, 7): `exp_auto`'s
//! `x + dt*exprel(dt*lin)*f(x)` for g and V, the COBA sum from 0 in registration order, the CSR
//! sum in pre order, `t = f32(i)*f32(dt)` and the time comparisons on rounded f32 values. The
//! only differences left are (SEMANTICS section 9) the rounding of `exp` (XLA:CPU's f32 `exp` is
//! correctly rounded; ours is f64 `exp` rounded once, which agrees, but a 1-ulp difference in a
//! precomputed factor is possible) and XLA's fused multiply-adds (`fma(dt*phi, f, g)`,
//! `fma(g_post, E - V, V_rest - V)`), which round once where Rust rounds twice. Each costs at most
//! an ulp per step, and both update maps contract (|dg/dg_old| = e^{-dt k} < 1,
//! |dV/dV_old| < 1), so the error stays at a few ulps of the values instead of growing:
//! * V (|V| ~ 60 mV, ulp 3.8e-6): a few ulps ~ 1e-5, far inside 1e-3 mV;
//! * g (in [0, 1], ulp <= 6e-8): ~1e-7, inside 1e-5 + 1e-4|g|;
//! * currents `g*(E - V)` (up to ~200): the relative error of g plus that of V, ~1e-6
//!   relative, inside 1e-3 + 1e-4|I|; the absolute part covers sums of opposite currents.
//!
//! A spike can still move by one step when V lands within an ulp of V_th, or when
//! `t - t_last` rounds onto `tau_ref` (the README's 2% allowance); `extra_seed_drive` has BrainPy's
//! fused refractory test (SEMANTICS section 9), hence its ISI rule.
//!
//! The GPU engine computes the CPU engine's bits (the same operations in the same order, the
//! scatters in fixed point), so on the GPU each case must equal the CPU run of the same mode bit
//! for bit, except where the network divides at run time (`nmda`, `mg_block`: see
//! `common::golden::divides_at_run_time`), where it is held to the golden tolerances.

mod common;

use common::engines::EngineKind;
use common::golden::{self, divides_at_run_time};
use common::*;
use spikegpu::runtime::compare::Case;

/// Runs every case of `cases` on engine `kind` in both modes and compares it with BrainPy; on
/// the GPU, also with the CPU engine. Returns the failures.
fn check_cases(test: &str, cases: &[&Case], kind: EngineKind) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases {
        let net = &case.network;
        for mode in MODES {
            let chunks: &[usize] = if kind == EngineKind::Cpu { &[1000, 7] } else { &[256] };
            for &chunk in chunks {
                let label = format!("{} ({kind}, {mode}, chunk {chunk})", case.name);
                let got = run(kind, net, mode, chunk);
                let rep = case.compare(&got.data, &Tolerance::golden(), &label);
                println!("{rep}");
                if !rep.ok() {
                    failures.push(rep.to_string());
                }
                // Every monitored trace of the case is compared, and nothing is silently skipped.
                for t in &case.expected.traces {
                    let compared = rep.monitor(&t.name).map_or(0, |m| m.compared);
                    assert!(compared > 0, "{test}: {label}: trace {} compared no values", t.name);
                }
                if kind == EngineKind::Gpu {
                    let cpu = run(EngineKind::Cpu, net, mode, chunk);
                    if divides_at_run_time(net) {
                        // WGSL's division may be 2.5 ulp off (lavapipe: a reciprocal and a
                        // multiply): the GPU is held to the golden tolerances here
                        let vs = compare_runs(&got, &cpu, &Tolerance::golden(), &format!("{label}: GPU against CPU"));
                        println!("{vs}{}", if got.bit_identical(&cpu) { "  (bit-identical)\n" } else { "" });
                        if !vs.ok() {
                            failures.push(vs.to_string());
                        }
                    } else {
                        got.assert_bit_identical(&cpu, &format!("{test}: {label}: GPU against CPU"));
                    }
                }
            }
        }
    }
    failures
}

fn cases_of(names: &[&str]) -> Vec<&'static Case> {
    names.iter().map(|n| golden::case(n)).collect()
}

fn run_cases(test: &str, names: &[&str], kind: EngineKind) {
    if !engines(test).contains(&kind) {
        return;
    }
    let failures = check_cases(test, &cases_of(names), kind);
    assert!(failures.is_empty(), "{test}: golden cases failed:\n{}", failures.join("\n"));
}

#[test]
fn golden_cases_on_cpu() {
    run_cases("golden_cases_on_cpu", &golden::CASES, EngineKind::Cpu);
}

#[test]
fn golden_cases_on_gpu() {
    run_cases("golden_cases_on_gpu", &golden::CASES, EngineKind::Gpu);
}

#[test]
fn model_cases_on_cpu() {
    run_cases("model_cases_on_cpu", &golden::MODEL_CASES, EngineKind::Cpu);
}

#[test]
fn model_cases_on_gpu() {
    run_cases("model_cases_on_gpu", &golden::MODEL_CASES, EngineKind::Gpu);
}

/// Any other case dropped into `tests/golden` (beyond the named ones) runs too.
#[test]
fn every_case_file_of_the_repository_loads_and_passes_on_cpu() {
    let all = golden::all_cases();
    assert!(all.len() >= golden::CASES.len() + golden::MODEL_CASES.len());
    let others: Vec<&Case> = all.iter().filter(|c| !golden::CASES.contains(&c.name.as_str()) && !golden::MODEL_CASES.contains(&c.name.as_str())).collect();
    println!("{} further case(s) in tests/golden", others.len());
    let failures = check_cases("every_case_file_of_the_repository", &others, EngineKind::Cpu);
    assert!(failures.is_empty(), "golden cases failed:\n{}", failures.join("\n"));
}

#[test]
fn golden_cases_through_the_cli() {
    let mut failures = Vec::new();
    let dir = scratch_dir("golden-cli");
    for case in golden::all_cases() {
        let out = dir.join(&case.name);
        let got = run_cli_read(&case.path, "cpu", &out, &case.layout);
        assert!(out.join("summary.json").is_file(), "{}: no summary.json", case.name);
        let rep = case.compare(&got, &Tolerance::golden(), &format!("{} (cli)", case.name));
        println!("{rep}");
        if !rep.ok() {
            failures.push(rep.to_string());
        }
        // The files hold exactly what the library computes.
        let lib = run_cpu(&case.network, 1000);
        assert_bit_identical(&lib.layout, &got, &lib.data, &format!("{}: CLI .npy against library run", case.name));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "golden cases failed through the CLI:\n{}", failures.join("\n"));
}

/// The comparison itself must be able to fail: a perturbed run is rejected with the right
/// monitor named, and a moved spike is caught.
#[test]
fn the_comparison_rejects_wrong_runs() {
    for case in golden::all_cases() {
        let good = run_cpu(&case.network, 1000);
        for t in &case.expected.traces {
            let mi = monitor_index(&case.layout, &t.name);
            let mut bad = good.data.clone();
            let MonitorData::F32(v) = &mut bad[mi] else { unreachable!() };
            // step 3 of neuron 0 is before any spike in every case
            let n = case.layout.monitors[mi].neurons.len() * case.layout.batch;
            v[3 * n] += 0.01 + 0.01 * v[3 * n].abs();
            let rep = case.compare(&bad, &Tolerance::golden(), &case.name);
            assert!(!rep.ok(), "{}: a perturbed {} passed", case.name, t.name);
            assert!(rep.problems.iter().any(|p| p.starts_with(&t.name)), "{}: {rep}", case.name);
        }
        // Remove a spike (when there is one): the Partner rule finds no partner.
        let post = case.expected.spikes.first().map(|s| s.pop).expect("a case expects spikes of a population");
        let post_spike = case.layout.monitors.iter().position(|m| m.kind == Kind::Spike && m.pop == Some(post)).unwrap();
        if let Some(k) = spikes(&good.data[post_spike]).iter().position(|&x| x != 0) {
            let mut bad = good.data.clone();
            let MonitorData::Spike(s) = &mut bad[post_spike] else { unreachable!() };
            s[k] = 0;
            let rep = case.compare(&bad, &Tolerance::golden(), &case.name);
            assert!(!rep.ok(), "{}: a missing first spike passed", case.name);
        }
    }
}

/// The optional extra check: every case under `../shared/golden` (recursively, so new cases the
/// issue filer drops there are picked up), on every engine, dense update. A clone without
/// `../shared` passes without it and says so.
#[test]
fn shared_golden_cases_when_present() {
    let test = "shared_golden_cases_when_present";
    let Some(dir) = golden::shared_golden_dir() else {
        println!("{test}: NOT RUN: there is no ../shared/golden beside the checkout (an optional extra check)");
        return;
    };
    let paths = golden::json_files_under(&dir);
    assert!(!paths.is_empty(), "{test}: {} holds no case (*.json)", dir.display());
    println!("{test}: {} case(s) under {}", paths.len(), dir.display());
    let kinds = engines(test);
    let mut failures = Vec::new();
    for path in &paths {
        let case = golden::load(path);
        for &kind in &kinds {
            let got = run(kind, &case.network, UpdateMode::Dense, 500);
            let rep = case.compare(&got.data, &Tolerance::golden(), &format!("{} ({kind}, {})", case.name, path.display()));
            println!("{}", rep.verdict());
            if !rep.ok() {
                failures.push(rep.to_string());
            }
        }
    }
    assert!(failures.is_empty(), "{test}: cases of ../shared/golden failed:\n{}", failures.join("\n"));
}
