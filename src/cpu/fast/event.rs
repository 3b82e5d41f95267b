//! The engine's spike-driven scatters, over lists of the active pre variables instead of a flag
//! per variable, with column indices checked once ([`Columns`]): the same integer sums as the
//! reference twins [`crate::cpu::reference::event_scatter`] and
//! [`crate::cpu::reference::spike_scatter`] (integer addition is associative, so the order of the
//! list does not matter), tested equal to them below.

use super::columns::{ColIndex, Columns};
use crate::cpu::reference::{event_scatter::fixed as fixed_delta, spike_scatter::{fixed, Delivery}};
use crate::plan::PlanWeights;
use rayon::prelude::*;

/// [`crate::cpu::reference::event_scatter::event_scatter`] over `active`, the variables (flat
/// `b * n_pre + i`) inside their window at the read step.
#[allow(clippy::too_many_arguments)] // one argument per binding of the shader twin
#[multiversion::multiversion(targets = "simd")] // an instruction for `round_ties_even`, not a libm call
pub fn window_scatter<I: ColIndex>(
    indptr: &[u32],
    cols: &Columns<I>,
    weights: &PlanWeights,
    decay: f32,
    scale: f32,
    x_now: &[f32],
    x_prev: Option<&[f32]>,
    active: &[u32],
    n_pre: usize,
    n_post: usize,
    acc: &mut [i32],
) {
    let indices = cols.as_slice();
    // what makes the unchecked additions below sound
    assert!(cols.bound() <= n_post, "columns up to {} but {n_post} post neurons", cols.bound());
    for &idx in active {
        let idx = idx as usize;
        let (b, i) = (idx / n_pre, idx % n_pre);
        let delta = x_now[idx] - decay * x_prev.map_or(0.0, |x| x[idx]);
        let out = &mut acc[b * n_post..(b + 1) * n_post];
        // SAFETY: every index is below `cols.bound()` (`Columns::new`), at most `out.len()`.
        let mut add = |j: I, q: i32| unsafe {
            let o = out.get_unchecked_mut(j.at());
            *o = o.wrapping_add(q);
        };
        let (start, end) = (indptr[i] as usize, indptr[i + 1] as usize);
        match weights {
            PlanWeights::Shared(w) => {
                let q = fixed_delta(*w, delta, scale);
                for &j in &indices[start..end] {
                    add(j, q);
                }
            }
            PlanWeights::PerSynapse(w) => {
                for e in start..end {
                    add(indices[e], fixed_delta(w[e], delta, scale));
                }
            }
        }
    }
}

/// A scatter's weights in fixed point, rounded once when the engine is built rather than once
/// per synapse and spike (`round_ties_even` is a libm call on baseline x86-64: it was 7% of the
/// microcircuit's step).
#[derive(Clone, Debug, PartialEq)]
pub enum FixedWeights {
    /// One weight.
    Shared(i32),
    /// One per synapse, in the matrix's order.
    PerSynapse(Vec<i32>),
}

impl FixedWeights {
    /// `weights` at `scale`, as [`fixed`] rounds them.
    pub fn new(weights: &PlanWeights, scale: f32) -> FixedWeights {
        match weights {
            PlanWeights::Shared(w) => FixedWeights::Shared(fixed(*w, scale)),
            PlanWeights::PerSynapse(w) => FixedWeights::PerSynapse(w.par_iter().map(|&x| fixed(x, scale)).collect()),
        }
    }
}

