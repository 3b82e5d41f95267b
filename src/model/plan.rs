//! The compiled form of a [`Network`] that both engines execute: shared gating states, delay
//! lags, post-major connectivity, sorted spike events and derived parameters (computed once per
//! `dt`, so no kernel does transcendental work that does not depend on state).
//!
//! Per step, every engine runs the same schedule (SEMANTICS.md):
//! 1. `spike_input`: each spike source stamps the neurons whose events fall on this step;
//! 2. `gating` of every group whose pre population is a spike source (writes its history ring);
//! 3. `csr_gather` of every projection, from its group's history at its lag, into the post
//!    population's conductance slot;
//! 4. `lif_update` of every LIF population (current from the old V);
//! 5. `gating` of every group whose pre population is a LIF population, from the spikes of 4;
//! 6. `record` of every monitor.

use super::{Csr, Network, NeuronModel, Synapse, Weights};
use std::borrow::Cow;
use crate::error::Result;

/// f32 `exp`, correctly rounded (XLA:CPU's `exp` is; f64 `exp` rounded once to f32 matches it).
fn exp_f32(z: f32) -> f32 {
    (z as f64).exp() as f32
}

/// `dt * exprel(dt * lin)` in f32, exactly as BrainPy's `exp_auto` forms it: with it,
/// `x_new = x + dt_phi * f(x)` is the exact solution over one step of `dx/dt = f(x)` when `f` is
/// linear in `x` with slope `lin`.
pub fn dt_phi(dt: f32, lin: f32) -> f32 {
    let z = dt * lin;
    let phi = if z.abs() <= 1e-5 { 1.0 + z / 2.0 + z * z / 6.0 } else { (exp_f32(z) - 1.0) / z };
    dt * phi
}

/// Derived gating parameters of one synapse description.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GatingParams {
    /// Closing rate, 1/ms.
    pub beta: f32,
    /// `alpha * T`, the rate while transmitter is present.
    pub alpha_t: f32,
    /// Transmitter pulse duration, ms.
    pub t_dur: f32,
    /// `dt_phi` while transmitter is present (`lin = -(alpha*T + beta)`).
    pub dt_phi_on: f32,
    /// `dt_phi` outside the window (`lin = -beta`).
    pub dt_phi_off: f32,
    /// `exp(-beta * dt)`: the exact one-step decay outside the window.
    pub decay: f32,
}

impl GatingParams {
    /// Derives the parameters of `s` for time step `dt` (ms).
    pub fn new(s: &Synapse, dt: f32) -> Self {
        let alpha_t = s.alpha * s.t_conc;
        GatingParams {
            beta: s.beta,
            alpha_t,
            t_dur: s.t_dur,
            dt_phi_on: dt_phi(dt, -(alpha_t + s.beta)),
            dt_phi_off: dt_phi(dt, -s.beta),
            decay: exp_f32(-s.beta * dt),
        }
    }
}

/// Derived LifRef parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LifParams {
    /// Resting potential, mV.
    pub v_rest: f32,
    /// Spike threshold, mV.
    pub v_th: f32,
    /// Reset potential after a spike, mV.
    pub v_reset: f32,
    /// Membrane resistance.
    pub r: f32,
    /// `1/tau` (XLA turns the division by tau into this multiplication).
    pub inv_tau: f32,
    /// `dt_phi` of the membrane equation (`lin = -1/tau`).
    pub dt_phi: f32,
    /// Refractory period, ms.
    pub tau_ref: f32,
}

/// One spike-time population, its events sorted by firing step. Events name a neuron of one
/// batch row (`b * n + i`); an event shared by the batch appears once per row.
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
}

/// One LIF population and the projections that drive it, in registration order (BrainPy sums
/// the currents in that order).
#[derive(Clone, Debug)]
pub struct LifPlan {
    /// Index into [`Network::populations`].
    pub pop: usize,
    /// Number of neurons.
    pub n: usize,
    /// Derived neuron parameters.
    pub params: LifParams,
    /// Batch-major initial V.
    pub v_init: Vec<f32>,
    /// Indices into [`Plan::projections`] of the projections onto this population.
    pub inputs: Vec<usize>,
}

