//! Warnings: things in a valid network that are legal but probably not what was meant (a `dt`
//! given in seconds, spikes that never fire, an excitatory COBA weight made negative). They never
//! change a result: `spikegpu run` and `validate` print them, one line each, and the summary
//! lists them.

use super::{Network, NeuronModel, Output, Target, Weights};

/// A monitor that writes more than this is worth a second look (a typo in `steps`, every neuron
/// of a large population at every step).
pub const LARGE_MONITOR_BYTES: u64 = 1_000_000_000;

/// Steps between a step and the one whose value a projection reads, for a delay of `delay_ms`:
/// BrainPy's ring of `L = ceil(delay / dt)` slots (f64) lags `max(L - 1, 0)` steps from a spike
/// source and `max(L - 1, 1)` from a LIF population (which writes at the end of its step). The
/// plan's `read_offset` is the rule the engines run; a test checks that the two agree (the model
/// layer does not import the plan).
pub(crate) fn lag_steps(delay_ms: Option<f64>, dt: f64, pre_is_lif: bool) -> usize {
    let slots = delay_ms.map_or(0, |d| (d / dt).ceil() as usize);
    slots.saturating_sub(1).max(pre_is_lif as usize)
}

fn ms(x: f64) -> String {
    format!("{} ms", fmt_num(x))
}

/// A number as a person writes it (no `1.0000000149011612` from an f32 widened to f64).
fn fmt_num(x: f64) -> String {
    let short = format!("{}", x as f32);
    if (short.parse::<f64>().unwrap_or(x) - x).abs() <= 1e-6 * x.abs() {
        short
    } else {
        format!("{x}")
    }
}

impl Network {
    /// The warnings of this network, one line each, naming the place (empty for a network that
    /// looks as intended).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if !(0.001..=1.0).contains(&self.dt) {
            w.push(format!(
                "dt: {} is outside [0.001, 1] ms: dt is in milliseconds (BrainPy's default is 0.1){}",
                ms(self.dt),
                if self.dt < 0.001 { "; a dt meant in seconds would be 1000 times larger" } else { "" }
            ));
        }
        let dt32 = self.dt_f32();
        let end = super::step_time(self.steps - 1, dt32);
        let duration = self.steps as f64 * self.dt;
        for (i, p) in self.populations.iter().enumerate() {
            let at = format!("populations[{i}] (\"{}\")", p.name);
            match &p.model {
                NeuronModel::SpikeTimes(s) if !s.times.is_empty() => {
                    let negative = s.times.iter().filter(|&&t| t < 0.0).count();
                    if s.times.iter().all(|&t| t > end) {
                        let first = s.times.iter().copied().fold(f32::INFINITY, f32::min);
                        w.push(format!(
                            "{at}: all {} spike times are after the last step (t = {}); the earliest is {}: none fires",
                            s.times.len(),
                            ms(end as f64),
                            ms(first as f64)
                        ));
                    } else if negative > 0 {
                        let first = s.times.iter().copied().fold(f32::INFINITY, f32::min);
                        w.push(format!(
                            "{at}: {negative} spike time(s) before 0 (the earliest {}); they fire at step 0",
                            ms(first as f64)
                        ));
                    }
                }
                NeuronModel::SpikeTimes(_) => {}
                NeuronModel::LifRef(l) => {
                    if l.v_reset >= l.v_th {
                        w.push(reset_warning(&at, l.v_reset, l.v_th, true));
                    }
                    if l.tau_ref as f64 > duration {
                        w.push(format!(
                            "{at}: tau_ref = {} is longer than the run ({}): each neuron fires at most once",
                            ms(l.tau_ref as f64),
                            ms(duration)
                        ));
                    }
                }
                NeuronModel::Lif(l) => {
                    if l.v_reset >= l.v_th {
                        w.push(reset_warning(&at, l.v_reset, l.v_th, false));
                    }
                }
            }
        }
        for (i, p) in self.projections.iter().enumerate() {
            let at = format!("projections[{i}] (\"{}\")", p.name);
            let conductance = matches!(p.output, Output::Coba(_) | Output::MgBlock(_));
            let negative = match &p.weights {
                Weights::Shared(x) => (*x < 0.0).then_some((*x, 1)),
                Weights::PerSynapse(v) => {
                    let n = v.iter().filter(|&&x| x < 0.0).count();
                    (n > 0).then(|| (v.iter().copied().fold(f32::INFINITY, f32::min), n))
                }
            };
            if let (true, Some((min, n))) = (conductance, negative) {
                let e = match p.output {
                    Output::Coba(c) => c.e,
                    Output::MgBlock(m) => m.e,
                    Output::Cuba => unreachable!(),
                };
                w.push(format!(
                    "{at}: {} negative weight(s) (the smallest {min}) with a conductance-based output: g becomes negative and the current \
                     flows against E = {e} mV; an inhibitory synapse takes a positive weight and an E below rest (such as -80 mV)",
                    if matches!(p.weights, Weights::Shared(_)) { "a".to_string() } else { n.to_string() }
                ));
            }
            if let Some(d) = p.delay_ms {
                let pre_lif = self.populations[p.pre].is_lif();
                let none = lag_steps(None, self.dt, pre_lif);
                let lag = lag_steps(Some(d), self.dt, pre_lif);
                if d > 0.0 && lag == none {
                    let slots = (d / self.dt).ceil() as usize;
                    w.push(format!(
                        "{at}: delay {} is shorter than BrainPy's ring buffer can express: {slots} slot(s) of dt = {} read the value of {lag} step(s) before, \
                         as no delay does (from a {} the shortest real delay is {})",
                        ms(d),
                        ms(self.dt),
                        if pre_lif { "LIF population" } else { "spike source" },
                        ms(self.dt * if pre_lif { 3.0 } else { 2.0 })
                    ));
                }
            }
        }
        for m in &self.monitors {
            if m.format != super::MonitorFormat::Dense {
                continue;
            }
            let size = match m.target {
                Target::ProjG(k) | Target::ProjState(k, _) => {
                    let p = &self.projections[k];
                    self.populations[if p.align == super::Align::Post { p.post } else { p.pre }].size
                }
                Target::ProjCurrent(k) => self.populations[self.projections[k].post].size,
                Target::PopV(i) | Target::PopSpike(i) | Target::PopCurrent(i) | Target::PopInput(i) => self.populations[i].size,
            };
            let n = match &m.neurons {
                super::Selection::All => size,
                super::Selection::Range { start, end } => (end - start) as usize,
                super::Selection::List(l) => l.len(),
            };
            let per = if matches!(m.target, Target::PopSpike(_)) { 1 } else { 4 };
            let bytes = per * (n as u64) * (self.batch as u64) * self.steps.div_ceil(m.every) as u64;
            if bytes > LARGE_MONITOR_BYTES {
                w.push(format!(
                    "monitors.{}: will write {:.1} GB ({} values per step for {} steps); record fewer neurons (\"neurons\": \"0:100\") or fewer steps (\"every\": 10)",
                    m.name,
                    bytes as f64 / 1e9,
                    n * self.batch,
                    self.steps.div_ceil(m.every)
                ));
            }
        }
        w
    }
}

