//! CPU twin of `shaders/lif_update.wgsl`: COBA currents and one LifRef step
//! (BrainPy `LifRef.update`, SEMANTICS section 7).

use crate::model::plan::LifParams;

/// The state of one LIF population, batch-major (`b * n + i`).
#[derive(Clone, Debug)]
pub struct LifState {
    pub v: Vec<f32>,
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

/// One step of every neuron. `e` holds the reversal potential of each input slot.
pub fn lif_update(p: &LifParams, t: f32, e: &[f32], s: &mut LifState) {
    let width = s.v.len();
    for idx in 0..width {
        let v_old = s.v[idx];
        let i = coba_current(&s.gsyn, width, idx, e, v_old);
        let v_new = v_old + p.dt_phi * (((p.v_rest - v_old) + p.r * i) * p.inv_tau);
        // <= on the rounded f32 difference (SEMANTICS section 7)
        let refractory = (t - s.t_last[idx]) <= p.tau_ref;
        let mut v = if refractory { v_old } else { v_new };
        let spike = v >= p.v_th;
        if spike {
            v = p.v_reset;
            s.t_last[idx] = t;
        }
        s.v[idx] = v;
        s.spike[idx] = spike as u32;
        s.input[idx] = i;
    }
}
