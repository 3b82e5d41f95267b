//! CPU twin of `shaders/shared/output.wgsl`: how one input slot's conductance becomes current
//! (BrainPy's `COBA`, `CUBA`, `MgBlock`; SEMANTICS-models 2.8). Shared by the neuron update
//! (old V) and the current monitors (new V).

use crate::plan::OutputParams;

/// The current of conductance `g` at membrane potential `v`.
#[inline(always)]
pub fn current(o: &OutputParams, g: f32, v: f32) -> f32 {
    match *o {
        OutputParams::Coba { e } => g * (e - v),
        OutputParams::Cuba => g,
        // the product is rounded, then divided by the block (as BrainPy computes it)
        OutputParams::MgBlock { e, k, alpha, v_offset } => g * (e - v) / (1.0 + k * super::math::exp(alpha * (v_offset - v))),
    }
}

/// `init + o_1(v) + o_2(v) + ...` over `slots` (each `width` values of `gsyn`), summed left to
/// right in registration order as BrainPy's `sum_current_inputs(v, init)` does.
#[inline(always)]
pub fn sum(outputs: &[OutputParams], gsyn: &[f32], width: usize, idx: usize, init: f32, v: f32) -> f32 {
    let mut i = init;
    for (k, o) in outputs.iter().enumerate() {
        i += current(o, gsyn[k * width + idx], v);
    }
    i
}
