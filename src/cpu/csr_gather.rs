//! CPU twin of `shaders/csr_gather.wgsl`: the post conductance of one projection as a
//! post-major gather, `y[b, j] = sum over synapses (i -> j) of w * x[b, i]`.
//!
//! Terms are added in pre order, the order in which BrainPy's pre-major scatter adds them, and
//! each term is rounded as `w * x` first, as BrainPy's `wsp = w * x[i]` is. Each output is summed
//! by one thread start to end, so splitting rows over threads changes no bit of the result.

use crate::model::plan::PlanWeights;
use rayon::prelude::*;

/// Below this many synapse reads per step, threads cost more than they save.
const PARALLEL_MIN_WORK: usize = 1 << 15;

/// Post rows per parallel task: large enough to amortise scheduling, small enough to balance.
const ROWS_PER_TASK: usize = 512;

/// `x` is the (delayed) gating state, `batch` rows of `n_pre`; `None` before the delay has
/// filled (the state is then its initial 0). `y` is `batch` rows of `n_post`.
pub fn csr_gather(indptr: &[u32], indices: &[u32], weights: &PlanWeights, x: Option<&[f32]>, n_pre: usize, y: &mut [f32]) {
    let n_post = indptr.len() - 1;
    let Some(x) = x else {
        y.fill(0.0);
        return;
    };
    let work = indices.len() * (y.len() / n_post.max(1));
    let rows = |b: usize, c: usize, out: &mut [f32]| {
        gather_rows(indptr, indices, weights, &x[b * n_pre..(b + 1) * n_pre], c * ROWS_PER_TASK, out)
    };
    if work >= PARALLEL_MIN_WORK {
        y.par_chunks_mut(n_post).enumerate().for_each(|(b, row)| {
            row.par_chunks_mut(ROWS_PER_TASK).enumerate().for_each(|(c, out)| rows(b, c, out));
        });
    } else {
        for (b, row) in y.chunks_mut(n_post).enumerate() {
            for (c, out) in row.chunks_mut(ROWS_PER_TASK).enumerate() {
                rows(b, c, out);
            }
        }
    }
}

/// Rows `r0 .. r0 + out.len()` of one batch row: the loop of one shader invocation per row.
fn gather_rows(indptr: &[u32], indices: &[u32], weights: &PlanWeights, x: &[f32], r0: usize, out: &mut [f32]) {
    for (k, o) in out.iter_mut().enumerate() {
        let j = r0 + k;
        let (start, end) = (indptr[j] as usize, indptr[j + 1] as usize);
        let mut acc = 0.0f32;
        match weights {
            PlanWeights::Shared(w) => {
                for &i in &indices[start..end] {
                    acc += w * x[i as usize];
                }
            }
            PlanWeights::PerSynapse(w) => {
                for e in start..end {
                    acc += w[e] * x[indices[e] as usize];
                }
            }
        }
        *o = acc;
    }
}
