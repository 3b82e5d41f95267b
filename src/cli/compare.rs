//! `spikegpu compare`: an output folder against a golden case (`compare CASE.json DIR`) or
//! against another output folder (`compare DIR REFERENCE_DIR`), with the golden README's rules
//! (`spikegpu::runtime::compare`). Prints the report, then a one-line verdict (`OK ...` or
//! `FAIL ...`, as the Python tools do); the exit status is 0 when everything holds and 1
//! otherwise.

use spikegpu::model::file;
use spikegpu::runtime::compare::{compare_recorded, open_output_dir, read_output_dir, Case, Expected, Layout, Report, Tolerance};
use spikegpu::Result;
use std::path::Path;

/// Runs the comparison and returns the exit status.
pub(crate) fn compare(a: &Path, b: &Path, network: Option<&Path>, tol: &Tolerance) -> i32 {
    match report(a, b, network, tol) {
        Ok(rep) => {
            print!("{rep}");
            println!("{}", rep.verdict());
            if rep.ok() {
                0
            } else {
                1
            }
        }
        Err(e) => {
            println!("FAIL: {e}");
            1
        }
    }
}

fn report(a: &Path, b: &Path, network: Option<&Path>, tol: &Tolerance) -> Result<Report> {
    if a.is_file() {
        // a golden case and the output folder of a run of its network
        let case = Case::load(a)?;
        let got = read_output_dir(b, &case.layout)?;
        return Ok(compare_recorded(&case.layout, &got, &case.expected, tol, &case.name));
    }
    // two output folders: `a` against the reference `b`
    let (layout, reference) = match network {
        Some(path) => {
            let layout = Layout::of_network(&file::load(path)?)?;
            let reference = read_output_dir(b, &layout)?;
            (layout, reference)
        }
        None => open_output_dir(b)?,
    };
    let got = read_output_dir(a, &layout)?;
    let label = format!("{} against {}", a.display(), b.display());
    Ok(compare_recorded(&layout, &got, &Expected::from_recorded(&layout, &reference), tol, &label))
}
