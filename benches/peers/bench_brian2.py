"""Brian2 peer benchmark for B1 / B2 / B2x10 / B3 (see benches/networks/SPEC.md).

Usage:  venv/bin/python bench_brian2.py B2 [--target cython|standalone] [--runs 3] [--seed 42]
Prints one JSON line starting with RESULT.

Formulation (BrainPy-faithful, see benches/networks/SPEC.md "Per-step order"):
  * pre spike source: SpikeGeneratorGroup -> 1:1 Synapses (on_pre: tspk_post = t) -> group PG that
    holds the pre-aligned gating variable g (one per pre neuron).  For recurrent B3, PG reads the
    LIF group's lastspike through a linked variable instead.
  * post input: summed variable  gX_post = g_pre  (homogeneous weight applied at the neuron)
  * I = sum_X w_X * gX * (E_X - v) is frozen at the start of the step (run_regularly), then v is
    integrated with exponential Euler (= BrainPy exp_auto with I constant over the step).
  * everything after the spike sources is scheduled in the 'end' slot with explicit orders so
    the per-step order equals BrainPy's.
"""
import argparse, json, os, resource, shutil, statistics, subprocess, sys, time

T0 = time.perf_counter()
import numpy as np
import brian2 as b2
from brian2 import ms, second, NeuronGroup, Synapses, SpikeGeneratorGroup, SpikeMonitor, Network
T_IMPORT = time.perf_counter() - T0

DT_MS = 0.1
NETS = {
    'B1': dict(n_pre=1, n_post=1, p=1.0, w=1.0, steps=1000),
    'B2': dict(n_pre=10_000, n_post=10_000, p=0.01, w=0.08, steps=10_000),
    'B2x10': dict(n_pre=100_000, n_post=10_000, p=0.01, w=0.008, steps=10_000),
    'B3': dict(n_e=3200, n_i=800, n_ext=1000, p=0.02, steps=10_000),
}
W_B3 = dict(w_ext=0.5, w_e=0.1, w_i=0.5)
AMPA = dict(alpha=0.98, beta=0.18, T=0.5, T_dur=0.5)
GABAA = dict(alpha=0.53, beta=0.18, T=1.0, T_dur=1.0)


