# Type stub of the native module spikegpu._spikegpu (python/src/*.rs). The docstrings are the
# Rust doc comments; `help(spikegpu.X)` shows them.
from os import PathLike
from typing import Any, Callable, Dict, List, Optional, Sequence, Type, TypeVar, Union

import numpy as np
import numpy.typing as npt

__version__: str

Number = Union[int, float, np.floating, np.integer]
Indices = Union[Sequence[int], npt.NDArray[np.integer]]
Numbers = Union[Sequence[float], npt.ArrayLike]
NeuronSelection = Union[None, str, slice, range, int, Indices]

class ResourceError(MemoryError):
    """The network needs more of a resource (a GPU buffer, device memory) than the device or the
    machine offers. A subclass of MemoryError."""

# -- synapse models -------------------------------------------------------------------------
class Synapse:
    """A synapse model (base class)."""
    @property
    def model(self) -> str: ...
    def params(self) -> Dict[str, Optional[float]]: ...
    def __getattr__(self, name: str) -> Optional[float]: ...

class AMPA(Synapse):
    def __init__(self, alpha: Optional[Number] = None, beta: Optional[Number] = None, T: Optional[Number] = None, T_dur: Optional[Number] = None) -> None: ...

class GABAa(Synapse):
    def __init__(self, alpha: Optional[Number] = None, beta: Optional[Number] = None, T: Optional[Number] = None, T_dur: Optional[Number] = None) -> None: ...

class Expon(Synapse):
    def __init__(self, tau: Optional[Number] = None) -> None: ...

class DualExpon(Synapse):
    def __init__(self, tau_decay: Optional[Number] = None, tau_rise: Optional[Number] = None, A: Optional[Number] = None) -> None: ...

class DualExponV2(Synapse):
    def __init__(self, tau_decay: Optional[Number] = None, tau_rise: Optional[Number] = None, A: Optional[Number] = None) -> None: ...

class Alpha(Synapse):
    def __init__(self, tau_decay: Optional[Number] = None) -> None: ...

class NMDA(Synapse):
    def __init__(self, a: Optional[Number] = None, tau_decay: Optional[Number] = None, tau_rise: Optional[Number] = None) -> None: ...

# -- outputs --------------------------------------------------------------------------------
class Output:
    """How a projection's conductance enters the post neuron (base class)."""
    @property
    def model(self) -> str: ...
    def params(self) -> Dict[str, Optional[float]]: ...
    def __getattr__(self, name: str) -> Optional[float]: ...

class COBA(Output):
    def __init__(self, E: Number) -> None: ...

class CUBA(Output):
    def __init__(self) -> None: ...

class MgBlock(Output):
    def __init__(
        self,
        E: Optional[Number] = None,
        cc_Mg: Optional[Number] = None,
        alpha: Optional[Number] = None,
        beta: Optional[Number] = None,
        V_offset: Optional[Number] = None,
    ) -> None: ...

# -- connectivity ---------------------------------------------------------------------------
class Connectivity:
    """How a projection connects pre (rows) to post (columns) (base class). A scipy.sparse
    matrix (rows = pre) is accepted wherever a Connectivity is."""

class FixedProb(Connectivity):
    def __init__(self, prob: Number, seed: int, include_self: bool = True) -> None: ...

class FixedTotalNumber(Connectivity):
    def __init__(self, n: int, seed: int) -> None: ...

class Normal:
    """Weights drawn per synapse from a normal distribution (pass as a projection's weight)."""
    def __init__(self, mean: Number, sd: Number, seed: int = 0, redraw_sign: bool = False) -> None: ...

class All2All(Connectivity):
    def __init__(self, include_self: bool = True) -> None: ...

class One2One(Connectivity):
    def __init__(self) -> None: ...

class CSRConn(Connectivity):
    def __init__(self, indices: Indices, indptr: Indices) -> None: ...

class IJConn(Connectivity):
    def __init__(self, i: Indices, j: Indices) -> None: ...

