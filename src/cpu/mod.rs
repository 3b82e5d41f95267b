//! The CPU reference engine: f32, step for step the semantics of SEMANTICS.md. Each kernel lives
//! in its own file with the same stem as its WGSL twin in `shaders/`.

pub mod columns;
pub mod csr_gather;
pub mod event_update;
pub mod gating;
pub mod lif_update;
pub mod record;
pub mod sliced;
pub mod spike_input;

use crate::error::Result;
use std::borrow::Cow;
use crate::model::plan::{Plan, PlanWeights, PopSlot, UpdateMode};
use crate::model::{Network, Target};
use crate::sim::{Backend, BackendInfo, Chunk, MonitorData, RunStats};
use columns::Indices;
use sliced::Sliced;
use gating::Spikes;
use lif_update::LifState;

/// Simulation state of every population and gating group.
pub struct CpuEngine {
    net: Network,
    plan: Plan,
    /// Per source: the last step each neuron spiked at (`u32::MAX`: never).
    stamps: Vec<Vec<u32>>,
    lifs: Vec<LifState>,
    /// Per group: last spike arrival time, `batch * n`.
    sat: Vec<Vec<f32>>,
    /// Per group: the history ring, `history * batch * n`.
    hist: Vec<Vec<f32>>,
    /// Per group and ring slot: the variables updated inside their window (event mode).
    active: Vec<Vec<Vec<u32>>>,
    /// Per group: scratch for [`gating::gating_sparse`] (event mode).
    mark: Vec<Vec<u32>>,
    /// This step's spiking variables of the group being updated (event mode).
    spikes: Vec<u32>,
    /// Scratch of [`gating::gating_sparse`].
    on_values: Vec<f32>,
    /// Per projection: the fixed-point increments of this step (event mode).
    acc: Vec<Vec<i32>>,
    /// Per projection: the matrix its update reads, taken out of the plan (post-major in dense
    /// mode, with its per-synapse weights; pre-major in event mode).
    matrices: Vec<Matrix>,
    /// Reversal potential of each input slot, per LIF population.
    e: Vec<Vec<f32>>,
    spike_counts: Vec<u64>,
    step: usize,
}

/// A projection's matrix as the CPU engine keeps it.
enum Matrix {
    /// CSR column indices (over the plan's `indptr`): the event mode's scatter.
    Csr(Indices),
    /// The dense product, in the layout that vectorizes it.
    Sliced(Sliced),
}

/// BrainPy's initial `spike_arrival_time`.
pub const SAT_INIT: f32 = -1e7;

impl CpuEngine {
    /// Builds the engine for a validated network, with the dense (reference) update.
    pub fn new(net: &Network) -> Result<Self> {
        Self::with_mode(net, UpdateMode::Dense)
    }

    /// Builds the engine with an update mode.
    pub fn with_mode(net: &Network, mode: UpdateMode) -> Result<Self> {
        Self::build(Cow::Borrowed(net), mode)
    }

    /// [`CpuEngine::with_mode`] for a network it may consume: the file's matrices move into the
    /// plan (event mode) or go as soon as they are transposed (dense mode), so fewer copies of
    /// the connectivity are alive at once (see [`Plan::from_network`]).
    pub fn from_network(net: Network, mode: UpdateMode) -> Result<Self> {
        Self::build(Cow::Owned(net), mode)
    }

    fn build(net: Cow<Network>, mode: UpdateMode) -> Result<Self> {
        // an owned network's matrices move into the plan, or go once transposed
        let (mut plan, net) = match net {
            Cow::Owned(net) => Plan::from_network(net, mode)?,
            Cow::Borrowed(net) => (Plan::with_mode(net, mode)?, net.without_connectivity()),
        };
        let matrices = plan
            .projections
            .iter_mut()
            .map(|p| {
                let csr = if mode == UpdateMode::Event { &mut p.pre_major } else { &mut p.post_major };
                let indices = Indices::narrowest(std::mem::take(&mut csr.indices), csr.n_cols);
                if mode == UpdateMode::Dense {
                    let sliced = Sliced::new(&csr.indptr, indices, &p.weights);
                    // the sliced copy holds per-synapse weights in its own order
                    if let PlanWeights::PerSynapse(w) = &mut p.weights {
                        *w = Vec::new();
                    }
                    Matrix::Sliced(sliced)
                } else {
                    Matrix::Csr(indices)
                }
            })
            .collect();
        let b = net.batch;
        Ok(CpuEngine {
            stamps: plan.sources.iter().map(|s| vec![u32::MAX; b * s.n]).collect(),
            lifs: plan.lifs.iter().map(|l| LifState::new(&l.v_init, l.inputs.len())).collect(),
            sat: plan.groups.iter().map(|g| vec![SAT_INIT; b * g.n]).collect(),
            hist: plan.groups.iter().map(|g| vec![0.0; g.history * b * g.n]).collect(),
            active: plan.groups.iter().map(|g| vec![Vec::new(); g.history]).collect(),
            mark: plan.groups.iter().map(|g| if mode == UpdateMode::Event { vec![0; b * g.n] } else { Vec::new() }).collect(),
            spikes: Vec::new(),
            on_values: Vec::new(),
            acc: plan
                .projections
                .iter()
                .map(|p| if mode == UpdateMode::Event { vec![0; b * plan.lifs[p.post_lif].n] } else { Vec::new() })
                .collect(),
            matrices,
            e: plan.lifs.iter().map(|l| l.inputs.iter().map(|&p| plan.projections[p].e).collect()).collect(),
            spike_counts: vec![0; net.populations.len()],
            step: 0,
            net,
            plan,
        })
    }

