//! `spikegpu._spikegpu`: the Python extension module of spikegpu.
//!
//! A thin layer over the crate's public API (`docs/PYTHON.md`): it converts Python values
//! (numbers, NumPy arrays, SciPy matrices) into the builder's values, runs through
//! `api::open` + `Engine::run`, and hands the monitors back as NumPy arrays that own the Rust
//! buffers. BrainPy's defaults, every check and every error message come from the Rust crate;
//! what this module adds is conversion. The user-facing package (`python/spikegpu/`) wraps it
//! with the progress bar, the result object and the BrainPy bridge.

mod convert;
mod errors;
mod models;
mod network;
mod run;

use pyo3::prelude::*;

/// The native part of spikegpu. Import `spikegpu` instead: it re-exports everything here.
#[pymodule]
fn _spikegpu(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ResourceError", py.get_type::<errors::ResourceError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    models::register(m)?;
    m.add_class::<network::PyNetwork>()?;
    m.add_class::<network::PopHandle>()?;
    m.add_class::<network::ProjHandle>()?;
    m.add_function(wrap_pyfunction!(run::step_times, m)?)?;
    Ok(())
}
