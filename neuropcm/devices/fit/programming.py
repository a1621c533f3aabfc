"""Fit of the programming-noise relation (:data:`~neuropcm.devices.physics.PROG_STD`) to
target/programmed conductance pairs: ``prog_p2, prog_p1, prog_p0`` (the Joshi 2020
quadratic in ``gn = target/g_max``) or ``prog_rel`` (a std proportional to the target)."""

from __future__ import annotations

import math

import numpy as np

from ...errors import DatasetError, ParameterError
from .. import physics as ph
from ..array import PCMArray
from .data import Measurements, as_measurements
from .result import (censored_normal_nll, censored_normal_pit, FitResult, judge, ks_by_step,
                     make_result, maximize_likelihood, pit_test, resolve_base, simulation_params)

_BIG = 1e12
FORMS = {"quadratic": ("prog_p2", "prog_p1", "prog_p0"), "relative": ("prog_rel",)}


def _sigma(params, names, theta, target):
    """Programming-noise std at the targets from the relation PROG_STD."""
    v = {k: getattr(params, k) for k in ("prog_p2", "prog_p1", "prog_p0", "prog_rel")}
    v.update(zip(names, theta))
    return ph.PROG_STD.numpy(target, v["prog_p2"], v["prog_p1"], v["prog_p0"], params.g_max,
                             v["prog_rel"])


