"""Crossbar periphery: DAC input quantisation and ADC output quantisation.

Both are uniform, symmetric, two's-complement-like quantisers with saturation:

* :class:`DAC` with ``bits = b`` drives ``2^(b-1) - 1`` positive and as many negative
  levels (sign-magnitude, zero included): ``x_q = clip(rint(x/lsb), -L, L) * lsb`` with
  ``L = 2^(b-1) - 1`` and ``lsb = range / L``. With ``range=None`` each input vector is
  first divided by its largest magnitude (the usual "abs-max" input scaling of analog
  accelerators) and the output multiplied back digitally, so the array always sees
  inputs in [-1, 1].
* :class:`ADC` with ``bits = b`` converts to the codes ``-2^(b-1) .. 2^(b-1) - 1`` of
  step ``lsb = 2 range / 2^b``: ``y_q = clip(rint(y/lsb), -2^(b-1), 2^(b-1) - 1) * lsb``;
  outputs beyond the range saturate at the end codes. ``range`` is in the units of the
  line the ADC converts (see :class:`~neuropcm.crossbar.Crossbar`); ``None`` picks the
  worst case ``max_line sum_j |M_line,j| * x_max`` at programming time, so nothing
  saturates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from . import _kernels as K


def _check_bits(bits, name, lo=1, hi=32):
    if bits is None:
        return None
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not lo <= bits <= hi:
        raise ParameterError(f"{name} = {bits!r} must be an integer in [{lo}, {hi}] or None "
                             f"(no quantisation)")
    return int(bits)


def _check_range(r, name):
    if r is None:
        return None
    try:
        v = float(r)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} = {r!r} must be a positive number or None") from None
    if not (math.isfinite(v) and v > 0):
        raise ParameterError(f"{name} = {r!r} must be a positive finite number or None")
    return v


@dataclass(frozen=True)
class DAC:
    """Input digital-to-analog converter.

    Parameters
    ----------
    bits : int or None
        Resolution (>= 2); None: inputs are not quantised.
    range : float or None
        Full scale: inputs are clipped to ``[-range, range]``. None: each input vector is
        scaled by its largest magnitude (abs-max scaling) and the output scaled back.
    """

    bits: int | None = None
    range: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "bits", _check_bits(self.bits, "dac_bits", lo=2))
        object.__setattr__(self, "range", _check_range(self.range, "dac_range"))

    @property
    def x_max(self) -> float:
        """Largest input magnitude the array sees (1 with abs-max scaling)."""
        return 1.0 if self.range is None else self.range

    def apply(self, X: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray | None]:
        """Quantise a 2-d input ``X`` (n, batch).

        Returns the array inputs (new array of ``dtype``) and the per-column factor
        to multiply the outputs by (None when no scaling happened).
        """
        scale = None
        if self.range is None:
            scale = np.max(np.abs(X), axis=0)
            scale[scale == 0] = 1.0
            Xs = np.asarray(X / scale, dtype=dtype)
        else:
            Xs = np.array(X, dtype=dtype, copy=True)
            if self.bits is None:
                np.clip(Xs, -self.range, self.range, out=Xs)
        if self.bits is not None:
            L = 2 ** (self.bits - 1) - 1
            lsb = np.array([self.x_max / L], dtype=dtype)
            K.pick("quantise", Xs.size)(Xs, lsb, -L, L)
        return Xs, scale


@dataclass(frozen=True)
class ADC:
    """Output analog-to-digital converter (one per output line).

    Parameters
    ----------
    bits : int or None
        Resolution; None: outputs are not quantised.
    range : float or None
        Full scale ``[-range, range)`` in line units; None: automatic worst case.
    """

    bits: int | None = None
    range: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "bits", _check_bits(self.bits, "adc_bits"))
        object.__setattr__(self, "range", _check_range(self.range, "adc_range"))

    @property
    def on(self) -> bool:
        return self.bits is not None

    def codes(self) -> tuple[int, int]:
        """Lowest and highest code."""
        h = 2 ** (self.bits - 1)
        return -h, h - 1

    def lsb(self, full_range: float) -> float:
        """Step of the ADC for a full scale ``full_range``."""
        return 2.0 * full_range / 2 ** self.bits

    def apply(self, Y: np.ndarray, full_range: float) -> np.ndarray:
        """Quantise ``Y`` (2-d, in place) with full scale ``full_range``; returns ``Y``."""
        lo, hi = self.codes()
        lsb = np.array([self.lsb(full_range)], dtype=Y.dtype)
        K.pick("quantise", Y.size)(Y, lsb, lo, hi)
        return Y
