//! What a network needs, from its description alone: synapse counts, memory and output bytes,
//! computed from the builder's counts **without building the connectivity** (a `fixed_prob`
//! projection has `n_pre * round(n_post * prob)` synapses; drawing 2e9 of them takes minutes and
//! 8 GB). `spikegpu validate` reports this, and `spikegpu run` checks it against the machine
//! before anything large is allocated.
//!
//! [`NetworkBuilder::preview`] also checks everything but the generated connectivity (the same
//! errors as [`NetworkBuilder::build`], which `validate --build` and `run` still call) and gives
//! the parameters as used, every default filled in.

use super::builder::{MonTarget, PopSpec};
use super::{generate, Align, Conn, DelaySpec, MonitorFormat, NetworkBuilder, NeuronModel, Selection, SpikeTimes, Synapse, Target, WeightSpec, Weights};
use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::path::Path;

/// A population's counts.
#[derive(Clone, Debug, PartialEq)]
pub struct PopCount {
    /// Its name.
    pub name: String,
    /// Neurons per batch row.
    pub size: usize,
    /// Whether it is a LIF population (else a spike source).
    pub lif: bool,
    /// Spike events of a source: exact for `spike_times` and `regular`, the expected count for
    /// `poisson`.
    pub events: u64,
}

/// A projection's counts.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjCount {
    /// Its name.
    pub name: String,
    /// Synapses (for `fixed_prob` with `include_self: false`, an upper bound: the pairs with
    /// equal indices are known only once drawn).
    pub synapses: u64,
    /// Whether `synapses` is exact.
    pub exact: bool,
    /// Whether it has one weight per synapse.
    pub per_synapse_weights: bool,
    /// Pre neurons.
    pub n_pre: usize,
    /// Post neurons.
    pub n_post: usize,
    /// Index of the post population.
    pub post: usize,
    /// Whether its pre population is a LIF population.
    pub pre_lif: bool,
    /// Aligned pre or post.
    pub align: Align,
    /// Steps between a step and the one whose value it reads.
    pub lag: usize,
    /// Extra states the synapse keeps besides `g`.
    pub states: usize,
    /// Per-synapse delays: the largest lag in steps (for drawn delays, the mean plus 5 sd),
    /// which sizes the post side's accumulator ring; `None`: one delay for the projection.
    pub synapse_lag: Option<usize>,
}

/// A monitor's counts.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorCount {
    /// Its name (file `<name>.npy`).
    pub name: String,
    /// Values per recorded step (all batch rows).
    pub width: u64,
    /// Recorded steps.
    pub rows: u64,
    /// Spikes (1 byte per value) rather than f32.
    pub spikes: bool,
    /// Stored as spike events (its size is known only after the run).
    pub events: bool,
}

impl MonitorCount {
    /// Bytes of its `.npy` data (events: `None`, known only after the run).
    pub fn bytes(&self) -> Option<u64> {
        (!self.events).then(|| self.width.saturating_mul(self.rows).saturating_mul(if self.spikes { 1 } else { 4 }))
    }
}

/// What a network needs, from its counts.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Time step, ms.
    pub dt: f64,
    /// Steps.
    pub steps: usize,
    /// Batch copies.
    pub batch: usize,
    /// Populations, in order.
    pub populations: Vec<PopCount>,
    /// Projections, in order.
    pub projections: Vec<ProjCount>,
    /// Monitors, in order.
    pub monitors: Vec<MonitorCount>,
}

impl Estimate {
    /// All synapses.
    pub fn synapses(&self) -> u64 {
        self.projections.iter().map(|p| p.synapses).fold(0, u64::saturating_add)
    }

    /// Bytes of one projection's connectivity as a network holds it (indices, offsets, weights).
    pub fn connectivity_bytes_of(p: &ProjCount) -> u64 {
        let w = p.per_synapse_weights as u64;
        // per-synapse delays: 2 bytes each on the CPU (16-bit), 4 on the GPU: counted as 4
        let d = p.synapse_lag.is_some() as u64;
        p.synapses.saturating_mul(4 * (1 + w + d)).saturating_add(4 * (p.n_pre as u64 + 1))
    }

