//! The GPU engine's state buffers, one set per plan entity (source, neuron population, group,
//! accumulator), made from the plan's initial values. Every buffer that could exceed the
//! adapter's binding limit is checked before it is made.

use super::uniforms::{LifParams, SlotOutput};
use super::GpuContext;
use crate::error::Result;
use crate::plan::{Plan, Product, SynParams, NEVER, T_INIT};
use wgpu::BufferUsages as U;

/// Bytes of `n` 32-bit words.
pub(crate) fn words(n: usize) -> u64 {
    4 * n as u64
}

/// A spike source: its events by step and its stamp ring.
pub(crate) struct SourceBuffers {
    /// `steps + 1` offsets into `events`.
    pub offsets: wgpu::Buffer,
    /// Neuron (`b * n + i`) of each event, sorted by step.
    pub events: wgpu::Buffer,
    /// `ring` slots of `batch * n` stamps.
    pub stamps: wgpu::Buffer,
}

/// A LIF population.
pub(crate) struct NeuronBuffers {
    pub v: wgpu::Buffer,
    pub t_last: wgpu::Buffer,
    pub spike: wgpu::Buffer,
    pub input: wgpu::Buffer,
    /// Input slots of `batch * n` conductances.
    pub gsyn: wgpu::Buffer,
    /// One [`SlotOutput`] per input slot.
    pub outputs: wgpu::Buffer,
    /// The input current per neuron, or a placeholder.
    pub i_ext: wgpu::Buffer,
    /// Its stamp ring, or a placeholder.
    pub stamps: wgpu::Buffer,
    /// Its `LifParams`.
    pub params: wgpu::Buffer,
}

/// A pre-aligned group.
pub(crate) struct GroupBuffers {
    /// `history` slots of outputs.
    pub ring: wgpu::Buffer,
    /// The other states, or a placeholder.
    pub states: wgpu::Buffer,
    /// Window flags per ring slot (AMPA/GABAa event mode), or a placeholder.
    pub window: wgpu::Buffer,
}

/// An accumulator-fed state.
pub(crate) struct AccBuffers {
    /// The fixed-point accumulator.
    pub acc: wgpu::Buffer,
    /// Its states.
    pub states: wgpu::Buffer,
}

/// All state of one plan on the device.
pub(crate) struct StateBuffers {
    pub sources: Vec<SourceBuffers>,
    pub neurons: Vec<NeuronBuffers>,
    pub groups: Vec<GroupBuffers>,
    pub accs: Vec<AccBuffers>,
    /// Per projection: its AMPA/GABAa event-mode increments (window products only).
    pub window_accs: Vec<Option<wgpu::Buffer>>,
    /// One spike counter per LIF population.
    pub counts: wgpu::Buffer,
    /// Per LIF population 4 words: the first step with a non-finite value (`u32::MAX`: none),
    /// the lowest neuron with one at that step, what, the value's bits (`lif_update.wgsl`).
    pub nonfinite: wgpu::Buffer,
}

/// The non-finite record of `n` populations with nothing found.
pub(crate) fn nonfinite_init(n: usize) -> Vec<u32> {
    (0..n.max(1)).flat_map(|_| [u32::MAX, u32::MAX, 0, 0]).collect()
}

/// A read-only placeholder for an unused binding (a storage binding may not be empty).
pub(crate) fn placeholder(ctx: &GpuContext) -> Result<wgpu::Buffer> {
    ctx.zeroed_storage_buffer("unused binding", 64, U::empty())
}

