//! The per-step schedule as data: one [`Phase`] per kernel invocation, in BrainPy's order
//! (SEMANTICS-models section 1). Both engines walk [`super::Plan::schedule`] and nothing else
//! decides the order of a step.

/// One kernel run of a step. Each variant is one kernel: `shaders/<stem>.wgsl` and its CPU twin
/// `src/cpu/reference/<stem>.rs` (the stem is in each variant's doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// `spike_input`: the events of this step of spike source `source` into its stamp ring.
    SpikeInput {
        /// Index into [`super::Plan::sources`].
        source: usize,
    },
    /// `pre_synapse`: pre-aligned synapse group `group` takes this step's spikes of its pre
    /// population and writes its output into its history ring (the after-update of the pre).
    PreSynapse {
        /// Index into [`super::Plan::groups`].
        group: usize,
    },
    /// `csr_gather`: projection `proj`'s post-major product of its group's (delayed) output
    /// into its conductance slot (dense mode).
    CsrGather {
        /// Index into [`super::Plan::projections`].
        proj: usize,
    },
    /// `event_scatter`: the fixed-point increments of projection `proj`'s pre neurons inside
    /// their transmitter window (AMPA/GABAa, event mode).
    WindowScatter {
        /// Index into [`super::Plan::projections`].
        proj: usize,
    },
    /// `event_finalize`: `y = d y + increments` into projection `proj`'s slot (after
    /// [`Phase::WindowScatter`]).
    WindowFinalize {
        /// Index into [`super::Plan::projections`].
        proj: usize,
    },
    /// `spike_scatter`: projection `proj`'s delayed pre spikes times their weights into its
    /// accumulator, in fixed point.
    SpikeScatter {
        /// Index into [`super::Plan::projections`].
        proj: usize,
    },
    /// `post_synapse`: accumulator-fed state `acc` takes its accumulated input, steps, and binds
    /// its conductance into its neuron slot (a post-aligned synapse's before-update of the
    /// post, or the post-side aggregate of a linear pre-aligned synapse in event mode).
    PostSynapse {
        /// Index into [`super::Plan::accumulators`].
        acc: usize,
    },
    /// `poisson_input`: this step's counts of Poisson input `input`, times its weight, into its
    /// population's V or its accumulator's current slot.
    PoissonInput {
        /// Index into [`super::Plan::inputs`].
        input: usize,
    },
    /// `lif_update`: one step of LIF population `neuron`.
    NeuronUpdate {
        /// Index into [`super::Plan::neurons`].
        neuron: usize,
    },
}

impl Phase {
    /// The kernel's stem (`shaders/<stem>.wgsl`, `src/cpu/reference/<stem>.rs`).
    pub fn kernel(&self) -> &'static str {
        match self {
            Phase::SpikeInput { .. } => "spike_input",
            Phase::PreSynapse { .. } => "pre_synapse",
            Phase::CsrGather { .. } => "csr_gather",
            Phase::WindowScatter { .. } => "event_scatter",
            Phase::WindowFinalize { .. } => "event_finalize",
            Phase::SpikeScatter { .. } => "spike_scatter",
            Phase::PostSynapse { .. } => "post_synapse",
            Phase::PoissonInput { .. } => "poisson_input",
            Phase::NeuronUpdate { .. } => "lif_update",
        }
    }
}
