"""The E/I benchmark networks of benches/networks (ei_coba, ei_cuba, ei_coba_x10) as plain
parameters, read from spikegpu's own network file, so every peer builds the same network:
two LifRef populations E and I, four post-aligned Expon projections (E->E, E->I, I->E, I->I),
fixed out-degree connectivity (each pre neuron gets round(p * N_post) distinct targets, as
BrainPy's FixedProb; each implementation draws its own), COBA or CUBA outputs, a constant input
current, initial V drawn from a normal distribution."""
import json

import numpy as np


def load(path):
    net = json.load(open(path))
    pops = {p["name"]: p for p in net["populations"]}
    e, i = pops["E"], pops["I"]
    projs = {p["name"]: p for p in net["projections"]}
    out = projs["E2E"]["output"]
    return dict(
        dt=net["dt"], steps=net["steps"], n_e=e["size"], n_i=i["size"],
        V_rest=e["V_rest"], V_th=e["V_th"], V_reset=e["V_reset"], tau=e["tau"], tau_ref=e["tau_ref"], R=e["R"],
        I_ext=e.get("I_ext", 0.0), v_mean=e["V_init"]["normal"][0], v_sd=e["V_init"]["normal"][1],
        p=projs["E2E"]["connectivity"]["prob"], tau_e=projs["E2E"]["synapse"]["tau"], tau_i=projs["I2E"]["synapse"]["tau"],
        w_e=projs["E2E"]["weight"], w_i=projs["I2E"]["weight"], coba=out["model"] == "coba",
        E_e=projs["E2E"]["output"].get("E", 0.0), E_i=projs["I2E"]["output"].get("E", 0.0),
    )


def fixed_outdegree(n_pre, n_post, p, rng):
    """Every pre neuron gets K = round(p * n_post) distinct targets, uniformly (BrainPy's
    FixedProb with include_self=True, allow_multi_conn=False): (pre, post) index arrays."""
    k = int(round(p * n_post))
    j = np.empty((n_pre, k), dtype=np.int32)
    for r in range(n_pre):
        j[r] = rng.choice(n_post, k, replace=False)
    return np.repeat(np.arange(n_pre, dtype=np.int32), k), j.ravel()