impl StateBuffers {
    /// The initial state of `plan`.
    pub fn new(ctx: &GpuContext, plan: &Plan) -> Result<StateBuffers> {
        let b = plan.batch;
        let check = |what: &str, bytes: u64| ctx.check_storage_binding(what, bytes);
        let name = |pop: usize| plan.populations[pop].name.as_str();
        let mut sources = Vec::new();
        for s in &plan.sources {
            let w = b * s.n;
            check(&format!("spike events of \"{}\"", name(s.pop)), words(s.event_neurons.len()))?;
            check(&format!("stamps of \"{}\" ({} slots)", name(s.pop), s.ring), words(s.ring * w))?;
            sources.push(SourceBuffers {
                offsets: ctx.storage_buffer_from("event offsets", &s.step_offsets, U::empty())?,
                events: ctx.storage_buffer_from("events", &s.event_neurons, U::empty())?,
                stamps: ctx.storage_buffer_from("stamps", &vec![NEVER; s.ring * w], U::empty())?,
            });
        }
        let mut neurons = Vec::new();
        for (l, n) in plan.neurons.iter().enumerate() {
            let w = b * n.n;
            let pop = name(n.pop);
            check(&format!("population \"{pop}\" state"), words(w))?;
            check(&format!("population \"{pop}\" conductances ({} slots)", n.inputs.len()), words(w * n.inputs.len()))?;
            check(&format!("population \"{pop}\" stamps ({} slots)", n.ring), words(w * n.ring))?;
            let outputs: Vec<SlotOutput> = n.inputs.iter().map(|s| SlotOutput::from(&s.output)).collect();
            let params = LifParams {
                width: w as u32,
                n: n.n as u32,
                n_inputs: n.inputs.len() as u32,
                count_slot: l as u32,
                ring: n.ring as u32,
                has_i_ext: n.i_ext.is_some() as u32,
                ..LifParams::from(&n.params)
            };
            neurons.push(NeuronBuffers {
                v: ctx.storage_buffer_from("V", &n.v_init, U::empty())?,
                t_last: ctx.storage_buffer_from("t_last", &vec![T_INIT; w], U::empty())?,
                spike: ctx.zeroed_storage_buffer("spike", words(w), U::empty())?,
                input: ctx.zeroed_storage_buffer("input", words(w), U::empty())?,
                gsyn: ctx.zeroed_storage_buffer("gsyn", words(w * n.inputs.len()), U::empty())?,
                // a population without inputs still binds an array of at least one element
                outputs: if outputs.is_empty() { placeholder(ctx)? } else { ctx.storage_buffer_from("outputs", &outputs, U::empty())? },
                i_ext: match &n.i_ext {
                    Some(x) => ctx.storage_buffer_from("I_ext", x, U::empty())?,
                    None => placeholder(ctx)?,
                },
                stamps: ctx.storage_buffer_from("stamps", &vec![NEVER; (n.ring * w).max(4)], U::empty())?,
                params: ctx.uniform_buffer("lif params", &params)?,
            });
        }
        let mut groups = Vec::new();
        for g in &plan.groups {
            let w = b * g.n;
            let pre = name(g.pre_pop);
            check(&format!("history of \"{pre}\" ({} slots)", g.history), words(w * g.history))?;
            let mut states = vec![0.0f32; (g.states.len() * w).max(4)];
            if matches!(g.params, SynParams::Kinetic(_)) {
                // the spike arrival time
                states[..w].fill(T_INIT);
            }
            check(&format!("synapse states of \"{pre}\""), words(states.len()))?;
            groups.push(GroupBuffers {
                ring: ctx.zeroed_storage_buffer("history", words(w * g.history), U::empty())?,
                states: ctx.storage_buffer_from("synapse states", &states, U::empty())?,
                window: ctx.zeroed_storage_buffer("window flags", words(if g.window_flags { w * g.history } else { 4 }), U::empty())?,
            });
        }
        let mut accs = Vec::new();
        for a in &plan.accumulators {
            let w = b * a.n;
            check(&format!("synapse states onto \"{}\"", name(plan.neurons[a.neuron].pop)), words(w * a.states.len()))?;
            accs.push(AccBuffers {
                acc: ctx.zeroed_storage_buffer("accumulator", words(w * a.ring), U::empty())?,
                states: ctx.zeroed_storage_buffer("synapse states", words(w * a.states.len()), U::empty())?,
            });
        }
        let window_accs = plan
            .projections
            .iter()
            .map(|p| match p.product {
                Product::Window { .. } => ctx.zeroed_storage_buffer("event increments", words(b * p.n_post), U::empty()).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<_>>()?;
        let counts = ctx.zeroed_storage_buffer("spike counts", words(plan.neurons.len().max(1)), U::empty())?;
        let nonfinite = ctx.storage_buffer_from("non-finite values", &nonfinite_init(plan.neurons.len()), U::empty())?;
        Ok(StateBuffers { sources, neurons, groups, accs, window_accs, counts, nonfinite })
    }

    /// Every buffer that holds simulation state, by a stable name (checkpoints).
    pub fn arrays(&self) -> Vec<(String, &wgpu::Buffer)> {
        let mut out = Vec::new();
        for (k, s) in self.sources.iter().enumerate() {
            out.push((format!("source{k}.stamps"), &s.stamps));
        }
        for (k, n) in self.neurons.iter().enumerate() {
            for (name, b) in [("v", &n.v), ("t_last", &n.t_last), ("spike", &n.spike), ("input", &n.input), ("gsyn", &n.gsyn), ("stamps", &n.stamps)] {
                out.push((format!("neuron{k}.{name}"), b));
            }
        }
        for (k, g) in self.groups.iter().enumerate() {
            for (name, b) in [("ring", &g.ring), ("states", &g.states), ("window", &g.window)] {
                out.push((format!("group{k}.{name}"), b));
            }
        }
        for (k, a) in self.accs.iter().enumerate() {
            out.push((format!("acc{k}.acc"), &a.acc));
            out.push((format!("acc{k}.states"), &a.states));
        }
        for (k, w) in self.window_accs.iter().enumerate() {
            if let Some(w) = w {
                out.push((format!("proj{k}.acc"), w));
            }
        }
        out.push(("nonfinite".into(), &self.nonfinite));
        out
    }

    /// The stamp ring (source) or spike flags (LIF) of population `pre`.
    pub fn spikes_of(&self, pre: crate::plan::PopSlot) -> &wgpu::Buffer {
        match pre {
            crate::plan::PopSlot::Source(s) => &self.sources[s].stamps,
            crate::plan::PopSlot::Neuron(l) => &self.neurons[l].spike,
        }
    }

    /// The stamp ring of population `pre`.
    pub fn stamps_of(&self, pre: crate::plan::PopSlot) -> &wgpu::Buffer {
        match pre {
            crate::plan::PopSlot::Source(s) => &self.sources[s].stamps,
            crate::plan::PopSlot::Neuron(l) => &self.neurons[l].stamps,
        }
    }
}
