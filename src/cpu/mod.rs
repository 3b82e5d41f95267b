//! The CPU engine: f32, step for step the semantics of SEMANTICS.md, walking the plan's
//! schedule. Each phase runs its fast path ([`fast`]) where there is one and its reference twin
//! ([`reference`], loop for loop the shader) otherwise.

pub mod fast;
pub mod reference;

use crate::error::Result;
use crate::model::Network;
use crate::plan::{AccKind, InputSink, MonitorPlan, Phase, Plan, PlanMatrix, PopSlot, Product, RecordSource, SynParams, UpdateMode, NEVER, T_INIT};
use crate::runtime::{nonfinite_error, Checkpoint, Chunk, Engine, EngineInfo, MonitorData, NonFinitePolicy, NonFiniteVar, RunStats};
use fast::columns::Indices;
use fast::gating::Spikes;
use fast::sliced::Sliced;
use reference::lif_update::LifState;
use reference::poisson_input;
use reference::spike_scatter::Delivery;
use rayon::prelude::*;

/// A spike source's state: its stamp ring.
struct SourceState {
    stamps: Vec<u32>,
}

/// A LIF population's state, and the lists of its spiking variables of recent steps (ring slot
/// `step % lists.len()`; empty when nothing reads them).
struct NeuronState {
    lif: LifState,
    lists: Vec<Vec<u32>>,
}

/// A pre-aligned group's state.
struct GroupState {
    /// The output ring, `history * width`.
    ring: Vec<f32>,
    /// The other states, `states.len() * width`.
    states: Vec<f32>,
    /// AMPA/GABAa event mode: per ring slot, the variables inside their window.
    active: Vec<Vec<u32>>,
    /// Scratch of [`fast::gating::gating_sparse`].
    mark: Vec<u32>,
}

/// An accumulator-fed state.
struct AccState {
    acc: Vec<i32>,
    states: Vec<f32>,
}

/// A projection's matrix as the CPU engine keeps it, and its event-mode increments.
struct ProductState {
    /// Row offsets (pre rows for the scatters; unused by the sliced gather).
    indptr: Vec<u32>,
    matrix: Matrix,
    weights: crate::plan::PlanWeights,
    /// AMPA/GABAa event mode: this step's fixed-point increments.
    acc: Vec<i32>,
    /// Per-synapse lags of a scatter (post-aligned projections with per-synapse delays).
    lags: Option<Vec<u16>>,
    /// A scatter's weights in fixed point (`weights` is then empty).
    fixed: Option<fast::event::FixedWeights>,
}

enum Matrix {
    /// Column indices checked once: the scatters.
    Csr(Indices),
    /// The dense product, in the layout that vectorizes it.
    Sliced(Sliced),
}

/// Simulation state of every population, synapse and projection of one plan.
pub struct CpuEngine {
    plan: Plan,
    sources: Vec<SourceState>,
    neurons: Vec<NeuronState>,
    groups: Vec<GroupState>,
    accs: Vec<AccState>,
    products: Vec<ProductState>,
    /// This step's spiking variables of the group being updated (event mode).
    spikes: Vec<u32>,
    /// Scratch of [`fast::gating::gating_sparse`].
    on_values: Vec<f32>,
    /// Per LIF population, the outputs of its input slots.
    outputs: Vec<Vec<crate::plan::OutputParams>>,
    spike_counts: Vec<u64>,
    step: usize,
    nonfinite_policy: NonFinitePolicy,
    /// The first non-finite value found, per LIF population (`Record` policy: reported once).
    nonfinite: Vec<Option<String>>,
    /// `Stop` policy: the error of the step just run.
    diverged: Option<crate::Error>,
    /// Per LIF population, the post-aligned Expon states its update steps itself
    /// ([`fast::lif::lif_update_fused`]); `None`: their phases run.
    fused: Vec<Option<FusedUpdate>>,
    /// Per accumulator, whether its population's update steps it (its phase is skipped).
    acc_fused: Vec<bool>,
    /// Runs of the schedule's spike scatters large enough to share out among threads.
    scatter_runs: Vec<ScatterRun>,
    /// How those runs use threads.
    scatter_threads: ScatterThreads,
}

/// The post-aligned Expon states a LIF population's update steps itself.
struct FusedUpdate {
    /// One accumulator per input slot, in slot order.
    accs: Vec<usize>,
    /// Whether the update binds the slots every step: when a monitor reads them (`<proj>.g` of
    /// a post-aligned synapse, a current). Otherwise [`CpuEngine::bind_fused_slots`] binds
    /// them when a checkpoint or a non-finite report reads them.
    bind: bool,
}

