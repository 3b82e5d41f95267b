//! A [`Network`] written back as a network file (`docs/FORMAT.md`), every parameter explicit
//! (BrainPy's defaults filled in) and connectivity as explicit CSR: [`super::file::parse`] of it
//! gives the same network (tested below), so it is both the "parameters as used" of a run's
//! summary and a way to save a network built in code.

use super::{Align, IExt, MonitorFormat, Network, NeuronModel, Output, Selection, Synapse, VInit, Weights};
use serde_json::{json, Map, Value};

fn v_init(v: &VInit) -> Value {
    match v {
        VInit::Scalar(x) => json!(x),
        VInit::PerNeuron(v) => json!(v),
        VInit::PerBatch(rows) => json!(rows),
        VInit::Normal { mean, sd, seed } => json!({"normal": [mean, sd], "seed": seed}),
    }
}

fn synapse(s: &Synapse) -> Value {
    let mut m = Map::new();
    m.insert("model".into(), json!(s.model_name()));
    for (k, v) in s.params() {
        m.insert(k.into(), v.map_or(Value::Null, |x| json!(x)));
    }
    Value::Object(m)
}

fn output(o: &Output) -> Value {
    match o {
        Output::Coba(c) => json!({"model": "coba", "E": c.e}),
        Output::Cuba => json!({"model": "cuba"}),
        Output::MgBlock(m) => json!({"model": "mg_block", "E": m.e, "cc_Mg": m.cc_mg, "alpha": m.alpha, "beta": m.beta, "V_offset": m.v_offset}),
    }
}

impl Network {
    /// The network as a network file's JSON value. With `with_connectivity == false` each
    /// projection's connectivity is summarised (`{"kind": "csr", "synapses": N}`) instead of
    /// listed, for reports; that form is not readable back.
    pub fn to_json_value(&self, with_connectivity: bool) -> Value {
        let pops: Vec<Value> = self
            .populations
            .iter()
            .map(|p| {
                let mut o = match &p.model {
                    NeuronModel::SpikeTimes(s) => {
                        let mut o = json!({"name": p.name, "model": "spike_times", "size": p.size, "indices": s.indices, "times": s.times});
                        if !s.rows.is_empty() {
                            o["rows"] = json!(s.rows);
                        }
                        o
                    }
                    NeuronModel::LifRef(l) => json!({"name": p.name, "model": "lif_ref", "size": p.size, "V_rest": l.v_rest, "V_th": l.v_th,
                        "V_reset": l.v_reset, "tau": l.tau, "tau_ref": l.tau_ref, "R": l.r, "V_init": v_init(&l.v_init)}),
                    NeuronModel::Lif(l) => json!({"name": p.name, "model": "lif", "size": p.size, "V_rest": l.v_rest, "V_th": l.v_th,
                        "V_reset": l.v_reset, "tau": l.tau, "R": l.r, "V_init": v_init(&l.v_init)}),
                };
                match &p.i_ext {
                    Some(IExt::Scalar(x)) => o["I_ext"] = json!(x),
                    Some(IExt::PerNeuron(v)) => o["I_ext"] = json!(v),
                    None => {}
                }
                o
            })
            .collect();
        let projs: Vec<Value> = self
            .projections
            .iter()
            .map(|p| {
                let conn = if with_connectivity {
                    json!({"kind": "csr", "indptr": p.conn.indptr, "indices": p.conn.indices})
                } else {
                    json!({"kind": "csr", "synapses": p.conn.nnz()})
                };
                let weight = match &p.weights {
                    Weights::Shared(w) => json!(w),
                    Weights::PerSynapse(w) if with_connectivity => json!(w),
                    Weights::PerSynapse(w) => json!({"per_synapse": w.len()}),
                };
                json!({
                    "name": p.name,
                    "pre": self.populations[p.pre].name,
                    "post": self.populations[p.post].name,
                    "synapse": synapse(&p.synapse),
                    "align": match p.align { Align::Pre => "pre", Align::Post => "post" },
                    "delay": match &p.delay_slots {
                        None => json!(p.delay_ms),
                        Some(d) if with_connectivity => json!({"steps": d}),
                        Some(d) => json!({"per_synapse": d.len(), "max_steps": d.iter().max().copied().unwrap_or(0)}),
                    },
                    "connectivity": conn,
                    "weight": weight,
                    "output": output(&p.output),
                })
            })
            .collect();
        let mut monitors = Map::new();
        for m in &self.monitors {
            let suffix = if m.format == MonitorFormat::Events { "_events" } else { "" };
            let target = format!("{}{suffix}", self.target_name(m.target));
            let v = match (&m.neurons, m.every) {
                (Selection::All, 1) => json!(target),
                (sel, every) => {
                    let mut o = json!({"target": target, "every": every});
                    match sel {
                        Selection::All => {}
                        Selection::Range { start, end } => o["neurons"] = json!(format!("{start}:{end}")),
                        Selection::List(l) => o["neurons"] = json!(l),
                    }
                    o
                }
            };
            monitors.insert(m.name.clone(), v);
        }
        let mut net = json!({"dt": self.dt, "steps": self.steps, "batch": self.batch, "populations": pops, "projections": projs, "monitors": monitors});
        if !self.inputs.is_empty() {
            let inputs: Vec<Value> = self
                .inputs
                .iter()
                .map(|i| {
                    json!({"name": i.name, "target": self.target_name(i.target), "num_input": i.num_input, "freq": i.freq_hz,
                        "weight": i.weight, "seed": i.seed, "law": i.law.name()})
                })
                .collect();
            net["poisson_inputs"] = json!(inputs);
        }
        net
    }

