// One step of a state per post neuron fed by a fixed-point accumulator, binding its conductance
// into its neuron input slot and clearing the accumulator (twin:
// src/cpu/reference/post_synapse.rs). Post-aligned: add, then decay; the event-mode aggregate of
// a linear pre-aligned synapse: decay, then add. The accumulator is a ring of `ring` slots (per-
// synapse delays); step i reads and clears slot i % ring.

const KIND_POST_ALIGNED: u32 = 0u;

struct PostSynapseParams {
    syn: SynapseParams,
    width: u32,       // batch * n_post
    kind: u32,        // 0: post-aligned, 1: aggregate
    slot_base: u32,   // the neuron input slot in gsyn
    inv_scale: f32,   // 1 / the accumulator's fixed-point scale
    ring: u32,        // slots of the accumulator ring
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(1) @binding(0) var<uniform> p: PostSynapseParams;
@group(1) @binding(1) var<storage, read_write> acc: array<i32>;
@group(1) @binding(2) var<storage, read_write> states: array<f32>;
@group(1) @binding(3) var<storage, read_write> gsyn: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = linear_id(wid, lid, nwg);
    if (idx >= p.width) {
        return;
    }
    let a = (now.step % p.ring) * p.width + idx;
    let y = f32(acc[a]) * p.inv_scale;
    acc[a] = 0;
    let w = p.width;
    var out: f32;
    if (p.kind == KIND_POST_ALIGNED) {
        if (p.syn.model == MODEL_EXPON) {
            out = decay_step(p.syn.d_r, p.syn.d_c, states[idx] + y);
            states[idx] = out;
        } else {
            // DualExponV2
            let rise = decay_step(p.syn.r_r, p.syn.r_c, states[idx] + y);
            let decay = decay_step(p.syn.d_r, p.syn.d_c, states[w + idx] + y);
            states[idx] = rise;
            states[w + idx] = decay;
            out = p.syn.a * (decay - rise);
        }
    } else {
        switch p.syn.model {
            case MODEL_EXPON: {
                out = decay_step(p.syn.d_r, p.syn.d_c, states[idx]) + y;
                states[idx] = out;
            }
            case MODEL_DUAL_EXPON: {
                let gh = dual_expon_step(p.syn, states[idx], states[w + idx], y);
                states[idx] = gh.x;
                states[w + idx] = gh.y;
                out = gh.x;
            }
            case MODEL_ALPHA: {
                let gh = alpha_step(p.syn, states[idx], states[w + idx], y);
                states[idx] = gh.x;
                states[w + idx] = gh.y;
                out = gh.x;
            }
            default: {
                // DualExponV2
                let rise = decay_step(p.syn.r_r, p.syn.r_c, states[idx]) + y;
                let decay = decay_step(p.syn.d_r, p.syn.d_c, states[w + idx]) + y;
                states[idx] = rise;
                states[w + idx] = decay;
                out = p.syn.a * (decay - rise);
            }
        }
    }
    gsyn[p.slot_base + idx] = out;
}