/// Consecutive [`Phase::SpikeScatter`]s of the schedule, `start..end`, that feed more than one
/// accumulator: their projections, grouped by the accumulator they add into, can run one group
/// per thread. A group's projections keep the schedule's order and the sums are integers, so
/// either way gives the same bits; which way is faster depends on the activity, so the engine
/// times the run and switches ([`ScatterThreads::Auto`]).
struct ScatterRun {
    start: usize,
    end: usize,
    /// Per accumulator, the projections of the run that add into it.
    by_acc: Vec<Vec<usize>>,
    /// Running now on the pool.
    parallel: bool,
    /// Moving average of the run's time, ns, in the current way.
    average_ns: f64,
}

/// Runs of scatters over fewer synapses never go to the pool: their steps are too short.
const PARALLEL_SCATTER_SYNAPSES: usize = 1 << 22;
/// [`ScatterThreads::Auto`] goes to the pool when a run takes longer than this on one thread
/// (waking the second thread costs tens of us each step: it doubled the 10x E/I network's 60 us
/// scatters; the microcircuit's take about 600 us and run 1.7x faster on two)...
const TO_POOL_NS: f64 = 300_000.0;
/// ...and back to one thread when the pool's run is faster than this.
const TO_ONE_NS: f64 = 120_000.0;

/// How the CPU engine runs large runs of scatters into several accumulators (the same bits
/// every way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScatterThreads {
    /// Timed as it runs: on the pool while one thread would take more than 300 us a step.
    #[default]
    Auto,
    /// Always on the pool (one accumulator per thread).
    Pool,
    /// Always on the calling thread.
    One,
}

impl ScatterRun {
    /// Records a run that took `ns`, and picks the way of the next one.
    fn observe(&mut self, ns: f64, mode: ScatterThreads) {
        self.average_ns = 0.9 * self.average_ns + 0.1 * ns;
        let switch = match mode {
            ScatterThreads::Auto => (!self.parallel && self.average_ns > TO_POOL_NS) || (self.parallel && self.average_ns < TO_ONE_NS),
            ScatterThreads::Pool => !self.parallel,
            ScatterThreads::One => self.parallel,
        };
        if switch {
            // the other way's average starts from this one
            self.parallel = !self.parallel;
        }
    }
}

/// Accumulator `a`'s state `st` at step `i`, for its population's fused update.
fn expon_slot<'a>(plan: &Plan, a: usize, i: usize, st: &'a mut AccState) -> fast::lif::ExponSlot<'a> {
    let ap = &plan.accumulators[a];
    let SynParams::Expon(decay) = ap.params else { unreachable!("only Expon states are fused") };
    let w = plan.batch * ap.n;
    let acc = &mut st.acc[(i % ap.ring) * w..][..w];
    fast::lif::ExponSlot { decay, inv_scale: 1.0 / ap.scale, acc, g: &mut st.states[..w] }
}

/// Per LIF population of `plan`, the accumulators whose `post_synapse` phases its update can
/// run itself ([`fast::lif::lif_update_fused`], the same bits): when every input slot is bound
/// by one post-aligned Expon state (E/I networks, the microcircuit), whose phases come right
/// before the update in the schedule (nothing else runs between them), with outputs the fused
/// loop knows.
fn fused_updates(plan: &Plan) -> Vec<Option<FusedUpdate>> {
    let fused = |l: usize| -> Option<FusedUpdate> {
        let np = &plan.neurons[l];
        let outputs: Vec<_> = np.inputs.iter().map(|s| s.output).collect();
        if !fast::lif::fusable(&outputs, plan.batch * np.n) {
            return None;
        }
        let mut by_slot = vec![None; np.inputs.len()];
        for (a, acc) in plan.accumulators.iter().enumerate() {
            if acc.neuron == l && acc.kind == AccKind::PostAligned {
                if !matches!(acc.params, SynParams::Expon(_)) || by_slot[acc.slot].is_some() {
                    return None;
                }
                by_slot[acc.slot] = Some(a);
            }
        }
        let accs: Vec<usize> = by_slot.into_iter().collect::<Option<_>>()?;
        let at = plan.schedule.iter().position(|ph| *ph == Phase::NeuronUpdate { neuron: l })?;
        let before = &plan.schedule[at.checked_sub(accs.len())?..at];
        if !before.iter().all(|ph| matches!(ph, Phase::PostSynapse { acc } if accs.contains(acc))) {
            return None;
        }
        let bind = plan.monitors.iter().any(|m| matches!(m.source, RecordSource::Slot { neuron, .. } | RecordSource::Current { neuron, .. } if neuron == l));
        Some(FusedUpdate { accs, bind })
    };
    (0..plan.neurons.len()).map(fused).collect()
}

