"""Brian2 (cpp_standalone) peer of spikegpu's E/I benchmark networks (benches/networks/ei_*.json),
written as Brian2's own COBA/CUBA examples are (Brette et al. 2007), with the parameters of the
spikegpu file (see ei_net.py).

usage: python ei_brian2.py benches/networks/ei_coba.json [--runs 3] [--seed 42]
Prints one line `RESULT {json}`: the compiled binary's whole-process wall time per run (what a user
waits for once the code is built), Brian2's own simulation time, rates and spike counts.
"""
import argparse, json, os, statistics, subprocess, sys, time

import numpy as np
import brian2 as b2
from brian2 import ms

sys.path.insert(0, os.path.dirname(__file__))
import ei_net


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("network")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    c = ei_net.load(a.network)
    name = os.path.splitext(os.path.basename(a.network))[0]
    outdir = os.path.join(os.environ.get("PEERS_WORK", "/tmp/spikegpu-peers"), f"b2_{name}")
    b2.set_device("cpp_standalone", directory=outdir, build_on_run=False)
    b2.defaultclock.dt = c["dt"] * ms
    rng = np.random.default_rng(a.seed)
    n = c["n_e"] + c["n_i"]
    if c["coba"]:
        eqs = """dv/dt = (V_rest - v + R*(I_ext + ge*(E_e - v) + gi*(E_i - v))) / tau : 1 (unless refractory)
                 dge/dt = -ge / tau_e : 1
                 dgi/dt = -gi / tau_i : 1"""
    else:
        eqs = """dv/dt = (V_rest - v + R*(I_ext + ge + gi)) / tau : 1 (unless refractory)
                 dge/dt = -ge / tau_e : 1
                 dgi/dt = -gi / tau_i : 1"""
    ns = dict(V_rest=c["V_rest"], R=c["R"], I_ext=c["I_ext"], E_e=c["E_e"], E_i=c["E_i"],
              tau=c["tau"] * ms, tau_e=c["tau_e"] * ms, tau_i=c["tau_i"] * ms, V_th=c["V_th"], V_reset=c["V_reset"])
    P = b2.NeuronGroup(n, eqs, threshold="v >= V_th", reset="v = V_reset", refractory=c["tau_ref"] * ms,
                       method="exponential_euler", namespace=ns)
    P.v = c["v_mean"] + c["v_sd"] * rng.standard_normal(n)
    E, I = P[:c["n_e"]], P[c["n_e"]:]
    syns = []
    for pre, post, off_pre, off_post, var, w in [
        (E, E, 0, 0, "ge", c["w_e"]), (E, I, 0, c["n_e"], "ge", c["w_e"]),
        (I, E, c["n_e"], 0, "gi", c["w_i"]), (I, I, c["n_e"], c["n_e"], "gi", c["w_i"])]:
        S = b2.Synapses(pre, post, on_pre=f"{var}_post += {w}")
        i, j = ei_net.fixed_outdegree(len(pre), len(post), c["p"], rng)
        S.connect(i=i, j=j)
        syns.append(S)
    mon = b2.SpikeMonitor(P)
    net = b2.Network(P, *syns, mon)
    net.run(c["steps"] * c["dt"] * ms)
    t0 = time.perf_counter()
    b2.device.build(directory=outdir, compile=True, run=False, clean=True)
    t_compile = time.perf_counter() - t0
    b2.device.run(directory=outdir, with_output=False)   # warm-up, sets up result reading
    walls, sims = [], []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        p = subprocess.run(["./main"], cwd=outdir, capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        if p.returncode != 0:
            print(p.stdout, p.stderr)
            sys.exit(1)
        with open(os.path.join(outdir, "results", "last_run_info.txt")) as f:
            sims.append(float(f.read().split()[0]))
    counts = np.array(mon.count)
    secs = c["steps"] * c["dt"] / 1000
    res = dict(peer="brian2", target="cpp_standalone", net=name, neurons=n,
               synapses=int(sum(len(S) for S in syns)), steps=c["steps"],
               binary_wall_s=[round(x, 4) for x in walls], binary_wall_median_s=round(statistics.median(walls), 4),
               sim_s=[round(x, 4) for x in sims], codegen_compile_s=round(t_compile, 2),
               rate_hz=dict(E=float(counts[:c["n_e"]].sum() / c["n_e"] / secs), I=float(counts[c["n_e"]:].sum() / c["n_i"] / secs)),
               spikes=int(counts.sum()), brian2=b2.__version__)
    print("RESULT " + json.dumps(res))


if __name__ == "__main__":
    main()
