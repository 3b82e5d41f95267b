//! Range and consistency checks of a [`Network`]: the one place they live (the file reader and
//! the builder both end here).

use super::{Align, IExt, MonitorFormat, Network, NeuronModel, Output, Selection, Synapse, Target, VInit, Weights};
use crate::error::{Error, Result};
use std::collections::HashSet;

/// Step indices travel as u32 on the GPU and in the per-step tables; stay well inside.
pub const MAX_STEPS: usize = i32::MAX as usize;

/// Bound on the per-step event tables the plan keeps for spike sources.
pub const MAX_STEP_TABLE_BYTES: u64 = 2 << 30;

/// Monitors stream to disk chunk by chunk, so memory does not bound `steps`; this bound catches
/// a mistyped `steps` before it fills a disk.
pub const MAX_OUTPUT_BYTES: u64 = 1 << 40;

fn finite(path: impl Into<String>, x: f32) -> Result<()> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(Error::invalid(path, format!("{x} is not a finite number")))
    }
}

/// [`finite`] over a slice; `path(k)` names element `k` and is only built for the bad one, so
/// millions of good values cost no formatting.
fn all_finite(xs: &[f32], path: impl Fn(usize) -> String) -> Result<()> {
    match xs.iter().position(|x| !x.is_finite()) {
        Some(k) => finite(path(k), xs[k]),
        None => Ok(()),
    }
}

fn positive(path: &str, x: f32) -> Result<()> {
    finite(path, x)?;
    if x > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(path, format!("must be > 0, got {x}")))
    }
}

fn non_negative(path: &str, x: f32) -> Result<()> {
    finite(path, x)?;
    if x >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(path, format!("must be >= 0, got {x}")))
    }
}

/// `dt`, `steps` and `batch`: checked first, because generated sources expand over them.
/// A connectivity of `nnz` synapses (`how` says how they were counted) that 32-bit offsets
/// cannot index; `at` names the field.
pub(crate) fn too_many_synapses(at: String, nnz: u64, how: String) -> Error {
    Error::invalid(at, format!("{how} = {nnz} synapses: more than a projection can index with 32 bits"))
}

/// `fixed_total_number`'s `n` between populations of `n_pre` and `n_post` neurons; `path` names
/// the connectivity (checked by the build and by the preview that does not draw it).
pub(crate) fn check_total_number(path: &str, n: u64, n_pre: usize, n_post: usize) -> Result<()> {
    if n > u32::MAX as u64 {
        return Err(too_many_synapses(format!("{path}.n"), n, "n".into()));
    }
    if n > 0 && (n_pre == 0 || n_post == 0) {
        return Err(Error::invalid(format!("{path}.n"), format!("{n} synapses between populations of {n_pre} and {n_post} neurons")));
    }
    Ok(())
}

/// Per-synapse delays on a projection that is not aligned post; `at` names the delay field.
pub(crate) fn per_synapse_delays_need_post(at: String) -> Error {
    Error::invalid(at, "per-synapse delays need \"align\": \"post\" (a pre-aligned state is one per pre neuron, delayed as one)")
}

pub(crate) fn check_clock(dt: f64, steps: usize, batch: usize) -> Result<()> {
    if !(dt.is_finite() && dt > 0.0 && (dt as f32) > 0.0) {
        return Err(Error::invalid("dt", format!("must be a finite number > 0 (ms), got {dt}")));
    }
    if steps == 0 {
        return Err(Error::invalid("steps", "must be at least 1, got 0"));
    }
    if steps > MAX_STEPS {
        return Err(Error::invalid("steps", format!("{steps} is too large (at most {MAX_STEPS})")));
    }
    if batch == 0 {
        return Err(Error::invalid("batch", "must be at least 1, got 0"));
    }
    Ok(())
}

/// Names: present and unique among populations, unique among projections, and no projection
/// named like a population (a monitor target such as `x.current` would be ambiguous). Run
/// before monitor targets are resolved by name.
pub(crate) fn check_names(populations: &[super::Population], projections: &[super::Projection]) -> Result<()> {
    let mut pop_names = HashSet::new();
    for (i, p) in populations.iter().enumerate() {
        let path = format!("populations[{i}]");
        if p.name.is_empty() {
            return Err(Error::invalid(format!("{path}.name"), "must not be empty"));
        }
        if !pop_names.insert(p.name.as_str()) {
            return Err(Error::invalid(format!("{path}.name"), format!("duplicate name \"{}\"", p.name)));
        }
    }
    let mut proj_names = HashSet::new();
    for (i, p) in projections.iter().enumerate() {
        let path = format!("projections[{i}]");
        if p.name.is_empty() {
            return Err(Error::invalid(format!("{path}.name"), "must not be empty"));
        }
        if !proj_names.insert(p.name.as_str()) {
            return Err(Error::invalid(format!("{path}.name"), format!("duplicate name \"{}\"", p.name)));
        }
        if pop_names.contains(p.name.as_str()) {
            return Err(Error::invalid(
                format!("{path}.name"),
                format!("\"{}\" is already the name of a population (monitor targets would be ambiguous)", p.name),
            ));
        }
    }
    Ok(())
}

