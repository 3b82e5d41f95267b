//! Comparing a run with what it should give: the golden README's rules ("Comparing") in one
//! place, for the tests, `spikegpu compare` and the Python bindings.
//!
//! A [`Layout`] says what each monitor holds (its kind, the population whose neurons its columns
//! are, which neurons, which steps); an [`Expected`] is what a run should give (BrainPy's traces
//! from a golden case, or another run); [`compare`] applies the rules and returns a [`Report`]:
//! * continuous values, per kind: V within `1e-3` mV; conductances and the other synapse states
//!   within `1e-5 + 1e-4 |want|`; currents within `1e-3 + 1e-4 |want|` (a sum of opposite
//!   currents cancels to small values that keep the rounding of its large terms);
//! * spikes, the partner rule: each expected spike has a spike of the same neuron (and batch row)
//!   within one step, and each spike an expected one, and at most 2% of the expected spikes are
//!   shifted by that step;
//! * spikes, the `"isi"` rule (a case whose reference fused a time comparison, such as
//!   `extra_seed_drive`): per neuron, counts within one, first spike within one step, mean
//!   interspike interval within 2%; its continuous traces only up to each neuron's first
//!   expected spike;
//! * after a neuron's first spike disagreement its continuous traces are no longer compared;
//!   with [`Tolerance::propagate`] ([`Tolerance::recurrent`], an addition to the README's rules for recurrent networks,
//!   where one moved spike changes the input of others), neither are the values and spikes of
//!   the neurons it projects onto (through LIF→LIF projections, transitively) from the first step
//!   whose input the disagreement changes.
//!
//! ```
//! use spikegpu::api::{run, EngineChoice};
//! use spikegpu::model::{Coba, Conn, LifRef, NetworkBuilder, Synapse, Weights};
//! use spikegpu::runtime::compare::{compare, Expected, Layout, Tolerance};
//!
//! let mut b = NetworkBuilder::new(0.1, 300);
//! let pre = b.spike_time_group("pre", 1, &[0, 0], &[5.0, 6.0]);
//! let post = b.lif_ref("post", 2, LifRef::brainpy_defaults());
//! b.projection("syn", pre, post, Synapse::ampa(), Conn::all_to_all(), Weights::Shared(3.0), Coba { e: 60.0 });
//! b.monitor("V", post.v());
//! b.monitor("spike", post.spike());
//! let net = b.build()?;
//! let layout = Layout::of_network(&net)?;
//! let a = run(&net, EngineChoice::Cpu)?;
//! let reference = Expected::from_run(&layout, a.data());
//! let report = compare(&layout, a.data(), &reference, &Tolerance::golden(), "itself");
//! assert!(report.ok(), "{report}");
//! # Ok::<(), spikegpu::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::model::{MonitorFormat, Network};
use crate::plan::{Plan, PopSlot, RecordSource, UpdateMode};
use crate::runtime::MonitorData;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// Spike events `(step, neuron)` of one batch row, sorted; `neuron` is the population's index.
pub type Events = Vec<(usize, u32)>;

/// Tolerances of a comparison. [`Tolerance::golden`] is exactly the golden README's;
/// [`Tolerance::exact`] demands equality.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// V: absolute, mV (no relative part).
    pub v_atol: f64,
    /// Conductances and other synapse states: absolute, plus `rtol` relative.
    pub g_atol: f64,
    /// Currents (`current`, `input`): absolute, plus `rtol` relative.
    pub i_atol: f64,
    /// The relative part of the conductance and current tolerances.
    pub rtol: f64,
    /// At most this fraction of the expected spikes may be shifted by one step (partner rule).
    pub spike_shift_frac: f64,
    /// Whether a neuron whose pre neurons (through LIF→LIF projections of [`Layout::links`])
    /// disagree in their spikes stops being compared from that step on. Matters only for
    /// recurrent networks; the golden cases have spike sources as pre populations.
    pub propagate: bool,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance::golden()
    }
}

impl Tolerance {
    /// The golden README's tolerances (and nothing more: no propagation, as its Python tools).
    pub fn golden() -> Tolerance {
        Tolerance { v_atol: 1e-3, g_atol: 1e-5, i_atol: 1e-3, rtol: 1e-4, spike_shift_frac: 0.02, propagate: false }
    }

    /// [`Tolerance::golden`] with [`Tolerance::propagate`]: for two runs of a recurrent network
    /// whose arithmetic differs in rounding (GPU against CPU, event against dense), where one
    /// shifted spike legitimately changes the input of the neurons it projects onto.
    pub fn recurrent() -> Tolerance {
        Tolerance { propagate: true, ..Tolerance::golden() }
    }

    /// Equality of every value and spike.
    pub fn exact() -> Tolerance {
        Tolerance { v_atol: 0.0, g_atol: 0.0, i_atol: 0.0, rtol: 0.0, spike_shift_frac: 0.0, propagate: false }
    }

    /// The largest |got - want| allowed for a value `want` of kind `kind`.
    pub fn bound(&self, kind: Kind, want: f32) -> f64 {
        let w = (want as f64).abs();
        match kind {
            Kind::V => self.v_atol,
            Kind::G => self.g_atol + self.rtol * w,
            Kind::Current | Kind::Spike => self.i_atol + self.rtol * w,
        }
    }
}

/// What a monitor records, which decides its tolerance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A membrane potential.
    V,
    /// A conductance or another synapse state (`g`, `h`, `x`, `g_rise`, `g_decay`).
    G,
    /// A current (`current`, `input`).
    Current,
    /// Spikes.
    Spike,
}

impl Kind {
    /// The kind of a compiled monitor's values.
    fn of(spikes: bool, source: &RecordSource) -> Kind {
        match source {
            _ if spikes => Kind::Spike,
            RecordSource::V { .. } => Kind::V,
            RecordSource::Current { .. } | RecordSource::Input { .. } => Kind::Current,
            _ => Kind::G,
        }
    }

    /// The kind a target name (`post.V`, `syn.g`, `post.spike_events`) implies.
    fn of_variable(var: &str) -> Kind {
        match var {
            "V" => Kind::V,
            "spike" | "spike_events" => Kind::Spike,
            "current" | "input" => Kind::Current,
            _ => Kind::G,
        }
    }
}