/// A gating state shared by every projection from one pre population with an identical synapse
/// description (BrainPy's `ProjAlignPreMg2` merging), with the history ring that implements
/// every delay of those projections. The ring slot of step `s` is `s % history`; the newest slot
/// *is* the gating state, so no separate copy exists.
#[derive(Clone, Debug)]
pub struct GatingGroup {
    /// Index into [`Network::populations`] of the pre population.
    pub pre: usize,
    /// Whether the pre population is a spike source (its group updates before the projections),
    /// or a LIF population (its group updates at the end of the step).
    pub pre_is_source: bool,
    /// Index into [`Plan::sources`] or [`Plan::lifs`].
    pub pre_slot: usize,
    /// Number of pre neurons (gating values per batch copy).
    pub n: usize,
    /// The shared synapse description.
    pub synapse: Synapse,
    /// Derived gating parameters.
    pub params: GatingParams,
    /// Ring length: the largest lag of its projections, plus one.
    pub history: usize,
}

/// Post-major synaptic weights.
#[derive(Clone, Debug, PartialEq)]
pub enum PlanWeights {
    /// One weight for every synapse.
    Shared(f32),
    /// One per entry of [`ProjPlan::post_major`].
    PerSynapse(Vec<f32>),
}

/// One projection, ready to run as a post-major gather.
#[derive(Clone, Debug)]
pub struct ProjPlan {
    /// Index into [`Plan::groups`] of the gating state it reads.
    pub group: usize,
    /// Steps between the newest gating value and the one this projection reads.
    pub lag: usize,
    /// Index into [`Plan::lifs`] of the post population.
    pub post_lif: usize,
    /// Position among the post population's inputs.
    pub input_slot: usize,
    /// Rows = post neurons, columns = pre neurons (dense mode; empty in event mode).
    pub post_major: super::Csr,
    /// Rows = pre neurons, the file's layout (event mode, which scatters from active pre
    /// neurons; empty in dense mode). Its weights are `weights` in that order.
    pub pre_major: super::Csr,
    /// Synaptic weights.
    pub weights: PlanWeights,
    /// COBA reversal potential.
    pub e: f32,
    /// Event mode: the fixed-point scale of the per-step conductance increments (a power of
    /// two; see [`event_scale`]). 1 in dense mode.
    pub event_scale: f32,
}

/// The fixed-point scale of a projection's per-step conductance increments in event mode.
///
/// Each increment `w * (x(t) - d x(t-1))` is rounded to a multiple of `1/scale` and summed as a
/// 32-bit integer, so the sum does not depend on the order of the additions: the GPU adds them
/// with integer atomics in whatever order its threads run, and gets the CPU's result. Since
/// `|x(t) - d x(t-1)| < 1` (gating variables lie in [0, 1)), one post neuron's increment is at
/// most `max_j sum_i |w_ij|`; the scale is the largest power of two that keeps that below 2^30.
/// For B2 (about 100 inputs of weight 0.08) it is 2^26: a resolution of 1.5e-8 per term.
pub fn event_scale(conn: &super::Csr, weights: &Weights) -> f32 {
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
    let max = total.iter().copied().fold(0.0f64, f64::max);
    if max <= 0.0 {
        return 1.0;
    }
    let exp = ((1u64 << 30) as f64 / max).log2().floor().clamp(0.0, 60.0);
    (2.0f64).powi(exp as i32) as f32
}

/// How projections compute the post conductance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateMode {
    /// Every synapse every step: `y = W x` (BrainPy's and Brian2's way; the reference).
    #[default]
    Dense,
    /// Exact event-driven update: outside its transmitter window every gating variable of a
    /// group decays by the same `d = exp(-beta dt)`, so `y(t) = d y(t-1) + W (x(t) - d x(t-1))`
    /// where only pre neurons inside their window contribute. Touches only the synapses of
    /// recently spiking neurons. Increments are summed in fixed point, so both engines give
    /// the same result whatever the order of the additions.
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