fn reset_warning(at: &str, v_reset: f32, v_th: f32, refractory: bool) -> String {
    format!(
        "{at}: V_reset ({v_reset} mV) >= V_th ({v_th} mV): a neuron that fires is reset at or above threshold and fires again {}",
        if refractory { "as soon as its refractory period ends" } else { "at every step" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::file;

    #[test]
    fn lag_rule_equals_the_plans() {
        for slots in 0..50usize {
            for lif in [false, true] {
                let d = slots as f64 * 0.1 - 0.05;
                let want = crate::plan::read_offset(crate::plan::delay_steps((slots > 0).then_some(d), 0.1), lif);
                assert_eq!(lag_steps((slots > 0).then_some(d), 0.1, lif), want, "{slots} {lif}");
            }
        }
    }

    fn net(dt: &str, times: &str, weight: &str, v_reset: &str, tau_ref: &str, delay: &str, pre: &str) -> String {
        format!(
            r#"{{"dt": {dt}, "steps": 100, "populations": [
            {{"name": "s", "model": "spike_times", "size": 1, "indices": [0, 0], "times": {times}}},
            {{"name": "p", "model": "lif_ref", "size": 2, "V_reset": {v_reset}, "tau_ref": {tau_ref}}}],
          "projections": [{{"name": "x", "pre": "{pre}", "post": "p", "synapse": {{"model": "ampa"}}, "delay": {delay},
            "connectivity": {{"kind": "fixed_prob", "prob": 1, "seed": 1}}, "weight": {weight}, "output": {{"model": "coba", "E": 0}}}}],
          "monitors": {{"V": "p.V"}}}}"#
        )
    }

    fn warnings(text: &str) -> Vec<String> {
        file::parse(text).unwrap().warnings()
    }

    /// One clean network, then each mistake alone draws exactly its warning.
    #[test]
    fn each_warning_alone() {
        let clean = net("0.1", "[1, 2]", "0.5", "-5", "2", "null", "s");
        assert_eq!(warnings(&clean), Vec::<String>::new());
        let cases = [
            (net("0.0001", "[0.001, 0.002]", "0.5", "-5", "0.001", "null", "s"), "dt: 0.0001 ms is outside [0.001, 1] ms"),
            (net("0.1", "[20, 30]", "0.5", "-5", "2", "null", "s"), "all 2 spike times are after the last step (t = 9.900001 ms)"),
            (net("0.1", "[-1, 2]", "0.5", "-5", "2", "null", "s"), "1 spike time(s) before 0"),
            (net("0.1", "[1, 2]", "-0.5", "-5", "2", "null", "s"), "a negative weight(s) (the smallest -0.5)"),
            (net("0.1", "[1, 2]", "0.5", "25", "2", "null", "s"), "V_reset (25 mV) >= V_th (20 mV)"),
            (net("0.1", "[1, 2]", "0.5", "-5", "20", "null", "s"), "tau_ref = 20 ms is longer than the run (10 ms)"),
            (net("0.1", "[1, 2]", "0.5", "-5", "2", "0.1", "s"), "delay 0.1 ms is shorter than BrainPy's ring buffer can express"),
            (net("0.1", "[1, 2]", "0.5", "-5", "2", "0.2", "p"), "read the value of 1 step(s) before"),
        ];
        for (text, want) in cases {
            let w = warnings(&text);
            assert_eq!(w.len(), 1, "{want}: {w:?}");
            assert!(w[0].contains(want), "{want}: {w:?}");
        }
        // delays that do lag draw nothing
        assert!(warnings(&net("0.1", "[1, 2]", "0.5", "-5", "2", "0.2", "s")).is_empty());
        assert!(warnings(&net("0.1", "[1, 2]", "0.5", "-5", "2", "0.3", "p")).is_empty());
    }

    #[test]
    fn large_monitor() {
        let text = r#"{"dt": 0.1, "steps": 300000, "populations": [{"name": "p", "model": "lif", "size": 1000}],
            "monitors": {"V": "p.V", "small": {"target": "p.V", "neurons": "0:10"}, "s": "p.spike"}}"#;
        let w = warnings(text);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("monitors.V: will write 1.2 GB"), "{w:?}");
    }
}