/// How spikes are matched (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpikeRule {
    /// Every spike has a partner within one step; at most a fraction are shifted.
    #[default]
    Partner,
    /// Per neuron: count within one, first spike within one step, mean ISI within 2%.
    Isi,
}

/// A population, as a comparison needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct PopLayout {
    /// Its name.
    pub name: String,
    /// Neurons per batch row.
    pub size: usize,
    /// A LIF population (not a spike source).
    pub lif: bool,
}

/// A projection from a LIF population, along which spike disagreements propagate.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// Index into [`Layout::populations`] of the pre population.
    pub pre: usize,
    /// Index into [`Layout::populations`] of the post population.
    pub post: usize,
    /// Pre-major CSR row offsets.
    pub indptr: Vec<u32>,
    /// The post neuron of each synapse.
    pub indices: Vec<u32>,
    /// Steps from a pre spike to the first step whose input it changes (the projection's read
    /// offset, at least 1: a LIF population spikes at the end of its step).
    pub lag: usize,
}

/// One monitor, as a comparison needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorLayout {
    /// Output name.
    pub name: String,
    /// The target as the file writes it (`post.V`).
    pub target: String,
    /// What it records.
    pub kind: Kind,
    /// The population whose neurons its columns are (post-sized values: the post population;
    /// a pre-aligned `g`: the pre population), whose spike disagreements end the comparison of
    /// a column; `None` when unknown (never cut).
    pub pop: Option<usize>,
    /// The population neuron of each column (of one batch row).
    pub neurons: Vec<u32>,
    /// Steps between two recorded rows (rows are steps `0, every, 2 every, ...`).
    pub every: usize,
    /// Recorded rows.
    pub rows: usize,
    /// Stored in its `.npy` file as a list of spike events.
    pub events: bool,
}

/// What each monitor of a run holds, and how the populations connect.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Steps of the run.
    pub steps: usize,
    /// Batch rows.
    pub batch: usize,
    /// The network's populations, in its order.
    pub populations: Vec<PopLayout>,
    /// Projections from LIF populations (for [`Tolerance::propagate`]).
    pub links: Vec<Link>,
    /// The monitors, in the network's order.
    pub monitors: Vec<MonitorLayout>,
}

impl Layout {
    /// The layout of a plan's monitors (no links: see [`Layout::with_links`]). An engine's plan
    /// works (its matrices may have been taken).
    pub fn from_plan(plan: &Plan) -> Layout {
        let populations = plan
            .populations
            .iter()
            .zip(&plan.pops)
            .map(|(p, s)| PopLayout { name: p.name.clone(), size: p.size, lif: matches!(s, PopSlot::Neuron(_)) })
            .collect();
        let monitors = plan
            .monitors
            .iter()
            .map(|m| {
                let pop = match m.source {
                    RecordSource::PreOutput { group } | RecordSource::PreState { group, .. } => plan.groups[group].pre_pop,
                    RecordSource::AccState { acc, .. } => plan.neurons[plan.accumulators[acc].neuron].pop,
                    RecordSource::Slot { neuron, .. }
                    | RecordSource::Current { neuron, .. }
                    | RecordSource::V { neuron }
                    | RecordSource::Input { neuron }
                    | RecordSource::Spike { neuron } => plan.neurons[neuron].pop,
                    RecordSource::SourceSpike { source } => plan.sources[source].pop,
                };
                MonitorLayout {
                    name: m.name.clone(),
                    target: m.target.clone(),
                    kind: Kind::of(m.spikes, &m.source),
                    pop: Some(pop),
                    neurons: (0..m.pick.len()).map(|k| m.pick.neuron(k)).collect(),
                    every: m.every,
                    rows: m.rows(),
                    events: m.format == MonitorFormat::Events,
                }
            })
            .collect();
        Layout { steps: plan.steps, batch: plan.batch, populations, links: Vec::new(), monitors }
    }

    /// Adds the projections of `net` (the network of the plan) that start at a LIF population.
    pub fn with_links(mut self, net: &Network) -> Layout {
        self.links = net
            .projections
            .iter()
            .filter(|p| net.populations[p.pre].is_lif())
            .map(|p| Link {
                pre: p.pre,
                post: p.post,
                indptr: p.conn.indptr.clone(),
                indices: p.conn.indices.clone(),
                lag: crate::plan::read_offset(crate::plan::delay_steps(p.delay_ms, net.dt), true).max(1),
            })
            .collect();
        self
    }

    /// The layout of a network's monitors, with its links (the network is validated and
    /// compiled; for a large network prefer [`Layout::from_plan`] of the engine's plan).
    pub fn of_network(net: &Network) -> Result<Layout> {
        net.validate()?;
        Ok(Layout::from_plan(&Plan::new(net, UpdateMode::Dense)?).with_links(net))
    }

    /// The index of the monitor named `name`.
    pub fn monitor(&self, name: &str) -> Option<usize> {
        self.monitors.iter().position(|m| m.name == name)
    }

    /// The shape of monitor `k` as a dense `.npy` file has it: `[rows, n]`, or
    /// `[rows, batch, n]` when batched.
    pub fn shape(&self, k: usize) -> Vec<usize> {
        let m = &self.monitors[k];
        if self.batch > 1 {
            vec![m.rows, self.batch, m.neurons.len()]
        } else {
            vec![m.rows, m.neurons.len()]
        }
    }

    /// Where flat index `idx` of monitor `k` is: (step, batch row, column).
    fn locate(&self, k: usize, idx: usize) -> (usize, usize, usize) {
        let n = self.monitors[k].neurons.len().max(1);
        (idx / (self.batch * n) * self.monitors[k].every, (idx / n) % self.batch, idx % n)
    }

    /// The spike events of a dense spike monitor's flags, one sorted list per batch row.
    pub fn events_of(&self, k: usize, flags: &[u8]) -> Vec<Events> {
        let m = &self.monitors[k];
        let mut rows = vec![Vec::new(); self.batch];
        for (idx, _) in flags.iter().enumerate().filter(|(_, &f)| f != 0) {
            let (step, b, col) = self.locate(k, idx);
            rows[b].push((step, m.neurons[col]));
        }
        rows.iter_mut().for_each(|r| r.sort_unstable());
        rows
    }
}

