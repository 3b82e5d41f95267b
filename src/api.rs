//! Running a [`Network`] from Rust: choose an engine, run, and get the traces back in memory.
//!
//! [`run`] opens the chosen engine ([`EngineChoice::Auto`] takes a hardware GPU when one exists
//! and the CPU engine otherwise), runs every step in chunks and keeps each monitor whole in
//! memory. For runs whose monitors do not fit in memory, stream them with [`open`] and
//! [`crate::Engine::run`] and your own sink (as `spikegpu run` does into `.npy` files).
//!
//! ```
//! use spikegpu::api::{run, EngineChoice};
//! use spikegpu::model::{Coba, Conn, LifRef, NetworkBuilder, Synapse, Weights};
//!
//! let mut b = NetworkBuilder::new(0.1, 200);
//! let pre = b.spike_time_group("pre", 1, &[0], &[5.0]);
//! let post = b.lif_ref("post", 1, LifRef::brainpy_defaults());
//! let syn = b.projection("syn", pre, post, Synapse::ampa(), Conn::all_to_all(),
//!                        Weights::Shared(1.0), Coba { e: 60.0 });
//! b.monitor("g", syn.g());
//! b.monitor("V", post.v());
//! let traces = run(&b.build()?, EngineChoice::Cpu)?;
//! assert_eq!(traces.shape("V"), vec![200, 1]);
//! let g = traces.f32("g").unwrap();
//! assert!(g.iter().cloned().fold(0.0, f32::max) > 0.1);
//! # Ok::<(), spikegpu::Error>(())
//! ```

use crate::cpu::CpuEngine;
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, GpuEngine, GpuOptions};
use crate::model::Network;
use crate::plan::{Plan, UpdateMode};
use crate::runtime::{run_collect, Engine, EngineInfo, MonitorData};
use std::time::Instant;

/// Steps per chunk when none is given: monitors are read back from an engine once per chunk.
pub const DEFAULT_CHUNK_STEPS: usize = 1000;

/// Which engine runs a network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EngineChoice {
    /// A hardware GPU when one exists, else the CPU engine. A software adapter (such as Mesa's
    /// lavapipe) is never picked: the CPU engine is faster than a CPU emulating a GPU.
    #[default]
    Auto,
    /// The CPU engine.
    Cpu,
    /// The GPU engine on any adapter, a software one included; fails when none exists.
    Gpu,
}

impl std::str::FromStr for EngineChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(EngineChoice::Auto),
            "cpu" => Ok(EngineChoice::Cpu),
            "gpu" => Ok(EngineChoice::Gpu),
            _ => Err(format!("unknown engine \"{s}\" (known: auto, cpu, gpu)")),
        }
    }
}

/// How a network is run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Which engine.
    pub engine: EngineChoice,
    /// How projections compute their conductance.
    pub mode: UpdateMode,
    /// Steps per chunk (monitors are handed over once per chunk).
    pub chunk_steps: usize,
    /// GPU engine knobs.
    pub gpu: GpuOptions,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { engine: EngineChoice::Auto, mode: UpdateMode::Dense, chunk_steps: DEFAULT_CHUNK_STEPS, gpu: GpuOptions::default() }
    }
}

/// An opened engine, and what a user should be told about the choice and the plan (one line
/// each: no library code prints).
pub struct Opened {
    /// The engine, ready to run.
    pub engine: Box<dyn Engine>,
    /// Notices: why `auto` took the CPU, a projection that runs another update than asked.
    pub notes: Vec<String>,
}

