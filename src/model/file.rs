//! The JSON network file (format: `docs/FORMAT.md`), read into a [`Network`].
//!
//! The file is walked as a JSON tree rather than derived with serde, because every error must
//! name its place (`projections[0].connectivity.indices[5]`) and serde's derive errors give only
//! a line and column. Names are resolved here; range and consistency checks live in
//! [`Network::validate`], shared with the builder.

use super::{
    generate, Coba, Csr, LifRef, Monitor, MonitorFormat, Network, NeuronModel, Population, Projection, SpikeTimes, Synapse,
    SynapseKind, Target, VInit, Weights,
};
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::path::Path;

/// Reads and validates a network file. A golden case file (`{"network": ...}`) is accepted too.
pub fn load(path: &Path) -> Result<Network> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text)
}

/// Parses and validates a network from JSON text.
pub fn parse(text: &str) -> Result<Network> {
    let root: Value = serde_json::from_str(text).map_err(|e| {
        let what = if e.is_eof() { "the file is truncated" } else { "invalid JSON" };
        Error::invalid(format!("line {} column {}", e.line(), e.column()), format!("{what}: {e}"))
    })?;
    // A golden case wraps the network with its expected traces; take the network part.
    let (net, base) = match root.get("network") {
        Some(n) if root.get("expected").is_some() => (n, "network"),
        _ => (&root, ""),
    };
    let net = from_value(net, base)?;
    net.validate()?;
    Ok(net)
}

/// Builds a network from an already parsed JSON value; `base` prefixes every error path.
pub fn from_value(v: &Value, base: &str) -> Result<Network> {
    let root = Obj::new(v, base)?;
    root.allow(&["dt", "steps", "batch", "populations", "projections", "monitors"])?;
    let dt = root.f64("dt")?;
    let steps = root.count("steps")?;
    let batch = match root.opt("batch") {
        Some(_) => root.count("batch")?,
        None => 1,
    };

    let mut populations = Vec::new();
    for (i, p) in root.array("populations")?.iter().enumerate() {
        populations.push(population(&Obj::new(p, &root.sub(&format!("populations[{i}]")))?, dt, steps, batch)?);
    }
    let find_pop = |o: &Obj, key: &str| -> Result<usize> {
        let name = o.str(key)?;
        populations
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| Error::invalid(o.sub(key), format!("unknown population \"{name}\"")))
    };

    let mut projections = Vec::new();
    let proj_values = match root.opt("projections") {
        Some(_) => root.array("projections")?.as_slice(),
        None => &[],
    };
    for (i, p) in proj_values.iter().enumerate() {
        let o = Obj::new(p, &root.sub(&format!("projections[{i}]")))?;
        o.allow(&["name", "pre", "post", "synapse", "delay", "connectivity", "weight", "output"])?;
        let pre = find_pop(&o, "pre")?;
        let post = find_pop(&o, "post")?;
        let conn = connectivity(&o.obj("connectivity")?, &populations[pre], &populations[post])?;
        let weights = match o.get("weight")? {
            Value::Array(a) => Weights::PerSynapse(numbers(a, &o.sub("weight"))?),
            Value::Number(_) => Weights::Shared(o.f32("weight")?),
            _ => return Err(Error::invalid(o.sub("weight"), "must be a number or a list of numbers (one per synapse)")),
        };
        let delay_ms = match o.opt("delay") {
            None | Some(Value::Null) => None,
            Some(_) => Some(o.f64("delay")?),
        };
        let out = o.obj("output")?;
        out.allow(&["model", "E"])?;
        let output = match out.str("model")? {
            "coba" => Coba { e: out.f32("E")? },
            other => return Err(Error::invalid(out.sub("model"), format!("unknown output model \"{other}\" (known: coba)"))),
        };
        projections.push(Projection {
            name: o.str("name")?.to_string(),
            pre,
            post,
            synapse: synapse(&o.obj("synapse")?)?,
            delay_ms,
            conn,
            weights,
            output,
        });
    }

    // before monitor targets are looked up by name
    super::validate::check_names(&populations, &projections)?;
    let mut monitors = Vec::new();
    if let Some(m) = root.opt("monitors") {
        let m = m
            .as_object()
            .ok_or_else(|| Error::invalid(root.sub("monitors"), "must be an object {name: \"target\"}"))?;
        for (name, t) in m {
            let path = root.sub(&format!("monitors.{name}"));
            let t = t.as_str().ok_or_else(|| Error::invalid(&path, "must be a string like \"post.V\""))?;
            // `<population>.spike_events`: the spikes, stored as a list of events
            let (t, format) = match t.strip_suffix("_events") {
                Some(base) if base.ends_with(".spike") => (base, MonitorFormat::Events),
                _ => (t, MonitorFormat::Dense),
            };
            monitors.push(Monitor { name: name.clone(), target: target(t, &path, &populations, &projections)?, format });
        }
    }
    Ok(Network { dt, steps, batch, populations, projections, monitors })
}

