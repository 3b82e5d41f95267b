//! The exact event-driven update of a projection's post conductance (CPU engine; the GPU
//! engine runs the dense `csr_gather` only, for now).
//!
//! Outside its transmitter window a gating variable only decays, `x <- x * d` with one
//! `d = exp(-beta dt)` per group, so `y(t) = d y(t-1) + sum_i w_ij (x_i(t) - d x_i(t-1))` and
//! only the pre neurons that were inside their window contribute. The recurrence is a
//! contraction (`d < 1`), so rounding error stays bounded over any run length. What it leaves
//! out is the rounding of the decay itself (`x (1 - beta dt phi)` against `d x`), a few ulp of
//! `x` per variable and step, also damped by `d`.

use crate::model::plan::PlanWeights;

/// `y` holds `batch` rows of `n_post` from the last step and becomes this step's. `x_now` and
/// `x_prev` are the gating values (`batch` rows of `n_pre`) of the read step and the step
/// before it (`None`: before the run, 0); `active` the flat indices (`b * n_pre + i`) updated
/// inside their window at the read step. Pre-major CSR (`indptr` over pre neurons).
#[allow(clippy::too_many_arguments)] // one argument per piece of state, as the dense twin
pub fn event_update(
    indptr: &[u32],
    indices: &[u32],
    weights: &PlanWeights,
    decay: f32,
    x_now: Option<&[f32]>,
    x_prev: Option<&[f32]>,
    active: &[u32],
    n_pre: usize,
    y: &mut [f32],
) {
    let n_post = y.len() / (x_now.map_or(1, |x| x.len() / n_pre.max(1))).max(1);
    for v in y.iter_mut() {
        *v *= decay;
    }
    let Some(x_now) = x_now else { return };
    for &idx in active {
        let idx = idx as usize;
        let (b, i) = (idx / n_pre, idx % n_pre);
        let delta = x_now[idx] - decay * x_prev.map_or(0.0, |x| x[idx]);
        let out = &mut y[b * n_post..(b + 1) * n_post];
        let (start, end) = (indptr[i] as usize, indptr[i + 1] as usize);
        match weights {
            PlanWeights::Shared(w) => {
                let wd = w * delta;
                for &j in &indices[start..end] {
                    out[j as usize] += wd;
                }
            }
            PlanWeights::PerSynapse(w) => {
                for e in start..end {
                    out[indices[e] as usize] += w[e] * delta;
                }
            }
        }
    }
}
