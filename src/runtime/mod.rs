//! The runtime: an [`Engine`] runs steps chunk by chunk and hands each chunk of monitored values
//! to a sink (the `.npy` writers, a test, a figure), so memory never holds a whole run.

pub mod checkpoint;
pub mod compare;
pub mod output;
pub mod plot;
pub mod progress;

pub use checkpoint::Checkpoint;

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
    /// Non-finite values found while [`NonFinitePolicy::Record`] let the run go on: the first
    /// one of each population (as [`crate::Error::NonFinite`] would have named it).
    pub nonfinite: Vec<String>,
    /// GPU engine: the device's own time for the steps run, from timestamp queries (`None`
    /// where the adapter has none, and on the CPU).
    pub gpu_seconds: Option<f64>,
    /// GPU engine: host time spent recording and submitting the steps' commands.
    pub encode_seconds: Option<f64>,
    /// GPU engine: compute dispatches recorded, per step (phases whose work is empty that step,
    /// such as a source without events, are skipped).
    pub dispatches_per_step: Option<f64>,
}

/// What an engine does when a LIF population's V, input current or an input conductance
/// becomes NaN or infinite.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NonFinitePolicy {
    /// Stop the run with [`crate::Error::NonFinite`] (the default). The CPU engine stops after
    /// the step; the GPU engine finds it when the chunk is read back.
    #[default]
    Stop,
    /// Go on, and report the first occurrence per population in [`RunStats::nonfinite`].
    Record,
}

/// The first non-finite value an engine found in a LIF population, by variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonFiniteVar {
    /// The membrane potential.
    V,
    /// The input current.
    Input,
    /// The conductance of input slot `k`.
    Slot(usize),
}

/// Where a non-finite value was found: the error naming it, from the plan's names.
pub(crate) fn nonfinite_error(plan: &Plan, neuron: usize, var: NonFiniteVar, step: usize, idx: usize, value: f32) -> crate::Error {
    let l = &plan.neurons[neuron];
    let pop = &plan.populations[l.pop].name;
    let what = match var {
        NonFiniteVar::V => format!("population \"{pop}\" V"),
        NonFiniteVar::Input => format!("population \"{pop}\" input current"),
        NonFiniteVar::Slot(k) => {
            let names: Vec<String> = l.inputs[k].projections.iter().map(|&p| format!("\"{}\"", plan.projection_names[p])).collect();
            format!("the conductance of projection {} onto \"{pop}\"", names.join(" and "))
        }
    };
    crate::Error::NonFinite { what, step, neuron: idx % l.n, batch_row: (plan.batch > 1).then_some(idx / l.n), value }
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

    /// Steps run so far.
    fn steps_done(&self) -> usize;

    /// Runs up to `steps` more steps (fewer at the end of the run), in chunks of at most
    /// `chunk_steps`, handing each chunk to `sink` in order, and returns with nothing in flight
    /// (so a [`Engine::checkpoint`] can follow). An engine may compute ahead within the call
    /// (the GPU computes chunk k+1 while the sink writes chunk k). An error from `sink` stops the
    /// run and is returned.
    fn run_steps(&mut self, steps: usize, chunk_steps: usize, sink: &mut dyn FnMut(&Chunk) -> Result<()>) -> Result<()>;

    /// What the run reports so far besides the monitors.
    fn stats(&self) -> RunStats;

    /// What to do about non-finite values (default: stop).
    fn set_nonfinite(&mut self, policy: NonFinitePolicy);

    /// The complete simulation state after the steps run so far.
    fn checkpoint(&mut self) -> Result<Checkpoint>;

    /// Continues from a checkpoint of the same plan on the same kind of engine.
    fn restore(&mut self, c: &Checkpoint) -> Result<()>;

    /// Runs the remaining steps (see [`Engine::run_steps`]).
    fn run(&mut self, chunk_steps: usize, sink: &mut dyn FnMut(&Chunk) -> Result<()>) -> Result<RunStats> {
        self.run_steps(usize::MAX, chunk_steps, sink)?;
        Ok(self.stats())
    }
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
