// The delayed pre spikes of one projection (or one slice of its pre rows) times their weights,
// into its accumulator in fixed point (twin: src/cpu/reference/spike_scatter.rs). Each workgroup
// looks at 64 pre variables, lists the ones that spiked at the read step in workgroup memory, and
// then all 64 threads walk each listed row together. Integer atomics make the sums independent of
// the order in which threads add, so the result equals the CPU's. The accumulator is a ring of
// acc_ring slots: a synapse of lag k (per-synapse delays) adds into slot (step + k) % acc_ring.

struct SpikeScatterParams {
    rows: u32,        // pre rows in this slice
    row_start: u32,   // first pre row of this slice
    n_pre: u32,
    n_post: u32,
    batch: u32,
    read_offset: u32, // the step read is now.step - read_offset
    ring: u32,        // slots of the pre population's stamp ring
    per_synapse: u32, // 1: weights[] per synapse, 0: shared_q
    shared_q: i32,    // the shared weight in fixed point
    scale: f32,       // fixed-point scale of the weights
    acc_ring: u32,    // slots of the accumulator ring
    lagged: u32,      // 1: lags[] per synapse, 0: every lag 0
}

@group(1) @binding(0) var<uniform> p: SpikeScatterParams;
@group(1) @binding(1) var<storage, read> indptr: array<u32>;  // rows + 1, relative to this slice
@group(1) @binding(2) var<storage, read> indices: array<u32>; // post neuron per synapse
@group(1) @binding(3) var<storage, read> weights: array<f32>;
@group(1) @binding(4) var<storage, read> stamps: array<u32>;  // the pre population's stamp ring
@group(1) @binding(5) var<storage, read> lags: array<u32>;    // lag per synapse, when lagged
@group(1) @binding(6) var<storage, read_write> acc: array<atomic<i32>>;

// this workgroup's spiking variables: batch row * rows + row
var<workgroup> listed: array<u32, WG>;
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
        if (stamps[(u32(read_step) % p.ring) * width + idx] == u32(read_step)) {
            let k = atomicAdd(&listed_count, 1u);
            listed[k] = id;
        }
    }
    workgroupBarrier();
    if (lid.x == 0u) {
        listed_total = atomicLoad(&listed_count);
    }
    let n = workgroupUniformLoad(&listed_total);
    let slot_len = p.batch * p.n_post;
    for (var a = 0u; a < n; a++) {
        let b = listed[a] / p.rows;
        let r = listed[a] % p.rows;
        let end = indptr[r + 1u];
        for (var e = indptr[r] + lid.x; e < end; e += WG) {
            var q = p.shared_q;
            if (p.per_synapse != 0u) {
                q = i32(round(weights[e] * p.scale));
            }
            var lag = 0u;
            if (p.lagged != 0u) {
                lag = lags[e];
            }
            let slot = (now.step + lag) % p.acc_ring;
            atomicAdd(&acc[slot * slot_len + b * p.n_post + indices[e]], q);
        }
    }
}
