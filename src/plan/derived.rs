//! Derived parameters: everything computed once per `dt` from a model's parameters, so no kernel
//! does transcendental work that does not depend on state (SEMANTICS-models 2.1, 9.2: XLA folds
//! these constants the same way).

use crate::model::{Kinetic, Lif, LifRef, MgBlock, Output, Synapse};

/// f32 `exp`, correctly rounded (XLA's constant folder and XLA:CPU's `exp` at the arguments
/// that matter are; f64 `exp` rounded once to f32 matches them).
pub fn exp_f32(z: f32) -> f32 {
    (z as f64).exp() as f32
}

/// BrainPy's `exprel(z) = (exp(z) - 1) / z` in f32 (`math/others.py`: the series
/// `1 + z/2 + z^2/6` for `|z| <= 1e-5`), with the exp given.
#[inline(always)]
pub fn exprel(z: f32, exp: impl Fn(f32) -> f32) -> f32 {
    if z.abs() <= 1e-5 {
        1.0 + z / 2.0 + z * z / 6.0
    } else {
        (exp(z) - 1.0) / z
    }
}

/// `dt * exprel(dt * lin)` in f32, exactly as BrainPy's `exp_auto` forms it: with it,
/// `x_new = x + dt_phi * f(x)` is the exact solution over one step of `dx/dt = f(x)` when `f` is
/// linear in `x` with slope `lin`.
pub fn dt_phi(dt: f32, lin: f32) -> f32 {
    dt * exprel(dt * lin, exp_f32)
}

/// One decay `dx/dt = -x/tau` (plus a drive) in exp_auto's folded form: `x + c (f)` with
/// `r = f32(1/tau)` and `c = dt exprel(-dt r)` (SEMANTICS-models 2.1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decay {
    /// `f32(1 / tau)`: XLA turns the division by tau into this multiplication.
    pub r: f32,
    /// `dt * exprel(-dt * r)`.
    pub c: f32,
}

impl Decay {
    /// The decay with time constant `tau` ms at step `dt` ms.
    pub fn new(tau: f32, dt: f32) -> Decay {
        let r = 1.0 / tau;
        Decay { r, c: dt_phi(dt, -r) }
    }

    /// `x + c (-x r)`: one step of pure decay.
    #[inline(always)]
    pub fn step(&self, x: f32) -> f32 {
        x + self.c * (-x * self.r)
    }
}

/// The AMPA/GABAa gating parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GatingParams {
    /// Closing rate, 1/ms.
    pub beta: f32,
    /// `alpha * T`, the rate while transmitter is present.
    pub alpha_t: f32,
    /// Transmitter pulse duration, ms.
    pub t_dur: f32,
    /// `dt_phi` while transmitter is present (`lin = -(alpha*T + beta)`).
    pub dt_phi_on: f32,
    /// `dt_phi` outside the window (`lin = -beta`).
    pub dt_phi_off: f32,
    /// `exp(-beta * dt)`: the exact one-step decay outside the window (event mode).
    pub decay: f32,
}

impl GatingParams {
    /// Derives the parameters of a kinetic synapse for time step `dt` (ms).
    pub fn new(k: &Kinetic, dt: f32) -> Self {
        let alpha_t = k.alpha * k.t_conc;
        GatingParams {
            beta: k.beta,
            alpha_t,
            t_dur: k.t_dur,
            dt_phi_on: dt_phi(dt, -(alpha_t + k.beta)),
            dt_phi_off: dt_phi(dt, -k.beta),
            decay: exp_f32(-k.beta * dt),
        }
    }
}

/// The derived parameters of each synapse model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SynParams {
    /// AMPA, GABAa.
    Kinetic(GatingParams),
    /// Expon: one decay.
    Expon(Decay),
    /// DualExpon: `g` decays with `d` and is driven by the old `h`; `h` decays with `r` and a
    /// spike adds `a`.
    DualExpon {
        /// Decay of g.
        d: Decay,
        /// Decay of h.
        r: Decay,
        /// What a spike adds to h (BrainPy's `a`, from `A`).
        a: f32,
    },
    /// DualExponV2: two independent decays, output `a (g_decay - g_rise)`.
    DualExponV2 {
        /// Decay of g_decay.
        d: Decay,
        /// Decay of g_rise.
        r: Decay,
        /// BrainPy's `A`.
        a: f32,
    },
    /// Alpha: `g += c (-g r + h r)` with the old h, `h` decays, a spike adds 1 to h.
    Alpha(Decay),
    /// NMDA: the g equation's linear part depends on x, so its exprel is evaluated every step.
    Nmda {
        /// The saturating rate `a`.
        a: f32,
        /// `f32(1 / tau_decay)`.
        r_d: f32,
        /// Decay of x.
        x: Decay,
    },
}

