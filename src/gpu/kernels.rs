//! The compute pipelines, one per WGSL file in `shaders/`, and one typed binding struct per
//! kernel: its fields name the kernel's group-1 bindings in binding order, and the same struct
//! makes the bind-group layout and every bind group, by field name. A test parses each shader
//! with naga and checks that binding `k` of group 1 is the struct's `k`-th field, with the same
//! name and access, so two buffers cannot be swapped by position.

use super::GpuContext;
use crate::error::Result;

/// Every kernel's workgroup size (`WG` in `shaders/shared/common.wgsl`).
pub const WORKGROUP: u32 = 64;

/// Batch rows one `csr_gather` thread sums together (`TILE` in `csr_gather.wgsl`; a test
/// checks they agree).
pub const GATHER_TILE: usize = 8;

/// Rows per slice of the GPU's sliced (SELL) dense product: a warp on NVIDIA, so its 32 threads
/// read 32 consecutive slots (`LANES` in `csr_gather.wgsl`; a test checks they agree).
pub const GATHER_LANES: usize = 32;

/// Stride of the per-step entries in the step table: the dynamic uniform offset alignment that
/// every adapter accepts.
pub const STEP_STRIDE: u64 = 256;

/// The files prepended to every kernel, in order.
pub const SHARED_WGSL: [(&str, &str); 4] = [
    ("shared/common.wgsl", include_str!("../../shaders/shared/common.wgsl")),
    ("shared/math.wgsl", include_str!("../../shaders/shared/math.wgsl")),
    ("shared/synapse.wgsl", include_str!("../../shaders/shared/synapse.wgsl")),
    ("shared/output.wgsl", include_str!("../../shaders/shared/output.wgsl")),
];

/// Every kernel: its stem (`shaders/<stem>.wgsl`) and source.
pub const KERNEL_WGSL: [(&str, &str); 10] = [
    ("spike_input", include_str!("../../shaders/spike_input.wgsl")),
    ("pre_synapse", include_str!("../../shaders/pre_synapse.wgsl")),
    ("csr_gather", include_str!("../../shaders/csr_gather.wgsl")),
    ("event_scatter", include_str!("../../shaders/event_scatter.wgsl")),
    ("event_finalize", include_str!("../../shaders/event_finalize.wgsl")),
    ("spike_scatter", include_str!("../../shaders/spike_scatter.wgsl")),
    ("post_synapse", include_str!("../../shaders/post_synapse.wgsl")),
    ("poisson_input", include_str!("../../shaders/poisson_input.wgsl")),
    ("lif_update", include_str!("../../shaders/lif_update.wgsl")),
    ("record", include_str!("../../shaders/record.wgsl")),
];

/// The full source of a kernel: the shared files, then the kernel.
pub fn full_source(kernel: &str) -> String {
    let mut s = String::new();
    for (_, src) in SHARED_WGSL {
        s.push_str(src);
        s.push('\n');
    }
    s.push_str(kernel);
    s
}

/// How a kernel uses one of its group-1 bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `var<uniform>`.
    Uniform,
    /// `var<storage, read>`.
    Read,
    /// `var<storage, read_write>`.
    ReadWrite,
}

/// One kernel's bindings: the layout, and the buffers of one bind group by name.
pub trait KernelBindings<'a> {
    /// The kernel's stem.
    const KERNEL: &'static str;
    /// `(name, access)` of each group-1 binding, in binding order.
    const SLOTS: &'static [(&'static str, Access)];
    /// The bind group's entries, binding `k` being field `k`.
    fn entries(&self) -> Vec<wgpu::BindGroupEntry<'a>>;
}

macro_rules! bindings {
    ($(#[$m:meta])* $name:ident for $stem:literal { $($(#[$fm:meta])* $field:ident : $access:ident),* $(,)? }) => {
        $(#[$m])*
        pub(crate) struct $name<'a> {
            $($(#[$fm])* pub $field: &'a wgpu::Buffer,)*
        }
        impl<'a> KernelBindings<'a> for $name<'a> {
            const KERNEL: &'static str = $stem;
            const SLOTS: &'static [(&'static str, Access)] = &[$((stringify!($field), Access::$access)),*];
            fn entries(&self) -> Vec<wgpu::BindGroupEntry<'a>> {
                let buffers: Vec<&'a wgpu::Buffer> = vec![$(self.$field),*];
                buffers
                    .into_iter()
                    .enumerate()
                    .map(|(k, b)| wgpu::BindGroupEntry { binding: k as u32, resource: b.as_entire_binding() })
                    .collect()
            }
        }
    };
}

