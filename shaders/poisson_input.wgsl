// One step of a Poisson input (BrainPy's PoissonInput; twin: src/cpu/reference/poisson_input.rs):
// each neuron of each batch row draws its count from the law's threshold table and adds
// count * weight to its V, or count * q into its accumulator's slot of this step. The uniform
// draws are Philox4x32-10 words, key = the seed: neurons come in blocks of 64, and neuron
// 64 k + 16 w + l takes word w of counter [16 k + l, row, step, stream], so a thread owns one
// counter and its 4 neurons (16 apart: neighbouring threads write neighbouring neurons) and
// needs no generator state; the counts are integer comparisons, so they are the CPU's on any
// device.

const SINK_VOLTAGE: u32 = 0u;

struct PoissonInputParams {
    n: u32,           // neurons per batch row
    batch: u32,
    counters: u32,    // counters per batch row: 16 per block of 64 neurons
    sink: u32,        // 0: V, 1: accumulator
    key0: u32,        // the seed, low word
    key1: u32,        // the seed, high word
    stream: u32,      // the input's index
    first: u32,       // the smallest count
    len: u32,         // thresholds
    ring: u32,        // slots of the accumulator ring
    weight: f32,      // added to V per count
    q: i32,           // added to the accumulator per count (fixed point)
}

@group(1) @binding(0) var<uniform> p: PoissonInputParams;
@group(1) @binding(1) var<storage, read> thresholds: array<u32>;
@group(1) @binding(2) var<storage, read_write> v: array<f32>;
@group(1) @binding(3) var<storage, read_write> acc: array<i32>;

// the high word of the 64-bit product a * b, from 16-bit halves (WGSL has no 64-bit integers)
fn mul_hi(a: u32, b: u32) -> u32 {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let lo_lo = a_lo * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_lo = a_hi * b_lo;
    let mid = (lo_lo >> 16u) + (lo_hi & 0xffffu) + (hi_lo & 0xffffu);
    return a_hi * b_hi + (lo_hi >> 16u) + (hi_lo >> 16u) + (mid >> 16u);
}

fn philox4x32_10(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = ctr;
    var k = key;
    for (var round = 0u; round < 10u; round++) {
        if (round > 0u) {
            k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        }
        let m0 = 0xD2511F53u;
        let m1 = 0xCD9E8D57u;
        c = vec4<u32>(mul_hi(m1, c.z) ^ c.y ^ k.x, m1 * c.z, mul_hi(m0, c.x) ^ c.w ^ k.y, m0 * c.x);
    }
    return c;
}

// the first count plus the thresholds u reaches (a binary search of the ascending table)
fn count_of(u: u32) -> u32 {
    var lo = 0u;
    var hi = p.len;
    while (lo < hi) {
        let mid = (lo + hi) / 2u;
        if (thresholds[mid] <= u) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return p.first + lo;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(wid, lid, nwg);
    if (id >= p.counters * p.batch) {
        return;
    }
    let b = id / p.counters;
    let counter = id % p.counters;
    let words = philox4x32_10(vec4<u32>(counter, b, now.step, p.stream), vec2<u32>(p.key0, p.key1));
    let slot = (now.step % p.ring) * p.batch * p.n;
    for (var lane = 0u; lane < 4u; lane++) {
        let i = (counter / 16u) * 64u + lane * 16u + counter % 16u;
        if (i < p.n) {
            let c = count_of(words[lane]);
            let idx = b * p.n + i;
            if (p.sink == SINK_VOLTAGE) {
                v[idx] = v[idx] + f32(c) * p.weight;
            } else {
                acc[slot + idx] = acc[slot + idx] + i32(c) * p.q;
            }
        }
    }
}
