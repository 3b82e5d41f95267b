//! `spikegpu run`: a network file into `.npy` monitors, `summary.json` and (with `--plot`) a
//! figure; with `--checkpoint-every`, resumable (`spikegpu resume`, `resume.rs`).
//!
//! The order is chosen so that a run that cannot finish fails before it costs anything: the
//! destination is checked first, then the file is read and checked without generating its
//! connectivity, then disk and memory are compared with what the run needs, and only then is
//! the network built and the engine opened.

use super::{provenance, resources, signals};
use spikegpu::api::{self, EngineChoice, Opened, RunOptions};
use spikegpu::model::estimate;
use spikegpu::plan::{MonitorPlan, UpdateMode};
use spikegpu::runtime::output::{self, CheckpointStats, OutputDir, OutputProgress, Summary};
use spikegpu::runtime::plot::{Trace, TraceData};
use spikegpu::runtime::progress::Progress;
use spikegpu::runtime::{Chunk, Engine, MonitorData, NonFinitePolicy};
use spikegpu::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Monitors larger than this (all together) are not kept in memory for `--plot`.
pub(crate) const PLOT_MEMORY_CAP: u64 = 512 << 20;

/// The name of the checkpoint array that holds how far the output files are written.
pub(crate) const OUTPUTS_ARRAY: &str = "cli.outputs";

#[derive(clap::Args, Clone, Debug)]
pub(crate) struct RunArgs {
    /// The network file (JSON; a golden case file works too).
    pub network: PathBuf,
    /// Output folder. A missing or empty folder is used; one holding only an earlier run's
    /// outputs is replaced; anything else is refused (spikegpu never deletes files it did not
    /// write).
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Engine: auto (a hardware GPU, else the CPU engine; never a software GPU adapter), cpu, or
    /// gpu (any adapter, software ones too).
    #[arg(long, default_value = "auto")]
    pub backend: EngineChoice,
    /// Steps per chunk: monitors are read back and written once per chunk, and a signal stops
    /// the run at the next chunk boundary [default: 1000, fewer for networks so large that a
    /// chunk would take minutes]
    #[arg(long, value_name = "STEPS")]
    pub chunk: Option<usize>,
    /// Also write figure.png with every monitor.
    #[arg(long)]
    pub plot: bool,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
    /// Projection update: `dense` (every synapse every step, the reference) or `event`
    /// (exact event-driven: only synapses of recently active pre neurons).
    #[arg(long, default_value = "dense")]
    pub mode: UpdateMode,
    /// Write the whole simulation state every STEPS steps, atomically, beside the outputs; a run
    /// that is stopped or killed is continued by `spikegpu resume OUT`, with the same outputs an
    /// uninterrupted run writes.
    #[arg(long, value_name = "STEPS")]
    pub checkpoint_every: Option<usize>,
    /// When a value becomes NaN or infinite, go on and record where (summary.json "nonfinite")
    /// instead of stopping with an error.
    #[arg(long)]
    pub allow_nonfinite: bool,
}

/// Everything a run is, as `run.json` keeps it in a resumable run's temporary folder.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Job {
    pub spikegpu_version: String,
    pub network: String,
    pub network_abs: PathBuf,
    pub network_sha256: String,
    pub out: PathBuf,
    /// The engine that ran: "cpu" or "gpu" (a checkpoint restores into its own kind).
    pub engine: String,
    /// `dense` or `event`.
    pub mode: String,
    pub chunk: usize,
    pub checkpoint_every: Option<usize>,
    pub plot: bool,
    pub allow_nonfinite: bool,
    pub command_line: Vec<String>,
    pub started_utc: String,
    pub parameters: serde_json::Value,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

