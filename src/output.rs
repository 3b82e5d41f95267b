//! Run outputs: one `.npy` per monitor, streamed chunk by chunk, and `summary.json`. Everything
//! is written into a temporary folder beside the destination and renamed at the end, so a failed
//! run leaves no partial output.

use crate::error::{Error, Result};
use crate::model::Network;
use crate::sim::{BackendInfo, Chunk, MonitorData, RunStats};
use npyz::WriterBuilder;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

enum Writer {
    F32(npyz::NpyWriter<f32, BufWriter<File>>),
    U8(npyz::NpyWriter<u8, BufWriter<File>>),
}

/// An output folder being written.
pub struct OutputDir {
    dir: PathBuf,
    tmp: PathBuf,
    writers: Vec<(PathBuf, Writer)>,
    done: bool,
}

fn out_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output(format!("{}: {e}", path.display()))
}

impl OutputDir {
    /// Starts writing the outputs of `net` for `dir` (into a temporary folder beside it).
    pub fn create(dir: &Path, net: &Network) -> Result<Self> {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut out = OutputDir { dir: dir.to_path_buf(), tmp, writers: Vec::new(), done: false };
        for m in &net.monitors {
            let path = out.tmp.join(format!("{}.npy", m.name));
            let shape: Vec<u64> = net.monitor_shape(m.target).iter().map(|&s| s as u64).collect();
            let file = BufWriter::with_capacity(1 << 20, File::create(&path).map_err(|e| Error::io(&path, e))?);
            let w = match MonitorData::for_target(m.target, 0) {
                MonitorData::F32(_) => Writer::F32(
                    npyz::WriteOptions::new().default_dtype().shape(&shape).writer(file).begin_nd().map_err(|e| out_err(&path, e))?,
                ),
                MonitorData::Spike(_) => Writer::U8(
                    npyz::WriteOptions::new().default_dtype().shape(&shape).writer(file).begin_nd().map_err(|e| out_err(&path, e))?,
                ),
            };
            out.writers.push((path, w));
        }
        Ok(out)
    }

    /// Appends one chunk to every monitor file.
    pub fn write_chunk(&mut self, chunk: &Chunk) -> Result<()> {
        for ((path, w), data) in self.writers.iter_mut().zip(&chunk.data) {
            match (w, data) {
                (Writer::F32(w), MonitorData::F32(d)) => w.extend(d.iter().copied()),
                (Writer::U8(w), MonitorData::Spike(d)) => w.extend(d.iter().copied()),
                _ => unreachable!("writers are made from the same targets as chunks"),
            }
            .map_err(|e| out_err(path, e))?;
        }
        Ok(())
    }

    /// The temporary folder (for extra files such as the figure, written before [`Self::finish`]).
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Closes the monitor files and writes `summary.json`; the folder is not yet in place.
    pub fn close_monitors(&mut self) -> Result<()> {
        for (path, w) in self.writers.drain(..) {
            match w {
                Writer::F32(w) => w.finish(),
                Writer::U8(w) => w.finish(),
            }
            .map_err(|e| out_err(&path, e))?;
        }
        Ok(())
    }

    /// Writes the summary and moves the folder into place, replacing an older one.
    pub fn finish(mut self, summary: &Summary) -> Result<()> {
        self.close_monitors()?;
        let path = self.tmp.join("summary.json");
        let text = serde_json::to_string_pretty(summary).map_err(|e| out_err(&path, e))?;
        std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))?;
        if self.dir.exists() {
            let old = self.tmp.with_extension("old");
            std::fs::rename(&self.dir, &old).map_err(|e| Error::io(&self.dir, e))?;
            std::fs::rename(&self.tmp, &self.dir).map_err(|e| Error::io(&self.dir, e))?;
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&self.tmp, &self.dir).map_err(|e| Error::io(&self.dir, e))?;
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// `summary.json`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    #[serde(flatten)]
    pub backend: BackendInfo,
    pub steps: usize,
    pub dt_ms: f64,
    pub batch: usize,
    pub synapses: u64,
    /// Seconds spent simulating (including monitor readback and writing).
    pub wall_seconds: f64,
    pub steps_per_second: f64,
    /// Synapses times steps times batch rows, per second of `wall_seconds`.
    pub synapse_updates_per_second: f64,
    /// Spikes per population, all batch rows together.
    pub spike_counts: serde_json::Map<String, serde_json::Value>,
    /// Mean firing rate per population, Hz.
    pub rates_hz: serde_json::Map<String, serde_json::Value>,
    /// Monitor name to target.
    pub monitors: serde_json::Map<String, serde_json::Value>,
}

impl Summary {
    pub fn new(net: &Network, info: BackendInfo, stats: &RunStats, wall_seconds: f64) -> Self {
        let duration_s = net.steps as f64 * net.dt / 1000.0;
        let mut spike_counts = serde_json::Map::new();
        let mut rates_hz = serde_json::Map::new();
        for (p, &c) in net.populations.iter().zip(&stats.spike_counts) {
            spike_counts.insert(p.name.clone(), c.into());
            let rate = c as f64 / (p.size * net.batch) as f64 / duration_s;
            rates_hz.insert(p.name.clone(), serde_json::Value::from(rate));
        }
        let monitors = net.monitors.iter().map(|m| (m.name.clone(), net.target_name(m.target).into())).collect();
        let secs = wall_seconds.max(1e-12);
        Summary {
            backend: info,
            steps: net.steps,
            dt_ms: net.dt,
            batch: net.batch,
            synapses: net.synapse_count(),
            wall_seconds,
            steps_per_second: net.steps as f64 / secs,
            synapse_updates_per_second: (net.synapse_count() * net.steps as u64 * net.batch as u64) as f64 / secs,
            spike_counts,
            rates_hz,
            monitors,
        }
    }
}
