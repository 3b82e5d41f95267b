//! The compiled form of a [`Network`] that both engines execute: derived parameters (once per
//! `dt`), BrainPy's initial values, shared synapse states, delay lags, connectivity in the layout
//! each product reads, the per-step [`schedule`] as a list of [`Phase`]s, and the compiled
//! [`monitors`].
//!
//! Delays (SEMANTICS 4, SEMANTICS-models 4): with `L = ceil(delay / dt)` in f64, a projection
//! at step `i` reads the value of step `i - max(L - 1, 0)` when its pre population is a spike
//! source (written before the projections run) and `i - max(L - 1, 1)` when it is a LIF
//! population (written at the end of its step); before the run the value is the initial one.
//! Aligned pre the value is the synapse's output (a history ring of the group), aligned post it is
//! the spikes (a stamp ring of the population).

pub mod derived;
pub mod monitors;
pub mod schedule;
pub mod sell;

use crate::error::Result;
use crate::model::counts::CountTable;
use crate::model::{Align, Csr, Monitor, Network, NeuronModel, PoissonInput, Selection, SpikeTimes, SynState, Synapse, Target, Weights};
pub use derived::{Decay, GatingParams, NeuronParams, OutputParams, SynParams};
pub use monitors::{MonitorPlan, Pick, RecordSource};
pub use schedule::Phase;

/// BrainPy's initial `spike_arrival_time` of AMPA/GABAa, and `t_last_spike` of LifRef.
pub const T_INIT: f32 = -1e7;

/// A stamp that no step equals: "never spiked".
pub const NEVER: u32 = u32::MAX;

/// How projections compute the post conductance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateMode {
    /// Every synapse every step: `y = W x` (BrainPy's and Brian2's way; the reference).
    /// Post-aligned projections are spike-driven in both modes, as BrainPy's `EventCSRLinear` is.
    #[default]
    Dense,
    /// Exact event-driven update. AMPA/GABAa: outside its transmitter window every gating
    /// variable of a group decays by the same `d = exp(-beta dt)`, so
    /// `y(t) = d y(t-1) + W (x(t) - d x(t-1))` where only pre neurons inside their window
    /// contribute. Linear models (Expon, DualExpon, DualExponV2, Alpha): the post-side aggregate
    /// `W^T x` follows the synapse's own linear equations, driven by the delayed spikes. NMDA
    /// (nonlinear) keeps the dense product. Increments are summed in fixed point, so both
    /// engines give the same result whatever the order of the additions.
    Event,
}

impl std::str::FromStr for UpdateMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "dense" => Ok(UpdateMode::Dense),
            "event" => Ok(UpdateMode::Event),
            _ => Err(format!("unknown update mode \"{s}\" (known: dense, event)")),
        }
    }
}

impl std::fmt::Display for UpdateMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UpdateMode::Dense => "dense",
            UpdateMode::Event => "event",
        })
    }
}

/// What each network population is in the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PopSlot {
    /// A spike source: index into [`Plan::sources`].
    Source(usize),
    /// A LIF population: index into [`Plan::neurons`].
    Neuron(usize),
}

/// Name and size of a network population, for reports.
#[derive(Clone, Debug, PartialEq)]
pub struct PopInfo {
    /// Population name.
    pub name: String,
    /// Neurons per batch row.
    pub size: usize,
}

/// One spike-time population, its events sorted by firing step (and neuron, without
/// duplicates). Events name a neuron of one batch row (`b * n + i`); an event shared by the
/// batch appears once per row.
#[derive(Clone, Debug)]
pub struct SourcePlan {
    /// Index into [`Network::populations`].
    pub pop: usize,
    /// Number of neurons.
    pub n: usize,
    /// Neuron of each event, ordered by the step it fires at.
    pub event_neurons: Vec<u32>,
    /// `steps + 1` offsets: the events of step `i` are `event_neurons[offsets[i]..offsets[i+1]]`.
    pub step_offsets: Vec<u32>,
    /// Slots of its stamp ring (at least 1): slot `s % ring` holds, per neuron, the last step
    /// `s' ≡ s` it spiked at, so "spiked at step s" is `stamp == s`.
    pub ring: usize,
}

/// One input of a LIF population: a conductance slot and how it becomes current. Slots are in
/// registration order (BrainPy sums the outputs in that order).
#[derive(Clone, Debug, PartialEq)]
pub struct InputSlot {
    /// How the conductance becomes current.
    pub output: OutputParams,
    /// Projections whose conductance this is (several for merged post-aligned synapses).
    pub projections: Vec<usize>,
}

/// One LIF population (`Lif` or `LifRef`).
#[derive(Clone, Debug)]
pub struct NeuronPlan {
    /// Index into [`Network::populations`].
    pub pop: usize,
    /// Number of neurons.
    pub n: usize,
    /// Derived parameters.
    pub params: NeuronParams,
    /// Batch-major initial V.
    pub v_init: Vec<f32>,
    /// The constant input current per neuron (shared by the batch), if any.
    pub i_ext: Option<Vec<f32>>,
    /// Input slots, in registration order.
    pub inputs: Vec<InputSlot>,
    /// Slots of its stamp ring (0: none), read by spike-driven projections from it.
    pub ring: usize,
}

