//! The GPU engine: all state in GPU buffers, each step a fixed list of dispatches (the same
//! schedule as the CPU engine, see [`crate::model::plan`]), many steps recorded into one
//! command encoder and one submission, monitors read back once per chunk, double-buffered so
//! the GPU computes chunk k+1 while the host writes chunk k.

use super::kernels::{
    self, record_mode, FinalizeParams, GatherParams, GatingParams, Kernel, Kernels, LifParams, RecordParams, ScatterParams, StepInfo,
};
use super::GpuContext;
use crate::error::{Error, Result};
use crate::model::plan::{Plan, PlanWeights, PopSlot, UpdateMode};
use crate::model::{Network, Target};
use crate::sim::{Backend, BackendInfo, Chunk, MonitorData, RunStats};
use wgpu::BufferUsages as U;

/// Knobs of the GPU engine.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Split a projection's synapses into bindings of at most this many bytes (default: the
    /// adapter's `max_storage_buffer_binding_size`). Tests lower it to exercise the slicing
    /// that large networks need.
    pub max_binding_bytes: Option<u64>,
    /// Steps per chunk the buffers are sized for (default [`DEFAULT_CHUNK_STEPS`]); a larger
    /// chunk asked of [`Backend::run`] is cut to this. Monitor buffers (device and two staging)
    /// and the step tables hold one chunk each.
    pub chunk_steps: Option<usize>,
    /// How projections update the post conductance (dense gather, or the event-driven scatter).
    pub mode: UpdateMode,
}

/// Steps per chunk when [`GpuOptions::chunk_steps`] is not given.
pub const DEFAULT_CHUNK_STEPS: usize = 1000;

/// The kernels that compute a projection's post conductance.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Product {
    Gather,
    Scatter,
    Finalize,
}

/// Consecutive row ranges of a CSR whose entries fit `max` per range; `Err(row)` names a row
/// that alone has more.
fn row_slices(indptr: &[u32], max: usize) -> std::result::Result<Vec<(usize, usize)>, usize> {
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

/// One dispatch of a kernel: its bind group and how many threads it needs.
struct Dispatch {
    bind_group: wgpu::BindGroup,
    threads: u64,
}

struct LifBuffers {
    v: wgpu::Buffer,
    t_last: wgpu::Buffer,
    spike: wgpu::Buffer,
    input: wgpu::Buffer,
    gsyn: wgpu::Buffer,
    e: wgpu::Buffer,
}

struct MonitorBuffer {
    /// `chunk_rows * width` words on the device.
    buf: wgpu::Buffer,
    width: usize,
    spike: bool,
    /// Offset of this monitor in a staging buffer (per-chunk layout: rows * width words).
    staging_offset: u64,
}

/// A submitted chunk whose monitors are on their way back.
struct InFlight {
    start: usize,
    rows: usize,
    parity: usize,
    index: wgpu::SubmissionIndex,
    mapped: futures_intrusive::channel::shared::OneshotReceiver<Result<(), wgpu::BufferAsyncError>>,
}

/// The GPU engine for one network.
pub struct GpuEngine {
    ctx: GpuContext,
    net: Network,
    plan: Plan,
    kernels: Kernels,
    /// Per step, the first event of that step in the merged event list (`steps + 1` entries).
    event_offsets: Vec<u32>,
    spike_input: Option<wgpu::BindGroup>,
    gating_sources: Vec<Dispatch>,
    /// Per projection in order: its gather slices (dense), or its scatter slices and finalize.
    products: Vec<(Product, Dispatch)>,
    lif_updates: Vec<Dispatch>,
    gating_lifs: Vec<Dispatch>,
    records: Vec<Dispatch>,
    monitors: Vec<MonitorBuffer>,
    counts: wgpu::Buffer,
    step_tables: [wgpu::Buffer; 2],
    step_groups: [wgpu::BindGroup; 2],
    staging: [wgpu::Buffer; 2],
    chunk_rows: usize,
    max_per_dim: u32,
    step: usize,
    spike_counts: Vec<u64>,
    // kept alive for the bind groups that reference them
    _buffers: Vec<wgpu::Buffer>,
}

fn bind(ctx: &GpuContext, kernel: &Kernel, label: &str, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
    let entries: Vec<_> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
        .collect();
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some(label), layout: &kernel.layout, entries: &entries })
}

