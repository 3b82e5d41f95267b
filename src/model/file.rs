//! The JSON network file (format: `docs/FORMAT.md`), read into a [`Network`] through the
//! [`NetworkBuilder`]: this file only turns JSON into the builder's values (and resolves names),
//! so BrainPy's defaults, the generators and every range and consistency check exist once.
//!
//! The file is walked as a JSON tree rather than derived with serde, because every error must
//! name its place (`projections[0].connectivity.indices[5]`) and serde's derive errors give only
//! a line and column.

use super::{
    Align, Coba, Conn, CountLaw, DelaySpec, IExt, Kinetic, Lif, LifRef, MgBlock, Network, NetworkBuilder, Output, PopRef, Selection, SpikeTimes,
    Synapse, SynapseKind, VInit, WeightSpec, Weights,
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
    let root = parse_json(text)?;
    let (net, base) = network_part(&root);
    builder_from_value(net, base)?.into_network()
}

/// The JSON tree of a file, or an error with its line and column.
pub(crate) fn parse_json(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        let what = if e.is_eof() { "the file is truncated" } else { "invalid JSON" };
        Error::invalid(format!("line {} column {}", e.line(), e.column()), format!("{what}: {e}"))
    })
}

/// A golden case wraps the network with its expected traces; this is the network part and the
/// path prefix of its errors.
pub(crate) fn network_part(root: &Value) -> (&Value, &'static str) {
    match root.get("network") {
        Some(n) if root.get("expected").is_some() => (n, "network"),
        _ => (root, ""),
    }
}

