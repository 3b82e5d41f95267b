//! `spike_scatter.wgsl` against `cpu::reference::spike_scatter`: a stamp ring of several slots,
//! read steps before the run, shared and per-synapse weights, the matrix whole, in two slices or
//! one inner slice, several steps accumulating in one submission, into an accumulator ring with
//! and without per-synapse lags. Integer atomics: exact.

use super::csr_gather::random_csr;
use super::event::{slicing, upload_slice, SliceBufs};
use super::harness::*;
use crate::cpu::reference::spike_scatter::{fixed, spike_scatter, Delivery};
use crate::gpu::kernels::SpikeScatterBindings;
use crate::gpu::uniforms::SpikeScatterParams;
use crate::plan::{fixed_point_scale, PlanWeights, NEVER};
use rand::Rng;

/// The fixed-point scale the plan gives an accumulator fed by this pre-major matrix.
pub(super) fn scale_of(indptr: &[u32], indices: &[u32], weights: &PlanWeights, n_post: usize) -> f32 {
    let mut total = vec![0.0f64; n_post];
    for r in 0..indptr.len() - 1 {
        for e in indptr[r] as usize..indptr[r + 1] as usize {
            let w = match weights {
                PlanWeights::Shared(w) => *w,
                PlanWeights::PerSynapse(ws) => ws[e],
            };
            total[indices[e] as usize] += (w as f64).abs();
        }
    }
    fixed_point_scale(total.into_iter().fold(0.0, f64::max))
}

/// The uniform of one slice, as the engine's `ProgramBuilder::spike_scatter` makes it.
#[allow(clippy::too_many_arguments)]
pub(super) fn params(s: &SliceBufs, n_pre: usize, n_post: usize, batch: usize, read_offset: u32, ring: usize, weights: &PlanWeights, scale: f32, to: &Delivery) -> SpikeScatterParams {
    SpikeScatterParams {
        rows: s.rows as u32,
        row_start: s.r0 as u32,
        n_pre: n_pre as u32,
        n_post: n_post as u32,
        batch: batch as u32,
        read_offset,
        ring: ring as u32,
        per_synapse: matches!(weights, PlanWeights::PerSynapse(_)) as u32,
        shared_q: if let PlanWeights::Shared(w) = weights { fixed(*w, scale) } else { 0 },
        scale,
        acc_ring: to.ring as u32,
        lagged: to.lags.is_some() as u32,
    }
}

/// Lags `base..end` of a slice, widened as the engine uploads them, or a poisoned placeholder.
pub(super) fn lag_buf(g: &Gpu, lags: Option<&[u16]>, indptr: &[u32], (r0, r1): (usize, usize)) -> wgpu::Buffer {
    match lags {
        Some(l) => g.buf("lags", &l[indptr[r0] as usize..indptr[r1] as usize].iter().map(|&x| x as u32).collect::<Vec<u32>>()),
        None => g.buf("unused lags", &[POISON_U; 4]),
    }
}

