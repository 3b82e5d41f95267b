//! The synapse models, outputs and connectivities as Python classes with BrainPy's names
//! (`sg.AMPA(...)`, `sg.COBA(E=0.)`, `sg.FixedProb(0.1, seed=42)`). Omitted parameters take the
//! Rust crate's BrainPy defaults (`Synapse::ampa()`, `MgBlock::default()`, ...): none is restated
//! here.

use crate::convert::{f32_scalar, f64_scalar, index_vec};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use spikegpu::model::{Coba, Conn, Kinetic, MgBlock, Output, Synapse, SynapseKind, WeightSpec};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySynapse>()?;
    m.add_class::<Ampa>()?;
    m.add_class::<Gabaa>()?;
    m.add_class::<Expon>()?;
    m.add_class::<DualExpon>()?;
    m.add_class::<DualExponV2>()?;
    m.add_class::<Alpha>()?;
    m.add_class::<Nmda>()?;
    m.add_class::<PyOutput>()?;
    m.add_class::<CobaOut>()?;
    m.add_class::<CubaOut>()?;
    m.add_class::<MgBlockOut>()?;
    m.add_class::<PyConn>()?;
    m.add_class::<FixedProb>()?;
    m.add_class::<FixedTotalNumber>()?;
    m.add_class::<NormalWeights>()?;
    m.add_class::<All2All>()?;
    m.add_class::<One2One>()?;
    m.add_class::<CsrConn>()?;
    m.add_class::<IjConn>()?;
    Ok(())
}

/// `Some(value)` of an optional parameter, else the default.
fn or(v: Option<&Bound<'_, PyAny>>, default: f32, path: &str) -> PyResult<f32> {
    match v {
        Some(x) if !x.is_none() => f32_scalar(x, path),
        _ => Ok(default),
    }
}

fn params_repr(class: &str, params: &[(&str, Option<f32>)]) -> String {
    let body: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", v.map_or("None".into(), |x| format!("{x}")))).collect();
    format!("{class}({})", body.join(", "))
}

fn params_dict<'py>(py: Python<'py>, params: &[(&str, Option<f32>)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in params {
        d.set_item(k, v.map(f64::from))?;
    }
    Ok(d)
}

/// A synapse model (base class of `AMPA`, `GABAa`, `Expon`, `DualExpon`, `DualExponV2`, `Alpha`,
/// `NMDA`). Its parameters are attributes (`sg.AMPA().alpha`) and `params()`.
#[pyclass(module = "spikegpu", name = "Synapse", subclass, frozen)]
pub struct PySynapse {
    pub inner: Synapse,
}

