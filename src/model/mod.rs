//! The network description: plain, validated data with no backend state.
//!
//! Two doors lead here: the JSON network file ([`mod@file`]) and the Rust builder ([`builder`]).
//! Both end in [`Network::validate`], so a network built in code gets exactly the checks a
//! file gets. Backends never see unvalidated data.

pub mod builder;
pub mod csr;
pub mod file;
pub mod generate;
pub mod plan;
pub(crate) mod validate;

pub use csr::Csr;
pub use plan::Plan;

/// A whole simulation: populations, projections between them, what to record, and for how long.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// Time step in ms, as given (f64, because delays use `ceil(delay / dt)` in f64 as BrainPy does).
    pub dt: f64,
    /// Number of steps to run.
    pub steps: usize,
    /// Independent copies of the network sharing connectivity and inputs.
    pub batch: usize,
    /// Neuron groups, referenced by index elsewhere.
    pub populations: Vec<Population>,
    /// Synaptic connections between populations.
    pub projections: Vec<Projection>,
    /// Variables to record.
    pub monitors: Vec<Monitor>,
}

/// A group of neurons of one model.
#[derive(Clone, Debug, PartialEq)]
pub struct Population {
    /// Population name, unique in the network.
    pub name: String,
    /// Number of neurons.
    pub size: usize,
    /// Neuron model and its parameters.
    pub model: NeuronModel,
}

/// The neuron models spikegpu knows.
#[derive(Clone, Debug, PartialEq)]
pub enum NeuronModel {
    /// BrainPy's `SpikeTimeGroup`: neuron `indices[k]` fires at `times[k]` ms.
    SpikeTimes(SpikeTimes),
    /// BrainPy's `LifRef`: leaky integrate-and-fire with an absolute refractory period.
    LifRef(LifRef),
}

/// Spike events of a spike-time group, kept in the file's order (sorting happens in [`Plan`]).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SpikeTimes {
    /// Neuron of each spike event.
    pub indices: Vec<u32>,
    /// Spike times in ms, already rounded to f32 as BrainPy stores them.
    pub times: Vec<f32>,
    /// The batch row of each event, or empty: every event in every row (BrainPy's sources are
    /// shared by the batch). Per-row events give each batch copy its own input.
    pub rows: Vec<u32>,
}

/// `LifRef` parameters and initial state.
#[derive(Clone, Debug, PartialEq)]
pub struct LifRef {
    /// Resting potential, mV.
    pub v_rest: f32,
    /// Spike threshold, mV.
    pub v_th: f32,
    /// Reset potential after a spike, mV.
    pub v_reset: f32,
    /// Membrane time constant, ms.
    pub tau: f32,
    /// Refractory period, ms.
    pub tau_ref: f32,
    /// Membrane resistance.
    pub r: f32,
    /// Initial membrane potential, mV.
    pub v_init: VInit,
}

/// The initial membrane potential: one value, one per neuron, or one row per batch copy.
#[derive(Clone, Debug, PartialEq)]
pub enum VInit {
    /// One value for every neuron.
    Scalar(f32),
    /// One value per neuron, shared by all batch copies.
    PerNeuron(Vec<f32>),
    /// One row of per-neuron values per batch copy.
    PerBatch(Vec<Vec<f32>>),
}

impl VInit {
    /// The batch-major (`b * n + i`) initial V for `batch` copies of `n` neurons.
    pub fn expand(&self, batch: usize, n: usize) -> Vec<f32> {
        match self {
            VInit::Scalar(v) => vec![*v; batch * n],
            VInit::PerNeuron(v) => (0..batch).flat_map(|_| v.iter().copied()).collect(),
            VInit::PerBatch(rows) => rows.iter().flat_map(|r| r.iter().copied()).collect(),
        }
    }
}

impl Population {
    /// The LIF parameters, when this is a LIF population.
    pub fn lif(&self) -> Option<&LifRef> {
        match &self.model {
            NeuronModel::LifRef(p) => Some(p),
            NeuronModel::SpikeTimes(_) => None,
        }
    }
}