/// A synapse state per pre neuron, shared by every pre-aligned projection from one pre population
/// with an identical synapse (BrainPy's `ProjAlignPreMg2` merging), with the history ring of its
/// output that implements every delay of those projections. The ring slot of step `s` is
/// `s % history`.
#[derive(Clone, Debug)]
pub struct GroupPlan {
    /// The pre population.
    pub pre: PopSlot,
    /// Index into [`Network::populations`] of the pre population.
    pub pre_pop: usize,
    /// Number of pre neurons (values per batch copy).
    pub n: usize,
    /// The shared synapse.
    pub synapse: Synapse,
    /// Derived parameters.
    pub params: SynParams,
    /// Ring length: the largest lag of its readers, plus one.
    pub history: usize,
    /// Its states besides the output ring, in storage order (AMPA's spike arrival time is
    /// stored but not named: `None`).
    pub states: Vec<Option<SynState>>,
    /// Event mode: whether it also keeps, per ring slot, which variables were inside their
    /// transmitter window (AMPA/GABAa read by a [`Phase::WindowScatter`]).
    pub window_flags: bool,
}

/// Where an accumulator's state sits in BrainPy's terms, which decides its order of operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccKind {
    /// A post-aligned synapse (`ProjAlignPostMg2`): the projections add their input, then the
    /// post's before-update decays it: `g = decay(g + y)`.
    PostAligned,
    /// The post-side aggregate `W^T x` of a linear pre-aligned synapse in event mode: it follows
    /// the pre side's own order, decay then the spikes: `Y = decay(Y) + W^T s`.
    Aggregate,
}

/// A state per post neuron fed by [`Phase::SpikeScatter`]s through a fixed-point accumulator.
#[derive(Clone, Debug)]
pub struct AccPlan {
    /// Index into [`Plan::neurons`] of the post population.
    pub neuron: usize,
    /// Number of post neurons.
    pub n: usize,
    /// The synapse.
    pub synapse: Synapse,
    /// Derived parameters.
    pub params: SynParams,
    /// Post-aligned or an event-mode aggregate.
    pub kind: AccKind,
    /// The neuron input slot it binds its conductance into.
    pub slot: usize,
    /// Its states, in storage order, by monitor name (`None`: `g`). Expon: g; DualExponV2:
    /// g_rise, g_decay; the DualExpon and Alpha aggregates: g, h.
    pub states: Vec<Option<SynState>>,
    /// Fixed-point scale of its accumulator (see [`fixed_point_scale`]).
    pub scale: f32,
    /// Slots of its accumulator ring: 1 plus the largest per-synapse lag of the projections
    /// feeding it. Step `i` reads and clears slot `i % ring`; a spike scattered at step `i`
    /// through a synapse of lag `k` lands in slot `(i + k) % ring`.
    pub ring: usize,
}

/// Where a Poisson input adds its counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputSink {
    /// `V += count * weight` of LIF population [`Plan::neurons`]`[neuron]`.
    Voltage {
        /// Index into [`Plan::neurons`].
        neuron: usize,
    },
    /// `count * weight` into the current slot of post-aligned accumulator
    /// [`Plan::accumulators`]`[acc]`, in its fixed point, as a spike's weight.
    Accumulator {
        /// Index into [`Plan::accumulators`].
        acc: usize,
    },
}

/// One Poisson input, ready to run: the count of a neuron of batch row `b` at step `s` is
/// [`CountTable::count`] of its word of Philox4x32-10 with counter `[its counter, b, s,
/// stream]` and key `key` (the layout of counters and words: `src/cpu/reference/poisson_input.rs`).
#[derive(Clone, Debug)]
pub struct InputPlan {
    /// The input's name.
    pub name: String,
    /// What it adds to.
    pub sink: InputSink,
    /// Neurons per batch row.
    pub n: usize,
    /// The count law's thresholds.
    pub table: CountTable,
    /// The seed as Philox's key (low word first).
    pub key: [u32; 2],
    /// The input's index in the network, which keeps inputs of equal seed independent.
    pub stream: u32,
    /// Added per count.
    pub weight: f32,
}

/// Post-major or pre-major synaptic weights, in the order of their matrix.
#[derive(Clone, Debug, PartialEq)]
pub enum PlanWeights {
    /// One weight for every synapse.
    Shared(f32),
    /// One per synapse.
    PerSynapse(Vec<f32>),
}

/// A projection's connectivity in the layout its product reads, handed to the engine that runs
/// it (and dropped from the plan then).
#[derive(Clone, Debug, PartialEq)]
pub struct PlanMatrix {
    /// Rows = post neurons (for [`Product::Gather`]) or pre neurons (every other product).
    pub csr: Csr,
    /// Weights in `csr`'s order.
    pub weights: PlanWeights,
    /// Per-synapse delays of a [`Product::Scatter`] (post-aligned projections with per-synapse
    /// delays), in `csr`'s order: a synapse with lag `k` adds its spike into the accumulator
    /// slot that is read `k` steps later ([`AccPlan::ring`]). `None`: every lag 0.
    pub lags: Option<Vec<u16>>,
}