fn check_v_init(path: &str, v_init: &VInit, size: usize, batch: usize) -> Result<()> {
    match v_init {
        VInit::Scalar(v) => finite(format!("{path}.V_init"), *v),
        VInit::Normal { mean, sd, .. } => {
            finite(format!("{path}.V_init.normal[0]"), *mean)?;
            non_negative(&format!("{path}.V_init.normal[1]"), *sd)
        }
        VInit::PerNeuron(v) => {
            if v.len() != size {
                return Err(Error::invalid(format!("{path}.V_init"), format!("has {} values, expected {size} (one per neuron)", v.len())));
            }
            all_finite(v, |k| format!("{path}.V_init[{k}]"))
        }
        VInit::PerBatch(rows) => {
            if rows.len() != batch {
                return Err(Error::invalid(format!("{path}.V_init"), format!("has {} rows, expected {batch} (one per batch copy)", rows.len())));
            }
            for (b, row) in rows.iter().enumerate() {
                if row.len() != size {
                    return Err(Error::invalid(
                        format!("{path}.V_init[{b}]"),
                        format!("has {} values, expected {size} (one per neuron)", row.len()),
                    ));
                }
                all_finite(row, |k| format!("{path}.V_init[{b}][{k}]"))?;
            }
            Ok(())
        }
    }
}

fn check_synapse(sp: &str, s: &Synapse) -> Result<()> {
    match *s {
        Synapse::Ampa(k) | Synapse::Gabaa(k) => {
            non_negative(&format!("{sp}.alpha"), k.alpha)?;
            positive(&format!("{sp}.beta"), k.beta)?;
            non_negative(&format!("{sp}.T"), k.t_conc)?;
            non_negative(&format!("{sp}.T_dur"), k.t_dur)?;
        }
        Synapse::Expon { tau } => positive(&format!("{sp}.tau"), tau)?,
        Synapse::DualExpon { tau_decay, tau_rise, a } | Synapse::DualExponV2 { tau_decay, tau_rise, a } => {
            positive(&format!("{sp}.tau_decay"), tau_decay)?;
            positive(&format!("{sp}.tau_rise"), tau_rise)?;
            if let Some(a) = a {
                finite(format!("{sp}.A"), a)?;
            } else if matches!(s, Synapse::DualExponV2 { .. }) && tau_rise == tau_decay {
                // BrainPy's normaliser divides by tau_decay - tau_rise and raises ValueError
                return Err(Error::invalid(
                    format!("{sp}.A"),
                    "dual_expon_v2 cannot normalise its peak when tau_rise == tau_decay: give A explicitly",
                ));
            }
        }
        Synapse::Alpha { tau_decay } => positive(&format!("{sp}.tau_decay"), tau_decay)?,
        Synapse::Nmda { a, tau_decay, tau_rise } => {
            non_negative(&format!("{sp}.a"), a)?;
            positive(&format!("{sp}.tau_decay"), tau_decay)?;
            positive(&format!("{sp}.tau_rise"), tau_rise)?;
        }
    }
    Ok(())
}

fn check_output(op: &str, o: &Output) -> Result<()> {
    match *o {
        Output::Coba(c) => finite(format!("{op}.E"), c.e),
        Output::Cuba => Ok(()),
        Output::MgBlock(m) => {
            for (field, x) in [("E", m.e), ("cc_Mg", m.cc_mg), ("alpha", m.alpha), ("V_offset", m.v_offset)] {
                finite(format!("{op}.{field}"), x)?;
            }
            non_negative(&format!("{op}.cc_Mg"), m.cc_mg)?;
            positive(&format!("{op}.beta"), m.beta)
        }
    }
}

