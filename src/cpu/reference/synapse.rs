//! CPU twin of `shaders/shared/synapse.wgsl`: one variable's step of each synapse model, in
//! BrainPy's exp_auto form (SEMANTICS 3, SEMANTICS-models 2), shared by the pre-side kernel
//! ([`super::pre_synapse`], where `x` is this step's spike, 0 or 1) and the accumulator-fed one
//! ([`super::post_synapse`], where `x` is the summed weighted spikes). Every equation of a
//! two-state model reads the old values of both states (BrainPy's JointEq).

use crate::plan::{Decay, GatingParams};

/// AMPA/GABAa: `g + dt_phi (alpha_t (1 - g) - beta g)` with `alpha_t = 0` outside the
/// transmitter window.
#[inline(always)]
pub fn kinetic(p: &GatingParams, on: bool, g: f32) -> f32 {
    let alpha_t = if on { p.alpha_t } else { 0.0 };
    let dt_phi = if on { p.dt_phi_on } else { p.dt_phi_off };
    let f = alpha_t * (1.0 - g) - p.beta * g;
    g + dt_phi * f
}

/// Expon: `g + c (-g r)`, then `+ x`.
#[inline(always)]
pub fn expon(d: &Decay, g: f32, x: f32) -> f32 {
    d.step(g) + x
}

/// DualExpon: `g + c_d (-g r_d + h)` and `h + c_r (-h r_r) + a x`.
#[inline(always)]
pub fn dual_expon(d: &Decay, r: &Decay, a: f32, g: f32, h: f32, x: f32) -> (f32, f32) {
    (g + d.c * (-g * d.r + h), r.step(h) + a * x)
}

/// Alpha: `g + c (-g r + h r)` and `h + c (-h r) + x`.
#[inline(always)]
pub fn alpha(d: &Decay, g: f32, h: f32, x: f32) -> (f32, f32) {
    (g + d.c * (-g * d.r + h * d.r), d.step(h) + x)
}

/// NMDA: `g + dt phi (a x (1 - g) - g r_d)` with `phi = exprel(-dt (a x + r_d))` at run time,
/// and `x + c (-x r) + s`.
#[inline(always)]
pub fn nmda(a: f32, r_d: f32, xd: &Decay, dt: f32, g: f32, x: f32, s: f32) -> (f32, f32) {
    let ax = a * x;
    let lin = -(ax + r_d);
    let z = dt * lin;
    let phi = if z.abs() <= 1e-5 { 1.0 + z * 0.5 + z * z * (1.0 / 6.0) } else { (super::math::exp(z) - 1.0) / z };
    (g + (dt * phi) * (ax * (1.0 - g) - g * r_d), xd.step(x) + s)
}
