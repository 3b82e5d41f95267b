//! `record.wgsl` against `cpu::reference::record`, in every mode (copy, ring, spike, stamp,
//! current), with range and list picks, `every > 1` with a chunk that starts off the recording
//! grid (the row index must be right: `MonitorPlan::row_in_chunk`), several steps per submission
//! of which only the recorded ones dispatch, as in the engine.
//!
//! Copies are bit-exact (signed zeros, infinities, subnormals included). The current mode sums
//! the slots' outputs: bit-exact, except with an MgBlock slot, whose output divides at run time
//! (WGSL allows 2.5 ulp, so 3 ulp from the CPU's correctly rounded quotient, 1 more where the
//! block's `exp_poly` differs on lavapipe (`math.rs`), plus 1 ulp of each later partial sum:
//! within `(4 + 3) 2^-23 < 1e-6` of the terms' magnitude for at most 3 slots).

use super::harness::*;
use crate::cpu::reference::{output, record};
use crate::gpu::kernels::RecordBindings;
use crate::gpu::uniforms::{record_mode, RecordParams, SlotOutput};
use crate::model::{MgBlock, MonitorFormat, Output};
use crate::plan::{MonitorPlan, OutputParams, Pick, RecordSource, NEVER};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

fn rand_f(rng: &mut ChaCha8Rng) -> f32 {
    match rng.random_range(0..20) {
        0 => -0.0,
        1 => f32::INFINITY,
        2 => 3.0e38,
        3 => 1.0e-40,
        4 => -f32::MIN_POSITIVE / 3.0,
        _ => rng.random_range(-100.0f32..100.0),
    }
}