impl Network {
    /// Checks everything an engine relies on. Errors name the field (`populations[1].tau`) and
    /// the problem.
    pub fn validate(&self) -> Result<()> {
        check_clock(self.dt, self.steps, self.batch)?;
        // the plan keeps a per-step offset table per spike source (and one merged for the GPU)
        let sources = self.populations.iter().filter(|p| !p.is_lif()).count() as u64;
        let table_bytes = (self.steps as u64 + 1) * 4 * (sources + 1);
        if sources > 0 && table_bytes > MAX_STEP_TABLE_BYTES {
            return Err(Error::invalid(
                "steps",
                format!(
                    "{} steps need {table_bytes} bytes of per-step spike tables for {sources} spike source(s), more than {MAX_STEP_TABLE_BYTES}; run fewer steps",
                    self.steps
                ),
            ));
        }
        check_names(&self.populations, &self.projections)?;
        for (i, p) in self.populations.iter().enumerate() {
            let path = format!("populations[{i}]");
            if p.size == 0 {
                return Err(Error::invalid(format!("{path}.size"), "must be at least 1, got 0"));
            }
            if (p.size as u64).saturating_mul(self.batch as u64) > u32::MAX as u64 / 4 {
                return Err(Error::invalid(
                    format!("{path}.size"),
                    format!("{} neurons x batch {} is too large (state is indexed with 32 bits)", p.size, self.batch),
                ));
            }
            let lif = |v_rest: f32, v_th: f32, v_reset: f32, r: f32, tau: f32, v_init: &VInit| -> Result<()> {
                for (field, x) in [("V_rest", v_rest), ("V_th", v_th), ("V_reset", v_reset), ("R", r)] {
                    finite(format!("{path}.{field}"), x)?;
                }
                positive(&format!("{path}.tau"), tau)?;
                check_v_init(&path, v_init, p.size, self.batch)
            };
            match &p.model {
                NeuronModel::SpikeTimes(s) => {
                    if s.indices.len() != s.times.len() {
                        return Err(Error::invalid(
                            format!("{path}.times"),
                            format!("has {} entries but indices has {}", s.times.len(), s.indices.len()),
                        ));
                    }
                    if let Some(k) = s.indices.iter().position(|&ix| ix as usize >= p.size) {
                        return Err(Error::invalid(
                            format!("{path}.indices[{k}]"),
                            format!("{} is out of range for population \"{}\" (size {})", s.indices[k], p.name, p.size),
                        ));
                    }
                    all_finite(&s.times, |k| format!("{path}.times[{k}]"))?;
                    if !s.rows.is_empty() && s.rows.len() != s.indices.len() {
                        return Err(Error::invalid(
                            format!("{path}.rows"),
                            format!("has {} entries but indices has {} (one batch row per event, or none)", s.rows.len(), s.indices.len()),
                        ));
                    }
                    if let Some(k) = s.rows.iter().position(|&b| b as usize >= self.batch) {
                        return Err(Error::invalid(format!("{path}.rows[{k}]"), format!("{} is out of range for batch {}", s.rows[k], self.batch)));
                    }
                    if p.i_ext.is_some() {
                        return Err(Error::invalid(format!("{path}.I_ext"), "a spike source takes no input current"));
                    }
                }
                NeuronModel::LifRef(l) => {
                    lif(l.v_rest, l.v_th, l.v_reset, l.r, l.tau, &l.v_init)?;
                    non_negative(&format!("{path}.tau_ref"), l.tau_ref)?;
                }
                NeuronModel::Lif(l) => lif(l.v_rest, l.v_th, l.v_reset, l.r, l.tau, &l.v_init)?,
            }
            match &p.i_ext {
                None => {}
                Some(IExt::Scalar(x)) => finite(format!("{path}.I_ext"), *x)?,
                Some(IExt::PerNeuron(v)) => {
                    if v.len() != p.size {
                        return Err(Error::invalid(format!("{path}.I_ext"), format!("has {} values, expected {} (one per neuron)", v.len(), p.size)));
                    }
                    all_finite(v, |k| format!("{path}.I_ext[{k}]"))?;
                }
            }
        }
        for (i, p) in self.projections.iter().enumerate() {
            let path = format!("projections[{i}]");
            if p.pre >= self.populations.len() {
                return Err(Error::invalid(format!("{path}.pre"), format!("unknown population #{}", p.pre)));
            }
            if p.post >= self.populations.len() {
                return Err(Error::invalid(format!("{path}.post"), format!("unknown population #{}", p.post)));
            }
            let (pre, post) = (&self.populations[p.pre], &self.populations[p.post]);
            if !post.is_lif() {
                return Err(Error::invalid(
                    format!("{path}.post"),
                    format!("\"{}\" is a spike source; a projection must end on a lif_ref or lif population", post.name),
                ));
            }
            check_synapse(&format!("{path}.synapse"), &p.synapse)?;
            if p.align == Align::Post && !p.synapse.allows_post_alignment() {
                return Err(Error::invalid(
                    format!("{path}.align"),
                    format!(
                        "a {} synapse cannot be aligned post (BrainPy's ProjAlignPostMg2 needs add_current: expon and dual_expon_v2 have it)",
                        p.synapse.model_name()
                    ),
                ));
            }
            if let Some(slots) = &p.delay_slots {
                if p.align != Align::Post {
                    return Err(per_synapse_delays_need_post(format!("{path}.delay")));
                }
                if p.delay_ms.is_some() {
                    return Err(Error::invalid(format!("{path}.delay"), "has both a projection delay and per-synapse delays"));
                }
                if slots.len() != p.conn.nnz() {
                    return Err(Error::invalid(
                        format!("{path}.delay"),
                        format!("has {} values, but the connectivity has {} synapses", slots.len(), p.conn.nnz()),
                    ));
                }
            }
            if let Some(d) = p.delay_ms {
                if !d.is_finite() || d < 0.0 {
                    return Err(Error::invalid(format!("{path}.delay"), format!("must be a finite number >= 0 ms or null, got {d}")));
                }
                if (d / self.dt).ceil() > 1e7 {
                    return Err(Error::invalid(
                        format!("{path}.delay"),
                        format!("{d} ms is {} steps of dt = {}; at most 1e7 steps are supported", (d / self.dt).ceil(), self.dt),
                    ));
                }
            }
            if p.conn.n_rows != pre.size || p.conn.n_cols != post.size {
                return Err(Error::invalid(
                    format!("{path}.connectivity"),
                    format!(
                        "is {}x{}, but \"{}\" has {} neurons and \"{}\" has {}",
                        p.conn.n_rows, p.conn.n_cols, pre.name, pre.size, post.name, post.size
                    ),
                ));
            }
            p.conn.check(&format!("{path}.connectivity"), &pre.name, &post.name)?;
            match &p.weights {
                Weights::Shared(w) => finite(format!("{path}.weight"), *w)?,
                Weights::PerSynapse(w) => {
                    if w.len() != p.conn.nnz() {
                        return Err(Error::invalid(
                            format!("{path}.weight"),
                            format!("has {} values, but the connectivity has {} synapses", w.len(), p.conn.nnz()),
                        ));
                    }
                    all_finite(w, |k| format!("{path}.weight[{k}]"))?;
                }
            }
            check_output(&format!("{path}.output"), &p.output)?;
        }
        self.check_monitors()?;
        self.check_inputs()
    }

