#!/usr/bin/env python3
"""The Potjans-Diesmann microcircuit in NEST, through the reference PyNEST implementation (the
`microcircuit` package on PyPI), as spikegpu's benches/networks/pd14*.json describe it: DC
background (or, with --drive poisson, the Poisson generators of pd14_poisson.json), "optimized"
initial V, the given neuron scaling with in-degrees kept (K_scaling 1).

    python pd14_nest.py --scale 0.1 --sim-ms 1000 --threads 2 [--drive poisson] --out DIR

Needs `nest-simulator` and `microcircuit` (benches/peers/setup_nest.sh installs both into a venv).
Writes DIR/spikes_<pop>.npy (int32 rows (neuron, step) after the 500 ms warm-up, steps of 0.1 ms
counted from the start) and DIR/result.json: construction and simulation times, peak memory, rates.
"""
import argparse
import glob
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=0.1, help="N_scaling (in-degrees kept)")
    ap.add_argument("--sim-ms", type=float, default=1000.0, help="model time after the 500 ms warm-up")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=55)
    ap.add_argument("--drive", choices=["dc", "poisson"], default="dc",
                    help="the background: DC (pd14.json) or Poisson generators (pd14_poisson.json)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    import nest
    from microcircuit.network import Network
    from microcircuit.network_params import default_net_dict
    from microcircuit.sim_params import default_sim_dict
    from microcircuit.stimulus_params import default_stim_dict

    data = tempfile.mkdtemp(prefix="pd14-nest-")
    sim = dict(default_sim_dict, local_num_threads=a.threads, rng_seed=a.seed, data_path=data + "/",
               rec_dev=["spike_recorder"], t_presim=500.0, t_sim=a.sim_ms, print_time=False, store_metadata=False)
    net_dict = dict(default_net_dict, N_scaling=a.scale, K_scaling=1.0, bg_input_type=a.drive, V0_type="optimized")
    t0 = time.time()
    net = Network(sim, net_dict, dict(default_stim_dict))
    net.create()
    net.connect()
    t1 = time.time()
    net.simulate(sim["t_presim"])
    t2 = time.time()
    net.simulate(sim["t_sim"])
    t3 = time.time()

    pops = net_dict["populations"]
    sizes = [int(round(n * a.scale)) for n in net_dict["full_num_neurons"]]
    firsts = [int(p[0].get("global_id")) for p in net.pops]
    rates = {}
    for k, pop in enumerate(pops):
        rows = []
        for f in glob.glob(os.path.join(data, f"spike_recorder-{net.spike_recorders[k].get('global_id')}-*.dat")):
            d = np.loadtxt(f, comments="#", skiprows=3, ndmin=2)
            if d.size:
                rows.append(d)
        d = np.concatenate(rows) if rows else np.zeros((0, 2))
        d = d[d[:, 1] > sim["t_presim"]]
        neuron = (d[:, 0] - firsts[k]).astype(np.int32)
        # NEST stamps a spike at the end of its step: step index (from 0) = t / dt - 1
        step = (np.round(d[:, 1] / sim["sim_resolution"]) - 1).astype(np.int32)
        np.save(os.path.join(a.out, f"spikes_{pop}.npy"), np.stack([neuron, step], axis=1))
        rates[pop] = len(d) / sizes[k] / (sim["t_sim"] / 1000.0)
    result = {
        "peer": "nest", "nest": nest.__version__, "drive": a.drive, "scale": a.scale, "threads": a.threads, "seed": a.seed,
        "neurons": sum(sizes), "construction_s": round(t1 - t0, 3), "warmup_s": round(t2 - t1, 3),
        "sim_s": round(t3 - t2, 3), "sim_ms": a.sim_ms, "rtf": round((t3 - t2) / (a.sim_ms / 1000.0), 4),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "rates_hz": rates,
        "warmup_ms": sim["t_presim"], "dt_ms": sim["sim_resolution"],
    }
    with open(os.path.join(a.out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