    /// The network as network-file text ([`Network::to_json_value`] with connectivity).
    pub fn to_json(&self) -> String {
        self.to_json_value(true).to_string()
    }
}

#[cfg(test)]
mod tests {
    use crate::model::file;

    /// Every golden case, the seed example and a network with every model, output and monitor
    /// form read back from its own JSON is the same network.
    #[test]
    fn to_json_round_trips() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
        let mut cases: Vec<_> = std::fs::read_dir(&dir).unwrap().chain(std::fs::read_dir(dir.join("models")).unwrap()).map(|e| e.unwrap().path()).collect();
        cases.retain(|p| p.extension().is_some_and(|e| e == "json"));
        assert!(cases.len() >= 8, "golden cases missing in {}", dir.display());
        cases.push(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ampa_seed.json"));
        for path in cases {
            let net = file::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let back = file::parse(&net.to_json()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(back, net, "{}", path.display());
        }
        let text = r#"{"dt": 0.05, "steps": 20, "batch": 2, "populations": [
            {"name": "s", "model": "poisson", "size": 5, "rate_hz": 500, "seed": 3, "per_row": true},
            {"name": "a", "model": "lif", "size": 4, "I_ext": [1, 2, 3, 4]},
            {"name": "b", "model": "lif_ref", "size": 4, "tau_ref": 2, "I_ext": 5, "V_init": [[1, 2, 3, 4], [5, 6, 7, 8]]},
            {"name": "c", "model": "lif_ref", "size": 3, "V_init": {"normal": [-55, 2], "seed": 9}}],
          "projections": [
            {"name": "p1", "pre": "s", "post": "a", "synapse": {"model": "dual_expon", "A": 2}, "connectivity": {"kind": "fixed_prob", "prob": 0.5, "seed": 1},
             "weight": 0.5, "output": {"model": "cuba"}, "delay": 0.3},
            {"name": "p2", "pre": "a", "post": "b", "synapse": {"model": "expon"}, "align": "post", "connectivity": {"kind": "fixed_prob", "prob": 0.5, "seed": 2},
             "weight": 0.5, "output": {"model": "mg_block"}},
            {"name": "p3", "pre": "b", "post": "b", "synapse": {"model": "nmda"}, "connectivity": {"kind": "csr", "indptr": [0, 1, 1, 2, 2], "indices": [1, 3]},
             "weight": [0.1, 0.2], "output": {"model": "coba", "E": -80}}],
          "poisson_inputs": [{"name": "bg", "target": "p2.g", "num_input": 300, "freq": 9.5, "weight": 0.25, "seed": 4, "law": "poisson"},
            {"target": "a.V", "num_input": 20, "freq": 40, "weight": -0.5}],
          "monitors": {"V": {"target": "b.V", "neurons": "1:3", "every": 2}, "e": "a.spike_events", "x": {"target": "p3.x", "neurons": [0, 2]}, "h": "p1.h"}}"#;
        let net = file::parse(text).unwrap();
        assert_eq!(file::parse(&net.to_json()).unwrap(), net);
    }
}
