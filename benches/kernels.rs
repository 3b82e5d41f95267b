//! Per-kernel benchmarks: the CPU kernels and the GPU engine per step, with the bytes each step
//! must move, so figures can be held against memory bandwidth.
//!
//! `cargo bench` runs them at full size; `SPIKEGPU_BENCH_SMALL=1` shrinks them so CI can run
//! them in seconds. Each figure is the median of several timed repetitions.

use rand::{Rng, SeedableRng};
use spikegpu::internals::fast::columns::{Columns, Indices};
use spikegpu::internals::fast::event::{spike_scatter, window_scatter, FixedWeights};
use spikegpu::internals::fast::gating::{gating_dense, Spikes};
use spikegpu::internals::fast::lif;
use spikegpu::internals::fast::post_synapse::post_synapse;
use spikegpu::internals::fast::sliced::Sliced;
use spikegpu::internals::reference::csr_gather::csr_gather;
use spikegpu::internals::reference::event_finalize::event_finalize;
use spikegpu::internals::reference::spike_scatter::Delivery;
use spikegpu::internals::reference::lif_update::LifState;
use spikegpu::internals::reference::poisson_input::{self as poisson_reference, Draw, Sink};
use spikegpu::model::counts::CountTable;
use spikegpu::model::CountLaw;
use spikegpu::model::{Csr, LifRef, Output, Synapse, SynapseKind};
use spikegpu::plan::{AccKind, GatingParams, NeuronParams, OutputParams, PlanWeights, SynParams};
use std::time::Instant;

fn median_seconds(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(|a, b| a.total_cmp(b));
    t[t.len() / 2]
}

fn fixed_out_degree(rng: &mut impl Rng, n_pre: usize, n_post: usize, k: usize) -> Csr {
    let mut indices = Vec::with_capacity(n_pre * k);
    let mut indptr = vec![0u32];
    for _ in 0..n_pre {
        for _ in 0..k {
            indices.push(rng.random_range(0..n_post as u32));
        }
        indptr.push(indices.len() as u32);
    }
    Csr { n_rows: n_pre, n_cols: n_post, indptr, indices }
}

