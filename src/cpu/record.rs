//! CPU twin of `shaders/record.wgsl`: the monitored values of one step into row `row` of the
//! chunk buffers.

use super::lif_update::coba_current;

/// Copies `src` into row `row` of `out` (rows of `src.len()`).
pub fn record_f32(src: &[f32], row: usize, out: &mut [f32]) {
    let w = src.len();
    out[row * w..(row + 1) * w].copy_from_slice(src);
}

/// The spikes of a LIF population (flags per batch row and neuron).
pub fn record_spike(spike: &[u32], row: usize, out: &mut [u8]) {
    let w = spike.len();
    for (o, &s) in out[row * w..(row + 1) * w].iter_mut().zip(spike) {
        *o = s as u8;
    }
}

/// The spikes of a source at `step` (one stamp per batch row and neuron).
pub fn record_stamp(stamp: &[u32], step: u32, row: usize, out: &mut [u8]) {
    let w = stamp.len();
    for (o, &s) in out[row * w..(row + 1) * w].iter_mut().zip(stamp) {
        *o = (s == step) as u8;
    }
}

/// COBA current with the new V of input slots `slots` (all of them for `<pop>.current`, one
/// for `<projection>.current`).
pub fn record_current(gsyn: &[f32], v: &[f32], e: &[f32], slots: std::ops::Range<usize>, row: usize, out: &mut [f32]) {
    let w = v.len();
    for (idx, o) in out[row * w..(row + 1) * w].iter_mut().enumerate() {
        *o = coba_current(&gsyn[slots.start * w..slots.end * w], w, idx, &e[slots.clone()], v[idx]);
    }
}