/// One monitor's values as read from a run or an output folder.
#[derive(Clone, Debug, PartialEq)]
pub enum Recorded {
    /// Continuous values, row-major `[rows, batch * n]`.
    F32(Vec<f32>),
    /// Spikes, one sorted event list per batch row.
    Events(Vec<Events>),
}

/// A monitor's values as the comparison reads them.
enum View<'a> {
    F32(&'a [f32]),
    Events(Vec<Events>),
}

fn views_of_data<'a>(layout: &Layout, data: &'a [MonitorData]) -> Vec<View<'a>> {
    data.iter()
        .enumerate()
        .map(|(k, d)| match d {
            MonitorData::F32(v) => View::F32(v),
            MonitorData::Spike(v) if k < layout.monitors.len() => View::Events(layout.events_of(k, v)),
            MonitorData::Spike(_) => View::Events(Vec::new()),
        })
        .collect()
}

fn views_of_recorded(data: &[Recorded]) -> Vec<View<'_>> {
    data.iter()
        .map(|d| match d {
            Recorded::F32(v) => View::F32(v),
            Recorded::Events(e) => View::Events(e.clone()),
        })
        .collect()
}

/// One expected continuous trace, matched to the monitor of the same name.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectedTrace {
    /// Monitor name.
    pub name: String,
    /// Its dense shape.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

/// The expected spikes of one population, one sorted event list per batch row.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectedSpikes {
    /// Index into [`Layout::populations`].
    pub pop: usize,
    /// Events per batch row.
    pub rows: Vec<Events>,
}

/// What a run is compared with.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expected {
    /// Continuous traces.
    pub traces: Vec<ExpectedTrace>,
    /// Spikes, per population.
    pub spikes: Vec<ExpectedSpikes>,
    /// How spikes are matched.
    pub rule: SpikeRule,
}

impl Expected {
    /// Every monitor of a reference run (for example the CPU engine's, to compare the GPU
    /// engine's with): its continuous monitors as traces, its spike monitors as spikes.
    pub fn from_run(layout: &Layout, data: &[MonitorData]) -> Expected {
        Self::from_views(layout, views_of_data(layout, data))
    }

    /// [`Expected::from_run`] for values read from an output folder.
    pub fn from_recorded(layout: &Layout, data: &[Recorded]) -> Expected {
        Self::from_views(layout, views_of_recorded(data))
    }

    fn from_views(layout: &Layout, views: Vec<View<'_>>) -> Expected {
        let mut e = Expected::default();
        for (k, (m, v)) in layout.monitors.iter().zip(views).enumerate() {
            match v {
                View::F32(d) => e.traces.push(ExpectedTrace { name: m.name.clone(), shape: layout.shape(k), data: d.to_vec() }),
                View::Events(rows) => {
                    if let Some(pop) = m.pop {
                        e.add_spikes(pop, rows);
                    }
                }
            }
        }
        e
    }

    /// Adds events of population `pop` (a union with those it has already).
    fn add_spikes(&mut self, pop: usize, rows: Vec<Events>) {
        match self.spikes.iter_mut().find(|s| s.pop == pop) {
            Some(s) => {
                s.rows.resize(s.rows.len().max(rows.len()), Vec::new());
                for (a, b) in s.rows.iter_mut().zip(rows) {
                    let u: BTreeSet<_> = a.iter().copied().chain(b).collect();
                    *a = u.into_iter().collect();
                }
            }
            None => self.spikes.push(ExpectedSpikes { pop, rows }),
        }
    }

    /// The expectation of a golden case file (`{"network", "expected", "source"}`): its traces
    /// (a trace of a spike monitor becomes that population's spikes), the post population's
    /// `post_spike_events` and its `spike_rule`.
    pub fn from_case(root: &Value, layout: &Layout) -> Result<Expected> {
        let bad = |path: &str, msg: String| Error::invalid(path, msg);
        let exp = root.get("expected").ok_or_else(|| bad("expected", "is missing".into()))?;
        let mut e = Expected::default();
        let traces = exp.get("traces").and_then(Value::as_object).ok_or_else(|| bad("expected.traces", "must be an object".into()))?;
        for (name, t) in traces {
            let path = format!("expected.traces.{name}");
            let shape: Vec<usize> = t
                .get("shape")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().map(|x| x.as_u64().map(|x| x as usize)).collect())
                .ok_or_else(|| bad(&path, "has no shape (a list of whole numbers)".into()))?;
            let mut data = Vec::with_capacity(shape.iter().product());
            flatten(t.get("data").unwrap_or(&Value::Null), &mut data).map_err(|m| bad(&format!("{path}.data"), m))?;
            if data.len() != shape.iter().product::<usize>() {
                return Err(bad(&path, format!("holds {} values for shape {shape:?}", data.len())));
            }
            match layout.monitor(name) {
                Some(k) if layout.monitors[k].kind == Kind::Spike && layout.monitors[k].pop.is_some() => {
                    let flags: Vec<u8> = data.iter().map(|&x| (x != 0.0) as u8).collect();
                    e.add_spikes(layout.monitors[k].pop.unwrap_or_default(), layout.events_of(k, &flags));
                }
                _ => e.traces.push(ExpectedTrace { name: name.clone(), shape, data }),
            }
        }
        let post = case_post_population(root, layout);
        let ev = exp.get("post_spike_events").unwrap_or(&Value::Null);
        let rows = if layout.batch > 1 {
            let a = ev.as_array().ok_or_else(|| bad("expected.post_spike_events", "must be a list of lists".into()))?;
            if a.is_empty() {
                vec![Vec::new(); layout.batch]
            } else if a.len() != layout.batch {
                return Err(bad("expected.post_spike_events", format!("must hold one list per batch row ({}), has {}", layout.batch, a.len())));
            } else {
                a.iter().map(case_events).collect::<Result<_>>()?
            }
        } else {
            vec![case_events(ev)?]
        };
        match post {
            Some(pop) => e.add_spikes(pop, rows),
            None if rows.iter().all(Vec::is_empty) => {}
            None => return Err(bad("expected.post_spike_events", "lists spikes, but the network has no LIF population".into())),
        }
        e.rule = match exp.get("spike_rule").and_then(Value::as_str) {
            None | Some("partner") => SpikeRule::Partner,
            Some("isi") => SpikeRule::Isi,
            Some(other) => return Err(bad("expected.spike_rule", format!("unknown rule \"{other}\" (known: partner, isi)"))),
        };
        Ok(e)
    }
}