    /// Bytes of all connectivity.
    pub fn connectivity_bytes(&self) -> u64 {
        self.projections.iter().map(Self::connectivity_bytes_of).fold(0, u64::saturating_add)
    }

    /// Bytes of simulation state besides the connectivity (neurons, synapse states, delay
    /// rings, spike tables): about what a checkpoint holds.
    pub fn state_bytes(&self) -> u64 {
        let b = self.batch as u64;
        let mut total: u64 = 0;
        for (k, p) in self.populations.iter().enumerate() {
            let n = p.size as u64;
            if p.lif {
                let inputs = self.projections.iter().filter(|q| q.post == k).count() as u64;
                total = total.saturating_add(4 * b * n * (5 + inputs));
            } else {
                total = total.saturating_add(4 * (b * n + p.events.saturating_mul(b) + self.steps as u64 + 1));
            }
        }
        for p in &self.projections {
            // a history ring per pre-aligned state (lag + 1 slots), or a spike ring and a
            // post-sized state
            let (n, slots) = match p.align {
                Align::Pre => (p.n_pre as u64, p.lag as u64 + 2 + p.states as u64),
                Align::Post => (p.n_post as u64 + p.n_pre as u64, p.lag as u64 + 2 + p.states as u64),
            };
            total = total.saturating_add(4u64.saturating_mul(b).saturating_mul(n).saturating_mul(slots));
            if let Some(lag) = p.synapse_lag {
                // the accumulator ring of per-synapse delays: lag + 1 post-sized slots
                total = total.saturating_add(4u64.saturating_mul(b).saturating_mul(p.n_post as u64).saturating_mul(lag as u64 + 1));
            }
        }
        total
    }

    /// Bytes of `.npy` data the dense monitors write (spike-event monitors are not known before
    /// the run and are not counted).
    pub fn output_bytes(&self) -> u64 {
        self.monitors.iter().filter_map(MonitorCount::bytes).fold(0, u64::saturating_add)
    }

    /// Bytes of one chunk of `chunk_steps` steps of every monitor in memory.
    pub fn chunk_bytes(&self, chunk_steps: usize) -> u64 {
        self.monitors
            .iter()
            .map(|m| m.width.saturating_mul(4).saturating_mul((chunk_steps as u64).min(m.rows)))
            .fold(0, u64::saturating_add)
    }

    /// Peak host memory of a run, roughly: the connectivity as read, the largest projection
    /// once more (the engine makes its own layout from it, or the dense product its transpose,
    /// before the read copy goes), the state, and two chunks of monitors. Measured peaks are
    /// within this plus the program itself (about 30 MB, more with a GPU driver).
    pub fn host_peak_bytes(&self, chunk_steps: usize) -> u64 {
        let largest = self.projections.iter().map(Self::connectivity_bytes_of).max().unwrap_or(0);
        self.connectivity_bytes()
            .saturating_add(largest)
            .saturating_add(self.state_bytes())
            .saturating_add(self.chunk_bytes(chunk_steps).saturating_mul(2))
    }
}

/// Reads a network file into a builder: nothing is generated or built yet, so this costs only
/// the file itself. A golden case file (`{"network": ...}`) is accepted too.
pub fn load_builder(path: &Path) -> Result<NetworkBuilder> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_builder(&text)
}

/// [`load_builder`] from JSON text.
pub fn parse_builder(text: &str) -> Result<NetworkBuilder> {
    let root = super::file::parse_json(text)?;
    let (net, base) = super::file::network_part(&root);
    super::file::builder_from_value(net, base)
}

