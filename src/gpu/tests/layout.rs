//! The host/shader contract, checked without a GPU by parsing every kernel's full source (the
//! shared files, then the kernel: `kernels::full_source`) with naga, the WGSL front end wgpu
//! itself uses (the same version: `[dev-dependencies]`):
//!
//! * every `gpu_struct!` type of `uniforms.rs` has a WGSL struct of the same name with the same
//!   member names at the same offsets and the same size (and every struct of the shaders has a
//!   host mirror);
//! * every kernel's group-1 bindings are exactly its typed binding struct's `SLOTS`: binding `k`
//!   has the `k`-th field's name and access (uniform, storage read, storage read_write); group 0
//!   is the step table alone;
//! * the constants written on both sides agree, read from naga's module constants: `WG`, `TILE`,
//!   `MODEL_*`, `MODE_*`, `OUTPUT_*`, `KIND_POST_ALIGNED`.
//!
//! The checks return their findings instead of panicking, so the last tests here feed them
//! deliberately broken inputs (two bindings swapped in a shader, two slots swapped in a binding
//! list, two members swapped in a WGSL struct or in a host mirror, a changed constant) and make
//! sure each is caught.

use crate::gpu::kernels::{self, all_slots, full_source, Access, KERNEL_WGSL};
use crate::gpu::uniforms::*;
use crate::model::{Kinetic, Synapse};
use crate::plan::{AccKind, AccPlan, GatingParams, OutputParams, SynParams};
use naga::{AddressSpace, Module, StorageAccess, TypeInner};
use std::mem::size_of;

fn parse(stem: &str, src: &str) -> Module {
    let full = full_source(src);
    naga::front::wgsl::parse_str(&full).unwrap_or_else(|e| panic!("shader {stem}: WGSL does not parse:\n{}", e.emit_to_string(&full)))
}

fn modules() -> Vec<(&'static str, Module)> {
    KERNEL_WGSL.iter().map(|&(stem, src)| (stem, parse(stem, src))).collect()
}

/// A host mirror: its WGSL name, its fields (name, offset) and its size.
type HostStruct = (&'static str, Vec<(&'static str, usize)>, usize);

fn of<T: GpuStruct>() -> HostStruct {
    (T::WGSL, T::fields(), size_of::<T>())
}

/// Every `gpu_struct!` type (the test below checks this list against `uniforms.rs`).
fn host_structs() -> Vec<HostStruct> {
    vec![
        of::<StepInfo>(),
        of::<SynapseParams>(),
        of::<PreSynapseParams>(),
        of::<PostSynapseParams>(),
        of::<SpikeInputParams>(),
        of::<PoissonInputParams>(),
        of::<GatherParams>(),
        of::<ScatterParams>(),
        of::<FinalizeParams>(),
        of::<SpikeScatterParams>(),
        of::<LifParams>(),
        of::<SlotOutput>(),
        of::<RecordParams>(),
    ]
}

/// The names `gpu_struct! { ... Name { ... } }` declares in `uniforms.rs`.
fn declared_structs() -> Vec<String> {
    let src = include_str!("../uniforms.rs");
    let mut out = Vec::new();
    for chunk in src.split("gpu_struct! {").skip(1) {
        let name = chunk
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("///") && !l.starts_with("#["))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_default();
        out.push(name.to_string());
    }
    // the macro's own definition matches the pattern too (`($(#[$m:meta])* $name:ident ...`)
    out.retain(|n| n.chars().all(|c| c.is_alphanumeric() || c == '_') && !n.is_empty());
    out
}

/// Differences between WGSL struct `name` of `module` and its host mirror.
fn check_struct(module: &Module, shader: &str, (name, fields, size): &HostStruct) -> Vec<String> {
    let Some((_, ty)) = module.types.iter().find(|(_, t)| t.name.as_deref() == Some(name)) else {
        return vec![format!("shader {shader}: no struct {name}")];
    };
    let TypeInner::Struct { members, span } = &ty.inner else {
        return vec![format!("shader {shader}: {name} is not a struct")];
    };
    let mut errs = Vec::new();
    if *span as usize != *size {
        errs.push(format!("shader {shader}: struct {name} is {span} bytes in WGSL but {size} in Rust"));
    }
    if members.len() != fields.len() {
        errs.push(format!(
            "shader {shader}: struct {name} has {} members in WGSL ({:?}) but {} in Rust ({:?})",
            members.len(),
            members.iter().map(|m| m.name.clone().unwrap_or_default()).collect::<Vec<_>>(),
            fields.len(),
            fields.iter().map(|f| f.0).collect::<Vec<_>>()
        ));
    }
    for (k, (m, &(f, off))) in members.iter().zip(fields).enumerate() {
        let wname = m.name.as_deref().unwrap_or("");
        if wname != f || m.offset as usize != off {
            errs.push(format!("shader {shader}: {name} member {k} is `{wname}` at offset {} in WGSL but `{f}` at offset {off} in Rust", m.offset));
        }
    }
    errs
}

