"""BrainPy peer benchmark for B1 / B2 / B2x10 / B3 (see benches/networks/SPEC.md).

Usage:  venv/bin/python bench_brainpy.py B2 [--runs 3] [--seed 42]
        (wrap with /usr/bin/time -v for maxrss; run_all.sh does that)
Prints one JSON line starting with RESULT.
"""
import argparse, json, os, resource, statistics, sys, time

T_IMPORT0 = time.perf_counter()
import numpy as np
import jax
import brainpy as bp
import brainpy.math as bm
T_IMPORT = time.perf_counter() - T_IMPORT0

DT = 0.1
bm.set_dt(DT)
bm.set_platform('cpu')

# ---- parameters shared with SPEC.md -------------------------------------
LIF = dict(V_rest=-60., V_th=-50., V_reset=-60., tau=20., tau_ref=5., R=1.)
AMPA = dict(alpha=0.98, beta=0.18, T=0.5, T_dur=0.5)
GABAA = dict(alpha=0.53, beta=0.18, T=1.0, T_dur=1.0)

NETS = {
    # name: dict(...)
    'B1': dict(n_pre=1, n_post=1, p=1.0, w=1.0, steps=1000),
    'B2': dict(n_pre=10_000, n_post=10_000, p=0.01, w=None, steps=10_000),
    'B2x10': dict(n_pre=100_000, n_post=10_000, p=0.01, w=None, steps=10_000),
    'B3': dict(n_e=3200, n_i=800, n_ext=1000, p=0.02, steps=10_000),
}
# weights (see SPEC.md; tuned once with BrainPy, then frozen)
W_FF = {'B2': 0.08, 'B2x10': 0.008}
W_B3 = dict(w_ext=0.5, w_e=0.1, w_i=0.5)


