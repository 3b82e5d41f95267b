// Event mode: the fixed-point conductance increments of the pre variables that were inside their
// transmitter window at the read step (twin: src/cpu/reference/event_scatter.rs). Each
// workgroup looks at 64 pre variables, lists the few inside their window in workgroup memory, and
// then all 64 threads walk each listed row's synapses together: a row of K synapses costs K/64
// steps of one thread instead of K (on B2, about one variable in 100 is listed). Integer atomics
// make the sums independent of the order in which threads add, so the result equals the CPU's.

struct ScatterParams {
    rows: u32,        // pre rows in this slice
    row_start: u32,   // first pre row of this slice
    n_pre: u32,
    n_post: u32,
    batch: u32,
    read_offset: u32, // the step read is now.step - read_offset
    history: u32,
    per_synapse: u32,
    _pad0: u32,
    shared_w: f32,
    decay: f32,       // exp(-beta dt) of the pre group
    scale: f32,       // fixed-point scale of the increments
}

@group(1) @binding(0) var<uniform> p: ScatterParams;
@group(1) @binding(1) var<storage, read> indptr: array<u32>;  // rows + 1, relative to this slice
@group(1) @binding(2) var<storage, read> indices: array<u32>; // post neuron per synapse
@group(1) @binding(3) var<storage, read> weights: array<f32>;
@group(1) @binding(4) var<storage, read> hist: array<f32>;    // the pre group's ring
@group(1) @binding(5) var<storage, read> on_hist: array<u32>; // inside the window, per slot
@group(1) @binding(6) var<storage, read_write> acc: array<atomic<i32>>;

// this workgroup's variables inside their window: (batch row * rows + row) and its increment
var<workgroup> listed: array<u32, WG>;
var<workgroup> listed_delta: array<f32, WG>;
var<workgroup> listed_count: atomic<u32>;
var<workgroup> listed_total: u32;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(wid, lid, nwg);
    if (lid.x == 0u) {
        atomicStore(&listed_count, 0u);
    }
    workgroupBarrier();
    // no early return: every thread must reach the barriers
    let read_step = i32(now.step) - i32(p.read_offset);
    if (id < p.rows * p.batch && read_step >= 0) {
        let b = id / p.rows;
        let r = id % p.rows;
        let width = p.batch * p.n_pre;
        let idx = b * p.n_pre + p.row_start + r;
        let slot = (u32(read_step) % p.history) * width;
        if (on_hist[slot + idx] != 0u) {
            var x_prev = 0.0;
            if (read_step >= 1) {
                x_prev = hist[(u32(read_step - 1) % p.history) * width + idx];
            }
            let k = atomicAdd(&listed_count, 1u);
            listed[k] = id;
            listed_delta[k] = hist[slot + idx] - p.decay * x_prev;
        }
    }
    workgroupBarrier();
    if (lid.x == 0u) {
        listed_total = atomicLoad(&listed_count);
    }
    let n = workgroupUniformLoad(&listed_total);
    for (var a = 0u; a < n; a++) {
        let b = listed[a] / p.rows;
        let r = listed[a] % p.rows;
        let delta = listed_delta[a];
        let q_shared = i32(round(p.shared_w * delta * p.scale));
        let end = indptr[r + 1u];
        for (var e = indptr[r] + lid.x; e < end; e += WG) {
            var q = q_shared;
            if (p.per_synapse != 0u) {
                q = i32(round(weights[e] * delta * p.scale));
            }
            atomicAdd(&acc[b * p.n_post + indices[e]], q);
        }
    }
}
