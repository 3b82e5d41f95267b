//! Helpers shared by the integration tests: golden cases, the golden README's comparison rules,
//! run-against-run comparison (GPU against CPU), a small independent `.npy` reader, and a seeded
//! random network generator.
//!
//! Everything here is generic over a `&mut dyn Backend` and over plain monitor data, so the same
//! helpers serve the CPU tests and the GPU-against-CPU tests.
#![allow(dead_code)]

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};
use spikegpu::model::{file, Network, NeuronModel, Target};
use spikegpu::sim::{run_collect, Backend, MonitorData, RunStats};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

// ---------------------------------------------------------------------------------------------
// Golden cases
// ---------------------------------------------------------------------------------------------

/// The golden folder (`../shared/golden` beside the checkout). Panics when it is missing: the
/// golden tests must never pass by finding nothing.
pub fn golden_dir() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/golden"));
    assert!(
        p.is_dir(),
        "golden folder {} is missing: the tests need ../shared/golden beside the checkout",
        p.display()
    );
    p
}

/// Every `*.json` golden case, sorted by name. Panics when there are none.
pub fn golden_case_paths() -> Vec<PathBuf> {
    let dir = golden_dir();
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no golden cases (*.json) in {}", dir.display());
    v
}

/// How spikes are matched (golden README, "Comparing").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpikeRule {
    /// Every spike has a partner of the same neuron within one step; at most a fraction of the
    /// spikes may be shifted by one step.
    Partner,
    /// Per neuron: count within one, first spike within one step, mean ISI within 2%;
    /// continuous traces only up to the first expected spike.
    Isi,
}

/// One expected continuous trace, matched to the network monitor of the same name.
#[derive(Clone, Debug)]
pub struct ExpectedTrace {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Spike events `(step, neuron)` of one population, one sorted list per batch row.
#[derive(Clone, Debug)]
pub struct ExpectedSpikes {
    pub pop: usize,
    pub rows: Vec<Vec<(usize, usize)>>,
}

/// What a run is compared against.
#[derive(Clone, Debug)]
pub struct Expected {
    pub traces: Vec<ExpectedTrace>,
    pub spikes: Vec<ExpectedSpikes>,
    pub rule: SpikeRule,
}

/// A golden case: the network, BrainPy's traces and the post population's spikes.
#[derive(Clone, Debug)]
pub struct GoldenCase {
    pub name: String,
    pub path: PathBuf,
    pub net: Network,
    pub expected: Expected,
    /// Index of the post population (whose spikes `post_spike_events` lists).
    pub post: usize,
}

fn flatten_numbers(v: &Value, out: &mut Vec<f32>, what: &str) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flatten_numbers(x, out, what)),
        Value::Number(n) => out.push(n.as_f64().unwrap() as f32),
        other => panic!("{what}: expected a number, got {other}"),
    }
}

fn events_of(v: &Value, what: &str) -> Vec<(usize, usize)> {
    let mut ev: Vec<(usize, usize)> = v
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not a list"))
        .iter()
        .map(|e| {
            let e = e.as_array().unwrap_or_else(|| panic!("{what}: event {e} is not [step, neuron]"));
            (e[0].as_u64().unwrap() as usize, e[1].as_u64().unwrap() as usize)
        })
        .collect();
    ev.sort();
    ev
}

