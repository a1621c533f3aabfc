"""Analytic references of the device models, computed from the same relations.

These are independent of the Monte-Carlo kernels (no random numbers): tests compare the
simulated device populations against them, and ``neuropcm devices`` plots both.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from ..errors import ModelError
from . import physics as ph
from .params import DeviceParams


def accumulation_distribution(params: DeviceParams, n_pulses: int, *, amplitude: float = 1.0,
                              n_grid: int = 2001):
    """Exact (grid) distribution of G after 0..n_pulses SET pulses from RESET.

    Propagates the conductance density through the SET transition
    ``G' = clip(G + a (mean(G, P) + std(G, P) xi), g_min, g_max)`` (Chapman-Kolmogorov on
    a grid of ``n_grid`` points, the clipped tails collected at g_min and g_max). Assumes
    no device-to-device factor (``set_dtod = 0``).

    Returns
    -------
    grid : ndarray, shape (n_grid,)
        Conductance points (S).
    prob : ndarray, shape (n_pulses + 1, n_grid)
        Probability of each point after k pulses.
    """
    if getattr(params, "set_dtod", 0.0) > 0:
        raise ModelError("accumulation_distribution assumes set_dtod = 0")
    mean_rel, std_rel = ph.set_relations(params)
    x = np.linspace(params.g_min, params.g_max, n_grid)
    edges = np.concatenate([[-np.inf], 0.5 * (x[1:] + x[:-1]), [np.inf]])

    def spread(mu, sd):
        sd = np.maximum(np.asarray(sd, float), 1e-30)
        cdf = ndtr((edges[None, :] - np.asarray(mu, float)[:, None]) / sd[:, None])
        return np.diff(cdf, axis=1)

    prob = np.empty((n_pulses + 1, n_grid))
    prob[0] = spread(np.array([params.reset_mean]), np.array([params.reset_std]))[0]
    P = 1.0
    for k in range(n_pulses):
        P = ph.PULSE_MEMORY(params, P=P) if params.model == "pulsed" else 1.0
        mu = x + amplitude * mean_rel(params, G=x, P=P)
        sd = np.abs(amplitude) * std_rel(params, G=x, P=P) * np.ones_like(x)
        prob[k + 1] = prob[k] @ spread(mu, sd)
    return x, prob


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