fn bytes_of_f32(n: usize) -> u64 {
    4 * n as u64
}

impl GpuEngine {
    /// Opens the default adapter and builds the engine.
    pub fn new(net: &Network) -> Result<Self> {
        Self::with_context(GpuContext::new()?, net, GpuOptions::default())
    }

    /// Builds the engine on an opened device. Everything that could exceed the adapter's limits
    /// is checked before anything runs.
    pub fn with_context(ctx: GpuContext, net: &Network, opts: GpuOptions) -> Result<Self> {
        let plan = Plan::with_mode(net, opts.mode)?;
        let event = opts.mode == UpdateMode::Event;
        let kernels = Kernels::new(&ctx)?;
        let batch = plan.batch;
        let binding_limit = opts.max_binding_bytes.unwrap_or(ctx.storage_binding_limit()).min(ctx.storage_binding_limit());
        let check = |what: &str, bytes: u64| ctx.check_storage_binding(what, bytes);
        let mut keep = Vec::new();
        let dummy = ctx.zeroed_storage_buffer("unused binding", 16, U::empty())?;

        // Spike sources: one stamp buffer and one event list for all of them; an event names
        // the source neuron by its index in the concatenated stamp buffer.
        let mut stamp_base = vec![0u32; plan.sources.len()];
        let mut total = 0u32;
        for (s, src) in plan.sources.iter().enumerate() {
            stamp_base[s] = total;
            total += (batch * src.n) as u32;
        }
        let mut events = Vec::new();
        let mut event_offsets = Vec::with_capacity(plan.steps + 1);
        for i in 0..plan.steps {
            event_offsets.push(events.len() as u32);
            for (s, src) in plan.sources.iter().enumerate() {
                let (a, b) = (src.step_offsets[i] as usize, src.step_offsets[i + 1] as usize);
                events.extend(src.event_neurons[a..b].iter().map(|&j| j + stamp_base[s]));
            }
        }
        event_offsets.push(events.len() as u32);
        check("spike events", bytes_of_f32(events.len()))?;
        check("source stamps", bytes_of_f32(total as usize))?;
        let stamp = ctx.storage_buffer_from("stamp", &vec![u32::MAX; total as usize], U::empty())?;
        let spike_input = if events.is_empty() {
            None
        } else {
            let ev = ctx.storage_buffer_from("events", &events, U::empty())?;
            let bg = bind(&ctx, &kernels.spike_input, "spike_input", &[&ev, &stamp]);
            keep.push(ev);
            Some(bg)
        };

        // LIF populations.
        let mut lifs = Vec::new();
        for (l, lp) in plan.lifs.iter().enumerate() {
            let width = batch * lp.n;
            let name = &net.populations[lp.pop].name;
            check(&format!("population \"{name}\" state"), bytes_of_f32(width))?;
            check(&format!("population \"{name}\" conductances"), bytes_of_f32(width * lp.inputs.len()))?;
            let e: Vec<f32> = lp.inputs.iter().map(|&p| plan.projections[p].e).collect();
            let _ = l;
            lifs.push(LifBuffers {
                v: ctx.storage_buffer_from("V", &lp.v_init, U::empty())?,
                t_last: ctx.storage_buffer_from("t_last", &vec![crate::cpu::lif_update::T_LAST_INIT; width], U::empty())?,
                spike: ctx.zeroed_storage_buffer("spike", bytes_of_f32(width), U::empty())?,
                input: ctx.zeroed_storage_buffer("input", bytes_of_f32(width), U::empty())?,
                gsyn: ctx.zeroed_storage_buffer("gsyn", bytes_of_f32(width * lp.inputs.len()), U::empty())?,
                e: ctx.storage_buffer_from("E", &e, U::empty())?,
            });
        }
        let counts = ctx.zeroed_storage_buffer("spike counts", bytes_of_f32(plan.lifs.len().max(1)), U::empty())?;

        // Gating groups and their history rings.
        let mut hists = Vec::new();
        let mut on_hists = Vec::new();
        let (mut gating_sources, mut gating_lifs) = (Vec::new(), Vec::new());
        for g in &plan.groups {
            let width = batch * g.n;
            let name = &net.populations[g.pre].name;
            check(&format!("gating history of \"{name}\" ({} slots)", g.history), bytes_of_f32(width * g.history))?;
            let sat = ctx.storage_buffer_from("sat", &vec![crate::cpu::SAT_INIT; width], U::empty())?;
            let hist = ctx.zeroed_storage_buffer("history", bytes_of_f32(width * g.history), U::empty())?;
            let on_hist = if event { ctx.zeroed_storage_buffer("window flags", bytes_of_f32(width * g.history), U::empty())? } else { ctx.zeroed_storage_buffer("unused window flags", 16, U::empty())? };
            let params = GatingParams {
                alpha_t: g.params.alpha_t,
                beta: g.params.beta,
                t_dur: g.params.t_dur,
                dt_phi_on: g.params.dt_phi_on,
                dt_phi_off: g.params.dt_phi_off,
                width: width as u32,
                _pad0: 0,
                history: g.history as u32,
                spike_base: if g.pre_is_source { stamp_base[g.pre_slot] } else { 0 },
                from_stamp: g.pre_is_source as u32,
                record_on: event as u32,
                _pad: 0,
            };
            let ub = ctx.uniform_buffer("gating params", &params)?;
            let pre_spike = if g.pre_is_source { &stamp } else { &lifs[g.pre_slot].spike };
            let d = Dispatch { bind_group: bind(&ctx, &kernels.gating, "gating", &[&ub, pre_spike, &sat, &hist, &on_hist]), threads: width as u64 };
            if g.pre_is_source {
                gating_sources.push(d);
            } else {
                gating_lifs.push(d);
            }
            keep.extend([ub, sat]);
            hists.push(hist);
            on_hists.push(on_hist);
        }

        // Projections: cut into slices of rows whose synapses fit one binding; dense mode gathers
        // over post rows, event mode scatters from pre rows and then finalizes.
        let mut products = Vec::new();
        let max_syn = (binding_limit / 4).max(1) as usize;
        for (k, pp) in plan.projections.iter().enumerate() {
            let g = &plan.groups[pp.group];
            let lp = &plan.lifs[pp.post_lif];
            let csr = if event { &pp.pre_major } else { &pp.post_major };
            let whose = if event { "synapses from pre neuron" } else { "synapses onto post neuron" };
            let acc = if event {
                Some(ctx.zeroed_storage_buffer("event increments", bytes_of_f32(batch * lp.n), U::empty())?)
            } else {
                None
            };
            for (r0, r1) in row_slices(&csr.indptr, max_syn).map_err(|r| Error::ResourceLimit {
                what: format!("projection \"{}\": {whose} {r}", net.projections[k].name),
                requested: 4 * (csr.indptr[r + 1] - csr.indptr[r]) as u64,
                available: binding_limit,
            })? {
                let (base, end) = (csr.indptr[r0] as usize, csr.indptr[r1] as usize);
                let indptr: Vec<u32> = csr.indptr[r0..=r1].iter().map(|&x| x - base as u32).collect();
                let ip = ctx.storage_buffer_from("indptr", &indptr, U::empty())?;
                let ix = ctx.storage_buffer_from("indices", &csr.indices[base..end], U::empty())?;
                let (w, per_synapse, shared_w) = match &pp.weights {
                    PlanWeights::Shared(w) => (None, 0, *w),
                    PlanWeights::PerSynapse(ws) => (Some(ctx.storage_buffer_from("weights", &ws[base..end], U::empty())?), 1, 0.0),
                };
                let w_buf = w.as_ref().unwrap_or(&dummy);
                let (ub, bg, kernel) = match &acc {
                    None => {
                        let params = GatherParams {
                            rows: (r1 - r0) as u32,
                            row_start: r0 as u32,
                            n_pre: g.n as u32,
                            n_post: lp.n as u32,
                            batch: batch as u32,
                            lag: pp.lag as u32,
                            history: g.history as u32,
                            newest_back: (!g.pre_is_source) as u32,
                            out_base: (pp.input_slot * batch * lp.n) as u32,
                            per_synapse,
                            shared_w,
                            _pad: 0,
                        };
                        let ub = ctx.uniform_buffer("gather params", &params)?;
                        let bufs = [&ub, &ip, &ix, w_buf, &hists[pp.group], &lifs[pp.post_lif].gsyn];
                        let bg = bind(&ctx, &kernels.csr_gather, "csr_gather", &bufs);
                        (ub, bg, Product::Gather)
                    }
                    Some(acc) => {
                        let params = ScatterParams {
                            rows: (r1 - r0) as u32,
                            row_start: r0 as u32,
                            n_pre: g.n as u32,
                            n_post: lp.n as u32,
                            batch: batch as u32,
                            lag: pp.lag as u32,
                            history: g.history as u32,
                            newest_back: (!g.pre_is_source) as u32,
                            per_synapse,
                            shared_w,
                            decay: g.params.decay,
                            scale: pp.event_scale,
                        };
                        let ub = ctx.uniform_buffer("scatter params", &params)?;
                        let bufs = [&ub, &ip, &ix, w_buf, &hists[pp.group], &on_hists[pp.group], acc];
                        let bg = bind(&ctx, &kernels.event_scatter, "event_scatter", &bufs);
                        (ub, bg, Product::Scatter)
                    }
                };
                // the gather sums a tile of batch rows per thread; the scatter one row per thread
                let row_groups = if kernel == Product::Gather { batch.div_ceil(kernels::GATHER_TILE) } else { batch };
                products.push((kernel, Dispatch { bind_group: bg, threads: ((r1 - r0) * row_groups) as u64 }));
                keep.extend([ub, ip, ix]);
                keep.extend(w);
            }
            if let Some(acc) = acc {
                let params = FinalizeParams {
                    width: (batch * lp.n) as u32,
                    out_base: (pp.input_slot * batch * lp.n) as u32,
                    decay: g.params.decay,
                    inv_scale: 1.0 / pp.event_scale,
                };
                let ub = ctx.uniform_buffer("finalize params", &params)?;
                let bg = bind(&ctx, &kernels.event_finalize, "event_finalize", &[&ub, &acc, &lifs[pp.post_lif].gsyn]);
                products.push((Product::Finalize, Dispatch { bind_group: bg, threads: (batch * lp.n) as u64 }));
                keep.extend([ub, acc]);
            }
        }

        let mut lif_updates = Vec::new();
        for (l, lp) in plan.lifs.iter().enumerate() {
            let width = batch * lp.n;
            let p = &lp.params;
            let params = LifParams {
                width: width as u32,
                n_inputs: lp.inputs.len() as u32,
                count_slot: l as u32,
                _pad0: 0,
                v_rest: p.v_rest,
                v_th: p.v_th,
                v_reset: p.v_reset,
                r: p.r,
                inv_tau: p.inv_tau,
                dt_phi: p.dt_phi,
                tau_ref: p.tau_ref,
                _pad1: 0.0,
            };
            let ub = ctx.uniform_buffer("lif params", &params)?;
            let b = &lifs[l];
            let bg = bind(&ctx, &kernels.lif_update, "lif_update", &[&ub, &b.e, &b.gsyn, &b.v, &b.t_last, &b.spike, &b.input, &counts]);
            lif_updates.push(Dispatch { bind_group: bg, threads: width as u64 });
            keep.push(ub);
        }

        // Monitors: a chunk buffer each; the chunk length is what every monitor's buffer (and
        // the staging copy of all of them) can hold.
        let mut chunk_rows = opts.chunk_steps.unwrap_or(DEFAULT_CHUNK_STEPS).clamp(1, plan.steps.max(1));
        chunk_rows = chunk_rows.min((ctx.max_buffer_size() / kernels::STEP_STRIDE) as usize);
        let mut row_bytes_total = 0u64;
        for m in &net.monitors {
            let row_bytes = bytes_of_f32(net.monitor_width(m.target));
            chunk_rows = chunk_rows.min((binding_limit / row_bytes).max(1) as usize);
            row_bytes_total += row_bytes;
            check(&format!("monitor \"{}\" (one step)", m.name), row_bytes)?;
        }
        if let Some(rows) = (ctx.max_buffer_size() / 2).checked_div(row_bytes_total) {
            chunk_rows = chunk_rows.min(rows.max(1) as usize);
        }
        let lif_of = |pop: usize| match plan.pops[pop] {
            PopSlot::Lif(l) => l,
            PopSlot::Source(_) => unreachable!("validated: only LIF populations have V, current, input"),
        };
        let mut monitors = Vec::new();
        let mut records = Vec::new();
        let mut staging_offset = 0u64;
        for m in &net.monitors {
            let width = net.monitor_width(m.target);
            let buf = ctx.zeroed_storage_buffer(&format!("monitor {}", m.name), bytes_of_f32(width * chunk_rows), U::empty())?;
            let mut p = RecordParams { width: width as u32, ..Default::default() };
            let (fsrc, usrc, vsrc, e): (&wgpu::Buffer, &wgpu::Buffer, &wgpu::Buffer, &wgpu::Buffer) = match m.target {
                Target::ProjG(k) => {
                    let pp = &plan.projections[k];
                    p.mode = record_mode::RING;
                    p.history = plan.groups[pp.group].history as u32;
                    (&hists[pp.group], &dummy, &dummy, &dummy)
                }
                Target::ProjCurrent(k) => {
                    let pp = &plan.projections[k];
                    p.mode = record_mode::CURRENT;
                    p.slot_start = pp.input_slot as u32;
                    p.slot_end = pp.input_slot as u32 + 1;
                    let b = &lifs[pp.post_lif];
                    (&b.gsyn, &dummy, &b.v, &b.e)
                }
                Target::PopV(pop) => {
                    p.mode = record_mode::COPY;
                    (&lifs[lif_of(pop)].v, &dummy, &dummy, &dummy)
                }
                Target::PopInput(pop) => {
                    p.mode = record_mode::COPY;
                    (&lifs[lif_of(pop)].input, &dummy, &dummy, &dummy)
                }
                Target::PopCurrent(pop) => {
                    let l = lif_of(pop);
                    p.mode = record_mode::CURRENT;
                    p.slot_end = plan.lifs[l].inputs.len() as u32;
                    let b = &lifs[l];
                    (&b.gsyn, &dummy, &b.v, &b.e)
                }
                Target::PopSpike(pop) => match plan.pops[pop] {
                    PopSlot::Lif(l) => {
                        p.mode = record_mode::SPIKE;
                        (&dummy, &lifs[l].spike, &dummy, &dummy)
                    }
                    PopSlot::Source(s) => {
                        p.mode = record_mode::STAMP;
                        p.stamp_base = stamp_base[s];
                        (&dummy, &stamp, &dummy, &dummy)
                    }
                },
            };
            let ub = ctx.uniform_buffer("record params", &p)?;
            let bg = bind(&ctx, &kernels.record, "record", &[&ub, fsrc, usrc, vsrc, e, &buf]);
            records.push(Dispatch { bind_group: bg, threads: width as u64 });
            keep.push(ub);
            monitors.push(MonitorBuffer { buf, width, spike: matches!(m.target, Target::PopSpike(_)), staging_offset });
            staging_offset += bytes_of_f32(width * chunk_rows);
        }
        let counts_offset = staging_offset;
        let staging_bytes = counts_offset + bytes_of_f32(plan.lifs.len().max(1));
        ctx.check_buffer_size("monitor staging", staging_bytes)?;
        let staging = [0, 1].map(|i| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(if i == 0 { "staging 0" } else { "staging 1" }),
                size: staging_bytes,
                usage: U::MAP_READ | U::COPY_DST,
                mapped_at_creation: false,
            })
        });
        let table_bytes = kernels::STEP_STRIDE * chunk_rows as u64;
        ctx.check_buffer_size("step table", table_bytes)?;
        let step_tables = [0, 1].map(|_| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("step table"),
                size: table_bytes,
                usage: U::UNIFORM | U::COPY_DST,
                mapped_at_creation: false,
            })
        });
        let step_groups = [0, 1].map(|i| {
            ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("step table"),
                layout: &kernels.step_layout,
                entries: &[wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &step_tables[i],
                        offset: 0,
                        size: wgpu::BufferSize::new(std::mem::size_of::<StepInfo>() as u64),
                    }),
                }],
            })
        });
        keep.push(dummy);
        keep.push(stamp);
        keep.extend(hists);
        keep.extend(on_hists);
        for b in lifs {
            keep.extend([b.v, b.t_last, b.spike, b.input, b.gsyn, b.e]);
        }
        ctx.take_errors()?;
        let max_per_dim = ctx.limits.max_compute_workgroups_per_dimension;
        Ok(GpuEngine {
            spike_counts: vec![0; net.populations.len()],
            max_per_dim,
            ctx,
            net: net.without_connectivity(),
            plan,
            kernels,
            event_offsets,
            spike_input,
            gating_sources,
            products,
            lif_updates,
            gating_lifs,
            records,
            monitors,
            counts,
            step_tables,
            step_groups,
            staging,
            chunk_rows,
            step: 0,
            _buffers: keep,
        })
    }

    /// The device context (adapter, limits).
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Steps per chunk the monitor buffers allow (an upper bound for [`Backend::run`]'s).
    pub fn max_chunk_steps(&self) -> usize {
        self.chunk_rows
    }

    /// Dispatches and submissions one chunk of `rows` steps costs (for reports).
    pub fn dispatches_per_step(&self) -> usize {
        self.gating_sources.len() + self.products.len() + self.lif_updates.len() + self.gating_lifs.len() + self.records.len()
            + self.spike_input.is_some() as usize
    }

    /// Records and submits steps `start .. start + rows`, ending with a copy of the monitors
    /// into staging buffer `parity`, and asks for that buffer to be mapped once it is written.
    fn submit_chunk(&mut self, start: usize, rows: usize, parity: usize) -> InFlight {
        let table: Vec<u8> = (0..rows)
            .flat_map(|r| {
                let i = start + r;
                let info = StepInfo {
                    step: i as u32,
                    t: self.plan.time(i),
                    row: r as u32,
                    ev_start: self.event_offsets[i],
                    ev_end: self.event_offsets[i + 1],
                    _pad: [0; 3],
                };
                let mut entry = bytemuck::bytes_of(&info).to_vec();
                entry.resize(kernels::STEP_STRIDE as usize, 0);
                entry
            })
            .collect();
        // Written before this chunk's submission, into the table the previous chunk does not
        // use: nothing already encoded is changed.
        self.ctx.queue.write_buffer(&self.step_tables[parity], 0, &table);
        let mut enc = self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("chunk") });
        enc.clear_buffer(&self.counts, 0, None);
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("steps"), timestamp_writes: None });
            let k = &self.kernels;
            let max = self.max_per_dim;
            let run = |pass: &mut wgpu::ComputePass, kernel: &Kernel, list: &[Dispatch]| {
                if !list.is_empty() {
                    pass.set_pipeline(&kernel.pipeline);
                }
                for d in list {
                    pass.set_bind_group(1, &d.bind_group, &[]);
                    let (x, y) = kernels::workgroups(d.threads, max);
                    pass.dispatch_workgroups(x, y, 1);
                }
            };
            for r in 0..rows {
                let i = start + r;
                pass.set_bind_group(0, &self.step_groups[parity], &[(r as u64 * kernels::STEP_STRIDE) as u32]);
                let n_events = (self.event_offsets[i + 1] - self.event_offsets[i]) as u64;
                if let (Some(bg), true) = (&self.spike_input, n_events > 0) {
                    pass.set_pipeline(&k.spike_input.pipeline);
                    pass.set_bind_group(1, bg, &[]);
                    let (x, y) = kernels::workgroups(n_events, max);
                    pass.dispatch_workgroups(x, y, 1);
                }
                run(&mut pass, &k.gating, &self.gating_sources);
                let mut current = None;
                for (kind, d) in &self.products {
                    if current != Some(*kind) {
                        let kernel = match kind {
                            Product::Gather => &k.csr_gather,
                            Product::Scatter => &k.event_scatter,
                            Product::Finalize => &k.event_finalize,
                        };
                        pass.set_pipeline(&kernel.pipeline);
                        current = Some(*kind);
                    }
                    pass.set_bind_group(1, &d.bind_group, &[]);
                    let (x, y) = kernels::workgroups(d.threads, max);
                    pass.dispatch_workgroups(x, y, 1);
                }
                run(&mut pass, &k.lif_update, &self.lif_updates);
                run(&mut pass, &k.gating, &self.gating_lifs);
                run(&mut pass, &k.record, &self.records);
            }
        }
        for m in &self.monitors {
            enc.copy_buffer_to_buffer(&m.buf, 0, &self.staging[parity], m.staging_offset, bytes_of_f32(m.width * rows));
        }
        let counts_offset = self.counts_offset();
        enc.copy_buffer_to_buffer(&self.counts, 0, &self.staging[parity], counts_offset, bytes_of_f32(self.plan.lifs.len().max(1)));
        let index = self.ctx.queue.submit([enc.finish()]);
        let (tx, rx) = futures_intrusive::channel::shared::oneshot_channel();
        self.staging[parity].slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        InFlight { start, rows, parity, index, mapped: rx }
    }

    fn counts_offset(&self) -> u64 {
        self.monitors.iter().map(|m| bytes_of_f32(m.width * self.chunk_rows)).sum()
    }

    /// Waits for a chunk's submission (only that one: the next chunk keeps the GPU busy
    /// meanwhile) and turns its staging buffer into a [`Chunk`].
    fn collect_chunk(&mut self, f: InFlight) -> Result<Chunk> {
        let InFlight { start, rows, parity, index, mapped } = f;
        let buf = &self.staging[parity];
        self.ctx
            .device
            .poll(wgpu::PollType::Wait { submission_index: Some(index), timeout: None })
            .map_err(|e| Error::Gpu(format!("waiting for chunk: {e}")))?;
        match pollster::block_on(mapped.receive()) {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(Error::Gpu(format!("reading monitors back: {e}"))),
            None => return Err(Error::Gpu("reading monitors back: the map request was dropped".into())),
        }
        self.ctx.take_errors()?;
        let mut chunk = Chunk { start, steps: rows, data: Vec::with_capacity(self.monitors.len()) };
        {
            let view = buf.slice(..).get_mapped_range().map_err(|e| Error::Gpu(format!("reading monitors back: {e:?}")))?;
            for m in &self.monitors {
                let a = m.staging_offset as usize;
                let words: &[u32] = bytemuck::cast_slice(&view[a..a + 4 * m.width * rows]);
                chunk.data.push(if m.spike {
                    MonitorData::Spike(words.iter().map(|&w| w as u8).collect())
                } else {
                    MonitorData::F32(bytemuck::cast_slice(words).to_vec())
                });
            }
            let c = self.counts_offset() as usize;
            let counts: &[u32] = bytemuck::cast_slice(&view[c..c + 4 * self.plan.lifs.len()]);
            for (l, &n) in counts.iter().enumerate() {
                self.spike_counts[self.plan.lifs[l].pop] += n as u64;
            }
        }
        buf.unmap();
        for src in &self.plan.sources {
            let n = (src.step_offsets[start + rows] - src.step_offsets[start]) as u64;
            self.spike_counts[src.pop] += n;
        }
        Ok(chunk)
    }
}

