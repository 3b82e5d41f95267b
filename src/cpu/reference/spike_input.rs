//! CPU twin of `shaders/spike_input.wgsl`: stamp the source neurons whose events fall on this
//! step into the source's stamp ring.
//!
//! A spike is recorded as "stamp == step" in ring slot `step % ring`, so nothing has to be
//! cleared and a delayed reader asks slot `s % ring` whether it holds `s`. Each batch row has its
//! own stamps; an event shared by the batch (BrainPy's sources are) is listed once per row in the
//! plan.

/// Marks the events of `step`: `stamp[(step % ring) * width + neuron] = step`.
pub fn spike_input(step: u32, step_offsets: &[u32], event_neurons: &[u32], ring: u32, width: usize, stamp: &mut [u32]) {
    let (start, end) = (step_offsets[step as usize], step_offsets[step as usize + 1]);
    let base = (step % ring) as usize * width;
    for e in start..end {
        stamp[base + event_neurons[e as usize] as usize] = step;
    }
}
