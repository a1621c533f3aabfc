"""Refresh of saturated differential PCM pairs: one rule for every engine.

Both devices of a differential pair only receive SET pulses, so both creep up until the
pair saturates; a refresh RESETs both and re-writes their difference onto one side with
open-loop SET pulses (physics.md section 4). The rule -- what it reads, which pairs it
picks, how many pulses the rewrite gets and the cap on them -- is written here once, and
each engine takes it from here:

* numpy (the crossbar, and any pair of :class:`~neuropcm.devices.PCMArray`):
  :meth:`RefreshRule.apply`, built on :meth:`~RefreshRule.select` and
  :meth:`~RefreshRule.pulses`;
* Brian2 (``neuropcm.snn.PCMSynapses``): :meth:`ThresholdRefresh.brian2_select` and
  :meth:`RefreshRule.brian2_pulses` give the same decisions as code strings, with the same
  numbers (the Brian2 engine adds the RESET/SET code of its devices).

The named rules are the registry :data:`REFRESH_RULES` (``refresh="threshold"``); a rule
class registered there is selectable by name in crossbar configs and written to files.
This module imports neither Brian2 nor any engine.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError, ShapeError
from ..registry import Registry
from ..units import to_si
from .theory import mean_set_curve, open_loop_thresholds, saturation_conductance

#: What a refresh rule looks at: the programmed (noise-free, un-drifted) conductances, or
#: reads of the devices (drifted, temperature-scaled, with read noise), as hardware would.
READS = ("programmed", "noisy")
#: The mean SET curve counts as saturated once one more pulse adds less than this fraction
#: of g_max to the mean conductance (chosen: 0.1 uS for a 20 uS device, a tenth of the
#: per-pulse spread of the pulsed model); the derived cap of a rule stops there.
SATURATION = 0.005


def _check_fraction(name, v):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                              np.floating)) \
            or not 0 <= float(v) <= 1:
        raise ParameterError(f"ThresholdRefresh.{name} = {v!r} must be a fraction of g_max in "
                             f"[0, 1], e.g. {name}=0.75")
    return float(v)


class RefreshRule:
    """Base of the refresh rules: subclasses say which pairs to refresh (:meth:`select`).

    Parameters
    ----------
    max_pulses : int or None
        Longest open-loop rewrite, in both engines. None: :meth:`pulse_cap` derives it from
        the device model.
    reads : {"noisy", "programmed"}
        What the rule looks at, for both the selection and the difference it rewrites:
        ``"noisy"`` reads the devices (drift, temperature, read noise; the reads are counted
        and cost read energy), as a hardware controller must; ``"programmed"`` looks at the
        programmed conductances (an oracle: no noise, no reads counted).
    """

    def __init__(self, max_pulses=None, reads="noisy"):
        if max_pulses is not None and (
                isinstance(max_pulses, (bool, np.bool_))
                or not isinstance(max_pulses, (int, np.integer)) or max_pulses < 0):
            raise ParameterError(f"max_pulses = {max_pulses!r} must be a non-negative integer "
                                 f"(the longest open-loop rewrite) or None (derived from the "
                                 f"device model)")
        if reads not in READS:
            raise ParameterError(f"reads = {reads!r} must be one of {list(READS)}")
        self.max_pulses = None if max_pulses is None else int(max_pulses)
        self.reads = reads

    # ------------------------------------------------------------------ the decisions
    def reference(self, params) -> float:
        """The conductance (S) the rule's fractions refer to, passed to :meth:`select`:
        ``g_max`` here; :class:`ThresholdRefresh` uses the saturation level."""
        return float(params.g_max)

    def select(self, g_plus: np.ndarray, g_minus: np.ndarray, g_ref: float) -> np.ndarray:
        """Boolean mask of the pairs to refresh from what the rule reads (S), given the
        reference conductance :meth:`reference` (S)."""
        raise NotImplementedError

    def _largest_difference(self, params) -> float:
        """Supremum of ``|G+ - G-|`` over the programmed pairs the rule can select (S)."""
        return params.g_max - params.g_min

    def pulse_cap(self, params) -> int:
        """The cap on the rewrite for a device model: ``max_pulses``, or if None the smaller
        of (a) the pulses :func:`~neuropcm.devices.theory.open_loop_pulses` (uncapped) gives
        the largest difference the rule can select from programmed states and (b) the
        pulses after which the mean SET curve has saturated (one more pulse adds less than
        :data:`SATURATION` g_max to the mean; beyond that more pulses do not bring the mean
        gain appreciably nearer to any difference)."""
        if self.max_pulses is not None:
            return self.max_pulses
        th = open_loop_thresholds(params)
        n_diff = int(np.searchsorted(th, self._largest_difference(params), side="left"))
        curve = np.asarray(mean_set_curve(params, th.size))
        gain = np.maximum.accumulate(curve - curve[0])
        small = np.flatnonzero(np.diff(gain) < SATURATION * params.g_max)
        n_sat = int(small[0]) if small.size else th.size
        return min(n_diff, n_sat)

    def thresholds(self, params) -> np.ndarray:
        """Open-loop decision thresholds (S), ``pulse_cap(params)`` of them."""
        return open_loop_thresholds(params, self.pulse_cap(params))

    def pulses(self, params, diff) -> np.ndarray:
        """Rewrite pulse counts for differences ``diff`` (S): ``#{k: |diff| > th_k}``."""
        d = np.abs(np.asarray(diff, dtype=float))
        return np.searchsorted(self.thresholds(params), d, side="left").astype(np.int64)

    def brian2_pulses(self, diff: str, params) -> str:
        """Brian2 expression of :meth:`pulses` for the difference named ``diff`` (siemens):
        the same thresholds, unrolled into ``int(abs(diff) > th_k) + ...``."""
        terms = [f"int(abs({diff}) > ({float(th)!r}*siemens))" for th in self.thresholds(params)]
        return " + ".join(terms) if terms else "0"

    # ------------------------------------------------------------------ numpy engine
    def read(self, array) -> np.ndarray:
        """What the rule sees of a :class:`~neuropcm.devices.PCMArray` (S, array shape)."""
        if self.reads == "programmed":
            return np.array(array.conductance, dtype=float)
        return array.read()

    def apply(self, plus, minus) -> int:
        """Refresh two :class:`~neuropcm.devices.PCMArray` of the same shape (G+, G-).

        Reads both (as ``reads`` says), selects the pairs, RESETs both devices of each
        selected pair and applies :meth:`pulses` of ``|G+ - G-|`` SET pulses to the side
        that was larger (none when equal). Returns the number of pairs refreshed.
        """
        if plus.shape != minus.shape:
            raise ShapeError(f"G+ has shape {plus.shape}, G- {minus.shape}: they must match")
        params = plus.params
        gp, gm = self.read(plus), self.read(minus)
        mask = np.asarray(self.select(gp, gm, self.reference(params)), dtype=bool)
        if mask.shape != gp.shape:
            raise ShapeError(f"refresh rule returned a mask of shape {mask.shape}, expected "
                             f"{gp.shape}")
        n = int(mask.sum())
        if n == 0:
            return 0
        diff = gp - gm
        plus.reset(mask)
        minus.reset(mask)
        pulses = np.where(mask, self.pulses(params, diff), 0)
        plus.set_pulses(np.where(diff > 0, pulses, 0))
        minus.set_pulses(np.where(diff < 0, pulses, 0))
        return n


