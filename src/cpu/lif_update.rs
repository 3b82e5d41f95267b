//! CPU twin of `shaders/lif_update.wgsl`: COBA currents and one LifRef step
//! (BrainPy `LifRef.update`, SEMANTICS section 7).

use crate::model::plan::LifParams;
use rayon::prelude::*;

/// The state of one LIF population, batch-major (`b * n + i`).
#[derive(Clone, Debug)]
pub struct LifState {
    /// Membrane potential, mV.
    pub v: Vec<f32>,
    /// Time of each neuron's last spike, ms (`T_LAST_INIT` before the first).
    pub t_last: Vec<f32>,
    /// 1 where the neuron spiked this step.
    pub spike: Vec<u32>,
    /// The synaptic current that drove this step (old V).
    pub input: Vec<f32>,
    /// The conductance of each input projection: `inputs` slots of `batch * n`.
    pub gsyn: Vec<f32>,
}

/// BrainPy's initial `t_last_spike`.
pub const T_LAST_INIT: f32 = -1e7;

impl LifState {
    /// Initial state from the batch-major initial V, with `inputs` conductance slots.
    pub fn new(v_init: &[f32], inputs: usize) -> Self {
        let w = v_init.len();
        LifState {
            v: v_init.to_vec(),
            t_last: vec![T_LAST_INIT; w],
            spike: vec![0; w],
            input: vec![0.0; w],
            gsyn: vec![0.0; inputs * w],
        }
    }
}

/// `sum_k g_k * (E_k - v)`, summed in registration order from 0 as BrainPy's
/// `sum_current_inputs` does. Shared by the update (old V) and the monitors (new V).
#[inline]
pub fn coba_current(gsyn: &[f32], width: usize, idx: usize, e: &[f32], v: f32) -> f32 {
    let mut i = 0.0f32;
    for (k, &ek) in e.iter().enumerate() {
        i += gsyn[k * width + idx] * (ek - v);
    }
    i
}

/// `if c { a } else { b }` on the bits: branch-free, so the update loop vectorizes with plain
/// SSE2 (LLVM turns a float select there into a branch).
#[inline(always)]
fn select(c: bool, a: f32, b: f32) -> f32 {
    let m = (c as u32).wrapping_neg();
    f32::from_bits((a.to_bits() & m) | (b.to_bits() & !m))
}

/// One step of every neuron; returns how many spiked. `e` holds the reversal potential of each
/// input slot.
///
/// Written as the shader's per-neuron body split into branch-free passes over contiguous
/// arrays (the currents first, then the update), so the compiler vectorizes them; the
/// arithmetic, and its order, is the shader's.
pub fn lif_update(p: &LifParams, t: f32, e: &[f32], s: &mut LifState) -> u64 {
    let width = s.v.len();
    let gsyn = &s.gsyn;
    // in blocks that stay in L1 between the two passes of `lif_range`
    let range = |lo: usize, v: &mut [f32], t_last: &mut [f32], spike: &mut [u32], input: &mut [f32]| {
        let blocks = v.chunks_mut(L1_BLOCK).zip(t_last.chunks_mut(L1_BLOCK)).zip(spike.chunks_mut(L1_BLOCK)).zip(input.chunks_mut(L1_BLOCK));
        let mut count = 0;
        for (c, (((v, tl), sp), inp)) in blocks.enumerate() {
            count += lif_range(p, t, e, gsyn, width, lo + c * L1_BLOCK, v, tl, sp, inp);
        }
        count
    };
    if width < PARALLEL_MIN_NEURONS {
        return range(0, &mut s.v, &mut s.t_last, &mut s.spike, &mut s.input) as u64;
    }
    // Neurons are independent: one contiguous block per thread.
    let block = width.div_ceil(rayon::current_num_threads()).next_multiple_of(64);
    s.v.par_chunks_mut(block)
        .zip(s.t_last.par_chunks_mut(block))
        .zip(s.spike.par_chunks_mut(block))
        .zip(s.input.par_chunks_mut(block))
        .enumerate()
        .map(|(c, (((v, tl), sp), inp))| range(c * block, v, tl, sp, inp) as u64)
        .sum()
}

/// Neurons per call of [`lif_range`]: their five arrays (20 KB) stay in L1 from its first
/// pass to its second, where a whole population's would come back from L2.
const L1_BLOCK: usize = 1024;

/// Below this many neurons one thread updates them all: waking the pool costs tens of us per
/// step, which a split of B2's 10,000 neurons (about 10 us of work) made 3x slower overall.
const PARALLEL_MIN_NEURONS: usize = 1 << 17;

/// Neurons `lo .. lo + v.len()` of [`lif_update`]; `v`, `t_last`, `spike` and `input` are
/// their slices, `gsyn` the whole conductance buffer (`e.len()` slots of `width`).
#[allow(clippy::too_many_arguments)] // one argument per buffer, as the shader's bindings
#[multiversion::multiversion(targets = "simd")] // AVX2 / AVX-512 where the CPU has them: identical bits
fn lif_range(
    p: &LifParams,
    t: f32,
    e: &[f32],
    gsyn: &[f32],
    width: usize,
    lo: usize,
    v: &mut [f32],
    t_last: &mut [f32],
    spike: &mut [u32],
    input: &mut [f32],
) -> u32 {
    let n = v.len();
    let (t_last, spike, input) = (&mut t_last[..n], &mut spike[..n], &mut input[..n]);
    // I = 0 + g_0 (E_0 - V) + g_1 (E_1 - V) + ..., with the old V; the first term is written
    // (`0 + x`, as the shader adds it to 0) rather than added to a cleared array
    match e.first() {
        None => input.fill(0.0),
        Some(&e0) => {
            let g = &gsyn[lo..lo + n];
            for k in 0..n {
                input[k] = 0.0 + g[k] * (e0 - v[k]);
            }
        }
    }
    for (k_in, &ek) in e.iter().enumerate().skip(1) {
        let g = &gsyn[k_in * width + lo..k_in * width + lo + n];
        for k in 0..n {
            input[k] += g[k] * (ek - v[k]);
        }
    }
    let mut count = 0u32;
    for k in 0..n {
        let v_old = v[k];
        let v_new = v_old + p.dt_phi * (((p.v_rest - v_old) + p.r * input[k]) * p.inv_tau);
        // <= on the rounded f32 difference (SEMANTICS section 7)
        let refractory = (t - t_last[k]) <= p.tau_ref;
        let held = select(refractory, v_old, v_new);
        let fired = held >= p.v_th;
        v[k] = select(fired, p.v_reset, held);
        t_last[k] = select(fired, t, t_last[k]);
        spike[k] = fired as u32;
        count += fired as u32;
    }
    count
}
