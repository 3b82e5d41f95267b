//! The network description: plain, validated data with no engine state.
//!
//! Two doors lead here: the JSON network file ([`mod@file`]) and the Rust builder ([`builder`]).
//! The file reader drives the builder, so BrainPy's defaults and every check exist once; both
//! end in [`Network::validate`]. Engines never see unvalidated data.

pub mod builder;
pub mod counts;
pub mod csr;
pub mod estimate;
pub mod file;
pub mod generate;
mod json;
pub(crate) mod validate;
pub mod warnings;

pub use builder::{Conn, DelaySpec, InputSpec, NetworkBuilder, PopRef, ProjRef, TargetRef, WeightSpec};
pub use csr::Csr;

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
    /// Poisson inputs (BrainPy's `PoissonInput`), drawn by the engine every step.
    pub inputs: Vec<PoissonInput>,
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
    /// A constant input current given every step (BrainPy's `pop.update(I_ext)`); LIF models only.
    pub i_ext: Option<IExt>,
}

/// The neuron models spikegpu knows.
#[derive(Clone, Debug, PartialEq)]
pub enum NeuronModel {
    /// BrainPy's `SpikeTimeGroup`: neuron `indices[k]` fires at `times[k]` ms.
    SpikeTimes(SpikeTimes),
    /// BrainPy's `LifRef`: leaky integrate-and-fire with an absolute refractory period.
    LifRef(LifRef),
    /// BrainPy's `Lif`: leaky integrate-and-fire without a refractory period.
    Lif(Lif),
}

/// Spike events of a spike-time group, kept in the file's order (sorting happens in the plan).
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

/// `LifRef` parameters and initial state (BrainPy's defaults: [`LifRef::brainpy_defaults`]).
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

/// `Lif` parameters and initial state (BrainPy's defaults: [`Lif::brainpy_defaults`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Lif {
    /// Resting potential, mV.
    pub v_rest: f32,
    /// Spike threshold, mV.
    pub v_th: f32,
    /// Reset potential after a spike, mV.
    pub v_reset: f32,
    /// Membrane time constant, ms.
    pub tau: f32,
    /// Membrane resistance.
    pub r: f32,
    /// Initial membrane potential, mV.
    pub v_init: VInit,
}

impl LifRef {
    /// BrainPy's `LifRef` defaults (`lif.py`), the same values a network file gets for omitted
    /// fields: `V_rest = 0`, `V_th = 20`, `V_reset = -5`, `tau = 10`, `tau_ref = 0`, `R = 1`,
    /// `V_init = 0`. Change fields with struct update syntax:
    /// `LifRef { tau_ref: 5.0, ..LifRef::brainpy_defaults() }`.
    pub fn brainpy_defaults() -> LifRef {
        let l = Lif::brainpy_defaults();
        LifRef { v_rest: l.v_rest, v_th: l.v_th, v_reset: l.v_reset, tau: l.tau, tau_ref: 0.0, r: l.r, v_init: l.v_init }
    }
}

impl Lif {
    /// BrainPy's `Lif` defaults (`LifLTC`, `lif.py`): `V_rest = 0`, `V_th = 20`, `V_reset = -5`,
    /// `tau = 10`, `R = 1`, `V_init = 0`.
    pub fn brainpy_defaults() -> Lif {
        Lif { v_rest: 0.0, v_th: 20.0, v_reset: -5.0, tau: 10.0, r: 1.0, v_init: VInit::Scalar(0.0) }
    }
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
    /// Drawn from a normal distribution (BrainPy's `bp.init.Normal(mean, sd)`), reproducibly
    /// from `seed`, independently for every neuron of every batch row
    /// ([`generate::normal`]).
    Normal {
        /// Mean, mV.
        mean: f32,
        /// Standard deviation, mV.
        sd: f32,
        /// RNG seed.
        seed: u64,
    },
}

/// A constant input current (BrainPy's `update(x)` argument): one value, or one per neuron.
/// Batch copies share it.
#[derive(Clone, Debug, PartialEq)]
pub enum IExt {
    /// The same current for every neuron.
    Scalar(f32),
    /// One current per neuron.
    PerNeuron(Vec<f32>),
}