def regular_spike_steps(n, steps, period=500, phase_mod=500):
    """neuron i fires at steps (i % phase_mod) + k*period, k>=0, < steps."""
    idx, st = [], []
    for k in range(0, steps // period + 1):
        s = (np.arange(n) % phase_mod) + k * period
        m = s < steps
        idx.append(np.arange(n)[m]); st.append(s[m])
    idx = np.concatenate(idx); st = np.concatenate(st)
    o = np.argsort(st, kind='stable')
    return idx[o], st[o]


def spike_group(n, idx, steps_of_spike):
    # SpikeTimeGroup fires at the first step whose t = i*dt (float32) >= time.
    # Use (step - 0.5)*dt so that float32 rounding can never move a spike by one step.
    times = (np.asarray(steps_of_spike, dtype=np.float64) - 0.5) * DT
    return bp.dyn.SpikeTimeGroup(n, indices=np.asarray(idx), times=times)


def lif(n):
    return bp.dyn.LifRef(n, V_initializer=bp.init.Constant(-60.), **LIF)


class Proj(bp.Projection):
    def __init__(self, pre, post, prob, w, E, syn, seed):
        super().__init__()
        self.proj = bp.dyn.ProjAlignPreMg2(
            pre=pre, delay=None,
            syn=syn,
            comm=bp.dnn.CSRLinear(bp.conn.FixedProb(prob, pre=pre.num, post=post.num, seed=seed), w),
            out=bp.dyn.COBA(E=E), post=post)

    def update(self):
        return self.proj()


class FF(bp.DynSysGroup):
    def __init__(self, name, seed):
        super().__init__()
        c = NETS[name]
        if name == 'B1':
            self.pre = spike_group(1, [0, 0, 0, 0], [100, 300, 500, 700])
        else:
            idx, st = regular_spike_steps(c['n_pre'], c['steps'])
            self.pre = spike_group(c['n_pre'], idx, st)
        self.post = lif(c['n_post'])
        w = c['w'] if c['w'] is not None else W_FF[name]
        self.syn = Proj(self.pre, self.post, c['p'], w, 0., bp.dyn.AMPA.desc(c['n_pre'], **AMPA), seed)

    def update(self):
        self.pre()
        self.syn()
        self.post()
        return self.post.spike.sum()


class EI(bp.DynSysGroup):
    def __init__(self, seed):
        super().__init__()
        c = NETS['B3']
        idx, st = regular_spike_steps(c['n_ext'], c['steps'])
        self.ext = spike_group(c['n_ext'], idx, st)
        self.E = lif(c['n_e'])
        self.I = lif(c['n_i'])
        a_ext = bp.dyn.AMPA.desc(c['n_ext'], **AMPA)
        a_e = bp.dyn.AMPA.desc(c['n_e'], **AMPA)
        g_i = bp.dyn.GABAa.desc(c['n_i'], **GABAA)
        p = c['p']
        self.ext2E = Proj(self.ext, self.E, p, W_B3['w_ext'], 0., a_ext, seed + 1)
        self.ext2I = Proj(self.ext, self.I, p, W_B3['w_ext'], 0., a_ext, seed + 2)
        self.E2E = Proj(self.E, self.E, p, W_B3['w_e'], 0., a_e, seed + 3)
        self.E2I = Proj(self.E, self.I, p, W_B3['w_e'], 0., a_e, seed + 4)
        self.I2E = Proj(self.I, self.E, p, W_B3['w_i'], -80., g_i, seed + 5)
        self.I2I = Proj(self.I, self.I, p, W_B3['w_i'], -80., g_i, seed + 6)

    def update(self):
        self.ext()
        self.ext2E(); self.ext2I()
        self.E2E(); self.E2I(); self.I2E(); self.I2I()
        self.E(); self.I()
        return bm.stack([self.E.spike.sum(), self.I.spike.sum()])


def n_syn(model):
    tot = 0
    for p in model.nodes(level=-1).subset(bp.dnn.CSRLinear).values():
        tot += int(p.indices.shape[0])
    return tot


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('net', choices=list(NETS))
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--w', type=str, default=None, help='override weight(s): B2 "0.01" or B3 "wext,we,wi"')
    ap.add_argument('--backend', type=str, default=None, help="brainevent CPU backend for csrmv: numba (default) or jax_raw")
    ap.add_argument('--trace', type=str, default=None, help='B1 only: save post V trace (npy)')
    a = ap.parse_args()
    if a.w:
        if a.net == 'B3':
            W_B3.update(zip(['w_ext', 'w_e', 'w_i'], map(float, a.w.split(','))))
        else:
            W_FF[a.net] = float(a.w); NETS['B1']['w'] = float(a.w) if a.net == 'B1' else 1.0
    if a.backend:
        from brainevent._csr.float import csrmv_p
        csrmv_p.set_default('cpu', a.backend)
    load = os.getloadavg()
    c = NETS[a.net]
    steps = c['steps']

    t0 = time.perf_counter()
    model = EI(a.seed) if a.net == 'B3' else FF(a.net, a.seed)
    nsyn = n_syn(model)
    t_build = time.perf_counter() - t0

    indices = np.arange(steps)

    @bm.jit
    def run(idx):
        return bm.for_loop(model.step_run, idx, progress_bar=False)

    # warm-up run = compile + one simulation
    t0 = time.perf_counter()
    out = jax.block_until_ready(run(indices))
    t_first = time.perf_counter() - t0
    sims, outs = [], []
    for r in range(a.runs):
        model.reset()
        t0 = time.perf_counter()
        out = jax.block_until_ready(run(indices))
        sims.append(time.perf_counter() - t0)
        outs.append(np.asarray(out))
    if a.runs == 0:   # B2x10: only the first run (includes jit compile, ~1 s at B2 scale)
        sims, outs = [t_first], [np.asarray(out)]
    sim = statistics.median(sims)
    out = outs[-1]
    if a.trace and a.net == 'B1':
        model.reset()
        def stp(i):
            model.step_run(i)
            return model.post.V[0], model.syn.proj.refs['syn'].g[0]
        V, g = bm.for_loop(stp, indices, progress_bar=False)
        np.save(a.trace, np.asarray(V)); np.save(a.trace.replace('.npy', '_g.npy'), np.asarray(g))
    T = steps * DT / 1000.0
    if a.net == 'B3':
        rate_e = out[:, 0].sum() / c['n_e'] / T
        rate_i = out[:, 1].sum() / c['n_i'] / T
        rate = dict(E=float(rate_e), I=float(rate_i), all=float(out.sum() / (c['n_e'] + c['n_i']) / T))
        spikes = int(out.sum())
    else:
        rate = float(out.sum() / c['n_post'] / T)
        spikes = int(out.sum())
    res = dict(peer='brainpy' + ('-' + a.backend if a.backend else ''), net=a.net, steps=steps, n_syn=nsyn, import_s=round(T_IMPORT, 3),
               build_s=round(t_build, 3), compile_plus_first_run_s=round(t_first, 3),
               compile_s_est=round(t_first - sim, 3), sim_runs_s=[round(s, 4) for s in sims],
               sim_s=round(sim, 4), steps_per_s=round(steps / sim, 1),
               syn_updates_per_s=float('%.4g' % (nsyn * steps / sim)), rate_hz=rate, post_spikes=spikes,
               same_spikes_all_runs=bool(all(np.array_equal(o, outs[0]) for o in outs)),
               maxrss_mb_self=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
               loadavg_before=[round(x, 2) for x in load], loadavg_after=[round(x, 2) for x in os.getloadavg()],
               weights=(W_B3 if a.net == 'B3' else (c['w'] if c['w'] is not None else W_FF[a.net])),
               versions=dict(brainpy=bp.__version__, jax=jax.__version__, numpy=np.__version__),
               dtype=str(bm.float_))
    print('RESULT ' + json.dumps(res))


if __name__ == '__main__':
    main()