class ThresholdRefresh(RefreshRule):
    """Refresh rule of IBM aihwkit's one-sided cell (physics.md section 4 (a)).

    A pair is refreshed when its larger device exceeds ``upper * g_sat`` and its smaller
    exceeds ``lower * g_sat`` (in what the rule reads), where ``g_sat`` is the level SET
    pulses saturate at (:func:`~neuropcm.devices.theory.saturation_conductance`: the
    asymptote that aihwkit's soft-bounded devices call w_max; ``g_max`` for linear-step
    models); both are RESET and the difference is
    re-written on the formerly larger side with the open-loop pulse count whose mean gain
    from RESET is nearest to it (:func:`~neuropcm.devices.theory.open_loop_pulses`), at most
    :meth:`pulse_cap`.

    Parameters
    ----------
    upper, lower : float
        Thresholds as fractions of ``g_sat`` (defaults 0.75 and 0.25), ``lower <= upper``.
    max_pulses : int or None
        Longest rewrite. None (default): derived from the device model by
        :meth:`~RefreshRule.pulse_cap` -- the pulses for the largest difference the
        thresholds can select from programmed states, ``g_max - max(lower g_sat, g_min)``,
        unless the mean SET curve saturates first. With the default thresholds: 20 pulses
        for ``nandakumar2018`` at g_max = 12 uS (saturation; 19 at 20 uS), 19 for
        ``joshi2020``, 75 for ``ideal``. Larger (noisy) differences get the cap.
    reads : {"noisy", "programmed"}
        What the rule reads (see :class:`RefreshRule`); default ``"noisy"``.
    period : brian2 time or None
        Brian2 engine only -- when the rule is checked: None, after every plasticity event
        (postsynaptic spike) of a synapse; a time, for all synapses every ``period`` (a
        periodic sweep). The crossbar applies the rule after each update and refuses a
        period.
    """

    def __init__(self, upper=0.75, lower=0.25, max_pulses=None, reads="noisy", period=None):
        super().__init__(max_pulses, reads)
        self.upper, self.lower = _check_fraction("upper", upper), _check_fraction("lower", lower)
        if self.lower > self.upper:
            raise ParameterError(f"ThresholdRefresh: lower = {lower!r} must not exceed "
                                 f"upper = {upper!r}")
        if period is not None:
            p = to_si(period, "s", "period", require_unit=True)
            if not (isinstance(p, float) and np.isfinite(p) and p > 0):
                raise ParameterError(f"period = {period!r} must be a finite, positive time, "
                                     f"e.g. period=100*ms, or None")
        self.period = period

    def reference(self, params) -> float:
        return saturation_conductance(params)

    def _largest_difference(self, params) -> float:
        return params.g_max - max(self.lower * self.reference(params), params.g_min)

    def select(self, g_plus, g_minus, g_ref):
        big = np.maximum(g_plus, g_minus)
        small = np.minimum(g_plus, g_minus)
        return (big > self.upper * g_ref) & (small > self.lower * g_ref)

    def brian2_select(self, gp: str, gm: str, g_ref: float) -> str:
        """Brian2 0/1 expression of :meth:`select` on the values named ``gp``/``gm``
        (siemens), given :meth:`reference`: the same comparisons with the same values."""
        hi = f"({self.upper * g_ref!r}*siemens)"
        lo = f"({self.lower * g_ref!r}*siemens)"
        return f"int(({gp} > {hi} and {gm} > {lo}) or ({gm} > {hi} and {gp} > {lo}))"

    def __repr__(self):
        return (f"ThresholdRefresh(upper={self.upper!r}, lower={self.lower!r}, "
                f"max_pulses={self.max_pulses!r}, reads={self.reads!r}, period={self.period!r})")


