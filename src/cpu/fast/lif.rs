//! The engine's LIF update: the arithmetic of [`crate::cpu::reference::lif_update`], split into
//! branch-free passes over contiguous arrays (the input current slot by slot, then the update),
//! in blocks that stay in L1, so the compiler vectorizes them; tested bit-identical to the
//! reference. Spikes are left as flags (the engine turns them into its spike lists and stamps).

use crate::cpu::reference::{lif_update::LifState, math};
use crate::plan::{Decay, NeuronParams, OutputParams};
use rayon::prelude::*;

/// `if c { a } else { b }` on the bits: branch-free, so the update loop vectorizes with plain
/// SSE2 (LLVM turns a float select there into a branch).
#[inline(always)]
fn select(c: bool, a: f32, b: f32) -> f32 {
    let m = (c as u32).wrapping_neg();
    f32::from_bits((a.to_bits() & m) | (b.to_bits() & !m))
}

/// `input[k] = base[k] + term(g[k], v[k])` for the first term of the sum (`base` the input
/// current, or 0), `input[k] += term(..)` after it (one loop each, so each vectorizes). Zipped
/// slices, not indices: an index into `g` or `v` kept its bounds check and made this a scalar
/// loop (10% of an E/I COBA step).
#[inline(always)]
fn add_slot(first: Option<Base>, input: &mut [f32], g: &[f32], v: &[f32], term: impl Fn(f32, f32) -> f32) {
    let terms = input.iter_mut().zip(g).zip(v);
    match first {
        Some(Base::Zero) => terms.for_each(|((x, &g), &v)| *x = 0.0 + term(g, v)),
        Some(Base::Current(c)) => terms.zip(c).for_each(|(((x, &g), &v), &c)| *x = c + term(g, v)),
        None => terms.for_each(|((x, &g), &v)| *x += term(g, v)),
    }
}

/// What the first output term is added to.
#[derive(Clone, Copy)]
enum Base<'a> {
    /// the reference's running sum starts from 0
    Zero,
    /// `I_ext` of these neurons
    Current(&'a [f32]),
}

/// Neurons per call of [`lif_range`]: their arrays (about 20 KB) stay in L1 from its first
/// pass to its second, where a whole population's would come back from L2.
const L1_BLOCK: usize = 1024;

/// Below this many neurons one thread updates them all: waking the pool costs tens of us per
/// step, which a split of B2's 10,000 neurons (about 10 us of work) made 3x slower overall, and
/// a split of BrainPy's E/I network's 3,200 E neurons 4x. (A team of threads spinning between
/// steps instead was tried too: slower than one thread on the 2-core machine of BENCHMARKS.md,
/// where a cross-core handshake costs about what 2,000 neuron updates do.)
const PARALLEL_MIN_NEURONS: usize = 1 << 17;

/// Input slots up to this many are handed to [`lif_range`] from the stack.
const STACK_SLOTS: usize = 8;

