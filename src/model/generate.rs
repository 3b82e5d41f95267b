//! Generators the network file can ask for instead of listing data: `fixed_prob` connectivity
//! (BrainPy's `FixedProb`), `fixed_total_number` connectivity (NEST's rule), weights drawn from
//! a normal distribution, and the `regular` and `poisson` spike sources. Each one expands at
//! parse time into the plain data ([`Csr`], [`SpikeTimes`]) the engines already run, so no
//! backend knows generators exist (format: `docs/FORMAT-generators.md`).
//!
//! Randomness is deterministic and independent of the thread count: the work is cut into
//! blocks of a fixed size (rows for connectivity, neurons for Poisson), and block `b` draws from
//! its own `ChaCha8Rng` (seeded with `seed`, on stream `b`). The block sizes are part of the
//! definition: changing them changes the realisation a seed gives.
//! BrainPy's numba RNG stream cannot be reproduced, so realisations differ from BrainPy's;
//! only the distribution is the same.

use super::{firing_step, step_time, Csr, SpikeTimes};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

/// Pre rows per RNG block of `fixed_prob`.
pub const ROWS_PER_BLOCK: usize = 256;
/// Neurons per RNG block of `poisson`.
pub const NEURONS_PER_BLOCK: usize = 1024;
/// Synapses per RNG block of `fixed_total_number` and of drawn weights.
pub const SYNAPSES_PER_BLOCK: usize = 1 << 16;

/// Stream offsets, so that generators sharing a seed draw independent numbers: `fixed_prob`
/// and `poisson` use streams `0, 1, ...`, the others start at these.
const NORMAL_STREAMS: u64 = 1 << 40;
const TOTAL_NUMBER_STREAMS: u64 = 2 << 40;
const WEIGHT_STREAMS: u64 = 3 << 40;
const DELAY_STREAMS: u64 = 4 << 40;

/// The RNG of block `block` of a generator seeded with `seed`.
fn block_rng(seed: u64, block: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(block);
    rng
}

/// Targets per pre neuron of `FixedProb(prob)` onto `n_post` neurons: `round(n_post * prob)`
/// with Python's `round` (ties to even), as BrainPy 2.9 computes it.
pub fn fixed_prob_k(n_post: usize, prob: f64) -> usize {
    ((n_post as f64 * prob).round_ties_even() as usize).min(n_post)
}

/// How one row's `k` distinct targets out of `n` are drawn. Chosen from `(n, k)` alone, so the
/// RNG is consumed the same way on every machine.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Method {
    /// `k == n`: every target, no randomness.
    All,
    /// Rejection into a bitmap of `n` bits (one per thread, `n/8` bytes), then a scan that
    /// emits the set bits in ascending order and clears them. O(k + n/64) per row; used when
    /// the scan costs no more than a few draws per target. With `complement`, the `n - k`
    /// targets *not* taken are drawn instead (for `k > n/2`, where rejection of `k` would
    /// stall), and the scan emits the clear bits: the complement of a uniform `(n-k)`-subset is
    /// a uniform `k`-subset. This replaces a partial Fisher-Yates (which needs a 4n-byte scratch
    /// and a sort afterwards).
    Bitmap { complement: bool },
    /// Sparse rows (`k < n/256`): draw `k`, sort, drop duplicates, draw the missing ones,
    /// repeat. The result is the set of the first `k` distinct values of an i.i.d. uniform
    /// sequence, which is a uniform `k`-subset.
    Sort,
}

fn method(n: usize, k: usize) -> Method {
    if k == n {
        Method::All
    } else if n / 64 <= 4 * k {
        Method::Bitmap { complement: k > n / 2 }
    } else {
        Method::Sort
    }
}

/// Fills `out` (length `k`) with `k` distinct targets in `0..n`, uniformly, in ascending order.
/// `bitmap` must hold at least `n.div_ceil(64)` zero words and is left zeroed.
fn sample_row(rng: &mut ChaCha8Rng, n: usize, m: Method, bitmap: &mut [u64], out: &mut [u32]) {
    let k = out.len();
    match m {
        Method::All => {
            for (i, x) in out.iter_mut().enumerate() {
                *x = i as u32;
            }
        }
        Method::Bitmap { complement } => {
            let want = if complement { n - k } else { k };
            let mut got = 0;
            while got < want {
                let x = rng.random_range(0..n as u32) as usize;
                let bit = 1u64 << (x & 63);
                let w = &mut bitmap[x >> 6];
                if *w & bit == 0 {
                    *w |= bit;
                    got += 1;
                }
            }
            let words = n.div_ceil(64);
            let tail = n % 64;
            let mut o = 0;
            for (wi, word) in bitmap[..words].iter_mut().enumerate() {
                let mut bits = if complement { !*word } else { *word };
                *word = 0;
                if complement && wi + 1 == words && tail != 0 {
                    bits &= (1u64 << tail) - 1;
                }
                while bits != 0 {
                    out[o] = (wi * 64) as u32 + bits.trailing_zeros();
                    o += 1;
                    bits &= bits - 1;
                }
            }
            debug_assert_eq!(o, k);
        }
        Method::Sort => {
            let mut have = 0;
            while have < k {
                for x in &mut out[have..] {
                    *x = rng.random_range(0..n as u32);
                }
                out.sort_unstable();
                // compact the distinct values to the front
                let mut u = 1;
                for j in 1..k {
                    if out[j] != out[u - 1] {
                        out[u] = out[j];
                        u += 1;
                    }
                }
                have = u;
            }
        }
    }
}

