//! Run outputs: one `.npy` per monitor, streamed chunk by chunk, and `summary.json`. Everything
//! is written into a temporary folder beside the destination and renamed at the end, so a failed
//! run leaves no partial output.

use super::{Chunk, EngineInfo, MonitorData, RunStats};
use crate::error::{Error, Result};
use crate::model::MonitorFormat;
use crate::plan::{MonitorPlan, Plan};
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

#[cfg(target_endian = "big")]
compile_error!("the .npy writer stores native bytes and declares them little-endian");

/// One monitor's `.npy` file, written as chunks arrive. The header (shape known up front) is
/// written first and the data appended as raw little-endian bytes: npyz's element-by-element
/// writer cost about as much as the whole event-driven simulation of B2.
struct NpyFile {
    path: PathBuf,
    file: BufWriter<File>,
    /// The monitor it stores.
    monitor: MonitorPlan,
    /// For a spike-event file, the events written so far (its shape is known only at the end,
    /// when the header is rewritten in place).
    events: Option<u64>,
}

/// Header length of spike-event files: room for any `(k, 3)` shape, so the final header
/// overwrites the placeholder exactly.
const EVENT_HEADER_LEN: usize = 128;

/// The `.npy` v1.0 header for a C-order array, at least `min_len` bytes long.
fn npy_header(descr: &str, shape: &[usize], min_len: usize) -> Vec<u8> {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // magic (6) + version (2) + length (2) + dict + '\n' is padded to a multiple of 64
    let total = ((10 + dict.len() + 1).div_ceil(64) * 64).max(min_len);
    dict.push_str(&" ".repeat(total - 10 - dict.len() - 1));
    dict.push('\n');
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    h.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h
}

/// An output folder being written.
pub struct OutputDir {
    dir: PathBuf,
    tmp: PathBuf,
    writers: Vec<NpyFile>,
    done: bool,
}

fn out_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output(format!("{}: {e}", path.display()))
}

impl OutputDir {
    /// Starts writing the outputs of `monitors` for `dir` (into a temporary folder beside it).
    pub fn create(dir: &Path, monitors: &[MonitorPlan]) -> Result<Self> {
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
        for m in monitors {
            let path = out.tmp.join(format!("{}.npy", m.name));
            let mut file = BufWriter::with_capacity(1 << 20, File::create(&path).map_err(|e| Error::io(&path, e))?);
            let (header, events) = match (m.format, m.spikes) {
                (MonitorFormat::Events, _) => (npy_header("<i4", &[0, event_columns(m)], EVENT_HEADER_LEN), Some(0)),
                (MonitorFormat::Dense, false) => (npy_header("<f4", &m.shape(), 0), None),
                (MonitorFormat::Dense, true) => (npy_header("|u1", &m.shape(), 0), None),
            };
            file.write_all(&header).map_err(|e| Error::io(&path, e))?;
            out.writers.push(NpyFile { path, file, monitor: m.clone(), events });
        }
        Ok(out)
    }

    /// Appends one chunk to every monitor file.
    pub fn write_chunk(&mut self, chunk: &Chunk) -> Result<()> {
        for (w, data) in self.writers.iter_mut().zip(&chunk.data) {
            if let (Some(count), MonitorData::Spike(d)) = (&mut w.events, data) {
                let m = &w.monitor;
                let (batch, n) = (m.batch, m.pick.len());
                // the first recorded step of this chunk
                let first = chunk.start.div_ceil(m.every);
                let mut rows: Vec<i32> = Vec::new();
                for (k, _) in d.iter().enumerate().filter(|(_, &s)| s != 0) {
                    let (row, b, j) = (first + k / (batch * n), (k / n) % batch, k % n);
                    rows.push(m.step_of_row(row) as i32);
                    if batch > 1 {
                        rows.push(b as i32);
                    }
                    rows.push(m.pick.neuron(j) as i32);
                    *count += 1;
                }
                w.file.write_all(bytemuck::cast_slice(&rows)).map_err(|e| Error::io(&w.path, e))?;
                continue;
            }
            let bytes: &[u8] = match data {
                MonitorData::F32(d) => bytemuck::cast_slice(d),
                MonitorData::Spike(d) => d,
            };
            w.file.write_all(bytes).map_err(|e| Error::io(&w.path, e))?;
        }
        Ok(())
    }