/// One step of every neuron; returns how many spiked, and the first neuron whose new V (before
/// a reset) or input current is NaN or infinite, if any (found in the same vectorized pass, so
/// it costs nearly nothing). `i_ext` is the per-neuron input current (shared by the batch).
pub fn lif_update(p: &NeuronParams, t: f32, outputs: &[OutputParams], i_ext: Option<&[f32]>, s: &mut LifState) -> (u64, Option<usize>) {
    let width = s.v.len();
    let gsyn = &s.gsyn;
    let range = |lo: usize, v: &mut [f32], t_last: &mut [f32], spike: &mut [u32], input: &mut [f32]| {
        let blocks = v.chunks_mut(L1_BLOCK).zip(t_last.chunks_mut(L1_BLOCK)).zip(spike.chunks_mut(L1_BLOCK)).zip(input.chunks_mut(L1_BLOCK));
        let (mut count, mut bad) = (0u64, u32::MAX);
        for (c, (((v, tl), sp), inp)) in blocks.enumerate() {
            let at = lo + c * L1_BLOCK;
            let slot = |k: usize| &gsyn[k * width + at..k * width + at + v.len()];
            let (n, b) = if outputs.len() <= STACK_SLOTS {
                let mut slots: [&[f32]; STACK_SLOTS] = [&[]; STACK_SLOTS];
                for (k, s) in slots.iter_mut().enumerate().take(outputs.len()) {
                    *s = slot(k);
                }
                lif_range(p, t, outputs, i_ext, &slots[..outputs.len()], at, v, tl, sp, inp)
            } else {
                let slots: Vec<&[f32]> = (0..outputs.len()).map(slot).collect();
                lif_range(p, t, outputs, i_ext, &slots, at, v, tl, sp, inp)
            };
            count += n as u64;
            if b != u32::MAX && bad == u32::MAX {
                bad = (at + b as usize) as u32;
            }
        }
        (count, bad)
    };
    let first = |(n, b): (u64, u32)| (n, (b != u32::MAX).then_some(b as usize));
    if width < PARALLEL_MIN_NEURONS {
        return first(range(0, &mut s.v, &mut s.t_last, &mut s.spike, &mut s.input));
    }
    // Neurons are independent: one contiguous block per thread.
    let block = width.div_ceil(rayon::current_num_threads()).next_multiple_of(64);
    s.v.par_chunks_mut(block)
        .zip(s.t_last.par_chunks_mut(block))
        .zip(s.spike.par_chunks_mut(block))
        .zip(s.input.par_chunks_mut(block))
        .enumerate()
        .map(|(c, (((v, tl), sp), inp))| first(range(c * block, v, tl, sp, inp)))
        .reduce(|| (0, None), |a, b| (a.0 + b.0, a.1.or(b.1)))
}

/// Neurons `lo .. lo + v.len()` of [`lif_update`]; `v`, `t_last`, `spike`, `input` and each
/// of `slots` (one per output) are their slices.
#[allow(clippy::too_many_arguments)] // one argument per buffer, as the shader's bindings
#[multiversion::multiversion(targets = "simd")] // AVX2 / AVX-512 where the CPU has them: identical bits
fn lif_range(
    p: &NeuronParams,
    t: f32,
    outputs: &[OutputParams],
    i_ext: Option<&[f32]>,
    slots: &[&[f32]],
    lo: usize,
    v: &mut [f32],
    t_last: &mut [f32],
    spike: &mut [u32],
    input: &mut [f32],
) -> (u32, u32) {
    let n = v.len();
    let (t_last, spike, input) = (&mut t_last[..n], &mut spike[..n], &mut input[..n]);
    let mut first = base(i_ext, lo, !outputs.is_empty(), input);
    if outputs.is_empty() {
        if first.is_some() {
            input.fill(0.0);
        }
        return update(p, t, v, t_last, spike, input, |_, _, x| x);
    }
    let g1 = &slots[0][..n];
    let g2 = slots.get(1).map_or(&[][..], |g| &g[..n]);
    if let Some(r) = update_with_terms(p, t, first, outputs, |k| g1[k], |k| g2[k], v, t_last, spike, input) {
        return r;
    }
    // Any other mix (MgBlock, or more than two terms): one pass per term, then the update.
    for (&g, o) in slots.iter().zip(outputs) {
        let g = &g[..n];
        match *o {
            OutputParams::Coba { e } => add_slot(first, input, g, v, |g, v| g * (e - v)),
            OutputParams::Cuba => add_slot(first, input, g, v, |g, _| g),
            OutputParams::MgBlock { e, k: kk, alpha, v_offset } => {
                add_slot(first, input, g, v, |g, v| g * (e - v) / (1.0 + kk * math::exp(alpha * (v_offset - v))))
            }
        }
        first = None;
    }
    update(p, t, v, t_last, spike, input, |_, _, x| x)
}