def fit_programming(data, base="joshi2020", *, form: str | None = None, seed: int = 0,
                    check: bool = True) -> FitResult:
    """Fit the programming-noise relation by maximum likelihood.

    Each programmed conductance is ``clip(target + sigma(target) xi, g_min, g_max)``
    (relation PROGRAM_LEVEL) with ``sigma`` the relation PROG_STD: a Gaussian censored at
    the clips, so a value at g_min or g_max counts with the tail probability (e.g. half
    the devices programmed to g_max sit there). Maximum likelihood because it treats the
    censored values exactly and weighs each point by its own std (least squares of the
    absolute deviations would do neither); standard errors from the inverse observed
    Fisher information (numerical Hessian of the negative log-likelihood).

    Parameters
    ----------
    data : Measurements or path
        Programming data: ``device``, ``target``, ``conductance`` (the programmed state,
        read before drift with negligible read noise -- assumed). Several rows per device
        are independent programming shots.
    base : str or DeviceParams
        A programmed-state preset; its g_min/g_max are the clips and the scale of gn.
    form : {"quadratic", "relative"}, optional
        Fit ``prog_p2, prog_p1, prog_p0`` (the other field kept) or ``prog_rel``; they
        cannot be fitted together (``prog_rel * target`` and ``prog_p1 * gn * g_max`` are
        the same term). Default: "relative" where the base has a zero quadratic and a
        positive ``prog_rel`` (``binary``), else "quadratic".
    seed : int
        Seed of the randomised PIT values and the posterior-predictive simulation.
    check : bool
        Run the posterior-predictive check.

    Returns
    -------
    FitResult
    """
    data = as_measurements(data, "programming")
    params = resolve_base(base, "programmed", "programming")
    if form is None:
        zero = params.prog_p2 == params.prog_p1 == params.prog_p0 == 0
        form = "relative" if zero and params.prog_rel > 0 else "quadratic"
    if form not in FORMS:
        raise ParameterError(f"form = {form!r} is not known; give one of {sorted(FORMS)}")
    names = FORMS[form]
    gt, g = data["target"], data["conductance"]
    lo, hi = params.g_min, params.g_max
    tol = 1e-9 * hi
    src = data.source
    if np.any((gt < lo - tol) | (gt > hi + tol)):
        bad = gt[(gt < lo - tol) | (gt > hi + tol)][0]
        raise DatasetError(f"{src}: target {float(bad):.6g} S lies outside [g_min, g_max] = "
                           f"[{lo!r}, {hi!r}] S of the base {params.provenance!r}; give a base "
                           f"whose window holds the targets (e.g. get_preset(..., g_max=...))")
    if np.any((g < lo - tol) | (g > hi + tol)):
        bad = g[(g < lo - tol) | (g > hi + tol)][0]
        raise DatasetError(f"{src}: programmed conductance {float(bad):.6g} S lies outside [g_min, "
                           f"g_max] = [{lo!r}, {hi!r}] S of the base {params.provenance!r}, "
                           f"where programming clips; give a base with a wider window")
    levels = np.unique(gt).size
    if form == "quadratic" and levels < 3:
        raise DatasetError(f"{src}: {levels} distinct target(s) cannot fix the 3 coefficients "
                           f"of the quadratic form; program at least 3 target levels or use "
                           f"form='relative'")
    if form == "relative" and not np.any(gt > 0):
        raise DatasetError(f"{src}: every target is 0, where prog_rel has no effect; program "
                           f"targets > 0")
    if g.size < 10 * len(names):
        raise DatasetError(f"{src}: {g.size} programmed devices are too few to fit "
                           f"{len(names)} parameter(s); give at least {10 * len(names)}")
    if np.all(np.abs(g - gt) <= tol):
        raise DatasetError(f"{src}: every conductance equals its target (no programming "
                           f"noise): the likelihood has no maximum; nothing to fit")

    def nll(theta):
        sd = _sigma(params, names, theta, gt)
        if np.any(sd <= 0):
            return _BIG * (1 + float(np.sum(np.maximum(-sd, 0)) / hi))
        return censored_normal_nll(g, gt, sd, lo, hi, tol)

    mid = (g > lo + tol) & (g < hi - tol)
    r = np.abs(g - gt)[mid] * math.sqrt(math.pi / 2)
    if form == "quadratic":
        gn = gt[mid] / hi
        X = np.stack([gn * gn, gn, np.ones_like(gn)], 1)
        x0, *_ = np.linalg.lstsq(X, r / hi, rcond=None)
        if np.any(X @ x0 <= 0):
            x0 = np.array([0.0, 0.0, float(np.mean(r)) / hi])
        x0 = x0 - np.array([0, params.prog_rel, 0])  # prog_rel * gt is kept on top
    else:
        pos = gt[mid] > 0
        x0 = np.array([float(np.mean(r[pos] / gt[mid][pos]))])
    theta, cov, conv, fmin = maximize_likelihood(nll, x0, np.full(len(names), 0.01))
    values = dict(zip(names, theta))
    rng = np.random.default_rng(seed)
    sd = _sigma(params, names, theta, gt)
    quality = {"log_likelihood": float(-fmin), "n_params": len(names),
               "pit": pit_test(censored_normal_pit(g, gt, sd, lo, hi, tol, rng)),
               "notes": [f"form {form!r}: fitted {list(names)}, the other coefficients of "
                         f"PROG_STD kept from the base",
                         "conductances taken as programmed states (no drift, negligible read "
                         "noise)",
                         f"{int(np.sum(g <= lo + tol))} values at g_min and "
                         f"{int(np.sum(g >= hi - tol))} at g_max treated as censored"]}
    result = make_result("programming", params, values, cov,
                         "maximum likelihood (censored normal); standard errors from the "
                         "inverse observed Fisher information (numerical Hessian)", data,
                         quality)
    return judge(result, predictive, data, seed, check, conv)


def target_bins(target: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """A step label per row: the target itself where there are at most 20 levels, else the
    index of its quantile bin."""
    levels = np.unique(target)
    if levels.size <= 20:
        return target
    edges = np.quantile(target, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.searchsorted(edges, target, side="right").astype(float)


def predictive(fit: FitResult, data: Measurements, seed: int = 0, n_sim: int = 4000) -> dict:
    """Program devices of the fitted parameters to the data's targets with
    :meth:`PCMArray.program` and compare the deviations from the target per target level
    (or per decile of the targets) with ``scipy.stats.ks_2samp``."""
    params = simulation_params(fit)
    gt = data["target"]
    rep = max(1, -(-n_sim // gt.size))
    arr = PCMArray(gt.size * rep, params, seed)
    tt = np.tile(gt, rep)
    arr.program(tt)
    dev_sim = arr.conductance - tt
    step = target_bins(np.concatenate([gt, tt]))
    return ks_by_step(step[:gt.size], data["conductance"] - gt, step[gt.size:], dev_sim,
                      "target" if np.unique(gt).size <= 20 else "target decile")
