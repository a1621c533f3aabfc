"""Analytic references of the device models, computed from the same relations.

These are independent of the Monte-Carlo kernels (no random numbers): tests compare the
simulated device populations against them, and ``neuropcm devices`` plots both.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.special import ndtr

from ..errors import ModelError, ParameterError
from . import physics as ph
from .params import DeviceParams
from .validation import as_count


def accumulation_distribution(params: DeviceParams, n_pulses: int, *, amplitude: float = 1.0,
                              n_grid: int = 2001, nodes: int = 8):
    """Exact (grid) distribution of G after 0..n_pulses SET pulses from RESET.

    Propagates the conductance density through the SET transition
    ``G' = clip(G + a f_d (mean(G, P) + std(G, P) xi), g_min, g_max)`` (Chapman-Kolmogorov
    on a grid of ``n_grid`` points, the clipped tails collected at g_min and g_max). With a
    device-to-device factor (``set_dtod > 0``) a device keeps its ``f_d`` (the relation
    F_SET_DEVICE, ``max(1 + set_dtod z, 0)``, z standard normal) for all its pulses, so the
    population is the mixture over ``f_d`` of the distributions at amplitude ``a f_d``,
    integrated with ``nodes``-point Gauss-Hermite quadrature.

    Returns
    -------
    grid : ndarray, shape (n_grid,)
        Conductance points (S).
    prob : ndarray, shape (n_pulses + 1, n_grid)
        Probability of each point after k pulses.
    """
    n_pulses = as_count(n_pulses, "n_pulses")
    n_grid = as_count(n_grid, "n_grid", minimum=2)
    dtod = float(getattr(params, "set_dtod", 0.0))
    x = np.linspace(params.g_min, params.g_max, n_grid)
    if dtod <= 0:
        return x, _accumulation_grid(params, n_pulses, amplitude, x)
    z, w = np.polynomial.hermite_e.hermegauss(as_count(nodes, "nodes", minimum=2))
    w = w / w.sum()
    f = np.asarray(ph.F_SET_DEVICE(params, xi=z), float)
    prob = sum(wi * _accumulation_grid(params, n_pulses, amplitude * fi, x)
               for fi, wi in zip(f, w))
    return x, prob


def _accumulation_grid(params: DeviceParams, n_pulses: int, amplitude: float,
                       x: np.ndarray) -> np.ndarray:
    """The grid propagation of :func:`accumulation_distribution` at one amplitude."""
    mean_rel, std_rel = ph.set_relations(params)
    edges = np.concatenate([[-np.inf], 0.5 * (x[1:] + x[:-1]), [np.inf]])

    def spread(mu, sd):
        sd = np.maximum(np.asarray(sd, float), 1e-30)
        cdf = ndtr((edges[None, :] - np.asarray(mu, float)[:, None]) / sd[:, None])
        return np.diff(cdf, axis=1)

    prob = np.empty((n_pulses + 1, x.size))
    prob[0] = spread(np.array([params.reset_mean]), np.array([params.reset_std]))[0]
    P = 1.0
    for k in range(n_pulses):
        P = ph.PULSE_MEMORY(params, P=P) if params.model == "pulsed" else 1.0
        mu = x + amplitude * mean_rel(params, G=x, P=P)
        sd = np.abs(amplitude) * std_rel(params, G=x, P=P) * np.ones_like(x)
        prob[k + 1] = prob[k] @ spread(mu, sd)
    return prob


def accumulation_moments(params: DeviceParams, n_pulses: int, **kw):
    """Mean and std (S) of G after 0..n_pulses SET pulses from RESET (see
    :func:`accumulation_distribution`)."""
    x, prob = accumulation_distribution(params, n_pulses, **kw)
    mean = prob @ x
    var = prob @ (x * x) - mean ** 2
    return mean, np.sqrt(np.maximum(var, 0.0))


def nu_moments(params: DeviceParams, g_target):
    """Mean and std of the folded-normal drift exponent ``|N(mu, sd)|`` at targets (S)."""
    if params.model != "programmed":
        nu = np.full(np.shape(g_target), getattr(params, "nu", 0.0))
        return nu, np.full_like(nu, getattr(params, "nu_dtod", 0.0))
    mu = np.asarray(ph.NU_MEAN(params, Gt=g_target), float)
    sd = np.asarray(ph.NU_STD(params, Gt=g_target), float)
    safe = np.maximum(sd, 1e-300)
    z = mu / safe
    mean = np.where(sd > 0, sd * np.sqrt(2 / np.pi) * np.exp(-z ** 2 / 2) + mu * (1 - 2 * ndtr(-z)),
                    np.abs(mu))
    var = mu ** 2 + sd ** 2 - mean ** 2
    return mean, np.sqrt(np.maximum(var, 0.0))


def rectified_moments(mean: np.ndarray, std: np.ndarray):
    """Mean and std of ``max(X, 0)`` for ``X ~ N(mean, std^2)`` (elementwise; std may be 0):
    ``E = m Phi(a) + s phi(a)``, ``E2 = (m^2 + s^2) Phi(a) + m s phi(a)``, ``a = m/s``."""
    noisy = std > 0
    if not noisy.any():
        return np.maximum(mean, 0.0), np.zeros_like(std)
    m, s = mean[noisy], std[noisy]
    a = m / s
    cdf = ndtr(a)
    pdf = np.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
    e1 = m * cdf + s * pdf
    e2 = (m * m + s * s) * cdf + m * s * pdf
    out_m = np.maximum(mean, 0.0)
    out_s = np.zeros_like(std)
    out_m[noisy] = e1
    out_s[noisy] = np.sqrt(np.maximum(e2 - e1 * e1, 0.0))
    return out_m, out_s


@functools.lru_cache(maxsize=32)
def mean_set_curve(params: DeviceParams, n_max: int = 128) -> np.ndarray:
    """Expected conductance (S) after 0..n_max SET pulses from the RESET state.

    Pulsed model without device-to-device factor: the exact expectation including the
    clips (grid propagation of :func:`neuropcm.devices.theory.accumulation_moments`).
    Otherwise the mean-field iteration ``G <- clip(G + mean_step(G, P), g_min, g_max)`` of
    the model's SET relation (exact for a linear step away from the clips).

    The result is cached and returned read-only (copy it to change it), so no caller can
    alter the curve every other caller sees.
    """
    n_max = as_count(n_max, "n_max")
    if params.model == "pulsed" and getattr(params, "set_dtod", 0.0) == 0.0:
        return _read_only(accumulation_moments(params, n_max, n_grid=301)[0])
    mean_rel, _ = ph.set_relations(params)
    g, p = params.reset_mean, 1.0
    out = [g]
    for _ in range(n_max):
        if params.model == "pulsed":
            p = float(ph.PULSE_MEMORY(params, P=p))
        g = min(max(g + float(mean_rel(params, G=g, P=p)), params.g_min), params.g_max)
        out.append(g)
    return _read_only(out)


def _read_only(values) -> np.ndarray:
    a = np.array(values, dtype=float)
    a.flags.writeable = False
    return a


def saturation_conductance(params: DeviceParams) -> float:
    """The conductance (S) SET pulses drive a device to on average: the plateau of the mean
    SET curve from RESET, ``mean_set_curve(params, 128)[-1]``.

    Pulsed devices saturate below ``g_max`` (their mean increment vanishes at
    ``G = -(set_b + set_c P)/set_a``; about 10.4 uS for ``nandakumar2018`` with g_max = 20 uS,
    9.3 uS with 12 uS); linear-step models reach ``g_max``. Rules stated as fractions of
    "full" (refresh thresholds, the default largest weight of a mapping) use this level,
    so that they stay reachable by SET pulses whatever ``g_max`` clips at.
    """
    return float(mean_set_curve(params, 128)[-1])


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


def _curve_length(params: DeviceParams) -> int:
    """Pulses of the mean SET curve the open-loop rule looks at when not capped: 128 for the
    pulsed model (saturated long before), enough steps to cross g_max for a linear step."""
    if params.model == "pulsed":
        return 128
    return int(min(4096, math.ceil(params.g_max / max(params.set_step, params.g_max / 4096)) + 1))


def _check_max_pulses(max_pulses) -> int:
    if isinstance(max_pulses, (bool, np.bool_)) or not isinstance(max_pulses, (int, np.integer)) \
            or max_pulses < 0:
        raise ParameterError(f"max_pulses = {max_pulses!r} must be a non-negative integer "
                             f"(the longest open-loop rewrite), e.g. 20")
    return int(max_pulses)


def open_loop_thresholds(params: DeviceParams, max_pulses: int | None = None) -> np.ndarray:
    """Decision thresholds (S) of open-loop programming from RESET.

    With ``gain_n = max_{m <= n} (E[G_m] - E[G_0])`` the mean gain of n SET pulses from RESET
    (:func:`mean_set_curve`, made non-decreasing), threshold ``k`` (k = 1..max_pulses) is the
    midpoint ``(gain_{k-1} + gain_k) / 2``. A difference ``d`` gets ``n = #{k: d > th_k}``
    pulses: the count whose mean gain is nearest to ``d`` (ties to the smaller count), at most
    ``max_pulses``. Both engines use these numbers (the Brian2 code unrolls the sum).

    Parameters
    ----------
    params : DeviceParams
        Device model.
    max_pulses : int or None
        Longest rewrite; None: the whole mean curve (128 pulses for the pulsed model,
        ``ceil(g_max / set_step) + 1`` for a linear step).

    Returns
    -------
    ndarray, shape (max_pulses,)
        Non-decreasing thresholds (a fresh array).
    """
    n = _curve_length(params) if max_pulses is None else _check_max_pulses(max_pulses)
    curve = mean_set_curve(params, max(n, 1))
    gain = np.maximum.accumulate(curve - curve[0])
    return (0.5 * (gain[1:] + gain[:-1]))[:n].copy()


def open_loop_pulses(params: DeviceParams, delta_g, max_pulses: int | None = None) -> np.ndarray:
    """Pulse counts whose expected conductance gain from RESET is nearest to ``delta_g``.

    ``n = #{k: delta_g > th_k}`` with the thresholds of :func:`open_loop_thresholds`, i.e.
    ``argmin_n |gain_n - delta_g|`` (ties to the smaller n) over ``n = 0..max_pulses``
    (open-loop programming, as the refresh of physics.md section 4 rewrites a difference).
    Differences ``<= th_1`` (including negative ones) get 0 pulses.

    Parameters
    ----------
    params : DeviceParams
        Device model.
    delta_g : array_like
        Finite conductance differences (S).
    max_pulses : int or None
        Cap (see :func:`open_loop_thresholds`).
    """
    d = np.asarray(delta_g, dtype=float)
    if not np.all(np.isfinite(d)):
        raise ParameterError(f"delta_g contains {d[~np.isfinite(d)].ravel()[0]!r}: give finite "
                             f"conductance differences in S")
    th = open_loop_thresholds(params, max_pulses)
    return np.searchsorted(th, d, side="left").astype(np.int64)
