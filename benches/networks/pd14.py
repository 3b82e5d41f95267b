#!/usr/bin/env python3
"""Writes the Potjans-Diesmann (2014) cortical microcircuit as spikegpu network files.

    python3 benches/networks/pd14.py    # pd14.json (full scale, DC drive), pd14_poisson.json (Poisson
                                        # drive), their 10% versions and pd14_nest_weights.json

The numbers are the reference PyNEST implementation's (the `microcircuit` package on PyPI,
network_params.py and helpers.py): population sizes, the connection probability table, synapse
counts K = ln(1 - C) / ln(1 - 1 / (N_pre N_post)) rounded (NEST's fixed_total_number, autapses and
multapses allowed), iaf_psc_exp parameters, a 0.15 mV PSP as 87.81 pA, g = -4, L4E -> L2/3E doubled,
weights normal with a relative sd of 0.1 redrawn to keep their sign (scaled by 1.107 so that a PSC
carries NEST's charge under BrainPy's update: see charge_factor; pd14_nest_weights.json keeps NEST's
87.81 pA), delays normal (1.5 +- 0.75 ms
excitatory, 0.75 +- 0.375 ms inhibitory) redrawn below 0.05 ms and rounded to NEST's grid, the DC
drive that replaces the Poisson background (bg_rate K_ext PSC_ext tau_syn) or the Poisson background
itself (K_ext sources of bg_rate per neuron, a Poisson count per step), and the "optimized"
initial V per population. Everything random is drawn by spikegpu from the seeds here, so the files
stay small.

Mapping onto BrainPy's models (docs/MODELS.md, "The Potjans-Diesmann microcircuit"): iaf_psc_exp
is LifRef with V_rest = E_L, R = tau_m / C_m (GOhm: mV per pA), tau = tau_m, tau_ref = t_ref; its
exponential current synapse is an Expon synapse of tau_syn aligned post with a CUBA output (the
current in pA). The 10% file scales the neuron numbers and keeps the in-degrees (N_scaling 0.1,
K_scaling 1 in the reference's terms), so it needs no compensating input.
"""
import json
import math
import os

POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
FULL_N = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]
# connection probabilities, [target][source]
CONN = [
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
]
K_EXT = [1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100]
BG_RATE = 8.0  # Hz
V0_MEAN = [-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43]
V0_SD = [5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48]
E_L, V_TH, V_RESET, C_M, TAU_M, TAU_SYN, T_REF = -65.0, -50.0, -65.0, 250.0, 10.0, 0.5, 2.0
PSP_EXC, G, W_REL_SD = 0.15, -4.0, 0.1
DELAY_EXC, DELAY_INH, DELAY_REL_SD = 1.5, 0.75, 0.5
DT = 0.1
# the reference implementation's own rates of the full network (one run; Hz), for comparison
REFERENCE_RATES = [0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829]


def psc_over_psp(c_m, tau_m, tau_syn):
    """PSC amplitude (pA) per mV of PSP peak, for an exponential current into a LIF membrane."""
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / c_m * sub
    frac = (tau_m / tau_syn) ** sub
    return 1.0 / (pre * (frac ** tau_m - frac ** tau_syn))


def charge_factor(dt, tau_syn):
    """How much less charge a PSC carries under BrainPy's post-aligned Expon than in NEST, inverted.

    NEST adds a spike's weight w to the current after that step's decay and integrates exactly:
    the PSC carries w tau_syn. BrainPy adds it and then decays (g = d (g + w), d = exp(-dt /
    tau_syn)), and its exponential Euler holds g over each step: w dt d / (1 - d), 0.452 w at
    dt = 0.1 ms against 0.5 w. Multiplying the weights by this factor (1.107) gives each PSC
    NEST's charge, so the network receives NEST's mean input.
    """
    d = math.exp(-dt / tau_syn)
    return tau_syn * (1.0 - d) / (dt * d)