/// The scatter runs of `plan` worth threads (see [`ScatterRun`]).
fn scatter_runs(plan: &Plan) -> Vec<ScatterRun> {
    let mut runs = Vec::new();
    let mut k = 0;
    while k < plan.schedule.len() {
        let start = k;
        while k < plan.schedule.len() && matches!(plan.schedule[k], Phase::SpikeScatter { .. }) {
            k += 1;
        }
        if k > start {
            let mut by_acc = vec![Vec::new(); plan.accumulators.len()];
            let mut synapses = 0;
            for phase in &plan.schedule[start..k] {
                let Phase::SpikeScatter { proj } = *phase else { unreachable!() };
                let Product::Scatter { acc, .. } = plan.projections[proj].product else { unreachable!("the plan pairs phases and products") };
                by_acc[acc].push(proj);
                synapses += plan.projections[proj].nnz;
            }
            let fed = by_acc.iter().filter(|p| !p.is_empty()).count();
            if fed > 1 && synapses >= PARALLEL_SCATTER_SYNAPSES && rayon::current_num_threads() > 1 {
                runs.push(ScatterRun { start, end: k, by_acc, parallel: false, average_ns: 0.0 });
            }
        } else {
            k += 1;
        }
    }
    runs
}

/// One [`Phase::SpikeScatter`] of projection `proj` at step `i` into its accumulator `out`.
fn spike_scatter(plan: &Plan, products: &[ProductState], neurons: &[NeuronState], i: usize, proj: usize, out: &mut [i32]) {
    let p = &plan.projections[proj];
    let Product::Scatter { acc, .. } = p.product else { unreachable!("the plan pairs phases and products") };
    let r = p.read_step(i);
    if r < 0 {
        return;
    }
    let spiked: &[u32] = match p.pre {
        PopSlot::Source(s) => {
            let src = &plan.sources[s];
            &src.event_neurons[src.step_offsets[r as usize] as usize..src.step_offsets[r as usize + 1] as usize]
        }
        PopSlot::Neuron(l) => {
            let lists = &neurons[l].lists;
            &lists[r as usize % lists.len()]
        }
    };
    let pr = &products[proj];
    let Matrix::Csr(cols) = &pr.matrix else { unreachable!("a scatter keeps CSR") };
    let Some(fixed) = &pr.fixed else { unreachable!("a scatter keeps its weights in fixed point") };
    let to = Delivery { lags: pr.lags.as_deref(), ring: plan.accumulators[acc].ring, step: i };
    match cols {
        Indices::Narrow(c) => fast::event::spike_scatter(&pr.indptr, c, fixed, spiked, p.n_pre, p.n_post, to, out),
        Indices::Wide(c) => fast::event::spike_scatter(&pr.indptr, c, fixed, spiked, p.n_pre, p.n_post, to, out),
    }
}

impl CpuEngine {
    /// Compiles `net` (copying its connectivity) and builds the engine.
    pub fn new(net: &Network, mode: UpdateMode) -> Result<Self> {
        Self::from_plan(Plan::new(net, mode)?)
    }

    /// [`CpuEngine::new`] for a network it may consume: its matrices move into the plan, or go
    /// as soon as they are transposed (see [`Plan::from_network`]).
    pub fn from_network(net: Network, mode: UpdateMode) -> Result<Self> {
        Self::from_plan(Plan::from_network(net, mode)?)
    }

    /// Builds the engine for a plan, taking its matrices.
    pub fn from_plan(mut plan: Plan) -> Result<Self> {
        let b = plan.batch;
        let mut products = Vec::with_capacity(plan.projections.len());
        for k in 0..plan.projections.len() {
            let PlanMatrix { csr, weights, lags } = plan.take_matrix(k);
            let p = &plan.projections[k];
            let indices = Indices::narrowest(csr.indices, csr.n_cols);
            let unused = crate::plan::PlanWeights::Shared(0.0);
            let (matrix, weights, acc, fixed) = match p.product {
                Product::Gather { .. } => {
                    let sliced = Sliced::new(&csr.indptr, indices, &weights);
                    // the sliced copy holds per-synapse weights in its own order
                    (Matrix::Sliced(sliced), unused, Vec::new(), None)
                }
                Product::Window { .. } => (Matrix::Csr(indices), weights, vec![0; b * p.n_post], None),
                // scatters add fixed-point weights: rounded here, once
                Product::Scatter { scale, .. } => (Matrix::Csr(indices), unused, Vec::new(), Some(fast::event::FixedWeights::new(&weights, scale))),
            };
            let indptr = if matches!(matrix, Matrix::Sliced(_)) { Vec::new() } else { csr.indptr };
            products.push(ProductState { indptr, matrix, weights, acc, lags, fixed });
        }
        // which LIF populations' spikes must be kept as lists: those read by a scatter (a ring
        // of them) or by an AMPA/GABAa group in event mode (this step's)
        let mut list_slots: Vec<usize> = plan.neurons.iter().map(|l| l.ring).collect();
        for g in &plan.groups {
            if let (PopSlot::Neuron(l), true) = (g.pre, g.window_flags) {
                list_slots[l] = list_slots[l].max(1);
            }
        }
        let fused = fused_updates(&plan);
        Ok(CpuEngine {
            sources: plan.sources.iter().map(|s| SourceState { stamps: vec![NEVER; s.ring * b * s.n] }).collect(),
            neurons: plan
                .neurons
                .iter()
                .zip(&list_slots)
                .map(|(l, &slots)| NeuronState { lif: LifState::new(&l.v_init, l.inputs.len()), lists: vec![Vec::new(); slots] })
                .collect(),
            groups: plan
                .groups
                .iter()
                .map(|g| {
                    let w = b * g.n;
                    let mut states = vec![0.0; g.states.len() * w];
                    if matches!(g.params, SynParams::Kinetic(_)) {
                        // the spike arrival time
                        states[..w].fill(T_INIT);
                    }
                    GroupState {
                        ring: vec![0.0; g.history * w],
                        states,
                        active: if g.window_flags { vec![Vec::new(); g.history] } else { Vec::new() },
                        mark: if g.window_flags { vec![0; w] } else { Vec::new() },
                    }
                })
                .collect(),
            accs: plan.accumulators.iter().map(|a| AccState { acc: vec![0; a.ring * b * a.n], states: vec![0.0; a.states.len() * b * a.n] }).collect(),
            products,
            spikes: Vec::new(),
            on_values: Vec::new(),
            outputs: plan.neurons.iter().map(|l| l.inputs.iter().map(|s| s.output).collect()).collect(),
            spike_counts: vec![0; plan.populations.len()],
            step: 0,
            nonfinite_policy: NonFinitePolicy::Stop,
            nonfinite: vec![None; plan.neurons.len()],
            diverged: None,
            scatter_runs: scatter_runs(&plan),
            acc_fused: (0..plan.accumulators.len()).map(|a| fused.iter().flatten().any(|f| f.accs.contains(&a))).collect(),
            fused,
            scatter_threads: ScatterThreads::Auto,
            plan,
        })
    }

