//! The `spikegpu` command line: `run`, `validate`, `devices`, `bench`.

use crate::error::{Error, Result};
use crate::model::plan::UpdateMode;
use crate::model::{file, Network};
use crate::output::{OutputDir, Summary};
use crate::plot::{Trace, TraceData};
use crate::progress::Progress;
use crate::sim::{Backend, Chunk, MonitorData};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::borrow::Cow;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "spikegpu", version, about = "Spiking neural networks with BrainPy's semantics, on the GPU or the CPU")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which engine runs the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// The GPU when an adapter exists, else the CPU (with a notice).
    Auto,
    /// The CPU reference engine.
    Cpu,
    /// The GPU engine; fails when no adapter exists.
    Gpu,
}

#[derive(Subcommand)]
enum Command {
    /// Run a network file and write one .npy per monitor plus summary.json into --out.
    Run {
        /// The network file (JSON; a golden case file works too).
        network: PathBuf,
        /// Output folder (replaced when the run succeeds; untouched when it fails).
        #[arg(long, default_value = "out")]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
        backend: BackendChoice,
        /// Steps per chunk: monitors are read back and written once per chunk.
        #[arg(long, default_value_t = 1000)]
        chunk: usize,
        /// Also write figure.png with every monitor.
        #[arg(long)]
        plot: bool,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
        /// Projection update: `dense` (every synapse every step, the reference) or `event`
        /// (exact event-driven: only synapses of pre neurons inside their transmitter window).
        #[arg(long, default_value = "dense")]
        mode: UpdateMode,
    },
    /// Check a network file and print what it holds and the memory a run needs.
    Validate { network: PathBuf },
    /// List the GPU adapters wgpu finds and the limits that matter for spikegpu.
    Devices,
    /// Run the benchmark networks on each available backend and print a table plus one JSON
    /// line per run.
    Bench {
        /// Network names (files `<dir>/<name>.json`), comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "B1,B2,B3")]
        nets: Vec<String>,
        /// Backends, comma-separated: cpu (dense update), cpu-event (event-driven update), gpu
        /// (default: cpu, cpu-event, plus gpu when an adapter exists).
        #[arg(long, value_delimiter = ',')]
        backends: Vec<String>,
        #[arg(long, default_value = "benches/networks")]
        dir: PathBuf,
        /// Runs of each pair; the fastest is reported.
        #[arg(long, default_value_t = 1)]
        repeats: usize,
        /// Where the runs' outputs go.
        #[arg(long, default_value = "out/bench")]
        out: PathBuf,
    },
}

/// Runs the command line; returns the process exit status (2 for invalid input).
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { network, out, backend, chunk, plot, quiet, mode } => run(&network, &out, backend, mode, chunk, plot, quiet),
        Command::Validate { network } => validate(&network),
        Command::Devices => devices(),
        Command::Bench { nets, backends, dir, repeats, out } => bench(&nets, backends, &dir, repeats, &out),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                Error::Invalid { .. } | Error::ResourceLimit { .. } => 2,
                _ => 1,
            }
        }
    }
}

/// Opens the engine the user asked for, with the dense (reference) update and chunks of
/// [`crate::gpu::engine::DEFAULT_CHUNK_STEPS`].
pub fn open_backend(choice: BackendChoice, net: &Network) -> Result<Box<dyn Backend>> {
    open_backend_with(choice, UpdateMode::Dense, crate::gpu::engine::DEFAULT_CHUNK_STEPS, Cow::Borrowed(net))
}

/// Opens the engine the user asked for, with an update mode and the chunk length the GPU
/// engine sizes its buffers for. An owned network lets the CPU engine drop the file's matrices
/// early (see [`crate::cpu::CpuEngine::from_network`]).
pub fn open_backend_with(choice: BackendChoice, mode: UpdateMode, chunk: usize, net: Cow<Network>) -> Result<Box<dyn Backend>> {
    let opts = crate::gpu::GpuOptions { chunk_steps: Some(chunk), mode, ..Default::default() };
    let cpu = |net: Cow<Network>| -> Result<Box<dyn Backend>> {
        Ok(Box::new(match net {
            Cow::Owned(net) => crate::cpu::CpuEngine::from_network(net, mode)?,
            Cow::Borrowed(net) => crate::cpu::CpuEngine::with_mode(net, mode)?,
        }))
    };
    match choice {
        BackendChoice::Cpu => cpu(net),
        BackendChoice::Gpu => Ok(Box::new(crate::gpu::GpuEngine::with_context(crate::gpu::GpuContext::new()?, &net, opts)?)),
        BackendChoice::Auto => match crate::gpu::GpuContext::new() {
            Ok(ctx) => Ok(Box::new(crate::gpu::GpuEngine::with_context(ctx, &net, opts)?)),
            Err(Error::NoAdapter(why)) => {
                eprintln!("notice: no GPU adapter ({why}); running on the CPU engine");
                cpu(net)
            }
            Err(e) => Err(e),
        },
    }
}

/// Monitors larger than this (all together) are not kept in memory for `--plot`.
const PLOT_MEMORY_CAP: u64 = 512 << 20;