def network(n_scaling, warmup_ms, sim_ms, recorded, match_charge=True, poisson=False):
    n = [int(round(x * n_scaling)) for x in FULL_N]
    psc = PSP_EXC * psc_over_psp(C_M, TAU_M, TAU_SYN)  # 87.81 pA
    w_factor = charge_factor(DT, TAU_SYN) if match_charge else 1.0
    populations = []
    for i, name in enumerate(POPS):
        dc = BG_RATE * K_EXT[i] * psc * TAU_SYN * 0.001  # pA
        populations.append({
            "name": name, "model": "lif_ref", "size": n[i],
            "V_rest": E_L, "V_th": V_TH, "V_reset": V_RESET, "tau": TAU_M, "tau_ref": T_REF,
            "R": TAU_M / C_M,
            "V_init": {"normal": [V0_MEAN[i], V0_SD[i]], "seed": 100 + i},
        })
        if not poisson:
            populations[-1]["I_ext"] = round(dc, 6)
    projections = []
    for i in range(8):  # target
        for j in range(8):  # source
            c = CONN[i][j]
            if c == 0.0:
                continue
            prod = FULL_N[i] * FULL_N[j]
            k = int(round(math.log(1.0 - c) / math.log((prod - 1.0) / prod) * n_scaling))
            if k == 0:
                continue
            exc = j % 2 == 0
            w = psc * (1.0 if exc else G) * (2.0 if (i, j) == (0, 2) else 1.0) * w_factor
            d = DELAY_EXC if exc else DELAY_INH
            projections.append({
                "name": f"{POPS[j]}_{POPS[i]}", "pre": POPS[j], "post": POPS[i],
                "synapse": {"model": "expon", "tau": TAU_SYN}, "align": "post",
                "connectivity": {"kind": "fixed_total_number", "n": k, "seed": 1000 + 8 * i + j},
                "weight": {"normal": [round(w, 6), round(abs(w) * W_REL_SD, 6)], "seed": 2000 + 8 * i + j, "redraw_sign": True},
                "delay": {"normal": [d, d * DELAY_REL_SD], "min": 0.5 * DT, "seed": 3000 + 8 * i + j, "rounding": "nest"},
                "output": {"model": "cuba"},
            })
    # the reference's Poisson background (poisson_input True): K_ext generators of bg_rate per
    # neuron through an excitatory synapse of the mean weight, drawn as one Poisson count per
    # step (NEST's poisson_generator) into each population's synaptic state, which every
    # projection onto it shares (same Expon, same output); its constant delay shifts a Poisson
    # process and changes nothing
    inputs = [{
        "name": f"bg_{p}", "target": f"L23E_{p}.g", "num_input": K_EXT[i], "freq": BG_RATE,
        "weight": round(psc * w_factor, 6), "seed": 4000 + i, "law": "poisson",
    } for i, p in enumerate(POPS)] if poisson else []
    monitors = {f"{p}_spikes": {"target": f"{p}.spike_events", "neurons": f"0:{min(recorded, n[k])}"} for k, p in enumerate(POPS)}
    return {
        "dt": DT,
        "steps": int(round((warmup_ms + sim_ms) / DT)),
        "populations": populations,
        "projections": projections,
        **({"poisson_inputs": inputs} if inputs else {}),
        "monitors": monitors,
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for name, scale, sim_ms, recorded, match, poisson in [
        ("pd14", 1.0, 10000.0, 1000, True, False),
        ("pd14_poisson", 1.0, 10000.0, 1000, True, True),
        ("pd14_10pct", 0.1, 1000.0, 100000, True, False),
        ("pd14_10pct_poisson", 0.1, 1000.0, 100000, True, True),
        ("pd14_nest_weights", 1.0, 10000.0, 1000, False, False),
    ]:
        net = network(scale, 500.0, sim_ms, recorded, match, poisson)
        with open(os.path.join(here, f"{name}.json"), "w") as f:
            json.dump(net, f, indent=1)
            f.write("\n")
        syn = sum(p["connectivity"]["n"] for p in net["projections"])
        print(f"{name}.json: {sum(p['size'] for p in net['populations'])} neurons, {syn} synapses, {net['steps']} steps")


if __name__ == "__main__":
    main()
