"""The Python API: against the CLI (same bits), dtypes and shapes, errors, batches, SciPy input,
progress, Ctrl-C, the GIL."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import spikegpu as sg
from conftest import GOLDEN, ROOT, run_cli

CASES = sorted(GOLDEN.glob("*.json")) + sorted((GOLDEN / "models").glob("*.json"))


def seed_network(**kw) -> sg.Network:
    """BrainPy's brainpy.dyn.AMPA docs example, as examples/ampa_seed.json."""
    net = sg.Network(dt=0.1, **kw)
    pre = net.spike_time_group("pre", 1, indices=[0, 0, 0, 0], times=[10.0, 30.0, 50.0, 70.0])
    post = net.lif_ref("post", 1, V_rest=-60.0, V_th=-50.0, V_reset=-60.0, tau=20.0, tau_ref=5.0, R=1.0, V_init=-60.0)
    syn = net.projection(pre, post, synapse=sg.AMPA(alpha=0.98, beta=0.18, T=0.5, T_dur=0.5), conn=sg.CSRConn([0], [0, 1]), weight=1.0, output=sg.COBA(E=0.0), name="syn")
    net.monitor("g", syn.g)
    net.monitor("V", post.V)
    net.monitor("current", post.current)
    net.monitor("current_used", post.input)
    net.monitor("spike", post.spike)
    return net


def assert_same_bits(a: sg.RunResult, b: sg.RunResult) -> None:
    assert list(a) == list(b)
    for name in a:
        x, y = a[name], b[name]
        assert x.dtype == y.dtype and x.shape == y.shape, f"{name}: {x.dtype}{x.shape} vs {y.dtype}{y.shape}"
        # bitwise, NaN included: compare the bytes
        assert np.array_equal(np.ascontiguousarray(x).view(np.uint8), np.ascontiguousarray(y).view(np.uint8)), f"{name} differs"


# -- against the CLI ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden_case_same_bits_as_cli(cli, tmp_path, case):
    """Every golden case run from Python gives the CLI's .npy files bit for bit, and sg.load reads
    them back as the same result."""
    run_cli(cli, case, tmp_path / "out")
    from_cli = sg.load(tmp_path / "out")
    res = sg.Network.from_file(case).run(backend="cpu", progress=False)
    assert_same_bits(res, from_cli)
    assert res.spike_counts == from_cli.spike_counts
    assert res.summary["steps"] == from_cli.summary["steps"] and res.summary["synapses"] == from_cli.summary["synapses"]
    assert res.targets == from_cli.targets
    np.testing.assert_array_equal(res.t, from_cli.t)


@pytest.mark.parametrize("case", ["seed_E0", "net_small"])
def test_gpu_engine_same_bits_as_cli(cli, gpu, tmp_path, case):
    """The GPU engine from Python gives the CLI's GPU run bit for bit (same engine, same device)."""
    path = GOLDEN / f"{case}.json"
    run_cli(cli, path, tmp_path / "out", backend="gpu")
    res = sg.Network.from_file(path).run(backend="gpu", progress=False)
    assert res.backend == "gpu"
    assert_same_bits(res, sg.load(tmp_path / "out"))


def test_python_built_network_equals_the_file(cli, tmp_path):
    """The seed example built with the Python API is the network of examples/ampa_seed.json, and
    its JSON runs on the CLI to the same bits."""
    net = seed_network()
    from_file = sg.Network.from_file(ROOT / "examples" / "ampa_seed.json")
    assert json.loads(net.to_json(1000)) == json.loads(from_file.to_json())
    path = tmp_path / "net.json"
    path.write_text(net.to_json(1000))
    run_cli(cli, path, tmp_path / "out")
    assert_same_bits(net.run(1000, backend="cpu"), sg.load(tmp_path / "out"))