/// How a kernel declares one resource.
fn access_of(space: AddressSpace) -> Option<Access> {
    match space {
        AddressSpace::Uniform => Some(Access::Uniform),
        AddressSpace::Storage { access } if access.contains(StorageAccess::STORE) => Some(Access::ReadWrite),
        AddressSpace::Storage { .. } => Some(Access::Read),
        _ => None,
    }
}

/// Differences between a kernel's resource bindings and its binding struct's `SLOTS`.
fn check_bindings(module: &Module, stem: &str, slots: &[(&str, Access)]) -> Vec<String> {
    let mut errs = Vec::new();
    let mut group1: Vec<(u32, String, Option<Access>)> = Vec::new();
    let mut group0 = Vec::new();
    for (_, v) in module.global_variables.iter() {
        let Some(b) = &v.binding else { continue };
        let name = v.name.clone().unwrap_or_default();
        match b.group {
            0 => group0.push((b.binding, name, access_of(v.space), module.types[v.ty].name.clone())),
            1 => group1.push((b.binding, name, access_of(v.space))),
            g => errs.push(format!("shader {stem}: `{name}` is in bind group {g}; kernels use group 0 (the step table) and 1 only")),
        }
    }
    if group0 != [(0, "now".to_string(), Some(Access::Uniform), Some("StepInfo".to_string()))] {
        errs.push(format!("shader {stem}: group 0 must be the step table alone (`now`, a uniform StepInfo), found {group0:?}"));
    }
    group1.sort_by_key(|g| g.0);
    if group1.len() != slots.len() {
        errs.push(format!(
            "shader {stem}: {} group-1 bindings ({:?}) but its binding struct has {} fields ({:?})",
            group1.len(),
            group1.iter().map(|g| &g.1).collect::<Vec<_>>(),
            slots.len(),
            slots.iter().map(|s| s.0).collect::<Vec<_>>()
        ));
    }
    for (k, (b, &(field, access))) in group1.iter().zip(slots).enumerate() {
        if b.0 != k as u32 {
            errs.push(format!("shader {stem}: the {k}-th group-1 binding is number {} (bindings must be 0, 1, 2, ...)", b.0));
        }
        if b.1 != field || b.2 != Some(access) {
            errs.push(format!("shader {stem}: binding {} is `{}` ({:?}) in WGSL but field {k} of the binding struct is `{field}` ({access:?})", b.0, b.1, b.2));
        }
    }
    errs
}

/// The value of module constant `name` as a u32.
fn const_u32(module: &Module, name: &str) -> Option<u32> {
    let (_, c) = module.constants.iter().find(|(_, c)| c.name.as_deref() == Some(name))?;
    match module.global_expressions[c.init] {
        naga::Expression::Literal(naga::Literal::U32(v)) => Some(v),
        naga::Expression::Literal(naga::Literal::I32(v)) => u32::try_from(v).ok(),
        naga::Expression::Literal(naga::Literal::AbstractInt(v)) => u32::try_from(v).ok(),
        _ => None,
    }
}

