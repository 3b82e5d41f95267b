//! Compressed sparse rows, and the one transpose that turns BrainPy's pre-major scatter into a
//! post-major gather.

use crate::error::{Error, Result};

/// A sparse connectivity matrix in CSR form. In a network file rows are pre neurons and columns
/// are post neurons; after [`Csr::transpose`] rows are post and columns are pre.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Csr {
    /// Number of rows.
    pub n_rows: usize,
    /// Number of columns.
    pub n_cols: usize,
    /// `n_rows + 1` offsets into `indices`, non-decreasing, from 0 to `indices.len()`.
    pub indptr: Vec<u32>,
    /// Column of each entry.
    pub indices: Vec<u32>,
}

impl Csr {
    /// Number of stored entries (synapses).
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// The entries of row `r`.
    pub fn row(&self, r: usize) -> std::ops::Range<usize> {
        self.indptr[r] as usize..self.indptr[r + 1] as usize
    }

    /// Checks the structure. `path` names the connectivity object in errors; `rows`/`cols`
    /// name the populations for messages like `... out of range for population "post" (size 40)`.
    pub fn check(&self, path: &str, rows: &str, cols: &str) -> Result<()> {
        if self.indptr.len() != self.n_rows + 1 {
            return Err(Error::invalid(
                format!("{path}.indptr"),
                format!(
                    "has {} entries, expected {} (size of population \"{rows}\" + 1)",
                    self.indptr.len(),
                    self.n_rows + 1
                ),
            ));
        }
        if self.indptr[0] != 0 {
            return Err(Error::invalid(format!("{path}.indptr[0]"), format!("is {}, must be 0", self.indptr[0])));
        }
        for k in 1..self.indptr.len() {
            if self.indptr[k] < self.indptr[k - 1] {
                return Err(Error::invalid(
                    format!("{path}.indptr[{k}]"),
                    format!("{} is smaller than the entry before it ({}): indptr must not decrease", self.indptr[k], self.indptr[k - 1]),
                ));
            }
        }
        let last = *self.indptr.last().unwrap_or(&0) as usize;
        if last != self.indices.len() {
            return Err(Error::invalid(
                format!("{path}.indptr[{}]", self.n_rows),
                format!("ends at {last}, but indices has {} entries", self.indices.len()),
            ));
        }
        for (k, &c) in self.indices.iter().enumerate() {
            if c as usize >= self.n_cols {
                return Err(Error::invalid(
                    format!("{path}.indices[{k}]"),
                    format!("{c} is out of range for population \"{cols}\" (size {})", self.n_cols),
                ));
            }
        }
        Ok(())
    }

    /// The transpose, plus for each entry of the result the position of that entry in `self`
    /// (so per-synapse weights can follow). Within each output row, entries keep the order of
    /// `self`'s rows: a post-major gather then adds terms in exactly the pre order in which
    /// BrainPy's scatter adds them, so both give the same f32 sum.
    pub fn transpose(&self) -> (Csr, Vec<u32>) {
        self.transpose_with(true)
    }

    /// [`Csr::transpose`] without the position array when `with_perm` is false (it costs 4
    /// bytes per synapse and is only needed to carry per-synapse weights along).
    pub fn transpose_with(&self, with_perm: bool) -> (Csr, Vec<u32>) {
        let mut counts = vec![0u32; self.n_cols + 1];
        for &c in &self.indices {
            counts[c as usize + 1] += 1;
        }
        for k in 0..self.n_cols {
            counts[k + 1] += counts[k];
        }
        let indptr = counts.clone();
        let mut next = counts;
        let mut indices = vec![0u32; self.nnz()];
        let mut perm = vec![0u32; if with_perm { self.nnz() } else { 0 }];
        for r in 0..self.n_rows {
            for e in self.row(r) {
                let c = self.indices[e] as usize;
                let dst = next[c] as usize;
                next[c] += 1;
                indices[dst] = r as u32;
                if with_perm {
                    perm[dst] = e as u32;
                }
            }
        }
        (Csr { n_rows: self.n_cols, n_cols: self.n_rows, indptr, indices }, perm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random_csr(rng: &mut impl Rng, rows: usize, cols: usize) -> Csr {
        let mut indptr = vec![0u32];
        let mut indices = vec![];
        for _ in 0..rows {
            let k = rng.random_range(0..=cols.min(7));
            for _ in 0..k {
                indices.push(rng.random_range(0..cols as u32));
            }
            indptr.push(indices.len() as u32);
        }
        Csr { n_rows: rows, n_cols: cols, indptr, indices }
    }

    #[test]
    fn transpose_round_trips() {
        let seed: u64 = rand::random();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for _ in 0..50 {
            let rows = rng.random_range(1..60);
            let cols = rng.random_range(1..60);
            let a = random_csr(&mut rng, rows, cols);
            a.check("a", "pre", "post").unwrap();
            let (t, perm) = a.transpose();
            t.check("t", "post", "pre").unwrap();
            // every transposed entry points back at an entry with the same (row, col)
            for r in 0..t.n_rows {
                for e in t.row(r) {
                    let src = perm[e] as usize;
                    assert_eq!(a.indices[src] as usize, r, "seed {seed}");
                    assert!(a.row(t.indices[e] as usize).contains(&src), "seed {seed}");
                }
            }
            let (back, _) = t.transpose();
            // transposing twice sorts each row's entries by column only where duplicates are absent;
            // compare as multisets per row
            for r in 0..a.n_rows {
                let mut x: Vec<_> = a.indices[a.row(r)].to_vec();
                let mut y: Vec<_> = back.indices[back.row(r)].to_vec();
                x.sort();
                y.sort();
                assert_eq!(x, y, "seed {seed}, row {r}");
            }
        }
    }

    #[test]
    fn check_names_the_field() {
        let a = Csr { n_rows: 2, n_cols: 3, indptr: vec![0, 2, 1], indices: vec![0] };
        let e = a.check("projections[0].connectivity", "pre", "post").unwrap_err().to_string();
        assert!(e.contains("projections[0].connectivity.indptr[2]"), "{e}");
        let a = Csr { n_rows: 1, n_cols: 3, indptr: vec![0, 1], indices: vec![3] };
        let e = a.check("c", "pre", "post").unwrap_err().to_string();
        assert!(e.contains("c.indices[0]: 3 is out of range for population \"post\" (size 3)"), "{e}");
    }
}