impl Population {
    /// Whether this is a LIF population (a `lif_ref` or `lif`; everything but a spike source).
    pub fn is_lif(&self) -> bool {
        !matches!(self.model, NeuronModel::SpikeTimes(_))
    }

    /// The model's name as the network file spells it.
    pub fn model_name(&self) -> &'static str {
        match self.model {
            NeuronModel::SpikeTimes(_) => "spike_times",
            NeuronModel::LifRef(_) => "lif_ref",
            NeuronModel::Lif(_) => "lif",
        }
    }
}

/// The two kinetic synapse models (BrainPy's `AMPA` and `GABAa`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SynapseKind {
    /// Excitatory AMPA receptor.
    Ampa,
    /// Inhibitory GABAa receptor.
    Gabaa,
}

/// Two-state kinetic gating: `dg/dt = alpha * TT * (1 - g) - beta * g`, with `TT = T` for
/// `T_dur` ms after each pre spike (BrainPy's `AMPA`, `GABAa`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Kinetic {
    /// Opening rate, 1/(mM ms).
    pub alpha: f32,
    /// Closing rate, 1/ms.
    pub beta: f32,
    /// Transmitter concentration during the pulse (`T`), mM.
    pub t_conc: f32,
    /// Pulse duration in ms (`T_dur`).
    pub t_dur: f32,
}

/// A synapse model and its parameters (BrainPy's `brainpy.dyn` synapses). Omitted parameters in
/// a file take BrainPy's defaults, the values of the constructors here.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Synapse {
    /// `bp.dyn.AMPA` (pre-aligned only).
    Ampa(Kinetic),
    /// `bp.dyn.GABAa` (pre-aligned only).
    Gabaa(Kinetic),
    /// `bp.dyn.Expon`: `dg/dt = -g/tau`, a spike adds 1 (pre- or post-aligned).
    Expon {
        /// Decay time constant, ms (default 8).
        tau: f32,
    },
    /// `bp.dyn.DualExpon`: `dh/dt = -h/tau_rise`, `dg/dt = -g/tau_decay + h`, a spike adds
    /// `a` to `h` (pre-aligned only).
    DualExpon {
        /// Decay time constant, ms (default 10).
        tau_decay: f32,
        /// Rise time constant, ms (default 1).
        tau_rise: f32,
        /// BrainPy's `A`, or `None` for its peak normaliser.
        a: Option<f32>,
    },
    /// `bp.dyn.DualExponV2`: two independent decays, output `A (g_decay - g_rise)`
    /// (pre- or post-aligned).
    DualExponV2 {
        /// Decay time constant, ms (default 10).
        tau_decay: f32,
        /// Rise time constant, ms (default 1).
        tau_rise: f32,
        /// BrainPy's `A`, or `None` for its peak normaliser.
        a: Option<f32>,
    },
    /// `bp.dyn.Alpha`: `dh/dt = -h/tau`, `dg/dt = -g/tau + h/tau`, a spike adds 1 to `h`
    /// (pre-aligned only).
    Alpha {
        /// Time constant, ms (default 10).
        tau_decay: f32,
    },
    /// `bp.dyn.NMDA`: `dg/dt = -g/tau_decay + a x (1 - g)`, `dx/dt = -x/tau_rise`, a spike adds
    /// 1 to `x` (pre-aligned only).
    Nmda {
        /// Rate of the saturating rise, 1/ms (default 0.5).
        a: f32,
        /// Decay time constant of g, ms (default 100).
        tau_decay: f32,
        /// Decay time constant of x, ms (default 2).
        tau_rise: f32,
    },
}

impl Synapse {
    /// BrainPy's `AMPA` with its default parameters (`alpha = 0.98`, `beta = 0.18`, `T = 0.5`,
    /// `T_dur = 0.5`).
    pub fn ampa() -> Synapse {
        Synapse::default_for(SynapseKind::Ampa)
    }

