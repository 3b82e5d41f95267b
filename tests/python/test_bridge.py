"""The BrainPy bridge against BrainPy itself: BrainPy's docs example and a network with delays
and several projections, converted with ``sg.from_brainpy``, run on spikegpu and compared with
BrainPy's own run within the golden tolerances (conftest.TOLERANCE); and the refusals."""

from __future__ import annotations

import numpy as np
import pytest

import spikegpu as sg
from conftest import assert_close, compare_spikes


def docs_example(bp):
    """BrainPy's ``brainpy.dyn.AMPA`` docs example (``bio_models.py``), unchanged."""
    bm = bp.math

    class AMPA(bp.Projection):
        def __init__(self, pre, post, delay, prob, g_max, E=0.0):
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
        def __init__(self, E=0.0):
            super().__init__()
            self.pre = bp.dyn.SpikeTimeGroup(1, indices=(0, 0, 0, 0), times=(10.0, 30.0, 50.0, 70.0))
            self.post = bp.dyn.LifRef(1, V_rest=-60.0, V_th=-50.0, V_reset=-60.0, tau=20.0, tau_ref=5.0, V_initializer=bp.init.Constant(-60.0))
            self.syn = AMPA(self.pre, self.post, delay=None, prob=1.0, g_max=1.0, E=E)

        def update(self):
            self.pre()
            self.syn()
            self.post()
            conductance = self.syn.proj.refs["syn"].g
            current = self.post.sum_current_inputs(self.post.V)
            return conductance, current, self.post.V

    return SimpleNet, bm


def test_docs_example_matches_brainpy(bp):
    SimpleNet, bm = docs_example(bp)
    net = SimpleNet(E=0.0)
    # the docs' last lines, through the bridge instead of bm.for_loop
    snet = sg.from_brainpy(net, monitors={"g": "syn.proj.refs['syn'].g", "current": "post.current", "V": "post.V"})
    res = snet.run(1000, progress=False)
    g, current, v = (np.asarray(x) for x in bm.for_loop(net.step_run, np.arange(1000), progress_bar=False))
    assert res["V"].shape == v.shape == (1000, 1)
    assert_close("g", res["g"], g, what="g")
    assert_close("current", res["current"], current, what="current")
    assert_close("V", res["V"], v, what="V")
    assert v.max() > -56.3 and res["V"].max() > -56.3  # the inputs arrived in both


class _Sizes:
    n_in, ne, ni = 40, 32, 8


def delays_network(bp):
    """Spike sources and two LifRef populations, five projections in every alignment, with
    delays on four (1.0 and 0.5 ms from the source, 2.0 and 1.5 ms from LIF populations), per-synapse
    weights, per-neuron V_init, and AMPA, Expon, NMDA + MgBlock, DualExponV2, Alpha + CUBA."""
    bm = bp.math
    s = _Sizes
    rng = np.random.RandomState(0)
    times = np.round(np.sort(rng.uniform(1.0, 150.0, 400)), 1)
    indices = rng.randint(0, s.n_in, times.size)
    fp = lambda p, a, b: bp.conn.FixedProb(p, pre=a, post=b, seed=int(rng.randint(1 << 30)))  # noqa: E731

    class Net(bp.DynSysGroup):
        def __init__(self):
            super().__init__()
            self.inp = bp.dyn.SpikeTimeGroup(s.n_in, indices=indices, times=times)
            self.E = bp.dyn.LifRef(s.ne, V_rest=-60.0, V_th=-50.0, V_reset=-60.0, tau=20.0, tau_ref=5.0, V_initializer=bp.init.Uniform(-60.0, -53.0))
            self.I = bp.dyn.LifRef(s.ni, V_rest=-60.0, V_th=-50.0, V_reset=-60.0, tau=10.0, tau_ref=2.0, V_initializer=bp.init.Uniform(-60.0, -53.0))
            self.in2E = bp.dyn.ProjAlignPreMg2(pre=self.inp, delay=1.0, syn=bp.dyn.AMPA.desc(s.n_in), comm=bp.dnn.CSRLinear(fp(0.3, s.n_in, s.ne), 1.5), out=bp.dyn.COBA(E=0.0), post=self.E)
            self.in2I = bp.dyn.ProjAlignPostMg2(pre=self.inp, delay=0.5, comm=bp.dnn.EventCSRLinear(fp(0.3, s.n_in, s.ni), bp.init.Uniform(0.3, 0.9)), syn=bp.dyn.Expon.desc(s.ni, tau=5.0), out=bp.dyn.COBA.desc(E=0.0), post=self.I)
            self.E2I = bp.dyn.ProjAlignPreMg2(pre=self.E, delay=2.0, syn=bp.dyn.NMDA.desc(s.ne), comm=bp.dnn.CSRLinear(fp(0.5, s.ne, s.ni), 0.3), out=bp.dyn.MgBlock(E=0.0), post=self.I)
            self.I2E = bp.dyn.ProjAlignPostMg2(pre=self.I, delay=1.5, comm=bp.dnn.EventCSRLinear(fp(0.5, s.ni, s.ne), bp.init.Uniform(0.1, 0.4)), syn=bp.dyn.DualExponV2.desc(s.ne), out=bp.dyn.COBA.desc(E=-80.0), post=self.E)
            self.E2E = bp.dyn.ProjAlignPreMg2(pre=self.E, delay=None, syn=bp.dyn.Alpha.desc(s.ne, tau_decay=4.0), comm=bp.dnn.CSRLinear(fp(0.1, s.ne, s.ne), 0.5), out=bp.dyn.CUBA(), post=self.E)

        def update(self):
            self.inp()
            self.in2E()
            self.in2I()
            self.E2I()
            self.I2E()
            self.E2E()
            self.E()
            self.I()
            return (
                self.E.V.value, self.E.spike.value, self.I.V.value, self.I.spike.value,
                self.in2E.refs["syn"].g.value, self.E2I.refs["syn"].g.value, self.in2I.refs["syn"].g.value,
                self.E.sum_current_inputs(self.E.V.value),
            )

    return Net, bm