#[pymethods]
impl PySynapse {
    /// The model's name as the network file spells it (`"ampa"`, `"dual_expon_v2"`, ...).
    #[getter]
    fn model(&self) -> &'static str {
        self.inner.model_name()
    }

    /// The parameters as a dict, BrainPy's names (`{"alpha": 0.98, ...}`); `A: None` is
    /// BrainPy's peak normaliser.
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        params_dict(py, &self.inner.params())
    }

    fn __getattr__(&self, name: &str) -> PyResult<Option<f64>> {
        match self.inner.params().into_iter().find(|(k, _)| *k == name) {
            Some((_, v)) => Ok(v.map(f64::from)),
            None => Err(pyo3::exceptions::PyAttributeError::new_err(format!(
                "{} has no parameter {name:?} (its parameters: {})",
                self.inner.model_name(),
                self.inner.params().iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let class = slf.get_type().name()?.to_string();
        Ok(params_repr(&class, &slf.get().inner.params()))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PySynapse>().is_ok_and(|o| o.get().inner == self.inner)
    }
}

fn synapse(s: Synapse) -> PyClassInitializer<PySynapse> {
    PyClassInitializer::from(PySynapse { inner: s })
}

fn kinetic(kind: SynapseKind, alpha: Option<&Bound<'_, PyAny>>, beta: Option<&Bound<'_, PyAny>>, t: Option<&Bound<'_, PyAny>>, t_dur: Option<&Bound<'_, PyAny>>) -> PyResult<Kinetic> {
    let Some(d) = Synapse::default_for(kind).kinetic().copied() else { unreachable!("kinetic kinds have kinetic defaults") };
    Ok(Kinetic { alpha: or(alpha, d.alpha, "alpha")?, beta: or(beta, d.beta, "beta")?, t_conc: or(t, d.t_conc, "T")?, t_dur: or(t_dur, d.t_dur, "T_dur")? })
}

/// `bp.dyn.AMPA`: two-state kinetic gating, `dg/dt = alpha T (1 - g) - beta g` while the
/// transmitter is present (`T_dur` ms after each pre spike). Omitted parameters take BrainPy's
/// defaults (`alpha=0.98, beta=0.18, T=0.5, T_dur=0.5`). Pre-aligned only.
#[pyclass(module = "spikegpu", name = "AMPA", extends = PySynapse, frozen)]
pub struct Ampa;

#[pymethods]
impl Ampa {
    #[new]
    #[pyo3(signature = (alpha=None, beta=None, T=None, T_dur=None))]
    #[allow(non_snake_case)]
    fn new(alpha: Option<&Bound<'_, PyAny>>, beta: Option<&Bound<'_, PyAny>>, T: Option<&Bound<'_, PyAny>>, T_dur: Option<&Bound<'_, PyAny>>) -> PyResult<PyClassInitializer<Self>> {
        Ok(synapse(Synapse::Ampa(kinetic(SynapseKind::Ampa, alpha, beta, T, T_dur)?)).add_subclass(Ampa))
    }
}

/// `bp.dyn.GABAa`: AMPA's kinetics with GABAa's defaults (`alpha=0.53, beta=0.18, T=1.0,
/// T_dur=1.0`, the values BrainPy's code uses). Pre-aligned only.
#[pyclass(module = "spikegpu", name = "GABAa", extends = PySynapse, frozen)]
pub struct Gabaa;

#[pymethods]
impl Gabaa {
    #[new]
    #[pyo3(signature = (alpha=None, beta=None, T=None, T_dur=None))]
    #[allow(non_snake_case)]
    fn new(alpha: Option<&Bound<'_, PyAny>>, beta: Option<&Bound<'_, PyAny>>, T: Option<&Bound<'_, PyAny>>, T_dur: Option<&Bound<'_, PyAny>>) -> PyResult<PyClassInitializer<Self>> {
        Ok(synapse(Synapse::Gabaa(kinetic(SynapseKind::Gabaa, alpha, beta, T, T_dur)?)).add_subclass(Gabaa))
    }
}

/// `bp.dyn.Expon`: `dg/dt = -g/tau`, a spike adds its weight to g (default `tau=8`). Pre- or
/// post-aligned.
#[pyclass(module = "spikegpu", name = "Expon", extends = PySynapse, frozen)]
pub struct Expon;

#[pymethods]
impl Expon {
    #[new]
    #[pyo3(signature = (tau=None))]
    fn new(tau: Option<&Bound<'_, PyAny>>) -> PyResult<PyClassInitializer<Self>> {
        let Synapse::Expon { tau: d } = Synapse::expon() else { unreachable!() };
        Ok(synapse(Synapse::Expon { tau: or(tau, d, "tau")? }).add_subclass(Expon))
    }
}

/// `A`: a number, or None for BrainPy's peak normaliser.
fn a_param(a: Option<&Bound<'_, PyAny>>) -> PyResult<Option<f32>> {
    match a {
        Some(x) if !x.is_none() => f32_scalar(x, "A").map(Some),
        _ => Ok(None),
    }
}

/// `bp.dyn.DualExpon`: `dh/dt = -h/tau_rise`, `dg/dt = -g/tau_decay + h`, a spike adds `a`
/// (from `A`; None: BrainPy's peak normaliser) to h. Defaults `tau_decay=10, tau_rise=1, A=None`.
/// Pre-aligned only.
#[pyclass(module = "spikegpu", name = "DualExpon", extends = PySynapse, frozen)]
pub struct DualExpon;

#[pymethods]
impl DualExpon {
    #[new]
    #[pyo3(signature = (tau_decay=None, tau_rise=None, A=None))]
    #[allow(non_snake_case)]
    fn new(tau_decay: Option<&Bound<'_, PyAny>>, tau_rise: Option<&Bound<'_, PyAny>>, A: Option<&Bound<'_, PyAny>>) -> PyResult<PyClassInitializer<Self>> {
        let Synapse::DualExpon { tau_decay: td, tau_rise: tr, .. } = Synapse::dual_expon() else { unreachable!() };
        let s = Synapse::DualExpon { tau_decay: or(tau_decay, td, "tau_decay")?, tau_rise: or(tau_rise, tr, "tau_rise")?, a: a_param(A)? };
        Ok(synapse(s).add_subclass(DualExpon))
    }
}

/// `bp.dyn.DualExponV2`: two independent decays `g_rise`, `g_decay`, output
/// `A (g_decay - g_rise)`. Defaults `tau_decay=10, tau_rise=1, A=None` (peak normaliser). Pre- or
/// post-aligned.
#[pyclass(module = "spikegpu", name = "DualExponV2", extends = PySynapse, frozen)]
pub struct DualExponV2;

#[pymethods]
impl DualExponV2 {
    #[new]
    #[pyo3(signature = (tau_decay=None, tau_rise=None, A=None))]
    #[allow(non_snake_case)]
    fn new(tau_decay: Option<&Bound<'_, PyAny>>, tau_rise: Option<&Bound<'_, PyAny>>, A: Option<&Bound<'_, PyAny>>) -> PyResult<PyClassInitializer<Self>> {
        let Synapse::DualExponV2 { tau_decay: td, tau_rise: tr, .. } = Synapse::dual_expon_v2() else { unreachable!() };
        let s = Synapse::DualExponV2 { tau_decay: or(tau_decay, td, "tau_decay")?, tau_rise: or(tau_rise, tr, "tau_rise")?, a: a_param(A)? };
        Ok(synapse(s).add_subclass(DualExponV2))
    }
}

/// `bp.dyn.Alpha`: `dh/dt = -h/tau_decay`, `dg/dt = -g/tau_decay + h/tau_decay`, a spike adds 1
/// to h (default `tau_decay=10`). Pre-aligned only.
#[pyclass(module = "spikegpu", name = "Alpha", extends = PySynapse, frozen)]
pub struct Alpha;

#[pymethods]
impl Alpha {
    #[new]
    #[pyo3(signature = (tau_decay=None))]
    fn new(tau_decay: Option<&Bound<'_, PyAny>>) -> PyResult<PyClassInitializer<Self>> {
        let Synapse::Alpha { tau_decay: d } = Synapse::alpha() else { unreachable!() };
        Ok(synapse(Synapse::Alpha { tau_decay: or(tau_decay, d, "tau_decay")? }).add_subclass(Alpha))
    }
}

/// `bp.dyn.NMDA`: `dg/dt = -g/tau_decay + a x (1 - g)`, `dx/dt = -x/tau_rise`, a spike adds 1 to
/// x. Defaults `a=0.5, tau_decay=100, tau_rise=2`. Pre-aligned only; use it with `MgBlock`.
#[pyclass(module = "spikegpu", name = "NMDA", extends = PySynapse, frozen)]
pub struct Nmda;

#[pymethods]
impl Nmda {
    #[new]
    #[pyo3(signature = (a=None, tau_decay=None, tau_rise=None))]
    fn new(a: Option<&Bound<'_, PyAny>>, tau_decay: Option<&Bound<'_, PyAny>>, tau_rise: Option<&Bound<'_, PyAny>>) -> PyResult<PyClassInitializer<Self>> {
        let Synapse::Nmda { a: da, tau_decay: td, tau_rise: tr } = Synapse::nmda() else { unreachable!() };
        let s = Synapse::Nmda { a: or(a, da, "a")?, tau_decay: or(tau_decay, td, "tau_decay")?, tau_rise: or(tau_rise, tr, "tau_rise")? };
        Ok(synapse(s).add_subclass(Nmda))
    }
}

fn output_params(o: &Output) -> Vec<(&'static str, Option<f32>)> {
    match *o {
        Output::Coba(c) => vec![("E", Some(c.e))],
        Output::Cuba => vec![],
        Output::MgBlock(m) => vec![
            ("E", Some(m.e)),
            ("cc_Mg", Some(m.cc_mg)),
            ("alpha", Some(m.alpha)),
            ("beta", Some(m.beta)),
            ("V_offset", Some(m.v_offset)),
        ],
    }
}

/// How a projection's conductance enters the post neuron (base class of `COBA`, `CUBA`,
/// `MgBlock`).
#[pyclass(module = "spikegpu", name = "Output", subclass, frozen)]
pub struct PyOutput {
    pub inner: Output,
}

#[pymethods]
impl PyOutput {
    /// The model's name as the network file spells it (`"coba"`, `"cuba"`, `"mg_block"`).
    #[getter]
    fn model(&self) -> &'static str {
        self.inner.model_name()
    }

    /// The parameters as a dict.
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        params_dict(py, &output_params(&self.inner))
    }

    fn __getattr__(&self, name: &str) -> PyResult<Option<f64>> {
        match output_params(&self.inner).into_iter().find(|(k, _)| *k == name) {
            Some((_, v)) => Ok(v.map(f64::from)),
            None => Err(pyo3::exceptions::PyAttributeError::new_err(format!("{} has no parameter {name:?}", self.inner.model_name()))),
        }
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let class = slf.get_type().name()?.to_string();
        Ok(params_repr(&class, &output_params(&slf.get().inner)))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PyOutput>().is_ok_and(|o| o.get().inner == self.inner)
    }
}

/// `bp.dyn.COBA(E)`: conductance-based output, `I = g (E - V)`; `E` (mV) has no default, as in
/// BrainPy.
#[pyclass(module = "spikegpu", name = "COBA", extends = PyOutput, frozen)]
pub struct CobaOut;

#[pymethods]
impl CobaOut {
    #[new]
    #[allow(non_snake_case)]
    fn new(E: &Bound<'_, PyAny>) -> PyResult<PyClassInitializer<Self>> {
        Ok(PyClassInitializer::from(PyOutput { inner: Output::Coba(Coba { e: f32_scalar(E, "E")? }) }).add_subclass(CobaOut))
    }
}

/// `bp.dyn.CUBA()`: current-based output, `I = g`.
#[pyclass(module = "spikegpu", name = "CUBA", extends = PyOutput, frozen)]
pub struct CubaOut;

#[pymethods]
impl CubaOut {
    #[new]
    fn new() -> PyClassInitializer<Self> {
        PyClassInitializer::from(PyOutput { inner: Output::Cuba }).add_subclass(CubaOut)
    }
}

/// `bp.dyn.MgBlock`: the magnesium block of NMDA receptors,
/// `I = g (E - V) / (1 + cc_Mg / beta exp(alpha (V_offset - V)))`. Omitted parameters take
/// BrainPy's defaults (`E=0, cc_Mg=1.2, alpha=0.062, beta=3.57, V_offset=0`).
#[pyclass(module = "spikegpu", name = "MgBlock", extends = PyOutput, frozen)]
pub struct MgBlockOut;

#[pymethods]
impl MgBlockOut {
    #[new]
    #[pyo3(signature = (E=None, cc_Mg=None, alpha=None, beta=None, V_offset=None))]
    #[allow(non_snake_case)]
    fn new(
        E: Option<&Bound<'_, PyAny>>,
        cc_Mg: Option<&Bound<'_, PyAny>>,
        alpha: Option<&Bound<'_, PyAny>>,
        beta: Option<&Bound<'_, PyAny>>,
        V_offset: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let d = MgBlock::default();
        let m = MgBlock {
            e: or(E, d.e, "E")?,
            cc_mg: or(cc_Mg, d.cc_mg, "cc_Mg")?,
            alpha: or(alpha, d.alpha, "alpha")?,
            beta: or(beta, d.beta, "beta")?,
            v_offset: or(V_offset, d.v_offset, "V_offset")?,
        };
        Ok(PyClassInitializer::from(PyOutput { inner: Output::MgBlock(m) }).add_subclass(MgBlockOut))
    }
}

/// A connectivity before it meets its populations.
#[derive(Clone, Debug)]
pub enum ConnSpec {
    /// One of the crate's kinds (CSR, all-to-all, one-to-one, fixed probability).
    Rust(Conn),
    /// Pre/post index pairs, made CSR when the projection knows its pre population's size.
    Pairs { pre: Vec<u32>, post: Vec<u32> },
}

/// How a projection connects pre (rows) to post (columns): base class of `FixedProb`,
/// `All2All`, `One2One`, `CSRConn`, `IJConn`. A `scipy.sparse` matrix (rows = pre) is accepted
/// wherever a connectivity is.
#[pyclass(module = "spikegpu", name = "Connectivity", subclass, frozen)]
pub struct PyConn {
    pub spec: ConnSpec,
}

#[pymethods]
impl PyConn {
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let class = slf.get_type().name()?.to_string();
        Ok(match &slf.get().spec {
            ConnSpec::Rust(Conn::FixedProb { prob, seed, include_self }) => format!("{class}({prob}, seed={seed}, include_self={})", py_bool(*include_self)),
            ConnSpec::Rust(Conn::AllToAll { include_self }) => format!("{class}(include_self={})", py_bool(*include_self)),
            ConnSpec::Rust(Conn::OneToOne) => format!("{class}()"),
            ConnSpec::Rust(Conn::FixedTotalNumber { n, seed }) => format!("{class}({n}, seed={seed})"),
            ConnSpec::Rust(Conn::Csr { indptr, indices }) => format!("{class}(<{} rows, {} synapses>)", indptr.len().saturating_sub(1), indices.len()),
            ConnSpec::Pairs { pre, .. } => format!("{class}(<{} pairs>)", pre.len()),
        })
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// `bp.conn.FixedProb(prob, seed=seed)`: every pre neuron gets exactly `round(n_post * prob)`
/// distinct post targets (BrainPy's rule, not Bernoulli), drawn from spikegpu's own RNG with
/// `seed`. BrainPy's stream cannot be reproduced, so the same seed gives another realisation
/// than BrainPy's; the seed is required so that a run can be repeated (BrainPy's `seed=None`
/// draws a random one). `include_self=False` drops the pairs `pre == post`.
#[pyclass(module = "spikegpu", name = "FixedProb", extends = PyConn, frozen)]
pub struct FixedProb;

#[pymethods]
impl FixedProb {
    #[new]
    #[pyo3(signature = (prob, seed, include_self=true))]
    fn new(prob: &Bound<'_, PyAny>, seed: &Bound<'_, PyAny>, include_self: bool) -> PyResult<PyClassInitializer<Self>> {
        let conn = Conn::FixedProb { prob: f64_scalar(prob, "prob")?, seed: crate::convert::count(seed, "seed")?, include_self };
        Ok(PyClassInitializer::from(PyConn { spec: ConnSpec::Rust(conn) }).add_subclass(FixedProb))
    }
}

/// NEST's `fixed_total_number` rule (`allow_autapses=True, allow_multapses=True`, as the
/// Potjans-Diesmann microcircuit uses it): `n` synapses, each between a pre and a post neuron
/// drawn uniformly and independently, with replacement, from spikegpu's RNG with `seed`.
#[pyclass(module = "spikegpu", name = "FixedTotalNumber", extends = PyConn, frozen)]
pub struct FixedTotalNumber;

#[pymethods]
impl FixedTotalNumber {
    #[new]
    #[pyo3(signature = (n, seed))]
    fn new(n: &Bound<'_, PyAny>, seed: &Bound<'_, PyAny>) -> PyResult<PyClassInitializer<Self>> {
        let conn = Conn::FixedTotalNumber { n: crate::convert::count(n, "n")?, seed: crate::convert::count(seed, "seed")? };
        Ok(PyClassInitializer::from(PyConn { spec: ConnSpec::Rust(conn) }).add_subclass(FixedTotalNumber))
    }
}

/// Weights drawn per synapse from a normal distribution of `mean` and `sd` with `seed`, when
/// the network is built (never stored); `redraw_sign=True` redraws a weight whose sign is not
/// the mean's, as NEST's `redraw` at 0 in the Potjans-Diesmann microcircuit. Pass it as a
/// projection's `weight`.
#[pyclass(module = "spikegpu", name = "Normal", frozen)]
pub struct NormalWeights {
    pub spec: WeightSpec,
}

#[pymethods]
impl NormalWeights {
    #[new]
    #[pyo3(signature = (mean, sd, seed=None, redraw_sign=false))]
    fn new(mean: &Bound<'_, PyAny>, sd: &Bound<'_, PyAny>, seed: Option<&Bound<'_, PyAny>>, redraw_sign: bool) -> PyResult<Self> {
        let seed = match seed {
            Some(s) => crate::convert::count(s, "seed")?,
            None => 0,
        };
        let spec = WeightSpec::Normal { mean: f32_scalar(mean, "mean")?, sd: f32_scalar(sd, "sd")?, seed, redraw_sign };
        spec.check("weight").map_err(crate::errors::to_py)?;
        Ok(NormalWeights { spec })
    }

    fn __repr__(&self) -> String {
        match self.spec {
            WeightSpec::Normal { mean, sd, seed, redraw_sign } => format!("Normal({mean}, {sd}, seed={seed}, redraw_sign={})", py_bool(redraw_sign)),
            WeightSpec::Given(_) => unreachable!("a Normal holds a distribution"),
        }
    }
}

/// `bp.conn.All2All()`: every pre neuron to every post neuron (`include_self=False` drops
/// `pre == post`).
#[pyclass(module = "spikegpu", name = "All2All", extends = PyConn, frozen)]
pub struct All2All;

#[pymethods]
impl All2All {
    #[new]
    #[pyo3(signature = (include_self=true))]
    fn new(include_self: bool) -> PyClassInitializer<Self> {
        PyClassInitializer::from(PyConn { spec: ConnSpec::Rust(Conn::AllToAll { include_self }) }).add_subclass(All2All)
    }
}

/// `bp.conn.One2One()`: pre neuron i to post neuron i (populations of one size).
#[pyclass(module = "spikegpu", name = "One2One", extends = PyConn, frozen)]
pub struct One2One;

#[pymethods]
impl One2One {
    #[new]
    fn new() -> PyClassInitializer<Self> {
        PyClassInitializer::from(PyConn { spec: ConnSpec::Rust(Conn::OneToOne) }).add_subclass(One2One)
    }
}

/// `bp.conn.CSRConn(indices, indptr)`: explicit pre-major CSR (BrainPy's argument order):
/// `indptr` has `n_pre + 1` offsets, `indices` the post neuron of each synapse. Per-synapse
/// weights follow this order.
#[pyclass(module = "spikegpu", name = "CSRConn", extends = PyConn, frozen)]
pub struct CsrConn;

#[pymethods]
impl CsrConn {
    #[new]
    fn new(indices: &Bound<'_, PyAny>, indptr: &Bound<'_, PyAny>) -> PyResult<PyClassInitializer<Self>> {
        let conn = Conn::Csr { indptr: index_vec(indptr, "indptr")?, indices: index_vec(indices, "indices")? };
        Ok(PyClassInitializer::from(PyConn { spec: ConnSpec::Rust(conn) }).add_subclass(CsrConn))
    }
}

/// `bp.conn.IJConn(i, j)`: synapse k connects pre neuron `i[k]` to post neuron `j[k]`. The pairs
/// are sorted by pre neuron (stably: pairs of one pre neuron keep their order), and per-synapse
/// weights given with them follow the pairs' order (they are reordered along).
#[pyclass(module = "spikegpu", name = "IJConn", extends = PyConn, frozen)]
pub struct IjConn;

#[pymethods]
impl IjConn {
    #[new]
    fn new(i: &Bound<'_, PyAny>, j: &Bound<'_, PyAny>) -> PyResult<PyClassInitializer<Self>> {
        let (pre, post) = (index_vec(i, "i")?, index_vec(j, "j")?);
        if pre.len() != post.len() {
            return Err(crate::errors::invalid("j", format!("has {} entries but i has {}: they must have the same length", post.len(), pre.len())));
        }
        Ok(PyClassInitializer::from(PyConn { spec: ConnSpec::Pairs { pre, post } }).add_subclass(IjConn))
    }
}

/// Pre/post pairs as pre-major CSR for `n_pre` pre neurons (a counting sort, stable), and the
/// permutation: CSR position k holds pair `perm[k]`.
pub fn pairs_to_csr(pre: &[u32], post: &[u32], n_pre: usize, path: &str) -> PyResult<(Conn, Vec<usize>)> {
    if pre.len() > u32::MAX as usize {
        return Err(crate::errors::invalid(path, format!("{} pairs: more than a projection can index with 32 bits", pre.len())));
    }
    let mut counts = vec![0u32; n_pre + 1];
    for (k, &i) in pre.iter().enumerate() {
        if i as usize >= n_pre {
            return Err(crate::errors::invalid(&format!("{path}.i[{k}]"), format!("pre neuron {i} is out of range: the pre population has {n_pre} neurons")));
        }
        counts[i as usize + 1] += 1;
    }
    for r in 0..n_pre {
        counts[r + 1] += counts[r];
    }
    let indptr = counts.clone();
    let mut next = counts;
    let mut perm = vec![0usize; pre.len()];
    let mut indices = vec![0u32; pre.len()];
    for (k, &i) in pre.iter().enumerate() {
        let at = next[i as usize] as usize;
        next[i as usize] += 1;
        perm[at] = k;
        indices[at] = post[k];
    }
    Ok((Conn::Csr { indptr, indices }, perm))
}