/// What the first output term of neurons `lo .. lo + input.len()` adds to: `I_ext` where each
/// neuron's current lies in one run of `i_ext`, else the currents copied into `input` (one copy
/// per batch row, no `%` per neuron) and `None` (add to `input`). `Zero` without `I_ext`: the
/// reference's running sum from 0, written as `0 + o_1` rather than added to a cleared array
/// (one pass and no clearing). `terms`: whether any output term follows.
fn base<'a>(i_ext: Option<&'a [f32]>, lo: usize, terms: bool, input: &mut [f32]) -> Option<Base<'a>> {
    let Some(x) = i_ext else { return Some(Base::Zero) };
    let (n, m) = (input.len(), x.len());
    let i = lo % m;
    if i + n <= m && terms {
        // one run of the per-neuron currents: the first term adds to them, no copy
        return Some(Base::Current(&x[i..i + n]));
    }
    let mut at = 0;
    while at < n {
        let i = (lo + at) % m;
        let len = (m - i).min(n - at);
        input[at..at + len].copy_from_slice(&x[i..i + len]);
        at += len;
    }
    None
}

/// The common cases, up to two COBA or CUBA terms, added in the update loop itself, in
/// registers: one pass over the block instead of one per term plus one. `g1(k)` and `g2(k)`
/// give neuron `k`'s conductance of slot 0 and 1 (each called once per neuron, in order: a
/// state stepped there is stepped once). The sum is the same left-to-right `((base + o_1) +
/// o_2)` as the passes'. `None` for any other mix of outputs (nothing is run).
#[allow(clippy::too_many_arguments)] // the terms' sources and the update's buffers
#[inline(always)]
fn update_with_terms(
    p: &NeuronParams,
    t: f32,
    first: Option<Base>,
    outputs: &[OutputParams],
    mut g1: impl FnMut(usize) -> f32,
    mut g2: impl FnMut(usize) -> f32,
    v: &mut [f32],
    t_last: &mut [f32],
    spike: &mut [u32],
    input: &mut [f32],
) -> Option<(u32, u32)> {
    let n = v.len();
    let terms = (outputs.first().and_then(Term::of), outputs.get(1).and_then(Term::of));
    macro_rules! with_base {
        ($go:ident) => {
            match first {
                Some(Base::Zero) => $go!(|_k: usize, _x: f32| 0.0f32),
                Some(Base::Current(c)) => {
                    let c = &c[..n];
                    $go!(|k: usize, _x: f32| c[k])
                }
                None => $go!(|_k: usize, x: f32| x),
            }
        };
    }
    match (outputs.len(), terms) {
        (1, (Some(a), _)) => {
            macro_rules! go {
                ($base:expr) => {{
                    let base = $base;
                    match a {
                        Term::Coba(e) => update(p, t, v, t_last, spike, input, |k, v, x| base(k, x) + g1(k) * (e - v)),
                        Term::Cuba => update(p, t, v, t_last, spike, input, |k, _, x| base(k, x) + g1(k)),
                    }
                }};
            }
            Some(with_base!(go))
        }
        (2, (Some(a), Some(b))) => {
            macro_rules! go {
                ($base:expr) => {{
                    let base = $base;
                    match (a, b) {
                        (Term::Coba(e1), Term::Coba(e2)) => {
                            update(p, t, v, t_last, spike, input, |k, v, x| base(k, x) + g1(k) * (e1 - v) + g2(k) * (e2 - v))
                        }
                        (Term::Coba(e1), Term::Cuba) => update(p, t, v, t_last, spike, input, |k, v, x| base(k, x) + g1(k) * (e1 - v) + g2(k)),
                        (Term::Cuba, Term::Coba(e2)) => update(p, t, v, t_last, spike, input, |k, v, x| base(k, x) + g1(k) + g2(k) * (e2 - v)),
                        (Term::Cuba, Term::Cuba) => update(p, t, v, t_last, spike, input, |k, _, x| base(k, x) + g1(k) + g2(k)),
                    }
                }};
            }
            Some(with_base!(go))
        }
        _ => None,
    }
}

/// A post-aligned Expon state whose step ([`super::post_synapse::expon_post`]) the update runs
/// inside its own loop, in place of the `post_synapse` phase just before it: `g` and the
/// accumulator slot `acc` of this step are read and written once per neuron instead of once in
/// each loop, and the slot's conductance comes from a register (about a fifth of an E/I COBA
/// step). `acc` and `g` are the population's whole arrays (`batch * n`).
pub struct ExponSlot<'a> {
    /// The state's decay.
    pub decay: Decay,
    /// `1 / scale` of the accumulator's fixed point.
    pub inv_scale: f32,
    /// This step's slot of the accumulator ring (cleared as it is read).
    pub acc: &'a mut [i32],
    /// The state.
    pub g: &'a mut [f32],
}

