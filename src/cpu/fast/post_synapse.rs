//! The engine's accumulator-fed synapse update: [`crate::cpu::reference::post_synapse`] with the
//! model chosen once per call instead of once per variable, over contiguous slices, so each
//! loop vectorizes; tested bit-identical to the reference.

use crate::plan::{AccKind, Decay, SynParams};

/// `y = acc * inv_scale` for every variable, `acc` cleared.
#[inline(always)]
fn take(acc: &mut i32, inv_scale: f32) -> f32 {
    let y = *acc as f32 * inv_scale;
    *acc = 0;
    y
}

/// One post-aligned Expon state: `g = decay(g + acc * inv_scale)`, `acc` cleared; returns the
/// new `g` (the conductance its slot binds). The LIF update runs it inside its own loop where
/// it can (`super::lif::ExponSlot`): one arithmetic for both.
#[inline(always)]
pub fn expon_post(d: &Decay, inv_scale: f32, g: &mut f32, acc: &mut i32) -> f32 {
    *g = d.step(*g + take(acc, inv_scale));
    *g
}

/// [`crate::cpu::reference::post_synapse::post_synapse`] on one range of the post neurons:
/// `acc`, `slot` and the state arrays `first` and `second` (empty for one-state models) are
/// that range's items of each.
#[allow(clippy::too_many_arguments)] // one argument per buffer, as the shader's bindings
#[multiversion::multiversion(targets = "simd")] // wider vectors where the CPU has them: same bits
pub fn post_synapse(p: &SynParams, kind: AccKind, inv_scale: f32, acc: &mut [i32], first: &mut [f32], second: &mut [f32], slot: &mut [f32]) {
    let n = acc.len();
    let (first, slot) = (&mut first[..n], &mut slot[..n]);
    match (p, kind) {
        (SynParams::Expon(d), AccKind::PostAligned) => {
            for ((g, a), o) in first.iter_mut().zip(acc.iter_mut()).zip(slot.iter_mut()) {
                *o = expon_post(d, inv_scale, g, a);
            }
        }
        (SynParams::Expon(d), AccKind::Aggregate) => {
            for ((g, a), o) in first.iter_mut().zip(acc.iter_mut()).zip(slot.iter_mut()) {
                *g = d.step(*g) + take(a, inv_scale);
                *o = *g;
            }
        }
        (SynParams::DualExponV2 { d, r, a: amp }, kind) => {
            let post = kind == AccKind::PostAligned;
            dual_v2(d, r, *amp, post, inv_scale, acc, first, second, slot);
        }
        (SynParams::DualExpon { d, r, a: h_in }, AccKind::Aggregate) => {
            for (((g, h), a), o) in first.iter_mut().zip(second.iter_mut()).zip(acc.iter_mut()).zip(slot.iter_mut()) {
                let y = take(a, inv_scale);
                let (g_new, h_new) = crate::cpu::reference::synapse::dual_expon(d, r, *h_in, *g, *h, y);
                (*g, *h, *o) = (g_new, h_new, g_new);
            }
        }
        (SynParams::Alpha(d), AccKind::Aggregate) => {
            for (((g, h), a), o) in first.iter_mut().zip(second.iter_mut()).zip(acc.iter_mut()).zip(slot.iter_mut()) {
                let y = take(a, inv_scale);
                let (g_new, h_new) = crate::cpu::reference::synapse::alpha(d, *g, *h, y);
                (*g, *h, *o) = (g_new, h_new, g_new);
            }
        }
        _ => unreachable!("the plan makes accumulators of linear models only, aligned post for expon and dual_expon_v2"),
    }
}

/// DualExponV2: `g_rise` in `rise`, `g_decay` in `decay`, output `amp (g_decay - g_rise)`.
#[allow(clippy::too_many_arguments)] // the two states, their decays, and the output
#[inline(always)]
fn dual_v2(d: &Decay, r: &Decay, amp: f32, post: bool, inv_scale: f32, acc: &mut [i32], rise: &mut [f32], decay: &mut [f32], slot: &mut [f32]) {
    for (((gr, gd), a), o) in rise.iter_mut().zip(decay.iter_mut()).zip(acc.iter_mut()).zip(slot.iter_mut()) {
        let y = take(a, inv_scale);
        if post {
            *gr = r.step(*gr + y);
            *gd = d.step(*gd + y);
        } else {
            *gr = r.step(*gr) + y;
            *gd = d.step(*gd) + y;
        }
        *o = amp * (*gd - *gr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::reference;
    use crate::model::Synapse;
    use rand::{Rng, SeedableRng};

    /// Every (model, kind) the plan makes gives the reference's bits.
    #[test]
    fn post_synapse_is_bit_identical_to_the_reference() {
        let seed: u64 = rand::random();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let cases = [
            (Synapse::Expon { tau: 5.0 }, AccKind::PostAligned, 1),
            (Synapse::Expon { tau: 7.0 }, AccKind::Aggregate, 1),
            (Synapse::DualExponV2 { tau_decay: 5.0, tau_rise: 1.0, a: None }, AccKind::PostAligned, 2),
            (Synapse::DualExponV2 { tau_decay: 9.0, tau_rise: 2.0, a: Some(3.0) }, AccKind::Aggregate, 2),
            (Synapse::DualExpon { tau_decay: 10.0, tau_rise: 1.0, a: None }, AccKind::Aggregate, 2),
            (Synapse::Alpha { tau_decay: 4.0 }, AccKind::Aggregate, 2),
        ];
        for (syn, kind, nstates) in cases {
            let p = SynParams::new(&syn, 0.1);
            for width in [1usize, 7, 64, 1001] {
                let mut states_a: Vec<f32> = (0..nstates * width).map(|_| rng.random_range(0.0f32..3.0)).collect();
                let mut states_b = states_a.clone();
                for _ in 0..20 {
                    let acc: Vec<i32> = (0..width).map(|_| if rng.random_bool(0.3) { rng.random_range(0..1 << 20) } else { 0 }).collect();
                    let (mut acc_a, mut acc_b) = (acc.clone(), acc);
                    let (mut out_a, mut out_b) = (vec![f32::NAN; width], vec![f32::NAN; width]);
                    reference::post_synapse::post_synapse(&p, kind, 1.0 / 65536.0, width, &mut acc_a, &mut states_a, &mut out_a);
                    let (first, second) = states_b.split_at_mut(width);
                    post_synapse(&p, kind, 1.0 / 65536.0, &mut acc_b, first, second, &mut out_b);
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&out_a), bits(&out_b), "seed {seed}: {syn:?} {kind:?} width {width}: output");
                    assert_eq!(bits(&states_a), bits(&states_b), "seed {seed}: {syn:?} {kind:?} width {width}: states");
                    assert_eq!(acc_a, acc_b, "seed {seed}: accumulator not cleared alike");
                }
            }
        }
    }
}
