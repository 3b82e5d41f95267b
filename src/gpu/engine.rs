//! The GPU engine: all state in GPU buffers, each step the dispatch lists of the plan's
//! schedule ([`super::program`]), many steps recorded into one command encoder and one
//! submission, monitors read back once per chunk, double-buffered so the GPU computes chunk k+1
//! while the host writes chunk k.

use super::buffers::{placeholder, words, StateBuffers};
use super::kernels::{self, KernelBindings, Kernels, RecordBindings, STEP_STRIDE};
use super::program::{Dispatch, ProgramBuilder, Threads};
use super::uniforms::{record_mode, RecordParams, StepInfo};
use super::GpuContext;
use crate::error::{Error, Result};
use crate::plan::{MonitorPlan, Pick, Plan, RecordSource};
use crate::runtime::{nonfinite_error, Checkpoint, Chunk, Engine, EngineInfo, MonitorData, NonFinitePolicy, NonFiniteVar, RunStats};
use wgpu::BufferUsages as U;

/// Knobs of the GPU engine.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Split a projection's synapses into bindings of at most this many bytes (default: the
    /// adapter's `max_storage_buffer_binding_size`). Tests lower it to exercise the slicing
    /// that large networks need.
    pub max_binding_bytes: Option<u64>,
    /// Steps per chunk the buffers are sized for (default [`crate::api::DEFAULT_CHUNK_STEPS`]);
    /// a larger chunk asked of [`Engine::run`] is cut to this. Monitor buffers (device and two
    /// staging) and the step tables hold one chunk each.
    pub chunk_steps: Option<usize>,
}

/// Words of one recorded row of monitor `m` on the device: one per value, or for spikes one bit
/// per value (`record.wgsl`).
fn row_words(m: &MonitorPlan) -> usize {
    if m.spikes {
        m.batch * crate::cpu::reference::record::spike_words(m.pick.len())
    } else {
        m.width()
    }
}

/// One monitor's chunk buffer on the device.
struct MonitorBuffer {
    /// Rows of [`row_words`] words.
    buf: wgpu::Buffer,
    /// Offset of this monitor in a staging buffer.
    staging_offset: u64,
    /// Its record dispatch.
    record: Dispatch,
}

/// A submitted chunk whose monitors are on their way back.
struct InFlight {
    start: usize,
    rows: usize,
    parity: usize,
    index: wgpu::SubmissionIndex,
    mapped: futures_intrusive::channel::shared::OneshotReceiver<Result<(), wgpu::BufferAsyncError>>,
}

/// The GPU engine for one plan.
pub struct GpuEngine {
    ctx: GpuContext,
    plan: Plan,
    kernels: Kernels,
    state: StateBuffers,
    /// The dispatches of each phase of the schedule, in order.
    phases: Vec<Vec<Dispatch>>,
    monitors: Vec<MonitorBuffer>,
    step_tables: [wgpu::Buffer; 2],
    step_groups: [wgpu::BindGroup; 2],
    staging: [wgpu::Buffer; 2],
    /// Steps per chunk the buffers hold.
    chunk_rows: usize,
    max_per_dim: u32,
    step: usize,
    spike_counts: Vec<u64>,
    nonfinite_policy: NonFinitePolicy,
    /// The first non-finite value found, per LIF population (`Record` policy: reported once).
    nonfinite: Vec<Option<String>>,
    /// Timestamp queries (begin and end of each chunk's pass, per staging parity), when the
    /// device has them, and the buffer they resolve into.
    timestamps: Option<(wgpu::QuerySet, wgpu::Buffer)>,
    /// Device nanoseconds, host encode seconds and dispatches recorded so far.
    gpu_ns: f64,
    encode_seconds: f64,
    dispatches: u64,
    /// Buffers the bind groups reference.
    _keep: Vec<wgpu::Buffer>,
}

