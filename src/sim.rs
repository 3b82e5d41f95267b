//! The runtime: a [`Backend`] runs steps chunk by chunk and hands each chunk of monitored
//! values to a sink (the `.npy` writers, a test, a plot), so memory never holds a whole run.

use crate::error::Result;
use crate::model::{Network, Target};

/// The values of one monitor over one chunk of steps, row-major `[steps, batch * n]`.
#[derive(Clone, Debug, PartialEq)]
pub enum MonitorData {
    /// Continuous values (conductance, potential, current).
    F32(Vec<f32>),
    /// Spikes, 1 or 0.
    Spike(Vec<u8>),
}

impl MonitorData {
    /// A buffer for `len` values of the kind `target` records.
    pub fn for_target(target: Target, len: usize) -> Self {
        match target {
            Target::PopSpike(_) => MonitorData::Spike(vec![0; len]),
            _ => MonitorData::F32(vec![0.0; len]),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            MonitorData::F32(v) => v.len(),
            MonitorData::Spike(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends another chunk (used to collect whole traces in memory, e.g. in tests).
    pub fn extend(&mut self, other: &MonitorData) {
        match (self, other) {
            (MonitorData::F32(a), MonitorData::F32(b)) => a.extend_from_slice(b),
            (MonitorData::Spike(a), MonitorData::Spike(b)) => a.extend_from_slice(b),
            _ => panic!("monitor kinds differ between chunks"),
        }
    }
}

/// Monitored values of steps `start .. start + steps`, one entry per network monitor in order.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// First step of the chunk.
    pub start: usize,
    /// Number of steps in the chunk.
    pub steps: usize,
    /// Values of each monitor, in network monitor order.
    pub data: Vec<MonitorData>,
}

impl Chunk {
    /// Zeroed buffers for `steps` steps of every monitor of `net`.
    pub fn new(net: &Network, start: usize, steps: usize) -> Self {
        let data = net.monitors.iter().map(|m| MonitorData::for_target(m.target, steps * net.monitor_width(m.target))).collect();
        Chunk { start, steps, data }
    }
}

/// What a whole run reports besides the monitors.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Spikes emitted by each population over the whole run, all batch rows together.
    pub spike_counts: Vec<u64>,
}

/// An engine that can run a network: the CPU reference or the GPU engine.
pub trait Backend {
    /// "cpu", or the GPU adapter and API.
    fn describe(&self) -> BackendInfo;

    /// Runs all steps of the network, in chunks of at most `chunk_steps`, handing each chunk to
    /// `sink` in order. A backend may compute ahead (the GPU computes chunk k+1 while the sink
    /// writes chunk k).
    fn run(&mut self, chunk_steps: usize, sink: &mut dyn FnMut(&Chunk) -> Result<()>) -> Result<RunStats>;
}

/// Which engine ran, for the summary.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BackendInfo {
    /// "cpu" or "gpu".
    pub backend: String,
    /// The device: "cpu (N threads)" or the GPU adapter's name.
    pub device: String,
    /// The graphics API of a GPU adapter ("Vulkan", ...), absent on the CPU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
}

/// Runs a backend and keeps every monitor in memory (for tests and small runs).
pub fn run_collect(backend: &mut dyn Backend, net: &Network, chunk_steps: usize) -> Result<(Vec<MonitorData>, RunStats)> {
    let mut all = Chunk::new(net, 0, 0).data;
    let stats = backend.run(chunk_steps, &mut |c| {
        for (a, b) in all.iter_mut().zip(&c.data) {
            a.extend(b);
        }
        Ok(())
    })?;
    Ok((all, stats))
}