/// What each population is in the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PopSlot {
    /// A spike source: index into [`Plan::sources`].
    Source(usize),
    /// A LIF population: index into [`Plan::lifs`].
    Lif(usize),
}

/// The executable schedule of a network, shared by both engines.
#[derive(Clone, Debug)]
pub struct Plan {
    /// How projections compute the post conductance.
    pub mode: UpdateMode,
    /// Time step, ms.
    pub dt: f32,
    /// Number of steps to run.
    pub steps: usize,
    /// Number of batch copies.
    pub batch: usize,
    /// What each network population is, by population index.
    pub pops: Vec<PopSlot>,
    /// Spike-time populations.
    pub sources: Vec<SourcePlan>,
    /// LIF populations.
    pub lifs: Vec<LifPlan>,
    /// Shared gating states.
    pub groups: Vec<GatingGroup>,
    /// Projections, in registration order.
    pub projections: Vec<ProjPlan>,
}

/// `ceil(delay / dt)` in f64, BrainPy's delay length in steps (0 for no delay).
pub fn delay_steps(delay_ms: Option<f64>, dt: f64) -> usize {
    delay_ms.map_or(0, |d| (d / dt).ceil() as usize)
}

/// The first step whose time `f32(i) * dt` reaches `time` (BrainPy: `t >= times[ptr]`).
pub fn firing_step(time: f32, dt: f32) -> usize {
    if time <= 0.0 {
        return 0;
    }
    // Start from the f64 estimate and settle on the exact f32 rule.
    let estimate = ((time as f64) / (dt as f64)).ceil();
    if estimate > super::validate::MAX_STEPS as f64 + 1.0 {
        // beyond the longest possible run: never fires (and f32 steps this large are too coarse
        // for the search below to be quick)
        return usize::MAX;
    }
    let mut i = estimate as usize;
    while i > 0 && super::step_time(i - 1, dt) >= time {
        i -= 1;
    }
    while super::step_time(i, dt) < time {
        i += 1;
    }
    i
}

impl Plan {
    /// Compiles a validated network for the dense (reference) update.
    pub fn new(net: &Network) -> Result<Plan> {
        Self::with_mode(net, UpdateMode::Dense)
    }

    /// Compiles a validated network for an update mode.
    pub fn with_mode(net: &Network, mode: UpdateMode) -> Result<Plan> {
        Self::compile(net, mode, None)
    }

    /// [`Plan::with_mode`], consuming the network: each projection's matrix and per-synapse
    /// weights move into the plan (event mode) or go as soon as their transpose exists (dense
    /// mode), instead of being copied, so the connectivity is held once, not twice. Returns
    /// the network without its connectivity.
    pub fn from_network(mut net: Network, mode: UpdateMode) -> Result<(Plan, Network)> {
        let owned = net
            .projections
            .iter_mut()
            .map(|p| {
                let shape = Csr { n_rows: p.conn.n_rows, n_cols: p.conn.n_cols, indptr: Vec::new(), indices: Vec::new() };
                let weights = match &mut p.weights {
                    Weights::Shared(w) => Weights::Shared(*w),
                    Weights::PerSynapse(w) => Weights::PerSynapse(std::mem::take(w)),
                };
                (std::mem::replace(&mut p.conn, shape), weights)
            })
            .collect();
        let plan = Self::compile(&net, mode, Some(owned))?;
        Ok((plan, net))
    }

