//! CPU twin of `shaders/pre_synapse.wgsl`: one step of a pre-aligned synapse group (one state
//! per pre neuron and batch row), which takes this step's spikes of its pre population and writes
//! its output into the group's history ring (which is also its delay line; SEMANTICS 3, 4,
//! SEMANTICS-models 2).
//!
//! Storage: `ring` holds `history` slots of `width` outputs (slot `step % history`); for every
//! model but DualExponV2 the output *is* the state g, so the old g is read from the previous
//! slot. `states` holds the other states, `width` values each, in the order of
//! [`crate::plan::GroupPlan::states`] (AMPA/GABAa: the spike arrival time; DualExpon, Alpha: h;
//! NMDA: x; DualExponV2: g_rise, g_decay).

use super::synapse;
use crate::plan::SynParams;

/// The ring slots a group reads and writes at `step`: the previous value (none at step 0, when
/// the initial state 0 applies) and the new one.
pub fn ring_slots(step: u32, history: u32) -> (Option<u32>, u32) {
    let old = (step > 0).then(|| (step - 1) % history);
    (old, step % history)
}

/// Updates `width` variables (`batch * n`). `spiked(idx)` says whether pre neuron `idx % n` of
/// row `idx / n` spiked this step. `window` (AMPA/GABAa in event mode) receives, per ring slot
/// like `ring`, 1 for the variables inside their transmitter window.
#[allow(clippy::too_many_arguments)] // one argument per binding of the shader twin
pub fn pre_synapse(
    p: &SynParams,
    dt: f32,
    step: u32,
    t: f32,
    width: usize,
    history: u32,
    spiked: impl Fn(usize) -> bool,
    ring: &mut [f32],
    states: &mut [f32],
    mut window: Option<&mut [u32]>,
) {
    let (old, new) = ring_slots(step, history);
    let new = new as usize * width;
    for idx in 0..width {
        let s = spiked(idx);
        let x = if s { 1.0 } else { 0.0 };
        let g = old.map_or(0.0, |o| ring[o as usize * width + idx]);
        let out = match p {
            SynParams::Kinetic(k) => {
                if s {
                    states[idx] = t;
                }
                // strict <, on the rounded f32 difference (SEMANTICS section 3)
                let on = (t - states[idx]) < k.t_dur;
                if let Some(w) = window.as_deref_mut() {
                    w[new + idx] = on as u32;
                }
                synapse::kinetic(k, on, g)
            }
            SynParams::Expon(d) => synapse::expon(d, g, x),
            SynParams::DualExpon { d, r, a } => {
                let (g, h) = synapse::dual_expon(d, r, *a, g, states[idx], x);
                states[idx] = h;
                g
            }
            SynParams::Alpha(d) => {
                let (g, h) = synapse::alpha(d, g, states[idx], x);
                states[idx] = h;
                g
            }
            SynParams::Nmda { a, r_d, x: xd } => {
                let (g, xs) = synapse::nmda(*a, *r_d, xd, dt, g, states[idx], x);
                states[idx] = xs;
                g
            }
            SynParams::DualExponV2 { d, r, a } => {
                let rise = synapse::expon(r, states[idx], x);
                let decay = synapse::expon(d, states[width + idx], x);
                states[idx] = rise;
                states[width + idx] = decay;
                a * (decay - rise)
            }
        };
        ring[new + idx] = out;
    }
}
