//! The step program: the plan's schedule turned into dispatches, one list per phase (a phase
//! is several dispatches when its connectivity is cut into binding-sized slices), each with its
//! typed bind group. The engine encodes the same lists every step.

use super::buffers::{placeholder, words, StateBuffers};
use super::kernels::*;
use super::uniforms::*;
use super::GpuContext;
use crate::error::{Error, Result};
use crate::plan::{InputSink, Phase, Plan, PlanMatrix, PlanWeights, PopSlot, Product};
use wgpu::BufferUsages as U;

/// How many invocations a dispatch needs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Threads {
    /// The same every step.
    Fixed(u64),
    /// The events of spike source `source` at this step (none: the dispatch is skipped).
    Events(usize),
}

/// One dispatch of a kernel.
pub(crate) struct Dispatch {
    /// Index into [`Kernels`].
    pub kernel: usize,
    /// Its group-1 bind group.
    pub bind_group: wgpu::BindGroup,
    /// How many invocations.
    pub threads: Threads,
}

/// Consecutive row ranges of a CSR whose entries fit `max` per range; `Err(row)` names a row
/// that alone has more.
pub(crate) fn row_slices(indptr: &[u32], max: usize) -> std::result::Result<Vec<(usize, usize)>, usize> {
    let rows = indptr.len() - 1;
    let mut out = Vec::new();
    let mut r0 = 0;
    while r0 < rows {
        let base = indptr[r0] as usize;
        let mut r1 = r0;
        while r1 < rows && indptr[r1 + 1] as usize - base <= max {
            r1 += 1;
        }
        if r1 == r0 {
            return Err(r0);
        }
        out.push((r0, r1));
        r0 = r1;
    }
    Ok(out)
}

/// One dispatch's range of a projection's SELL-32 layout ([`crate::plan::sell`]), as uploaded.
pub(crate) struct SellRange {
    /// Slices in the range.
    pub slices: usize,
    /// `slices + 1` first columns, relative to the range's first slice.
    pub slice_ptr: Vec<u32>,
    /// Per lane `[post row or u32::MAX, row length]`.
    pub lanes: Vec<[u32; 2]>,
    /// Pre neuron per slot; with `narrow`, two 16-bit ones per word (slot `q` in the low half of
    /// word `q / 2` when `q` is even).
    pub slots: Vec<u32>,
    /// Whether the indices are 16-bit (the pre population has at most 65,536 neurons).
    pub narrow: bool,
    /// Per-slot weights, or `None` for a shared weight.
    pub weights: Option<Vec<f32>>,
}

/// The SELL-32 layout of a post-major CSR, cut into consecutive slice ranges whose slots fit
/// `max_bytes` per binding; `Err((row, bytes))` names the longest post row of a slice that alone
/// does not fit, and the bytes that slice needs (32 rows padded to that row's length).
pub(crate) fn sell_ranges(indptr: &[u32], indices: &[u32], weights: &PlanWeights, n_pre: usize, max_bytes: u64) -> std::result::Result<Vec<SellRange>, (usize, u64)> {
    let layout = crate::plan::sell::SellLayout::new(indptr, GATHER_LANES);
    let narrow = n_pre <= 1 << 16;
    let idx = layout.scatter(indptr, indices, 0u32);
    let w = match weights {
        PlanWeights::PerSynapse(w) => Some(layout.scatter(indptr, w, 0.0f32)),
        PlanWeights::Shared(_) => None,
    };
    // bytes per slot of the largest binding (indices or weights)
    let per_slot = if w.is_some() { 4 } else if narrow { 2 } else { 4 };
    let max_slots = ((max_bytes / per_slot) as usize / GATHER_LANES).max(1);
    let mut out = Vec::new();
    let mut s0 = 0;
    while s0 < layout.slices() {
        let mut s1 = s0;
        while s1 < layout.slices() && (layout.slice_ptr[s1 + 1] - layout.slice_ptr[s0]) as usize <= max_slots {
            s1 += 1;
        }
        if s1 == s0 {
            let lanes = &layout.row[s0 * GATHER_LANES..(s0 + 1) * GATHER_LANES];
            let longest = (0..GATHER_LANES).max_by_key(|&l| layout.len[s0 * GATHER_LANES + l]).unwrap_or(0);
            let width = (layout.slice_ptr[s0 + 1] - layout.slice_ptr[s0]) as u64;
            return Err((lanes[longest] as usize, width * GATHER_LANES as u64 * per_slot));
        }
        let (q0, q1) = (layout.slice_ptr[s0] as usize * GATHER_LANES, layout.slice_ptr[s1] as usize * GATHER_LANES);
        let slots = if narrow {
            // q0 is a multiple of 32: pairs never straddle ranges
            idx[q0..q1].chunks(2).map(|c| c[0] | c.get(1).map_or(0, |&hi| hi << 16)).collect()
        } else {
            idx[q0..q1].to_vec()
        };
        out.push(SellRange {
            slices: s1 - s0,
            slice_ptr: layout.slice_ptr[s0..=s1].iter().map(|&x| x - layout.slice_ptr[s0]).collect(),
            lanes: (s0 * GATHER_LANES..s1 * GATHER_LANES).map(|l| [layout.row[l], layout.len[l]]).collect(),
            slots,
            narrow,
            weights: w.as_ref().map(|w| w[q0..q1].to_vec()),
        });
        s0 = s1;
    }
    Ok(out)
}

