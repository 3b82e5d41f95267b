//! CPU twin of `shaders/lif_update.wgsl`: COBA currents and one LifRef step
//! (BrainPy `LifRef.update`, SEMANTICS section 7).

use crate::model::plan::LifParams;

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
    // I = 0 + g_0 (E_0 - V) + g_1 (E_1 - V) + ..., with the old V; the first term is written
    // (`0 + x`, as the shader adds it to 0) rather than added to a cleared array
    let (input, v) = (&mut s.input[..width], &s.v[..width]);
    match e.first() {
        None => input.fill(0.0),
        Some(&e0) => {
            let g = &s.gsyn[..width];
            for k in 0..width {
                input[k] = 0.0 + g[k] * (e0 - v[k]);
            }
        }
    }
    for (k_in, &ek) in e.iter().enumerate().skip(1) {
        let g = &s.gsyn[k_in * width..(k_in + 1) * width];
        for k in 0..width {
            input[k] += g[k] * (ek - v[k]);
        }
    }
    let mut count = 0u32;
    let (v, t_last, spike, input) = (&mut s.v[..width], &mut s.t_last[..width], &mut s.spike[..width], &s.input[..width]);
    for k in 0..width {
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
    count as u64
}