/// `(shader constant, host value)` pairs that must agree: every constant the two sides share.
fn shared_constants() -> Vec<(&'static str, &'static str, u32)> {
    let kinetic = SynParams::Kinetic(GatingParams::new(&Kinetic { alpha: 1.0, beta: 0.2, t_conc: 1.0, t_dur: 1.0 }, 0.1));
    let model_of = |s: Synapse| SynapseParams::new(&SynParams::new(&s, 0.1), 0.1).model;
    let acc_kind = |kind| {
        let synapse = Synapse::expon();
        let a = AccPlan { neuron: 0, n: 1, synapse, params: SynParams::new(&synapse, 0.1), kind, slot: 0, states: vec![None], scale: 1.0, ring: 1 };
        PostSynapseParams::new(&a, 1, 0.1).kind
    };
    let mut v = vec![("csr_gather", "TILE", kernels::GATHER_TILE as u32), ("csr_gather", "LANES", kernels::GATHER_LANES as u32)];
    for (stem, _) in KERNEL_WGSL {
        v.push((stem, "WG", kernels::WORKGROUP));
    }
    for (name, host, made) in [
        ("MODEL_KINETIC", model::KINETIC, SynapseParams::new(&kinetic, 0.1).model),
        ("MODEL_EXPON", model::EXPON, model_of(Synapse::expon())),
        ("MODEL_DUAL_EXPON", model::DUAL_EXPON, model_of(Synapse::dual_expon())),
        ("MODEL_DUAL_EXPON_V2", model::DUAL_EXPON_V2, model_of(Synapse::dual_expon_v2())),
        ("MODEL_ALPHA", model::ALPHA, model_of(Synapse::alpha())),
        ("MODEL_NMDA", model::NMDA, model_of(Synapse::nmda())),
    ] {
        // the constant, and what SynapseParams::new writes for the model
        assert_eq!(host, made, "uniforms::model::{name} differs from what SynapseParams::new writes");
        v.push(("pre_synapse", name, host));
    }
    for (name, host) in [
        ("MODE_COPY", record_mode::COPY),
        ("MODE_RING", record_mode::RING),
        ("MODE_SPIKE", record_mode::SPIKE),
        ("MODE_STAMP", record_mode::STAMP),
        ("MODE_CURRENT", record_mode::CURRENT),
    ] {
        v.push(("record", name, host));
    }
    let mg = OutputParams::MgBlock { e: 0.0, k: 0.3, alpha: 0.06, v_offset: 0.0 };
    for (name, o) in [("OUTPUT_COBA", OutputParams::Coba { e: 0.0 }), ("OUTPUT_CUBA", OutputParams::Cuba), ("OUTPUT_MG_BLOCK", mg)] {
        v.push(("lif_update", name, SlotOutput::from(&o).kind));
        v.push(("record", name, SlotOutput::from(&o).kind));
    }
    v.push(("post_synapse", "KIND_POST_ALIGNED", acc_kind(AccKind::PostAligned)));
    assert_ne!(acc_kind(AccKind::Aggregate), acc_kind(AccKind::PostAligned), "the aggregate must not read as post-aligned");
    v
}

fn check_constants(modules: &[(&str, Module)], pairs: &[(&str, &str, u32)]) -> Vec<String> {
    let mut errs = Vec::new();
    for &(stem, name, host) in pairs {
        let Some((_, m)) = modules.iter().find(|(s, _)| *s == stem) else {
            errs.push(format!("no shader {stem}"));
            continue;
        };
        match const_u32(m, name) {
            Some(w) if w == host => {}
            Some(w) => errs.push(format!("shader {stem}: {name} = {w}, but the host's value is {host}")),
            None => errs.push(format!("shader {stem}: no integer constant {name}")),
        }
    }
    errs
}

fn assert_none(errs: Vec<String>) {
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

#[test]
fn every_kernel_parses_validates_and_has_main() {
    for (stem, m) in modules() {
        let mut validator = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::default());
        if let Err(e) = validator.validate(&m) {
            let src = KERNEL_WGSL.iter().find(|k| k.0 == stem).unwrap().1;
            panic!("shader {stem}: naga validation failed:\n{}", e.emit_to_string(&full_source(src)));
        }
        let mains: Vec<_> = m.entry_points.iter().filter(|e| e.name == "main" && e.stage == naga::ShaderStage::Compute).collect();
        assert_eq!(mains.len(), 1, "shader {stem}: no compute entry point `main`");
        assert_eq!(mains[0].workgroup_size, [kernels::WORKGROUP, 1, 1], "shader {stem}: workgroup size is not [WORKGROUP, 1, 1]");
    }
}

#[test]
fn every_gpu_struct_matches_its_wgsl_struct() {
    let modules = modules();
    let host = host_structs();
    let mut declared = declared_structs();
    declared.sort();
    let mut listed: Vec<String> = host.iter().map(|h| h.0.to_string()).collect();
    listed.sort();
    assert_eq!(declared, listed, "the gpu_struct! types of uniforms.rs and the ones this test checks differ");
    for h in &host {
        let mut found = 0;
        for (stem, m) in &modules {
            if m.types.iter().any(|(_, t)| t.name.as_deref() == Some(h.0)) {
                found += 1;
                assert_none(check_struct(m, stem, h));
            }
        }
        assert!(found > 0, "no shader declares struct {}", h.0);
    }
    // and every struct the shaders declare has a host mirror (naga's own result types aside)
    for (stem, m) in &modules {
        for (_, t) in m.types.iter() {
            if let (TypeInner::Struct { .. }, Some(name)) = (&t.inner, &t.name) {
                assert!(name.starts_with("__") || host.iter().any(|h| h.0 == name), "shader {stem}: struct {name} has no gpu_struct! mirror");
            }
        }
    }
    assert!(size_of::<StepInfo>() as u64 <= kernels::STEP_STRIDE && kernels::STEP_STRIDE.is_multiple_of(256), "STEP_STRIDE must hold a StepInfo at an offset every adapter accepts");
}

