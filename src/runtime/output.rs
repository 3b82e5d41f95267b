//! Run outputs: one `.npy` per monitor, streamed chunk by chunk, and `summary.json`, written so
//! that a run never destroys what spikegpu did not write and never leaves a partial folder.
//!
//! - The destination is checked before anything runs ([`check_destination`]): a missing or
//!   empty folder is used; a folder holding only what an earlier run wrote there (listed in its
//!   marker file [`MARKER`]) is replaced; anything else is refused, naming the first entries
//!   spikegpu did not write. A plain file, the current folder or one above it, and a folder that
//!   holds the network file are refused too. No option deletes foreign files.
//! - Everything is written into a temporary folder beside the destination,
//!   `.<name>.tmp-<pid>`, with an owner file (pid, boot, process start time), and moved into
//!   place at the end. A temporary folder whose owner is gone (SIGKILL, power loss) is
//!   recognised and removed by the next run into the same place ([`clean_leftovers`]), unless it
//!   holds a checkpoint, which `spikegpu resume` continues ([`find_resumable`], [`claim`]).
//! - With checkpoints, [`OutputDir::sync`] flushes the files to disk and says how many bytes of
//!   each are valid; a resumed run truncates them there and appends ([`OutputDir::reopen`]).

use super::{Chunk, EngineInfo, MonitorData, RunStats};
use crate::error::{Error, Result};
use crate::model::MonitorFormat;
use crate::plan::{MonitorPlan, Plan, UpdateMode};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

#[cfg(target_endian = "big")]
compile_error!("the .npy writer stores native bytes and declares them little-endian");

/// The marker a finished output folder holds: the files spikegpu wrote there, so a later run may
/// replace them (and only them).
pub const MARKER: &str = ".spikegpu-outputs.json";
/// The owner file of a temporary folder: which process writes it.
pub const OWNER: &str = "spikegpu-owner.json";
/// Files of a resumable run inside its temporary folder (written by the command line).
pub const RUN_FILE: &str = "run.json";
/// The checkpoint of a resumable run inside its temporary folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.spkg";
/// At most this many foreign entries are named in a refusal.
const NAMED: usize = 5;

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
    /// Bytes written so far, header included.
    bytes: u64,
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

/// The header a monitor's file starts with (for events: the placeholder of 0 events).
fn header_of(m: &MonitorPlan, events: u64) -> Vec<u8> {
    match (m.format, m.spikes) {
        (MonitorFormat::Events, _) => npy_header("<i4", &[events as usize, event_columns(m)], EVENT_HEADER_LEN),
        (MonitorFormat::Dense, false) => npy_header("<f4", &m.shape(), 0),
        (MonitorFormat::Dense, true) => npy_header("|u1", &m.shape(), 0),
    }
}

fn out_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output(format!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Where outputs go

/// A destination folder, resolved: its parent made absolute (symbolic links in it resolved) and
/// its own name. The user's spelling is kept for messages.
#[derive(Clone, Debug)]
pub struct Destination {
    /// As the user gave it.
    pub given: PathBuf,
    /// Absolute, with the parent's links resolved.
    pub path: PathBuf,
    /// The parent folder (absolute).
    pub parent: PathBuf,
    /// The folder's own name.
    pub name: String,
}

/// What a destination holds before a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contents {
    /// Nothing there yet.
    Missing,
    /// An empty folder.
    Empty,
    /// A folder holding only these files of an earlier spikegpu run.
    Replaceable(Vec<String>),
}

fn refuse(given: &Path, msg: impl std::fmt::Display) -> Error {
    Error::invalid("--out", format!("{}: {msg}", given.display()))
}

impl Destination {
    /// Resolves `dir` (which need not exist) without touching anything.
    pub fn resolve(dir: &Path) -> Result<Destination> {
        let given = dir.to_path_buf();
        if dir.as_os_str().is_empty() {
            return Err(refuse(&given, "is empty; give a folder such as out/run1"));
        }
        let mut abs = std::path::absolute(dir).map_err(|e| Error::io(dir, e))?;
        if !matches!(abs.components().next_back(), Some(std::path::Component::Normal(_))) {
            // `..`, `/`: name the real folder, so the checks below see what it contains
            abs = std::fs::canonicalize(&abs).map_err(|e| Error::io(dir, e))?;
        }
        let name = match abs.components().next_back() {
            Some(std::path::Component::Normal(n)) => n.to_string_lossy().into_owned(),
            _ => return Err(refuse(&given, "is not a folder spikegpu can write into (give a folder such as out/run1)")),
        };
        let parent = abs.parent().ok_or_else(|| refuse(&given, "has no parent folder"))?;
        // resolve links and `..` in the existing part of the parent, so the checks below compare
        // real places
        let parent = match std::fs::canonicalize(parent) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => parent.to_path_buf(),
            Err(e) => return Err(Error::io(parent, e)),
        };
        Ok(Destination { given, path: parent.join(&name), parent, name })
    }

    /// The temporary folder of process `pid` for this destination.
    pub fn tmp_of(&self, pid: u32) -> PathBuf {
        self.parent.join(format!(".{}.tmp-{pid}", self.name))
    }

    /// The folder an older output is moved to while it is replaced.
    fn old_of(&self, pid: u32) -> PathBuf {
        self.parent.join(format!(".{}.old-{pid}", self.name))
    }
}