/// The builder a parsed network file describes; `base` prefixes every error path.
pub fn builder_from_value(v: &Value, base: &str) -> Result<NetworkBuilder> {
    let root = Obj::new(v, base)?;
    root.allow(&["dt", "steps", "batch", "populations", "projections", "poisson_inputs", "monitors"])?;
    let mut b = NetworkBuilder::new(root.f64("dt")?, root.count("steps")?);
    if root.opt("batch").is_some() {
        b.set_batch(root.count("batch")?);
    }

    let mut pops: Vec<(String, PopRef)> = Vec::new();
    for (i, p) in root.array("populations")?.iter().enumerate() {
        let o = Obj::new(p, &root.sub(&format!("populations[{i}]")))?;
        let name = o.str("name")?.to_string();
        let r = population(&mut b, &o, name.clone())?;
        pops.push((name, r));
    }
    let find_pop = |o: &Obj, key: &str| -> Result<PopRef> {
        let name = o.str(key)?;
        pops.iter()
            .find(|(n, _)| n == name)
            .map(|&(_, r)| r)
            .ok_or_else(|| Error::invalid(o.sub(key), format!("unknown population \"{name}\"")))
    };

    let proj_values = match root.opt("projections") {
        Some(_) => root.array("projections")?.as_slice(),
        None => &[],
    };
    for (i, p) in proj_values.iter().enumerate() {
        let o = Obj::new(p, &root.sub(&format!("projections[{i}]")))?;
        o.allow(&["name", "pre", "post", "synapse", "align", "delay", "connectivity", "weight", "output"])?;
        let pre = find_pop(&o, "pre")?;
        let post = find_pop(&o, "post")?;
        let conn = connectivity(&o.obj("connectivity")?)?;
        let weights = match o.get("weight")? {
            Value::Array(a) => WeightSpec::Given(Weights::PerSynapse(numbers(a, &o.sub("weight"))?)),
            Value::Number(_) => WeightSpec::Given(Weights::Shared(o.f32("weight")?)),
            Value::Object(_) => {
                let g = o.obj("weight")?;
                g.allow(&["normal", "seed", "redraw_sign"])?;
                let (mean, sd, seed) = normal_of(&g, "")?;
                let redraw_sign = match g.opt("redraw_sign") {
                    None => false,
                    Some(v) => v.as_bool().ok_or_else(|| Error::invalid(g.sub("redraw_sign"), "must be true or false"))?,
                };
                let spec = WeightSpec::Normal { mean: mean as f32, sd: sd as f32, seed, redraw_sign };
                spec.check(&o.sub("weight"))?;
                spec
            }
            _ => {
                return Err(Error::invalid(
                    o.sub("weight"),
                    "must be a number, a list of numbers (one per synapse) or {\"normal\": [mean, sd], \"seed\": s, \"redraw_sign\": true}",
                ))
            }
        };
        let synapse = synapse(&o.obj("synapse")?)?;
        let output = output(&o.obj("output")?)?;
        let r = b.projection(o.str("name")?, pre, post, synapse, conn, weights, output);
        match o.opt("delay") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                let ms = a
                    .iter()
                    .enumerate()
                    .map(|(k, v)| v.as_f64().ok_or_else(|| Error::invalid(format!("{}[{k}]", o.sub("delay")), "is not a number (ms)")))
                    .collect::<Result<Vec<f64>>>()?;
                b.synapse_delays(r, DelaySpec::Ms(ms));
            }
            Some(Value::Object(_)) => {
                let g = o.obj("delay")?;
                let spec = if g.opt("steps").is_some() {
                    g.allow(&["steps"])?;
                    let steps = g
                        .array("steps")?
                        .iter()
                        .enumerate()
                        .map(|(k, v)| {
                            v.as_u64().filter(|&x| x <= u16::MAX as u64).map(|x| x as u16).ok_or_else(|| {
                                Error::invalid(format!("{}[{k}]", g.sub("steps")), format!("must be a whole number of steps in 0 ..= {}", u16::MAX))
                            })
                        })
                        .collect::<Result<Vec<u16>>>()?;
                    DelaySpec::Steps(steps)
                } else {
                    g.allow(&["normal", "min", "seed", "rounding"])?;
                    let (mean, sd, seed) = normal_of(&g, " (ms)")?;
                    let min = match g.opt("min") {
                        None => 0.0,
                        Some(_) => g.f64("min")?,
                    };
                    let nest_rounding = match g.opt("rounding") {
                        None => false,
                        Some(_) => match g.str("rounding")? {
                            "brainpy" => false,
                            "nest" => true,
                            other => return Err(Error::invalid(g.sub("rounding"), format!("must be \"brainpy\" or \"nest\", got \"{other}\""))),
                        },
                    };
                    DelaySpec::Normal { mean, sd, min, seed, nest_rounding }
                };
                spec.check(&o.sub("delay"))?;
                b.synapse_delays(r, spec);
            }
            Some(_) => {
                b.delay_ms(r, o.f64("delay")?);
            }
        }
        match o.opt("align") {
            None => {}
            Some(_) => {
                let align = match o.str("align")? {
                    "pre" => Align::Pre,
                    "post" => Align::Post,
                    other => return Err(Error::invalid(o.sub("align"), format!("must be \"pre\" or \"post\", got \"{other}\""))),
                };
                b.align(r, align);
            }
        }
    }

    if root.opt("poisson_inputs").is_some() {
        for (k, v) in root.array("poisson_inputs")?.iter().enumerate() {
            poisson_input(&mut b, &root.sub(&format!("poisson_inputs[{k}]")), k, v)?;
        }
    }

    if let Some(m) = root.opt("monitors") {
        let m = m.as_object().ok_or_else(|| Error::invalid(root.sub("monitors"), "must be an object {name: \"target\"}"))?;
        for (name, t) in m {
            monitor(&mut b, &root.sub(&format!("monitors.{name}")), name, t)?;
        }
    }
    Ok(b)
}

/// One Poisson input: `{"name", "target": "pop.V" | "proj.g", "num_input", "freq", "weight",
/// "seed", "law": "binomial" | "poisson"}` (BrainPy's `PoissonInput` argument names).
fn poisson_input(b: &mut NetworkBuilder, path: &str, k: usize, v: &Value) -> Result<()> {
    let o = Obj::new(v, path)?;
    o.allow(&["name", "target", "num_input", "freq", "weight", "seed", "law"])?;
    let name = match o.opt("name") {
        None => format!("poisson_input_{k}"),
        Some(_) => o.str("name")?.to_string(),
    };
    let seed = if o.opt("seed").is_some() { whole(&o, "seed")? } else { 0 };
    let law = match o.opt("law") {
        None => CountLaw::Binomial,
        Some(_) => match o.str("law")? {
            "binomial" => CountLaw::Binomial,
            "poisson" => CountLaw::Poisson,
            other => return Err(Error::invalid(o.sub("law"), format!("must be \"binomial\" or \"poisson\", got \"{other}\""))),
        },
    };
    b.poisson_input_named(name, o.str("target")?, whole(&o, "num_input")?, o.f64("freq")?, o.f32("weight")?, seed).law(law);
    Ok(())
}

