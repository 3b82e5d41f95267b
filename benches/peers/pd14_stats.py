#!/usr/bin/env python3
"""The microcircuit benchmark's accuracy statistics (Senk et al.): per population, the
distributions of time-averaged firing rates, of ISI coefficients of variation and of pairwise
spike-count correlations (10 ms bins), after the warm-up; then the two-sample Kolmogorov-Smirnov
distance of each distribution between spikegpu and NEST.

    python3 pd14_stats.py SPIKEGPU_OUT NEST_OUT [--warmup-ms 500] [--pairs 200] [--json FILE]

SPIKEGPU_OUT holds `spikegpu run pd14*.json` outputs (<pop>_spikes.npy: int32 rows (step, neuron)
and summary.json); NEST_OUT the output of pd14_nest.py (spikes_<pop>.npy: rows (neuron, step)).
numpy only.
"""
import argparse
import json
import os

import numpy as np

POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]


def stats(neuron, step, n, start, stop, dt_ms, pairs, rng):
    """Rates (Hz), ISI CVs and spike-count correlations of `n` neurons over steps [start, stop)."""
    keep = (step >= start) & (step < stop)
    neuron, step = neuron[keep], step[keep]
    seconds = (stop - start) * dt_ms / 1000.0
    counts = np.bincount(neuron, minlength=n)[:n]
    rates = counts / seconds
    order = np.lexsort((step, neuron))
    neuron, step = neuron[order], step[order]
    cvs = []
    bounds = np.searchsorted(neuron, np.arange(n + 1))
    for i in range(n):
        s = step[bounds[i]:bounds[i + 1]]
        if len(s) >= 3:
            isi = np.diff(s).astype(float)
            cvs.append(isi.std() / isi.mean())
    # correlations of spike counts in 10 ms bins, among neurons that fired
    active = np.flatnonzero(counts > 0)
    chosen = rng.choice(active, size=min(pairs, len(active)), replace=False) if len(active) > 1 else active
    width = int(round(10.0 / dt_ms))
    nbins = (stop - start) // width
    binned = np.zeros((len(chosen), nbins))
    index = {int(c): k for k, c in enumerate(chosen)}
    for i, s in zip(neuron, step):
        k = index.get(int(i))
        b = (s - start) // width
        if k is not None and b < nbins:
            binned[k, b] += 1
    cc = np.corrcoef(binned) if len(chosen) > 1 else np.zeros((1, 1))
    corr = cc[np.triu_indices(len(chosen), 1)]
    corr = corr[np.isfinite(corr)]
    return rates, np.array(cvs), corr


def ks(a, b):
    """The two-sample Kolmogorov-Smirnov distance."""
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    a, b = np.sort(a), np.sort(b)
    x = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, x, "right") / len(a) - np.searchsorted(b, x, "right") / len(b))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ours")
    ap.add_argument("nest")
    ap.add_argument("--warmup-ms", type=float, default=500.0)
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--json")
    a = ap.parse_args()
    summary = json.load(open(os.path.join(a.ours, "summary.json")))
    nest = json.load(open(os.path.join(a.nest, "result.json")))
    dt = summary["dt_ms"]
    # the same window on both sides: from the warm-up, as long as the shorter run lasts after it
    start = int(round(a.warmup_ms / dt))
    nest_stop = int(round((nest["warmup_ms"] + nest["sim_ms"]) / nest["dt_ms"]))
    stop = min(summary["steps"], nest_stop)
    print(f"window: {start * dt:.0f} to {stop * dt:.0f} ms")
    sizes = {p["name"]: p["size"] for p in summary["parameters"]["populations"]}
    rng = np.random.default_rng(1)
    rows = []
    print(f"{'pop':6} {'rate ours':>10} {'rate NEST':>10} {'diff':>7} {'KS rate':>8} {'CV ours':>8} {'CV NEST':>8} {'KS CV':>6} {'corr ours':>10} {'corr NEST':>10} {'KS corr':>8}")
    for pop in POPS:
        ev = np.load(os.path.join(a.ours, f"{pop}_spikes.npy"))
        # the recorded subset: "all", or "a:b" of the population
        sel = summary["monitor_layout"][f"{pop}_spikes"].get("neurons", "all")
        n = sizes[pop] if sel == "all" else min(int(str(sel).split(":")[1]), sizes[pop])
        r1, c1, k1 = stats(ev[:, -1].astype(np.int64), ev[:, 0].astype(np.int64), n, start, stop, dt, a.pairs, rng)
        nv = np.load(os.path.join(a.nest, f"spikes_{pop}.npy"))
        keep = nv[:, 0] < n
        r2, c2, k2 = stats(nv[keep, 0].astype(np.int64), nv[keep, 1].astype(np.int64), n, start, stop, dt, a.pairs, rng)
        row = {"pop": pop, "neurons": n, "rate_ours": r1.mean(), "rate_nest": r2.mean(), "ks_rate": ks(r1, r2),
               "cv_ours": float(np.mean(c1)) if len(c1) else float("nan"), "cv_nest": float(np.mean(c2)) if len(c2) else float("nan"),
               "ks_cv": ks(c1, c2), "corr_ours": float(np.mean(k1)) if len(k1) else float("nan"),
               "corr_nest": float(np.mean(k2)) if len(k2) else float("nan"), "ks_corr": ks(k1, k2)}
        rows.append(row)
        print(f"{pop:6} {row['rate_ours']:10.3f} {row['rate_nest']:10.3f} {100 * (row['rate_ours'] / row['rate_nest'] - 1):6.1f}% {row['ks_rate']:8.3f} "
              f"{row['cv_ours']:8.3f} {row['cv_nest']:8.3f} {row['ks_cv']:6.3f} {row['corr_ours']:10.4f} {row['corr_nest']:10.4f} {row['ks_corr']:8.3f}")
    if a.json:
        json.dump({"rows": rows, "nest": nest, "ours_wall_s": summary["wall_seconds"]}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
