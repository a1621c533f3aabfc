"""How a real matrix W (m x n) is stored in PCM devices, and how reads combine back.

Every mapping holds its device arrays' targets and turns the per-device read moments
(mean and std of each device read at a time t, from
:meth:`neuropcm.devices.PCMArray.read_moments`) into *line groups*: for each group of
physical output lines, the mean matrix ``M`` and the variance matrix ``V`` of the
contribution of each weight (in line units), the optional reference line (mean ``r`` and
variance ``vr`` per input row, one read shared by all outputs of a forward MVM) and the
digital coefficient ``coef`` that turns line units into weight units. The crossbar output
is ``y = sum_g coef_g (line_g - ref_g)``. With K devices per weight, each weight uses the
average of its K devices (Le Gallo et al., Nat. Electron. 2018), so variances shrink by K.

Mappings (``W*`` = positive-only shifted matrix of seed 2, Muñoz-Martín et al. 2021):

* ``differential``: ``w = s (G+ - G-)``, ``s = w_max / g_target``; one group in weight
  units (the two currents are subtracted in analog before the ADC).
* ``offset``: ``W* = W + c`` with ``c = max(-min W, 0)``, one positive device per weight,
  ``G = W*/s``; a reference (dummy) line of devices at ``c/s`` per input row whose read
  is subtracted digitally after its own ADC: ``y = s (G x) - s (g_ref . x)``.
* ``bit-sliced``: ``W*`` quantised to ``bits`` bits on a grid holding 0
  (:func:`quantise_levels`: ``delta = (max W - min W)/(2^bits - 1)``, offset code
  ``q_c = rint(c/delta)``, ``q = q_c + rint(W/delta)``); bit ``b`` of
  ``q`` on a binary device (LRS = ``g_target`` for 1, the RESET state HRS for 0), one
  line per bit, and a reference line per bit holding ``q_c``. Each line is read in bit
  units ``I/(G_L - G_H)`` (nominal LRS and HRS), converted by its ADC, and combined by
  shift-and-add: ``y = sum_b 2^b delta (I_b - I_ref,b)/(G_L - G_H)``; with ideal devices
  exactly ``delta (q - q_c) x``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ParameterError, UnknownPresetError


@dataclass
class Group:
    """One group of output lines (see module docstring); all arrays float64.

    Attributes
    ----------
    M : ndarray (m, n)
        Mean contribution per weight and unit input (line units).
    V : ndarray (m, n)
        Variance of that contribution (line units squared).
    coef : float
        Weight units per line unit (digital shift-and-add factor).
    r, vr : ndarray (n,) or None
        Mean and variance of the reference line's devices (line units).
    """

    M: np.ndarray
    V: np.ndarray
    coef: float = 1.0
    r: np.ndarray | None = None
    vr: np.ndarray | None = None


def effective_mean(groups) -> np.ndarray:
    """Mean read matrix in weight units: ``sum_g coef_g (M_g - r_g)`` (a reference line's
    mean is subtracted from every output line it serves)."""
    return sum(g.coef * (g.M - (g.r[None, :] if g.r is not None else 0.0)) for g in groups)


def effective_variance(groups) -> tuple[np.ndarray, np.ndarray | None]:
    """Variances in weight units: per weight ``sum_g coef_g^2 V_g`` and per input row of the
    reference lines ``sum_g coef_g^2 vr_g`` (None without reference lines)."""
    V = sum(g.coef ** 2 * g.V for g in groups)
    refs = [g.coef ** 2 * g.vr for g in groups if g.vr is not None]
    return V, (sum(refs) if refs else None)


def _k_mean_var(mean: np.ndarray, std: np.ndarray, unit: float):
    """K-average along axis 0: mean/unit and variance/unit^2 of the average of K devices."""
    k = mean.shape[0]
    return mean.mean(axis=0) / unit, (std * std).sum(axis=0) / (k * k * unit * unit)


class Mapping:
    """Base class: a matrix W stored in named PCM arrays.

    Parameters
    ----------
    W : ndarray (m, n)
        The matrix (validated by the caller).
    params : DeviceParams
        Device parameters (for nominal conductances).
    K : int
        Devices per weight.
    g_target : float
        Largest conductance a weight is programmed to (S).
    """

    name: ClassVar[str] = "base"
    #: whether the outer-product update works on this mapping
    trainable: ClassVar[bool] = False

    def __init__(self, W, params, K, g_target, **kw):
        self.W = np.asarray(W, dtype=float)
        self.params = params
        self.K = int(K)
        self.g_target = float(g_target)
        self.m, self.n = self.W.shape

    # -- to be provided by subclasses -------------------------------------------------
    def array_shapes(self) -> dict:
        """The device arrays this mapping stores ``W`` in.

        Returns
        -------
        dict
            Array name -> shape of its :class:`~neuropcm.devices.PCMArray`; the crossbar
            creates one array per entry, and its first entry's clock is the crossbar's.
        """
        raise NotImplementedError

    def program(self, arrays: dict, **kw) -> dict:
        """Program ``arrays`` so that their devices represent ``W``.

        Parameters
        ----------
        arrays : dict
            Name -> :class:`~neuropcm.devices.PCMArray`, shaped as :meth:`array_shapes`.
        **kw
            Passed on to :meth:`~neuropcm.devices.PCMArray.program` (``tol``,
            ``max_iterations``).

        Returns
        -------
        dict
            Array name -> its :class:`~neuropcm.devices.ProgramResult`.
        """
        raise NotImplementedError

    def groups(self, moments: dict) -> list:
        """The line groups of the read model (see the module docstring) for the given
        device read moments.

        Parameters
        ----------
        moments : dict
            Array name -> ``(mean, std)`` of each device read (S), shaped as
            :meth:`array_shapes` (:meth:`~neuropcm.devices.PCMArray.read_moments`; with
            IR drop, each mean is replaced by its conductance as seen through the wires).

        Returns
        -------
        list of Group
            The groups whose ``sum_g coef_g (line_g - ref_g)`` is the crossbar output.
        """
        raise NotImplementedError

    @property
    def target_weights(self) -> np.ndarray:
        """The matrix the devices represent when they are ideal (weight units)."""
        return self.W

    def state(self) -> dict:
        """Scalars of the mapping for storage (the matrix W is stored separately)."""
        return {"K": self.K, "g_target": self.g_target}

    def lrs_target(self) -> float:
        """Conductance (S) of the LRS reference devices used by the K-factor compensation."""
        return self.g_target


class DifferentialMapping(Mapping):
    """``w = s (mean_K G+ - mean_K G-)`` with ``s = w_max / g_target`` (weight per siemens)."""

    name = "differential"
    trainable = True

    def __init__(self, W, params, K, g_target, w_max=None, **kw):
        super().__init__(W, params, K, g_target)
        w = float(np.max(np.abs(self.W))) if w_max is None else float(w_max)
        if w_max is not None and not (np.isfinite(w) and w > 0):
            raise ParameterError(f"w_max = {w_max!r} must be a positive finite weight")
        if w_max is not None and np.max(np.abs(self.W)) > w * (1 + 1e-12):
            raise ParameterError(f"w_max = {w_max!r} is below max|W| = {np.max(np.abs(self.W))!r};"
                                 f" give w_max >= max|W| or leave it None")
        self.w_max = w if w > 0 else 1.0
        self.scale = self.w_max / self.g_target

    def array_shapes(self):
        """Two arrays of ``(K, m, n)`` devices: ``G_plus`` and ``G_minus``."""
        s = (self.K, self.m, self.n)
        return {"G_plus": s, "G_minus": s}

    def program(self, arrays, **kw):
        """Program all K devices of ``G_plus`` to ``max(w, 0)/s`` and of ``G_minus`` to
        ``max(-w, 0)/s`` (each at most ``g_max``), so one side of every weight has target 0 S.

        Returns
        -------
        dict
            ``{"G_plus": ProgramResult, "G_minus": ProgramResult}``.
        """
        tp = np.broadcast_to(np.clip(self.W, 0, None) / self.scale, (self.K, self.m, self.n))
        tm = np.broadcast_to(np.clip(-self.W, 0, None) / self.scale, (self.K, self.m, self.n))
        g = self.params.g_max
        return {"G_plus": arrays["G_plus"].program(np.minimum(tp, g), **kw),
                "G_minus": arrays["G_minus"].program(np.minimum(tm, g), **kw)}

    def groups(self, moments):
        """One group in weight units, no reference line: ``M = s (mean_K G+ - mean_K
        G-)`` and ``V = s^2 (var G+ + var G-)/K`` (the K-device averages of both sides)."""
        mp, vp = _k_mean_var(*moments["G_plus"], 1.0)
        mm, vm = _k_mean_var(*moments["G_minus"], 1.0)
        s = self.scale
        return [Group(M=s * (mp - mm), V=(s * s) * (vp + vm))]

    def state(self):
        return {**super().state(), "w_max": self.w_max, "scale": self.scale}


class OffsetMapping(Mapping):
    """Positive-only ``W* = W + c`` on one device per weight, reference line at ``c``."""

    name = "offset"

    def __init__(self, W, params, K, g_target, **kw):
        super().__init__(W, params, K, g_target)
        self.offset = max(-float(self.W.min()), 0.0)
        wstar_max = float((self.W + self.offset).max())
        self.w_max = wstar_max if wstar_max > 0 else 1.0
        self.scale = self.w_max / self.g_target

    def array_shapes(self):
        """``main``: ``(K, m, n)`` devices, one weight each; ``ref``: ``(K, n)`` devices,
        the reference line (one per input row)."""
        return {"main": (self.K, self.m, self.n), "ref": (self.K, self.n)}

    def program(self, arrays, **kw):
        """Program ``main`` to ``(W + c)/s`` and every ``ref`` device to ``c/s`` (each at
        most ``g_max``).

        Returns
        -------
        dict
            ``{"main": ProgramResult, "ref": ProgramResult}``.
        """
        g = self.params.g_max
        t_main = np.minimum((self.W + self.offset) / self.scale, g)
        t_ref = min(self.offset / self.scale, g)
        return {"main": arrays["main"].program(np.broadcast_to(t_main, (self.K, self.m, self.n)),
                                               **kw),
                "ref": arrays["ref"].program(np.full((self.K, self.n), t_ref), **kw)}

    def groups(self, moments):
        """One group in weight units, ``M = s mean_K G`` and ``V = s^2 var G/K``, with
        the reference line's ``r = s mean_K G_ref`` and ``vr = s^2 var G_ref/K`` (subtracted
        from every output)."""
        M, V = _k_mean_var(*moments["main"], 1.0)
        r, vr = _k_mean_var(*moments["ref"], 1.0)
        s = self.scale
        return [Group(M=s * M, V=s * s * V, r=s * r, vr=s * s * vr)]

    def state(self):
        return {**super().state(), "offset": self.offset, "w_max": self.w_max,
                "scale": self.scale}


def quantise_levels(W: np.ndarray, levels: int) -> tuple[np.ndarray, int, float]:
    """Positive-only quantisation of seed 2 to ``levels`` codes, on a grid that holds 0.

    With ``lo = min(min W, 0)`` and ``hi = max(max W, 0)``: the step
    ``delta = (hi - lo)/(levels - 1)``, the offset code ``q_c = rint(-lo/delta)`` (the
    dummy line's ``|W_min|``) and the codes ``q = q_c + rint(W/delta)`` in
    ``[0, levels - 1]``; the represented matrix is ``delta (q - q_c)``, so a zero weight
    stays zero and every weight is rounded to its nearest grid point (rounding ``(W +
    |W_min|)/delta`` and ``|W_min|/delta`` separately would move the whole grid by the
    fraction of ``|W_min|/delta``, biasing every weight). Only an exact tie at both ends
    (``-lo/delta`` a half-integer) can ask for code ``levels``, which is then ``levels - 1``
    (one step of rounding).

    Returns
    -------
    q : ndarray of int64
        Codes of ``W + |W_min|`` in steps.
    q_c : int
        The offset code.
    delta : float
        The step (1.0 for an all-zero ``W``).
    """
    W = np.asarray(W, dtype=float)
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 2:
        raise ParameterError(f"levels = {levels!r} must be an integer >= 2")
    lo, hi = min(float(W.min()), 0.0), max(float(W.max()), 0.0)
    delta = (hi - lo) / (levels - 1) if hi > lo else 1.0
    q_c = int(np.rint(-lo / delta))
    q = np.clip(q_c + np.rint(W / delta), 0, levels - 1).astype(np.int64)
    return q, q_c, delta


def quantise_offset(W: np.ndarray, bits: int) -> tuple[np.ndarray, int, float]:
    """The ``bits``-bit positive-only quantisation of the bit-sliced mapping:
    :func:`quantise_levels` with ``2**bits`` levels."""
    return quantise_levels(W, 2 ** int(bits))


class BitSlicedMapping(Mapping):
    """n-bit digital weights on binary LRS/HRS devices, one line per bit, shift-and-add."""

    name = "bit-sliced"

    def __init__(self, W, params, K, g_target, bits=4, **kw):
        super().__init__(W, params, K, g_target)
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 16:
            raise ParameterError(f"bits = {bits!r} must be an integer in [1, 16] for the "
                                 f"bit-sliced mapping")
        self.bits = int(bits)
        self.q, self.q_c, self.delta = quantise_offset(self.W, self.bits)
        self.g_lrs = self.g_target
        self.g_hrs = float(params.reset_mean)
        if self.g_lrs <= self.g_hrs:
            raise ParameterError(f"bit-sliced mapping needs an LRS target {self.g_lrs!r} S above "
                                 f"the HRS (RESET) conductance {self.g_hrs!r} S")
        b = np.arange(self.bits)
        self.bit_main = ((self.q[None] >> b[:, None, None]) & 1).astype(bool)  # (bits, m, n)
        self.bit_ref = np.broadcast_to(((self.q_c >> b) & 1).astype(bool)[:, None],
                                       (self.bits, self.n))

    def array_shapes(self):
        """One slice per bit: ``main`` of ``(bits, K, m, n)`` devices and ``ref`` of
        ``(bits, K, n)`` (the reference line of each bit)."""
        return {"main": (self.bits, self.K, self.m, self.n), "ref": (self.bits, self.K, self.n)}

    def program(self, arrays, **kw):
        """RESET every device of ``main`` and ``ref`` (bit 0: HRS), then program the
        devices of the 1 bits of ``q`` (``main``) and ``q_c`` (``ref``) to the LRS,
        ``g_target``.

        Returns
        -------
        dict
            ``{"main": ProgramResult, "ref": ProgramResult}`` of the LRS devices.
        """
        out = {}
        for name, bits in (("main", self.bit_main), ("ref", self.bit_ref)):
            a = arrays[name]
            mask = np.broadcast_to(bits[:, None], a.shape)
            a.reset()
            out[name] = a.program(np.full(a.shape, self.g_lrs), mask=mask, **kw)
        return out

    def groups(self, moments):
        """One group per bit ``b``, in bit units ``I/(G_L - G_H)`` (K-device averages)
        with its reference line, and the shift-and-add coefficient ``coef = 2^b delta``."""
        u = self.g_lrs - self.g_hrs
        mean, std = moments["main"]
        rmean, rstd = moments["ref"]
        out = []
        for b in range(self.bits):
            M, V = _k_mean_var(mean[b], std[b], u)
            r, vr = _k_mean_var(rmean[b], rstd[b], u)
            out.append(Group(M=M, V=V, coef=float(2 ** b * self.delta), r=r, vr=vr))
        return out

    @property
    def target_weights(self):
        return self.delta * (self.q - self.q_c)

    def state(self):
        return {**super().state(), "bits": self.bits, "delta": self.delta, "q_c": self.q_c,
                "g_lrs": self.g_lrs, "g_hrs": self.g_hrs}


def check_magnitude(W: np.ndarray, mapping: Mapping, dtype) -> None:
    """Raise :class:`ParameterError` if reads of ``W`` cannot be represented in ``dtype``.

    A read sums up to ``N = max(m, n)`` weights per line and their variances, which are
    of order ``max|W|^2`` (read noise is a fraction of each conductance); the mapping
    multiplies conductance variances by ``scale^2`` (weight per siemens, squared) in
    float64. So ``N max|W|``, ``N max|W|^2`` and ``scale^2`` must stay 1e3 below the
    largest finite number, and ``1e-4 max|W|^2`` above the smallest normal one (else the
    read noise underflows to 0). Checked in log10, so nothing overflows here.
    """
    w = float(np.max(np.abs(W)))
    if w == 0.0:
        return
    name = np.dtype(dtype).name
    f = np.finfo(dtype)
    lw = math.log10(w)
    ln = math.log10(max(W.shape))
    scale = float(getattr(mapping, "scale", 1.0))
    need = max(lw + ln, 2.0 * lw + ln)  # largest line sum and variance sum (log10)
    need64 = 2.0 * math.log10(scale)    # scale^2, formed in float64
    if need > math.log10(float(f.max)) - 3.0 \
            or need64 > math.log10(float(np.finfo(np.float64).max)) - 3.0:
        raise ParameterError(
            f"W has entries up to {w:.4g}: its reads overflow {name} (line sums and "
            f"variances of up to {max(W.shape)} weights reach ~1e{need:.0f}, the squared "
            f"weight-per-siemens scale 1e{need64:.0f}); scale W down (e.g. by "
            f"1e{math.floor(lw):.0f}) and the outputs back up")
    if 2.0 * lw - 4.0 < math.log10(float(f.tiny)):
        raise ParameterError(
            f"W has entries only up to {w:.4g}: its read variances (~1e-4 max|W|^2) underflow "
            f"{name}, so read noise would vanish; scale W up (e.g. by "
            f"1e{-math.floor(lw):.0f}) and the outputs back down")


MAPPINGS = {c.name: c for c in (DifferentialMapping, OffsetMapping, BitSlicedMapping)}


def get_mapping(name) -> type:
    """The mapping class called ``name``."""
    try:
        return MAPPINGS[name]
    except (KeyError, TypeError):
        raise UnknownPresetError(f"unknown mapping {name!r}; known mappings: "
                                 f"{sorted(MAPPINGS)}") from None
