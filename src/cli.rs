//! The `spikegpu` command line: `run`, `validate`, `devices`, `bench`.

use crate::error::{Error, Result};
use crate::model::{file, Network};
use crate::output::{OutputDir, Summary};
use crate::sim::Backend;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
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
    },
    /// Check a network file and print what it holds.
    Validate { network: PathBuf },
}

/// Runs the command line; returns the process exit status (2 for invalid input).
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { network, out, backend, chunk, plot, quiet } => run(&network, &out, backend, chunk, plot, quiet),
        Command::Validate { network } => validate(&network),
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

/// Opens the engine the user asked for.
pub fn open_backend(choice: BackendChoice, net: &Network) -> Result<Box<dyn Backend>> {
    match choice {
        BackendChoice::Cpu => Ok(Box::new(crate::cpu::CpuEngine::new(net)?)),
        BackendChoice::Gpu => Ok(Box::new(crate::gpu::GpuEngine::new(net)?)),
        BackendChoice::Auto => match crate::gpu::GpuContext::new() {
            Ok(ctx) => Ok(Box::new(crate::gpu::GpuEngine::with_context(ctx, net, Default::default())?)),
            Err(Error::NoAdapter(why)) => {
                eprintln!("notice: no GPU adapter ({why}); running on the CPU engine");
                Ok(Box::new(crate::cpu::CpuEngine::new(net)?))
            }
            Err(e) => Err(e),
        },
    }
}

fn run(path: &PathBuf, out: &PathBuf, backend: BackendChoice, chunk: usize, plot: bool, quiet: bool) -> Result<()> {
    let net = file::load(path)?;
    if chunk == 0 {
        return Err(Error::invalid("--chunk", "must be at least 1"));
    }
    let mut engine = open_backend(backend, &net)?;
    let mut dir = OutputDir::create(out, &net)?;
    let _ = (plot, quiet);
    let start = Instant::now();
    let stats = engine.run(chunk, &mut |c| dir.write_chunk(c))?;
    let wall = start.elapsed().as_secs_f64();
    let summary = Summary::new(&net, engine.describe(), &stats, wall);
    dir.finish(&summary)?;
    if !quiet {
        eprintln!(
            "{} steps in {:.3} s ({:.0} steps/s) on {}; outputs in {}",
            net.steps,
            wall,
            summary.steps_per_second,
            summary.backend.device,
            out.display()
        );
    }
    Ok(())
}

fn validate(path: &PathBuf) -> Result<()> {
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
    for m in &net.monitors {
        println!("monitor {:<12} {} {:?}", m.name, net.target_name(m.target), net.monitor_shape(m.target));
    }
    Ok(())
}
