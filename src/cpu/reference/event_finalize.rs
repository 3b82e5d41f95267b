//! CPU twin of `shaders/event_finalize.wgsl`: `y = d y + acc / scale` for one projection's
//! conductance in AMPA/GABAa event mode, and `acc` back to 0 for the next step.

/// `y = d y + acc * inv_scale`; `acc` cleared.
#[multiversion::multiversion(targets = "simd")] // wider vectors where the CPU has them: same bits
pub fn event_finalize(decay: f32, inv_scale: f32, acc: &mut [i32], y: &mut [f32]) {
    for (y, a) in y.iter_mut().zip(acc.iter_mut()) {
        *y = decay * *y + (*a as f32) * inv_scale;
        *a = 0;
    }
}
