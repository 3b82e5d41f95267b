// Shared by every kernel (prepended by the host with the other files of shaders/shared/): the
// per-step values, bound with a dynamic offset so a whole chunk of steps is recorded without
// touching buffers between steps, and the 2-D dispatch index (one dispatch dimension holds at
// most 65535 workgroups).

struct StepInfo {
    step: u32,
    t: f32,           // f32(step) * f32(dt), rounded on the host exactly as the CPU engine does
    chunk_start: u32, // first step of this chunk (monitor rows count from it)
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> now: StepInfo;

const WG: u32 = 64u;

fn linear_id(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * WG + lid.x;
}
