//! CPU twin of `shaders/post_synapse.wgsl`: one step of a state per post neuron fed by a
//! fixed-point accumulator ([`super::spike_scatter`]), which binds its conductance into its
//! neuron input slot and clears the accumulator.
//!
//! A post-aligned synapse (BrainPy's `ProjAlignPostMg2`) adds the projections' input and then
//! decays (`g = decay(g + y)`, SEMANTICS-models 2.2); the event-mode aggregate `W^T x` of a
//! linear pre-aligned synapse follows the pre side's order, decay then input (`Y = decay(Y) +
//! W^T s`), which is exact because the model is linear. `states` holds the accumulator's states
//! ([`crate::plan::AccPlan::states`]), `width` values each.

use super::synapse;
use crate::plan::{AccKind, SynParams};

/// Updates `width` post variables from `acc` (scaled by `inv_scale`) and writes the conductance
/// into `slot` (`width` values).
pub fn post_synapse(p: &SynParams, kind: AccKind, inv_scale: f32, width: usize, acc: &mut [i32], states: &mut [f32], slot: &mut [f32]) {
    for idx in 0..width {
        let y = acc[idx] as f32 * inv_scale;
        acc[idx] = 0;
        let out = match (p, kind) {
            (SynParams::Expon(d), AccKind::PostAligned) => {
                let g = d.step(states[idx] + y);
                states[idx] = g;
                g
            }
            (SynParams::DualExponV2 { d, r, a }, AccKind::PostAligned) => {
                let rise = r.step(states[idx] + y);
                let decay = d.step(states[width + idx] + y);
                states[idx] = rise;
                states[width + idx] = decay;
                a * (decay - rise)
            }
            (SynParams::Expon(d), AccKind::Aggregate) => {
                let g = synapse::expon(d, states[idx], y);
                states[idx] = g;
                g
            }
            (SynParams::DualExponV2 { d, r, a }, AccKind::Aggregate) => {
                let rise = synapse::expon(r, states[idx], y);
                let decay = synapse::expon(d, states[width + idx], y);
                states[idx] = rise;
                states[width + idx] = decay;
                a * (decay - rise)
            }
            (SynParams::DualExpon { d, r, a }, AccKind::Aggregate) => {
                let (g, h) = synapse::dual_expon(d, r, *a, states[idx], states[width + idx], y);
                states[idx] = g;
                states[width + idx] = h;
                g
            }
            (SynParams::Alpha(d), AccKind::Aggregate) => {
                let (g, h) = synapse::alpha(d, states[idx], states[width + idx], y);
                states[idx] = g;
                states[width + idx] = h;
                g
            }
            _ => unreachable!("the plan makes accumulators of linear models only, aligned post for expon and dual_expon_v2"),
        };
        slot[idx] = out;
    }
}