class MaskRefresh(RefreshRule):
    """A refresh rule from a function ``select(g_plus, g_minus, g_max) -> bool mask`` (numpy
    engine only; it is given :meth:`~RefreshRule.reference`, ``g_max``); the rewrite is
    that of every rule."""

    def __init__(self, select, max_pulses=None, reads="noisy"):
        if not callable(select):
            raise ParameterError(f"select = {select!r} must be callable as "
                                 f"select(g_plus, g_minus, g_max) -> mask")
        super().__init__(max_pulses, reads)
        self._select = select

    def select(self, g_plus, g_minus, g_ref):
        return self._select(g_plus, g_minus, g_ref)

    def __repr__(self):
        return f"MaskRefresh({self._select!r}, max_pulses={self.max_pulses!r}, " \
               f"reads={self.reads!r})"


def _check_rule(name: str, cls) -> None:
    if not (isinstance(cls, type) and issubclass(cls, RefreshRule)):
        raise ParameterError(f"refresh rule {name!r}: {cls!r} is not a RefreshRule subclass; "
                             f"register the class itself")


#: The named refresh rules of the numpy engine (the crossbar): ``refresh="threshold"`` is
#: ``ThresholdRefresh()``; a ``{"name": ..., **parameters}`` spec is
#: ``REFRESH_RULES.build(spec)``.
REFRESH_RULES = Registry("refresh rule",
                         how="neuropcm.devices.refresh.REFRESH_RULES.register(name, cls)",
                         check=_check_rule)
REFRESH_RULES.register("threshold", ThresholdRefresh)