/// Reads a network file's bytes as text; bytes that are not UTF-8 are an input error naming the
/// place, as every other mistake in the file is.
pub(crate) fn read_network(path: &Path) -> Result<(String, String)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let sha = provenance::sha256_hex(&bytes);
    match String::from_utf8(bytes) {
        // a byte-order mark is not JSON, but editors write it: skip it
        Ok(t) => Ok((t.strip_prefix('\u{feff}').map(String::from).unwrap_or(t), sha)),
        Err(e) => Err(Error::invalid(
            path.display().to_string(),
            format!("is not UTF-8 text (byte {} is not valid); a network file is JSON", e.utf8_error().valid_up_to()),
        )),
    }
}

pub(crate) fn print_lines(kind: &str, lines: &[String]) {
    for l in lines {
        eprintln!("{kind}: {l}");
    }
}

/// Work (neuron and synapse updates) of one default chunk at most: about 10 s on one core, so a
/// signal is answered within seconds even for a network of 5e8 neurons.
const CHUNK_WORK: f64 = 1e10;

/// The default chunk for a network of this size: 1000 steps, fewer when one chunk would hold
/// more than [`CHUNK_WORK`].
fn default_chunk(e: &estimate::Estimate) -> usize {
    let per_step = e.populations.iter().map(|p| p.size as f64).sum::<f64>() * e.batch as f64 + e.synapses() as f64 * e.batch as f64;
    ((CHUNK_WORK / per_step.max(1.0)) as usize).clamp(1, api::DEFAULT_CHUNK_STEPS)
}

pub(crate) fn run(a: &RunArgs) -> Result<()> {
    if a.chunk == Some(0) {
        return Err(Error::invalid("--chunk", "must be at least 1"));
    }
    if a.checkpoint_every == Some(0) {
        return Err(Error::invalid("--checkpoint-every", "must be at least 1 step"));
    }
    let started_utc = provenance::now_utc();
    // the destination first: a refused folder costs nothing
    let (dest, _) = output::check_destination(&a.out, &[&a.network])?;
    let cleaned = output::clean_leftovers(&dest)?;
    if !a.quiet {
        print_lines("notice", &cleaned);
    }
    let (text, sha) = read_network(&a.network)?;
    let builder = estimate::parse_builder(&text)?;
    drop(text);
    // everything but the generated connectivity is checked here, in milliseconds
    let preview = builder.preview()?;
    let e = &preview.estimate;
    let chunk = a.chunk.unwrap_or_else(|| default_chunk(e));
    let plot_bytes = if a.plot && e.output_bytes() <= PLOT_MEMORY_CAP { e.output_bytes() } else { 0 };
    resources::check(e, &dest.parent, chunk, plot_bytes, a.checkpoint_every.is_some())?;
    let net = builder.into_network()?;
    let warnings = net.warnings();
    print_lines("warning", &warnings);
    let opts = RunOptions { engine: a.backend, mode: a.mode, chunk_steps: chunk, ..RunOptions::default() };
    // the engine takes the network, to drop the file's copy of the connectivity early
    let Opened { mut engine, notes } = api::open(net, &opts)?;
    print_lines("notice", &notes);
    let job = Job {
        spikegpu_version: env!("CARGO_PKG_VERSION").into(),
        network: a.network.display().to_string(),
        network_abs: std::path::absolute(&a.network).map_err(|e| Error::io(&a.network, e))?,
        network_sha256: sha,
        out: a.out.clone(),
        engine: engine.describe().backend,
        mode: a.mode.to_string(),
        chunk,
        checkpoint_every: a.checkpoint_every,
        plot: a.plot,
        allow_nonfinite: a.allow_nonfinite,
        command_line: provenance::command_line(),
        started_utc,
        parameters: preview.parameters,
        warnings,
        notes,
    };
    if a.allow_nonfinite {
        engine.set_nonfinite(NonFinitePolicy::Record);
    }
    let monitors: Vec<MonitorPlan> = engine.plan().monitors.clone();
    let dir = OutputDir::create(&a.out, &monitors, &[&a.network])?;
    if !a.quiet {
        print_lines("notice", dir.notes());
    }
    if job.checkpoint_every.is_some() {
        write_job(dir.tmp_path(), &job)?;
    }
    execute(engine.as_mut(), dir, &job, None, a.quiet)
}