    fn check_inputs(&self) -> Result<()> {
        let mut names = HashSet::new();
        for (k, i) in self.inputs.iter().enumerate() {
            let path = format!("poisson_inputs[{k}]");
            if i.name.is_empty() {
                return Err(Error::invalid(format!("{path}.name"), "must not be empty"));
            }
            if !names.insert(i.name.as_str()) {
                return Err(Error::invalid(format!("{path}.name"), format!("duplicate Poisson input name \"{}\"", i.name)));
            }
            let target = format!("{path}.target");
            match i.target {
                Target::PopV(p) if p < self.populations.len() && self.populations[p].is_lif() => {}
                Target::ProjG(p) if p < self.projections.len() && self.projections[p].align == Align::Post => {}
                Target::ProjG(p) if p < self.projections.len() => {
                    return Err(Error::invalid(
                        target,
                        format!(
                            "\"{}\" is aligned pre: its g is one value per pre neuron; a Poisson input adds to a post-aligned projection's g or to a population's V",
                            self.projections[p].name
                        ),
                    ));
                }
                Target::PopV(p) if p < self.populations.len() => {
                    return Err(Error::invalid(target, format!("\"{}\" is a spike source: it has no V", self.populations[p].name)));
                }
                Target::PopV(_) | Target::ProjG(_) => return Err(Error::invalid(target, "names no population or projection of the network")),
                _ => {
                    return Err(Error::invalid(
                        target,
                        format!("\"{}\" cannot take input: use <population>.V or <post-aligned projection>.g", self.target_name(i.target)),
                    ))
                }
            }
            if i.num_input == 0 {
                return Err(Error::invalid(format!("{path}.num_input"), "must be at least 1, got 0"));
            }
            if !(i.freq_hz.is_finite() && i.freq_hz >= 0.0) {
                return Err(Error::invalid(format!("{path}.freq"), format!("must be a finite number >= 0 (Hz), got {}", i.freq_hz)));
            }
            finite(format!("{path}.weight"), i.weight)?;
            let p = i.freq_hz * self.dt / 1000.0;
            if let Err(why) = super::counts::CountTable::new(i.law, i.num_input, p) {
                let field = if i.num_input > u32::MAX as u64 / 2 { "num_input" } else { "freq" };
                return Err(Error::invalid(format!("{path}.{field}"), format!("{why} ({} sources at {} Hz, dt = {} ms)", i.num_input, i.freq_hz, self.dt)));
            }
        }
        Ok(())
    }