/// Checks that a run may write into `dir` (see the module docs); `inputs` are files the run reads
/// (the network file), which the destination must not contain.
pub fn check_destination(dir: &Path, inputs: &[&Path]) -> Result<(Destination, Contents)> {
    let d = Destination::resolve(dir)?;
    let contents = contents(&d, inputs)?;
    Ok((d, contents))
}

fn contents(d: &Destination, inputs: &[&Path]) -> Result<Contents> {
    let meta = match std::fs::symlink_metadata(&d.path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Contents::Missing),
        Err(e) => return Err(Error::io(&d.given, e)),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse(&d.given, "is a symbolic link; give the folder it points to, or a new folder"));
    }
    if !meta.is_dir() {
        return Err(refuse(&d.given, "is a file, not a folder; spikegpu does not replace files it did not write"));
    }
    let real = std::fs::canonicalize(&d.path).map_err(|e| Error::io(&d.given, e))?;
    if let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize) {
        if cwd == real {
            return Err(refuse(&d.given, "is the current folder; give a folder inside it, such as out/run1"));
        }
        if cwd.starts_with(&real) {
            return Err(refuse(&d.given, "contains the current folder; give a new folder, such as out/run1"));
        }
    }
    for input in inputs {
        if let Ok(f) = std::fs::canonicalize(input) {
            if f.starts_with(&real) {
                return Err(refuse(&d.given, format!("contains the network file {}; give another folder, such as out/run1", input.display())));
            }
        }
    }
    let mut entries = Vec::new();
    for e in std::fs::read_dir(&d.path).map_err(|e| Error::io(&d.given, e))? {
        let e = e.map_err(|e| Error::io(&d.given, e))?;
        let is_file = e.file_type().map(|t| t.is_file()).unwrap_or(false);
        entries.push((e.file_name().to_string_lossy().into_owned(), is_file));
    }
    if entries.is_empty() {
        return Ok(Contents::Empty);
    }
    let ours = written_by_spikegpu(&d.path);
    let mut foreign: Vec<String> =
        entries.iter().filter(|(n, is_file)| !(*is_file && ours.contains(n))).map(|(n, is_file)| if *is_file { n.clone() } else { format!("{n}/") }).collect();
    if foreign.is_empty() {
        return Ok(Contents::Replaceable(entries.into_iter().map(|(n, _)| n).collect()));
    }
    foreign.sort();
    let more = foreign.len().saturating_sub(NAMED);
    foreign.truncate(NAMED);
    let list = foreign.join(", ") + &if more > 0 { format!(" and {more} more") } else { String::new() };
    Err(refuse(
        &d.given,
        format!("holds {list}, which spikegpu did not write; it never deletes what it did not write: choose another --out (a new folder)"),
    ))
}

/// The files of `dir` an earlier spikegpu run wrote: those its marker lists, or, for a folder of
/// a spikegpu that wrote no marker, `summary.json`, `figure.png` and the `.npy` of each monitor
/// its summary names.
fn written_by_spikegpu(dir: &Path) -> Vec<String> {
    let read = |name: &str| -> Option<serde_json::Value> { serde_json::from_str(&std::fs::read_to_string(dir.join(name)).ok()?).ok() };
    if let Some(m) = read(MARKER) {
        let mut files: Vec<String> = m["files"].as_array().into_iter().flatten().filter_map(|f| f.as_str()).filter(|f| plain_name(f)).map(String::from).collect();
        files.push(MARKER.into());
        return files;
    }
    match read("summary.json") {
        Some(s) if s.get("steps").is_some() && s.get("wall_seconds").is_some() => {
            let mut files = vec!["summary.json".to_string(), "figure.png".to_string()];
            files.extend(s["monitors"].as_object().into_iter().flatten().map(|(k, _)| format!("{k}.npy")).filter(|f| plain_name(f)));
            files
        }
        _ => Vec::new(),
    }
}

