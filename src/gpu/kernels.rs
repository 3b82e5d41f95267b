//! The compute pipelines, one per WGSL file in `shaders/`, and the `#[repr(C)]` structs that
//! mirror each shader's uniform struct (a test parses the WGSL with naga and checks that sizes
//! and field offsets agree).

use super::GpuContext;
use crate::error::Result;

/// Every kernel's workgroup size (`WG` in `shaders/shared/common.wgsl`).
pub const WORKGROUP: u32 = 64;

/// Batch rows one `csr_gather` thread sums together (`TILE` in `csr_gather.wgsl`; a test
/// checks they agree).
pub const GATHER_TILE: usize = 8;

/// Stride of the per-step entries in the step table: the dynamic uniform offset alignment that
/// every adapter accepts.
pub const STEP_STRIDE: u64 = 256;

/// Source of the shared prelude and of each kernel.
pub const COMMON_WGSL: &str = include_str!("../../shaders/shared/common.wgsl");
/// Source of the `spike_input` kernel.
pub const SPIKE_INPUT_WGSL: &str = include_str!("../../shaders/spike_input.wgsl");
/// Source of the `gating` kernel.
pub const GATING_WGSL: &str = include_str!("../../shaders/gating.wgsl");
/// Source of the `csr_gather` kernel.
pub const CSR_GATHER_WGSL: &str = include_str!("../../shaders/csr_gather.wgsl");
/// Source of the `lif_update` kernel.
pub const LIF_UPDATE_WGSL: &str = include_str!("../../shaders/lif_update.wgsl");
/// Source of the `record` kernel.
pub const RECORD_WGSL: &str = include_str!("../../shaders/record.wgsl");
/// Source of `shaders/event_scatter.wgsl`.
pub const EVENT_SCATTER_WGSL: &str = include_str!("../../shaders/event_scatter.wgsl");
/// Source of `shaders/event_finalize.wgsl`.
pub const EVENT_FINALIZE_WGSL: &str = include_str!("../../shaders/event_finalize.wgsl");

/// The full source of a kernel: the shared prelude, then the kernel.
pub fn full_source(kernel: &str) -> String {
    format!("{COMMON_WGSL}\n{kernel}")
}

/// `StepInfo` in `common.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepInfo {
    /// Index of this step in the run.
    pub step: u32,
    /// Time of this step, ms (`step * dt` rounded as the CPU engine does).
    pub t: f32,
    /// Row of this step in the chunk's monitor buffers.
    pub row: u32,
    /// First of this step's source events in the event buffer.
    pub ev_start: u32,
    /// End (exclusive) of this step's source events in the event buffer.
    pub ev_end: u32,
    /// Padding to the WGSL layout.
    pub _pad: [u32; 3],
}

/// `GatingParams` in `gating.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GatingParams {
    /// `alpha * T`, the gating rate while transmitter is present.
    pub alpha_t: f32,
    /// Gating closing rate, 1/ms.
    pub beta: f32,
    /// Transmitter pulse duration, ms.
    pub t_dur: f32,
    /// `dt_phi` while transmitter is present.
    pub dt_phi_on: f32,
    /// `dt_phi` outside the transmitter window.
    pub dt_phi_off: f32,
    /// Values over all batch copies: `batch * n`.
    pub width: u32,
    /// Padding (the kernels index the flat `batch * n` values and need no `n`).
    pub _pad0: u32,
    /// Number of slots in the group's history ring.
    pub history: u32,
    /// Offset of the pre population in the spike stamp buffer.
    pub spike_base: u32,
    /// 1 when the pre population is a spike source (stamps), 0 when it is LIF (flags).
    pub from_stamp: u32,
    /// 1 in event mode: the kernel also records which variables were inside their window.
    pub record_on: u32,
    /// Padding to the WGSL layout.
    pub _pad: u32,
}