bindings! {
    /// `spike_input.wgsl`.
    SpikeInputBindings for "spike_input" {
        /// `SpikeInputParams`.
        p: Uniform,
        /// `steps + 1` offsets into `events`.
        offsets: Read,
        /// The source's events, sorted by step.
        events: Read,
        /// The source's stamp ring.
        stamps: ReadWrite,
    }
}

bindings! {
    /// `poisson_input.wgsl`.
    PoissonInputBindings for "poisson_input" {
        /// `PoissonInputParams`.
        p: Uniform,
        /// The count law's thresholds (or a placeholder when it has none).
        thresholds: Read,
        /// The population's V (or a placeholder).
        v: ReadWrite,
        /// The accumulator ring (or a placeholder).
        acc: ReadWrite,
    }
}

bindings! {
    /// `pre_synapse.wgsl`.
    PreSynapseBindings for "pre_synapse" {
        /// `PreSynapseParams`.
        p: Uniform,
        /// The pre population's spikes: a source's stamp ring or a LIF population's flags.
        pre_spike: Read,
        /// The group's states besides its output.
        states: ReadWrite,
        /// The output history ring.
        ring: ReadWrite,
        /// Window flags per ring slot (event mode).
        window: ReadWrite,
    }
}

bindings! {
    /// `csr_gather.wgsl`.
    GatherBindings for "csr_gather" {
        /// `GatherParams`.
        p: Uniform,
        /// `slices + 1` first columns of this dispatch's slices, relative to the first.
        slice_ptr: Read,
        /// Per lane, (post row or `u32::MAX`, row length).
        lanes: Read,
        /// Pre neuron per slot (two 16-bit ones per word when `narrow`).
        slots: Read,
        /// Per-slot weights (or a placeholder).
        weights: Read,
        /// The pre group's output ring.
        hist: Read,
        /// The post population's conductance slots.
        gsyn: ReadWrite,
    }
}

bindings! {
    /// `event_scatter.wgsl`.
    WindowScatterBindings for "event_scatter" {
        /// `ScatterParams`.
        p: Uniform,
        /// Row offsets of this slice.
        indptr: Read,
        /// Post neuron per synapse.
        indices: Read,
        /// Per-synapse weights (or a placeholder).
        weights: Read,
        /// The pre group's output ring.
        hist: Read,
        /// The pre group's window flags.
        on_hist: Read,
        /// The projection's fixed-point increments.
        acc: ReadWrite,
    }
}

bindings! {
    /// `event_finalize.wgsl`.
    WindowFinalizeBindings for "event_finalize" {
        /// `FinalizeParams`.
        p: Uniform,
        /// The projection's fixed-point increments.
        acc: ReadWrite,
        /// The post population's conductance slots.
        gsyn: ReadWrite,
    }
}

bindings! {
    /// `spike_scatter.wgsl`.
    SpikeScatterBindings for "spike_scatter" {
        /// `SpikeScatterParams`.
        p: Uniform,
        /// Row offsets of this slice.
        indptr: Read,
        /// Post neuron per synapse.
        indices: Read,
        /// Per-synapse weights (or a placeholder).
        weights: Read,
        /// The pre population's stamp ring.
        stamps: Read,
        /// Per-synapse lags (or a placeholder).
        lags: Read,
        /// The accumulator ring.
        acc: ReadWrite,
    }
}

bindings! {
    /// `post_synapse.wgsl`.
    PostSynapseBindings for "post_synapse" {
        /// `PostSynapseParams`.
        p: Uniform,
        /// The accumulator.
        acc: ReadWrite,
        /// The states.
        states: ReadWrite,
        /// The post population's conductance slots.
        gsyn: ReadWrite,
    }
}

bindings! {
    /// `lif_update.wgsl`.
    LifBindings for "lif_update" {
        /// `LifParams`.
        p: Uniform,
        /// One `SlotOutput` per input slot.
        outputs: Read,
        /// The conductance slots.
        gsyn: Read,
        /// The input current per neuron (or a placeholder).
        i_ext: Read,
        /// Membrane potential.
        v: ReadWrite,
        /// Last spike time.
        t_last: ReadWrite,
        /// Spike flags of this step.
        spike: ReadWrite,
        /// The current that drove this step.
        input: ReadWrite,
        /// The stamp ring (or a placeholder).
        stamps: ReadWrite,
        /// Spike counters, one per LIF population.
        counts: ReadWrite,
        /// The first non-finite value, 4 words per LIF population.
        nonfinite: ReadWrite,
    }
}