/// How a projection computes its contribution each step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Product {
    /// Post-major gather of group `group`'s delayed output (pre-aligned, dense).
    Gather {
        /// Index into [`Plan::groups`].
        group: usize,
    },
    /// AMPA/GABAa event mode: the increments of group `group`'s variables inside their window.
    Window {
        /// Index into [`Plan::groups`].
        group: usize,
        /// `exp(-beta dt)` of the group.
        decay: f32,
        /// Fixed-point scale of the increments ([`event_scale`]).
        scale: f32,
    },
    /// Delayed spikes times weights into accumulator `acc` (post-aligned, or a linear model's
    /// event-mode aggregate).
    Scatter {
        /// Index into [`Plan::accumulators`].
        acc: usize,
        /// The accumulator's fixed-point scale.
        scale: f32,
    },
}

/// One projection, ready to run.
#[derive(Clone, Debug)]
pub struct ProjPlan {
    /// The pre population.
    pub pre: PopSlot,
    /// Number of pre neurons.
    pub n_pre: usize,
    /// Index into [`Plan::neurons`] of the post population.
    pub neuron: usize,
    /// Number of post neurons.
    pub n_post: usize,
    /// Its input slot in the post population.
    pub slot: usize,
    /// Steps between this step and the step whose value it reads (see the module docs).
    pub read_offset: usize,
    /// How it computes its contribution.
    pub product: Product,
    /// Its connectivity, until an engine takes it ([`Plan::take_matrix`]).
    pub matrix: Option<PlanMatrix>,
    /// Synapses.
    pub nnz: usize,
}

impl ProjPlan {
    /// The step whose value the projection reads at step `i` (negative while the delay reaches
    /// before the run: the value is then the initial state).
    pub fn read_step(&self, i: usize) -> i64 {
        i as i64 - self.read_offset as i64
    }
}

/// The executable form of a network, shared by both engines.
#[derive(Clone, Debug)]
pub struct Plan {
    /// How projections compute the post conductance.
    pub mode: UpdateMode,
    /// Time step, ms (the network's f64).
    pub dt_ms: f64,
    /// Time step as every kernel uses it.
    pub dt: f32,
    /// Number of steps to run.
    pub steps: usize,
    /// Number of batch copies.
    pub batch: usize,
    /// Names and sizes of the network's populations.
    pub populations: Vec<PopInfo>,
    /// Names of the network's projections.
    pub projection_names: Vec<String>,
    /// What each network population is, by population index.
    pub pops: Vec<PopSlot>,
    /// Spike-time populations.
    pub sources: Vec<SourcePlan>,
    /// LIF populations.
    pub neurons: Vec<NeuronPlan>,
    /// Pre-aligned synapse states.
    pub groups: Vec<GroupPlan>,
    /// Accumulator-fed (post-side) synapse states.
    pub accumulators: Vec<AccPlan>,
    /// Projections, in registration order.
    pub projections: Vec<ProjPlan>,
    /// Poisson inputs, in the network's order.
    pub inputs: Vec<InputPlan>,
    /// The per-step order.
    pub schedule: Vec<Phase>,
    /// The compiled monitors, in the network's order.
    pub monitors: Vec<MonitorPlan>,
    /// Total synapses.
    pub synapses: u64,
    /// Things a user should know about how the plan runs the network (one line each).
    pub notes: Vec<String>,
}

/// `ceil(delay / dt)` in f64, BrainPy's delay length in steps (0 for no delay).
pub fn delay_steps(delay_ms: Option<f64>, dt: f64) -> usize {
    delay_ms.map_or(0, |d| (d / dt).ceil() as usize)
}

/// The steps between a step and the one whose value a projection reads, for a delay of `slots`
/// ring slots (`ceil(d / dt)`), from a spike source or from a LIF population.
pub fn read_offset(slots: usize, pre_is_lif: bool) -> usize {
    slots.saturating_sub(1).max(pre_is_lif as usize)
}

/// Largest power-of-two scale that keeps a sum of `max_total` (the largest sum of absolute
/// increments one accumulator entry can receive in a step) below 2^30 in 32-bit fixed point.
pub fn fixed_point_scale(max_total: f64) -> f32 {
    if max_total <= 0.0 || !max_total.is_finite() {
        return 1.0;
    }
    let exp = ((1u64 << 30) as f64 / max_total).log2().floor().clamp(-60.0, 60.0);
    (2.0f64).powi(exp as i32) as f32
}

/// Per post neuron, the sum of `|w|` over its synapses.
fn abs_weight_totals(conn: &Csr, weights: &Weights) -> Vec<f64> {
    let mut total = vec![0.0f64; conn.n_cols];
    for r in 0..conn.n_rows {
        for e in conn.row(r) {
            let w = match weights {
                Weights::Shared(w) => *w,
                Weights::PerSynapse(ws) => ws[e],
            };
            total[conn.indices[e] as usize] += (w as f64).abs();
        }
    }
    total
}

/// The fixed-point scale of a projection's per-step conductance increments in AMPA/GABAa event
/// mode.
///
/// Each increment `w * (x(t) - d x(t-1))` is rounded to a multiple of `1/scale` and summed as a
/// 32-bit integer, so the sum does not depend on the order of the additions: the GPU adds them
/// with integer atomics in whatever order its threads run, and gets the CPU's result. Since
/// `|x(t) - d x(t-1)| < 1` (gating variables lie in [0, 1)), one post neuron's increment is at
/// most `max_j sum_i |w_ij|`. For B2 (about 100 inputs of weight 0.08) it is 2^26: a resolution
/// of 1.5e-8 per term.
pub fn event_scale(conn: &Csr, weights: &Weights) -> f32 {
    fixed_point_scale(abs_weight_totals(conn, weights).into_iter().fold(0.0, f64::max))
}

