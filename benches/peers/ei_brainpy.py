"""BrainPy peer of spikegpu's E/I benchmark networks (benches/networks/ei_*.json): BrainPy's own
EINet (the `ProjAlignPostMg2` docs example) with the parameters of the spikegpu file (see
ei_net.py), split into E and I populations as the spikegpu file is, jitted with bm.for_loop.

usage: python ei_brainpy.py benches/networks/ei_coba.json [--runs 3] [--seed 42]
Prints one line `RESULT {json}`: the run time of each jitted run after a first one that compiles
(compile time reported apart), rates and spike counts.
"""
import argparse, json, os, statistics, sys, time

import numpy as np
import brainpy as bp
import brainpy.math as bm

sys.path.insert(0, os.path.dirname(__file__))
import ei_net


class EINet(bp.DynSysGroup):
    def __init__(self, c, seed):
        super().__init__()
        lif = dict(V_rest=c["V_rest"], V_th=c["V_th"], V_reset=c["V_reset"], tau=c["tau"], tau_ref=c["tau_ref"], R=c["R"],
                   V_initializer=bp.init.Normal(c["v_mean"], c["v_sd"]))
        self.E = bp.dyn.LifRef(c["n_e"], **lif)
        self.I = bp.dyn.LifRef(c["n_i"], **lif)
        out = (lambda E: bp.dyn.COBA.desc(E=E)) if c["coba"] else (lambda E: bp.dyn.CUBA.desc())
        def proj(pre, post, tau, w, E, s):
            return bp.dyn.ProjAlignPostMg2(
                pre=pre, delay=None,
                comm=bp.dnn.EventCSRLinear(bp.conn.FixedProb(c["p"], pre=pre.num, post=post.num, seed=s), w),
                syn=bp.dyn.Expon.desc(post.num, tau=tau), out=out(E), post=post)
        self.E2E = proj(self.E, self.E, c["tau_e"], c["w_e"], c["E_e"], seed)
        self.E2I = proj(self.E, self.I, c["tau_e"], c["w_e"], c["E_e"], seed + 1)
        self.I2E = proj(self.I, self.E, c["tau_i"], c["w_i"], c["E_i"], seed + 2)
        self.I2I = proj(self.I, self.I, c["tau_i"], c["w_i"], c["E_i"], seed + 3)
        self.i_ext = c["I_ext"]

    def update(self):
        # BrainPy's per-step order as spikegpu follows it: projections, then the populations
        self.E2E(); self.E2I(); self.I2E(); self.I2I()
        self.E(self.i_ext); self.I(self.i_ext)
        return self.E.spike.value, self.I.spike.value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("network")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    c = ei_net.load(a.network)
    bm.set_dt(c["dt"])
    bm.set_platform("cpu")
    name = os.path.splitext(os.path.basename(a.network))[0]
    t0 = time.perf_counter()
    # the initial V are drawn from BrainPy's global RNG
    bm.random.seed(a.seed)
    net = EINet(c, a.seed)
    t_build = time.perf_counter() - t0
    idx = np.arange(c["steps"])
    def run():
        net.reset()
        t0 = time.perf_counter()
        se, si = bm.for_loop(net.step_run, idx)
        se, si = np.asarray(se), np.asarray(si)
        return time.perf_counter() - t0, se, si
    t_first, _, _ = run()   # compiles
    sims = []
    for _ in range(a.runs):
        t, se, si = run()
        sims.append(t)
    secs = c["steps"] * c["dt"] / 1000
    res = dict(peer="brainpy", net=name, neurons=c["n_e"] + c["n_i"], steps=c["steps"], build_s=round(t_build, 3),
               first_run_with_compile_s=round(t_first, 3), sim_s=[round(x, 4) for x in sims], sim_median_s=round(statistics.median(sims), 4),
               rate_hz=dict(E=float(se.sum() / c["n_e"] / secs), I=float(si.sum() / c["n_i"] / secs)),
               spikes=int(se.sum() + si.sum()), brainpy=bp.__version__)
    print("RESULT " + json.dumps(res))


if __name__ == "__main__":
    main()
