"""The result of a fit (:class:`FitResult`) and the numerics the fitters share: the
maximum-likelihood driver with standard errors from the observed information, and the
goodness-of-fit verdict."""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats

from ...errors import ParameterError, UnknownPresetError
from ..params import DeviceParams
from ..presets import get_preset

#: Family-wise level of the goodness-of-fit tests: ``quality["ok"]`` is False when any
#: test, Bonferroni-corrected, rejects the fitted model at this level.
ALPHA = 1e-3


@dataclass(frozen=True, eq=False)
class FitResult:
    """The fitted parameters of one relation, with their errors and a goodness of fit.

    Attributes
    ----------
    relation : str
        The fitter (``"accumulation"``, ``"programming"``, ``"drift"``, ``"read-noise"``,
        ``"temperature"``, ``"ensemble"``); the physics relations each one fits are listed
        in :data:`neuropcm.devices.fit.RELATIONS`.
    model : str
        ``"pulsed"`` or ``"programmed"``.
    base : str
        Name of the preset whose other fields are kept (``"custom"`` for a hand-built one).
    values : dict of str to float
        Fitted field -> value in SI (the unit of the field in the params class).
    stderr : dict of str to float
        Field -> standard error (SI); ``inf`` where the data do not identify it, 0 for a
        value read off the data exactly (a clip level where readings pile up).
    units : dict of str to str
        Field -> unit, as in the params class (``"S"``, ``"s"``, ``"J"``, ``"1"`` ...).
    covariance : ndarray
        Covariance of the fitted values, rows and columns in the order of ``list(values)``
        (read-only).
    method : str
        ``"maximum likelihood"`` or ``"least squares"``, and how the errors were obtained.
    n_devices : int
        Devices in the data.
    n_points : int
        Measurements (rows) in the data.
    quality : dict
        Goodness of fit: ``log_likelihood`` or ``chi2``/``dof``/``p_value``; ``pit``
        (Kolmogorov-Smirnov test of the probability-integral transforms of the data under
        the fitted model against U(0, 1)); ``ks`` (posterior predictive: per pulse, time,
        target bin or temperature, ``statistic``/``p_value`` of a two-sample test between
        the data and devices simulated from the fitted parameters); ``ok`` (False when a
        test rejects the model at the family-wise level :data:`ALPHA`, or when the fit did
        not converge); ``notes`` (assumptions and exclusions, in words).
    """

    relation: str
    model: str
    base: str
    values: dict
    stderr: dict
    units: dict
    covariance: np.ndarray
    method: str
    n_devices: int
    n_points: int
    quality: dict
    _base_params: DeviceParams | None = field(default=None, repr=False)

    def params(self) -> DeviceParams:
        """The base preset's parameters with the fitted values set (validated).

        Raises
        ------
        ParameterError
            A fitted value lies outside the physical bounds of its field, or breaks a rule
            between fields (the values are never clamped).
        """
        base = self._base_params if self._base_params is not None else get_preset(self.base)
        try:
            return base.replace(**self.values)
        except ParameterError as exc:
            ok = self.quality.get("ok")
            raise ParameterError(f"the fitted {self.relation} values are not valid "
                                 f"{self.model} parameters: {exc} (goodness of fit ok = {ok}; "
                                 f"the model may not describe these data)") from None

    def table(self) -> str:
        """Text table: field, value, standard error, unit (SI)."""
        rows = [("field", "value", "stderr", "unit")]
        for k, v in self.values.items():
            rows.append((k, f"{v:.6g}", f"{self.stderr[k]:.3g}", self.units[k] or "1"))
        w = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(w[i]) if i in (0, 3) else c.rjust(w[i])
                           for i, c in enumerate(r)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * x for x in w))
        return "\n".join(lines)

    def __repr__(self) -> str:
        vals = {k: float(f"{v:.4g}") for k, v in self.values.items()}
        return (f"FitResult(relation={self.relation!r}, model={self.model!r}, base="
                f"{self.base!r}, values={vals}, ok={self.quality.get('ok')}, "
                f"n_devices={self.n_devices})")


# ---------------------------------------------------------------------------- base presets
def resolve_base(base, model: str | None, fitter: str) -> DeviceParams:
    """The base parameters of a fit (a preset name or a params object), of ``model``."""
    if isinstance(base, DeviceParams):
        params = base
    elif isinstance(base, str):
        try:
            params = get_preset(base)
        except UnknownPresetError as exc:
            raise UnknownPresetError(f"base: {exc}") from None
    else:
        raise ParameterError(f"base = {base!r} must be a preset name or a DeviceParams object, "
                             f"e.g. base='joshi2020'")
    if model is not None and params.model != model:
        raise ParameterError(f"the {fitter} fit needs a {model!r} base, but base "
                             f"{params.provenance!r} is {params.model!r}; give e.g. "
                             f"base={'nandakumar2018' if model == 'pulsed' else 'joshi2020'!r}")
    return params