#[test]
fn every_kernels_bindings_are_its_binding_struct() {
    let slots = all_slots();
    let stems: Vec<_> = KERNEL_WGSL.iter().map(|k| k.0).collect();
    let bound: Vec<_> = slots.iter().map(|s| s.0).collect();
    assert_eq!(stems, bound, "every kernel has one binding struct (kernels::all_slots), in KERNEL_WGSL's order");
    for ((stem, m), (_, s)) in modules().iter().zip(&slots) {
        assert_none(check_bindings(m, stem, s));
    }
}

#[test]
fn shared_constants_agree() {
    assert_none(check_constants(&modules(), &shared_constants()));
}

/// Swaps the first occurrences of `a` and `b` in `s`.
fn swap(s: &str, a: &str, b: &str) -> String {
    let (i, j) = (s.find(a).unwrap_or_else(|| panic!("no {a:?}")), s.find(b).unwrap_or_else(|| panic!("no {b:?}")));
    let (first, second, fa, fb) = if i < j { (i, j, a, b) } else { (j, i, b, a) };
    format!("{}{}{}{}{}", &s[..first], fb, &s[first + fa.len()..second], fa, &s[second + fb.len()..])
}

#[test]
fn the_checks_catch_swapped_bindings() {
    for ((stem, src), (_, slots)) in KERNEL_WGSL.iter().zip(all_slots()) {
        // two bindings swapped in the shader
        let broken = swap(src, "@group(1) @binding(1)", "@group(1) @binding(2)");
        assert!(!check_bindings(&parse(stem, &broken), stem, slots).is_empty(), "shader {stem}: swapping bindings 1 and 2 went unnoticed");
        // two fields swapped in the binding struct
        let mut swapped = slots.to_vec();
        swapped.swap(1, 2);
        assert!(!check_bindings(&parse(stem, src), stem, &swapped).is_empty(), "shader {stem}: swapping slots 1 and 2 went unnoticed");
        // an access changed
        let mut changed = slots.to_vec();
        let last = changed.len() - 1;
        changed[last].1 = Access::Read;
        assert!(!check_bindings(&parse(stem, src), stem, &changed).is_empty(), "shader {stem}: a read_write binding declared read went unnoticed");
    }
}

#[test]
fn the_checks_catch_swapped_struct_members() {
    let modules = modules();
    for h in host_structs() {
        let (stem, src) = KERNEL_WGSL.iter().find(|(_, s)| parse("", s).types.iter().any(|(_, t)| t.name.as_deref() == Some(h.0))).copied().unwrap();
        // two members swapped in the WGSL struct: its first two member lines
        let full = full_source(src);
        let start = full.find(&format!("struct {} {{", h.0)).unwrap();
        let body = &full[start..];
        let lines: Vec<&str> = body.lines().skip(1).take(2).collect();
        let broken = format!("{}{}", &full[..start], swap(body, lines[0], lines[1]));
        let m = naga::front::wgsl::parse_str(&broken).unwrap_or_else(|e| panic!("{}: {}", h.0, e.emit_to_string(&broken)));
        assert!(!check_struct(&m, stem, &h).is_empty(), "struct {}: swapping its first two WGSL members went unnoticed", h.0);
        // two fields swapped in the host mirror
        let (_, m) = modules.iter().find(|(s, _)| *s == stem).unwrap();
        let mut fields = h.1.clone();
        let (a, b) = (fields[0].0, fields[1].0);
        (fields[0].0, fields[1].0) = (b, a);
        assert!(!check_struct(m, stem, &(h.0, fields, h.2)).is_empty(), "struct {}: swapping its first two host fields went unnoticed", h.0);
        // a field missing on the host
        let fewer = (h.0, h.1[..h.1.len() - 1].to_vec(), h.2);
        assert!(!check_struct(m, stem, &fewer).is_empty(), "struct {}: a missing host field went unnoticed", h.0);
    }
}

#[test]
fn the_checks_catch_a_changed_constant() {
    let src = KERNEL_WGSL.iter().find(|k| k.0 == "csr_gather").unwrap().1;
    let broken = vec![("csr_gather", parse("csr_gather", &src.replace("const TILE: u32 = 8u;", "const TILE: u32 = 4u;")))];
    assert!(!check_constants(&broken, &[("csr_gather", "TILE", kernels::GATHER_TILE as u32)]).is_empty(), "a changed TILE went unnoticed");
    let pairs: Vec<_> = shared_constants().into_iter().map(|(s, n, v)| (s, n, v + 1)).collect();
    let errs = check_constants(&modules(), &pairs);
    assert_eq!(errs.len(), pairs.len(), "every shifted host constant must be reported: {errs:?}");
}
