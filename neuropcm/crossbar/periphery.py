"""Crossbar periphery: DAC input quantisation and ADC output quantisation.

Both are uniform, symmetric, two's-complement-like quantisers with saturation:

* :class:`DAC` with ``bits = b`` drives ``2^(b-1) - 1`` positive and as many negative
  levels (sign-magnitude, zero included): ``x_q = clip(rint(x/lsb), -L, L) * lsb`` with
  ``L = 2^(b-1) - 1`` and ``lsb = range / L``. With ``range=None`` each input vector is
  first divided by its largest magnitude (the usual "abs-max" input scaling of analog
  accelerators) and the output multiplied back digitally, so the array always sees
  inputs in [-1, 1] and nothing clips; with a fixed ``range`` larger inputs clip.
* :class:`ADC` with ``bits = b`` converts to the codes ``-2^(b-1) .. 2^(b-1) - 1`` of
  step ``lsb = 2 range / 2^b``: ``y_q = clip(rint(y/lsb), -2^(b-1), 2^(b-1) - 1) * lsb``;
  outputs beyond the range saturate at the end codes. ``range`` is in the units of the
  line the ADC converts (see :class:`~neuropcm.crossbar.Crossbar`). ``range=None`` sets
  it so that the worst case of the *mean* line output,
  ``max_line sum_j |M_line,j| * x_max``, is the top code (:func:`worst_case_ranges`),
  when it is set. That range is not a guarantee: read noise can carry an output past it
  at the worst-case inputs, temperature can raise the conductances, and writes
  (updates, refresh) change the weights. When it is set is the ADC *policy*:
  ``"fixed"`` (default) sets it when the matrix is programmed and keeps it;
  ``"calibrate"`` sets it again after every write, before the next read (a calibration
  of the periphery against the stored devices); :meth:`Crossbar.calibrate_adc` re-ranges
  on demand. A user-given ``range`` is fixed.

Integral nonlinearity (INL, :func:`inl_deviation`; off by default): with ``inl_lsb = k``
the DAC's analog level of a code is moved by ``k lsb g(x_q/x_max)`` and the ADC converts
``y + k lsb g(y/range)`` instead of ``y``, with the fixed cubic ``g`` of peak 1.

Per-line gain and offset spread (off by default): each output line ``i`` has its own ADC
with a relative gain error ``g_i ~ N(0, adc_gain_std^2)`` and an offset
``o_i ~ N(0, adc_offset_lsb_std^2)`` in LSB, drawn once per crossbar (:meth:`ADC.spread`)
and converted as ``code_i = clip(rint(((1 + g_i) y_i + o_i lsb) / lsb), lo, hi)`` (the
INL, if any, acts on ``(1 + g_i) y_i + o_i lsb``).

Clipped conversions are never silent: :class:`ClipCounter` counts conversions and clipped
conversions per converter kind (``totals()`` of the crossbar) and warns once per crossbar
and kind.
"""

from __future__ import annotations

import math
import warnings
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


#: Peak of ``u (1 - u^2)`` on [-1, 1] (at ``u = 1/sqrt(3)``) is ``2/(3 sqrt(3))``.
_G_NORM = 3.0 * math.sqrt(3.0) / 2.0


def inl_deviation(x, full_scale: float, lsb: float, inl_lsb: float):
    """Integral nonlinearity of a converter: ``inl_lsb * lsb * g(x / full_scale)``.

    ``g(u) = (3 sqrt(3) / 2) u (1 - u^2)`` for ``u = clip(x / full_scale, -1, 1)``: a fixed
    odd cubic with ``g(0) = g(+-1) = 0`` (no error at zero and at full scale) and
    ``max |g| = 1`` at ``u = +-1/sqrt(3)``, so the largest deviation is ``inl_lsb`` LSB.

    Parameters
    ----------
    x : array
        Analog values (the converter's units).
    full_scale : float
        The converter's full scale (> 0).
    lsb : float
        Its step.
    inl_lsb : float
        Peak INL in LSB (>= 0).
    """
    u = np.clip(np.asarray(x) / full_scale, -1.0, 1.0)
    return (inl_lsb * lsb * _G_NORM) * u * (1.0 - u * u)