/// BrainPy's `_dual_exp_a` (DualExpon, `abstract_models.py`): with `A = None`,
/// `float_power(tau_r / tau_d, tau_r / (tau_r - tau_d)) / tau_r` in f32 (x64 off), `e / tau` when
/// the two are equal; with `A`, `(tau_d - tau_r) / tau_r / tau_d * A` in Python floats.
fn dual_expon_a(tau_d: f32, tau_r: f32, a: Option<f32>) -> f32 {
    let (td, tr) = (tau_d as f64, tau_r as f64);
    match a {
        Some(a) => ((td - tr) / tr / td * a as f64) as f32,
        None if tau_d == tau_r => (std::f64::consts::E / td) as f32,
        None => {
            // Python floats in, jnp.float_power in f32 (x64 off): round the arguments, then the
            // power (computed in f64 and rounded once)
            let (base, expo) = power_args(td, tr);
            (base.powf(expo) as f32) / tau_r
        }
    }
}

/// `tau_r / tau_d` and `tau_r / (tau_r - tau_d)` as Python computes them (f64) and jnp takes
/// them (rounded to f32), back in f64 for the power.
fn power_args(td: f64, tr: f64) -> (f64, f64) {
    (((tr / td) as f32) as f64, ((tr / (tr - td)) as f32) as f64)
}

/// BrainPy's `_format_dual_exp_A` (DualExponV2): `A = None` gives the peak normaliser
/// `tau_d / (tau_d - tau_r) * float_power(tau_r / tau_d, tau_r / (tau_r - tau_d))` (the first
/// factor in Python floats, the power in f32, the product in f32).
fn dual_expon_v2_a(tau_d: f32, tau_r: f32, a: Option<f32>) -> f32 {
    match a {
        Some(a) => a,
        None => {
            let factor = (tau_d as f64 / (tau_d as f64 - tau_r as f64)) as f32;
            let (base, expo) = power_args(tau_d as f64, tau_r as f64);
            factor * (base.powf(expo) as f32)
        }
    }
}

impl SynParams {
    /// Derives the parameters of `s` for time step `dt` (ms).
    pub fn new(s: &Synapse, dt: f32) -> SynParams {
        match *s {
            Synapse::Ampa(k) | Synapse::Gabaa(k) => SynParams::Kinetic(GatingParams::new(&k, dt)),
            Synapse::Expon { tau } => SynParams::Expon(Decay::new(tau, dt)),
            Synapse::DualExpon { tau_decay, tau_rise, a } => SynParams::DualExpon {
                d: Decay::new(tau_decay, dt),
                r: Decay::new(tau_rise, dt),
                a: dual_expon_a(tau_decay, tau_rise, a),
            },
            Synapse::DualExponV2 { tau_decay, tau_rise, a } => SynParams::DualExponV2 {
                d: Decay::new(tau_decay, dt),
                r: Decay::new(tau_rise, dt),
                a: dual_expon_v2_a(tau_decay, tau_rise, a),
            },
            Synapse::Alpha { tau_decay } => SynParams::Alpha(Decay::new(tau_decay, dt)),
            Synapse::Nmda { a, tau_decay, tau_rise } => SynParams::Nmda { a, r_d: 1.0 / tau_decay, x: Decay::new(tau_rise, dt) },
        }
    }

    /// Whether the model is linear between spikes, so that a post-side aggregate of its state
    /// follows the same equations exactly (its event-driven update): every model but the
    /// kinetic ones (which have their own window-based event update) and NMDA (whose g rises
    /// saturating, `a x (1 - g)`).
    pub fn is_linear(&self) -> bool {
        !matches!(self, SynParams::Kinetic(_) | SynParams::Nmda { .. })
    }
}

