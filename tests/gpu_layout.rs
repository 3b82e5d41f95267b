//! The host/shader contract, checked without a GPU: every kernel's full source (the shared
//! prelude plus the kernel) parses and validates with naga (the WGSL front end wgpu itself
//! uses), every uniform struct has the same size and member offsets in WGSL as its `#[repr(C)]`
//! twin in `src/gpu/kernels.rs`, and the constants the host relies on (`record_mode::*`,
//! `WORKGROUP`) equal the shader's.

use std::mem::{offset_of, size_of};

use naga::{Module, Scalar, ScalarKind, TypeInner};
use spikegpu::gpu::kernels::{
    self, full_source, record_mode, FinalizeParams, GatherParams, GatingParams, LifParams, RecordParams, ScatterParams, StepInfo,
    CSR_GATHER_WGSL, EVENT_FINALIZE_WGSL, EVENT_SCATTER_WGSL,
    GATING_WGSL, LIF_UPDATE_WGSL, RECORD_WGSL, SPIKE_INPUT_WGSL,
};

/// Every kernel by name.
const KERNELS: [(&str, &str); 7] = [
    ("event_scatter", EVENT_SCATTER_WGSL),
    ("event_finalize", EVENT_FINALIZE_WGSL),
    ("spike_input", SPIKE_INPUT_WGSL),
    ("gating", GATING_WGSL),
    ("csr_gather", CSR_GATHER_WGSL),
    ("lif_update", LIF_UPDATE_WGSL),
    ("record", RECORD_WGSL),
];

fn parse(name: &str, src: &str) -> Module {
    let full = full_source(src);
    naga::front::wgsl::parse_str(&full)
        .unwrap_or_else(|e| panic!("shader {name}: WGSL does not parse:\n{}", e.emit_to_string(&full)))
}

/// A host-side member: name, byte offset, and whether it is an f32 (else u32).
#[derive(Debug, Clone, PartialEq)]
struct Member {
    name: String,
    offset: u32,
    float: bool,
}

fn is_pad(name: &str) -> bool {
    name.starts_with("_pad")
}

macro_rules! host_struct {
    ($t:ty { $($field:ident : $kind:ident),* $(,)? }) => {{
        let members: Vec<Member> = vec![$(Member {
            name: stringify!($field).to_string(),
            offset: offset_of!($t, $field) as u32,
            float: host_struct!(@float $kind),
        }),*];
        (size_of::<$t>() as u32, members)
    }};
    (@float f32) => { true };
    (@float u32) => { false };
}

/// The WGSL struct `name` of `module`: its size and members (name, offset, f32 or not).
fn wgsl_struct(module: &Module, shader: &str, name: &str) -> (u32, Vec<Member>) {
    let (_, ty) = module
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("shader {shader}: no struct {name}"));
    let TypeInner::Struct { members, span } = &ty.inner else {
        panic!("shader {shader}: {name} is not a struct");
    };
    let members = members
        .iter()
        .map(|m| {
            let float = match &module.types[m.ty].inner {
                TypeInner::Scalar(Scalar { kind: ScalarKind::Float, width: 4 }) => true,
                TypeInner::Scalar(Scalar { kind: ScalarKind::Uint, width: 4 }) => false,
                other => panic!("shader {shader}: {name}.{:?} has type {other:?}, the host only mirrors u32/f32", m.name),
            };
            Member { name: m.name.clone().unwrap_or_default(), offset: m.offset, float }
        })
        .collect();
    (*span, members)
}