/// One population. `dt` and `steps` are the file's: the generated sources (`regular`, `poisson`)
/// expand here into spike-time events (`docs/FORMAT-generators.md`).
fn population(o: &Obj, dt: f64, steps: usize, batch: usize) -> Result<Population> {
    let name = o.str("name")?.to_string();
    let size = o.count("size")?;
    let model = match o.str("model")? {
        "regular" => {
            o.allow(&["name", "model", "size", "period_steps", "phase_offset"])?;
            let period = o.count("period_steps")?;
            let offset = match o.opt("phase_offset") {
                None => 0,
                Some(_) => usize::try_from(whole(o, "phase_offset")?).unwrap_or(usize::MAX),
            };
            let (dt32, steps) = generator_clock(o, dt, steps)?;
            check_event_count(o, generate::regular_count(size, period, offset, steps))?;
            NeuronModel::SpikeTimes(generate::regular(size, period, offset, steps, dt32).map_err(|s| inexact(o, s, dt32))?)
        }
        "poisson" => {
            o.allow(&["name", "model", "size", "rate_hz", "seed", "per_row"])?;
            let rate = o.f64("rate_hz")?;
            if !(rate.is_finite() && rate >= 0.0) {
                return Err(Error::invalid(o.sub("rate_hz"), format!("must be a finite number >= 0 (Hz), got {rate}")));
            }
            let seed = whole(o, "seed")?;
            let (dt32, steps) = generator_clock(o, dt, steps)?;
            // the expected count, with room for fluctuations
            let p = (rate * dt / 1000.0).min(1.0);
            check_event_count(o, (1.01 * size as f64 * steps as f64 * p).ceil() as u64)?;
            let per_row = match o.opt("per_row") {
                None => false,
                Some(v) => v.as_bool().ok_or_else(|| Error::invalid(o.sub("per_row"), "must be true or false"))?,
            };
            if per_row {
                // batch row b draws its own spikes, from seed + b
                let mut all = SpikeTimes::default();
                for b in 0..batch {
                    let rows = generate::poisson(size, rate, dt, steps, seed.wrapping_add(b as u64)).map_err(|s| inexact(o, s, dt32))?;
                    all.rows.extend(std::iter::repeat_n(b as u32, rows.indices.len()));
                    all.indices.extend(rows.indices);
                    all.times.extend(rows.times);
                }
                NeuronModel::SpikeTimes(all)
            } else {
                NeuronModel::SpikeTimes(generate::poisson(size, rate, dt, steps, seed).map_err(|s| inexact(o, s, dt32))?)
            }
        }
        "spike_times" => {
            o.allow(&["name", "model", "size", "indices", "times", "rows"])?;
            let indices = o.array("indices")?;
            let times = o.array("times")?;
            if indices.len() != times.len() {
                return Err(Error::invalid(
                    o.sub("times"),
                    format!("has {} entries but indices has {}: they must have the same length", times.len(), indices.len()),
                ));
            }
            NeuronModel::SpikeTimes(SpikeTimes {
                indices: indices_of(indices, &o.sub("indices"))?,
                times: numbers(times, &o.sub("times"))?,
                rows: match o.opt("rows") {
                    None => Vec::new(),
                    Some(_) => indices_of(o.array("rows")?, &o.sub("rows"))?,
                },
            })
        }
        "lif_ref" => {
            o.allow(&["name", "model", "size", "V_rest", "V_th", "V_reset", "tau", "tau_ref", "R", "V_init"])?;
            // BrainPy's LifRef defaults for omitted parameters.
            let v_init = match o.opt("V_init") {
                None => VInit::Scalar(0.0),
                Some(Value::Number(_)) => VInit::Scalar(o.f32("V_init")?),
                Some(Value::Array(rows)) if rows.first().is_some_and(|r| r.is_array()) => VInit::PerBatch(
                    rows.iter()
                        .enumerate()
                        .map(|(b, r)| {
                            let p = o.sub(&format!("V_init[{b}]"));
                            numbers(r.as_array().ok_or_else(|| Error::invalid(&p, "must be a list of numbers"))?, &p)
                        })
                        .collect::<Result<_>>()?,
                ),
                Some(Value::Array(a)) => VInit::PerNeuron(numbers(a, &o.sub("V_init"))?),
                Some(_) => return Err(Error::invalid(o.sub("V_init"), "must be a number, [n] or [batch][n]")),
            };
            NeuronModel::LifRef(LifRef {
                v_rest: o.f32_or("V_rest", 0.0)?,
                v_th: o.f32_or("V_th", 20.0)?,
                v_reset: o.f32_or("V_reset", -5.0)?,
                tau: o.f32_or("tau", 10.0)?,
                tau_ref: o.f32_or("tau_ref", 0.0)?,
                r: o.f32_or("R", 1.0)?,
                v_init,
            })
        }
        other => {
            return Err(Error::invalid(o.sub("model"), format!("unknown neuron model \"{other}\" (known: spike_times, lif_ref, regular, poisson)")))
        }
    };
    Ok(Population { name, size, model })
}

