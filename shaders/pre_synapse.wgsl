// One step of a pre-aligned synapse group, one state per pre neuron and batch row: this step's
// spikes of the pre population in, the output into the group's history ring (which is also its
// delay line) (twin: src/cpu/reference/pre_synapse.rs). For every model but DualExponV2 the
// output is the state g, read from the previous ring slot.

struct PreSynapseParams {
    syn: SynapseParams,
    width: u32,       // batch * n
    history: u32,     // ring slots
    from_stamp: u32,  // 1: pre is a spike source (its stamp ring), 0: a LIF population (flags)
    stamp_ring: u32,  // slots of the source's stamp ring
    window: u32,      // 1: AMPA/GABAa in event mode, write which variables are inside their window
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(1) @binding(0) var<uniform> p: PreSynapseParams;
@group(1) @binding(1) var<storage, read> pre_spike: array<u32>;
@group(1) @binding(2) var<storage, read_write> states: array<f32>;  // extra states, width each
@group(1) @binding(3) var<storage, read_write> ring: array<f32>;    // history slots of outputs
@group(1) @binding(4) var<storage, read_write> window: array<u32>;  // like ring (event mode)

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = linear_id(wid, lid, nwg);
    if (idx >= p.width) {
        return;
    }
    var spiked: bool;
    if (p.from_stamp != 0u) {
        spiked = pre_spike[(now.step % p.stamp_ring) * p.width + idx] == now.step;
    } else {
        spiked = pre_spike[idx] != 0u;
    }
    let x = select(0.0, 1.0, spiked);
    var g = 0.0;
    if (now.step > 0u) {
        g = ring[((now.step - 1u) % p.history) * p.width + idx];
    }
    let slot = (now.step % p.history) * p.width + idx;
    var out: f32;
    switch p.syn.model {
        case MODEL_KINETIC: {
            var sat = states[idx];
            if (spiked) {
                sat = now.t;
                states[idx] = sat;
            }
            // strict <, on the rounded f32 difference (SEMANTICS section 3)
            let on = (now.t - sat) < p.syn.t_dur;
            if (p.window != 0u) {
                window[slot] = select(0u, 1u, on);
            }
            out = kinetic_step(p.syn, on, g);
        }
        case MODEL_EXPON: {
            out = decay_step(p.syn.d_r, p.syn.d_c, g) + x;
        }
        case MODEL_DUAL_EXPON: {
            let gh = dual_expon_step(p.syn, g, states[idx], x);
            states[idx] = gh.y;
            out = gh.x;
        }
        case MODEL_ALPHA: {
            let gh = alpha_step(p.syn, g, states[idx], x);
            states[idx] = gh.y;
            out = gh.x;
        }
        case MODEL_NMDA: {
            let gx = nmda_step(p.syn, g, states[idx], x);
            states[idx] = gx.y;
            out = gx.x;
        }
        default: {
            // DualExponV2: g_rise, g_decay
            let rise = decay_step(p.syn.r_r, p.syn.r_c, states[idx]) + x;
            let decay = decay_step(p.syn.d_r, p.syn.d_c, states[p.width + idx]) + x;
            states[idx] = rise;
            states[p.width + idx] = decay;
            out = p.syn.a * (decay - rise);
        }
    }
    ring[slot] = out;
}
