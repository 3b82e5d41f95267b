//! CPU twin of `shaders/csr_gather.wgsl`: the post conductance of one projection as a
//! post-major gather, `y[b, j] = sum over synapses (i -> j) of w * x[b, i]`.
//!
//! Terms are added in pre order, the order in which BrainPy's pre-major scatter adds them, and
//! each term is rounded as `w * x` first, as BrainPy's `wsp = w * x[i]` is. Each output is summed
//! by one thread start to end, so splitting rows over threads changes no bit of the result.

use super::columns::{ColIndex, Columns};
use crate::model::plan::PlanWeights;
use rayon::prelude::*;

/// Below this many synapse reads per step, threads cost more than they save.
const PARALLEL_MIN_WORK: usize = 1 << 15;

/// Post rows per parallel task: large enough to amortise scheduling, small enough to balance.
const ROWS_PER_TASK: usize = 512;

/// `x` is the (delayed) gating state, `batch` rows of `n_pre`; `None` before the delay has
/// filled (the state is then its initial 0). `y` is `batch` rows of `n_post`.
pub fn csr_gather<I: ColIndex>(indptr: &[u32], cols: &Columns<I>, weights: &PlanWeights, x: Option<&[f32]>, n_pre: usize, y: &mut [f32]) {
    let n_post = indptr.len() - 1;
    let indices = cols.as_slice();
    let Some(x) = x else {
        y.fill(0.0);
        return;
    };
    let batch = y.len() / n_post.max(1);
    if batch > 1 {
        return gather_batched(indptr, indices, weights, x, n_pre, batch, y);
    }
    let work = indices.len();
    if work >= PARALLEL_MIN_WORK {
        y.par_chunks_mut(ROWS_PER_TASK).enumerate().for_each(|(c, out)| gather_rows(indptr, cols, weights, x, c * ROWS_PER_TASK, out));
    } else {
        gather_rows(indptr, cols, weights, x, 0, y);
    }
}

/// Batch rows gathered together, up to this many per pass over a post row's synapses.
pub(crate) const BATCH_TILE: usize = 8;

/// `y` written through a raw pointer by tasks that own disjoint `(batch row, post row)` cells.
pub(crate) struct Out(pub(crate) *mut f32);
// SAFETY: every task writes only the cells of its own post rows (see `gather_batched`, and
// `Sliced::gather`).
unsafe impl Sync for Out {}

impl Out {
    /// # Safety
    /// `k` is in bounds of the slice `Out` was made from, and no other task writes cell `k`.
    pub(crate) unsafe fn write(&self, k: usize, v: f32) {
        unsafe { *self.0.add(k) = v };
    }
}

/// The batched product: each synapse's index (and weight) is read once for up to
/// [`BATCH_TILE`] batch rows, instead of once per row. Each output is still summed over the same
/// synapses in the same order, so the result is bit-identical to the row-by-row gather.
fn gather_batched<I: ColIndex>(indptr: &[u32], indices: &[I], weights: &PlanWeights, x: &[f32], n_pre: usize, batch: usize, y: &mut [f32]) {
    let n_post = indptr.len() - 1;
    let out = Out(y.as_mut_ptr());
    let tasks = n_post.div_ceil(ROWS_PER_TASK);
    let parallel = indices.len() * batch >= PARALLEL_MIN_WORK;
    for_each_tile(x, n_pre, batch, |b0, bt, stride, xt| {
        let task = |c: usize| {
            let (r0, r1) = (c * ROWS_PER_TASK, ((c + 1) * ROWS_PER_TASK).min(n_post));
            for j in r0..r1 {
                let (start, end) = (indptr[j] as usize, indptr[j + 1] as usize);
                let mut acc = [0.0f32; BATCH_TILE];
                for e in start..end {
                    let i = indices[e].at();
                    let w = match weights {
                        PlanWeights::Shared(w) => *w,
                        PlanWeights::PerSynapse(w) => w[e],
                    };
                    for (a, &v) in acc[..bt].iter_mut().zip(&xt[i * stride..]) {
                        *a += w * v;
                    }
                }
                for (b, a) in acc[..bt].iter().enumerate() {
                    // SAFETY: (b0 + b, j) is in bounds (b0 + b < batch, j < n_post) and only
                    // this task, which owns post rows r0..r1, writes it.
                    unsafe { out.write((b0 + b) * n_post + j, *a) };
                }
            }
        };
        if parallel {
            (0..tasks).into_par_iter().for_each(task);
        } else {
            (0..tasks).for_each(task);
        }
    });
}

/// Calls `f(b0, bt, stride, xt)` for each tile of up to [`BATCH_TILE`] batch rows
/// `b0 .. b0 + bt` of `x` (`batch` rows of `n_pre`), with `xt` the tile neuron-major:
/// `xt[i * stride + b]`, rows past `bt` zero. `stride` is [`SMALL_TILE`] for tiles that fit it,
/// else [`BATCH_TILE`]. One synapse then reads the whole tile's values from one cache line.
pub(crate) fn for_each_tile(x: &[f32], n_pre: usize, batch: usize, mut f: impl FnMut(usize, usize, usize, &[f32])) {
    XT.with(|xt| {
        let mut xt = xt.borrow_mut();
        for b0 in (0..batch).step_by(BATCH_TILE) {
            let bt = BATCH_TILE.min(batch - b0);
            let stride = if bt <= SMALL_TILE { SMALL_TILE } else { BATCH_TILE };
            xt.clear();
            xt.resize(n_pre * stride, 0.0);
            for b in 0..bt {
                for (i, &v) in x[(b0 + b) * n_pre..(b0 + b + 1) * n_pre].iter().enumerate() {
                    xt[i * stride + b] = v;
                }
            }
            f(b0, bt, stride, &xt);
        }
    });
}

/// The narrower tile: a batch of 4 in an 8-wide tile would do the work of 8.
pub(crate) const SMALL_TILE: usize = 4;

thread_local! {
    /// Scratch for the neuron-major copy of a batch tile (kept, so no step allocates).
    static XT: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}
/// Rows `r0 .. r0 + out.len()` of one batch row: the loop of one shader invocation per row.
/// (The CPU engine runs the same sums in [`super::sliced`], eight rows at a time.)
fn gather_rows<I: ColIndex>(indptr: &[u32], cols: &Columns<I>, weights: &PlanWeights, x: &[f32], r0: usize, out: &mut [f32]) {
    let indices = cols.as_slice();
    for (k, o) in out.iter_mut().enumerate() {
        let j = r0 + k;
        let (start, end) = (indptr[j] as usize, indptr[j + 1] as usize);
        let mut acc = 0.0f32;
        match weights {
            PlanWeights::Shared(w) => {
                for &i in &indices[start..end] {
                    acc += w * x[i.at()];
                }
            }
            PlanWeights::PerSynapse(w) => {
                for e in start..end {
                    acc += w[e] * x[indices[e].at()];
                }
            }
        }
        *o = acc;
    }
}
