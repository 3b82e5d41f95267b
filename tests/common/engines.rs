//! The engines a test runs on, and running a network on one of them.
//!
//! [`engines`] is the one place that decides: the CPU engine always; the GPU engine when an
//! adapter exists; and a failure, not a skip, when the GPU path is required ([`gpu_required`]:
//! `CI` set and non-empty, or `SPIKEGPU_REQUIRE_GPU=1`) and no adapter exists. Each test prints
//! the adapter its GPU part ran on.

use spikegpu::plan::Plan;
use spikegpu::runtime::compare::{first_difference, Layout};
use spikegpu::runtime::{run_collect, MonitorData, RunStats};
use spikegpu::{CpuEngine, Engine, GpuContext, GpuEngine, GpuOptions, Network, UpdateMode};
use std::sync::OnceLock;

/// Whether a missing GPU fails the tests (CI, or `SPIKEGPU_REQUIRE_GPU=1`) instead of skipping
/// their GPU part. Test policy: it lives here, not in the library.
pub fn gpu_required() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty()) || std::env::var("SPIKEGPU_REQUIRE_GPU").is_ok_and(|v| v.trim() == "1")
}

/// An engine kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EngineKind {
    Cpu,
    Gpu,
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EngineKind::Cpu => "cpu",
            EngineKind::Gpu => "gpu",
        })
    }
}

impl EngineKind {
    /// The `--backend` value of the command line.
    pub fn backend(self) -> &'static str {
        match self {
            EngineKind::Cpu => "cpu",
            EngineKind::Gpu => "gpu",
        }
    }
}

/// The adapter ("name (API)"), or why there is none; probed once per test binary.
fn probe() -> &'static Result<String, String> {
    static GPU: OnceLock<Result<String, String>> = OnceLock::new();
    GPU.get_or_init(|| match GpuContext::new() {
        Ok(ctx) => Ok(format!("{} ({})", ctx.adapter_name(), ctx.backend_name())),
        Err(e) => Err(e.to_string()),
    })
}

/// The engines `test` runs on: the CPU engine, and the GPU engine when an adapter exists.
/// Panics when the GPU is required and there is none; prints which adapter the GPU part runs
/// on, or that it is not run.
pub fn engines(test: &str) -> Vec<EngineKind> {
    match probe() {
        Ok(adapter) => {
            eprintln!("{test}: on the CPU engine and the GPU engine on {adapter}");
            vec![EngineKind::Cpu, EngineKind::Gpu]
        }
        Err(e) if gpu_required() => panic!("{test}: a GPU is required (CI or SPIKEGPU_REQUIRE_GPU=1) but there is none: {e}"),
        Err(e) => {
            println!("{test}: no GPU adapter, GPU part not run ({e})");
            vec![EngineKind::Cpu]
        }
    }
}

/// Whether a GPU-only test runs (see [`engines`]).
pub fn has_gpu(test: &str) -> bool {
    engines(test).contains(&EngineKind::Gpu)
}

/// A fresh device context (after [`engines`] said there is an adapter).
pub fn gpu_context() -> GpuContext {
    GpuContext::new().unwrap_or_else(|e| panic!("the GPU adapter found before cannot be opened again: {e}"))
}

/// Opens engine `kind` on `net` in `mode` (GPU: with `gpu` options).
pub fn open_with(kind: EngineKind, net: &Network, mode: UpdateMode, gpu: GpuOptions) -> Box<dyn Engine> {
    match kind {
        EngineKind::Cpu => Box::new(CpuEngine::new(net, mode).unwrap_or_else(|e| panic!("CpuEngine::new ({mode}): {e}"))),
        EngineKind::Gpu => {
            let plan = Plan::new(net, mode).unwrap_or_else(|e| panic!("Plan::new ({mode}): {e}"));
            Box::new(GpuEngine::new(gpu_context(), plan, gpu).unwrap_or_else(|e| panic!("GpuEngine::new ({mode}): {e}")))
        }
    }
}

/// Opens engine `kind` on `net` in `mode` with default options.
pub fn open(kind: EngineKind, net: &Network, mode: UpdateMode) -> Box<dyn Engine> {
    open_with(kind, net, mode, GpuOptions::default())
}

/// A finished run kept in memory.
pub struct Run {
    /// Every monitor, whole.
    pub data: Vec<MonitorData>,
    /// Spike counts and non-finite records.
    pub stats: RunStats,
    /// What each monitor holds (with the network's links).
    pub layout: Layout,
}

impl Run {
    /// Panics unless `self` and `other` are bit-identical, naming the first difference.
    pub fn assert_bit_identical(&self, other: &Run, context: &str) {
        super::assert_bit_identical(&self.layout, &self.data, &other.data, context);
        assert_eq!(self.stats.spike_counts, other.stats.spike_counts, "{context}: spike counts differ");
    }

    /// Whether `self` and `other` are bit-identical.
    pub fn bit_identical(&self, other: &Run) -> bool {
        first_difference(&self.layout, &self.data, &other.data).is_none()
    }
}

/// Runs an opened engine to the end in chunks of `chunk` steps, and checks its spike counts
/// against its own spike monitors (every monitor of all neurons at every step).
pub fn run_engine(engine: &mut dyn Engine, net: &Network, chunk: usize, context: &str) -> Run {
    let (data, stats) = run_collect(engine, chunk).unwrap_or_else(|e| panic!("{context}: run failed: {e}"));
    let layout = Layout::from_plan(engine.plan()).with_links(net);
    assert_eq!(stats.spike_counts.len(), net.populations.len(), "{context}: spike counts per population");
    for (k, m) in layout.monitors.iter().enumerate() {
        let (MonitorData::Spike(flags), Some(pop)) = (&data[k], m.pop) else { continue };
        if m.every == 1 && m.neurons.len() == layout.populations[pop].size {
            let recorded = flags.iter().filter(|&&s| s != 0).count() as u64;
            assert_eq!(stats.spike_counts[pop], recorded, "{context}: the spike count of {} differs from its monitor {}", layout.populations[pop].name, m.name);
        }
    }
    Run { data, stats, layout }
}

/// Runs `net` on engine `kind` in `mode`, in chunks of `chunk` steps.
pub fn run(kind: EngineKind, net: &Network, mode: UpdateMode, chunk: usize) -> Run {
    let mut e = open(kind, net, mode);
    run_engine(e.as_mut(), net, chunk, &format!("{kind} {mode}"))
}

/// Runs `net` on the CPU engine, dense update.
pub fn run_cpu(net: &Network, chunk: usize) -> Run {
    run(EngineKind::Cpu, net, UpdateMode::Dense, chunk)
}