/// Whether [`lif_update_fused`] can step the states of a population of `width` variables with
/// these outputs: one or two COBA or CUBA terms, and a population small enough to update on
/// one thread.
pub fn fusable(outputs: &[OutputParams], width: usize) -> bool {
    matches!(outputs.len(), 1 | 2) && outputs.iter().all(|o| Term::of(o).is_some()) && width < PARALLEL_MIN_NEURONS
}

/// [`lif_update`] where every input slot `k` is bound by the post-aligned Expon state
/// `states[k]`, stepped here (the `post_synapse` phase's arithmetic) rather than by its own
/// phase before: the same bits as that phase followed by [`lif_update`]. With `bind`, each
/// value is also written into its slot of `s.gsyn`, as the phase does; without, the slots are
/// left as they were (two stores per neuron fewer: the caller binds them when something reads
/// them). Requires [`fusable`].
pub fn lif_update_fused(p: &NeuronParams, t: f32, outputs: &[OutputParams], i_ext: Option<&[f32]>, s: &mut LifState, states: &mut [ExponSlot], bind: bool) -> (u64, Option<usize>) {
    let width = s.v.len();
    assert!(fusable(outputs, width) && states.len() == outputs.len(), "a fused update needs one or two COBA/CUBA slots, each bound by a state");
    let (out1, out2) = s.gsyn.split_at_mut(width);
    let (mut count, mut bad) = (0u64, None);
    let (mut decay, mut inv_scale) = ([Decay { r: 0.0, c: 0.0 }; 2], [0.0f32; 2]);
    for (k, st) in states.iter().enumerate() {
        (decay[k], inv_scale[k]) = (st.decay, st.inv_scale);
    }
    let mut lo = 0;
    while lo < width {
        let hi = (lo + L1_BLOCK).min(width);
        let [s1, rest @ ..] = states else { unreachable!("at least one slot") };
        let o1: &mut [f32] = if bind { &mut out1[lo..hi] } else { &mut [] };
        let (a1, g1) = (&mut s1.acc[lo..hi], &mut s1.g[lo..hi]);
        // the second slot, or empty ones (never read with one output)
        let (a2, g2, o2): (&mut [i32], &mut [f32], &mut [f32]) = match rest {
            [s2] => (&mut s2.acc[lo..hi], &mut s2.g[lo..hi], if bind { &mut out2[lo..hi] } else { &mut [] }),
            _ => (&mut [], &mut [], &mut []),
        };
        let (v, tl, sp, inp) = (&mut s.v[lo..hi], &mut s.t_last[lo..hi], &mut s.spike[lo..hi], &mut s.input[lo..hi]);
        let (n, b) = if bind {
            lif_range_fused::<true>(p, t, outputs, i_ext, &decay, &inv_scale, a1, g1, o1, a2, g2, o2, lo, v, tl, sp, inp)
        } else {
            lif_range_fused::<false>(p, t, outputs, i_ext, &decay, &inv_scale, a1, g1, o1, a2, g2, o2, lo, v, tl, sp, inp)
        };
        count += n as u64;
        if b != u32::MAX && bad.is_none() {
            bad = Some(lo + b as usize);
        }
        lo = hi;
    }
    (count, bad)
}