/// How a neuron's input slot turns its conductance into current.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutputParams {
    /// `g (E - V)`.
    Coba {
        /// Reversal potential, mV.
        e: f32,
    },
    /// `g`.
    Cuba,
    /// `g (E - V) / (1 + k exp(alpha (V_offset - V)))`.
    MgBlock {
        /// Reversal potential, mV.
        e: f32,
        /// `cc_Mg / beta`, divided in f64 and rounded once (as BrainPy divides Python floats).
        k: f32,
        /// Voltage sensitivity, 1/mV.
        alpha: f32,
        /// Voltage offset, mV.
        v_offset: f32,
    },
}

impl From<&Output> for OutputParams {
    fn from(o: &Output) -> Self {
        match *o {
            Output::Coba(c) => OutputParams::Coba { e: c.e },
            Output::Cuba => OutputParams::Cuba,
            Output::MgBlock(MgBlock { e, cc_mg, alpha, beta, v_offset }) => {
                OutputParams::MgBlock { e, k: (cc_mg as f64 / beta as f64) as f32, alpha, v_offset }
            }
        }
    }
}

/// Derived LIF parameters (`Lif` and `LifRef`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NeuronParams {
    /// Resting potential, mV.
    pub v_rest: f32,
    /// Spike threshold, mV.
    pub v_th: f32,
    /// Reset potential after a spike, mV.
    pub v_reset: f32,
    /// Membrane resistance.
    pub r: f32,
    /// `1/tau` (XLA turns the division by tau into this multiplication).
    pub inv_tau: f32,
    /// `dt_phi` of the membrane equation (`lin = -1/tau`).
    pub dt_phi: f32,
    /// Refractory period, ms (LifRef).
    pub tau_ref: f32,
    /// Whether the model has a refractory period (LifRef) or not (Lif).
    pub refractory: bool,
}

impl NeuronParams {
    /// A `LifRef` population's parameters at step `dt`.
    pub fn lif_ref(l: &LifRef, dt: f32) -> Self {
        let lif = Lif { v_rest: l.v_rest, v_th: l.v_th, v_reset: l.v_reset, tau: l.tau, r: l.r, v_init: crate::model::VInit::Scalar(0.0) };
        NeuronParams { tau_ref: l.tau_ref, refractory: true, ..NeuronParams::lif(&lif, dt) }
    }

    /// A `Lif` population's parameters at step `dt`.
    pub fn lif(l: &Lif, dt: f32) -> Self {
        NeuronParams {
            v_rest: l.v_rest,
            v_th: l.v_th,
            v_reset: l.v_reset,
            r: l.r,
            inv_tau: 1.0 / l.tau,
            dt_phi: dt_phi(dt, -1.0 / l.tau),
            tau_ref: 0.0,
            refractory: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SEMANTICS-models 2.1's table of folded constants (checked there against XLA's HLO).
    #[test]
    #[allow(clippy::excessive_precision)] // the table's digits, as printed there
    fn folded_decay_constants_match_xla() {
        for (tau, c01, c005) in [
            (1.0f32, 0.09516257048f32, 0.04877054691f32),
            (2.0, 0.09754109383, 0.04938018322),
            (5.0, 0.09900658578, 0.04975080118),
            (8.0, 0.09937763214, 0.04984426498),
            (10.0, 0.09950160235, 0.04987537488),
            (20.0, 0.09975074977, 0.04993795976),
            (100.0, 0.09995102137, 0.04999041185),
        ] {
            assert_eq!(Decay::new(tau, 0.1).c, c01, "tau {tau}, dt 0.1");
            assert_eq!(Decay::new(tau, 0.05).c, c005, "tau {tau}, dt 0.05");
        }
    }

    /// The normalisers recorded with the golden cases (SEMANTICS-models 2.3, 2.4).
    #[test]
    fn dual_expon_normalisers() {
        assert_eq!(dual_expon_a(5.0, 1.0, None), 1.4953488);
        assert_eq!(dual_expon_v2_a(5.0, 1.0, None), 1.869186);
    }

    /// MgBlock's k = f32(1.2 / 3.57) (SEMANTICS-models 2.8).
    #[test]
    fn mg_block_k() {
        let OutputParams::MgBlock { k, .. } = OutputParams::from(&Output::MgBlock(MgBlock::default())) else { unreachable!() };
        assert_eq!(k, 0.33613446);
    }
}