    /// How large runs of scatters use threads (the default, [`ScatterThreads::Auto`], times
    /// them); every way gives the same bits.
    pub fn with_scatter_threads(mut self, mode: ScatterThreads) -> Self {
        self.scatter_threads = mode;
        for r in &mut self.scatter_runs {
            r.parallel = mode == ScatterThreads::Pool;
        }
        self
    }

    /// Runs one step: every phase of the schedule in order (a run of scatters into several
    /// accumulators shared out among threads, one accumulator per thread).
    pub fn step(&mut self) {
        let (mut k, mut run) = (0, 0);
        while k < self.plan.schedule.len() {
            if self.scatter_runs.get(run).is_some_and(|r| r.start == k) {
                let (end, parallel) = (self.scatter_runs[run].end, self.scatter_runs[run].parallel);
                let t0 = std::time::Instant::now();
                if parallel {
                    let (plan, products, neurons, i) = (&self.plan, &self.products, &self.neurons, self.step);
                    let by_acc = &self.scatter_runs[run].by_acc;
                    self.accs.par_iter_mut().zip(by_acc.par_iter()).filter(|(_, projs)| !projs.is_empty()).for_each(|(st, projs)| {
                        for &proj in projs {
                            spike_scatter(plan, products, neurons, i, proj, &mut st.acc);
                        }
                    });
                } else {
                    for j in k..end {
                        let phase = self.plan.schedule[j];
                        self.run_phase(phase);
                    }
                }
                let mode = self.scatter_threads;
                self.scatter_runs[run].observe(t0.elapsed().as_nanos() as f64, mode);
                k = end;
                run += 1;
                continue;
            }
            let phase = self.plan.schedule[k];
            self.run_phase(phase);
            k += 1;
        }
        self.step += 1;
    }

