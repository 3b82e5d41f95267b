//! The `spikegpu` command line: `run`, `resume`, `validate`, `devices`, `bench`, ..., over the library's API.

mod bench;
mod compare;
mod devices;
pub mod env;
mod probe;
mod provenance;
mod resources;
mod resume;
mod run;
mod signals;
mod validate;

use clap::{Parser, Subcommand};
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
    Run(run::RunArgs),
    /// Continue a run started with --checkpoint-every that was stopped or killed, from its last
    /// checkpoint, into the same outputs.
    Resume(resume::ResumeArgs),
    /// Check a network file and print its parameters (in words and units), what it holds and
    /// what a run needs (memory, disk), without building its generated connectivity.
    Validate(validate::ValidateArgs),
    /// List the GPU adapters wgpu finds and the limits that matter for spikegpu.
    Devices,
    /// Open the GPU adapter (as `--backend gpu` would) and print its limits, features and
    /// measured copy bandwidth as JSON.
    Probe {
        /// MiB copied per repetition.
        #[arg(long, default_value_t = 256)]
        mib: u64,
    },
    /// Compare an output folder with a golden case (`compare CASE.json DIR`) or with a reference
    /// output folder (`compare DIR REFERENCE_DIR`) under the golden README's rules; the last line
    /// is the verdict, the exit status 0 when everything holds and 1 otherwise.
    Compare {
        /// A golden case file, or an output folder.
        a: PathBuf,
        /// The output folder to check against the case, or the reference output folder.
        b: PathBuf,
        /// The network of two output folders, for exact monitor subsets and the propagation of
        /// spike disagreements (without it the folders' summary.json describes the monitors).
        #[arg(long)]
        network: Option<PathBuf>,
        /// Tolerance on V, mV.
        #[arg(long, default_value_t = 1e-3)]
        v_atol: f64,
        /// Absolute tolerance on currents.
        #[arg(long, default_value_t = 1e-3)]
        i_atol: f64,
        /// Absolute tolerance on conductances and other synapse states.
        #[arg(long, default_value_t = 1e-5)]
        atol: f64,
        /// Relative tolerance on conductances and currents.
        #[arg(long, default_value_t = 1e-4)]
        rtol: f64,
        /// Largest fraction of spikes shifted by one step.
        #[arg(long, default_value_t = 0.02)]
        spike_shift_frac: f64,
        /// Also stop comparing the neurons a disagreeing neuron projects onto (recurrent
        /// networks; needs the network: a case, or --network).
        #[arg(long)]
        propagate: bool,
    },
    /// Run the benchmark networks (built in) on each engine and print a table plus one JSON
    /// line per run.
    Bench(bench::BenchArgs),
}

/// Runs the command line; returns the process exit status (2 for invalid input).
pub fn main() -> i32 {
    let cli = Cli::parse();
    signals::install();
    let result = match cli.command {
        Command::Run(a) => run::run(&a),
        Command::Resume(a) => resume::resume(&a),
        Command::Validate(a) => validate::validate(&a),
        Command::Devices => devices::devices(),
        Command::Probe { mib } => probe::probe(mib),
        Command::Compare { a, b, network, v_atol, i_atol, atol, rtol, spike_shift_frac, propagate } => {
            let tol = spikegpu::runtime::compare::Tolerance { v_atol, g_atol: atol, i_atol, rtol, spike_shift_frac, propagate };
            return compare::compare(&a, &b, network.as_deref(), &tol);
        }
        Command::Bench(a) => bench::bench(&a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            // one line: a multi-line message (an I/O error's detail) is joined
            eprintln!("error: {}", e.to_string().replace('\n', " "));
            exit_status(&e)
        }
    }
}

/// The exit status of an error: 128 + the signal for a run a signal stopped (130 SIGINT, 143
/// SIGTERM, 129 SIGHUP), 2 when the input is at fault (the file, an argument, a network too large
/// for this machine, a network that diverges), 1 for everything else (I/O, the GPU).
fn exit_status(e: &Error) -> i32 {
    if let Some(sig) = signals::received() {
        return 128 + sig;
    }
    match e {
        Error::Invalid { .. } | Error::ResourceLimit { .. } | Error::NonFinite { .. } => 2,
        _ => 1,
    }
}