/// BrainPy's `FixedProb` connectivity (`allow_multi_conn=False`, `pre_ratio=1`): every pre
/// neuron gets exactly `k` distinct post targets, drawn uniformly without replacement. With
/// `include_self == false` every pair with `pre == post` is then dropped (as BrainPy does, even
/// between different populations), so those rows hold `k - 1`.
///
/// Rows are pre (as in the file). Each row's targets are sorted ascending: BrainPy leaves them
/// in draw order, but the set is what matters and sorted rows read post state in memory order.
/// Memory: the 4-byte `indices` and the `indptr` are the only allocations of size O(synapses)
/// / O(neurons), written in place; scratch is one `n_post/8`-byte bitmap per thread.
///
/// Panics if `n_pre * k` does not fit in `u32` (the caller checks and reports it).
pub fn fixed_prob(n_pre: usize, n_post: usize, k: usize, seed: u64, include_self: bool) -> Csr {
    assert!(k <= n_post, "k = {k} > n_post = {n_post}");
    let nnz = n_pre.checked_mul(k).filter(|&x| x <= u32::MAX as usize).expect("synapse count exceeds u32");
    let mut indptr: Vec<u32> = (0..=n_pre).map(|r| (r * k) as u32).collect();
    // Zeroed allocation: pages are mapped lazily and first touched by the worker that fills them.
    let mut indices = vec![0u32; nnz];
    if k > 0 {
        let m = method(n_post, k);
        let words = if matches!(m, Method::Bitmap { .. }) { n_post.div_ceil(64) } else { 0 };
        indices.par_chunks_mut(ROWS_PER_BLOCK * k).enumerate().for_each_init(
            || vec![0u64; words],
            |bitmap, (b, block)| {
                let mut rng = block_rng(seed, b as u64);
                for row in block.chunks_mut(k) {
                    sample_row(&mut rng, n_post, m, bitmap, row);
                }
            },
        );
    }
    if !include_self && k > 0 {
        // Drop the diagonal and close the gaps in one forward pass (a row only moves left).
        let mut w = 0usize;
        for r in 0..n_pre {
            let src = r * k;
            let hit = if r < n_post { indices[src..src + k].binary_search(&(r as u32)).ok() } else { None };
            match hit {
                Some(pos) => {
                    indices.copy_within(src..src + pos, w);
                    indices.copy_within(src + pos + 1..src + k, w + pos);
                    w += k - 1;
                }
                None => {
                    if w != src {
                        indices.copy_within(src..src + k, w);
                    }
                    w += k;
                }
            }
            indptr[r + 1] = w as u32;
        }
        indices.truncate(w);
    }
    Csr { n_rows: n_pre, n_cols: n_post, indptr, indices }
}

/// NEST's `fixed_total_number` rule (`allow_autapses` and `allow_multapses` true, as the
/// Potjans-Diesmann microcircuit uses it): `n` synapses, each from a pre neuron and to a post
/// neuron drawn uniformly and independently, with replacement (a pair may repeat, and `pre ==
/// post` may occur).
///
/// Synapse `s` is drawn by block `s / SYNAPSES_PER_BLOCK`'s RNG, so the matrix does not depend on
/// the thread count. Two passes over the same draws: the first counts each pre neuron's
/// synapses (the row offsets), the second places each target; then each row is sorted, so the
/// order in which threads placed them does not matter. Memory: the 4-byte `indices` and the
/// `indptr`, plus one `n_pre`-sized count per thread while counting.
///
/// Panics if `n` does not fit in `u32`, or `n > 0` with an empty population (the caller
/// checks and reports both).
pub fn fixed_total_number(n_pre: usize, n_post: usize, n: usize, seed: u64) -> Csr {
    use std::sync::atomic::{AtomicU32, Ordering};
    assert!(n <= u32::MAX as usize, "synapse count exceeds u32");
    assert!(n == 0 || (n_pre > 0 && n_post > 0), "synapses between empty populations");
    let blocks = n.div_ceil(SYNAPSES_PER_BLOCK);
    let counts = (0..blocks)
        .into_par_iter()
        .fold(
            || vec![0u32; n_pre],
            |mut c, b| {
                total_number_block(seed, b, n, n_pre, n_post, |pre, _| c[pre as usize] += 1);
                c
            },
        )
        .reduce(|| vec![0u32; n_pre], |mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
            a
        });
    let mut indptr = Vec::with_capacity(n_pre + 1);
    indptr.push(0u32);
    let mut total = 0u32;
    for c in &counts {
        total += c;
        indptr.push(total);
    }
    let cursor: Vec<AtomicU32> = indptr[..n_pre].iter().map(|&x| AtomicU32::new(x)).collect();
    let slots: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
    (0..blocks).into_par_iter().for_each(|b| {
        total_number_block(seed, b, n, n_pre, n_post, |pre, post| {
            let at = cursor[pre as usize].fetch_add(1, Ordering::Relaxed);
            slots[at as usize].store(post, Ordering::Relaxed);
        })
    });
    // same size and alignment: collected in place, no second allocation
    let mut indices: Vec<u32> = slots.into_iter().map(AtomicU32::into_inner).collect();
    let mut rows = Vec::with_capacity(n_pre);
    let mut rest = indices.as_mut_slice();
    for c in &counts {
        let (row, tail) = rest.split_at_mut(*c as usize);
        rows.push(row);
        rest = tail;
    }
    rows.par_iter_mut().for_each(|r| r.sort_unstable());
    Csr { n_rows: n_pre, n_cols: n_post, indptr, indices }
}