/// Writes `run.json` (once, at the start of a resumable run).
pub(crate) fn write_job(tmp: &Path, job: &Job) -> Result<()> {
    let path = tmp.join(output::RUN_FILE);
    let text = serde_json::to_string_pretty(job).map_err(|e| Error::Output(format!("{}: {e}", path.display())))?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))
}

/// A run from the engine's current step to the end: chunks into the files, checkpoints, the
/// figure, the summary. `resumed` is the step a resumed run continues from and the values its
/// files already hold (for the figure).
pub(crate) fn execute(engine: &mut dyn Engine, mut dir: OutputDir, job: &Job, resumed: Option<(usize, Vec<MonitorData>)>, quiet: bool) -> Result<()> {
    let plan = LightPlan { steps: engine.plan().steps, dt: engine.plan().dt, monitors: engine.plan().monitors.clone() };
    let steps = plan.steps;
    let monitor_bytes: u64 = plan.monitors.iter().map(|m| m.output_bytes()).sum();
    let keep_for_plot = job.plot && monitor_bytes <= PLOT_MEMORY_CAP;
    if job.plot && !keep_for_plot {
        eprintln!("notice: monitors hold {monitor_bytes} bytes, more than the {PLOT_MEMORY_CAP} a figure may keep in memory; no figure");
    }
    let (first, mut kept) = match resumed {
        Some((s, k)) => (s, k),
        None => (0, Chunk::new(&plan.monitors, 0, 0).data),
    };
    if keep_for_plot {
        // reserved up front, so a figure that does not fit fails now, naming the monitor
        for (m, k) in plan.monitors.iter().zip(&mut kept) {
            let more = m.rows() * m.width() - k.len();
            let ok = match k {
                MonitorData::F32(v) => v.try_reserve_exact(more).is_ok(),
                MonitorData::Spike(v) => v.try_reserve_exact(more).is_ok(),
            };
            if !ok {
                return Err(output::memory_error(&format!("monitor {} kept for --plot", m.name), m.output_bytes()));
            }
        }
    }
    let mut progress = Progress::new(steps as u64, quiet).resumed_at(first as u64);
    let mut ck = job.checkpoint_every.map(|every_steps| CheckpointStats { every_steps, ..CheckpointStats::default() });
    let mut last_checkpoint = resumed_checkpoint(first, job);
    signals::running();
    let start = Instant::now();
    let result = drive(engine, &mut dir, job, &mut progress, keep_for_plot.then_some(&mut kept), &mut ck, &mut last_checkpoint);
    let wall = start.elapsed().as_secs_f64();
    if let Err(e) = result {
        let written = engine.steps_done().min(steps);
        let keep = last_checkpoint.is_some() && matches!(e, Error::Interrupted(_) | Error::Io { .. } | Error::Output(_));
        let what = match &e {
            Error::Interrupted(_) => "stopped",
            _ => "failed",
        };
        if keep {
            dir.keep_on_drop();
            eprintln!(
                "spikegpu: {what} near step {written} of {steps} after {wall:.1} s; the checkpoint of step {} is kept in {}: \
                 `spikegpu resume {}` continues the run",
                last_checkpoint.unwrap_or(0),
                dir.tmp_path().display(),
                job.out.display()
            );
        } else if matches!(e, Error::Interrupted(_)) {
            // other errors say everything in their one line; the folder goes either way
            eprintln!("spikegpu: {what} near step {written} of {steps} after {wall:.1} s; removed the partial outputs ({})", dir.tmp_path().display());
        }
        return Err(e);
    }
    progress.finish();
    if keep_for_plot {
        write_figure(Path::new(&job.network), &dir, &plan, &kept)?;
    }
    // a signal after the last chunk still stops the run: the user asked for it
    signals::check()?;
    let mut summary = Summary::new(engine.plan(), engine.describe(), &engine.stats(), wall);
    summary.command_line = job.command_line.clone();
    summary.network_file = Some(job.network.clone());
    summary.network_sha256 = Some(job.network_sha256.clone());
    summary.started_utc = Some(job.started_utc.clone());
    summary.nonfinite_policy = if job.allow_nonfinite { "record" } else { "stop" }.into();
    summary.warnings = job.warnings.clone();
    summary.notes = job.notes.clone();
    summary.checkpoints = ck;
    summary.resumed_from_step = (first > 0).then_some(first);
    summary.parameters = job.parameters.clone();
    if !summary.nonfinite.is_empty() && !quiet {
        print_lines("warning", &summary.nonfinite.iter().map(|n| format!("non-finite value (--allow-nonfinite): {n}")).collect::<Vec<_>>());
    }
    let line = format!(
        "{} steps in {:.3} s ({:.0} steps/s) on {} ({}); outputs in {}",
        steps - first,
        wall,
        (steps - first) as f64 / wall.max(1e-12),
        summary.backend.device,
        summary.backend.backend,
        job.out.display()
    );
    dir.finish(&summary)?;
    if !quiet {
        eprintln!("{line}");
    }
    Ok(())
}

