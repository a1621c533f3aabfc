"""Fit of the activation energies ``ea_hrs, ea_lrs`` of the Arrhenius relation
(:data:`~neuropcm.devices.physics.TEMPERATURE`) to reads of devices at several ambient
temperatures."""

from __future__ import annotations

import numpy as np
from scipy import optimize

from ...errors import DatasetError
from .._params_base import EV
from .. import physics as ph
from .data import Measurements, as_measurements
from .drift import per_device_target, rectangle, simulate_devices
from .result import (FitResult, judge, ks_by_step, make_result, resolve_base, simulation_params)

_NAMES = ("ea_hrs", "ea_lrs")


def _state(G: np.ndarray, temps: np.ndarray, t_ref: float) -> np.ndarray:
    """Each device's read at the temperature nearest the reference (a first estimate of its
    conductance at t_ref)."""
    return G[:, int(np.argmin(np.abs(temps - t_ref)))]


def _profiled(theta_ev, G, temps, state, params, w):
    """Residuals ``sqrt(w)(G - c A(theta))`` with the per-device scale ``c`` profiled out
    (variable projection), and the scales."""
    A = ph.TEMPERATURE.numpy(state[:, None], temps[None, :], theta_ev[0] * EV,
                             theta_ev[1] * EV, params.g_max, params.t_ref)
    c = np.sum(w * G * A, 1) / np.sum(w * A * A, 1)
    return (np.sqrt(w) * (G - c[:, None] * A)).ravel(), c, A


def fit_temperature(data, base="nandakumar2018", *, seed: int = 0,
                    check: bool = True) -> FitResult:
    """Fit the activation energies by weighted least squares with the device scales profiled.

    Each device's read at temperature ``T`` is ``c_i A(G_i, T)``: ``A`` the Arrhenius
    relation TEMPERATURE (its activation energy interpolated between ``ea_hrs`` and
    ``ea_lrs`` by ``G_i/g_max``), ``c_i`` the device's conductance at the reference
    temperature, profiled out in closed form (variable projection). Least squares,
    weighted by a read-noise variance pooled over devices with similar means (a first,
    relative-weighted pass estimates it), because the read noise is additive and nearly
    Gaussian and no law for it is assumed; Gaussian errors make this the maximum-likelihood
    estimate. Standard errors from the Jacobian at the optimum, ``s^2 (J^T J)^-1``, with
    ``s^2`` the weighted residual variance (degrees of freedom net of the per-device
    scales).

    Parameters
    ----------
    data : Measurements or path
        Temperature data: ``device``, ``temperature``, ``conductance`` (every device read at
        the same temperatures, at the same time since its write, so drift does not enter),
        optional ``target`` (the G of the interpolation; else the device's fitted
        conductance at t_ref stands in) and ``time`` (ignored).
    base : str or DeviceParams
        Preset whose other fields (g_max, t_ref) are kept.
    seed : int
        Seed of the posterior-predictive simulation.
    check : bool
        Run the posterior-predictive check.

    Returns
    -------
    FitResult
    """
    data = as_measurements(data, "temperature")
    params = resolve_base(base, None, "temperature")
    temps, G = rectangle(data, "temperature")
    src = data.source
    n = data.n_devices
    if temps.size < 2:
        raise DatasetError(f"{src}: one temperature ({float(temps[0]):.6g} K) cannot give an "
                           f"activation energy; read the devices at >= 2 temperatures (3 or more "
                           f"to test the fit)")
    tg = per_device_target(data)
    state = tg if tg is not None else _state(G, temps, params.t_ref)
    gn = np.clip(state / params.g_max, 0.0, 1.0)
    if n < 3 or np.ptp(gn) < 0.05:
        raise DatasetError(f"{src}: {n} devices spanning G/g_max = {gn.min():.3g}..{gn.max():.3g}"
                           f" cannot separate ea_hrs from ea_lrs; give >= 3 devices spread "
                           f"over the conductance window")
    notes = ["reads at all temperatures taken at the same time since the write (no drift "
             "between them)"]
    if tg is None:
        notes.append("no target column: each device's fitted conductance at t_ref stands in "
                     "for the G of the activation-energy interpolation")
    x0 = np.array([params.ea_hrs, params.ea_lrs]) / EV
    w = 1.0 / np.maximum(G, 1e-3 * np.median(G)) ** 2

    def solve(w):
        return optimize.least_squares(lambda th: _profiled(th, G, temps, state, params, w)[0],
                                      x0, x_scale=0.1, method="lm")

    state = np.asarray(state, float)

    res = solve(w)
    # pooled variance of the reads against their fitted mean, in 10 quantile bins
    _, c, A = _profiled(res.x, G, temps, state, params, w)
    mean = c[:, None] * A
    r2 = (G - mean) ** 2 * temps.size / max(temps.size - 1, 1)
    edges = np.quantile(mean, np.linspace(0, 1, 11)[1:-1])
    b = np.searchsorted(edges, mean)
    var = np.bincount(b.ravel(), r2.ravel(), 10) / np.maximum(np.bincount(b.ravel(),
                                                                           minlength=10), 1)
    w = 1.0 / np.maximum(var[b], 1e-300)
    res = solve(w)
    if tg is None:  # the fitted conductance at t_ref is a better G than one noisy read
        state = _profiled(res.x, G, temps, state, params, w)[1]
        res = solve(w)
    dof = G.size - n - 2
    rss = float(np.sum(res.fun ** 2))
    s2 = rss / dof
    J = res.jac
    cov = np.linalg.pinv(J.T @ J) * s2 * EV ** 2
    values = dict(zip(_NAMES, res.x * EV))
    quality = {"chi2": rss, "dof": int(dof), "n_params": 2, "notes": notes,
               "converged_message": str(res.message)}
    notes.append("the chi2 is not a test here: the weights come from the same residuals")
    result = make_result("temperature", params, values, cov,
                         "least squares (weighted, device scales profiled out; = maximum "
                         "likelihood for Gaussian read noise); standard errors s^2 (J^T J)^-1 "
                         "from the Jacobian", data, quality)
    conv = bool(res.success)
    return judge(result, predictive, data, seed, check, conv)


def predictive(fit: FitResult, data: Measurements, seed: int = 0, n_sim: int = 2000) -> dict:
    """Devices of the fitted parameters at the data's conductances, read at each of the
    data's temperatures (:attr:`PCMArray.temperature`); the ratio of each read to the
    device's read at the temperature nearest t_ref is compared per temperature with
    ``scipy.stats.ks_2samp``."""
    params = simulation_params(fit)
    temps, G = rectangle(data, "temperature")
    k = int(np.argmin(np.abs(temps - params.t_ref)))
    states = G[:, k] / ph.TEMPERATURE.numpy(G[:, k], temps[k], params.ea_hrs, params.ea_lrs,
                                             params.g_max, params.t_ref)
    tg = per_device_target(data)
    rep = max(1, -(-n_sim // states.size))
    arr = simulate_devices(params, states, tg, seed, rep)
    Gs = []
    for T in temps:
        arr.temperature = float(T)
        Gs.append(arr.read(t=0.0))
    Gs = np.stack(Gs, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rd, rs = G / G[:, k:k + 1], Gs / Gs[:, k:k + 1]
    other = np.arange(temps.size) != k
    return ks_by_step(np.broadcast_to(temps, G.shape)[:, other].ravel(), rd[:, other].ravel(),
                      np.broadcast_to(temps, Gs.shape)[:, other].ravel(),
                      rs[:, other].ravel(), "temperature")
