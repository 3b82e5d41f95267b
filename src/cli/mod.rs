//! The `spikegpu` command line: `run`, `validate`, `devices`, `bench`, over the library's API.

mod bench;

use clap::{Parser, Subcommand};
use spikegpu::api::{self, EngineChoice, Opened, RunOptions};
use spikegpu::model::file;
use spikegpu::plan::{MonitorPlan, Plan, UpdateMode};
use spikegpu::runtime::output::{OutputDir, Summary};
use spikegpu::runtime::plot::{Trace, TraceData};
use spikegpu::runtime::progress::Progress;
use spikegpu::runtime::{Chunk, MonitorData};
use spikegpu::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

type Result<T> = spikegpu::Result<T>;

#[derive(Parser)]
#[command(name = "spikegpu", version, about = "Spiking neural networks with BrainPy's semantics, on the GPU or the CPU")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a network file and write one .npy per monitor plus summary.json into --out.
    Run {
        /// The network file (JSON; a golden case file works too).
        network: PathBuf,
        /// Output folder.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// auto (a hardware GPU, else the CPU engine), cpu, or gpu (any adapter, software ones too).
        #[arg(long, default_value = "auto")]
        backend: EngineChoice,
        /// Steps per chunk: monitors are read back and written once per chunk.
        #[arg(long, default_value_t = api::DEFAULT_CHUNK_STEPS)]
        chunk: usize,
        /// Also write figure.png with every monitor.
        #[arg(long)]
        plot: bool,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
        /// Projection update: `dense` (every synapse every step, the reference) or `event`
        /// (exact event-driven: only synapses of recently active pre neurons).
        #[arg(long, default_value = "dense")]
        mode: UpdateMode,
    },
    /// Check a network file and print what it holds and the memory a run needs.
    Validate { network: PathBuf },
    /// List the GPU adapters wgpu finds and the limits that matter for spikegpu.
    Devices,
    /// Run the benchmark networks on each available engine and print a table plus one JSON
    /// line per run.
    Bench {
        /// Network names (files `<dir>/<name>.json`), comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "B1,B2,B3")]
        nets: Vec<String>,
        /// Engines, comma-separated: cpu (dense update), cpu-event (event-driven update), gpu,
        /// gpu-event (default: cpu, cpu-event, plus gpu when a hardware adapter exists).
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

/// Monitors larger than this (all together) are not kept in memory for `--plot`.
const PLOT_MEMORY_CAP: u64 = 512 << 20;

fn run(path: &Path, out: &Path, engine: EngineChoice, mode: UpdateMode, chunk: usize, plot: bool, quiet: bool) -> Result<()> {
    if chunk == 0 {
        return Err(Error::invalid("--chunk", "must be at least 1"));
    }
    let net = file::load(path)?;
    let opts = RunOptions { engine, mode, chunk_steps: chunk, ..RunOptions::default() };
    // the engine takes the network, to drop the file's copy of the connectivity early
    let Opened { mut engine, notes } = api::open(net, &opts)?;
    for n in &notes {
        eprintln!("notice: {n}");
    }
    let monitors: Vec<MonitorPlan> = engine.plan().monitors.clone();
    let steps = engine.plan().steps;
    let mut dir = OutputDir::create(out, &monitors)?;
    let monitor_bytes: u64 = monitors.iter().map(|m| m.output_bytes()).sum();
    let keep_for_plot = plot && monitor_bytes <= PLOT_MEMORY_CAP;
    if plot && !keep_for_plot {
        eprintln!("notice: monitors hold {monitor_bytes} bytes, more than the {PLOT_MEMORY_CAP} a figure may keep in memory; no figure");
    }
    let mut kept = Chunk::new(&monitors, 0, 0).data;
    let mut progress = Progress::new(steps as u64, quiet);
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
        write_figure(path, &dir, engine.plan(), &kept)?;
    }
    let summary = Summary::new(engine.plan(), engine.describe(), &stats, wall);
    dir.finish(&summary)?;
    if !quiet {
        eprintln!(
            "{} steps in {:.3} s ({:.0} steps/s) on {} ({}); outputs in {}",
            steps,
            wall,
            summary.steps_per_second,
            summary.backend.device,
            summary.backend.backend,
            out.display()
        );
    }
    Ok(())
}

