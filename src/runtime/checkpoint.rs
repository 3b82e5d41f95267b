//! The complete simulation state of an engine between two chunks, and its file format.
//!
//! A checkpoint holds every state array of one engine (named, as raw little-endian bytes), the
//! step, the spike counts so far, and a fingerprint of the plan, so it is refused by another
//! network or another layout. The file is `SPKGCKPT`, a format version, a JSON header (names and
//! lengths), the arrays, and an FNV-1a checksum of everything before it; it is written to a
//! temporary file, flushed to disk and renamed, so a checkpoint on disk is whole or absent.

use crate::error::{Error, Result};
use crate::plan::Plan;
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 8] = b"SPKGCKPT";
const VERSION: u32 = 1;

/// One engine's state.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// "cpu" or "gpu": a checkpoint restores into the kind of engine that made it.
    pub engine: String,
    /// [`plan_fingerprint`] of the plan it belongs to.
    pub fingerprint: u64,
    /// Steps run.
    pub step: usize,
    /// Spikes per population so far.
    pub spike_counts: Vec<u64>,
    /// Per LIF population, the non-finite value recorded so far, or an empty string (see
    /// [`super::NonFinitePolicy::Record`]).
    pub nonfinite: Vec<String>,
    /// The state arrays, by name.
    pub arrays: Vec<(String, Vec<u8>)>,
}

/// FNV-1a over bytes: a stable fingerprint and checksum (no dependency, the same on every
/// machine).
fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// A fingerprint of everything in a plan that decides the layout and meaning of the state:
/// mode, dt, steps, batch, sizes, the schedule, ring lengths, parameters, monitors.
pub fn plan_fingerprint(plan: &Plan) -> u64 {
    let text = format!(
        "{:?}|{}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        plan.mode,
        plan.dt_ms.to_bits(),
        plan.steps,
        plan.batch,
        plan.populations,
        plan.schedule,
        plan.sources.iter().map(|s| (s.n, s.ring, s.event_neurons.len())).collect::<Vec<_>>(),
        plan.neurons.iter().map(|l| (l.n, l.ring, &l.params, &l.inputs)).collect::<Vec<_>>(),
        plan.groups.iter().map(|g| (g.n, g.history, g.params, g.window_flags)).collect::<Vec<_>>(),
        (plan.accumulators.iter().map(|a| (a.n, a.params, a.scale)).collect::<Vec<_>>(), &plan.monitors),
    );
    fnv1a(text.as_bytes(), FNV_OFFSET)
}

impl Checkpoint {
    /// A new, empty checkpoint of `engine` at `step`.
    pub fn new(engine: &str, plan: &Plan, step: usize, spike_counts: Vec<u64>, nonfinite: Vec<String>) -> Self {
        Checkpoint { engine: engine.into(), fingerprint: plan_fingerprint(plan), step, spike_counts, nonfinite, arrays: Vec::new() }
    }

    /// Adds an array.
    pub fn push<T: bytemuck::Pod>(&mut self, name: impl Into<String>, data: &[T]) {
        self.arrays.push((name.into(), bytemuck::cast_slice(data).to_vec()));
    }

    /// Bytes of state it holds.
    pub fn state_bytes(&self) -> u64 {
        self.arrays.iter().map(|(_, b)| b.len() as u64).sum()
    }

    /// Checks that it belongs to `plan` on engine `engine`.
    pub fn check(&self, engine: &str, plan: &Plan) -> Result<()> {
        if self.engine != engine {
            return Err(Error::Checkpoint(format!("it was made by the {} engine; resume it with --backend {}", self.engine, self.engine)));
        }
        if self.fingerprint != plan_fingerprint(plan) {
            return Err(Error::Checkpoint("it belongs to another network, mode or version (the plans differ)".into()));
        }
        if self.step > plan.steps {
            return Err(Error::Checkpoint(format!("it is at step {}, past the run's {} steps", self.step, plan.steps)));
        }
        Ok(())
    }

