"""Fit of the SET relation to published summary curves: the ensemble mean (and std) of the
conductance after a few SET pulses from RESET, as papers quote them.

A summary file (CSV) has one quoted point a row::

    curve,pulse,g_max [uS],mean [uS],mean_se [uS],std [uS],std_se [uS]

``curve`` is ``mean_field`` (the noise-free iteration of the mean step from the RESET
mean) or ``ensemble`` (mean and std over devices, clips included); ``g_max`` is the clip
the curve was made with; ``std``/``std_se`` may be empty where only the mean is quoted;
the ``_se`` columns are the uncertainties of the quoted numbers (rounding, Monte-Carlo
error). Lines starting with ``#`` are comments (the source).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import optimize, stats

from ...errors import DatasetError, ParameterError
from .. import physics as ph
from ..theory import accumulation_moments
from .data import _CONDUCTANCE, csv_table
from .result import FitResult, make_result, resolve_base, verdict

#: The fields the mean curves identify (the default).
MEAN_FIELDS = ("set_a", "set_b", "set_c", "pulse_memory")
#: Fields an ensemble fit may free.
FIELDS = MEAN_FIELDS + ("set_d", "set_e", "set_f", "reset_mean", "reset_std")
CURVES = ("mean_field", "ensemble")
_COLUMNS = {"curve": None, "pulse": None, "g_max": "S", "mean": "S", "mean_se": "S",
            "std": "S", "std_se": "S"}


@dataclass(frozen=True, eq=False)
class EnsembleData:
    """Quoted points of summary curves, SI (S); ``std``/``std_se`` NaN where not quoted."""

    curve: np.ndarray
    pulse: np.ndarray
    g_max: np.ndarray
    mean: np.ndarray
    mean_se: np.ndarray
    std: np.ndarray
    std_se: np.ndarray
    source: str

    @property
    def n_points(self) -> int:
        """Number of quoted points (rows of the summary file, both curves)."""
        return int(self.pulse.size)

    n_devices = 0  # summary curves carry no device-level data



def _check_header(header: list, src: str) -> None:
    """Every column is a summary column, conductances carry a conductance unit, and the
    required columns are there (neuropcm/data/README.md gives the format)."""
    names = [n for n, _ in header]
    for n, u in header:
        if n not in _COLUMNS:
            raise DatasetError(f"{src}: unknown column {n!r}; summary columns: {list(_COLUMNS)}")
        if _COLUMNS[n] and u not in _CONDUCTANCE:
            raise DatasetError(f"{src}: column {n!r} needs a conductance unit such as [uS], got "
                               f"{u!r}")
    missing = [c for c in ("curve", "pulse", "g_max", "mean", "mean_se") if c not in names]
    if missing:
        raise DatasetError(f"{src}: summary data need the column(s) {missing}")

def read_ensemble(path) -> EnsembleData:
    """Read a summary-curve CSV (see the module docstring); one-line errors on bad input."""
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise DatasetError(f"summary file {src!r} does not exist (or is not a file)")
    header, cols, _ = csv_table(path.read_bytes(), src,
                                "curve,pulse,g_max [uS],mean [uS],mean_se [uS]",
                                lambda header: _check_header(header, src))
    names = [n for n, _ in header]
    out = {}
    for n, (_, u) in zip(names, header):
        if n == "curve":
            bad = [c for c in cols[n] if c not in CURVES]
            if bad:
                raise DatasetError(f"{src}: curve {bad[0]!r} is not one of {list(CURVES)}")
            out[n] = np.array(cols[n])
            continue
        try:
            v = np.array([float(c) if c else np.nan for c in cols[n]])
        except ValueError:
            raise DatasetError(f"{src}: column {n!r} holds a value that is not a number") from None
        out[n] = v * (_CONDUCTANCE[u] if _COLUMNS[n] else 1.0)
    for n in ("std", "std_se"):
        out.setdefault(n, np.full(out["pulse"].size, np.nan))
    p = out["pulse"]
    if np.any(~np.isfinite(p) | (p < 1) | (p != np.round(p))):
        raise DatasetError(f"{src}: pulse numbers must be whole numbers >= 1")
    for n in ("g_max", "mean", "mean_se"):
        if np.any(~np.isfinite(out[n]) | (out[n] <= 0)):
            raise DatasetError(f"{src}: every {n} must be a positive number")
    if np.any(np.isfinite(out["std"]) & ~(out["std_se"] > 0)):
        raise DatasetError(f"{src}: a quoted std needs a positive std_se")
    out["pulse"] = p.astype(np.int64)
    return EnsembleData(source=src, **out)


def mean_field_curve(params, n_pulses: int) -> np.ndarray:
    """Noise-free iteration of the mean SET step from the RESET mean (relations
    PULSE_MEMORY, SET_MEAN, SET_UPDATE with zero spread): G after 0..n_pulses pulses."""
    g, p = params.reset_mean, 1.0
    out = [g]
    for _ in range(n_pulses):
        p = float(ph.PULSE_MEMORY.numpy(p, params.pulse_memory))
        step = float(ph.SET_MEAN.numpy(g, p, params.set_a, params.set_b, params.set_c))
        g = float(ph.SET_UPDATE.numpy(g, 1.0, step, 0.0, 0.0, params.g_min, params.g_max))
        out.append(g)
    return np.array(out)


def curves(params, data: EnsembleData, n_grid: int = 201):
    """The model's mean and std (S) at each quoted point (std NaN for mean-field points)."""
    mean = np.empty(data.n_points)
    std = np.full(data.n_points, np.nan)
    for kind in CURVES:
        for gm in np.unique(data.g_max[data.curve == kind]):
            sel = (data.curve == kind) & (data.g_max == gm)
            p = params.replace(g_max=float(gm))
            k = int(data.pulse[sel].max())
            if kind == "mean_field":
                mean[sel] = mean_field_curve(p, k)[data.pulse[sel]]
            else:
                m, s = accumulation_moments(p, k, n_grid=n_grid)
                mean[sel], std[sel] = m[data.pulse[sel]], s[data.pulse[sel]]
    return mean, std