/// A file name without folders (a marker naming `../x` must not reach outside).
fn plain_name(f: &str) -> bool {
    !f.is_empty() && f != "." && f != ".." && !f.contains('/') && !f.contains('\\')
}

// ---------------------------------------------------------------------------------------------
// Temporary folders and their owners

/// The process that writes a temporary folder. The pid alone is not enough: after a reboot or a
/// long time a pid is reused, so the boot and the process start time are kept too.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Owner {
    /// Process id.
    pub pid: u32,
    /// `/proc/sys/kernel/random/boot_id` (empty where there is none).
    pub boot_id: String,
    /// Start time of the process in clock ticks since boot (`/proc/<pid>/stat` field 22; 0
    /// where unknown).
    pub start_ticks: u64,
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_string()).unwrap_or_default()
}

fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name (field 2) may hold spaces and parentheses: count from the last ')'
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

impl Owner {
    /// This process.
    pub fn me() -> Owner {
        let pid = std::process::id();
        Owner { pid, boot_id: boot_id(), start_ticks: start_ticks(pid).unwrap_or(0) }
    }

    /// Whether the owner is still running.
    pub fn alive(&self) -> bool {
        if self.pid == 0 || !pid_exists(self.pid) {
            return false;
        }
        if !self.boot_id.is_empty() && self.boot_id != boot_id() {
            return false;
        }
        match start_ticks(self.pid) {
            Some(t) if self.start_ticks != 0 => t == self.start_ticks,
            _ => true,
        }
    }
}

fn pid_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: kill with signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn read_owner(tmp: &Path) -> Option<Owner> {
    serde_json::from_str(&std::fs::read_to_string(tmp.join(OWNER)).ok()?).ok()
}

fn write_json(path: &Path, v: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(|e| out_err(path, e))?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}

/// A temporary or old folder beside a destination, as found on disk.
#[derive(Clone, Debug)]
pub struct Leftover {
    /// Its path.
    pub path: PathBuf,
    /// The pid in its name.
    pub pid: u32,
    /// Whether its writer still runs.
    pub alive: bool,
    /// Whether it holds a resumable run (a run file).
    pub resumable: bool,
    /// An `.old-<pid>` folder (an output being replaced) rather than a temporary one.
    pub old: bool,
}

/// The temporary and old folders of destination `d` on disk.
pub fn leftovers(d: &Destination) -> Vec<Leftover> {
    let (tmp_prefix, old_prefix) = (format!(".{}.tmp-", d.name), format!(".{}.old-", d.name));
    let mut found = Vec::new();
    let Ok(rd) = std::fs::read_dir(&d.parent) else { return found };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let (rest, old) = match (name.strip_prefix(&tmp_prefix), name.strip_prefix(&old_prefix)) {
            (Some(r), _) => (r, false),
            (_, Some(r)) => (r, true),
            _ => continue,
        };
        let Ok(pid) = rest.parse::<u32>() else { continue };
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = e.path();
        let alive = match read_owner(&path) {
            Some(o) => o.alive(),
            // a folder of a spikegpu that wrote no owner file: the pid is all there is; this
            // process has not made its own folder yet, so its own pid is an earlier process's
            None => pid != std::process::id() && pid_exists(pid),
        };
        let resumable = !old && path.join(RUN_FILE).is_file();
        found.push(Leftover { path, pid, alive, resumable, old });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// Whether every entry of a dead temporary folder is something spikegpu writes there (so removing
/// it destroys nothing of the user's, even if someone put the folder there by hand).
fn only_ours(tmp: &Path) -> bool {
    let Ok(rd) = std::fs::read_dir(tmp) else { return false };
    rd.flatten().all(|e| {
        let n = e.file_name().to_string_lossy().into_owned();
        let known = n.ends_with(".npy")
            || n.ends_with(".npy.tmp")
            || [OWNER, MARKER, RUN_FILE, CHECKPOINT_FILE, "summary.json", "figure.png"].contains(&n.as_str())
            || n.starts_with(&format!("{CHECKPOINT_FILE}.tmp-"))
            || n.starts_with("figure");
        known && e.file_type().is_ok_and(|t| t.is_file())
    })
}

/// Removes what killed runs left beside `d` (their owners are gone), and says what it removed.
/// Refuses when another spikegpu is writing `d` now, or when a killed run left a checkpoint there
/// (resume it, or delete it by hand: hours of simulation are not thrown away silently).
pub fn clean_leftovers(d: &Destination) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    for l in leftovers(d) {
        if l.alive {
            return Err(refuse(
                &d.given,
                format!("another spikegpu (pid {}) is writing it now ({}); wait for it, or choose another --out", l.pid, l.path.display()),
            ));
        }
        if l.resumable {
            return Err(refuse(
                &d.given,
                format!(
                    "a run that was stopped left a checkpoint in {}: continue it with `spikegpu resume {}`, or delete that folder to start again",
                    l.path.display(),
                    d.given.display()
                ),
            ));
        }
        if l.old {
            // an older output that was being replaced when its run was killed: put it back if
            // the new one never arrived, else it is superseded
            if !d.path.exists() {
                std::fs::rename(&l.path, &d.path).map_err(|e| Error::io(&l.path, e))?;
                notes.push(format!("put back {}, an earlier output a killed run (pid {}) was replacing", d.given.display(), l.pid));
            } else if remove_ours(&l.path) {
                notes.push(format!("removed {}, an earlier output replaced by a run (pid {}) that was killed", l.path.display(), l.pid));
            }
            continue;
        }
        if only_ours(&l.path) {
            std::fs::remove_dir_all(&l.path).map_err(|e| Error::io(&l.path, e))?;
            notes.push(format!("removed {}, left by a spikegpu run (pid {}) that was killed", l.path.display(), l.pid));
        } else {
            notes.push(format!("left {} alone: it holds files spikegpu does not write", l.path.display()));
        }
    }
    Ok(notes)
}

