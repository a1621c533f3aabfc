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

from ..errors import SchemaError, ShapeError

_LAYOUT = re.compile(r"^flat synapse order k = input \* (\d+) \+ neuron$")


@dataclass(frozen=True)
class SynapseLayout:
    """Flat all-to-all synapse order ``k = input * n_out + neuron``."""

    n_in: int
    n_out: int

    def index(self, neuron, inp):
        """Flat index of synapse (neuron, input)."""
        return np.asarray(inp) * self.n_out + np.asarray(neuron)

    def describe(self) -> str:
        """The layout string written to files."""
        return f"flat synapse order k = input * {self.n_out} + neuron"


def parse_layout(text: str, size: int) -> SynapseLayout:
    """Parse and check a file's layout attribute against the arrays' size.

    Raises
    ------
    SchemaError
        An unknown layout, or one that does not divide ``size``.
    """
    m = _LAYOUT.match(str(text).strip())
    if not m:
        raise SchemaError(f"layout {text!r} is not 'flat synapse order k = input * N + "
                          f"neuron'; this file's synapse order is unknown")
    n_out = int(m.group(1))
    if n_out < 1 or size % n_out:
        raise SchemaError(f"layout {text!r} does not fit {size} synapses")
    return SynapseLayout(size // n_out, n_out)


def flat_to_matrix(values, layout: SynapseLayout) -> np.ndarray:
    """Flat per-synapse values -> matrix (n_out, n_in), ``M[neuron, input] = v[k]``."""
    v = np.asarray(values)
    if v.size != layout.n_in * layout.n_out:
        raise ShapeError(f"{v.size} values do not fit the layout {layout}")
    return v.reshape(layout.n_in, layout.n_out).T


def crossbar_from_synapses(plus, minus, w_scale: float, layout: SynapseLayout, seed=None,
                           **options):
    """A crossbar holding ``W^T`` (n_in, n_out) over the SNN's very device arrays
    (:meth:`Crossbar.from_devices`); ``xb.H @ r`` is the network's ``W r``."""
    from ..crossbar import Crossbar

    return Crossbar.from_devices(plus, minus, w_scale, shape=(layout.n_in, layout.n_out),
                                 seed=seed, **options)


def rate_scores(currents, theta, tau_m: float, v_thresh: float) -> np.ndarray:
    """Rate model of the WTA layer: ``tau_m (W r)_j - (v_thresh + theta_j)`` (V).

    ``W r`` (V/s; each input spike adds its weight to ``v``) drives a leaky membrane to
    the mean ``tau_m W r``; the neuron whose mean exceeds its threshold ``v_thresh +
    theta`` most fires first and inhibits the rest. ``currents`` is (examples, n_out) or
    (n_out, examples) with ``theta`` (n_out,); returns (examples, n_out).
    """
    c = np.asarray(currents, dtype=float)
    th = np.asarray(theta, dtype=float)
    if c.ndim == 2 and c.shape[1] != th.size and c.shape[0] == th.size:
        c = c.T
    return tau_m * c - (v_thresh + th)[None, :]