    /// Array `name` as `T`s, checked to hold `len` of them.
    pub fn array<T: bytemuck::Pod>(&self, name: &str, len: usize) -> Result<Vec<T>> {
        let (_, bytes) = self.arrays.iter().find(|(n, _)| n == name).ok_or_else(|| Error::Checkpoint(format!("array {name} is missing")))?;
        let size = std::mem::size_of::<T>();
        if bytes.len() != len * size {
            return Err(Error::Checkpoint(format!("array {name} has {} bytes, expected {}", bytes.len(), len * size)));
        }
        Ok(bytes.chunks_exact(size).map(bytemuck::pod_read_unaligned).collect())
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::json!({
            "engine": self.engine,
            "fingerprint": self.fingerprint.to_string(),
            "step": self.step,
            "spike_counts": self.spike_counts,
            "nonfinite": self.nonfinite,
            "arrays": self.arrays.iter().map(|(n, b)| serde_json::json!([n, b.len()])).collect::<Vec<_>>(),
        })
        .to_string();
        let mut out = Vec::with_capacity(self.state_bytes() as usize + header.len() + 32);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        for (_, b) in &self.arrays {
            out.extend_from_slice(b);
        }
        let sum = fnv1a(&out, FNV_OFFSET);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Reads the bytes of a checkpoint file.
    pub fn from_bytes(b: &[u8]) -> Result<Checkpoint> {
        let bad = |why: &str| Error::Checkpoint(format!("not a spikegpu checkpoint, or damaged: {why}"));
        if b.len() < 28 || &b[..8] != MAGIC {
            return Err(bad("no SPKGCKPT header"));
        }
        let (body, sum) = b.split_at(b.len() - 8);
        if fnv1a(body, FNV_OFFSET) != u64::from_le_bytes(sum.try_into().expect("8 bytes")) {
            return Err(bad("the checksum does not match"));
        }
        let version = u32::from_le_bytes(b[8..12].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(Error::Checkpoint(format!("format version {version}; this spikegpu reads version {VERSION}")));
        }
        let hlen = u64::from_le_bytes(b[12..20].try_into().expect("8 bytes")) as usize;
        let header: serde_json::Value = serde_json::from_slice(body.get(20..20 + hlen).ok_or_else(|| bad("short header"))?).map_err(|e| bad(&e.to_string()))?;
        let field = |k: &str| header.get(k).ok_or_else(|| bad(&format!("no {k}")));
        let mut at = 20 + hlen;
        let mut arrays = Vec::new();
        for a in field("arrays")?.as_array().ok_or_else(|| bad("arrays"))? {
            let (name, len) = (a[0].as_str().ok_or_else(|| bad("array name"))?, a[1].as_u64().ok_or_else(|| bad("array length"))? as usize);
            let data = body.get(at..at + len).ok_or_else(|| bad("short array"))?;
            arrays.push((name.to_string(), data.to_vec()));
            at += len;
        }
        Ok(Checkpoint {
            engine: field("engine")?.as_str().ok_or_else(|| bad("engine"))?.to_string(),
            fingerprint: field("fingerprint")?.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| bad("fingerprint"))?,
            step: field("step")?.as_u64().ok_or_else(|| bad("step"))? as usize,
            spike_counts: field("spike_counts")?.as_array().ok_or_else(|| bad("spike_counts"))?.iter().map(|v| v.as_u64().unwrap_or(0)).collect(),
            nonfinite: field("nonfinite")?.as_array().ok_or_else(|| bad("nonfinite"))?.iter().map(|v| v.as_str().unwrap_or("").to_string()).collect(),
            arrays,
        })
    }

    /// Writes the checkpoint to `path` atomically (a temporary file beside it, flushed, then
    /// renamed over it).
    pub fn write_atomic(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&self.to_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        })
    }

    /// Reads a checkpoint file.
    pub fn read(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Checkpoint::from_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let c = Checkpoint {
            engine: "cpu".into(),
            fingerprint: 42,
            step: 7,
            spike_counts: vec![1, 2],
            nonfinite: vec![],
            arrays: vec![("a".into(), vec![1, 2, 3, 4]), ("b".into(), vec![])],
        };
        let bytes = c.to_bytes();
        assert_eq!(Checkpoint::from_bytes(&bytes).unwrap(), c);
        for k in [0, 9, 30, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[k] ^= 1;
            assert!(Checkpoint::from_bytes(&bad).is_err(), "a flipped bit at {k} was accepted");
        }
        assert!(Checkpoint::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }
}