/// The population whose spikes a case's `post_spike_events` lists: `source.
/// spike_monitor_population` when given, else the population of the LIF spike monitor named
/// `spike`, else of the first LIF spike monitor, else the last LIF population.
fn case_post_population(root: &Value, layout: &Layout) -> Option<usize> {
    let pops = &layout.populations;
    if let Some(name) = root.pointer("/source/spike_monitor_population").and_then(Value::as_str) {
        if let Some(p) = pops.iter().position(|p| p.name == name) {
            return Some(p);
        }
    }
    let lif_spike = |m: &&MonitorLayout| m.kind == Kind::Spike && m.pop.is_some_and(|p| pops[p].lif);
    layout
        .monitors
        .iter()
        .filter(lif_spike)
        .find(|m| m.name == "spike")
        .or_else(|| layout.monitors.iter().find(lif_spike))
        .and_then(|m| m.pop)
        .or_else(|| pops.iter().rposition(|p| p.lif))
}

fn flatten(v: &Value, out: &mut Vec<f32>) -> Result<(), String> {
    match v {
        Value::Array(a) => a.iter().try_for_each(|x| flatten(x, out)),
        Value::Number(n) => {
            out.push(n.as_f64().unwrap_or(f64::NAN) as f32);
            Ok(())
        }
        Value::Bool(b) => {
            out.push(*b as u8 as f32);
            Ok(())
        }
        other => Err(format!("expected a number, got {other}")),
    }
}

fn case_events(v: &Value) -> Result<Events> {
    let bad = |e: &Value| Error::invalid("expected.post_spike_events", format!("{e} is not a [step, neuron] pair"));
    let mut ev = v
        .as_array()
        .ok_or_else(|| bad(v))?
        .iter()
        .map(|e| match e.as_array().map(|a| a.as_slice()) {
            Some([s, j]) => match (s.as_u64(), j.as_u64()) {
                (Some(s), Some(j)) => Ok((s as usize, j as u32)),
                _ => Err(bad(e)),
            },
            _ => Err(bad(e)),
        })
        .collect::<Result<Events>>()?;
    ev.sort_unstable();
    Ok(ev)
}

/// A golden case: its name, the network, the layout of its monitors and what it expects.
#[derive(Clone, Debug)]
pub struct Case {
    /// `source.case`, or the file's stem.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// The network (read as `spikegpu run` reads it).
    pub network: Network,
    /// The layout of its monitors.
    pub layout: Layout,
    /// BrainPy's traces and spikes.
    pub expected: Expected,
}

impl Case {
    /// Reads a golden case file.
    pub fn load(path: &Path) -> Result<Case> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let root: Value = serde_json::from_str(&text)
            .map_err(|e| Error::invalid(format!("{}: line {} column {}", path.display(), e.line(), e.column()), format!("invalid JSON: {e}")))?;
        if root.get("expected").is_none() || root.get("network").is_none() {
            return Err(Error::invalid(path.display().to_string(), "is not a golden case (it needs \"network\" and \"expected\")"));
        }
        let network = crate::model::file::parse(&text)?;
        let layout = Layout::of_network(&network)?;
        let expected = Expected::from_case(&root, &layout)?;
        let name = root
            .pointer("/source/case")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
        Ok(Case { name, path: path.to_path_buf(), network, layout, expected })
    }

    /// Compares a run's monitors (in the network's order) with the case.
    pub fn compare(&self, got: &[MonitorData], tol: &Tolerance, label: &str) -> Report {
        compare(&self.layout, got, &self.expected, tol, label)
    }
}

/// One compared value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Where {
    /// The step.
    pub step: usize,
    /// The batch row.
    pub batch: usize,
    /// The neuron (of its population).
    pub neuron: u32,
    /// The run's value.
    pub got: f32,
    /// The expected value.
    pub want: f32,
}

/// The result for one continuous monitor.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorReport {
    /// Monitor name.
    pub name: String,
    /// Its kind (its tolerance).
    pub kind: Kind,
    /// Values compared (those before each neuron's cut-off).
    pub compared: usize,
    /// Largest |got - want| among the compared values ...
    pub max_err: f64,
    /// ... and where.
    pub at: Option<Where>,
    /// Values outside the tolerance ...
    pub violations: usize,
    /// ... and the first of them (in step order).
    pub first_violation: Option<Where>,
}

/// The result for one population's spikes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpikeReport {
    /// Population name.
    pub pop: String,
    /// Expected spikes compared.
    pub expected: usize,
    /// The run's spikes compared.
    pub got: usize,
    /// Expected spikes whose partner is one step off (partner rule), or expected spikes without
    /// an exact partner (ISI rule).
    pub shifted: usize,
    /// Spikes without a partner within one step (partner rule), or neurons failing the ISI rule.
    pub unmatched: usize,
    /// Expected spikes left out because a pre neuron disagreed earlier ([`Tolerance::propagate`]).
    pub skipped: usize,
}

/// A whole comparison: the largest error per monitor, the spike matching, and every problem.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// What was compared with what.
    pub label: String,
    /// Per continuous monitor.
    pub monitors: Vec<MonitorReport>,
    /// Per population with expected spikes.
    pub spikes: Vec<SpikeReport>,
    /// Everything that does not hold, one line each (each starts with the monitor or
    /// population it is about).
    pub problems: Vec<String>,
}

impl Report {
    /// Whether everything holds.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report of monitor `name`.
    pub fn monitor(&self, name: &str) -> Option<&MonitorReport> {
        self.monitors.iter().find(|m| m.name == name)
    }

