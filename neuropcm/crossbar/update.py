"""Outer-product updates and refresh of differential PCM pairs (physics.md section 4).

Helpers used by :meth:`neuropcm.crossbar.Crossbar.update`; the pulses themselves are
applied through :meth:`neuropcm.devices.PCMArray.set_pulses` / ``reset``, so the device
model alone decides what a pulse does. The refresh rule itself is
:mod:`neuropcm.devices.refresh` (shared with the Brian2 engine).
"""

from __future__ import annotations

import math

import numpy as np

# the refresh rule is the devices' (one rule for the crossbar and the SNN), re-exported here
from ..devices.refresh import MaskRefresh, RefreshRule, ThresholdRefresh  # noqa: F401
from ..devices.theory import mean_set_curve, mean_step, open_loop_pulses  # noqa: F401
from ..errors import ParameterError

REFRESH_RULES = {"threshold": ThresholdRefresh}


def get_refresh(rule):
    """Resolve a refresh option into a :class:`~neuropcm.devices.refresh.RefreshRule`.

    None (no refresh), a rule name (``"threshold"``: :class:`ThresholdRefresh` with its
    defaults), a rule object, an object with ``select(g_plus, g_minus, g_max)`` or such a
    callable (wrapped in :class:`~neuropcm.devices.refresh.MaskRefresh`: noisy reads, the
    rewrite of every rule). The crossbar applies a rule after each update, so a rule with a
    Brian2 ``period`` is refused.
    """
    if rule is None:
        return None
    if isinstance(rule, str):
        try:
            return REFRESH_RULES[rule]()
        except KeyError:
            raise ParameterError(f"unknown refresh rule {rule!r}; known: "
                                 f"{sorted(REFRESH_RULES)}, None, or a callable "
                                 f"(g_plus, g_minus, g_max) -> mask") from None
    if isinstance(rule, RefreshRule):
        if getattr(rule, "period", None) is not None:
            raise ParameterError(f"refresh = {rule!r} has a period, which only the Brian2 "
                                 f"engine uses; the crossbar refreshes after every update: "
                                 f"give period=None")
        return rule
    if hasattr(rule, "select") and callable(rule.select):
        return MaskRefresh(rule.select)
    if callable(rule):
        return MaskRefresh(rule)
    raise ParameterError(f"refresh = {rule!r} must be None, a rule name {sorted(REFRESH_RULES)}"
                         f", an object with select(g_plus, g_minus, g_max) or a callable")


def distribute(counts: np.ndarray, rr: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Spread ``counts`` (m, n) pulses round-robin over K devices per weight.

    Pulse number t of a weight goes to device ``(rr + t) mod K`` (the arbitration counter
    of multi-device synapses, Boybat et al. 2018). Returns the per-device counts (K, m, n)
    and the new counter.
    """
    k = np.arange(K).reshape(K, 1, 1)
    off = (k - rr[None]) % K
    per = (counts[None] - off + K - 1) // K
    return per.astype(np.int64), (rr + counts) % K


def coincidence_counts(rng: np.random.Generator, x: np.ndarray, d: np.ndarray, scale: float,
                       bl: int) -> np.ndarray:
    """Signed pulse counts of stochastic pulse coincidence for one input/error pair.

    Streams of ``BL`` slots: row j fires with probability ``p_x,j = c_x |x_j|``, output i
    with ``p_d,i = c_d |d_i|``; a device gets a pulse in each slot where both fire, signed
    by ``sign(scale x_j d_i)``. With ``c_x c_d = |scale|/BL`` the expected count is
    ``scale x_j d_i`` exactly; ``c_x``/``c_d`` are balanced so both maxima are equal, and BL
    grows to ``ceil(|scale| max|x| max|d|)`` when needed so no probability exceeds 1.
    """
    xm, dm = float(np.max(np.abs(x))), float(np.max(np.abs(d)))
    m, n = d.size, x.size
    if xm == 0 or dm == 0 or scale == 0:
        return np.zeros((m, n), np.int64)
    a = abs(scale)
    bl = max(int(bl), int(math.ceil(a * xm * dm)))
    cx = math.sqrt(a / bl * dm / xm)
    cd = math.sqrt(a / bl * xm / dm)
    px = np.minimum(cx * np.abs(x), 1.0)
    pd = np.minimum(cd * np.abs(d), 1.0)
    xb = (rng.random((bl, n)) < px).astype(np.float32)
    db = (rng.random((bl, m)) < pd).astype(np.float32)
    cnt = np.rint(db.T @ xb).astype(np.int64)
    sign = (np.sign(d)[:, None] * np.sign(x)[None, :] * math.copysign(1.0, scale)).astype(np.int64)
    return cnt * sign