def _check_inl(v, name, bits, what="a number of LSB"):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                              np.floating)):
        raise ParameterError(f"{name} = {v!r} must be {what} >= 0")
    v = float(v)
    if not (math.isfinite(v) and v >= 0):
        raise ParameterError(f"{name} = {v!r} must be a finite {what.split(' ', 1)[1]} >= 0")
    if v > 0 and bits is None:
        raise ParameterError(f"{name} = {v!r} needs a resolution (an LSB): set the "
                             f"converter's bits too")
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
    inl_lsb : float
        Peak integral nonlinearity in LSB (needs ``bits``): the level driven for the code
        ``x_q`` is ``x_q + inl_deviation(x_q, x_max, lsb, inl_lsb)``. 0: ideal levels.
    """

    bits: int | None = None
    range: float | None = None
    inl_lsb: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "bits", _check_bits(self.bits, "dac_bits", lo=2))
        object.__setattr__(self, "range", _check_range(self.range, "dac_range"))
        object.__setattr__(self, "inl_lsb", _check_inl(self.inl_lsb, "dac_inl_lsb", self.bits))

    @property
    def x_max(self) -> float:
        """Largest input magnitude the array sees (1 with abs-max scaling)."""
        return 1.0 if self.range is None else self.range

    def apply(self, X: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray | None, int]:
        """Quantise a 2-d input ``X`` (n, batch).

        Returns the array inputs (new array of ``dtype``), the per-column factor to
        multiply the outputs by (None when no scaling happened) and the number of inputs
        clipped at the fixed range.
        """
        scale = None
        clipped = 0
        if self.range is None:
            scale = np.max(np.abs(X), axis=0)
            scale[scale == 0] = 1.0
            Xs = np.asarray(X / scale, dtype=dtype)
        else:
            Xs = np.array(X, dtype=dtype, copy=True)
            if self.bits is None:
                clipped = int(np.count_nonzero(np.abs(Xs) > self.range))
                np.clip(Xs, -self.range, self.range, out=Xs)
        if self.bits is not None:
            L = 2 ** (self.bits - 1) - 1
            lsb = np.array([self.x_max / L], dtype=dtype)
            clipped = int(K.pick("quantise", Xs.size)(Xs, lsb, -L, L))
            if self.inl_lsb:
                Xs += inl_deviation(Xs, self.x_max, float(lsb[0]), self.inl_lsb).astype(dtype)
        return Xs, scale, clipped


#: ADC range policies (see the module docstring).
ADC_POLICIES = ("fixed", "calibrate")


@dataclass(frozen=True)
class ADC:
    """Output analog-to-digital converter (one per output line).

    Parameters
    ----------
    bits : int or None
        Resolution; None: outputs are not quantised.
    range : float or None
        Full scale ``[-range, range)`` in line units; None: worst case of the mean output,
        set according to ``policy``.
    policy : {"fixed", "calibrate"}
        When an automatic range is set: at programming only, or again after every write.
    inl_lsb : float
        Peak integral nonlinearity in LSB (needs ``bits``): a line value ``y`` is converted
        as ``y + inl_deviation(y, range, lsb, inl_lsb)``. 0: an ideal transfer curve.
    gain_std : float
        Relative standard deviation of each line's gain, ``g_i ~ N(0, gain_std^2)`` (needs
        ``bits``). 0: every line has gain 1.
    offset_lsb_std : float
        Standard deviation of each line's offset in LSB, ``o_i ~ N(0, offset_lsb_std^2)``
        (needs ``bits``). 0: no offset.

    With a spread, line ``i`` converts ``y_i`` to
    ``code_i = clip(rint(((1 + g_i) y_i + o_i lsb) / lsb), lo, hi)`` (:meth:`apply` with
    the ``(g, o)`` of :meth:`spread`).
    """

    bits: int | None = None
    range: float | None = None
    policy: str = "fixed"
    inl_lsb: float = 0.0
    gain_std: float = 0.0
    offset_lsb_std: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "bits", _check_bits(self.bits, "adc_bits"))
        object.__setattr__(self, "inl_lsb", _check_inl(self.inl_lsb, "adc_inl_lsb", self.bits))
        object.__setattr__(self, "gain_std", _check_inl(self.gain_std, "adc_gain_std",
                                                        self.bits, "a relative deviation"))
        object.__setattr__(self, "offset_lsb_std", _check_inl(
            self.offset_lsb_std, "adc_offset_lsb_std", self.bits))
        object.__setattr__(self, "range", _check_range(self.range, "adc_range"))
        if self.policy not in ADC_POLICIES:
            raise ParameterError(f"adc_policy = {self.policy!r}; use one of {list(ADC_POLICIES)}")
        if self.policy == "calibrate" and self.range is not None:
            raise ParameterError(f"adc_policy='calibrate' sets the ADC range itself, but "
                                 f"adc_range = {self.range!r} was given; leave adc_range=None "
                                 f"or use adc_policy='fixed'")

    @property
    def on(self) -> bool:
        """Whether outputs are quantised (``bits`` given); False: an ideal, unquantised
        readout."""
        return self.bits is not None

    def codes(self) -> tuple[int, int]:
        """Lowest and highest code."""
        h = 2 ** (self.bits - 1)
        return -h, h - 1

    def lsb(self, full_range: float) -> float:
        """Step of the ADC for a full scale ``full_range``."""
        return 2.0 * full_range / 2 ** self.bits

    @property
    def spread_on(self) -> bool:
        """Whether the lines' ADCs differ in gain or offset."""
        return bool(self.gain_std or self.offset_lsb_std)

    def spread(self, lines: int, gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Gains ``g`` (relative) and offsets ``o`` (LSB) of ``lines`` ADCs drawn from
        ``gen``: ``lines`` standard normals scaled by ``gain_std``, then ``lines`` scaled by
        ``offset_lsb_std`` (so each std leaves the other's draws unchanged)."""
        z = gen.standard_normal((2, lines))
        return self.gain_std * z[0], self.offset_lsb_std * z[1]

    def apply(self, Y: np.ndarray, full_range: float, spread=None) -> int:
        """Quantise ``Y`` (2-d, in place; one row per line) with full scale ``full_range``;
        returns the number of clipped conversions.

        ``spread``: None or the per-row ``(g, o)`` of :meth:`spread`; row ``i`` is then
        converted as ``clip(rint(((1 + g_i) y_i + o_i lsb) / lsb), lo, hi) lsb``.
        """
        lo, hi = self.codes()
        lsb = np.array([self.lsb(full_range)], dtype=Y.dtype)
        if spread is not None:
            g, o = spread
            Y *= (1.0 + g).astype(Y.dtype)[:, None]
            Y += (o * float(lsb[0])).astype(Y.dtype)[:, None]
        if self.inl_lsb:
            Y += inl_deviation(Y, full_range, float(lsb[0]), self.inl_lsb).astype(Y.dtype)
        return int(K.pick("quantise", Y.size)(Y, lsb, lo, hi))


def worst_case_ranges(groups, x_max: float, bits: int, fixed: float | None = None) -> list:
    """ADC full scales per line group: ``(forward, reference, transposed)``.

    For inputs in ``[-x_max, x_max]`` the largest mean line output ``w``: forward
    ``max_i sum_j |M_ij| x_max``, reference line ``sum_j |r_j| x_max`` (None without
    one), transposed ``max_j sum_i |M_ij - r_j| x_max``. The full scale is
    ``w h/(h - 1)``, ``h = 2^(bits-1)``, so that ``w`` is exactly the top code
    ``(h - 1) lsb`` (the range ``[-R, R)`` itself ends one step below ``R``); ``w`` for
    ``bits = 1``. A line group whose worst case is 0 gets 1. ``fixed`` replaces all.

    Parameters
    ----------
    groups : iterable of (coef, M, V, r, vr)
        The crossbar's line groups (line units).
    """
    h = 2 ** (bits - 1)
    top = h / (h - 1) if h > 1 else 1.0
    out = []
    for _coef, M, _V, r, _vr in groups:
        Mf = np.asarray(M, dtype=float)
        fwd = fixed or float(np.abs(Mf).sum(axis=1).max() * x_max * top) or 1.0
        ref = None if r is None else (fixed or float(np.abs(r).sum() * x_max * top) or 1.0)
        Mt = Mf - (0 if r is None else np.asarray(r, dtype=float)[None, :])
        tr = fixed or float(np.abs(Mt).sum(axis=0).max() * x_max * top) or 1.0
        out.append((fwd, ref, tr))
    return out


class ClipCounter:
    """Conversions and clipped conversions of one crossbar's DAC and ADC.

    :meth:`book` adds to ``counts`` (``{kind}_conversions`` and ``{kind}_saturated`` for
    kind ``"dac"``/``"adc"``) and issues a ``RuntimeWarning`` the first time a kind clips.
    """

    HINTS = {
        "adc": "outputs beyond the ADC range read as the end code; re-range with "
               "adc_policy='calibrate' or Crossbar.calibrate_adc(), or give a larger adc_range",
        "dac": "inputs beyond dac_range are clipped; give a larger dac_range or dac_range=None "
               "(abs-max input scaling)",
    }

    def __init__(self):
        self.counts = {"dac_conversions": 0, "dac_saturated": 0, "adc_conversions": 0,
                       "adc_saturated": 0}
        self.warned: set = set()

    def book(self, kind: str, conversions: int, clipped: int, full_range: float,
             stacklevel: int = 2) -> None:
        """Add one batch of conversions to ``counts``, warning on a kind's first clip.

        Parameters
        ----------
        kind : {"dac", "adc"}
            Which converter the conversions went through.
        conversions : int
            Values converted.
        clipped : int
            Of those, values beyond full scale (read as the end code).
        full_range : float
            The converter's full scale, quoted in the warning (line units for the ADC,
            input units for the DAC).
        stacklevel : int
            ``stacklevel`` of the ``RuntimeWarning``, so that it points at the user's
            call.

        Warns
        -----
        RuntimeWarning
            The first time ``clipped > 0`` for ``kind`` (once per counter, i.e. per
            crossbar), naming the clipped fraction and how to widen the range.
        """
        self.counts[f"{kind}_conversions"] += int(conversions)
        self.counts[f"{kind}_saturated"] += int(clipped)
        if clipped and kind not in self.warned:
            self.warned.add(kind)
            warnings.warn(f"{kind.upper()} saturated: {clipped} of {conversions} conversions "
                          f"clipped at full scale {full_range:.6g}; {self.HINTS[kind]}. "
                          f"Counted in totals()['{kind}_saturated']; shown once per crossbar.",
                          RuntimeWarning, stacklevel=stacklevel)