/// One monitor: `"post.V"`, or `{"target": "post.V", "neurons": "0:100", "every": 10}`.
fn monitor(b: &mut NetworkBuilder, path: &str, name: &str, v: &Value) -> Result<()> {
    let (target, neurons, every) = match v {
        Value::String(s) => (s.as_str(), Selection::All, 1),
        Value::Object(_) => {
            let o = Obj::new(v, path)?;
            o.allow(&["target", "neurons", "every"])?;
            let neurons = match o.opt("neurons") {
                None => Selection::All,
                Some(Value::String(s)) => range(s, &o.sub("neurons"))?,
                Some(Value::Array(a)) => Selection::List(indices_of(a, &o.sub("neurons"))?),
                Some(_) => return Err(Error::invalid(o.sub("neurons"), "must be a range \"start:end\" or a list of neuron indices")),
            };
            let every = match o.opt("every") {
                None => 1,
                Some(_) => o.count("every")?,
            };
            (o.str("target")?, neurons, every)
        }
        _ => return Err(Error::invalid(path, "must be a string like \"post.V\" or an object {\"target\": ..., \"neurons\": ..., \"every\": ...}")),
    };
    // `<population>.spike_events`: the spikes, stored as a list of events
    let (target, events) = match target.strip_suffix("_events") {
        Some(base) if base.ends_with(".spike") => (base, true),
        _ => (target, false),
    };
    let spec = b.monitor_named(name, target);
    spec.neurons(neurons).every(every);
    if events {
        spec.events();
    }
    Ok(())
}

/// `"start:end"` (end exclusive, as Python slices).
fn range(s: &str, path: &str) -> Result<Selection> {
    let bad = || Error::invalid(path, format!("\"{s}\" is not a range \"start:end\" of neuron indices (end exclusive)"));
    let (a, z) = s.split_once(':').ok_or_else(bad)?;
    let start: u32 = a.trim().parse().map_err(|_| bad())?;
    let end: u32 = z.trim().parse().map_err(|_| bad())?;
    Ok(Selection::Range { start, end })
}

/// One population, added to the builder.
fn population(b: &mut NetworkBuilder, o: &Obj, name: String) -> Result<PopRef> {
    let size = o.count("size")?;
    let model = o.str("model")?;
    let r = match model {
        "regular" => {
            o.allow(&["name", "model", "size", "period_steps", "phase_offset"])?;
            let period = o.count("period_steps")?;
            let offset = match o.opt("phase_offset") {
                None => 0,
                Some(_) => usize::try_from(whole(o, "phase_offset")?).unwrap_or(usize::MAX),
            };
            b.regular(name, size, period, offset)
        }
        "poisson" => {
            o.allow(&["name", "model", "size", "rate_hz", "seed", "per_row"])?;
            let per_row = match o.opt("per_row") {
                None => false,
                Some(v) => v.as_bool().ok_or_else(|| Error::invalid(o.sub("per_row"), "must be true or false"))?,
            };
            b.poisson(name, size, o.f64("rate_hz")?, whole(o, "seed")?, per_row)
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
            let events = SpikeTimes {
                indices: indices_of(indices, &o.sub("indices"))?,
                times: numbers(times, &o.sub("times"))?,
                rows: match o.opt("rows") {
                    None => Vec::new(),
                    Some(_) => indices_of(o.array("rows")?, &o.sub("rows"))?,
                },
            };
            b.spike_times(name, size, events)
        }
        "lif_ref" | "lif" => {
            // BrainPy's defaults for omitted parameters
            let d = Lif::brainpy_defaults();
            let lif = Lif {
                v_rest: o.f32_or("V_rest", d.v_rest)?,
                v_th: o.f32_or("V_th", d.v_th)?,
                v_reset: o.f32_or("V_reset", d.v_reset)?,
                tau: o.f32_or("tau", d.tau)?,
                r: o.f32_or("R", d.r)?,
                v_init: match o.opt("V_init") {
                    None => d.v_init,
                    Some(_) => v_init(o)?,
                },
            };
            let r = if model == "lif_ref" {
                o.allow(&["name", "model", "size", "V_rest", "V_th", "V_reset", "tau", "tau_ref", "R", "V_init", "I_ext"])?;
                let tau_ref = o.f32_or("tau_ref", LifRef::brainpy_defaults().tau_ref)?;
                let Lif { v_rest, v_th, v_reset, tau, r, v_init } = lif;
                b.lif_ref(name, size, LifRef { v_rest, v_th, v_reset, tau, tau_ref, r, v_init })
            } else {
                o.allow(&["name", "model", "size", "V_rest", "V_th", "V_reset", "tau", "R", "V_init", "I_ext"])?;
                b.lif(name, size, lif)
            };
            match o.opt("I_ext") {
                None => {}
                Some(Value::Number(_)) => b.i_ext(r, IExt::Scalar(o.f32("I_ext")?)),
                Some(Value::Array(a)) => b.i_ext(r, IExt::PerNeuron(numbers(a, &o.sub("I_ext"))?)),
                Some(_) => return Err(Error::invalid(o.sub("I_ext"), "must be a number or a list of numbers (one per neuron)")),
            }
            r
        }
        other => {
            return Err(Error::invalid(
                o.sub("model"),
                format!("unknown neuron model \"{other}\" (known: spike_times, lif_ref, lif, regular, poisson)"),
            ))
        }
    };
    Ok(r)
}

