//! spikegpu: spiking neural networks with BrainPy's semantics, on the GPU through wgpu, with a
//! CPU engine that computes the same thing step for step.
//!
//! Layers (`docs/ARCHITECTURE.md`): [`model`] (the description: file, builder, validation) →
//! [`plan`] (compiled once: derived parameters, the per-step schedule, the monitors) → the
//! engines ([`CpuEngine`], [`GpuEngine`]) → [`runtime`] (chunks, sinks) → [`api`].
//!
//! The seed example (BrainPy's `brainpy.dyn.AMPA` docs example) built in code and run on the CPU
//! engine:
//!
//! ```
//! // BrainPy's `brainpy.dyn.AMPA` docs example: one spike-time neuron -> AMPA (COBA, E = 0)
//! // -> one LifRef neuron, 1000 steps of 0.1 ms, run on the CPU engine.
//! use spikegpu::api::{run, EngineChoice};
//! use spikegpu::model::{Coba, Conn, LifRef, NetworkBuilder, Synapse, VInit, Weights};
//!
//! let mut b = NetworkBuilder::new(0.1, 1000);
//! let pre = b.spike_time_group("pre", 1, &[0, 0, 0, 0], &[10.0, 30.0, 50.0, 70.0]);
//! let post = b.lif_ref("post", 1, LifRef {
//!     v_rest: -60.0, v_th: -50.0, v_reset: -60.0, tau: 20.0, tau_ref: 5.0, r: 1.0,
//!     v_init: VInit::Scalar(-60.0),
//! });
//! let syn = b.projection("syn", pre, post, Synapse::ampa(), Conn::one_to_one(),
//!                        Weights::Shared(1.0), Coba { e: 0.0 });
//! b.monitor("g", syn.g());
//! b.monitor("V", post.v());
//! b.monitor("spike", post.spike());
//! let net = b.build()?;
//!
//! let traces = run(&net, EngineChoice::Cpu)?;
//! let v = traces.f32("V").unwrap();
//! assert_eq!(traces.shape("V"), vec![1000, 1]);
//! let peak = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
//! assert!(-56.3 < peak && peak < -56.1, "V peaks at {peak} mV (BrainPy: -56.19)");
//! assert_eq!(traces.spike_count("post"), Some(0));
//! # Ok::<(), spikegpu::Error>(())
//! ```

pub mod api;
mod cpu;
pub mod error;
mod gpu;
pub mod model;
pub mod plan;
pub mod runtime;

pub use api::{run, EngineChoice, RunOptions, Traces};
pub use cpu::{CpuEngine, ScatterThreads};
pub use error::{Error, Result};
pub use gpu::{adapters, probe, GpuContext, GpuEngine, GpuOptions};
pub use model::{Network, NetworkBuilder};
pub use plan::UpdateMode;
pub use runtime::Engine;

/// The kernels themselves, for this crate's benchmarks (`benches/`). Not part of the API: it
/// changes with the engines.
#[doc(hidden)]
pub mod internals {
    pub use crate::cpu::{fast, reference};
}