/// A checked description with counts, from [`NetworkBuilder::preview`].
#[derive(Clone, Debug)]
pub struct Preview {
    /// The counts.
    pub estimate: Estimate,
    /// The parameters as used, every default filled in, as network-file JSON; generated
    /// connectivity and sources are described by their generator (`"kind": "fixed_prob"`,
    /// `"model": "poisson"`) with their counts, explicit lists are summarised.
    pub parameters: Value,
    /// Warnings about the description ([`super::Network::warnings`]); those that need the
    /// generated data (spike times of generated sources) come only with the built network.
    pub warnings: Vec<String>,
}

/// Longest list kept whole in [`Preview::parameters`]; longer ones become a summary.
const LIST_KEPT: usize = 32;

/// Replaces lists longer than [`LIST_KEPT`] by `{"list": N, "min": x, "max": y}`, so the
/// parameters of a network with a million-entry `V_init` stay readable (the file's SHA-256 in
/// the summary pins the exact values).
pub fn summarise_lists(v: &mut Value) {
    match v {
        Value::Array(a) if a.len() > LIST_KEPT => {
            let nums: Vec<f64> = a.iter().filter_map(Value::as_f64).collect();
            let mut s = json!({"list": a.len()});
            if nums.len() == a.len() {
                s["min"] = json!(nums.iter().copied().fold(f64::INFINITY, f64::min));
                s["max"] = json!(nums.iter().copied().fold(f64::NEG_INFINITY, f64::max));
            }
            *v = s;
        }
        Value::Array(a) => a.iter_mut().for_each(summarise_lists),
        Value::Object(o) => o.values_mut().for_each(summarise_lists),
        _ => {}
    }
}

impl NetworkBuilder {
    /// The counts of the network this builder describes, without building it. Unresolvable
    /// names count as empty (the checks report them).
    pub fn estimate(&self) -> Estimate {
        let (dt, steps, batch) = (self.dt, self.steps, self.batch);
        let size_of = |i: usize| self.populations.get(i).map_or(0, |p| p.size);
        let lif_of = |i: usize| self.populations.get(i).is_some_and(|p| matches!(p.spec, PopSpec::Model(NeuronModel::LifRef(_) | NeuronModel::Lif(_))));
        let populations = self
            .populations
            .iter()
            .map(|p| {
                let events = match &p.spec {
                    PopSpec::Model(NeuronModel::SpikeTimes(s)) => s.indices.len() as u64,
                    PopSpec::Model(_) => 0,
                    PopSpec::Regular { period_steps, phase_offset } if *period_steps > 0 => {
                        generate::regular_count(p.size, *period_steps, *phase_offset, steps)
                    }
                    PopSpec::Regular { .. } => 0,
                    PopSpec::Poisson { rate_hz, per_row, .. } => {
                        let prob = (rate_hz * dt / 1000.0).clamp(0.0, 1.0);
                        let rows = if *per_row { batch } else { 1 };
                        (prob * (rows as f64) * (p.size as f64) * steps as f64).ceil().min(u64::MAX as f64) as u64
                    }
                };
                PopCount { name: p.name.clone(), size: p.size, lif: matches!(p.spec, PopSpec::Model(NeuronModel::LifRef(_) | NeuronModel::Lif(_))), events }
            })
            .collect();
        let projections: Vec<ProjCount> = self
            .projections
            .iter()
            .map(|p| {
                let (n_pre, n_post) = (size_of(p.pre.index()), size_of(p.post.index()));
                let (synapses, exact) = conn_count(&p.conn, n_pre, n_post);
                let pre_lif = lif_of(p.pre.index());
                ProjCount {
                    name: p.name.clone(),
                    synapses,
                    exact,
                    per_synapse_weights: matches!(p.weights, WeightSpec::Given(Weights::PerSynapse(_)) | WeightSpec::Normal { .. }),
                    n_pre,
                    n_post,
                    post: p.post.index(),
                    pre_lif,
                    align: p.align,
                    lag: super::warnings::lag_steps(p.delay_ms, dt, pre_lif),
                    states: p.synapse.extra_states().len() + matches!(p.synapse, Synapse::Ampa(_) | Synapse::Gabaa(_)) as usize,
                    synapse_lag: p.synapse_delays.as_ref().map(|d| {
                        let ms = match d {
                            DelaySpec::Ms(v) => v.iter().copied().fold(0.0, f64::max),
                            DelaySpec::Steps(v) => v.iter().copied().max().unwrap_or(0) as f64 * dt,
                            DelaySpec::Normal { mean, sd, min, .. } => (mean + 5.0 * sd).max(*min) + dt,
                        };
                        super::warnings::lag_steps(Some(ms), dt, pre_lif)
                    }),
                }
            })
            .collect();
        let monitors = self
            .monitors
            .iter()
            .map(|m| {
                let (n, spikes) = self.target_size(&m.target);
                let picked = match &m.neurons {
                    Selection::All => n,
                    Selection::Range { start, end } => end.saturating_sub(*start) as usize,
                    Selection::List(l) => l.len(),
                };
                MonitorCount {
                    name: m.name.clone(),
                    width: picked as u64 * batch as u64,
                    rows: if m.every == 0 { 0 } else { steps.div_ceil(m.every) as u64 },
                    spikes,
                    events: m.format == MonitorFormat::Events,
                }
            })
            .collect();
        Estimate { dt, steps, batch, populations, projections, monitors }
    }

