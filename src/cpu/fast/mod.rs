//! The CPU engine's fast paths. Each computes what its reference twin in
//! [`super::reference`] computes, organised for the CPU (vectors, L1 blocks, active lists,
//! 16-bit indices), and is tested bit-identical to it.

pub mod columns;
pub mod event;
pub mod gating;
pub mod lif;
pub mod poisson;
pub mod post_synapse;
pub mod sliced;
pub(crate) mod tiles;
