//! The engine's LIF update: the arithmetic of [`crate::cpu::reference::lif_update`], split into
//! branch-free passes over contiguous arrays (the input current slot by slot, then the update),
//! in blocks that stay in L1, so the compiler vectorizes them; tested bit-identical to the
//! reference. Spikes are left as flags (the engine turns them into its spike lists and stamps).

use crate::cpu::reference::{lif_update::LifState, math};
use crate::plan::{NeuronParams, OutputParams};
use rayon::prelude::*;

/// `if c { a } else { b }` on the bits: branch-free, so the update loop vectorizes with plain
/// SSE2 (LLVM turns a float select there into a branch).
#[inline(always)]
fn select(c: bool, a: f32, b: f32) -> f32 {
    let m = (c as u32).wrapping_neg();
    f32::from_bits((a.to_bits() & m) | (b.to_bits() & !m))
}

/// Neurons per call of [`lif_range`]: their five arrays (20 KB) stay in L1 from its first
/// pass to its second, where a whole population's would come back from L2.
const L1_BLOCK: usize = 1024;

/// Below this many neurons one thread updates them all: waking the pool costs tens of us per
/// step, which a split of B2's 10,000 neurons (about 10 us of work) made 3x slower overall.
const PARALLEL_MIN_NEURONS: usize = 1 << 17;

/// One step of every neuron; returns how many spiked, and whether any new V or input current is
/// NaN or infinite (checked in the same vectorized pass, so it costs nearly nothing; the engine
/// then looks for where). `i_ext` is the per-neuron input current (shared by the batch).
pub fn lif_update(p: &NeuronParams, t: f32, outputs: &[OutputParams], i_ext: Option<&[f32]>, s: &mut LifState) -> (u64, bool) {
    let width = s.v.len();
    let gsyn = &s.gsyn;
    let range = |lo: usize, v: &mut [f32], t_last: &mut [f32], spike: &mut [u32], input: &mut [f32]| {
        let blocks = v.chunks_mut(L1_BLOCK).zip(t_last.chunks_mut(L1_BLOCK)).zip(spike.chunks_mut(L1_BLOCK)).zip(input.chunks_mut(L1_BLOCK));
        let (mut count, mut bad) = (0u64, false);
        for (c, (((v, tl), sp), inp)) in blocks.enumerate() {
            let (n, b) = lif_range(p, t, outputs, i_ext, gsyn, width, lo + c * L1_BLOCK, v, tl, sp, inp);
            count += n as u64;
            bad |= b;
        }
        (count, bad)
    };
    if width < PARALLEL_MIN_NEURONS {
        return range(0, &mut s.v, &mut s.t_last, &mut s.spike, &mut s.input);
    }
    // Neurons are independent: one contiguous block per thread.
    let block = width.div_ceil(rayon::current_num_threads()).next_multiple_of(64);
    s.v.par_chunks_mut(block)
        .zip(s.t_last.par_chunks_mut(block))
        .zip(s.spike.par_chunks_mut(block))
        .zip(s.input.par_chunks_mut(block))
        .enumerate()
        .map(|(c, (((v, tl), sp), inp))| range(c * block, v, tl, sp, inp))
        .reduce(|| (0, false), |a, b| (a.0 + b.0, a.1 | b.1))
}

