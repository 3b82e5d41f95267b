// Conductance of one pre-aligned projection (or one range of its slices) as a post-major gather
// of its group's delayed output, in the sliced layout SELL-32 (src/plan/sell.rs; twin:
// src/cpu/reference/csr_gather.rs). Post rows go in slices of 32, one row per thread: the 32
// threads of a warp read the k-th synapse of their 32 rows from 32 consecutive slots, one
// coalesced transaction, instead of 32 cache lines a row length apart. Each row is still summed
// alone in pre order (BrainPy's order), with no atomics: the result is the CPU's, bit for bit.
// A thread sums a tile of up to TILE batch rows, reading each synapse's index and weight once.

const TILE: u32 = 8u;
const LANES: u32 = 32u;

struct GatherParams {
    slices: u32,      // slices in this dispatch
    n_pre: u32,
    n_post: u32,
    batch: u32,
    read_offset: u32, // the step read is now.step - read_offset
    history: u32,     // ring slots of the pre group
    out_base: u32,    // this projection's slot in the post gsyn buffer
    per_synapse: u32, // 1: weights[] per slot, 0: shared_w
    narrow: u32,      // 1: two 16-bit pre indices per word of `slots`
    shared_w: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(1) @binding(0) var<uniform> p: GatherParams;
@group(1) @binding(1) var<storage, read> slice_ptr: array<u32>;      // slices + 1: first column of each, relative
@group(1) @binding(2) var<storage, read> lanes: array<vec2<u32>>;    // per lane: (post row or u32 max, row length)
@group(1) @binding(3) var<storage, read> slots: array<u32>;          // pre neuron per slot
@group(1) @binding(4) var<storage, read> weights: array<f32>;        // per slot (per_synapse)
@group(1) @binding(5) var<storage, read> hist: array<f32>;           // the pre group's ring
@group(1) @binding(6) var<storage, read_write> gsyn: array<f32>;

fn pre_index(q: u32) -> u32 {
    if (p.narrow != 0u) {
        return (slots[q >> 1u] >> ((q & 1u) * 16u)) & 0xffffu;
    }
    return slots[q];
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(wid, lid, nwg);
    let per_tile = p.slices * LANES;
    let tiles = (p.batch + TILE - 1u) / TILE;
    if (id >= per_tile * tiles) {
        return;
    }
    let b0 = (id / per_tile) * TILE;
    let bt = min(TILE, p.batch - b0);
    let lane = id % per_tile;
    let info = lanes[lane];
    let row = info.x;
    if (row == 0xffffffffu) {
        return;
    }
    let read_step = i32(now.step) - i32(p.read_offset);
    if (read_step < 0) {
        // before the delay has filled, the state read is the initial one, 0
        for (var b = 0u; b < bt; b++) {
            gsyn[p.out_base + (b0 + b) * p.n_post + row] = 0.0;
        }
        return;
    }
    let base = (u32(read_step) % p.history) * (p.batch * p.n_pre) + b0 * p.n_pre;
    let first = slice_ptr[lane / LANES] * LANES + lane % LANES;
    if (bt == 1u) {
        // one row: a register accumulator (a private array would live in slower memory)
        var sum = 0.0;
        for (var k = 0u; k < info.y; k++) {
            let q = first + k * LANES;
            var w = p.shared_w;
            if (p.per_synapse != 0u) {
                w = weights[q];
            }
            sum += w * hist[base + pre_index(q)];
        }
        gsyn[p.out_base + b0 * p.n_post + row] = sum;
        return;
    }
    var acc: array<f32, TILE>;
    for (var b = 0u; b < TILE; b++) {
        acc[b] = 0.0;
    }
    for (var k = 0u; k < info.y; k++) {
        let q = first + k * LANES;
        let i = pre_index(q);
        var w = p.shared_w;
        if (p.per_synapse != 0u) {
            w = weights[q];
        }
        for (var b = 0u; b < bt; b++) {
            acc[b] += w * hist[base + b * p.n_pre + i];
        }
    }
    for (var b = 0u; b < bt; b++) {
        gsyn[p.out_base + (b0 + b) * p.n_post + row] = acc[b];
    }
}
