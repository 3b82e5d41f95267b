//! `spikegpu.Network`: a network description filled by BrainPy-named calls and built by the
//! Rust `NetworkBuilder` when it runs.
//!
//! The description keeps each call's values (populations, projections, monitors) and replays
//! them into a `NetworkBuilder` once the number of steps is known (`run(steps)`): the builder
//! takes the steps when it is made and expands the generated sources (`regular`, `poisson`) for
//! them. So BrainPy's defaults, the generators and every check stay the builder's; the errors are
//! its errors (`projections[0].weight: ...`) with the population's or projection's name added.

use crate::convert::{self, f64_scalar, short_repr, string};
use crate::errors::{invalid, to_py};
use crate::models::{pairs_to_csr, ConnSpec, PyConn, PyOutput, PySynapse};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use spikegpu::model::{
    file, Align, Conn, CountLaw, IExt, Lif, LifRef, MonitorFormat, Network, NetworkBuilder, NeuronModel, Output, Selection, SpikeTimes,
    Synapse, DelaySpec, WeightSpec, Weights,
};

/// A population as described: a model, or a generated source expanded when the steps are known.
#[derive(Clone, Debug)]
pub enum Source {
    Model(NeuronModel),
    Regular { period_steps: usize, phase_offset: usize },
    Poisson { rate_hz: f64, seed: u64, per_row: bool },
}

#[derive(Clone, Debug)]
pub struct PopDesc {
    pub name: String,
    pub size: usize,
    pub source: Source,
    pub i_ext: Option<IExt>,
}

