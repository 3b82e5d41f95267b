//! CPU twin of `shaders/gating.wgsl`: the AMPA/GABAa gating state of one group, one step, in
//! BrainPy's `exp_auto` form, written into the group's history ring (which is also the delay).

use crate::model::plan::GatingParams;

/// The ring slots a group reads and writes at `step`: the previous value (none at step 0, when
/// the initial state 0 applies) and the new one.
pub fn ring_slots(step: u32, history: u32) -> (Option<u32>, u32) {
    let old = (step > 0).then(|| (step - 1) % history);
    (old, step % history)
}

/// Updates `batch * n` gating variables. `spiked(idx)` says whether pre neuron `idx % n` of
/// row `idx / n` spiked this step; `sat` is the last spike arrival time; `hist` the ring of
/// `history` slots of `batch * n` values. When `active` is given (the event-driven update), the
/// indices updated inside their transmitter window are appended to it: every other variable
/// only decayed.
#[allow(clippy::too_many_arguments)] // one argument per binding of the shader twin
pub fn gating(
    p: &GatingParams,
    step: u32,
    t: f32,
    width: usize,
    history: u32,
    spiked: impl Fn(usize) -> bool,
    sat: &mut [f32],
    hist: &mut [f32],
    mut active: Option<&mut Vec<u32>>,
) {
    let (old, new) = ring_slots(step, history);
    for idx in 0..width {
        if spiked(idx) {
            sat[idx] = t;
        }
        // strict <, on the rounded f32 difference (SEMANTICS section 3)
        let on = (t - sat[idx]) < p.t_dur;
        if on {
            if let Some(a) = active.as_deref_mut() {
                a.push(idx as u32);
            }
        }
        let g = old.map_or(0.0, |o| hist[o as usize * width + idx]);
        let (alpha_t, dt_phi) = if on { (p.alpha_t, p.dt_phi_on) } else { (0.0, p.dt_phi_off) };
        let f = alpha_t * (1.0 - g) - p.beta * g;
        hist[new as usize * width + idx] = g + dt_phi * f;
    }
}
