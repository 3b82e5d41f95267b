//! The Rust door to a [`Network`]: a builder with BrainPy's vocabulary.
//!
//! The builder produces exactly the [`Network`] the JSON file ([`super::file`]) produces for the
//! same description, and [`NetworkBuilder::build`] ends in [`Network::validate`], so a network
//! built in code gets the file's checks and the file's error messages, with the same paths
//! (`projections[0].weight`, `populations[1].tau`, `monitors.V`).
//!
//! Populations and projections are referred to by the handles the builder returns
//! ([`PopRef`], [`ProjRef`]), so an unknown name cannot happen; a handle from another builder is
//! reported by [`NetworkBuilder::build`] as an error naming the place it was used.
//!
//! ```
//! use spikegpu::model::builder::{Conn, NetworkBuilder};
//! use spikegpu::model::{Coba, LifRef, Synapse, VInit, Weights};
//!
//! // BrainPy's `brainpy.dyn.AMPA` documentation example.
//! let mut b = NetworkBuilder::new(0.1, 1000);
//! let pre = b.spike_time_group("pre", 1, &[0, 0, 0, 0], &[10.0, 30.0, 50.0, 70.0]);
//! let post = b.lif_ref("post", 1, LifRef {
//!     v_rest: -60.0, v_th: -50.0, v_reset: -60.0, tau: 20.0, tau_ref: 5.0, r: 1.0,
//!     v_init: VInit::Scalar(-60.0),
//! });
//! let syn = b.projection("syn", pre, post, Synapse::ampa(), Conn::all_to_all(),
//!                        Weights::Shared(1.0), Coba { e: 0.0 });
//! b.monitor("g", syn.g());
//! b.monitor("V", post.v());
//! let net = b.build()?;
//! assert_eq!(net.projections[0].conn.nnz(), 1);
//! # Ok::<(), spikegpu::Error>(())
//! ```

use super::{
    generate, Coba, Csr, LifRef, Monitor, Network, NeuronModel, Population, Projection, SpikeTimes, Synapse, SynapseKind,
    Target, VInit, Weights,
};
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Source of builder identities, so handles can be traced back to the builder that made them.
static NEXT_BUILDER_ID: AtomicU64 = AtomicU64::new(1);

impl Synapse {
    /// BrainPy's `brainpy.dyn.AMPA` with its default parameters
    /// (`alpha = 0.98`, `beta = 0.18`, `T = 0.5`, `T_dur = 0.5`).
    pub fn ampa() -> Synapse {
        Synapse::default_for(SynapseKind::Ampa)
    }

    /// BrainPy's `brainpy.dyn.GABAa` with the default parameters its code uses
    /// (`alpha = 0.53`, `beta = 0.18`, `T = 1.0`, `T_dur = 1.0`).
    pub fn gabaa() -> Synapse {
        Synapse::default_for(SynapseKind::Gabaa)
    }
}

impl LifRef {
    /// BrainPy's `LifRef` defaults, the same values a network file gets for omitted fields:
    /// `V_rest = 0`, `V_th = 20`, `V_reset = -5`, `tau = 10`, `tau_ref = 0`, `R = 1`,
    /// `V_init = 0`. Change fields with struct update syntax:
    /// `LifRef { tau_ref: 5.0, ..LifRef::brainpy_defaults() }`.
    pub fn brainpy_defaults() -> LifRef {
        LifRef { v_rest: 0.0, v_th: 20.0, v_reset: -5.0, tau: 10.0, tau_ref: 0.0, r: 1.0, v_init: VInit::Scalar(0.0) }
    }
}

/// A population of a [`NetworkBuilder`]: pass it to [`NetworkBuilder::projection`], or take a
/// monitor target from it ([`PopRef::v`], [`PopRef::spike`], ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PopRef {
    builder: u64,
    index: usize,
}

