// One step of a LIF population, BrainPy's LifRef or Lif (twin: src/cpu/reference/lif_update.rs):
// the input current I_ext + sum of outputs with the old V, the exp_auto integration,
// refractoriness, threshold and reset, and the stamp ring of its spikes.

struct LifParams {
    width: u32,      // batch * n
    n: u32,          // neurons per batch row (I_ext is per neuron, shared by the batch)
    n_inputs: u32,   // input slots
    count_slot: u32, // this population's spike counter
    ring: u32,       // slots of its stamp ring (0: none)
    has_i_ext: u32,
    refractory: u32, // 1: LifRef, 0: Lif
    _pad0: u32,
    v_rest: f32,
    v_th: f32,
    v_reset: f32,
    r: f32,
    inv_tau: f32,
    dt_phi: f32,     // dt * exprel(-dt / tau)
    tau_ref: f32,
    _pad1: f32,
}

@group(1) @binding(0) var<uniform> p: LifParams;
@group(1) @binding(1) var<storage, read> outputs: array<SlotOutput>; // one per input slot
@group(1) @binding(2) var<storage, read> gsyn: array<f32>;             // n_inputs slots of width
@group(1) @binding(3) var<storage, read> i_ext: array<f32>;            // n (has_i_ext)
@group(1) @binding(4) var<storage, read_write> v: array<f32>;
@group(1) @binding(5) var<storage, read_write> t_last: array<f32>;
@group(1) @binding(6) var<storage, read_write> spike: array<u32>;
@group(1) @binding(7) var<storage, read_write> input: array<f32>;
@group(1) @binding(8) var<storage, read_write> stamps: array<u32>;     // ring slots of width
@group(1) @binding(9) var<storage, read_write> counts: array<atomic<u32>>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = linear_id(wid, lid, nwg);
    if (idx >= p.width) {
        return;
    }
    let v_old = v[idx];
    // I_ext + o_1(V) + o_2(V) + ..., left to right, as BrainPy's sum_current_inputs
    var i = 0.0;
    if (p.has_i_ext != 0u) {
        i = i_ext[idx % p.n];
    }
    for (var k = 0u; k < p.n_inputs; k++) {
        i += output_current(outputs[k], gsyn[k * p.width + idx], v_old);
    }
    let v_new = v_old + p.dt_phi * (((p.v_rest - v_old) + p.r * i) * p.inv_tau);
    // <= on the rounded f32 difference (SEMANTICS section 7)
    let refractory = p.refractory != 0u && (now.t - t_last[idx]) <= p.tau_ref;
    var vv = select(v_new, v_old, refractory);
    let fired = vv >= p.v_th;
    if (fired) {
        vv = p.v_reset;
        t_last[idx] = now.t;
        atomicAdd(&counts[p.count_slot], 1u);
        if (p.ring != 0u) {
            stamps[(now.step % p.ring) * p.width + idx] = now.step;
        }
    }
    v[idx] = vv;
    spike[idx] = select(0u, 1u, fired);
    input[idx] = i;
}
