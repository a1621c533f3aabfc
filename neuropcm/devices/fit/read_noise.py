"""Fit of the read-noise relation to repeated reads at fixed times: ``q_a, q_b`` of the 1/f
noise of the programmed-state model (:data:`~neuropcm.devices.physics.READ_STD_PROGRAMMED`)
or ``read_slope, read_offset`` of the pulsed model
(:data:`~neuropcm.devices.physics.READ_STD_PULSED`)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ...errors import DatasetError
from .. import physics as ph
from .data import Measurements, as_measurements
from .drift import drift_x, per_device_target, simulate_devices
from .result import (FitResult, judge, ks_by_step, make_result, maximize_likelihood,
                     opg_covariance, pit_test, resolve_base, simulation_params)

_BIG = 1e12


class _Groups:
    """The reads grouped by (device, time): size, mean, unbiased variance."""

    def __init__(self, data: Measurements):
        dev, t, g = data.device, data["time"], data["conductance"]
        times, tcol = np.unique(t, return_inverse=True)
        key = dev * times.size + tcol
        ukey, inv, count = np.unique(key, return_inverse=True, return_counts=True)
        if np.any(count < 2):
            i = int(np.flatnonzero(count[inv] < 2)[0])
            raise DatasetError(f"{data.source}: device {data.device_names[dev[i]]!r} has one "
                               f"read at time {float(t[i]):.6g} s; the read noise needs at least 2 "
                               f"reads of each device at each time")
        self.dev, self.time = ukey // times.size, times[ukey % times.size]
        self.count = count.astype(float)
        self.mean = np.bincount(inv, g) / count
        self.var = np.bincount(inv, (g - self.mean[inv]) ** 2) / (count - 1)
        self.zero = np.bincount(inv, (g <= 0).astype(float)) > 0
        self.times, self.inv = times, inv


def programmed_states(data: Measurements, grp: _Groups, params) -> tuple[np.ndarray, str]:
    """The conductance before drift of each device (the G of Q_s), and how it was found."""
    n = data.n_devices
    times = grp.times
    if times.size >= 2:
        x = drift_x(params, grp.time, params.t0)
        ln = np.log(np.maximum(grp.mean, 1e-30))
        sx, sy = np.bincount(grp.dev, x, n), np.bincount(grp.dev, ln, n)
        sxx, sxy = np.bincount(grp.dev, x * x, n), np.bincount(grp.dev, x * ln, n)
        k = np.bincount(grp.dev, minlength=n).astype(float)
        slope = (k * sxy - sx * sy) / np.where(k * sxx - sx * sx > 0, k * sxx - sx * sx,
                                               np.inf)
        return np.exp((sy - slope * sx) / k), ("per-device drift regression of the mean reads "
                                             "(base t0) extrapolated to the write")
    if times[0] == 0:
        return np.bincount(grp.dev, grp.mean, n), "mean reads at time 0 (no drift yet)"
    tg = per_device_target(data)
    if tg is None:
        t = float(times[0])
        raise DatasetError(f"{data.source}: reads at the single time {t:.6g} s do not give the "
                           f"programmed conductance of Q_s (drift has changed it); read at >= 2 "
                           f"times, at time 0, or give a target column")
    return tg, "targets (programming noise enters gn)"


def fit_read_noise(data, base="joshi2020", *, seed: int = 0, check: bool = True) -> FitResult:
    """Fit the read-noise relation by maximum likelihood on the sample variances.

    The reads of one device at one time scatter around their mean with the std of the
    read-noise relation at that mean; their unbiased sample variance ``s^2`` over ``R``
    reads follows ``sigma^2 chi2_{R-1}/(R-1)``, whose likelihood is maximised (the group
    means profile out the unknown drifted conductances, so the estimate is not biased by
    them). Maximum likelihood rather than least squares of ``s`` against ``sigma`` because
    the chi-square law of the variances is exact and weighs each group by its own noise.
    Standard errors from the outer product of the per-group scores (Q_s is clipped at
    q_max, so the likelihood can have kinks).

    Parameters
    ----------
    data : Measurements or path
        Read-noise data: ``device``, ``time`` (since programming), ``conductance``, with at
        least 2 reads of each device at each time; optional ``target``.
    base : str or DeviceParams
        The preset whose model and other fields (t0, t_read, q_max, g_max) are kept.
    seed : int
        Seed of the posterior-predictive simulation.
    check : bool
        Run the posterior-predictive check.

    Returns
    -------
    FitResult

    Notes
    -----
    The model draws a fresh read noise at every read (:meth:`PCMArray.read`); real 1/f
    noise is correlated in time, so repeated reads of a device scatter less than the
    relation says over long times: read each group over a short span. Groups holding a read
    clipped at 0 are left out (noted; this biases the fit where the relative noise is
    large). For the programmed model, the G of ``Q_s = q_a/(G/g_max)^q_b`` is the
    conductance before drift, taken from a per-device drift regression of the group means
    (>= 2 times), from reads at time 0, or from the targets.
    """
    data = as_measurements(data, "read-noise")
    params = resolve_base(base, None, "read-noise")
    grp = _Groups(data)
    src = data.source
    programmed = params.model == "programmed"
    names = ("q_a", "q_b") if programmed else ("read_slope", "read_offset")
    notes = ["reads taken as independent draws (fresh noise per read, as the model)"]
    keep = ~grp.zero
    if not np.all(keep):
        notes.append(f"{int((~keep).sum())} (device, time) groups with a read clipped at 0 "
                     f"left out")
    if keep.sum() < 10 * len(names):
        raise DatasetError(f"{src}: {int(keep.sum())} (device, time) groups are too few to fit "
                           f"{len(names)} parameters; give at least {10 * len(names)}")
    m, v, R, t = grp.mean[keep], grp.var[keep], grp.count[keep], grp.time[keep]
    if np.all(v == 0):
        raise DatasetError(f"{src}: repeated reads are all identical (no read noise): the "
                           f"likelihood has no maximum; nothing to fit")
    if programmed:
        states, how = programmed_states(data, grp, params)
        G = states[grp.dev[keep]]
        notes.append(f"G of Q_s from {how}")
        if np.unique(np.round(np.log(np.maximum(G, 1e-30)), 3)).size < 2:
            raise DatasetError(f"{src}: every device has the same conductance: the exponent "
                               f"q_b of Q_s needs >= 2 conductance levels")

    def sigma(theta):
        if programmed:
            return ph.READ_STD_PROGRAMMED.numpy(m, G, t, theta[0], params.g_max, theta[1],
                                                params.q_max, params.t0, params.t_read)
        return ph.READ_STD_PULSED.numpy(m, theta[0], theta[1])

    def contrib(theta):
        s2 = sigma(theta) ** 2
        return -0.5 * (R - 1) * (v / s2 + np.log(s2))

    def nll(theta):
        s = sigma(theta)
        if np.any(s <= 0):
            return _BIG * (1 + float(np.sum(s <= 0)))
        val = -float(np.sum(contrib(theta)))
        return val if np.isfinite(val) else _BIG

    if programmed:
        x0, scale = np.array([params.q_a or 0.01, params.q_b]), np.array([0.01, 0.1])
    else:
        A = np.stack([m, np.ones_like(m)], 1)
        x0 = np.linalg.lstsq(A, np.sqrt(v), rcond=None)[0]
        if np.any(A @ x0 <= 0):
            x0 = np.array([0.0, float(np.sqrt(np.mean(v)))])
        scale = np.array([0.01, 1e-7])
    theta, _, conv, fmin = maximize_likelihood(nll, x0, scale)
    cov = opg_covariance(contrib, theta, scale)
    values = dict(zip(names, theta))
    s2 = sigma(theta) ** 2
    u = stats.chi2.cdf((R - 1) * v / s2, R - 1)
    quality = {"log_likelihood": float(-fmin), "n_params": len(names), "pit": pit_test(u),
               "notes": notes}
    result = make_result("read-noise", params, values, cov,
                         "maximum likelihood (chi-square law of the sample variances); "
                         "standard errors from the outer product of the per-group scores",
                         data, quality)
    return judge(result, predictive, data, seed, check, conv)


def predictive(fit: FitResult, data: Measurements, seed: int = 0, n_sim: int = 2000) -> dict:
    """Devices of the fitted parameters at the data's conductances, read as often and when
    the data were (:meth:`PCMArray.read`); the deviations of the reads from their group
    mean, relative to it, are compared per time with ``scipy.stats.ks_2samp``."""
    params = simulation_params(fit)
    grp = _Groups(data)
    n = data.n_devices
    if params.model == "programmed":
        states, _ = programmed_states(data, grp, fit._base_params)
    else:  # the state before drift: the group mean undone by the base's drift exponent
        x = drift_x(params, grp.time, params.t0)
        states = np.bincount(grp.dev, grp.mean * np.exp(params.nu * x), n) / \
            np.bincount(grp.dev, minlength=n)
    rep = max(1, -(-n_sim // n))
    arr = simulate_devices(params, states, per_device_target(data), seed, rep)
    dev, t, g = data.device, data["time"], data["conductance"]
    rel_d = g / grp.mean[grp.inv] - 1
    sim_t, sim_r = [], []
    for tk in grp.times:
        reads = int(np.max(np.bincount(dev[t == tk], minlength=n)))
        has = np.tile(np.bincount(dev[t == tk], minlength=n) > 0, rep)
        rs = np.stack([arr.read(t=float(tk)) for _ in range(reads)], 1)[has]
        rel = rs / rs.mean(axis=1, keepdims=True) - 1
        sim_r.append(rel.ravel())
        sim_t.append(np.full(rel.size, tk))
    return ks_by_step(t, rel_d, np.concatenate(sim_t), np.concatenate(sim_r), "time")