impl PopRef {
    /// The population's index in [`Network::populations`].
    pub fn index(&self) -> usize {
        self.index
    }

    /// The membrane potential `V` (a `lif_ref` population only): the file's `<pop>.V`.
    pub fn v(&self) -> TargetRef {
        self.target(Target::PopV(self.index))
    }

    /// The spikes, 1 or 0 per step (any population): the file's `<pop>.spike`.
    pub fn spike(&self) -> TargetRef {
        self.target(Target::PopSpike(self.index))
    }

    /// All synaptic currents onto the population, computed with the new `V`, as BrainPy's docs
    /// record them (`post.sum_current_inputs(post.V)`; `lif_ref` only): the file's `<pop>.current`.
    pub fn current(&self) -> TargetRef {
        self.target(Target::PopCurrent(self.index))
    }

    /// The current that drove the step, computed with the old `V` (`lif_ref` only): the file's
    /// `<pop>.input`.
    pub fn input(&self) -> TargetRef {
        self.target(Target::PopInput(self.index))
    }

    fn target(&self, target: Target) -> TargetRef {
        TargetRef { builder: self.builder, target }
    }
}

/// A projection of a [`NetworkBuilder`]. Cheap to clone; every clone refers to the same
/// projection.
#[derive(Clone, Debug)]
pub struct ProjRef {
    builder: u64,
    index: usize,
    /// Shared with the builder, so [`ProjRef::delay_ms`] can be chained after
    /// [`NetworkBuilder::projection`].
    delay: Arc<Mutex<Option<f64>>>,
}

impl ProjRef {
    /// Delays the gating state by `ms` milliseconds (BrainPy's `delay` of `ProjAlignPreMg2`:
    /// `ceil(ms / dt)` steps). Returns the same handle, so it chains:
    /// `b.projection(...).delay_ms(2.0)`. Takes effect in later [`NetworkBuilder::build`] calls.
    pub fn delay_ms(self, ms: f64) -> ProjRef {
        *self.delay.lock().unwrap_or_else(|e| e.into_inner()) = Some(ms);
        self
    }

    /// The projection's index in [`Network::projections`].
    pub fn index(&self) -> usize {
        self.index
    }

    /// The (undelayed) gating variable `g`, one value per pre neuron: the file's `<proj>.g`.
    pub fn g(&self) -> TargetRef {
        TargetRef { builder: self.builder, target: Target::ProjG(self.index) }
    }

    /// This projection's current onto each post neuron, computed with the new `V`: the file's
    /// `<proj>.current`.
    pub fn current(&self) -> TargetRef {
        TargetRef { builder: self.builder, target: Target::ProjCurrent(self.index) }
    }
}

/// Something a monitor can record, taken from a [`PopRef`] or a [`ProjRef`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetRef {
    builder: u64,
    target: Target,
}

impl TargetRef {
    /// The network-level target (indices into the built network's lists).
    pub fn target(&self) -> Target {
        self.target
    }
}

/// How a projection connects its pre population (rows) to its post population (columns).
/// Every kind becomes a pre-major [`Csr`] when the network is built.
#[derive(Clone, Debug, PartialEq)]
pub enum Conn {
    /// Explicit pre-major CSR: `indptr` has `n_pre + 1` offsets, `indices` the post neuron of
    /// each synapse (the file's `{"kind": "csr"}`; SciPy's and BrainPy's `csr` layout).
    Csr {
        /// Row offsets into `indices`, `n_pre + 1` of them.
        indptr: Vec<u32>,
        /// Post neuron of each synapse.
        indices: Vec<u32>,
    },
    /// BrainPy's `All2All`: every pre neuron to every post neuron; with `include_self == false`
    /// the pairs `pre == post` are left out (as BrainPy's `fill_diagonal`).
    AllToAll {
        /// Keep the pairs with equal pre and post index.
        include_self: bool,
    },
    /// BrainPy's `One2One`: pre neuron `i` to post neuron `i`; both populations must have the
    /// same size.
    OneToOne,
    /// BrainPy's `FixedProb(prob, seed=seed, include_self=...)`: each pre neuron gets exactly
    /// `round(n_post * prob)` distinct post targets drawn at random (the file's
    /// `{"kind": "fixed_prob"}`, same generator, so the same seed gives the same synapses).
    FixedProb {
        /// Connection probability in `[0, 1]`.
        prob: f64,
        /// RNG seed; the realisation depends on it alone (not on the thread count).
        seed: u64,
        /// Keep the pairs with equal pre and post index (BrainPy drops them, when false, even
        /// between different populations).
        include_self: bool,
    },
}