    /// BrainPy's `GABAa` with the defaults its code uses (`alpha = 0.53`, `beta = 0.18`,
    /// `T = 1.0`, `T_dur = 1.0`; its docstring's values are wrong).
    pub fn gabaa() -> Synapse {
        Synapse::default_for(SynapseKind::Gabaa)
    }

    /// BrainPy's defaults for a kinetic model (`bio_models.py`).
    pub fn default_for(kind: SynapseKind) -> Synapse {
        match kind {
            SynapseKind::Ampa => Synapse::Ampa(Kinetic { alpha: 0.98, beta: 0.18, t_conc: 0.5, t_dur: 0.5 }),
            SynapseKind::Gabaa => Synapse::Gabaa(Kinetic { alpha: 0.53, beta: 0.18, t_conc: 1.0, t_dur: 1.0 }),
        }
    }

    /// `Expon` with BrainPy's default `tau = 8`.
    pub fn expon() -> Synapse {
        Synapse::Expon { tau: 8.0 }
    }

    /// `DualExpon` with BrainPy's defaults (`tau_decay = 10`, `tau_rise = 1`, `A` normalised).
    pub fn dual_expon() -> Synapse {
        Synapse::DualExpon { tau_decay: 10.0, tau_rise: 1.0, a: None }
    }

    /// `DualExponV2` with BrainPy's defaults (`tau_decay = 10`, `tau_rise = 1`, `A` normalised).
    pub fn dual_expon_v2() -> Synapse {
        Synapse::DualExponV2 { tau_decay: 10.0, tau_rise: 1.0, a: None }
    }

    /// `Alpha` with BrainPy's default `tau_decay = 10`.
    pub fn alpha() -> Synapse {
        Synapse::Alpha { tau_decay: 10.0 }
    }

    /// `NMDA` with BrainPy's defaults (`a = 0.5`, `tau_decay = 100`, `tau_rise = 2`).
    pub fn nmda() -> Synapse {
        Synapse::Nmda { a: 0.5, tau_decay: 100.0, tau_rise: 2.0 }
    }

    /// The model's name as the network file spells it.
    pub fn model_name(&self) -> &'static str {
        match self {
            Synapse::Ampa(_) => "ampa",
            Synapse::Gabaa(_) => "gabaa",
            Synapse::Expon { .. } => "expon",
            Synapse::DualExpon { .. } => "dual_expon",
            Synapse::DualExponV2 { .. } => "dual_expon_v2",
            Synapse::Alpha { .. } => "alpha",
            Synapse::Nmda { .. } => "nmda",
        }
    }

    /// The kinetic parameters of an AMPA/GABAa synapse.
    pub fn kinetic(&self) -> Option<&Kinetic> {
        match self {
            Synapse::Ampa(k) | Synapse::Gabaa(k) => Some(k),
            _ => None,
        }
    }

    /// Whether BrainPy lets this model be aligned on the post side (it needs `add_current`).
    pub fn allows_post_alignment(&self) -> bool {
        matches!(self, Synapse::Expon { .. } | Synapse::DualExponV2 { .. })
    }

    /// The states besides `g` that can be monitored (`<proj>.h`, ...), by their monitor names.
    pub fn extra_states(&self) -> &'static [SynState] {
        match self {
            Synapse::Ampa(_) | Synapse::Gabaa(_) | Synapse::Expon { .. } => &[],
            Synapse::DualExpon { .. } | Synapse::Alpha { .. } => &[SynState::H],
            Synapse::DualExponV2 { .. } => &[SynState::GRise, SynState::GDecay],
            Synapse::Nmda { .. } => &[SynState::X],
        }
    }

    /// The parameters as (name, value) pairs, for comparisons and reports.
    pub fn params(&self) -> Vec<(&'static str, Option<f32>)> {
        match *self {
            Synapse::Ampa(k) | Synapse::Gabaa(k) => {
                vec![("alpha", Some(k.alpha)), ("beta", Some(k.beta)), ("T", Some(k.t_conc)), ("T_dur", Some(k.t_dur))]
            }
            Synapse::Expon { tau } => vec![("tau", Some(tau))],
            Synapse::DualExpon { tau_decay, tau_rise, a } | Synapse::DualExponV2 { tau_decay, tau_rise, a } => {
                vec![("tau_decay", Some(tau_decay)), ("tau_rise", Some(tau_rise)), ("A", a)]
            }
            Synapse::Alpha { tau_decay } => vec![("tau_decay", Some(tau_decay))],
            Synapse::Nmda { a, tau_decay, tau_rise } => vec![("a", Some(a)), ("tau_decay", Some(tau_decay)), ("tau_rise", Some(tau_rise))],
        }
    }

    /// Whether two synapses share one state when they hang on one population (BrainPy merges
    /// identical synapse descriptions). Bitwise comparison: "identical" means the same
    /// parameters, not numerically close ones.
    pub fn same_state_as(&self, other: &Synapse) -> bool {
        let bits = |s: &Synapse| s.params().into_iter().map(|(_, v)| v.map(f32::to_bits)).collect::<Vec<_>>();
        std::mem::discriminant(self) == std::mem::discriminant(other) && bits(self) == bits(other)
    }
}

