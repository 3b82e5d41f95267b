//! CPU twin of `shaders/poisson_input.wgsl`: one step of a Poisson input (BrainPy's
//! `PoissonInput`): each neuron of each batch row gets a count drawn from its law's threshold
//! table ([`crate::model::counts`]) times the weight, added to its V (f32) or into its
//! accumulator's current slot (fixed point, as a spike's weight).
//!
//! The uniform draws come from Philox4x32-10 (Salmon et al., SC'11, the generator of cuRAND and
//! of GeNN's CUDA backend): counter-based, so the draw of (neuron, row, step) is a pure function
//! of them and the seed; no generator state is stored or carried, every thread draws its own,
//! and the CPU and GPU draw the same words. Neurons come in blocks of 64, four words of 16
//! counters: neuron `64 k + 16 w + l` of row `b` at step `s` takes word `w` of the block with
//! counter `[16 k + l, b, s, stream]`, so that each word of 16 counters computed side by side
//! serves 16 consecutive neurons (a vector on the CPU, coalesced writes on the GPU).

/// Counters per block of 64 neurons.
pub const BLOCK_LANES: usize = 16;

/// The counter index and word of neuron `i` of a row.
#[inline(always)]
pub fn counter_of(i: usize) -> (u32, usize) {
    let (k, j) = (i / (4 * BLOCK_LANES), i % (4 * BLOCK_LANES));
    ((k * BLOCK_LANES + j % BLOCK_LANES) as u32, j / BLOCK_LANES)
}

/// Counters of a row of `n` neurons (whole blocks; neurons past `n` are not drawn).
pub fn counters(n: usize) -> usize {
    n.div_ceil(4 * BLOCK_LANES) * BLOCK_LANES
}

/// Philox4x32's round multipliers.
pub const M0: u32 = 0xD251_1F53;
pub const M1: u32 = 0xCD9E_8D57;
/// Philox4x32's key increments (the golden ratio and sqrt(3) - 1).
pub const W0: u32 = 0x9E37_79B9;
pub const W1: u32 = 0xBB67_AE85;

/// Philox4x32-10 of `ctr` under `key`.
#[inline(always)]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (ctr, key);
    for round in 0..10 {
        if round > 0 {
            k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
        }
        let p0 = M0 as u64 * c[0] as u64;
        let p1 = M1 as u64 * c[2] as u64;
        c = [(p1 >> 32) as u32 ^ c[1] ^ k[0], p1 as u32, (p0 >> 32) as u32 ^ c[3] ^ k[1], p0 as u32];
    }
    c
}

/// What a step's counts are added to, `batch * n` values.
pub enum Sink<'a> {
    /// A population's V: `v += f32(count) * weight`.
    Voltage {
        /// Batch-major V.
        v: &'a mut [f32],
        /// Added per count.
        weight: f32,
    },
    /// An accumulator's slot of this step: `acc += count * q`.
    Accumulator {
        /// The slot.
        acc: &'a mut [i32],
        /// The weight in the accumulator's fixed point.
        q: i32,
    },
}

/// The draws of one step.
#[derive(Clone, Copy, Debug)]
pub struct Draw<'a> {
    /// The step.
    pub step: u32,
    /// Philox's key (the seed).
    pub key: [u32; 2],
    /// The input's stream.
    pub stream: u32,
    /// The smallest count.
    pub first: u32,
    /// The law's thresholds.
    pub thresholds: &'a [u32],
}

impl Draw<'_> {
    /// The count of draw `u`: `first` plus the thresholds `u` reaches.
    #[inline(always)]
    pub fn count(&self, u: u32) -> u32 {
        self.first + self.thresholds.partition_point(|&t| t <= u) as u32
    }
}

/// Adds one step of input to the `batch * n` values of `sink`.
pub fn poisson_input(d: Draw, n: usize, batch: usize, sink: Sink) {
    let mut sink = sink;
    for b in 0..batch {
        for i in 0..n {
            let (counter, word) = counter_of(i);
            let u = philox4x32_10([counter, b as u32, d.step, d.stream], d.key)[word];
            let count = d.count(u);
            match &mut sink {
                Sink::Voltage { v, weight } => v[b * n + i] += count as f32 * *weight,
                Sink::Accumulator { acc, q } => acc[b * n + i] += count as i32 * *q,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123's known-answer vectors for philox4x32-10 (`kat_vectors`).
    #[test]
    fn philox_known_answers() {
        assert_eq!(philox4x32_10([0; 4], [0; 2]), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]);
        assert_eq!(philox4x32_10([u32::MAX; 4], [u32::MAX; 2]), [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]);
        assert_eq!(
            philox4x32_10([0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344], [0xa409_3822, 0x299f_31d0]),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }
}