def test_monitor_subsets_and_events_match_cli(cli, tmp_path):
    """Subset monitors (neurons, every) and spike-event monitors give the CLI's arrays."""
    net = sg.Network.from_file(GOLDEN / "net_small.json")
    net.monitor("V_sub", "post.V", neurons="3:9", every=7)
    net.monitor("V_list", "post.V", neurons=[5, 1, 30], every=3)
    net.monitor("g_slice", "syn.g", neurons=slice(0, 10))
    net.monitor("spikes", "post.spike_events")
    path = tmp_path / "net.json"
    path.write_text(net.to_json())
    run_cli(cli, path, tmp_path / "out")
    res = net.run(backend="cpu")
    assert_same_bits(res, sg.load(tmp_path / "out"))
    assert res["V_sub"].shape == (-(-2000 // 7), 6)
    np.testing.assert_array_equal(res["V_sub"], res["V"][::7, 3:9])
    np.testing.assert_array_equal(res["V_list"], res["V"][::3][:, [5, 1, 30]])
    np.testing.assert_array_equal(res.times("V_sub"), res.t[::7])
    ev = res.spike_events("spikes")
    dense = res.spike_events("spike")
    for a, b in zip(ev[:1] + ev[1:2] + ev[3:], dense[:1] + dense[1:2] + dense[3:]):
        np.testing.assert_array_equal(a, b)
    assert ev.t.dtype == np.float32 and ev.i.dtype == np.int32 and ev.batch is None


# -- dtypes, shapes, zero copy ------------------------------------------------------------------
def test_dtypes_shapes_and_time_axis():
    res = seed_network().run(1000)
    assert res["V"].dtype == np.float32 and res["V"].shape == (1000, 1)
    assert res["g"].shape == (1000, 1)
    assert res["spike"].dtype == np.bool_ and res["spike"].shape == (1000, 1)
    assert res.t.dtype == np.float32 and res.t.shape == (1000,)
    # BrainPy's t: f32(i) * f32(dt)
    np.testing.assert_array_equal(res.t, np.arange(1000, dtype=np.float32) * np.float32(0.1))
    assert res.V is res["V"]
    assert res.spike_counts == {"pre": 4, "post": 0}
    assert isinstance(res.summary, dict) and res.summary["dt_ms"] == 0.1 and res.summary["steps"] == 1000
    # BrainPy's figure: the peak of V is -56.19 mV at 76.7 ms
    k = int(np.argmax(res["V"][:, 0]))
    assert -56.3 < res["V"][k, 0] < -56.1 and abs(res.t[k] - 76.7) < 0.5


def test_monitor_arrays_own_the_engine_buffers():
    """No copy at the end of a run: each array's memory is the Rust Vec the run filled (its base
    is the container that owns it), and the bool spike array is a view of the uint8 one."""
    res = seed_network().run(100)
    v = res["V"]
    assert not v.flags.owndata and type(v.base).__name__ == "PySliceContainer"
    s = res["spike"]
    assert not s.flags.owndata and s.base.dtype == np.uint8 and type(s.base.base).__name__ == "PySliceContainer"


def test_batch_shapes_and_rows():
    net = seed_network(batch=3)
    res = net.run(500)
    assert res["V"].shape == (500, 3, 1) and res["g"].shape == (500, 3, 1)
    # BrainPy shares spike inputs and V_init across the batch: every row is the same run
    one = seed_network().run(500)
    for b in range(3):
        np.testing.assert_array_equal(res["V"][:, b], one["V"])
    # per-row initial V: row 2 starts higher and spikes
    net = seed_network(batch=3)
    net.lif_ref("post", 1, V_rest=-60.0, V_th=-50.0, V_reset=-60.0, tau=20.0, tau_ref=5.0, V_init=[[-60.0], [-55.0], [-49.0]])
    with pytest.raises(ValueError, match=r'duplicate name "post"'):
        net.run(10)
    net = sg.Network(dt=0.1, batch=2)
    pre = net.spike_time_group("pre", 2, [0, 1], [1.0, 2.0])
    post = net.lif_ref("post", 2, V_init=np.array([[0.0, 1.0], [2.0, 3.0]]))
    net.projection(pre, post, sg.Expon(), sg.One2One(), weight=1.0, output=sg.CUBA())
    net.monitor("V", post.V)
    net.monitor("ev", post.spike_events)
    res = net.run(20)
    assert res["V"].shape == (20, 2, 2)
    assert res["ev"].dtype == np.int32 and res["ev"].shape[1] == 3
    # V decays from its per-row start towards V_rest = 0
    assert res["V"][0, 1, 1] > res["V"][0, 0, 1] > res["V"][0, 0, 0]


# -- connectivity from arrays and SciPy ---------------------------------------------------------
def random_csr(n_pre: int, n_post: int, p: float, seed: int):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_pre, n_post)) < p
    pre, post = np.nonzero(mask)
    w = rng.uniform(0.05, 0.5, size=pre.size).astype(np.float32)
    return pre, post, w


