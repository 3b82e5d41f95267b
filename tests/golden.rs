//! Every golden case (BrainPy 2.9.0 traces, `../shared/golden`) through the library's CPU engine
//! and through the command line (`spikegpu run --backend cpu`, .npy files read back), compared
//! with the golden README's rules. Run with `--nocapture` to see the largest error per monitor.
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

mod common;

use common::*;
use spikegpu::cpu::CpuEngine;

#[test]
fn golden_cases_through_the_library() {
    let mut failures = Vec::new();
    for path in golden_case_paths() {
        let case = load_golden(&path);
        for chunk in [1000, 7] {
            let mut eng = CpuEngine::new(&case.net).unwrap_or_else(|e| panic!("{}: {e}", case.name));
            let (got, _) = run_backend(&mut eng, &case.net, chunk);
            let rep = compare(&case.net, &got, &case.expected, &Tol::golden(), &format!("{} (library, chunk {chunk})", case.name));
            println!("{rep}");
            if !rep.ok() {
                failures.push(rep.to_string());
            }
            // Every monitored trace of the case is compared, and nothing is silently skipped.
            for t in &case.expected.traces {
                assert!(rep.monitor(&t.name).compared > 0, "{}: trace {} compared no values", case.name, t.name);
            }
        }
    }
    assert!(failures.is_empty(), "golden cases failed:\n{}", failures.join("\n"));
}

#[test]
fn golden_cases_through_the_cli() {
    let mut failures = Vec::new();
    let dir = scratch_dir("golden-cli");
    for path in golden_case_paths() {
        let case = load_golden(&path);
        let out = dir.join(&case.name);
        let got = run_cli(&path, "cpu", &out, &case.net);
        assert!(out.join("summary.json").is_file(), "{}: no summary.json", case.name);
        let rep = compare(&case.net, &got, &case.expected, &Tol::golden(), &format!("{} (cli)", case.name));
        println!("{rep}");
        if !rep.ok() {
            failures.push(rep.to_string());
        }
        // The files hold exactly what the library computes.
        let lib = run_cpu(&case.net, 1000);
        assert_bit_identical(&case.net, &got, &lib, &format!("{}: CLI .npy against library run", case.name));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "golden cases failed through the CLI:\n{}", failures.join("\n"));
}

/// The comparison itself must be able to fail: a perturbed run is rejected with the right
/// monitor named, and a moved spike is caught.
#[test]
fn the_comparison_rejects_wrong_runs() {
    for path in golden_case_paths() {
        let case = load_golden(&path);
        let good = run_cpu(&case.net, 1000);
        for t in &case.expected.traces {
            let mi = monitor_index(&case.net, &t.name);
            let mut bad = good.clone();
            let spikegpu::sim::MonitorData::F32(v) = &mut bad[mi] else { unreachable!() };
            // step 3 of neuron 0 is before any spike in every case
            let n = case.net.target_size(case.net.monitors[mi].target) * case.net.batch;
            v[3 * n] += 0.01 + 0.01 * v[3 * n].abs();
            let rep = compare(&case.net, &bad, &case.expected, &Tol::golden(), &case.name);
            assert!(!rep.ok(), "{}: a perturbed {} passed", case.name, t.name);
            assert!(rep.problems.iter().any(|p| p.starts_with(&t.name)), "{}: {rep}", case.name);
        }
        // Remove a spike (when there is one): the Partner rule finds no partner.
        let post_spike = case.net.monitors.iter().position(|m| m.target == spikegpu::model::Target::PopSpike(case.post)).unwrap();
        if let Some(k) = spikes(&good[post_spike]).iter().position(|&x| x != 0) {
            let mut bad = good.clone();
            let spikegpu::sim::MonitorData::Spike(s) = &mut bad[post_spike] else { unreachable!() };
            s[k] = 0;
            let rep = compare(&case.net, &bad, &case.expected, &Tol::golden(), &case.name);
            assert!(!rep.ok(), "{}: a missing first spike passed", case.name);
        }
    }
}