/// Size equal; non-pad members equal in name, offset and type, in order. Pad members only
/// fill space: a Rust `_pad: [u32; 3]` stands for WGSL's `_pad0, _pad1, _pad2`.
fn check_struct(shader: &str, name: &str, host: (u32, Vec<Member>)) {
    let module = parse(shader, &kernel_source(shader));
    let (wsize, wmembers) = wgsl_struct(&module, shader, name);
    let (hsize, hmembers) = host;
    assert_eq!(wsize, hsize, "shader {shader}: struct {name} is {wsize} bytes in WGSL but {hsize} bytes in Rust");
    let real = |m: &Vec<Member>| m.iter().filter(|m| !is_pad(&m.name)).cloned().collect::<Vec<_>>();
    let (w, h) = (real(&wmembers), real(&hmembers));
    for (k, (a, b)) in w.iter().zip(&h).enumerate() {
        assert_eq!(a.name, b.name, "shader {shader}: {name} member {k} is `{}` in WGSL but `{}` in Rust", a.name, b.name);
        assert_eq!(a.offset, b.offset, "shader {shader}: {name}.{} at offset {} in WGSL but {} in Rust", a.name, a.offset, b.offset);
        assert_eq!(a.float, b.float, "shader {shader}: {name}.{}: f32 in one, u32 in the other", a.name);
    }
    assert_eq!(
        w.len(),
        h.len(),
        "shader {shader}: {name} has {} non-pad members in WGSL ({:?}) but {} in Rust ({:?})",
        w.len(),
        w.iter().map(|m| &m.name).collect::<Vec<_>>(),
        h.len(),
        h.iter().map(|m| &m.name).collect::<Vec<_>>()
    );
    // every WGSL pad member lies inside the struct and after the last real member before it
    for m in wmembers.iter().filter(|m| is_pad(&m.name)) {
        assert!(m.offset + 4 <= wsize, "shader {shader}: {name}.{} outside the struct", m.name);
    }
    // a uniform struct's size is a multiple of 16 (WGSL uniform layout rule)
    assert_eq!(wsize % 16, 0, "shader {shader}: uniform struct {name} is {wsize} bytes, not a multiple of 16");
}

fn kernel_source(shader: &str) -> String {
    KERNELS.iter().find(|(n, _)| *n == shader).map(|(_, s)| s.to_string()).expect("known kernel")
}

/// The value of module constant `name` as a u32.
fn const_u32(module: &Module, shader: &str, name: &str) -> u32 {
    let (_, c) = module
        .constants
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("shader {shader}: no constant {name}"));
    match &module.global_expressions[c.init] {
        naga::Expression::Literal(naga::Literal::U32(v)) => *v,
        naga::Expression::Literal(naga::Literal::I32(v)) => *v as u32,
        naga::Expression::Literal(naga::Literal::AbstractInt(v)) => *v as u32,
        other => panic!("shader {shader}: constant {name} is {other:?}, not an integer literal"),
    }
}

#[test]
fn every_kernel_parses_and_validates() {
    for (name, src) in KERNELS {
        let module = parse(name, src);
        let mut validator =
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::default());
        if let Err(e) = validator.validate(&module) {
            panic!("shader {name}: naga validation failed:\n{}", e.emit_to_string(&full_source(src)));
        }
        assert!(
            module.entry_points.iter().any(|e| e.name == "main" && e.stage == naga::ShaderStage::Compute),
            "shader {name}: no compute entry point `main`"
        );
        for ep in &module.entry_points {
            assert_eq!(ep.workgroup_size, [kernels::WORKGROUP, 1, 1], "shader {name}: workgroup size is not WORKGROUP");
        }
    }
}

#[test]
fn step_info_matches_in_every_kernel() {
    // Every kernel gets its own copy of the prelude; check all of them.
    for (name, _) in KERNELS {
        check_struct(
            name,
            "StepInfo",
            host_struct!(StepInfo { step: u32, t: f32, row: u32, ev_start: u32, ev_end: u32 }),
        );
    }
}

#[test]
fn gating_params_match() {
    check_struct(
        "gating",
        "GatingParams",
        host_struct!(GatingParams {
            alpha_t: f32,
            beta: f32,
            t_dur: f32,
            dt_phi_on: f32,
            dt_phi_off: f32,
            width: u32,
            _pad0: u32,
            history: u32,
            spike_base: u32,
            from_stamp: u32,
            record_on: u32,
            _pad: u32,
        }),
    );
}

#[test]
fn scatter_params_match() {
    check_struct(
        "event_scatter",
        "ScatterParams",
        host_struct!(ScatterParams {
            rows: u32,
            row_start: u32,
            n_pre: u32,
            n_post: u32,
            batch: u32,
            lag: u32,
            history: u32,
            newest_back: u32,
            per_synapse: u32,
            shared_w: f32,
            decay: f32,
            scale: f32,
        }),
    );
}

