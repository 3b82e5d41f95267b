//! Seeded random networks, built as JSON and read by `file::parse` (so they are validated as a
//! file is), and the random connectivity every test draws from. Replay a failing seed with
//! `SPIKEGPU_SEED=<seed>`.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};
use spikegpu::model::{file, Csr, Network};

/// A seeded generator.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `count` random seeds, or the one seed in `SPIKEGPU_SEED` when set (to replay a failure).
pub fn test_seeds(count: usize) -> Vec<u64> {
    match std::env::var("SPIKEGPU_SEED") {
        Ok(s) => vec![s.trim().parse().unwrap_or_else(|_| panic!("SPIKEGPU_SEED={s:?} is not a u64"))],
        Err(_) => (0..count).map(|_| rand::random()).collect(),
    }
}

/// A random pre-major CSR of `n_pre x n_post` with connection probability `p`: targets in random
/// (unsorted) order, and at least one empty row when `n_pre > 1`.
pub fn random_csr(rng: &mut ChaCha8Rng, n_pre: usize, n_post: usize, p: f64) -> Csr {
    let empty_row = if n_pre > 1 { Some(rng.random_range(0..n_pre)) } else { None };
    let mut indptr = Vec::with_capacity(n_pre + 1);
    indptr.push(0u32);
    let mut indices = Vec::with_capacity((n_pre as f64 * n_post as f64 * p * 1.01) as usize + 16);
    let mut row = Vec::new();
    for i in 0..n_pre {
        if Some(i) != empty_row {
            row.clear();
            row.extend((0..n_post as u32).filter(|_| rng.random_bool(p)));
            row.shuffle(rng);
            indices.extend_from_slice(&row);
        }
        indptr.push(indices.len() as u32);
    }
    Csr { n_rows: n_pre, n_cols: n_post, indptr, indices }
}

/// A pre-major CSR in which every post neuron has `k` distinct random pre neurons.
pub fn in_degree_csr(rng: &mut ChaCha8Rng, n_pre: usize, n_post: usize, k: usize) -> Csr {
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); n_pre];
    let mut seen = vec![u32::MAX; n_pre];
    for j in 0..n_post {
        let mut got = 0;
        while got < k.min(n_pre) {
            let i = rng.random_range(0..n_pre);
            if seen[i] != j as u32 {
                seen[i] = j as u32;
                rows[i].push(j as u32);
                got += 1;
            }
        }
    }
    let mut indptr = vec![0u32];
    let mut indices = Vec::new();
    for r in rows {
        indices.extend(r);
        indptr.push(indices.len() as u32);
    }
    Csr { n_rows: n_pre, n_cols: n_post, indptr, indices }
}

/// The `connectivity` object of a network file for `c`.
pub fn csr_json(c: &Csr) -> Value {
    json!({"kind": "csr", "indptr": c.indptr, "indices": c.indices})
}

/// How `V_init` is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VInitMode {
    /// Scalar, `[n]` or `[batch][n]` at random.
    Any,
    /// Scalar or `[n]`: every batch row starts alike.
    SameInEveryRow,
}

/// Which models a random network uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Models {
    /// `lif_ref`, AMPA and GABAa, COBA outputs.
    Kinetic,
    /// Everything: `lif` and `lif_ref` with `I_ext`, every synapse model in each alignment it
    /// allows, COBA, CUBA and (with [`NetOpts::divide`]) `nmda` and `mg_block`, merged
    /// post-aligned projections.
    All,
}

/// Options of [`random_network`].
#[derive(Clone, Debug)]
pub struct NetOpts {
    pub steps: usize,
    /// `None`: 1 or 3 at random.
    pub batch: Option<usize>,
    pub v_init: VInitMode,
    /// Largest population size (sizes are drawn from lists avoiding multiples of 64).
    pub max_size: usize,
    pub models: Models,
    /// [`Models::All`]: also the models that divide at run time (`nmda`, `mg_block`).
    pub divide: bool,
}

