//! One error type for the whole crate. Each variant says where the problem is and what it is,
//! so a user can fix a network file or a setup without reading the source.

use std::path::PathBuf;

/// Everything that can go wrong when loading, validating or running a network.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The network description is malformed or inconsistent. `path` is the JSON path of the
    /// offending field (e.g. `projections[0].connectivity.indices[5]`).
    #[error("{path}: {msg}")]
    Invalid {
        /// JSON path of the offending field.
        path: String,
        /// What is wrong with it.
        msg: String,
    },

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file that could not be read or written.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// No GPU adapter could be found or opened.
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),

    /// The network needs more of a resource than the adapter (or the machine) offers.
    #[error("{what}: needs {requested} bytes, but the limit is {available} bytes")]
    ResourceLimit {
        /// The resource that ran short (e.g. a buffer).
        what: String,
        /// Bytes the network needs.
        requested: u64,
        /// Bytes the adapter or machine allows.
        available: u64,
    },

    /// The GPU reported an error (validation, out of memory, lost device).
    #[error("GPU error: {0}")]
    Gpu(String),

    /// Writing outputs (npy, json, png) failed.
    #[error("output: {0}")]
    Output(String),

    /// A state variable became NaN or infinite (a current overflowed, a weight was too large):
    /// the run stops, naming where it happened.
    #[error("{what} is {value} at step {step}, neuron {neuron}{row}: the simulation diverged (check weights, dt and inputs)", row = batch_row.map_or(String::new(), |b| format!(" of batch row {b}")))]
    NonFinite {
        /// The variable: `population "E" V`, `projection "syn" g`.
        what: String,
        /// The step it was found after.
        step: usize,
        /// The neuron (within its batch row).
        neuron: usize,
        /// The batch row, when batched.
        batch_row: Option<usize>,
        /// The value (NaN or an infinity).
        value: f32,
    },

    /// The run was stopped by a signal (SIGINT, SIGTERM, SIGHUP) or by the caller (a sink that
    /// asks to stop, Python's Ctrl-C).
    #[error("interrupted{}", if .0.is_empty() { String::new() } else { format!(": {}", .0) })]
    Interrupted(String),

    /// A checkpoint could not be used (another network, another engine layout, a damaged file).
    #[error("checkpoint: {0}")]
    Checkpoint(String),
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(path: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Invalid { path: path.into(), msg: msg.into() }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
