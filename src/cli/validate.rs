//! `spikegpu validate`: what a network file holds, in words and units, and what a run of it
//! needs. By default the generated connectivity is counted, not drawn (a 2e9-synapse file
//! validates in milliseconds); `--build` builds the network and reports exact figures.

use super::{resources, run};
use serde_json::Value;
use spikegpu::model::estimate::{self, Estimate};
use spikegpu::plan::{Plan, UpdateMode};
use spikegpu::Result;
use std::path::PathBuf;

#[derive(clap::Args, Clone, Debug)]
pub(crate) struct ValidateArgs {
    /// The network file.
    pub network: PathBuf,
    /// Also build the network (draw the generated connectivity, compile the plan) and report
    /// exact synapse counts and memory; without it they are computed from the counts.
    #[arg(long)]
    pub build: bool,
    /// Where the outputs would go, for the free-disk report.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
}

/// The unit of a parameter, by field name and the model it belongs to.
fn unit(field: &str, model: &str) -> &'static str {
    match (field, model) {
        ("alpha", "mg_block") => "/mV",
        ("beta", "mg_block") => "mM",
        ("alpha", _) => "/(mM ms)",
        ("beta", _) => "/ms",
        ("a", _) => "/ms",
        ("dt" | "tau" | "tau_ref" | "T_dur" | "tau_decay" | "tau_rise" | "delay", _) => "ms",
        ("V_rest" | "V_th" | "V_reset" | "V_init" | "E" | "V_offset", _) => "mV",
        ("T" | "cc_Mg", _) => "mM",
        ("rate_hz", _) => "Hz",
        ("period_steps" | "phase_offset", _) => "steps",
        _ => "",
    }
}

/// A model's name in words.
fn model_words(m: &str) -> &str {
    match m {
        "lif_ref" => "LifRef (leaky integrate-and-fire, refractory)",
        "lif" => "Lif (leaky integrate-and-fire)",
        "spike_times" => "spike source (given spike times)",
        "poisson" => "spike source (Poisson)",
        "regular" => "spike source (regular)",
        "ampa" => "AMPA",
        "gabaa" => "GABAa",
        "expon" => "Expon",
        "dual_expon" => "DualExpon",
        "dual_expon_v2" => "DualExponV2",
        "alpha" => "Alpha",
        "nmda" => "NMDA",
        "coba" => "COBA",
        "cuba" => "CUBA",
        "mg_block" => "MgBlock",
        other => other,
    }
}