impl PopDesc {
    fn model_name(&self) -> &'static str {
        match &self.source {
            Source::Model(NeuronModel::SpikeTimes(_)) => "spike_times",
            Source::Model(NeuronModel::LifRef(_)) => "lif_ref",
            Source::Model(NeuronModel::Lif(_)) => "lif",
            Source::Regular { .. } => "regular",
            Source::Poisson { .. } => "poisson",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ProjDesc {
    pub name: String,
    pub pre: usize,
    pub post: usize,
    pub synapse: Synapse,
    pub align: Align,
    pub delay_ms: Option<f64>,
    /// Per-synapse delays (post-aligned projections), replacing `delay_ms`.
    pub synapse_delays: Option<DelaySpec>,
    pub conn: Conn,
    pub weights: WeightSpec,
    pub output: Output,
}

/// A Poisson input as described (BrainPy's `PoissonInput`).
#[derive(Clone, Debug)]
pub struct InputDesc {
    pub name: String,
    /// The target as a network file writes it (`post.V`, `proj.g`).
    pub target: String,
    pub num_input: u64,
    pub freq_hz: f64,
    pub weight: f32,
    pub seed: u64,
    pub law: CountLaw,
}

#[derive(Clone, Debug)]
pub struct MonDesc {
    pub name: String,
    /// The target as a network file writes it, without `_events` (`post.V`, `post.spike`).
    pub target: String,
    pub neurons: Selection,
    pub every: usize,
    pub events: bool,
}

/// Everything a network file holds but the steps.
#[derive(Clone, Debug, Default)]
pub struct Desc {
    pub dt: f64,
    pub batch: usize,
    pub pops: Vec<PopDesc>,
    pub projs: Vec<ProjDesc>,
    pub inputs: Vec<InputDesc>,
    pub mons: Vec<MonDesc>,
}

impl Desc {
    /// The network for `steps` steps, through the builder (which checks everything).
    pub fn build(self, steps: usize) -> spikegpu::Result<Network> {
        let names = (self.pops.iter().map(|p| p.name.clone()).collect::<Vec<_>>(), self.projs.iter().map(|p| p.name.clone()).collect::<Vec<_>>());
        let mut b = NetworkBuilder::new(self.dt, steps).batch(self.batch);
        let mut refs = Vec::with_capacity(self.pops.len());
        for p in self.pops {
            let r = match p.source {
                Source::Model(NeuronModel::SpikeTimes(s)) => b.spike_times(p.name, p.size, s),
                Source::Model(NeuronModel::LifRef(l)) => b.lif_ref(p.name, p.size, l),
                Source::Model(NeuronModel::Lif(l)) => b.lif(p.name, p.size, l),
                Source::Regular { period_steps, phase_offset } => b.regular(p.name, p.size, period_steps, phase_offset),
                Source::Poisson { rate_hz, seed, per_row } => b.poisson(p.name, p.size, rate_hz, seed, per_row),
            };
            if let Some(i) = p.i_ext {
                b.i_ext(r, i);
            }
            refs.push(r);
        }
        for p in self.projs {
            let r = b.projection(p.name, refs[p.pre], refs[p.post], p.synapse, p.conn, p.weights, p.output);
            b.align(r, p.align);
            if let Some(d) = p.delay_ms {
                b.delay_ms(r, d);
            }
            if let Some(d) = p.synapse_delays {
                b.synapse_delays(r, d);
            }
        }
        for i in self.inputs {
            b.poisson_input_named(i.name, i.target, i.num_input, i.freq_hz, i.weight, i.seed).law(i.law);
        }
        for m in self.mons {
            let spec = b.monitor_named(m.name, m.target);
            spec.neurons(m.neurons).every(m.every);
            if m.events {
                spec.events();
            }
        }
        b.into_network().map_err(|e| name_places(e, &names.0, &names.1))
    }
}

/// Adds the name to an error path that points at a population or projection by index
/// (`populations[1].tau` becomes `populations[1] ("post").tau`): a Python user never sees the
/// index otherwise.
fn name_places(e: spikegpu::Error, pops: &[String], projs: &[String]) -> spikegpu::Error {
    let spikegpu::Error::Invalid { path, msg } = e else { return e };
    let named = |prefix: &str, names: &[String]| -> Option<String> {
        let rest = path.strip_prefix(prefix)?;
        let (idx, tail) = rest.split_once(']')?;
        let name = names.get(idx.parse::<usize>().ok()?)?;
        Some(format!("{prefix}{idx}] (\"{name}\"){tail}"))
    };
    let path = named("populations[", pops).or_else(|| named("projections[", projs)).unwrap_or(path);
    spikegpu::Error::Invalid { path, msg }
}

/// A population of a [`PyNetwork`]: pass it (or its name) to `Network.projection`, and take
/// monitor targets from it (`post.V`, `post.spike`, ...).
#[pyclass(module = "spikegpu", name = "Population", frozen)]
pub struct PopHandle {
    /// The population's name.
    #[pyo3(get)]
    name: String,
    /// Number of neurons.
    #[pyo3(get)]
    size: usize,
    /// The model as the network file spells it (`"lif_ref"`, `"spike_times"`, ...).
    #[pyo3(get)]
    model: &'static str,
}

#[pymethods]
impl PopHandle {
    /// The monitor target of the membrane potential (`"<name>.V"`; LIF populations).
    #[getter(V)]
    fn v(&self) -> String {
        format!("{}.V", self.name)
    }
    /// The monitor target of the spikes, one 0/1 flag per neuron and step (`"<name>.spike"`).
    #[getter]
    fn spike(&self) -> String {
        format!("{}.spike", self.name)
    }
    /// The monitor target of the spikes as a list of events (`"<name>.spike_events"`).
    #[getter]
    fn spike_events(&self) -> String {
        format!("{}.spike_events", self.name)
    }
    /// The monitor target of all synaptic currents with the new V (`"<name>.current"`, as
    /// BrainPy's docs record `post.sum_current_inputs(post.V)`).
    #[getter]
    fn current(&self) -> String {
        format!("{}.current", self.name)
    }
    /// The monitor target of the current that drove the step (`"<name>.input"`: `I_ext` plus
    /// the synaptic currents with the old V).
    #[getter]
    fn input(&self) -> String {
        format!("{}.input", self.name)
    }
    fn __repr__(&self) -> String {
        format!("Population({:?}, size={}, model={:?})", self.name, self.size, self.model)
    }
    fn __str__(&self) -> String {
        self.name.clone()
    }
}

/// A projection of a [`PyNetwork`]; its attributes are monitor targets (`syn.g`, ...).
#[pyclass(module = "spikegpu", name = "Projection", frozen)]
pub struct ProjHandle {
    /// The projection's name.
    #[pyo3(get)]
    name: String,
    /// The synapse model (`"ampa"`, ...).
    #[pyo3(get)]
    model: &'static str,
}

#[pymethods]
impl ProjHandle {
    /// The monitor target of the conductance the synapse hands on (`"<name>.g"`): pre-sized when
    /// aligned pre, post-sized when aligned post.
    #[getter]
    fn g(&self) -> String {
        format!("{}.g", self.name)
    }
    /// The monitor target of this projection's current onto each post neuron, new V.
    #[getter]
    fn current(&self) -> String {
        format!("{}.current", self.name)
    }
    /// `"<name>.h"` (DualExpon, Alpha).
    #[getter]
    fn h(&self) -> String {
        format!("{}.h", self.name)
    }
    /// `"<name>.x"` (NMDA).
    #[getter]
    fn x(&self) -> String {
        format!("{}.x", self.name)
    }
    /// `"<name>.g_rise"` (DualExponV2).
    #[getter]
    fn g_rise(&self) -> String {
        format!("{}.g_rise", self.name)
    }
    /// `"<name>.g_decay"` (DualExponV2).
    #[getter]
    fn g_decay(&self) -> String {
        format!("{}.g_decay", self.name)
    }
    fn __repr__(&self) -> String {
        format!("Projection({:?}, synapse={:?})", self.name, self.model)
    }
    fn __str__(&self) -> String {
        self.name.clone()
    }
}

/// A spiking network in BrainPy's vocabulary, run on spikegpu's CPU or GPU engine.
///
/// dt: time step in ms. batch: independent copies run together (monitors then have shape
/// [rows, batch, n]). steps: how many steps run() runs when it is given none.
///
/// Populations (`spike_time_group`, `lif_ref`, `lif`, `poisson`, `regular`), projections
/// (`projection`) and monitors (`monitor`) are added by calls; nothing is checked until the
/// network is built (`run`, `validate`, `to_json`), which raises ValueError naming the field
/// (`projections[0] ("syn").weight: has 3 values, but the connectivity has 4 synapses`).
#[pyclass(module = "spikegpu._spikegpu", name = "Network", subclass)]
pub struct PyNetwork {
    pub desc: Desc,
    /// Steps of a run that names none.
    pub steps: Option<usize>,
}

impl PyNetwork {
    fn pop_index(&self, p: &Bound<'_, PyAny>, path: &str) -> PyResult<usize> {
        let name = match p.cast::<PopHandle>() {
            Ok(h) => h.get().name.clone(),
            Err(_) => p.extract::<String>().map_err(|_| invalid(path, format!("must be a population (or its name), got {}", short_repr(p))))?,
        };
        self.desc.pops.iter().position(|q| q.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.desc.pops.iter().map(|q| q.name.as_str()).collect();
            invalid(path, format!("unknown population \"{name}\" (known: {})", known.join(", ")))
        })
    }

    fn push_pop(&mut self, name: String, size: usize, source: Source, i_ext: Option<IExt>) -> PopHandle {
        let d = PopDesc { name, size, source, i_ext };
        let h = PopHandle { name: d.name.clone(), size, model: d.model_name() };
        self.desc.pops.push(d);
        h
    }

    fn steps_for(&self, steps: Option<usize>) -> PyResult<usize> {
        steps.or(self.steps).ok_or_else(|| {
            PyValueError::new_err("steps: how many steps? Pass them (run(steps), to_json(steps)) or set Network(steps=...)")
        })
    }

    /// The description from a built network (from a file): populations, projections and
    /// monitors as the builder's values; generated sources are taken from the JSON so that a run
    /// of another length expands them again.
    fn from_network(net: Network, generators: Vec<Option<Source>>) -> (Desc, usize) {
        let steps = net.steps;
        let mons = net
            .monitors
            .iter()
            .map(|m| MonDesc {
                name: m.name.clone(),
                target: net.target_name(m.target),
                neurons: m.neurons.clone(),
                every: m.every,
                events: m.format == MonitorFormat::Events,
            })
            .collect();
        let inputs = net
            .inputs
            .iter()
            .map(|i| InputDesc {
                name: i.name.clone(),
                target: net.target_name(i.target),
                num_input: i.num_input,
                freq_hz: i.freq_hz,
                weight: i.weight,
                seed: i.seed,
                law: i.law,
            })
            .collect();
        let pops = net
            .populations
            .into_iter()
            .zip(generators.into_iter().chain(std::iter::repeat(None)))
            .map(|(p, g)| PopDesc { name: p.name, size: p.size, source: g.unwrap_or(Source::Model(p.model)), i_ext: p.i_ext })
            .collect();
        let projs = net
            .projections
            .into_iter()
            .map(|p| ProjDesc {
                name: p.name,
                pre: p.pre,
                post: p.post,
                synapse: p.synapse,
                align: p.align,
                delay_ms: p.delay_ms,
                synapse_delays: p.delay_slots.map(DelaySpec::Steps),
                conn: Conn::Csr { indptr: p.conn.indptr, indices: p.conn.indices },
                weights: WeightSpec::Given(p.weights),
                output: p.output,
            })
            .collect();
        (Desc { dt: net.dt, batch: net.batch, pops, projs, inputs, mons }, steps)
    }

    /// A network of the class `cls` (a Python subclass keeps its class) from a parsed network.
    fn make<'py>(cls: &Bound<'py, PyType>, net: Network, generators: Vec<Option<Source>>) -> PyResult<Bound<'py, PyAny>> {
        let (desc, steps) = Self::from_network(net, generators);
        let obj = cls.call0()?;
        {
            let mut me = obj.cast::<PyNetwork>()?.borrow_mut();
            me.desc = desc;
            me.steps = Some(steps);
        }
        Ok(obj)
    }

    /// A copy of the description and the steps, to build without holding the GIL.
    pub fn snapshot(&self, steps: Option<usize>) -> PyResult<(Desc, usize)> {
        Ok((self.desc.clone(), self.steps_for(steps)?))
    }
}