def net_with(conn, weight) -> sg.Network:
    net = sg.Network(dt=0.1)
    src = net.spike_time_group("src", 30, indices=np.arange(30) % 30, times=np.linspace(1.0, 40.0, 30))
    post = net.lif_ref("post", 20, V_rest=-60.0, V_th=-50.0, V_reset=-60.0, tau=20.0, tau_ref=5.0, V_init=-60.0)
    net.projection(src, post, synapse=sg.AMPA(), conn=conn, weight=weight, output=sg.COBA(E=0.0), name="syn")
    net.monitor("V", post.V)
    net.monitor("g", "syn.g")
    return net


def test_scipy_sparse_matrix_is_connectivity_and_weights():
    sparse = pytest.importorskip("scipy.sparse")
    pre, post, w = random_csr(30, 20, 0.3, 1)
    m = sparse.csr_matrix((w, (pre, post)), shape=(30, 20))
    from_matrix = net_with(m, None)  # weights from the matrix's values
    from_csr = net_with(sg.CSRConn(m.indices, m.indptr), m.data)
    from_pairs = net_with(sg.IJConn(pre, post), w)  # weights follow the pairs
    a, b, c = (n.run(600) for n in (from_matrix, from_csr, from_pairs))
    assert_same_bits(a, b)
    assert_same_bits(a, c)
    assert a["V"].max() > -60.0  # the inputs arrive
    # other SciPy formats are converted (rows = pre); a wrong shape is refused
    assert_same_bits(net_with(m.tocoo(), None).run(600), a)
    with pytest.raises(ValueError, match=r"connectivity: the matrix is 20x30, but pre has 30 and post 20"):
        net_with(m.T, None)


def test_ij_pairs_are_sorted_stably_with_their_weights():
    net = net_with(sg.IJConn([2, 0, 2, 1], [5, 3, 1, 0]), np.array([0.1, 0.2, 0.3, 0.4]))
    csr = json.loads(net.to_json(10))["projections"][0]
    assert csr["connectivity"]["indptr"][:4] == [0, 1, 2, 4]
    assert csr["connectivity"]["indices"] == [3, 0, 5, 1]
    np.testing.assert_allclose(csr["weight"], [0.2, 0.4, 0.1, 0.3], rtol=1e-6)


def test_fixed_prob_all2all_one2one():
    net = net_with(sg.FixedProb(0.25, seed=7), 0.3)
    j = json.loads(net.to_json(10))["projections"][0]["connectivity"]
    # BrainPy's rule: exactly round(20 * 0.25) = 5 targets per pre neuron
    assert np.all(np.diff(j["indptr"]) == 5)
    assert json.loads(net_with(sg.FixedProb(0.25, seed=7), 0.3).to_json(10)) == json.loads(net.to_json(10))
    j = json.loads(net_with(sg.All2All(), 0.3).to_json(10))["projections"][0]["connectivity"]
    assert len(j["indices"]) == 600
    with pytest.raises(ValueError, match=r"one_to_one needs populations of the same size"):
        net_with(sg.One2One(), 0.3).run(10)


def test_fixed_total_number_and_normal_weights_equal_the_file():
    conn, weight = sg.FixedTotalNumber(150, seed=4), sg.Normal(0.3, 0.2, seed=5, redraw_sign=True)
    net = net_with(conn, weight)
    j = json.loads(net.to_json(10))
    proj = j["projections"][0]
    assert len(proj["connectivity"]["indices"]) == 150  # pairs drawn with replacement
    assert len(proj["weight"]) == 150 and min(proj["weight"]) >= 0.0  # redrawn to the mean's sign
    # the file with the generators gives the same matrix and weights, and the same run
    proj_file = dict(proj, connectivity={"kind": "fixed_total_number", "n": 150, "seed": 4},
                     weight={"normal": [0.3, 0.2], "seed": 5, "redraw_sign": True})
    from_file = sg.Network.from_json(json.dumps(dict(j, projections=[proj_file])))
    assert json.loads(from_file.to_json(10))["projections"][0] == proj
    assert_same_bits(net.run(400), from_file.run(400))
    with pytest.raises(ValueError, match=r"redraw_sign: needs a nonzero mean"):
        sg.Normal(0.0, 1.0, redraw_sign=True)
    assert repr(weight) == "Normal(0.3, 0.2, seed=5, redraw_sign=True)"