impl Conn {
    /// Explicit pre-major CSR connectivity (see [`Conn::Csr`]).
    pub fn csr(indptr: Vec<u32>, indices: Vec<u32>) -> Conn {
        Conn::Csr { indptr, indices }
    }

    /// BrainPy's `All2All()` (self pairs included, BrainPy's default).
    pub fn all_to_all() -> Conn {
        Conn::AllToAll { include_self: true }
    }

    /// BrainPy's `One2One()`.
    pub fn one_to_one() -> Conn {
        Conn::OneToOne
    }

    /// BrainPy's `FixedProb(prob, seed=seed)` (self pairs included, BrainPy's default; use the
    /// [`Conn::FixedProb`] variant directly for `include_self: false`).
    pub fn fixed_prob(prob: f64, seed: u64) -> Conn {
        Conn::FixedProb { prob, seed, include_self: true }
    }

    /// The pre-major CSR of this connectivity between `pre` and `post`; `path` names the
    /// connectivity object in errors.
    fn to_csr(&self, path: &str, pre: &Population, post: &Population) -> Result<Csr> {
        let (n_pre, n_post) = (pre.size, post.size);
        let too_many = |nnz: u64, how: String| {
            Error::invalid(path, format!("{how} = {nnz} synapses: more than a projection can index with 32 bits"))
        };
        match self {
            Conn::Csr { indptr, indices } => {
                Ok(Csr { n_rows: n_pre, n_cols: n_post, indptr: indptr.clone(), indices: indices.clone() })
            }
            Conn::AllToAll { include_self } => {
                let nnz = n_pre as u64 * n_post as u64;
                if nnz > u32::MAX as u64 {
                    return Err(too_many(nnz, format!("{n_pre} pre x {n_post} post neurons")));
                }
                let mut indptr = Vec::with_capacity(n_pre + 1);
                let mut indices = Vec::with_capacity(nnz as usize);
                indptr.push(0u32);
                for i in 0..n_pre {
                    indices.extend((0..n_post).filter(|&j| *include_self || j != i).map(|j| j as u32));
                    indptr.push(indices.len() as u32);
                }
                Ok(Csr { n_rows: n_pre, n_cols: n_post, indptr, indices })
            }
            Conn::OneToOne => {
                if n_pre != n_post {
                    return Err(Error::invalid(
                        path,
                        format!(
                            "one_to_one needs populations of the same size, but \"{}\" has {n_pre} neurons and \"{}\" has {n_post}",
                            pre.name, post.name
                        ),
                    ));
                }
                if n_pre as u64 > u32::MAX as u64 {
                    return Err(too_many(n_pre as u64, format!("{n_pre} pairs")));
                }
                Ok(Csr {
                    n_rows: n_pre,
                    n_cols: n_post,
                    indptr: (0..=n_pre as u32).collect(),
                    indices: (0..n_pre as u32).collect(),
                })
            }
            Conn::FixedProb { prob, seed, include_self } => {
                // The same checks, in the same words, as the file's `fixed_prob`.
                let prob = *prob;
                if !(prob.is_finite() && (0.0..=1.0).contains(&prob)) {
                    return Err(Error::invalid(format!("{path}.prob"), format!("must be a number in [0, 1], got {prob}")));
                }
                let k = generate::fixed_prob_k(n_post, prob);
                let nnz = n_pre as u64 * k as u64;
                if nnz > u32::MAX as u64 {
                    return Err(Error::invalid(
                        format!("{path}.prob"),
                        format!("{n_pre} pre neurons x {k} targets = {nnz} synapses: more than a projection can index with 32 bits"),
                    ));
                }
                Ok(generate::fixed_prob(n_pre, n_post, k, *seed, *include_self))
            }
        }
    }
}