def make_result(relation: str, base: DeviceParams, values: dict, cov: np.ndarray, method: str,
                data, quality: dict) -> FitResult:
    """Assemble a :class:`FitResult` (units from the params class, errors from ``cov``)."""
    units = type(base).units()
    cov = np.array(cov, dtype=float).reshape(len(values), len(values))
    diag = np.diag(cov)
    stderr = {k: (math.sqrt(d) if np.isfinite(d) and d >= 0 else math.inf)
              for k, d in zip(values, diag)}
    cov.flags.writeable = False
    return FitResult(relation, base.model, base.preset or "custom",
                     {k: float(v) for k, v in values.items()}, stderr,
                     {k: units[k] for k in values}, cov, method, int(data.n_devices),
                     int(data.n_points), quality, base)


# ---------------------------------------------------------------------------- numerics
def block_diag(blocks) -> np.ndarray:
    """Block-diagonal matrix of square blocks."""
    n = sum(b.shape[0] for b in blocks)
    out = np.zeros((n, n))
    i = 0
    for b in blocks:
        k = b.shape[0]
        out[i:i + k, i:i + k] = b
        i += k
    return out


def hessian(f, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of the scalar function ``f`` at ``x`` with steps ``h``."""
    n = x.size
    H = np.empty((n, n))
    f0 = f(x)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h[i]
        H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = h[j]
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej)
                                 + f(x - ei - ej)) / (4 * h[i] * h[j])
    return H


def gradient(f, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Central-difference gradient."""
    g = np.empty(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h[i]
        g[i] = (f(x + e) - f(x - e)) / (2 * h[i])
    return g


def covariance_from_hessian(H: np.ndarray) -> tuple[np.ndarray, bool]:
    """Inverse of the observed information; parameters it does not identify get ``inf``
    variance. Returns ``(cov, identified)``."""
    d = np.sqrt(np.abs(np.diag(H)))
    d[d == 0] = 1.0
    Hs = H / np.outer(d, d)
    w, V = np.linalg.eigh(0.5 * (Hs + Hs.T))
    good = w > 1e-10 * max(w.max(), 1e-300)
    if np.all(good):
        return np.linalg.inv(Hs) / np.outer(d, d), True
    cov = (V[:, good] / w[good]) @ V[:, good].T / np.outer(d, d)
    weak = np.abs(V[:, ~good]).max(axis=1) > 1e-3
    cov[weak, :] = np.inf
    cov[:, weak] = np.inf
    return cov, False


def maximize_likelihood(nll, x0, scale, jac: bool = False):
    """Minimise a negative log-likelihood (BFGS), then polish by Newton steps with the
    numerical Hessian; return the estimate and the inverse observed information.

    Parameters
    ----------
    nll : callable
        Negative log-likelihood of the parameter vector (natural units; a large finite
        value where the parameters are invalid). With ``jac``, it returns ``(value,
        gradient)``.
    x0 : array
        Start.
    scale : array
        Typical magnitude of each parameter (the optimiser works in ``x/scale``).
    jac : bool
        Whether ``nll`` returns the gradient too (then the Hessian is the central
        difference of the gradient, else of the function).

    Returns
    -------
    x, cov, converged, nll_min
        The estimate, the inverse observed information (``inf`` rows for parameters the
        data do not identify), whether the optimum was reached, the minimum.
    """
    scale = np.asarray(scale, float)

    if jac:
        def fg(z):
            v, g = nll(z * scale)
            return float(v), np.asarray(g, float) * scale

        def f(z):
            return fg(z)[0]

        def grad(z, h):
            return fg(z)[1]

        def hess(z, h):
            H = np.empty((z.size, z.size))
            for i in range(z.size):
                e = np.zeros(z.size)
                e[i] = h[i]
                H[:, i] = (fg(z + e)[1] - fg(z - e)[1]) / (2 * h[i])
            return 0.5 * (H + H.T)
    else:
        def f(z):
            return float(nll(z * scale))

        fg = None
        grad = functools.partial(gradient, f)
        hess = functools.partial(hessian, f)

    z = np.asarray(x0, float) / scale
    res = optimize.minimize(fg if jac else f, z, jac=jac, method="BFGS",
                            options={"gtol": 1e-6, "maxiter": 2000})
    z = res.x
    h = 1e-4 * np.maximum(np.abs(z), 1.0)
    converged = False
    H = None
    for _ in range(6):
        H = hess(z, h)
        g = grad(z, h)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        dec = float(g @ step)
        if not np.all(np.isfinite(step)) or dec < 0:
            break
        if dec < 1e-6:
            converged = True
            break
        f0, t = f(z), 1.0
        while t > 1e-4 and f(z - t * step) > f0:
            t *= 0.5
        if t <= 1e-4:
            break
        z = z - t * step
        H = None
    if H is None:
        H = hess(z, h)
    cov, _ = covariance_from_hessian(H)
    cov = cov * np.outer(scale, scale)
    if not converged:
        g = grad(z, h)
        try:
            converged = bool(abs(g @ np.linalg.solve(H, g)) < 1e-3)
        except np.linalg.LinAlgError:
            converged = False
    return z * scale, cov, converged, f(z)


def opg_covariance(contributions, x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Covariance from the outer product of the per-unit scores (BHHH): ``inv(sum_i s_i
    s_i^T)`` with ``s_i`` the central-difference gradient of unit ``i``'s log-likelihood
    (``contributions(x)`` returns the vector of those). Consistent like the inverse
    Hessian under the model, and well defined where the likelihood has kinks (clipped
    relations), which make a numerical Hessian depend on its step."""
    x = np.asarray(x, float)
    cols = []
    for i in range(x.size):
        h = 1e-6 * max(abs(x[i]), scale[i])
        e = np.zeros(x.size)
        e[i] = h
        cols.append((contributions(x + e) - contributions(x - e)) / (2 * h))
    S = np.stack(cols, 1)
    cov, _ = covariance_from_hessian(S.T @ S)
    return cov


def pit_test(u: np.ndarray) -> dict:
    """Kolmogorov-Smirnov test of probability-integral transforms against U(0, 1)."""
    u = np.asarray(u, float)
    r = stats.kstest(u, "uniform")
    return {"statistic": float(r.statistic), "p_value": float(r.pvalue), "n": int(u.size)}


def judge(result: "FitResult", predictive, data, seed: int, check: bool,
          converged: bool) -> "FitResult":
    """The last step of every measurement fitter: the posterior-predictive check
    ``predictive(result, data, seed)`` into ``quality["ks"]`` (when ``check``; fitted
    parameters it cannot simulate are noted and make the fit not ``ok``), then
    :func:`verdict`. Returns ``result``."""
    quality = result.quality
    if check:
        try:
            quality["ks"] = predictive(result, data, seed)
        except ParameterError as exc:  # invalid fitted parameters: nothing to simulate
            quality["ks"] = {}
            quality.setdefault("notes", []).append(f"posterior-predictive check not run: "
                                                   f"{exc}")
            converged = False
    verdict(quality, converged)
    return result


def verdict(quality: dict, converged: bool) -> dict:
    """Set ``quality["ok"]``: converged, and no test rejects at the family-wise level
    :data:`ALPHA` (Bonferroni over the PIT test and the posterior-predictive steps)."""
    pvals = []
    if "pit" in quality:
        pvals.append([quality["pit"]["p_value"]])
    if "chi2_test" in quality:
        pvals.append([quality["chi2_test"]])
    ks = quality.get("ks")
    if ks and ks.get("p_value"):
        pvals.append(list(ks["p_value"]))
    ok = bool(converged)
    families = max(len(pvals), 1)
    for fam in pvals:
        if fam and min(fam) * len(fam) * families < ALPHA:
            ok = False
    quality["ok"] = ok
    quality["alpha"] = ALPHA
    quality["converged"] = bool(converged)
    return quality


def ks_by_step(step_data, x_data, step_sim, x_sim, variable: str) -> dict:
    """Two-sample Kolmogorov-Smirnov tests (``scipy.stats.ks_2samp``) between the data and
    the simulated devices at each step (pulse, time, target bin, temperature)."""
    out = {"variable": variable, "test": "ks_2samp", "step": [], "statistic": [],
           "p_value": [], "n_data": [], "n_sim": [], "data_mean": [], "data_std": [],
           "sim_mean": [], "sim_std": []}
    for s in np.unique(step_data):
        a = x_data[(step_data == s) & np.isfinite(x_data)]
        b = x_sim[(step_sim == s) & np.isfinite(x_sim)]
        if a.size < 2 or b.size < 2:
            continue
        r = stats.ks_2samp(a, b)
        out["step"].append(float(s))
        out["statistic"].append(float(r.statistic))
        out["p_value"].append(float(r.pvalue))
        out["n_data"].append(int(a.size))
        out["n_sim"].append(int(b.size))
        # what the fit report draws: the compared quantity's mean and spread per step
        out["data_mean"].append(float(a.mean()))
        out["data_std"].append(float(a.std(ddof=1)))
        out["sim_mean"].append(float(b.mean()))
        out["sim_std"].append(float(b.std(ddof=1)))
    return out


def censored_normal_nll(y, mu, sd, lo, hi, tol):
    """Negative log-likelihood of ``clip(N(mu, sd^2), lo, hi)`` observations ``y``: values
    within ``tol`` of a clip are censored (probability of the tail), others Gaussian."""
    from scipy.special import log_ndtr

    y, mu, sd = np.broadcast_arrays(np.asarray(y, float), mu, sd)
    low, high = y <= lo + tol, y >= hi - tol
    mid = ~(low | high)
    z = (y[mid] - mu[mid]) / sd[mid]
    out = np.sum(0.5 * z * z + np.log(sd[mid])) + 0.5 * math.log(2 * math.pi) * z.size
    out -= np.sum(log_ndtr((lo - mu[low]) / sd[low]))
    out -= np.sum(log_ndtr((mu[high] - hi) / sd[high]))
    return float(out)


def censored_normal_pit(y, mu, sd, lo, hi, tol, rng):
    """Randomised probability-integral transforms of censored-normal observations."""
    from scipy.special import ndtr

    y, mu, sd = np.broadcast_arrays(np.asarray(y, float), mu, sd)
    u = ndtr((y - mu) / sd)
    low, high = y <= lo + tol, y >= hi - tol
    u[low] = rng.uniform(0, 1, low.sum()) * ndtr((lo - mu[low]) / sd[low])
    top = ndtr((hi - mu[high]) / sd[high])
    u[high] = top + rng.uniform(0, 1, high.sum()) * (1 - top)
    return u


def simulation_params(fit: FitResult) -> DeviceParams:
    """The parameters to simulate a fit's devices with (the posterior-predictive checks):
    :meth:`FitResult.params`, except that a fitted value outside the bounds of its field
    by less than 3 standard errors -- an estimate of a parameter that sits on its bound,
    e.g. ``set_c = 0`` for data without pulse memory -- is moved onto the bound (noted in
    ``fit.quality["notes"]``). Anything else raises :class:`ParameterError`."""
    try:
        return fit.params()
    except ParameterError:
        pass
    base = fit._base_params if fit._base_params is not None else get_preset(fit.base)
    vals = dict(fit.values)
    inside = fit.quality.get("constrained_values")
    if inside:  # the fitter's maximum within the bounds
        vals.update(inside)
        try:
            return base.replace(**vals)
        except ParameterError:
            pass
    meta = {f.name: f.metadata for f in dataclasses.fields(base)}
    moved = []
    for k, v in list(vals.items()):
        lo, hi = meta[k].get("lo"), meta[k].get("hi")
        target = v
        if lo is not None and (v < lo or (meta[k].get("lo_open") and v == lo)):
            target = lo + (abs(lo) * 1e-9 + 1e-300 if meta[k].get("lo_open") else 0.0)
        elif hi is not None and v > hi:
            target = hi
        if target != v and abs(target - v) <= 3 * fit.stderr.get(k, 0.0):
            vals[k] = target
            moved.append(f"{k} = {v:.6g} -> {target:.6g} ({abs(target - v) / fit.stderr[k]:.2f} "
                         f"standard errors)")
    if not moved:
        return fit.params()
    params = base.replace(**vals)  # raises if still invalid
    fit.quality.setdefault("notes", []).append(
        "fitted values outside their bounds by less than 3 standard errors, simulated on the "
        "bound by the posterior-predictive check (FitResult.params() refuses them): "
        + "; ".join(moved))
    return params


def replace_values(base: DeviceParams, values: dict) -> DeviceParams | None:
    """``base`` with ``values``, or None where they are not valid parameters."""
    try:
        return base.replace(**values)
    except ParameterError:
        return None


def with_base(base: DeviceParams, **values) -> DeviceParams:
    """A bare copy of ``base`` with fields changed, validated (for trial parameters)."""
    return dataclasses.replace(base, **values)
