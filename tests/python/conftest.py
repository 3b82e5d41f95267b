"""Shared fixtures of the Python tests (run by scripts/test_python.sh).

- ``cli``: the ``spikegpu`` binary (``$SPIKEGPU_BIN``, else ``target/release/spikegpu``). Missing,
  the tests that compare against it are skipped, or fail under ``SPIKEGPU_REQUIRE_CLI=1``.
- ``bp``: BrainPy. Missing, the bridge tests are skipped, or fail under
  ``SPIKEGPU_REQUIRE_BRAINPY=1`` (the test script sets both: there a missing tool is a failure).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"


def _require(var: str) -> bool:
    return os.environ.get(var, "") not in ("", "0")


@pytest.fixture(scope="session")
def cli() -> Path:
    path = Path(os.environ.get("SPIKEGPU_BIN", ROOT / "target" / "release" / "spikegpu"))
    if not path.is_file():
        msg = f"the spikegpu binary {path} is missing (cargo build --release, or set SPIKEGPU_BIN)"
        if _require("SPIKEGPU_REQUIRE_CLI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def run_cli(cli: Path, network: Path, out: Path, *args: str, backend: str = "cpu") -> None:
    """``spikegpu run NETWORK --out OUT --backend BACKEND -q``; fails the test with its stderr."""
    r = subprocess.run([str(cli), "run", str(network), "--out", str(out), "--backend", backend, "-q", *args], capture_output=True, text=True)
    assert r.returncode == 0, f"spikegpu run {network} failed ({r.returncode}): {r.stderr}"


@pytest.fixture(scope="session")
def gpu() -> str:
    """The GPU engine's backend name, when an adapter (a software one counts) exists; skipped
    otherwise, or failed under ``SPIKEGPU_REQUIRE_GPU=1`` (scripts/test.sh sets it)."""
    import spikegpu as sg

    try:
        sg.Network.from_file(GOLDEN / "seed_E0.json").run(1, backend="gpu", progress=False)
    except RuntimeError as e:
        if not str(e).startswith("no GPU adapter"):
            raise  # the engine exists and failed: that is a failure, not a missing GPU
        if _require("SPIKEGPU_REQUIRE_GPU"):
            pytest.fail(f"no GPU engine: {e}")
        pytest.skip(f"no GPU engine: {e}")
    return "gpu"


@pytest.fixture(scope="session")
def bp():
    try:
        import brainpy

        import brainpy.math  # noqa: F401
    except Exception as e:  # ImportError, or a broken jax/numba install
        msg = f"BrainPy cannot be imported: {type(e).__name__}: {e}"
        if _require("SPIKEGPU_REQUIRE_BRAINPY"):
            pytest.fail(msg)
        pytest.skip(msg)
    return brainpy


# -- the golden comparison rules (shared/golden/README.md "Comparing") --------------------------
# V within 1e-3 mV; g within 1e-5 + 1e-4 relative; currents within 1e-3 + 1e-4 relative. A plain
# f32 implementation of SEMANTICS.md lands about 100 times inside these; they leave room for
# XLA's fused multiply-adds, which spikegpu does not copy. Spikes: every spike needs a partner of
# the same neuron within one step, at most 2% of them shifted by one step, and after a neuron's
# first disagreement its continuous traces are no longer compared (the shift changes its future).
TOLERANCE = {"V": (1e-3, 0.0), "g": (1e-5, 1e-4), "current": (1e-3, 1e-4)}


def spike_steps(spikes: np.ndarray) -> list:
    """Per neuron, the steps at which it spiked (spikes: [steps, n] bool)."""
    s = np.asarray(spikes).reshape(spikes.shape[0], -1)
    return [np.nonzero(s[:, j])[0] for j in range(s.shape[1])]


def compare_spikes(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Checks the spike rule; returns, per neuron, the first step from which its continuous
    traces are no longer compared (its first disagreement; steps when none)."""
    g_steps, w_steps = spike_steps(got), spike_steps(want)
    steps = got.shape[0]
    cut = np.full(len(w_steps), steps)
    shifted = total = 0
    for j, (a, b) in enumerate(zip(g_steps, w_steps)):
        total += len(b)
        assert abs(len(a) - len(b)) <= 1 or len(b) == 0 and len(a) == 0, f"neuron {j}: {len(a)} spikes, BrainPy {len(b)}"
        for k in range(min(len(a), len(b))):
            d = int(a[k]) - int(b[k])
            assert abs(d) <= 1, f"neuron {j}: spike {k} at step {a[k]}, BrainPy at {b[k]}"
            if d != 0:
                shifted += 1
                cut[j] = min(cut[j], min(a[k], b[k]))
                break
        if len(a) != len(b):
            cut[j] = min(cut[j], int(min(a[len(b):].min(initial=steps), b[len(a):].min(initial=steps))))
    assert shifted <= max(1, 0.02 * total), f"{shifted} of {total} spikes shifted by a step (allowed: 2%)"
    return cut


def assert_close(kind: str, got: np.ndarray, want: np.ndarray, cut=None, what: str = "") -> None:
    """``|got - want| <= abs + rel * |want|`` per value, neuron j compared before step cut[j]."""
    atol, rtol = TOLERANCE[kind]
    got = np.asarray(got, dtype=np.float64).reshape(got.shape[0], -1)
    want = np.asarray(want, dtype=np.float64).reshape(want.shape[0], -1)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, BrainPy {want.shape}"
    mask = np.ones(got.shape, dtype=bool)
    if cut is not None and len(cut) == got.shape[1]:
        mask = np.arange(got.shape[0])[:, None] < np.asarray(cut)[None, :]
    err = np.abs(got - want) - (atol + rtol * np.abs(want))
    err = np.where(mask, err, -np.inf)
    worst = np.unravel_index(np.argmax(err), err.shape)
    assert err[worst] <= 0, (
        f"{what}: step {worst[0]}, column {worst[1]}: {got[worst]!r} vs BrainPy {want[worst]!r} "
        f"(tolerance {atol} + {rtol} relative)"
    )