#[test]
fn record_matches_cpu_in_every_mode() {
    let test = "record_matches_cpu_in_every_mode";
    let seed = base_seed();
    let Some(g) = gpu(test, seed) else { return };
    let mut rng = rng_for(test, seed);
    let mut mg = Inexact::default();
    let mut case = 0;
    let modes = [record_mode::COPY, record_mode::RING, record_mode::SPIKE, record_mode::STAMP, record_mode::CURRENT];
    for &n in &SIZES {
        for &batch in &BATCHES {
            for mode in modes {
                for list in [false, true] {
                    case += 1;
                    let all = batch * n;
                    let pick = if list {
                        Pick::List((0..rng.random_range(1..=n.min(40))).map(|_| rng.random_range(0..n as u32)).collect())
                    } else {
                        let start = rng.random_range(0..n as u32);
                        Pick::Range { start, len: rng.random_range(1..=n as u32 - start) }
                    };
                    let every = [1usize, 3, 4, 7][rng.random_range(0..4)];
                    // a chunk start off the recording grid where every > 1
                    let start = rng.random_range(0..300usize) * every + if every > 1 { rng.random_range(1..every) } else { 0 };
                    let nsteps = 12usize;
                    let m = MonitorPlan {
                        name: "m".into(),
                        target: "test".into(),
                        source: RecordSource::V { neuron: 0 },
                        spikes: matches!(mode, record_mode::SPIKE | record_mode::STAMP),
                        format: MonitorFormat::Dense,
                        batch,
                        n,
                        pick: pick.clone(),
                        every,
                        steps: start + nsteps,
                    };
                    let width = m.width();
                    let rows = m.rows_between(start, start + nsteps);
                    let mut p = RecordParams { mode, n: n as u32, batch: batch as u32, every: every as u32, ..Default::default() };
                    match &pick {
                        Pick::Range { start, len } => (p.pick_start, p.pick_len) = (*start, *len),
                        Pick::List(l) => (p.pick_len, p.use_list) = (l.len() as u32, 1),
                    }
                    let ring = rng.random_range(1..4usize);
                    let (fsrc, usrc, vsrc, outs): (Vec<f32>, Vec<u32>, Vec<f32>, Vec<OutputParams>) = match mode {
                        record_mode::COPY => {
                            p.base = rng.random_range(0..3u32) * all as u32;
                            ((0..p.base as usize + all + 7).map(|_| rand_f(&mut rng)).collect(), vec![], vec![], vec![])
                        }
                        record_mode::RING => {
                            p.ring = ring as u32;
                            ((0..ring * all).map(|_| rand_f(&mut rng)).collect(), vec![], vec![], vec![])
                        }
                        record_mode::SPIKE => (vec![], (0..all).map(|_| rng.random_bool(0.3) as u32).collect(), vec![], vec![]),
                        record_mode::STAMP => {
                            p.ring = ring as u32;
                            let stamps = (0..ring * all)
                                .map(|_| match rng.random_range(0..4) {
                                    0 => NEVER,
                                    1 => POISON_U,
                                    _ => (start + rng.random_range(0..nsteps)) as u32,
                                })
                                .collect();
                            (vec![], stamps, vec![], vec![])
                        }
                        _ => {
                            let outs: Vec<OutputParams> = (0..rng.random_range(1..4))
                                .map(|_| match rng.random_range(0..3) {
                                    0 => OutputParams::Coba { e: rng.random_range(-90.0f32..10.0) },
                                    1 => OutputParams::Cuba,
                                    _ => OutputParams::from(&Output::MgBlock(MgBlock { e: rng.random_range(-10.0f32..10.0), ..MgBlock::default() })),
                                })
                                .collect();
                            p.slot_first = rng.random_range(0..outs.len() as u32);
                            p.slot_end = rng.random_range(p.slot_first + 1..=outs.len() as u32);
                            let gs = (0..outs.len() * all).map(|_| rng.random_range(0.0f32..0.5)).collect();
                            let v = (0..all).map(|_| rng.random_range(-75.0f32..-45.0)).collect();
                            (gs, vec![], v, outs)
                        }
                    };
                    let (first, end) = (p.slot_first as usize, p.slot_end as usize);
                    let division = outs[first.min(outs.len())..end.min(outs.len())].iter().any(|o| matches!(o, OutputParams::MgBlock { .. }));
                    let mut want = vec![POISON_U; rows * width];
                    let mut scale = vec![0.0f32; rows * width];
                    for step in (start..start + nsteps).filter(|&s| m.records(s)) {
                        let row = m.row_in_chunk(start, step);
                        let out = &mut want[row * width..(row + 1) * width];
                        match mode {
                            record_mode::COPY => record::record(&pick, n, batch, |idx| fsrc[p.base as usize + idx].to_bits(), out),
                            record_mode::RING => record::record(&pick, n, batch, |idx| fsrc[(step % ring) * all + idx].to_bits(), out),
                            record_mode::SPIKE => record::record(&pick, n, batch, |idx| usrc[idx], out),
                            record_mode::STAMP => record::record(&pick, n, batch, |idx| (usrc[(step % ring) * all + idx] == step as u32) as u32, out),
                            _ => {
                                record::record(&pick, n, batch, |idx| record::current(&outs, &fsrc, &vsrc, first, end, idx).to_bits(), out);
                                let terms = |idx: usize| (first..end).map(|k| output::current(&outs[k], fsrc[k * all + idx], vsrc[idx]).abs()).sum::<f32>();
                                record::record(&pick, n, batch, terms, &mut scale[row * width..(row + 1) * width]);
                            }
                        }
                    }
                    let placeholder = || g.buf("unused", &[POISON_U; 16]); // 64 bytes, as the engine's: two SlotOutputs
                    let or_placeholder = |label: &str, data: &[u32]| if data.is_empty() { placeholder() } else { g.buf(label, data) };
                    let fb = or_placeholder("fsrc", bytemuck::cast_slice(&fsrc));
                    let ub = or_placeholder("usrc", &usrc);
                    let vb = or_placeholder("vsrc", bytemuck::cast_slice(&vsrc));
                    let slot_outputs: Vec<SlotOutput> = outs.iter().map(SlotOutput::from).collect();
                    let ob = if slot_outputs.is_empty() { placeholder() } else { g.buf("outputs", &slot_outputs) };
                    let pb = match &pick {
                        Pick::List(l) => g.buf("pick", l),
                        Pick::Range { .. } => placeholder(),
                    };
                    let pu = g.uniform(&p);
                    // spikes are OR-ed as bits into rows the engine clears; values overwrite poison
                    let spike_mode = matches!(mode, record_mode::SPIKE | record_mode::STAMP);
                    let row_words = if spike_mode { batch * record::spike_words(pick.len()) } else { width };
                    let out = g.buf("out", &vec![if spike_mode { 0 } else { POISON_U }; rows * row_words + TAIL]);
                    let bound = g.bind(&RecordBindings { p: &pu, fsrc: &fb, usrc: &ub, vsrc: &vb, outputs: &ob, pick: &pb, out: &out });
                    let infos: Vec<_> = (0..nsteps).map(|r| step_info((start + r) as u32, 0.1, start as u32)).collect();
                    let threads = |r: usize| if m.records(start + r) { width as u64 } else { 0 };
                    g.run(&infos, &[Pass { bound: &bound, threads: &threads }], max_dim_for(&g, case));
                    let got: Vec<u32> = g.read(&out, rows * row_words + TAIL);
                    let what = format!("seed {seed}: record mode {mode} n={n} batch={batch} pick {pick:?} every={every} steps {start}..{} params {p:?}", start + nsteps);
                    if spike_mode {
                        // the CPU's flags, packed as the GPU packs them
                        let flags: Vec<u8> = want.iter().map(|&w| w as u8).collect();
                        for r in 0..rows {
                            let packed = record::pack_spike_bits(&flags[r * width..(r + 1) * width], batch, pick.len());
                            assert_eq!(&got[r * row_words..(r + 1) * row_words], &packed[..], "{what}: row {r}");
                        }
                        assert!(got[rows * row_words..].iter().all(|&w| w == 0), "{what}: bits past the rows");
                        let mut back = Vec::new();
                        record::unpack_spike_bits(&got[..row_words], batch, pick.len(), &mut back);
                        assert_eq!(&back[..], &flags[..width], "{what}: unpacking");
                        continue;
                    }
                    for k in 0..rows * width {
                        let at = || format!("{what}: row {} value {}", k / width, k % width);
                        if mode == record_mode::CURRENT && division {
                            mg.check(&at, f32::from_bits(got[k]), f32::from_bits(want[k]), 1e-6 * scale[k]);
                        } else {
                            assert!(got[k] == want[k], "{}: GPU {:#010x}, CPU {:#010x}", at(), got[k], want[k]);
                        }
                    }
                    assert_tail_u(&what, &got, rows * width);
                }
            }
        }
    }
    mg.report(&format!("{test} (seed {seed}), currents with an MgBlock slot"));
    g.finish();
}