impl GpuEngine {
    /// Builds the engine on an opened device, taking the plan's matrices (they are uploaded
    /// and then dropped: no host copy stays). Everything that could exceed the adapter's limits
    /// is checked before anything runs.
    pub fn new(ctx: GpuContext, mut plan: Plan, opts: GpuOptions) -> Result<Self> {
        let kernels = Kernels::new(&ctx)?;
        let state = StateBuffers::new(&ctx, &plan)?;
        let binding_limit = opts.max_binding_bytes.unwrap_or(ctx.storage_binding_limit()).min(ctx.storage_binding_limit());
        let mut matrices: Vec<_> = (0..plan.projections.len()).map(|k| Some(plan.take_matrix(k))).collect();
        let mut builder = ProgramBuilder { ctx: &ctx, kernels: &kernels, plan: &plan, state: &state, binding_limit, keep: Vec::new() };
        let mut phases = Vec::with_capacity(plan.schedule.len());
        for &phase in &plan.schedule {
            phases.push(builder.phase(phase, &mut matrices)?);
        }
        drop(matrices);
        let mut keep = builder.keep;
        let chunk_rows = chunk_rows(&ctx, &plan, opts.chunk_steps.unwrap_or(crate::api::DEFAULT_CHUNK_STEPS), binding_limit)?;
        let mut monitors = Vec::with_capacity(plan.monitors.len());
        let mut staging_offset = 0;
        for m in &plan.monitors {
            let rows = m.rows_between(0, chunk_rows).max(1);
            let buf = ctx.zeroed_storage_buffer(&format!("monitor {}", m.name), words(rows * row_words(m)), U::empty())?;
            let record = record_dispatch(&ctx, &kernels, &plan, &state, m, &buf, &mut keep)?;
            monitors.push(MonitorBuffer { buf, staging_offset, record });
            staging_offset += words(rows * row_words(m));
        }
        // then the spike counts, the non-finite records, and 2 timestamps
        let staging_bytes = (staging_offset + words(plan.neurons.len().max(1)) + words(4 * plan.neurons.len().max(1))).next_multiple_of(8) + 16;
        ctx.check_buffer_size("monitor staging", staging_bytes)?;
        let staging = [0, 1].map(|i| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(if i == 0 { "staging 0" } else { "staging 1" }),
                size: staging_bytes,
                usage: U::MAP_READ | U::COPY_DST,
                mapped_at_creation: false,
            })
        });
        let (step_tables, step_groups) = step_tables(&ctx, &kernels, chunk_rows)?;
        let timestamps = ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY).then(|| {
            let set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor { label: Some("chunk timestamps"), ty: wgpu::QueryType::Timestamp, count: 4 });
            let buf = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps"),
                // one resolve region per parity, each at an offset wgpu accepts
                size: 2 * wgpu::QUERY_RESOLVE_BUFFER_ALIGNMENT,
                usage: U::QUERY_RESOLVE | U::COPY_SRC,
                mapped_at_creation: false,
            });
            (set, buf)
        });
        ctx.take_errors()?;
        Ok(GpuEngine {
            spike_counts: vec![0; plan.populations.len()],
            nonfinite_policy: NonFinitePolicy::Stop,
            nonfinite: vec![None; plan.neurons.len()],
            timestamps,
            gpu_ns: 0.0,
            encode_seconds: 0.0,
            dispatches: 0,
            max_per_dim: ctx.limits.max_compute_workgroups_per_dimension,
            ctx,
            plan,
            kernels,
            state,
            phases,
            monitors,
            step_tables,
            step_groups,
            staging,
            chunk_rows,
            step: 0,
            _keep: keep,
        })
    }

    /// The device context (adapter, limits).
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Steps per chunk the monitor buffers allow (an upper bound for [`Engine::run`]'s).
    pub fn max_chunk_steps(&self) -> usize {
        self.chunk_rows
    }

    /// Dispatches one step costs at most (every phase's slices, plus one record per monitor).
    pub fn dispatches_per_step(&self) -> usize {
        self.phases.iter().map(Vec::len).sum::<usize>() + self.monitors.len()
    }

    /// Records and submits steps `start .. start + rows`, ending with a copy of the monitors
    /// into staging buffer `parity`, and asks for that buffer to be mapped once it is written.
    fn submit_chunk(&mut self, start: usize, rows: usize, parity: usize) -> InFlight {
        let t0 = std::time::Instant::now();
        let table: Vec<u8> = (0..rows)
            .flat_map(|r| {
                let i = start + r;
                let info = StepInfo { step: i as u32, t: self.plan.time(i), chunk_start: start as u32, _pad0: 0 };
                let mut entry = bytemuck::bytes_of(&info).to_vec();
                entry.resize(STEP_STRIDE as usize, 0);
                entry
            })
            .collect();
        // Written before this chunk's submission, into the table the previous chunk does not
        // use: nothing already encoded is changed.
        self.ctx.queue.write_buffer(&self.step_tables[parity], 0, &table);
        let mut enc = self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("chunk") });
        enc.clear_buffer(&self.state.counts, 0, None);
        for (m, mb) in self.plan.monitors.iter().zip(&self.monitors) {
            if m.spikes {
                // spike bits are OR-ed into their rows
                enc.clear_buffer(&mb.buf, 0, None);
            }
        }
        {
            let q = parity as u32 * 2;
            let timestamp_writes = self.timestamps.as_ref().map(|(set, _)| wgpu::ComputePassTimestampWrites {
                query_set: set,
                beginning_of_pass_write_index: Some(q),
                end_of_pass_write_index: Some(q + 1),
            });
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("steps"), timestamp_writes });
            let mut dispatches = 0;
            for r in 0..rows {
                pass.set_bind_group(0, &self.step_groups[parity], &[(r as u64 * STEP_STRIDE) as u32]);
                dispatches += self.encode_step(&mut pass, start + r);
            }
            self.dispatches += dispatches;
        }
        for (m, mb) in self.plan.monitors.iter().zip(&self.monitors) {
            let bytes = words(m.rows_between(start, start + rows) * row_words(m));
            if bytes > 0 {
                enc.copy_buffer_to_buffer(&mb.buf, 0, &self.staging[parity], mb.staging_offset, bytes);
            }
        }
        let counts_offset = self.counts_offset();
        let pops = self.plan.neurons.len().max(1);
        enc.copy_buffer_to_buffer(&self.state.counts, 0, &self.staging[parity], counts_offset, words(pops));
        enc.copy_buffer_to_buffer(&self.state.nonfinite, 0, &self.staging[parity], counts_offset + words(pops), words(4 * pops));
        if let Some((set, buf)) = &self.timestamps {
            let q = parity as u32 * 2;
            let at = parity as u64 * wgpu::QUERY_RESOLVE_BUFFER_ALIGNMENT;
            enc.resolve_query_set(set, q..q + 2, buf, at);
            enc.copy_buffer_to_buffer(buf, at, &self.staging[parity], self.timestamp_offset(), 16);
        }
        let index = self.ctx.queue.submit([enc.finish()]);
        self.encode_seconds += t0.elapsed().as_secs_f64();
        let (tx, rx) = futures_intrusive::channel::shared::oneshot_channel();
        self.staging[parity].slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        InFlight { start, rows, parity, index, mapped: rx }
    }

    /// Every phase's dispatches of step `i`, then the records of the monitors that record it;
    /// returns how many it recorded.
    fn encode_step(&self, pass: &mut wgpu::ComputePass, i: usize) -> u64 {
        let mut current = usize::MAX;
        let mut count = 0;
        let mut run = |pass: &mut wgpu::ComputePass, d: &Dispatch| {
            let threads = match d.threads {
                Threads::Fixed(n) => n,
                Threads::Events(s) => {
                    let off = &self.plan.sources[s].step_offsets;
                    (off[i + 1] - off[i]) as u64
                }
            };
            if threads == 0 {
                return;
            }
            if d.kernel != current {
                pass.set_pipeline(&self.kernels.at(d.kernel).pipeline);
                current = d.kernel;
            }
            pass.set_bind_group(1, &d.bind_group, &[]);
            let (x, y) = kernels::workgroups(threads, self.max_per_dim);
            pass.dispatch_workgroups(x, y, 1);
            count += 1;
        };
        for d in self.phases.iter().flatten() {
            run(pass, d);
        }
        for (m, mb) in self.plan.monitors.iter().zip(&self.monitors) {
            if m.records(i) {
                run(pass, &mb.record);
            }
        }
        count
    }

    /// Offset of the two timestamps in a staging buffer (8-byte aligned, after the records).
    fn timestamp_offset(&self) -> u64 {
        (self.counts_offset() + words(self.plan.neurons.len().max(1)) + words(4 * self.plan.neurons.len().max(1))).next_multiple_of(8)
    }

    fn counts_offset(&self) -> u64 {
        self.plan.monitors.iter().map(|m| words(m.rows_between(0, self.chunk_rows).max(1) * row_words(m))).sum()
    }

    /// Waits for a chunk's submission (only that one: the next chunk keeps the GPU busy
    /// meanwhile) and turns its staging buffer into a [`Chunk`].
    fn collect_chunk(&mut self, f: InFlight) -> Result<Chunk> {
        let InFlight { start, rows, parity, index, mapped } = f;
        let buf = &self.staging[parity];
        // a failed submission reports why here, not in the wait below
        self.ctx.take_errors()?;
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
            for (m, mb) in self.plan.monitors.iter().zip(&self.monitors) {
                let a = mb.staging_offset as usize;
                let n_rows = m.rows_between(start, start + rows);
                let w: &[u32] = bytemuck::cast_slice(&view[a..a + 4 * n_rows * row_words(m)]);
                chunk.data.push(if m.spikes {
                    let mut flags = Vec::with_capacity(n_rows * m.width());
                    for row in w.chunks_exact(row_words(m).max(1)).take(n_rows) {
                        crate::cpu::reference::record::unpack_spike_bits(row, m.batch, m.pick.len(), &mut flags);
                    }
                    MonitorData::Spike(flags)
                } else {
                    MonitorData::F32(bytemuck::cast_slice(w).to_vec())
                });
            }
            let c = self.counts_offset() as usize;
            let pops = self.plan.neurons.len();
            let counts: &[u32] = bytemuck::cast_slice(&view[c..c + 4 * pops]);
            for (l, &n) in counts.iter().enumerate() {
                self.spike_counts[self.plan.neurons[l].pop] += n as u64;
            }
            if self.timestamps.is_some() {
                let t = self.timestamp_offset() as usize;
                let ticks: &[u64] = bytemuck::cast_slice(&view[t..t + 16]);
                let period = self.ctx.queue.get_timestamp_period() as f64;
                self.gpu_ns += ticks[1].saturating_sub(ticks[0]) as f64 * period;
            }
            let nf: &[u32] = bytemuck::cast_slice(&view[c + 4 * pops.max(1)..c + 4 * pops.max(1) + 16 * pops]);
            for (l, rec) in nf.chunks_exact(4).enumerate() {
                if rec[0] == u32::MAX || self.nonfinite[l].is_some() {
                    continue;
                }
                let var = match rec[2] {
                    0 => NonFiniteVar::V,
                    1 => NonFiniteVar::Input,
                    k => NonFiniteVar::Slot(k as usize - 2),
                };
                let e = nonfinite_error(&self.plan, l, var, rec[0] as usize, rec[1] as usize, f32::from_bits(rec[3]));
                match self.nonfinite_policy {
                    NonFinitePolicy::Stop => {
                        drop(view);
                        buf.unmap();
                        return Err(e);
                    }
                    NonFinitePolicy::Record => self.nonfinite[l] = Some(e.to_string()),
                }
            }
        }
        buf.unmap();
        for src in &self.plan.sources {
            self.spike_counts[src.pop] += (src.step_offsets[start + rows] - src.step_offsets[start]) as u64;
        }
        Ok(chunk)
    }
}