fn v_init(o: &Obj) -> Result<VInit> {
    Ok(match o.get("V_init")? {
        Value::Number(_) => VInit::Scalar(o.f32("V_init")?),
        Value::Array(rows) if rows.first().is_some_and(|r| r.is_array()) => VInit::PerBatch(
            rows.iter()
                .enumerate()
                .map(|(b, r)| {
                    let p = o.sub(&format!("V_init[{b}]"));
                    numbers(r.as_array().ok_or_else(|| Error::invalid(&p, "must be a list of numbers"))?, &p)
                })
                .collect::<Result<_>>()?,
        ),
        Value::Array(a) => VInit::PerNeuron(numbers(a, &o.sub("V_init"))?),
        Value::Object(_) => {
            let g = o.obj("V_init")?;
            g.allow(&["normal", "seed"])?;
            let (mean, sd, seed) = normal_of(&g, " (mV)")?;
            VInit::Normal { mean: mean as f32, sd: sd as f32, seed }
        }
        _ => return Err(Error::invalid(o.sub("V_init"), "must be a number, [n], [batch][n] or {\"normal\": [mean, sd], \"seed\": s}")),
    })
}

const SYNAPSE_MODELS: &str = "ampa, gabaa, expon, dual_expon, dual_expon_v2, alpha, nmda";

fn synapse(o: &Obj) -> Result<Synapse> {
    let model = o.str("model")?;
    let kinetic = |kind: SynapseKind| -> Result<Kinetic> {
        o.allow(&["model", "alpha", "beta", "T", "T_dur"])?;
        let Some(d) = Synapse::default_for(kind).kinetic().copied() else { unreachable!("kinetic kinds have kinetic defaults") };
        Ok(Kinetic {
            alpha: o.f32_or("alpha", d.alpha)?,
            beta: o.f32_or("beta", d.beta)?,
            t_conc: o.f32_or("T", d.t_conc)?,
            t_dur: o.f32_or("T_dur", d.t_dur)?,
        })
    };
    // `A`: a number, or null (or absent) for BrainPy's peak normaliser
    let a_of = || -> Result<Option<f32>> {
        match o.opt("A") {
            None | Some(Value::Null) => Ok(None),
            Some(_) => o.f32("A").map(Some),
        }
    };
    Ok(match model {
        "ampa" => Synapse::Ampa(kinetic(SynapseKind::Ampa)?),
        "gabaa" => Synapse::Gabaa(kinetic(SynapseKind::Gabaa)?),
        "expon" => {
            o.allow(&["model", "tau"])?;
            let Synapse::Expon { tau } = Synapse::expon() else { unreachable!() };
            Synapse::Expon { tau: o.f32_or("tau", tau)? }
        }
        "dual_expon" | "dual_expon_v2" => {
            o.allow(&["model", "tau_decay", "tau_rise", "A"])?;
            let Synapse::DualExpon { tau_decay, tau_rise, .. } = Synapse::dual_expon() else { unreachable!() };
            let (tau_decay, tau_rise, a) = (o.f32_or("tau_decay", tau_decay)?, o.f32_or("tau_rise", tau_rise)?, a_of()?);
            if model == "dual_expon" {
                Synapse::DualExpon { tau_decay, tau_rise, a }
            } else {
                Synapse::DualExponV2 { tau_decay, tau_rise, a }
            }
        }
        "alpha" => {
            o.allow(&["model", "tau_decay"])?;
            let Synapse::Alpha { tau_decay } = Synapse::alpha() else { unreachable!() };
            Synapse::Alpha { tau_decay: o.f32_or("tau_decay", tau_decay)? }
        }
        "nmda" => {
            o.allow(&["model", "a", "tau_decay", "tau_rise"])?;
            let Synapse::Nmda { a, tau_decay, tau_rise } = Synapse::nmda() else { unreachable!() };
            Synapse::Nmda { a: o.f32_or("a", a)?, tau_decay: o.f32_or("tau_decay", tau_decay)?, tau_rise: o.f32_or("tau_rise", tau_rise)? }
        }
        other => return Err(Error::invalid(o.sub("model"), format!("unknown synapse model \"{other}\" (known: {SYNAPSE_MODELS})"))),
    })
}

