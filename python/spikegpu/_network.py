"""``spikegpu.Network``: the native network with ``run`` (progress bar, result object)."""

from __future__ import annotations

import sys
import time
from typing import Callable, Optional, Union

from . import _spikegpu as _native
from ._result import RunResult

ProgressArg = Union[None, bool, Callable[[int, int], object]]


class _LineProgress:
    """A plain progress line on stderr, for ``progress=True`` without tqdm: at most one line every
    five seconds after the first second, as ``spikegpu run`` prints to a log."""

    def __init__(self, total: int):
        self.total = total
        self.start = time.monotonic()
        self.last = None

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.start < 1.0 or (self.last is not None and now - self.last < 5.0 and done < total):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        print(f"spikegpu: {done}/{total} steps ({100.0 * done / max(total, 1):.0f}%, {rate:.0f} steps/s)", file=sys.stderr, flush=True)


def _progress(progress: ProgressArg, total: Optional[int]):
    """The per-chunk callback and the bar to close for a ``progress`` argument."""
    if progress is False or total is None:
        return None, None
    if callable(progress) and not isinstance(progress, bool):
        return progress, None
    if progress is not None and progress is not True:
        raise TypeError(f"progress must be None, True, False or a callable (done, total), got {progress!r}")
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return (_LineProgress(total) if progress is True else None), None
    # progress=None: show the bar only once the run has lasted a second (short runs stay quiet)
    bar = tqdm(total=total, unit="step", desc="spikegpu", delay=0.0 if progress is True else 1.0, leave=False)

    def update(done: int, _total: int) -> None:
        bar.update(done - bar.n)

    return update, bar


class Network(_native.Network):
    __doc__ = _native.Network.__doc__

    def run(
        self,
        steps: Optional[int] = None,
        backend: str = "auto",
        mode: str = "dense",
        *,
        chunk: int = 1000,
        progress: ProgressArg = None,
    ) -> RunResult:
        """Builds the network and runs it for ``steps`` steps; returns every monitor.

        Parameters
        ----------
        steps : int, optional
            Steps to run (``steps * dt`` ms). Default: the network's ``steps`` (a network read
            from a file has the file's).
        backend : {"auto", "cpu", "gpu"}
            ``"auto"``: a hardware GPU when one exists, else the CPU engine (a software GPU such
            as Mesa's lavapipe is slower than the CPU engine); ``"gpu"``: the GPU engine on any
            adapter, a software one included.
        mode : {"dense", "event"}
            How projections compute their conductance: ``"dense"`` (every synapse every step,
            BrainPy's arithmetic) or ``"event"`` (exact event-driven: only synapses of recently
            active pre neurons).
        chunk : int
            Steps per chunk: monitors are handed over, Ctrl-C is checked and the progress is
            updated once per chunk.
        progress : None, bool or callable
            ``None``: a tqdm bar (when tqdm is installed) once the run has lasted a second;
            ``True``: a bar from the start (a plain stderr line without tqdm); ``False``: none;
            a callable: called as ``progress(steps_done, steps_total)`` after every chunk.

        Returns
        -------
        RunResult
            A mapping of monitor names to NumPy arrays, with ``t`` (ms), ``times``,
            ``spike_events`` and ``summary``. The arrays own the engine's buffers: no copy is
            made when a run ends.

        Raises
        ------
        ValueError
            The network (or an argument) is invalid; the message starts with the field's path,
            e.g. ``projections[0] ("syn").weight: has 3 values, but the connectivity has 4
            synapses``.
        spikegpu.ResourceError
            The network needs more memory than the device offers (a ``MemoryError``).
        FloatingPointError
            A state became NaN or infinite (the message names the population and step).
        KeyboardInterrupt
            Ctrl-C, at the end of the chunk being run.
        RuntimeError
            No GPU adapter for ``backend="gpu"``, or a GPU error.

        The GIL is released while the engine runs; the progress callback and the Ctrl-C check
        take it back once per chunk.
        """
        total = steps if steps is not None else self.steps
        callback, bar = _progress(progress, total)
        try:
            raw = self._run(steps, backend, mode, chunk, callback)
        finally:
            if bar is not None:
                bar.close()
        return RunResult._from_native(raw)