/// One slice of a projection's matrix on the device.
pub(crate) struct Slice {
    /// First row.
    pub r0: usize,
    /// Rows.
    pub rows: usize,
    pub indptr: wgpu::Buffer,
    pub indices: wgpu::Buffer,
    /// Per-synapse weights, or a placeholder.
    pub weights: wgpu::Buffer,
    /// Per-synapse lags (widened to 32 bits), or a placeholder.
    pub lags: wgpu::Buffer,
}

/// Builds the dispatches of one plan; the buffers its bind groups use stay in `keep`.
pub(crate) struct ProgramBuilder<'a> {
    pub ctx: &'a GpuContext,
    pub kernels: &'a Kernels,
    pub plan: &'a Plan,
    pub state: &'a StateBuffers,
    /// Bytes per binding slice of connectivity.
    pub binding_limit: u64,
    /// Buffers the bind groups reference.
    pub keep: Vec<wgpu::Buffer>,
}

impl ProgramBuilder<'_> {
    /// The dispatches of `phase`; `matrices[k]` is projection `k`'s matrix (taken from the
    /// plan, dropped once uploaded).
    pub fn phase(&mut self, phase: Phase, matrices: &mut [Option<PlanMatrix>]) -> Result<Vec<Dispatch>> {
        match phase {
            Phase::SpikeInput { source } => self.spike_input(source),
            Phase::PreSynapse { group } => self.pre_synapse(group),
            Phase::CsrGather { proj } => self.gather(proj, take(matrices, proj)),
            Phase::WindowScatter { proj } => self.window_scatter(proj, take(matrices, proj)),
            Phase::WindowFinalize { proj } => self.window_finalize(proj),
            Phase::SpikeScatter { proj } => self.spike_scatter(proj, take(matrices, proj)),
            Phase::PostSynapse { acc } => self.post_synapse(acc),
            Phase::PoissonInput { input } => self.poisson_input(input),
            Phase::NeuronUpdate { neuron } => self.neuron_update(neuron),
        }
    }

    fn uniform<T: bytemuck::Pod>(&mut self, label: &str, value: &T) -> Result<wgpu::Buffer> {
        self.ctx.uniform_buffer(label, value)
    }

    fn dispatch<'b, B: KernelBindings<'b>>(&self, b: &B, threads: Threads) -> Dispatch {
        Dispatch { kernel: self.kernels.index(B::KERNEL), bind_group: self.kernels.bind(self.ctx, b), threads }
    }

    fn spike_input(&mut self, source: usize) -> Result<Vec<Dispatch>> {
        let (plan, state) = (self.plan, self.state);
        let s = &plan.sources[source];
        let p = self.uniform("spike input params", &SpikeInputParams { ring: s.ring as u32, width: (plan.batch * s.n) as u32, ..Default::default() })?;
        let sb = &state.sources[source];
        let d = self.dispatch(&SpikeInputBindings { p: &p, offsets: &sb.offsets, events: &sb.events, stamps: &sb.stamps }, Threads::Events(source));
        self.keep.push(p);
        Ok(vec![d])
    }

    fn pre_synapse(&mut self, group: usize) -> Result<Vec<Dispatch>> {
        let (plan, state) = (self.plan, self.state);
        let g = &plan.groups[group];
        let width = plan.batch * g.n;
        let (from_stamp, stamp_ring) = match g.pre {
            PopSlot::Source(s) => (1, plan.sources[s].ring as u32),
            PopSlot::Neuron(_) => (0, 1),
        };
        let params = PreSynapseParams {
            syn: SynapseParams::new(&g.params, plan.dt),
            width: width as u32,
            history: g.history as u32,
            from_stamp,
            stamp_ring,
            window: g.window_flags as u32,
            ..Default::default()
        };
        let p = self.uniform("pre synapse params", &params)?;
        let gb = &state.groups[group];
        let b = PreSynapseBindings { p: &p, pre_spike: state.spikes_of(g.pre), states: &gb.states, ring: &gb.ring, window: &gb.window };
        let d = self.dispatch(&b, Threads::Fixed(width as u64));
        self.keep.push(p);
        Ok(vec![d])
    }

    /// Uploads `m` cut into slices of at most [`Self::binding_limit`] bytes of synapses.
    fn slices(&mut self, proj: usize, m: PlanMatrix, whose: &str) -> Result<(Vec<Slice>, PlanWeights)> {
        let max_syn = (self.binding_limit / 4).max(1) as usize;
        let csr = &m.csr;
        let ranges = row_slices(&csr.indptr, max_syn).map_err(|r| Error::ResourceLimit {
            what: format!("projection \"{}\": {whose} {r}", self.plan.projection_names[proj]),
            requested: words((csr.indptr[r + 1] - csr.indptr[r]) as usize),
            available: self.binding_limit,
        })?;
        let mut out = Vec::with_capacity(ranges.len());
        for (r0, r1) in ranges {
            let (base, end) = (csr.indptr[r0] as usize, csr.indptr[r1] as usize);
            let indptr: Vec<u32> = csr.indptr[r0..=r1].iter().map(|&x| x - base as u32).collect();
            out.push(Slice {
                r0,
                rows: r1 - r0,
                indptr: self.ctx.storage_buffer_from("indptr", &indptr, U::empty())?,
                indices: self.ctx.storage_buffer_from("indices", &csr.indices[base..end], U::empty())?,
                weights: match &m.weights {
                    PlanWeights::Shared(_) => placeholder(self.ctx)?,
                    PlanWeights::PerSynapse(w) => self.ctx.storage_buffer_from("weights", &w[base..end], U::empty())?,
                },
                lags: match &m.lags {
                    None => placeholder(self.ctx)?,
                    Some(l) => {
                        let wide: Vec<u32> = l[base..end].iter().map(|&x| x as u32).collect();
                        self.ctx.storage_buffer_from("lags", &wide, U::empty())?
                    }
                },
            });
        }
        let weights = match m.weights {
            PlanWeights::Shared(w) => PlanWeights::Shared(w),
            PlanWeights::PerSynapse(_) => PlanWeights::PerSynapse(Vec::new()),
        };
        Ok((out, weights))
    }

    fn gather(&mut self, proj: usize, m: PlanMatrix) -> Result<Vec<Dispatch>> {
        let (plan, state) = (self.plan, self.state);
        let pp = &plan.projections[proj];
        let Product::Gather { group } = pp.product else { unreachable!("the plan pairs phases and products") };
        let batch = plan.batch;
        let shared_w = match m.weights {
            PlanWeights::Shared(w) => Some(w),
            PlanWeights::PerSynapse(_) => None,
        };
        let ranges = sell_ranges(&m.csr.indptr, &m.csr.indices, &m.weights, pp.n_pre, self.binding_limit).map_err(|(r, bytes)| Error::ResourceLimit {
            what: format!(
                "projection \"{}\": the 32 post neurons sliced with post neuron {r} ({} synapses)",
                plan.projection_names[proj],
                m.csr.indptr[r + 1] - m.csr.indptr[r]
            ),
            requested: bytes,
            available: self.binding_limit,
        })?;
        drop(m);
        let mut out = Vec::new();
        for r in ranges {
            let params = GatherParams {
                slices: r.slices as u32,
                n_pre: pp.n_pre as u32,
                n_post: pp.n_post as u32,
                batch: batch as u32,
                read_offset: pp.read_offset as u32,
                history: plan.groups[group].history as u32,
                out_base: (pp.slot * batch * pp.n_post) as u32,
                per_synapse: shared_w.is_none() as u32,
                narrow: r.narrow as u32,
                shared_w: shared_w.unwrap_or(0.0),
                ..Default::default()
            };
            let p = self.uniform("gather params", &params)?;
            let sp = self.ctx.storage_buffer_from("slice_ptr", &r.slice_ptr, U::empty())?;
            let lanes = self.ctx.storage_buffer_from("lanes", &r.lanes, U::empty())?;
            let slots = self.ctx.storage_buffer_from("slots", &r.slots, U::empty())?;
            let weights = match &r.weights {
                Some(w) => self.ctx.storage_buffer_from("weights", w, U::empty())?,
                None => placeholder(self.ctx)?,
            };
            let b = GatherBindings {
                p: &p,
                slice_ptr: &sp,
                lanes: &lanes,
                slots: &slots,
                weights: &weights,
                hist: &state.groups[group].ring,
                gsyn: &state.neurons[pp.neuron].gsyn,
            };
            // one thread per lane and tile of batch rows
            out.push(self.dispatch(&b, Threads::Fixed((r.slices * GATHER_LANES * batch.div_ceil(GATHER_TILE)) as u64)));
            self.keep.extend([p, sp, lanes, slots, weights]);
        }
        Ok(out)
    }

    fn window_scatter(&mut self, proj: usize, m: PlanMatrix) -> Result<Vec<Dispatch>> {
        let (plan, state) = (self.plan, self.state);
        let pp = &plan.projections[proj];
        let Product::Window { group, decay, scale } = pp.product else { unreachable!("the plan pairs phases and products") };
        let batch = plan.batch;
        let (slices, weights) = self.slices(proj, m, "synapses from pre neuron")?;
        let acc = state.window_accs[proj].as_ref().expect("window products have increments");
        let mut out = Vec::new();
        for s in slices {
            let params = ScatterParams {
                rows: s.rows as u32,
                row_start: s.r0 as u32,
                n_pre: pp.n_pre as u32,
                n_post: pp.n_post as u32,
                batch: batch as u32,
                read_offset: pp.read_offset as u32,
                history: plan.groups[group].history as u32,
                per_synapse: matches!(weights, PlanWeights::PerSynapse(_)) as u32,
                shared_w: if let PlanWeights::Shared(w) = weights { w } else { 0.0 },
                decay,
                scale,
                ..Default::default()
            };
            let p = self.uniform("scatter params", &params)?;
            let gb = &state.groups[group];
            let b = WindowScatterBindings { p: &p, indptr: &s.indptr, indices: &s.indices, weights: &s.weights, hist: &gb.ring, on_hist: &gb.window, acc };
            out.push(self.dispatch(&b, Threads::Fixed((s.rows * batch) as u64)));
            self.keep.extend([p, s.indptr, s.indices, s.weights]);
        }
        Ok(out)
    }

    fn window_finalize(&mut self, proj: usize) -> Result<Vec<Dispatch>> {
        let (plan, state) = (self.plan, self.state);
        let pp = &plan.projections[proj];
        let Product::Window { decay, scale, .. } = pp.product else { unreachable!("the plan pairs phases and products") };
        let width = plan.batch * pp.n_post;
        let params = FinalizeParams { width: width as u32, out_base: (pp.slot * width) as u32, decay, inv_scale: 1.0 / scale };
        let p = self.uniform("finalize params", &params)?;
        let acc = state.window_accs[proj].as_ref().expect("window products have increments");
        let d = self.dispatch(&WindowFinalizeBindings { p: &p, acc, gsyn: &state.neurons[pp.neuron].gsyn }, Threads::Fixed(width as u64));
        self.keep.push(p);
        Ok(vec![d])
    }

    fn spike_scatter(&mut self, proj: usize, m: PlanMatrix) -> Result<Vec<Dispatch>> {
        let (plan, state) = (self.plan, self.state);
        let pp = &plan.projections[proj];
        let Product::Scatter { acc, scale } = pp.product else { unreachable!("the plan pairs phases and products") };
        let batch = plan.batch;
        let ring = match pp.pre {
            PopSlot::Source(s) => plan.sources[s].ring,
            PopSlot::Neuron(l) => plan.neurons[l].ring,
        };
        let lagged = m.lags.is_some() as u32;
        let (slices, weights) = self.slices(proj, m, "synapses from pre neuron")?;
        let mut out = Vec::new();
        for s in slices {
            let params = SpikeScatterParams {
                rows: s.rows as u32,
                row_start: s.r0 as u32,
                n_pre: pp.n_pre as u32,
                n_post: pp.n_post as u32,
                batch: batch as u32,
                read_offset: pp.read_offset as u32,
                ring: ring as u32,
                per_synapse: matches!(weights, PlanWeights::PerSynapse(_)) as u32,
                shared_q: if let PlanWeights::Shared(w) = weights { crate::cpu::reference::spike_scatter::fixed(w, scale) } else { 0 },
                scale,
                acc_ring: plan.accumulators[acc].ring as u32,
                lagged,
            };
            let p = self.uniform("spike scatter params", &params)?;
            let b = SpikeScatterBindings {
                p: &p,
                indptr: &s.indptr,
                indices: &s.indices,
                weights: &s.weights,
                stamps: state.stamps_of(pp.pre),
                acc: &state.accs[acc].acc,
                lags: &s.lags,
            };
            out.push(self.dispatch(&b, Threads::Fixed((s.rows * batch) as u64)));
            self.keep.extend([p, s.indptr, s.indices, s.weights, s.lags]);
        }
        Ok(out)
    }

    fn post_synapse(&mut self, acc: usize) -> Result<Vec<Dispatch>> {
        let (plan, state) = (self.plan, self.state);
        let a = &plan.accumulators[acc];
        let params = PostSynapseParams::new(a, plan.batch, plan.dt);
        let p = self.uniform("post synapse params", &params)?;
        let ab = &state.accs[acc];
        let b = PostSynapseBindings { p: &p, acc: &ab.acc, states: &ab.states, gsyn: &state.neurons[a.neuron].gsyn };
        let d = self.dispatch(&b, Threads::Fixed(params.width as u64));
        self.keep.push(p);
        Ok(vec![d])
    }

    fn poisson_input(&mut self, input: usize) -> Result<Vec<Dispatch>> {
        let (plan, state) = (self.plan, self.state);
        let inp = &plan.inputs[input];
        let (sink, ring, q) = match inp.sink {
            InputSink::Voltage { .. } => (0, 1, 0),
            InputSink::Accumulator { acc } => {
                let a = &plan.accumulators[acc];
                (1, a.ring as u32, crate::cpu::reference::spike_scatter::fixed(inp.weight, a.scale))
            }
        };
        let counters = crate::cpu::reference::poisson_input::counters(inp.n) as u32;
        let params = PoissonInputParams {
            n: inp.n as u32,
            batch: plan.batch as u32,
            counters,
            sink,
            key0: inp.key[0],
            key1: inp.key[1],
            stream: inp.stream,
            first: inp.table.first,
            len: inp.table.thresholds.len() as u32,
            ring,
            weight: inp.weight,
            q,
        };
        let p = self.uniform("poisson input params", &params)?;
        let thresholds = match inp.table.thresholds.is_empty() {
            true => placeholder(self.ctx)?,
            false => self.ctx.storage_buffer_from("poisson thresholds", &inp.table.thresholds, U::empty())?,
        };
        let unused = placeholder(self.ctx)?;
        let (v, acc) = match inp.sink {
            InputSink::Voltage { neuron } => (&state.neurons[neuron].v, &unused),
            InputSink::Accumulator { acc } => (&unused, &state.accs[acc].acc),
        };
        let d = self.dispatch(&PoissonInputBindings { p: &p, thresholds: &thresholds, v, acc }, Threads::Fixed((counters as usize * plan.batch) as u64));
        self.keep.extend([p, thresholds, unused]);
        Ok(vec![d])
    }

    fn neuron_update(&mut self, neuron: usize) -> Result<Vec<Dispatch>> {
        let (plan, state) = (self.plan, self.state);
        let nb = &state.neurons[neuron];
        let b = LifBindings {
            p: &nb.params,
            outputs: &nb.outputs,
            gsyn: &nb.gsyn,
            i_ext: &nb.i_ext,
            v: &nb.v,
            t_last: &nb.t_last,
            spike: &nb.spike,
            input: &nb.input,
            stamps: &nb.stamps,
            counts: &state.counts,
            nonfinite: &state.nonfinite,
        };
        Ok(vec![self.dispatch(&b, Threads::Fixed((plan.batch * plan.neurons[neuron].n) as u64))])
    }
}

/// Projection `k`'s matrix, taken (each is uploaded once, by the one phase that reads it).
fn take(matrices: &mut [Option<PlanMatrix>], k: usize) -> PlanMatrix {
    matrices[k].take().expect("one phase reads each projection's matrix")
}