/// Removes a finished output folder's files its marker lists, then the folder if that empties
/// it. Returns whether the folder is gone.
fn remove_ours(dir: &Path) -> bool {
    for f in written_by_spikegpu(dir) {
        let _ = std::fs::remove_file(dir.join(f));
    }
    std::fs::remove_dir(dir).is_ok()
}

/// The temporary folder of a stopped resumable run for destination `dir` (the destination as
/// given to `run --out`, or the temporary folder itself).
pub fn find_resumable(dir: &Path) -> Result<PathBuf> {
    if dir.join(RUN_FILE).is_file() && dir.join(OWNER).is_file() {
        return Ok(dir.to_path_buf());
    }
    let d = Destination::resolve(dir)?;
    let found: Vec<Leftover> = leftovers(&d).into_iter().filter(|l| l.resumable).collect();
    let bad = |msg: String| Error::invalid("DIR", format!("{}: {msg}", dir.display()));
    match found.as_slice() {
        [] => Err(bad(format!(
            "no stopped run to resume (no .{}.tmp-<pid> folder holding a {RUN_FILE} beside it); a run is resumable when started with --checkpoint-every",
            d.name
        ))),
        [one] => Ok(one.path.clone()),
        many => Err(bad(format!(
            "several stopped runs: {}; pass the one to continue as DIR",
            many.iter().map(|l| l.path.display().to_string()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Takes over the temporary folder `tmp` of a stopped run: it must have no running owner; it is
/// renamed to this process's name (atomic, so two resumes cannot both take it) and gets this
/// process as its owner. Returns the new path.
pub fn claim(tmp: &Path, d: &Destination) -> Result<PathBuf> {
    if let Some(o) = read_owner(tmp) {
        if o.alive() && o.pid != std::process::id() {
            return Err(Error::invalid("DIR", format!("{}: spikegpu (pid {}) is still running it", tmp.display(), o.pid)));
        }
    }
    let mine = d.tmp_of(std::process::id());
    if mine != tmp {
        std::fs::rename(tmp, &mine).map_err(|e| Error::io(tmp, e))?;
    }
    write_json(&mine.join(OWNER), &Owner::me())?;
    Ok(mine)
}

// ---------------------------------------------------------------------------------------------
// The output folder being written

/// How far the files of a run are written: what a checkpoint records, so that a resumed run
/// truncates each file to the bytes that belong to the checkpointed steps and appends.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutputProgress {
    /// Steps whose values the files hold.
    pub step: usize,
    /// Per monitor, in order.
    pub files: Vec<FileProgress>,
}

/// One file's valid length.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileProgress {
    /// File name (`V.npy`).
    pub name: String,
    /// Valid bytes, header included.
    pub bytes: u64,
    /// Events written, for a spike-event file.
    pub events: Option<u64>,
}

/// An output folder being written.
pub struct OutputDir {
    dest: Destination,
    tmp: PathBuf,
    writers: Vec<NpyFile>,
    done: bool,
    keep: bool,
    step: usize,
    notes: Vec<String>,
}

/// Write buffers of all monitors together stay below this (a network with thousands of
/// monitors must not need a GiB of buffers).
const BUFFERS_TOTAL: usize = 64 << 20;

fn buffer_size(monitors: usize) -> usize {
    (BUFFERS_TOTAL / monitors.max(1)).clamp(64 << 10, 1 << 20)
}

impl OutputDir {
    /// Starts writing the outputs of `monitors` for `dir`: checks the destination (`inputs` are
    /// the files the run reads), removes what killed runs left there, and makes the temporary
    /// folder. [`Self::notes`] says what was removed.
    pub fn create(dir: &Path, monitors: &[MonitorPlan], inputs: &[&Path]) -> Result<Self> {
        let (dest, _) = check_destination(dir, inputs)?;
        let notes = clean_leftovers(&dest)?;
        std::fs::create_dir_all(&dest.parent).map_err(|e| Error::io(&dest.parent, e))?;
        let tmp = dest.tmp_of(std::process::id());
        std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut out = OutputDir { dest, tmp, writers: Vec::new(), done: false, keep: false, step: 0, notes };
        write_json(&out.tmp.join(OWNER), &Owner::me())?;
        let cap = buffer_size(monitors.len());
        for m in monitors {
            let path = out.tmp.join(format!("{}.npy", m.name));
            let mut file = BufWriter::with_capacity(cap, File::create(&path).map_err(|e| Error::io(&path, e))?);
            let header = header_of(m, 0);
            file.write_all(&header).map_err(|e| Error::io(&path, e))?;
            let events = (m.format == MonitorFormat::Events).then_some(0);
            out.writers.push(NpyFile { path, file, monitor: m.clone(), events, bytes: header.len() as u64 });
        }
        Ok(out)
    }

    /// Reopens the files of a claimed temporary folder `tmp` (see [`claim`]) at `progress`: each
    /// is truncated to its valid bytes and written on from there.
    pub fn reopen(dir: &Path, tmp: &Path, monitors: &[MonitorPlan], progress: &OutputProgress) -> Result<Self> {
        let dest = Destination::resolve(dir)?;
        if progress.files.len() != monitors.len() {
            return Err(Error::Checkpoint(format!("it records {} output files, the network has {} monitors", progress.files.len(), monitors.len())));
        }
        let mut out = OutputDir { dest, tmp: tmp.to_path_buf(), writers: Vec::new(), done: false, keep: true, step: progress.step, notes: Vec::new() };
        let cap = buffer_size(monitors.len());
        for (m, f) in monitors.iter().zip(&progress.files) {
            let path = tmp.join(format!("{}.npy", m.name));
            if f.name != format!("{}.npy", m.name) {
                return Err(Error::Checkpoint(format!("it records output {}, the network's monitor is {}.npy", f.name, m.name)));
            }
            let file = std::fs::OpenOptions::new().read(true).write(true).open(&path).map_err(|e| Error::io(&path, e))?;
            let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
            if len < f.bytes {
                return Err(Error::Checkpoint(format!("{} has {len} bytes, fewer than the {} the checkpoint counts", path.display(), f.bytes)));
            }
            // bytes after the checkpoint belong to steps that are run again
            file.set_len(f.bytes).map_err(|e| Error::io(&path, e))?;
            let mut file = BufWriter::with_capacity(cap, file);
            file.seek(SeekFrom::End(0)).map_err(|e| Error::io(&path, e))?;
            out.writers.push(NpyFile { path, file, monitor: m.clone(), events: f.events, bytes: f.bytes });
        }
        // the folder is this process's now; until the run ends it is removed only on success
        out.keep = false;
        Ok(out)
    }

    /// What [`Self::create`] removed or left alone, one line each.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Appends one chunk to every monitor file.
    pub fn write_chunk(&mut self, chunk: &Chunk) -> Result<()> {
        for (w, data) in self.writers.iter_mut().zip(&chunk.data) {
            if let (Some(count), MonitorData::Spike(d)) = (&mut w.events, data) {
                let mut rows: Vec<i32> = Vec::new();
                *count += w.monitor.append_events(chunk.start, d, &mut rows);
                w.file.write_all(bytemuck::cast_slice(&rows)).map_err(|e| Error::io(&w.path, e))?;
                w.bytes += 4 * rows.len() as u64;
                continue;
            }
            let bytes: &[u8] = match data {
                MonitorData::F32(d) => bytemuck::cast_slice(d),
                MonitorData::Spike(d) => d,
            };
            w.file.write_all(bytes).map_err(|e| Error::io(&w.path, e))?;
            w.bytes += bytes.len() as u64;
        }
        self.step = chunk.start + chunk.steps;
        Ok(())
    }

    /// Flushes every file to disk and returns how far they are written (for a checkpoint taken
    /// at this step).
    pub fn sync(&mut self) -> Result<OutputProgress> {
        let mut files = Vec::with_capacity(self.writers.len());
        for w in &mut self.writers {
            w.file.flush().map_err(|e| Error::io(&w.path, e))?;
            w.file.get_ref().sync_data().map_err(|e| Error::io(&w.path, e))?;
            files.push(FileProgress { name: format!("{}.npy", w.monitor.name), bytes: w.bytes, events: w.events });
        }
        Ok(OutputProgress { step: self.step, files })
    }

    /// The values written so far, as the chunks held them (spike events back as 0/1 flags), for
    /// a figure of a resumed run. Fails cleanly, naming the monitor, when memory is short.
    pub fn read_back(&mut self) -> Result<Vec<MonitorData>> {
        let mut all = Vec::with_capacity(self.writers.len());
        for w in &mut self.writers {
            w.file.flush().map_err(|e| Error::io(&w.path, e))?;
            let m = &w.monitor;
            let rows = m.rows_between(0, self.step);
            let len = rows * m.width();
            let header = header_of(m, 0).len() as u64;
            let mut f = File::open(&w.path).map_err(|e| Error::io(&w.path, e))?;
            f.seek(SeekFrom::Start(header)).map_err(|e| Error::io(&w.path, e))?;
            let mut bytes = Vec::new();
            let want = (w.bytes - header) as usize;
            bytes.try_reserve_exact(want).map_err(|_| memory_error(&format!("reading back monitor {} for the figure", m.name), want as u64))?;
            f.take(want as u64).read_to_end(&mut bytes).map_err(|e| Error::io(&w.path, e))?;
            let data = match (m.format, m.spikes) {
                (MonitorFormat::Dense, false) => MonitorData::F32(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()),
                (MonitorFormat::Dense, true) => MonitorData::Spike(bytes),
                (MonitorFormat::Events, _) => {
                    let mut flags = Vec::new();
                    flags.try_reserve_exact(len).map_err(|_| memory_error(&format!("reading back monitor {} for the figure", m.name), len as u64))?;
                    flags.resize(len, 0u8);
                    let cols = event_columns(m);
                    let n = m.pick.len();
                    for row in bytes.chunks_exact(4 * cols) {
                        let v: Vec<i64> = row.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64).collect();
                        let (step, b, neuron) = if cols == 3 { (v[0], v[1], v[2]) } else { (v[0], 0, v[1]) };
                        let r = step as usize / m.every;
                        for j in (0..n).filter(|&j| m.pick.neuron(j) as i64 == neuron) {
                            if let Some(f) = flags.get_mut(r * m.width() + b as usize * n + j) {
                                *f = 1;
                            }
                        }
                    }
                    MonitorData::Spike(flags)
                }
            };
            all.push(data);
        }
        Ok(all)
    }

    /// The temporary folder (for extra files such as the figure and the checkpoint).
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Keeps the temporary folder when this is dropped without [`Self::finish`] (a checkpointed
    /// run that was stopped: `spikegpu resume` continues it).
    pub fn keep_on_drop(&mut self) {
        self.keep = true;
    }

    /// Closes the monitor files; the folder is not yet in place.
    pub fn close_monitors(&mut self) -> Result<()> {
        for mut w in self.writers.drain(..) {
            if let Some(count) = w.events {
                // the event count is known now: rewrite the placeholder header in place
                let header = header_of(&w.monitor, count);
                w.file.seek(SeekFrom::Start(0)).map_err(|e| Error::io(&w.path, e))?;
                w.file.write_all(&header).map_err(|e| Error::io(&w.path, e))?;
            }
            w.file.flush().map_err(|e| Error::io(&w.path, e))?;
            w.file.get_ref().sync_all().map_err(|e| Error::io(&w.path, e))?;
        }
        Ok(())
    }

    /// Writes the summary and the marker and moves the folder into place, replacing an older
    /// output only when it holds nothing but files of an earlier run.
    pub fn finish(mut self, summary: &Summary) -> Result<()> {
        self.close_monitors()?;
        write_json(&self.tmp.join("summary.json"), summary)?;
        for f in [OWNER, RUN_FILE, CHECKPOINT_FILE] {
            let _ = std::fs::remove_file(self.tmp.join(f));
        }
        let mut files: Vec<String> = std::fs::read_dir(&self.tmp)
            .map_err(|e| Error::io(&self.tmp, e))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        files.push(MARKER.into());
        let marker = serde_json::json!({
            "written_by": format!("spikegpu {}", env!("CARGO_PKG_VERSION")),
            "why": "the files spikegpu wrote here; a later run into this folder replaces them, and refuses if anything else is here",
            "files": files,
        });
        write_json(&self.tmp.join(MARKER), &marker)?;
        sync_dir(&self.tmp);
        let d = self.dest.clone();
        // checked again: something may have been put there while the run ran
        match contents(&d, &[]) {
            Ok(Contents::Missing) => rename(&self.tmp, &d.path)?,
            Ok(Contents::Empty) => {
                std::fs::remove_dir(&d.path).map_err(|e| Error::io(&d.path, e))?;
                rename(&self.tmp, &d.path)?;
            }
            Ok(Contents::Replaceable(_)) => {
                let old = d.old_of(std::process::id());
                rename(&d.path, &old)?;
                rename(&self.tmp, &d.path)?;
                remove_ours(&old);
            }
            Err(e) => {
                // keep this run's outputs where the user sees them, and say so
                let aside = d.parent.join(format!("{}.spikegpu-{}", d.name, std::process::id()));
                rename(&self.tmp, &aside)?;
                self.done = true;
                return Err(Error::Output(format!("{e}; this run's outputs are in {} instead", aside.display())));
            }
        }
        sync_dir(&d.parent);
        self.done = true;
        Ok(())
    }
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| Error::Output(format!("moving {} to {}: {e}", from.display(), to.display())))
}

/// Makes renames in `dir` durable (best effort: not every file system allows it).
fn sync_dir(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
}

/// The error of an allocation that failed: what it was for and how many bytes.
pub fn memory_error(what: &str, bytes: u64) -> Error {
    Error::ResourceLimit { what: format!("memory for {what}"), requested: bytes, available: 0 }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.done && !self.keep {
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

// ---------------------------------------------------------------------------------------------
// summary.json

/// Checkpoints written during a run.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CheckpointStats {
    /// Steps between two checkpoints.
    pub every_steps: usize,
    /// Checkpoints written by this process.
    pub written: usize,
    /// Bytes of one checkpoint file.
    pub bytes: u64,
    /// Seconds spent writing them (engine state read, files synced, file written and renamed).
    pub seconds: f64,
}

/// `summary.json`: what ran, on what, from which file, and what came out.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    /// The spikegpu that wrote it.
    pub spikegpu_version: String,
    /// The git commit it was built from (absent when not built from a git checkout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// The command line, one argument per entry.
    pub command_line: Vec<String>,
    /// The network file as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_file: Option<String>,
    /// SHA-256 of the network file's bytes (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_sha256: Option<String>,
    /// When the run started, UTC, ISO 8601.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_utc: Option<String>,
    /// Which engine and device ran the simulation (with the GPU driver).
    #[serde(flatten)]
    pub backend: EngineInfo,
    /// The update mode.
    pub mode: UpdateMode,
    /// Worker threads of the CPU engine (rayon's pool; `RAYON_NUM_THREADS` sets it).
    pub threads: usize,
    /// Number of steps run.
    pub steps: usize,
    /// Time step, ms.
    pub dt_ms: f64,
    /// Number of batch copies.
    pub batch: usize,
    /// Number of synapses in the network.
    pub synapses: u64,
    /// Seconds spent simulating (including monitor readback and writing) by this process.
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
    /// `stop` (a NaN or infinity ends the run) or `record` (`--allow-nonfinite`).
    pub nonfinite_policy: String,
    /// Non-finite values found under `record`, the first per population.
    pub nonfinite: Vec<String>,
    /// Warnings about the network (they never change a result).
    pub warnings: Vec<String>,
    /// Notices about how it ran (engine choice, update fallbacks).
    pub notes: Vec<String>,
    /// Checkpoints written, when the run took them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<CheckpointStats>,
    /// The step a resumed run continued from (`wall_seconds` then covers the rest only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed_from_step: Option<usize>,
    /// Per monitor: its target, the `.npy` shape, the recording interval and the recorded
    /// neurons (`"all"`, `"start:end"`, or the list), so a reader can rebuild each row's time and
    /// each column's neuron.
    pub monitor_layout: serde_json::Map<String, serde_json::Value>,
    /// GPU engine: the device's time (timestamp queries, where the adapter has them), the host's
    /// time recording commands, and the compute dispatches per step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_timing: Option<GpuTiming>,
    /// The network's parameters as used, every default filled in (connectivity and long lists
    /// summarised).
    pub parameters: serde_json::Value,
}

/// Where a GPU run's time went.
#[derive(Clone, Debug, serde::Serialize)]
pub struct GpuTiming {
    /// The device's own time for all steps, from timestamps at the start and end of each
    /// chunk's compute pass (absent when the adapter has no timestamp queries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_seconds: Option<f64>,
    /// [`GpuTiming::gpu_seconds`] per step, microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_us_per_step: Option<f64>,
    /// Host time recording and submitting the commands, per step, microseconds.
    pub encode_us_per_step: f64,
    /// Compute dispatches recorded per step (phases with nothing to do that step are skipped).
    pub dispatches_per_step: f64,
}

/// Peak resident set size of this process (`VmHWM`), in MiB, where the OS reports it.
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

impl Summary {
    /// Builds the summary of a finished run of `plan`; provenance fields the caller knows (the
    /// command line, the file, the parameters) start empty.
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
        let monitor_layout = plan
            .monitors
            .iter()
            .map(|m| {
                let neurons = match &m.pick {
                    crate::plan::Pick::Range { start: 0, len } if *len as usize == m.n => serde_json::json!("all"),
                    crate::plan::Pick::Range { start, len } => serde_json::json!(format!("{start}:{}", start + len)),
                    crate::plan::Pick::List(l) => serde_json::json!(l),
                };
                let shape = if m.format == crate::model::MonitorFormat::Events { serde_json::Value::Null } else { serde_json::json!(m.shape()) };
                (m.name.clone(), serde_json::json!({"target": m.target, "shape": shape, "every": m.every, "neurons": neurons}))
            })
            .collect();
        let per_step = |x: f64| x / plan.steps.max(1) as f64 * 1e6;
        let gpu_timing = stats.encode_seconds.map(|enc| GpuTiming {
            gpu_seconds: stats.gpu_seconds,
            gpu_us_per_step: stats.gpu_seconds.map(per_step),
            encode_us_per_step: per_step(enc),
            dispatches_per_step: stats.dispatches_per_step.unwrap_or(0.0),
        });
        let secs = wall_seconds.max(1e-12);
        let synapses = plan.synapses;
        Summary {
            spikegpu_version: env!("CARGO_PKG_VERSION").into(),
            git_commit: option_env!("SPIKEGPU_GIT_COMMIT").map(String::from),
            command_line: std::env::args().collect(),
            network_file: None,
            network_sha256: None,
            started_utc: None,
            backend: info,
            mode: plan.mode,
            threads: rayon::current_num_threads(),
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
            nonfinite_policy: "stop".into(),
            nonfinite: stats.nonfinite.clone(),
            warnings: Vec::new(),
            notes: Vec::new(),
            checkpoints: None,
            resumed_from_step: None,
            monitor_layout,
            gpu_timing,
            parameters: serde_json::Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_headers_are_aligned() {
        for shape in [vec![3usize], vec![1000, 1], vec![12_000, 4, 4000]] {
            let h = npy_header("<f4", &shape, 0);
            assert_eq!(h.len() % 64, 0);
            assert_eq!(*h.last().unwrap(), b'\n');
        }
        assert_eq!(npy_header("<i4", &[0, 3], EVENT_HEADER_LEN).len(), EVENT_HEADER_LEN);
        assert_eq!(npy_header("<i4", &[u32::MAX as usize * 4, 3], EVENT_HEADER_LEN).len(), EVENT_HEADER_LEN);
    }

    #[test]
    fn marker_names_stay_inside() {
        assert!(plain_name("V.npy"));
        for bad in ["", ".", "..", "../x", "a/b", "a\\b"] {
            assert!(!plain_name(bad), "{bad}");
        }
    }

    #[test]
    fn this_process_is_alive_and_a_made_up_one_is_not() {
        let me = Owner::me();
        assert!(me.alive());
        assert!(!Owner { boot_id: "another boot".into(), ..me.clone() }.alive());
        assert!(!Owner { start_ticks: me.start_ticks + 1, ..me.clone() }.alive() || me.start_ticks == 0);
        assert!(!Owner { pid: 0, ..me }.alive());
    }
}