/// Neurons `lo .. lo + v.len()` of [`lif_update_fused`]: slot `k`'s state is `decay[k]`,
/// `inv_scale[k]`, and the accumulator, state and slot slices `a_k`, `g_k`, `o_k` (empty for
/// slot 2 with one output, and both without `BIND`). Every buffer is its own argument, so the compiler knows that none
/// overlaps another and vectorizes the loop.
#[allow(clippy::too_many_arguments)] // one argument per buffer, as the shader's bindings
#[multiversion::multiversion(targets = "simd")] // AVX2 / AVX-512 where the CPU has them: identical bits
fn lif_range_fused<const BIND: bool>(
    p: &NeuronParams,
    t: f32,
    outputs: &[OutputParams],
    i_ext: Option<&[f32]>,
    decay: &[Decay],
    inv_scale: &[f32],
    a1: &mut [i32],
    g1: &mut [f32],
    o1: &mut [f32],
    a2: &mut [i32],
    g2: &mut [f32],
    o2: &mut [f32],
    lo: usize,
    v: &mut [f32],
    t_last: &mut [f32],
    spike: &mut [u32],
    input: &mut [f32],
) -> (u32, u32) {
    let n = v.len();
    let (t_last, spike, input) = (&mut t_last[..n], &mut spike[..n], &mut input[..n]);
    let first = base(i_ext, lo, true, input);
    // Closures written here, over this function's own arguments: written as helpers returning
    // closures, the compiler stopped inlining them and the loop ran scalar, 6x slower.
    let (d1, i1) = (decay[0], inv_scale[0]);
    let (a1, g1) = (&mut a1[..n], &mut g1[..n]);
    // the slots are bound only when something reads them: `BIND`
    let o1 = if BIND { &mut o1[..n] } else { o1 };
    let step1 = |k: usize| {
        let g = super::post_synapse::expon_post(&d1, i1, &mut g1[k], &mut a1[k]);
        if BIND {
            o1[k] = g;
        }
        g
    };
    if outputs.len() == 1 {
        return update_with_terms(p, t, first, outputs, step1, |_| 0.0, v, t_last, spike, input).expect("fusable outputs");
    }
    let (d2, i2) = (decay[1], inv_scale[1]);
    let (a2, g2) = (&mut a2[..n], &mut g2[..n]);
    let o2 = if BIND { &mut o2[..n] } else { o2 };
    let step2 = |k: usize| {
        let g = super::post_synapse::expon_post(&d2, i2, &mut g2[k], &mut a2[k]);
        if BIND {
            o2[k] = g;
        }
        g
    };
    update_with_terms(p, t, first, outputs, step1, step2, v, t_last, spike, input).expect("fusable outputs")
}

/// An output term the update loop adds itself.
#[derive(Clone, Copy)]
enum Term {
    Coba(f32),
    Cuba,
}

impl Term {
    fn of(o: &OutputParams) -> Option<Term> {
        match *o {
            OutputParams::Coba { e } => Some(Term::Coba(e)),
            OutputParams::Cuba => Some(Term::Cuba),
            OutputParams::MgBlock { .. } => None,
        }
    }
}