    /// Runs one step in the schedule's order (see [`crate::model::plan`]).
    pub fn step(&mut self) {
        let i = self.step;
        let (step, t) = (i as u32, self.plan.time(i));
        let plan = &self.plan;
        for (s, src) in plan.sources.iter().enumerate() {
            spike_input::spike_input(step, &src.step_offsets, &src.event_neurons, &mut self.stamps[s]);
            self.spike_counts[src.pop] += (src.step_offsets[i + 1] - src.step_offsets[i]) as u64;
        }
        let event = plan.mode == UpdateMode::Event;
        for g in 0..self.plan.groups.len() {
            let (plan, group) = (&self.plan, &self.plan.groups[g]);
            if !group.pre_is_source {
                continue;
            }
            let n = group.n;
            if event {
                let src = &plan.sources[group.pre_slot];
                let events = &src.event_neurons[src.step_offsets[i] as usize..src.step_offsets[i + 1] as usize];
                self.spikes.clear();
                self.spikes.extend_from_slice(events);
                self.gating_sparse(g, i, t);
            } else {
                let stamp = &self.stamps[group.pre_slot];
                gating::gating_dense(&group.params, step, t, plan.batch * n, group.history as u32, Spikes::Stamps(stamp, step), &mut self.sat[g], &mut self.hist[g]);
            }
        }
        let plan = &self.plan;
        for (k, proj) in plan.projections.iter().enumerate() {
            let group = &plan.groups[proj.group];
            let width = plan.batch * group.n;
            let hist = &self.hist[proj.group];
            let r = plan.read_step(proj, i);
            let values = |s: i64| plan.history_slot(proj.group, s).map(|slot| &hist[slot * width..(slot + 1) * width]);
            let x = values(r);
            let lif = &mut self.lifs[proj.post_lif];
            let pw = plan.batch * plan.lifs[proj.post_lif].n;
            let y = &mut lif.gsyn[proj.input_slot * pw..(proj.input_slot + 1) * pw];
            if event {
                let x_prev = values(r - 1);
                let acc = &mut self.acc[k];
                if let (Some(x), Some(slot)) = (x, plan.history_slot(proj.group, r)) {
                    let active = &self.active[proj.group][slot];
                    let c = &proj.pre_major;
                    let n_post = plan.lifs[proj.post_lif].n;
                    let decay = group.params.decay;
                    let scale = proj.event_scale;
                    match &self.matrices[k] {
                        Matrix::Csr(Indices::Narrow(cols)) => event_update::event_scatter(&c.indptr, cols, &proj.weights, decay, scale, x, x_prev, active, group.n, n_post, acc),
                        Matrix::Csr(Indices::Wide(cols)) => event_update::event_scatter(&c.indptr, cols, &proj.weights, decay, scale, x, x_prev, active, group.n, n_post, acc),
                        Matrix::Sliced(_) => unreachable!("event mode keeps CSR"),
                    }
                }
                event_update::event_finalize(group.params.decay, 1.0 / proj.event_scale, acc, y);
            } else {
                let Matrix::Sliced(m) = &self.matrices[k] else { unreachable!("dense mode keeps the sliced layout") };
                match x {
                    Some(x) => m.gather(x, group.n, y),
                    // before the delay has filled, the state read is the initial one, 0
                    None => y.fill(0.0),
                }
            }
        }
        for (l, lp) in self.plan.lifs.iter().enumerate() {
            self.spike_counts[lp.pop] += lif_update::lif_update(&lp.params, t, &self.e[l], &mut self.lifs[l]);
        }
        for g in 0..self.plan.groups.len() {
            let (plan, group) = (&self.plan, &self.plan.groups[g]);
            if group.pre_is_source {
                continue;
            }
            let spike = &self.lifs[group.pre_slot].spike;
            if event {
                self.spikes.clear();
                self.spikes.extend(spike.iter().enumerate().filter(|(_, &s)| s != 0).map(|(idx, _)| idx as u32));
                self.gating_sparse(g, i, t);
            } else {
                gating::gating_dense(&group.params, step, t, plan.batch * group.n, group.history as u32, Spikes::Flags(spike), &mut self.sat[g], &mut self.hist[g]);
            }
        }
        self.step += 1;
    }