impl Backend for GpuEngine {
    fn describe(&self) -> BackendInfo {
        let mode = match self.plan.mode {
            UpdateMode::Dense => "",
            UpdateMode::Event => ", event-driven update",
        };
        BackendInfo { backend: "gpu".into(), device: format!("{}{mode}", self.ctx.adapter_name()), api: Some(self.ctx.backend_name()) }
    }

    fn run(&mut self, chunk_steps: usize, sink: &mut dyn FnMut(&Chunk) -> Result<()>) -> Result<RunStats> {
        let rows_max = chunk_steps.clamp(1, self.chunk_rows);
        let mut pending: Option<InFlight> = None;
        let mut parity = 0;
        while self.step < self.net.steps {
            let start = self.step;
            let rows = rows_max.min(self.net.steps - start);
            let next = self.submit_chunk(start, rows, parity);
            self.step += rows;
            if let Some(f) = pending.take() {
                let chunk = self.collect_chunk(f)?;
                sink(&chunk)?;
            }
            pending = Some(next);
            parity ^= 1;
        }
        if let Some(f) = pending {
            let chunk = self.collect_chunk(f)?;
            sink(&chunk)?;
        }
        self.ctx.take_errors()?;
        Ok(RunStats { spike_counts: self.spike_counts.clone() })
    }
}