/// The states an accumulator of `synapse` keeps (see [`AccPlan::states`]).
fn acc_states(s: &Synapse) -> Vec<Option<SynState>> {
    match s {
        Synapse::DualExponV2 { .. } => vec![Some(SynState::GRise), Some(SynState::GDecay)],
        Synapse::DualExpon { .. } | Synapse::Alpha { .. } => vec![None, Some(SynState::H)],
        _ => vec![None],
    }
}

/// The states a pre-aligned group keeps besides its output ring (see [`GroupPlan::states`]).
fn group_states(s: &Synapse) -> Vec<Option<SynState>> {
    match s {
        Synapse::Ampa(_) | Synapse::Gabaa(_) => vec![None],
        Synapse::Expon { .. } => vec![],
        Synapse::DualExpon { .. } | Synapse::Alpha { .. } => vec![Some(SynState::H)],
        Synapse::DualExponV2 { .. } => vec![Some(SynState::GRise), Some(SynState::GDecay)],
        Synapse::Nmda { .. } => vec![Some(SynState::X)],
    }
}

impl Plan {
    /// Compiles a validated network (its matrices are copied into the plan).
    pub fn new(net: &Network, mode: UpdateMode) -> Result<Plan> {
        let owned = net.projections.iter().map(|p| (p.conn.clone(), p.weights.clone(), p.delay_slots.clone())).collect();
        Self::compile(net, mode, owned)
    }

    /// [`Plan::new`], consuming the network: each projection's matrix and per-synapse weights
    /// move into the plan (pre-major products) or go as soon as their transpose exists (the
    /// dense gather), so the connectivity is held once, not twice.
    pub fn from_network(mut net: Network, mode: UpdateMode) -> Result<Plan> {
        let owned = net
            .projections
            .iter_mut()
            .map(|p| {
                let shape = Csr { n_rows: p.conn.n_rows, n_cols: p.conn.n_cols, indptr: Vec::new(), indices: Vec::new() };
                let weights = match &mut p.weights {
                    Weights::Shared(w) => Weights::Shared(*w),
                    Weights::PerSynapse(w) => Weights::PerSynapse(std::mem::take(w)),
                };
                (std::mem::replace(&mut p.conn, shape), weights, p.delay_slots.take())
            })
            .collect();
        Self::compile(&net, mode, owned)
    }

    /// Hands projection `proj`'s matrix to an engine (each engine takes each matrix once).
    pub fn take_matrix(&mut self, proj: usize) -> PlanMatrix {
        self.projections[proj].matrix.take().expect("each projection's matrix is taken once, by the engine that runs it")
    }

    /// The time of step `i` (rounded f32, see [`crate::model::step_time`]).
    pub fn time(&self, i: usize) -> f32 {
        crate::model::step_time(i, self.dt)
    }

    /// The ring slot of group `group` that holds step `step`, or `None` for a step before the
    /// run (whose value is the initial state, 0).
    pub fn history_slot(&self, group: usize, step: i64) -> Option<usize> {
        (step >= 0).then(|| step as usize % self.groups[group].history)
    }

    /// Whether accumulator `acc` is the event-mode aggregate fed by exactly one projection
    /// (updated right after it) rather than a post-aligned state.
    pub fn is_aggregate(&self, acc: usize) -> bool {
        self.accumulators[acc].kind == AccKind::Aggregate
    }

    /// Bytes of state and connectivity an engine holds for this plan (either engine; monitor
    /// buffers come on top).
    pub fn state_bytes(&self) -> u64 {
        let b = self.batch as u64;
        let sources: u64 = self.sources.iter().map(|s| 4 * (b * (s.n * s.ring) as u64 + (s.event_neurons.len() + s.step_offsets.len()) as u64)).sum();
        let neurons: u64 = self.neurons.iter().map(|l| 4 * b * l.n as u64 * (5 + l.inputs.len() + l.ring) as u64).sum();
        let groups: u64 = self.groups.iter().map(|g| 4 * b * g.n as u64 * (g.history * (1 + g.window_flags as usize) + g.states.len()) as u64).sum();
        let accs: u64 = self.accumulators.iter().map(|a| 4 * b * a.n as u64 * (a.ring + a.states.len()) as u64).sum();
        let synapses: u64 = self
            .projections
            .iter()
            .map(|p| {
                let w = p.matrix.as_ref().is_some_and(|m| matches!(m.weights, PlanWeights::PerSynapse(_))) as u64;
                let rows = p.matrix.as_ref().map_or(0, |m| m.csr.indptr.len()) as u64;
                let lags = p.matrix.as_ref().is_some_and(|m| m.lags.is_some()) as u64;
                4 * (p.nnz as u64 * (1 + w) + rows) + 2 * lags * p.nnz as u64
            })
            .sum();
        let tables: u64 = self.inputs.iter().map(|i| 4 * i.table.thresholds.len() as u64).sum();
        sources + neurons + groups + accs + synapses + tables
    }