    /// Event mode: group `g`'s gating at step `i` from the spikes in `self.spikes`, keeping the
    /// ring of active lists.
    fn gating_sparse(&mut self, g: usize, i: usize, t: f32) {
        let group = &self.plan.groups[g];
        let h = group.history;
        let ring = &mut self.active[g];
        let prev = if i > 0 { std::mem::take(&mut ring[(i - 1) % h]) } else { Vec::new() };
        let mut out = std::mem::take(&mut ring[i % h]);
        let width = self.plan.batch * group.n;
        gating::gating_sparse(&group.params, i as u32, t, width, h as u32, &self.spikes, &prev, &mut self.sat[g], &mut self.hist[g], &mut self.mark[g], &mut self.on_values, &mut out);
        if i > 0 && (i - 1) % h != i % h {
            ring[(i - 1) % h] = prev;
        }
        ring[i % h] = out;
    }

    /// Writes the monitored values of the step just run into row `row` of `chunk`.
    fn record(&self, row: usize, chunk: &mut Chunk) {
        let i = self.step - 1;
        let plan = &self.plan;
        for (m, data) in self.net.monitors.iter().zip(chunk.data.iter_mut()) {
            match (m.target, data) {
                (Target::ProjG(p), MonitorData::F32(out)) => {
                    let g = plan.projections[p].group;
                    let w = plan.batch * plan.groups[g].n;
                    let slot = i % plan.groups[g].history;
                    record::record_f32(&self.hist[g][slot * w..(slot + 1) * w], row, out);
                }
                (Target::ProjCurrent(p), MonitorData::F32(out)) => {
                    let pp = &plan.projections[p];
                    let lif = &self.lifs[pp.post_lif];
                    record::record_current(&lif.gsyn, &lif.v, &self.e[pp.post_lif], pp.input_slot..pp.input_slot + 1, row, out);
                }
                (Target::PopV(pop), MonitorData::F32(out)) => record::record_f32(&self.lifs[self.lif_of(pop)].v, row, out),
                (Target::PopInput(pop), MonitorData::F32(out)) => record::record_f32(&self.lifs[self.lif_of(pop)].input, row, out),
                (Target::PopCurrent(pop), MonitorData::F32(out)) => {
                    let l = self.lif_of(pop);
                    let lif = &self.lifs[l];
                    record::record_current(&lif.gsyn, &lif.v, &self.e[l], 0..self.e[l].len(), row, out);
                }
                (Target::PopSpike(pop), MonitorData::Spike(out)) => match plan.pops[pop] {
                    PopSlot::Lif(l) => record::record_spike(&self.lifs[l].spike, row, out),
                    PopSlot::Source(s) => record::record_stamp(&self.stamps[s], i as u32, row, out),
                },
                _ => unreachable!("monitor buffers are made by MonitorData::for_target"),
            }
        }
    }

    fn lif_of(&self, pop: usize) -> usize {
        match self.plan.pops[pop] {
            PopSlot::Lif(l) => l,
            PopSlot::Source(_) => unreachable!("validated: only LIF populations have V, current, input"),
        }
    }
}

impl Backend for CpuEngine {
    fn describe(&self) -> BackendInfo {
        let mode = match self.plan.mode {
            UpdateMode::Dense => "dense",
            UpdateMode::Event => "event-driven",
        };
        BackendInfo {
            backend: "cpu".into(),
            device: format!("cpu ({} threads, {mode} update)", rayon::current_num_threads()),
            api: None,
        }
    }

    fn run(&mut self, chunk_steps: usize, sink: &mut dyn FnMut(&Chunk) -> Result<()>) -> Result<RunStats> {
        let chunk_steps = chunk_steps.max(1);
        while self.step < self.net.steps {
            let start = self.step;
            let n = chunk_steps.min(self.net.steps - start);
            let mut chunk = Chunk::new(&self.net, start, n);
            for row in 0..n {
                self.step();
                self.record(row, &mut chunk);
            }
            sink(&chunk)?;
        }
        Ok(RunStats { spike_counts: self.spike_counts.clone() })
    }
}