    fn run_phase(&mut self, phase: Phase) {
        let i = self.step;
        let (step, t) = (i as u32, self.plan.time(i));
        let plan = &self.plan;
        let b = plan.batch;
        match phase {
            Phase::SpikeInput { source } => {
                let src = &plan.sources[source];
                reference::spike_input::spike_input(step, &src.step_offsets, &src.event_neurons, src.ring as u32, b * src.n, &mut self.sources[source].stamps);
                self.spike_counts[src.pop] += (src.step_offsets[i + 1] - src.step_offsets[i]) as u64;
            }
            Phase::PreSynapse { group } => self.pre_synapse(group, i, t),
            Phase::CsrGather { proj } => {
                let p = &plan.projections[proj];
                let Product::Gather { group } = p.product else { unreachable!("the plan pairs phases and products") };
                let w = b * p.n_pre;
                let x = plan.history_slot(group, p.read_step(i)).map(|s| &self.groups[group].ring[s * w..(s + 1) * w]);
                let pw = b * p.n_post;
                let y = &mut self.neurons[p.neuron].lif.gsyn[p.slot * pw..(p.slot + 1) * pw];
                let Matrix::Sliced(m) = &self.products[proj].matrix else { unreachable!("a gather keeps the sliced layout") };
                match x {
                    Some(x) => m.gather(x, p.n_pre, y),
                    // before the delay has filled, the state read is the initial one, 0
                    None => y.fill(0.0),
                }
            }
            Phase::WindowScatter { proj } => {
                let p = &plan.projections[proj];
                let Product::Window { group, decay, scale } = p.product else { unreachable!("the plan pairs phases and products") };
                let r = p.read_step(i);
                let w = b * p.n_pre;
                let g = &self.groups[group];
                let values = |s: i64| plan.history_slot(group, s).map(|s| &g.ring[s * w..(s + 1) * w]);
                if let (Some(x), Some(slot)) = (values(r), plan.history_slot(group, r)) {
                    let pr = &mut self.products[proj];
                    let Matrix::Csr(cols) = &pr.matrix else { unreachable!("a scatter keeps CSR") };
                    let (indptr, weights, acc) = (&pr.indptr, &pr.weights, &mut pr.acc);
                    let active = &g.active[slot];
                    match cols {
                        Indices::Narrow(c) => fast::event::window_scatter(indptr, c, weights, decay, scale, x, values(r - 1), active, p.n_pre, p.n_post, acc),
                        Indices::Wide(c) => fast::event::window_scatter(indptr, c, weights, decay, scale, x, values(r - 1), active, p.n_pre, p.n_post, acc),
                    }
                }
            }
            Phase::WindowFinalize { proj } => {
                let p = &plan.projections[proj];
                let Product::Window { decay, scale, .. } = p.product else { unreachable!("the plan pairs phases and products") };
                let pw = b * p.n_post;
                let y = &mut self.neurons[p.neuron].lif.gsyn[p.slot * pw..(p.slot + 1) * pw];
                reference::event_finalize::event_finalize(decay, 1.0 / scale, &mut self.products[proj].acc, y);
            }
            Phase::SpikeScatter { proj } => {
                let Product::Scatter { acc, .. } = plan.projections[proj].product else { unreachable!("the plan pairs phases and products") };
                spike_scatter(plan, &self.products, &self.neurons, i, proj, &mut self.accs[acc].acc);
            }
            // stepped by its population's update instead
            Phase::PostSynapse { acc } if self.acc_fused[acc] => {}
            Phase::PostSynapse { acc } => {
                let a = &plan.accumulators[acc];
                let w = b * a.n;
                let st = &mut self.accs[acc];
                let y = &mut self.neurons[a.neuron].lif.gsyn[a.slot * w..(a.slot + 1) * w];
                let (first, second) = st.states.split_at_mut(w);
                // this step's slot of the accumulator ring
                let now = &mut st.acc[(i % a.ring) * w..][..w];
                fast::post_synapse::post_synapse(&a.params, a.kind, 1.0 / a.scale, now, first, second, y);
                debug_assert!(a.kind == AccKind::PostAligned || plan.is_aggregate(acc));
            }
            Phase::PoissonInput { input } => {
                let inp = &plan.inputs[input];
                let d = poisson_input::Draw { step, key: inp.key, stream: inp.stream, first: inp.table.first, thresholds: &inp.table.thresholds };
                let sink = match inp.sink {
                    InputSink::Voltage { neuron } => poisson_input::Sink::Voltage { v: &mut self.neurons[neuron].lif.v, weight: inp.weight },
                    InputSink::Accumulator { acc } => {
                        let a = &plan.accumulators[acc];
                        let w = b * a.n;
                        let q = reference::spike_scatter::fixed(inp.weight, a.scale);
                        poisson_input::Sink::Accumulator { acc: &mut self.accs[acc].acc[(i % a.ring) * w..][..w], q }
                    }
                };
                fast::poisson::poisson_input(d, inp.n, b, sink);
            }
            Phase::NeuronUpdate { neuron } => {
                let l = &plan.neurons[neuron];
                let (outputs, i_ext) = (&self.outputs[neuron], l.i_ext.as_deref());
                let (count, bad) = match &self.fused[neuron] {
                    None => fast::lif::lif_update(&l.params, t, outputs, i_ext, &mut self.neurons[neuron].lif),
                    Some(f) => {
                        let slot = |a: usize, st| expon_slot(plan, a, i, st);
                        let lif = &mut self.neurons[neuron].lif;
                        match *f.accs {
                            [a] => fast::lif::lif_update_fused(&l.params, t, outputs, i_ext, lif, &mut [slot(a, &mut self.accs[a])], f.bind),
                            [a0, a1] => {
                                let [s0, s1] = self.accs.get_disjoint_mut([a0, a1]).expect("one state per slot");
                                fast::lif::lif_update_fused(&l.params, t, outputs, i_ext, lif, &mut [slot(a0, s0), slot(a1, s1)], f.bind)
                            }
                            _ => unreachable!("fused updates have one or two slots"),
                        }
                    }
                };
                if bad.is_some() {
                    // the report names a non-finite conductance by its slot
                    self.bind_fused_slots();
                }
                let (plan, st) = (&self.plan, &mut self.neurons[neuron]);
                let l = &plan.neurons[neuron];
                self.spike_counts[l.pop] += count;
                if let (Some(idx), None) = (bad, &self.nonfinite[neuron]) {
                    let e = find_nonfinite(plan, neuron, &st.lif, i, idx);
                    match self.nonfinite_policy {
                        NonFinitePolicy::Stop => self.diverged = Some(e),
                        NonFinitePolicy::Record => self.nonfinite[neuron] = Some(e.to_string()),
                    }
                }
                if !st.lists.is_empty() {
                    let slots = st.lists.len();
                    let list = &mut st.lists[i % slots];
                    list.clear();
                    if count > 0 {
                        spiking(&st.lif.spike, list);
                    }
                }
            }
        }
    }