/// Generated sources of a network file, read from its JSON (the file reader has already
/// checked them): `regular` and `poisson` populations by position.
fn generators(text: &str) -> Vec<Option<Source>> {
    if !(text.contains("\"regular\"") || text.contains("\"poisson\"")) {
        return Vec::new();
    }
    let Ok(root) = serde_json::from_str::<serde_json::Value>(text) else { return Vec::new() };
    // a golden case wraps the network with its expected traces
    let net = match root.get("network") {
        Some(n) if root.get("expected").is_some() => n,
        _ => &root,
    };
    let Some(pops) = net.get("populations").and_then(|p| p.as_array()) else { return Vec::new() };
    pops.iter()
        .map(|p| {
            let u = |k: &str| p.get(k).and_then(|v| v.as_u64());
            match p.get("model").and_then(|m| m.as_str()) {
                Some("regular") => Some(Source::Regular { period_steps: u("period_steps")? as usize, phase_offset: u("phase_offset").unwrap_or(0) as usize }),
                Some("poisson") => Some(Source::Poisson {
                    rate_hz: p.get("rate_hz")?.as_f64()?,
                    seed: u("seed")?,
                    per_row: p.get("per_row").and_then(|v| v.as_bool()).unwrap_or(false),
                }),
                _ => None,
            }
        })
        .collect()
}

