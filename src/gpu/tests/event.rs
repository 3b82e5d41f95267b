//! `event_scatter.wgsl` + `event_finalize.wgsl` (AMPA/GABAa event mode) against
//! `cpu::reference::event_scatter` and `event_finalize`: both kernels every step as the engine
//! runs them, the matrix whole, cut into two slices, or one slice with `row_start > 0` alone;
//! read steps before the run and at step 0 (no previous value). The increments are integers, so
//! the sums are exact whatever order the atomics run in; the finalize is bit-exact too.

use super::csr_gather::random_csr;
use super::harness::*;
use crate::cpu::reference::{event_finalize::event_finalize, event_scatter::event_scatter};
use crate::gpu::kernels::{WindowFinalizeBindings, WindowScatterBindings};
use crate::gpu::uniforms::{FinalizeParams, ScatterParams};
use crate::model::{Csr, Kinetic, Weights};
use crate::plan::{event_scale, GatingParams, PlanWeights};
use rand::Rng;

/// Row ranges a case dispatches: the whole matrix, two slices covering it, or one inner slice.
pub(super) fn slicing(rng: &mut impl Rng, mode: usize, rows: usize) -> Vec<(usize, usize)> {
    match mode {
        0 => vec![(0, rows)],
        1 if rows > 1 => {
            let r = rng.random_range(1..rows);
            vec![(0, r), (r, rows)]
        }
        1 => vec![(0, rows)],
        _ => {
            let r0 = rng.random_range(0..rows);
            vec![(r0, rng.random_range(r0 + 1..=rows))]
        }
    }
}

/// One slice's buffers on the device.
pub(super) struct SliceBufs {
    pub r0: usize,
    pub rows: usize,
    pub indptr: wgpu::Buffer,
    pub indices: wgpu::Buffer,
    pub weights: wgpu::Buffer,
}

/// Uploads rows `r0..r1` of a CSR as the engine's `ProgramBuilder::slices` does.
pub(super) fn upload_slice(g: &Gpu, indptr: &[u32], indices: &[u32], weights: &PlanWeights, (r0, r1): (usize, usize)) -> SliceBufs {
    let (base, end) = (indptr[r0] as usize, indptr[r1] as usize);
    let rel: Vec<u32> = indptr[r0..=r1].iter().map(|&x| x - base as u32).collect();
    SliceBufs {
        r0,
        rows: r1 - r0,
        indptr: g.buf("indptr", &rel),
        indices: g.buf("indices", &indices[base..end]),
        weights: match weights {
            PlanWeights::PerSynapse(w) => g.buf("weights", &w[base..end]),
            PlanWeights::Shared(_) => g.buf("unused weights", &[POISON_F; 4]),
        },
    }
}

