"""The BrainPy bridge: ``from_brainpy(net, monitors)`` turns a real ``bp.DynSysGroup`` into a
``spikegpu.Network`` that computes the same thing, reading BrainPy's own arrays (the
connectivity ``comm.indices``/``comm.indptr`` BrainPy drew, the weights, the initial V) from the
objects.

What it supports, and the assumption it makes about ``update()``, are in ``from_brainpy``'s
docstring and docs/PYTHON.md. Every other node is refused with a ValueError naming it.
"""

from __future__ import annotations

import math
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from ._network import Network
from . import _spikegpu as _native

SUPPORTED = (
    "neurons: bp.dyn.SpikeTimeGroup, bp.dyn.LifRef, bp.dyn.Lif (exponential Euler, no noise, "
    "NonBatching or Batching mode); projections: bp.dyn.ProjAlignPreMg2 with bp.dnn.CSRLinear "
    "and bp.dyn.AMPA, GABAa, Expon, DualExpon, DualExponV2, Alpha or NMDA; bp.dyn.ProjAlignPostMg2 "
    "with bp.dnn.EventCSRLinear or CSRLinear and bp.dyn.Expon or DualExponV2; outputs bp.dyn.COBA, "
    "CUBA, MgBlock; any delay; connectivity any bp.conn connector (its drawn CSR is read); "
    "containers: bp.DynSysGroup and your own bp.Projection / bp.DynSysGroup subclasses"
)

_POP_VARS = ("V", "spike", "spike_events", "current", "input")
_PROJ_VARS = ("g", "current", "h", "x", "g_rise", "g_decay")


def _refuse(path: str, node: Any, why: str) -> ValueError:
    return ValueError(f"{path} ({type(node).__module__}.{type(node).__qualname__}): {why}. The bridge supports {SUPPORTED}.")