MONITORS = {
    "V_E": "E.V", "spike_E": "E.spike", "V_I": "I.V", "spike_I": "I.spike",
    "g_in2E": "in2E.refs['syn'].g", "g_E2I": "E2I.syn.g", "g_in2I": "in2I.g", "current_E": "E.current",
}


def test_network_with_delays_and_several_projections_matches_brainpy(bp):
    Net, bm = delays_network(bp)
    net = Net()
    snet = sg.from_brainpy(net, monitors=MONITORS)
    steps = 2000
    res = snet.run(steps, progress=False)
    out = [np.asarray(x) for x in bm.for_loop(net.step_run, np.arange(steps), progress_bar=False)]
    want = dict(zip(MONITORS, out))
    # the test means something only if both populations fire and every projection carries
    assert want["spike_E"].sum() > 20 and want["spike_I"].sum() > 20, (want["spike_E"].sum(), want["spike_I"].sum())
    cut_e = compare_spikes(res["spike_E"], want["spike_E"])
    cut_i = compare_spikes(res["spike_I"], want["spike_I"])
    assert_close("V", res["V_E"], want["V_E"], cut_e, "E.V")
    assert_close("V", res["V_I"], want["V_I"], cut_i, "I.V")
    assert_close("current", res["current_E"], want["current_E"], cut_e, "E.current")
    # pre-sized states: compared while no neuron has diverged (they feed every post neuron)
    first = int(min(cut_e.min(), cut_i.min()))
    assert_close("g", res["g_in2E"], want["g_in2E"], what="in2E.g")
    assert_close("g", res["g_E2I"][:first], want["g_E2I"][:first], what="E2I.g")
    assert_close("g", res["g_in2I"], want["g_in2I"], what="in2I.g")
    assert snet.to_json(10)  # the converted network is a network file too


def test_batching_mode_gives_a_batch(bp):
    SimpleNet, bm = docs_example(bp)
    with bm.environment(mode=bm.BatchingMode(3)):
        net = SimpleNet()
    res = sg.from_brainpy(net, monitors={"V": "post.V"}).run(300, progress=False)
    assert res["V"].shape == (300, 3, 1)


def test_monitor_paths_and_variables(bp):
    SimpleNet, bm = docs_example(bp)
    net = SimpleNet()
    snet = sg.from_brainpy(net, monitors={"a": "syn.proj.g", "b": "syn.g", "c": net.post.V, "d": net.syn.proj.refs["syn"].g, "e": "self.post.spike_events"})
    assert snet.monitors == {"a": "syn.proj.g", "b": "syn.proj.g", "c": "post.V", "d": "syn.proj.g", "e": "post.spike_events"}
    with pytest.raises(ValueError, match=r"monitors.x: 'post.W': a population records V, spike"):
        sg.from_brainpy(net, monitors={"x": "post.W"})
    with pytest.raises(ValueError, match=r"monitors.x: 'nope.V': net has no 'nope'"):
        sg.from_brainpy(net, monitors={"x": "nope.V"})


def test_unsupported_nodes_are_refused_by_name(bp):
    class WithHH(bp.DynSysGroup):
        def __init__(self):
            super().__init__()
            self.pre = bp.dyn.SpikeTimeGroup(1, indices=(0,), times=(1.0,))
            self.hh = bp.dyn.HH(2)

        def update(self):
            self.pre()
            self.hh()

    with pytest.raises(ValueError, match=r"^hh \(brainpy\..*HH\): this node is not supported\. The bridge supports neurons: bp\.dyn\.SpikeTimeGroup"):
        sg.from_brainpy(WithHH())

    class Mg1(bp.DynSysGroup):  # delay then synapse: another arithmetic
        def __init__(self):
            super().__init__()
            self.pre = bp.dyn.SpikeTimeGroup(1, indices=(0,), times=(1.0,))
            self.post = bp.dyn.LifRef(1)
            self.proj = bp.dyn.ProjAlignPreMg1(pre=self.pre, syn=bp.dyn.Expon.desc(1), delay=None, comm=bp.dnn.CSRLinear(bp.conn.One2One(pre=1, post=1), 1.0), out=bp.dyn.CUBA(), post=self.post)

        def update(self):
            self.pre()
            self.proj()
            self.post()

    with pytest.raises(ValueError, match=r"^proj \(.*FullProjAlignPreDSMg\): this node is not supported"):
        sg.from_brainpy(Mg1())


def test_default_update_with_a_spike_source_is_refused(bp):
    class Default(bp.DynSysGroup):
        def __init__(self):
            super().__init__()
            self.pre = bp.dyn.SpikeTimeGroup(1, indices=(0,), times=(1.0,))
            self.post = bp.dyn.LifRef(1)
            self.proj = bp.dyn.ProjAlignPreMg2(pre=self.pre, syn=bp.dyn.Expon.desc(1), delay=None, comm=bp.dnn.CSRLinear(bp.conn.One2One(pre=1, post=1), 1.0), out=bp.dyn.CUBA(), post=self.post)

    with pytest.raises(ValueError, match=r"keeps DynSysGroup's default update\(\), which runs every projection before the spike source"):
        sg.from_brainpy(Default())


def test_a_network_that_ran_is_refused(bp):
    SimpleNet, bm = docs_example(bp)
    net = SimpleNet()
    bm.for_loop(net.step_run, np.arange(200), progress_bar=False)
    with pytest.raises(ValueError, match=r"it has already run"):
        sg.from_brainpy(net)
