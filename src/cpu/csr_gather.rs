//! CPU twin of `shaders/csr_gather.wgsl`: the post conductance of one projection as a
//! post-major gather, `y[b, j] = sum over synapses (i -> j) of w * x[b, i]`.
//!
//! Terms are added in pre order, the order in which BrainPy's pre-major scatter adds them, and
//! each term is rounded as `w * x` first, as BrainPy's `wsp = w * x[i]` is.

use crate::model::plan::PlanWeights;

/// `x` is the (delayed) gating state, `batch` rows of `n_pre`; `None` before the delay has
/// filled (the state is then its initial 0). `y` is `batch` rows of `n_post`.
pub fn csr_gather(indptr: &[u32], indices: &[u32], weights: &PlanWeights, x: Option<&[f32]>, n_pre: usize, y: &mut [f32]) {
    let n_post = indptr.len() - 1;
    let Some(x) = x else {
        y.fill(0.0);
        return;
    };
    for (row, x) in y.chunks_mut(n_post).zip(x.chunks(n_pre)) {
        for (j, out) in row.iter_mut().enumerate() {
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
            *out = acc;
        }
    }
}