    /// `owned`: the projections' matrices and weights, taken out of `net` (else `net`'s are
    /// read, and copied where the plan keeps them).
    fn compile(net: &Network, mode: UpdateMode, mut owned: Option<Vec<(Csr, Weights)>>) -> Result<Plan> {
        let dt = net.dt_f32();
        let mut pops = Vec::new();
        let mut sources = Vec::new();
        let mut lifs = Vec::new();
        for (pi, p) in net.populations.iter().enumerate() {
            match &p.model {
                NeuronModel::SpikeTimes(s) => {
                    let n = p.size as u32;
                    let mut ev: Vec<(usize, u32)> = Vec::new();
                    for (k, (&t, &ix)) in s.times.iter().zip(&s.indices).enumerate() {
                        let step = firing_step(t, dt);
                        if step >= net.steps {
                            continue;
                        }
                        match s.rows.get(k) {
                            Some(&b) => ev.push((step, b * n + ix)),
                            None => ev.extend((0..net.batch as u32).map(|b| (step, b * n + ix))),
                        }
                    }
                    ev.sort_by_key(|&(step, _)| step);
                    let mut step_offsets = vec![0u32; net.steps + 1];
                    for &(step, _) in &ev {
                        step_offsets[step + 1] += 1;
                    }
                    for i in 0..net.steps {
                        step_offsets[i + 1] += step_offsets[i];
                    }
                    pops.push(PopSlot::Source(sources.len()));
                    sources.push(SourcePlan {
                        pop: pi,
                        n: p.size,
                        event_neurons: ev.into_iter().map(|(_, ix)| ix).collect(),
                        step_offsets,
                    });
                }
                NeuronModel::LifRef(l) => {
                    pops.push(PopSlot::Lif(lifs.len()));
                    lifs.push(LifPlan {
                        pop: pi,
                        n: p.size,
                        params: LifParams {
                            v_rest: l.v_rest,
                            v_th: l.v_th,
                            v_reset: l.v_reset,
                            r: l.r,
                            inv_tau: 1.0 / l.tau,
                            dt_phi: dt_phi(dt, -1.0 / l.tau),
                            tau_ref: l.tau_ref,
                        },
                        v_init: l.v_init.expand(net.batch, p.size),
                        inputs: Vec::new(),
                    });
                }
            }
        }

        let mut groups: Vec<GatingGroup> = Vec::new();
        let mut projections = Vec::new();
        for (k, p) in net.projections.iter().enumerate() {
            let g = match groups.iter().position(|g| g.pre == p.pre && g.synapse.same_state_as(&p.synapse)) {
                Some(g) => g,
                None => {
                    let (pre_is_source, pre_slot) = match pops[p.pre] {
                        PopSlot::Source(s) => (true, s),
                        PopSlot::Lif(l) => (false, l),
                    };
                    groups.push(GatingGroup {
                        pre: p.pre,
                        pre_is_source,
                        pre_slot,
                        n: net.populations[p.pre].size,
                        synapse: p.synapse,
                        params: GatingParams::new(&p.synapse, dt),
                        history: 1,
                    });
                    groups.len() - 1
                }
            };
            let l = delay_steps(p.delay_ms, net.dt);
            // A source writes its gating state before the projections read it (lag L-1 from this
            // step's value); a LIF population writes at the end of its step, so the newest value
            // at read time is last step's, and the lag from it is L-2 (SEMANTICS: "delay rule").
            let lag = if groups[g].pre_is_source { l.saturating_sub(1) } else { l.saturating_sub(2) };
            // the event update also reads the value one step before the one it reads
            let extra = (mode == UpdateMode::Event) as usize;
            groups[g].history = groups[g].history.max(lag + 1 + extra);
            let PopSlot::Lif(post_lif) = pops[p.post] else { unreachable!("validated: post is a LIF population") };
            let (conn, w): (Cow<Csr>, Cow<Weights>) = match owned.as_mut() {
                Some(v) => {
                    let (c, w) = std::mem::replace(&mut v[k], (Csr::default(), Weights::Shared(0.0)));
                    (Cow::Owned(c), Cow::Owned(w))
                }
                None => (Cow::Borrowed(&p.conn), Cow::Borrowed(&p.weights)),
            };
            let event_scale = if mode == UpdateMode::Event { event_scale(&conn, &w) } else { 1.0 };
            let (post_major, pre_major, weights) = match mode {
                UpdateMode::Dense => {
                    let (post_major, perm) = conn.transpose_with(matches!(*w, Weights::PerSynapse(_)));
                    let weights = match &*w {
                        Weights::Shared(w) => PlanWeights::Shared(*w),
                        Weights::PerSynapse(w) => PlanWeights::PerSynapse(perm.iter().map(|&e| w[e as usize]).collect()),
                    };
                    (post_major, Csr::default(), weights)
                }
                UpdateMode::Event => {
                    let weights = match w.into_owned() {
                        Weights::Shared(w) => PlanWeights::Shared(w),
                        Weights::PerSynapse(w) => PlanWeights::PerSynapse(w),
                    };
                    (Csr::default(), conn.into_owned(), weights)
                }
            };
            let input_slot = lifs[post_lif].inputs.len();
            lifs[post_lif].inputs.push(k);
            projections.push(ProjPlan { group: g, lag, post_lif, input_slot, post_major, pre_major, weights, e: p.output.e, event_scale });
        }
        Ok(Plan { mode, dt, steps: net.steps, batch: net.batch, pops, sources, lifs, groups, projections })
    }