/// The draws of block `b` of [`fixed_total_number`], in order: `f(pre, post)` for each.
#[inline(always)]
fn total_number_block(seed: u64, b: usize, n: usize, n_pre: usize, n_post: usize, mut f: impl FnMut(u32, u32)) {
    let mut rng = block_rng(seed, b as u64 + TOTAL_NUMBER_STREAMS);
    for _ in 0..SYNAPSES_PER_BLOCK.min(n - b * SYNAPSES_PER_BLOCK) {
        let pre = rng.random_range(0..n_pre as u32);
        let post = rng.random_range(0..n_post as u32);
        f(pre, post);
    }
}

/// `n` weights drawn from a normal distribution of `mean` and standard deviation `sd` (the
/// ziggurat of `rand_distr`), from `seed`, one per synapse in CSR order. With `redraw_sign`, a draw whose sign differs from the
/// mean's is drawn again (NEST's `redraw` with a bound at 0, as the Potjans-Diesmann
/// microcircuit draws its weights; 0 itself is kept). Weight `s` is drawn by block `s /
/// SYNAPSES_PER_BLOCK`'s RNG, so the weights do not depend on the thread count.
///
/// Panics if `redraw_sign` with `mean == 0` (the caller rejects it).
pub fn normal_weights(n: usize, mean: f32, sd: f32, seed: u64, redraw_sign: bool) -> Vec<f32> {
    assert!(!redraw_sign || mean != 0.0, "redraw_sign needs a nonzero mean");
    let mut out = vec![0.0f32; n];
    out.par_chunks_mut(SYNAPSES_PER_BLOCK).enumerate().for_each(|(b, chunk)| {
        let mut rng = block_rng(seed, b as u64 + WEIGHT_STREAMS);
        for x in chunk {
            *x = loop {
                let z: f64 = rng.sample(StandardNormal);
                let w = (mean as f64 + sd as f64 * z) as f32;
                // the right sign has probability at least 1/2: a few draws at most, expected
                if !redraw_sign || (w >= 0.0) == (mean > 0.0) || w == 0.0 {
                    break w;
                }
            };
        }
    });
    out
}

/// `n` delays (ms) drawn from a normal distribution of `mean` and `sd`, from `seed`, one per
/// synapse in CSR order; a draw below `min` is drawn again (NEST's `redraw`, as the
/// Potjans-Diesmann microcircuit draws its delays with a bound at the resolution). Delay `s` is
/// drawn by block `s / SYNAPSES_PER_BLOCK`'s RNG: the same delays for any thread count.
///
/// The caller checks that `min` is not so far above the mean that drawing would not end.
pub fn normal_delays(n: usize, mean: f64, sd: f64, min: f64, seed: u64) -> Vec<f64> {
    let mut out = vec![0.0f64; n];
    out.par_chunks_mut(SYNAPSES_PER_BLOCK).enumerate().for_each(|(b, chunk)| {
        let mut rng = block_rng(seed, b as u64 + DELAY_STREAMS);
        for x in chunk {
            *x = loop {
                let d = mean + sd * rng.sample::<f64, _>(StandardNormal);
                if d >= min {
                    break d;
                }
            };
        }
    });
    out
}