#[pymethods]
impl PyNetwork {
    #[new]
    #[pyo3(signature = (dt=0.1, batch=1, steps=None))]
    fn new(dt: f64, batch: usize, steps: Option<usize>) -> Self {
        PyNetwork { desc: Desc { dt, batch, ..Desc::default() }, steps }
    }

    /// Reads a network file (JSON, `docs/FORMAT.md`; a golden case file works too), checked as
    /// `spikegpu run` checks it. Its `steps` become the network's default steps.
    #[classmethod]
    fn from_file<'py>(cls: &Bound<'py, PyType>, path: std::path::PathBuf) -> PyResult<Bound<'py, PyAny>> {
        let text = std::fs::read_to_string(&path).map_err(|e| to_py(spikegpu::Error::io(&path, e)))?;
        let net = file::parse(&text).map_err(to_py)?;
        Self::make(cls, net, generators(&text))
    }

    /// Parses a network from network-file JSON text (the inverse of `to_json`).
    #[classmethod]
    fn from_json<'py>(cls: &Bound<'py, PyType>, text: &str) -> PyResult<Bound<'py, PyAny>> {
        let net = file::parse(text).map_err(to_py)?;
        Self::make(cls, net, generators(text))
    }

    /// Time step, ms.
    #[getter]
    fn dt(&self) -> f64 {
        self.desc.dt
    }
    #[setter]
    fn set_dt(&mut self, dt: &Bound<'_, PyAny>) -> PyResult<()> {
        self.desc.dt = f64_scalar(dt, "dt")?;
        Ok(())
    }

    /// Independent copies run together.
    #[getter]
    fn batch(&self) -> usize {
        self.desc.batch
    }
    #[setter]
    fn set_batch(&mut self, batch: usize) {
        self.desc.batch = batch;
    }

    /// Steps run() runs when it is given none (None: run() needs them).
    #[getter]
    fn steps(&self) -> Option<usize> {
        self.steps
    }
    #[setter]
    fn set_steps(&mut self, steps: Option<usize>) {
        self.steps = steps;
    }

    /// The populations, in order.
    #[getter]
    fn populations(&self) -> Vec<PopHandle> {
        self.desc.pops.iter().map(|p| PopHandle { name: p.name.clone(), size: p.size, model: p.model_name() }).collect()
    }

    /// The projections, in order.
    #[getter]
    fn projections(&self) -> Vec<ProjHandle> {
        self.desc.projs.iter().map(|p| ProjHandle { name: p.name.clone(), model: p.synapse.model_name() }).collect()
    }

    /// The monitors: name -> target (`"post.V"`, `"post.spike_events"`).
    #[getter]
    fn monitors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for m in &self.desc.mons {
            d.set_item(&m.name, format!("{}{}", m.target, if m.events { "_events" } else { "" }))?;
        }
        Ok(d)
    }

    /// BrainPy's `SpikeTimeGroup(size, indices, times)`: neuron `indices[k]` fires at `times[k]`
    /// ms, at the first step whose time `f32(i) * f32(dt)` reaches it (unsorted is fine). `rows`
    /// (optional, one per event) gives each event to one batch row; without it every row gets
    /// every event, as in BrainPy.
    #[pyo3(signature = (name, size, indices, times, rows=None))]
    fn spike_time_group(
        &mut self,
        name: String,
        size: usize,
        indices: &Bound<'_, PyAny>,
        times: &Bound<'_, PyAny>,
        rows: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PopHandle> {
        let path = format!("populations[{}] (\"{name}\")", self.desc.pops.len());
        let indices = convert::index_vec(indices, &format!("{path}.indices"))?;
        let times = convert::f32_vec(times, &format!("{path}.times"))?;
        if indices.len() != times.len() {
            return Err(invalid(&format!("{path}.times"), format!("has {} entries but indices has {}: they must have the same length", times.len(), indices.len())));
        }
        let rows = match rows {
            Some(r) if !r.is_none() => convert::index_vec(r, &format!("{path}.rows"))?,
            _ => Vec::new(),
        };
        Ok(self.push_pop(name, size, Source::Model(NeuronModel::SpikeTimes(SpikeTimes { indices, times, rows })), None))
    }

    /// BrainPy's `LifRef(size, ...)`: leaky integrate-and-fire with an absolute refractory
    /// period `tau_ref` ms. Omitted parameters take BrainPy's defaults (`V_rest=0, V_th=20,
    /// V_reset=-5, tau=10, tau_ref=0, R=1, V_init=0`). `V_init`: a number, one per neuron `[n]`,
    /// or one row per batch copy `[batch, n]` (BrainPy's `V_initializer`). `I_ext`: a constant
    /// input current every step, a number or one per neuron (BrainPy's `pop(I_ext)`).
    #[pyo3(signature = (name, size, V_rest=None, V_th=None, V_reset=None, tau=None, tau_ref=None, R=None, V_init=None, I_ext=None))]
    #[allow(non_snake_case, clippy::too_many_arguments)]
    fn lif_ref(
        &mut self,
        name: String,
        size: usize,
        V_rest: Option<&Bound<'_, PyAny>>,
        V_th: Option<&Bound<'_, PyAny>>,
        V_reset: Option<&Bound<'_, PyAny>>,
        tau: Option<&Bound<'_, PyAny>>,
        tau_ref: Option<&Bound<'_, PyAny>>,
        R: Option<&Bound<'_, PyAny>>,
        V_init: Option<&Bound<'_, PyAny>>,
        I_ext: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PopHandle> {
        let path = format!("populations[{}] (\"{name}\")", self.desc.pops.len());
        let l = lif_params(&path, V_rest, V_th, V_reset, tau, R, V_init)?;
        let d = LifRef::brainpy_defaults();
        let tau_ref = opt_f32(tau_ref, d.tau_ref, &format!("{path}.tau_ref"))?;
        let Lif { v_rest, v_th, v_reset, tau, r, v_init } = l;
        let i_ext = opt_i_ext(I_ext, &path)?;
        Ok(self.push_pop(name, size, Source::Model(NeuronModel::LifRef(LifRef { v_rest, v_th, v_reset, tau, tau_ref, r, v_init })), i_ext))
    }

    /// BrainPy's `Lif(size, ...)`: leaky integrate-and-fire without a refractory period.
    /// Omitted parameters take BrainPy's defaults (`V_rest=0, V_th=20, V_reset=-5, tau=10, R=1,
    /// V_init=0`); `V_init` and `I_ext` as in `lif_ref`.
    #[pyo3(signature = (name, size, V_rest=None, V_th=None, V_reset=None, tau=None, R=None, V_init=None, I_ext=None))]
    #[allow(non_snake_case, clippy::too_many_arguments)]
    fn lif(
        &mut self,
        name: String,
        size: usize,
        V_rest: Option<&Bound<'_, PyAny>>,
        V_th: Option<&Bound<'_, PyAny>>,
        V_reset: Option<&Bound<'_, PyAny>>,
        tau: Option<&Bound<'_, PyAny>>,
        R: Option<&Bound<'_, PyAny>>,
        V_init: Option<&Bound<'_, PyAny>>,
        I_ext: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PopHandle> {
        let path = format!("populations[{}] (\"{name}\")", self.desc.pops.len());
        let l = lif_params(&path, V_rest, V_th, V_reset, tau, R, V_init)?;
        let i_ext = opt_i_ext(I_ext, &path)?;
        Ok(self.push_pop(name, size, Source::Model(NeuronModel::Lif(l)), i_ext))
    }

    /// BrainPy's `PoissonGroup(size, freqs, seed)`: every neuron spikes at each step with
    /// probability `freqs * dt / 1000`, from spikegpu's RNG with `seed` (BrainPy's stream cannot
    /// be reproduced). With `per_row`, batch row b draws its own spikes from `seed + b`.
    #[pyo3(signature = (name, size, freqs, seed, per_row=false))]
    fn poisson(&mut self, name: String, size: usize, freqs: &Bound<'_, PyAny>, seed: &Bound<'_, PyAny>, per_row: bool) -> PyResult<PopHandle> {
        let path = format!("populations[{}] (\"{name}\")", self.desc.pops.len());
        let rate_hz = f64_scalar(freqs, &format!("{path}.freqs"))?;
        let seed = convert::count(seed, &format!("{path}.seed"))?;
        Ok(self.push_pop(name, size, Source::Poisson { rate_hz, seed, per_row }, None))
    }

    /// A regular source: neuron i fires at steps `phase_offset + (i mod period_steps) +
    /// period_steps * j` (the benchmark networks' input).
    #[pyo3(signature = (name, size, period_steps, phase_offset=0))]
    fn regular(&mut self, name: String, size: usize, period_steps: usize, phase_offset: usize) -> PyResult<PopHandle> {
        Ok(self.push_pop(name, size, Source::Regular { period_steps, phase_offset }, None))
    }

    /// Gives a LIF population a constant input current every step (BrainPy's `pop(I_ext)`): a
    /// number or one per neuron. Replaces an earlier one.
    #[pyo3(name = "I_ext")]
    fn set_i_ext(&mut self, population: &Bound<'_, PyAny>, current: &Bound<'_, PyAny>) -> PyResult<()> {
        let i = self.pop_index(population, "I_ext.population")?;
        let path = format!("populations[{i}] (\"{}\").I_ext", self.desc.pops[i].name);
        self.desc.pops[i].i_ext = Some(convert::i_ext(current, &path)?);
        Ok(())
    }

    /// A projection from `pre` to `post` (a LIF population), BrainPy's `ProjAlignPreMg2`
    /// (`align="pre"`: synapse state per pre neuron, delayed, then the CSR product) or
    /// `ProjAlignPostMg2` (`align="post"`: delayed pre spikes through the CSR product into a state
    /// per post neuron; Expon and DualExponV2 only).
    ///
    /// pre, post: populations or their names. synapse: `AMPA(...)`, `GABAa(...)`, `Expon(...)`,
    /// `DualExpon(...)`, `DualExponV2(...)`, `Alpha(...)`, `NMDA(...)`. conn: `FixedProb(p, seed)`,
    /// `All2All()`, `One2One()`, `CSRConn(indices, indptr)`, `IJConn(i, j)` or a `scipy.sparse`
    /// matrix (rows = pre, columns = post; its values are the weights unless `weight` is given).
    /// weight: one number, or one per synapse (pre-major CSR order; an IJConn's pair order).
    /// delay: ms or None (BrainPy's `ceil(delay / dt)` ring slots), or one per synapse in CSR
    /// order (`align="post"`: each synapse delayed as the projection would be with its delay). output: `COBA(E)`, `CUBA()`,
    /// `MgBlock(...)`. name: defaults to `"<pre>_to_<post>"`. Returns the projection, whose
    /// attributes are monitor targets (`syn.g`).
    #[pyo3(signature = (pre, post, synapse, conn, weight=None, delay=None, output=None, align="pre", name=None))]
    #[allow(clippy::too_many_arguments)]
    fn projection(
        &mut self,
        pre: &Bound<'_, PyAny>,
        post: &Bound<'_, PyAny>,
        synapse: &Bound<'_, PyAny>,
        conn: &Bound<'_, PyAny>,
        weight: Option<&Bound<'_, PyAny>>,
        delay: Option<&Bound<'_, PyAny>>,
        output: Option<&Bound<'_, PyAny>>,
        align: &str,
        name: Option<String>,
    ) -> PyResult<ProjHandle> {
        let k = self.desc.projs.len();
        let pre_i = self.pop_index(pre, &format!("projections[{k}].pre"))?;
        let post_i = self.pop_index(post, &format!("projections[{k}].post"))?;
        let name = name.unwrap_or_else(|| {
            let base = format!("{}_to_{}", self.desc.pops[pre_i].name, self.desc.pops[post_i].name);
            let taken = |n: &str| self.desc.projs.iter().any(|p| p.name == n);
            if !taken(&base) {
                return base;
            }
            (2..).map(|j| format!("{base}_{j}")).find(|n| !taken(n)).expect("some suffix is free")
        });
        let path = format!("projections[{k}] (\"{name}\")");
        let synapse = synapse
            .cast::<PySynapse>()
            .map_err(|_| invalid(&format!("{path}.synapse"), format!("must be a synapse model (AMPA, GABAa, Expon, DualExpon, DualExponV2, Alpha, NMDA), got {}", short_repr(synapse))))?
            .get()
            .inner;
        let output = match output {
            Some(o) if !o.is_none() => o
                .cast::<PyOutput>()
                .map_err(|_| invalid(&format!("{path}.output"), format!("must be an output (COBA(E), CUBA(), MgBlock(...)), got {}", short_repr(o))))?
                .get()
                .inner,
            _ => return Err(invalid(&format!("{path}.output"), "is missing: give output=COBA(E=...), CUBA() or MgBlock(...)")),
        };
        let align = match align {
            "pre" => Align::Pre,
            "post" => Align::Post,
            other => return Err(invalid(&format!("{path}.align"), format!("must be \"pre\" or \"post\", got \"{other}\""))),
        };
        // a number (ms) for the projection, or one per synapse in CSR order (align="post")
        let (delay_ms, synapse_delays) = match delay {
            Some(d) if !d.is_none() && convert::is_scalar(d)? => (Some(f64_scalar(d, &format!("{path}.delay"))?), None),
            Some(d) if !d.is_none() => {
                let ms = convert::f64_vec(d, &format!("{path}.delay"))?;
                (None, Some(DelaySpec::Ms(ms)))
            }
            _ => (None, None),
        };
        let weight = weight.filter(|w| !w.is_none());
        let cpath = format!("{path}.connectivity");
        let (n_pre, n_post) = (self.desc.pops[pre_i].size, self.desc.pops[post_i].size);
        let mut weights = match weight {
            // drawn per synapse when the network is built
            Some(w) if w.cast::<crate::models::NormalWeights>().is_ok() => Some(w.cast::<crate::models::NormalWeights>()?.get().spec.clone()),
            Some(w) => Some(convert::weights(w, &format!("{path}.weight"))?),
            None => None,
        };
        let conn = if let Ok(c) = conn.cast::<PyConn>() {
            match &c.get().spec {
                ConnSpec::Rust(c) => c.clone(),
                ConnSpec::Pairs { pre, post } => {
                    let (csr, perm) = pairs_to_csr(pre, post, n_pre, &cpath)?;
                    // per-synapse weights follow the pairs: reorder them with the pairs
                    if let Some(WeightSpec::Given(Weights::PerSynapse(w))) = &weights {
                        if w.len() == perm.len() {
                            weights = Some(WeightSpec::Given(Weights::PerSynapse(perm.iter().map(|&p| w[p]).collect())));
                        }
                    }
                    csr
                }
            }
        } else if conn.hasattr("tocsr")? {
            // a scipy.sparse matrix (any format), rows = pre
            let m = conn.call_method0("tocsr")?;
            let shape: (usize, usize) = m.getattr("shape")?.extract()?;
            if shape != (n_pre, n_post) {
                return Err(invalid(
                    &cpath,
                    format!("the matrix is {}x{}, but pre has {n_pre} and post {n_post} neurons (rows are pre, columns post)", shape.0, shape.1),
                ));
            }
            if weights.is_none() {
                weights = Some(WeightSpec::Given(Weights::PerSynapse(convert::f32_vec(&m.getattr("data")?, &format!("{cpath}.data"))?)));
            }
            Conn::Csr {
                indptr: convert::index_vec(&m.getattr("indptr")?, &format!("{cpath}.indptr"))?,
                indices: convert::index_vec(&m.getattr("indices")?, &format!("{cpath}.indices"))?,
            }
        } else {
            return Err(invalid(
                &cpath,
                format!("must be FixedProb, All2All, One2One, CSRConn, IJConn or a scipy.sparse matrix (rows = pre), got {}", short_repr(conn)),
            ));
        };
        let weights = weights.ok_or_else(|| invalid(&format!("{path}.weight"), "is missing: give one number, one per synapse, or sg.Normal(mean, sd, seed)"))?;
        let model = synapse.model_name();
        self.desc.projs.push(ProjDesc { name: name.clone(), pre: pre_i, post: post_i, synapse, align, delay_ms, synapse_delays, conn, weights, output });
        Ok(ProjHandle { name, model })
    }

    /// BrainPy's `PoissonInput(target_var, num_input, freq, weight)`: every step each neuron of
    /// `target` gets the spike count of `num_input` independent Poisson sources of `freq` Hz
    /// times `weight`, drawn by the engine from `seed`. target: a LIF population's V
    /// (`pop.V`) or a post-aligned projection's g (`proj.g`). law: "binomial" (each source
    /// fires at most once a step, BrainPy's) or "poisson" (NEST's poisson_generator).
    #[pyo3(signature = (target, num_input, freq, weight, seed=0, law="binomial", name=None))]
    #[allow(clippy::too_many_arguments)] // BrainPy's own argument list, plus seed, law and name
    fn poisson_input(
        &mut self,
        target: &Bound<'_, PyAny>,
        num_input: u64,
        freq: f64,
        weight: f32,
        seed: u64,
        law: &str,
        name: Option<String>,
    ) -> PyResult<()> {
        let k = self.desc.inputs.len();
        let path = format!("poisson_inputs[{k}]");
        let target = string(target, &format!("{path}.target"))?;
        let law = match law {
            "binomial" => CountLaw::Binomial,
            "poisson" => CountLaw::Poisson,
            other => return Err(invalid(&format!("{path}.law"), format!("must be \"binomial\" or \"poisson\", got \"{other}\""))),
        };
        let name = name.unwrap_or_else(|| format!("poisson_input_{k}"));
        self.desc.inputs.push(InputDesc { name, target, num_input, freq_hz: freq, weight, seed, law });
        Ok(())
    }

    /// Records `target` under `name`: `"<population>.V"`, `.spike`, `.spike_events` (a list of
    /// (step, [batch row,] neuron) events), `.current`, `.input`, or `"<projection>.g"`,
    /// `.current`, `.h`, `.x`, `.g_rise`, `.g_decay` (the handles' attributes give these
    /// strings). neurons: None (all), `"start:end"`, `slice(start, end)`, `range(...)` or a list
    /// or array of indices. every: record steps 0, every, 2 every, ... A monitor of the same name
    /// is replaced.
    #[pyo3(signature = (name, target, neurons=None, every=1))]
    fn monitor(&mut self, name: String, target: &Bound<'_, PyAny>, neurons: Option<&Bound<'_, PyAny>>, every: usize) -> PyResult<()> {
        let path = format!("monitors.{name}");
        let target = string(target, &format!("{path}.target"))?;
        let neurons = convert::selection(neurons, &format!("{path}.neurons"))?;
        // `<population>.spike_events`: the spikes, stored as a list of events (as in a file)
        let (target, events) = match target.strip_suffix("_events") {
            Some(base) if base.ends_with(".spike") => (base.to_string(), true),
            _ => (target, false),
        };
        let m = MonDesc { name, target, neurons, every, events };
        match self.desc.mons.iter_mut().find(|x| x.name == m.name) {
            Some(old) => *old = m,
            None => self.desc.mons.push(m),
        }
        Ok(())
    }

    /// Builds the network for `steps` (default: the network's) and raises ValueError on the first
    /// problem, as run() would before starting.
    #[pyo3(signature = (steps=None))]
    fn validate(&self, py: Python<'_>, steps: Option<usize>) -> PyResult<()> {
        let (desc, steps) = self.snapshot(steps)?;
        py.detach(move || desc.build(steps).map(drop)).map_err(to_py)
    }

    /// The network as network-file JSON (`spikegpu run` reads it), every parameter explicit
    /// (BrainPy's defaults filled in) and connectivity as explicit CSR. Generated sources
    /// (`poisson`, `regular`) appear expanded into spike times for `steps`.
    #[pyo3(signature = (steps=None))]
    fn to_json(&self, py: Python<'_>, steps: Option<usize>) -> PyResult<String> {
        let (desc, steps) = self.snapshot(steps)?;
        py.detach(move || desc.build(steps).map(|n| n.to_json())).map_err(to_py)
    }

    /// The native run: see `spikegpu.Network.run`, which wraps this with the progress bar and the
    /// result object.
    #[pyo3(signature = (steps=None, backend="auto", mode="dense", chunk=1000, callback=None))]
    fn _run<'py>(
        &self,
        py: Python<'py>,
        steps: Option<usize>,
        backend: &str,
        mode: &str,
        chunk: usize,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (desc, steps) = self.snapshot(steps)?;
        crate::run::run(py, desc, steps, backend, mode, chunk, callback)
    }

    fn __repr__(&self) -> String {
        let n = |k: usize, what: &str| format!("{k} {what}{}", if k == 1 { "" } else { "s" });
        format!(
            "Network(dt={}, batch={}, steps={}, {}, {}, {})",
            self.desc.dt,
            self.desc.batch,
            self.steps.map_or("None".into(), |s| s.to_string()),
            n(self.desc.pops.len(), "population"),
            n(self.desc.projs.len(), "projection"),
            n(self.desc.mons.len(), "monitor")
        )
    }
}

fn opt_f32(v: Option<&Bound<'_, PyAny>>, default: f32, path: &str) -> PyResult<f32> {
    match v {
        Some(x) if !x.is_none() => convert::f32_scalar(x, path),
        _ => Ok(default),
    }
}

fn opt_i_ext(v: Option<&Bound<'_, PyAny>>, path: &str) -> PyResult<Option<IExt>> {
    match v {
        Some(x) if !x.is_none() => Ok(Some(convert::i_ext(x, &format!("{path}.I_ext"))?)),
        _ => Ok(None),
    }
}

/// The LIF parameters with BrainPy's defaults for the omitted ones (`Lif::brainpy_defaults`).
#[allow(non_snake_case)]
fn lif_params(
    path: &str,
    V_rest: Option<&Bound<'_, PyAny>>,
    V_th: Option<&Bound<'_, PyAny>>,
    V_reset: Option<&Bound<'_, PyAny>>,
    tau: Option<&Bound<'_, PyAny>>,
    R: Option<&Bound<'_, PyAny>>,
    V_init: Option<&Bound<'_, PyAny>>,
) -> PyResult<Lif> {
    let d = Lif::brainpy_defaults();
    let p = |k: &str| format!("{path}.{k}");
    Ok(Lif {
        v_rest: opt_f32(V_rest, d.v_rest, &p("V_rest"))?,
        v_th: opt_f32(V_th, d.v_th, &p("V_th"))?,
        v_reset: opt_f32(V_reset, d.v_reset, &p("V_reset"))?,
        tau: opt_f32(tau, d.tau, &p("tau"))?,
        r: opt_f32(R, d.r, &p("R"))?,
        v_init: match V_init {
            Some(v) if !v.is_none() => convert::v_init(v, &p("V_init"))?,
            _ => d.v_init,
        },
    })
}