#[test]
fn spike_scatter_matches_cpu() {
    let test = "spike_scatter_matches_cpu";
    let seed = base_seed();
    let Some(g) = gpu(test, seed) else { return };
    let mut rng = rng_for(test, seed);
    let mut case = 0;
    let mut spikes = 0usize;
    for &n_pre in &SIZES {
        for n_post in [1usize, 65, 1007] {
            for &batch in &BATCHES {
                for per_synapse in [false, true] {
                    case += 1;
                    let (indptr, indices) = random_csr(&mut rng, n_pre, n_post);
                    let weights = if per_synapse {
                        PlanWeights::PerSynapse((0..indices.len()).map(|_| rng.random_range(-0.5f32..2.0)).collect())
                    } else {
                        PlanWeights::Shared(rng.random_range(-0.5f32..2.0))
                    };
                    let scale = scale_of(&indptr, &indices, &weights, n_post);
                    let read_offset = rng.random_range(0..4u32);
                    let ring = read_offset as usize + 1 + rng.random_range(0..2);
                    let s0: u32 = if case % 4 == 0 { 0 } else { rng.random_range(1..100) };
                    let nsteps = 5u32;
                    let (wpre, wpost) = (batch * n_pre, batch * n_post);
                    let p_spike = [0.3, 0.02, 1.0][rng.random_range(0..3)];
                    // stamps: never, an old step, or a step of this run read by one of its steps
                    let stamps: Vec<u32> = (0..ring * wpre)
                        .map(|_| match rng.random_range(0..4) {
                            0 => NEVER,
                            1 => rng.random_range(0..s0 + 1),
                            _ if rng.random_bool(p_spike) => (s0 + rng.random_range(0..nsteps)).saturating_sub(read_offset),
                            _ => NEVER,
                        })
                        .collect();
                    let slices = slicing(&mut rng, case % 3, n_pre);
                    let covered = |i: usize| slices.iter().any(|&(a, b)| (a..b).contains(&i));
                    let masked: Vec<u32> = stamps.iter().enumerate().map(|(k, &s)| if covered(k % wpre % n_pre) { s } else { NEVER }).collect();
                    // an accumulator ring of 1 to 4 slots, with per-synapse lags in half the cases
                    let acc_ring = rng.random_range(1..5usize);
                    let lags: Vec<u16> = (0..indices.len()).map(|_| rng.random_range(0..acc_ring as u16)).collect();
                    let lagged = (case % 2 == 1).then_some(&lags[..]);
                    let wpost = acc_ring * wpost;
                    let acc0: Vec<i32> = (0..wpost).map(|_| rng.random_range(-1000..1000)).collect();
                    let mut acc = acc0.clone();
                    for s in s0..s0 + nsteps {
                        let read = s as i64 - read_offset as i64;
                        if read >= 0 {
                            spikes += masked[(read as usize % ring) * wpre..][..wpre].iter().filter(|&&x| x == read as u32).count();
                        }
                        let to = Delivery { lags: lagged, ring: acc_ring, step: s as usize };
                        spike_scatter(&indptr, &indices, &weights, scale, &masked, ring, read, n_pre, batch, n_post, to, &mut acc);
                    }
                    let sb = g.buf("stamps", &stamps);
                    let ab = g.buf("acc", &with_tail(&acc0, POISON_U as i32));
                    let bufs: Vec<SliceBufs> = slices.iter().map(|&r| upload_slice(&g, &indptr, &indices, &weights, r)).collect();
                    let to = Delivery { lags: lagged, ring: acc_ring, step: 0 };
                    let uniforms: Vec<wgpu::Buffer> = bufs.iter().map(|s| g.uniform(&params(s, n_pre, n_post, batch, read_offset, ring, &weights, scale, &to))).collect();
                    let lag_bufs: Vec<wgpu::Buffer> = slices.iter().map(|&r| lag_buf(&g, lagged, &indptr, r)).collect();
                    let bound: Vec<Bound> = bufs
                        .iter()
                        .zip(&uniforms)
                        .zip(&lag_bufs)
                        .map(|((s, p), l)| g.bind(&SpikeScatterBindings { p, indptr: &s.indptr, indices: &s.indices, weights: &s.weights, stamps: &sb, acc: &ab, lags: l }))
                        .collect();
                    let threads: Vec<u64> = bufs.iter().map(|s| (s.rows * batch) as u64).collect();
                    let fns: Vec<Box<dyn Fn(usize) -> u64>> = threads.iter().map(|&t| Box::new(move |_| t) as Box<dyn Fn(usize) -> u64>).collect();
                    let passes: Vec<Pass> = bound.iter().zip(&fns).map(|(b, t)| Pass { bound: b, threads: t.as_ref() }).collect();
                    let infos: Vec<_> = (0..nsteps).map(|r| step_info(s0 + r, 0.1, s0)).collect();
                    g.run(&infos, &passes, max_dim_for(&g, case));
                    let got: Vec<i32> = g.read(&ab, wpost + TAIL);
                    let what = format!(
                        "seed {seed}: spike_scatter n_pre={n_pre} n_post={n_post} batch={batch} per_synapse={per_synapse} slices {slices:?} \
                         ring={ring} read_offset={read_offset} steps {s0}..{} scale={scale:e} p_spike={p_spike} acc_ring={acc_ring} lagged={}",
                        s0 + nsteps,
                        lagged.is_some()
                    );
                    assert_eq_u(&what, &got[..wpost], &acc);
                    assert_tail_i(&what, &got, wpost);
                }
            }
        }
    }
    assert!(spikes > 0, "seed {seed}: no spike was read");
    g.finish();
}
