//! CPU twin of `shaders/event_scatter.wgsl`: the AMPA/GABAa event-mode increments of one
//! projection.
//!
//! Outside its transmitter window a gating variable only decays, `x <- x * d` with one
//! `d = exp(-beta dt)` per group, so `y(t) = d y(t-1) + sum_i w_ij (x_i(t) - d x_i(t-1))` and
//! only the pre neurons that were inside their window contribute. The recurrence is a
//! contraction (`d < 1`), so rounding error stays bounded over any run length. What it leaves
//! out is the rounding of the decay itself (`x (1 - beta dt phi)` against `d x`), a few ulp of
//! `x` per variable and step, also damped by `d`.
//!
//! The increments are rounded to multiples of `1/scale` and summed as integers
//! ([`crate::plan::event_scale`]): integer sums do not depend on the order of the additions, so
//! the GPU, which adds them with atomics in no fixed order, gets the same sums.

use crate::plan::PlanWeights;

/// One increment in fixed point (`round(w * delta * scale)`, ties to even as WGSL's `round`).
#[inline]
pub fn fixed(w: f32, delta: f32, scale: f32) -> i32 {
    (w * delta * scale).round_ties_even() as i32
}

/// For every pre variable `idx` (flat `b * n_pre + i`) flagged in `window` (inside its window at
/// the read step), adds its increments into `acc` (`batch` rows of `n_post`). `x_now` and
/// `x_prev` are the gating values of the read step and the step before it (`None`: before the
/// run, 0). Pre-major CSR (`indptr` over pre neurons).
#[allow(clippy::too_many_arguments)] // one argument per binding of the shader twin
pub fn event_scatter(
    indptr: &[u32],
    indices: &[u32],
    weights: &PlanWeights,
    decay: f32,
    scale: f32,
    x_now: &[f32],
    x_prev: Option<&[f32]>,
    window: &[u32],
    n_pre: usize,
    n_post: usize,
    acc: &mut [i32],
) {
    for idx in 0..x_now.len() {
        if window[idx] == 0 {
            continue;
        }
        let (b, i) = (idx / n_pre, idx % n_pre);
        let delta = x_now[idx] - decay * x_prev.map_or(0.0, |x| x[idx]);
        for e in indptr[i] as usize..indptr[i + 1] as usize {
            let w = match weights {
                PlanWeights::Shared(w) => *w,
                PlanWeights::PerSynapse(w) => w[e],
            };
            let o = &mut acc[b * n_post + indices[e] as usize];
            *o = o.wrapping_add(fixed(w, delta, scale));
        }
    }
}
