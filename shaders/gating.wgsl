// AMPA/GABAa gating of one group, one step, BrainPy's exp_auto form, written into the group's
// history ring, which is also its delay line (twin: src/cpu/gating.rs).

struct GatingParams {
    alpha_t: f32,    // alpha * T
    beta: f32,
    t_dur: f32,
    dt_phi_on: f32,  // dt * exprel(-dt * (alpha*T + beta))
    dt_phi_off: f32, // dt * exprel(-dt * beta)
    width: u32,      // batch * n
    _pad0: u32,
    history: u32,    // ring slots
    spike_base: u32, // offset of this population in the stamp buffer
    from_stamp: u32, // 1: pre is a spike source (stamps), 0: a LIF population (flags)
    record_on: u32,  // 1: event mode, write on_hist (which variables were inside their window)
    _pad1: u32,
}

@group(1) @binding(0) var<uniform> p: GatingParams;
@group(1) @binding(1) var<storage, read> pre_spike: array<u32>;
@group(1) @binding(2) var<storage, read_write> sat: array<f32>;
@group(1) @binding(3) var<storage, read_write> hist: array<f32>;
@group(1) @binding(4) var<storage, read_write> on_hist: array<u32>; // ring like hist (event mode)

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = linear_id(wid, lid, nwg);
    if (idx >= p.width) {
        return;
    }
    var spiked: bool;
    if (p.from_stamp != 0u) {
        spiked = pre_spike[p.spike_base + idx] == now.step;
    } else {
        spiked = pre_spike[idx] != 0u;
    }
    var s = sat[idx];
    if (spiked) {
        s = now.t;
        sat[idx] = s;
    }
    // strict <, on the rounded f32 difference (SEMANTICS section 3)
    let on = (now.t - s) < p.t_dur;
    if (p.record_on != 0u) {
        on_hist[(now.step % p.history) * p.width + idx] = select(0u, 1u, on);
    }
    var g = 0.0;
    if (now.step > 0u) {
        g = hist[((now.step - 1u) % p.history) * p.width + idx];
    }
    var alpha_t = 0.0;
    var dt_phi = p.dt_phi_off;
    if (on) {
        alpha_t = p.alpha_t;
        dt_phi = p.dt_phi_on;
    }
    let f = alpha_t * (1.0 - g) - p.beta * g;
    hist[(now.step % p.history) * p.width + idx] = g + dt_phi * f;
}