    /// Writes the state of every fused update that does not bind its slots into them (as its
    /// `post_synapse` phases would have), for what reads the slots outside the step.
    fn bind_fused_slots(&mut self) {
        for (f, st) in self.fused.iter().zip(&mut self.neurons) {
            let Some(f) = f.as_ref().filter(|f| !f.bind) else { continue };
            let w = st.lif.v.len();
            for (slot, &a) in f.accs.iter().enumerate() {
                st.lif.gsyn[slot * w..(slot + 1) * w].copy_from_slice(&self.accs[a].states[..w]);
            }
        }
    }

    /// Group `g`'s step: the vectorized or sparse AMPA/GABAa gating, or the reference twin of
    /// the other models.
    fn pre_synapse(&mut self, g: usize, i: usize, t: f32) {
        let plan = &self.plan;
        let group = &plan.groups[g];
        let (step, h) = (i as u32, group.history);
        let width = plan.batch * group.n;
        // this step's spikes of the pre population, as its state holds them
        let spikes = match group.pre {
            PopSlot::Source(s) => {
                let ring = plan.sources[s].ring;
                Spikes::Stamps(&self.sources[s].stamps[(i % ring) * width..][..width], step)
            }
            PopSlot::Neuron(l) => Spikes::Flags(&self.neurons[l].lif.spike),
        };
        let st = &mut self.groups[g];
        match (&group.params, group.window_flags) {
            (SynParams::Kinetic(p), false) => fast::gating::gating_dense(p, step, t, width, h as u32, spikes, &mut st.states, &mut st.ring),
            (SynParams::Kinetic(p), true) => {
                self.spikes.clear();
                match group.pre {
                    PopSlot::Source(s) => {
                        let src = &plan.sources[s];
                        self.spikes.extend_from_slice(&src.event_neurons[src.step_offsets[i] as usize..src.step_offsets[i + 1] as usize]);
                    }
                    PopSlot::Neuron(l) => {
                        let lists = &self.neurons[l].lists;
                        self.spikes.extend_from_slice(&lists[i % lists.len()]);
                    }
                }
                let ring = &mut st.active;
                let prev = if i > 0 { std::mem::take(&mut ring[(i - 1) % h]) } else { Vec::new() };
                let mut out = std::mem::take(&mut ring[i % h]);
                fast::gating::gating_sparse(p, step, t, width, h as u32, &self.spikes, &prev, &mut st.states, &mut st.ring, &mut st.mark, &mut self.on_values, &mut out);
                if i > 0 && (i - 1) % h != i % h {
                    ring[(i - 1) % h] = prev;
                }
                ring[i % h] = out;
            }
            (p, _) => {
                let spiked = |idx: usize| match spikes {
                    Spikes::Stamps(s, step) => s[idx] == step,
                    Spikes::Flags(f) => f[idx] != 0,
                };
                reference::pre_synapse::pre_synapse(p, plan.dt, step, t, width, h as u32, spiked, &mut st.ring, &mut st.states, None);
            }
        }
    }

    /// Writes the monitored values of the step just run into `chunk`.
    fn record(&self, chunk: &mut Chunk) {
        let i = self.step - 1;
        let plan = &self.plan;
        let b = plan.batch;
        for (m, data) in plan.monitors.iter().zip(chunk.data.iter_mut()) {
            if !m.records(i) {
                continue;
            }
            let row = m.row_in_chunk(chunk.start, i);
            let w = m.width();
            match data {
                MonitorData::F32(out) => {
                    let out = &mut out[row * w..(row + 1) * w];
                    self.record_f32(m, b, out);
                }
                MonitorData::Spike(out) => {
                    let out = &mut out[row * w..(row + 1) * w];
                    match m.source {
                        RecordSource::Spike { neuron } => {
                            let s = &self.neurons[neuron].lif.spike;
                            reference::record::record(&m.pick, m.n, b, |k| s[k] as u8, out);
                        }
                        RecordSource::SourceSpike { source } => {
                            let ring = plan.sources[source].ring;
                            let width = b * m.n;
                            let s = &self.sources[source].stamps[(i % ring) * width..][..width];
                            reference::record::record(&m.pick, m.n, b, |k| (s[k] == i as u32) as u8, out);
                        }
                        _ => unreachable!("spike monitors read spikes"),
                    }
                }
            }
        }
    }

