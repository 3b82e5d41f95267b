//! Python values (numbers, sequences, NumPy arrays) into the builder's values.
//!
//! Every input array is copied once into the `Vec` the Rust network owns (the builder takes
//! owned vectors); NumPy does the dtype conversion, with the same rounding as the network file
//! reader (`f64 as f32` rounds to nearest, as `astype(float32)` does). Errors are `ValueError`s
//! naming the field as the Rust crate does (`projections[0].connectivity.indices[5]`).

use crate::errors::invalid;
use numpy::PyReadonlyArrayDyn;
use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyRange, PySlice, PyString};
use spikegpu::model::{IExt, Selection, VInit, WeightSpec, Weights};

fn numpy(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    PyModule::import(py, "numpy")
}

/// `numpy.asarray(obj)`, with its dtype kind (`"f"`, `"i"`, `"u"`, `"b"`, ...).
fn as_array<'py>(obj: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, String)> {
    let arr = numpy(obj.py())?.call_method1("asarray", (obj,))?;
    let kind: String = arr.getattr("dtype")?.getattr("kind")?.extract()?;
    Ok((arr, kind))
}

/// Whether `obj` is one number (a Python number, a NumPy scalar or a 0-d array).
pub fn is_scalar(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    if obj.is_instance_of::<PyString>() {
        return Ok(false);
    }
    let ndim: usize = numpy(obj.py())?.call_method1("ndim", (obj,))?.extract()?;
    Ok(ndim == 0)
}