/// The update of every neuron of the block, its input current `current(k, V_old, input[k])`
/// (stored back into `input`); returns the spike count and the first non-finite neuron.
#[inline(always)]
fn update(
    p: &NeuronParams,
    t: f32,
    v: &mut [f32],
    t_last: &mut [f32],
    spike: &mut [u32],
    input: &mut [f32],
    mut current: impl FnMut(usize, f32, f32) -> f32,
) -> (u32, u32) {
    let n = v.len();
    let (t_last, spike, input) = (&mut t_last[..n], &mut spike[..n], &mut input[..n]);
    let mut count = 0u32;
    // the first neuron with a non-finite V or current (u32::MAX: none), as a min: vectorizes
    let mut bad = u32::MAX;
    for k in 0..n {
        let v_old = v[k];
        let i = current(k, v_old, input[k]);
        input[k] = i;
        let v_new = v_old + p.dt_phi * (((p.v_rest - v_old) + p.r * i) * p.inv_tau);
        // <= on the rounded f32 difference (SEMANTICS section 7)
        let refractory = p.refractory & ((t - t_last[k]) <= p.tau_ref);
        let held = select(refractory, v_old, v_new);
        let fired = held >= p.v_th;
        v[k] = select(fired, p.v_reset, held);
        t_last[k] = select(fired, t, t_last[k]);
        spike[k] = fired as u32;
        count += fired as u32;
        let finite = held.is_finite() & i.is_finite();
        bad = bad.min(if finite { u32::MAX } else { k as u32 });
    }
    (count, bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::reference;
    use crate::model::{LifRef, MgBlock, Output};
    use rand::{Rng, SeedableRng};

    /// The blocked, vectorized update gives the reference's bits: every output kind, with and
    /// without I_ext, with and without refractoriness, across block boundaries and batch rows.
    #[test]
    fn lif_update_is_bit_identical_to_the_reference() {
        let seed: u64 = rand::random();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (coba_e, coba_i, mg) = (Output::coba(0.0), Output::coba(-80.0), Output::MgBlock(MgBlock::default()));
        // the fused pairs (COBA and CUBA in every order), one of each alone, and the passes
        let sets: Vec<Vec<OutputParams>> = [
            vec![],
            vec![coba_e],
            vec![Output::Cuba],
            vec![mg],
            vec![coba_e, coba_i],
            vec![coba_e, Output::Cuba],
            vec![Output::Cuba, coba_i],
            vec![Output::Cuba, Output::Cuba],
            vec![coba_e, Output::Cuba, mg, coba_i],
        ]
        .iter()
        .map(|set| set.iter().map(OutputParams::from).collect())
        .collect();
        for (n, batch) in [(1, 1), (37, 3), (2500, 1), (700, 2)] {
            for refractory in [true, false] {
                let mut p = NeuronParams::lif_ref(&LifRef { tau_ref: 2.0, v_th: -50.0, v_reset: -65.0, v_rest: -60.0, ..LifRef::brainpy_defaults() }, 0.1);
                p.refractory = refractory;
                let i_ext: Vec<f32> = (0..n).map(|_| rng.random_range(0.0f32..30.0)).collect();
                for ext in [None, Some(&i_ext[..])] {
                    for outputs in &sets {
                        let slots = outputs.len();
                        let width = n * batch;
                        let v0: Vec<f32> = (0..width).map(|_| rng.random_range(-70.0f32..-49.0)).collect();
                        let (mut a, mut b) = (LifState::new(&v0, outputs.len()), LifState::new(&v0, outputs.len()));
                        let mut stamps = vec![];
                        for step in 0..60u32 {
                            let g: Vec<f32> = (0..outputs.len() * width).map(|_| rng.random_range(0.0f32..0.3)).collect();
                            a.gsyn.clone_from(&g);
                            b.gsyn = g;
                            let t = step as f32 * 0.1;
                            let ca = reference::lif_update::lif_update(&p, step, t, outputs, ext, &mut a, 0, &mut stamps);
                            let (cb, _) = lif_update(&p, t, outputs, ext, &mut b);
                            let at = format!("seed {seed}: n {n}, batch {batch}, {slots} slots, step {step}");
                            assert_eq!(ca, cb, "{at}: spike count");
                            for k in 0..width {
                                assert_eq!(a.v[k].to_bits(), b.v[k].to_bits(), "{at}: V of {k}");
                                assert_eq!(a.input[k].to_bits(), b.input[k].to_bits(), "{at}: input of {k}");
                            }
                            assert_eq!(a, b, "{at}");
                        }
                    }
                }
            }
        }
    }

    /// The fused update (the post-aligned Expon states stepped inside the LIF loop) gives the
    /// bits of the reference's `post_synapse` phases followed by its LIF update: one and two
    /// COBA/CUBA slots, with and without I_ext, binding the slots or not, across L1 blocks and
    /// batch rows; the states, the cleared accumulators and (when bound) the slots too.
    #[test]
    fn fused_update_is_bit_identical_to_the_phases_it_replaces() {
        use crate::model::Synapse;
        use crate::plan::{AccKind, SynParams};
        let seed: u64 = rand::random();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let (coba_e, coba_i) = (OutputParams::from(&Output::coba(0.0)), OutputParams::from(&Output::coba(-80.0)));
        let cuba = OutputParams::from(&Output::Cuba);
        let sets = [vec![coba_e], vec![cuba], vec![coba_e, coba_i], vec![coba_e, cuba], vec![cuba, coba_i], vec![cuba, cuba]];
        let taus = [5.0f32, 10.0];
        let inv_scale = 1.0 / 65536.0;
        for (n, batch) in [(1, 1), (37, 3), (2500, 1), (1100, 2)] {
            let p = NeuronParams::lif_ref(&LifRef { tau_ref: 2.0, v_th: -50.0, v_reset: -65.0, v_rest: -60.0, ..LifRef::brainpy_defaults() }, 0.1);
            let i_ext: Vec<f32> = (0..n).map(|_| rng.random_range(0.0f32..30.0)).collect();
            for ext in [None, Some(&i_ext[..])] {
                for outputs in &sets {
                    for bind in [false, true] {
                        let (slots, width) = (outputs.len(), n * batch);
                        let at = |step: u32| format!("seed {seed}: n {n}, batch {batch}, {slots} slots, bind {bind}, I_ext {}, step {step}", ext.is_some());
                        let v0: Vec<f32> = (0..width).map(|_| rng.random_range(-70.0f32..-49.0)).collect();
                        let (mut a, mut b) = (LifState::new(&v0, slots), LifState::new(&v0, slots));
                        let params: Vec<SynParams> = taus[..slots].iter().map(|&tau| SynParams::new(&Synapse::Expon { tau }, 0.1)).collect();
                        let g0: Vec<Vec<f32>> = (0..slots).map(|_| (0..width).map(|_| rng.random_range(0.0f32..0.5)).collect()).collect();
                        let (mut ga, mut gb) = (g0.clone(), g0);
                        let mut stamps = vec![];
                        for step in 0..40u32 {
                            let acc: Vec<Vec<i32>> = (0..slots).map(|_| (0..width).map(|_| if rng.random_bool(0.2) { rng.random_range(0..1 << 16) } else { 0 }).collect()).collect();
                            let (mut acc_a, mut acc_b) = (acc.clone(), acc);
                            let t = step as f32 * 0.1;
                            for k in 0..slots {
                                let slot = &mut a.gsyn[k * width..(k + 1) * width];
                                reference::post_synapse::post_synapse(&params[k], AccKind::PostAligned, inv_scale, width, &mut acc_a[k], &mut ga[k], slot);
                            }
                            let ca = reference::lif_update::lif_update(&p, step, t, outputs, ext, &mut a, 0, &mut stamps);
                            let mut states: Vec<ExponSlot> = acc_b
                                .iter_mut()
                                .zip(gb.iter_mut())
                                .zip(&params)
                                .map(|((acc, g), sp)| {
                                    let SynParams::Expon(decay) = *sp else { unreachable!() };
                                    ExponSlot { decay, inv_scale, acc, g }
                                })
                                .collect();
                            let (cb, _) = lif_update_fused(&p, t, outputs, ext, &mut b, &mut states, bind);
                            assert_eq!(ca, cb, "{}: spike count", at(step));
                            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                            assert_eq!(bits(&a.v), bits(&b.v), "{}: V", at(step));
                            assert_eq!(bits(&a.input), bits(&b.input), "{}: input", at(step));
                            assert_eq!((&a.t_last, &a.spike), (&b.t_last, &b.spike), "{}: t_last and spikes", at(step));
                            for k in 0..slots {
                                assert_eq!(bits(&ga[k]), bits(&gb[k]), "{}: state {k}", at(step));
                                assert!(acc_b[k].iter().all(|&x| x == 0), "{}: accumulator {k} not cleared", at(step));
                            }
                            if bind {
                                assert_eq!(bits(&a.gsyn), bits(&b.gsyn), "{}: bound slots", at(step));
                            } else {
                                assert!(b.gsyn.iter().all(|&x| x == 0.0), "{}: slots written without bind", at(step));
                            }
                        }
                    }
                }
            }
        }
    }

    /// The first non-finite neuron is found whichever part and block it is in.
    #[test]
    fn the_first_nonfinite_neuron_is_reported_across_blocks() {
        let p = NeuronParams::lif_ref(&LifRef::brainpy_defaults(), 0.1);
        let outputs = [OutputParams::from(&Output::Cuba)];
        for bad in [[3000usize, 4000], [100, 3500], [1023, 1024], [4999, 0]] {
            let mut s = LifState::new(&vec![-65.0; 5000], 1);
            for k in bad {
                s.gsyn[k] = f32::NAN;
            }
            let (_, first) = lif_update(&p, 0.0, &outputs, None, &mut s);
            assert_eq!(first, bad.iter().min().copied(), "NaN inputs at {bad:?}");
        }
    }
}