/// Loads a golden case file: the network through `file::parse` (exactly as the CLI does), the
/// expected traces as flat f32 with their shapes, the post spikes per batch row, the spike rule.
pub fn load_golden(path: &Path) -> GoldenCase {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let root: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let net = file::parse(&text).unwrap_or_else(|e| panic!("{}: the network does not load: {e}", path.display()));
    let name = root["source"]["case"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| path.file_stem().unwrap().to_string_lossy().into_owned());
    let exp = &root["expected"];
    let mut traces = Vec::new();
    for (tname, t) in exp["traces"].as_object().expect("expected.traces") {
        let shape: Vec<usize> = t["shape"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
        let mut data = Vec::new();
        flatten_numbers(&t["data"], &mut data, tname);
        assert_eq!(data.len(), shape.iter().product::<usize>(), "{name}: trace {tname} has the wrong number of values");
        traces.push(ExpectedTrace { name: tname.clone(), shape, data });
    }
    // The post population: the LIF population whose spikes are monitored (prefer the monitor
    // named "spike"), else the last LIF population.
    let lif_spike = |m: &&spikegpu::model::Monitor| matches!(m.target, Target::PopSpike(i) if net.populations[i].lif().is_some());
    let post = net
        .monitors
        .iter()
        .filter(lif_spike)
        .find(|m| m.name == "spike")
        .or_else(|| net.monitors.iter().find(lif_spike))
        .map(|m| match m.target {
            Target::PopSpike(i) => i,
            _ => unreachable!(),
        })
        .or_else(|| net.populations.iter().rposition(|p| p.lif().is_some()))
        .expect("a golden case has a LIF population");
    let ev = &exp["post_spike_events"];
    let rows = if net.batch > 1 {
        let a = ev.as_array().expect("post_spike_events");
        if a.is_empty() {
            vec![Vec::new(); net.batch]
        } else {
            assert_eq!(a.len(), net.batch, "{name}: post_spike_events must hold one list per batch row");
            a.iter().map(|r| events_of(r, "post_spike_events")).collect()
        }
    } else {
        vec![events_of(ev, "post_spike_events")]
    };
    let rule = match exp.get("spike_rule").and_then(Value::as_str) {
        Some("isi") => SpikeRule::Isi,
        None | Some("partner") => SpikeRule::Partner,
        Some(other) => panic!("{name}: unknown spike_rule {other:?}"),
    };
    GoldenCase {
        name,
        path: path.to_path_buf(),
        net,
        expected: Expected { traces, spikes: vec![ExpectedSpikes { pop: post, rows }], rule },
        post,
    }
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

/// Runs any backend and keeps all monitors in memory.
pub fn run_backend(backend: &mut dyn Backend, net: &Network, chunk_steps: usize) -> (Vec<MonitorData>, RunStats) {
    run_collect(backend, net, chunk_steps).unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// Runs the CPU reference engine.
pub fn run_cpu(net: &Network, chunk_steps: usize) -> Vec<MonitorData> {
    let mut eng = spikegpu::cpu::CpuEngine::new(net).unwrap_or_else(|e| panic!("CpuEngine::new: {e}"));
    run_backend(&mut eng, net, chunk_steps).0
}

/// The f32 values of a monitor (panics on a spike monitor).
pub fn f32s(d: &MonitorData) -> &[f32] {
    match d {
        MonitorData::F32(v) => v,
        MonitorData::Spike(_) => panic!("a spike monitor has no f32 values"),
    }
}

/// The spike flags of a monitor (panics on an f32 monitor).
pub fn spikes(d: &MonitorData) -> &[u8] {
    match d {
        MonitorData::Spike(v) => v,
        MonitorData::F32(_) => panic!("an f32 monitor has no spike flags"),
    }
}

/// Index of the monitor named `name`.
pub fn monitor_index(net: &Network, name: &str) -> usize {
    net.monitors.iter().position(|m| m.name == name).unwrap_or_else(|| panic!("no monitor named {name:?}"))
}

/// The spike events of a spike monitor, one sorted `(step, neuron)` list per batch row.
pub fn spike_events(net: &Network, target: Target, data: &[u8]) -> Vec<Vec<(usize, usize)>> {
    let n = net.target_size(target);
    let b = net.batch;
    let mut rows = vec![Vec::new(); b];
    for (idx, &f) in data.iter().enumerate() {
        if f != 0 {
            let s = idx / (b * n);
            rows[(idx / n) % b].push((s, idx % n));
        }
    }
    rows
}

/// A fresh, empty scratch folder under cargo's per-target temp dir.
pub fn scratch_dir(label: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{label}-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The `spikegpu` binary.
pub fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_spikegpu"))
}

/// Runs `spikegpu run NET --backend BACKEND --out OUT -q` and reads every monitor back.
pub fn run_cli(net_path: &Path, backend: &str, out: &Path, net: &Network) -> Vec<MonitorData> {
    let o = cli()
        .arg("run")
        .arg(net_path)
        .args(["--backend", backend, "--out"])
        .arg(out)
        .arg("-q")
        .output()
        .expect("cannot start the spikegpu binary");
    assert!(
        o.status.success(),
        "spikegpu run {} failed ({}): {}",
        net_path.display(),
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    read_output_dir(out, net)
}

// ---------------------------------------------------------------------------------------------
// A tiny .npy reader (independent of the writer library)
// ---------------------------------------------------------------------------------------------

/// The contents of an `.npy` file.
#[derive(Clone, Debug, PartialEq)]
pub enum Npy {
    F32(Vec<f32>),
    U8(Vec<u8>),
    I32(Vec<i32>),
}

/// Reads a C-order little-endian `<f4`, `|u1`, `|b1` or `<i4` `.npy` file (versions 1 to 3).
pub fn read_npy(path: &Path) -> (Vec<usize>, Npy) {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fail = |m: &str| -> ! { panic!("{}: {m}", path.display()) };
    if raw.len() < 10 || &raw[..6] != b"\x93NUMPY" {
        fail("not an .npy file");
    }
    let (hlen, start) = match raw[6] {
        1 => (u16::from_le_bytes([raw[8], raw[9]]) as usize, 10),
        2 | 3 => (u32::from_le_bytes([raw[8], raw[9], raw[10], raw[11]]) as usize, 12),
        v => fail(&format!("unknown .npy version {v}")),
    };
    assert_eq!((start + hlen) % 16, 0, "{}: header not 16-byte aligned", path.display());
    let header = std::str::from_utf8(&raw[start..start + hlen]).unwrap_or_else(|_| fail("header is not text"));
    let field = |key: &str| -> &str {
        let k = format!("'{key}':");
        let at = header.find(&k).unwrap_or_else(|| fail(&format!("header lacks {key}: {header}")));
        header[at + k.len()..].trim_start()
    };
    let descr = field("descr");
    let descr = &descr[1..descr[1..].find('\'').unwrap() + 1];
    if !field("fortran_order").starts_with("False") {
        fail("fortran order is not supported");
    }
    let shape_txt = field("shape");
    let shape_txt = &shape_txt[1..shape_txt.find(')').unwrap()];
    let shape: Vec<usize> =
        shape_txt.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
    let n: usize = shape.iter().product();
    let body = &raw[start + hlen..];
    let data = match descr {
        "<f4" => {
            assert_eq!(body.len(), 4 * n, "{}: {} data bytes for shape {shape:?}", path.display(), body.len());
            Npy::F32(body.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        "|u1" | "|b1" => {
            assert_eq!(body.len(), n, "{}: {} data bytes for shape {shape:?}", path.display(), body.len());
            Npy::U8(body.to_vec())
        }
        "<i4" => {
            assert_eq!(body.len(), 4 * n, "{}: {} data bytes for shape {shape:?}", path.display(), body.len());
            Npy::I32(body.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        other => fail(&format!("dtype {other} not supported")),
    };
    (shape, data)
}

/// Reads `<name>.npy` of every monitor of `net` from an output folder, checking shape and dtype.
pub fn read_output_dir(dir: &Path, net: &Network) -> Vec<MonitorData> {
    net.monitors
        .iter()
        .map(|m| {
            let path = dir.join(format!("{}.npy", m.name));
            let (shape, data) = read_npy(&path);
            assert_eq!(shape, net.monitor_shape(m.target), "{}: shape", path.display());
            match (MonitorData::for_target(m.target, 0), data) {
                (MonitorData::F32(_), Npy::F32(v)) => MonitorData::F32(v),
                (MonitorData::Spike(_), Npy::U8(v)) => MonitorData::Spike(v),
                (want, got) => panic!("{}: wrong dtype (want {want:?}, got {:?})", path.display(), std::mem::discriminant(&got)),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Comparison (golden README, "Comparing")
// ---------------------------------------------------------------------------------------------

/// Tolerances. `golden()` is exactly the README's; `exact()` demands equality.
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    /// V: absolute, mV (no relative part).
    pub v_atol: f64,
    /// Gating states `g`: absolute + `rtol` relative.
    pub g_atol: f64,
    /// Currents (`current`, `input`): absolute + `rtol` relative.
    pub i_atol: f64,
    pub rtol: f64,
    /// At most this fraction of the expected spikes may be shifted by one step.
    pub spike_shift_frac: f64,
    /// Whether a neuron whose pre neurons (through LIF→LIF projections) disagree in their spikes
    /// stops being compared from that step on (its input differs by whole spikes then). Only
    /// matters for recurrent networks; golden cases have spike-source pre populations only.
    pub propagate: bool,
}

impl Tol {
    /// The golden README's tolerances.
    pub fn golden() -> Tol {
        Tol { v_atol: 1e-3, g_atol: 1e-5, i_atol: 1e-3, rtol: 1e-4, spike_shift_frac: 0.02, propagate: true }
    }
    /// Equality of every value and spike.
    pub fn exact() -> Tol {
        Tol { v_atol: 0.0, g_atol: 0.0, i_atol: 0.0, rtol: 0.0, spike_shift_frac: 0.0, propagate: false }
    }
    fn bound(&self, kind: Kind, want: f32) -> f64 {
        let w = (want as f64).abs();
        match kind {
            Kind::V => self.v_atol,
            Kind::G => self.g_atol + self.rtol * w,
            Kind::Current => self.i_atol + self.rtol * w,
        }
    }
}

/// Which tolerance a monitor gets, from its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    V,
    G,
    Current,
}

impl Kind {
    pub fn of(target: Target) -> Kind {
        match target {
            Target::PopV(_) => Kind::V,
            Target::ProjG(_) => Kind::G,
            _ => Kind::Current,
        }
    }
}

/// One compared value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Where {
    pub step: usize,
    pub batch: usize,
    pub neuron: usize,
    pub got: f32,
    pub want: f32,
}

/// The result for one continuous monitor.
#[derive(Clone, Debug)]
pub struct MonitorReport {
    pub name: String,
    pub kind: Kind,
    /// Values compared (those before each neuron's cut-off).
    pub compared: usize,
    /// Largest |got - want| among the compared values, and where.
    pub max_err: f64,
    pub at: Option<Where>,
    /// Values outside the tolerance, and the first one (step order).
    pub violations: usize,
    pub first_violation: Option<Where>,
}

/// The result for one spiking population.
#[derive(Clone, Debug, Default)]
pub struct SpikeReport {
    pub pop: String,
    pub expected: usize,
    pub got: usize,
    /// Expected spikes whose partner is one step off (Partner rule), or expected spikes without an
    /// exact partner (Isi rule).
    pub shifted: usize,
    /// Spikes without a partner within one step (Partner), or neurons failing the ISI rule (Isi).
    pub unmatched: usize,
    /// Spikes left out because a pre neuron disagreed earlier (propagation).
    pub skipped: usize,
}

/// A whole comparison: the largest error per monitor, the spike matching, and every problem.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub label: String,
    pub monitors: Vec<MonitorReport>,
    pub spikes: Vec<SpikeReport>,
    pub problems: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
    /// Panics with the whole report (and `context`, e.g. the seed) when anything failed.
    pub fn assert_ok(&self, context: &str) {
        assert!(self.ok(), "{context}: comparison failed\n{self}");
    }
    /// The monitor report named `name`.
    pub fn monitor(&self, name: &str) -> &MonitorReport {
        self.monitors.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no report for monitor {name}"))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.label, if self.ok() { "OK" } else { "FAIL" })?;
        for s in &self.spikes {
            writeln!(
                f,
                "  spikes {:<14} expected {:>6}, got {:>6}, shifted {}, unmatched {}, skipped {}",
                s.pop, s.expected, s.got, s.shifted, s.unmatched, s.skipped
            )?;
        }
        for m in &self.monitors {
            write!(f, "  {:<22} {:<8} max |err| {:.3e}", m.name, format!("{:?}", m.kind), m.max_err)?;
            if let Some(w) = m.at {
                write!(f, " at step {} batch {} neuron {} (got {:?}, want {:?})", w.step, w.batch, w.neuron, w.got, w.want)?;
            }
            write!(f, "; {} compared, {} over tolerance", m.compared, m.violations)?;
            if let Some(w) = m.first_violation {
                write!(f, " (first at step {} batch {} neuron {}: got {:?}, want {:?})", w.step, w.batch, w.neuron, w.got, w.want)?;
            }
            writeln!(f)?;
        }
        for p in &self.problems {
            writeln!(f, "  PROBLEM: {p}")?;
        }
        Ok(())
    }
}

fn mean_isi(x: &[usize]) -> f64 {
    if x.len() > 1 {
        (x[x.len() - 1] - x[0]) as f64 / (x.len() - 1) as f64
    } else {
        0.0
    }
}

/// Compares a run's monitors (`got`, one entry per `net.monitors`) with `want`, with exactly the
/// golden README's rules:
/// * spikes (Partner): every expected spike has a got spike of the same neuron (and batch row)
///   within one step and vice versa; at most `spike_shift_frac` of the expected spikes are
///   shifted by one step;
/// * spikes (Isi): per neuron, counts within one, first spike within one step, mean ISI within 2%;
/// * continuous traces: per neuron only before its first spike disagreement (Isi: up to and
///   including its first expected spike), `|got - want| <= atol + rtol*|want|` per kind.
///
/// With `tol.propagate`, a neuron also stops being compared where a pre neuron (LIF→LIF
/// projection, transitively) stopped; `g` traces use the cut-off of their pre neuron.
pub fn compare(net: &Network, got: &[MonitorData], want: &Expected, tol: &Tol, label: &str) -> Report {
    let mut rep = Report { label: label.to_string(), ..Default::default() };
    if got.len() != net.monitors.len() {
        rep.problems.push(format!("{} monitors in the run, {} in the network", got.len(), net.monitors.len()));
        return rep;
    }
    let steps = net.steps;
    let b = net.batch;
    // Per population: per (batch row, neuron) the first step of its own spike disagreement (or
    // the trace cut-off of the Isi rule).
    let mut own: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut got_rows: HashMap<usize, Vec<Vec<(usize, usize)>>> = HashMap::new();
    for es in &want.spikes {
        let pop = &net.populations[es.pop];
        let n = pop.size;
        let Some(mi) = net.monitors.iter().position(|m| m.target == Target::PopSpike(es.pop)) else {
            rep.problems.push(format!("no spike monitor of population {} in the network", pop.name));
            continue;
        };
        let MonitorData::Spike(data) = &got[mi] else {
            rep.problems.push(format!("monitor {} holds no spikes", net.monitors[mi].name));
            continue;
        };
        if data.len() != steps * b * n {
            rep.problems.push(format!("monitor {} has {} values, expected {}", net.monitors[mi].name, data.len(), steps * b * n));
            continue;
        }
        if es.rows.len() != b {
            rep.problems.push(format!("expected spikes of {} have {} batch rows, the network {}", pop.name, es.rows.len(), b));
            continue;
        }
        let rows = spike_events(net, Target::PopSpike(es.pop), data);
        let mut cut = vec![steps; b * n];
        for (bi, (w, g)) in es.rows.iter().zip(&rows).enumerate() {
            let ws: BTreeSet<_> = w.iter().copied().collect();
            let gs: BTreeSet<_> = g.iter().copied().collect();
            for &(s, j) in ws.symmetric_difference(&gs) {
                if j < n {
                    cut[bi * n + j] = cut[bi * n + j].min(s);
                } else {
                    rep.problems.push(format!("spike of {} at step {s}: neuron {j} is out of range", pop.name));
                }
            }
            if want.rule == SpikeRule::Isi {
                for j in 0..n {
                    if let Some(&(s0, _)) = w.iter().find(|e| e.1 == j) {
                        cut[bi * n + j] = cut[bi * n + j].min(s0 + 1);
                    }
                }
            }
        }
        own.insert(es.pop, cut);
        got_rows.insert(es.pop, rows);
    }

    // Inherited cut-offs: min over LIF pre neurons of their total cut-off, to a fixed point.
    let mut inherited: HashMap<usize, Vec<usize>> = HashMap::new();
    if tol.propagate {
        let mut total: HashMap<usize, Vec<usize>> = own.clone();
        loop {
            let mut changed = false;
            for p in &net.projections {
                if net.populations[p.pre].lif().is_none() {
                    continue;
                }
                let Some(pre_cut) = total.get(&p.pre).cloned() else { continue };
                let (n_pre, n_post) = (net.populations[p.pre].size, net.populations[p.post].size);
                let inh = inherited.entry(p.post).or_insert_with(|| vec![steps; b * n_post]);
                let tot = total.entry(p.post).or_insert_with(|| vec![steps; b * n_post]);
                for bi in 0..b {
                    for i in 0..n_pre {
                        let c = pre_cut[bi * n_pre + i];
                        if c >= steps {
                            continue;
                        }
                        for e in p.conn.row(i) {
                            let j = bi * n_post + p.conn.indices[e] as usize;
                            if c < inh[j] {
                                inh[j] = c;
                                changed = true;
                            }
                            if c < tot[j] {
                                tot[j] = c;
                            }
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }

    // Spike matching, per population, before each neuron's inherited cut-off.
    for es in &want.spikes {
        let (Some(rows), Some(_)) = (got_rows.get(&es.pop), own.get(&es.pop)) else { continue };
        let pop = &net.populations[es.pop];
        let n = pop.size;
        let inh = inherited.get(&es.pop);
        let limit = |bi: usize, j: usize| inh.map_or(steps, |v| v.get(bi * n + j).copied().unwrap_or(steps));
        let mut sr = SpikeReport { pop: pop.name.clone(), ..Default::default() };
        for (bi, (w, g)) in es.rows.iter().zip(rows).enumerate() {
            let keep = |e: &&(usize, usize)| e.0 < limit(bi, e.1);
            let ws: BTreeSet<_> = w.iter().filter(keep).copied().collect();
            let gs: BTreeSet<_> = g.iter().filter(keep).copied().collect();
            sr.skipped += w.len() - ws.len();
            sr.expected += ws.len();
            sr.got += gs.len();
            match want.rule {
                SpikeRule::Partner => {
                    let only_w: BTreeSet<_> = ws.difference(&gs).copied().collect();
                    let only_g: BTreeSet<_> = gs.difference(&ws).copied().collect();
                    let near = |set: &BTreeSet<(usize, usize)>, (s, j): (usize, usize)| {
                        (s > 0 && set.contains(&(s - 1, j))) || set.contains(&(s + 1, j))
                    };
                    for &e in &only_w {
                        if near(&only_g, e) {
                            sr.shifted += 1;
                        } else {
                            sr.unmatched += 1;
                            if sr.unmatched <= 5 {
                                rep.problems.push(format!(
                                    "{}: expected spike at step {} batch {bi} neuron {} has no partner within 1 step",
                                    pop.name, e.0, e.1
                                ));
                            }
                        }
                    }
                    for &e in &only_g {
                        if !near(&only_w, e) {
                            sr.unmatched += 1;
                            if sr.unmatched <= 5 {
                                rep.problems.push(format!(
                                    "{}: spike at step {} batch {bi} neuron {} is not expected within 1 step",
                                    pop.name, e.0, e.1
                                ));
                            }
                        }
                    }
                }
                SpikeRule::Isi => {
                    for j in 0..n {
                        let a: Vec<usize> = ws.iter().filter(|e| e.1 == j).map(|e| e.0).collect();
                        let c: Vec<usize> = gs.iter().filter(|e| e.1 == j).map(|e| e.0).collect();
                        if a == c {
                            continue;
                        }
                        sr.shifted += a.iter().filter(|x| !c.contains(x)).count();
                        let count_bad = a.len().abs_diff(c.len()) > 1;
                        let first_bad = match (a.first(), c.first()) {
                            (Some(x), Some(y)) => x.abs_diff(*y) > 1,
                            _ => false,
                        };
                        let isi_bad = a.len() > 2 && (mean_isi(&c) - mean_isi(&a)).abs() > 0.02 * mean_isi(&a);
                        if count_bad || first_bad || isi_bad {
                            sr.unmatched += 1;
                            rep.problems.push(format!(
                                "{} batch {bi} neuron {j}: ISI rule fails: {} spikes (expected {}), first at {:?} (expected {:?}), mean ISI {:.2} (expected {:.2})",
                                pop.name,
                                c.len(),
                                a.len(),
                                c.first(),
                                a.first(),
                                mean_isi(&c),
                                mean_isi(&a)
                            ));
                        }
                    }
                }
            }
        }
        if sr.unmatched > 5 && want.rule == SpikeRule::Partner {
            rep.problems.push(format!("{}: {} spikes without a partner within 1 step in all", pop.name, sr.unmatched));
        }
        if want.rule == SpikeRule::Partner && sr.expected > 0 && sr.shifted as f64 > tol.spike_shift_frac * sr.expected as f64 {
            rep.problems.push(format!(
                "{}: {}/{} spikes shifted by one step (at most {:.1}% allowed)",
                pop.name,
                sr.shifted,
                sr.expected,
                100.0 * tol.spike_shift_frac
            ));
        }
        rep.spikes.push(sr);
    }

    // Continuous traces.
    let total_cut = |pop: usize, bi: usize, j: usize| -> usize {
        let n = net.populations[pop].size;
        let a = own.get(&pop).map_or(steps, |v| v[bi * n + j]);
        let c = inherited.get(&pop).map_or(steps, |v| v[bi * n + j]);
        a.min(c)
    };
    for t in &want.traces {
        let Some(mi) = net.monitors.iter().position(|m| m.name == t.name) else {
            rep.problems.push(format!("{}: no monitor of this name in the network", t.name));
            continue;
        };
        let target = net.monitors[mi].target;
        let kind = Kind::of(target);
        let MonitorData::F32(g) = &got[mi] else {
            rep.problems.push(format!("{}: the run holds spikes, not values", t.name));
            continue;
        };
        let shape = net.monitor_shape(target);
        if t.shape != shape {
            rep.problems.push(format!("{}: expected shape {:?}, the network's monitor has {:?}", t.name, t.shape, shape));
            continue;
        }
        if g.len() != t.data.len() {
            rep.problems.push(format!("{}: {} values, expected {}", t.name, g.len(), t.data.len()));
            continue;
        }
        // The population whose spike disagreements cut this trace off.
        let cut_pop = match target {
            Target::ProjG(p) => net.projections[p].pre,
            Target::ProjCurrent(p) => net.projections[p].post,
            Target::PopV(i) | Target::PopSpike(i) | Target::PopCurrent(i) | Target::PopInput(i) => i,
        };
        let n = net.target_size(target);
        let mut m = MonitorReport {
            name: t.name.clone(),
            kind,
            compared: 0,
            max_err: 0.0,
            at: None,
            violations: 0,
            first_violation: None,
        };
        for (idx, (&o, &e)) in g.iter().zip(&t.data).enumerate() {
            let s = idx / (b * n);
            let bi = (idx / n) % b;
            let j = idx % n;
            if s >= total_cut(cut_pop, bi, j) {
                continue;
            }
            m.compared += 1;
            let w = Where { step: s, batch: bi, neuron: j, got: o, want: e };
            let err = if o.is_nan() || e.is_nan() {
                if o.is_nan() && e.is_nan() {
                    0.0
                } else {
                    f64::INFINITY
                }
            } else {
                (o as f64 - e as f64).abs()
            };
            if err > m.max_err || (m.at.is_none() && err.is_infinite()) {
                m.max_err = err;
                m.at = Some(w);
            }
            if err > tol.bound(kind, e) {
                m.violations += 1;
                if m.first_violation.is_none() {
                    m.first_violation = Some(w);
                }
            }
        }
        if m.violations > 0 {
            let w = m.first_violation.unwrap();
            rep.problems.push(format!(
                "{}: {} values over tolerance, largest error {:.3e}; first at step {} batch {} neuron {} (got {:?}, want {:?})",
                t.name, m.violations, m.max_err, w.step, w.batch, w.neuron, w.got, w.want
            ));
        }
        rep.monitors.push(m);
    }
    rep
}

/// Turns a reference run into an [`Expected`]: every f32 monitor and every spike monitor.
pub fn expected_from_run(net: &Network, reference: &[MonitorData]) -> Expected {
    let mut traces = Vec::new();
    let mut spk = Vec::new();
    for (m, d) in net.monitors.iter().zip(reference) {
        match d {
            MonitorData::F32(v) => {
                traces.push(ExpectedTrace { name: m.name.clone(), shape: net.monitor_shape(m.target), data: v.clone() })
            }
            MonitorData::Spike(v) => {
                let Target::PopSpike(pop) = m.target else { unreachable!() };
                if !spk.iter().any(|e: &ExpectedSpikes| e.pop == pop) {
                    spk.push(ExpectedSpikes { pop, rows: spike_events(net, m.target, v) });
                }
            }
        }
    }
    Expected { traces, spikes: spk, rule: SpikeRule::Partner }
}

/// Compares run `a` (e.g. the GPU) with run `b` (e.g. the CPU) of the same network under the
/// README's rules, `b` taking the place of the expected traces.
pub fn compare_runs(net: &Network, a: &[MonitorData], b: &[MonitorData], tol: &Tol) -> Report {
    compare(net, a, &expected_from_run(net, b), tol, "run a against run b")
}

/// Panics unless `a` and `b` are bit-identical, naming the first differing monitor, step, batch
/// row and neuron. `context` should carry the seed.
pub fn assert_bit_identical(net: &Network, a: &[MonitorData], b: &[MonitorData], context: &str) {
    assert_eq!(a.len(), b.len(), "{context}: monitor counts differ");
    for (m, (x, y)) in net.monitors.iter().zip(a.iter().zip(b)) {
        let n = net.target_size(m.target);
        assert_eq!(x.len(), y.len(), "{context}: monitor {} lengths differ", m.name);
        let pos = |idx: usize| (idx / (net.batch * n), (idx / n) % net.batch, idx % n);
        match (x, y) {
            (MonitorData::F32(x), MonitorData::F32(y)) => {
                if let Some(idx) = (0..x.len()).find(|&i| x[i].to_bits() != y[i].to_bits()) {
                    let (s, bi, j) = pos(idx);
                    panic!(
                        "{context}: monitor {} ({}) differs first at step {s} batch {bi} neuron {j}: {:?} vs {:?}",
                        m.name,
                        net.target_name(m.target),
                        x[idx],
                        y[idx]
                    );
                }
            }
            (MonitorData::Spike(x), MonitorData::Spike(y)) => {
                if let Some(idx) = (0..x.len()).find(|&i| x[i] != y[i]) {
                    let (s, bi, j) = pos(idx);
                    panic!("{context}: spikes {} differ first at step {s} batch {bi} neuron {j}: {} vs {}", m.name, x[idx], y[idx]);
                }
            }
            _ => panic!("{context}: monitor {} kinds differ", m.name),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds and random networks
// ---------------------------------------------------------------------------------------------

/// `count` random seeds, or the one seed in `SPIKEGPU_SEED` when set (to replay a failure).
pub fn test_seeds(count: usize) -> Vec<u64> {
    match std::env::var("SPIKEGPU_SEED") {
        Ok(s) => vec![s.trim().parse().unwrap_or_else(|_| panic!("SPIKEGPU_SEED={s:?} is not a u64"))],
        Err(_) => (0..count).map(|_| rand::random()).collect(),
    }
}

/// How `V_init` is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VInitMode {
    /// Scalar, `[n]` or `[batch][n]` at random.
    Any,
    /// Scalar or `[n]`: every batch row starts alike.
    SameInEveryRow,
}

/// Options of [`random_network`].
#[derive(Clone, Debug)]
pub struct NetOpts {
    pub steps: usize,
    /// `None`: 1 or 3 at random.
    pub batch: Option<usize>,
    pub v_init: VInitMode,
    /// Largest population size (sizes are drawn from lists avoiding multiples of 64).
    pub max_size: usize,
}

impl Default for NetOpts {
    fn default() -> Self {
        NetOpts { steps: 400, batch: None, v_init: VInitMode::Any, max_size: 130 }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A random pre-major CSR of `n_pre x n_post` with connection probability `p`: targets in
/// random (unsorted) order, and at least one empty row when `n_pre > 1`.
fn random_csr(rng: &mut ChaCha8Rng, n_pre: usize, n_post: usize, p: f64) -> (Vec<u32>, Vec<u32>) {
    let empty_row = if n_pre > 1 { Some(rng.random_range(0..n_pre)) } else { None };
    let mut indptr = vec![0u32];
    let mut indices = Vec::new();
    for i in 0..n_pre {
        if Some(i) != empty_row {
            let mut row: Vec<u32> = (0..n_post as u32).filter(|_| rng.random_bool(p)).collect();
            row.shuffle(rng);
            indices.extend(row);
        }
        indptr.push(indices.len() as u32);
    }
    (indptr, indices)
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, xs: &[T]) -> T {
    xs[rng.random_range(0..xs.len())]
}

/// A random network as JSON (see [`random_network`]); tests may edit it before parsing.
pub fn random_network_json(seed: u64, opts: &NetOpts) -> Value {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dt: f64 = if rng.random_bool(0.75) { 0.1 } else { 0.05 };
    let steps = opts.steps;
    let batch = opts.batch.unwrap_or_else(|| if rng.random_bool(0.5) { 1 } else { 3 });
    let duration = steps as f64 * dt;
    let cap = |s: usize| s.min(opts.max_size).max(1);

    let mut pops = Vec::new();
    // Spike sources: (name, size, per-neuron rate in events/ms).
    let n_src = rng.random_range(2..=3);
    let mut srcs = Vec::new();
    for k in 0..n_src {
        let size = cap(pick(&mut rng, &[1, 5, 17, 63, 65, 100]));
        let rate = rng.random_range(0.03..0.15);
        let n_ev = ((size as f64 * rate * duration) * rng.random_range(0.8..1.2)).round().max(1.0) as usize;
        let mut indices = Vec::new();
        let mut times = Vec::new();
        for _ in 0..n_ev {
            indices.push(rng.random_range(0..size));
            let t = match rng.random_range(0..10) {
                0 => rng.random_range(0..steps) as f64 * dt,      // exactly on the grid
                1 => -rng.random_range(0.0..2.0),                  // before the run: fires at step 0
                2 => duration + rng.random_range(0.0..5.0),        // after the run: never fires
                _ => round2(rng.random_range(0.0..duration)),
            };
            times.push(t);
        }
        let name = format!("src{k}");
        pops.push(json!({"name": name, "model": "spike_times", "size": size, "indices": indices, "times": times}));
        srcs.push((name, size, rate));
    }
    // LIF populations: (name, size, R).
    let n_lif = rng.random_range(2..=3);
    let mut lifs = Vec::new();
    for k in 0..n_lif {
        let size = cap(pick(&mut rng, &[1, 7, 33, 65, 130]));
        let v_rest = round2(-60.0 + rng.random_range(-5.0..5.0));
        let v_th = round2(v_rest + rng.random_range(8.0..12.0));
        let v_reset = round2(v_rest + rng.random_range(-3.0..2.0));
        let tau = round2(rng.random_range(8.0..30.0));
        let tau_ref = match rng.random_range(0..4) {
            0 => 0.0,
            1 => 2.0,
            2 => 5.0,
            _ => round2(rng.random_range(0.0..6.0)),
        };
        let r = round2(rng.random_range(0.7..1.3));
        let draw = |rng: &mut ChaCha8Rng| round2(rng.random_range(v_reset - 8.0..v_th - 0.5));
        let form = match opts.v_init {
            VInitMode::Any => rng.random_range(0..3),
            VInitMode::SameInEveryRow => rng.random_range(0..2),
        };
        let v_init = match form {
            0 => json!(draw(&mut rng)),
            1 => json!((0..size).map(|_| draw(&mut rng)).collect::<Vec<_>>()),
            _ => json!((0..batch).map(|_| (0..size).map(|_| draw(&mut rng)).collect::<Vec<_>>()).collect::<Vec<_>>()),
        };
        let name = format!("lif{k}");
        pops.push(json!({"name": name, "model": "lif_ref", "size": size, "V_rest": v_rest, "V_th": v_th,
            "V_reset": v_reset, "tau": tau, "tau_ref": tau_ref, "R": r, "V_init": v_init}));
        lifs.push((name, size, r));
    }

    let delays: [Value; 7] = [Value::Null, json!(0.0), json!(0.1), json!(0.25), json!(1.0), json!(2.0), Value::Null];
    let delay = |rng: &mut ChaCha8Rng| -> Value {
        let k = rng.random_range(0..delays.len() + 1);
        if k == delays.len() {
            json!(round2(rng.random_range(0.0..3.0)))
        } else {
            delays[k].clone()
        }
    };
    // A fixed AMPA description, shared by the drive projections (identical parameters from one
    // source share one gating state, with each projection's own delay).
    let ampa_shared = json!({"model": "ampa", "alpha": 0.98, "beta": 0.18, "T": 0.5, "T_dur": 0.5});
    let random_syn = |rng: &mut ChaCha8Rng, kind: &str| -> Value {
        match rng.random_range(0..3) {
            0 => json!({ "model": kind }),
            1 => ampa_shared.clone(),
            _ => json!({"model": kind, "alpha": round2(rng.random_range(0.3..1.2)), "beta": round2(rng.random_range(0.05..0.4)),
                        "T": round2(rng.random_range(0.3..1.2)), "T_dur": pick(rng, &[0.3, 0.5, 1.0, 0.75])}),
        }
    };
    let weight = |rng: &mut ChaCha8Rng, w: f64, nnz: usize| -> Value {
        if rng.random_bool(0.5) {
            json!(w)
        } else {
            json!((0..nnz).map(|_| w * rng.random_range(0.5..1.5)).collect::<Vec<_>>())
        }
    };
    let mut projs = Vec::new();
    let mut proj = |rng: &mut ChaCha8Rng, pre: &str, n_pre: usize, post: &str, n_post: usize, syn: Value, e: f64, w: f64, p: f64| {
        let (indptr, indices) = random_csr(rng, n_pre, n_post, p);
        let nnz = indices.len();
        let name = format!("proj{}", projs.len());
        projs.push(json!({"name": name, "pre": pre, "post": post, "synapse": syn, "delay": delay(rng),
            "connectivity": {"kind": "csr", "indptr": indptr, "indices": indices},
            "weight": weight(rng, w, nnz), "output": {"model": "coba", "E": e}}));
    };
    // Drive: every LIF population gets an excitatory AMPA projection from a source, strong enough
    // that its neurons spike: the mean conductance is about (events per ms per post neuron) x
    // (integral of one AMPA pulse, ~1.1 ms) x weight; aim for ~0.6/R, well above the ~0.2 that
    // lifts V_rest over V_th.
    for (name, n_post, r) in lifs.clone() {
        let (src, n_pre, rate) = srcs[rng.random_range(0..srcs.len())].clone();
        let p = (10.0 / n_pre as f64).min(1.0);
        // (the shared AMPA description always: a random one with a weak alpha could starve it)
        let w = round2((1.0 / r / (n_pre as f64 * p * rate * 1.1)).clamp(0.3, 60.0));
        let syn = ampa_shared.clone();
        proj(&mut rng, &src, n_pre, &name, n_post, syn, 0.0, w, p);
        // A second projection onto the same population: inhibition from a source.
        if rng.random_bool(0.6) {
            let (src, n_pre, _) = srcs[rng.random_range(0..srcs.len())].clone();
            let p = (5.0 / n_pre as f64).min(1.0);
            let syn = random_syn(&mut rng, "gabaa");
            let w = round2(rng.random_range(0.02..0.2));
            proj(&mut rng, &src, n_pre, &name, n_post, syn, -80.0, w, p);
        }
    }
    // The same source, the same synapse, another delay: one shared gating state, two lags.
    {
        let (src, n_pre, _) = srcs[0].clone();
        let (post, n_post, _) = lifs[rng.random_range(0..lifs.len())].clone();
        proj(&mut rng, &src, n_pre, &post, n_post, ampa_shared.clone(), 0.0, 0.3, (5.0 / n_pre as f64).min(1.0));
    }
    // Recurrent: lif0 onto itself, and between LIF populations.
    let rec = |rng: &mut ChaCha8Rng| -> (Value, f64, f64) {
        if rng.random_bool(0.5) {
            (random_syn(rng, "ampa"), 0.0, round2(rng.random_range(0.02..0.3)))
        } else {
            (random_syn(rng, "gabaa"), -80.0, round2(rng.random_range(0.02..0.3)))
        }
    };
    let (l0, n0, _) = lifs[0].clone();
    let (syn, e, w) = rec(&mut rng);
    proj(&mut rng, &l0, n0, &l0, n0, syn, e, w, (4.0 / n0 as f64).min(0.5));
    let (l1, n1, _) = lifs[1].clone();
    let (syn, e, w) = rec(&mut rng);
    proj(&mut rng, &l0, n0, &l1, n1, syn, e, w, (4.0 / n0 as f64).min(0.5));
    let (syn, e, w) = rec(&mut rng);
    proj(&mut rng, &l1, n1, &l0, n0, syn, e, w, (4.0 / n1 as f64).min(0.5));
    if lifs.len() > 2 {
        let (la, na, _) = lifs[rng.random_range(0..lifs.len())].clone();
        let (lb, nb, _) = lifs[2].clone();
        let (syn, e, w) = rec(&mut rng);
        proj(&mut rng, &la, na, &lb, nb, syn, e, w, (4.0 / na as f64).min(0.5));
    }

    // Monitors of every kind: named after their targets.
    let mut mons = Map::new();
    for p in &projs {
        let n = p["name"].as_str().unwrap();
        for v in ["g", "current"] {
            mons.insert(format!("{n}.{v}"), json!(format!("{n}.{v}")));
        }
    }
    for (n, _, _) in &srcs {
        mons.insert(format!("{n}.spike"), json!(format!("{n}.spike")));
    }
    for (n, _, _) in &lifs {
        for v in ["V", "spike", "current", "input"] {
            mons.insert(format!("{n}.{v}"), json!(format!("{n}.{v}")));
        }
    }
    json!({"dt": dt, "steps": steps, "batch": batch, "populations": pops, "projections": projs, "monitors": Value::Object(mons)})
}

/// A seeded random network, built as JSON and read by `file::parse` (so it is validated as a
/// file would be): 2-3 spike sources with random events (some before and after the run), 2-3
/// LIF populations (sizes not multiples of 64) with random `V_init` (scalar, `[n]` or
/// `[batch][n]`), AMPA and GABAa projections with random CSR (empty rows included), shared or
/// per-synapse weights, delays (null, 0, 0.1, 0.25, 1, 2 ms and random), two projections onto
/// one population, a population onto itself, LIF→LIF projections, batch 1 or 3, and monitors of
/// every target kind. The drive makes LIF neurons spike.
pub fn random_network(seed: u64, opts: &NetOpts) -> Network {
    let v = random_network_json(seed, opts);
    file::parse(&v.to_string()).unwrap_or_else(|e| panic!("seed {seed}: the random network does not parse: {e}"))
}

/// Spikes per LIF population of a run (all batch rows), by population name.
pub fn lif_spike_counts(net: &Network, run: &[MonitorData]) -> Vec<(String, usize)> {
    net.monitors
        .iter()
        .zip(run)
        .filter_map(|(m, d)| match (m.target, d) {
            (Target::PopSpike(i), MonitorData::Spike(v)) if matches!(net.populations[i].model, NeuronModel::LifRef(_)) => {
                Some((net.populations[i].name.clone(), v.iter().filter(|&&x| x != 0).count()))
            }
            _ => None,
        })
        .collect()
}