    fn compile(net: &Network, mode: UpdateMode, owned: Vec<(Csr, Weights, Option<Vec<u16>>)>) -> Result<Plan> {
        let dt = net.dt_f32();
        let batch = net.batch;
        let mut pops = Vec::new();
        let mut sources = Vec::new();
        let mut neurons = Vec::new();
        for (pi, p) in net.populations.iter().enumerate() {
            let lif = |params: NeuronParams, v_init: &crate::model::VInit| NeuronPlan {
                pop: pi,
                n: p.size,
                params,
                v_init: expand_v_init(v_init, batch, p.size),
                i_ext: p.i_ext.as_ref().map(|i| match i {
                    crate::model::IExt::Scalar(x) => vec![*x; p.size],
                    crate::model::IExt::PerNeuron(v) => v.clone(),
                }),
                inputs: Vec::new(),
                ring: 0,
            };
            match &p.model {
                NeuronModel::SpikeTimes(s) => {
                    pops.push(PopSlot::Source(sources.len()));
                    sources.push(source_plan(pi, p.size, s, net.steps, batch, dt));
                }
                NeuronModel::LifRef(l) => {
                    pops.push(PopSlot::Neuron(neurons.len()));
                    neurons.push(lif(NeuronParams::lif_ref(l, dt), &l.v_init));
                }
                NeuronModel::Lif(l) => {
                    pops.push(PopSlot::Neuron(neurons.len()));
                    neurons.push(lif(NeuronParams::lif(l, dt), &l.v_init));
                }
            }
        }

        let mut c = Compiler { net, dt, mode, pops, sources, neurons, groups: Vec::new(), accumulators: Vec::new(), notes: Vec::new() };
        let mut projections = Vec::with_capacity(net.projections.len());
        for (k, (conn, weights, delay_slots)) in owned.into_iter().enumerate() {
            projections.push(c.projection(k, conn, weights, delay_slots));
        }
        let monitors = net.monitors.iter().map(|m| c.monitor(m, &projections)).collect();
        // fixed-point scales of the accumulators, from every projection that feeds them (the
        // matrices are pre-major here)
        let mut totals: Vec<Vec<f64>> = c.accumulators.iter().map(|a| vec![0.0; a.n]).collect();
        for p in &projections {
            if let (Product::Scatter { acc, .. }, Some(m)) = (p.product, &p.matrix) {
                let w = match &m.weights {
                    PlanWeights::Shared(w) => Weights::Shared(*w),
                    PlanWeights::PerSynapse(w) => Weights::PerSynapse(w.clone()),
                };
                for (t, x) in totals[acc].iter_mut().zip(abs_weight_totals(&m.csr, &w)) {
                    *t += x;
                }
            }
        }
        let inputs: Vec<InputPlan> = net.inputs.iter().enumerate().map(|(k, i)| c.input(k, i, &projections)).collect();
        for i in &inputs {
            if let InputSink::Accumulator { acc } = i.sink {
                let most = i.table.max_count() as f64 * i.weight.abs() as f64;
                totals[acc].iter_mut().for_each(|t| *t += most);
            }
        }
        for (a, t) in c.accumulators.iter_mut().zip(&totals) {
            a.scale = fixed_point_scale(t.iter().copied().fold(0.0, f64::max));
        }
        for p in &mut projections {
            if let Product::Scatter { acc, scale } = &mut p.product {
                *scale = c.accumulators[*acc].scale;
            }
        }
        let schedule = c.schedule(&projections, &inputs);
        let synapses = projections.iter().map(|p| p.nnz as u64).sum();
        let Compiler { pops, sources, neurons, groups, accumulators, notes, .. } = c;
        Ok(Plan {
            mode,
            dt_ms: net.dt,
            dt,
            steps: net.steps,
            batch,
            populations: net.populations.iter().map(|p| PopInfo { name: p.name.clone(), size: p.size }).collect(),
            projection_names: net.projections.iter().map(|p| p.name.clone()).collect(),
            pops,
            sources,
            neurons,
            groups,
            accumulators,
            projections,
            inputs,
            schedule,
            monitors,
            // counted from the plan: a consumed network's matrices have moved out already
            synapses,
            notes,
        })
    }
}

/// The batch-major (`b * n + i`) initial V for `batch` copies of `n` neurons.
fn expand_v_init(v: &crate::model::VInit, batch: usize, n: usize) -> Vec<f32> {
    use crate::model::VInit;
    match v {
        VInit::Scalar(v) => vec![*v; batch * n],
        VInit::PerNeuron(v) => (0..batch).flat_map(|_| v.iter().copied()).collect(),
        VInit::PerBatch(rows) => rows.iter().flat_map(|r| r.iter().copied()).collect(),
        VInit::Normal { mean, sd, seed } => crate::model::generate::normal(batch * n, *mean, *sd, *seed),
    }
}