fn main() {
    let small = std::env::var("SPIKEGPU_BENCH_SMALL").is_ok_and(|v| v == "1");
    let (n, k, reps) = if small { (2_000, 20, 5) } else { (10_000, 100, 21) };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    println!("kernel benchmarks ({}), {} threads", if small { "small" } else { "full" }, rayon::current_num_threads());

    // csr_gather: B2's product, n pre x n post, k synapses per pre neuron
    let pre_major = fixed_out_degree(&mut rng, n, n, k);
    let (post_major, _) = pre_major.transpose();
    let x: Vec<f32> = (0..n).map(|_| rng.random::<f32>()).collect();
    let mut y = vec![0.0f32; n];
    let w = PlanWeights::Shared(0.08);
    let s = median_seconds(reps, || csr_gather(&post_major.indptr, &post_major.indices, &w, Some(&x), n, &mut y));
    let syn = post_major.nnz() as f64;
    // the readable twin, row by row: 4 B of index per synapse, the pre state (cached), 4 B
    // written per post neuron
    let bytes = 4.0 * syn + 4.0 * n as f64 + 4.0 * (n + 1) as f64;
    println!(
        "csr_gather   {:>9} synapses  {:>9.1} us/step  {:.2} ns/synapse  {:.1} GB/s (index stream)",
        syn,
        s * 1e6,
        s * 1e9 / syn,
        bytes / s / 1e9
    );

    // the engine's dense product: the same matrix in the sliced layout, 16-bit indices
    let sliced = Sliced::new(&post_major.indptr, Indices::narrowest(post_major.indices.clone(), n), &w);
    let s = median_seconds(reps, || sliced.gather(&x, n, &mut y));
    // per step: 2 B of index per synapse (plus about 1% padding), the pre state, the output
    let bytes = 2.0 * syn + 4.0 * n as f64 + 4.0 * n as f64;
    println!(
        "sliced       {:>9} synapses  {:>9.1} us/step  {:.2} ns/synapse  {:.1} GB/s (index stream)",
        syn,
        s * 1e6,
        s * 1e9 / syn,
        bytes / s / 1e9
    );
    let batch = 8;
    let xb: Vec<f32> = (0..batch * n).map(|_| rng.random::<f32>()).collect();
    let mut yb = vec![0.0f32; batch * n];
    let s8 = median_seconds(reps, || sliced.gather(&xb, n, &mut yb));
    println!("sliced x8    {:>9} synapses  {:>9.1} us/step  {:.2} ns/synapse/batch row  {:.2}x per row vs batch 1", syn, s8 * 1e6, s8 * 1e9 / (syn * batch as f64), s * batch as f64 / s8);

    // event mode at B2's activity: 1% of the pre rows inside their window, then the finalize
    let active: Vec<u32> = (0..n as u32).step_by(100).collect();
    let pre_cols = Columns::new(pre_major.indices.clone(), n);
    let mut acc = vec![0i32; n];
    let scale = (1u32 << 26) as f32;
    let s = median_seconds(reps, || window_scatter(&pre_major.indptr, &pre_cols, &w, 0.98, scale, &x, Some(&x), &active, n, n, &mut acc));
    let touched = active.iter().map(|&i| pre_major.row(i as usize).len()).sum::<usize>();
    println!("event_scatter {:>8} synapses  {:>9.1} us/step  {:.2} ns/synapse ({} active rows)", touched, s * 1e6, s * 1e9 / touched as f64, active.len());
    let s = median_seconds(reps, || event_finalize(0.98, 1.0 / scale, &mut acc, &mut y));
    println!("event_finalize {:>7} neurons   {:>9.1} us/step  {:.2} ns/neuron", n, s * 1e6, s * 1e9 / n as f64);

    // spike scatter (post-aligned): the same active rows' weights into an accumulator
    let fixed_w = FixedWeights::new(&w, scale);
    let s = median_seconds(reps, || spike_scatter(&pre_major.indptr, &pre_cols, &fixed_w, &active, n, n, Delivery::NOW, &mut acc));
    println!("spike_scatter {:>8} synapses  {:>9.1} us/step  {:.2} ns/synapse ({} spiking rows)", touched, s * 1e6, s * 1e9 / touched as f64, active.len());
    // post-aligned Expon state of n post neurons
    let ep = SynParams::new(&Synapse::Expon { tau: 5.0 }, 0.1);
    let mut states = vec![0.0f32; n];
    let s = median_seconds(reps, || post_synapse(&ep, AccKind::PostAligned, 1.0 / scale, &mut acc, &mut states, &mut [], &mut y));
    println!("post_synapse {:>9} neurons   {:>9.1} us/step  {:.2} ns/neuron", n, s * 1e6, s * 1e9 / n as f64);

    // gating: n pre neurons, one AMPA group
    let SynParams::Kinetic(p) = SynParams::new(&Synapse::default_for(SynapseKind::Ampa), 0.1) else { unreachable!() };
    let p: GatingParams = p;
    let mut sat = vec![-1e7f32; n];
    let mut hist = vec![0.0f32; n];
    let mut step = 0u32;
    let mut stamps = vec![u32::MAX; n];
    let s = median_seconds(reps, || {
        step += 1;
        // the engine's dense gating of a source with a ring of one: stamps of the step's spikes
        for i in (step as usize % 500..n).step_by(500) {
            stamps[i] = step;
        }
        gating_dense(&p, step, step as f32 * 0.1, n, 1, Spikes::Stamps(&stamps, step), &mut sat, &mut hist)
    });
    println!("gating       {:>9} neurons   {:>9.1} us/step  {:.2} ns/neuron", n, s * 1e6, s * 1e9 / n as f64);

    // lif_update: n neurons, one COBA input
    let lp = NeuronParams::lif_ref(&LifRef { v_rest: -60.0, v_th: -50.0, v_reset: -60.0, tau: 20.0, tau_ref: 5.0, ..LifRef::brainpy_defaults() }, 0.1);
    let outputs = [OutputParams::from(&Output::coba(0.0))];
    let mut state = LifState::new(&vec![-60.0; n], 1);
    for g in state.gsyn.iter_mut() {
        *g = rng.random::<f32>() * 0.5;
    }
    let s = median_seconds(reps, || {
        lif::lif_update(&lp, 1.0, &outputs, None, &mut state);
    });
    println!("lif_update   {:>9} neurons   {:>9.1} us/step  {:.2} ns/neuron", n, s * 1e6, s * 1e9 / n as f64);

    // poisson_input: n neurons, the microcircuit's background (Poisson(1.68) per neuron and step)
    let mut acc = vec![0i32; n];
    let mut step = 0u32;
    // the draws alone: a law with one count needs no comparisons
    let none = CountTable::new(CountLaw::Binomial, 1, 0.0).expect("tabulates");
    let micro = CountTable::new(CountLaw::Poisson, 2100, 8e-4).expect("tabulates");
    for (name, fast_path, table) in [("poisson_input", true, &micro), ("poisson (ref)", false, &micro), ("philox alone", true, &none)] {
        let s = median_seconds(reps, || {
            step += 1;
            let d = Draw { step, key: [7, 0], stream: 0, first: table.first, thresholds: &table.thresholds };
            let sink = Sink::Accumulator { acc: &mut acc, q: 3 };
            if fast_path {
                spikegpu::internals::fast::poisson::poisson_input(d, n, 1, sink)
            } else {
                poisson_reference::poisson_input(d, n, 1, sink)
            }
        });
        println!("{name:<13}{n:>9} neurons   {:>9.1} us/step  {:.2} ns/neuron ({} thresholds)", s * 1e6, s * 1e9 / n as f64, table.thresholds.len());
    }
}
