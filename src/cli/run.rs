//! `spikegpu run`: a network file into `.npy` monitors, `summary.json` and (with `--plot`) a
//! figure.

use spikegpu::api::{self, EngineChoice, Opened, RunOptions};
use spikegpu::model::file;
use spikegpu::plan::{MonitorPlan, Plan, UpdateMode};
use spikegpu::runtime::output::{OutputDir, Summary};
use spikegpu::runtime::plot::{Trace, TraceData};
use spikegpu::runtime::progress::Progress;
use spikegpu::runtime::{Chunk, MonitorData};
use spikegpu::{Error, Result};
use std::path::Path;
use std::time::Instant;

/// Monitors larger than this (all together) are not kept in memory for `--plot`.
const PLOT_MEMORY_CAP: u64 = 512 << 20;

pub(crate) fn run(path: &Path, out: &Path, engine: EngineChoice, mode: UpdateMode, chunk: usize, plot: bool, quiet: bool) -> Result<()> {
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

