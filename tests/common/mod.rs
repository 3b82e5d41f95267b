//! Helpers shared by the integration tests:
//! * [`engines`]: the engines a test runs on (CPU always, GPU when there is an adapter, a
//!   failure when the GPU is required and absent), and running a network on one;
//! * [`golden`]: the golden cases of the repository (and the optional `../shared/golden`);
//! * [`random`]: seeded random networks and connectivity;
//! * [`npy`]: a small independent `.npy` reader;
//! * [`cli`]: running the `spikegpu` binary.
//!
//! The comparison rules themselves are the library's (`spikegpu::runtime::compare`), the same
//! ones `spikegpu compare` applies.
#![allow(dead_code, unused_imports)]

pub mod cli;
pub mod engines;
pub mod golden;
pub mod npy;
pub mod random;

pub use cli::{cli, run_cli, run_cli_read, scratch_dir};
pub use engines::{engines, has_gpu, run, run_cpu, run_engine, EngineKind, Run};
pub use npy::{read_npy, Npy};
pub use random::{random_network, random_network_json, test_seeds, Models, NetOpts, VInitMode};
pub use spikegpu::runtime::compare::{compare, Expected, Kind, Layout, Report, SpikeRule, Tolerance};
pub use spikegpu::runtime::MonitorData;
pub use spikegpu::UpdateMode;

/// Both update modes.
pub const MODES: [UpdateMode; 2] = [UpdateMode::Dense, UpdateMode::Event];

/// Index of the monitor named `name`.
pub fn monitor_index(layout: &Layout, name: &str) -> usize {
    layout.monitor(name).unwrap_or_else(|| panic!("no monitor named {name:?}"))
}

/// The f32 values of a monitor (panics on a spike monitor).
pub fn f32s(d: &MonitorData) -> &[f32] {
    d.as_f32().expect("a spike monitor has no f32 values")
}

/// The spike flags of a monitor (panics on an f32 monitor).
pub fn spikes(d: &MonitorData) -> &[u8] {
    d.as_spikes().expect("an f32 monitor has no spike flags")
}

/// Spikes per LIF population of a run (all batch rows), by population name, from its spike
/// monitors of every neuron at every step.
pub fn lif_spike_counts(run: &Run) -> Vec<(String, usize)> {
    let l = &run.layout;
    l.monitors
        .iter()
        .zip(&run.data)
        .filter_map(|(m, d)| {
            let pop = &l.populations[m.pop?];
            let full = m.every == 1 && m.neurons.len() == pop.size;
            match d {
                MonitorData::Spike(v) if pop.lif && full => Some((pop.name.clone(), v.iter().filter(|&&x| x != 0).count())),
                _ => None,
            }
        })
        .collect()
}

/// Batch row `b` of every monitor of a batched run, as a batch-1 run would record it.
pub fn batch_row(layout: &Layout, data: &[MonitorData], b: usize) -> Vec<MonitorData> {
    let batch = layout.batch;
    layout
        .monitors
        .iter()
        .zip(data)
        .map(|(m, d)| {
            let n = m.neurons.len();
            let pick = |len: usize| (0..len / (batch * n)).flat_map(move |s| (s * batch + b) * n..(s * batch + b + 1) * n);
            match d {
                MonitorData::F32(x) => MonitorData::F32(pick(x.len()).map(|i| x[i]).collect()),
                MonitorData::Spike(x) => MonitorData::Spike(pick(x.len()).map(|i| x[i]).collect()),
            }
        })
        .collect()
}

/// Compares run `a` (e.g. the GPU's) with run `b` (e.g. the CPU's) under the golden README's
/// rules, `b` taking the place of the expected traces.
pub fn compare_runs(a: &Run, b: &Run, tol: &Tolerance, label: &str) -> Report {
    compare(&b.layout, &a.data, &Expected::from_run(&b.layout, &b.data), tol, label)
}

/// Panics unless `a` and `b` (runs of `layout`) are bit-identical, naming the first differing
/// monitor, step, batch row and neuron. `context` should carry the seed.
pub fn assert_bit_identical(layout: &Layout, a: &[MonitorData], b: &[MonitorData], context: &str) {
    if let Some(d) = spikegpu::runtime::compare::first_difference(layout, a, b) {
        panic!("{context}: not bit-identical: {d}");
    }
}

/// Panics with the whole report (and `context`, e.g. the seed) when `rep` failed.
pub fn assert_ok(rep: &Report, context: &str) {
    assert!(rep.ok(), "{context}: comparison failed\n{rep}");
}
