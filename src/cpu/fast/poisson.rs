//! The Poisson input step ([`crate::cpu::reference::poisson_input`]) for the CPU: Philox
//! blocks of 16 counters at once, laid out as four arrays of 16 words so the rounds become
//! 32-bit vector operations (the products' high words from 16-bit halves, as the shader
//! computes them), and short threshold tables counted with vector compares instead of a binary
//! search. The same words and counts as the reference, bit for bit.

use crate::cpu::reference::poisson_input::{Draw, Sink, M0, M1, W0, W1};

/// Counters per block of 64 neurons.
const LANES: usize = crate::cpu::reference::poisson_input::BLOCK_LANES;
/// Tables up to this long are counted by comparing with every threshold.
const LINEAR: usize = 24;

/// The high word of `a * b` (exact) from 16-bit halves.
#[inline(always)]
fn mul_hi(a: u32, b: u32) -> u32 {
    let (a_lo, a_hi, b_lo, b_hi) = (a & 0xffff, a >> 16, b & 0xffff, b >> 16);
    let (lo_lo, lo_hi, hi_lo) = (a_lo * b_lo, a_lo * b_hi, a_hi * b_lo);
    let mid = (lo_lo >> 16) + (lo_hi & 0xffff) + (hi_lo & 0xffff);
    a_hi * b_hi + (lo_hi >> 16) + (hi_lo >> 16) + (mid >> 16)
}

/// Philox4x32-10 of the counters `[first + l, row, step, stream]`, `l < LANES`: word `w` of
/// counter `l` is `out[w][l]`.
#[inline(always)]
fn philox_block(first: u32, row: u32, d: &Draw) -> [[u32; LANES]; 4] {
    let mut c0: [u32; LANES] = std::array::from_fn(|l| first.wrapping_add(l as u32));
    let mut c1 = [row; LANES];
    let mut c2 = [d.step; LANES];
    let mut c3 = [d.stream; LANES];
    let (mut k0, mut k1) = (d.key[0], d.key[1]);
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        // 32-bit lanes only: the high words of the products from 16-bit halves (as the shader
        // computes them), which vectorize where 64-bit products of 32-bit lanes do not
        let n0: [u32; LANES] = std::array::from_fn(|l| mul_hi(M1, c2[l]) ^ c1[l] ^ k0);
        let n2: [u32; LANES] = std::array::from_fn(|l| mul_hi(M0, c0[l]) ^ c3[l] ^ k1);
        c1 = std::array::from_fn(|l| M1.wrapping_mul(c2[l]));
        c3 = std::array::from_fn(|l| M0.wrapping_mul(c0[l]));
        c0 = n0;
        c2 = n2;
    }
    [c0, c1, c2, c3]
}

/// Neurons per task when a row is shared out over the thread pool (a multiple of the block).
const CHUNK: usize = 4096;

/// Adds one step of input to the `batch * n` values of `sink`; rows longer than two tasks are
/// shared out over the thread pool (every value depends on its neuron alone, so the result does
/// not depend on how).
pub fn poisson_input(d: Draw, n: usize, batch: usize, sink: Sink) {
    use rayon::prelude::*;
    match sink {
        Sink::Voltage { v, weight } => {
            for (b, row) in v.chunks_mut(n).enumerate().take(batch) {
                if n > 2 * CHUNK {
                    row.par_chunks_mut(CHUNK).enumerate().for_each(|(c, part)| voltage(&d, b, c * CHUNK, part, weight));
                } else {
                    voltage(&d, b, 0, row, weight);
                }
            }
        }
        Sink::Accumulator { acc, q } => {
            for (b, row) in acc.chunks_mut(n).enumerate().take(batch) {
                if n > 2 * CHUNK {
                    row.par_chunks_mut(CHUNK).enumerate().for_each(|(c, part)| accumulator(&d, b, c * CHUNK, part, q));
                } else {
                    accumulator(&d, b, 0, row, q);
                }
            }
        }
    }
}

/// `v[k] += count(neuron i0 + k) * weight` for row `b`.
fn voltage(d: &Draw, b: usize, i0: usize, v: &mut [f32], weight: f32) {
    counts(d, b, i0, v.len(), |k, c| {
        for (x, &c) in v[k..].iter_mut().zip(c) {
            *x += c as f32 * weight;
        }
    });
}

