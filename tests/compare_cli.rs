//! `spikegpu compare CASE.json DIR` and `spikegpu compare DIR REFERENCE_DIR`: exit 0 with an
//! `OK` last line when the golden README's rules hold, 1 with a `FAIL` last line otherwise, on
//! good outputs and on deliberately corrupted ones (a V beyond its tolerance, a spike moved by
//! five steps, one by one step); and, where `../shared/tools` exists, the same verdicts as its
//! Python tools (`compare_case.py`, `compare_outputs.py`) on every golden case.

mod common;

use common::golden;
use common::npy::edit_npy;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Exit status and last line of a command.
fn verdict(cmd: &mut Command) -> (i32, String) {
    let o = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let last = out.lines().last().unwrap_or_default().to_string();
    (o.status.code().unwrap_or(-1), last)
}

fn spikegpu_compare(a: &Path, b: &Path) -> (i32, String) {
    verdict(cli().arg("compare").arg(a).arg(b))
}

fn python(tool: &str, a: &Path, b: &Path) -> Option<(i32, String)> {
    let script = golden::shared_tools_dir()?.join(tool);
    Some(verdict(Command::new("python3").arg(script).arg(a).arg(b)))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

/// The corruptions: name, and what it does to an output folder (`None` when the case has no
/// spike to move).
type Corruption = (&'static str, fn(&Path) -> Option<()>);

/// V at step 3 of neuron 0, 0.01 mV (ten times the tolerance) off.
fn perturb_v(dir: &Path) -> Option<()> {
    let path = dir.join("V.npy");
    let (shape, _) = read_npy(&path);
    let width: usize = shape[1..].iter().product();
    edit_npy(&path, |d| {
        let Npy::F32(v) = d else { panic!("V is not f32") };
        v[3 * width] += 0.01;
    });
    Some(())
}

/// Moves the first spike of `spike.npy` by `by` steps (within the run).
fn move_first_spike(dir: &Path, by: usize) -> Option<()> {
    let path = dir.join("spike.npy");
    let (shape, _) = read_npy(&path);
    let width: usize = shape[1..].iter().product();
    let mut moved = None;
    edit_npy(&path, |d| {
        let Npy::U8(s) = d else { panic!("spikes are not u8") };
        if let Some(k) = s.iter().position(|&x| x != 0) {
            let to = k + by * width;
            if to < s.len() && s[to] == 0 {
                s[k] = 0;
                s[to] = 1;
                moved = Some(());
            }
        }
    });
    moved
}

const CORRUPTIONS: [Corruption; 3] = [("V off by 0.01 mV", perturb_v), ("a spike moved by 5 steps", |d| move_first_spike(d, 5)), ("a spike moved by 1 step", |d| move_first_spike(d, 1))];

/// Runs every golden case on the CPU engine into `dir/<case>`.
fn outputs(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    golden::all_cases()
        .iter()
        .map(|c| {
            let out = dir.join(&c.name);
            run_cli(&c.path, "cpu", &out, &[]);
            (c.path.clone(), out)
        })
        .collect()
}

#[test]
fn compare_gives_verdicts_on_good_and_corrupted_outputs() {
    let dir = scratch_dir("compare");
    for (case, out) in outputs(&dir) {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let (code, last) = spikegpu_compare(&case, &out);
        assert_eq!(code, 0, "{name}: a good output fails: {last}");
        assert!(last.starts_with(&format!("OK {name}")), "{name}: last line {last:?}");
        // two runs of one network: the CPU engine's event mode against its dense mode
        let event = dir.join(format!("{name}-event"));
        run_cli(&case, "cpu", &event, &["--mode", "event"]);
        let (code, last) = spikegpu_compare(&event, &out);
        assert_eq!(code, 0, "{name}: event against dense fails: {last}");
        assert!(last.starts_with("OK "), "{name}: last line {last:?}");
        // with the network (a case file is a network file too): exact layout, and propagation
        let (code, last) = verdict(cli().arg("compare").arg(&event).arg(&out).arg("--network").arg(&case).arg("--propagate"));
        assert_eq!(code, 0, "{name}: event against dense with --network fails: {last}");
        for (what, corrupt) in &CORRUPTIONS[..2] {
            let bad = dir.join(format!("{name}-bad"));
            let _ = std::fs::remove_dir_all(&bad);
            copy_dir(&out, &bad);
            if corrupt(&bad).is_none() {
                continue;
            }
            for (label, (code, last)) in [("case", spikegpu_compare(&case, &bad)), ("folders", spikegpu_compare(&bad, &out))] {
                assert_eq!(code, 1, "{name} ({label}): {what} passes: {last}");
                assert!(last.starts_with("FAIL "), "{name} ({label}): {what}: last line {last:?}");
            }
        }
    }
    // a missing folder is a failed comparison, not a crash
    let (code, last) = spikegpu_compare(&dir.join("nowhere"), &dir.join("seed_E0"));
    assert_eq!(code, 1, "{last}");
    assert!(last.starts_with("FAIL"), "{last}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same verdicts as `../shared/tools/compare_case.py` and `compare_outputs.py`, on good and
/// corrupted outputs of every golden case (an optional check: it needs `../shared` and python3).
#[test]
fn compare_agrees_with_the_python_tools() {
    let test = "compare_agrees_with_the_python_tools";
    if golden::shared_tools_dir().is_none() {
        println!("{test}: NOT RUN: there is no ../shared/tools beside the checkout (an optional extra check)");
        return;
    }
    if Command::new("python3").arg("--version").output().is_err() {
        println!("{test}: NOT RUN: no python3");
        return;
    }
    let dir = scratch_dir("compare-py");
    let mut checked = 0;
    for (case, out) in outputs(&dir) {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let both = |a: &Path, b: &Path, what: &str, case_mode: bool| {
            let rust = if case_mode { spikegpu_compare(&case, a) } else { spikegpu_compare(a, b) };
            let py = if case_mode { python("compare_case.py", &case, a) } else { python("compare_outputs.py", a, b) }.unwrap();
            println!("{name} {what}: spikegpu {} {:?} | python {} {:?}", rust.0, rust.1, py.0, py.1);
            assert_eq!(rust.0, py.0, "{name}, {what}: spikegpu compare says {:?}, the Python tool {:?}", rust.1, py.1);
            rust.0
        };
        assert_eq!(both(&out, &out, "good, against the case", true), 0, "{name}");
        assert_eq!(both(&out, &out, "good, against itself", false), 0, "{name}");
        for (what, corrupt) in CORRUPTIONS {
            let bad = dir.join(format!("{name}-bad"));
            let _ = std::fs::remove_dir_all(&bad);
            copy_dir(&out, &bad);
            if corrupt(&bad).is_none() {
                continue;
            }
            let expected = (what != "a spike moved by 1 step").then_some(1);
            // (a spike moved by one step passes or fails by the 2% rule alike in both modes:
            // checked against the case only, to keep the test short)
            let modes: &[bool] = if expected.is_some() { &[true, false] } else { &[true] };
            for &case_mode in modes {
                let code = both(&bad, &out, &format!("{what} ({})", if case_mode { "case" } else { "folders" }), case_mode);
                if let Some(e) = expected {
                    assert_eq!(code, e, "{name}: {what}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "only {checked} corrupted outputs compared");
    let _ = std::fs::remove_dir_all(&dir);
}
