"""The result of a run (``Network.run``) or of a ``spikegpu run`` output folder (``load``)."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence

import numpy as np

from . import _spikegpu as _native


class SpikeEvents(NamedTuple):
    """Spikes as events, in step order (like Brian2's ``SpikeMonitor``): ``t`` in ms
    (float32, ``f32(step) * f32(dt)`` as BrainPy's ``t``), ``i`` the neuron (int32, its index in
    the population), ``batch`` the batch row (int32; None when the run was not batched) and
    ``step`` the step (int32)."""

    t: np.ndarray
    i: np.ndarray
    batch: Optional[np.ndarray]
    step: np.ndarray


class _Monitor(NamedTuple):
    target: str
    kind: str  # "float32", "spike" (dense 0/1 flags, given as bool) or "events"
    every: int
    neurons: Optional[np.ndarray]  # the recorded neurons; None: all of them (a loaded folder)
    data: np.ndarray


class RunResult(Mapping[str, np.ndarray]):
    """Every monitor of a finished run, by name, as NumPy arrays.

    ``res["V"]`` is the array of monitor ``V``: float32 ``[rows, n]`` (or ``[rows, batch, n]``
    when batched) for continuous values, bool of the same shape for spike flags, and int32
    ``[k, 2]`` rows ``(step, neuron)`` (``[k, 3]``: ``(step, batch row, neuron)``) for a
    ``<population>.spike_events`` monitor; the same dtypes and shapes as the ``.npy`` files of
    ``spikegpu run`` (which stores spike flags as uint8: here they are viewed as bool, without a
    copy). A result is a read-only mapping: ``list(res)``, ``res.items()``, ``"V" in res``.

    Besides the monitors: ``t`` (the time of every step, ms), ``times(name)`` (of a monitor's
    rows), ``spike_events(name)`` (spikes with times in ms), ``summary`` (the dict
    ``summary.json`` holds), ``spike_counts``, ``backend``, ``wall_seconds``, ``notes``.
    """

    def __init__(self, monitors: Dict[str, _Monitor], summary: Dict[str, Any], notes: Sequence[str], dt: float, steps: int, batch: int):
        self._monitors = monitors
        self.summary: Dict[str, Any] = summary
        """What ``summary.json`` holds: backend, device, steps, dt_ms, batch, synapses,
        wall_seconds, steps_per_second, synapse_updates_per_second, spike_counts, rates_hz,
        monitors (name -> target), peak_memory_mib."""
        self.notes: List[str] = list(notes)
        """Notices about the run (why ``backend="auto"`` took the CPU, ...)."""
        self.dt = float(dt)
        """Time step, ms."""
        self.steps = int(steps)
        """Steps run."""
        self.batch = int(batch)
        """Batch copies run."""
        self._t: Optional[np.ndarray] = None

    @classmethod
    def _from_native(cls, raw: Dict[str, Any]) -> "RunResult":
        summary = json.loads(raw["summary"])
        monitors = {}
        for m in raw["monitors"]:
            data = m["data"]
            if m["kind"] == "spike":
                # the engines write 0 or 1: a bool view of the same bytes, no copy
                data = data.view(np.bool_)
            monitors[m["name"]] = _Monitor(m["target"], m["kind"], int(m["every"]), m["neurons"], data)
        return cls(monitors, summary, raw["notes"], raw["dt"], raw["steps"], summary.get("batch", 1))

    # the mapping
    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._monitors[name].data
        except KeyError:
            raise KeyError(f"no monitor {name!r} (monitors: {', '.join(self._monitors) or 'none'})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._monitors)

    def __len__(self) -> int:
        return len(self._monitors)

    def __getattr__(self, name: str) -> np.ndarray:
        # res.V for res["V"]; only reached when no attribute of that name exists
        monitors = self.__dict__.get("_monitors", {})
        if name in monitors:
            return monitors[name].data
        raise AttributeError(f"{type(self).__name__} has no attribute or monitor {name!r}")

    def __repr__(self) -> str:
        body = ", ".join(f"{k}: {v.data.dtype}{list(v.data.shape)}" for k, v in self._monitors.items())
        return f"RunResult({self.steps} steps of {self.dt} ms on {self.backend}; {body or 'no monitors'})"

    @property
    def targets(self) -> Dict[str, str]:
        """Monitor name -> target (``"post.V"``, ``"post.spike_events"``)."""
        return {k: v.target for k, v in self._monitors.items()}

    @property
    def backend(self) -> str:
        """``"cpu"`` or ``"gpu"``."""
        return str(self.summary.get("backend", "?"))

    @property
    def device(self) -> str:
        """The device that ran: the CPU (threads) or the GPU adapter's name."""
        return str(self.summary.get("device", "?"))

    @property
    def wall_seconds(self) -> float:
        """Seconds the engine ran (monitor readback included, setup not)."""
        return float(self.summary.get("wall_seconds", math.nan))

    @property
    def spike_counts(self) -> Dict[str, int]:
        """Spikes per population over the whole run (all batch rows together)."""
        return dict(self.summary.get("spike_counts", {}))

    @property
    def t(self) -> np.ndarray:
        """The time of every step in ms, float32 ``[steps]``: ``f32(i) * f32(dt)``, BrainPy's
        ``t`` (step 0 is at 0 ms; the values recorded at step i are the state after it). The
        x axis of every monitor that records every step; see ``times`` for the others."""
        if self._t is None:
            self._t = _native.step_times(self.steps, self.dt)
        return self._t

    def times(self, name: str) -> np.ndarray:
        """The time in ms of each recorded row of monitor ``name`` (steps 0, every, 2 every,
        ...), float32. For a spike-event monitor, the time of each event."""
        m = self._get(name)
        if m.kind == "events":
            return self.spike_events(name).t
        return _native.step_times(m.data.shape[0], self.dt, m.every)

    def every(self, name: str) -> int:
        """Steps between two recorded rows of monitor ``name``."""
        return self._get(name).every

    def neurons(self, name: str) -> np.ndarray:
        """The neuron index of each recorded column of monitor ``name``."""
        m = self._get(name)
        if m.neurons is not None:
            return m.neurons
        n = m.data.shape[-1] if m.kind != "events" else int(m.data[:, -1].max(initial=-1)) + 1
        return np.arange(n, dtype=np.uint32)

    def spike_events(self, name: str) -> SpikeEvents:
        """The spikes of monitor ``name`` (a ``.spike`` or ``.spike_events`` monitor) as events
        with times in ms: ``SpikeEvents(t, i, batch, step)``, in step order."""
        m = self._get(name)
        batched = self.batch > 1
        if m.kind == "events":
            d = m.data
            step = d[:, 0]
            row = d[:, 1] if batched else None
            neuron = d[:, -1]
        elif m.kind == "spike":
            nz = np.nonzero(m.data)
            step = (nz[0] * m.every).astype(np.int32)
            row = nz[1].astype(np.int32) if batched else None
            neuron = self.neurons(name)[nz[-1]].astype(np.int32)
        else:
            raise ValueError(f"monitor {name!r} records {m.target!r}, not spikes")
        t = self.t[step] if step.size else np.zeros(0, dtype=np.float32)
        return SpikeEvents(t, neuron, row, step)

    def _get(self, name: str) -> _Monitor:
        try:
            return self._monitors[name]
        except KeyError:
            raise KeyError(f"no monitor {name!r} (monitors: {', '.join(self._monitors) or 'none'})") from None


def load(path: "os.PathLike[str] | str", mmap: bool = False) -> RunResult:
    """Reads an output folder of ``spikegpu run NETWORK --out DIR`` (one ``.npy`` per monitor
    and ``summary.json``) into a ``RunResult``, the same object ``Network.run`` returns.

    With ``mmap=True`` the arrays are memory-mapped (``numpy.load(..., mmap_mode="r")``) rather
    than read. ``summary.json`` names each monitor's target but not its ``every`` or its neuron
    selection: ``every`` is taken as the smallest one that gives the file's row count, and the
    columns are numbered 0, 1, ... (for a monitor of a neuron subset, map them yourself).
    """
    path = os.fspath(path)
    summary_path = os.path.join(path, "summary.json")
    try:
        with open(summary_path) as f:
            summary = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{summary_path}: no summary.json (is {path!r} an output folder of `spikegpu run`?)") from None
    steps, dt, batch = int(summary["steps"]), float(summary["dt_ms"]), int(summary.get("batch", 1))
    monitors = {}
    for name, target in summary.get("monitors", {}).items():
        data = np.load(os.path.join(path, f"{name}.npy"), mmap_mode="r" if mmap else None)
        if str(target).endswith("_events"):
            kind, every = "events", 1
        else:
            kind = "spike" if data.dtype == np.uint8 else "float32"
            if kind == "spike":
                data = data.view(np.bool_)
            rows = data.shape[0]
            every = max(1, -(-steps // rows)) if rows else 1
        monitors[name] = _Monitor(str(target), kind, every, None, data)
    return RunResult(monitors, summary, [], dt, steps, batch)