/// Neurons `lo .. lo + v.len()` of [`lif_update`]; `v`, `t_last`, `spike` and `input` are
/// their slices, `gsyn` the whole conductance buffer (`outputs.len()` slots of `width`).
#[allow(clippy::too_many_arguments)] // one argument per buffer, as the shader's bindings
#[multiversion::multiversion(targets = "simd")] // AVX2 / AVX-512 where the CPU has them: identical bits
fn lif_range(
    p: &NeuronParams,
    t: f32,
    outputs: &[OutputParams],
    i_ext: Option<&[f32]>,
    gsyn: &[f32],
    width: usize,
    lo: usize,
    v: &mut [f32],
    t_last: &mut [f32],
    spike: &mut [u32],
    input: &mut [f32],
) -> (u32, bool) {
    let n = v.len();
    let (t_last, spike, input) = (&mut t_last[..n], &mut spike[..n], &mut input[..n]);
    // I = I_ext + o_1(V) + o_2(V) + ..., with the old V, left to right (`0 + o_1` without I_ext,
    // as the reference's running sum starts)
    match i_ext {
        None => input.fill(0.0),
        Some(x) => {
            let m = x.len();
            for (k, inp) in input.iter_mut().enumerate() {
                *inp = x[(lo + k) % m];
            }
        }
    }
    for (slot, o) in outputs.iter().enumerate() {
        let g = &gsyn[slot * width + lo..slot * width + lo + n];
        match *o {
            OutputParams::Coba { e } => {
                for k in 0..n {
                    input[k] += g[k] * (e - v[k]);
                }
            }
            OutputParams::Cuba => {
                for k in 0..n {
                    input[k] += g[k];
                }
            }
            OutputParams::MgBlock { e, k: kk, alpha, v_offset } => {
                for k in 0..n {
                    input[k] += g[k] * (e - v[k]) / (1.0 + kk * math::exp(alpha * (v_offset - v[k])));
                }
            }
        }
    }
    let mut count = 0u32;
    let mut bad = false;
    for k in 0..n {
        let v_old = v[k];
        let v_new = v_old + p.dt_phi * (((p.v_rest - v_old) + p.r * input[k]) * p.inv_tau);
        // <= on the rounded f32 difference (SEMANTICS section 7)
        let refractory = p.refractory & ((t - t_last[k]) <= p.tau_ref);
        let held = select(refractory, v_old, v_new);
        let fired = held >= p.v_th;
        v[k] = select(fired, p.v_reset, held);
        t_last[k] = select(fired, t, t_last[k]);
        spike[k] = fired as u32;
        count += fired as u32;
        // NaN and the infinities have an all-ones exponent
        bad |= !(held.is_finite() & input[k].is_finite());
    }
    (count, bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::reference;
    use crate::model::{LifRef, MgBlock, Output};
    use rand::{Rng, SeedableRng};

    /// The blocked, vectorized update gives the reference's bits: every output kind, with and
    /// without I_ext, with and without refractoriness, across block boundaries and batch rows.
    #[test]
    fn lif_update_is_bit_identical_to_the_reference() {
        let seed: u64 = rand::random();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let outputs: Vec<OutputParams> = [Output::coba(0.0), Output::Cuba, Output::MgBlock(MgBlock::default()), Output::coba(-80.0)]
            .iter()
            .map(OutputParams::from)
            .collect();
        for (n, batch) in [(1, 1), (37, 3), (2500, 1), (700, 2)] {
            for refractory in [true, false] {
                let mut p = NeuronParams::lif_ref(&LifRef { tau_ref: 2.0, v_th: -50.0, v_reset: -65.0, v_rest: -60.0, ..LifRef::brainpy_defaults() }, 0.1);
                p.refractory = refractory;
                let i_ext: Vec<f32> = (0..n).map(|_| rng.random_range(0.0f32..30.0)).collect();
                for ext in [None, Some(&i_ext[..])] {
                    let width = n * batch;
                    let v0: Vec<f32> = (0..width).map(|_| rng.random_range(-70.0f32..-49.0)).collect();
                    let (mut a, mut b) = (LifState::new(&v0, outputs.len()), LifState::new(&v0, outputs.len()));
                    let mut stamps = vec![];
                    for step in 0..60u32 {
                        let g: Vec<f32> = (0..outputs.len() * width).map(|_| rng.random_range(0.0f32..0.3)).collect();
                        a.gsyn.clone_from(&g);
                        b.gsyn = g;
                        let t = step as f32 * 0.1;
                        let ca = reference::lif_update::lif_update(&p, step, t, &outputs, ext, &mut a, 0, &mut stamps);
                        let (cb, _) = lif_update(&p, t, &outputs, ext, &mut b);
                        assert_eq!(ca, cb, "seed {seed}: spike count, step {step}");
                        for k in 0..width {
                            assert_eq!(a.v[k].to_bits(), b.v[k].to_bits(), "seed {seed}: V of {k}, step {step}, n {n}");
                            assert_eq!(a.input[k].to_bits(), b.input[k].to_bits(), "seed {seed}: input of {k}, step {step}");
                        }
                        assert_eq!(a, b, "seed {seed}, step {step}");
                    }
                }
            }
        }
    }
}
