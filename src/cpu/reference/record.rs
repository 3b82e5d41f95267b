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

/// The current of slots `first..end` with the potential `v`, at flat index `idx`.
pub fn current(outputs: &[OutputParams], gsyn: &[f32], v: &[f32], first: usize, end: usize, idx: usize) -> f32 {
    let width = v.len();
    output::sum(&outputs[first..end], &gsyn[first * width..end * width], width, idx, 0.0, v[idx])
}
