//! spikegpu: spiking neural networks with BrainPy's semantics, on the GPU through wgpu, with a
//! CPU reference engine that computes the same thing step for step.

pub mod cli;
pub mod cpu;
pub mod error;
pub mod gpu;
pub mod model;
pub mod output;
pub mod plot;
pub mod progress;
pub mod sim;

pub use error::{Error, Result};
pub use model::Network;
