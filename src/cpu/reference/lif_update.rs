//! CPU twin of `shaders/lif_update.wgsl`: one step of a LIF population (BrainPy's `LifRef` and
//! `Lif` update, SEMANTICS 7, SEMANTICS-models 2.9): the input current from the old V, the
//! exp_auto integration, refractoriness, threshold and reset, and the stamp ring of its spikes.

use super::output;
use crate::plan::{NeuronParams, OutputParams};

/// The state of one LIF population, batch-major (`b * n + i`).
#[derive(Clone, Debug, PartialEq)]
pub struct LifState {
    /// Membrane potential, mV.
    pub v: Vec<f32>,
    /// Time of each neuron's last spike, ms ([`crate::plan::T_INIT`] before the first).
    pub t_last: Vec<f32>,
    /// 1 where the neuron spiked this step.
    pub spike: Vec<u32>,
    /// The current that drove this step (`I_ext` plus the outputs with the old V).
    pub input: Vec<f32>,
    /// The conductance of each input slot: `slots` runs of `batch * n`.
    pub gsyn: Vec<f32>,
}

impl LifState {
    /// Initial state from the batch-major initial V, with `slots` conductance slots.
    pub fn new(v_init: &[f32], slots: usize) -> Self {
        let w = v_init.len();
        LifState {
            v: v_init.to_vec(),
            t_last: vec![crate::plan::T_INIT; w],
            spike: vec![0; w],
            input: vec![0.0; w],
            gsyn: vec![0.0; slots * w],
        }
    }
}

/// One step of every neuron; returns how many spiked. `i_ext` is the per-neuron input current
/// (shared by the batch); `stamps` the population's stamp ring (`ring` slots of the state's
/// width; `ring == 0`: none).
#[allow(clippy::too_many_arguments)] // one argument per binding of the shader twin
pub fn lif_update(
    p: &NeuronParams,
    step: u32,
    t: f32,
    outputs: &[OutputParams],
    i_ext: Option<&[f32]>,
    s: &mut LifState,
    ring: usize,
    stamps: &mut [u32],
) -> u64 {
    let width = s.v.len();
    let n = i_ext.map_or(1, |x| x.len());
    let mut count = 0;
    for idx in 0..width {
        let v_old = s.v[idx];
        let init = i_ext.map_or(0.0, |x| x[idx % n]);
        let i = output::sum(outputs, &s.gsyn, width, idx, init, v_old);
        let v_new = v_old + p.dt_phi * (((p.v_rest - v_old) + p.r * i) * p.inv_tau);
        // <= on the rounded f32 difference (SEMANTICS section 7)
        let refractory = p.refractory && (t - s.t_last[idx]) <= p.tau_ref;
        let held = if refractory { v_old } else { v_new };
        let fired = held >= p.v_th;
        s.v[idx] = if fired { p.v_reset } else { held };
        if fired {
            s.t_last[idx] = t;
            count += 1;
            if ring > 0 {
                stamps[(step as usize % ring) * width + idx] = step;
            }
        }
        s.spike[idx] = fired as u32;
        s.input[idx] = i;
    }
    count
}
