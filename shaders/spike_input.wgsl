// Stamp the source neurons whose events fall on this step into the source's stamp ring (twin:
// src/cpu/reference/spike_input.rs). One thread per event; "stamp == step" in slot
// `step % ring` means "spiked at that step", so nothing has to be cleared.

struct SpikeInputParams {
    ring: u32,   // slots of the stamp ring
    width: u32,  // batch * n
    _pad0: u32,
    _pad1: u32,
}

@group(1) @binding(0) var<uniform> p: SpikeInputParams;
@group(1) @binding(1) var<storage, read> offsets: array<u32>;       // steps + 1: events of step i
@group(1) @binding(2) var<storage, read> events: array<u32>;        // neuron (b * n + i) per event
@group(1) @binding(3) var<storage, read_write> stamps: array<u32>;  // ring slots of width

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = offsets[now.step] + linear_id(wid, lid, nwg);
    if (e >= offsets[now.step + 1u]) {
        return;
    }
    stamps[(now.step % p.ring) * p.width + events[e]] = now.step;
}
