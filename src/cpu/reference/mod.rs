//! The CPU twins of the shaders, written loop for loop like them, one file per kernel with the
//! shader's stem (`shaders/<stem>.wgsl`). They are the reference: the GPU kernels and the CPU
//! engine's fast paths ([`super::fast`]) are tested against them, and the engine calls them
//! directly where it has no faster path.

pub mod csr_gather;
pub mod event_finalize;
pub mod event_scatter;
pub mod lif_update;
pub mod math;
pub mod output;
pub mod poisson_input;
pub mod post_synapse;
pub mod pre_synapse;
pub mod record;
pub mod spike_input;
pub mod spike_scatter;
pub mod synapse;

#[cfg(test)]
mod analytic_tests;
