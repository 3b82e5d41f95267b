//! The GPU engine: device context, WGSL kernels with typed bindings, the step program built
//! from the plan's schedule, and the chunked orchestrator.

pub(crate) mod buffers;
pub(crate) mod context;
pub(crate) mod engine;
pub(crate) mod kernels;
pub mod probe;
pub(crate) mod program;
pub(crate) mod uniforms;

#[cfg(test)]
mod tests;

pub use context::{adapters, GpuContext};
pub use engine::{GpuEngine, GpuOptions};