impl Default for NetOpts {
    fn default() -> Self {
        NetOpts { steps: 400, batch: None, v_init: VInitMode::Any, max_size: 130, models: Models::Kinetic, divide: true }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, xs: &[T]) -> T {
    xs[rng.random_range(0..xs.len())]
}

/// The parts every random network shares: clock, spike sources, LIF populations.
struct Base {
    dt: f64,
    steps: usize,
    batch: usize,
    pops: Vec<Value>,
    /// (name, size, per-neuron rate in events/ms)
    srcs: Vec<(String, usize, f64)>,
    /// (name, size, R)
    lifs: Vec<(String, usize, f64)>,
}

fn base(rng: &mut ChaCha8Rng, opts: &NetOpts) -> Base {
    let dt: f64 = if rng.random_bool(0.75) { 0.1 } else { 0.05 };
    let steps = opts.steps;
    let batch = opts.batch.unwrap_or_else(|| if rng.random_bool(0.5) { 1 } else { 3 });
    let duration = steps as f64 * dt;
    let cap = |s: usize| s.min(opts.max_size).max(1);
    let mut pops = Vec::new();
    let n_src = rng.random_range(2..=3);
    let mut srcs = Vec::new();
    for k in 0..n_src {
        let size = cap(pick(rng, &[1, 5, 17, 63, 65, 100]));
        let rate = rng.random_range(0.03..0.15);
        let n_ev = ((size as f64 * rate * duration) * rng.random_range(0.8..1.2)).round().max(1.0) as usize;
        let mut indices = Vec::new();
        let mut times = Vec::new();
        for _ in 0..n_ev {
            indices.push(rng.random_range(0..size));
            let t = match rng.random_range(0..10) {
                0 => rng.random_range(0..steps) as f64 * dt, // exactly on the grid
                1 => -rng.random_range(0.0..2.0),            // before the run: fires at step 0
                2 => duration + rng.random_range(0.0..5.0),  // after the run: never fires
                _ => round2(rng.random_range(0.0..duration)),
            };
            times.push(t);
        }
        let name = format!("src{k}");
        pops.push(json!({"name": name, "model": "spike_times", "size": size, "indices": indices, "times": times}));
        srcs.push((name, size, rate));
    }
    let n_lif = rng.random_range(2..=3);
    let mut lifs = Vec::new();
    for k in 0..n_lif {
        let size = cap(pick(rng, &[1, 7, 33, 65, 130]));
        let v_rest = round2(-60.0 + rng.random_range(-5.0..5.0));
        let v_th = round2(v_rest + rng.random_range(8.0..12.0));
        let v_reset = round2(v_rest + rng.random_range(-3.0..2.0));
        let tau = round2(rng.random_range(8.0..30.0));
        let tau_ref = match rng.random_range(0..4) {
            0 => 0.0,
            1 => 2.0,
            2 => 5.0,
            _ => round2(rng.random_range(0.0..6.0)),
        };
        let r = round2(rng.random_range(0.7..1.3));
        let draw = |rng: &mut ChaCha8Rng| round2(rng.random_range(v_reset - 8.0..v_th - 0.5));
        let form = match opts.v_init {
            VInitMode::Any => rng.random_range(0..3),
            VInitMode::SameInEveryRow => rng.random_range(0..2),
        };
        let v_init = match form {
            0 => json!(draw(rng)),
            1 => json!((0..size).map(|_| draw(rng)).collect::<Vec<_>>()),
            _ => json!((0..batch).map(|_| (0..size).map(|_| draw(rng)).collect::<Vec<_>>()).collect::<Vec<_>>()),
        };
        let name = format!("lif{k}");
        let mut pop = json!({"name": name, "model": "lif_ref", "size": size, "V_rest": v_rest, "V_th": v_th,
            "V_reset": v_reset, "tau": tau, "tau_ref": tau_ref, "R": r, "V_init": v_init});
        if opts.models == Models::All {
            // `lif` (no refractory period) for about a third, and a constant input for some
            if rng.random_bool(0.35) {
                pop["model"] = json!("lif");
                pop.as_object_mut().unwrap().remove("tau_ref");
            }
            match rng.random_range(0..3) {
                0 => {}
                1 => pop["I_ext"] = json!(round2(rng.random_range(0.0..6.0) / r)),
                _ => pop["I_ext"] = json!((0..size).map(|_| round2(rng.random_range(-2.0..7.0) / r)).collect::<Vec<_>>()),
            }
        }
        pops.push(pop);
        lifs.push((name, size, r));
    }
    Base { dt, steps, batch, pops, srcs, lifs }
}

fn random_delay(rng: &mut ChaCha8Rng) -> Value {
    let delays: [Value; 7] = [Value::Null, json!(0.0), json!(0.1), json!(0.25), json!(1.0), json!(2.0), Value::Null];
    let k = rng.random_range(0..delays.len() + 1);
    if k == delays.len() {
        json!(round2(rng.random_range(0.0..3.0)))
    } else {
        delays[k].clone()
    }
}

fn random_weight(rng: &mut ChaCha8Rng, w: f64, nnz: usize) -> Value {
    if rng.random_bool(0.5) {
        json!(w)
    } else {
        json!((0..nnz).map(|_| w * rng.random_range(0.5..1.5)).collect::<Vec<_>>())
    }
}

/// A fixed AMPA description, shared by the drive projections (identical parameters from one
/// source share one gating state, with each projection's own delay).
fn ampa_shared() -> Value {
    json!({"model": "ampa", "alpha": 0.98, "beta": 0.18, "T": 0.5, "T_dur": 0.5})
}

fn random_kinetic(rng: &mut ChaCha8Rng, kind: &str) -> Value {
    match rng.random_range(0..3) {
        0 => json!({ "model": kind }),
        1 => ampa_shared(),
        _ => json!({"model": kind, "alpha": round2(rng.random_range(0.3..1.2)), "beta": round2(rng.random_range(0.05..0.4)),
                    "T": round2(rng.random_range(0.3..1.2)), "T_dur": pick(rng, &[0.3, 0.5, 1.0, 0.75])}),
    }
}

/// Projections being added to a random network.
struct Projs(Vec<Value>);

impl Projs {
    #[allow(clippy::too_many_arguments)]
    fn add(&mut self, rng: &mut ChaCha8Rng, pre: &str, n_pre: usize, post: &str, n_post: usize, syn: Value, output: Value, w: f64, p: f64) -> usize {
        let c = random_csr(rng, n_pre, n_post, p);
        let name = format!("proj{}", self.0.len());
        self.0.push(json!({"name": name, "pre": pre, "post": post, "synapse": syn, "delay": random_delay(rng),
            "connectivity": csr_json(&c), "weight": random_weight(rng, w, c.nnz()), "output": output}));
        self.0.len() - 1
    }
}

fn coba(e: f64) -> Value {
    json!({"model": "coba", "E": e})
}

/// A random network as JSON (see [`random_network`]); tests may edit it before parsing.
pub fn random_network_json(seed: u64, opts: &NetOpts) -> Value {
    let mut rng = rng(seed);
    let Base { dt, steps, batch, pops, srcs, lifs } = base(&mut rng, opts);
    let mut projs = Projs(Vec::new());
    // Drive: every LIF population gets an excitatory AMPA projection from a source, strong enough
    // that its neurons spike: the mean conductance is about (events per ms per post neuron) x
    // (integral of one AMPA pulse, ~1.1 ms) x weight; aim for ~0.6/R, well above the ~0.2 that
    // lifts V_rest over V_th.
    for (name, n_post, r) in lifs.clone() {
        let (src, n_pre, rate) = srcs[rng.random_range(0..srcs.len())].clone();
        let p = (10.0 / n_pre as f64).min(1.0);
        // (the shared AMPA description always: a random one with a weak alpha could starve it)
        let w = round2((1.0 / r / (n_pre as f64 * p * rate * 1.1)).clamp(0.3, 60.0));
        projs.add(&mut rng, &src, n_pre, &name, n_post, ampa_shared(), coba(0.0), w, p);
        // A second projection onto the same population: inhibition from a source.
        if rng.random_bool(0.6) {
            let (src, n_pre, _) = srcs[rng.random_range(0..srcs.len())].clone();
            let p = (5.0 / n_pre as f64).min(1.0);
            let syn = random_kinetic(&mut rng, "gabaa");
            let w = round2(rng.random_range(0.02..0.2));
            projs.add(&mut rng, &src, n_pre, &name, n_post, syn, coba(-80.0), w, p);
        }
    }
    // The same source, the same synapse, another delay: one shared gating state, two lags.
    {
        let (src, n_pre, _) = srcs[0].clone();
        let (post, n_post, _) = lifs[rng.random_range(0..lifs.len())].clone();
        projs.add(&mut rng, &src, n_pre, &post, n_post, ampa_shared(), coba(0.0), 0.3, (5.0 / n_pre as f64).min(1.0));
    }
    match opts.models {
        Models::Kinetic => kinetic_recurrence(&mut rng, &lifs, &mut projs),
        Models::All => model_projections(&mut rng, opts, &srcs, &lifs, &mut projs),
    }

    // Monitors of every kind: named after their targets.
    let mut mons = Map::new();
    for p in &projs.0 {
        let n = p["name"].as_str().unwrap();
        let extra: &[&str] = match p["synapse"]["model"].as_str().unwrap() {
            "dual_expon" | "alpha" => &["h"],
            "dual_expon_v2" => &["g_rise", "g_decay"],
            "nmda" => &["x"],
            _ => &[],
        };
        for v in ["g", "current"].iter().chain(extra) {
            mons.insert(format!("{n}.{v}"), json!(format!("{n}.{v}")));
        }
    }
    for (n, _, _) in &srcs {
        mons.insert(format!("{n}.spike"), json!(format!("{n}.spike")));
    }
    for (n, _, _) in &lifs {
        for v in ["V", "spike", "current", "input"] {
            mons.insert(format!("{n}.{v}"), json!(format!("{n}.{v}")));
        }
    }
    json!({"dt": dt, "steps": steps, "batch": batch, "populations": pops, "projections": projs.0, "monitors": Value::Object(mons)})
}

/// Recurrent AMPA/GABAa projections: lif0 onto itself, and between LIF populations.
fn kinetic_recurrence(rng: &mut ChaCha8Rng, lifs: &[(String, usize, f64)], projs: &mut Projs) {
    let rec = |rng: &mut ChaCha8Rng| -> (Value, f64, f64) {
        if rng.random_bool(0.5) {
            (random_kinetic(rng, "ampa"), 0.0, round2(rng.random_range(0.02..0.3)))
        } else {
            (random_kinetic(rng, "gabaa"), -80.0, round2(rng.random_range(0.02..0.3)))
        }
    };
    let (l0, n0, _) = lifs[0].clone();
    let (syn, e, w) = rec(rng);
    projs.add(rng, &l0, n0, &l0, n0, syn, coba(e), w, (4.0 / n0 as f64).min(0.5));
    let (l1, n1, _) = lifs[1].clone();
    let (syn, e, w) = rec(rng);
    projs.add(rng, &l0, n0, &l1, n1, syn, coba(e), w, (4.0 / n0 as f64).min(0.5));
    let (syn, e, w) = rec(rng);
    projs.add(rng, &l1, n1, &l0, n0, syn, coba(e), w, (4.0 / n1 as f64).min(0.5));
    if lifs.len() > 2 {
        let (la, na, _) = lifs[rng.random_range(0..lifs.len())].clone();
        let (lb, nb, _) = lifs[2].clone();
        let (syn, e, w) = rec(rng);
        projs.add(rng, &la, na, &lb, nb, syn, coba(e), w, (4.0 / na as f64).min(0.5));
    }
}

/// A random synapse of every model (aligned post where it may be, half the time), with its
/// default or random parameters; returns the synapse, the alignment and the weight factor that
/// keeps its conductance comparable to an Expon's (AMPA/GABAa pulses are short, NMDA saturates
/// slowly and lasts).
fn random_model(rng: &mut ChaCha8Rng, divide: bool) -> (Value, &'static str, f64) {
    let models: &[&str] = if divide {
        &["ampa", "gabaa", "expon", "dual_expon", "dual_expon_v2", "alpha", "nmda"]
    } else {
        &["ampa", "gabaa", "expon", "dual_expon", "dual_expon_v2", "alpha"]
    };
    let model = pick(rng, models);
    let defaults = rng.random_bool(0.4);
    let syn = match model {
        "ampa" | "gabaa" => random_kinetic(rng, model),
        _ if defaults => json!({ "model": model }),
        "expon" => json!({"model": "expon", "tau": round2(rng.random_range(2.0..12.0))}),
        "dual_expon" | "dual_expon_v2" => {
            let rise = round2(rng.random_range(0.5..3.0));
            let mut s = json!({"model": model, "tau_rise": rise, "tau_decay": round2(rise + rng.random_range(2.0..10.0))});
            if rng.random_bool(0.3) {
                s["A"] = json!(round2(rng.random_range(0.5..2.0)));
            }
            s
        }
        "alpha" => json!({"model": "alpha", "tau_decay": round2(rng.random_range(2.0..12.0))}),
        _ => json!({"model": "nmda", "a": round2(rng.random_range(0.2..0.8)), "tau_decay": round2(rng.random_range(30.0..120.0)),
                    "tau_rise": round2(rng.random_range(1.0..4.0))}),
    };
    let post_ok = matches!(model, "expon" | "dual_expon_v2");
    let align = if post_ok && rng.random_bool(0.5) { "post" } else { "pre" };
    let factor = match model {
        "ampa" | "gabaa" => 3.0,
        "nmda" => 0.1,
        _ => 1.0,
    };
    (syn, align, factor)
}

/// A random output and the weight that gives a moderate current through it.
fn random_output(rng: &mut ChaCha8Rng, divide: bool) -> (Value, f64) {
    let k = rng.random_range(0..if divide { 5 } else { 4 });
    match k {
        0 => (coba(0.0), 0.03),
        1 => (coba(-80.0), 0.03),
        2 => (json!({"model": "cuba"}), 1.0),
        3 => (json!({"model": "cuba"}), -0.5),
        _ if rng.random_bool(0.5) => (json!({"model": "mg_block"}), 0.25),
        _ => (json!({"model": "mg_block", "E": 0.0, "cc_Mg": round2(rng.random_range(0.5..2.0)), "alpha": 0.062, "beta": 3.57, "V_offset": 0.0}), 0.25),
    }
}

/// The projections of [`Models::All`]: onto every LIF population one or two of random models
/// from a source or a LIF population; a merged pair of post-aligned Expon projections (one
/// state, two inputs) onto one population; recurrent post-aligned projections from LIF
/// populations (with delays).
fn model_projections(rng: &mut ChaCha8Rng, opts: &NetOpts, srcs: &[(String, usize, f64)], lifs: &[(String, usize, f64)], projs: &mut Projs) {
    let all: Vec<(String, usize)> = srcs.iter().map(|s| (s.0.clone(), s.1)).chain(lifs.iter().map(|l| (l.0.clone(), l.1))).collect();
    for (post, n_post, r) in lifs {
        let (post, n_post, r) = (post.as_str(), *n_post, *r);
        for _ in 0..rng.random_range(1..=2) {
            let (pre, n_pre) = all[rng.random_range(0..all.len())].clone();
            let (syn, align, factor) = random_model(rng, opts.divide);
            let (output, w0) = random_output(rng, opts.divide);
            let p = (5.0 / n_pre as f64).min(1.0);
            let w = round2(w0 * factor / r * rng.random_range(0.5..1.5) * 1000.0) / 1000.0;
            let k = projs.add(rng, &pre, n_pre, post, n_post, syn, output, w, p);
            projs.0[k]["align"] = json!(align);
        }
    }
    // merged: two post-aligned Expon projections with identical synapse and output onto lif0
    let (post, n_post, r) = lifs[0].clone();
    let tau = round2(rng.random_range(3.0..9.0));
    for _ in 0..2 {
        let (pre, n_pre) = all[rng.random_range(0..all.len())].clone();
        let p = (5.0 / n_pre as f64).min(1.0);
        let k = projs.add(rng, &pre, n_pre, &post, n_post, json!({"model": "expon", "tau": tau}), coba(0.0), round2(0.04 / r * 100.0) / 100.0, p);
        projs.0[k]["align"] = json!("post");
    }
    // recurrent, post-aligned, with a delay: lif1 onto lif0 and lif0 onto itself
    let (l1, n1, _) = lifs[1].clone();
    let (l0, n0, _) = lifs[0].clone();
    for (pre, n_pre) in [(l1, n1), (l0.clone(), n0)] {
        let syn = if rng.random_bool(0.5) { json!({"model": "expon", "tau": 5.0}) } else { json!({"model": "dual_expon_v2"}) };
        let (output, w) = if rng.random_bool(0.5) { (coba(-80.0), 0.05) } else { (coba(0.0), 0.03) };
        let k = projs.add(rng, &pre, n_pre, &l0, n0, syn, output, w, (4.0 / n_pre as f64).min(0.5));
        projs.0[k]["align"] = json!("post");
        projs.0[k]["delay"] = json!(pick(rng, &[0.1, 0.5, 1.0, 1.25]));
    }
}

/// A seeded random network, built as JSON and read by `file::parse` (so it is validated as a
/// file would be): 2-3 spike sources with random events (some before and after the run), 2-3
/// LIF populations (sizes not multiples of 64) with random `V_init` (scalar, `[n]` or
/// `[batch][n]`), projections with random CSR (empty rows included), shared or per-synapse
/// weights, delays (null, 0, 0.1, 0.25, 1, 2 ms and random), two projections onto one
/// population, a population onto itself, LIF→LIF projections, batch 1 or 3, and monitors of
/// every target kind. The drive makes LIF neurons spike. [`Models::Kinetic`]: AMPA and GABAa
/// only; [`Models::All`]: every model (see there).
pub fn random_network(seed: u64, opts: &NetOpts) -> Network {
    let v = random_network_json(seed, opts);
    file::parse(&v.to_string()).unwrap_or_else(|e| panic!("seed {seed}: the random network does not parse: {e}"))
}