/// Steps per chunk: what was asked, cut to what every monitor's buffer (and the staging copy of
/// all of them) and the step table can hold.
fn chunk_rows(ctx: &GpuContext, plan: &Plan, asked: usize, binding_limit: u64) -> Result<usize> {
    let mut rows = asked.clamp(1, plan.steps.max(1));
    rows = rows.min((ctx.max_buffer_size() / STEP_STRIDE) as usize);
    let mut row_bytes_total = 0u64;
    for m in &plan.monitors {
        let row = m.row_bytes();
        ctx.check_storage_binding(&format!("monitor \"{}\" (one step)", m.name), row)?;
        // a chunk of `rows` steps records at most ceil(rows / every) of them
        rows = rows.min(((binding_limit / row).max(1) as usize).saturating_mul(m.every));
        row_bytes_total += row;
    }
    if let Some(r) = (ctx.max_buffer_size() / 2).checked_div(row_bytes_total) {
        rows = rows.min(r.max(1) as usize);
    }
    Ok(rows.max(1))
}

/// The two step tables (one per chunk in flight) and their bind groups.
fn step_tables(ctx: &GpuContext, kernels: &Kernels, rows: usize) -> Result<([wgpu::Buffer; 2], [wgpu::BindGroup; 2])> {
    let bytes = STEP_STRIDE * rows as u64;
    ctx.check_buffer_size("step table", bytes)?;
    let tables = [0, 1].map(|_| {
        ctx.device.create_buffer(&wgpu::BufferDescriptor { label: Some("step table"), size: bytes, usage: U::UNIFORM | U::COPY_DST, mapped_at_creation: false })
    });
    let groups = [0, 1].map(|i| {
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("step table"),
            layout: &kernels.step_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &tables[i],
                    offset: 0,
                    size: wgpu::BufferSize::new(std::mem::size_of::<StepInfo>() as u64),
                }),
            }],
        })
    });
    Ok((tables, groups))
}

