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
// per population 4 words: the first step with a NaN or infinity (u32 max: none), the lowest
// neuron (b * n + i) with one at that step (u32 max: none), what (0: V, 1: input current,
// 2 + k: slot k's conductance) and the value's bits (from one thread of that step)
@group(1) @binding(10) var<storage, read_write> nonfinite: array<atomic<u32>>;

// NaN and the infinities have an all-ones exponent (WGSL has no isnan: test the bits)
fn not_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}

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
    var bad_slot = 0xffffffffu;
    for (var k = 0u; k < p.n_inputs; k++) {
        let g = gsyn[k * p.width + idx];
        if (not_finite(g) && bad_slot == 0xffffffffu) {
            bad_slot = k;
        }
        i += output_current(outputs[k], g, v_old);
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
    // the cause first: a conductance, then the current, then V (before its reset)
    let held = select(v_new, v_old, refractory);
    if (bad_slot != 0xffffffffu || not_finite(i) || not_finite(held)) {
        var what = 0u;
        var value = held;
        if (bad_slot != 0xffffffffu) {
            what = 2u + bad_slot;
            value = gsyn[bad_slot * p.width + idx];
        } else if (not_finite(i)) {
            what = 1u;
            value = i;
        }
        let base = 4u * p.count_slot;
        // steps only grow, so a thread that finds the word at or above its step is of the first
        // step with a non-finite value; the lowest neuron of that step wins the minimum
        if (atomicMin(&nonfinite[base], now.step) >= now.step && atomicMin(&nonfinite[base + 1u], idx) > idx) {
            atomicStore(&nonfinite[base + 2u], what);
            atomicStore(&nonfinite[base + 3u], bitcast<u32>(value));
        }
    }
}