fn synapse(o: &Obj) -> Result<Synapse> {
    o.allow(&["model", "alpha", "beta", "T", "T_dur"])?;
    let kind = match o.str("model")? {
        "ampa" => SynapseKind::Ampa,
        "gabaa" => SynapseKind::Gabaa,
        other => return Err(Error::invalid(o.sub("model"), format!("unknown synapse model \"{other}\" (known: ampa, gabaa)"))),
    };
    let d = Synapse::default_for(kind);
    Ok(Synapse {
        kind,
        alpha: o.f32_or("alpha", d.alpha)?,
        beta: o.f32_or("beta", d.beta)?,
        t_conc: o.f32_or("T", d.t_conc)?,
        t_dur: o.f32_or("T_dur", d.t_dur)?,
    })
}

fn connectivity(o: &Obj, pre: &Population, post: &Population) -> Result<Csr> {
    match o.str("kind")? {
        "csr" => {
            o.allow(&["kind", "indptr", "indices"])?;
            let csr = Csr {
                n_rows: pre.size,
                n_cols: post.size,
                indptr: indices_of(o.array("indptr")?, &o.sub("indptr"))?,
                indices: indices_of(o.array("indices")?, &o.sub("indices"))?,
            };
            csr.check(&o.path, &pre.name, &post.name)?;
            Ok(csr)
        }
        "fixed_prob" => {
            o.allow(&["kind", "prob", "seed", "include_self"])?;
            let prob = o.f64("prob")?;
            if !(prob.is_finite() && (0.0..=1.0).contains(&prob)) {
                return Err(Error::invalid(o.sub("prob"), format!("must be a number in [0, 1], got {prob}")));
            }
            let seed = whole(o, "seed")?;
            let include_self = match o.opt("include_self") {
                None => true,
                Some(v) => v.as_bool().ok_or_else(|| Error::invalid(o.sub("include_self"), "must be true or false"))?,
            };
            let k = generate::fixed_prob_k(post.size, prob);
            let nnz = pre.size as u64 * k as u64;
            if nnz > u32::MAX as u64 {
                return Err(Error::invalid(
                    o.sub("prob"),
                    format!(
                        "{} pre neurons x {k} targets = {nnz} synapses: more than a projection can index with 32 bits",
                        pre.size
                    ),
                ));
            }
            Ok(generate::fixed_prob(pre.size, post.size, k, seed, include_self))
        }
        other => Err(Error::invalid(o.sub("kind"), format!("unknown connectivity kind \"{other}\" (known: csr, fixed_prob)"))),
    }
}

/// A whole number >= 0 that fits in a u64 (seeds, offsets).
fn whole(o: &Obj, key: &str) -> Result<u64> {
    let v = o.get(key)?;
    v.as_u64().ok_or_else(|| Error::invalid(o.sub(key), format!("must be a whole number >= 0 (fitting in 64 bits), got {v}")))
}

/// The `dt` (as f32) and `steps` a generated source expands with; `dt` is checked here because
/// the expansion runs before [`Network::validate`].
fn generator_clock(o: &Obj, dt: f64, steps: usize) -> Result<(f32, usize)> {
    if !(dt.is_finite() && dt > 0.0 && (dt as f32) > 0.0) {
        return Err(Error::invalid(o.sub("model"), format!("needs a finite dt > 0 to expand its spikes, got dt = {dt}")));
    }
    if steps > super::validate::MAX_STEPS {
        return Err(Error::invalid(o.sub("model"), format!("cannot expand over {steps} steps (steps is too large)")));
    }
    Ok((dt as f32, steps))
}

/// Generated sources become spike-time events, which the step tables index with 32 bits.
fn check_event_count(o: &Obj, events: u64) -> Result<()> {
    if events > u32::MAX as u64 {
        return Err(Error::invalid(
            o.sub("size"),
            format!("this source would emit about {events} spikes over the run, more than 2^32 - 1 events"),
        ));
    }
    Ok(())
}

fn inexact(o: &Obj, step: usize, dt: f32) -> Error {
    Error::invalid(o.sub("model"), format!("step {step} has no f32 time of its own with dt = {dt} (too many steps for f32 times)"))
}

