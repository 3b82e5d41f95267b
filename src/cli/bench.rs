//! `spikegpu bench`: runs the benchmark networks (the spec's B1, B2, B3, B2x10 and the others of
//! `benches/networks/`, built into the binary so it works from any folder) on each engine, each
//! run in a fresh child process (`spikegpu run`), so every figure includes parsing,
//! connectivity, simulation and outputs, and the peak memory is that run's alone. Every argument
//! is checked before the first run starts.

use spikegpu::runtime::output;
use spikegpu::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

include!(concat!(env!("OUT_DIR"), "/bench_networks.rs"));

/// An engine and update mode to benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BenchBackend {
    /// The CPU engine, dense update (every synapse every step).
    Cpu,
    /// The CPU engine, exact event-driven update.
    CpuEvent,
    /// The GPU engine (any adapter, software ones too), dense update.
    Gpu,
    /// The GPU engine, exact event-driven update.
    GpuEvent,
}

impl BenchBackend {
    fn name(self) -> &'static str {
        match self {
            BenchBackend::Cpu => "cpu",
            BenchBackend::CpuEvent => "cpu-event",
            BenchBackend::Gpu => "gpu",
            BenchBackend::GpuEvent => "gpu-event",
        }
    }

    /// `--backend` and `--mode` of its `spikegpu run`.
    fn run_args(self) -> [&'static str; 2] {
        match self {
            BenchBackend::Cpu => ["cpu", "dense"],
            BenchBackend::CpuEvent => ["cpu", "event"],
            BenchBackend::Gpu => ["gpu", "dense"],
            BenchBackend::GpuEvent => ["gpu", "event"],
        }
    }
}

#[derive(clap::Args, Clone, Debug)]
pub(crate) struct BenchArgs {
    /// Networks, comma-separated: built-in names (B1, B2, B3, B2x10, check_1e6, scale_1e6,
    /// scale_1e7, scale_1e8, ...; see `--dir` for your own), or paths of network files.
    #[arg(long, value_delimiter = ',', default_value = "B1,B2,B3")]
    pub nets: Vec<String>,
    /// Engines, comma-separated (default: cpu, cpu-event, plus gpu and gpu-event when a
    /// hardware GPU adapter exists).
    #[arg(long, value_delimiter = ',', value_enum)]
    pub backends: Vec<BenchBackend>,
    /// Take each network NAME from the file DIR/NAME.json instead of the built-in ones.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Runs of each pair; the fastest is reported.
    #[arg(long, default_value_t = 1)]
    pub repeats: usize,
    /// Where the runs' outputs go (one folder NET-ENGINE each).
    #[arg(long, default_value = "out/bench")]
    pub out: PathBuf,
}

/// One measured run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchResult {
    /// Benchmark network name.
    pub net: String,
    /// Engine and mode that ran it (`cpu`, `cpu-event`, `gpu`, `gpu-event`).
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

