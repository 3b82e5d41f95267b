//! Batch tiles for the dense product ([`super::sliced`]): a tile of up to [`BATCH_TILE`] batch
//! rows of the pre values, copied neuron-major, so one synapse reads the whole tile's values from
//! one cache line.

/// Batch rows gathered together, up to this many per pass over a post row's synapses.
pub(crate) const BATCH_TILE: usize = 8;

/// The narrower tile: a batch of 4 in an 8-wide tile would do the work of 8.
pub(crate) const SMALL_TILE: usize = 4;

/// `y` written through a raw pointer by tasks that own disjoint `(batch row, post row)` cells.
pub(crate) struct Out(pub(crate) *mut f32);

// SAFETY: every task writes only the cells of its own post rows (see `Sliced::gather`).
unsafe impl Sync for Out {}

impl Out {
    /// # Safety
    /// `k` is in bounds of the slice `Out` was made from, and no other task writes cell `k`.
    pub(crate) unsafe fn write(&self, k: usize, v: f32) {
        unsafe { *self.0.add(k) = v };
    }
}

thread_local! {
    /// Scratch for the neuron-major copy of a batch tile (kept, so no step allocates).
    static XT: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Calls `f(b0, bt, stride, xt)` for each tile of up to [`BATCH_TILE`] batch rows
/// `b0 .. b0 + bt` of `x` (`batch` rows of `n_pre`), with `xt` the tile neuron-major:
/// `xt[i * stride + b]`, rows past `bt` zero. `stride` is [`SMALL_TILE`] for tiles that fit it,
/// else [`BATCH_TILE`].
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
