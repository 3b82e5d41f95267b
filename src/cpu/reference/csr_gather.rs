//! CPU twin of `shaders/csr_gather.wgsl`: the conductance of one pre-aligned projection as a
//! post-major gather, `y[b, j] = sum over synapses (i -> j) of w * x[b, i]`.
//!
//! Terms are added in pre order, the order in which BrainPy's pre-major scatter adds them, and
//! each term is rounded as `w * x` first, as BrainPy's `wsp = w * x[i]` is. (The engine runs the
//! same sums in [`crate::cpu::fast::sliced`], eight rows at a time; it is tested bit-identical to
//! this loop.)

use crate::plan::PlanWeights;

/// `x` is the (delayed) group output, `batch` rows of `n_pre`; `None` before the delay has
/// filled (the state is then its initial 0). `y` is `batch` rows of `n_post = indptr.len() - 1`.
pub fn csr_gather(indptr: &[u32], indices: &[u32], weights: &PlanWeights, x: Option<&[f32]>, n_pre: usize, y: &mut [f32]) {
    let n_post = indptr.len() - 1;
    let Some(x) = x else {
        y.fill(0.0);
        return;
    };
    for (r, out) in y.chunks_mut(n_post.max(1)).enumerate() {
        let x = &x[r * n_pre..(r + 1) * n_pre];
        for (j, o) in out.iter_mut().enumerate() {
            let mut acc = 0.0f32;
            for e in indptr[j] as usize..indptr[j + 1] as usize {
                let w = match weights {
                    PlanWeights::Shared(w) => *w,
                    PlanWeights::PerSynapse(w) => w[e],
                };
                acc += w * x[indices[e] as usize];
            }
            *o = acc;
        }
    }
}
