// One monitored variable of this step into row `now.row` of its chunk buffer
// (twin: src/cpu/record.rs). Values are stored as raw 32-bit words: f32 bits or spike flags.

const MODE_COPY: u32 = 0u;    // fsrc[src_base + idx]
const MODE_RING: u32 = 1u;    // fsrc[(step % history) * width + idx]: a group's gating state
const MODE_SPIKE: u32 = 2u;   // usrc[idx] (LIF spike flags)
const MODE_STAMP: u32 = 3u;   // usrc[stamp_base + idx] == step (source spikes, one stamp per row and neuron)
const MODE_CURRENT: u32 = 4u; // sum over input slots k of fsrc[k * width + idx] * (e[k] - vsrc[idx])

struct RecordParams {
    mode: u32,
    width: u32,
    _pad0: u32,
    src_base: u32,
    history: u32,
    slot_start: u32,
    slot_end: u32,
    stamp_base: u32,
}

@group(1) @binding(0) var<uniform> p: RecordParams;
@group(1) @binding(1) var<storage, read> fsrc: array<f32>;
@group(1) @binding(2) var<storage, read> usrc: array<u32>;
@group(1) @binding(3) var<storage, read> vsrc: array<f32>;
@group(1) @binding(4) var<storage, read> e_rev: array<f32>;
@group(1) @binding(5) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = linear_id(wid, lid, nwg);
    if (idx >= p.width) {
        return;
    }
    var word = 0u;
    switch p.mode {
        case MODE_COPY: {
            word = bitcast<u32>(fsrc[p.src_base + idx]);
        }
        case MODE_RING: {
            word = bitcast<u32>(fsrc[(now.step % p.history) * p.width + idx]);
        }
        case MODE_SPIKE: {
            word = usrc[idx];
        }
        case MODE_STAMP: {
            word = select(0u, 1u, usrc[p.stamp_base + idx] == now.step);
        }
        default: {
            let v = vsrc[idx];
            var i = 0.0;
            for (var k = p.slot_start; k < p.slot_end; k++) {
                i += fsrc[k * p.width + idx] * (e_rev[k] - v);
            }
            word = bitcast<u32>(i);
        }
    }
    out[now.row * p.width + idx] = word;
}