def regular_spike_steps(n, steps, period=500, phase_mod=500):
    idx, st = [], []
    for k in range(0, steps // period + 1):
        s = (np.arange(n) % phase_mod) + k * period
        m = s < steps
        idx.append(np.arange(n)[m]); st.append(s[m])
    idx = np.concatenate(idx); st = np.concatenate(st)
    o = np.argsort(st, kind='stable')
    return idx[o], st[o]


def fixed_outdegree(n_pre, n_post, p, rng):
    """Same procedure as brainpy.conn.FixedProb(include_self=True, allow_multi_conn=False):
    every pre neuron gets K=round(p*n_post) distinct targets, uniformly without replacement."""
    K = int(round(p * n_post))
    j = np.empty((n_pre, K), dtype=np.int32)
    for r in range(n_pre):
        j[r] = rng.choice(n_post, K, replace=False)
    i = np.repeat(np.arange(n_pre, dtype=np.int32), K)
    return i, j.ravel()


PRE_EQS = '''
dg/dt = (alpha*TT*(1 - g) - beta*g)/ms : 1
TT = Tc*int((t - tspk) < T_dur - 0.5*dt) : 1
alpha : 1 (constant)
beta : 1 (constant)
Tc : 1 (constant)
T_dur : second (constant)
'''
LIF_EQS_HEAD = '''
dv/dt = (-v + V_rest + I)/tau : 1 (unless refractory)
I : 1
'''


def set_syn_params(G, d):
    G.alpha = d['alpha']; G.beta = d['beta']; G.Tc = d['T']; G.T_dur = d['T_dur'] * ms


def build(net_name, seed, w_override=None):
    c = NETS[net_name]
    rng = np.random.default_rng(seed)
    ns = dict(V_rest=-60., V_th=-50., V_reset=-60., tau=20 * ms, tau_ref=5 * ms)
    objs = []

    def spike_source(n, idx, steps_):
        sg = SpikeGeneratorGroup(n, idx, np.asarray(steps_) * DT_MS * ms)
        PG = NeuronGroup(n, PRE_EQS + 'tspk : second', method='exponential_euler', namespace=ns)
        PG.tspk = -1e7 * ms
        s11 = Synapses(sg, PG, on_pre='tspk_post = t', namespace=ns)
        s11.connect(j='i')
        PG.state_updater.when = 'end'; PG.state_updater.order = 0
        objs.extend([sg, PG, s11])
        return PG

    def lif(n, currents):
        # currents: list of (summed var name, weight, E)
        eqs = LIF_EQS_HEAD + ''.join(f'{g} : 1\n' for g, _, _ in currents)
        P = NeuronGroup(n, eqs, threshold='v >= V_th', reset='v = V_reset',
                        refractory='(t - lastspike) < tau_ref + 0.5*dt',
                        method='exponential_euler', namespace=ns)
        P.v = -60.
        expr = ' + '.join(f'{w!r}*{g}*({E!r} - v)' for g, w, E in currents)
        rr = P.run_regularly(f'I = {expr}', when='end', order=2)
        P.state_updater.when = 'end'; P.state_updater.order = 3
        P.thresholder['spike'].when = 'end'; P.thresholder['spike'].order = 4
        P.resetter['spike'].when = 'end'; P.resetter['spike'].order = 5
        objs.extend([P, rr])
        return P

    def proj(PG, P, gname, i, j, pre_slice=None):
        src = PG if pre_slice is None else PG[pre_slice]
        S = Synapses(src, P, f'{gname}_post = g_pre : 1 (summed)', namespace=ns)
        S.connect(i=i, j=j)
        su = S.summed_updaters[f'{gname}_post']
        su.when = 'end'; su.order = 1
        objs.append(S)
        return S

    if net_name in ('B1', 'B2', 'B2x10'):
        if net_name == 'B1':
            PG = spike_source(1, [0, 0, 0, 0], [100, 300, 500, 700])
        else:
            idx, st = regular_spike_steps(c['n_pre'], c['steps'])
            PG = spike_source(c['n_pre'], idx, st)
        set_syn_params(PG, AMPA)
        w = c['w'] if w_override is None else float(w_override)
        P = lif(c['n_post'], [('gs', w, 0.0)])
        i, j = fixed_outdegree(c['n_pre'], c['n_post'], c['p'], rng)
        proj(PG, P, 'gs', i, j)
        nsyn = len(i)
        mon = SpikeMonitor(P, record=False)
        objs.append(mon)
        info = dict(weights=w)
        groups = dict(post=(mon, c['n_post']))
    else:
        W = dict(W_B3)
        if w_override:
            W.update(zip(['w_ext', 'w_e', 'w_i'], map(float, w_override.split(','))))
        ne, ni, nx, p = c['n_e'], c['n_i'], c['n_ext'], c['p']
        n = ne + ni
        idx, st = regular_spike_steps(nx, c['steps'])
        GX = spike_source(nx, idx, st)
        set_syn_params(GX, AMPA)
        P = lif(n, [('gx', W['w_ext'], 0.0), ('ge', W['w_e'], 0.0), ('gi', W['w_i'], -80.0)])
        # pre-aligned gating variable of the 4000 LIF neurons (AMPA for E, GABAa for I)
        PG = NeuronGroup(n, PRE_EQS + 'tspk : second (linked)', method='exponential_euler', namespace=ns)
        PG.tspk = b2.linked_var(P, 'lastspike')
        PG.alpha = np.r_[np.full(ne, AMPA['alpha']), np.full(ni, GABAA['alpha'])]
        PG.beta = np.r_[np.full(ne, AMPA['beta']), np.full(ni, GABAA['beta'])]
        PG.Tc = np.r_[np.full(ne, AMPA['T']), np.full(ni, GABAA['T'])]
        PG.T_dur = np.r_[np.full(ne, AMPA['T_dur']), np.full(ni, GABAA['T_dur'])] * ms
        PG.state_updater.when = 'end'; PG.state_updater.order = 6
        objs.append(PG)
        # connectivity: like BrainPy's 6 separate FixedProb projections (ext->E, ext->I, E->E, E->I, I->E, I->I)
        def blocks(n_pre, pre_off):
            ii, jj = [], []
            for n_post, post_off in ((ne, 0), (ni, ne)):
                a, b = fixed_outdegree(n_pre, n_post, p, rng)
                ii.append(a + pre_off); jj.append(b + post_off)
            return np.concatenate(ii), np.concatenate(jj)
        ix, jx = blocks(nx, 0)
        ie, je = blocks(ne, 0)
        iI, jI = blocks(ni, 0)
        proj(GX, P, 'gx', ix, jx)
        proj(PG, P, 'ge', ie, je, slice(0, ne))
        proj(PG, P, 'gi', iI, jI, slice(ne, n))
        nsyn = len(ix) + len(ie) + len(iI)
        mon = SpikeMonitor(P, record=False)
        objs.append(mon)
        info = dict(weights=W)
        groups = dict(all=(mon, n))
    net = Network(*objs)
    return net, nsyn, mon, info, P


def rates_from_counts(counts, net_name, steps):
    T = steps * DT_MS / 1000.
    c = NETS[net_name]
    counts = np.asarray(counts)
    if net_name == 'B3':
        ne = c['n_e']
        return dict(E=float(counts[:ne].sum() / ne / T), I=float(counts[ne:].sum() / c['n_i'] / T),
                    all=float(counts.sum() / len(counts) / T)), int(counts.sum())
    return float(counts.sum() / len(counts) / T), int(counts.sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('net', choices=list(NETS))
    ap.add_argument('--target', choices=['cython', 'numpy', 'standalone'], default='cython')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--w', type=str, default=None)
    ap.add_argument('--threads', type=int, default=0, help='standalone only: OpenMP threads (0 = plain single-threaded code)')
    ap.add_argument('--trace', type=str, default=None, help='B1 only: save post v trace (npy)')
    a = ap.parse_args()
    load = os.getloadavg()
    c = NETS[a.net]
    steps = c['steps']
    b2.defaultclock.dt = DT_MS * ms
    duration = steps * DT_MS * ms
    outdir = os.path.join(os.environ.get('PEERS_WORK', '/tmp/spikegpu-peers'), f'b2_standalone_{a.net}')
    if a.target == 'standalone':
        b2.set_device('cpp_standalone', directory=outdir, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = a.threads
        if a.threads:
            outdir += f'_omp{a.threads}'
    else:
        b2.prefs.codegen.target = a.target
    t0 = time.perf_counter()
    net, nsyn, mon, info, P = build(a.net, a.seed, a.w)
    vmon = None
    if a.trace and a.net == 'B1':
        vmon = b2.StateMonitor(P, 'v', record=0, when='end', order=7)
        net.add(vmon)
    t_build = time.perf_counter() - t0
    res = dict(peer='brian2-' + a.target + (f'-omp{a.threads}' if a.threads else ''), net=a.net, steps=steps, n_syn=int(nsyn), import_s=round(T_IMPORT, 3),
               build_s=round(t_build, 3))
    sims = []
    if a.target != 'standalone':
        net.store('init')
        t0 = time.perf_counter()
        net.run(10 * ms)   # warm-up (100 steps): code generation + cython compile (cached across processes)
        t_first = time.perf_counter() - t0
        counts0 = None
        for r in range(a.runs):
            net.restore('init')
            t0 = time.perf_counter()
            net.run(duration)
            sims.append(time.perf_counter() - t0)
            counts = np.array(mon.count)
            counts0 = counts if counts0 is None else counts0
        same = bool(np.array_equal(counts, counts0))
        res.update(compile_plus_warmup_100steps_s=round(t_first, 3))
        if vmon is not None:
            np.save(a.trace, np.array(vmon.v[0]))
    else:
        net.run(duration)
        t0 = time.perf_counter()
        b2.device.build(directory=outdir, compile=True, run=False, clean=True)
        t_compile = time.perf_counter() - t0
        walls, rss = [], []
        # warm-up through Brian2 itself (sets up result-file reading), then timed runs of the binary
        t0 = time.perf_counter()
        b2.device.run(directory=outdir, with_output=False)
        t_warm = time.perf_counter() - t0
        walls, rss = [], []
        for r in range(a.runs):
            t0 = time.perf_counter()
            p = subprocess.run(['/usr/bin/time', '-v', './main'], cwd=outdir, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if p.returncode != 0:
                print(p.stdout, p.stderr); sys.exit(1)
            with open(os.path.join(outdir, 'results', 'last_run_info.txt')) as f:
                run_t = float(f.read().split()[0])
            m = [l for l in p.stderr.splitlines() if 'Maximum resident' in l]
            sims.append(run_t); walls.append(wall); rss.append(int(m[0].split()[-1]) / 1024)
        if a.runs == 0:   # B2x10: the single run through Brian2 is the measured one
            sims = [b2.device._last_run_time]; walls = [t_warm]
            rss = [resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]  # max(g++, binary)
        res.update(warmup_binary_wall_s=round(t_warm, 3))
        counts = np.array(mon.count)
        same = None
        if vmon is not None:
            np.save(a.trace, np.array(vmon.v[0]))
        res.update(codegen_plus_compile_s=round(t_compile, 3), binary_wall_s=[round(x, 3) for x in walls],
                   binary_maxrss_mb=max(rss))
    sim = statistics.median(sims)
    rate, spikes = rates_from_counts(counts, a.net, steps)
    res.update(sim_runs_s=[round(s, 4) for s in sims], sim_s=round(sim, 4), steps_per_s=round(steps / sim, 1),
               syn_updates_per_s=float('%.4g' % (nsyn * steps / sim)), rate_hz=rate, post_spikes=spikes,
               same_spikes_as_warmup=same,
               maxrss_mb_self=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
               maxrss_mb_children=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
               loadavg_before=[round(x, 2) for x in load], loadavg_after=[round(x, 2) for x in os.getloadavg()],
               versions=dict(brian2=b2.__version__, numpy=np.__version__), dtype='float64', **info)
    print('RESULT ' + json.dumps(res))


if __name__ == '__main__':
    main()