    /// The temporary folder (for extra files such as the figure, written before [`Self::finish`]).
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Closes the monitor files and writes `summary.json`; the folder is not yet in place.
    pub fn close_monitors(&mut self) -> Result<()> {
        for mut w in self.writers.drain(..) {
            if let Some(count) = w.events {
                // the event count is known now: rewrite the placeholder header in place
                let header = npy_header("<i4", &[count as usize, event_columns(&w.monitor)], EVENT_HEADER_LEN);
                w.file.seek(std::io::SeekFrom::Start(0)).map_err(|e| Error::io(&w.path, e))?;
                w.file.write_all(&header).map_err(|e| Error::io(&w.path, e))?;
            }
            w.file.flush().map_err(|e| Error::io(&w.path, e))?;
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

/// Columns of a spike-event file: (step, neuron), or (step, batch row, neuron) when batched.
fn event_columns(m: &MonitorPlan) -> usize {
    if m.batch > 1 {
        3
    } else {
        2
    }
}

/// `summary.json`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    /// Which engine and device ran the simulation.
    #[serde(flatten)]
    pub backend: EngineInfo,
    /// Number of steps run.
    pub steps: usize,
    /// Time step, ms.
    pub dt_ms: f64,
    /// Number of batch copies.
    pub batch: usize,
    /// Number of synapses in the network.
    pub synapses: u64,
    /// Seconds spent simulating (including monitor readback and writing).
    pub wall_seconds: f64,
    /// Simulation steps per second of `wall_seconds`.
    pub steps_per_second: f64,
    /// Synapses times steps times batch rows, per second of `wall_seconds`.
    pub synapse_updates_per_second: f64,
    /// Spikes per population, all batch rows together.
    pub spike_counts: serde_json::Map<String, serde_json::Value>,
    /// Mean firing rate per population, Hz.
    pub rates_hz: serde_json::Map<String, serde_json::Value>,
    /// Monitor name to target.
    pub monitors: serde_json::Map<String, serde_json::Value>,
    /// The process's peak resident memory so far, MiB (Linux; absent elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_memory_mib: Option<f64>,
}

/// Peak resident set size of this process (`VmHWM`), in MiB, where the OS reports it.
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

impl Summary {
    /// Builds the summary of a finished run of `plan`.
    pub fn new(plan: &Plan, info: EngineInfo, stats: &RunStats, wall_seconds: f64) -> Self {
        let duration_s = plan.steps as f64 * plan.dt_ms / 1000.0;
        let mut spike_counts = serde_json::Map::new();
        let mut rates_hz = serde_json::Map::new();
        for (p, &c) in plan.populations.iter().zip(&stats.spike_counts) {
            spike_counts.insert(p.name.clone(), c.into());
            let rate = c as f64 / (p.size * plan.batch) as f64 / duration_s;
            rates_hz.insert(p.name.clone(), serde_json::Value::from(rate));
        }
        let monitors = plan.monitors.iter().map(|m| (m.name.clone(), m.target.clone().into())).collect();
        let secs = wall_seconds.max(1e-12);
        let synapses = plan.synapses;
        Summary {
            backend: info,
            steps: plan.steps,
            dt_ms: plan.dt_ms,
            batch: plan.batch,
            synapses,
            wall_seconds,
            steps_per_second: plan.steps as f64 / secs,
            synapse_updates_per_second: (synapses * plan.steps as u64 * plan.batch as u64) as f64 / secs,
            spike_counts,
            rates_hz,
            monitors,
            peak_memory_mib: peak_memory_mib(),
        }
    }
}
