"""Outer-product updates and refresh of differential PCM pairs (physics.md section 4).

Helpers used by :meth:`neuropcm.crossbar.Crossbar.update`; the pulses themselves are
applied through :meth:`neuropcm.devices.PCMArray.set_pulses` / ``reset``, so the device
model alone decides what a pulse does.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..devices import physics as ph
from ..devices.params import DeviceParams
from ..errors import ModelError, ParameterError


@functools.lru_cache(maxsize=32)
def mean_set_curve(params: DeviceParams, n_max: int = 128) -> np.ndarray:
    """Expected conductance (S) after 0..n_max SET pulses from the RESET state.

    Pulsed model without device-to-device factor: the exact expectation including the
    clips (grid propagation of :func:`neuropcm.devices.theory.accumulation_moments`).
    Otherwise the mean-field iteration ``G <- clip(G + mean_step(G, P), g_min, g_max)`` of
    the model's SET relation (exact for a linear step away from the clips).
    """
    if params.model == "pulsed" and getattr(params, "set_dtod", 0.0) == 0.0:
        from ..devices.theory import accumulation_moments

        return np.asarray(accumulation_moments(params, n_max, n_grid=301)[0], dtype=float)
    mean_rel, _ = ph.set_relations(params)
    g, p = params.reset_mean, 1.0
    out = [g]
    for _ in range(n_max):
        if params.model == "pulsed":
            p = float(ph.PULSE_MEMORY(params, P=p))
        g = min(max(g + float(mean_rel(params, G=g, P=p)), params.g_min), params.g_max)
        out.append(g)
    return np.asarray(out)


def mean_step(params: DeviceParams) -> float:
    """Nominal mean conductance step of one SET pulse (S), the epsilon of the updates.

    Linear-step models: ``set_step``. Pulsed model: the average step of the first ten
    pulses of the mean curve from RESET, ``(G_10 - G_0)/10`` (about 0.77 uS for
    Nandakumar 2018; physics.md gives 7.8 uS after 10 pulses).
    """
    if params.model != "pulsed":
        if params.set_step <= 0:
            raise ModelError(f"the device's set_step = {params.set_step!r} S is not positive: "
                             f"SET pulses do nothing, so outer-product updates cannot work")
        return float(params.set_step)
    c = mean_set_curve(params)
    return float((c[10] - c[0]) / 10)


def open_loop_pulses(params: DeviceParams, delta_g: np.ndarray) -> np.ndarray:
    """Pulse counts whose expected conductance gain from RESET is nearest to ``delta_g``.

    ``n = argmin_n |E[G_n] - E[G_0] - delta_g|`` over the mean SET curve (open-loop
    programming, as the refresh of physics.md section 4 rewrites a difference).
    """
    n_max = 128 if params.model == "pulsed" else int(min(
        4096, math.ceil(params.g_max / max(params.set_step, params.g_max / 4096)) + 1))
    gain = mean_set_curve(params, n_max) - mean_set_curve(params, n_max)[0]
    gain = np.maximum.accumulate(gain)
    d = np.asarray(delta_g, dtype=float)
    hi = np.clip(np.searchsorted(gain, d), 1, gain.size - 1)
    lo = hi - 1
    pick_hi = np.abs(gain[hi] - d) < np.abs(gain[lo] - d)
    return np.where(pick_hi, hi, lo).astype(np.int64)


class ThresholdRefresh:
    """Refresh rule of IBM aihwkit's one-sided cell (physics.md section 4 (a)).

    A differential pair is refreshed when its larger device reads above
    ``upper * g_max`` and its smaller above ``lower * g_max``: both are RESET and the
    difference is rewritten on the formerly larger side with open-loop SET pulses.

    Parameters
    ----------
    upper, lower : float
        Thresholds as fractions of g_max (defaults 0.75 and 0.25).
    """

    def __init__(self, upper: float = 0.75, lower: float = 0.25):
        for name, v in (("upper", upper), ("lower", lower)):
            if not (isinstance(v, (int, float)) and 0 <= v <= 1):
                raise ParameterError(f"ThresholdRefresh.{name} = {v!r} must be a fraction of "
                                     f"g_max in [0, 1]")
        if lower > upper:
            raise ParameterError(f"ThresholdRefresh: lower = {lower!r} must not exceed "
                                 f"upper = {upper!r}")
        self.upper, self.lower = float(upper), float(lower)

    def select(self, g_plus: np.ndarray, g_minus: np.ndarray, g_max: float) -> np.ndarray:
        """Boolean mask of the pairs to refresh, from reads of both devices (S)."""
        big = np.maximum(g_plus, g_minus)
        small = np.minimum(g_plus, g_minus)
        return (big > self.upper * g_max) & (small > self.lower * g_max)

    def __repr__(self):
        return f"ThresholdRefresh(upper={self.upper}, lower={self.lower})"


REFRESH_RULES = {"threshold": ThresholdRefresh}


def get_refresh(rule):
    """Resolve a refresh option: None, a rule name, an object with ``select`` or a callable
    ``(g_plus, g_minus, g_max) -> mask``."""
    if rule is None:
        return None
    if isinstance(rule, str):
        try:
            return REFRESH_RULES[rule]()
        except KeyError:
            raise ParameterError(f"unknown refresh rule {rule!r}; known: "
                                 f"{sorted(REFRESH_RULES)}, None, or a callable "
                                 f"(g_plus, g_minus, g_max) -> mask") from None
    if hasattr(rule, "select") or callable(rule):
        return rule
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
