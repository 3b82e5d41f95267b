//! The dense product of [`crate::cpu::reference::csr_gather`] in a sliced layout (SELL-8): post rows in slices of
//! [`LANES`], each slice's synapses stored column by column, `LANES` indices side by side. One
//! vector load then fetches the next synapse of eight rows, a gather instruction their eight pre
//! values, and eight independent sums advance together.
//!
//! Each row is still summed alone, in its own (BrainPy's) order, with the product `w * x`
//! rounded first: the result is bit-identical to [`crate::cpu::reference::csr_gather::csr_gather`]. Rows shorter
//! than their slice's longest are padded; a padded lane adds `w * 0`, which is `+-0` and leaves
//! a sum that starts at `+0` unchanged (a sum of such terms is never `-0` under round to
//! nearest).
//!
//! On B2's post-major matrix (rows of about 100 synapses, binomially spread) slices of rows taken
//! in order would pad 14% of the slots; rows sorted by length within windows pad about 1%.

use super::columns::{ColIndex, Indices};
use super::tiles::{for_each_tile, Out, BATCH_TILE, SMALL_TILE};
use crate::plan::sell::SellLayout;
use crate::plan::PlanWeights;
use rayon::prelude::*;

/// Rows per slice: one AVX2 vector of `f32`.
pub const LANES: usize = 8;


/// Slices per parallel task.
const SLICES_PER_TASK: usize = 64;

/// Below this many stored slots per step, threads cost more than they save.
const PARALLEL_MIN_WORK: usize = 1 << 15;

/// The slot index array at either width (see [`Indices`]).
enum Slots {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

/// A post-major matrix in SELL-8 layout, with its weights in the same layout when they are per
/// synapse.
pub struct Sliced {
    n_rows: usize,
    /// Pre neurons: every index is below this (checked when built).
    n_cols: usize,
    /// Per slice, its first column (in units of `LANES` slots); `n_slices + 1` entries.
    slice_ptr: Vec<u32>,
    /// The post row of each lane (rows are sorted by length within windows, so a slice's rows
    /// have nearly equal lengths: [`SellLayout`]); lanes past the last row hold `u32::MAX`.
    row: Vec<u32>,
    /// The length of each lane's row (0 past the last row).
    len: Vec<u32>,
    /// `LANES` indices per column of each slice; padding holds 0.
    slots: Slots,
    /// Per-synapse weights in slot order (padding 0); `None` for a shared weight.
    weights: Option<Vec<f32>>,
    /// The shared weight (unused with per-synapse weights).
    shared: f32,
}

impl Sliced {
    /// Lays out a post-major CSR (`indptr` over post rows, column indices checked against
    /// `n_pre` by [`Indices`]) and its weights.
    pub fn new(indptr: &[u32], indices: Indices, weights: &PlanWeights) -> Self {
        let layout = SellLayout::new(indptr, LANES);
        let n_rows = layout.n_rows;
        let total = layout.total_slots();
        let place = |fill: &mut dyn FnMut(usize, usize)| layout.place(indptr, fill);
        let (slots, n_cols) = match indices {
            Indices::Narrow(c) => {
                let mut v = vec![0u16; total];
                let src = c.as_slice();
                place(&mut |slot, e| v[slot] = src[e]);
                (Slots::Narrow(v), c.bound())
            }
            Indices::Wide(c) => {
                let mut v = vec![0u32; total];
                let src = c.as_slice();
                place(&mut |slot, e| v[slot] = src[e]);
                (Slots::Wide(v), c.bound())
            }
        };
        let (weights, shared) = match weights {
            PlanWeights::Shared(w) => (None, *w),
            PlanWeights::PerSynapse(w) => {
                let mut v = vec![0.0f32; total];
                place(&mut |slot, e| v[slot] = w[e]);
                (Some(v), 0.0)
            }
        };
        let SellLayout { slice_ptr, row, len, .. } = layout;
        Sliced { n_rows, n_cols, slice_ptr, row, len, slots, weights, shared }
    }

