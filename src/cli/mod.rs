//! The `spikegpu` command line: `run`, `validate`, `devices`, `bench`, over the library's API.

mod bench;
mod devices;
mod run;
mod validate;

use clap::{Parser, Subcommand};
use spikegpu::api::{self, EngineChoice};
use spikegpu::plan::UpdateMode;
use spikegpu::Error;
use std::path::PathBuf;

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
        Command::Run { network, out, backend, chunk, plot, quiet, mode } => run::run(&network, &out, backend, mode, chunk, plot, quiet),
        Command::Validate { network } => validate::validate(&network),
        Command::Devices => devices::devices(),
        Command::Bench { nets, backends, dir, repeats, out } => bench::bench(&nets, backends, &dir, repeats, &out),
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

