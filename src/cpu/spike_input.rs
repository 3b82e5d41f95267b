//! CPU twin of `shaders/spike_input.wgsl`: stamp the neurons whose events fall on this step.
//!
//! A spike of a source is recorded as "stamp == this step", so no pass is needed to clear last
//! step's flags. Each batch row has its own stamps; an event shared by the batch (BrainPy's
//! sources are) is listed once per row in the plan.

/// Marks the events of `step`: `stamp[neuron] = step`.
pub fn spike_input(step: u32, step_offsets: &[u32], event_neurons: &[u32], stamp: &mut [u32]) {
    let (start, end) = (step_offsets[step as usize], step_offsets[step as usize + 1]);
    for e in start..end {
        stamp[event_neurons[e as usize] as usize] = step;
    }
}