    /// `y[b, j] = sum over row j of w * x[b, i]`: `x` holds `batch` rows of `n_pre` values
    /// (`n_pre` at least the bound the indices were checked against), `y` `batch` rows of the
    /// matrix's rows. One batch row gathers eight pre values per instruction; a batch goes in
    /// tiles of up to [`BATCH_TILE`] rows stored neuron-major, so one synapse reads its index
    /// once and the tile's values as one contiguous vector.
    pub fn gather(&self, x: &[f32], n_pre: usize, y: &mut [f32]) {
        let batch = y.len() / self.n_rows.max(1);
        assert_eq!(y.len(), batch * self.n_rows);
        // what makes the unchecked gathers sound
        assert!(self.n_cols <= n_pre && batch * n_pre <= x.len(), "columns up to {} but {} pre values", self.n_cols, x.len());
        let n_slices = self.slice_ptr.len() - 1;
        let parallel = self.slice_ptr[n_slices] as usize * LANES * batch >= PARALLEL_MIN_WORK;
        let out = Out(y.as_mut_ptr());
        let tasks = n_slices.div_ceil(SLICES_PER_TASK);
        // Each task owns whole slices, and each post row is in exactly one slice's lanes, so the
        // tasks write disjoint cells.
        let write = |s: usize, b: usize, acc: &[f32; LANES]| {
            for (&j, &a) in self.row[s * LANES..(s + 1) * LANES].iter().zip(acc) {
                if j != u32::MAX {
                    // SAFETY: j < n_rows and b < batch, so the cell is inside y; only the task
                    // owning slice s writes row j.
                    unsafe { out.write(b * self.n_rows + j as usize, a) };
                }
            }
        };
        if batch == 1 {
            let task = |t: usize| {
                for s in t * SLICES_PER_TASK..((t + 1) * SLICES_PER_TASK).min(n_slices) {
                    let (idx, w, lanes) = self.slice(s);
                    let acc = match &self.slots {
                        Slots::Narrow(v) => u16::slice(&v[idx], w, self.shared, lanes, x),
                        Slots::Wide(v) => u32::slice(&v[idx], w, self.shared, lanes, x),
                    };
                    write(s, 0, &acc);
                }
            };
            if parallel {
                (0..tasks).into_par_iter().for_each(task);
            } else {
                (0..tasks).for_each(task);
            }
            return;
        }
        for_each_tile(x, n_pre, batch, |b0, bt, stride, xt| {
            let task = |t: usize| {
                for s in t * SLICES_PER_TASK..((t + 1) * SLICES_PER_TASK).min(n_slices) {
                    let (idx, w, lanes) = self.slice(s);
                    let acc = match (&self.slots, stride == SMALL_TILE) {
                        (Slots::Narrow(v), false) => tile_sums(&v[idx], w, self.shared, lanes, xt),
                        (Slots::Wide(v), false) => tile_sums(&v[idx], w, self.shared, lanes, xt),
                        (Slots::Narrow(v), true) => widen(small_tile_sums(&v[idx], w, self.shared, lanes, xt)),
                        (Slots::Wide(v), true) => widen(small_tile_sums(&v[idx], w, self.shared, lanes, xt)),
                    };
                    // acc is lane-major; `write` takes one batch row's lanes
                    (0..bt).for_each(|b| write(s, b0 + b, &std::array::from_fn(|l| acc[l][b])));
                }
            };
            if parallel {
                (0..tasks).into_par_iter().for_each(task);
            } else {
                (0..tasks).for_each(task);
            }
        });
    }

