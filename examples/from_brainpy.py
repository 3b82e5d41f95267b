"""BrainPy's ``brainpy.dyn.AMPA`` documentation example, built in BrainPy itself and run on
spikegpu through the bridge, with BrainPy's own run beside it.

The code down to ``SimpleNet`` is the docs' code unchanged (``brainpy/dyn/synapses/bio_models.py``);
only the last lines differ: ``sg.from_brainpy(...).run(1000)`` instead of ``bm.for_loop``, and the
figure goes to a PNG (matplotlib's Agg backend, no display needed).

    pip install .                                  # spikegpu, at the repository root
    pip install "brainpy==2.9.0" numba matplotlib  # BrainPy 2.9 needs Python >= 3.12
    python examples/from_brainpy.py                # writes out/from_brainpy.png
"""

import os
import sys

import numpy as np

try:
    import brainpy as bp
    import brainpy.math as bm
except ImportError as e:
    sys.exit(f"this example builds the network in BrainPy: pip install brainpy numba ({e})")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import spikegpu as sg  # noqa: E402


# ---- BrainPy's docs example, unchanged ---------------------------------------------------------
class AMPA(bp.Projection):
    def __init__(self, pre, post, delay, prob, g_max, E=0.):
        super().__init__()
        self.proj = bp.dyn.ProjAlignPreMg2(
          pre=pre,
          delay=delay,
          syn=bp.dyn.AMPA.desc(pre.num, alpha=0.98, beta=0.18, T=0.5, T_dur=0.5),
          comm=bp.dnn.CSRLinear(bp.conn.FixedProb(prob, pre=pre.num, post=post.num), g_max),
          out=bp.dyn.COBA(E=E),
          post=post,
        )


class SimpleNet(bp.DynSysGroup):
    def __init__(self, E=0.):
        super().__init__()

        self.pre = bp.dyn.SpikeTimeGroup(1, indices=(0, 0, 0, 0), times=(10., 30., 50., 70.))
        self.post = bp.dyn.LifRef(1, V_rest=-60., V_th=-50., V_reset=-60., tau=20., tau_ref=5.,
                                  V_initializer=bp.init.Constant(-60.))
        self.syn = AMPA(self.pre, self.post, delay=None, prob=1., g_max=1., E=E)

    def update(self):
        self.pre()
        self.syn()
        self.post()

        # monitor the following variables
        conductance = self.syn.proj.refs['syn'].g
        current = self.post.sum_inputs(self.post.V)
        return conductance, current, self.post.V


# ---- the last lines: spikegpu through the bridge -----------------------------------------------
net = SimpleNet(E=0.)
snet = sg.from_brainpy(net, monitors={"g": "syn.proj.refs['syn'].g", "current": "post.current", "V": "post.V"})
res = snet.run(1000)  # 100 ms, dt = 0.1 ms
conductances, currents, potentials = res["g"], res["current"], res["V"]
ts = res.t

# BrainPy's own run of the same object, beside it (after the conversion: BrainPy's run moves its state)
indices = np.arange(1000)
bp_g, bp_current, bp_v = (np.asarray(x) for x in bm.for_loop(net.step_run, indices, progress_bar=False))

fig, axes = plt.subplots(1, 3, figsize=(3 * 4, 3.5), layout="constrained")
for ax, title, ours, theirs in zip(axes, ("Syn conductance", "Syn current", "Post V"), (conductances, currents, potentials), (bp_g, bp_current, bp_v)):
    ax.plot(ts, ours, label="spikegpu")
    ax.plot(indices * bm.get_dt(), theirs, "--", label="BrainPy")
    ax.set_title(title)
    ax.set_xlabel("time (ms)")
axes[0].legend(loc="center right")
out = os.path.join("out", "from_brainpy.png")
os.makedirs("out", exist_ok=True)
fig.savefig(out, dpi=100)

# the golden tolerances (shared/golden/README.md): V 1e-3 mV, g 1e-5 + 1e-4 relative, currents 1e-3 + 1e-4 relative
for name, ours, theirs in (("g", conductances, bp_g), ("current", currents, bp_current), ("V", potentials, bp_v)):
    print(f"{name:8s} max |spikegpu - BrainPy| = {np.abs(ours - theirs.reshape(ours.shape)).max():.3g}")
print(f"ran on {res.device} ({res.backend}); wrote {out}")
