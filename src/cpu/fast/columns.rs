//! Column indices of a CSR matrix as the CPU engine keeps them: 16 bits where the columns
//! allow (half the bytes of the index stream), else 32, checked once against their bound.

use rayon::prelude::*;

/// A column index as the CPU engine stores it: `u16` or `u32`.
pub trait ColIndex: Copy + Send + Sync {
    /// The index as a `usize`.
    fn at(self) -> usize;
}

impl ColIndex for u16 {
    #[inline(always)]
    fn at(self) -> usize {
        self as usize
    }
}

impl ColIndex for u32 {
    #[inline(always)]
    fn at(self) -> usize {
        self as usize
    }
}

/// Column indices, each checked once (when made) to be below `bound`, so the kernels index the
/// other side's state without a bounds check per synapse (about 15% of the dense gather's time
/// on B2, 20% of the event scatter's).
pub struct Columns<I> {
    indices: Vec<I>,
    bound: usize,
}

impl<I: ColIndex> Columns<I> {
    /// Panics if an index is `>= bound`: the plan's matrices are validated, so that is a bug,
    /// and this check is what the unchecked reads rely on.
    pub fn new(indices: Vec<I>, bound: usize) -> Self {
        // checked in parallel: the microcircuit's matrices hold 3e8 indices
        if let Some(k) = indices.par_iter().position_first(|i| i.at() >= bound) {
            panic!("column index {} at {k} is not below {bound}", indices[k].at());
        }
        Columns { indices, bound }
    }

    /// The indices, in CSR order.
    pub fn as_slice(&self) -> &[I] {
        &self.indices
    }

    /// Every index is below this.
    pub fn bound(&self) -> usize {
        self.bound
    }
}

/// A matrix's column indices at the narrowest width that holds them. For the dense product 16
/// bits halve the index stream, its main traffic: B2's million synapses become 2 MB, one MiB
/// per core, which stays in each core's 2 MiB L2 from step to step where 4 MB did not.
pub enum Indices {
    /// `bound <= 65,536`.
    Narrow(Columns<u16>),
    /// Wider columns.
    Wide(Columns<u32>),
}

impl Indices {
    /// Checks and, where `bound` allows, narrows `indices` (see [`Columns::new`]).
    pub fn narrowest(indices: Vec<u32>, bound: usize) -> Self {
        if bound <= 1 << 16 {
            Indices::Narrow(Columns::new(indices.par_iter().map(|&i| i as u16).collect(), bound))
        } else {
            Indices::Wide(Columns::new(indices, bound))
        }
    }
}