/// A projection as the builder keeps it until [`NetworkBuilder::build`].
#[derive(Debug)]
struct ProjSpec {
    name: String,
    pre: PopRef,
    post: PopRef,
    synapse: Synapse,
    conn: Conn,
    weights: Weights,
    output: Coba,
    delay: Arc<Mutex<Option<f64>>>,
}

/// Builds a [`Network`] in code, in BrainPy's terms: groups (`spike_time_group`, `lif_ref`),
/// projections (`ProjAlignPreMg2` with a kinetic synapse and COBA output) and monitors.
///
/// Nothing is checked until [`NetworkBuilder::build`], which reports the first problem with the
/// same message and path a network file would get.
#[derive(Debug)]
pub struct NetworkBuilder {
    id: u64,
    dt: f64,
    steps: usize,
    batch: usize,
    populations: Vec<Population>,
    projections: Vec<ProjSpec>,
    monitors: Vec<(String, TargetRef)>,
}

impl NetworkBuilder {
    /// A network with time step `dt_ms` (milliseconds) that runs for `steps` steps, batch 1.
    pub fn new(dt_ms: f64, steps: usize) -> NetworkBuilder {
        NetworkBuilder {
            id: NEXT_BUILDER_ID.fetch_add(1, Ordering::Relaxed),
            dt: dt_ms,
            steps,
            batch: 1,
            populations: Vec::new(),
            projections: Vec::new(),
            monitors: Vec::new(),
        }
    }

    /// Runs `n` independent copies of the network (sharing connectivity and inputs); monitors
    /// then have shape `[steps, n, size]`.
    pub fn batch(mut self, n: usize) -> NetworkBuilder {
        self.batch = n;
        self
    }

    /// BrainPy's `SpikeTimeGroup(size, indices, times)`: neuron `indices[k]` fires at
    /// `times[k]` ms (at the first step with `f32(i) * f32(dt) >= times[k]`; unsorted is fine).
    pub fn spike_time_group(&mut self, name: impl Into<String>, size: usize, indices: &[u32], times: &[f32]) -> PopRef {
        self.population(
            name.into(),
            size,
            NeuronModel::SpikeTimes(SpikeTimes { indices: indices.to_vec(), times: times.to_vec(), rows: Vec::new() }),
        )
    }

    /// BrainPy's `LifRef(size, ...)`: leaky integrate-and-fire with an absolute refractory
    /// period (see [`LifRef::brainpy_defaults`] for BrainPy's default parameters).
    pub fn lif_ref(&mut self, name: impl Into<String>, size: usize, params: LifRef) -> PopRef {
        self.population(name.into(), size, NeuronModel::LifRef(params))
    }

    fn population(&mut self, name: String, size: usize, model: NeuronModel) -> PopRef {
        self.populations.push(Population { name, size, model });
        PopRef { builder: self.id, index: self.populations.len() - 1 }
    }