fn output(o: &Obj) -> Result<Output> {
    Ok(match o.str("model")? {
        "coba" => {
            o.allow(&["model", "E"])?;
            Output::Coba(Coba { e: o.f32("E")? })
        }
        "cuba" => {
            o.allow(&["model"])?;
            Output::Cuba
        }
        "mg_block" => {
            o.allow(&["model", "E", "cc_Mg", "alpha", "beta", "V_offset"])?;
            let d = MgBlock::default();
            Output::MgBlock(MgBlock {
                e: o.f32_or("E", d.e)?,
                cc_mg: o.f32_or("cc_Mg", d.cc_mg)?,
                alpha: o.f32_or("alpha", d.alpha)?,
                beta: o.f32_or("beta", d.beta)?,
                v_offset: o.f32_or("V_offset", d.v_offset)?,
            })
        }
        other => return Err(Error::invalid(o.sub("model"), format!("unknown output model \"{other}\" (known: coba, cuba, mg_block)"))),
    })
}

fn connectivity(o: &Obj) -> Result<Conn> {
    match o.str("kind")? {
        "csr" => {
            o.allow(&["kind", "indptr", "indices"])?;
            Ok(Conn::Csr { indptr: indices_of(o.array("indptr")?, &o.sub("indptr"))?, indices: indices_of(o.array("indices")?, &o.sub("indices"))? })
        }
        "fixed_prob" => {
            o.allow(&["kind", "prob", "seed", "include_self"])?;
            let include_self = match o.opt("include_self") {
                None => true,
                Some(v) => v.as_bool().ok_or_else(|| Error::invalid(o.sub("include_self"), "must be true or false"))?,
            };
            Ok(Conn::FixedProb { prob: o.f64("prob")?, seed: whole(o, "seed")?, include_self })
        }
        "fixed_total_number" => {
            o.allow(&["kind", "n", "seed"])?;
            Ok(Conn::FixedTotalNumber { n: whole(o, "n")?, seed: whole(o, "seed")? })
        }
        other => Err(Error::invalid(o.sub("kind"), format!("unknown connectivity kind \"{other}\" (known: csr, fixed_prob, fixed_total_number)"))),
    }
}

/// The numbers of a `{"normal": [mean, sd], "seed": s}` object (V_init, drawn weights, drawn
/// delays) and its seed (0 when omitted); `unit` ends the message for a wrong shape.
fn normal_of(g: &Obj, unit: &str) -> Result<(f64, f64, u64)> {
    let ms = g.array("normal")?;
    let path = g.sub("normal");
    if ms.len() != 2 {
        return Err(Error::invalid(path, format!("must be [mean, sd]{unit}")));
    }
    let num = |k: usize| ms[k].as_f64().ok_or_else(|| Error::invalid(format!("{path}[{k}]"), format!("{} is not a number", ms[k])));
    let (mean, sd) = (num(0)?, num(1)?);
    let seed = match g.opt("seed") {
        None => 0,
        Some(_) => whole(g, "seed")?,
    };
    Ok((mean, sd, seed))
}

/// A whole number >= 0 that fits in a u64 (seeds, offsets).
fn whole(o: &Obj, key: &str) -> Result<u64> {
    let v = o.get(key)?;
    v.as_u64().ok_or_else(|| Error::invalid(o.sub(key), format!("must be a whole number >= 0 (fitting in 64 bits), got {v}")))
}

fn numbers(a: &[Value], path: &str) -> Result<Vec<f32>> {
    a.iter()
        .enumerate()
        .map(|(k, v)| v.as_f64().map(|x| x as f32).ok_or_else(|| Error::invalid(format!("{path}[{k}]"), format!("{v} is not a number"))))
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
        let map = v.as_object().ok_or_else(|| Error::invalid(if path.is_empty() { "<top>" } else { path }, "must be a JSON object"))?;
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
