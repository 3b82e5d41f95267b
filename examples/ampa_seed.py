"""BrainPy's ``brainpy.dyn.AMPA`` documentation example, written with spikegpu's Python API.

One spike-time neuron fires at 10, 30, 50 and 70 ms; an AMPA synapse (COBA, E = 0 mV) drives one
LifRef neuron resting at -60 mV, for 1000 steps of 0.1 ms. The script draws BrainPy's
three-panel figure (synaptic conductance, synaptic current, post V) into a PNG:

    pip install .            # at the repository root, once
    pip install matplotlib
    python examples/ampa_seed.py            # writes out/ampa_seed.png
    python examples/ampa_seed.py --backend gpu --out figure.png

It runs headless (matplotlib's Agg backend): no display is needed.
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")  # headless: draw into a file, no window
import matplotlib.pyplot as plt  # noqa: E402

import spikegpu as sg  # noqa: E402


def build(E: float = 0.0) -> sg.Network:
    """BrainPy's SimpleNet(E): pre -> AMPA (ProjAlignPreMg2, FixedProb(1.0) of 1 x 1) -> post."""
    net = sg.Network(dt=0.1)
    pre = net.spike_time_group("pre", 1, indices=(0, 0, 0, 0), times=(10.0, 30.0, 50.0, 70.0))
    post = net.lif_ref("post", 1, V_rest=-60.0, V_th=-50.0, V_reset=-60.0, tau=20.0, tau_ref=5.0, V_init=-60.0)
    syn = net.projection(
        pre,
        post,
        synapse=sg.AMPA(alpha=0.98, beta=0.18, T=0.5, T_dur=0.5),
        conn=sg.FixedProb(1.0, seed=0),  # 1 x 1 with probability 1: the one synapse
        weight=1.0,  # g_max
        delay=None,
        output=sg.COBA(E=E),
        name="syn",
    )
    # what the docs' update() returns: the conductance, post.sum_current_inputs(post.V), post.V
    net.monitor("conductance", syn.g)
    net.monitor("current", post.current)
    net.monitor("potential", post.V)
    return net


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join("out", "ampa_seed.png"), help="the figure (PNG)")
    ap.add_argument("--backend", default="auto", choices=["auto", "cpu", "gpu"])
    args = ap.parse_args()

    res = build(E=0.0).run(1000, backend=args.backend)  # 100 ms, dt = 0.1 ms
    ts = res.t  # ms

    # bp.visualize.get_figure(1, 3, 3.5, 4): one row of three panels, 3.5 high and 4 wide each
    fig, axes = plt.subplots(1, 3, figsize=(3 * 4, 3.5), layout="constrained")
    axes[0].plot(ts, res["conductance"])
    axes[0].set_title("Syn conductance")
    axes[1].plot(ts, res["current"])
    axes[1].set_title("Syn current")
    axes[2].plot(ts, res["potential"])
    axes[2].set_title("Post V")
    for ax in axes:
        ax.set_xlabel("time (ms)")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    fig.savefig(args.out, dpi=100)

    v = res["potential"][:, 0]
    k = int(v.argmax())
    print(f"ran {res.steps} steps of {res.dt} ms on {res.device} ({res.backend}) in {res.wall_seconds * 1e3:.1f} ms")
    print(f"peak V {v[k]:.3f} mV at {ts[k]:.1f} ms (BrainPy's figure: about -56.19 mV at 76.7 ms); post spikes: {res.spike_counts['post']}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
