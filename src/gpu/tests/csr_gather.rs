//! `csr_gather.wgsl` (the SELL-32 layout, cut into binding ranges by `program::sell_ranges` as the
//! engine cuts it) against `cpu::reference::csr_gather`: shared and per-synapse weights, 16-bit
//! (n_pre <= 65,536) and 32-bit indices, read steps before the run (zeros), batches of 1 to 9
//! (one tile of `TILE = 8` rows, a full tile, and a full tile plus a one-row tile), one range and
//! many small ranges, several steps per submission (the last one's result is what stays).
//! Bit-exact: each row is summed alone in pre order, `w * x` rounded first, as the twin does.

use super::harness::*;
use crate::cpu::reference::csr_gather::csr_gather;
use crate::gpu::kernels::{GatherBindings, GATHER_LANES, GATHER_TILE};
use crate::gpu::program::sell_ranges;
use crate::gpu::uniforms::GatherParams;
use crate::plan::PlanWeights;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A random CSR of `rows` rows over `cols` columns, sorted columns per row, about a fifth of the
/// rows empty, one long row.
pub(super) fn random_csr(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> (Vec<u32>, Vec<u32>) {
    let mut indptr = vec![0u32];
    let mut indices = Vec::new();
    let long = rng.random_range(0..rows);
    for r in 0..rows {
        let k = if r == long {
            rng.random_range(0..=300)
        } else if rng.random_bool(0.2) {
            0
        } else {
            rng.random_range(1..=40)
        };
        let mut row: Vec<u32> = (0..k).map(|_| rng.random_range(0..cols as u32)).collect();
        row.sort_unstable();
        indices.extend(row);
        indptr.push(indices.len() as u32);
    }
    (indptr, indices)
}

#[test]
fn csr_gather_matches_cpu() {
    let test = "csr_gather_matches_cpu";
    let seed = base_seed();
    let Some(g) = gpu(test, seed) else { return };
    let mut rng = rng_for(test, seed);
    let mut case = 0;
    let (mut zero_cases, mut read_cases) = (0, 0);
    // (history, read_offset, step): the step read is step - read_offset, before the run in some
    let timing: [(usize, u32, u32); 6] = [(1, 0, 7), (1, 1, 0), (1, 0, 0), (5, 4, 2), (5, 3, 17), (20, 19, 30)];
    for &n_pre in &SIZES {
        for n_post in [1usize, 63, 1007] {
            let batches: Vec<usize> = if n_post == 63 { (1..=9).collect() } else { vec![1, 3, 8, 9] };
            for &batch in &batches {
                for per_synapse in [false, true] {
                    case += 1;
                    let (history, read_offset, step) = timing[rng.random_range(0..timing.len())];
                    let (indptr, indices) = random_csr(&mut rng, n_post, n_pre);
                    let nnz = indices.len();
                    let weights = if per_synapse {
                        PlanWeights::PerSynapse((0..nnz).map(|_| rng.random_range(-0.5f32..2.0)).collect())
                    } else {
                        PlanWeights::Shared(rng.random_range(0.01f32..2.0))
                    };
                    let bw = batch * n_pre;
                    let hist: Vec<f32> = (0..history * bw).map(|_| rng.random::<f32>()).collect();
                    let read_step = step as i64 - read_offset as i64;
                    let x = (read_step >= 0).then(|| {
                        let slot = read_step as usize % history;
                        &hist[slot * bw..(slot + 1) * bw]
                    });
                    if x.is_some() {
                        read_cases += 1;
                    } else {
                        zero_cases += 1;
                    }
                    let mut y = vec![POISON_F; batch * n_post];
                    csr_gather(&indptr, &indices, &weights, x, n_pre, &mut y);
                    // one range, and ranges of a few slices (as the engine cuts large projections)
                    for max_bytes in [u64::MAX, 4 * GATHER_LANES as u64 * 40] {
                        let Ok(ranges) = sell_ranges(&indptr, &indices, &weights, n_pre, max_bytes) else {
                            // a row longer than the small binding: the engine reports it; covered elsewhere
                            continue;
                        };
                        let n_slots = 2usize;
                        let slot = rng.random_range(0..n_slots);
                        let out_base = slot * batch * n_post;
                        let hb = g.buf("hist", &hist);
                        let gsyn_len = n_slots * batch * n_post + TAIL;
                        let gb = g.buf("gsyn", &vec![POISON_F; gsyn_len]);
                        let mut bounds = Vec::new();
                        for r in &ranges {
                            let up = GatherParams {
                                slices: r.slices as u32,
                                n_pre: n_pre as u32,
                                n_post: n_post as u32,
                                batch: batch as u32,
                                read_offset,
                                history: history as u32,
                                out_base: out_base as u32,
                                per_synapse: per_synapse as u32,
                                narrow: r.narrow as u32,
                                shared_w: if let PlanWeights::Shared(w) = weights { w } else { f32::NAN },
                                ..Default::default()
                            };
                            let p = g.uniform(&up);
                            let sp = g.buf("slice_ptr", &r.slice_ptr);
                            let lanes = g.buf("lanes", &r.lanes);
                            let slots = g.buf("slots", &r.slots);
                            let wb = match &r.weights {
                                Some(w) => g.buf("weights", w),
                                None => g.buf("unused weights", &[POISON_F; 16]),
                            };
                            let bound = g.bind(&GatherBindings { p: &p, slice_ptr: &sp, lanes: &lanes, slots: &slots, weights: &wb, hist: &hb, gsyn: &gb });
                            let threads = (r.slices * GATHER_LANES * batch.div_ceil(GATHER_TILE)) as u64;
                            bounds.push((bound, threads));
                        }
                        let thread_fns: Vec<Box<dyn Fn(usize) -> u64>> = bounds.iter().map(|&(_, t)| Box::new(move |_| t) as Box<dyn Fn(usize) -> u64>).collect();
                        let passes: Vec<Pass> = bounds.iter().zip(&thread_fns).map(|((b, _), f)| Pass { bound: b, threads: f.as_ref() }).collect();
                        // earlier steps first (some read before the run): the last one's sums stay
                        let steps: Vec<u32> = [step.saturating_sub(2), step.saturating_sub(1), step].into_iter().collect();
                        let infos: Vec<_> = steps.iter().map(|&s| step_info(s, 0.1, steps[0])).collect();
                        g.run(&infos, &passes, max_dim_for(&g, case));
                        let got: Vec<f32> = g.read(&gb, gsyn_len);
                        let what = format!(
                            "seed {seed}: csr_gather n_pre={n_pre} n_post={n_post} batch={batch} per_synapse={per_synapse} {} ranges \
                             history={history} read_offset={read_offset} step={step} (read step {read_step}) slot={slot}",
                            ranges.len()
                        );
                        for (k, &v) in got.iter().enumerate() {
                            let in_slot = k >= out_base && k < out_base + batch * n_post;
                            let (b, j) = ((k.wrapping_sub(out_base)) / n_post, (k.wrapping_sub(out_base)) % n_post);
                            if in_slot {
                                let want = y[b * n_post + j];
                                assert!(
                                    v.to_bits() == want.to_bits(),
                                    "{what}: batch row {b}, post {j} ({} synapses): GPU {v:e} ({:#010x}), CPU {want:e} ({:#010x})",
                                    indptr[j + 1] - indptr[j],
                                    v.to_bits(),
                                    want.to_bits()
                                );
                            } else {
                                assert_eq!(v.to_bits(), POISON_F.to_bits(), "{what}: element {k} is outside the projection's slot but was written ({v})");
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(zero_cases > 0 && read_cases > 0, "seed {seed}: no case read before the run ({zero_cases}) or after it ({read_cases})");
    g.finish();
}
