"""The SNN's synapse layout as data, and a crossbar over a trained network's devices.

The clustering network stores its synapses flat: index ``k = input * n_out + neuron``
(Brian2's all-to-all order), so the weight matrix is ``W[neuron, input] = w_scale
(G+ - G-)[k]``. Read as row-major ``(n_in, n_out)``, the flat arrays are ``W^T``: the
crossbar built over them holds ``W^T`` (rows = inputs), and the network's input
currents ``W r`` are its transposed read ``xb.H @ r``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, SchemaError, ShapeError
from .. import checks as chk

_LAYOUT = re.compile(r"^flat synapse order k = input \* (\d+) \+ neuron$")


@dataclass(frozen=True)
class SynapseLayout:
    """Flat all-to-all synapse order ``k = input * n_out + neuron`` (``n_in``, ``n_out``
    whole numbers >= 1)."""

    n_in: int
    n_out: int

    def __post_init__(self):
        for name in ("n_in", "n_out"):
            object.__setattr__(self, name, chk.count(getattr(self, name), name, lo=1))

    def index(self, neuron, inp):
        """Flat index of synapse (neuron, input): whole numbers in ``0..n_out-1`` and
        ``0..n_in-1`` (an index out of range would alias another synapse: refused)."""
        out = []
        for name, v, n in (("neuron", neuron, self.n_out), ("inp", inp, self.n_in)):
            a = chk.whole_numbers(chk.numeric(v, name, kinds="iuf"), name, "index")
            if a.size and (a.min() < 0 or a.max() >= n):
                bad = int(a.min()) if a.min() < 0 else int(a.max())
                raise ParameterError(f"{name} = {bad} is outside 0..{n - 1} of {self}")
            out.append(a)
        return out[1] * self.n_out + out[0]

    def describe(self) -> str:
        """The layout string written to files."""
        return f"flat synapse order k = input * {self.n_out} + neuron"


def parse_layout(text: str, size: int) -> SynapseLayout:
    """Parse and check a file's layout attribute against the arrays' size.

    Raises
    ------
    SchemaError
        An unknown layout, or one that does not divide ``size``.
    ParameterError
        ``size`` is not a whole number >= 1.
    """
    size = chk.count(size, "size", lo=1)
    m = _LAYOUT.match(str(text).strip())
    if not m:
        raise SchemaError(f"layout {text!r} is not 'flat synapse order k = input * N + "
                          f"neuron'; this file's synapse order is unknown")
    n_out = int(m.group(1))
    if n_out < 1 or size % n_out:
        raise SchemaError(f"layout {text!r} does not fit {size} synapses")
    return SynapseLayout(size // n_out, n_out)


def flat_to_matrix(values, layout: SynapseLayout) -> np.ndarray:
    """Flat per-synapse values (1-d, ``n_in * n_out``) -> matrix (n_out, n_in),
    ``M[neuron, input] = v[k]``; the values are not converted or checked."""
    _check_layout(layout)
    v = np.asarray(values)
    if v.ndim != 1 or v.size != layout.n_in * layout.n_out:
        raise ShapeError(f"values have shape {v.shape}; the layout {layout} needs the flat "
                         f"array ({layout.n_in * layout.n_out},)")
    return v.reshape(layout.n_in, layout.n_out).T


def crossbar_from_synapses(plus, minus, w_scale: float, layout: SynapseLayout, seed=None,
                           **options):
    """A crossbar holding ``W^T`` (n_in, n_out) over the SNN's very device arrays
    (:meth:`Crossbar.from_devices`); ``xb.H @ r`` is the network's ``W r``."""
    from ..crossbar import Crossbar

    _check_layout(layout)
    return Crossbar.from_devices(plus, minus, w_scale, shape=(layout.n_in, layout.n_out),
                                 seed=seed, **options)


def rate_scores(currents, theta, tau_m: float, v_thresh: float) -> np.ndarray:
    """Rate model of the WTA layer: ``tau_m (W r)_j - (v_thresh + theta_j)`` (V).

    ``W r`` (V/s; each input spike adds its weight to ``v``) drives a leaky membrane to
    the mean ``tau_m W r``; the neuron whose mean exceeds its threshold ``v_thresh +
    theta`` most fires first and inhibits the rest. ``currents`` is (examples, n_out) or
    (n_out, examples) with ``theta`` (n_out,); returns (examples, n_out). Each argument
    may be a Brian2 quantity (V/s, V, s, V) or plain SI numbers.

    Raises
    ------
    ShapeError
        ``currents`` and ``theta`` do not fit.
    ParameterError
        NaN/Inf entries, ``tau_m <= 0``.
    UnitError
        A quantity in the wrong unit.
    """
    c = chk.real(currents, "currents", "V/s", what="current")
    th = chk.real(theta, "theta", "V", what="threshold")
    tau_m = chk.scalar(tau_m, "tau_m", "s", sign="positive")
    v_thresh = chk.scalar(v_thresh, "v_thresh", "V")
    if th.ndim != 1 or c.ndim != 2 or th.size not in c.shape:
        raise ShapeError(f"currents {c.shape} and theta {th.shape} do not fit: give currents "
                         f"(examples, n_out) or (n_out, examples) with theta (n_out,)")
    if c.shape[1] != th.size:
        c = c.T
    return tau_m * c - (v_thresh + th)[None, :]


def _check_layout(layout) -> None:
    if not isinstance(layout, SynapseLayout):
        raise ParameterError(f"layout is a {type(layout).__name__}, not a SynapseLayout; "
                             f"give SynapseLayout(n_in, n_out) or parse_layout(text, size)")
