//! The `#[repr(C)]` mirrors of the shaders' structs, each made from the plan with `From`. Every
//! struct lists its fields' names and offsets ([`GpuStruct::fields`]); a test parses the shaders
//! with naga and checks that the WGSL struct of the same name has the same members at the same
//! offsets and the same size, so no layout is kept in sync by a comment.

use crate::plan::{AccKind, NeuronParams, OutputParams, SynParams};

/// A host mirror of a WGSL struct.
// only the layout test (src/gpu/tests/layout.rs) asks a struct for its fields
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) trait GpuStruct: bytemuck::Pod {
    /// The WGSL struct's name.
    const WGSL: &'static str;
    /// `(field name, byte offset)` of every field, in order.
    fn fields() -> Vec<(&'static str, usize)>;
}

macro_rules! gpu_struct {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident : $t:ty),* $(,)? }) => {
        $(#[$m])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
        pub(crate) struct $name {
            $($(#[$fm])* pub $f: $t,)*
        }
        impl GpuStruct for $name {
            const WGSL: &'static str = stringify!($name);
            fn fields() -> Vec<(&'static str, usize)> {
                vec![$((stringify!($f), std::mem::offset_of!($name, $f)),)*]
            }
        }
    };
}

gpu_struct! {
    /// `StepInfo` (`shared/common.wgsl`): the per-step values, one entry per step of a chunk.
    StepInfo {
        /// Index of this step in the run.
        step: u32,
        /// Time of this step, ms (`step * dt` rounded as the CPU engine does).
        t: f32,
        /// First step of this chunk.
        chunk_start: u32,
        /// Padding.
        _pad0: u32,
    }
}

gpu_struct! {
    /// `SynapseParams` (`shared/synapse.wgsl`): one synapse's derived parameters.
    SynapseParams {
        /// `MODEL_*` of `synapse.wgsl`.
        model: u32,
        /// DualExpon's spike increment, DualExponV2's A, NMDA's a.
        a: f32,
        /// `1/tau` of g's decay (NMDA: `1/tau_decay`).
        d_r: f32,
        /// `dt exprel(-dt d_r)`.
        d_c: f32,
        /// `1/tau` of the second state's decay.
        r_r: f32,
        /// `dt exprel(-dt r_r)`.
        r_c: f32,
        /// AMPA/GABAa closing rate.
        beta: f32,
        /// AMPA/GABAa `alpha T`.
        alpha_t: f32,
        /// AMPA/GABAa pulse duration.
        t_dur: f32,
        /// AMPA/GABAa `dt_phi` inside the window.
        dt_phi_on: f32,
        /// AMPA/GABAa `dt_phi` outside the window.
        dt_phi_off: f32,
        /// The time step (NMDA's exprel at run time).
        dt: f32,
    }
}

/// `MODEL_*` constants of `synapse.wgsl`.
pub(crate) mod model {
    pub const KINETIC: u32 = 0;
    pub const EXPON: u32 = 1;
    pub const DUAL_EXPON: u32 = 2;
    pub const DUAL_EXPON_V2: u32 = 3;
    pub const ALPHA: u32 = 4;
    pub const NMDA: u32 = 5;
}

impl SynapseParams {
    /// The parameters of `p` at step `dt`.
    pub fn new(p: &SynParams, dt: f32) -> Self {
        let mut s = SynapseParams { dt, ..Default::default() };
        match *p {
            SynParams::Kinetic(k) => {
                s.model = model::KINETIC;
                (s.beta, s.alpha_t, s.t_dur, s.dt_phi_on, s.dt_phi_off) = (k.beta, k.alpha_t, k.t_dur, k.dt_phi_on, k.dt_phi_off);
            }
            SynParams::Expon(d) => {
                s.model = model::EXPON;
                (s.d_r, s.d_c) = (d.r, d.c);
            }
            SynParams::DualExpon { d, r, a } => {
                s.model = model::DUAL_EXPON;
                (s.d_r, s.d_c, s.r_r, s.r_c, s.a) = (d.r, d.c, r.r, r.c, a);
            }
            SynParams::DualExponV2 { d, r, a } => {
                s.model = model::DUAL_EXPON_V2;
                (s.d_r, s.d_c, s.r_r, s.r_c, s.a) = (d.r, d.c, r.r, r.c, a);
            }
            SynParams::Alpha(d) => {
                s.model = model::ALPHA;
                // r twice: `alpha_step` multiplies g and h by different fields so the shader
                // compiler cannot factor `-g r + h r` into `(h - g) r` (other rounding)
                (s.d_r, s.d_c, s.r_r) = (d.r, d.c, d.r);
            }
            SynParams::Nmda { a, r_d, x } => {
                s.model = model::NMDA;
                (s.a, s.d_r, s.r_r, s.r_c) = (a, r_d, x.r, x.c);
            }
        }
        s
    }
}

gpu_struct! {
    /// `PreSynapseParams` in `pre_synapse.wgsl`.
    PreSynapseParams {
        /// The synapse.
        syn: SynapseParams,
        /// Values over all batch copies: `batch * n`.
        width: u32,
        /// Slots of the group's history ring.
        history: u32,
        /// 1 when the pre population is a spike source (its stamp ring), 0 when LIF (flags).
        from_stamp: u32,
        /// Slots of the source's stamp ring.
        stamp_ring: u32,
        /// 1: AMPA/GABAa in event mode, write the window flags.
        window: u32,
        /// Padding.
        _pad0: u32,
        /// Padding.
        _pad1: u32,
        /// Padding.
        _pad2: u32,
    }
}

gpu_struct! {
    /// `PostSynapseParams` in `post_synapse.wgsl`.
    PostSynapseParams {
        /// The synapse.
        syn: SynapseParams,
        /// `batch * n_post`.
        width: u32,
        /// 0: post-aligned, 1: aggregate.
        kind: u32,
        /// Offset of its neuron input slot in `gsyn`.
        slot_base: u32,
        /// `1 / scale`.
        inv_scale: f32,
        /// Slots of the accumulator ring.
        ring: u32,
        /// Padding.
        _pad0: u32,
        /// Padding.
        _pad1: u32,
        /// Padding.
        _pad2: u32,
    }
}

impl PostSynapseParams {
    /// The uniform of an accumulator-fed state.
    pub fn new(a: &crate::plan::AccPlan, batch: usize, dt: f32) -> Self {
        let width = batch * a.n;
        PostSynapseParams {
            syn: SynapseParams::new(&a.params, dt),
            width: width as u32,
            kind: match a.kind {
                AccKind::PostAligned => 0,
                AccKind::Aggregate => 1,
            },
            slot_base: (a.slot * width) as u32,
            inv_scale: 1.0 / a.scale,
            ring: a.ring as u32,
            ..Default::default()
        }
    }
}

gpu_struct! {
    /// `PoissonInputParams` in `poisson_input.wgsl`.
    PoissonInputParams {
        /// Neurons per batch row.
        n: u32,
        /// Batch rows.
        batch: u32,
        /// Counters per batch row: 16 per block of 64 neurons.
        counters: u32,
        /// 0: V, 1: accumulator.
        sink: u32,
        /// The seed, low word.
        key0: u32,
        /// The seed, high word.
        key1: u32,
        /// The input's index.
        stream: u32,
        /// The smallest count.
        first: u32,
        /// Thresholds.
        len: u32,
        /// Slots of the accumulator ring (1 for V).
        ring: u32,
        /// Added to V per count.
        weight: f32,
        /// Added to the accumulator per count, in its fixed point.
        q: i32,
    }
}

gpu_struct! {
    /// `SpikeInputParams` in `spike_input.wgsl`.
    SpikeInputParams {
        /// Slots of the stamp ring.
        ring: u32,
        /// `batch * n`.
        width: u32,
        /// Padding.
        _pad0: u32,
        /// Padding.
        _pad1: u32,
    }
}

gpu_struct! {
    /// `GatherParams` in `csr_gather.wgsl`.
    GatherParams {
        /// SELL-32 slices in this dispatch.
        slices: u32,
        /// Number of pre neurons.
        n_pre: u32,
        /// Number of post neurons.
        n_post: u32,
        /// Number of batch copies.
        batch: u32,
        /// The step read is `step - read_offset`.
        read_offset: u32,
        /// Number of slots in the pre group's history ring.
        history: u32,
        /// This projection's slot offset in the post conductance buffer.
        out_base: u32,
        /// 1 to read per-synapse weights, 0 to use `shared_w`.
        per_synapse: u32,
        /// 1: two 16-bit pre indices per word of `slots`.
        narrow: u32,
        /// The weight of every synapse when `per_synapse` is 0.
        shared_w: f32,
        /// Padding.
        _pad0: u32,
        /// Padding.
        _pad1: u32,
    }
}

gpu_struct! {
    /// `ScatterParams` in `event_scatter.wgsl`.
    ScatterParams {
        /// Pre rows in this slice.
        rows: u32,
        /// First pre row of this slice.
        row_start: u32,
        /// Pre neurons.
        n_pre: u32,
        /// Post neurons.
        n_post: u32,
        /// Batch rows.
        batch: u32,
        /// The step read is `step - read_offset`.
        read_offset: u32,
        /// Ring slots of the pre group.
        history: u32,
        /// 1: per-synapse weights, 0: `shared_w`.
        per_synapse: u32,
        /// Padding.
        _pad0: u32,
        /// The shared weight.
        shared_w: f32,
        /// `exp(-beta dt)` of the pre group.
        decay: f32,
        /// Fixed-point scale of the increments ([`crate::plan::event_scale`]).
        scale: f32,
    }
}

gpu_struct! {
    /// `FinalizeParams` in `event_finalize.wgsl`.
    FinalizeParams {
        /// `batch * n_post`.
        width: u32,
        /// This projection's slot in the post conductance buffer.
        out_base: u32,
        /// `exp(-beta dt)` of the pre group.
        decay: f32,
        /// `1 / scale`.
        inv_scale: f32,
    }
}

gpu_struct! {
    /// `SpikeScatterParams` in `spike_scatter.wgsl`.
    SpikeScatterParams {
        /// Pre rows in this slice.
        rows: u32,
        /// First pre row of this slice.
        row_start: u32,
        /// Pre neurons.
        n_pre: u32,
        /// Post neurons.
        n_post: u32,
        /// Batch rows.
        batch: u32,
        /// The step read is `step - read_offset`.
        read_offset: u32,
        /// Slots of the pre population's stamp ring.
        ring: u32,
        /// 1: per-synapse weights, 0: `shared_q`.
        per_synapse: u32,
        /// The shared weight in fixed point.
        shared_q: i32,
        /// Fixed-point scale of the weights.
        scale: f32,
        /// Slots of the accumulator ring.
        acc_ring: u32,
        /// 1: per-synapse lags, 0: every lag 0.
        lagged: u32,
    }
}

gpu_struct! {
    /// `LifParams` in `lif_update.wgsl`.
    LifParams {
        /// Values over all batch copies: `batch * n`.
        width: u32,
        /// Neurons per batch row.
        n: u32,
        /// Input slots.
        n_inputs: u32,
        /// Index of this population's spike counter.
        count_slot: u32,
        /// Slots of its stamp ring (0: none).
        ring: u32,
        /// 1 when it has an input current.
        has_i_ext: u32,
        /// 1: LifRef, 0: Lif.
        refractory: u32,
        /// Padding.
        _pad0: u32,
        /// Resting potential, mV.
        v_rest: f32,
        /// Spike threshold, mV.
        v_th: f32,
        /// Reset potential after a spike, mV.
        v_reset: f32,
        /// Membrane resistance.
        r: f32,
        /// `1/tau`, 1/ms.
        inv_tau: f32,
        /// `dt_phi` of the membrane equation.
        dt_phi: f32,
        /// Refractory period, ms.
        tau_ref: f32,
        /// Padding.
        _pad1: f32,
    }
}

impl From<&NeuronParams> for LifParams {
    /// The model parameters; the layout fields are filled in by the engine.
    fn from(p: &NeuronParams) -> Self {
        LifParams {
            v_rest: p.v_rest,
            v_th: p.v_th,
            v_reset: p.v_reset,
            r: p.r,
            inv_tau: p.inv_tau,
            dt_phi: p.dt_phi,
            tau_ref: p.tau_ref,
            refractory: p.refractory as u32,
            ..Default::default()
        }
    }
}

gpu_struct! {
    /// `SlotOutput` (`shared/output.wgsl`): how one input slot becomes current.
    SlotOutput {
        /// `OUTPUT_*` of `output.wgsl`.
        kind: u32,
        /// Reversal potential, mV.
        e: f32,
        /// MgBlock `cc_Mg / beta`.
        k: f32,
        /// MgBlock voltage sensitivity.
        alpha: f32,
        /// MgBlock voltage offset.
        v_offset: f32,
        /// Padding.
        _pad0: u32,
        /// Padding.
        _pad1: u32,
        /// Padding.
        _pad2: u32,
    }
}

impl From<&OutputParams> for SlotOutput {
    fn from(o: &OutputParams) -> Self {
        match *o {
            OutputParams::Coba { e } => SlotOutput { kind: 0, e, ..Default::default() },
            OutputParams::Cuba => SlotOutput { kind: 1, ..Default::default() },
            OutputParams::MgBlock { e, k, alpha, v_offset } => SlotOutput { kind: 2, e, k, alpha, v_offset, ..Default::default() },
        }
    }
}

gpu_struct! {
    /// `RecordParams` in `record.wgsl`.
    RecordParams {
        /// What to record: one of [`record_mode`].
        mode: u32,
        /// Values per batch row at the source.
        n: u32,
        /// Batch rows.
        batch: u32,
        /// Offset of the values in the float source (copy mode).
        base: u32,
        /// Ring slots (ring and stamp modes).
        ring: u32,
        /// First slot summed (current mode).
        slot_first: u32,
        /// End of the slots summed (current mode).
        slot_end: u32,
        /// First recorded neuron (range pick).
        pick_start: u32,
        /// Recorded neurons per batch row.
        pick_len: u32,
        /// 1: the recorded neurons are the `pick` list.
        use_list: u32,
        /// Steps between recorded steps.
        every: u32,
        /// Padding.
        _pad0: u32,
    }
}

/// `MODE_*` constants of `record.wgsl`.
pub(crate) mod record_mode {
    /// Copy floats from `base`.
    pub const COPY: u32 = 0;
    /// Read a group's history ring at this step's slot.
    pub const RING: u32 = 1;
    /// LIF spike flags.
    pub const SPIKE: u32 = 2;
    /// A spike source's stamps equal to this step.
    pub const STAMP: u32 = 3;
    /// Sum of input slots' outputs with the new V.
    pub const CURRENT: u32 = 4;
}
