"""Fit of the drift-exponent distribution to reads of the same devices at several times.

Programmed-state model: ``nu_a, nu_b`` (relation :data:`~neuropcm.devices.physics.NU_MEAN`)
and ``nu_c, nu_d`` (:data:`~neuropcm.devices.physics.NU_STD`), their clips kept from the
base; pulsed model: ``nu, nu_dtod`` (:data:`~neuropcm.devices.physics.NU_DEVICE`); both:
``t0`` of the drift law (:func:`~neuropcm.devices.physics.drift_relation`) where the read
times identify it.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize
from scipy.special import log_ndtr

from ...errors import DatasetError
from .._params_base import T0_MAX
from .. import physics as ph
from ..array import PCMArray
from .data import Measurements, as_measurements
from .result import (FitResult, judge, ks_by_step, make_result, maximize_likelihood,
                     opg_covariance, pit_test, resolve_base, simulation_params)

_BIG = 1e12
_LOG2PI = math.log(2 * math.pi)


def rectangle(data: Measurements, column: str = "time"):
    """``(times, G)``: the common read times and the (devices x times) conductances; data
    whose devices were not all read at the same times are refused (one line)."""
    dev, t, g = data.device, data[column], data["conductance"]
    times = np.unique(t)
    n = data.n_devices
    counts = np.bincount(dev, minlength=n)
    if np.any(counts != times.size):
        i = int(np.flatnonzero(counts != times.size)[0])
        own = np.unique(t[dev == i])
        raise DatasetError(f"{data.source}: device {data.device_names[i]!r} was read at "
                           f"{own.size} {column}s {own[:4].tolist()}..., but the data hold "
                           f"{times.size} distinct {column}s; read every device at the same "
                           f"{column}s (ragged data are refused)")
    col = np.searchsorted(times, t)
    G = np.full((n, times.size), np.nan)
    G[dev, col] = g
    if np.any(np.isnan(G)):
        i = int(np.flatnonzero(np.isnan(G).any(axis=1))[0])
        raise DatasetError(f"{data.source}: device {data.device_names[i]!r} misses some "
                           f"{column}s of the others; read every device at the same {column}s")
    return times, G


def per_device_target(data: Measurements) -> np.ndarray | None:
    """The target of each device (constant per device), or None without the column."""
    if not data.has("target"):
        return None
    tg = np.full(data.n_devices, np.nan)
    tg[data.device] = data["target"]
    again = tg[data.device]
    if np.any(again != data["target"]):
        i = int(np.flatnonzero(again != data["target"])[0])
        raise DatasetError(f"{data.source}: device {data.device_names[data.device[i]]!r} has "
                           f"two targets ({float(again[i]):.6g} and "
                           f"{float(data['target'][i]):.6g} S); one target per device")
    return tg


def drift_x(params, times: np.ndarray, t0: float) -> np.ndarray:
    """``-ln`` of the drift factor at unit exponent (so ``G(t) = G exp(-nu x)``), from the
    model's drift relation."""
    return -np.log(ph.drift_relation(params).numpy(times, 1.0, t0))


