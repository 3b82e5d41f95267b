//! The compute pipelines, one per WGSL file in `shaders/`, and the `#[repr(C)]` structs that
//! mirror each shader's uniform struct (a test parses the WGSL with naga and checks that sizes
//! and field offsets agree).

use super::GpuContext;
use crate::error::Result;

/// Every kernel's workgroup size (`WG` in `shaders/shared/common.wgsl`).
pub const WORKGROUP: u32 = 64;

/// Stride of the per-step entries in the step table: the dynamic uniform offset alignment that
/// every adapter accepts.
pub const STEP_STRIDE: u64 = 256;

/// Source of the shared prelude and of each kernel.
pub const COMMON_WGSL: &str = include_str!("../../shaders/shared/common.wgsl");
pub const SPIKE_INPUT_WGSL: &str = include_str!("../../shaders/spike_input.wgsl");
pub const GATING_WGSL: &str = include_str!("../../shaders/gating.wgsl");
pub const CSR_GATHER_WGSL: &str = include_str!("../../shaders/csr_gather.wgsl");
pub const LIF_UPDATE_WGSL: &str = include_str!("../../shaders/lif_update.wgsl");
pub const RECORD_WGSL: &str = include_str!("../../shaders/record.wgsl");

/// The full source of a kernel: the shared prelude, then the kernel.
pub fn full_source(kernel: &str) -> String {
    format!("{COMMON_WGSL}\n{kernel}")
}

/// `StepInfo` in `common.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepInfo {
    pub step: u32,
    pub t: f32,
    pub row: u32,
    pub ev_start: u32,
    pub ev_end: u32,
    pub _pad: [u32; 3],
}

/// `GatingParams` in `gating.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GatingParams {
    pub alpha_t: f32,
    pub beta: f32,
    pub t_dur: f32,
    pub dt_phi_on: f32,
    pub dt_phi_off: f32,
    pub width: u32,
    pub n: u32,
    pub history: u32,
    pub spike_base: u32,
    pub from_stamp: u32,
    pub _pad: [u32; 2],
}

/// `GatherParams` in `csr_gather.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GatherParams {
    pub rows: u32,
    pub row_start: u32,
    pub n_pre: u32,
    pub n_post: u32,
    pub batch: u32,
    pub lag: u32,
    pub history: u32,
    pub newest_back: u32,
    pub out_base: u32,
    pub per_synapse: u32,
    pub shared_w: f32,
    pub _pad: u32,
}

/// `LifParams` in `lif_update.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LifParams {
    pub width: u32,
    pub n_inputs: u32,
    pub count_slot: u32,
    pub _pad0: u32,
    pub v_rest: f32,
    pub v_th: f32,
    pub v_reset: f32,
    pub r: f32,
    pub inv_tau: f32,
    pub dt_phi: f32,
    pub tau_ref: f32,
    pub _pad1: f32,
}

/// `RecordParams` in `record.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RecordParams {
    pub mode: u32,
    pub width: u32,
    pub n: u32,
    pub src_base: u32,
    pub history: u32,
    pub slot_start: u32,
    pub slot_end: u32,
    pub stamp_base: u32,
}

/// `MODE_*` constants of `record.wgsl`.
pub mod record_mode {
    pub const COPY: u32 = 0;
    pub const RING: u32 = 1;
    pub const SPIKE: u32 = 2;
    pub const STAMP: u32 = 3;
    pub const CURRENT: u32 = 4;
}

/// One compiled kernel: its pipeline and the layout of its own bind group (group 1).
pub struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

/// All kernels plus the step-table layout (group 0) they share.
pub struct Kernels {
    pub step_layout: wgpu::BindGroupLayout,
    pub spike_input: Kernel,
    pub gating: Kernel,
    pub csr_gather: Kernel,
    pub lif_update: Kernel,
    pub record: Kernel,
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
            gating: make("gating", GATING_WGSL, &[Uniform, Read, ReadWrite, ReadWrite])?,
            csr_gather: make("csr_gather", CSR_GATHER_WGSL, &[Uniform, Read, Read, Read, Read, ReadWrite])?,
            lif_update: make(
                "lif_update",
                LIF_UPDATE_WGSL,
                &[Uniform, Read, Read, ReadWrite, ReadWrite, ReadWrite, ReadWrite, ReadWrite],
            )?,
            record: make("record", RECORD_WGSL, &[Uniform, Read, Read, Read, Read, ReadWrite])?,
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