/// Compiles `net` (consuming it, so its matrices are not copied) and opens the engine `opts`
/// asks for.
pub fn open(net: Network, opts: &RunOptions) -> Result<Opened> {
    if opts.chunk_steps == 0 {
        return Err(Error::invalid("chunk_steps", "must be at least 1"));
    }
    let plan = Plan::from_network(net, opts.mode)?;
    let mut notes = plan.notes.clone();
    let gpu_opts = GpuOptions { chunk_steps: Some(opts.gpu.chunk_steps.unwrap_or(opts.chunk_steps)), ..opts.gpu.clone() };
    let engine: Box<dyn Engine> = match opts.engine {
        EngineChoice::Cpu => Box::new(CpuEngine::from_plan(plan)?),
        EngineChoice::Gpu => Box::new(GpuEngine::new(GpuContext::new()?, plan, gpu_opts)?),
        EngineChoice::Auto => match GpuContext::new() {
            Ok(ctx) if !ctx.is_software() => Box::new(GpuEngine::new(ctx, plan, gpu_opts)?),
            Ok(ctx) => {
                notes.push(format!(
                    "the only GPU adapter is a software one ({}); running on the CPU engine, which is faster (--backend gpu uses it anyway)",
                    ctx.adapter_name()
                ));
                Box::new(CpuEngine::from_plan(plan)?)
            }
            Err(Error::NoAdapter(why)) => {
                notes.push(format!("no GPU adapter ({why}); running on the CPU engine"));
                Box::new(CpuEngine::from_plan(plan)?)
            }
            Err(e) => return Err(e),
        },
    };
    Ok(Opened { engine, notes })
}

/// Every monitor of a finished run, whole, plus what the run reports besides.
#[derive(Clone, Debug)]
pub struct Traces {
    /// Which engine ran ("cpu" or "gpu", the device, the graphics API).
    pub backend: EngineInfo,
    /// Seconds the engine spent running (including monitor readback), not counting its setup.
    pub wall_seconds: f64,
    /// Time step of the run, ms.
    pub dt_ms: f64,
    /// Steps run.
    pub steps: usize,
    /// Batch copies run.
    pub batch: usize,
    /// Notices about the run (see [`Opened::notes`]).
    pub notes: Vec<String>,
    names: Vec<String>,
    shapes: Vec<Vec<usize>>,
    every: Vec<usize>,
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
        self.get(name)?.as_f32()
    }

    /// The values of a spike monitor (1 or 0 per neuron and step); `None` when there is no
    /// monitor `name` or it records a continuous variable.
    pub fn spikes(&self, name: &str) -> Option<&[u8]> {
        self.get(name)?.as_spikes()
    }

    /// The shape of monitor `name`, as its `.npy` file would have it: `[rows, n]`, or
    /// `[rows, batch, n]` when batched. Empty when there is no monitor `name`.
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

    /// The time in ms of each recorded row of monitor `name` (`f32(step) * f32(dt)` as BrainPy
    /// computes it, steps `0, every, 2 every, ...`): the x axis of its plot.
    pub fn times_ms(&self, name: &str) -> Vec<f32> {
        let dt = self.dt_ms as f32;
        match self.position(name) {
            Some(k) => (0..self.shapes[k][0]).map(|r| crate::model::step_time(r * self.every[k], dt)).collect(),
            None => Vec::new(),
        }
    }

    /// All monitors, in the network's order.
    pub fn data(&self) -> &[MonitorData] {
        &self.data
    }
}

/// Runs `net` on `engine` and returns every monitor (dense update, chunks of
/// [`DEFAULT_CHUNK_STEPS`]). The network is validated first, so a hand-made or edited
/// [`Network`] is checked as a file is.
pub fn run(net: &Network, engine: EngineChoice) -> Result<Traces> {
    run_with(net, &RunOptions { engine, ..RunOptions::default() })
}

/// [`run`] with every option.
pub fn run_with(net: &Network, opts: &RunOptions) -> Result<Traces> {
    net.validate()?;
    let Opened { mut engine, notes } = open(net.clone(), opts)?;
    let start = Instant::now();
    let (data, stats) = run_collect(engine.as_mut(), opts.chunk_steps)?;
    let wall_seconds = start.elapsed().as_secs_f64();
    let monitors = &engine.plan().monitors;
    Ok(Traces {
        backend: engine.describe(),
        wall_seconds,
        dt_ms: net.dt,
        steps: net.steps,
        batch: net.batch,
        notes,
        names: monitors.iter().map(|m| m.name.clone()).collect(),
        shapes: monitors.iter().map(|m| m.shape()).collect(),
        every: monitors.iter().map(|m| m.every).collect(),
        data,
        spike_counts: net.populations.iter().map(|p| p.name.clone()).zip(stats.spike_counts.iter().copied()).collect(),
    })
}