def test_per_synapse_delays_from_python_and_from_the_file():
    def net(delay, align="post"):
        n = sg.Network(dt=0.1)
        src = n.spike_time_group("src", 3, indices=[0, 1, 2, 0], times=[1.0, 2.0, 3.0, 9.0])
        post = n.lif_ref("post", 2, V_rest=-60.0, V_th=-50.0, V_reset=-60.0, tau=20.0, tau_ref=5.0, V_init=-60.0)
        n.projection(src, post, synapse=sg.Expon(tau=5.0), conn=sg.CSRConn([0, 1, 0, 1], [0, 2, 3, 4]),
                     weight=0.5, delay=delay, output=sg.CUBA(), align=align, name="syn")
        n.monitor("g", "syn.g")
        return n
    # 0.3 ms is 3 slots in f64 (an f32 0.3 would be 3.0000001 and take 4)
    delays = np.array([0.3, 1.0, 0.1, 2.0])
    j = json.loads(net(delays).to_json(10))["projections"][0]
    assert j["delay"] == {"steps": [3, 10, 1, 20]}
    again = sg.Network.from_json(net(delays).to_json(60))
    assert_same_bits(net(delays).run(60), again.run(60))
    # a synapse delayed as a whole projection with its delay is: equal delays, one projection delay
    assert_same_bits(net(np.full(4, 1.0)).run(60), net(1.0).run(60))
    with pytest.raises(ValueError, match=r"per-synapse delays need \"align\": \"post\""):
        net(delays, align="pre").run(10)


def test_poisson_inputs_equal_the_file_and_run_like_the_cli(cli, tmp_path):
    def net():
        n = sg.Network(dt=0.1, steps=300)
        src = n.spike_time_group("src", 3, indices=[0, 1, 2], times=[1.0, 2.0, 3.0])
        post = n.lif_ref("post", 40, V_rest=-65.0, V_th=-50.0, V_reset=-65.0, tau=10.0, tau_ref=2.0, V_init=-60.0)
        syn = n.projection(src, post, synapse=sg.Expon(tau=0.5), conn=sg.FixedTotalNumber(60, seed=1), weight=1.0,
                           output=sg.CUBA(), align="post", name="syn")
        n.poisson_input(syn.g, 1600, 8.0, 2.0, seed=3, law="poisson", name="bg")
        n.poisson_input(post.V, 50, 20.0, 0.3, seed=4)
        n.monitor("V", post.V)
        n.monitor("spike", post.spike)
        return n
    j = json.loads(net().to_json())
    assert j["poisson_inputs"] == [
        {"name": "bg", "target": "syn.g", "num_input": 1600, "freq": 8.0, "weight": 2.0, "seed": 3, "law": "poisson"},
        {"name": "poisson_input_1", "target": "post.V", "num_input": 50, "freq": 20.0, "weight": pytest.approx(0.3), "seed": 4, "law": "binomial"},
    ]
    ours = net().run()
    assert ours["spike"].sum() > 0
    # the file (and its round trip through from_json) draws the same counts as the CLI
    path = tmp_path / "net.json"
    path.write_text(net().to_json())
    assert_same_bits(ours, sg.Network.from_file(path).run())
    run_cli(cli, path, tmp_path / "out")
    assert np.array_equal(np.load(tmp_path / "out" / "V.npy"), ours["V"])
    with pytest.raises(ValueError, match=r"poisson_inputs\[0\]\.law: must be"):
        sg.Network(dt=0.1).poisson_input("a.V", 10, 1.0, 1.0, law="normal")
    with pytest.raises(ValueError, match=r"poisson_inputs\[0\]\.target: .*aligned pre"):
        n = sg.Network(dt=0.1)
        a = n.lif("a", 2)
        n.projection(a, a, synapse=sg.Expon(), conn=sg.CSRConn([0], [0, 1, 1]), weight=1.0, output=sg.CUBA(), name="p")
        n.poisson_input("p.g", 10, 1.0, 1.0)
        n.run(5)