#[test]
fn finalize_params_match() {
    check_struct("event_finalize", "FinalizeParams", host_struct!(FinalizeParams { width: u32, out_base: u32, decay: f32, inv_scale: f32 }));
}

#[test]
fn gather_params_match() {
    check_struct(
        "csr_gather",
        "GatherParams",
        host_struct!(GatherParams {
            rows: u32,
            row_start: u32,
            n_pre: u32,
            n_post: u32,
            batch: u32,
            lag: u32,
            history: u32,
            newest_back: u32,
            out_base: u32,
            per_synapse: u32,
            shared_w: f32,
            _pad: u32,
        }),
    );
}

#[test]
fn lif_params_match() {
    check_struct(
        "lif_update",
        "LifParams",
        host_struct!(LifParams {
            width: u32,
            n_inputs: u32,
            count_slot: u32,
            _pad0: u32,
            v_rest: f32,
            v_th: f32,
            v_reset: f32,
            r: f32,
            inv_tau: f32,
            dt_phi: f32,
            tau_ref: f32,
            _pad1: f32,
        }),
    );
}

#[test]
fn record_params_match() {
    check_struct(
        "record",
        "RecordParams",
        host_struct!(RecordParams {
            mode: u32,
            width: u32,
            _pad0: u32,
            src_base: u32,
            history: u32,
            slot_start: u32,
            slot_end: u32,
            stamp_base: u32,
        }),
    );
}

#[test]
fn host_structs_have_no_hidden_padding() {
    // bytemuck::Pod already forbids implicit padding; the sizes below are what the engine's
    // uniform buffers and the 256-byte step table assume.
    assert_eq!(size_of::<StepInfo>(), 32);
    assert!(size_of::<StepInfo>() as u64 <= kernels::STEP_STRIDE);
    assert_eq!(size_of::<GatingParams>(), 48);
    assert_eq!(size_of::<GatherParams>(), 48);
    assert_eq!(size_of::<LifParams>(), 48);
    assert_eq!(size_of::<RecordParams>(), 32);
}

#[test]
fn record_modes_match_wgsl() {
    let m = parse("record", RECORD_WGSL);
    for (name, host) in [
        ("MODE_COPY", record_mode::COPY),
        ("MODE_RING", record_mode::RING),
        ("MODE_SPIKE", record_mode::SPIKE),
        ("MODE_STAMP", record_mode::STAMP),
        ("MODE_CURRENT", record_mode::CURRENT),
    ] {
        assert_eq!(const_u32(&m, "record", name), host, "shader record: {name} differs from record_mode");
    }
}

#[test]
fn workgroup_constant_matches_wgsl() {
    for (name, src) in KERNELS {
        let m = parse(name, src);
        assert_eq!(const_u32(&m, name, "WG"), kernels::WORKGROUP, "shader {name}: WG differs from kernels::WORKGROUP");
    }
}

#[test]
fn gather_tile_matches_wgsl() {
    let m = parse("csr_gather", CSR_GATHER_WGSL);
    assert_eq!(const_u32(&m, "csr_gather", "TILE") as usize, kernels::GATHER_TILE, "csr_gather: TILE differs from kernels::GATHER_TILE");
}

#[test]
fn workgroups_cover_threads() {
    // The 2-D split of `kernels::workgroups`, undone by `linear_id` in common.wgsl.
    for max in [3u32, 7, 65535] {
        for threads in [0u64, 1, 63, 64, 65, 1007, 64 * 65535 + 1, 10_000_000] {
            let (x, y) = kernels::workgroups(threads, max);
            let groups = threads.div_ceil(kernels::WORKGROUP as u64).max(1);
            assert!(x >= 1 && y >= 1 && x <= max, "threads {threads} max {max}: ({x},{y})");
            if groups <= max as u64 * max as u64 {
                assert!(y <= max, "threads {threads} max {max}: ({x},{y}) exceeds the per-dimension limit");
            }
            let covered = x as u64 * y as u64 * kernels::WORKGROUP as u64;
            assert!(covered >= threads, "threads {threads} max {max}: ({x},{y}) covers only {covered}");
            // not wasteful: less than one extra row of workgroups
            assert!(covered < threads.max(1) + (x as u64 + 1) * kernels::WORKGROUP as u64, "threads {threads} max {max}: ({x},{y})");
        }
    }
}