impl From<SynapseKind> for Synapse {
    fn from(kind: SynapseKind) -> Self {
        Synapse::default_for(kind)
    }
}

/// A synapse state besides `g`, by its monitor name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SynState {
    /// `h` of `dual_expon` and `alpha`.
    H,
    /// `x` of `nmda`.
    X,
    /// `g_rise` of `dual_expon_v2`.
    GRise,
    /// `g_decay` of `dual_expon_v2`.
    GDecay,
}

impl SynState {
    /// The name after the dot in a monitor target.
    pub fn name(self) -> &'static str {
        match self {
            SynState::H => "h",
            SynState::X => "x",
            SynState::GRise => "g_rise",
            SynState::GDecay => "g_decay",
        }
    }
}

/// Where a projection's synapse state lives (BrainPy's two merging projections).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Align {
    /// `ProjAlignPreMg2`: one state per pre neuron, delayed, then the sparse product.
    #[default]
    Pre,
    /// `ProjAlignPostMg2`: the delayed pre spikes go through the sparse product into one state
    /// per post neuron.
    Post,
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

/// Conductance-based output: `I = g (E - V)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coba {
    /// Reversal potential, mV.
    pub e: f32,
}

/// The magnesium block of NMDA receptors: `I = g (E - V) / (1 + cc_Mg/beta exp(alpha (V_offset - V)))`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MgBlock {
    /// Reversal potential, mV (default 0).
    pub e: f32,
    /// Magnesium concentration, mM (default 1.2).
    pub cc_mg: f32,
    /// Voltage sensitivity, 1/mV (default 0.062).
    pub alpha: f32,
    /// Magnesium sensitivity, mM (default 3.57).
    pub beta: f32,
    /// Voltage offset, mV (default 0).
    pub v_offset: f32,
}

impl Default for MgBlock {
    /// BrainPy's defaults (`outputs.py`).
    fn default() -> Self {
        MgBlock { e: 0.0, cc_mg: 1.2, alpha: 0.062, beta: 3.57, v_offset: 0.0 }
    }
}

/// How a projection's conductance enters the post neuron (BrainPy's `brainpy.dyn` outputs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Output {
    /// `COBA`: `I = g (E - V)`.
    Coba(Coba),
    /// `CUBA`: `I = g`.
    Cuba,
    /// `MgBlock`.
    MgBlock(MgBlock),
}

impl Output {
    /// `COBA` with reversal potential `e` mV.
    pub fn coba(e: f32) -> Output {
        Output::Coba(Coba { e })
    }

    /// The model's name as the network file spells it.
    pub fn model_name(&self) -> &'static str {
        match self {
            Output::Coba(_) => "coba",
            Output::Cuba => "cuba",
            Output::MgBlock(_) => "mg_block",
        }
    }

    /// Bitwise equality (post-aligned projections with equal outputs share one state).
    pub fn same_as(&self, other: &Output) -> bool {
        let bits = |o: &Output| match *o {
            Output::Coba(c) => vec![0, c.e.to_bits()],
            Output::Cuba => vec![1],
            Output::MgBlock(m) => vec![2, m.e.to_bits(), m.cc_mg.to_bits(), m.alpha.to_bits(), m.beta.to_bits(), m.v_offset.to_bits()],
        };
        bits(self) == bits(other)
    }
}

