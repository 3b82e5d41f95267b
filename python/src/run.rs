//! Running a network from Python: build, `api::open`, `Engine::run` with the GIL released, and
//! the monitors handed to NumPy without a copy.
//!
//! The sink keeps each monitor in one `Vec` reserved for the whole run (dense monitors) or as
//! a growing list of events (spike-event monitors, converted chunk by chunk as the `.npy` writer
//! does, so a run never holds their dense flags). Between chunks it takes the GIL back for a
//! moment: `Python::check_signals` (Ctrl-C raises KeyboardInterrupt at the next chunk) and the
//! progress callback. At the end each `Vec` becomes the buffer of a NumPy array (ndarray's
//! `from_shape_vec` + `PyArray::from_owned_array`: a move, no copy).

use crate::errors::{invalid, to_py};
use crate::network::Desc;
use ndarray::{ArrayD, IxDyn};
use numpy::PyArray;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use spikegpu::api::{self, EngineChoice, Opened, RunOptions};
use spikegpu::model::{step_time, MonitorFormat};
use spikegpu::plan::{MonitorPlan, UpdateMode};
use spikegpu::runtime::output::Summary;
use spikegpu::runtime::{Chunk, MonitorData};
use spikegpu::Error;
use std::time::Instant;

/// One monitor's values as they arrive.
enum Kept {
    F32(Vec<f32>),
    Spike(Vec<u8>),
    /// (step, [batch row,] neuron) rows, flattened.
    Events(Vec<i32>),
}

impl Kept {
    fn new(m: &MonitorPlan) -> Kept {
        let len = m.rows() * m.width();
        match (m.format, m.spikes) {
            (MonitorFormat::Events, _) => Kept::Events(Vec::new()),
            (MonitorFormat::Dense, true) => Kept::Spike(Vec::with_capacity(len)),
            (MonitorFormat::Dense, false) => Kept::F32(Vec::with_capacity(len)),
        }
    }

    fn push(&mut self, m: &MonitorPlan, start: usize, data: &MonitorData) {
        match (self, data) {
            (Kept::F32(a), MonitorData::F32(b)) => a.extend_from_slice(b),
            (Kept::Spike(a), MonitorData::Spike(b)) => a.extend_from_slice(b),
            (Kept::Events(rows), MonitorData::Spike(d)) => {
                // as `OutputDir::write_chunk` stores `<pop>.spike_events`
                m.append_events(start, d, rows);
            }
            _ => unreachable!("a monitor's kind is fixed by its plan"),
        }
    }
}

/// What a run hands back across the GIL boundary.
struct Outcome {
    monitors: Vec<MonitorPlan>,
    kept: Vec<Kept>,
    summary: String,
    notes: Vec<String>,
    dt_ms: f64,
    steps: usize,
}

/// A failed run: a Python exception raised inside the sink (Ctrl-C, the callback's), or the
/// crate's error.
enum Failure {
    Py(PyErr),
    Rust(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Rust(e)
    }
}

/// Builds and runs `desc` for `steps` steps; returns a dict with the monitors and the summary
/// (the Python package turns it into a `RunResult`).
#[allow(clippy::too_many_arguments)]
pub fn run<'py>(
    py: Python<'py>,
    desc: Desc,
    steps: usize,
    backend: &str,
    mode: &str,
    chunk: usize,
    callback: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let engine: EngineChoice = backend.parse().map_err(|e| invalid("backend", e))?;
    let mode: UpdateMode = mode.parse().map_err(|e| invalid("mode", e))?;
    if chunk == 0 {
        return Err(invalid("chunk", "must be at least 1"));
    }
    let result = py.detach(move || -> Result<Outcome, Failure> {
        let net = desc.build(steps)?;
        let opts = RunOptions { engine, mode, chunk_steps: chunk, ..RunOptions::default() };
        let Opened { mut engine, notes } = api::open(net, &opts)?;
        let monitors = engine.plan().monitors.clone();
        let total = engine.plan().steps;
        let dt_ms = engine.plan().dt_ms;
        let mut kept: Vec<Kept> = monitors.iter().map(Kept::new).collect();
        let mut raised: Option<PyErr> = None;
        let start = Instant::now();
        let ran = engine.run(chunk, &mut |c: &Chunk| {
            for ((k, m), d) in kept.iter_mut().zip(&monitors).zip(&c.data) {
                k.push(m, c.start, d);
            }
            Python::attach(|py| {
                let checked = py.check_signals().and_then(|()| match &callback {
                    Some(cb) => cb.call1(py, (c.start + c.steps, total)).map(drop),
                    None => Ok(()),
                });
                checked.map_err(|e| {
                    raised = Some(e);
                    Error::Interrupted("by Python".into())
                })
            })
        });
        let wall = start.elapsed().as_secs_f64();
        let stats = match ran {
            Ok(s) => s,
            Err(e) => return Err(raised.take().map_or(Failure::Rust(e), Failure::Py)),
        };
        let summary = Summary::new(engine.plan(), engine.describe(), &stats, wall);
        let summary = serde_json::to_string(&summary).map_err(|e| Error::Output(format!("summary: {e}")))?;
        Ok(Outcome { monitors, kept, summary, notes, dt_ms, steps: total })
    });
    let out = match result {
        Ok(o) => o,
        Err(Failure::Py(e)) => return Err(e),
        Err(Failure::Rust(e)) => return Err(to_py(e)),
    };
    into_python(py, out)
}

fn array<'py, T: numpy::Element>(py: Python<'py>, shape: Vec<usize>, v: Vec<T>) -> PyResult<Bound<'py, PyAny>> {
    let a = ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("monitor shape: {e}")))?;
    Ok(PyArray::from_owned_array(py, a).into_any())
}

fn into_python(py: Python<'_>, out: Outcome) -> PyResult<Bound<'_, PyDict>> {
    let mons = PyList::empty(py);
    for (m, k) in out.monitors.iter().zip(out.kept) {
        let d = PyDict::new(py);
        d.set_item("name", &m.name)?;
        d.set_item("target", &m.target)?;
        d.set_item("every", m.every)?;
        let (kind, data) = match k {
            Kept::F32(v) => ("float32", array(py, m.shape(), v)?),
            Kept::Spike(v) => ("spike", array(py, m.shape(), v)?),
            Kept::Events(v) => {
                let cols = if m.batch > 1 { 3 } else { 2 };
                ("events", array(py, vec![v.len() / cols, cols], v)?)
            }
        };
        d.set_item("kind", kind)?;
        d.set_item("data", data)?;
        let neurons: Vec<u32> = (0..m.pick.len()).map(|j| m.pick.neuron(j)).collect();
        d.set_item("neurons", array(py, vec![neurons.len()], neurons)?)?;
        mons.append(d)?;
    }
    let d = PyDict::new(py);
    d.set_item("monitors", mons)?;
    d.set_item("summary", out.summary)?;
    d.set_item("notes", out.notes)?;
    d.set_item("dt", out.dt_ms)?;
    d.set_item("steps", out.steps)?;
    Ok(d)
}

/// `f32(step) * f32(dt)` for steps `0, every, 2 every, ...` (`rows` of them): the time in ms of
/// each recorded row, as BrainPy computes `t` (`spikegpu::model::step_time`).
#[pyfunction]
#[pyo3(signature = (rows, dt, every=1))]
pub fn step_times<'py>(py: Python<'py>, rows: usize, dt: f64, every: usize) -> PyResult<Bound<'py, PyAny>> {
    let dt = dt as f32;
    let t: Vec<f32> = (0..rows).map(|r| step_time(r * every, dt)).collect();
    array(py, vec![rows], t)
}
