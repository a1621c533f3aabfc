"""Fit of the SET relation to accumulation curves (conductance after each SET pulse).

Pulsed model (Nandakumar 2018): ``set_a`` ... ``set_f`` (relations
:data:`~neuropcm.devices.physics.SET_MEAN`, :data:`~neuropcm.devices.physics.SET_STD`),
``pulse_memory`` (:data:`~neuropcm.devices.physics.PULSE_MEMORY`), ``set_dtod``
(:data:`~neuropcm.devices.physics.F_SET_DEVICE`), ``reset_mean``/``reset_std``
(:data:`~neuropcm.devices.physics.RESET_LEVEL`) and ``g_max`` where readings pile up at a
top level. Programmed-state model: its linear step ``set_step``/``set_step_std``
(:data:`~neuropcm.devices.physics.LINEAR_SET_MEAN`) and the RESET level.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import optimize

from ...errors import DatasetError
from ._steps import StepModel
from .data import Measurements, as_measurements
from .result import (block_diag, censored_normal_nll, censored_normal_pit, FitResult, judge,
                     make_result, maximize_likelihood, pit_test, resolve_base)
from .simulate import accumulation_predictive

_BIG = 1e12


class _Design:
    """The steps of accumulation data: consecutive reads of one device in one run."""

    def __init__(self, data: Measurements, params):
        c = data.columns
        dev = data.device
        run = c.get("run", np.zeros(dev.size))
        pulse = c["pulse"].astype(np.int64)
        amp = c.get("amplitude", np.ones(dev.size))
        g = c["conductance"]
        order = np.lexsort((pulse, run, dev))
        dev, run, pulse, amp, g = dev[order], run[order], pulse[order], amp[order], g[order]
        same = (dev[1:] == dev[:-1]) & (run[1:] == run[:-1])
        gap = same & (pulse[1:] != pulse[:-1] + 1)
        if np.any(gap):
            i = int(np.flatnonzero(gap)[0])
            raise DatasetError(f"{data.source}: device {data.device_names[dev[i]]!r} (run "
                               f"{run[i]:g}) jumps from pulse {pulse[i]} to {pulse[i + 1]}; give "
                               f"every pulse between the first and the last")
        self.dev, self.run, self.pulse, self.amp, self.g = dev, run, pulse, amp, g
        i = np.flatnonzero(same)
        self.prev, self.next = g[i], g[i + 1]
        self.k = pulse[i + 1]
        self.step_amp = amp[i + 1]
        self.step_dev = dev[i]
        self.reset = g[pulse == 0]
        self.n_dev = data.n_devices
        self.kmax = int(pulse.max())
        # clip levels: g_min of the base; g_max where readings pile up (>= 3 equal maxima)
        top = float(g.max())
        tol_top = 1e-9 * max(top, params.g_max)
        self.pile_up = int(np.sum(g >= top - tol_top)) >= 3
        self.lo = params.g_min
        self.hi = top if self.pile_up else params.g_max
        self.tol = 1e-9 * self.hi
        if g.max() > self.hi + self.tol:
            raise DatasetError(f"{data.source}: conductance {float(top):.6g} S exceeds g_max = "
                               f"{params.g_max!r} S of the base {params.provenance!r} and does "
                               f"not pile up at a clip; give a base with a larger g_max, e.g. "
                               f"get_preset({params.preset or 'nandakumar2018'!r}, "
                               f"g_max={top:.3g})")
        if g.min() < self.lo - self.tol:
            raise DatasetError(f"{data.source}: conductance {float(g.min()):.6g} S is below g_min "
                               f"= {params.g_min!r} S of the base {params.provenance!r}; give a "
                               f"base with a lower g_min")
        self.low = self.next <= self.lo + self.tol
        self.high = self.next >= self.hi - self.tol
        self.mid = ~(self.low | self.high)
        # devices whose every step is exactly 0: factor f_d = 0 (no SET response)
        moved = np.bincount(self.step_dev, (self.next != self.prev).astype(float), self.n_dev)
        n_steps = np.bincount(self.step_dev, minlength=self.n_dev)
        self.dead = (n_steps > 0) & (moved == 0)
        self.all_censored = np.bincount(self.step_dev, self.mid.astype(float), self.n_dev) == 0


def _within_bounds(model: StepModel, theta, params):
    """The likelihood's maximum within the bounds of the fields (L-BFGS-B) and the fields
    outside them, where the unconstrained maximum lies outside (e.g. ``set_c < 0`` for
    data without pulse memory); None where it lies inside."""
    meta = {f.name: f.metadata for f in dataclasses.fields(params)}
    scale = model.scale()
    bounds = []
    for k, sc in zip(model.names, scale):
        lo, hi = meta[k].get("lo"), meta[k].get("hi")
        if lo is not None and meta[k].get("lo_open"):
            lo = lo + 1e-6 * sc
        bounds.append((None if lo is None else lo / sc, None if hi is None else hi / sc))
    z = np.asarray(theta, float) / scale
    z[7] = abs(z[7])
    clipped = np.array([min(max(v, lo if lo is not None else -np.inf),
                            hi if hi is not None else np.inf) for v, (lo, hi) in zip(z, bounds)])
    if np.array_equal(clipped, z):
        return None
    outside = [k for k, a, b in zip(model.names, z, clipped) if a != b]

    def fg(x):
        v, g = model.nll(x * scale)
        return v, g * scale

    res = optimize.minimize(fg, clipped, jac=True, method="L-BFGS-B", bounds=bounds)
    return dict(zip(model.names, (float(v) for v in res.x * scale))), outside


def _fit_reset(values, lo, hi, tol):
    """ML of the RESET level, a normal censored at the clips; (mean, std, 2x2 cov, nll)."""
    v = np.asarray(values, float)
    if v.size and np.ptp(v) == 0:
        return float(v[0]), 0.0, np.zeros((2, 2)), 0.0, True
    sd0 = max(float(np.std(v)), 1e-3 * max(abs(float(np.mean(v))), 1e-9))

    def nll(t):
        if t[1] <= 0:
            return _BIG
        return censored_normal_nll(v, t[0], t[1], lo, hi, tol)

    x, cov, conv, fmin = maximize_likelihood(nll, [float(np.mean(v)), sd0], [sd0, sd0])
    return float(x[0]), float(x[1]), cov, fmin, conv


def fit_accumulation(data, base="nandakumar2018", *, seed: int = 0, check: bool = True,
                     nodes: int = 16) -> FitResult:
    """Fit the SET relation to accumulation curves by maximum likelihood.

    Each step from a read ``G_{k-1}`` to the next read ``G_k`` of a device is Gaussian,
    ``amp * f_d * N(mean(G_{k-1}, P_k), std(G_{k-1}, P_k)^2)``, with mean and std the
    relations SET_MEAN/SET_STD (pulsed) or the linear step (programmed model), ``P_k`` the
    pulse memory after ``k`` pulses since the last RESET (the relation PULSE_MEMORY applied
    ``k`` times, from the pulse index) and ``f_d`` the device factor ``N(1, set_dtod^2)``
    (pulsed model), integrated over with Gauss-Hermite quadrature (``nodes`` points) so
    that ``set_dtod`` is fitted jointly, from the correlation of the steps of one device.
    A step ending exactly at g_min or at g_max is censored: its likelihood is the tail
    probability of the clip. Maximum likelihood because the model is a full probability
    law of each step (least squares would ignore the state-dependent spread and the
    clips); standard errors from the inverse of the observed Fisher information (the
    numerical Hessian of the negative log-likelihood at the optimum). The RESET level is a
    separate censored-normal maximum likelihood on the pulse-0 reads.

    Parameters
    ----------
    data : Measurements or path
        Accumulation data: ``device``, ``pulse`` (0 = right after RESET), ``conductance``,
        optional ``amplitude`` (relative amplitude of the pulse that led to the read; the
        step scales linearly with it, as in :meth:`PCMArray.set_pulse`) and ``run`` (a
        RESET before each run). Devices may have different numbers of pulses (ragged),
        but no gaps.
    base : str or DeviceParams
        Preset whose other fields are kept; its model picks the relation, its ``g_min``
        (and ``g_max`` unless readings pile up at a top level) the clips.
    seed : int
        Seed of the randomised PIT values and of the posterior-predictive simulation.
    check : bool
        Run the posterior-predictive check (:func:`posterior_predictive`).
    nodes : int
        Gauss-Hermite nodes of the device-factor integral.

    Returns
    -------
    FitResult

    Notes
    -----
    The conductances are taken as the device states (as :attr:`PCMArray.conductance`, or
    reads averaged until their noise is negligible). A read noise of std ``s_r`` in the
    data adds about ``2 s_r^2`` to the variance of each step (absorbed mostly by
    ``set_e``) and, as an error in G, biases ``set_a`` and ``set_d`` towards 0; the
    goodness-of-fit tests then reject the fit when it matters. ``g_max`` is reported only
    where at least three reads equal the largest value (a pile-up at the clip; its
    standard error is 0, the level is read off the data). A device whose steps are all
    exactly 0 is taken as one with factor 0 (probability ``Phi(-1/set_dtod)``, the clip of
    F_SET_DEVICE). The values are the unconstrained maximum: where it lies outside the
    bounds of a field (e.g. ``set_c < 0`` for data without pulse memory, or the latent
    ``reset_mean`` below g_min when half the RESET reads sit at the clip),
    :meth:`FitResult.params` refuses it, and the posterior-predictive check simulates the
    maximum within the bounds (``quality["constrained_values"]``; a ``reset_mean`` below
    g_min by less than 3 standard errors at g_min).
    """
    data = as_measurements(data, "accumulation")
    params = resolve_base(base, None, "accumulation")
    pulsed = params.model == "pulsed"
    d = _Design(data, params)
    model = StepModel(d, pulsed, nodes)
    n_par = len(model.names)
    if d.prev.size < 5 * n_par or data.n_devices < (10 if pulsed else 2):
        raise DatasetError(f"{data.source}: {d.prev.size} SET steps on {data.n_devices} devices "
                           f"are too few to fit {n_par} step parameters; give at least "
                           f"{5 * n_par} steps and {10 if pulsed else 2} devices")
    theta = model.start(params)
    for _ in range(4):  # re-place the quadrature nodes until the estimate stays put
        model.freeze(theta)
        new, cov, conv, nll = maximize_likelihood(model.nll, theta, model.scale(), jac=True)
        moved = np.abs(new - theta) / np.sqrt(np.maximum(np.diag(cov), 1e-300))
        theta = new
        if not pulsed or np.all(moved < 0.05):
            break
    values = dict(zip(model.names, theta))
    quality_extra = {}
    if pulsed and theta[7] < 0:  # the likelihood is even in set_dtod
        values["set_dtod"] = -theta[7]
        cov[7, :] *= -1
        cov[:, 7] *= -1
    blocks = [cov]
    notes = [
        "conductances taken as device states (no read noise; see the fitter's Notes)",
        f"{int(d.low.sum())} steps at g_min and {int(d.high.sum())} at g_max treated as "
        f"censored (tail probability)",
    ]
    loglik = -nll
    if pulsed and np.any(d.dead):
        notes.append(f"{int(d.dead.sum())} device(s) never moved: taken as device factor 0 "
                     f"(probability Phi(-1/set_dtod)); left out of the PIT test")
    if d.reset.size >= 2:
        rm, rs, rcov, rnll, rconv = _fit_reset(d.reset, d.lo, d.hi, d.tol)
        values.update(reset_mean=rm, reset_std=rs)
        blocks.append(rcov)
        loglik -= rnll
        conv = conv and rconv
        if rs == 0:
            notes.append("all RESET reads are equal: reset_std = 0 exactly (standard errors 0)")
    else:
        notes.append("fewer than 2 reads at pulse 0: the RESET level is not fitted")
    if pulsed:
        found = _within_bounds(model, theta, params)
        if found is not None:
            quality_extra = {"constrained_values": found[0]}
            notes.append(f"the likelihood's maximum lies outside the bounds of {found[1]} "
                         f"(FitResult.params() refuses it); the posterior-predictive check "
                         f"simulated the maximum within the bounds "
                         f"(quality['constrained_values'])")
    if d.pile_up:
        values["g_max"] = d.hi
        blocks.append(np.zeros((1, 1)))
        notes.append(f"readings pile up at {d.hi:.6g} S: taken as g_max (exact)")
    full = block_diag(blocks)
    rng = np.random.default_rng(seed)
    quality = {"log_likelihood": float(loglik), "n_params": len(values), "notes": notes,
               **quality_extra}
    u = model.pit(theta, rng)
    if "reset_mean" in values and values["reset_std"] > 0:
        u = np.concatenate([u, censored_normal_pit(d.reset, values["reset_mean"],
                                                   values["reset_std"], d.lo, d.hi, d.tol,
                                                   rng)])
    quality["pit"] = pit_test(u)
    result = make_result("accumulation", params, values, full,
                         "maximum likelihood (device factor integrated by adaptive "
                         "Gauss-Hermite quadrature; clipped steps censored); standard errors "
                         "from the inverse observed Fisher information (numerical Hessian)",
                         data, quality)
    return judge(result, accumulation_predictive, data, seed, check, conv)