impl From<Coba> for Output {
    fn from(c: Coba) -> Self {
        Output::Coba(c)
    }
}

impl From<MgBlock> for Output {
    fn from(m: MgBlock) -> Self {
        Output::MgBlock(m)
    }
}

/// A projection: BrainPy's `ProjAlignPreMg2` (state per pre neuron, optional delay of it, CSR
/// product, output) or `ProjAlignPostMg2` (delayed pre spikes, event CSR product into a state
/// per post neuron, output).
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// Projection name, unique in the network.
    pub name: String,
    /// Index into [`Network::populations`].
    pub pre: usize,
    /// Index into [`Network::populations`]; always a LIF population.
    pub post: usize,
    /// The synapse model.
    pub synapse: Synapse,
    /// Which side the synapse state lives on.
    pub align: Align,
    /// Delay in ms (of the state when aligned pre, of the spikes when aligned post); `None`
    /// means none.
    pub delay_ms: Option<f64>,
    /// Per-synapse delays (post-aligned projections only; `delay_ms` is then `None`), in
    /// BrainPy's ring slots, in CSR order: slot count `k` delays that synapse as a projection
    /// delay of `k dt` (`ceil(delay / dt)` slots) would (GeNN's dendritic delay).
    pub delay_slots: Option<Vec<u16>>,
    /// Pre-major (rows = pre, columns = post) connectivity, as BrainPy and SciPy store it.
    pub conn: Csr,
    /// Synaptic weights.
    pub weights: Weights,
    /// How the conductance enters the post neuron.
    pub output: Output,
}

/// BrainPy's `PoissonInput(target_var, num_input, freq, weight)`: every step, each neuron of the
/// target (each batch row independently) receives the count of `num_input` independent Poisson
/// sources of rate `freq_hz` that fired in the step, times `weight`, added to the target in the
/// projection phase (before the post's update). Drawn by the engine from `seed` with a counter-
/// based generator, so no spike is stored and both engines draw the same counts
/// (`docs/MODELS.md`).
#[derive(Clone, Debug, PartialEq)]
pub struct PoissonInput {
    /// Input name, unique among the network's inputs.
    pub name: String,
    /// What it adds to: [`Target::PopV`] of a LIF population (`V += count * weight`) or
    /// [`Target::ProjG`] of a post-aligned projection (its state `g`, like a spike's weight).
    pub target: Target,
    /// Number of independent sources per neuron (BrainPy's `num_input`, NEST's `K_ext`).
    pub num_input: u64,
    /// Rate of each source, Hz (BrainPy's `freq`).
    pub freq_hz: f64,
    /// Added to the target per source spike.
    pub weight: f32,
    /// RNG seed.
    pub seed: u64,
    /// The law of the count per step.
    pub law: CountLaw,
}

/// The distribution of a [`PoissonInput`]'s count per step, with `p = freq dt / 1000`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CountLaw {
    /// `Binomial(num_input, p)`: each source fires at most once a step (BrainPy's
    /// `PoissonInput`, which draws it for `num_input p <= 5`; above, BrainPy switches to a
    /// normal approximation, not reproduced).
    #[default]
    Binomial,
    /// `Poisson(num_input p)`: the sum of `num_input` Poisson processes (NEST's
    /// `poisson_generator`, the microcircuit's Poisson drive).
    Poisson,
}

impl CountLaw {
    /// The law's name as the network file spells it.
    pub fn name(&self) -> &'static str {
        match self {
            CountLaw::Binomial => "binomial",
            CountLaw::Poisson => "poisson",
        }
    }
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
    /// Which neurons (of each batch row) are recorded.
    pub neurons: Selection,
    /// Record every `every`-th step (steps `0, every, 2 every, ...`); 1 records every step.
    pub every: usize,
}

impl Monitor {
    /// A monitor of every neuron at every step, stored densely.
    pub fn new(name: impl Into<String>, target: Target) -> Monitor {
        Monitor { name: name.into(), target, format: MonitorFormat::Dense, neurons: Selection::All, every: 1 }
    }
}