def fit_ensemble(data, base="nandakumar2018", *, fields=None, n_grid: int = 201) -> FitResult:
    """Fit fields of the pulsed model to quoted summary curves by least squares.

    Residuals ``(model - quoted)/se`` of every quoted mean (and, when a std field
    ``set_d``/``set_e``/``set_f`` is fitted, every quoted std): the model's mean-field
    curve is the noise-free iteration of SET_MEAN from the RESET mean
    (:func:`mean_field_curve`), its ensemble curves the exact grid propagation of
    :func:`~neuropcm.devices.theory.accumulation_moments` with the curve's g_max. Least
    squares because summary points come with an uncertainty but without a distribution
    (the quoted ``se``); with the ``se`` taken as known, the chi-square of the residuals
    tests the fit and the standard errors are ``(J^T J)^-1`` from the Jacobian, not
    rescaled.

    Parameters
    ----------
    data : EnsembleData or path
        Summary curves (:func:`read_ensemble`).
    base : str or DeviceParams
        Pulsed preset whose other fields are kept (and that starts the fit).
    fields : sequence of str, optional
        Fields to fit (from :data:`FIELDS`); default :data:`MEAN_FIELDS`.
    n_grid : int
        Grid points of the ensemble propagation.

    Returns
    -------
    FitResult
    """
    if not isinstance(data, EnsembleData):
        data = read_ensemble(data)
    params = resolve_base(base, "pulsed", "ensemble")
    fields = tuple(MEAN_FIELDS if fields is None else fields)
    bad = [f for f in fields if f not in FIELDS]
    if bad or not fields:
        raise ParameterError(f"fields {bad or list(fields)} cannot be fitted to summary curves; "
                             f"choose from {list(FIELDS)}")
    use_std = any(f in ("set_d", "set_e", "set_f") for f in fields)
    has_std = np.isfinite(data.std) & (data.curve == "ensemble")
    n_res = data.n_points + (int(has_std.sum()) if use_std else 0)
    if n_res <= len(fields):
        raise DatasetError(f"{data.source}: {n_res} quoted points cannot fit {len(fields)} "
                           f"fields; quote more points or fit fewer fields")
    meta = {f.name: f.metadata for f in dataclasses.fields(params)}
    x0 = np.array([getattr(params, f) for f in fields], float)
    scale = np.array([max(abs(v), 1e-8) for v in x0])
    lo = np.array([(meta[f]["lo"] if meta[f]["lo"] is not None else -np.inf) for f in fields])
    hi = np.array([(meta[f]["hi"] if meta[f]["hi"] is not None else np.inf) for f in fields])
    lo = np.where([meta[f]["lo_open"] for f in fields], lo + 1e-9 * scale, lo)
    x0 = np.clip(x0, lo + 1e-12 * scale, hi - 1e-12 * scale)

    def resid(z):
        try:
            p = params.replace(**dict(zip(fields, z * scale)))
        except ParameterError:
            return np.full(n_res, 1e3)
        m, s = curves(p, data, n_grid)
        r = (m - data.mean) / data.mean_se
        if use_std:
            r = np.concatenate([r, (s[has_std] - data.std[has_std]) / data.std_se[has_std]])
        return r

    res = optimize.least_squares(resid, x0 / scale, bounds=(lo / scale, hi / scale),
                                 method="trf", x_scale=1.0)
    J = res.jac
    cov = np.linalg.pinv(J.T @ J) * np.outer(scale, scale)
    values = dict(zip(fields, res.x * scale))
    chi2 = float(np.sum(res.fun ** 2))
    dof = n_res - len(fields)
    p_value = float(stats.chi2.sf(chi2, dof))
    at_bound = [f for f, z, a, b, sc in zip(fields, res.x * scale, lo, hi, scale)
                if abs(z - a) <= 1e-6 * sc or abs(z - b) <= 1e-6 * sc]
    notes = ["summary data: each quoted number's se taken as known (not rescaled)"]
    if not use_std and np.any(has_std):
        notes.append("quoted stds not used: no std field (set_d, set_e, set_f) is fitted")
    if at_bound:
        notes.append(f"{at_bound} at a bound of its field: the fit is constrained there")
    quality = {"chi2": chi2, "dof": int(dof), "p_value": p_value, "chi2_test": p_value,
               "n_params": len(fields), "residuals": [float(r) for r in res.fun],
               "notes": notes}
    verdict(quality, bool(res.success) and not at_bound)
    return make_result("ensemble", params, values, cov,
                       "least squares (residuals scaled by the quoted uncertainties); standard "
                       "errors (J^T J)^-1 from the Jacobian", data, quality)