def _bins(key: np.ndarray, n_bins: int) -> np.ndarray:
    if n_bins <= 1:
        return np.zeros(key.size, np.int64)
    edges = np.quantile(key, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.searchsorted(edges, key, side="right")


def per_device_fit(G: np.ndarray, x: np.ndarray, bins: np.ndarray, V: np.ndarray | None = None,
                   W: np.ndarray | None = None):
    """Per-device weighted least squares of ``G_ij = A_i exp(-nu_i x_j)`` (vectorised
    Gauss-Newton). Weights ``1/(V[bin, j] g_ij^2)`` at the current fit (iteratively
    reweighted): relative read-noise variances per bin of devices and time (1 when ``V`` is
    None); or the fixed weights ``W``. Returns ``(lnA, nu, var_nu, rel_resid, leverage,
    rss)``; ``rss`` is the weighted residual sum of squares."""
    n, m = G.shape
    pos = np.maximum(G, 1e-3 * np.median(G[G > 0]))
    X = np.stack([np.ones(m), -x], 1)
    coef = np.linalg.lstsq(X, np.log(pos).T, rcond=None)[0]
    a, nu = coef[0].copy(), coef[1].copy()
    rel = np.ones((n, m)) if V is None else _rel(V, bins)
    for _ in range(12):
        g = np.exp(a[:, None] - nu[:, None] * x)
        w = 1.0 / (rel * g * g) if W is None else W
        r = G - g
        j1, j2 = g, -x * g
        h11, h12, h22 = (w * j1 * j1).sum(1), (w * j1 * j2).sum(1), (w * j2 * j2).sum(1)
        b1, b2 = (w * j1 * r).sum(1), (w * j2 * r).sum(1)
        det = h11 * h22 - h12 * h12
        flat = det <= 1e-12 * h11 * h22  # no spread in x: nu is not identified, kept
        det = np.where(flat, 1.0, det)
        da = np.where(flat, b1 / h11, (h22 * b1 - h12 * b2) / det)
        dn = np.where(flat, 0.0, (h11 * b2 - h12 * b1) / det)
        a, nu = a + np.clip(da, -1, 1), nu + np.clip(dn, -0.5, 0.5)
        if np.max(np.abs(dn)) < 1e-12 and np.max(np.abs(da)) < 1e-12:
            break
    g = np.exp(a[:, None] - nu[:, None] * x)
    w = 1.0 / (rel * g * g) if W is None else W
    j1, j2 = g, -x * g
    h11, h12, h22 = (w * j1 * j1).sum(1), (w * j1 * j2).sum(1), (w * j2 * j2).sum(1)
    det = h11 * h22 - h12 * h12
    det = np.where(det <= 1e-12 * h11 * h22, np.inf, det)
    lev = w * (h22[:, None] * j1 * j1 - 2 * h12[:, None] * j1 * j2 + h11[:, None] * j2 * j2) \
        / det[:, None]
    e = (G - g) / g
    rss = float(np.sum(w * (G - g) ** 2))
    return a, nu, h11 / det, e, lev, rss


def _rel(V: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Relative read-noise variance of each read: ``V`` per device already, or per bin."""
    return V if V.shape[0] == bins.size else V[bins]


def pooled_variance(e: np.ndarray, lev: np.ndarray, bins: np.ndarray, n_bins: int,
                    key: np.ndarray | None = None) -> np.ndarray:
    """Relative residual variance of each read, corrected for the leverage: pooled per
    (bin of devices, time), then, with ``key`` (each device's level) and >= 4 bins,
    smoothed per time by a quadratic in ln(level) fitted to the log of the bin variances
    and evaluated at each device's own level (no read-noise law assumed; the smooth removes
    the bins' noise and the spread of the noise within a bin). Shape (devices, times), or
    (bins, times) without ``key``."""
    V = np.empty((n_bins, e.shape[1]))
    for b in range(n_bins):
        sel = bins == b
        V[b] = np.sum(e[sel] ** 2, 0) / np.maximum(np.sum(1 - lev[sel], 0), 1e-9)
    V = np.maximum(V, 1e-30)
    if key is None or n_bins < 4:
        return V if key is None else V[bins]
    L = np.log(np.maximum(key, 1e-300))
    Lb = np.array([np.median(L[bins == b]) for b in range(n_bins)])
    counts = np.bincount(bins, minlength=n_bins)
    X = np.stack([np.ones(n_bins), Lb - Lb.mean(), (Lb - Lb.mean()) ** 2], 1)
    sw = np.sqrt(counts)[:, None]
    coef = np.linalg.lstsq(X * sw, np.log(V) * sw, rcond=None)[0]
    Xi = np.stack([np.ones(L.size), L - Lb.mean(), (L - Lb.mean()) ** 2], 1)
    # log of a mean of chi-square variables is biased low by ~1/dof: fitted in log, the
    # smooth is rescaled to the pooled variance of each time
    out = np.exp(Xi @ coef)
    scale = np.sum(e ** 2, 0) / np.maximum(np.sum((1 - lev) * out, 0), 1e-300)
    return out * scale


def folded_loglik(nu_hat, var, mu, sd):
    """Log-density of ``|N(mu, sd^2)| + N(0, var)`` at ``nu_hat`` (closed form:
    ``sum_+- phi_S(nu_hat -+ mu) Phi(m_+-/s)``, ``S^2 = sd^2 + var``)."""
    sd = np.maximum(np.abs(sd), 1e-12)
    S2 = sd * sd + var
    lp = []
    for sgn in (1.0, -1.0):
        z = nu_hat - sgn * mu
        arg = (sgn * mu * var + nu_hat * sd * sd) / (np.sqrt(S2 * var) * sd)
        lp.append(-0.5 * z * z / S2 - 0.5 * np.log(S2) - 0.5 * _LOG2PI + log_ndtr(arg))
    return np.logaddexp(lp[0], lp[1])


class _Hier:
    """The distribution of the drift exponents over devices (second stage)."""

    def __init__(self, params, gt):
        self.p, self.gt = params, gt
        self.programmed = params.model == "programmed"
        self.names = ("nu_a", "nu_b", "nu_c", "nu_d") if self.programmed else ("nu", "nu_dtod")
        self.boundary = None

    def moments(self, theta):
        p = self.p
        if self.programmed:
            a, b, c, d = theta
            mu = ph.NU_MEAN.numpy(self.gt, a, p.g_max, b, p.nu_mean_min, p.nu_mean_max)
            sd = ph.NU_STD.numpy(self.gt, c, p.g_max, d, p.nu_std_min, p.nu_std_max)
            return mu, sd
        return np.full(self.gt.size, theta[0]), np.full(self.gt.size, theta[1])

    def fit(self, nu_hat, var):
        """ML of the exponent distribution, each ``nu_hat_i`` observed with the error
        variance ``kappa * var_i``: ``kappa`` (fitted with the others, ~1) absorbs the error
        of the read-noise variances pooled in stage 1 (their own sampling noise makes the
        nominal ``var_i`` a few % small, which would otherwise pass for a spread of the
        exponents). Returns ``(theta, cov, converged, nll, kappa, se_kappa)``; ``cov`` is
        marginal over ``kappa``, from the per-device scores (the relations' clips put kinks
        into the likelihood, see :func:`opg_covariance`)."""
        k = len(self.names)

        def contrib(th):
            mu, sd = self.moments(th[:k])
            return folded_loglik(nu_hat, th[k] * var, mu, sd)

        def nll(th):
            if th[k] <= 0:
                return _BIG
            v = -np.sum(contrib(th))
            return float(v) if np.isfinite(v) else _BIG

        base = np.array([getattr(self.p, n) for n in self.names] + [1.0], float)
        spread = math.sqrt(max(np.var(nu_hat) - np.mean(var), 1e-6))
        if self.programmed:
            lg = np.log(np.clip(self.gt / self.p.g_max, 1e-3, None))
            slope, icpt = np.polyfit(lg, nu_hat, 1) if np.ptp(lg) > 0 else (0.0, nu_hat.mean())
            starts = [base, np.array([slope, icpt, 0.0, spread, 1.0])]
        else:
            starts = [np.array([float(np.mean(nu_hat)), spread, 1.0])]
        starts = sorted(starts, key=nll)
        scale = np.r_[np.full(k, 0.01), 0.1]
        theta, _, conv, fmin = maximize_likelihood(nll, starts[0], scale)
        cov = opg_covariance(contrib, theta, scale)
        if not self.programmed:
            theta[1] = abs(theta[1])
            self.boundary = _boundary_stderr(nll, theta, fmin, 1, cov)
            if self.boundary is not None:
                f = self.boundary["stderr"] / math.sqrt(cov[1, 1])
                cov[1, :] *= f
                cov[:, 1] *= f
        return theta[:k], cov[:k, :k], conv, fmin, float(theta[k]), float(np.sqrt(cov[k, k]))


def _boundary_stderr(nll, theta, fmin, i, cov):
    """Standard error of a spread parameter ``theta[i] >= 0`` near its bound 0: where the
    likelihood ratio of ``theta[i] = 0`` (others re-fitted) is not significant (p > 0.01
    under the 50:50 mixture of chi2_0 and chi2_1 that holds at a bound), the Wald error
    misleads (the likelihood is flat to second order there); the error is then the
    upper end of the 95 % profile-likelihood interval ``[0, upper]`` over 1.96 (the bound
    taken as 1.96 standard errors from 0). None otherwise."""
    def profile(v):
        rest = [j for j in range(theta.size) if j != i]

        def f(z):
            t = np.array(theta, float)
            t[rest] = z
            t[i] = v
            return nll(t)
        return optimize.minimize(f, theta[rest], method="Nelder-Mead",
                                 options={"xatol": 1e-9, "fatol": 1e-6}).fun

    lr = 2 * (profile(0.0) - fmin)
    if lr > 5.41:  # P(chi2_1 > 5.41)/2 = 0.01
        return None
    se = math.sqrt(cov[i, i]) if np.isfinite(cov[i, i]) else 0.01
    hi = theta[i] + 3 * se
    while 2 * (profile(hi) - fmin) < 3.84 and hi < 1.0:
        hi *= 2
    upper = optimize.brentq(lambda v: 2 * (profile(v) - fmin) - 3.84, theta[i], hi, xtol=1e-7)
    return {"lr": float(lr), "upper95": float(upper), "stderr": float(upper / 1.96)}


def _profile_t0(params, times, G, bins, V, t0_base):
    """Weighted residual sum of squares of the per-device fits against ln t0, the weights
    held fixed (from the fit at the current t0; weights that followed the fitted values
    would favour a t0 that raises them); two rounds. ``(t0, se of ln t0, identified)``."""
    pos = times[times > 0]
    lo = math.log(max(pos.min() / 1e3, 1e-6)) if pos.size else math.log(1e-6)
    # beyond the last read the pulsed law is flat at every read (t0 unidentified)
    top = times.max() if params.model == "pulsed" else 10 * times.max()
    hi = math.log(min(T0_MAX, top))
    u = math.log(t0_base)
    for _ in range(2):
        lnA, nu = per_device_fit(G, drift_x(params, times, math.exp(u)), bins, V)[:2]
        g = np.exp(lnA[:, None] - nu[:, None] * drift_x(params, times, math.exp(u)))
        W = 1.0 / (_rel(V, bins) * g * g)

        def S(v):
            return per_device_fit(G, drift_x(params, times, math.exp(v)), bins, W=W)[5]

        grid = np.linspace(lo, hi, 25)
        k = int(np.argmin([S(v) for v in grid]))
        a, b = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
        u = float(optimize.minimize_scalar(S, bounds=(a, b), method="bounded",
                                           options={"xatol": 1e-5}).x)
    h = 0.02
    curv = (S(u + h) - 2 * S(u) + S(u - h)) / h ** 2
    se = math.sqrt(2.0 / curv) if curv > 0 else math.inf
    ident = bool(np.isfinite(se) and se < 0.5 and u - lo > 3 * se and hi - u > 3 * se)
    return math.exp(u), se, ident


def _stages(params, times, G, gt_or_none, bins, V, t0):
    x = drift_x(params, times, t0)
    lnA, nu_hat, var, *_ = per_device_fit(G, x, bins, V)
    gt = gt_or_none if gt_or_none is not None else np.exp(lnA)
    hier = _Hier(params, gt)
    theta, cov, conv, fmin, kappa, se_kappa = hier.fit(nu_hat, var)
    return hier, theta, cov, conv, fmin, nu_hat, var * kappa, lnA, (kappa, se_kappa)


def fit_drift(data, base="joshi2020", *, fit_t0: bool | None = None, seed: int = 0,
              check: bool = True) -> FitResult:
    """Fit the drift-exponent distribution (and t0) by maximum likelihood, in two stages.

    1. Per device, weighted least squares of ``G(t_j) = G_p exp(-nu x_j)`` with ``x_j`` from
       the model's drift relation (``G_p`` the conductance before drift): the estimate
       ``nu_i`` and its variance ``v_i`` from the read noise, whose relative variance is
       pooled per time and per bin of devices (a read-noise law is not assumed; reads are
       taken as independent). Least squares in G, not in ln G, so that the read noise does
       not bias ``nu_i``.
    2. Maximum likelihood of the exponent distribution ``|N(mu(Gt), sd(Gt)^2)|`` (relations
       NU_MEAN/NU_STD, or NU_DEVICE for the pulsed model) over the devices, each ``nu_i``
       observed with a Gaussian error of variance ``kappa v_i`` (closed-form density;
       ``kappa`` ~ 1 is fitted too, as the pooled read-noise variances are themselves
       estimates, and reported in ``quality["read_noise_scale"]``). Maximum likelihood
       because the folded law and the per-device errors are exact there; standard errors
       from the outer product of the per-device scores (the relations' clips make the
       numerical Hessian depend on its step). Near its bound 0, where the likelihood ratio
       of 0 is not significant, the error of ``nu_dtod`` is the 95 % profile-likelihood
       upper bound over 1.96 (a Wald error is meaningless at a bound).

    ``t0`` is profiled (the weighted residual sum of squares of stage 1 against ln t0) and
    fitted where the read times identify it (a clear interior minimum, standard error of
    ln t0 below 0.5); its uncertainty is propagated into the other errors by the delta
    method (refits at t0 +- one standard error).

    Parameters
    ----------
    data : Measurements or path
        Drift data: ``device``, ``time`` (since programming, the same times for every
        device), ``conductance``, optional ``target`` (the Gt of NU_MEAN/NU_STD; without it
        the fitted ``G_p`` stands in, which puts the programming noise into Gt).
    base : str or DeviceParams
        The preset whose model, clips and other fields are kept.
    fit_t0 : bool, optional
        Fit t0 (True), keep the base's (False) or fit it where identified (None).
    seed : int
        Seed of the PIT simulation and of the posterior-predictive simulation.
    check : bool
        Run the posterior-predictive check (drift ratios per time).

    Returns
    -------
    FitResult
    """
    data = as_measurements(data, "drift")
    params = resolve_base(base, None, "drift")
    times, G = rectangle(data)
    src = data.source
    if times.size < 3:
        raise DatasetError(f"{src}: {times.size} read times are too few: the per-device fit "
                           f"of G_p and nu needs at least 3 (more for t0)")
    gt = per_device_target(data)
    zero = np.any(G <= 0, axis=1)  # a read clipped at 0: outside the Gaussian read model
    G, gt = G[~zero], (None if gt is None else gt[~zero])
    n = G.shape[0]
    programmed = params.model == "programmed"
    if n < 10:
        raise DatasetError(f"{src}: {n} devices are too few for a distribution of drift "
                           f"exponents; give at least 10")
    key = gt if gt is not None else np.median(G, axis=1)
    if programmed and np.unique(key).size < 2:
        raise DatasetError(f"{src}: every device has the same target {float(key[0]):.6g} S: the "
                           f"G-dependence of the drift exponent (nu_a, nu_c) needs >= 2 levels")
    n_bins = int(np.clip(n // 100, 1, 30))
    bins = _bins(key, n_bins)
    t0 = params.t0
    x = drift_x(params, times, t0)
    _, _, _, e, lev, _ = per_device_fit(G, x, bins)
    V = pooled_variance(e, lev, bins, n_bins, key)
    notes = [] if not np.any(zero) else [f"{int(zero.sum())} device(s) with a read clipped at 0 "
                                           f"left out"]
    notes += ["reads taken as independent, read noise Gaussian with a relative variance "
             "pooled per time and per bin of devices (no read-noise law assumed); reads "
             "clipped at 0 (relative read noise above ~0.3) bias the exponents: average "
             "repeated reads there"]
    if gt is None and programmed:
        notes.append("no target column: the fitted G before drift stands in for the target "
                     "Gt of the exponent relations (programming noise enters Gt)")
    se_u, t0_fitted = math.nan, False
    if fit_t0 is not False:
        t0_hat, se_u, ident = _profile_t0(params, times, G, bins, V, t0)
        if ident or fit_t0:
            t0, t0_fitted = t0_hat, True
        else:
            notes.append(f"t0 not identified by these read times (profile minimum "
                         f"{t0_hat:.3g} s, standard error of ln t0 {se_u:.3g}): the base's "
                         f"t0 = {params.t0!r} s kept")
    hier, theta, cov, conv, fmin, nu_hat, var, lnA, kappa = _stages(params, times, G, gt, bins,
                                                                    V, t0)
    if hier.boundary is not None:
        notes.append(f"nu_dtod is near its bound 0 (likelihood ratio {hier.boundary['lr']:.2f}, "
                     f"not significant): its standard error is the 95 % profile-likelihood "
                     f"interval [0, {hier.boundary['upper95']:.3g}] over 1.96")
    notes.append(f"stage-1 error variances of the exponents scaled by kappa = {kappa[0]:.3f} "
                 f"+- {kappa[1]:.2g} (fitted; 1 if the pooled read-noise variances are exact)")
    names = list(hier.names)
    if not programmed and theta[1] < 0:  # the law is even in nu_dtod
        theta[1] = -theta[1]
        cov[1, :] *= -1
        cov[:, 1] *= -1
    values = dict(zip(names, theta))
    if t0_fitted:
        du = se_u if np.isfinite(se_u) and se_u > 0 else 0.05
        th = []
        for sgn in (1, -1):
            t = np.array(_stages(params, times, G, gt, bins, V, t0 * math.exp(sgn * du))[1])
            th.append(t if programmed else np.abs(t))
        J = (th[0] - th[1]) / (2 * du)
        var_u = se_u ** 2 if np.isfinite(se_u) else math.inf
        full = np.zeros((len(names) + 1,) * 2)
        full[:-1, :-1] = cov + np.outer(J, J) * var_u
        full[:-1, -1] = full[-1, :-1] = J * var_u * t0
        full[-1, -1] = var_u * t0 ** 2
        values["t0"] = t0
        cov = full
    rng = np.random.default_rng(seed)
    mu, sd = hier.moments(np.abs(theta) if not programmed else theta)
    sims = np.abs(mu[:, None] + sd[:, None] * rng.standard_normal((n, 200))) \
        + np.sqrt(var)[:, None] * rng.standard_normal((n, 200))
    u = ((sims < nu_hat[:, None]).sum(1) + rng.uniform(size=n)) / 201
    quality = {"log_likelihood": float(-fmin), "n_params": len(values) + 1, "pit": pit_test(u),
               "read_noise_scale": {"kappa": kappa[0], "stderr": kappa[1]}, "notes": notes}
    result = make_result("drift", params, values, cov,
                         "maximum likelihood of the exponent distribution over per-device "
                         "weighted least-squares exponents; standard errors from the outer "
                         "product of the per-device scores (the exponent relations are "
                         "clipped), t0 by profile likelihood (delta method)",
                         data, quality)
    return judge(result, predictive, data, seed, check, conv)


def device_states(fit: FitResult, data: Measurements, times, G):
    """Per-device conductance before drift, from the per-device fit at the fitted t0."""
    params = fit._base_params
    t0 = fit.values.get("t0", params.t0)
    bins = np.zeros(G.shape[0], np.int64)
    lnA = per_device_fit(G, drift_x(params, times, t0), bins)[0]
    return np.exp(lnA)


def simulate_devices(params, states: np.ndarray, targets: np.ndarray | None, seed: int,
                     rep: int) -> PCMArray:
    """Devices of ``params`` at conductances ``states`` (repeated ``rep`` times), written at
    time 0: programmed model -- programmed to the targets (drawing each device's drift
    exponent from its target), then set to the state; pulsed -- exponents drawn by
    :class:`PCMArray`, then set to the state."""
    n = states.size * rep
    arr = PCMArray(n, params, seed)
    if params.model == "programmed":
        tg = np.tile(targets if targets is not None else states, rep)
        arr.program(np.clip(tg, params.g_min, params.g_max))
    state = arr.state_dict()
    state["arrays"]["G"] = np.clip(np.tile(states, rep), params.g_min, params.g_max)
    state["arrays"]["t_prog"] = np.zeros(n)
    return PCMArray.from_state(params, state)


def predictive(fit: FitResult, data: Measurements, seed: int = 0, n_sim: int = 2000) -> dict:
    """Devices of the fitted parameters at the data's fitted conductances before drift, read
    at the data's times with :meth:`PCMArray.read`; the ratio of each read to the first read
    of the device is compared per time with ``scipy.stats.ks_2samp``."""
    params = simulation_params(fit)
    times, G = rectangle(data)
    states = device_states(fit, data, times, G)
    gt = per_device_target(data)
    rep = max(1, -(-n_sim // states.size))
    arr = simulate_devices(params, states, gt, seed, rep)
    Gs = np.stack([arr.read(t=float(t)) for t in times], 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rd, rs = G / G[:, :1], Gs / Gs[:, :1]
    steps = np.broadcast_to(times, G.shape)[:, 1:]
    return ks_by_step(steps.ravel(), rd[:, 1:].ravel(), np.broadcast_to(times, Gs.shape)[:, 1:]
                      .ravel(), rs[:, 1:].ravel(), "time")