/// [`crate::cpu::reference::spike_scatter::spike_scatter`] over `spiked`, the variables (flat
/// `b * n_pre + i`) that spiked at the read step; `acc` holds `to.ring` slots of `batch *
/// n_post` (`batch` = the largest `b` + 1 the caller's variables can have).
#[allow(clippy::too_many_arguments)] // one argument per binding of the shader twin
pub fn spike_scatter<I: ColIndex>(
    indptr: &[u32],
    cols: &Columns<I>,
    weights: &FixedWeights,
    spiked: &[u32],
    n_pre: usize,
    n_post: usize,
    to: Delivery,
    acc: &mut [i32],
) {
    let indices = cols.as_slice();
    assert!(cols.bound() <= n_post, "columns up to {} but {n_post} post neurons", cols.bound());
    assert_eq!(acc.len() % (to.ring * n_post), 0, "the accumulator holds whole slots");
    let slot_len = acc.len() / to.ring;
    for &idx in spiked {
        let idx = idx as usize;
        let (b, i) = (idx / n_pre, idx % n_pre);
        let (start, end) = (indptr[i] as usize, indptr[i + 1] as usize);
        match to.lags {
            None => {
                let base = (to.step % to.ring) * slot_len;
                let out = &mut acc[base + b * n_post..base + (b + 1) * n_post];
                // SAFETY: every index is below `cols.bound()` (`Columns::new`), at most `out.len()`.
                let mut add = |j: I, q: i32| unsafe {
                    let o = out.get_unchecked_mut(j.at());
                    *o = o.wrapping_add(q);
                };
                match weights {
                    FixedWeights::Shared(q) => indices[start..end].iter().for_each(|&j| add(j, *q)),
                    FixedWeights::PerSynapse(q) => indices[start..end].iter().zip(&q[start..end]).for_each(|(&j, &q)| add(j, q)),
                }
            }
            Some(lags) => {
                // no division per synapse: the slot is `now + lag`, wrapped once (lag < ring)
                let now = to.step % to.ring;
                let row = b * n_post;
                let mut add = |j: I, lag: u16, q: i32| {
                    let lag = lag as usize;
                    debug_assert!(lag < to.ring, "the plan sizes the ring past every lag");
                    let slot = if now + lag >= to.ring { now + lag - to.ring } else { now + lag };
                    let o = &mut acc[slot * slot_len + row + j.at()];
                    *o = o.wrapping_add(q);
                };
                let (cols, lags) = (&indices[start..end], &lags[start..end]);
                match weights {
                    FixedWeights::Shared(q) => cols.iter().zip(lags).for_each(|(&j, &l)| add(j, l, *q)),
                    FixedWeights::PerSynapse(q) => cols.iter().zip(lags).zip(&q[start..end]).for_each(|((&j, &l), &q)| add(j, l, q)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::reference;
    use rand::{Rng, SeedableRng};

    fn random_pre_major(rng: &mut impl Rng, n_pre: usize, n_post: usize) -> (Vec<u32>, Vec<u32>) {
        let mut indptr = vec![0u32];
        let mut indices = Vec::new();
        for _ in 0..n_pre {
            let k = rng.random_range(0..12);
            indices.extend((0..k).map(|_| rng.random_range(0..n_post as u32)));
            indptr.push(indices.len() as u32);
        }
        (indptr, indices)
    }

    /// The list-driven scatters give the flag-driven reference's integers, for both weight
    /// kinds, batches, and multapses.
    #[test]
    fn list_scatters_equal_their_reference() {
        let seed: u64 = rand::random();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for _ in 0..30 {
            let (n_pre, n_post, batch) = (rng.random_range(1..90), rng.random_range(1..70), rng.random_range(1..4));
            let (indptr, indices) = random_pre_major(&mut rng, n_pre, n_post);
            let cols = Columns::new(indices.clone(), n_post);
            let per: Vec<f32> = (0..indices.len()).map(|_| rng.random_range(-1.0f32..2.0)).collect();
            for weights in [PlanWeights::Shared(rng.random_range(0.01f32..3.0)), PlanWeights::PerSynapse(per.clone())] {
                let width = batch * n_pre;
                let flags: Vec<u32> = (0..width).map(|_| rng.random_bool(0.2) as u32).collect();
                let list: Vec<u32> = (0..width as u32).filter(|&i| flags[i as usize] != 0).rev().collect();
                // spikes: a ring of 3 slots, read step 7
                let (slots, step) = (3, 7);
                let mut stamps = vec![u32::MAX; slots * width];
                for &i in &list {
                    stamps[(step % slots) * width + i as usize] = step as u32;
                }
                // into an accumulator ring of 1 to 5 slots, without lags and with random ones
                let acc_ring = rng.random_range(1..6);
                let lags: Vec<u16> = (0..indices.len()).map(|_| rng.random_range(0..acc_ring as u16)).collect();
                for lagged in [None, Some(&lags[..])] {
                    let to = reference::spike_scatter::Delivery { lags: lagged, ring: acc_ring, step: rng.random_range(0..20) };
                    let (mut want, mut got) = (vec![0i32; acc_ring * batch * n_post], vec![0i32; acc_ring * batch * n_post]);
                    reference::spike_scatter::spike_scatter(&indptr, &indices, &weights, 4096.0, &stamps, 3, 7, n_pre, batch, n_post, to, &mut want);
                    spike_scatter(&indptr, &cols, &FixedWeights::new(&weights, 4096.0), &list, n_pre, n_post, to, &mut got);
                    assert_eq!(got, want, "seed {seed}: spike scatter, {to:?}");
                }
                // window increments
                let x: Vec<f32> = (0..width).map(|_| rng.random::<f32>()).collect();
                let xp: Vec<f32> = (0..width).map(|_| rng.random::<f32>()).collect();
                let (mut want, mut got) = (vec![0i32; batch * n_post], vec![0i32; batch * n_post]);
                reference::event_scatter::event_scatter(&indptr, &indices, &weights, 0.98, 1e6, &x, Some(&xp), &flags, n_pre, n_post, &mut want);
                window_scatter(&indptr, &cols, &weights, 0.98, 1e6, &x, Some(&xp), &list, n_pre, n_post, &mut got);
                assert_eq!(got, want, "seed {seed}: window scatter");
            }
        }
    }
}