/// Where a benchmark network comes from.
enum Source {
    Embedded(&'static str),
    File(PathBuf),
}

/// The network `name`: a file in `dir` when given, else a path to a file, else a built-in one,
/// else `benches/networks/NAME.json` in the current folder or beside the executable (for
/// networks too large to build in).
fn find(name: &str, dir: Option<&Path>) -> Option<Source> {
    if let Some(d) = dir {
        let p = d.join(format!("{name}.json"));
        return p.is_file().then_some(Source::File(p));
    }
    if name.ends_with(".json") && Path::new(name).is_file() {
        return Some(Source::File(PathBuf::from(name)));
    }
    if let Some((_, text)) = EMBEDDED.iter().find(|(n, _)| *n == name) {
        return Some(Source::Embedded(text));
    }
    let mut places = vec![PathBuf::from("benches/networks")];
    if let Ok(exe) = std::env::current_exe() {
        // target/release/spikegpu -> the repository's benches/networks
        for up in exe.ancestors().skip(1).take(4) {
            places.push(up.join("benches/networks"));
        }
    }
    places.into_iter().map(|d| d.join(format!("{name}.json"))).find(|p| p.is_file()).map(Source::File)
}

fn stem(name: &str) -> String {
    Path::new(name).file_stem().map_or_else(|| name.to_string(), |s| s.to_string_lossy().into_owned())
}

/// Runs `nets` on `backends`, `repeats` times each, and returns the fastest run of each pair
/// (the least disturbed on a shared machine).
fn run_all(nets: &[(String, PathBuf)], backends: &[BenchBackend], repeats: usize, out_root: &Path) -> Result<Vec<BenchResult>> {
    let exe = std::env::current_exe().map_err(|e| Error::Output(format!("cannot find the spikegpu executable: {e}")))?;
    let mut results = Vec::new();
    for (net, path) in nets {
        for &backend in backends {
            let mut best: Option<BenchResult> = None;
            for _ in 0..repeats {
                super::signals::check()?;
                let out: PathBuf = out_root.join(format!("{net}-{}", backend.name()));
                let t0 = Instant::now();
                let [engine, mode] = backend.run_args();
                let status = Command::new(&exe)
                    .args(["run", "--quiet", "--backend", engine, "--mode", mode, "--out"])
                    .arg(&out)
                    .arg(path)
                    .status()
                    .map_err(|e| Error::Output(format!("running {}: {e}", exe.display())))?;
                let process_seconds = t0.elapsed().as_secs_f64();
                if !status.success() {
                    return Err(Error::Output(format!("spikegpu run {net} --backend {} failed ({status})", backend.name())));
                }
                let summary_path = out.join("summary.json");
                let text = std::fs::read_to_string(&summary_path).map_err(|e| Error::io(&summary_path, e))?;
                let s: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Output(format!("{}: {e}", summary_path.display())))?;
                let r = BenchResult {
                    net: net.clone(),
                    backend: backend.name().into(),
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

/// Removes the built-in networks written for the child runs, however the bench ends.
struct TempNets(PathBuf);

impl Drop for TempNets {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `spikegpu bench`: every argument checked, then the runs, then the table.
pub(crate) fn bench(a: &BenchArgs) -> Result<()> {
    if a.repeats == 0 {
        return Err(Error::invalid("--repeats", "must be at least 1"));
    }
    if a.nets.is_empty() || a.nets.iter().any(|n| n.trim().is_empty()) {
        return Err(Error::invalid("--nets", "names an empty network"));
    }
    let mut missing = Vec::new();
    let mut sources = Vec::new();
    for n in &a.nets {
        match find(n, a.dir.as_deref()) {
            Some(s) => sources.push((stem(n), s)),
            None => missing.push(n.as_str()),
        }
    }
    if !missing.is_empty() {
        let known: Vec<&str> = EMBEDDED.iter().map(|(n, _)| *n).collect();
        let where_ = match &a.dir {
            Some(d) => format!("no such file in {}", d.display()),
            None => format!("not built in (built in: {})", known.join(", ")),
        };
        return Err(Error::invalid("--nets", format!("{}: {where_}", missing.join(", "))));
    }
    let mut backends = a.backends.clone();
    if backends.is_empty() {
        backends.extend([BenchBackend::Cpu, BenchBackend::CpuEvent]);
        if spikegpu::adapters().iter().any(|(info, _)| info.device_type != wgpu::DeviceType::Cpu) {
            backends.extend([BenchBackend::Gpu, BenchBackend::GpuEvent]);
        }
    }
    // every destination is checked before the first run
    for (net, _) in &sources {
        for b in &backends {
            output::check_destination(&a.out.join(format!("{net}-{}", b.name())), &[])?;
        }
    }
    let tmp = TempNets(std::env::temp_dir().join(format!("spikegpu-bench-{}", std::process::id())));
    let mut nets = Vec::new();
    for (net, s) in sources {
        let path = match s {
            Source::File(p) => p,
            Source::Embedded(text) => {
                std::fs::create_dir_all(&tmp.0).map_err(|e| Error::io(&tmp.0, e))?;
                let p = tmp.0.join(format!("{net}.json"));
                std::fs::write(&p, text).map_err(|e| Error::io(&p, e))?;
                p
            }
        };
        nets.push((net, path));
    }
    super::signals::running();
    let results = run_all(&nets, &backends, a.repeats, &a.out)?;
    println!();
    print!("{}", table(&results));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_networks_are_built_in() {
        for n in ["B1", "B2", "B3", "B2x10"] {
            let (_, text) = EMBEDDED.iter().find(|(name, _)| *name == n).unwrap_or_else(|| panic!("{n} is not built in"));
            spikegpu::model::estimate::parse_builder(text).unwrap_or_else(|e| panic!("{n}: {e}"));
        }
    }
}
