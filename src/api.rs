//! Running a [`Network`] from Rust and getting its traces back in memory.
//!
//! [`run`] opens the chosen engine ([`BackendChoice::Auto`] takes the GPU when one exists and
//! falls back to the CPU), runs every step in chunks and keeps each monitor whole in memory. For
//! runs whose monitors do not fit in memory, stream them to `.npy` files with `spikegpu run`
//! (or [`crate::sim::Backend::run`] with your own sink) instead.
//!
//! ```
//! use spikegpu::api::{run, BackendChoice};
//! use spikegpu::model::builder::{Conn, NetworkBuilder};
//! use spikegpu::model::{Coba, LifRef, Synapse, Weights};
//!
//! let mut b = NetworkBuilder::new(0.1, 200);
//! let pre = b.spike_time_group("pre", 1, &[0], &[5.0]);
//! let post = b.lif_ref("post", 1, LifRef::brainpy_defaults());
//! let syn = b.projection("syn", pre, post, Synapse::ampa(), Conn::all_to_all(),
//!                        Weights::Shared(1.0), Coba { e: 60.0 });
//! b.monitor("g", syn.g());
//! b.monitor("V", post.v());
//! let traces = run(&b.build()?, BackendChoice::Cpu)?;
//! assert_eq!(traces.shape("V"), vec![200, 1]);
//! let g = traces.f32("g").unwrap();
//! assert!(g.iter().cloned().fold(0.0, f32::max) > 0.1);
//! # Ok::<(), spikegpu::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::model::Network;
use std::time::Instant;

pub use crate::cli::BackendChoice;
pub use crate::sim::{BackendInfo, MonitorData};

/// Steps per chunk [`run`] uses: monitors are read back from the engine once per chunk.
pub const DEFAULT_CHUNK_STEPS: usize = 1000;

/// Every monitor of a finished run, whole, plus what the run reports besides.
#[derive(Clone, Debug)]
pub struct Traces {
    /// Which engine ran ("cpu" or "gpu", the device, the graphics API).
    pub backend: BackendInfo,
    /// Seconds the engine spent running (including monitor readback), not counting its setup.
    pub wall_seconds: f64,
    /// Time step of the run, ms.
    pub dt_ms: f64,
    /// Steps run.
    pub steps: usize,
    /// Batch copies run.
    pub batch: usize,
    names: Vec<String>,
    shapes: Vec<Vec<usize>>,
    data: Vec<MonitorData>,
    spike_counts: Vec<(String, u64)>,
}

impl Traces {
    /// The monitor names, in the network's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The values of monitor `name`, row-major over [`Traces::shape`]; `None` when the network
    /// has no monitor of that name.
    pub fn get(&self, name: &str) -> Option<&MonitorData> {
        self.position(name).map(|k| &self.data[k])
    }

    /// The values of a continuous monitor (`V`, `g`, currents); `None` when there is no monitor
    /// `name` or it records spikes.
    pub fn f32(&self, name: &str) -> Option<&[f32]> {
        match self.get(name)? {
            MonitorData::F32(v) => Some(v),
            MonitorData::Spike(_) => None,
        }
    }

    /// The values of a spike monitor (1 or 0 per neuron and step); `None` when there is no
    /// monitor `name` or it records a continuous variable.
    pub fn spikes(&self, name: &str) -> Option<&[u8]> {
        match self.get(name)? {
            MonitorData::Spike(v) => Some(v),
            MonitorData::F32(_) => None,
        }
    }

    /// The shape of monitor `name`, as its `.npy` file would have it: `[steps, n]`, or
    /// `[steps, batch, n]` when batched. Empty when there is no monitor `name`.
    pub fn shape(&self, name: &str) -> Vec<usize> {
        self.position(name).map(|k| self.shapes[k].clone()).unwrap_or_default()
    }

    /// Spikes emitted by each population over the whole run (all batch copies together), in the
    /// network's population order, with the population's name.
    pub fn spike_counts(&self) -> &[(String, u64)] {
        &self.spike_counts
    }

    /// Spikes emitted by population `name` over the whole run (all batch copies together).
    pub fn spike_count(&self, population: &str) -> Option<u64> {
        self.spike_counts.iter().find(|(n, _)| n == population).map(|&(_, c)| c)
    }

    /// The time of each step in ms, `f32(i) * f32(dt)` as BrainPy computes it (an x axis for
    /// plots).
    pub fn times_ms(&self) -> Vec<f32> {
        let dt = self.dt_ms as f32;
        (0..self.steps).map(|i| crate::model::step_time(i, dt)).collect()
    }

    /// All monitors, in the network's order (for writing them out alongside the network).
    pub fn data(&self) -> &[MonitorData] {
        &self.data
    }
}

/// Runs `net` on `backend` and returns every monitor (chunks of [`DEFAULT_CHUNK_STEPS`] steps).
/// The network is validated first, so a hand-made or edited [`Network`] is checked as a file is.
pub fn run(net: &Network, backend: BackendChoice) -> Result<Traces> {
    run_chunked(net, backend, DEFAULT_CHUNK_STEPS)
}

/// [`run`] with `chunk_steps` steps per chunk (how often monitors are read back from a GPU).
pub fn run_chunked(net: &Network, backend: BackendChoice, chunk_steps: usize) -> Result<Traces> {
    if chunk_steps == 0 {
        return Err(Error::invalid("chunk_steps", "must be at least 1"));
    }
    net.validate()?;
    let mut engine = crate::cli::open_backend_with(backend, crate::model::plan::UpdateMode::Dense, chunk_steps, std::borrow::Cow::Borrowed(net))?;
    let start = Instant::now();
    let (data, stats) = crate::sim::run_collect(engine.as_mut(), net, chunk_steps)?;
    let wall_seconds = start.elapsed().as_secs_f64();
    Ok(Traces {
        backend: engine.describe(),
        wall_seconds,
        dt_ms: net.dt,
        steps: net.steps,
        batch: net.batch,
        names: net.monitors.iter().map(|m| m.name.clone()).collect(),
        shapes: net.monitors.iter().map(|m| net.monitor_shape(m.target)).collect(),
        data,
        spike_counts: net.populations.iter().map(|p| p.name.clone()).zip(stats.spike_counts.iter().copied()).collect(),
    })
}
