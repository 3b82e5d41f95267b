// Stamp the source neurons whose events fall on this step (twin: src/cpu/spike_input.rs).
// One thread per event; "stamp == step" means "spiked now", so nothing has to be cleared.

@group(1) @binding(0) var<storage, read> events: array<u32>;      // neuron (global source index) per event
@group(1) @binding(1) var<storage, read_write> stamp: array<u32>; // all sources, concatenated

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = now.ev_start + linear_id(wid, lid, nwg);
    if (e >= now.ev_end) {
        return;
    }
    stamp[events[e]] = now.step;
}
