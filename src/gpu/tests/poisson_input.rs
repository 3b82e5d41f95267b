//! `poisson_input.wgsl` against `cpu::reference::poisson_input`: both sinks, tables empty, short
//! and long (the binary search's every depth), seeds and steps above 2^31 (Philox's 32-bit
//! products), accumulator rings of several slots, several steps in one submission. The counts
//! are integers and the V update is one multiply and one add, so the bits must agree.

use super::harness::*;
use crate::cpu::reference::poisson_input::{poisson_input, Draw, Sink};
use crate::gpu::kernels::PoissonInputBindings;
use crate::gpu::uniforms::PoissonInputParams;
use crate::model::counts::CountTable;
use crate::model::CountLaw;
use rand::Rng;

#[test]
fn poisson_input_matches_cpu() {
    let test = "poisson_input_matches_cpu";
    let seed = base_seed();
    let Some(g) = gpu(test, seed) else { return };
    let mut rng = rng_for(test, seed);
    let mut case = 0;
    let mut counted = 0u64;
    for &n in &SIZES {
        for &batch in &BATCHES {
            for (law, k, p) in [(CountLaw::Binomial, 50u64, 0.0), (CountLaw::Poisson, 2000, 8e-4), (CountLaw::Poisson, 400_000, 0.25), (CountLaw::Binomial, 7, 0.6)] {
                for to_voltage in [true, false] {
                    case += 1;
                    let table = CountTable::new(law, k, p).unwrap();
                    let width = batch * n;
                    let ring = if to_voltage { 1 } else { rng.random_range(1..4usize) };
                    let s0: u32 = if case % 2 == 0 { rng.random_range(0..1000) } else { rng.random_range(1 << 31..u32::MAX - 100) };
                    let key: [u32; 2] = rng.random();
                    let stream = rng.random_range(0..5);
                    let weight: f32 = rng.random_range(-1.5..1.5);
                    let q: i32 = rng.random_range(-3000..3000);
                    let nsteps = 5u32;
                    let params = PoissonInputParams {
                        n: n as u32,
                        batch: batch as u32,
                        counters: crate::cpu::reference::poisson_input::counters(n) as u32,
                        sink: (!to_voltage) as u32,
                        key0: key[0],
                        key1: key[1],
                        stream,
                        first: table.first,
                        len: table.thresholds.len() as u32,
                        ring: ring as u32,
                        weight,
                        q,
                    };
                    let pb = g.uniform(&params);
                    let tb = g.buf("thresholds", &with_tail(&table.thresholds, 0));
                    let what = format!("seed {seed}: poisson_input n={n} batch={batch} {law:?}({k}, {p}) voltage={to_voltage} steps {s0}..");
                    let draw = |s: u32| Draw { step: s, key, stream, first: table.first, thresholds: &table.thresholds };
                    let infos: Vec<_> = (0..nsteps).map(|r| step_info(s0 + r, 0.1, s0)).collect();
                    let threads = |_: usize| (crate::cpu::reference::poisson_input::counters(n) * batch) as u64;
                    if to_voltage {
                        let init: Vec<f32> = (0..width).map(|_| rng.random_range(-70.0..-50.0)).collect();
                        let mut want = init.clone();
                        for s in s0..s0 + nsteps {
                            poisson_input(draw(s), n, batch, Sink::Voltage { v: &mut want, weight });
                        }
                        counted += want.iter().zip(&init).filter(|(a, b)| a != b).count() as u64;
                        let vb = g.buf("v", &with_tail(&init, POISON_F));
                        let unused = g.buf("acc", &[0i32; 16]);
                        let bound = g.bind(&PoissonInputBindings { p: &pb, thresholds: &tb, v: &vb, acc: &unused });
                        g.run(&infos, &[Pass { bound: &bound, threads: &threads }], max_dim_for(&g, case));
                        let got: Vec<f32> = g.read(&vb, width + TAIL);
                        assert_bits_f(&what, &got[..width], &want);
                        assert_tail_f(&what, &got, width);
                    } else {
                        let init: Vec<i32> = (0..ring * width).map(|_| rng.random_range(-1 << 20..1 << 20)).collect();
                        let mut want = init.clone();
                        for s in s0..s0 + nsteps {
                            let slot = s as usize % ring;
                            poisson_input(draw(s), n, batch, Sink::Accumulator { acc: &mut want[slot * width..(slot + 1) * width], q });
                        }
                        counted += want.iter().zip(&init).filter(|(a, b)| a != b).count() as u64;
                        let ab = g.buf("acc", &with_tail(&init, POISON_U as i32));
                        let unused = g.buf("v", &[0f32; 16]);
                        let bound = g.bind(&PoissonInputBindings { p: &pb, thresholds: &tb, v: &unused, acc: &ab });
                        g.run(&infos, &[Pass { bound: &bound, threads: &threads }], max_dim_for(&g, case));
                        let got: Vec<i32> = g.read(&ab, ring * width + TAIL);
                        assert_eq_u(&what, &got[..ring * width], &want);
                        assert_tail_i(&what, &got, ring * width);
                    }
                }
            }
        }
    }
    assert!(counted > 0, "seed {seed}: no count was added");
    g.finish();
}
