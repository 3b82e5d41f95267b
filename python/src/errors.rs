//! spikegpu's errors as the Python exceptions users catch.

use pyo3::create_exception;
use pyo3::exceptions::{
    PyFileNotFoundError, PyFloatingPointError, PyKeyboardInterrupt, PyMemoryError, PyOSError, PyPermissionError,
    PyRuntimeError, PyValueError,
};
use pyo3::PyErr;
use spikegpu::Error;

create_exception!(
    spikegpu,
    ResourceError,
    PyMemoryError,
    "The network needs more of a resource (a GPU buffer, device memory) than the device or the \
     machine offers. A subclass of MemoryError, as NumPy's error for an array too large to allocate \
     is: `except MemoryError` catches it. The message names the resource, the bytes needed and the \
     limit."
);

/// The Python exception for a spikegpu error:
/// - `Invalid` (a bad network or argument): `ValueError`, the message starting with the field
///   path (`projections[0].weight: has 3 values, ...`);
/// - `ResourceLimit`: [`ResourceError`] (a `MemoryError`);
/// - `Io`: `FileNotFoundError`, `PermissionError` or `OSError`;
/// - `NonFinite` (the simulation diverged): `FloatingPointError`;
/// - `Interrupted`: `KeyboardInterrupt` (when no Python exception caused it);
/// - no GPU adapter, a GPU error, output or checkpoint trouble: `RuntimeError`.
pub fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Invalid { .. } => PyValueError::new_err(msg),
        Error::ResourceLimit { .. } => ResourceError::new_err(msg),
        Error::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
            std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
            _ => PyOSError::new_err(msg),
        },
        Error::NonFinite { .. } => PyFloatingPointError::new_err(msg),
        Error::Interrupted(_) => PyKeyboardInterrupt::new_err(msg),
        Error::Output(_) => PyOSError::new_err(msg),
        _ => PyRuntimeError::new_err(msg),
    }
}

/// A `ValueError` for an argument, in the Rust crate's form `path: problem`.
pub fn invalid(path: &str, msg: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("{path}: {msg}"))
}
