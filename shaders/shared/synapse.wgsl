// One variable's step of each synapse model, BrainPy's exp_auto form (twin:
// src/cpu/reference/synapse.rs), shared by pre_synapse.wgsl (x = this step's spike, 0 or 1) and
// post_synapse.wgsl (x = the summed weighted spikes). Two-state models read the old values of
// both states (BrainPy's JointEq).

const MODEL_KINETIC: u32 = 0u;
const MODEL_EXPON: u32 = 1u;
const MODEL_DUAL_EXPON: u32 = 2u;
const MODEL_DUAL_EXPON_V2: u32 = 3u;
const MODEL_ALPHA: u32 = 4u;
const MODEL_NMDA: u32 = 5u;

// The derived parameters of one synapse (src/gpu/uniforms.rs `SynapseParams`). A decay
// `x + c (-x r)` is the pair (r, c).
struct SynapseParams {
    model: u32,
    a: f32,          // DualExpon: what a spike adds to h; DualExponV2: A; NMDA: a
    d_r: f32,        // decay of g (NMDA: r_d = 1 / tau_decay, c unused)
    d_c: f32,
    r_r: f32,        // the second state's decay (DualExpon h, DualExponV2 g_rise, NMDA x; Alpha: d_r again)
    r_c: f32,
    beta: f32,       // AMPA/GABAa
    alpha_t: f32,
    t_dur: f32,
    dt_phi_on: f32,
    dt_phi_off: f32,
    dt: f32,
}

fn decay_step(r: f32, c: f32, x: f32) -> f32 {
    return x + c * (-x * r);
}

fn kinetic_step(s: SynapseParams, on: bool, g: f32) -> f32 {
    var alpha_t = 0.0;
    var dt_phi = s.dt_phi_off;
    if (on) {
        alpha_t = s.alpha_t;
        dt_phi = s.dt_phi_on;
    }
    let f = alpha_t * (1.0 - g) - s.beta * g;
    return g + dt_phi * f;
}

// (g, second state) after one step with input x
fn dual_expon_step(s: SynapseParams, g: f32, h: f32, x: f32) -> vec2<f32> {
    return vec2<f32>(g + s.d_c * (-g * s.d_r + h), decay_step(s.r_r, s.r_c, h) + s.a * x);
}

// -g r + h r with r taken from two fields holding the same value (d_r, r_r): with one value the
// driver factors it into (h - g) r, which rounds differently from the CPU
fn alpha_step(s: SynapseParams, g: f32, h: f32, x: f32) -> vec2<f32> {
    return vec2<f32>(g + s.d_c * (-g * s.d_r + h * s.r_r), decay_step(s.d_r, s.d_c, h) + x);
}

fn nmda_step(s: SynapseParams, g: f32, x: f32, spike: f32) -> vec2<f32> {
    let ax = s.a * x;
    let lin = -(ax + s.d_r);
    let z = s.dt * lin;
    var phi: f32;
    if (abs(z) <= 1e-5) {
        phi = 1.0 + z * 0.5 + z * z * 0.16666667;
    } else {
        phi = (exp_poly(z) - 1.0) / z;
    }
    return vec2<f32>(g + (s.dt * phi) * (ax * (1.0 - g) - g * s.d_r), decay_step(s.r_r, s.r_c, x) + spike);
}