    /// Bytes of state and connectivity an engine holds for this plan (either engine; monitors
    /// and the host copies of the description come on top).
    pub fn state_bytes(&self) -> u64 {
        let b = self.batch as u64;
        let sources: u64 = self.sources.iter().map(|s| 4 * (self.batch * s.n + s.event_neurons.len() + s.step_offsets.len()) as u64).sum();
        let lifs: u64 = self.lifs.iter().map(|l| 4 * b * l.n as u64 * (5 + l.inputs.len() as u64)).sum();
        let groups: u64 = self.groups.iter().map(|g| 4 * b * g.n as u64 * (1 + g.history as u64)).sum();
        let synapses: u64 = self
            .projections
            .iter()
            .map(|p| {
                let w = matches!(p.weights, PlanWeights::PerSynapse(_)) as u64;
                let nnz = (p.post_major.nnz() + p.pre_major.nnz()) as u64;
                4 * (nnz * (1 + w) + (p.post_major.indptr.len() + p.pre_major.indptr.len()) as u64)
            })
            .sum();
        sources + lifs + groups + synapses
    }

    /// The time of step `i` (rounded f32, see [`super::step_time`]).
    pub fn time(&self, i: usize) -> f32 {
        super::step_time(i, self.dt)
    }

    /// The step whose gating value a projection reads at step `i` (negative while the delay
    /// reaches before the run: the value is then the initial state, 0).
    pub fn read_step(&self, proj: &ProjPlan, i: usize) -> i64 {
        let group = &self.groups[proj.group];
        let newest = if group.pre_is_source { i as i64 } else { i as i64 - 1 };
        newest - proj.lag as i64
    }

    /// The ring slot of group `group` that holds step `step`, or `None` for a step before the
    /// run (whose value is the initial state, 0).
    pub fn history_slot(&self, group: usize, step: i64) -> Option<usize> {
        (step >= 0).then(|| step as usize % self.groups[group].history)
    }
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
            assert!(crate::model::step_time(i, dt) >= t);
            assert!(i == 0 || crate::model::step_time(i - 1, dt) < t);
        }
        // SEMANTICS: a grid time k*0.1 fires at exactly step k
        assert_eq!(firing_step(10.0, dt), 100);
    }

    #[test]
    fn delay_steps_uses_f64_ceil() {
        assert_eq!(delay_steps(Some(2.0), 0.1), 20);
        assert_eq!(delay_steps(Some(0.3), 0.1), 3);
        assert_eq!(delay_steps(Some(1.1), 0.1), 11);
        assert_eq!(delay_steps(None, 0.1), 0);
    }
}
