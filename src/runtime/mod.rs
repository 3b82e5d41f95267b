//! The runtime: an [`Engine`] runs steps chunk by chunk and hands each chunk of monitored values
//! to a sink (the `.npy` writers, a test, a figure), so memory never holds a whole run.

pub mod output;
pub mod plot;
pub mod progress;

use crate::error::Result;
use crate::plan::{MonitorPlan, Plan};

/// The values of one monitor over one chunk of steps, row-major `[rows, batch * n]`.
#[derive(Clone, Debug, PartialEq)]
pub enum MonitorData {
    /// Continuous values (conductance, potential, current).
    F32(Vec<f32>),
    /// Spikes, 1 or 0.
    Spike(Vec<u8>),
}

impl MonitorData {
    /// A zeroed buffer for `len` values of monitor `m`'s kind.
    pub fn for_monitor(m: &MonitorPlan, len: usize) -> Self {
        if m.spikes {
            MonitorData::Spike(vec![0; len])
        } else {
            MonitorData::F32(vec![0.0; len])
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
            _ => unreachable!("a monitor's kind is fixed by its plan"),
        }
    }

    /// The continuous values, or `None` for spikes.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match self {
            MonitorData::F32(v) => Some(v),
            MonitorData::Spike(_) => None,
        }
    }

    /// The spike flags, or `None` for continuous values.
    pub fn as_spikes(&self) -> Option<&[u8]> {
        match self {
            MonitorData::Spike(v) => Some(v),
            MonitorData::F32(_) => None,
        }
    }
}

/// Monitored values of steps `start .. start + steps`, one entry per monitor in order; each
/// holds the recorded rows among those steps (see [`MonitorPlan::rows_between`]).
#[derive(Clone, Debug)]
pub struct Chunk {
    /// First step of the chunk.
    pub start: usize,
    /// Number of steps in the chunk.
    pub steps: usize,
    /// Values of each monitor, in monitor order.
    pub data: Vec<MonitorData>,
}

impl Chunk {
    /// Zeroed buffers for steps `start .. start + steps` of every monitor.
    pub fn new(monitors: &[MonitorPlan], start: usize, steps: usize) -> Self {
        let data = monitors.iter().map(|m| MonitorData::for_monitor(m, m.rows_between(start, start + steps) * m.width())).collect();
        Chunk { start, steps, data }
    }
}

/// What a whole run reports besides the monitors.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Spikes emitted by each population over the whole run, all batch rows together.
    pub spike_counts: Vec<u64>,
}

/// Which engine ran, for the summary.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EngineInfo {
    /// "cpu" or "gpu".
    pub backend: String,
    /// The device: "cpu (N threads, ...)" or the GPU adapter's name.
    pub device: String,
    /// The graphics API of a GPU adapter ("Vulkan", ...), absent on the CPU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// The GPU driver and its version, absent on the CPU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
}

/// An engine that runs a compiled network: the CPU engine or the GPU engine.
pub trait Engine {
    /// "cpu", or the GPU adapter and API.
    fn describe(&self) -> EngineInfo;

    /// The plan it runs (its monitors are what each chunk's data holds; its matrices have been
    /// handed to the engine).
    fn plan(&self) -> &Plan;

    /// Runs the remaining steps, in chunks of at most `chunk_steps`, handing each chunk to `sink`
    /// in order. An engine may compute ahead (the GPU computes chunk k+1 while the sink writes
    /// chunk k).
    fn run(&mut self, chunk_steps: usize, sink: &mut dyn FnMut(&Chunk) -> Result<()>) -> Result<RunStats>;
}

/// Runs an engine and keeps every monitor in memory (for tests and small runs).
pub fn run_collect(engine: &mut dyn Engine, chunk_steps: usize) -> Result<(Vec<MonitorData>, RunStats)> {
    let mut all = Chunk::new(&engine.plan().monitors, 0, 0).data;
    let stats = engine.run(chunk_steps, &mut |c| {
        for (a, b) in all.iter_mut().zip(&c.data) {
            a.extend(b);
        }
        Ok(())
    })?;
    Ok((all, stats))
}