    /// Values per batch row of a monitor target, and whether it records spikes.
    fn target_size(&self, t: &MonTarget) -> (usize, bool) {
        let size_of = |i: usize| self.populations.get(i).map_or(0, |p| p.size);
        let proj_side = |k: usize, g: bool| {
            self.projections.get(k).map_or(0, |p| if g && p.align == Align::Pre { size_of(p.pre.index()) } else { size_of(p.post.index()) })
        };
        match t {
            MonTarget::Ref(r) => match r.target() {
                Target::ProjG(k) | Target::ProjState(k, _) => (proj_side(k, true), false),
                Target::ProjCurrent(k) => (proj_side(k, false), false),
                Target::PopSpike(i) => (size_of(i), true),
                Target::PopV(i) | Target::PopCurrent(i) | Target::PopInput(i) => (size_of(i), false),
            },
            MonTarget::Named(s) => {
                let Some((obj, var)) = s.rsplit_once('.') else { return (0, false) };
                if let Some(k) = self.projections.iter().position(|p| p.name == obj) {
                    return (proj_side(k, var != "current"), false);
                }
                match self.populations.iter().position(|p| p.name == obj) {
                    Some(i) => (size_of(i), var == "spike"),
                    None => (0, false),
                }
            }
        }
    }

    /// Checks everything [`NetworkBuilder::build`] checks except what only the generated data
    /// can tell (the exact synapse count of `fixed_prob` without self pairs, which per-synapse
    /// weights must match), without generating any connectivity or spike source, and returns the
    /// counts and the parameters as used.
    pub fn preview(&self) -> Result<Preview> {
        super::validate::check_clock(self.dt, self.steps, self.batch)?;
        let estimate = self.estimate();
        let mut shell = self.clone();
        let mut generated_conns: Vec<Option<Value>> = vec![None; shell.projections.len()];
        let mut generated_weights: Vec<Option<Value>> = vec![None; shell.projections.len()];
        let mut generated_delays: Vec<Option<Value>> = vec![None; shell.projections.len()];
        let mut generated_pops: Vec<Option<Value>> = vec![None; shell.populations.len()];
        for (i, p) in shell.projections.iter_mut().enumerate() {
            let path = format!("projections[{i}].connectivity");
            let count = &estimate.projections[i];
            let (n_pre, n_post) = (count.n_pre, count.n_post);
            if let Some(d) = p.synapse_delays.take() {
                let at = format!("projections[{i}].delay");
                if p.align != Align::Post {
                    return Err(super::validate::per_synapse_delays_need_post(at));
                }
                d.check(&at)?;
                let given = match &d {
                    DelaySpec::Ms(v) => Some(v.len()),
                    DelaySpec::Steps(v) => Some(v.len()),
                    DelaySpec::Normal { .. } => None,
                };
                if let Some(len) = given {
                    if count.exact && len as u64 != count.synapses {
                        return Err(Error::invalid(at, format!("has {len} values, but the connectivity has {} synapses", count.synapses)));
                    }
                }
                generated_delays[i] = Some(match d {
                    DelaySpec::Normal { mean, sd, min, seed, nest_rounding } => json!({"normal": [mean, sd], "min": min, "seed": seed,
                        "rounding": if nest_rounding { "nest" } else { "brainpy" }, "per_synapse": count.synapses}),
                    _ => json!({"per_synapse": count.synapses}),
                });
            }
            if let WeightSpec::Normal { mean, sd, seed, redraw_sign } = p.weights {
                p.weights.check(&format!("projections[{i}].weight"))?;
                generated_weights[i] = Some(json!({"normal": [mean, sd], "seed": seed, "redraw_sign": redraw_sign, "per_synapse": count.synapses}));
                // the mean stands for all (a negative one still draws its warning)
                p.weights = WeightSpec::Given(Weights::Shared(mean));
            }
            let described = match p.conn {
                Conn::FixedProb { prob, seed, include_self } => {
                    if !(prob.is_finite() && (0.0..=1.0).contains(&prob)) {
                        return Err(Error::invalid(format!("{path}.prob"), format!("must be a number in [0, 1], got {prob}")));
                    }
                    let k = generate::fixed_prob_k(n_post, prob);
                    if count.synapses > u32::MAX as u64 {
                        return Err(too_many(format!("{path}.prob"), count.synapses, format!("{n_pre} pre neurons x {k} targets")));
                    }
                    json!({"kind": "fixed_prob", "prob": prob, "seed": seed, "include_self": include_self, "targets_per_pre": k,
                           "synapses": count.synapses, "synapses_exact": count.exact})
                }
                Conn::AllToAll { include_self } => {
                    if count.synapses > u32::MAX as u64 {
                        return Err(too_many(path.clone(), count.synapses, format!("{n_pre} pre x {n_post} post neurons")));
                    }
                    json!({"kind": "all_to_all", "include_self": include_self, "synapses": count.synapses})
                }
                Conn::FixedTotalNumber { n, seed } => {
                    super::validate::check_total_number(&path, n, n_pre, n_post)?;
                    json!({"kind": "fixed_total_number", "n": n, "seed": seed, "synapses": n})
                }
                // explicit and one-to-one connectivity are cheap: built and checked as usual
                Conn::Csr { .. } | Conn::OneToOne => continue,
            };
            if let WeightSpec::Given(Weights::PerSynapse(w)) = &p.weights {
                if count.exact && w.len() as u64 != count.synapses {
                    return Err(Error::invalid(
                        format!("projections[{i}].weight"),
                        format!("has {} values, but the connectivity has {} synapses", w.len(), count.synapses),
                    ));
                }
                if let Some(k) = w.iter().position(|x| !x.is_finite()) {
                    return Err(Error::invalid(format!("projections[{i}].weight[{k}]"), format!("{} is not a finite number", w[k])));
                }
                // the smallest weight stands for all (a negative one still draws its warning)
                p.weights = WeightSpec::Given(Weights::Shared(w.iter().copied().fold(f32::INFINITY, f32::min).min(f32::MAX)));
            }
            p.conn = Conn::Csr { indptr: vec![0; n_pre + 1], indices: Vec::new() };
            generated_conns[i] = Some(described);
        }
        for (i, p) in shell.populations.iter_mut().enumerate() {
            let path = format!("populations[{i}]");
            let events = estimate.populations[i].events;
            let described = match p.spec {
                PopSpec::Regular { period_steps, phase_offset } => {
                    if period_steps == 0 {
                        return Err(Error::invalid(format!("{path}.period_steps"), "must be at least 1, got 0"));
                    }
                    check_events(&path, events)?;
                    json!({"name": p.name, "model": "regular", "size": p.size, "period_steps": period_steps, "phase_offset": phase_offset, "events": events})
                }
                PopSpec::Poisson { rate_hz, seed, per_row } => {
                    if !(rate_hz.is_finite() && rate_hz >= 0.0) {
                        return Err(Error::invalid(format!("{path}.rate_hz"), format!("must be a finite number >= 0 (Hz), got {rate_hz}")));
                    }
                    check_events(&path, (1.01 * events as f64).ceil() as u64)?;
                    json!({"name": p.name, "model": "poisson", "size": p.size, "rate_hz": rate_hz, "seed": seed, "per_row": per_row, "expected_events": events})
                }
                PopSpec::Model(_) => continue,
            };
            p.spec = PopSpec::Model(NeuronModel::SpikeTimes(SpikeTimes::default()));
            generated_pops[i] = Some(described);
        }
        let net = shell.into_network()?;
        let warnings = net.warnings();
        let mut parameters = net.to_json_value(false);
        for (i, d) in generated_delays.into_iter().enumerate() {
            if let Some(d) = d {
                parameters["projections"][i]["delay"] = d;
            }
        }
        for (i, d) in generated_weights.into_iter().enumerate() {
            if let Some(d) = d {
                parameters["projections"][i]["weight"] = d;
            }
        }
        for (i, d) in generated_conns.into_iter().enumerate() {
            if let Some(d) = d {
                parameters["projections"][i]["connectivity"] = d;
            } else if let Some(c) = parameters["projections"][i]["connectivity"].as_object_mut() {
                c.insert("synapses".into(), json!(estimate.projections[i].synapses));
            }
        }
        for (i, d) in generated_pops.into_iter().enumerate() {
            if let Some(d) = d {
                parameters["populations"][i] = d;
            }
        }
        summarise_lists(&mut parameters);
        Ok(Preview { estimate, parameters, warnings })
    }
}