/// The neurons a monitor records, as indices within one batch row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    /// Every neuron.
    #[default]
    All,
    /// Neurons `start .. end`.
    Range {
        /// First neuron.
        start: u32,
        /// One past the last neuron.
        end: u32,
    },
    /// These neurons, in this order.
    List(Vec<u32>),
}

/// How a monitor's `.npy` file stores its values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MonitorFormat {
    /// One row per recorded step: `[rows, n]` or `[rows, batch, n]`.
    #[default]
    Dense,
    /// Spikes only (`<population>.spike_events`): one row per spike, `[k, 2]` int32 (step, neuron), or
    /// `[k, 3]` (step, batch row, neuron) when batched, in step order (like Brian2's SpikeMonitor).
    Events,
}

/// What a monitor records. Indices point into the network's population/projection lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// `<projection>.g`: the conductance the synapse hands on (undelayed); pre-sized when aligned
    /// pre, post-sized when aligned post.
    ProjG(usize),
    /// `<projection>.h`, `.x`, `.g_rise`, `.g_decay`: another state of the synapse.
    ProjState(usize, SynState),
    /// `<projection>.current`: this projection's current computed with the new V.
    ProjCurrent(usize),
    /// `<population>.V` (LIF only).
    PopV(usize),
    /// `<population>.spike` (any population).
    PopSpike(usize),
    /// `<population>.current`: all synaptic currents with the new V (as BrainPy's docs record it).
    PopCurrent(usize),
    /// `<population>.input`: the current that drove the step (`I_ext` plus the synaptic currents
    /// with the old V).
    PopInput(usize),
}

impl Network {
    /// The textual form of a target, as written in the file (`post.V`, `syn.g`).
    pub fn target_name(&self, target: Target) -> String {
        let pop = |i: usize| self.populations[i].name.as_str();
        let proj = |i: usize| self.projections[i].name.as_str();
        match target {
            Target::ProjG(p) => format!("{}.g", proj(p)),
            Target::ProjState(p, s) => format!("{}.{}", proj(p), s.name()),
            Target::ProjCurrent(p) => format!("{}.current", proj(p)),
            Target::PopV(i) => format!("{}.V", pop(i)),
            Target::PopSpike(i) => format!("{}.spike", pop(i)),
            Target::PopCurrent(i) => format!("{}.current", pop(i)),
            Target::PopInput(i) => format!("{}.input", pop(i)),
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
}

/// `f32(i) * dt`, the time of step `i`, rounded before any further use (BrainPy's `t = i * dt`
/// in float32; SEMANTICS: t is rounded before any comparison). Both engines call this one
/// function.
#[inline]
pub fn step_time(i: usize, dt: f32) -> f32 {
    i as f32 * dt
}

/// The first step whose time `f32(i) * dt` reaches `time` (BrainPy's `SpikeTimeGroup`:
/// `t >= times[ptr]`), or `usize::MAX` when no step of any possible run does.
pub fn firing_step(time: f32, dt: f32) -> usize {
    if time <= 0.0 {
        return 0;
    }
    // Start from the f64 estimate and settle on the exact f32 rule.
    let estimate = ((time as f64) / (dt as f64)).ceil();
    if estimate > validate::MAX_STEPS as f64 + 1.0 {
        // beyond the longest possible run: never fires (and f32 steps this large are too coarse
        // for the search below to be quick)
        return usize::MAX;
    }
    let mut i = estimate as usize;
    while i > 0 && step_time(i - 1, dt) >= time {
        i -= 1;
    }
    while step_time(i, dt) < time {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firing_step_follows_f32_rule() {
        let dt = 0.1f32;
        for k in 0..20000usize {
            let t = (k as f64 * 0.1) as f32;
            let i = firing_step(t, dt);
            assert!(step_time(i, dt) >= t);
            assert!(i == 0 || step_time(i - 1, dt) < t);
        }
        // SEMANTICS: a grid time k*0.1 fires at exactly step k
        assert_eq!(firing_step(10.0, dt), 100);
    }
}