/// A spike source's events sorted by firing step (events after the run are dropped).
fn source_plan(pop: usize, n: usize, s: &SpikeTimes, steps: usize, batch: usize, dt: f32) -> SourcePlan {
    let nn = n as u32;
    let mut ev: Vec<(usize, u32)> = Vec::new();
    for (k, (&t, &ix)) in s.times.iter().zip(&s.indices).enumerate() {
        let step = crate::model::firing_step(t, dt);
        if step >= steps {
            continue;
        }
        match s.rows.get(k) {
            Some(&b) => ev.push((step, b * nn + ix)),
            None => ev.extend((0..batch as u32).map(|b| (step, b * nn + ix))),
        }
    }
    // several events of one neuron in one step are one spike (BrainPy ORs them): keep one, so
    // every consumer of the list (the spike-driven scatters) sees each spike once
    ev.sort_unstable();
    ev.dedup();
    let mut step_offsets = vec![0u32; steps + 1];
    for &(step, _) in &ev {
        step_offsets[step + 1] += 1;
    }
    for i in 0..steps {
        step_offsets[i + 1] += step_offsets[i];
    }
    SourcePlan { pop, n, event_neurons: ev.into_iter().map(|(_, ix)| ix).collect(), step_offsets, ring: 1 }
}

/// The compiler's working state.
struct Compiler<'a> {
    net: &'a Network,
    dt: f32,
    mode: UpdateMode,
    pops: Vec<PopSlot>,
    sources: Vec<SourcePlan>,
    neurons: Vec<NeuronPlan>,
    groups: Vec<GroupPlan>,
    accumulators: Vec<AccPlan>,
    notes: Vec<String>,
}

