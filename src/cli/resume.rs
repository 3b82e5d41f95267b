//! `spikegpu resume DIR`: continues a run started with `--checkpoint-every` that was stopped
//! (a signal) or killed (SIGKILL, power loss), from its last checkpoint, into the same outputs.
//!
//! The stopped run's temporary folder (`.<name>.tmp-<pid>` beside DIR) holds `run.json` (the
//! run as it was started), the checkpoint (the engine's whole state plus how many bytes of each
//! `.npy` belong to the checkpointed steps) and the files. Resuming checks that the network file
//! is unchanged (its SHA-256), takes the folder over, restores the engine, truncates each file to
//! its checkpointed length and runs on: the files end byte-identical to an uninterrupted run's.

use super::run::{self, Job, OUTPUTS_ARRAY};
use spikegpu::api::{self, EngineChoice, Opened, RunOptions};
use spikegpu::model::estimate;
use spikegpu::runtime::output::{self, Destination, OutputDir, OutputProgress};
use spikegpu::runtime::{Checkpoint, NonFinitePolicy};
use spikegpu::{Error, Result};
use std::path::PathBuf;

#[derive(clap::Args, Clone, Debug)]
pub(crate) struct ResumeArgs {
    /// The --out folder of the stopped run (or its temporary folder `.NAME.tmp-PID`).
    pub dir: PathBuf,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

pub(crate) fn resume(a: &ResumeArgs) -> Result<()> {
    let found = output::find_resumable(&a.dir)?;
    let job_path = found.join(output::RUN_FILE);
    let job: Job = serde_json::from_str(&std::fs::read_to_string(&job_path).map_err(|e| Error::io(&job_path, e))?)
        .map_err(|e| Error::Checkpoint(format!("{}: damaged ({e})", job_path.display())))?;
    // the destination is where the temporary folder sits, whatever the current folder is now
    let name = found.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let out_name = name.strip_prefix('.').and_then(|n| n.rsplit_once(".tmp-")).map(|(n, _)| n.to_string()).unwrap_or_default();
    let parent = found.parent().map(PathBuf::from).unwrap_or_default();
    let dest = Destination::resolve(&parent.join(&out_name))?;
    // refused now, not after the run: something foreign may have arrived at the destination
    output::check_destination(&dest.path, &[&job.network_abs]).map_err(|e| Error::invalid("DIR", e.to_string()))?;
    let (text, sha) = run::read_network(&job.network_abs)?;
    if sha != job.network_sha256 {
        return Err(Error::invalid(
            "DIR",
            format!(
                "the network file {} changed since the run started (SHA-256 {} then, {sha} now); a checkpoint only continues the network it was made from",
                job.network_abs.display(),
                job.network_sha256
            ),
        ));
    }
    if job.spikegpu_version != env!("CARGO_PKG_VERSION") {
        return Err(Error::invalid(
            "DIR",
            format!("the run was started by spikegpu {}; this is {}, whose state layout may differ", job.spikegpu_version, env!("CARGO_PKG_VERSION")),
        ));
    }
    let tmp = output::claim(&found, &dest)?;
    let net = estimate::parse_builder(&text)?.into_network()?;
    drop(text);
    let engine = match job.engine.as_str() {
        "cpu" => EngineChoice::Cpu,
        "gpu" => EngineChoice::Gpu,
        other => return Err(Error::Checkpoint(format!("{}: unknown engine \"{other}\"", job_path.display()))),
    };
    let mode = job.mode.parse().map_err(|e: String| Error::Checkpoint(format!("{}: {e}", job_path.display())))?;
    let opts = RunOptions { engine, mode, chunk_steps: job.chunk, ..RunOptions::default() };
    let Opened { mut engine, notes } = api::open(net, &opts)?;
    run::print_lines("notice", &notes);
    if job.allow_nonfinite {
        engine.set_nonfinite(NonFinitePolicy::Record);
    }
    let ckpt_path = tmp.join(output::CHECKPOINT_FILE);
    let monitors = engine.plan().monitors.clone();
    let mut job = job;
    job.notes.push(format!("resumed by `{}` at {}", super::provenance::command_line().join(" "), super::provenance::now_utc()));
    if !ckpt_path.exists() {
        // killed before its first checkpoint: nothing to keep, start again
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        if !a.quiet {
            eprintln!("notice: the run had written no checkpoint yet; starting it again from step 0");
        }
        let dir = OutputDir::create(&dest.path, &monitors, &[&job.network_abs])?;
        run::write_job(dir.tmp_path(), &job)?;
        return run::execute(engine.as_mut(), dir, &job, None, a.quiet);
    }
    let c = Checkpoint::read(&ckpt_path)?;
    let (_, bytes) = c
        .arrays
        .iter()
        .find(|(n, _)| n == OUTPUTS_ARRAY)
        .ok_or_else(|| Error::Checkpoint(format!("{}: it does not say how far the outputs are written", ckpt_path.display())))?;
    let progress: OutputProgress = serde_json::from_slice(bytes).map_err(|e| Error::Checkpoint(format!("{}: damaged output record ({e})", ckpt_path.display())))?;
    engine.restore(&c)?;
    if engine.steps_done() != progress.step {
        return Err(Error::Checkpoint(format!("the engine state is at step {}, the outputs at step {}", engine.steps_done(), progress.step)));
    }
    let mut dir = OutputDir::reopen(&dest.path, &tmp, &monitors, &progress)?;
    let kept = if job.plot { dir.read_back()? } else { Vec::new() };
    if !a.quiet {
        eprintln!("resuming {} at step {} of {} from {}", job.network, progress.step, engine.plan().steps, tmp.display());
    }
    let first = progress.step;
    let kept = if job.plot { kept } else { spikegpu::runtime::Chunk::new(&monitors, 0, 0).data };
    run::execute(engine.as_mut(), dir, &job, Some((first, kept)), a.quiet)
}
