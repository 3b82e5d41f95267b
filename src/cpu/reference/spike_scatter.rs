//! CPU twin of `shaders/spike_scatter.wgsl`: the delayed pre spikes of one projection times
//! their weights, into its accumulator in fixed point (post-aligned synapses, BrainPy's
//! `EventCSRLinear`: only the rows of spiking neurons are read; and the event-mode aggregate of a
//! linear pre-aligned synapse).
//!
//! BrainPy adds the weights of one step in pre order in f32. Here each weight is rounded to a
//! multiple of `1/scale` and the sum is a 32-bit integer, so the result does not depend on the
//! order of the additions: the GPU adds with integer atomics in whatever order its threads run
//! and gets the CPU's bits. The scale ([`crate::plan::fixed_point_scale`]) keeps the largest
//! possible sum below 2^30; its resolution is then at most 2^-30 of that sum, finer than f32's
//! own rounding of it.

use crate::plan::PlanWeights;

/// One weight in fixed point (`round(w * scale)`, ties to even as WGSL's `round`).
#[inline]
pub fn fixed(w: f32, scale: f32) -> i32 {
    (w * scale).round_ties_even() as i32
}

/// Where a step's scatter lands in an accumulator ring ([`crate::plan::AccPlan::ring`]).
#[derive(Clone, Copy, Debug)]
pub struct Delivery<'a> {
    /// Per-synapse lags in CSR order (`None`: all 0).
    pub lags: Option<&'a [u16]>,
    /// Slots of the accumulator ring; `acc` holds `ring` slots of `batch * n_post`.
    pub ring: usize,
    /// This step: a synapse of lag `k` adds into slot `(step + k) % ring`.
    pub step: usize,
}

impl Delivery<'_> {
    /// An accumulator of one slot and no lags.
    pub const NOW: Delivery<'static> = Delivery { lags: None, ring: 1, step: 0 };

    /// The ring slot synapse `e` adds into.
    #[inline(always)]
    pub fn slot(&self, e: usize) -> usize {
        let lag = self.lags.map_or(0, |l| l[e] as usize);
        (self.step + lag) % self.ring
    }
}

/// For every pre variable `idx` (flat `b * n_pre + i`) whose stamp in ring slot `read % ring`
/// equals `read` (it spiked at the read step), adds its row's weights into `acc` (`to.ring`
/// slots of `batch` rows of `n_post`), each into the slot of its lag. Nothing is read while
/// `read < 0` (before the run nothing spiked).
#[allow(clippy::too_many_arguments)] // one argument per binding of the shader twin
pub fn spike_scatter(
    indptr: &[u32],
    indices: &[u32],
    weights: &PlanWeights,
    scale: f32,
    stamps: &[u32],
    ring: usize,
    read: i64,
    n_pre: usize,
    batch: usize,
    n_post: usize,
    to: Delivery,
    acc: &mut [i32],
) {
    if read < 0 {
        return;
    }
    let width = batch * n_pre;
    let slot = &stamps[(read as usize % ring) * width..][..width];
    for (idx, &stamp) in slot.iter().enumerate() {
        if stamp != read as u32 {
            continue;
        }
        let (b, i) = (idx / n_pre, idx % n_pre);
        for e in indptr[i] as usize..indptr[i + 1] as usize {
            let w = match weights {
                PlanWeights::Shared(w) => *w,
                PlanWeights::PerSynapse(w) => w[e],
            };
            let o = &mut acc[to.slot(e) * batch * n_post + b * n_post + indices[e] as usize];
            *o = o.wrapping_add(fixed(w, scale));
        }
    }
}
