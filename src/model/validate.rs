//! Range and consistency checks of a [`Network`], shared by the file reader and the builder.

use super::{Network, NeuronModel, Target, VInit, Weights};
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

/// Projection names: present, unique, and not a population's name (a monitor target such as
/// `x.current` would be ambiguous). Run by the file reader before it resolves monitor targets.
pub(crate) fn check_names(populations: &[super::Population], projections: &[super::Projection]) -> Result<()> {
    let pop_names: HashSet<&str> = populations.iter().map(|p| p.name.as_str()).collect();
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

impl Network {
    /// Checks everything a backend relies on. Errors name the field (`populations[1].tau`) and
    /// the problem.
    pub fn validate(&self) -> Result<()> {
        if !(self.dt.is_finite() && self.dt > 0.0 && (self.dt as f32) > 0.0) {
            return Err(Error::invalid("dt", format!("must be a finite number > 0 (ms), got {}", self.dt)));
        }
        if self.steps == 0 {
            return Err(Error::invalid("steps", "must be at least 1, got 0"));
        }
        if self.steps > MAX_STEPS {
            return Err(Error::invalid("steps", format!("{} is too large (at most {MAX_STEPS})", self.steps)));
        }
        // the plan keeps a per-step offset table per spike source (and one merged for the GPU)
        let sources = self.populations.iter().filter(|p| p.lif().is_none()).count() as u64;
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
        if self.batch == 0 {
            return Err(Error::invalid("batch", "must be at least 1, got 0"));
        }
        let mut names = HashSet::new();
        for (i, p) in self.populations.iter().enumerate() {
            let path = format!("populations[{i}]");
            if p.name.is_empty() {
                return Err(Error::invalid(format!("{path}.name"), "must not be empty"));
            }
            if !names.insert(p.name.as_str()) {
                return Err(Error::invalid(format!("{path}.name"), format!("duplicate name \"{}\"", p.name)));
            }
            if p.size == 0 {
                return Err(Error::invalid(format!("{path}.size"), "must be at least 1, got 0"));
            }
            if (p.size as u64).saturating_mul(self.batch as u64) > u32::MAX as u64 / 4 {
                return Err(Error::invalid(
                    format!("{path}.size"),
                    format!("{} neurons x batch {} is too large (state is indexed with 32 bits)", p.size, self.batch),
                ));
            }
            match &p.model {
                NeuronModel::SpikeTimes(s) => {
                    if s.indices.len() != s.times.len() {
                        return Err(Error::invalid(
                            format!("{path}.times"),
                            format!("has {} entries but indices has {}", s.times.len(), s.indices.len()),
                        ));
                    }
                    for (k, &ix) in s.indices.iter().enumerate() {
                        if ix as usize >= p.size {
                            return Err(Error::invalid(
                                format!("{path}.indices[{k}]"),
                                format!("{ix} is out of range for population \"{}\" (size {})", p.name, p.size),
                            ));
                        }
                    }
                    all_finite(&s.times, |k| format!("{path}.times[{k}]"))?;
                    if !s.rows.is_empty() && s.rows.len() != s.indices.len() {
                        return Err(Error::invalid(
                            format!("{path}.rows"),
                            format!("has {} entries but indices has {} (one batch row per event, or none)", s.rows.len(), s.indices.len()),
                        ));
                    }
                    for (k, &b) in s.rows.iter().enumerate() {
                        if b as usize >= self.batch {
                            return Err(Error::invalid(format!("{path}.rows[{k}]"), format!("{b} is out of range for batch {}", self.batch)));
                        }
                    }
                }
                NeuronModel::LifRef(l) => {
                    for (field, x) in [("V_rest", l.v_rest), ("V_th", l.v_th), ("V_reset", l.v_reset), ("R", l.r)] {
                        finite(format!("{path}.{field}"), x)?;
                    }
                    positive(&format!("{path}.tau"), l.tau)?;
                    non_negative(&format!("{path}.tau_ref"), l.tau_ref)?;
                    match &l.v_init {
                        VInit::Scalar(v) => finite(format!("{path}.V_init"), *v)?,
                        VInit::PerNeuron(v) => {
                            if v.len() != p.size {
                                return Err(Error::invalid(
                                    format!("{path}.V_init"),
                                    format!("has {} values, expected {} (one per neuron)", v.len(), p.size),
                                ));
                            }
                            all_finite(v, |k| format!("{path}.V_init[{k}]"))?;
                        }
                        VInit::PerBatch(rows) => {
                            if rows.len() != self.batch {
                                return Err(Error::invalid(
                                    format!("{path}.V_init"),
                                    format!("has {} rows, expected {} (one per batch copy)", rows.len(), self.batch),
                                ));
                            }
                            for (b, row) in rows.iter().enumerate() {
                                if row.len() != p.size {
                                    return Err(Error::invalid(
                                        format!("{path}.V_init[{b}]"),
                                        format!("has {} values, expected {} (one per neuron)", row.len(), p.size),
                                    ));
                                }
                                all_finite(row, |k| format!("{path}.V_init[{b}][{k}]"))?;
                            }
                        }
                    }
                }
            }
        }
        check_names(&self.populations, &self.projections)?;
        for (i, p) in self.projections.iter().enumerate() {
            let path = format!("projections[{i}]");
            if p.pre >= self.populations.len() {
                return Err(Error::invalid(format!("{path}.pre"), format!("unknown population #{}", p.pre)));
            }
            if p.post >= self.populations.len() {
                return Err(Error::invalid(format!("{path}.post"), format!("unknown population #{}", p.post)));
            }
            let (pre, post) = (&self.populations[p.pre], &self.populations[p.post]);
            if post.lif().is_none() {
                return Err(Error::invalid(
                    format!("{path}.post"),
                    format!("\"{}\" is a spike source; a projection must end on a lif_ref population", post.name),
                ));
            }
            let s = &p.synapse;
            let sp = format!("{path}.synapse");
            non_negative(&format!("{sp}.alpha"), s.alpha)?;
            positive(&format!("{sp}.beta"), s.beta)?;
            non_negative(&format!("{sp}.T"), s.t_conc)?;
            non_negative(&format!("{sp}.T_dur"), s.t_dur)?;
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
            finite(format!("{path}.output.E"), p.output.e)?;
        }
        let mut mon_names = HashSet::new();
        let mut out_bytes: u64 = 0;
        for m in &self.monitors {
            let path = format!("monitors.{}", m.name);
            if m.name.is_empty()
                || m.name.starts_with('.')
                || !m.name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            {
                return Err(Error::invalid(path, "a monitor name must be a file name of letters, digits, '_', '-' and '.'"));
            }
            if !mon_names.insert(m.name.as_str()) {
                return Err(Error::invalid(path, "duplicate monitor name"));
            }
            let ok = match m.target {
                Target::ProjG(p) | Target::ProjCurrent(p) => p < self.projections.len(),
                Target::PopSpike(i) => i < self.populations.len(),
                Target::PopV(i) | Target::PopCurrent(i) | Target::PopInput(i) => {
                    i < self.populations.len() && self.populations[i].lif().is_some()
                }
            };
            if !ok {
                return Err(Error::invalid(path, "target is not a monitorable variable of this network"));
            }
            let bytes = (self.monitor_width(m.target) as u64).saturating_mul(self.steps as u64).saturating_mul(4);
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
