// Shared by every kernel (prepended by the host): the per-step values, bound with a dynamic
// offset so a whole chunk of steps is recorded without touching buffers between steps, and the
// 2-D dispatch index (one dispatch dimension holds at most 65535 workgroups).

struct StepInfo {
    step: u32,
    t: f32,        // f32(step) * f32(dt), rounded on the host exactly as the CPU engine does
    row: u32,      // row of this step in the chunk's monitor buffers
    ev_start: u32, // this step's source events: events[ev_start .. ev_end]
    ev_end: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> now: StepInfo;

const WG: u32 = 64u;

fn linear_id(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * WG + lid.x;
}