fn write_figure(path: &Path, dir: &OutputDir, plan: &Plan, kept: &[MonitorData]) -> Result<()> {
    let shapes: Vec<Vec<usize>> = plan.monitors.iter().map(|m| m.shape()).collect();
    let traces: Vec<Trace> = plan
        .monitors
        .iter()
        .zip(kept)
        .zip(&shapes)
        // event monitors hold spikes as flags in memory too: plot them like dense ones
        .map(|((m, d), shape)| Trace {
            name: &m.name,
            target: &m.target,
            shape,
            every: m.every,
            data: match d {
                MonitorData::F32(v) => TraceData::F32(v),
                MonitorData::Spike(v) => TraceData::Spike(v),
            },
        })
        .collect();
    if traces.is_empty() {
        eprintln!("notice: the network has no monitors; no figure");
        return Ok(());
    }
    let title = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    spikegpu::runtime::plot::write_figure(&dir.tmp_path().join("figure.png"), &title, plan.dt, &traces)
}

fn validate(path: &Path) -> Result<()> {
    let net = file::load(path)?;
    println!("{}: valid", path.display());
    println!("dt {} ms, {} steps ({} ms), batch {}", net.dt, net.steps, net.steps as f64 * net.dt, net.batch);
    for p in &net.populations {
        println!("population {:<12} {:<12} {} neurons", p.name, p.model_name(), p.size);
    }
    for p in &net.projections {
        let delay = match p.delay_ms {
            Some(d) => format!("delay {d} ms"),
            None => "no delay".into(),
        };
        println!(
            "projection {:<12} {} -> {}, {} aligned {}, {} synapses, {delay}, {} output",
            p.name,
            net.populations[p.pre].name,
            net.populations[p.post].name,
            p.synapse.model_name(),
            match p.align {
                spikegpu::model::Align::Pre => "pre",
                spikegpu::model::Align::Post => "post",
            },
            p.conn.nnz(),
            p.output.model_name()
        );
    }
    let plan = Plan::new(&net, UpdateMode::Dense)?;
    let mut monitor_row = 0u64;
    for m in &plan.monitors {
        match m.format {
            spikegpu::model::MonitorFormat::Dense => println!("monitor {:<12} {} {:?}", m.name, m.target, m.shape()),
            spikegpu::model::MonitorFormat::Events => {
                let cols = if net.batch > 1 { "3: step, batch row, neuron" } else { "2: step, neuron" };
                println!("monitor {:<12} {} [spikes, {cols}]", m.name, m.target)
            }
        }
        monitor_row += m.row_bytes();
    }
    let state = plan.state_bytes();
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!("synapses: {}", net.synapse_count());
    println!(
        "memory: CPU engine about {:.1} MiB (state and connectivity); \
         GPU engine about {:.1} MiB of GPU memory plus {:.1} MiB of monitor buffers per 1000-step chunk (x3: device and two staging buffers)",
        mib(state),
        mib(state),
        mib(monitor_row * 1000)
    );
    println!("outputs: {:.1} MiB of .npy files", mib(plan.monitors.iter().map(|m| m.output_bytes()).sum()));
    Ok(())
}

fn bench(nets: &[String], mut backends: Vec<String>, dir: &Path, repeats: usize, out: &Path) -> Result<()> {
    if backends.is_empty() {
        backends.push("cpu".into());
        backends.push("cpu-event".into());
        if spikegpu::adapters().iter().any(|(info, _)| info.device_type != wgpu::DeviceType::Cpu) {
            backends.push("gpu".into());
        }
    }
    let results = bench::run(dir, nets, &backends, repeats, out)?;
    println!();
    print!("{}", bench::table(&results));
    Ok(())
}

fn devices() -> Result<()> {
    let list = spikegpu::adapters();
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