/// `n` values drawn from a normal distribution of `mean` and standard deviation `sd`, from
/// `seed`: value `k` is drawn by block `k / NEURONS_PER_BLOCK`'s RNG (Box-Muller on two
/// uniform draws), so the values do not depend on the thread count and any block can be drawn
/// alone (a process that holds only some neurons draws the same values for them).
pub fn normal(n: usize, mean: f32, sd: f32, seed: u64) -> Vec<f32> {
    let mut out = vec![0.0f32; n];
    out.par_chunks_mut(NEURONS_PER_BLOCK).enumerate().for_each(|(b, chunk)| {
        // a stream apart from the Poisson sources' (which use streams 0, 1, ...)
        let mut rng = block_rng(seed, b as u64 + NORMAL_STREAMS);
        for x in chunk {
            let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
            let u2: f64 = rng.random();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            *x = (mean as f64 + sd as f64 * z) as f32;
        }
    });
    out
}

/// The spike time, in ms, that fires at exactly `step` under the rule "first step `i` with
/// `f32(i)*f32(dt) >= time`": the step's own time `f32(step)*f32(dt)`. `None` when f32 cannot
/// tell the step from its predecessor (steps beyond about 2^24).
pub fn exact_time(step: usize, dt: f32) -> Option<f32> {
    let t = step_time(step, dt);
    (firing_step(t, dt) == step).then_some(t)
}

/// Number of events of a `regular` source (see [`regular`]), without generating them.
pub fn regular_count(n: usize, period: usize, phase_offset: usize, steps: usize) -> u64 {
    (0..n.min(period))
        .map(|r| {
            let first = phase_offset.saturating_add(r);
            if first < steps {
                // neurons r, r + period, ... share this residue
                let neurons = (n - r).div_ceil(period) as u64;
                neurons * ((steps - 1 - first) / period + 1) as u64
            } else {
                0
            }
        })
        .sum()
}

/// The `regular` source: neuron `i` fires at steps `phase_offset + (i mod period) + period*j`,
/// `j = 0, 1, ...`, while the step is `< steps` (SPEC.md "Regular source pattern" with
/// `phase_offset = 0`). Events come out step by step, neurons ascending within a step. Errors
/// with the first step whose time f32 cannot represent exactly (see [`exact_time`]).
pub fn regular(n: usize, period: usize, phase_offset: usize, steps: usize, dt: f32) -> Result<SpikeTimes, usize> {
    assert!(period > 0);
    let count = regular_count(n, period, phase_offset, steps) as usize;
    let mut out = SpikeTimes { indices: Vec::with_capacity(count), times: Vec::with_capacity(count), rows: Vec::new() };
    let mut base = phase_offset;
    while base < steps {
        for r in 0..n.min(period) {
            let s = base + r;
            if s >= steps {
                break;
            }
            let t = exact_time(s, dt).ok_or(s)?;
            for i in (r..n).step_by(period) {
                out.indices.push(i as u32);
                out.times.push(t);
            }
        }
        base += period;
    }
    debug_assert_eq!(out.indices.len(), count);
    Ok(out)
}