    /// BrainPy's `ProjAlignPreMg2(pre, delay, syn, comm, out, post)`: the kinetic `synapse`
    /// ([`Synapse::ampa`], [`Synapse::gabaa`]) runs on the pre side, its gating state goes
    /// through `conn` with `weights` (BrainPy's `CSRLinear`/`EventCSRLinear`), and enters `post`
    /// as COBA current `I = g * (E - V)`. `post` must be a `lif_ref` population. Add a delay
    /// with [`ProjRef::delay_ms`].
    #[allow(clippy::too_many_arguments)]
    pub fn projection(
        &mut self,
        name: impl Into<String>,
        pre: PopRef,
        post: PopRef,
        synapse: Synapse,
        conn: Conn,
        weights: Weights,
        output: Coba,
    ) -> ProjRef {
        let delay = Arc::new(Mutex::new(None));
        self.projections.push(ProjSpec {
            name: name.into(),
            pre,
            post,
            synapse,
            conn,
            weights,
            output,
            delay: Arc::clone(&delay),
        });
        ProjRef { builder: self.id, index: self.projections.len() - 1, delay }
    }

    /// Records `target` every step into the output named `name` (file `<name>.npy`, the key of
    /// the file's `monitors` object). Monitors keep the order they are added in.
    pub fn monitor(&mut self, name: impl Into<String>, target: TargetRef) {
        self.monitors.push((name.into(), target));
    }

    /// The [`Network`], checked by [`Network::validate`]. Errors name the place as the network
    /// file would (`projections[0].weight: has 3 values, but the connectivity has 2 synapses`).
    /// The builder stays usable (e.g. to build a variant with another delay).
    pub fn build(&self) -> Result<Network> {
        let populations = self.populations.clone();
        let mut projections = Vec::with_capacity(self.projections.len());
        for (i, p) in self.projections.iter().enumerate() {
            let path = format!("projections[{i}]");
            let pre = self.own_pop(p.pre, &format!("{path}.pre"))?;
            let post = self.own_pop(p.post, &format!("{path}.post"))?;
            let conn = p.conn.to_csr(&format!("{path}.connectivity"), &populations[pre], &populations[post])?;
            projections.push(Projection {
                name: p.name.clone(),
                pre,
                post,
                synapse: p.synapse,
                delay_ms: *p.delay.lock().unwrap_or_else(|e| e.into_inner()),
                conn,
                weights: p.weights.clone(),
                output: p.output,
            });
        }
        let mut monitors = Vec::with_capacity(self.monitors.len());
        for (name, t) in &self.monitors {
            let path = format!("monitors.{name}");
            if t.builder != self.id {
                return Err(Error::invalid(
                    path,
                    "the target comes from another NetworkBuilder (handles belong to the builder that made them)",
                ));
            }
            match t.target {
                Target::PopV(i) | Target::PopCurrent(i) | Target::PopInput(i) if populations[i].lif().is_none() => {
                    return Err(Error::invalid(
                        path,
                        format!("\"{}\" is a spike source: only its spikes can be recorded (.spike())", populations[i].name),
                    ));
                }
                _ => {}
            }
            monitors.push(Monitor { name: name.clone(), target: t.target, format: Default::default() });
        }
        let net = Network { dt: self.dt, steps: self.steps, batch: self.batch, populations, projections, monitors };
        net.validate()?;
        Ok(net)
    }