def _scalar(value: Any, where: str) -> float:
    """One number from a BrainPy parameter (a Python float, a 0-d array, or an array whose
    values are all equal)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hasattr(value, "value") and not isinstance(value, np.ndarray):
        value = value.value  # a bm.Variable
    a = np.asarray(value)
    if a.size == 0:
        raise ValueError(f"{where}: is empty")
    flat = a.reshape(-1)
    if not np.all(flat == flat[0]):
        raise ValueError(f"{where}: has different values per neuron; spikegpu's parameters are one number per population")
    return float(flat[0])


def _array(value: Any) -> np.ndarray:
    if hasattr(value, "value") and not isinstance(value, np.ndarray):
        value = value.value
    return np.asarray(value)


def _delay_ms(steps: Optional[int], dt: float) -> Optional[float]:
    """A delay in ms that BrainPy and spikegpu both turn into ``steps`` ring slots
    (``ceil(delay / dt)`` in f64). BrainPy keeps only the slots, so take ``steps * dt`` and move
    it by an ulp until the ceiling agrees (``3 * 0.1`` is 0.30000000000000004, whose ceiling is
    4; 0.3 gives 3)."""
    if not steps:
        return None
    d = steps * dt
    while math.ceil(d / dt) > steps:
        d = math.nextafter(d, 0.0)
    while math.ceil(d / dt) < steps:
        d = math.nextafter(d, math.inf)
    return d


class _Walk:
    """One conversion: BrainPy's nodes by relative path, what each became, and the spikegpu
    network being built."""

    def __init__(self, bp: Any, root: Any):
        self.bp = bp
        self.bm = bp.math
        self.root = root
        self.dt = float(self.bm.get_dt())
        self.pops: Dict[int, str] = {}  # id(node) -> spikegpu population name
        self.pop_nodes: Dict[str, Any] = {}
        self.projs: Dict[int, str] = {}  # id(projection node) -> spikegpu projection name
        self.syn_owner: Dict[int, str] = {}  # id(synapse state) -> first projection using it
        self.syn_objects: Dict[int, Any] = {}
        self.containers: Dict[int, List[str]] = {}  # id(container) -> projections inside
        self.accounted: set = set()
        self.batch = 1

    # -- modes and batch ---------------------------------------------------------------
    def mode_batch(self, path: str, node: Any) -> int:
        bm = self.bm
        mode = getattr(node, "mode", None)
        if isinstance(mode, bm.TrainingMode):
            raise _refuse(path, node, "TrainingMode is not supported (spikegpu runs the non-training arithmetic)")
        if isinstance(mode, bm.BatchingMode):
            return int(mode.batch_size)
        return 1

    def check_integrator(self, path: str, node: Any) -> None:
        integral = getattr(node, "integral", None)
        if integral is not None and type(integral).__name__ != "ExponentialEuler":
            raise _refuse(path, node, f"its integrator is {type(integral).__name__}; spikegpu computes exponential Euler (method='exp_auto')")

    # -- populations -------------------------------------------------------------------
    def population(self, net: Network, path: str, node: Any, i_ext: Mapping[str, Any]) -> None:
        bp = self.bp
        name = path
        b = self.mode_batch(path, node)
        self.batch = max(self.batch, b)
        if type(node) is bp.dyn.SpikeTimeGroup:
            if i_ext.get(path) is not None:
                raise ValueError(f"I_ext.{path}: {path} is a spike source; I_ext drives LIF populations")
            if int(_array(node.i)) != 0:
                raise _refuse(path, node, "it has already run (its spike pointer is not 0): convert before running BrainPy, or call reset_state()")
            times = _array(node.times).astype(np.float32, copy=False)
            indices = _array(node.indices)
            if times.size > 1 and np.any(np.diff(times) < 0):
                raise _refuse(path, node, "its times are not sorted (need_sort=False): BrainPy would stop at the first time out of order")
            net.spike_time_group(name, int(node.num), indices=indices, times=times)
        else:
            if getattr(node, "noise", None) is not None:
                raise _refuse(path, node, "noise is not supported")
            self.check_integrator(path, node)
            t_last = getattr(node, "t_last_spike", None)
            if t_last is not None and not np.all(_array(t_last) == np.float32(-1e7)):
                raise _refuse(path, node, "it has already run (t_last_spike is not -1e7): convert before running BrainPy, or call reset_state()")
            v = _array(node.V).astype(np.float32, copy=False)
            v_init: Any = float(v.reshape(-1)[0]) if v.size and np.all(v == v.reshape(-1)[0]) else v
            params = dict(
                V_rest=_scalar(node.V_rest, f"{path}.V_rest"),
                V_th=_scalar(node.V_th, f"{path}.V_th"),
                V_reset=_scalar(node.V_reset, f"{path}.V_reset"),
                tau=_scalar(node.tau, f"{path}.tau"),
                R=_scalar(node.R, f"{path}.R"),
                V_init=v_init,
                I_ext=i_ext.get(path),
            )
            if type(node) is bp.dyn.LifRef:
                net.lif_ref(name, int(node.num), tau_ref=_scalar(node.tau_ref, f"{path}.tau_ref"), **params)
            else:
                net.lif(name, int(node.num), **params)
            self.accounted.add(id(node.integral))
        self.pops[id(node)] = name
        self.pop_nodes[name] = node

    # -- projections -------------------------------------------------------------------
    def synapse(self, path: str, syn: Any, align: str) -> Any:
        bp, sg = self.bp, _native
        where = f"{path}.refs['syn']"
        self.check_integrator(where, syn)
        t = type(syn)
        p = lambda attr: _scalar(getattr(syn, attr), f"{where}.{attr}")  # noqa: E731
        if align == "post" and t not in (bp.dyn.Expon, bp.dyn.DualExponV2):
            raise _refuse(where, syn, "ProjAlignPostMg2 takes Expon or DualExponV2 only (BrainPy's rule)")
        if t is bp.dyn.AMPA:
            return sg.AMPA(alpha=p("alpha"), beta=p("beta"), T=p("T"), T_dur=p("T_duration"))
        if t is bp.dyn.GABAa:
            return sg.GABAa(alpha=p("alpha"), beta=p("beta"), T=p("T"), T_dur=p("T_duration"))
        if t is bp.dyn.Expon:
            return sg.Expon(tau=p("tau"))
        if t is bp.dyn.Alpha:
            return sg.Alpha(tau_decay=p("tau_decay"))
        if t is bp.dyn.NMDA:
            return sg.NMDA(a=p("a"), tau_decay=p("tau_decay"), tau_rise=p("tau_rise"))
        if t is bp.dyn.DualExponV2:
            # BrainPy keeps A itself (given, or its peak normaliser) as `a`: hand it over as is
            return sg.DualExponV2(tau_decay=p("tau_decay"), tau_rise=p("tau_rise"), A=p("a"))
        if t is bp.dyn.DualExpon:
            td, tr, a = p("tau_decay"), p("tau_rise"), p("a")
            # BrainPy keeps only `a`, computed from A or from its peak normaliser (A=None): find
            # which with BrainPy's own function, and otherwise invert `a = (td - tr)/tr/td * A`
            from brainpy.dyn.synapses.abstract_models import _dual_exp_a

            if np.float32(_scalar(_dual_exp_a(syn, None), where + ".a")) == np.float32(a):
                return sg.DualExpon(tau_decay=td, tau_rise=tr, A=None)
            return sg.DualExpon(tau_decay=td, tau_rise=tr, A=a * tr * td / (td - tr))
        raise _refuse(where, syn, "this synapse model is not supported")

    def output(self, path: str, out: Any) -> Any:
        bp, sg = self.bp, _native
        where = f"{path}.refs['out']"
        t = type(out)
        if t is bp.dyn.COBA:
            return sg.COBA(E=_scalar(out.E, where + ".E"))
        if t is bp.dyn.CUBA:
            return sg.CUBA()
        if t is bp.dyn.MgBlock:
            p = lambda attr: _scalar(getattr(out, attr), f"{where}.{attr}")  # noqa: E731
            return sg.MgBlock(E=p("E"), cc_Mg=p("cc_Mg"), alpha=p("alpha"), beta=p("beta"), V_offset=p("V_offset"))
        raise _refuse(where, out, "this output is not supported")

    def projection(self, net: Network, path: str, node: Any) -> None:
        """Adds projection `node`."""
        bp = self.bp
        align = "pre" if isinstance(node, bp.dyn.ProjAlignPreMg2) else "post"
        self.mode_batch(path, node)
        refs = node.refs
        pre, post = refs["pre"], refs["post"]
        if id(pre) not in self.pops:
            raise _refuse(path, node, f"its pre ({type(pre).__qualname__} {getattr(pre, 'name', '?')}) is not a population of this network")
        if id(post) not in self.pops or type(post) is bp.dyn.SpikeTimeGroup:
            raise _refuse(path, node, f"its post ({type(post).__qualname__} {getattr(post, 'name', '?')}) is not a LIF population of this network")
        comm = refs["comm"]
        allowed = (bp.dnn.CSRLinear,) if align == "pre" else (bp.dnn.EventCSRLinear, bp.dnn.CSRLinear)
        if type(comm) not in allowed:
            # EventCSRLinear on a pre-aligned state would treat every nonzero g as a spike of weight w
            raise _refuse(f"{path}.comm", comm, f"ProjAlignPre{'Mg2' if align == 'pre' else ''} needs " + " or ".join(c.__name__ for c in allowed))
        if not getattr(comm, "transpose", True):
            raise _refuse(f"{path}.comm", comm, "transpose=False is not supported (rows must be pre)")
        indices, indptr = _array(comm.indices), _array(comm.indptr)
        weight: Any = comm.weight
        weight = float(weight) if isinstance(weight, (int, float)) else _array(weight).astype(np.float32, copy=False).reshape(-1)
        if isinstance(weight, np.ndarray) and weight.size == 1 and indices.size != 1:
            weight = float(weight[0])
        syn = refs["syn"]
        synapse = self.synapse(path, syn, align)
        output = self.output(path, refs["out"])
        delay_obj = refs["delay"]
        steps = getattr(delay_obj, "_registered_entries", {}).get(node.name)
        net.projection(
            self.pops[id(pre)],
            self.pops[id(post)],
            synapse=synapse,
            conn=_native.CSRConn(indices, indptr),
            weight=weight,
            delay=_delay_ms(steps, self.dt),
            output=output,
            align=align,
            name=path,
        )
        self.projs[id(node)] = path
        self.syn_owner.setdefault(id(syn), path)
        self.syn_objects[id(syn)] = syn
        for part in (comm, syn, refs["out"], delay_obj, getattr(syn, "integral", None)):
            if part is not None:
                self.accounted.add(id(part))
        # the helpers that run the synapse and the delay, hung on the pre or the post
        for hooks in (pre.after_updates, post.before_updates):
            for h in hooks.values():
                if getattr(h, "syn", None) is syn or getattr(h, "out", None) is refs["out"] or h is delay_obj:
                    self.accounted.add(id(h))
                    if getattr(h, "delay", None) is not None:
                        self.accounted.add(id(h.delay))


def from_brainpy(
    net: Any,
    monitors: Optional[Mapping[str, Any]] = None,
    *,
    I_ext: Optional[Mapping[str, Any]] = None,
) -> Network:
    """Builds the spikegpu network that computes what the BrainPy network ``net`` computes.

    ``net`` is a ``bp.DynSysGroup`` (or any BrainPy dynamical system) made of supported nodes:
    ``SpikeTimeGroup``, ``LifRef``, ``Lif``; ``ProjAlignPreMg2`` with ``CSRLinear`` and AMPA,
    GABAa, Expon, DualExpon, DualExponV2, Alpha or NMDA; ``ProjAlignPostMg2`` with
    ``EventCSRLinear`` (or ``CSRLinear``) and Expon or DualExponV2; ``COBA``, ``CUBA``,
    ``MgBlock``; any delay; your own ``bp.Projection``/``bp.DynSysGroup`` subclasses as
    containers. Whatever else it holds is refused with a ValueError naming the node.

    The arrays are read from the objects: the CSR connectivity BrainPy drew (``comm.indices``,
    ``comm.indptr``; BrainPy's ``FixedProb`` stream cannot be reproduced otherwise), the weights,
    the initial V and the spike times. Convert before running BrainPy (a node that has run is
    refused), and run spikegpu for as many steps as BrainPy.

    ``monitors`` maps output names to BrainPy attribute paths from ``net``, as ``update()``
    would write them without ``self.``: ``"post.V"``, ``"post.spike"``,
    ``"syn.proj.refs['syn'].g"`` (the synapse state a projection hands on), ``"syn.proj.g"``
    (the same), ``"syn.g"`` (a container holding one projection), ``h``, ``x``, ``g_rise``,
    ``g_decay``. Two names that are not BrainPy attributes: ``"post.current"`` (BrainPy's docs'
    ``post.sum_current_inputs(post.V)``) and ``"post.input"`` (the current that drove the step,
    with the old V); also ``"post.spike_events"``. A value may also be a BrainPy variable
    (``net.post.V``), or a dict ``{"target": ..., "neurons": ..., "every": ...}``.

    ``I_ext`` gives the constant inputs the ``update()`` passes on (``self.E(inp)`` with
    ``step_run(i, 20.)``): ``{"E": 20.}``, by population path.

    spikegpu runs each step as BrainPy's docs examples do: spike sources, then projections, then
    LIF populations. A group that keeps ``DynSysGroup``'s default ``update()`` while a spike
    source feeds a projection runs the projections first (the input arrives a step later), and
    is refused; an ``update()`` of your own is taken to call sources, projections and
    populations in that order.

    The populations and projections keep their paths as names (``"post"``, ``"syn.proj"``).
    """
    try:
        import brainpy as bp
    except ImportError as e:  # pragma: no cover - exercised where BrainPy is missing
        raise ImportError("from_brainpy needs BrainPy (pip install brainpy)") from e
    w = _Walk(bp, net)
    i_ext = dict(I_ext or {})
    nodes = net.nodes(method="relative", level=-1, include_self=False)
    out = Network(dt=w.dt)

    neuron_types = (bp.dyn.SpikeTimeGroup, bp.dyn.LifRef, bp.dyn.Lif)
    proj_types = (bp.dyn.ProjAlignPreMg2, bp.dyn.ProjAlignPostMg2)
    items = [(str(p), n) for p, n in nodes.items()]
    for path, node in items:
        if type(node) in neuron_types:
            w.population(out, path, node, i_ext)
    unknown = set(i_ext) - set(w.pop_nodes)
    if unknown:
        raise ValueError(f"I_ext: unknown population(s) {sorted(unknown)} (populations: {', '.join(w.pop_nodes)})")
    projs = [(path, node) for path, node in items if type(node) in proj_types]
    # BrainPy sums a population's inputs in registration order, spikegpu in projection order:
    # order the projections by their place among their post's current inputs
    keyed = []
    for k, (path, node) in enumerate(projs):
        outs = list(getattr(node.refs["post"], "current_inputs", {}).values())
        order = next((j for j, o in enumerate(outs) if o is node.refs["out"]), len(outs))
        keyed.append((order, k, path, node))
    for _, _, path, node in sorted(keyed, key=lambda x: (x[0], x[1])):
        w.projection(out, path, node)

    # everything else must be a container or a part of what was converted
    for path, node in items:
        if id(node) in w.pops or id(node) in w.projs or id(node) in w.accounted:
            continue
        t = type(node)
        if isinstance(node, bp.integrators.Integrator) or type(node).__name__ in ("_AlignPre", "_AlignPost", "_AlignPreMg"):
            continue
        if _is_container(bp, node):
            w.containers[id(node)] = [w.projs[id(n)] for p2, n in items if p2.startswith(path + ".") and id(n) in w.projs]
            continue
        if isinstance(node, (bp.dyn.SynDyn, bp.dyn.SynOut, bp.delay.Delay, bp.dnn.CSRLinear, bp.dnn.EventCSRLinear)):
            raise _refuse(path, node, "it is not part of a supported projection of this network")
        raise _refuse(path, node, "this node is not supported")
    if id(net) not in w.containers and _is_container(bp, net):
        w.containers[id(net)] = list(w.projs.values())
    w.mode_batch("net", net)
    out.batch = w.batch

    # the default update() runs projections before the spike sources
    if type(net).update is bp.DynSysGroup.update:
        fed = [w.pops[id(n.refs["pre"])] for p, n in projs if type(n.refs["pre"]) is bp.dyn.SpikeTimeGroup]
        if fed:
            raise ValueError(
                f"{type(net).__qualname__} keeps DynSysGroup's default update(), which runs every projection before the spike "
                f"source(s) {sorted(set(fed))}: their input would arrive one step later than spikegpu delivers it. Override "
                "update() to call the sources, then the projections, then the LIF populations, as BrainPy's docs examples do"
            )

    for name, spec in (monitors or {}).items():
        neurons, every = None, 1
        if isinstance(spec, Mapping):
            neurons, every = spec.get("neurons"), int(spec.get("every", 1))
            spec = spec["target"]
        out.monitor(name, _target(w, name, spec), neurons=neurons, every=every)
    return out


def _is_container(bp: Any, node: Any) -> bool:
    """A group that only holds other nodes: bp.DynSysGroup itself, or a user's own subclass of
    bp.DynSysGroup or bp.Projection (BrainPy's own projection classes are models, not
    containers)."""
    if type(node) in (bp.DynSysGroup, bp.Network):
        return True
    own = not type(node).__module__.startswith(("brainpy", "brainstate"))
    return own and isinstance(node, (bp.DynSysGroup, bp.Projection))


_TOKEN = re.compile(r"\s*(?:\.?([A-Za-z_]\w*)|\[\s*(?:'([^']*)'|\"([^\"]*)\"|(-?\d+))\s*\])")


def _target(w: _Walk, name: str, spec: Any) -> str:
    """The spikegpu monitor target of a BrainPy attribute path (or variable)."""
    if not isinstance(spec, str):
        # a BrainPy variable: find its owner by identity
        for pname, node in w.pop_nodes.items():
            for var in ("V", "spike"):
                if getattr(node, var, None) is spec:
                    return f"{pname}.{var}"
        for syn_id, proj in w.syn_owner.items():
            syn = w.syn_objects[syn_id]
            for var in ("g", "h", "x", "g_rise", "g_decay"):
                if getattr(syn, var, None) is spec:
                    return f"{proj}.{var}"
        raise ValueError(f"monitors.{name}: {type(spec).__qualname__} is not a variable of a converted population or synapse")
    tokens = []
    pos = 0
    while pos < len(spec):
        m = _TOKEN.match(spec, pos)
        if not m or m.end() == pos:
            raise ValueError(f"monitors.{name}: cannot read {spec!r} at position {pos} (write paths as update() would, e.g. \"post.V\" or \"syn.proj.refs['syn'].g\")")
        tokens.append(m.group(1) if m.group(1) is not None else (m.group(2) if m.group(2) is not None else (m.group(3) if m.group(3) is not None else int(m.group(4)))))
        pos = m.end()
    if len(tokens) < 2 or not isinstance(tokens[-1], str):
        raise ValueError(f"monitors.{name}: {spec!r} must end in a variable (\".V\", \".g\", ...)")
    if tokens[0] == "self":
        tokens = tokens[1:]
    obj = w.root
    walked = "net"
    for t in tokens[:-1]:
        try:
            obj = obj[t] if isinstance(t, int) or isinstance(obj, Mapping) else getattr(obj, t)
        except (AttributeError, KeyError, IndexError, TypeError):
            raise ValueError(f"monitors.{name}: {spec!r}: {walked} has no {t!r}") from None
        walked = f"{walked}.{t}" if isinstance(t, str) else f"{walked}[{t}]"
    var = tokens[-1]
    if id(obj) in w.pops:
        if var not in _POP_VARS or (var in ("V", "current", "input") and type(obj) is w.bp.dyn.SpikeTimeGroup):
            raise ValueError(f"monitors.{name}: {spec!r}: a population records {', '.join(_POP_VARS)} (a spike source: spike, spike_events)")
        return f"{w.pops[id(obj)]}.{var}"
    proj = w.projs.get(id(obj)) or w.syn_owner.get(id(obj))
    if proj is None and id(obj) in w.containers and len(w.containers[id(obj)]) == 1:
        proj = w.containers[id(obj)][0]
    if proj is not None:
        if var not in _PROJ_VARS:
            raise ValueError(f"monitors.{name}: {spec!r}: a projection or synapse records {', '.join(_PROJ_VARS)}")
        return f"{proj}.{var}"
    if id(obj) in w.containers:
        raise ValueError(f"monitors.{name}: {spec!r}: {walked} holds {len(w.containers[id(obj)])} projections; name one of them")
    raise ValueError(f"monitors.{name}: {spec!r}: {walked} ({type(obj).__qualname__}) is not a converted population, projection or synapse")