# -- BrainPy's defaults come from the Rust crate ------------------------------------------------
def test_omitted_parameters_take_the_file_readers_defaults():
    """A Python call without parameters and a network file without them give the same network:
    both take BrainPy's defaults from the Rust crate."""
    net = sg.Network(dt=0.1)
    s = net.spike_time_group("s", 2, [], [])
    a = net.lif_ref("a", 2)
    b = net.lif("b", 2)
    for k, (syn, align) in enumerate([(sg.AMPA(), "pre"), (sg.GABAa(), "pre"), (sg.Expon(), "post"), (sg.DualExpon(), "pre"), (sg.DualExponV2(), "post"), (sg.Alpha(), "pre"), (sg.NMDA(), "pre")]):
        net.projection(s, a if k % 2 else b, synapse=syn, conn=sg.All2All(), weight=0.5, output=sg.MgBlock() if k == 6 else sg.COBA(E=0.0), align=align, name=f"p{k}")
    file_text = json.dumps({
        "dt": 0.1, "steps": 10,
        "populations": [
            {"name": "s", "model": "spike_times", "size": 2, "indices": [], "times": []},
            {"name": "a", "model": "lif_ref", "size": 2},
            {"name": "b", "model": "lif", "size": 2},
        ],
        "projections": [
            {"name": f"p{k}", "pre": "s", "post": "a" if k % 2 else "b", "synapse": {"model": m}, "align": al,
             "connectivity": {"kind": "csr", "indptr": [0, 2, 4], "indices": [0, 1, 0, 1]}, "weight": 0.5,
             "output": {"model": "mg_block"} if k == 6 else {"model": "coba", "E": 0}}
            for k, (m, al) in enumerate([("ampa", "pre"), ("gabaa", "pre"), ("expon", "post"), ("dual_expon", "pre"), ("dual_expon_v2", "post"), ("alpha", "pre"), ("nmda", "pre")])
        ],
    })
    assert json.loads(net.to_json(10)) == json.loads(sg.Network.from_json(file_text).to_json())
    assert sg.AMPA().alpha == pytest.approx(0.98) and sg.GABAa().T_dur == 1.0 and sg.MgBlock().cc_Mg == pytest.approx(1.2)
    assert repr(sg.Expon(tau=5)) == "Expon(tau=5)"


# -- errors ---------------------------------------------------------------------------------------
def test_errors_are_value_errors_with_the_field_path():
    net = net_with(sg.All2All(), np.ones(7))
    with pytest.raises(ValueError, match=r'^projections\[0\] \("syn"\)\.weight: has 7 values, but the connectivity has 600 synapses$'):
        net.run(10)
    net = sg.Network()
    net.lif_ref("post", 1, tau=-1.0)
    with pytest.raises(ValueError, match=r'^populations\[0\] \("post"\)\.tau: must be > 0, got -1$'):
        net.validate(10)
    with pytest.raises(ValueError, match=r'projections\[0\]\.pre: unknown population "nope" \(known: post\)'):
        net.projection("nope", "post", sg.AMPA(), sg.All2All(), weight=1.0, output=sg.COBA(E=0.0))
    with pytest.raises(ValueError, match=r"synapse: must be a synapse model"):
        net.projection("post", "post", "ampa", sg.All2All(), weight=1.0, output=sg.COBA(E=0.0))
    with pytest.raises(ValueError, match=r"output: is missing"):
        net.projection("post", "post", sg.AMPA(), sg.All2All(), weight=1.0)
    with pytest.raises(ValueError, match=r"weight: is missing"):
        net.projection("post", "post", sg.AMPA(), sg.All2All(), output=sg.CUBA())
    with pytest.raises(ValueError, match=r"indices\[1\]: -3 is not a non-negative integer index"):
        net.spike_time_group("s", 2, [0, -3], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"indices: must hold integer indices, got an array of float64"):
        net.spike_time_group("s", 2, [0.5], [1.0])
    with pytest.raises(ValueError, match=r"times: has 1 entries but indices has 2"):
        net.spike_time_group("s", 2, [0, 1], [1.0])
    with pytest.raises(ValueError, match=r"monitors.V: unknown population or projection \"pre\""):
        net.monitor("V", "pre.V")
        net.run(10)
    with pytest.raises(ValueError, match=r"^steps: how many steps"):
        sg.Network().run()
    with pytest.raises(ValueError, match=r'^backend: unknown engine "tpu"'):
        seed_network().run(10, backend="tpu")
    with pytest.raises(ValueError, match=r'^mode: unknown update mode "sparse"'):
        seed_network().run(10, mode="sparse")
    with pytest.raises(FileNotFoundError, match=r"nope\.json"):
        sg.Network.from_file("nope.json")
    with pytest.raises(ValueError, match=r"line 1 column"):
        sg.Network.from_json("{")
    with pytest.raises(TypeError):
        sg.FixedProb(0.1)  # the seed is required
    assert issubclass(sg.ResourceError, MemoryError)


