//! The GPU engine: device context, WGSL kernels, and the chunked step orchestrator.

pub mod context;
pub mod engine;
pub mod kernels;

pub use context::GpuContext;
pub use engine::{GpuEngine, GpuOptions};
