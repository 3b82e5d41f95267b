// Conductance of one pre-aligned projection (or one slice of its post rows) as a post-major
// gather of its group's delayed output (twin: src/cpu/reference/csr_gather.rs). One thread per (tile of up to TILE
// batch rows, post neuron): each synapse's index and weight are read once for the whole tile.
// Terms are added in pre order, as BrainPy's scatter adds them, with no atomics, so the result
// is deterministic and the same for any batch size.

const TILE: u32 = 8u;

struct GatherParams {
    rows: u32,        // post rows in this slice
    row_start: u32,   // first post row of this slice
    n_pre: u32,
    n_post: u32,
    batch: u32,
    read_offset: u32, // the step read is now.step - read_offset
    history: u32,     // ring slots of the pre group
    out_base: u32,    // this projection's slot in the post gsyn buffer
    per_synapse: u32, // 1: weights[] per synapse, 0: shared_w
    shared_w: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(1) @binding(0) var<uniform> p: GatherParams;
@group(1) @binding(1) var<storage, read> indptr: array<u32>;  // rows + 1, relative to this slice
@group(1) @binding(2) var<storage, read> indices: array<u32>; // pre neuron per synapse
@group(1) @binding(3) var<storage, read> weights: array<f32>;
@group(1) @binding(4) var<storage, read> hist: array<f32>;    // the pre group's ring
@group(1) @binding(5) var<storage, read_write> gsyn: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(wid, lid, nwg);
    let tiles = (p.batch + TILE - 1u) / TILE;
    if (id >= p.rows * tiles) {
        return;
    }
    let b0 = (id / p.rows) * TILE;
    let bt = min(TILE, p.batch - b0);
    let r = id % p.rows;
    let read_step = i32(now.step) - i32(p.read_offset);
    if (read_step < 0) {
        // before the delay has filled, the state read is the initial one, 0
        for (var b = 0u; b < bt; b++) {
            gsyn[p.out_base + (b0 + b) * p.n_post + p.row_start + r] = 0.0;
        }
        return;
    }
    let base = (u32(read_step) % p.history) * (p.batch * p.n_pre) + b0 * p.n_pre;
    let start = indptr[r];
    let end = indptr[r + 1u];
    if (bt == 1u) {
        // one row: a register accumulator (a private array would live in slower memory)
        var sum = 0.0;
        if (p.per_synapse != 0u) {
            for (var e = start; e < end; e++) {
                sum += weights[e] * hist[base + indices[e]];
            }
        } else {
            for (var e = start; e < end; e++) {
                sum += p.shared_w * hist[base + indices[e]];
            }
        }
        gsyn[p.out_base + b0 * p.n_post + p.row_start + r] = sum;
        return;
    }
    var acc: array<f32, TILE>;
    for (var b = 0u; b < TILE; b++) {
        acc[b] = 0.0;
    }
    for (var e = start; e < end; e++) {
        let i = indices[e];
        var w = p.shared_w;
        if (p.per_synapse != 0u) {
            w = weights[e];
        }
        for (var b = 0u; b < bt; b++) {
            acc[b] += w * hist[base + b * p.n_pre + i];
        }
    }
    for (var b = 0u; b < bt; b++) {
        gsyn[p.out_base + (b0 + b) * p.n_post + p.row_start + r] = acc[b];
    }
}