/// `ScatterParams` in `event_scatter.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ScatterParams {
    /// Pre rows in this slice.
    pub rows: u32,
    /// First pre row of this slice.
    pub row_start: u32,
    /// Pre neurons.
    pub n_pre: u32,
    /// Post neurons.
    pub n_post: u32,
    /// Batch rows.
    pub batch: u32,
    /// Steps between the newest gating value and the one read.
    pub lag: u32,
    /// Ring slots of the pre group.
    pub history: u32,
    /// 0: the newest value is this step's (source pre), 1: last step's (LIF pre).
    pub newest_back: u32,
    /// 1: per-synapse weights, 0: `shared_w`.
    pub per_synapse: u32,
    /// The shared weight.
    pub shared_w: f32,
    /// `exp(-beta dt)` of the pre group.
    pub decay: f32,
    /// Fixed-point scale of the increments ([`crate::model::plan::event_scale`]).
    pub scale: f32,
}

/// `FinalizeParams` in `event_finalize.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct FinalizeParams {
    /// `batch * n_post`.
    pub width: u32,
    /// This projection's slot in the post conductance buffer.
    pub out_base: u32,
    /// `exp(-beta dt)` of the pre group.
    pub decay: f32,
    /// `1 / scale`.
    pub inv_scale: f32,
}

/// `GatherParams` in `csr_gather.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GatherParams {
    /// Post rows in this dispatch's slice.
    pub rows: u32,
    /// First post row of this slice.
    pub row_start: u32,
    /// Number of pre neurons.
    pub n_pre: u32,
    /// Number of post neurons.
    pub n_post: u32,
    /// Number of batch copies.
    pub batch: u32,
    /// Steps between the newest gating value and the one read.
    pub lag: u32,
    /// Number of slots in the pre group's history ring.
    pub history: u32,
    /// 0 when the newest gating value is this step's (source pre), 1 when last step's (LIF pre).
    pub newest_back: u32,
    /// This projection's slot offset in the post conductance buffer.
    pub out_base: u32,
    /// 1 to read per-synapse weights, 0 to use `shared_w`.
    pub per_synapse: u32,
    /// The weight of every synapse when `per_synapse` is 0.
    pub shared_w: f32,
    /// Padding to the WGSL layout.
    pub _pad: u32,
}

/// `LifParams` in `lif_update.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LifParams {
    /// Values over all batch copies: `batch * n`.
    pub width: u32,
    /// Number of projections onto this population.
    pub n_inputs: u32,
    /// Index of this population's spike counter.
    pub count_slot: u32,
    /// Padding to the WGSL layout.
    pub _pad0: u32,
    /// Resting potential, mV.
    pub v_rest: f32,
    /// Spike threshold, mV.
    pub v_th: f32,
    /// Reset potential after a spike, mV.
    pub v_reset: f32,
    /// Membrane resistance.
    pub r: f32,
    /// `1/tau`, 1/ms.
    pub inv_tau: f32,
    /// `dt_phi` of the membrane equation.
    pub dt_phi: f32,
    /// Refractory period, ms.
    pub tau_ref: f32,
    /// Padding to the WGSL layout.
    pub _pad1: f32,
}

/// `RecordParams` in `record.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RecordParams {
    /// What to record: one of [`record_mode`].
    pub mode: u32,
    /// Values per step: `batch * n`.
    pub width: u32,
    /// Padding (the kernel indexes the flat `batch * n` values and needs no `n`).
    pub _pad0: u32,
    /// Offset of the recorded values in the float source buffer.
    pub src_base: u32,
    /// Slots of the source history ring (ring mode).
    pub history: u32,
    /// First conductance input slot summed (current mode).
    pub slot_start: u32,
    /// End (exclusive) of the conductance input slots summed (current mode).
    pub slot_end: u32,
    /// Offset of the population in the spike stamp buffer (stamp mode).
    pub stamp_base: u32,
}

/// `MODE_*` constants of `record.wgsl`.
pub mod record_mode {
    /// Copy floats from `src_base`.
    pub const COPY: u32 = 0;
    /// Read a gating group's history ring at this step's slot.
    pub const RING: u32 = 1;
    /// LIF spike flags.
    pub const SPIKE: u32 = 2;
    /// Spike-source stamps equal to this step.
    pub const STAMP: u32 = 3;
    /// Synaptic current summed over input slots: `g * (E - V)`.
    pub const CURRENT: u32 = 4;
}