    /// Slice `s`: the range of its slots, its per-synapse weights, its row lengths.
    fn slice(&self, s: usize) -> (std::ops::Range<usize>, Option<&[f32]>, &[u32]) {
        let slots = self.slice_ptr[s] as usize * LANES..self.slice_ptr[s + 1] as usize * LANES;
        let w = self.weights.as_ref().map(|w| &w[slots.clone()]);
        (slots, w, &self.len[s * LANES..(s + 1) * LANES])
    }
}

/// One slice's sums, with the best instructions for the index width.
trait Lanes: Sized {
    /// `idx` (and `w`) hold the slice's columns, `LANES` slots each; `len` its row lengths.
    fn slice(idx: &[Self], w: Option<&[f32]>, shared: f32, len: &[u32], x: &[f32]) -> [f32; LANES];
}

impl Lanes for u16 {
    fn slice(idx: &[u16], w: Option<&[f32]>, shared: f32, len: &[u32], x: &[f32]) -> [f32; LANES] {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present; the slot indices are below `x.len()` (checked in
            // `Sliced::new` against `n_cols`, and `n_cols <= x.len()` in `gather`).
            return unsafe { avx2::slice_u16(idx, w, shared, len, x) };
        }
        portable(idx, w, shared, len, x)
    }
}

impl Lanes for u32 {
    fn slice(idx: &[u32], w: Option<&[f32]>, shared: f32, len: &[u32], x: &[f32]) -> [f32; LANES] {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as for u16.
            return unsafe { avx2::slice_u32(idx, w, shared, len, x) };
        }
        portable(idx, w, shared, len, x)
    }
}

/// The same sums without vector instructions: [`tile_body`] with a tile of one batch row (the
/// pre state itself), eight independent chains which out-of-order cores overlap.
fn portable<I: ColIndex>(idx: &[I], w: Option<&[f32]>, shared: f32, len: &[u32], x: &[f32]) -> [f32; LANES] {
    tile_body::<I, 1>(idx, w, shared, len, x).map(|[a]| a)
}

/// One slice's sums for a tile of batch rows stored neuron-major (`xt[i * W + b]`, see
/// [`for_each_tile`]): `acc[l][b]` is row `l` of the slice for batch row `b`. A synapse adds
/// `w * x` to all `W` batch rows with one vector load, multiply and add; each (batch row, post
/// row) is still summed alone in its row's order.
#[inline(always)] // into the multiversioned wrappers below, which pick the vector width
fn tile_body<I: ColIndex, const W: usize>(idx: &[I], w: Option<&[f32]>, shared: f32, len: &[u32], xt: &[f32]) -> [[f32; W]; LANES] {
    let mut acc = [[0.0f32; W]; LANES];
    for (k, col) in idx.chunks_exact(LANES).enumerate() {
        for l in 0..LANES {
            if (k as u32) < len[l] {
                let wk = w.map_or(shared, |w| w[k * LANES + l]);
                let i = col[l].at() * W;
                let v: &[f32; W] = xt[i..i + W].try_into().expect("a tile row");
                for (a, &v) in acc[l].iter_mut().zip(v) {
                    *a += wk * v;
                }
            }
        }
    }
    acc
}

/// [`tile_body`] for a tile of [`BATCH_TILE`] rows.
#[multiversion::multiversion(targets = "simd")] // one vector per synapse where the CPU has them: same bits
fn tile_sums<I: ColIndex>(idx: &[I], w: Option<&[f32]>, shared: f32, len: &[u32], xt: &[f32]) -> [[f32; BATCH_TILE]; LANES] {
    tile_body::<I, BATCH_TILE>(idx, w, shared, len, xt)
}

/// [`tile_body`] for a tile of [`SMALL_TILE`] rows.
#[multiversion::multiversion(targets = "simd")]
fn small_tile_sums<I: ColIndex>(idx: &[I], w: Option<&[f32]>, shared: f32, len: &[u32], xt: &[f32]) -> [[f32; SMALL_TILE]; LANES] {
    tile_body::<I, SMALL_TILE>(idx, w, shared, len, xt)
}

