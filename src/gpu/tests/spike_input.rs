//! `spike_input.wgsl` against `cpu::reference::spike_input`: a stamp ring of several slots, the
//! events of several steps in one submission, runs that start at step 0 and later.

use super::harness::*;
use crate::cpu::reference::spike_input::spike_input;
use crate::gpu::kernels::SpikeInputBindings;
use crate::gpu::uniforms::SpikeInputParams;
use crate::plan::NEVER;
use rand::Rng;

#[test]
fn spike_input_matches_cpu() {
    let test = "spike_input_matches_cpu";
    let seed = base_seed();
    let Some(g) = gpu(test, seed) else { return };
    let mut rng = rng_for(test, seed);
    let mut case = 0;
    let mut stamped = 0usize;
    for &n in &SIZES {
        for &batch in &BATCHES {
            for ring in [1usize, 3, 5] {
                for s0 in [0u32, rng.random_range(1..500)] {
                    case += 1;
                    let width = batch * n;
                    let nsteps = 12usize;
                    let total = s0 as usize + nsteps + 2;
                    // events of every step, sorted by neuron and without duplicates as the plan
                    // lists them; steps before s0 have events too (offsets[s0] > 0)
                    let mut events = Vec::new();
                    let mut offsets = vec![0u32];
                    for _ in 0..total {
                        let k = [0, 1, 2, 63, 65, width, rng.random_range(0..300)][rng.random_range(0..7)];
                        let mut ev: Vec<u32> = (0..k).map(|_| rng.random_range(0..width as u32)).collect();
                        ev.sort_unstable();
                        ev.dedup();
                        events.extend(ev);
                        offsets.push(events.len() as u32);
                    }
                    let init: Vec<u32> = (0..ring * width)
                        .map(|_| match rng.random_range(0..3) {
                            0 => NEVER,
                            1 => POISON_U,
                            _ => rng.random_range(0..s0.max(1)),
                        })
                        .collect();
                    let mut want = init.clone();
                    for s in s0..s0 + nsteps as u32 {
                        spike_input(s, &offsets, &events, ring as u32, width, &mut want);
                    }
                    stamped += want.iter().zip(&init).filter(|(a, b)| a != b).count();
                    let p = g.uniform(&SpikeInputParams { ring: ring as u32, width: width as u32, ..Default::default() });
                    let ob = g.buf("offsets", &offsets);
                    let eb = g.buf("events", &events);
                    let sb = g.buf("stamps", &with_tail(&init, POISON_U));
                    let bound = g.bind(&SpikeInputBindings { p: &p, offsets: &ob, events: &eb, stamps: &sb });
                    let infos: Vec<_> = (0..nsteps as u32).map(|r| step_info(s0 + r, 0.1, s0)).collect();
                    let threads = |r: usize| {
                        let s = s0 as usize + r;
                        (offsets[s + 1] - offsets[s]) as u64
                    };
                    g.run(&infos, &[Pass { bound: &bound, threads: &threads }], max_dim_for(&g, case));
                    let got: Vec<u32> = g.read(&sb, ring * width + TAIL);
                    let what = format!("seed {seed}: spike_input n={n} batch={batch} ring={ring} steps {s0}..{}", s0 as usize + nsteps);
                    assert_eq_u(&what, &got[..ring * width], &want);
                    assert_tail_u(&what, &got, ring * width);
                }
            }
        }
    }
    assert!(stamped > 0, "seed {seed}: no stamp was written");
    g.finish();
}