fn target(t: &str, path: &str, pops: &[Population], projs: &[Projection]) -> Result<Target> {
    let (obj, var) = t
        .rsplit_once('.')
        .ok_or_else(|| Error::invalid(path, format!("\"{t}\" is not of the form <population>.<variable> or <projection>.<variable>")))?;
    if let Some(p) = projs.iter().position(|p| p.name == obj) {
        return match var {
            "g" => Ok(Target::ProjG(p)),
            "current" => Ok(Target::ProjCurrent(p)),
            _ => Err(Error::invalid(path, format!("unknown variable \"{var}\" of projection \"{obj}\" (known: g, current)"))),
        };
    }
    let Some(i) = pops.iter().position(|p| p.name == obj) else {
        return Err(Error::invalid(path, format!("unknown population or projection \"{obj}\"")));
    };
    let lif = pops[i].lif().is_some();
    match var {
        "spike" => Ok(Target::PopSpike(i)),
        "V" if lif => Ok(Target::PopV(i)),
        "current" if lif => Ok(Target::PopCurrent(i)),
        "input" if lif => Ok(Target::PopInput(i)),
        _ if !lif => Err(Error::invalid(path, format!("unknown variable \"{var}\" of spike source \"{obj}\" (known: spike)"))),
        _ => Err(Error::invalid(path, format!("unknown variable \"{var}\" of population \"{obj}\" (known: V, spike, current, input)"))),
    }
}

fn numbers(a: &[Value], path: &str) -> Result<Vec<f32>> {
    a.iter()
        .enumerate()
        .map(|(k, v)| {
            v.as_f64()
                .map(|x| x as f32)
                .ok_or_else(|| Error::invalid(format!("{path}[{k}]"), format!("{v} is not a number")))
        })
        .collect()
}

fn indices_of(a: &[Value], path: &str) -> Result<Vec<u32>> {
    a.iter()
        .enumerate()
        .map(|(k, v)| match v.as_u64() {
            Some(x) if x <= u32::MAX as u64 => Ok(x as u32),
            _ => Err(Error::invalid(format!("{path}[{k}]"), format!("{v} is not a non-negative integer index"))),
        })
        .collect()
}

/// A JSON object together with its path, so every accessor can name the field in its error.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, path: &str) -> Result<Self> {
        let map = v
            .as_object()
            .ok_or_else(|| Error::invalid(if path.is_empty() { "<top>" } else { path }, "must be a JSON object"))?;
        Ok(Obj { map, path: path.to_string() })
    }
    fn sub(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else if key.starts_with('[') {
            format!("{}{key}", self.path)
        } else {
            format!("{}.{key}", self.path)
        }
    }
    fn opt(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }
    fn get(&self, key: &str) -> Result<&'a Value> {
        self.map.get(key).ok_or_else(|| Error::invalid(self.sub(key), "is missing"))
    }
    /// Rejects unknown keys: a misspelt parameter would otherwise silently take its default.
    fn allow(&self, keys: &[&str]) -> Result<()> {
        match self.map.keys().find(|k| !keys.contains(&k.as_str())) {
            Some(k) => Err(Error::invalid(self.sub(k), format!("unknown field (expected one of: {})", keys.join(", ")))),
            None => Ok(()),
        }
    }
    fn obj(&self, key: &str) -> Result<Obj<'a>> {
        Obj::new(self.get(key)?, &self.sub(key))
    }
    fn str(&self, key: &str) -> Result<&'a str> {
        self.get(key)?.as_str().ok_or_else(|| Error::invalid(self.sub(key), "must be a string"))
    }
    fn array(&self, key: &str) -> Result<&'a Vec<Value>> {
        self.get(key)?.as_array().ok_or_else(|| Error::invalid(self.sub(key), "must be a list"))
    }
    fn f64(&self, key: &str) -> Result<f64> {
        let v = self.get(key)?;
        v.as_f64().ok_or_else(|| Error::invalid(self.sub(key), format!("must be a number, got {v}")))
    }
    fn f32(&self, key: &str) -> Result<f32> {
        self.f64(key).map(|x| x as f32)
    }
    fn f32_or(&self, key: &str, default: f32) -> Result<f32> {
        if self.map.contains_key(key) {
            self.f32(key)
        } else {
            Ok(default)
        }
    }
    /// A positive integer (sizes, steps, batch).
    fn count(&self, key: &str) -> Result<usize> {
        let v = self.get(key)?;
        match (v.as_u64(), v.as_i64(), v.as_f64()) {
            (Some(0), _, _) => Err(Error::invalid(self.sub(key), "must be at least 1, got 0")),
            (Some(x), _, _) => usize::try_from(x).map_err(|_| Error::invalid(self.sub(key), format!("{x} is too large"))),
            (None, Some(x), _) => Err(Error::invalid(self.sub(key), format!("must be at least 1, got {x}"))),
            (None, None, Some(x)) => Err(Error::invalid(self.sub(key), format!("must be a whole number, got {x}"))),
            _ => Err(Error::invalid(self.sub(key), format!("must be a whole number, got {v}"))),
        }
    }
}
