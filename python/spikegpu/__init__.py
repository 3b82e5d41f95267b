"""spikegpu: spiking neural networks with BrainPy's semantics, on the GPU (wgpu) or the CPU.

Build a network with BrainPy's vocabulary, run it, get NumPy arrays::

    import spikegpu as sg

    net = sg.Network(dt=0.1)
    pre = net.spike_time_group("pre", 1, indices=[0, 0, 0, 0], times=[10., 30., 50., 70.])
    post = net.lif_ref("post", 1, V_rest=-60., V_th=-50., V_reset=-60., tau=20., tau_ref=5., V_init=-60.)
    syn = net.projection(pre, post, synapse=sg.AMPA(), conn=sg.One2One(), weight=1.0,
                         output=sg.COBA(E=0.), name="syn")
    net.monitor("g", syn.g)
    net.monitor("V", post.V)
    res = net.run(1000)          # res["V"]: float32 [1000, 1]; res.t: ms

Also: ``sg.Network.from_file(path)`` (a network file, as ``spikegpu run`` reads it),
``net.to_json()``, ``sg.load(dir)`` (a ``spikegpu run --out DIR`` folder) and
``sg.from_brainpy(bp_net, monitors={...})`` (a BrainPy network run on spikegpu). See
docs/PYTHON.md.
"""

from ._spikegpu import (
    AMPA,
    COBA,
    CUBA,
    NMDA,
    All2All,
    Alpha,
    Connectivity,
    CSRConn,
    DualExpon,
    DualExponV2,
    Expon,
    FixedProb,
    FixedTotalNumber,
    GABAa,
    IJConn,
    MgBlock,
    Normal,
    One2One,
    Output,
    Population,
    Projection,
    ResourceError,
    Synapse,
    __version__,
    step_times,
)
from ._network import Network
from ._result import RunResult, SpikeEvents, load
from ._bridge import from_brainpy

__all__ = [
    "AMPA",
    "COBA",
    "CUBA",
    "NMDA",
    "All2All",
    "Alpha",
    "CSRConn",
    "Connectivity",
    "DualExpon",
    "DualExponV2",
    "Expon",
    "FixedProb",
    "FixedTotalNumber",
    "GABAa",
    "IJConn",
    "MgBlock",
    "Network",
    "Normal",
    "One2One",
    "Output",
    "Population",
    "Projection",
    "ResourceError",
    "RunResult",
    "SpikeEvents",
    "Synapse",
    "__version__",
    "from_brainpy",
    "load",
    "step_times",
]
