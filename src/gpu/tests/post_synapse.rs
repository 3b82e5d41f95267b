//! `post_synapse.wgsl` against `cpu::reference::post_synapse`: Expon and DualExponV2 aligned
//! post, and the event-mode aggregates of Expon, DualExpon, DualExponV2 and Alpha. Each step runs
//! a `spike_scatter` into the accumulator and then the state's update, as the engine does, so the
//! state takes input on several steps of one submission. No division: bit-exact.

use super::csr_gather::random_csr;
use super::event::{upload_slice, SliceBufs};
use super::harness::*;
use super::pre_synapse::random_synapse;
use super::spike_scatter::{lag_buf, params as scatter_params, scale_of};
use crate::cpu::reference::{
    post_synapse::post_synapse,
    spike_scatter::{spike_scatter, Delivery},
};
use crate::gpu::kernels::{PostSynapseBindings, SpikeScatterBindings};
use crate::gpu::uniforms::PostSynapseParams;
use crate::model::{SynState, Synapse};
use crate::plan::{AccKind, AccPlan, PlanWeights, SynParams, NEVER};
use rand::Rng;

#[test]
fn post_synapse_matches_cpu() {
    let test = "post_synapse_matches_cpu";
    let seed = base_seed();
    let Some(g) = gpu(test, seed) else { return };
    let mut rng = rng_for(test, seed);
    let mut case = 0;
    let mut alpha = Deferred::default();
    // (random_synapse model, kind): the pairs the plan makes
    let kinds = [(2, AccKind::PostAligned), (4, AccKind::PostAligned), (2, AccKind::Aggregate), (3, AccKind::Aggregate), (4, AccKind::Aggregate), (5, AccKind::Aggregate)];
    for (which, kind) in kinds {
        for &n_post in &SIZES {
            for &batch in &BATCHES {
                case += 1;
                let synapse = random_synapse(&mut rng, which);
                let dt = [0.1f32, 0.05][rng.random_range(0..2)];
                let n_pre = [1usize, 65, 300][rng.random_range(0..3)];
                let (indptr, indices) = random_csr(&mut rng, n_pre, n_post);
                let weights = if rng.random_bool(0.5) {
                    PlanWeights::PerSynapse((0..indices.len()).map(|_| rng.random_range(-0.5f32..2.0)).collect())
                } else {
                    PlanWeights::Shared(rng.random_range(0.01f32..2.0))
                };
                let scale = scale_of(&indptr, &indices, &weights, n_post);
                let states_of = match synapse {
                    Synapse::DualExponV2 { .. } => vec![Some(SynState::GRise), Some(SynState::GDecay)],
                    Synapse::DualExpon { .. } | Synapse::Alpha { .. } => vec![None, Some(SynState::H)],
                    _ => vec![None],
                };
                let n_slots = 3usize;
                let slot = rng.random_range(0..n_slots);
                // post-aligned states read an accumulator ring (per-synapse delays); aggregates one slot
                let acc_ring = if kind == AccKind::PostAligned { rng.random_range(1..4usize) } else { 1 };
                let lags: Vec<u16> = (0..indices.len()).map(|_| rng.random_range(0..acc_ring as u16)).collect();
                let lagged = (acc_ring > 1 && rng.random_bool(0.7)).then_some(&lags[..]);
                let a = AccPlan { neuron: 0, n: n_post, synapse, params: SynParams::new(&synapse, dt), kind, slot, states: states_of, scale, ring: acc_ring };
                let up = PostSynapseParams::new(&a, batch, dt);
                let (wpre, width) = (batch * n_pre, batch * n_post);
                let n_states = a.states.len();
                let s0: u32 = rng.random_range(0..50);
                let nsteps = 6u32;
                let ring = 2usize;
                let stamps: Vec<u32> = (0..ring * wpre).map(|_| if rng.random_bool(0.5) { s0 + rng.random_range(0..nsteps) } else { NEVER }).collect();
                let acc0: Vec<i32> = (0..acc_ring * width).map(|_| rng.random_range(-100_000..100_000)).collect();
                let states0: Vec<f32> = (0..n_states * width).map(|_| rng.random_range(-1.0f32..3.0)).collect();
                let gsyn0: Vec<f32> = (0..n_slots * width).map(|k| if k / width == slot { rng.random::<f32>() } else { POISON_F }).collect();
                let (mut acc, mut states, mut gsyn) = (acc0.clone(), states0.clone(), gsyn0.clone());
                for s in s0..s0 + nsteps {
                    let to = Delivery { lags: lagged, ring: acc_ring, step: s as usize };
                    spike_scatter(&indptr, &indices, &weights, scale, &stamps, ring, s as i64, n_pre, batch, n_post, to, &mut acc);
                    let now = &mut acc[(s as usize % acc_ring) * width..][..width];
                    post_synapse(&a.params, kind, up.inv_scale, width, now, &mut states, &mut gsyn[slot * width..(slot + 1) * width]);
                }
                let sb = g.buf("stamps", &stamps);
                let ab = g.buf("acc", &with_tail(&acc0, POISON_U as i32));
                let stb = g.buf("states", &with_tail(&states0, POISON_F));
                let gb = g.buf("gsyn", &with_tail(&gsyn0, POISON_F));
                let sl: SliceBufs = upload_slice(&g, &indptr, &indices, &weights, (0, n_pre));
                let sp = g.uniform(&scatter_params(&sl, n_pre, n_post, batch, 0, ring, &weights, scale, &Delivery { lags: lagged, ring: acc_ring, step: 0 }));
                let lb = lag_buf(&g, lagged, &indptr, (0, n_pre));
                let scatter = g.bind(&SpikeScatterBindings { p: &sp, indptr: &sl.indptr, indices: &sl.indices, weights: &sl.weights, stamps: &sb, acc: &ab, lags: &lb });
                let pp = g.uniform(&up);
                let post = g.bind(&PostSynapseBindings { p: &pp, acc: &ab, states: &stb, gsyn: &gb });
                let infos: Vec<_> = (0..nsteps).map(|r| step_info(s0 + r, dt, s0)).collect();
                let (t_scatter, t_post) = (|_| wpre as u64, |_| width as u64);
                g.run(&infos, &[Pass { bound: &scatter, threads: &t_scatter }, Pass { bound: &post, threads: &t_post }], max_dim_for(&g, case));
                let what = format!(
                    "seed {seed}: post_synapse {} {kind:?} n_post={n_post} batch={batch} n_pre={n_pre} dt={dt} slot={slot} steps {s0}..{} scale={scale:e} acc_ring={acc_ring} lagged={}",
                    synapse.model_name(),
                    s0 + nsteps,
                    lagged.is_some()
                );
                let width_all = acc_ring * width;
                let got_acc: Vec<i32> = g.read(&ab, width_all + TAIL);
                let got_states: Vec<f32> = g.read(&stb, n_states * width + TAIL);
                let got_g: Vec<f32> = g.read(&gb, n_slots * width + TAIL);
                assert_eq_u(&format!("{what}: acc"), &got_acc[..width_all], &acc);
                assert_tail_i(&format!("{what}: acc"), &got_acc, width_all);
                if matches!(synapse, Synapse::Alpha { .. }) {
                    alpha.bits(&format!("{what}: states"), &got_states[..n_states * width], &states);
                    alpha.bits(&format!("{what}: gsyn"), &got_g[..n_slots * width], &gsyn);
                } else {
                    assert_bits_f(&format!("{what}: states"), &got_states[..n_states * width], &states);
                    assert_bits_f(&format!("{what}: gsyn"), &got_g[..n_slots * width], &gsyn);
                }
                assert_tail_f(&format!("{what}: states"), &got_states, n_states * width);
                assert_tail_f(&format!("{what}: gsyn"), &got_g, n_slots * width);
            }
        }
    }
    g.finish();
    alpha.assert_none(super::pre_synapse::ALPHA_WHY);
}