/// The checkpoint a resumed run starts from, if it started from one.
fn resumed_checkpoint(first: usize, job: &Job) -> Option<usize> {
    (first > 0 && job.checkpoint_every.is_some()).then_some(first)
}

/// The loop: runs to each checkpoint boundary (multiples of `--checkpoint-every`) or the end,
/// writing every chunk, and checkpoints in between.
fn drive(
    engine: &mut dyn Engine,
    dir: &mut OutputDir,
    job: &Job,
    progress: &mut Progress,
    mut kept: Option<&mut Vec<MonitorData>>,
    ck: &mut Option<CheckpointStats>,
    last_checkpoint: &mut Option<usize>,
) -> Result<()> {
    // a signal between set-up and here was only recorded
    signals::check()?;
    let steps = engine.plan().steps;
    loop {
        let done = engine.steps_done();
        if done >= steps {
            return Ok(());
        }
        let n = match job.checkpoint_every {
            Some(every) => every - done % every,
            None => steps - done,
        };
        engine.run_steps(n, job.chunk, &mut |c: &Chunk| {
            dir.write_chunk(c)?;
            if let Some(kept) = kept.as_deref_mut() {
                for (a, b) in kept.iter_mut().zip(&c.data) {
                    a.extend(b);
                }
            }
            progress.set((c.start + c.steps) as u64);
            signals::check()
        })?;
        if let Some(stats) = ck.as_mut() {
            if engine.steps_done() < steps {
                let t = Instant::now();
                let bytes = checkpoint(engine, dir)?;
                stats.written += 1;
                stats.bytes = bytes;
                stats.seconds += t.elapsed().as_secs_f64();
                *last_checkpoint = Some(engine.steps_done());
            }
        }
    }
}

/// Writes the engine's state and how far the files are written, atomically; returns the bytes
/// of the checkpoint file.
fn checkpoint(engine: &mut dyn Engine, dir: &mut OutputDir) -> Result<u64> {
    let progress: OutputProgress = dir.sync()?;
    let mut c = engine.checkpoint()?;
    if c.step != progress.step {
        return Err(Error::Checkpoint(format!("the engine is at step {}, the files at step {}", c.step, progress.step)));
    }
    let json = serde_json::to_vec(&progress).map_err(|e| Error::Checkpoint(e.to_string()))?;
    c.push(OUTPUTS_ARRAY, &json);
    let path = dir.tmp_path().join(output::CHECKPOINT_FILE);
    c.write_atomic(&path)?;
    Ok(std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0))
}

/// What the figure needs of a plan: its clock and monitors (the engine keeps the plan).
pub(crate) struct LightPlan {
    pub steps: usize,
    pub dt: f32,
    pub monitors: Vec<MonitorPlan>,
}

fn write_figure(path: &Path, dir: &OutputDir, plan: &LightPlan, kept: &[MonitorData]) -> Result<()> {
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
