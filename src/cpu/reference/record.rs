//! CPU twin of `shaders/record.wgsl`: one recorded step of one monitor, the picked neurons of
//! every batch row into one row of the chunk buffer.

use super::output;
use crate::plan::{OutputParams, Pick};

/// `out[b * len + k] = value(b * n + pick(k))` for every batch row `b` (`len = pick.len()`).
pub fn record<T>(pick: &Pick, n: usize, batch: usize, value: impl Fn(usize) -> T, out: &mut [T]) {
    let len = pick.len();
    for b in 0..batch {
        for k in 0..len {
            out[b * len + k] = value(b * n + pick.neuron(k) as usize);
        }
    }
}

/// Words per batch row of a spike monitor recording `len` neurons as bits (`record.wgsl`).
pub fn spike_words(len: usize) -> usize {
    len.div_ceil(32)
}

/// Spike flags (`batch` rows of `len`, as [`record`] writes them) as the GPU records them: bit
/// `k % 32` of word `b * spike_words(len) + k / 32` is neuron `k` of batch row `b`.
pub fn pack_spike_bits(flags: &[u8], batch: usize, len: usize) -> Vec<u32> {
    let per = spike_words(len);
    let mut out = vec![0u32; batch * per];
    for b in 0..batch {
        for k in 0..len {
            if flags[b * len + k] != 0 {
                out[b * per + k / 32] |= 1 << (k % 32);
            }
        }
    }
    out
}

/// [`pack_spike_bits`] undone, appending the flags to `out`.
pub fn unpack_spike_bits(words: &[u32], batch: usize, len: usize, out: &mut Vec<u8>) {
    let per = spike_words(len);
    for b in 0..batch {
        out.extend((0..len).map(|k| ((words[b * per + k / 32] >> (k % 32)) & 1) as u8));
    }
}

/// The current of slots `first..end` with the potential `v`, at flat index `idx`.
pub fn current(outputs: &[OutputParams], gsyn: &[f32], v: &[f32], first: usize, end: usize, idx: usize) -> f32 {
    let width = v.len();
    output::sum(&outputs[first..end], &gsyn[first * width..end * width], width, idx, 0.0, v[idx])
}