/// The kinetic synapse models (two-state Markov gating, BrainPy's `AMPA` and `GABAa`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SynapseKind {
    /// Excitatory AMPA receptor.
    Ampa,
    /// Inhibitory GABAa receptor.
    Gabaa,
}

/// Gating-variable parameters: `dg/dt = alpha * TT * (1 - g) - beta * g`, with `TT = T` for
/// `T_dur` ms after each pre spike.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Synapse {
    /// Which kinetic model.
    pub kind: SynapseKind,
    /// Opening rate, 1/(mM ms).
    pub alpha: f32,
    /// Closing rate, 1/ms.
    pub beta: f32,
    /// Transmitter concentration during the pulse (`T`).
    pub t_conc: f32,
    /// Pulse duration in ms (`T_dur`).
    pub t_dur: f32,
}

impl Synapse {
    /// BrainPy's defaults for each model (`bio_models.py`). GABAa's docstring is wrong; these are
    /// the values its code uses.
    pub fn default_for(kind: SynapseKind) -> Synapse {
        match kind {
            SynapseKind::Ampa => Synapse { kind, alpha: 0.98, beta: 0.18, t_conc: 0.5, t_dur: 0.5 },
            SynapseKind::Gabaa => Synapse { kind, alpha: 0.53, beta: 0.18, t_conc: 1.0, t_dur: 1.0 },
        }
    }

    /// Whether two projections from one pre population can share one gating state (BrainPy's
    /// `ProjAlignPreMg2` merges identical synapse descriptions). Bitwise comparison, because
    /// "identical" means the same parameters, not numerically close ones.
    pub fn same_state_as(&self, other: &Synapse) -> bool {
        self.kind == other.kind
            && self.alpha.to_bits() == other.alpha.to_bits()
            && self.beta.to_bits() == other.beta.to_bits()
            && self.t_conc.to_bits() == other.t_conc.to_bits()
            && self.t_dur.to_bits() == other.t_dur.to_bits()
    }
}

/// Synaptic weights: one for all synapses (no weight array anywhere), or one per synapse in
/// pre-major CSR order.
#[derive(Clone, Debug, PartialEq)]
pub enum Weights {
    /// One weight for every synapse.
    Shared(f32),
    /// One weight per synapse, in pre-major CSR order.
    PerSynapse(Vec<f32>),
}

/// How a projection's conductance enters the post neuron: `I = g_post * (E - V)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coba {
    /// Reversal potential, mV.
    pub e: f32,
}

/// A `ProjAlignPreMg2` projection: pre gating state, optional delay, CSR product, COBA output.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// Projection name, unique in the network.
    pub name: String,
    /// Index into [`Network::populations`].
    pub pre: usize,
    /// Index into [`Network::populations`]; always a LIF population.
    pub post: usize,
    /// Gating-variable parameters.
    pub synapse: Synapse,
    /// Delay of the gating state in ms; `None` means none.
    pub delay_ms: Option<f64>,
    /// Pre-major (rows = pre, columns = post) connectivity, as BrainPy and SciPy store it.
    pub conn: Csr,
    /// Synaptic weights.
    pub weights: Weights,
    /// Conductance-based output onto the post neuron.
    pub output: Coba,
}

/// One recorded variable.
#[derive(Clone, Debug, PartialEq)]
pub struct Monitor {
    /// The output name (file `<name>.npy`).
    pub name: String,
    /// The recorded variable.
    pub target: Target,
    /// How the file stores it.
    pub format: MonitorFormat,
}

/// How a monitor's `.npy` file stores its values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MonitorFormat {
    /// One row per step: `[steps, n]` or `[steps, batch, n]`.
    #[default]
    Dense,
    /// Spikes only (`<population>.spike_events`): one row per spike, `[k, 2]` int32 (step, neuron), or
    /// `[k, 3]` (step, batch row, neuron) when batched, in step order (like Brian2's SpikeMonitor).
    Events,
}

