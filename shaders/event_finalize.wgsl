// Event mode: y = d y + acc / scale for one projection's post conductance, and acc back to 0
// for the next step (twin: src/cpu/reference/event_finalize.rs).

struct FinalizeParams {
    width: u32,     // batch * n_post
    out_base: u32,  // this projection's slot in the post gsyn buffer
    decay: f32,
    inv_scale: f32,
}

@group(1) @binding(0) var<uniform> p: FinalizeParams;
@group(1) @binding(1) var<storage, read_write> acc: array<i32>;
@group(1) @binding(2) var<storage, read_write> gsyn: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = linear_id(wid, lid, nwg);
    if (idx >= p.width) {
        return;
    }
    gsyn[p.out_base + idx] = p.decay * gsyn[p.out_base + idx] + f32(acc[idx]) * p.inv_scale;
    acc[idx] = 0;
}
