//! CPU twin of `shaders/event_scatter.wgsl` and `shaders/event_finalize.wgsl`: the exact
//! event-driven update of a projection's post conductance.
//!
//! Outside its transmitter window a gating variable only decays, `x <- x * d` with one
//! `d = exp(-beta dt)` per group, so `y(t) = d y(t-1) + sum_i w_ij (x_i(t) - d x_i(t-1))` and
//! only the pre neurons that were inside their window contribute. The recurrence is a
//! contraction (`d < 1`), so rounding error stays bounded over any run length. What it leaves
//! out is the rounding of the decay itself (`x (1 - beta dt phi)` against `d x`), a few ulp of
//! `x` per variable and step, also damped by `d`.
//!
//! The increments are rounded to multiples of `1/scale` and summed as integers
//! ([`crate::model::plan::event_scale`]): integer sums do not depend on the order of the
//! additions, so the GPU, which adds them with atomics in no fixed order, gets the same sums.

use super::columns::{ColIndex, Columns};
use crate::model::plan::PlanWeights;

/// One increment in fixed point (`round(w * delta * scale)`, ties to even as WGSL's `round`).
#[inline]
pub fn fixed(w: f32, delta: f32, scale: f32) -> i32 {
    (w * delta * scale).round_ties_even() as i32
}

/// The scatter: for every variable in `active` (flat `b * n_pre + i`, inside its window at the
/// read step), adds its increments into `acc` (`batch` rows of `n_post`). `x_now` and `x_prev`
/// are the gating values of the read step and the step before it (`None`: before the run, 0).
/// Pre-major CSR (`indptr` over pre neurons).
#[allow(clippy::too_many_arguments)] // one argument per binding of the shader twin
#[multiversion::multiversion(targets = "simd")] // an instruction for `round_ties_even`, not a libm call
pub fn event_scatter<I: ColIndex>(
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
                let q = fixed(*w, delta, scale);
                for &j in &indices[start..end] {
                    add(j, q);
                }
            }
            PlanWeights::PerSynapse(w) => {
                for e in start..end {
                    add(indices[e], fixed(w[e], delta, scale));
                }
            }
        }
    }
}

/// The finalize: `y = d y + acc / scale`, and `acc` back to 0 for the next step.
#[multiversion::multiversion(targets = "simd")] // wider vectors where the CPU has them: same bits
pub fn event_finalize(decay: f32, inv_scale: f32, acc: &mut [i32], y: &mut [f32]) {
    for (y, a) in y.iter_mut().zip(acc.iter_mut()) {
        *y = decay * *y + (*a as f32) * inv_scale;
        *a = 0;
    }
}