bindings! {
    /// `record.wgsl`.
    RecordBindings for "record" {
        /// `RecordParams`.
        p: Uniform,
        /// Float source.
        fsrc: Read,
        /// Word source (spikes).
        usrc: Read,
        /// The membrane potential (current mode).
        vsrc: Read,
        /// The slots' outputs (current mode).
        outputs: Read,
        /// The recorded neurons (list pick).
        pick: Read,
        /// The monitor's chunk buffer.
        out: ReadWrite,
    }
}

/// The `(name, access)` lists of every kernel, for the layout test.
pub fn all_slots() -> Vec<(&'static str, &'static [(&'static str, Access)])> {
    vec![
        (SpikeInputBindings::KERNEL, SpikeInputBindings::SLOTS),
        (PreSynapseBindings::KERNEL, PreSynapseBindings::SLOTS),
        (GatherBindings::KERNEL, GatherBindings::SLOTS),
        (WindowScatterBindings::KERNEL, WindowScatterBindings::SLOTS),
        (WindowFinalizeBindings::KERNEL, WindowFinalizeBindings::SLOTS),
        (SpikeScatterBindings::KERNEL, SpikeScatterBindings::SLOTS),
        (PostSynapseBindings::KERNEL, PostSynapseBindings::SLOTS),
        (PoissonInputBindings::KERNEL, PoissonInputBindings::SLOTS),
        (LifBindings::KERNEL, LifBindings::SLOTS),
        (RecordBindings::KERNEL, RecordBindings::SLOTS),
    ]
}

/// One compiled kernel: its pipeline and the layout of its own bind group (group 1).
pub struct Kernel {
    /// The compute pipeline.
    pub pipeline: wgpu::ComputePipeline,
    /// Layout of the kernel's own bind group (group 1).
    pub layout: wgpu::BindGroupLayout,
}

/// Every kernel, by stem, plus the step-table layout (group 0) they share.
pub struct Kernels {
    /// Layout of the step table bind group (group 0).
    pub step_layout: wgpu::BindGroupLayout,
    kernels: Vec<(&'static str, Kernel)>,
}

fn layout_entry(binding: u32, access: Access) -> wgpu::BindGroupLayoutEntry {
    let ty = match access {
        Access::Uniform => wgpu::BufferBindingType::Uniform,
        Access::Read => wgpu::BufferBindingType::Storage { read_only: true },
        Access::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
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
                    min_binding_size: wgpu::BufferSize::new(std::mem::size_of::<super::uniforms::StepInfo>() as u64),
                },
                count: None,
            }],
        });
        let slots = all_slots();
        let mut kernels = Vec::with_capacity(KERNEL_WGSL.len());
        for (stem, src) in KERNEL_WGSL {
            let (_, slots) = slots.iter().find(|(k, _)| *k == stem).expect("every kernel has its binding struct");
            let module = ctx.shader(stem, &full_source(src))?;
            let entries: Vec<_> = slots.iter().enumerate().map(|(i, &(_, a))| layout_entry(i as u32, a)).collect();
            let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(stem), entries: &entries });
            let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(stem),
                bind_group_layouts: &[Some(&step_layout), Some(&layout)],
                immediate_size: 0,
            });
            let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(stem),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
            kernels.push((stem, Kernel { pipeline, layout }));
        }
        Ok(Kernels { step_layout, kernels })
    }

    /// The kernel of stem `stem`.
    pub fn get(&self, stem: &str) -> &Kernel {
        &self.kernels.iter().find(|(k, _)| *k == stem).unwrap_or_else(|| panic!("no kernel {stem}")).1
    }

    /// The index of kernel `stem` (for dispatch lists).
    pub fn index(&self, stem: &str) -> usize {
        self.kernels.iter().position(|(k, _)| *k == stem).unwrap_or_else(|| panic!("no kernel {stem}"))
    }

    /// The kernel at `index`.
    pub fn at(&self, index: usize) -> &Kernel {
        &self.kernels[index].1
    }

    /// A bind group of the kernel `B` binds, from its buffers by name.
    pub fn bind<'a, B: KernelBindings<'a>>(&self, ctx: &GpuContext, b: &B) -> wgpu::BindGroup {
        let entries = b.entries();
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some(B::KERNEL), layout: &self.get(B::KERNEL).layout, entries: &entries })
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