    fn check_monitors(&self) -> Result<()> {
        let mut names = HashSet::new();
        let mut out_bytes: u64 = 0;
        for m in &self.monitors {
            let path = format!("monitors.{}", m.name);
            if m.name.is_empty() || m.name.starts_with('.') || !m.name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
                return Err(Error::invalid(path, "a monitor name must be a file name of letters, digits, '_', '-' and '.'"));
            }
            if !names.insert(m.name.as_str()) {
                return Err(Error::invalid(path, "duplicate monitor name"));
            }
            let size = match m.target {
                Target::ProjG(p) | Target::ProjCurrent(p) | Target::ProjState(p, _) if p >= self.projections.len() => {
                    return Err(Error::invalid(path, format!("unknown projection #{p}")));
                }
                Target::PopV(i) | Target::PopCurrent(i) | Target::PopInput(i) | Target::PopSpike(i) if i >= self.populations.len() => {
                    return Err(Error::invalid(path, format!("unknown population #{i}")));
                }
                Target::PopV(i) | Target::PopCurrent(i) | Target::PopInput(i) if !self.populations[i].is_lif() => {
                    return Err(Error::invalid(
                        path,
                        format!("\"{}\" is a spike source: only its spikes can be recorded (.spike())", self.populations[i].name),
                    ));
                }
                Target::ProjState(p, s) if !self.projections[p].synapse.extra_states().contains(&s) => {
                    let syn = &self.projections[p].synapse;
                    return Err(Error::invalid(path, format!("a {} synapse has no state {}", syn.model_name(), s.name())));
                }
                Target::ProjG(p) | Target::ProjState(p, _) => {
                    let proj = &self.projections[p];
                    let side = if proj.align == Align::Post { proj.post } else { proj.pre };
                    self.populations[side].size
                }
                Target::ProjCurrent(p) => self.populations[self.projections[p].post].size,
                Target::PopV(i) | Target::PopCurrent(i) | Target::PopInput(i) | Target::PopSpike(i) => self.populations[i].size,
            };
            if m.format == MonitorFormat::Events && !matches!(m.target, Target::PopSpike(_)) {
                return Err(Error::invalid(path, "only spikes (<population>.spike_events) can be stored as events"));
            }
            if m.every == 0 {
                return Err(Error::invalid(format!("{path}.every"), "must be at least 1, got 0"));
            }
            let n = match &m.neurons {
                Selection::All => size,
                Selection::Range { start, end } => {
                    if start >= end || *end as usize > size {
                        return Err(Error::invalid(
                            format!("{path}.neurons"),
                            format!("{start}:{end} is not a non-empty range inside 0:{size} (end exclusive)"),
                        ));
                    }
                    (end - start) as usize
                }
                Selection::List(list) => {
                    if list.is_empty() {
                        return Err(Error::invalid(format!("{path}.neurons"), "must name at least one neuron"));
                    }
                    if let Some(k) = list.iter().position(|&j| j as usize >= size) {
                        return Err(Error::invalid(format!("{path}.neurons[{k}]"), format!("{} is out of range (size {size})", list[k])));
                    }
                    list.len()
                }
            };
            let rows = self.steps.div_ceil(m.every) as u64;
            let bytes = (n as u64).saturating_mul(self.batch as u64).saturating_mul(rows).saturating_mul(4);
            out_bytes = out_bytes.saturating_add(bytes);
        }
        if out_bytes > MAX_OUTPUT_BYTES {
            return Err(Error::invalid(
                "steps",
                format!("{} steps would write {out_bytes} bytes of monitors (at most {MAX_OUTPUT_BYTES}); record fewer steps or variables", self.steps),
            ));
        }
        Ok(())
    }
}