/// A small tile's sums in the shape of a full tile's (the rows past it unused).
fn widen(acc: [[f32; SMALL_TILE]; LANES]) -> [[f32; BATCH_TILE]; LANES] {
    std::array::from_fn(|l| std::array::from_fn(|b| if b < SMALL_TILE { acc[l][b] } else { 0.0 }))
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::LANES;
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX2 is present; every index of a live lane (column `k < len[l]`) is below `x.len()`;
    /// `idx.len()` (and `w`'s) is a multiple of `LANES`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn slice_u16(idx: &[u16], w: Option<&[f32]>, shared: f32, len: &[u32], x: &[f32]) -> [f32; LANES] {
        let cols = idx.len() / LANES;
        // SAFETY: each load reads one column of LANES slots inside `idx`.
        sums(cols, |k| unsafe { _mm256_cvtepu16_epi32(_mm_loadu_si128(idx.as_ptr().add(k * LANES).cast())) }, w, shared, len, x)
    }

    /// # Safety
    /// As [`slice_u16`].
    #[target_feature(enable = "avx2")]
    pub unsafe fn slice_u32(idx: &[u32], w: Option<&[f32]>, shared: f32, len: &[u32], x: &[f32]) -> [f32; LANES] {
        let cols = idx.len() / LANES;
        // SAFETY: each load reads one column of LANES slots inside `idx`.
        sums(cols, |k| unsafe { _mm256_loadu_si256(idx.as_ptr().add(k * LANES).cast()) }, w, shared, len, x)
    }

    /// Column `k`'s indices come from `load(k)`; lanes past their row's length gather nothing
    /// (the mask) and add `w * 0`.
    #[inline(always)]
    unsafe fn sums(cols: usize, load: impl Fn(usize) -> __m256i, w: Option<&[f32]>, shared: f32, len: &[u32], x: &[f32]) -> [f32; LANES] {
        // SAFETY (whole body): AVX2 is present (callers' target_feature); `len` has LANES
        // entries; masked-off lanes load nothing; live lanes index below `x.len()`.
        unsafe {
            let lens = _mm256_loadu_si256(len.as_ptr().cast());
            let zero = _mm256_setzero_ps();
            let shared = _mm256_set1_ps(shared);
            let mut acc = zero;
            for k in 0..cols {
                let live = _mm256_cmpgt_epi32(lens, _mm256_set1_epi32(k as i32));
                let v = _mm256_mask_i32gather_ps::<4>(zero, x.as_ptr(), load(k), _mm256_castsi256_ps(live));
                let wk = match w {
                    Some(w) => _mm256_loadu_ps(w.as_ptr().add(k * LANES)),
                    None => shared,
                };
                // mul then add, each rounded, as the scalar `acc += w * x`
                acc = _mm256_add_ps(acc, _mm256_mul_ps(wk, v));
            }
            let mut out = [0.0f32; LANES];
            _mm256_storeu_ps(out.as_mut_ptr(), acc);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::fast::columns::Columns;
    use crate::cpu::reference::csr_gather::csr_gather;
    use rand::{Rng, SeedableRng};

    /// Random post-major CSR with empty, short and long rows.
    fn random_csr(rng: &mut impl Rng, n_post: usize, n_pre: usize) -> (Vec<u32>, Vec<u32>) {
        let mut indptr = vec![0u32];
        let mut indices = Vec::new();
        for _ in 0..n_post {
            let len = match rng.random_range(0..4) {
                0 => 0,
                1 => rng.random_range(1..4),
                _ => rng.random_range(0..2 * n_pre.min(150)),
            };
            let mut row: Vec<u32> = (0..len).map(|_| rng.random_range(0..n_pre as u32)).collect();
            row.sort_unstable();
            indices.extend(row);
            indptr.push(indices.len() as u32);
        }
        (indptr, indices)
    }

    /// The sliced product gives the CSR gather's bits, at both index widths, for both weight
    /// kinds, for sizes that are not multiples of a slice or of a task, for one batch row
    /// (through the vector path where the CPU has it, and the portable one) and for batches of
    /// one and two tiles.
    #[test]
    fn sliced_gather_is_bit_identical_to_csr_gather() {
        let seed: u64 = rand::random();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for (n_post, n_pre) in [(1, 1), (7, 5), (9, 300), (1000, 77), (5000, 70_000), (8 * 64 * 3 + 5, 1000)] {
            let (indptr, indices) = random_csr(&mut rng, n_post, n_pre);
            let x: Vec<f32> = (0..n_pre).map(|_| rng.random::<f32>()).collect();
            let per: Vec<f32> = (0..indices.len()).map(|_| rng.random_range(-1.0f32..2.0)).collect();
            for weights in [PlanWeights::Shared(rng.random_range(0.01f32..1.0)), PlanWeights::PerSynapse(per.clone())] {
                let mut want = vec![f32::NAN; n_post];
                csr_gather(&indptr, &indices, &weights, Some(&x), n_pre, &mut want);
                let sliced = Sliced::new(&indptr, Indices::narrowest(indices.clone(), n_pre), &weights);
                assert_eq!(matches!(sliced.slots, Slots::Narrow(_)), n_pre <= 1 << 16);
                let wide = Sliced::new(&indptr, Indices::Wide(Columns::new(indices.clone(), n_pre)), &weights);
                for m in [&sliced, &wide] {
                    let mut got = vec![f32::NAN; n_post];
                    m.gather(&x, n_pre, &mut got);
                    for j in 0..n_post {
                        assert_eq!(got[j].to_bits(), want[j].to_bits(), "seed {seed}, {n_post}x{n_pre}, row {j}: {} vs {}", got[j], want[j]);
                    }
                }
                // batches: a small tile, a full one, and more than one (the last partial)
                for batch in [3, SMALL_TILE + 1, BATCH_TILE + 3] {
                    let xb: Vec<f32> = (0..batch * n_pre).map(|_| rng.random::<f32>()).collect();
                    let mut want = vec![f32::NAN; batch * n_post];
                    csr_gather(&indptr, &indices, &weights, Some(&xb), n_pre, &mut want);
                    for m in [&sliced, &wide] {
                        let mut got = vec![f32::NAN; batch * n_post];
                        m.gather(&xb, n_pre, &mut got);
                        for k in 0..batch * n_post {
                            assert_eq!(got[k].to_bits(), want[k].to_bits(), "seed {seed}, {n_post}x{n_pre}, batch {batch}, output {k}");
                        }
                    }
                }
                // the portable path on the same layout
                let Slots::Wide(v) = &wide.slots else { unreachable!() };
                let mut seen = vec![false; n_post];
                for s in 0..n_post.div_ceil(LANES) {
                    let (idx, w, lens) = wide.slice(s);
                    let acc = portable(&v[idx], w, wide.shared, lens, &x);
                    for (&j, a) in wide.row[s * LANES..(s + 1) * LANES].iter().zip(acc) {
                        if j != u32::MAX {
                            assert_eq!(a.to_bits(), want[j as usize].to_bits(), "seed {seed}: portable path, row {j}");
                            assert!(!seen[j as usize], "row {j} in two lanes");
                            seen[j as usize] = true;
                        }
                    }
                }
                assert!(seen.iter().all(|&s| s), "seed {seed}: a row in no lane");
                // sorting within windows keeps padding small
                if n_post >= crate::plan::sell::SORT_WINDOW {
                    let slots = wide.slice_ptr[wide.slice_ptr.len() - 1] as usize * LANES;
                    let rows_max = (0..n_post).map(|j| indptr[j + 1] - indptr[j]).max().unwrap() as usize;
                    assert!(slots <= indices.len() + LANES * rows_max * n_post.div_ceil(crate::plan::sell::SORT_WINDOW) + LANES * rows_max, "seed {seed}: {slots} slots for {} synapses", indices.len());
                }
            }
        }
    }
}