/// BrainPy's `PoissonGroup`: at every step each neuron spikes when a uniform draw is below
/// `p = rate_hz * dt / 1000`, independently. Drawn as geometric gaps between spikes
/// (`floor(ln(1-u) / ln(1-p))` steps without a spike, then one with), which has exactly the law
/// of one Bernoulli(p) per step and costs O(spikes). Neurons are cut into blocks of
/// [`NEURONS_PER_BLOCK`], each with its own RNG, generated in parallel. Events come out neuron
/// by neuron (the plan sorts them by step). Errors with a step whose time f32 cannot represent.
pub fn poisson(n: usize, rate_hz: f64, dt: f64, steps: usize, seed: u64) -> Result<SpikeTimes, usize> {
    let p = rate_hz * dt / 1000.0;
    let dt32 = dt as f32;
    let blocks: Vec<Result<Vec<(u32, f32)>, usize>> = (0..n.div_ceil(NEURONS_PER_BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut rng = block_rng(seed, b as u64);
            let mut ev = Vec::new();
            let neurons = b * NEURONS_PER_BLOCK..((b + 1) * NEURONS_PER_BLOCK).min(n);
            if p.is_nan() || p <= 0.0 {
                return Ok(ev);
            }
            let ln_q = (-p).ln_1p(); // ln(1 - p); -inf when p >= 1 (every step fires)
            for i in neurons {
                let mut s = 0usize; // first step not yet decided
                loop {
                    let gap = if p >= 1.0 {
                        0.0
                    } else {
                        let u: f64 = rng.random(); // [0, 1)
                        ((-u).ln_1p() / ln_q).floor()
                    };
                    if gap >= (steps - s) as f64 {
                        break;
                    }
                    s += gap as usize;
                    ev.push((i as u32, exact_time(s, dt32).ok_or(s)?));
                    s += 1;
                    if s >= steps {
                        break;
                    }
                }
            }
            Ok(ev)
        })
        .collect();
    let mut total = 0;
    for b in &blocks {
        total += b.as_ref().map_err(|&s| s)?.len();
    }
    let mut out = SpikeTimes { indices: Vec::with_capacity(total), times: Vec::with_capacity(total), rows: Vec::new() };
    for b in blocks {
        for (i, t) in b? {
            out.indices.push(i);
            out.times.push(t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
    }

    fn check_rows(c: &Csr, k: usize) {
        c.check("c", "pre", "post").unwrap();
        for r in 0..c.n_rows {
            let row = &c.indices[c.row(r)];
            assert_eq!(row.len(), k, "row {r}");
            assert!(row.windows(2).all(|w| w[0] < w[1]), "row {r} not strictly ascending (distinct)");
        }
    }

    #[test]
    fn fixed_total_number_draws_n_pairs_uniformly_for_any_thread_count() {
        let (n_pre, n_post, n) = (300, 200, 3 * SYNAPSES_PER_BLOCK + 123);
        let a = in_pool(1, || fixed_total_number(n_pre, n_post, n, 5));
        let b = in_pool(3, || fixed_total_number(n_pre, n_post, n, 5));
        assert_eq!(a, b, "the thread count changed the matrix");
        assert_eq!(a.indices.len(), n);
        assert_eq!(a.indptr.len(), n_pre + 1);
        assert_eq!(*a.indptr.last().unwrap() as usize, n);
        assert!(a.indices.iter().all(|&j| (j as usize) < n_post));
        for r in 0..n_pre {
            let row = &a.indices[a.indptr[r] as usize..a.indptr[r + 1] as usize];
            assert!(row.windows(2).all(|w| w[0] <= w[1]), "row {r} is sorted");
        }
        // row lengths: binomial(n, 1/n_pre), mean n/n_pre = 655.8, sd 25.6; columns likewise
        let mean = n as f64 / n_pre as f64;
        let sd = (mean * (1.0 - 1.0 / n_pre as f64)).sqrt();
        let rows: Vec<f64> = (0..n_pre).map(|r| (a.indptr[r + 1] - a.indptr[r]) as f64).collect();
        let m = rows.iter().sum::<f64>() / n_pre as f64;
        let s = (rows.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n_pre - 1) as f64).sqrt();
        assert!((s / sd - 1.0).abs() < 0.15, "row length sd {s} against {sd}");
        let mut cols = vec![0f64; n_post];
        a.indices.iter().for_each(|&j| cols[j as usize] += 1.0);
        let cmean = n as f64 / n_post as f64;
        let worst = cols.iter().map(|c| (c - cmean).abs() / cmean.sqrt()).fold(0.0, f64::max);
        assert!(worst < 5.0, "a column is {worst} sd from its mean");
        // multapses occur (a pair drawn twice): with n = 196,731 draws over 60,000 pairs, most do
        let repeats = (0..n_pre).map(|r| a.indices[a.indptr[r] as usize..a.indptr[r + 1] as usize].windows(2).filter(|w| w[0] == w[1]).count()).sum::<usize>();
        assert!(repeats > n / 2, "{repeats} repeated pairs");
        assert_ne!(a, fixed_total_number(n_pre, n_post, n, 6), "another seed, another matrix");
        assert_eq!(fixed_total_number(4, 4, 0, 1).indptr, vec![0; 5]);
    }

    #[test]
    fn normal_delays_are_redrawn_below_the_minimum() {
        let n = 1 << 20;
        let d = in_pool(1, || normal_delays(n, 1.5, 0.75, 0.1, 9));
        assert_eq!(d, in_pool(2, || normal_delays(n, 1.5, 0.75, 0.1, 9)), "thread count");
        assert!(d.iter().all(|&x| x >= 0.1), "a draw below the minimum was kept");
        // the normal truncated at 0.1 ms: mean 1.5 + 0.75 phi(a) / (1 - Phi(a)), a = -1.8667
        let m = d.iter().sum::<f64>() / n as f64;
        assert!((m - 1.5541).abs() < 0.003, "mean {m}");
        // as ring slots (ceil(d / 0.1)): 16.041 by simulation of the same rule
        let slots = d.iter().map(|&x| (x / 0.1).ceil()).sum::<f64>() / n as f64;
        assert!((slots - 16.041).abs() < 0.03, "mean slots {slots}");
    }

    #[test]
    fn normal_weights_keep_their_sign_and_moments() {
        let n = 2 * SYNAPSES_PER_BLOCK + 7;
        let w = in_pool(1, || normal_weights(n, 87.8, 8.78, 3, true));
        assert_eq!(w, in_pool(2, || normal_weights(n, 87.8, 8.78, 3, true)), "thread count");
        let m = w.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        let sd = (w.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / n as f64).sqrt();
        assert!((m - 87.8).abs() < 0.1 && (sd / 8.78 - 1.0).abs() < 0.02, "mean {m}, sd {sd}");
        // sd as large as the mean: 16% of plain draws are negative; none after redrawing
        let plain = normal_weights(n, -1.0, 1.0, 4, false);
        let negative = plain.iter().filter(|&&x| x > 0.0).count() as f64 / n as f64;
        assert!((negative - 0.1587).abs() < 0.01, "{negative} of the plain draws have the wrong sign");
        let redrawn = normal_weights(n, -1.0, 1.0, 4, true);
        assert!(redrawn.iter().all(|&x| x <= 0.0), "a redrawn weight kept the wrong sign");
        // the truncated normal's mean: -1 - phi(1)/Phi(1) = -1.2876
        let m = redrawn.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        assert!((m + 1.2876).abs() < 0.01, "redrawn mean {m}");
    }

    #[test]
    fn normal_has_its_moments_and_does_not_depend_on_threads() {
        let a = in_pool(1, || normal(100_000, -55.0, 2.0, 7));
        let b = in_pool(2, || normal(100_000, -55.0, 2.0, 7));
        assert_eq!(a, b);
        let m = a.iter().map(|&x| x as f64).sum::<f64>() / a.len() as f64;
        let v = a.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / a.len() as f64;
        // standard errors: 2/sqrt(1e5) = 0.006 for the mean, about 0.02 for the sd
        assert!((m + 55.0).abs() < 0.03, "mean {m}");
        assert!((v.sqrt() - 2.0).abs() < 0.05, "sd {}", v.sqrt());
        assert_ne!(normal(10, 0.0, 1.0, 1), normal(10, 0.0, 1.0, 2));
    }

    #[test]
    fn k_rounds_like_python() {
        assert_eq!(fixed_prob_k(10_000, 0.01), 100);
        assert_eq!(fixed_prob_k(3200, 0.02), 64);
        assert_eq!(fixed_prob_k(800, 0.02), 16);
        assert_eq!(fixed_prob_k(50, 0.01), 0); // round(0.5) == 0 in Python
        assert_eq!(fixed_prob_k(150, 0.01), 2); // round(1.5) == 2
        assert_eq!(fixed_prob_k(40, 1.0), 40);
        assert_eq!(fixed_prob_k(40, 0.0), 0);
    }

    #[test]
    fn exact_k_distinct_every_method() {
        // (n_pre, n_post, k) covering All, Bitmap, Bitmap complement (with a ragged last word), Sort
        for &(n_pre, n_post, k) in
            &[(300, 40, 40), (700, 1000, 100), (600, 1000, 10), (513, 131, 120), (300, 100_000, 50), (5, 7, 0)]
        {
            let c = fixed_prob(n_pre, n_post, k, 42, true);
            assert_eq!(c.nnz(), n_pre * k);
            check_rows(&c, k);
        }
        assert_eq!(method(1000, 1000), Method::All);
        assert_eq!(method(1000, 100), Method::Bitmap { complement: false });
        assert_eq!(method(131, 120), Method::Bitmap { complement: true });
        assert_eq!(method(100_000, 50), Method::Sort);
    }

    #[test]
    fn targets_are_uniform() {
        // every (row, column) pair has probability k/n; column counts over rows are binomial
        for &(n, k) in &[(200usize, 20usize), (200, 150), (20_000, 5)] {
            let rows = 4000;
            let c = fixed_prob(rows, n, k, 7, true);
            let mut counts = vec![0u32; n];
            for &x in &c.indices {
                counts[x as usize] += 1;
            }
            let p = k as f64 / n as f64;
            let mean = rows as f64 * p;
            let sd = (rows as f64 * p * (1.0 - p)).sqrt();
            if n <= 200 {
                for (j, &x) in counts.iter().enumerate() {
                    assert!((x as f64 - mean).abs() < 5.0 * sd, "n {n} k {k} column {j}: {x} vs {mean}");
                }
            }
            // the first and last column are reachable, and the total is exact
            assert_eq!(counts.iter().map(|&x| x as usize).sum::<usize>(), rows * k);
        }
    }

    #[test]
    fn include_self_false_drops_the_diagonal() {
        for &(n_pre, n_post, k) in &[(1000, 800, 400), (1000, 800, 800), (50, 100_000, 300), (500, 1000, 50)] {
            let with = fixed_prob(n_pre, n_post, k, 3, true);
            let without = fixed_prob(n_pre, n_post, k, 3, false);
            without.check("c", "pre", "post").unwrap();
            let mut dropped = 0;
            for r in 0..n_pre {
                let a: Vec<u32> = with.indices[with.row(r)].iter().copied().filter(|&x| x as usize != r).collect();
                let b = &without.indices[without.row(r)];
                assert_eq!(&a[..], b, "row {r}: same draw minus the diagonal");
                dropped += k - b.len();
            }
            if k == n_post {
                assert_eq!(dropped, n_pre.min(n_post));
            }
            assert_eq!(without.nnz(), n_pre * k - dropped);
        }
    }

    #[test]
    fn same_seed_same_csr_for_any_thread_count() {
        for &(n_pre, n_post, k) in &[(3000, 5000, 50), (2000, 100_000, 10), (1000, 300, 250)] {
            let a = in_pool(1, || fixed_prob(n_pre, n_post, k, 42, false));
            let b = in_pool(2, || fixed_prob(n_pre, n_post, k, 42, false));
            let c = in_pool(3, || fixed_prob(n_pre, n_post, k, 42, false));
            assert_eq!(a, b);
            assert_eq!(a, c);
            assert_ne!(a, fixed_prob(n_pre, n_post, k, 43, false), "another seed, another matrix");
        }
        let a = in_pool(1, || poisson(5000, 20.0, 0.1, 2000, 9).unwrap());
        let b = in_pool(2, || poisson(5000, 20.0, 0.1, 2000, 9).unwrap());
        assert_eq!(a, b);
    }

    #[test]
    fn poisson_rate_within_a_few_sigma() {
        let (n, steps, dt, rate) = (4000, 5000, 0.1, 20.0);
        let s = poisson(n, rate, dt, steps, 1).unwrap();
        let p = rate * dt / 1000.0;
        let trials = (n * steps) as f64;
        let mean = trials * p;
        let sd = (trials * p * (1.0 - p)).sqrt();
        let got = s.indices.len() as f64;
        assert!((got - mean).abs() < 4.0 * sd, "{got} spikes, expected {mean} +- {sd}");
        // every event fires at its own step, at most once per (neuron, step), within the run
        let mut seen = HashSet::new();
        for (&i, &t) in s.indices.iter().zip(&s.times) {
            let step = firing_step(t, dt as f32);
            assert!(step < steps);
            assert_eq!(step_time(step, dt as f32), t);
            assert!(seen.insert((i, step)));
        }
        // per-neuron ISIs are geometric: the fraction of gaps of exactly one step is p
        let mut by_neuron = vec![Vec::new(); n];
        for (&i, &t) in s.indices.iter().zip(&s.times) {
            by_neuron[i as usize].push(firing_step(t, dt as f32));
        }
        let (mut ones, mut gaps) = (0.0, 0.0);
        for v in &by_neuron {
            for w in v.windows(2) {
                gaps += 1.0;
                ones += (w[1] - w[0] == 1) as u32 as f64;
            }
        }
        let sd1 = (gaps * p * (1.0 - p)).sqrt();
        assert!((ones - gaps * p).abs() < 4.0 * sd1, "{ones} unit gaps of {gaps}");
        // edge cases
        assert!(poisson(10, 0.0, 0.1, 100, 1).unwrap().indices.is_empty());
        assert_eq!(poisson(10, 1e4, 0.1, 100, 1).unwrap().indices.len(), 1000, "p = 1: every step");
    }

    #[test]
    fn regular_pattern_exact() {
        let dt = 0.1f32;
        for &(n, period, off, steps) in &[(1000, 500, 0, 10_000), (7, 3, 2, 20), (3, 10, 0, 25), (5, 5, 30, 20)] {
            let s = regular(n, period, off, steps, dt).unwrap();
            assert_eq!(s.indices.len() as u64, regular_count(n, period, off, steps));
            let mut got: Vec<(usize, u32)> =
                s.indices.iter().zip(&s.times).map(|(&i, &t)| (firing_step(t, dt), i)).collect();
            let mut want = Vec::new();
            for i in 0..n {
                let mut step = off + i % period;
                while step < steps {
                    want.push((step, i as u32));
                    step += period;
                }
            }
            got.sort();
            want.sort();
            assert_eq!(got, want, "n {n} period {period} offset {off}");
        }
        // SPEC: exactly N/500 source spikes per step
        let s = regular(10_000, 500, 0, 10_000, dt).unwrap();
        let mut per_step = vec![0; 10_000];
        for &t in &s.times {
            per_step[firing_step(t, dt)] += 1;
        }
        assert!(per_step.iter().all(|&c| c == 20));
    }

    fn net_json(conn: &str, src: &str) -> String {
        format!(
            r#"{{"dt": 0.1, "steps": 1000,
            "populations": [{src},
              {{"name": "post", "model": "lif_ref", "size": 300}}],
            "projections": [{{"name": "syn", "pre": "src", "post": "post", "synapse": {{"model": "ampa"}},
              "connectivity": {conn}, "weight": 0.1, "output": {{"model": "coba", "E": 0.0}}}}]}}"#
        )
    }

    #[test]
    fn network_file_fields() {
        use crate::model::{file::parse, NeuronModel};
        let reg = r#"{"name": "src", "model": "regular", "size": 200, "period_steps": 50, "phase_offset": 3}"#;
        let net = parse(&net_json(r#"{"kind": "fixed_prob", "prob": 0.1, "seed": 42}"#, reg)).unwrap();
        assert_eq!(net.projections[0].conn, fixed_prob(200, 300, 30, 42, true));
        let NeuronModel::SpikeTimes(s) = &net.populations[0].model else { panic!() };
        assert_eq!(s, &regular(200, 50, 3, 1000, 0.1).unwrap());
        let net =
            parse(&net_json(r#"{"kind": "fixed_prob", "prob": 0.1, "seed": 42, "include_self": false}"#, reg)).unwrap();
        assert_eq!(net.projections[0].conn, fixed_prob(200, 300, 30, 42, false));
        let poi = r#"{"name": "src", "model": "poisson", "size": 200, "rate_hz": 20.0, "seed": 5}"#;
        let net = parse(&net_json(r#"{"kind": "fixed_prob", "prob": 1, "seed": 0}"#, poi)).unwrap();
        let NeuronModel::SpikeTimes(s) = &net.populations[0].model else { panic!() };
        assert_eq!(s, &poisson(200, 20.0, 0.1, 1000, 5).unwrap());
        // NEST's fixed_total_number, and weights drawn per synapse (builder and file alike)
        let net = parse(&net_json(r#"{"kind": "fixed_total_number", "n": 5000, "seed": 9}"#, reg)).unwrap();
        assert_eq!(net.projections[0].conn, fixed_total_number(200, 300, 5000, 9));
        let drawn = net_json(r#"{"kind": "fixed_total_number", "n": 5000, "seed": 9}"#, reg)
            .replace(r#""weight": 0.1"#, r#""weight": {"normal": [0.1, 0.05], "seed": 4, "redraw_sign": true}"#);
        let net = parse(&drawn).unwrap();
        assert_eq!(net.projections[0].weights, crate::model::Weights::PerSynapse(normal_weights(5000, 0.1, 0.05, 4, true)));
        let mut b = crate::model::NetworkBuilder::new(0.1, 1000);
        let src = b.regular("src", 200, 50, 3);
        let post = b.lif_ref("post", 300, crate::model::LifRef::brainpy_defaults());
        let w = crate::model::WeightSpec::Normal { mean: 0.1, sd: 0.05, seed: 4, redraw_sign: true };
        let conn = crate::model::Conn::FixedTotalNumber { n: 5000, seed: 9 };
        b.projection("syn", src, post, crate::model::Synapse::ampa(), conn, w, crate::model::Coba { e: 0.0 });
        let built = b.build().unwrap();
        assert_eq!(built.projections[0].conn, net.projections[0].conn);
        assert_eq!(built.projections[0].weights, net.projections[0].weights);
        // errors name the field
        for (conn, src, want) in [
            (r#"{"kind": "fixed_prob", "prob": 1.5, "seed": 1}"#, reg, "projections[0].connectivity.prob"),
            (r#"{"kind": "fixed_prob", "prob": -0.1, "seed": 1}"#, reg, "projections[0].connectivity.prob"),
            (r#"{"kind": "fixed_prob", "prob": 0.1}"#, reg, "projections[0].connectivity.seed: is missing"),
            (r#"{"kind": "fixed_prob", "prob": 0.1, "seed": -3}"#, reg, "projections[0].connectivity.seed"),
            (r#"{"kind": "fixed_prob", "prob": 0.1, "seed": 1, "include_self": 1}"#, reg, "connectivity.include_self"),
            (r#"{"kind": "fixed_prob", "p": 0.1, "seed": 1}"#, reg, "projections[0].connectivity.p: unknown field"),
            (
                r#"{"kind": "fixed_prob", "prob": 0.1, "seed": 1}"#,
                r#"{"name": "src", "model": "regular", "size": 2, "period_steps": 0}"#,
                "populations[0].period_steps",
            ),
            (
                r#"{"kind": "fixed_prob", "prob": 0.1, "seed": 1}"#,
                r#"{"name": "src", "model": "poisson", "size": 2, "rate_hz": -1, "seed": 1}"#,
                "populations[0].rate_hz",
            ),
        ] {
            let e = parse(&net_json(conn, src)).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
    }

    /// Times the generation of 1e8 synapses: a measurement, not a check (a time bound would fail
    /// on a loaded machine and pass on a slow one), so it is run by hand:
    /// `cargo test --release --lib generate::tests::time_1e8 -- --ignored --nocapture`
    #[test]
    #[ignore = "a timing measurement, run by hand (see the doc comment)"]
    fn time_1e8() {
        for &(n_pre, n_post, prob) in
            &[(100_000usize, 100_000usize, 0.01f64), (10_000, 10_000, 0.01), (100_000, 10_000, 0.01)]
        {
            let k = fixed_prob_k(n_post, prob);
            for include_self in [true, false] {
                let t0 = std::time::Instant::now();
                let c = fixed_prob(n_pre, n_post, k, 42, include_self);
                let dt = t0.elapsed().as_secs_f64();
                println!(
                    "{n_pre} x {n_post} p {prob} (K {k}) include_self {include_self}: {} synapses in {dt:.3} s ({} threads)",
                    c.nnz(),
                    rayon::current_num_threads()
                );
            }
        }
    }
}