# -- runs: steps, progress, Ctrl-C, the GIL -------------------------------------------------------
def test_file_steps_are_the_default_and_generators_regenerate():
    """A network from a file runs its own steps; run(steps) of another length expands its
    generated sources for that length (their spikes go on)."""
    text = json.dumps({"dt": 0.1, "steps": 1000, "populations": [
        {"name": "src", "model": "regular", "size": 10, "period_steps": 100},
        {"name": "post", "model": "lif_ref", "size": 10}],
        "projections": [{"name": "syn", "pre": "src", "post": "post", "synapse": {"model": "expon"},
                         "connectivity": {"kind": "fixed_prob", "prob": 0.5, "seed": 1}, "weight": 0.1, "output": {"model": "cuba"}}],
        "monitors": {"s": "src.spike"}})
    net = sg.Network.from_json(text)
    assert net.steps == 1000
    short, long = net.run(progress=False), net.run(3000, progress=False)
    assert short["s"].shape == (1000, 10) and long["s"].shape == (3000, 10)
    assert short.spike_counts["src"] == 100 and long.spike_counts["src"] == 300


def test_progress_callback_sees_every_chunk():
    seen = []
    seed_network().run(1000, chunk=300, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(300, 1000), (600, 1000), (900, 1000), (1000, 1000)]
    with pytest.raises(TypeError, match=r"progress must be"):
        seed_network().run(10, progress="yes")


def long_network() -> sg.Network:
    """About a second per 2000 steps on one core: long enough to interrupt."""
    net = sg.Network(dt=0.1)
    src = net.regular("src", 2000, period_steps=50)
    post = net.lif_ref("post", 2000, V_rest=-60.0, V_th=-50.0, V_reset=-60.0, tau=20.0, tau_ref=5.0, V_init=-60.0)
    net.projection(src, post, synapse=sg.AMPA(), conn=sg.FixedProb(0.05, seed=3), weight=0.05, output=sg.COBA(E=0.0))
    return net


def test_callback_exception_stops_the_run():
    def stop(done, total):
        if done >= 200:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        long_network().run(100_000, backend="cpu", chunk=100, progress=stop)


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to oneself")
def test_ctrl_c_raises_keyboard_interrupt_at_the_next_chunk():
    net = long_network()
    net.validate(300_000)
    sent = []
    timer = threading.Timer(0.5, lambda: (sent.append(time.monotonic()), os.kill(os.getpid(), signal.SIGINT)))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            net.run(300_000, backend="cpu", chunk=50, progress=False)
    finally:
        timer.cancel()
    # the whole run takes half a minute or more: it stopped at a chunk boundary soon after the
    # signal (a chunk of 50 steps is a few ms; 5 s leaves room for the build and a loaded machine)
    assert sent and time.monotonic() - sent[0] < 5.0


def test_the_gil_is_released_while_the_engine_runs():
    """Another Python thread keeps running during a chunk (one chunk: the run takes the GIL back
    only after it)."""

    def run_counting(steps: int):
        ticks = []
        done = threading.Event()

        def count():
            while not done.is_set():
                ticks.append(time.monotonic())
                time.sleep(0.001)

        t = threading.Thread(target=count)
        net = long_network()
        net.validate(steps)
        start = time.monotonic()
        t.start()
        try:
            net.run(steps, backend="cpu", chunk=steps, progress=False)
        finally:
            done.set()
            t.join()
        took = time.monotonic() - start
        return took, [x for x in ticks if start + 0.1 * took < x < start + 0.9 * took]

    steps = 4000
    took, during = run_counting(steps)
    while took < 0.3 and steps < 200_000:  # a fast machine: a longer run, so the middle is long enough to tell
        steps *= 4
        took, during = run_counting(steps)
    # a thread that held the GIL for the whole chunk would leave no ticks in the middle of it
    assert len(during) > 20, f"{len(during)} ticks of the other thread during {took:.2f} s"


def test_help_reads_well():
    doc = sg.Network.run.__doc__
    assert "backend" in doc and "Returns" in doc and "KeyboardInterrupt" in doc
    assert "BrainPy" in sg.Network.__doc__ and "lif_ref" in sg.Network.__doc__
    assert "V_rest=0" in sg.Network.lif_ref.__doc__
    assert "BrainPy" in sg.AMPA.__doc__ and "T_dur" in sg.AMPA.__doc__
    assert sg.Network.lif_ref.__text_signature__.startswith("($self, name, size, V_rest=None")