# -- handles --------------------------------------------------------------------------------
class Population:
    """A population of a Network; its attributes are monitor targets."""
    @property
    def name(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def model(self) -> str: ...
    @property
    def V(self) -> str: ...
    @property
    def spike(self) -> str: ...
    @property
    def spike_events(self) -> str: ...
    @property
    def current(self) -> str: ...
    @property
    def input(self) -> str: ...

class Projection:
    """A projection of a Network; its attributes are monitor targets."""
    @property
    def name(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def g(self) -> str: ...
    @property
    def current(self) -> str: ...
    @property
    def h(self) -> str: ...
    @property
    def x(self) -> str: ...
    @property
    def g_rise(self) -> str: ...
    @property
    def g_decay(self) -> str: ...

PopulationRef = Union[Population, str]
_N = TypeVar("_N", bound="Network")

# -- the network ----------------------------------------------------------------------------
class Network:
    """The native network; use spikegpu.Network (this plus run())."""
    def __init__(self, dt: float = 0.1, batch: int = 1, steps: Optional[int] = None) -> None: ...
    @classmethod
    def from_file(cls: Type[_N], path: Union[str, "PathLike[str]"]) -> _N: ...
    @classmethod
    def from_json(cls: Type[_N], text: str) -> _N: ...
    dt: float
    batch: int
    steps: Optional[int]
    @property
    def populations(self) -> List[Population]: ...
    @property
    def projections(self) -> List[Projection]: ...
    @property
    def monitors(self) -> Dict[str, str]: ...
    def spike_time_group(self, name: str, size: int, indices: Indices, times: Numbers, rows: Optional[Indices] = None) -> Population: ...
    def lif_ref(
        self,
        name: str,
        size: int,
        V_rest: Optional[Number] = None,
        V_th: Optional[Number] = None,
        V_reset: Optional[Number] = None,
        tau: Optional[Number] = None,
        tau_ref: Optional[Number] = None,
        R: Optional[Number] = None,
        V_init: Union[None, Number, Numbers] = None,
        I_ext: Union[None, Number, Numbers] = None,
    ) -> Population: ...
    def lif(
        self,
        name: str,
        size: int,
        V_rest: Optional[Number] = None,
        V_th: Optional[Number] = None,
        V_reset: Optional[Number] = None,
        tau: Optional[Number] = None,
        R: Optional[Number] = None,
        V_init: Union[None, Number, Numbers] = None,
        I_ext: Union[None, Number, Numbers] = None,
    ) -> Population: ...
    def poisson(self, name: str, size: int, freqs: Number, seed: int, per_row: bool = False) -> Population: ...
    def regular(self, name: str, size: int, period_steps: int, phase_offset: int = 0) -> Population: ...
    def I_ext(self, population: PopulationRef, current: Union[Number, Numbers]) -> None: ...
    def projection(
        self,
        pre: PopulationRef,
        post: PopulationRef,
        synapse: Synapse,
        conn: Any,
        weight: Union[None, Number, Numbers] = None,
        delay: Optional[Number] = None,
        output: Optional[Output] = None,
        align: str = "pre",
        name: Optional[str] = None,
    ) -> Projection: ...
    def poisson_input(
        self, target: str, num_input: int, freq: float, weight: float, seed: int = 0, law: str = "binomial", name: Optional[str] = None
    ) -> None: ...
    def monitor(self, name: str, target: str, neurons: NeuronSelection = None, every: int = 1) -> None: ...
    def validate(self, steps: Optional[int] = None) -> None: ...
    def to_json(self, steps: Optional[int] = None) -> str: ...
    def _run(
        self,
        steps: Optional[int] = None,
        backend: str = "auto",
        mode: str = "dense",
        chunk: int = 1000,
        callback: Optional[Callable[[int, int], object]] = None,
    ) -> Dict[str, Any]: ...

def step_times(rows: int, dt: float, every: int = 1) -> npt.NDArray[np.float32]: ...