impl Compiler<'_> {
    /// The group of pre-aligned projections from `pre` with synapse `s` (made when missing).
    fn group(&mut self, pre: usize, s: &Synapse) -> usize {
        if let Some(g) = self.groups.iter().position(|g| g.pre_pop == pre && g.synapse.same_state_as(s)) {
            return g;
        }
        self.groups.push(GroupPlan {
            pre: self.pops[pre],
            pre_pop: pre,
            n: self.net.populations[pre].size,
            synapse: *s,
            params: SynParams::new(s, self.dt),
            history: 1,
            states: group_states(s),
            window_flags: false,
        });
        self.groups.len() - 1
    }

    /// A new accumulator-fed state of `synapse` onto population `neuron`, bound to input `slot`
    /// (its fixed-point scale is set once every projection feeding it is known).
    fn accumulator(&mut self, neuron: usize, synapse: &Synapse, kind: AccKind, slot: usize) -> usize {
        self.accumulators.push(AccPlan {
            neuron,
            n: self.neurons[neuron].n,
            synapse: *synapse,
            params: SynParams::new(synapse, self.dt),
            kind,
            slot,
            states: acc_states(synapse),
            scale: 1.0,
            ring: 1,
        });
        self.accumulators.len() - 1
    }

    /// Makes sure the pre population's spikes of `offset` steps ago can be read.
    fn need_ring(&mut self, pre: PopSlot, offset: usize) {
        match pre {
            PopSlot::Source(s) => self.sources[s].ring = self.sources[s].ring.max(offset + 1),
            PopSlot::Neuron(l) => self.neurons[l].ring = self.neurons[l].ring.max(offset + 1),
        }
    }

    fn projection(&mut self, k: usize, conn: Csr, weights: Weights, delay_slots: Option<Vec<u16>>) -> ProjPlan {
        let p = &self.net.projections[k];
        let pre = self.pops[p.pre];
        let pre_is_lif = matches!(pre, PopSlot::Neuron(_));
        let PopSlot::Neuron(neuron) = self.pops[p.post] else { unreachable!("validated: post is a LIF population") };
        let offset = read_offset(delay_steps(p.delay_ms, self.net.dt), pre_is_lif);
        // Per-synapse delays (post-aligned only, validated): the spikes are read undelayed and
        // each synapse's extra lag is the offset its delay would give the whole projection,
        // less the undelayed one, so a synapse acts as the projection would with its delay.
        let lags: Option<Vec<u16>> = delay_slots.map(|d| d.iter().map(|&slots| (read_offset(slots as usize, pre_is_lif) - offset) as u16).collect());
        let params = SynParams::new(&p.synapse, self.dt);
        let output = OutputParams::from(&p.output);
        let nnz = conn.nnz();
        let new_slot = |neurons: &mut Vec<NeuronPlan>| {
            neurons[neuron].inputs.push(InputSlot { output, projections: vec![k] });
            neurons[neuron].inputs.len() - 1
        };
        let plan_weights = |weights: Weights| match weights {
            Weights::Shared(w) => PlanWeights::Shared(w),
            Weights::PerSynapse(w) => PlanWeights::PerSynapse(w),
        };
        let pre_major = |conn: Csr, weights: Weights| PlanMatrix { csr: conn, weights: plan_weights(weights), lags: None };
        let scatter = |c: &mut Self, acc: usize, conn: Csr, weights: Weights, lags: Option<Vec<u16>>| {
            c.need_ring(pre, offset);
            if let Some(l) = &lags {
                let longest = l.iter().copied().max().unwrap_or(0) as usize;
                c.accumulators[acc].ring = c.accumulators[acc].ring.max(longest + 1);
            }
            (Product::Scatter { acc, scale: 1.0 }, PlanMatrix { csr: conn, weights: plan_weights(weights), lags })
        };
        let (product, matrix, slot) = match p.align {
            Align::Post => {
                // one state per (post, synapse, output): BrainPy's `Mg` merging
                let found = self.accumulators.iter().position(|a| {
                    a.kind == AccKind::PostAligned
                        && a.neuron == neuron
                        && a.synapse.same_state_as(&p.synapse)
                        && self.neurons[neuron].inputs[a.slot].output == output
                });
                let acc = match found {
                    Some(a) => {
                        let slot = self.accumulators[a].slot;
                        self.neurons[neuron].inputs[slot].projections.push(k);
                        a
                    }
                    None => {
                        let slot = new_slot(&mut self.neurons);
                        self.accumulator(neuron, &p.synapse, AccKind::PostAligned, slot)
                    }
                };
                let slot = self.accumulators[acc].slot;
                let (product, matrix) = scatter(self, acc, conn, weights, lags);
                (product, matrix, slot)
            }
            Align::Pre if self.mode == UpdateMode::Event && params.is_linear() => {
                let slot = new_slot(&mut self.neurons);
                let acc = self.accumulator(neuron, &p.synapse, AccKind::Aggregate, slot);
                let (product, matrix) = scatter(self, acc, conn, weights, None);
                (product, matrix, slot)
            }
            Align::Pre if self.mode == UpdateMode::Event && matches!(params, SynParams::Kinetic(_)) => {
                let g = self.group(p.pre, &p.synapse);
                let lag = offset - pre_is_lif as usize;
                // the event update also reads the value one step before the one it reads
                self.groups[g].history = self.groups[g].history.max(lag + 2);
                self.groups[g].window_flags = true;
                let SynParams::Kinetic(gp) = params else { unreachable!() };
                let scale = event_scale(&conn, &weights);
                let slot = new_slot(&mut self.neurons);
                (Product::Window { group: g, decay: gp.decay, scale }, pre_major(conn, weights), slot)
            }
            Align::Pre => {
                if self.mode == UpdateMode::Event {
                    self.notes.push(format!(
                        "projection \"{}\": a {} synapse has no exact event-driven update (its rise saturates); it runs the dense product",
                        p.name,
                        p.synapse.model_name()
                    ));
                }
                let g = self.group(p.pre, &p.synapse);
                let lag = offset - pre_is_lif as usize;
                self.groups[g].history = self.groups[g].history.max(lag + 1);
                let per_synapse = matches!(weights, Weights::PerSynapse(_));
                let (post_major, perm) = conn.transpose_with(per_synapse);
                drop(conn);
                let weights = match weights {
                    Weights::Shared(w) => PlanWeights::Shared(w),
                    Weights::PerSynapse(w) => PlanWeights::PerSynapse(perm.iter().map(|&e| w[e as usize]).collect()),
                };
                let slot = new_slot(&mut self.neurons);
                (Product::Gather { group: g }, PlanMatrix { csr: post_major, weights, lags: None }, slot)
            }
        };
        ProjPlan {
            pre,
            n_pre: self.net.populations[p.pre].size,
            neuron,
            n_post: self.neurons[neuron].n,
            slot,
            read_offset: offset,
            product,
            matrix: Some(matrix),
            nnz,
        }
    }

    /// The compiled form of Poisson input `k` (validated: a LIF population's V or a post-aligned
    /// projection's g).
    fn input(&self, k: usize, i: &PoissonInput, projections: &[ProjPlan]) -> InputPlan {
        let (sink, n) = match i.target {
            Target::PopV(pop) => {
                let PopSlot::Neuron(neuron) = self.pops[pop] else { unreachable!("validated: a LIF population") };
                (InputSink::Voltage { neuron }, self.neurons[neuron].n)
            }
            Target::ProjG(p) => {
                let Product::Scatter { acc, .. } = projections[p].product else { unreachable!("validated: post-aligned projections scatter") };
                (InputSink::Accumulator { acc }, self.accumulators[acc].n)
            }
            _ => unreachable!("validated: V or g"),
        };
        let table = CountTable::new(i.law, i.num_input, i.freq_hz * self.net.dt / 1000.0).expect("validated: the law tabulates");
        InputPlan { name: i.name.clone(), sink, n, table, key: [i.seed as u32, (i.seed >> 32) as u32], stream: k as u32, weight: i.weight }
    }

    /// The compiled form of monitor `m` (a pre-aligned `<proj>.g` makes its group exist even
    /// where no product reads it, as in event mode).
    fn monitor(&mut self, m: &Monitor, projections: &[ProjPlan]) -> MonitorPlan {
        let net = self.net;
        let neuron_of = |pop: usize| match self.pops[pop] {
            PopSlot::Neuron(l) => l,
            PopSlot::Source(_) => unreachable!("validated: only LIF populations have V, current, input"),
        };
        let (source, n) = match m.target {
            Target::ProjG(p) | Target::ProjState(p, _) => {
                let proj = &net.projections[p];
                let state = match m.target {
                    Target::ProjState(_, s) => Some(s),
                    _ => None,
                };
                match proj.align {
                    Align::Pre => {
                        let g = self.group(proj.pre, &proj.synapse);
                        let source = match state {
                            None => RecordSource::PreOutput { group: g },
                            Some(s) => {
                                let state = self.groups[g].states.iter().position(|&x| x == Some(s)).expect("validated: the state exists");
                                RecordSource::PreState { group: g, state }
                            }
                        };
                        (source, net.populations[proj.pre].size)
                    }
                    Align::Post => {
                        let pp = &projections[p];
                        let Product::Scatter { acc, .. } = pp.product else { unreachable!("post-aligned projections scatter") };
                        let source = match state {
                            None => RecordSource::Slot { neuron: pp.neuron, slot: pp.slot },
                            Some(s) => {
                                let state = self.accumulators[acc].states.iter().position(|&x| x == Some(s)).expect("validated: the state exists");
                                RecordSource::AccState { acc, state }
                            }
                        };
                        (source, pp.n_post)
                    }
                }
            }
            Target::ProjCurrent(p) => {
                let pp = &projections[p];
                (RecordSource::Current { neuron: pp.neuron, first: pp.slot, end: pp.slot + 1 }, pp.n_post)
            }
            Target::PopV(i) => (RecordSource::V { neuron: neuron_of(i) }, net.populations[i].size),
            Target::PopInput(i) => (RecordSource::Input { neuron: neuron_of(i) }, net.populations[i].size),
            Target::PopCurrent(i) => {
                let l = neuron_of(i);
                (RecordSource::Current { neuron: l, first: 0, end: self.neurons[l].inputs.len() }, net.populations[i].size)
            }
            Target::PopSpike(i) => {
                let source = match self.pops[i] {
                    PopSlot::Neuron(l) => RecordSource::Spike { neuron: l },
                    PopSlot::Source(s) => RecordSource::SourceSpike { source: s },
                };
                (source, net.populations[i].size)
            }
        };
        let pick = match &m.neurons {
            Selection::All => Pick::Range { start: 0, len: n as u32 },
            Selection::Range { start, end } => Pick::Range { start: *start, len: end - start },
            Selection::List(l) => Pick::List(l.clone()),
        };
        let suffix = if m.format == crate::model::MonitorFormat::Events { "_events" } else { "" };
        MonitorPlan {
            name: m.name.clone(),
            target: format!("{}{suffix}", net.target_name(m.target)),
            source,
            spikes: matches!(m.target, Target::PopSpike(_)),
            format: m.format,
            batch: net.batch,
            n,
            pick,
            every: m.every,
            steps: net.steps,
        }
    }

    /// BrainPy's per-step order (SEMANTICS-models 1): spike sources with their after-updates,
    /// then every projection in file order and the Poisson inputs (BrainPy's `PoissonInput` is a
    /// projection, registered after them), then every LIF population in file order with its
    /// before-updates (post-aligned synapses) and after-updates (pre-aligned synapses on it).
    fn schedule(&self, projections: &[ProjPlan], inputs: &[InputPlan]) -> Vec<Phase> {
        let mut s = Vec::new();
        let groups_of = |pop: PopSlot| (0..self.groups.len()).filter(move |&g| self.groups[g].pre == pop);
        for (src, _) in self.sources.iter().enumerate() {
            s.push(Phase::SpikeInput { source: src });
            s.extend(groups_of(PopSlot::Source(src)).map(|group| Phase::PreSynapse { group }));
        }
        for (k, p) in projections.iter().enumerate() {
            match p.product {
                Product::Gather { .. } => s.push(Phase::CsrGather { proj: k }),
                Product::Window { .. } => s.extend([Phase::WindowScatter { proj: k }, Phase::WindowFinalize { proj: k }]),
                Product::Scatter { acc, .. } => {
                    s.push(Phase::SpikeScatter { proj: k });
                    if self.accumulators[acc].kind == AccKind::Aggregate {
                        s.push(Phase::PostSynapse { acc });
                    }
                }
            }
        }
        s.extend((0..inputs.len()).map(|input| Phase::PoissonInput { input }));
        for (l, _) in self.neurons.iter().enumerate() {
            s.extend(
                (0..self.accumulators.len())
                    .filter(|&a| self.accumulators[a].kind == AccKind::PostAligned && self.accumulators[a].neuron == l)
                    .map(|acc| Phase::PostSynapse { acc }),
            );
            s.push(Phase::NeuronUpdate { neuron: l });
            s.extend(groups_of(PopSlot::Neuron(l)).map(|group| Phase::PreSynapse { group }));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_steps_uses_f64_ceil() {
        assert_eq!(delay_steps(Some(2.0), 0.1), 20);
        assert_eq!(delay_steps(Some(0.3), 0.1), 3);
        assert_eq!(delay_steps(Some(1.1), 0.1), 11);
        assert_eq!(delay_steps(None, 0.1), 0);
    }

    /// SEMANTICS 4 / SEMANTICS-models 4, measured in BrainPy: the lag for delays of None, 0.1,
    /// 0.2, 0.3, 0.5, 1.0, 1.5, 2.0 ms.
    #[test]
    fn read_offsets_follow_brainpys_ring() {
        let delays = [None, Some(0.1), Some(0.2), Some(0.3), Some(0.5), Some(1.0), Some(1.5), Some(2.0)];
        let source = [0, 0, 1, 2, 4, 9, 14, 19];
        let lif = [1, 1, 1, 2, 4, 9, 14, 19];
        for (k, d) in delays.iter().enumerate() {
            let slots = delay_steps(*d, 0.1);
            assert_eq!(read_offset(slots, false), source[k], "{d:?} from a source");
            assert_eq!(read_offset(slots, true), lif[k], "{d:?} from a LIF population");
        }
    }

    #[test]
    fn fixed_point_scale_keeps_sums_below_2_30() {
        assert_eq!(fixed_point_scale(8.0), (1u64 << 27) as f32);
        assert_eq!(fixed_point_scale(0.0), 1.0);
        assert!(fixed_point_scale(1e12) < 1.0);
    }
}