/// A JSON value in words: a number with its unit, a summarised list, `A: null` as BrainPy's
/// normaliser.
fn value_words(field: &str, model: &str, v: &Value) -> String {
    let u = unit(field, model);
    let with_unit = |s: String| if u.is_empty() { s } else { format!("{s} {u}") };
    match v {
        Value::Number(n) => with_unit(num(n.as_f64().unwrap_or(f64::NAN))),
        Value::Null if field == "A" => "normalised to a peak of 1 (BrainPy's default)".into(),
        Value::Null => "none".into(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.len() > 8 => {
            let v: Vec<f64> = a.iter().filter_map(Value::as_f64).collect();
            match (v.iter().copied().reduce(f64::min), v.iter().copied().reduce(f64::max)) {
                (Some(lo), Some(hi)) if v.len() == a.len() => with_unit(format!("{} values from {} to {}", a.len(), num(lo), num(hi))),
                _ => format!("{} values", a.len()),
            }
        }
        Value::Array(a) => {
            let nums: Vec<String> = a.iter().map(|x| x.as_f64().map_or_else(|| x.to_string(), num)).collect();
            with_unit(format!("[{}]", nums.join(", ")))
        }
        Value::Object(o) if o.contains_key("list") => {
            let n = o["list"].as_u64().unwrap_or(0);
            match (o.get("min").and_then(Value::as_f64), o.get("max").and_then(Value::as_f64)) {
                (Some(lo), Some(hi)) => with_unit(format!("{n} values from {} to {}", num(lo), num(hi))),
                _ => format!("{n} values"),
            }
        }
        Value::Object(o) if o.contains_key("normal") => {
            let ms = o["normal"].as_array().cloned().unwrap_or_default();
            let f = |k: usize| ms.get(k).and_then(Value::as_f64).map_or("?".into(), num);
            let redraw = if o.get("redraw_sign") == Some(&Value::Bool(true)) { ", a draw of the other sign redrawn" } else { "" };
            let seed = o.get("seed").map_or("0".into(), |s| s.to_string());
            let per = o.get("per_synapse").map_or(String::new(), |n| format!(", one per synapse ({n})"));
            format!("normal, mean {}, sd {}, seed {seed}{redraw}{per}", with_unit(f(0)), with_unit(f(1)))
        }
        Value::Object(o) if o.contains_key("per_synapse") => format!("one per synapse ({})", o["per_synapse"]),
        Value::Object(_) => v.to_string(),
    }
}

/// A number as a person writes it: f32 values widened to f64 print as their short f32 form.
fn num(x: f64) -> String {
    let short = format!("{}", x as f32);
    match short.parse::<f64>() {
        Ok(y) if (y - x).abs() <= 1e-6 * x.abs() => short,
        _ => format!("{x}"),
    }
}

/// `key value unit` for each field of `o` except `skip`.
fn fields(o: &Value, model: &str, skip: &[&str]) -> String {
    o.as_object()
        .map(|m| m.iter().filter(|(k, _)| !skip.contains(&k.as_str())).map(|(k, v)| format!("{k} {}", value_words(k, model, v))).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn size(b: u64) -> String {
    let mib = b as f64 / (1 << 20) as f64;
    if mib >= 1024.0 {
        format!("{:.2} GiB", mib / 1024.0)
    } else if mib >= 1.0 {
        format!("{mib:.1} MiB")
    } else {
        format!("{:.1} KiB", b as f64 / 1024.0)
    }
}

pub(crate) fn validate(a: &ValidateArgs) -> Result<()> {
    let (text, _) = run::read_network(&a.network)?;
    let builder = estimate::parse_builder(&text)?;
    drop(text);
    let preview = builder.preview()?;
    let mut e: Estimate = preview.estimate.clone();
    let mut warnings = preview.warnings.clone();
    let mut state_exact = None;
    if a.build {
        // building allocates what the counts say: refused first when it cannot fit
        resources::check_memory(&e, api_chunk(), 0)?;
        let net = builder.into_network()?;
        warnings = net.warnings();
        for (p, built) in e.projections.iter_mut().zip(&net.projections) {
            p.synapses = built.conn.nnz() as u64;
            p.exact = true;
        }
        state_exact = Some(Plan::from_network(net, UpdateMode::Dense)?.state_bytes());
    }
    let p = &preview.parameters;
    println!(
        "{}: valid{}",
        a.network.display(),
        if a.build { " (built)" } else { " (generated connectivity counted, not drawn; --build draws it)" }
    );
    let steps = p["steps"].as_u64().unwrap_or(0);
    let dt = p["dt"].as_f64().unwrap_or(0.0);
    println!("clock: dt {} ms, {} ({} ms), batch {}", num(dt), plural(steps, "step", "steps"), num(steps as f64 * dt), p["batch"]);
    for (i, pop) in p["populations"].as_array().into_iter().flatten().enumerate() {
        let model = pop["model"].as_str().unwrap_or("");
        let n = pop["size"].as_u64().unwrap_or(0);
        let detail = match model {
            "spike_times" => {
                let events = e.populations.get(i).map_or(0, |c| c.events);
                let times = &pop["times"];
                let span = match times {
                    Value::Object(o) => o.get("min").zip(o.get("max")).map(|(lo, hi)| (lo.as_f64(), hi.as_f64())),
                    Value::Array(t) if !t.is_empty() => {
                        let v: Vec<f64> = t.iter().filter_map(Value::as_f64).collect();
                        Some((v.iter().copied().reduce(f64::min), v.iter().copied().reduce(f64::max)))
                    }
                    _ => None,
                };
                let span = match span {
                    Some((Some(lo), Some(hi))) => format!(", at {} to {} ms", num(lo), num(hi)),
                    _ => String::new(),
                };
                let rows = if pop.get("rows").is_some() { ", each in its own batch row" } else { "" };
                format!("{}{span}{rows}", plural(events, "spike event", "spike events"))
            }
            "poisson" => format!(
                "{}, about {} over the run",
                fields(pop, model, &["name", "model", "size", "expected_events"]),
                plural(pop["expected_events"].as_u64().unwrap_or(0), "spike", "spikes")
            ),
            "regular" => format!("{}, {}", fields(pop, model, &["name", "model", "size", "events"]), plural(pop["events"].as_u64().unwrap_or(0), "spike", "spikes")),
            _ => fields(pop, model, &["name", "model", "size"]),
        };
        println!("population \"{}\": {}, {}: {detail}", pop["name"].as_str().unwrap_or(""), model_words(model), plural(n, "neuron", "neurons"));
    }
    for (i, proj) in p["projections"].as_array().into_iter().flatten().enumerate() {
        let syn = &proj["synapse"];
        let smodel = syn["model"].as_str().unwrap_or("");
        let out = &proj["output"];
        let omodel = out["model"].as_str().unwrap_or("");
        let count = &e.projections[i];
        let conn = &proj["connectivity"];
        let conn_words = match conn["kind"].as_str().unwrap_or("") {
            "fixed_prob" => format!(
                "fixed_prob {} (seed {}, {} per pre neuron{})",
                conn["prob"],
                conn["seed"],
                plural(conn["targets_per_pre"].as_u64().unwrap_or(0), "target", "targets"),
                if conn["include_self"] == Value::Bool(false) { ", self pairs dropped" } else { "" }
            ),
            "all_to_all" => format!("all to all{}", if conn["include_self"] == Value::Bool(false) { " without self pairs" } else { "" }),
            "fixed_total_number" => format!("fixed_total_number {} (seed {}, pairs drawn with replacement)", conn["n"], conn["seed"]),
            _ => "explicit CSR".into(),
        };
        let syns = if count.exact { plural(count.synapses, "synapse", "synapses") } else { format!("at most {} synapses (self pairs are dropped when drawn)", count.synapses) };
        let delay = match proj["delay"].as_f64() {
            None if proj["delay"].get("normal").is_some() => {
                let d = &proj["delay"];
                let f = |k: usize| d["normal"].get(k).and_then(Value::as_f64).map_or("?".into(), num);
                format!(
                    "per-synapse delays drawn from a normal distribution (mean {} ms, sd {} ms, draws below {} ms redrawn, seed {})",
                    f(0),
                    f(1),
                    d["min"].as_f64().map_or("?".into(), num),
                    d["seed"]
                )
            }
            None if proj["delay"].get("per_synapse").is_some() => {
                let d = &proj["delay"];
                match d.get("max_steps") {
                    Some(m) => format!("per-synapse delays ({} values, up to {m} steps)", d["per_synapse"]),
                    None => format!("per-synapse delays ({} values)", d["per_synapse"]),
                }
            }
            None => "no delay".to_string(),
            Some(d) => {
                let lag = count.lag;
                format!("delay {} ms (reads the value of {} before)", num(d), plural(lag as u64, "step", "steps"))
            }
        };
        let sparams = fields(syn, smodel, &["model"]);
        let oparams = fields(out, omodel, &["model"]);
        println!(
            "projection \"{}\": {} -> {}, {} aligned {}{}, {delay}, {conn_words}, {syns}, weight {}, {} output{}",
            proj["name"].as_str().unwrap_or(""),
            proj["pre"].as_str().unwrap_or(""),
            proj["post"].as_str().unwrap_or(""),
            model_words(smodel),
            proj["align"].as_str().unwrap_or("pre"),
            if sparams.is_empty() { String::new() } else { format!(" ({sparams})") },
            value_words("weight", "", &proj["weight"]),
            model_words(omodel),
            if oparams.is_empty() { String::new() } else { format!(" ({oparams})") },
        );
    }
    for i in p["poisson_inputs"].as_array().into_iter().flatten() {
        let (k, freq) = (i["num_input"].as_u64().unwrap_or(0), i["freq"].as_f64().unwrap_or(0.0));
        println!(
            "poisson input \"{}\": {} of {} Hz per neuron into {}, weight {}, {} law (mean {} per neuron and step), seed {}",
            i["name"].as_str().unwrap_or(""),
            plural(k, "source", "sources"),
            num(freq),
            i["target"].as_str().unwrap_or(""),
            num(i["weight"].as_f64().unwrap_or(0.0)),
            i["law"].as_str().unwrap_or(""),
            num(k as f64 * freq * dt / 1000.0),
            i["seed"],
        );
    }
    for (m, (name, target)) in e.monitors.iter().zip(p["monitors"].as_object().into_iter().flatten()) {
        let target_words = match target {
            Value::String(s) => s.clone(),
            Value::Object(o) => {
                let mut s = o.get("target").and_then(Value::as_str).unwrap_or("").to_string();
                if let Some(n) = o.get("neurons") {
                    s += &format!(", neurons {}", n.as_str().map(String::from).unwrap_or_else(|| n.to_string()));
                }
                if let Some(k) = o.get("every").and_then(Value::as_u64).filter(|&k| k > 1) {
                    s += &format!(", every {k} steps");
                }
                s
            }
            _ => target.to_string(),
        };
        let data = match m.bytes() {
            Some(b) => format!("{} x {} {}, {}", m.rows, m.width, if m.spikes { "u8" } else { "f32" }, size(b)),
            None => "spike events (step, [batch row,] neuron), int32; size known after the run".into(),
        };
        println!("monitor \"{name}\": {target_words}: {data}");
    }
    let state = state_exact.unwrap_or_else(|| e.state_bytes() + e.connectivity_bytes());
    println!("synapses: {}{}", e.synapses(), if e.projections.iter().all(|p| p.exact) { "" } else { " at most" });
    println!(
        "memory: {} of state and connectivity{}; the host peaks near {} while the network is built; \
         the GPU engine holds the state and connectivity plus {} of monitor buffers per 1000-step chunk (x3: device and two staging buffers)",
        size(state),
        if state_exact.is_some() { "" } else { " (estimated)" },
        size(e.host_peak_bytes(api_chunk())),
        size(e.chunk_bytes(1000))
    );
    let avail = resources::available_memory();
    let disk = resources::free_disk_bytes(&std::path::absolute(&a.out).unwrap_or_else(|_| a.out.clone()));
    println!(
        "outputs: {} of .npy files{}; free: {} of memory ({}), {} of disk at {}",
        size(e.output_bytes()),
        if e.monitors.iter().any(|m| m.events) { " plus the spike events" } else { "" },
        avail.map_or("?".into(), |(b, _)| size(b)),
        avail.map_or("unknown", |(_, w)| w),
        disk.map_or("?".into(), size),
        a.out.display()
    );
    run::print_lines("warning", &warnings);
    Ok(())
}

fn api_chunk() -> usize {
    spikegpu::api::DEFAULT_CHUNK_STEPS
}
