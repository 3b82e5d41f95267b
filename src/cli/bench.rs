//! `spikegpu bench`: runs the benchmark networks of `benches/networks/` (the spec's B1, B2, B3,
//! B2x10) on each available backend, each run in a fresh child process (`spikegpu run`), so
//! every figure includes parsing, connectivity, simulation and outputs, and the peak memory is
//! that run's alone.

use spikegpu::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One measured run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchResult {
    /// Benchmark network name (file stem in `benches/networks/`).
    pub net: String,
    /// Backend that ran it (`cpu`, `cpu-event` or `gpu`).
    pub backend: String,
    /// Device the backend ran on, as the run reported it.
    pub device: String,
    /// Number of synapses in the network.
    pub synapses: u64,
    /// Number of simulation steps run.
    pub steps: u64,
    /// Whole process: parse, build, simulate, write outputs.
    pub process_seconds: f64,
    /// The simulation loop alone (with monitor readback and writing).
    pub sim_seconds: f64,
    /// Simulation steps per second of `sim_seconds`.
    pub steps_per_second: f64,
    /// Synapses times steps times batch rows, per second of `sim_seconds`.
    pub synapse_updates_per_second: f64,
    /// Peak resident memory of the child process, MiB (absent where the OS does not report it).
    pub peak_memory_mib: Option<f64>,
    /// Spikes per population, from the run's `summary.json`.
    pub spike_counts: serde_json::Value,
    /// Mean firing rate per population, Hz, from the run's `summary.json`.
    pub rates_hz: serde_json::Value,
}

/// Runs `nets` (file stems in `dir`) on `backends` ("cpu", "cpu-event", "gpu"), `repeats` times each, and
/// returns the fastest run of each pair (the least disturbed on a shared machine).
pub fn run(dir: &Path, nets: &[String], backends: &[String], repeats: usize, out_root: &Path) -> Result<Vec<BenchResult>> {
    let exe = std::env::current_exe().map_err(|e| Error::Output(format!("cannot find the spikegpu executable: {e}")))?;
    let mut results = Vec::new();
    for net in nets {
        let path = dir.join(format!("{net}.json"));
        if !path.exists() {
            return Err(Error::invalid("--nets", format!("{} does not exist", path.display())));
        }
        for backend in backends {
            let mut best: Option<BenchResult> = None;
            for _ in 0..repeats.max(1) {
                let out: PathBuf = out_root.join(format!("{net}-{backend}"));
                let t0 = Instant::now();
                // "cpu-event" is the CPU engine with the event-driven update
                let (engine, mode) = backend.split_once('-').unwrap_or((backend.as_str(), "dense"));
                let status = Command::new(&exe)
                    .args(["run", "--quiet", "--backend", engine, "--mode", mode, "--out"])
                    .arg(&out)
                    .arg(&path)
                    .status()
                    .map_err(|e| Error::Output(format!("running {}: {e}", exe.display())))?;
                let process_seconds = t0.elapsed().as_secs_f64();
                if !status.success() {
                    return Err(Error::Output(format!("spikegpu run {} --backend {backend} failed ({status})", path.display())));
                }
                let summary_path = out.join("summary.json");
                let text = std::fs::read_to_string(&summary_path).map_err(|e| Error::io(&summary_path, e))?;
                let s: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Output(format!("{}: {e}", summary_path.display())))?;
                let r = BenchResult {
                    net: net.clone(),
                    backend: backend.clone(),
                    device: s["device"].as_str().unwrap_or("").to_string(),
                    synapses: s["synapses"].as_u64().unwrap_or(0),
                    steps: s["steps"].as_u64().unwrap_or(0),
                    process_seconds,
                    sim_seconds: s["wall_seconds"].as_f64().unwrap_or(f64::NAN),
                    steps_per_second: s["steps_per_second"].as_f64().unwrap_or(f64::NAN),
                    synapse_updates_per_second: s["synapse_updates_per_second"].as_f64().unwrap_or(f64::NAN),
                    peak_memory_mib: s["peak_memory_mib"].as_f64(),
                    spike_counts: s["spike_counts"].clone(),
                    rates_hz: s["rates_hz"].clone(),
                };
                println!("{}", serde_json::to_string(&r).unwrap_or_default());
                if best.as_ref().is_none_or(|b| r.process_seconds < b.process_seconds) {
                    best = Some(r);
                }
            }
            results.extend(best);
        }
    }
    Ok(results)
}

/// The results as a Markdown table.
pub fn table(results: &[BenchResult]) -> String {
    let mut t = String::from(
        "| net | backend | device | synapses | process s | sim s | steps/s | syn-updates/s | peak MiB | post rates Hz |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let rates = r
            .rates_hz
            .as_object()
            .map(|m| m.iter().map(|(k, v)| format!("{k} {:.2}", v.as_f64().unwrap_or(0.0))).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        t += &format!(
            "| {} | {} | {} | {} | {:.3} | {:.3} | {:.0} | {:.3e} | {} | {} |\n",
            r.net,
            r.backend,
            r.device,
            r.synapses,
            r.process_seconds,
            r.sim_seconds,
            r.steps_per_second,
            r.synapse_updates_per_second,
            r.peak_memory_mib.map_or("-".into(), |m| format!("{m:.0}")),
            rates
        );
    }
    t
}

/// `spikegpu bench`: the runs, then the table.
pub(crate) fn bench(nets: &[String], mut backends: Vec<String>, dir: &Path, repeats: usize, out: &Path) -> Result<()> {
    if backends.is_empty() {
        backends.push("cpu".into());
        backends.push("cpu-event".into());
        if spikegpu::adapters().iter().any(|(info, _)| info.device_type != wgpu::DeviceType::Cpu) {
            backends.push("gpu".into());
        }
    }
    let results = run(dir, nets, &backends, repeats, out)?;
    println!();
    print!("{}", table(&results));
    Ok(())
}

