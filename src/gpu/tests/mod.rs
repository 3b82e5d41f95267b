//! Tests of the GPU side: every kernel driven directly on the device against its CPU twin
//! (`src/cpu/reference/<stem>.rs`) on seeded random inputs, the shared `exp_poly` against the
//! CPU's, and the host/shader layout contract (no device needed). See [`harness`] for the method.

mod harness;
mod layout;

mod csr_gather;
mod event;
mod lif_update;
mod math;
mod poisson_input;
mod post_synapse;
mod pre_synapse;
mod record;
mod spike_input;
mod spike_scatter;