    /// One line: `OK <label>: ...` or `FAIL <label>: <the first problem>` (the last line
    /// `spikegpu compare` prints, as the Python tools do).
    pub fn verdict(&self) -> String {
        match self.problems.first() {
            Some(p) => format!("FAIL {}: {p}{}", self.label, if self.problems.len() > 1 { format!(" (and {} more)", self.problems.len() - 1) } else { String::new() }),
            None => {
                let spikes: usize = self.spikes.iter().map(|s| s.expected).sum();
                let shifted: usize = self.spikes.iter().map(|s| s.shifted).sum();
                let names: Vec<&str> = self.monitors.iter().map(|m| m.name.as_str()).collect();
                format!("OK {}: {spikes} spikes, {shifted} shifted by 1 step; traces [{}]", self.label, names.join(", "))
            }
        }
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

/// Compares a run's monitors (`got`, in `layout`'s order) with `want` under `tol`; `label` names
/// the comparison in the report.
pub fn compare(layout: &Layout, got: &[MonitorData], want: &Expected, tol: &Tolerance, label: &str) -> Report {
    compare_views(layout, &views_of_data(layout, got), want, tol, label)
}

/// [`compare`] for values read from an output folder ([`read_output_dir`]).
pub fn compare_recorded(layout: &Layout, got: &[Recorded], want: &Expected, tol: &Tolerance, label: &str) -> Report {
    compare_views(layout, &views_of_recorded(got), want, tol, label)
}

/// Per (batch row, neuron) of each population, the first step from which it is not compared.
type Cuts = HashMap<usize, Vec<usize>>;

fn compare_views(layout: &Layout, got: &[View<'_>], want: &Expected, tol: &Tolerance, label: &str) -> Report {
    let mut rep = Report { label: label.to_string(), ..Default::default() };
    if got.len() != layout.monitors.len() {
        rep.problems.push(format!("{} monitors in the run, {} in the layout", got.len(), layout.monitors.len()));
        return rep;
    }
    let (steps, b) = (layout.steps, layout.batch);
    let mut own: Cuts = HashMap::new();
    // per population: the run's events, and how far apart two recorded steps are
    let mut got_rows: HashMap<usize, (Vec<Events>, usize)> = HashMap::new();
    let mut want_rows: HashMap<usize, Vec<Events>> = HashMap::new();
    for es in &want.spikes {
        let Some(pop) = layout.populations.get(es.pop) else {
            rep.problems.push(format!("expected spikes of population {}, which the network does not have", es.pop));
            continue;
        };
        let n = pop.size;
        let mons: Vec<usize> = (0..layout.monitors.len()).filter(|&k| layout.monitors[k].kind == Kind::Spike && layout.monitors[k].pop == Some(es.pop)).collect();
        if mons.is_empty() {
            rep.problems.push(format!("{}: no spike monitor of this population in the run", pop.name));
            continue;
        }
        if es.rows.len() != b {
            rep.problems.push(format!("{}: the expected spikes have {} batch rows, the run {b}", pop.name, es.rows.len()));
            continue;
        }
        // the run's events (all its spike monitors together), and which expected ones they could show
        let mut rows: Vec<BTreeSet<(usize, u32)>> = vec![BTreeSet::new(); b];
        let mut covered = vec![Vec::new(); mons.len()];
        for (c, &k) in mons.iter().enumerate() {
            let View::Events(ev) = &got[k] else {
                rep.problems.push(format!("{}: holds values, not spikes", layout.monitors[k].name));
                continue;
            };
            for (r, e) in rows.iter_mut().zip(ev) {
                r.extend(e.iter().copied());
            }
            covered[c] = vec![false; n];
            for &j in &layout.monitors[k].neurons {
                if let Some(x) = covered[c].get_mut(j as usize) {
                    *x = true;
                }
            }
        }
        let shows = |(s, j): (usize, u32)| {
            mons.iter().zip(&covered).any(|(&k, cov)| s % layout.monitors[k].every == 0 && cov.get(j as usize).copied().unwrap_or(false))
        };
        let w_rows: Vec<Events> = es.rows.iter().map(|r| r.iter().copied().filter(|&e| shows(e)).collect()).collect();
        let g_rows: Vec<Events> = rows.into_iter().map(|r| r.into_iter().collect()).collect();
        let mut cut = vec![steps; b * n];
        for (bi, (w, g)) in w_rows.iter().zip(&g_rows).enumerate() {
            let ws: BTreeSet<_> = w.iter().copied().collect();
            let gs: BTreeSet<_> = g.iter().copied().collect();
            for &(s, j) in ws.symmetric_difference(&gs) {
                match cut.get_mut(bi * n + j as usize) {
                    Some(c) if (j as usize) < n => *c = (*c).min(s),
                    _ => rep.problems.push(format!("{}: spike at step {s} batch {bi}: neuron {j} is out of range", pop.name)),
                }
            }
            if want.rule == SpikeRule::Isi {
                for j in 0..n {
                    if let Some(&(s0, _)) = w.iter().find(|e| e.1 as usize == j) {
                        cut[bi * n + j] = cut[bi * n + j].min(s0 + 1);
                    }
                }
            }
        }
        let near = mons.iter().map(|&k| layout.monitors[k].every).min().unwrap_or(1);
        own.insert(es.pop, cut);
        got_rows.insert(es.pop, (g_rows, near));
        want_rows.insert(es.pop, w_rows);
    }

    let inherited = if tol.propagate { propagate(layout, &own) } else { HashMap::new() };

    // Spike matching, per population, before each neuron's inherited cut-off.
    for es in &want.spikes {
        let (Some((rows, near)), Some(w_rows)) = (got_rows.get(&es.pop), want_rows.get(&es.pop)) else { continue };
        let near = *near;
        let pop = &layout.populations[es.pop];
        let n = pop.size;
        let inh = inherited.get(&es.pop);
        let limit = |bi: usize, j: u32| inh.map_or(steps, |v| v.get(bi * n + j as usize).copied().unwrap_or(steps));
        let mut sr = SpikeReport { pop: pop.name.clone(), ..Default::default() };
        let mut listed = 0;
        for (bi, (w, g)) in w_rows.iter().zip(rows).enumerate() {
            let keep = |e: &&(usize, u32)| e.0 < limit(bi, e.1);
            let ws: BTreeSet<_> = w.iter().filter(keep).copied().collect();
            let gs: BTreeSet<_> = g.iter().filter(keep).copied().collect();
            sr.skipped += w.len() - ws.len();
            sr.expected += ws.len();
            sr.got += gs.len();
            match want.rule {
                SpikeRule::Partner => {
                    let only_w: BTreeSet<_> = ws.difference(&gs).copied().collect();
                    let only_g: BTreeSet<_> = gs.difference(&ws).copied().collect();
                    let partner = |set: &BTreeSet<(usize, u32)>, (s, j): (usize, u32)| {
                        (s >= near && set.contains(&(s - near, j))) || set.contains(&(s + near, j))
                    };
                    for &e in &only_w {
                        if partner(&only_g, e) {
                            sr.shifted += 1;
                        } else {
                            sr.unmatched += 1;
                            if listed < 5 {
                                listed += 1;
                                rep.problems.push(format!(
                                    "{}: expected spike at step {} batch {bi} neuron {} has no partner within 1 step",
                                    pop.name, e.0, e.1
                                ));
                            }
                        }
                    }
                    for &e in &only_g {
                        if !partner(&only_w, e) {
                            sr.unmatched += 1;
                            if listed < 5 {
                                listed += 1;
                                rep.problems.push(format!("{}: spike at step {} batch {bi} neuron {} is not expected within 1 step", pop.name, e.0, e.1));
                            }
                        }
                    }
                }
                SpikeRule::Isi => {
                    for j in 0..n as u32 {
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
        if want.rule == SpikeRule::Partner && sr.unmatched > 5 {
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
    let total_cut = |pop: usize, bi: usize, j: u32| -> usize {
        let n = layout.populations[pop].size;
        let at = |c: &Cuts| c.get(&pop).and_then(|v| v.get(bi * n + j as usize).copied()).unwrap_or(steps);
        at(&own).min(at(&inherited))
    };
    for t in &want.traces {
        let Some(k) = layout.monitor(&t.name) else {
            rep.problems.push(format!("{}: the run has no monitor of this name", t.name));
            continue;
        };
        let m = &layout.monitors[k];
        let View::F32(g) = &got[k] else {
            rep.problems.push(format!("{}: the run holds spikes, not values", t.name));
            continue;
        };
        let shape = layout.shape(k);
        if t.shape != shape {
            rep.problems.push(format!("{}: expected shape {:?}, the run's monitor has {:?}", t.name, t.shape, shape));
            continue;
        }
        if g.len() != t.data.len() {
            rep.problems.push(format!("{}: {} values, expected {}", t.name, g.len(), t.data.len()));
            continue;
        }
        let mut r = MonitorReport { name: t.name.clone(), kind: m.kind, compared: 0, max_err: 0.0, at: None, violations: 0, first_violation: None };
        for (idx, (&o, &e)) in g.iter().zip(&t.data).enumerate() {
            let (s, bi, col) = layout.locate(k, idx);
            let j = m.neurons[col];
            if m.pop.is_some_and(|p| s >= total_cut(p, bi, j)) {
                continue;
            }
            r.compared += 1;
            let w = Where { step: s, batch: bi, neuron: j, got: o, want: e };
            let err = match (o.is_nan(), e.is_nan()) {
                (true, true) => 0.0,
                (false, false) if o == e => 0.0,
                (false, false) => (o as f64 - e as f64).abs(),
                _ => f64::INFINITY,
            };
            if err > r.max_err || (r.at.is_none() && err.is_infinite()) {
                r.max_err = err;
                r.at = Some(w);
            }
            if err > tol.bound(m.kind, e) {
                r.violations += 1;
                if r.first_violation.is_none() {
                    r.first_violation = Some(w);
                }
            }
        }
        if r.violations > 0 {
            let w = r.first_violation.expect("counted");
            rep.problems.push(format!(
                "{}: {} values over tolerance, largest error {:.3e}; first at step {} batch {} neuron {} (got {:?}, want {:?})",
                t.name, r.violations, r.max_err, w.step, w.batch, w.neuron, w.got, w.want
            ));
        }
        rep.monitors.push(r);
    }
    rep
}

/// The cut-offs neurons inherit from their LIF pre neurons: the smallest total cut-off of a pre
/// neuron plus the projection's lag, to a fixed point.
fn propagate(layout: &Layout, own: &Cuts) -> Cuts {
    let (steps, b) = (layout.steps, layout.batch);
    let mut inherited: Cuts = HashMap::new();
    let mut total = own.clone();
    loop {
        let mut changed = false;
        for l in &layout.links {
            let Some(pre_cut) = total.get(&l.pre).cloned() else { continue };
            let (n_pre, n_post) = (layout.populations[l.pre].size, layout.populations[l.post].size);
            let inh = inherited.entry(l.post).or_insert_with(|| vec![steps; b * n_post]);
            let tot = total.entry(l.post).or_insert_with(|| vec![steps; b * n_post]);
            for bi in 0..b {
                for i in 0..n_pre.min(l.indptr.len().saturating_sub(1)) {
                    // the post neurons' input differs from `lag` steps after the pre neuron's
                    let c = pre_cut[bi * n_pre + i].saturating_add(l.lag);
                    if c >= steps {
                        continue;
                    }
                    for e in l.indptr[i] as usize..l.indptr[i + 1] as usize {
                        let j = bi * n_post + l.indices[e] as usize;
                        if c < inh[j] {
                            inh[j] = c;
                            changed = true;
                        }
                        tot[j] = tot[j].min(c);
                    }
                }
            }
        }
        if !changed {
            return inherited;
        }
    }
}

/// The first difference between two runs of one layout, bit for bit ("monitor V differs first
/// at step 3 batch 0 neuron 5: -59.1 vs -59.2"), or `None` when they are bit-identical.
pub fn first_difference(layout: &Layout, a: &[MonitorData], b: &[MonitorData]) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{} monitors against {}", a.len(), b.len()));
    }
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        let name = layout.monitors.get(k).map_or_else(|| format!("#{k}"), |m| format!("{} ({})", m.name, m.target));
        if x.len() != y.len() {
            return Some(format!("monitor {name}: {} values against {}", x.len(), y.len()));
        }
        let at = |idx: usize| match layout.monitors.get(k) {
            Some(m) => {
                let (s, bi, col) = layout.locate(k, idx);
                format!("step {s} batch {bi} neuron {}", m.neurons[col])
            }
            None => format!("value {idx}"),
        };
        match (x, y) {
            (MonitorData::F32(x), MonitorData::F32(y)) => {
                if let Some(i) = (0..x.len()).find(|&i| x[i].to_bits() != y[i].to_bits()) {
                    return Some(format!("monitor {name} differs first at {}: {:?} vs {:?}", at(i), x[i], y[i]));
                }
            }
            (MonitorData::Spike(x), MonitorData::Spike(y)) => {
                if let Some(i) = (0..x.len()).find(|&i| x[i] != y[i]) {
                    return Some(format!("spikes {name} differ first at {}: {} vs {}", at(i), x[i], y[i]));
                }
            }
            _ => return Some(format!("monitor {name}: one run holds values, the other spikes")),
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Output folders
// ---------------------------------------------------------------------------------------------

/// An `.npy` file's values.
enum Npy {
    F32(Vec<f32>),
    U8(Vec<u8>),
    I32(Vec<i32>),
}

/// Reads a C-order little-endian `<f4`, `|u1`, `|b1` or `<i4` `.npy` file.
fn read_npy(path: &Path) -> Result<(Vec<usize>, Npy)> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let fail = |m: String| Error::Output(format!("{}: {m}", path.display()));
    if raw.len() < 10 || &raw[..6] != b"\x93NUMPY" {
        return Err(fail("not an .npy file".into()));
    }
    let (hlen, start) = match raw[6] {
        1 => (u16::from_le_bytes([raw[8], raw[9]]) as usize, 10),
        2 | 3 if raw.len() >= 12 => (u32::from_le_bytes([raw[8], raw[9], raw[10], raw[11]]) as usize, 12),
        v => return Err(fail(format!("unknown .npy version {v}"))),
    };
    let header = raw.get(start..start + hlen).and_then(|h| std::str::from_utf8(h).ok()).ok_or_else(|| fail("damaged header".into()))?;
    let field = |key: &str| -> Result<&str> {
        let k = format!("'{key}':");
        let at = header.find(&k).ok_or_else(|| fail(format!("the header lacks {key}")))?;
        Ok(header[at + k.len()..].trim_start())
    };
    let descr = field("descr")?;
    let descr = descr.get(1..).and_then(|d| d.split('\'').next()).ok_or_else(|| fail("damaged descr".into()))?;
    if !field("fortran_order")?.starts_with("False") {
        return Err(fail("Fortran order is not supported".into()));
    }
    let shape_txt = field("shape")?;
    let shape_txt = shape_txt.get(1..shape_txt.find(')').unwrap_or(0)).ok_or_else(|| fail("damaged shape".into()))?;
    let shape: Vec<usize> = shape_txt
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| fail(format!("damaged shape ({shape_txt})"))))
        .collect::<Result<_>>()?;
    let n: usize = shape.iter().product();
    let body = &raw[start + hlen..];
    let need = |size: usize| if body.len() == size * n { Ok(()) } else { Err(fail(format!("{} data bytes for shape {shape:?}", body.len()))) };
    let data = match descr {
        "<f4" => {
            need(4)?;
            Npy::F32(body.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        "|u1" | "|b1" => {
            need(1)?;
            Npy::U8(body.to_vec())
        }
        "<i4" => {
            need(4)?;
            Npy::I32(body.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        other => return Err(fail(format!("dtype {other} is not supported"))),
    };
    Ok((shape, data))
}

/// Spike events of an event file (`[k, 2]` rows of step and neuron, `[k, 3]` with the batch
/// row), one sorted list per batch row.
fn events_from_file(path: &Path, shape: &[usize], data: &[i32], batch: usize) -> Result<Vec<Events>> {
    let cols = if batch > 1 { 3 } else { 2 };
    if shape.len() != 2 || shape[1] != cols {
        return Err(Error::Output(format!("{}: shape {shape:?}, expected [k, {cols}] spike events", path.display())));
    }
    let mut rows = vec![Vec::new(); batch];
    for e in data.chunks_exact(cols) {
        let (s, b, j) = if cols == 3 { (e[0], e[1], e[2]) } else { (e[0], 0, e[1]) };
        if s < 0 || b < 0 || j < 0 || b as usize >= batch {
            return Err(Error::Output(format!("{}: event {e:?} is out of range", path.display())));
        }
        rows[b as usize].push((s as usize, j as u32));
    }
    rows.iter_mut().for_each(|r| r.sort_unstable());
    Ok(rows)
}

/// Reads the monitors of a `spikegpu run` output folder (`<name>.npy` each) as `layout`
/// describes them; a missing file, another shape or another dtype is an error.
pub fn read_output_dir(dir: &Path, layout: &Layout) -> Result<Vec<Recorded>> {
    (0..layout.monitors.len())
        .map(|k| {
            let m = &layout.monitors[k];
            let path = dir.join(format!("{}.npy", m.name));
            let (shape, data) = read_npy(&path)?;
            let wrong = |what: &str| Error::Output(format!("{}: {what} for monitor {} ({})", path.display(), m.name, m.target));
            match data {
                Npy::I32(v) if m.kind == Kind::Spike => Ok(Recorded::Events(events_from_file(&path, &shape, &v, layout.batch)?)),
                _ if shape != layout.shape(k) => Err(wrong(&format!("shape {shape:?}, expected {:?}", layout.shape(k)))),
                Npy::U8(v) if m.kind == Kind::Spike => Ok(Recorded::Events(layout.events_of(k, &v))),
                Npy::F32(v) if m.kind != Kind::Spike => Ok(Recorded::F32(v)),
                _ => Err(wrong("the wrong dtype")),
            }
        })
        .collect()
}

/// The layout of an output folder and its monitors, from its `summary.json` and `.npy` files,
/// without the network: every monitor records all neurons of its population, every
/// `ceil(steps / rows)` steps; values of a population are cut by its spike disagreements, a
/// projection's `current` by those of the one LIF population of its width (when there is exactly
/// one), a projection's synapse states never (as the Python tools do); no propagation. Give the
/// network ([`Layout::of_network`] and [`read_output_dir`]) for exact subsets and propagation.
pub fn open_output_dir(dir: &Path) -> Result<(Layout, Vec<Recorded>)> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let s: Value = serde_json::from_str(&text).map_err(|e| Error::Output(format!("{}: {e}", path.display())))?;
    let bad = |what: &str| Error::Output(format!("{}: {what}", path.display()));
    let steps = s.get("steps").and_then(Value::as_u64).ok_or_else(|| bad("no \"steps\""))? as usize;
    let batch = s.get("batch").and_then(Value::as_u64).unwrap_or(1).max(1) as usize;
    let mut populations: Vec<PopLayout> = s
        .get("spike_counts")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no \"spike_counts\""))?
        .keys()
        .map(|name| PopLayout { name: name.clone(), size: 0, lif: false })
        .collect();
    let monitors = s.get("monitors").and_then(Value::as_object).ok_or_else(|| bad("no \"monitors\""))?;
    // first pass: files, kinds, population sizes
    let mut read = Vec::new();
    for (name, target) in monitors {
        let target = target.as_str().ok_or_else(|| bad(&format!("monitor {name} has no target")))?;
        let (obj, var) = target.rsplit_once('.').unwrap_or((target, ""));
        let pop = populations.iter().position(|p| p.name == obj);
        let kind = Kind::of_variable(var);
        let file = dir.join(format!("{name}.npy"));
        let (shape, data) = read_npy(&file)?;
        let width = match (&data, shape.as_slice()) {
            (Npy::I32(_), _) => 0,
            (_, [_, n]) if batch == 1 => *n,
            (_, [_, b, n]) if *b == batch => *n,
            _ => return Err(Error::Output(format!("{}: shape {shape:?} does not fit batch {batch}", file.display()))),
        };
        if let Some(p) = pop {
            let size = match &data {
                Npy::I32(v) => v.chunks_exact(if batch > 1 { 3 } else { 2 }).map(|e| e[e.len() - 1].max(0) as usize + 1).max().unwrap_or(0),
                _ => width,
            };
            populations[p].size = populations[p].size.max(size);
            populations[p].lif |= kind != Kind::Spike;
        }
        read.push((name.clone(), target.to_string(), var.to_string(), pop, kind, file, shape, data, width));
    }
    let mut layout = Layout { steps, batch, populations, links: Vec::new(), monitors: Vec::new() };
    let mut recorded = Vec::new();
    for (name, target, var, pop, kind, file, shape, data, width) in read {
        let pop = match pop {
            Some(p) => Some(p),
            None if var == "current" => {
                let same: Vec<usize> = (0..layout.populations.len()).filter(|&p| layout.populations[p].lif && layout.populations[p].size == width).collect();
                (same.len() == 1).then(|| same[0])
            }
            None => None,
        };
        let (n, rows) = match &data {
            Npy::I32(_) => (pop.map_or(0, |p| layout.populations[p].size), steps),
            _ => (width, shape[0]),
        };
        let every = (1..=steps.max(1)).find(|&e| steps.div_ceil(e) == rows).unwrap_or(1);
        layout.monitors.push(MonitorLayout {
            name,
            target: target.clone(),
            kind,
            pop,
            neurons: (0..n as u32).collect(),
            every,
            rows,
            events: matches!(data, Npy::I32(_)),
        });
        let k = layout.monitors.len() - 1;
        recorded.push(match data {
            Npy::I32(v) if kind == Kind::Spike => Recorded::Events(events_from_file(&file, &shape, &v, batch)?),
            Npy::U8(v) if kind == Kind::Spike => Recorded::Events(layout.events_of(k, &v)),
            Npy::F32(v) if kind != Kind::Spike => Recorded::F32(v),
            _ => return Err(Error::Output(format!("{}: the wrong dtype for {target}", file.display()))),
        });
    }
    Ok((layout, recorded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(every: usize, neurons: Vec<u32>) -> Layout {
        Layout {
            steps: 10,
            batch: 1,
            populations: vec![PopLayout { name: "p".into(), size: 8, lif: true }],
            links: Vec::new(),
            monitors: vec![
                MonitorLayout { name: "s".into(), target: "p.spike".into(), kind: Kind::Spike, pop: Some(0), neurons: neurons.clone(), every, rows: 10usize.div_ceil(every), events: false },
                MonitorLayout { name: "V".into(), target: "p.V".into(), kind: Kind::V, pop: Some(0), neurons, every, rows: 10usize.div_ceil(every), events: false },
            ],
        }
    }

    #[test]
    fn events_name_steps_and_population_neurons() {
        let l = layout(3, vec![5, 1]);
        // rows are steps 0, 3, 6, 9; columns neurons 5 and 1
        let flags = [0, 0, 1, 0, 0, 1, 1, 1];
        assert_eq!(l.events_of(0, &flags), vec![vec![(3, 5), (6, 1), (9, 1), (9, 5)]]);
    }

    #[test]
    fn a_shifted_spike_cuts_the_trace_of_its_neuron_only() {
        let l = layout(1, vec![0, 1]);
        let mut flags = vec![0u8; 20];
        flags[2 * 2] = 1; // neuron 0 at step 2
        let v: Vec<f32> = (0..20).map(|x| x as f32).collect();
        let want = Expected::from_run(&l, &[MonitorData::Spike(flags.clone()), MonitorData::F32(v.clone())]);
        let mut shifted = flags.clone();
        shifted[2 * 2] = 0;
        shifted[3 * 2] = 1;
        let mut v2 = v.clone();
        v2[3 * 2] += 1.0; // neuron 0 after its disagreement: not compared
        let got = [MonitorData::Spike(shifted), MonitorData::F32(v2.clone())];
        let exact = Tolerance { spike_shift_frac: 1.0, ..Tolerance::exact() };
        let r = compare(&l, &got, &want, &exact, "t");
        assert!(r.ok(), "{r}");
        assert_eq!(r.spikes[0].shifted, 1);
        assert_eq!(r.monitor("V").unwrap().compared, 2 + 10);
        // the same change to neuron 1 is seen
        v2[3 * 2 + 1] += 1.0;
        let got = [got[0].clone(), MonitorData::F32(v2)];
        let r = compare(&l, &got, &want, &exact, "t");
        assert!(!r.ok());
        assert!(r.problems[0].starts_with("V: 1 values over tolerance"), "{r}");
        assert!(r.verdict().starts_with("FAIL t: V:"), "{}", r.verdict());
        // and the golden rule allows no shifted spike out of one
        let r = compare(&l, &[MonitorData::Spike(flags.iter().map(|_| 0).collect()), MonitorData::F32(v)], &want, &Tolerance::golden(), "t");
        assert!(r.problems.iter().any(|p| p.contains("has no partner")), "{r}");
    }

    #[test]
    fn tolerances_follow_the_readme() {
        let t = Tolerance::golden();
        assert_eq!(t.bound(Kind::V, -60.0), 1e-3);
        assert!((t.bound(Kind::G, 0.5) - (1e-5 + 0.5e-4)).abs() < 1e-12);
        assert!((t.bound(Kind::Current, -100.0) - (1e-3 + 1e-2)).abs() < 1e-12);
    }
}