/// What a monitor records. Indices point into the network's population/projection lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// `<projection>.g`: the (undelayed) gating state, pre-sized.
    ProjG(usize),
    /// `<projection>.current`: this projection's current computed with the new V.
    ProjCurrent(usize),
    /// `<population>.V` (LIF only).
    PopV(usize),
    /// `<population>.spike` (any population).
    PopSpike(usize),
    /// `<population>.current`: all synaptic currents with the new V (as BrainPy's docs record it).
    PopCurrent(usize),
    /// `<population>.input`: the current that drove the step (old V).
    PopInput(usize),
}

impl Network {
    /// Number of elements per step a monitor writes (`batch * n`).
    pub fn monitor_width(&self, target: Target) -> usize {
        self.batch * self.target_size(target)
    }

    /// Neurons (or pre neurons, for `g`) a target covers in one batch row.
    pub fn target_size(&self, target: Target) -> usize {
        match target {
            Target::ProjG(p) => self.populations[self.projections[p].pre].size,
            Target::ProjCurrent(p) => self.populations[self.projections[p].post].size,
            Target::PopV(i) | Target::PopSpike(i) | Target::PopCurrent(i) | Target::PopInput(i) => {
                self.populations[i].size
            }
        }
    }

    /// The `.npy` shape of a monitor: `[steps, n]`, or `[steps, batch, n]` when batched.
    pub fn monitor_shape(&self, target: Target) -> Vec<usize> {
        let n = self.target_size(target);
        if self.batch > 1 {
            vec![self.steps, self.batch, n]
        } else {
            vec![self.steps, n]
        }
    }

    /// The textual form of a target, as written in the file (`post.V`, `syn.g`).
    pub fn target_name(&self, target: Target) -> String {
        let pop = |i: usize| self.populations[i].name.as_str();
        let proj = |i: usize| self.projections[i].name.as_str();
        match target {
            Target::ProjG(p) => format!("{}.g", proj(p)),
            Target::ProjCurrent(p) => format!("{}.current", proj(p)),
            Target::PopV(i) => format!("{}.V", pop(i)),
            Target::PopSpike(i) => format!("{}.spike", pop(i)),
            Target::PopCurrent(i) => format!("{}.current", pop(i)),
            Target::PopInput(i) => format!("{}.input", pop(i)),
        }
    }

    /// A copy without the connectivity arrays (engines keep the plan's post-major copy and need
    /// the description only for names, sizes and monitors; at 1e8 synapses a full copy is
    /// 400 MB).
    pub fn without_connectivity(&self) -> Network {
        Network {
            dt: self.dt,
            steps: self.steps,
            batch: self.batch,
            populations: self.populations.clone(),
            projections: self
                .projections
                .iter()
                .map(|p| Projection {
                    name: p.name.clone(),
                    pre: p.pre,
                    post: p.post,
                    synapse: p.synapse,
                    delay_ms: p.delay_ms,
                    conn: Csr { n_rows: p.conn.n_rows, n_cols: p.conn.n_cols, indptr: Vec::new(), indices: Vec::new() },
                    weights: match &p.weights {
                        Weights::Shared(w) => Weights::Shared(*w),
                        Weights::PerSynapse(_) => Weights::PerSynapse(Vec::new()),
                    },
                    output: p.output,
                })
                .collect(),
            monitors: self.monitors.clone(),
        }
    }

    /// Total synapse count over all projections.
    pub fn synapse_count(&self) -> u64 {
        self.projections.iter().map(|p| p.conn.nnz() as u64).sum()
    }

    /// `dt` as the f32 every kernel uses.
    pub fn dt_f32(&self) -> f32 {
        self.dt as f32
    }

    /// The time of step `i`, `f32(i) * f32(dt)`, rounded before any further use (BrainPy's
    /// `t = i * dt` in float32). Both engines call this one function.
    pub fn time_of_step(&self, i: usize) -> f32 {
        step_time(i, self.dt_f32())
    }
}

/// `f32(i) * dt`, the time of step `i` (SEMANTICS: t is rounded before any comparison).
#[inline]
pub fn step_time(i: usize, dt: f32) -> f32 {
    i as f32 * dt
}