#[test]
fn event_scatter_and_finalize_match_cpu() {
    let test = "event_scatter_and_finalize_match_cpu";
    let seed = base_seed();
    let Some(g) = gpu(test, seed) else { return };
    let mut rng = rng_for(test, seed);
    let mut case = 0;
    let mut increments = 0usize;
    for &n_pre in &SIZES {
        for n_post in [1usize, 65, 1007] {
            for &batch in &BATCHES {
                for per_synapse in [false, true] {
                    case += 1;
                    let (indptr, indices) = random_csr(&mut rng, n_pre, n_post);
                    let nnz = indices.len();
                    let w: Vec<f32> = (0..nnz).map(|_| rng.random_range(-0.5f32..2.0)).collect();
                    let shared = rng.random_range(0.01f32..2.0);
                    let (weights, model_weights) =
                        if per_synapse { (PlanWeights::PerSynapse(w.clone()), Weights::PerSynapse(w)) } else { (PlanWeights::Shared(shared), Weights::Shared(shared)) };
                    let dt = [0.1f32, 0.05][rng.random_range(0..2)];
                    let k = Kinetic { alpha: 0.98, beta: 0.18 * rng.random_range(0.5f32..2.0), t_conc: 0.5, t_dur: 0.5 };
                    let decay = GatingParams::new(&k, dt).decay;
                    let csr = Csr { n_rows: n_pre, n_cols: n_post, indptr: indptr.clone(), indices: indices.clone() };
                    let scale = event_scale(&csr, &model_weights);
                    let read_offset = rng.random_range(0..4u32);
                    let history = read_offset as usize + 2 + rng.random_range(0..2);
                    let (wpre, wpost) = (batch * n_pre, batch * n_post);
                    let hist: Vec<f32> = (0..history * wpre).map(|_| rng.random::<f32>()).collect();
                    let p_on = [0.3, 0.02, 1.0][rng.random_range(0..3)];
                    let on: Vec<u32> = (0..history * wpre).map(|_| rng.random_bool(p_on) as u32).collect();
                    let slices = slicing(&mut rng, case % 3, n_pre);
                    let covered = |i: usize| slices.iter().any(|&(a, b)| (a..b).contains(&i));
                    let s0: u32 = if case % 4 == 0 { 0 } else { rng.random_range(1..100) };
                    let nsteps = 4u32;
                    let n_slots = 2usize;
                    let slot = rng.random_range(0..n_slots);
                    let out_base = slot * wpost;
                    let acc0: Vec<i32> = (0..wpost).map(|_| rng.random_range(-1000..1000)).collect();
                    let gsyn0: Vec<f32> = (0..n_slots * wpost).map(|k| if k / wpost == slot { rng.random::<f32>() } else { POISON_F }).collect();
                    // the CPU twin over the rows the slices cover
                    let cpu_scatter = |step: u32, acc: &mut [i32]| -> usize {
                        let read = step as i64 - read_offset as i64;
                        if read < 0 {
                            return 0;
                        }
                        let sl = |s: i64| &hist[(s as usize % history) * wpre..][..wpre];
                        let window: Vec<u32> = (0..wpre).map(|idx| if covered(idx % n_pre) { on[(read as usize % history) * wpre + idx] } else { 0 }).collect();
                        event_scatter(&indptr, &indices, &weights, decay, scale, sl(read), (read >= 1).then(|| sl(read - 1)), &window, n_pre, n_post, acc);
                        window.iter().filter(|&&f| f != 0).count()
                    };
                    let (mut acc, mut gsyn) = (acc0.clone(), gsyn0.clone());
                    for s in s0..s0 + nsteps {
                        increments += cpu_scatter(s, &mut acc);
                        event_finalize(decay, 1.0 / scale, &mut acc, &mut gsyn[out_base..out_base + wpost]);
                    }
                    let hb = g.buf("hist", &hist);
                    let ob = g.buf("on_hist", &on);
                    let ab = g.buf("acc", &with_tail(&acc0, POISON_U as i32));
                    let gb = g.buf("gsyn", &with_tail(&gsyn0, POISON_F));
                    let bufs: Vec<SliceBufs> = slices.iter().map(|&r| upload_slice(&g, &indptr, &indices, &weights, r)).collect();
                    let uniforms: Vec<wgpu::Buffer> = bufs
                        .iter()
                        .map(|s| {
                            g.uniform(&ScatterParams {
                                rows: s.rows as u32,
                                row_start: s.r0 as u32,
                                n_pre: n_pre as u32,
                                n_post: n_post as u32,
                                batch: batch as u32,
                                read_offset,
                                history: history as u32,
                                per_synapse: per_synapse as u32,
                                shared_w: if per_synapse { f32::NAN } else { shared },
                                decay,
                                scale,
                                ..Default::default()
                            })
                        })
                        .collect();
                    let scatters: Vec<Bound> = bufs
                        .iter()
                        .zip(&uniforms)
                        .map(|(s, p)| g.bind(&WindowScatterBindings { p, indptr: &s.indptr, indices: &s.indices, weights: &s.weights, hist: &hb, on_hist: &ob, acc: &ab }))
                        .collect();
                    let fp = g.uniform(&FinalizeParams { width: wpost as u32, out_base: out_base as u32, decay, inv_scale: 1.0 / scale });
                    let finalize = g.bind(&WindowFinalizeBindings { p: &fp, acc: &ab, gsyn: &gb });
                    let thread_counts: Vec<u64> = bufs.iter().map(|s| (s.rows * batch) as u64).collect();
                    let counts: Vec<Box<dyn Fn(usize) -> u64>> = thread_counts.iter().map(|&t| Box::new(move |_| t) as Box<dyn Fn(usize) -> u64>).collect();
                    let fin_threads = |_| wpost as u64;
                    let mut passes: Vec<Pass> = scatters.iter().zip(&counts).map(|(b, t)| Pass { bound: b, threads: t.as_ref() }).collect();
                    passes.push(Pass { bound: &finalize, threads: &fin_threads });
                    let infos: Vec<_> = (0..nsteps).map(|r| step_info(s0 + r, dt, s0)).collect();
                    g.run(&infos, &passes, max_dim_for(&g, case));
                    let what = format!(
                        "seed {seed}: event_scatter+finalize n_pre={n_pre} n_post={n_post} batch={batch} per_synapse={per_synapse} slices {slices:?} \
                         history={history} read_offset={read_offset} steps {s0}..{} scale={scale:e} p_on={p_on}",
                        s0 + nsteps
                    );
                    let got_acc: Vec<i32> = g.read(&ab, wpost + TAIL);
                    let got_g: Vec<f32> = g.read(&gb, n_slots * wpost + TAIL);
                    assert_eq_u(&format!("{what}: acc after finalize"), &got_acc[..wpost], &acc);
                    assert_tail_i(&format!("{what}: acc"), &got_acc, wpost);
                    assert_bits_f(&format!("{what}: gsyn"), &got_g[..n_slots * wpost], &gsyn);
                    assert_tail_f(&format!("{what}: gsyn"), &got_g, n_slots * wpost);
                    // the increments themselves: one more step, the scatters alone
                    let s = s0 + nsteps;
                    increments += cpu_scatter(s, &mut acc);
                    g.run(&[step_info(s, dt, s)], &passes[..passes.len() - 1], max_dim_for(&g, case + 1));
                    let got_acc: Vec<i32> = g.read(&ab, wpost + TAIL);
                    assert_eq_u(&format!("{what}: increments of step {s}"), &got_acc[..wpost], &acc);
                    assert_tail_i(&format!("{what}: acc"), &got_acc, wpost);
                }
            }
        }
    }
    assert!(increments > 0, "seed {seed}: no pre variable was inside its window");
    g.finish();
}