/// `acc[k] += count(neuron i0 + k) * q` for row `b`.
fn accumulator(d: &Draw, b: usize, i0: usize, acc: &mut [i32], q: i32) {
    counts(d, b, i0, acc.len(), |k, c| {
        for (x, &c) in acc[k..].iter_mut().zip(c) {
            *x += c as i32 * q;
        }
    });
}

/// The counts of neurons `i0 .. i0 + len` of row `b` (`i0` a multiple of the block), handed to
/// `add` 16 consecutive neurons at a time as (offset from `i0`, counts; the last run may be
/// longer than what is left, `add` stops at its slice's end).
#[multiversion::multiversion(targets = "simd")] // wider vectors where the CPU has them: same words
fn counts(d: &Draw, b: usize, i0: usize, len: usize, mut add: impl FnMut(usize, &[u32])) {
    let mut counts = [[0u32; LANES]; 4];
    // a block of 64 neurons is 16 counters; neuron 16 w + l of the block takes word w of
    // counter l (BLOCK_LANES in the reference), so each word array is 16 consecutive neurons
    for k0 in (0..len).step_by(4 * LANES) {
        let words = philox_block(((i0 + k0) / 4) as u32, b as u32, d);
        for (c, u) in counts.iter_mut().zip(&words) {
            if d.thresholds.len() <= LINEAR {
                c.fill(d.first);
                for &t in d.thresholds {
                    for (c, &x) in c.iter_mut().zip(u) {
                        *c += (x >= t) as u32;
                    }
                }
            } else {
                for (c, &x) in c.iter_mut().zip(u) {
                    *c = d.count(x);
                }
            }
        }
        for (w, c) in counts.iter().enumerate() {
            let k = k0 + w * LANES;
            if k < len {
                add(k, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::reference::poisson_input as reference;
    use crate::model::counts::CountTable;
    use crate::model::CountLaw;
    use rand::{Rng, SeedableRng};

    /// Random sizes (off every block multiple), tables short and long, both sinks: the same
    /// values as the reference, bit for bit.
    #[test]
    fn matches_the_reference() {
        let seed = rand::random::<u64>();
        println!("seed {seed}");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        for case in 0..40 {
            // every tenth case a row long enough to be shared out over the pool
            let n = if case % 10 == 9 { rng.random_range(2 * CHUNK + 1..3 * CHUNK + 100) } else { rng.random_range(1..300) };
            let batch = rng.random_range(1..4);
            let (law, k, p) = match case % 3 {
                0 => (CountLaw::Poisson, rng.random_range(1..3000), rng.random_range(0.0..0.01)),
                1 => (CountLaw::Binomial, rng.random_range(1..50), rng.random_range(0.0..1.0)),
                _ => (CountLaw::Poisson, rng.random_range(1000..100_000), rng.random_range(0.0..0.5)),
            };
            let table = CountTable::new(law, k, p).unwrap();
            let d = Draw { step: rng.random(), key: rng.random(), stream: rng.random_range(0..8), first: table.first, thresholds: &table.thresholds };
            let weight: f32 = rng.random_range(-2.0..2.0);
            let v0: Vec<f32> = (0..n * batch).map(|_| rng.random_range(-70.0..-50.0)).collect();
            let (mut want, mut got) = (v0.clone(), v0);
            reference::poisson_input(d, n, batch, Sink::Voltage { v: &mut want, weight });
            poisson_input(d, n, batch, Sink::Voltage { v: &mut got, weight });
            assert_eq!(want.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), "case {case}: V");
            let a0: Vec<i32> = (0..n * batch).map(|_| rng.random_range(-1000..1000)).collect();
            let (mut want, mut got) = (a0.clone(), a0);
            let q = rng.random_range(-5000..5000);
            reference::poisson_input(d, n, batch, Sink::Accumulator { acc: &mut want, q });
            poisson_input(d, n, batch, Sink::Accumulator { acc: &mut got, q });
            assert_eq!(want, got, "case {case}: accumulator (n {n}, batch {batch}, {} thresholds)", table.thresholds.len());
        }
    }
}