    fn record_f32(&self, m: &MonitorPlan, b: usize, out: &mut [f32]) {
        let plan = &self.plan;
        let i = self.step - 1;
        let width = b * m.n;
        let copy = |src: &[f32], out: &mut [f32]| reference::record::record(&m.pick, m.n, b, |k| src[k], out);
        match m.source {
            RecordSource::PreOutput { group } => {
                let slot = i % plan.groups[group].history;
                copy(&self.groups[group].ring[slot * width..(slot + 1) * width], out)
            }
            RecordSource::PreState { group, state } => copy(&self.groups[group].states[state * width..(state + 1) * width], out),
            RecordSource::AccState { acc, state } => copy(&self.accs[acc].states[state * width..(state + 1) * width], out),
            RecordSource::Slot { neuron, slot } => copy(&self.neurons[neuron].lif.gsyn[slot * width..(slot + 1) * width], out),
            RecordSource::Current { neuron, first, end } => {
                let lif = &self.neurons[neuron].lif;
                let outputs = &self.outputs[neuron];
                reference::record::record(&m.pick, m.n, b, |k| reference::record::current(outputs, &lif.gsyn, &lif.v, first, end, k), out)
            }
            RecordSource::V { neuron } => copy(&self.neurons[neuron].lif.v, out),
            RecordSource::Input { neuron } => copy(&self.neurons[neuron].lif.input, out),
            RecordSource::Spike { .. } | RecordSource::SourceSpike { .. } => unreachable!("spikes are recorded as spikes"),
        }
    }
}

/// What is non-finite at neuron `idx` of population `neuron` after step `step`: an input
/// conductance (the cause, named by projection) before the input current before V.
fn find_nonfinite(plan: &Plan, neuron: usize, lif: &LifState, step: usize, idx: usize) -> crate::Error {
    let w = lif.v.len();
    for k in 0..plan.neurons[neuron].inputs.len() {
        let g = lif.gsyn[k * w + idx];
        if !g.is_finite() {
            return nonfinite_error(plan, neuron, NonFiniteVar::Slot(k), step, idx, g);
        }
    }
    if !lif.input[idx].is_finite() {
        return nonfinite_error(plan, neuron, NonFiniteVar::Input, step, idx, lif.input[idx]);
    }
    // V itself: still non-finite (NaN, -inf), or +inf that crossed the threshold and was reset
    let v = lif.v[idx];
    nonfinite_error(plan, neuron, NonFiniteVar::V, step, idx, if v.is_finite() { f32::INFINITY } else { v })
}

/// Appends the indices of the nonzero flags to `list`, 64 flags at a time (few neurons spike in
/// a step, so most blocks are skipped after one vectorized OR: AVX-512 where the CPU has it).
#[multiversion::multiversion(targets = "simd")]
fn spiking(flags: &[u32], list: &mut Vec<u32>) {
    const BLOCK: usize = 64;
    let mut chunks = flags.chunks_exact(BLOCK);
    for (c, chunk) in chunks.by_ref().enumerate() {
        if chunk.iter().fold(0, |a, &x| a | x) != 0 {
            // the set flags as bits, then one step per spike rather than one per flag
            let mut bits = chunk.iter().enumerate().fold(0u64, |m, (k, &x)| m | (((x != 0) as u64) << k));
            while bits != 0 {
                list.push((c * BLOCK) as u32 + bits.trailing_zeros());
                bits &= bits - 1;
            }
        }
    }
    let base = flags.len() - chunks.remainder().len();
    list.extend(chunks.remainder().iter().enumerate().filter(|(_, &s)| s != 0).map(|(k, _)| (base + k) as u32));
}

/// Lists of variable length, as one array: each list's length, then its items.
fn pack_lists(lists: &[Vec<u32>]) -> Vec<u32> {
    let mut out = Vec::new();
    for l in lists {
        out.push(l.len() as u32);
        out.extend_from_slice(l);
    }
    out
}

fn unpack_lists(flat: &[u32], count: usize) -> crate::Result<Vec<Vec<u32>>> {
    let bad = || crate::Error::Checkpoint("a list array is damaged".into());
    let mut out = Vec::with_capacity(count);
    let mut at = 0;
    for _ in 0..count {
        let len = *flat.get(at).ok_or_else(bad)? as usize;
        out.push(flat.get(at + 1..at + 1 + len).ok_or_else(bad)?.to_vec());
        at += 1 + len;
    }
    (at == flat.len()).then_some(out).ok_or_else(bad)
}

/// A variable-length array from a checkpoint (its length is stored with it).
fn any_len<T: bytemuck::Pod>(c: &Checkpoint, name: &str) -> crate::Result<Vec<T>> {
    let (_, b) = c.arrays.iter().find(|(n, _)| n == name).ok_or_else(|| crate::Error::Checkpoint(format!("array {name} is missing")))?;
    c.array(name, b.len() / std::mem::size_of::<T>())
}

impl Engine for CpuEngine {
    fn describe(&self) -> EngineInfo {
        EngineInfo {
            backend: "cpu".into(),
            device: format!("cpu ({} threads, {} update)", rayon::current_num_threads(), self.plan.mode),
            api: None,
            driver: None,
        }
    }