fn run(path: &Path, out: &Path, backend: BackendChoice, mode: UpdateMode, chunk: usize, plot: bool, quiet: bool) -> Result<()> {
    let net = file::load(path)?;
    if chunk == 0 {
        return Err(Error::invalid("--chunk", "must be at least 1"));
    }
    // The engine holds its own connectivity; it takes the file's copy, to drop it early.
    let synapses = net.synapse_count();
    let light = net.without_connectivity();
    let mut engine = open_backend_with(backend, mode, chunk, Cow::Owned(net))?;
    let net = light;
    let mut dir = OutputDir::create(out, &net)?;
    let monitor_bytes: u64 = net.monitors.iter().map(|m| 4 * (net.monitor_width(m.target) * net.steps) as u64).sum();
    let keep_for_plot = plot && monitor_bytes <= PLOT_MEMORY_CAP;
    if plot && !keep_for_plot {
        eprintln!("notice: monitors hold {monitor_bytes} bytes, more than the {PLOT_MEMORY_CAP} a figure may keep in memory; no figure");
    }
    let mut kept = Chunk::new(&net, 0, 0).data;
    let mut progress = Progress::new(net.steps as u64, quiet);
    let start = Instant::now();
    let stats = engine.run(chunk, &mut |c| {
        dir.write_chunk(c)?;
        if keep_for_plot {
            for (a, b) in kept.iter_mut().zip(&c.data) {
                a.extend(b);
            }
        }
        progress.set((c.start + c.steps) as u64);
        Ok(())
    })?;
    let wall = start.elapsed().as_secs_f64();
    progress.finish();
    if keep_for_plot {
        let shapes: Vec<Vec<usize>> = net.monitors.iter().map(|m| net.monitor_shape(m.target)).collect();
        let targets: Vec<String> = net.monitors.iter().map(|m| net.target_name(m.target)).collect();
        let traces: Vec<Trace> = net
            .monitors
            .iter()
            .zip(&kept)
            .enumerate()
            .map(|(k, (m, d))| Trace {
                name: &m.name,
                target: &targets[k],
                shape: &shapes[k],
                data: match d {
                    MonitorData::F32(v) => TraceData::F32(v),
                    MonitorData::Spike(v) => TraceData::Spike(v),
                },
            })
            .collect();
        if traces.is_empty() {
            eprintln!("notice: the network has no monitors; no figure");
        } else {
            let title = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            crate::plot::write_figure(&dir.tmp_path().join("figure.png"), &title, net.dt_f32(), &traces)?;
        }
    }
    let summary = Summary::new(&net, synapses, engine.describe(), &stats, wall);
    dir.finish(&summary)?;
    if !quiet {
        eprintln!(
            "{} steps in {:.3} s ({:.0} steps/s) on {} ({}); outputs in {}",
            net.steps,
            wall,
            summary.steps_per_second,
            summary.backend.device,
            summary.backend.backend,
            out.display()
        );
    }
    Ok(())
}

fn validate(path: &Path) -> Result<()> {
    let net = file::load(path)?;
    println!("{}: valid", path.display());
    println!("dt {} ms, {} steps ({} ms), batch {}", net.dt, net.steps, net.steps as f64 * net.dt, net.batch);
    for p in &net.populations {
        let kind = if p.lif().is_some() { "lif_ref" } else { "spike_times" };
        println!("population {:<12} {kind:<12} {} neurons", p.name, p.size);
    }
    for p in &net.projections {
        println!(
            "projection {:<12} {} -> {}, {:?}, {} synapses, delay {:?} ms",
            p.name,
            net.populations[p.pre].name,
            net.populations[p.post].name,
            p.synapse.kind,
            p.conn.nnz(),
            p.delay_ms
        );
    }
    let mut monitor_row = 0u64;
    for m in &net.monitors {
        match m.format {
            crate::model::MonitorFormat::Dense => {
                println!("monitor {:<12} {} {:?}", m.name, net.target_name(m.target), net.monitor_shape(m.target))
            }
            crate::model::MonitorFormat::Events => {
                let cols = if net.batch > 1 { "3: step, batch row, neuron" } else { "2: step, neuron" };
                println!("monitor {:<12} {}_events [spikes, {cols}]", m.name, net.target_name(m.target))
            }
        }
        monitor_row += 4 * net.monitor_width(m.target) as u64;
    }
    let plan = crate::model::Plan::new(&net)?;
    let state = plan.state_bytes();
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!("synapses: {}", net.synapse_count());
    println!(
        "memory: CPU engine about {:.1} MiB (state and connectivity, plus the parsed description); \
         GPU engine about {:.1} MiB of GPU memory plus {:.1} MiB of monitor buffers per 1000-step chunk (x3: device and two staging buffers)",
        mib(state + net.synapse_count() * 4),
        mib(state),
        mib(monitor_row * 1000)
    );
    println!("outputs: {:.1} MiB of .npy files", mib(monitor_row * net.steps as u64));
    Ok(())
}

fn bench(nets: &[String], mut backends: Vec<String>, dir: &std::path::Path, repeats: usize, out: &std::path::Path) -> Result<()> {
    if backends.is_empty() {
        backends.push("cpu".into());
        backends.push("cpu-event".into());
        if !crate::gpu::context::adapters().is_empty() {
            backends.push("gpu".into());
        }
    }
    let results = crate::bench::run(dir, nets, &backends, repeats, out)?;
    println!();
    print!("{}", crate::bench::table(&results));
    Ok(())
}

fn devices() -> Result<()> {
    let list = crate::gpu::context::adapters();
    if list.is_empty() {
        println!("no GPU adapter found: install a GPU driver, or Mesa's software Vulkan driver (apt-get install mesa-vulkan-drivers libvulkan1)");
        println!("spikegpu run --backend auto falls back to the CPU engine");
        return Ok(());
    }
    for (info, limits) in list {
        println!("{} ({:?}, {:?}, driver {} {})", info.name, info.backend, info.device_type, info.driver, info.driver_info);
        println!(
            "  max buffer {} MiB, max storage binding {} MiB, storage buffers per stage {}, workgroups per dimension {}",
            limits.max_buffer_size >> 20,
            limits.max_storage_buffer_binding_size >> 20,
            limits.max_storage_buffers_per_shader_stage,
            limits.max_compute_workgroups_per_dimension
        );
    }
    Ok(())
}