/// Monitor `m`'s record dispatch into `out`.
fn record_dispatch(
    ctx: &GpuContext,
    kernels: &Kernels,
    plan: &Plan,
    state: &StateBuffers,
    m: &MonitorPlan,
    out: &wgpu::Buffer,
    keep: &mut Vec<wgpu::Buffer>,
) -> Result<Dispatch> {
    let b = plan.batch;
    let mut p = RecordParams { n: m.n as u32, batch: b as u32, every: m.every as u32, ..Default::default() };
    let none = placeholder(ctx)?;
    let (fsrc, usrc, vsrc, outputs): (&wgpu::Buffer, &wgpu::Buffer, &wgpu::Buffer, &wgpu::Buffer) = match m.source {
        RecordSource::PreOutput { group } => {
            p.mode = record_mode::RING;
            p.ring = plan.groups[group].history as u32;
            (&state.groups[group].ring, &none, &none, &none)
        }
        RecordSource::PreState { group, state: k } => {
            p.mode = record_mode::COPY;
            p.base = (k * b * m.n) as u32;
            (&state.groups[group].states, &none, &none, &none)
        }
        RecordSource::AccState { acc, state: k } => {
            p.mode = record_mode::COPY;
            p.base = (k * b * m.n) as u32;
            (&state.accs[acc].states, &none, &none, &none)
        }
        RecordSource::Slot { neuron, slot } => {
            p.mode = record_mode::COPY;
            p.base = (slot * b * m.n) as u32;
            (&state.neurons[neuron].gsyn, &none, &none, &none)
        }
        RecordSource::Current { neuron, first, end } => {
            (p.mode, p.slot_first, p.slot_end) = (record_mode::CURRENT, first as u32, end as u32);
            let nb = &state.neurons[neuron];
            (&nb.gsyn, &none, &nb.v, &nb.outputs)
        }
        RecordSource::V { neuron } => {
            p.mode = record_mode::COPY;
            (&state.neurons[neuron].v, &none, &none, &none)
        }
        RecordSource::Input { neuron } => {
            p.mode = record_mode::COPY;
            (&state.neurons[neuron].input, &none, &none, &none)
        }
        RecordSource::Spike { neuron } => {
            p.mode = record_mode::SPIKE;
            (&none, &state.neurons[neuron].spike, &none, &none)
        }
        RecordSource::SourceSpike { source } => {
            (p.mode, p.ring) = (record_mode::STAMP, plan.sources[source].ring as u32);
            (&none, &state.sources[source].stamps, &none, &none)
        }
    };
    let pick = match &m.pick {
        Pick::Range { start, len } => {
            (p.pick_start, p.pick_len) = (*start, *len);
            placeholder(ctx)?
        }
        Pick::List(list) => {
            (p.pick_len, p.use_list) = (list.len() as u32, 1);
            ctx.storage_buffer_from("monitor neurons", list, U::empty())?
        }
    };
    let ub = ctx.uniform_buffer("record params", &p)?;
    let d = Dispatch {
        kernel: kernels.index(RecordBindings::KERNEL),
        bind_group: kernels.bind(ctx, &RecordBindings { p: &ub, fsrc, usrc, vsrc, outputs, pick: &pick, out }),
        threads: Threads::Fixed(m.width() as u64),
    };
    keep.extend([ub, pick, none]);
    Ok(d)
}