/// One compiled kernel: its pipeline and the layout of its own bind group (group 1).
pub struct Kernel {
    /// The compute pipeline.
    pub pipeline: wgpu::ComputePipeline,
    /// Layout of the kernel's own bind group (group 1).
    pub layout: wgpu::BindGroupLayout,
}

/// All kernels plus the step-table layout (group 0) they share.
pub struct Kernels {
    /// Layout of the step table bind group (group 0).
    pub step_layout: wgpu::BindGroupLayout,
    /// Stamps spike-source neurons firing this step.
    pub spike_input: Kernel,
    /// Updates a group's gating state into its history ring.
    pub gating: Kernel,
    /// Post-major gather of delayed gating into post conductances.
    pub csr_gather: Kernel,
    /// COBA currents and one LifRef step.
    pub lif_update: Kernel,
    /// Copies one monitored variable into its chunk buffer.
    pub record: Kernel,
    /// Event mode: `event_scatter.wgsl`.
    pub event_scatter: Kernel,
    /// Event mode: `event_finalize.wgsl`.
    pub event_finalize: Kernel,
}

/// What a binding of group 1 is.
#[derive(Clone, Copy)]
enum Slot {
    Uniform,
    Read,
    ReadWrite,
}

fn entry(binding: u32, slot: Slot) -> wgpu::BindGroupLayoutEntry {
    let ty = match slot {
        Slot::Uniform => wgpu::BufferBindingType::Uniform,
        Slot::Read => wgpu::BufferBindingType::Storage { read_only: true },
        Slot::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
    };
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer { ty, has_dynamic_offset: false, min_binding_size: None },
        count: None,
    }
}

impl Kernels {
    /// Compiles every kernel (a WGSL error names the shader).
    pub fn new(ctx: &GpuContext) -> Result<Kernels> {
        let device = &ctx.device;
        let step_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("step table"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: true,
                    min_binding_size: wgpu::BufferSize::new(std::mem::size_of::<StepInfo>() as u64),
                },
                count: None,
            }],
        });
        let make = |name: &str, src: &str, slots: &[Slot]| -> Result<Kernel> {
            let module = ctx.shader(name, &full_source(src))?;
            let entries: Vec<_> = slots.iter().enumerate().map(|(i, &s)| entry(i as u32, s)).collect();
            let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(name), entries: &entries });
            let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(name),
                bind_group_layouts: &[Some(&step_layout), Some(&layout)],
                immediate_size: 0,
            });
            let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(name),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
            Ok(Kernel { pipeline, layout })
        };
        use Slot::*;
        Ok(Kernels {
            spike_input: make("spike_input", SPIKE_INPUT_WGSL, &[Read, ReadWrite])?,
            gating: make("gating", GATING_WGSL, &[Uniform, Read, ReadWrite, ReadWrite, ReadWrite])?,
            csr_gather: make("csr_gather", CSR_GATHER_WGSL, &[Uniform, Read, Read, Read, Read, ReadWrite])?,
            lif_update: make(
                "lif_update",
                LIF_UPDATE_WGSL,
                &[Uniform, Read, Read, ReadWrite, ReadWrite, ReadWrite, ReadWrite, ReadWrite],
            )?,
            record: make("record", RECORD_WGSL, &[Uniform, Read, Read, Read, Read, ReadWrite])?,
            event_scatter: make("event_scatter", EVENT_SCATTER_WGSL, &[Uniform, Read, Read, Read, Read, Read, ReadWrite])?,
            event_finalize: make("event_finalize", EVENT_FINALIZE_WGSL, &[Uniform, ReadWrite, ReadWrite])?,
            step_layout,
        })
    }
}

/// Workgroup counts covering `threads` invocations, spread over x and y because one dimension
/// holds at most `max_per_dim` workgroups (`linear_id` in `common.wgsl` undoes the split).
pub fn workgroups(threads: u64, max_per_dim: u32) -> (u32, u32) {
    let groups = threads.div_ceil(WORKGROUP as u64).max(1);
    if groups <= max_per_dim as u64 {
        (groups as u32, 1)
    } else {
        let y = groups.div_ceil(max_per_dim as u64);
        (groups.div_ceil(y) as u32, y as u32)
    }
}