use super::validate::too_many_synapses as too_many;

fn check_events(path: &str, events: u64) -> Result<()> {
    if events > u32::MAX as u64 {
        return Err(Error::invalid(
            format!("{path}.size"),
            format!("this source would emit about {events} spikes over the run, more than 2^32 - 1 events"),
        ));
    }
    Ok(())
}

/// Synapses of a connectivity between `n_pre` and `n_post` neurons, and whether the count is
/// exact.
fn conn_count(c: &Conn, n_pre: usize, n_post: usize) -> (u64, bool) {
    let (pre, post) = (n_pre as u64, n_post as u64);
    match c {
        Conn::Csr { indices, .. } => (indices.len() as u64, true),
        Conn::OneToOne => (pre, true),
        Conn::AllToAll { include_self } => (pre * post - if *include_self { 0 } else { pre.min(post) }, true),
        Conn::FixedProb { prob, include_self, .. } => {
            let k = if prob.is_finite() && (0.0..=1.0).contains(prob) { generate::fixed_prob_k(n_post, *prob) as u64 } else { 0 };
            // without self pairs a row that drew its own index keeps k - 1: known once drawn
            (pre.saturating_mul(k), *include_self || k == 0 || n_pre.min(n_post) == 0)
        }
        Conn::FixedTotalNumber { n, .. } => (*n, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::file;

    fn fixed(n_pre: usize, n_post: usize, prob: f64, include_self: bool) -> String {
        format!(
            r#"{{"dt": 0.1, "steps": 100, "populations": [
            {{"name": "s", "model": "poisson", "size": {n_pre}, "rate_hz": 10, "seed": 1}},
            {{"name": "p", "model": "lif_ref", "size": {n_post}}}],
          "projections": [{{"name": "x", "pre": "s", "post": "p", "synapse": {{"model": "ampa"}},
            "connectivity": {{"kind": "fixed_prob", "prob": {prob}, "seed": 7, "include_self": {include_self}}},
            "weight": 0.5, "output": {{"model": "coba", "E": 0}}}}],
          "monitors": {{"V": "p.V", "g": {{"target": "x.g", "neurons": "0:10", "every": 10}}, "e": "s.spike_events"}}}}"#
        )
    }

    /// The estimate equals what building gives, for every connectivity kind whose count is
    /// exact; the output bytes equal the plan's.
    #[test]
    fn counts_match_the_built_network() {
        for (n_pre, n_post, prob) in [(300, 200, 0.1), (50, 40, 1.0), (20, 11, 0.0), (1000, 11, 0.5)] {
            let text = fixed(n_pre, n_post, prob, true);
            let b = parse_builder(&text).unwrap();
            let e = b.estimate();
            let net = file::parse(&text).unwrap();
            assert_eq!(e.synapses(), net.synapse_count(), "{n_pre} {n_post} {prob}");
            assert!(e.projections[0].exact);
            let plan = crate::plan::Plan::new(&net, crate::plan::UpdateMode::Dense).unwrap();
            let dense: u64 = plan.monitors.iter().filter(|m| m.format == MonitorFormat::Dense).map(|m| m.output_bytes()).sum();
            assert_eq!(e.output_bytes(), dense);
        }
        // without self pairs: an upper bound, never below the truth
        let text = fixed(300, 300, 0.1, false);
        let e = parse_builder(&text).unwrap().estimate();
        assert!(!e.projections[0].exact);
        assert!(e.synapses() >= file::parse(&text).unwrap().synapse_count());
    }

    /// 5e9 synapses are counted, and refused with the builder's message, without drawing one.
    #[test]
    fn preview_never_builds_the_connectivity() {
        let text = fixed(500_000, 100_000, 0.1, true);
        let b = parse_builder(&text).unwrap();
        let t = std::time::Instant::now();
        let e = b.preview().unwrap_err();
        assert!(t.elapsed().as_secs_f64() < 1.0, "took {:?}", t.elapsed());
        assert_eq!(e.to_string(), b.clone().into_network().unwrap_err().to_string());
        assert!(e.to_string().contains("5000000000 synapses"), "{e}");
        // a large but valid one previews in no time
        let text = fixed(100_000, 10_000, 0.1, true);
        let t = std::time::Instant::now();
        let p = parse_builder(&text).unwrap().preview().unwrap();
        assert!(t.elapsed().as_secs_f64() < 1.0, "took {:?}", t.elapsed());
        assert_eq!(p.estimate.synapses(), 100_000_000);
        assert_eq!(p.parameters["projections"][0]["connectivity"]["synapses"], 100_000_000);
        assert_eq!(p.parameters["populations"][0]["model"], "poisson");
        assert_eq!(p.parameters["populations"][1]["tau_ref"], 0.0);
    }

    /// The preview reports the same first error as building, for mistakes of every layer.
    #[test]
    fn preview_errors_equal_build_errors() {
        let base = fixed(30, 20, 0.2, true);
        for (from, to) in [
            ("\"prob\": 0.2", "\"prob\": 1.5"),
            ("\"rate_hz\": 10", "\"rate_hz\": -1"),
            ("\"weight\": 0.5", "\"weight\": [1, 2]"),
            ("\"p.V\"", "\"p.W\""),
            ("\"neurons\": \"0:10\"", "\"neurons\": \"0:100\""),
            ("\"steps\": 100", "\"steps\": 0"),
        ] {
            let text = base.replace(from, to);
            assert_ne!(text, base);
            let want = match file::parse(&text) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{to} was accepted"),
            };
            let got = match parse_builder(&text).and_then(|b| b.preview()) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("the preview accepted {to}"),
            };
            assert_eq!(got, want, "{to}");
        }
    }

    #[test]
    fn long_lists_are_summarised() {
        let mut v = json!({"a": (0..100).collect::<Vec<_>>(), "b": [1, 2]});
        summarise_lists(&mut v);
        assert_eq!(v, json!({"a": {"list": 100, "min": 0.0, "max": 99.0}, "b": [1, 2]}));
    }
}