/// One number as f32 (rounded to nearest from Python's f64, as the file reader does).
pub fn f32_scalar(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<f32> {
    Ok(f64_scalar(obj, path)? as f32)
}

/// One number as f64.
pub fn f64_scalar(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<f64> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<pyo3::types::PyBool>() {
        return Err(invalid(path, format!("must be a number, got {}", short_repr(obj))));
    }
    obj.extract::<f64>().map_err(|_| invalid(path, format!("must be a number, got {}", short_repr(obj))))
}

/// A whole number >= 0.
pub fn count(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<u64> {
    if obj.is_instance_of::<pyo3::types::PyBool>() {
        return Err(invalid(path, "must be a whole number, got a bool"));
    }
    obj.extract::<u64>().map_err(|_| invalid(path, format!("must be a whole number >= 0, got {}", short_repr(obj))))
}

/// At most 60 characters of `repr(obj)`, for messages.
pub fn short_repr(obj: &Bound<'_, PyAny>) -> String {
    let r = obj.repr().map(|r| r.to_string()).unwrap_or_else(|_| "<unprintable>".into());
    if r.chars().count() > 60 {
        format!("{}...", r.chars().take(57).collect::<String>())
    } else {
        r
    }
}

/// Numbers of any shape as f32, with the shape (row-major values).
pub fn f32_array(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<(Vec<f32>, Vec<usize>)> {
    let (arr, kind) = as_array(obj)?;
    let shape: Vec<usize> = arr.getattr("shape")?.extract()?;
    if shape.iter().product::<usize>() == 0 {
        return Ok((Vec::new(), shape));
    }
    if !matches!(kind.as_str(), "f" | "i" | "u") {
        let dtype = arr.getattr("dtype")?.str()?.to_string();
        return Err(invalid(path, format!("must hold numbers, got an array of {dtype}")));
    }
    let c = numpy(obj.py())?.call_method1("ascontiguousarray", (arr, "float32"))?;
    let view: PyReadonlyArrayDyn<'_, f32> = c.extract()?;
    let v = view.as_slice().map_err(|e| invalid(path, e))?.to_vec();
    Ok((v, shape))
}

/// A flat list of numbers as f32 (`[n]`; a 0-d or n-d input is refused).
pub fn f32_vec(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Vec<f32>> {
    let (v, shape) = f32_array(obj, path)?;
    if shape.len() != 1 {
        return Err(invalid(path, format!("must be one-dimensional, got shape {shape:?}")));
    }
    Ok(v)
}

/// A flat list of numbers as f64 (`[n]`): per-synapse delays in ms, whose ring slots
/// (`ceil(d / dt)`) an f32 rounding could move by one (0.3 ms as f32 is 3.0000001 steps).
pub fn f64_vec(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Vec<f64>> {
    let (arr, kind) = as_array(obj)?;
    let shape: Vec<usize> = arr.getattr("shape")?.extract()?;
    if shape.len() != 1 {
        return Err(invalid(path, format!("must be one-dimensional, got shape {shape:?}")));
    }
    if shape[0] == 0 {
        return Ok(Vec::new());
    }
    if !matches!(kind.as_str(), "f" | "i" | "u") {
        let dtype = arr.getattr("dtype")?.str()?.to_string();
        return Err(invalid(path, format!("must hold numbers, got an array of {dtype}")));
    }
    let c = numpy(obj.py())?.call_method1("ascontiguousarray", (arr, "float64"))?;
    let view: PyReadonlyArrayDyn<'_, f64> = c.extract()?;
    Ok(view.as_slice().map_err(|e| invalid(path, e))?.to_vec())
}

/// Indices (`u32`) from integers of any dtype. Negative, too large or non-integer values are
/// errors naming the first offending position.
pub fn index_vec(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Vec<u32>> {
    let (arr, kind) = as_array(obj)?;
    let shape: Vec<usize> = arr.getattr("shape")?.extract()?;
    if shape.len() != 1 {
        return Err(invalid(path, format!("must be one-dimensional, got shape {shape:?}")));
    }
    if shape[0] == 0 {
        return Ok(Vec::new());
    }
    if !matches!(kind.as_str(), "i" | "u") {
        let dtype = arr.getattr("dtype")?.str()?.to_string();
        return Err(invalid(path, format!("must hold integer indices, got an array of {dtype}")));
    }
    let np = numpy(obj.py())?;
    // range checks in the input's own dtype, before the conversion could wrap
    let negative = arr.rich_compare(0, CompareOp::Lt)?;
    let too_large = arr.rich_compare(u32::MAX, CompareOp::Gt)?;
    let bad = np.call_method1("logical_or", (negative, too_large))?;
    if bad.call_method0("any")?.is_truthy()? {
        let k: usize = np.call_method1("argmax", (&bad,))?.extract()?;
        let v = arr.get_item(k)?;
        return Err(invalid(&format!("{path}[{k}]"), format!("{v} is not a non-negative integer index (fitting in 32 bits)")));
    }
    let c = np.call_method1("ascontiguousarray", (arr, "uint32"))?;
    let view: PyReadonlyArrayDyn<'_, u32> = c.extract()?;
    Ok(view.as_slice().map_err(|e| invalid(path, e))?.to_vec())
}

/// A weight: one number (shared, no array anywhere) or one per synapse (`sg.Normal(...)` is
/// the caller's: it is a model class).
pub fn weights(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<WeightSpec> {
    if is_scalar(obj)? {
        Ok(WeightSpec::Given(Weights::Shared(f32_scalar(obj, path)?)))
    } else {
        Ok(WeightSpec::Given(Weights::PerSynapse(f32_vec(obj, path)?)))
    }
}

/// `V_init`: a number, `[n]` or `[batch, n]`.
pub fn v_init(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<VInit> {
    if is_scalar(obj)? {
        return Ok(VInit::Scalar(f32_scalar(obj, path)?));
    }
    let (v, shape) = f32_array(obj, path)?;
    match shape.as_slice() {
        [_] => Ok(VInit::PerNeuron(v)),
        [_, 0] => Ok(VInit::PerBatch(Vec::new())),
        [_, n] => Ok(VInit::PerBatch(v.chunks(*n).map(<[f32]>::to_vec).collect())),
        _ => Err(invalid(path, format!("must be a number, [n] or [batch, n], got shape {shape:?}"))),
    }
}

/// `I_ext`: a number or one per neuron.
pub fn i_ext(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<IExt> {
    if is_scalar(obj)? {
        Ok(IExt::Scalar(f32_scalar(obj, path)?))
    } else {
        Ok(IExt::PerNeuron(f32_vec(obj, path)?))
    }
}

/// The neurons a monitor records: `None` (all), `"start:end"`, `slice(start, end)`,
/// `range(start, end)`, one index, or a list/array of indices.
pub fn selection(obj: Option<&Bound<'_, PyAny>>, path: &str) -> PyResult<Selection> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(Selection::All) };
    let range = |start: i64, end: i64| -> PyResult<Selection> {
        if start < 0 || end < 0 || end > u32::MAX as i64 {
            return Err(invalid(path, format!("the range {start}:{end} must have non-negative bounds (no negative indices)")));
        }
        Ok(Selection::Range { start: start as u32, end: end as u32 })
    };
    if let Ok(s) = obj.cast::<PyString>() {
        let s: String = s.extract()?;
        let s = s.as_str();
        let bad = || invalid(path, format!("\"{s}\" is not a range \"start:end\" of neuron indices (end exclusive)"));
        let (a, z) = s.split_once(':').ok_or_else(bad)?;
        let start: i64 = a.trim().parse().map_err(|_| bad())?;
        let end: i64 = z.trim().parse().map_err(|_| bad())?;
        return range(start, end);
    }
    if let Ok(s) = obj.cast::<PySlice>() {
        let step = s.getattr("step")?;
        if !step.is_none() && step.extract::<i64>().ok() != Some(1) {
            return Err(invalid(path, "a slice of neurons must have step 1 (use a list of indices otherwise)"));
        }
        let start = s.getattr("start")?;
        let stop = s.getattr("stop")?;
        if start.is_none() && stop.is_none() {
            return Ok(Selection::All);
        }
        if stop.is_none() {
            return Err(invalid(path, "a slice of neurons needs its end (slice(start, end))"));
        }
        let start: i64 = if start.is_none() { 0 } else { start.extract()? };
        return range(start, stop.extract()?);
    }
    if let Ok(r) = obj.cast::<PyRange>() {
        if r.getattr("step")?.extract::<i64>()? == 1 {
            return range(r.getattr("start")?.extract()?, r.getattr("stop")?.extract()?);
        }
    }
    if is_scalar(obj)? {
        let i = count(obj, path)?;
        return Ok(Selection::List(vec![u32::try_from(i).map_err(|_| invalid(path, format!("{i} is too large")))?]));
    }
    Ok(Selection::List(index_vec(obj, path)?))
}

/// A string argument or an error naming it.
pub fn string(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<String> {
    obj.extract::<String>().map_err(|_| invalid(path, format!("must be a string, got {}", short_repr(obj))))
}