    /// The index of `r` in this builder, or an error at `path` when `r` is another builder's.
    fn own_pop(&self, r: PopRef, path: &str) -> Result<usize> {
        if r.builder != self.id || r.index >= self.populations.len() {
            return Err(Error::invalid(
                path,
                "the population comes from another NetworkBuilder (handles belong to the builder that made them)",
            ));
        }
        Ok(r.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::file;

    /// The `brainpy.dyn.AMPA` docs example, as in `examples/ampa_seed.json`.
    fn seed_builder() -> (NetworkBuilder, ProjRef) {
        let mut b = NetworkBuilder::new(0.1, 1000);
        let pre = b.spike_time_group("pre", 1, &[0, 0, 0, 0], &[10.0, 30.0, 50.0, 70.0]);
        let post = b.lif_ref(
            "post",
            1,
            LifRef { v_rest: -60.0, v_th: -50.0, v_reset: -60.0, tau: 20.0, tau_ref: 5.0, r: 1.0, v_init: VInit::Scalar(-60.0) },
        );
        let syn =
            b.projection("syn", pre, post, Synapse::ampa(), Conn::csr(vec![0, 1], vec![0]), Weights::Shared(1.0), Coba { e: 0.0 });
        b.monitor("g", syn.g());
        b.monitor("V", post.v());
        b.monitor("current", post.current());
        b.monitor("current_used", post.input());
        b.monitor("spike", post.spike());
        (b, syn)
    }

    const SEED_JSON: &str = include_str!("../../examples/ampa_seed.json");

    #[test]
    fn seed_equals_file() {
        let (b, _) = seed_builder();
        assert_eq!(b.build().unwrap(), file::parse(SEED_JSON).unwrap());
    }

    #[test]
    fn seed_equals_golden_network() {
        let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/golden/seed_E0.json");
        if let Ok(net) = file::load(&golden) {
            assert_eq!(seed_builder().0.build().unwrap(), net);
        }
    }

    #[test]
    fn delay_chains_and_matches_file() {
        let (b, syn) = seed_builder();
        let _ = syn.delay_ms(2.0);
        let text = SEED_JSON.replace("\"delay\": null", "\"delay\": 2.0");
        assert_ne!(text, SEED_JSON);
        assert_eq!(b.build().unwrap(), file::parse(&text).unwrap());
    }

    #[test]
    fn defaults_match_the_file() {
        let text = r#"{"dt": 0.1, "steps": 10, "populations": [
            {"name": "s", "model": "spike_times", "size": 2, "indices": [], "times": []},
            {"name": "p", "model": "lif_ref", "size": 2}],
          "projections": [{"name": "x", "pre": "s", "post": "p", "synapse": {"model": "gabaa"},
            "connectivity": {"kind": "csr", "indptr": [0, 2, 4], "indices": [0, 1, 0, 1]},
            "weight": 0.5, "output": {"model": "coba", "E": -80}}]}"#;
        let mut b = NetworkBuilder::new(0.1, 10);
        let s = b.spike_time_group("s", 2, &[], &[]);
        let p = b.lif_ref("p", 2, LifRef::brainpy_defaults());
        b.projection("x", s, p, Synapse::gabaa(), Conn::all_to_all(), Weights::Shared(0.5), Coba { e: -80.0 });
        assert_eq!(b.build().unwrap(), file::parse(text).unwrap());
    }