    fn plan(&self) -> &Plan {
        &self.plan
    }

    fn steps_done(&self) -> usize {
        self.step
    }

    fn run_steps(&mut self, steps: usize, chunk_steps: usize, sink: &mut dyn FnMut(&Chunk) -> Result<()>) -> Result<()> {
        let chunk_steps = chunk_steps.max(1);
        let end = self.step.saturating_add(steps).min(self.plan.steps);
        while self.step < end {
            let start = self.step;
            let n = chunk_steps.min(end - start);
            let mut chunk = Chunk::new(&self.plan.monitors, start, n);
            for _ in 0..n {
                self.step();
                if let Some(e) = self.diverged.take() {
                    return Err(e);
                }
                self.record(&mut chunk);
            }
            sink(&chunk)?;
        }
        Ok(())
    }

    fn stats(&self) -> RunStats {
        RunStats { spike_counts: self.spike_counts.clone(), nonfinite: self.nonfinite.iter().flatten().cloned().collect(), ..Default::default() }
    }

    fn set_nonfinite(&mut self, policy: NonFinitePolicy) {
        self.nonfinite_policy = policy;
    }

    fn checkpoint(&mut self) -> Result<Checkpoint> {
        self.bind_fused_slots();
        let per_pop = self.nonfinite.iter().map(|x| x.clone().unwrap_or_default()).collect();
        let mut c = Checkpoint::new("cpu", &self.plan, self.step, self.spike_counts.clone(), per_pop);
        for (k, s) in self.sources.iter().enumerate() {
            c.push(format!("source{k}.stamps"), &s.stamps);
        }
        for (k, n) in self.neurons.iter().enumerate() {
            let l = &n.lif;
            c.push(format!("neuron{k}.v"), &l.v);
            c.push(format!("neuron{k}.t_last"), &l.t_last);
            c.push(format!("neuron{k}.spike"), &l.spike);
            c.push(format!("neuron{k}.input"), &l.input);
            c.push(format!("neuron{k}.gsyn"), &l.gsyn);
            c.push(format!("neuron{k}.lists"), &pack_lists(&n.lists));
        }
        for (k, g) in self.groups.iter().enumerate() {
            c.push(format!("group{k}.ring"), &g.ring);
            c.push(format!("group{k}.states"), &g.states);
            c.push(format!("group{k}.active"), &pack_lists(&g.active));
            c.push(format!("group{k}.mark"), &g.mark);
        }
        for (k, a) in self.accs.iter().enumerate() {
            c.push(format!("acc{k}.acc"), &a.acc);
            c.push(format!("acc{k}.states"), &a.states);
        }
        for (k, p) in self.products.iter().enumerate() {
            c.push(format!("proj{k}.acc"), &p.acc);
        }
        Ok(c)
    }

    fn restore(&mut self, c: &Checkpoint) -> Result<()> {
        c.check("cpu", &self.plan)?;
        for (k, s) in self.sources.iter_mut().enumerate() {
            s.stamps = c.array(&format!("source{k}.stamps"), s.stamps.len())?;
        }
        for (k, n) in self.neurons.iter_mut().enumerate() {
            let l = &mut n.lif;
            l.v = c.array(&format!("neuron{k}.v"), l.v.len())?;
            l.t_last = c.array(&format!("neuron{k}.t_last"), l.t_last.len())?;
            l.spike = c.array(&format!("neuron{k}.spike"), l.spike.len())?;
            l.input = c.array(&format!("neuron{k}.input"), l.input.len())?;
            l.gsyn = c.array(&format!("neuron{k}.gsyn"), l.gsyn.len())?;
            n.lists = unpack_lists(&any_len::<u32>(c, &format!("neuron{k}.lists"))?, n.lists.len())?;
        }
        for (k, g) in self.groups.iter_mut().enumerate() {
            g.ring = c.array(&format!("group{k}.ring"), g.ring.len())?;
            g.states = c.array(&format!("group{k}.states"), g.states.len())?;
            g.active = unpack_lists(&any_len::<u32>(c, &format!("group{k}.active"))?, g.active.len())?;
            g.mark = c.array(&format!("group{k}.mark"), g.mark.len())?;
        }
        for (k, a) in self.accs.iter_mut().enumerate() {
            a.acc = c.array(&format!("acc{k}.acc"), a.acc.len())?;
            a.states = c.array(&format!("acc{k}.states"), a.states.len())?;
        }
        for (k, p) in self.products.iter_mut().enumerate() {
            p.acc = c.array(&format!("proj{k}.acc"), p.acc.len())?;
        }
        self.step = c.step;
        self.spike_counts.clone_from(&c.spike_counts);
        self.nonfinite = (0..self.plan.neurons.len()).map(|k| c.nonfinite.get(k).filter(|t| !t.is_empty()).cloned()).collect();
        Ok(())
    }
}
