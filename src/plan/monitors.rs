//! Compiled monitors: for each monitor, where its values come from, which of them, how often,
//! and the shape of its output. The engines record from this list; output, plot and summary read
//! it. Nothing else looks at a monitor's [`crate::model::Target`].

use crate::model::MonitorFormat;

/// Where a monitor reads its values, after every step. Every source is batch-major
/// (`b * n + i`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordSource {
    /// The newest slot of pre-aligned group `group`'s output ring (`<proj>.g`, pre-sized).
    PreOutput {
        /// Index into [`super::Plan::groups`].
        group: usize,
    },
    /// Extra state `state` of pre-aligned group `group` (`<proj>.h`, ...).
    PreState {
        /// Index into [`super::Plan::groups`].
        group: usize,
        /// Index into the group's extra states ([`super::GroupPlan::states`]).
        state: usize,
    },
    /// State `state` of accumulator-fed state `acc` (`<proj>.g_rise`, ... of a post-aligned
    /// synapse).
    AccState {
        /// Index into [`super::Plan::accumulators`].
        acc: usize,
        /// Index into the accumulator's states ([`super::AccPlan::states`]).
        state: usize,
    },
    /// The conductance bound into input slot `slot` of neuron population `neuron` this step
    /// (`<proj>.g` of a post-aligned synapse).
    Slot {
        /// Index into [`super::Plan::neurons`].
        neuron: usize,
        /// Input slot.
        slot: usize,
    },
    /// The sum of the outputs of input slots `slots` with the new V (`<proj>.current`,
    /// `<pop>.current`).
    Current {
        /// Index into [`super::Plan::neurons`].
        neuron: usize,
        /// First slot summed.
        first: usize,
        /// One past the last slot summed.
        end: usize,
    },
    /// The membrane potential.
    V {
        /// Index into [`super::Plan::neurons`].
        neuron: usize,
    },
    /// The current that drove the step (`I_ext` plus the outputs with the old V).
    Input {
        /// Index into [`super::Plan::neurons`].
        neuron: usize,
    },
    /// A LIF population's spikes of this step.
    Spike {
        /// Index into [`super::Plan::neurons`].
        neuron: usize,
    },
    /// A spike source's spikes of this step.
    SourceSpike {
        /// Index into [`super::Plan::sources`].
        source: usize,
    },
}

/// Which of a source's `n` values per batch row a monitor records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pick {
    /// Values `start .. start + len` (every neuron: `0 .. n`).
    Range {
        /// First neuron.
        start: u32,
        /// Number of neurons.
        len: u32,
    },
    /// These neurons, in this order.
    List(Vec<u32>),
}

impl Pick {
    /// How many neurons of each batch row are recorded.
    pub fn len(&self) -> usize {
        match self {
            Pick::Range { len, .. } => *len as usize,
            Pick::List(l) => l.len(),
        }
    }

    /// Whether no neuron is recorded (never, for a validated network).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `k`-th recorded neuron.
    pub fn neuron(&self, k: usize) -> u32 {
        match self {
            Pick::Range { start, .. } => start + k as u32,
            Pick::List(l) => l[k],
        }
    }
}

/// One compiled monitor.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorPlan {
    /// Output name (`<name>.npy`).
    pub name: String,
    /// The target as the file writes it (`post.V`, `post.spike_events`).
    pub target: String,
    /// Where the values come from.
    pub source: RecordSource,
    /// Spikes (stored as u8 0/1, or as events) rather than f32 values.
    pub spikes: bool,
    /// How the `.npy` file stores them.
    pub format: MonitorFormat,
    /// Batch rows.
    pub batch: usize,
    /// Values per batch row at the source.
    pub n: usize,
    /// The recorded ones.
    pub pick: Pick,
    /// Steps between two recorded steps (steps `0, every, 2 every, ...` are recorded).
    pub every: usize,
    /// Steps of the run.
    pub steps: usize,
}

impl MonitorPlan {
    /// Values recorded per step: `batch * pick.len()`.
    pub fn width(&self) -> usize {
        self.batch * self.pick.len()
    }

    /// Whether step `step` is recorded.
    pub fn records(&self, step: usize) -> bool {
        step.is_multiple_of(self.every)
    }

    /// Recorded steps in `start .. end`.
    pub fn rows_between(&self, start: usize, end: usize) -> usize {
        end.div_ceil(self.every) - start.div_ceil(self.every)
    }

    /// The recorded row of step `step` counted from the first recorded step at or after
    /// `start` (for a recorded `step >= start`).
    pub fn row_in_chunk(&self, start: usize, step: usize) -> usize {
        step / self.every - start.div_ceil(self.every)
    }

    /// Recorded steps over the whole run.
    pub fn rows(&self) -> usize {
        self.rows_between(0, self.steps)
    }

    /// The step of recorded row `row` (of the whole run).
    pub fn step_of_row(&self, row: usize) -> usize {
        row * self.every
    }

    /// The `.npy` shape of a dense monitor: `[rows, n]`, or `[rows, batch, n]` when batched.
    pub fn shape(&self) -> Vec<usize> {
        if self.batch > 1 {
            vec![self.rows(), self.batch, self.pick.len()]
        } else {
            vec![self.rows(), self.pick.len()]
        }
    }

    /// Appends the spikes of one chunk's flags (`rows` recorded rows from the chunk starting at
    /// step `chunk_start`, as an engine hands them over) to `out` as the rows of a
    /// `<pop>.spike_events` file: `(step, neuron)`, or `(step, batch row, neuron)` when batched,
    /// in step order; returns how many it appended.
    pub fn append_events(&self, chunk_start: usize, flags: &[u8], out: &mut Vec<i32>) -> u64 {
        let (batch, n) = (self.batch, self.pick.len());
        // the first recorded step of this chunk
        let first = chunk_start.div_ceil(self.every);
        let mut count = 0;
        for (k, _) in flags.iter().enumerate().filter(|(_, &s)| s != 0) {
            let (row, b, j) = (first + k / (batch * n), (k / n) % batch, k % n);
            out.push(self.step_of_row(row) as i32);
            if batch > 1 {
                out.push(b as i32);
            }
            out.push(self.pick.neuron(j) as i32);
            count += 1;
        }
        count
    }

    /// Bytes of one recorded step on the device (4 per value: f32 bits or spike words).
    pub fn row_bytes(&self) -> u64 {
        4 * self.width() as u64
    }

    /// Bytes the `.npy` file of a dense monitor holds (events: unknown until the run).
    pub fn output_bytes(&self) -> u64 {
        let per = if self.spikes { 1 } else { 4 };
        per * self.width() as u64 * self.rows() as u64
    }
}