    #[test]
    fn fixed_prob_matches_the_file() {
        let text = r#"{"dt": 0.1, "steps": 10, "populations": [
            {"name": "s", "model": "spike_times", "size": 30, "indices": [], "times": []},
            {"name": "p", "model": "lif_ref", "size": 20}],
          "projections": [{"name": "x", "pre": "s", "post": "p", "synapse": {"model": "ampa"},
            "connectivity": {"kind": "fixed_prob", "prob": 0.25, "seed": 7, "include_self": false},
            "weight": 0.5, "output": {"model": "coba", "E": 0}}]}"#;
        let mut b = NetworkBuilder::new(0.1, 10);
        let s = b.spike_time_group("s", 30, &[], &[]);
        let p = b.lif_ref("p", 20, LifRef::brainpy_defaults());
        let conn = Conn::FixedProb { prob: 0.25, seed: 7, include_self: false };
        b.projection("x", s, p, Synapse::ampa(), conn, Weights::Shared(0.5), Coba { e: 0.0 });
        assert_eq!(b.build().unwrap(), file::parse(text).unwrap());
    }

    #[test]
    fn all_to_all_and_one_to_one() {
        let mut b = NetworkBuilder::new(0.1, 10);
        let a = b.lif_ref("a", 3, LifRef::brainpy_defaults());
        let c = b.lif_ref("c", 3, LifRef::brainpy_defaults());
        let d = b.lif_ref("d", 2, LifRef::brainpy_defaults());
        b.projection("aa", a, c, Synapse::ampa(), Conn::AllToAll { include_self: false }, Weights::Shared(1.0), Coba { e: 0.0 });
        b.projection("oo", a, c, Synapse::ampa(), Conn::one_to_one(), Weights::Shared(1.0), Coba { e: 0.0 });
        let net = b.build().unwrap();
        assert_eq!(net.projections[0].conn.indptr, vec![0, 2, 4, 6]);
        assert_eq!(net.projections[0].conn.indices, vec![1, 2, 0, 2, 0, 1]);
        assert_eq!(net.projections[1].conn.indices, vec![0, 1, 2]);
        b.projection("bad", a, d, Synapse::ampa(), Conn::one_to_one(), Weights::Shared(1.0), Coba { e: 0.0 });
        let e = b.build().unwrap_err().to_string();
        assert!(e.starts_with("projections[2].connectivity: one_to_one needs populations of the same size"), "{e}");
    }

    #[test]
    fn errors_name_the_path() {
        let mut b = NetworkBuilder::new(0.1, 100);
        let pre = b.spike_time_group("pre", 2, &[0], &[1.0]);
        let post = b.lif_ref("post", 2, LifRef::brainpy_defaults());
        b.projection("syn", pre, post, Synapse::ampa(), Conn::all_to_all(), Weights::PerSynapse(vec![1.0; 3]), Coba { e: 0.0 });
        let e = b.build().unwrap_err();
        assert!(matches!(&e, Error::Invalid { path, .. } if path == "projections[0].weight"), "{e}");
        assert_eq!(e.to_string(), "projections[0].weight: has 3 values, but the connectivity has 4 synapses");

        let mut b = NetworkBuilder::new(0.1, 100);
        b.lif_ref("post", 1, LifRef { tau: -1.0, ..LifRef::brainpy_defaults() });
        assert_eq!(b.build().unwrap_err().to_string(), "populations[0].tau: must be > 0, got -1");

        let mut b = NetworkBuilder::new(0.1, 100);
        let pre = b.spike_time_group("pre", 1, &[0], &[1.0]);
        b.monitor("V", pre.v());
        assert!(b.build().unwrap_err().to_string().starts_with("monitors.V: \"pre\" is a spike source"));

        let mut b = NetworkBuilder::new(0.1, 100);
        let pre = b.spike_time_group("pre", 1, &[0], &[1.0]);
        let post = b.lif_ref("post", 1, LifRef::brainpy_defaults());
        b.projection("p", pre, post, Synapse::ampa(), Conn::fixed_prob(1.5, 0), Weights::Shared(1.0), Coba { e: 0.0 });
        assert_eq!(b.build().unwrap_err().to_string(), "projections[0].connectivity.prob: must be a number in [0, 1], got 1.5");
    }

    #[test]
    fn foreign_handles_are_errors_not_panics() {
        let mut other = NetworkBuilder::new(0.1, 10);
        let _ = other.lif_ref("x", 1, LifRef::brainpy_defaults());
        let stranger = other.lif_ref("y", 1, LifRef::brainpy_defaults()); // index 1: out of range below too
        let mut b = NetworkBuilder::new(0.1, 10);
        let pre = b.spike_time_group("pre", 1, &[0], &[1.0]);
        b.projection("syn", pre, stranger, Synapse::ampa(), Conn::all_to_all(), Weights::Shared(1.0), Coba { e: 0.0 });
        let e = b.build().unwrap_err().to_string();
        assert!(e.starts_with("projections[0].post: the population comes from another NetworkBuilder"), "{e}");

        let mut b = NetworkBuilder::new(0.1, 10);
        b.lif_ref("post", 1, LifRef::brainpy_defaults());
        b.monitor("V", stranger.v());
        let e = b.build().unwrap_err().to_string();
        assert!(e.starts_with("monitors.V: the target comes from another NetworkBuilder"), "{e}");
    }
}