impl Engine for GpuEngine {
    fn describe(&self) -> EngineInfo {
        EngineInfo {
            backend: "gpu".into(),
            device: format!("{} ({} update)", self.ctx.adapter_name(), self.plan.mode),
            api: Some(self.ctx.backend_name()),
            driver: Some(self.ctx.driver()),
        }
    }

    fn plan(&self) -> &Plan {
        &self.plan
    }

    fn steps_done(&self) -> usize {
        self.step
    }

    fn run_steps(&mut self, steps: usize, chunk_steps: usize, sink: &mut dyn FnMut(&Chunk) -> Result<()>) -> Result<()> {
        let rows_max = chunk_steps.clamp(1, self.chunk_rows);
        let end = self.step.saturating_add(steps).min(self.plan.steps);
        let mut pending: Option<InFlight> = None;
        let mut parity = 0;
        while self.step < end {
            let start = self.step;
            let rows = rows_max.min(end - start);
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
        self.ctx.take_errors()
    }

    fn stats(&self) -> RunStats {
        let steps = self.step.max(1) as f64;
        RunStats {
            spike_counts: self.spike_counts.clone(),
            nonfinite: self.nonfinite.iter().flatten().cloned().collect(),
            gpu_seconds: self.timestamps.as_ref().map(|_| self.gpu_ns * 1e-9),
            encode_seconds: Some(self.encode_seconds),
            dispatches_per_step: Some(self.dispatches as f64 / steps),
        }
    }

    fn set_nonfinite(&mut self, policy: NonFinitePolicy) {
        self.nonfinite_policy = policy;
    }

    fn checkpoint(&mut self) -> Result<Checkpoint> {
        let per_pop = self.nonfinite.iter().map(|x| x.clone().unwrap_or_default()).collect();
        let mut c = Checkpoint::new("gpu", &self.plan, self.step, self.spike_counts.clone(), per_pop);
        for (name, buf) in self.state.arrays() {
            c.arrays.push((name, self.ctx.read_buffer(buf, 0, buf.size())?));
        }
        Ok(c)
    }

    fn restore(&mut self, c: &Checkpoint) -> Result<()> {
        c.check("gpu", &self.plan)?;
        for (name, buf) in self.state.arrays() {
            let data: Vec<u8> = c.array(&name, buf.size() as usize)?;
            self.ctx.queue.write_buffer(buf, 0, &data);
        }
        self.ctx.queue.submit([]);
        self.ctx.take_errors()?;
        self.step = c.step;
        self.spike_counts.clone_from(&c.spike_counts);
        self.nonfinite = (0..self.plan.neurons.len()).map(|k| c.nonfinite.get(k).filter(|t| !t.is_empty()).cloned()).collect();
        Ok(())
    }
}
