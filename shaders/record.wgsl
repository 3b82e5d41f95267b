// One recorded step of one monitor: the picked neurons of every batch row into one row of its
// chunk buffer (twin: src/cpu/reference/record.rs). Values are stored as raw 32-bit words (f32
// bits); spikes as bits, 32 neurons to a word (GeNN's recording buffers: a 32nd of the
// readback), OR-ed into a row the engine clears at the start of each chunk.

const MODE_COPY: u32 = 0u;    // fsrc[base + idx]
const MODE_RING: u32 = 1u;    // fsrc[(step % ring) * n * batch + idx]: a group's newest output
const MODE_SPIKE: u32 = 2u;   // usrc[idx] != 0 (LIF spike flags), as a bit
const MODE_STAMP: u32 = 3u;   // usrc[(step % ring) * n * batch + idx] == step (a source's spikes), as a bit
const MODE_CURRENT: u32 = 4u; // sum over slots k of output k of fsrc[k * n * batch + idx] at V = vsrc[idx]

struct RecordParams {
    mode: u32,
    n: u32,          // values per batch row at the source
    batch: u32,
    base: u32,       // offset of the values in fsrc (copy mode)
    ring: u32,       // ring slots (ring and stamp modes)
    slot_first: u32, // slots summed (current mode)
    slot_end: u32,
    pick_start: u32, // the recorded neurons: pick_start .. pick_start + pick_len, or pick[] (use_list)
    pick_len: u32,
    use_list: u32,
    every: u32,      // steps between recorded steps
    _pad0: u32,
}

@group(1) @binding(0) var<uniform> p: RecordParams;
@group(1) @binding(1) var<storage, read> fsrc: array<f32>;
@group(1) @binding(2) var<storage, read> usrc: array<u32>;
@group(1) @binding(3) var<storage, read> vsrc: array<f32>;
@group(1) @binding(4) var<storage, read> outputs: array<SlotOutput>;
@group(1) @binding(5) var<storage, read> pick: array<u32>;
@group(1) @binding(6) var<storage, read_write> out: array<atomic<u32>>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(wid, lid, nwg);
    let width = p.batch * p.pick_len;
    if (id >= width) {
        return;
    }
    let b = id / p.pick_len;
    let k = id % p.pick_len;
    var neuron = p.pick_start + k;
    if (p.use_list != 0u) {
        neuron = pick[k];
    }
    let idx = b * p.n + neuron;
    let all = p.batch * p.n;
    let row = now.step / p.every - (now.chunk_start + p.every - 1u) / p.every;
    if (p.mode == MODE_SPIKE || p.mode == MODE_STAMP) {
        var spiked: bool;
        if (p.mode == MODE_SPIKE) {
            spiked = usrc[idx] != 0u;
        } else {
            spiked = usrc[(now.step % p.ring) * all + idx] == now.step;
        }
        if (spiked) {
            // words per batch row: ceil(pick_len / 32)
            let per_row = (p.pick_len + 31u) / 32u;
            atomicOr(&out[row * p.batch * per_row + b * per_row + k / 32u], 1u << (k % 32u));
        }
        return;
    }
    var word = 0u;
    switch p.mode {
        case MODE_COPY: {
            word = bitcast<u32>(fsrc[p.base + idx]);
        }
        case MODE_RING: {
            word = bitcast<u32>(fsrc[(now.step % p.ring) * all + idx]);
        }
        default: {
            let v = vsrc[idx];
            var i = 0.0;
            for (var s = p.slot_first; s < p.slot_end; s++) {
                i += output_current(outputs[s], fsrc[s * all + idx], v);
            }
            word = bitcast<u32>(i);
        }
    }
    atomicStore(&out[row * width + id], word);
}
