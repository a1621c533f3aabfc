"""Approximate message passing and the scores of one AMP run (compressed-sensing workload,
:mod:`neuropcm.workloads.computational_memory.compressed_sensing`): NMSE, the error floor,
the convergence rate, stability, and the choice of the threshold factor on a held-out
signal."""

from __future__ import annotations

import numpy as np

#: Iterations averaged into the error floor.
FLOOR_WINDOW = 5
#: A variant is "at its floor" from the first iteration within this many dB of it.
FLOOR_MARGIN_DB = 1.0
#: A run is stable when its floor is within this many dB of the lowest NMSE it reached
#: (a late rise means divergence or oscillation; AMP near its stability limit does both).
STABLE_MARGIN_DB = 1.0
#: The convergence rate is fitted on the iterations more than this many dB above the floor.
RATE_MARGIN_DB = 3.0


def nmse_db(x_hat: np.ndarray, x: np.ndarray) -> float:
    """``10 log10(||x_hat - x||^2 / ||x||^2)`` over all entries."""
    return float(10 * np.log10(np.sum((x_hat - x) ** 2) / np.sum(x ** 2)))


def amp(forward, adjoint, y, n: int, *, lam: float, iterations: int, onsager: bool = True,
        x_true=None, step=None):
    """Approximate message passing with soft thresholding, one column per signal.

    Parameters
    ----------
    forward, adjoint : callable
        ``forward(X)`` = A X for X (n, cols); ``adjoint(Z)`` = A^T Z for Z (M, cols).
    y : ndarray (M, cols)
        Measurements.
    n : int
        Signal length N.
    lam : float
        Threshold factor: ``theta = lam ||z|| / sqrt(M)`` per column.
    iterations : int
        AMP iterations.
    onsager : bool
        Keep the Onsager term ``(||x||_0 / M) z`` (False: plain iterative soft
        thresholding with the same threshold rule).
    x_true : ndarray (n, cols), optional
        The signal, for the NMSE of each iteration.
    step : callable, optional
        Called after each iteration (progress).

    Returns
    -------
    x : ndarray (n, cols)
        The estimate after the last iteration.
    nmse : ndarray (iterations,)
        NMSE (dB) per iteration (NaN without ``x_true``).
    b : ndarray (iterations,)
        Mean over columns of the Onsager coefficient ``||x||_0 / M`` per iteration.
    """
    y = np.asarray(y, dtype=float)
    M = y.shape[0]
    x = np.zeros((n, y.shape[1]))
    z = y.copy()
    nmse = np.full(iterations, np.nan)
    bs = np.empty(iterations)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is scored, not fatal
        for t in range(iterations):
            u = x + adjoint(z)
            theta = lam * np.linalg.norm(z, axis=0) / np.sqrt(M)
            x = np.sign(u) * np.maximum(np.abs(u) - theta, 0.0)
            b = np.count_nonzero(x, axis=0) / M
            z = y - forward(x) + (b * z if onsager else 0.0)
            bs[t] = b.mean()
            if x_true is not None:
                nmse[t] = nmse_db(x, x_true)
            if step is not None:
                step()
    return x, nmse, bs


def floor_and_iterations(nmse) -> tuple[float, int]:
    """The floor (mean of the last :data:`FLOOR_WINDOW` NMSE values, dB) and the first
    iteration (1-based) within :data:`FLOOR_MARGIN_DB` of it (0 if the floor is not
    finite: the run diverged)."""
    nmse = np.asarray(nmse, dtype=float)
    floor = float(nmse[-FLOOR_WINDOW:].mean())
    if not np.isfinite(floor):
        return floor, 0
    return floor, int(np.nonzero(nmse <= floor + FLOOR_MARGIN_DB)[0][0]) + 1


def is_stable(nmse) -> bool:
    """Whether an AMP run converged: every NMSE finite, the floor below 0 dB (better than
    the all-zero estimate) and within :data:`STABLE_MARGIN_DB` of the lowest NMSE of the
    run (no late rise)."""
    nmse = np.asarray(nmse, dtype=float)
    if not np.isfinite(nmse).all():
        return False
    floor = floor_and_iterations(nmse)[0]
    return bool(floor < 0.0 and floor <= nmse.min() + STABLE_MARGIN_DB)


def rate_window(nmse) -> int:
    """The iterations before the first one within :data:`RATE_MARGIN_DB` of the floor (0
    if the floor is not finite): the run's converging phase."""
    nmse = np.asarray(nmse, dtype=float)
    floor = floor_and_iterations(nmse)[0]
    if not np.isfinite(floor):
        return 0
    near = np.nonzero(nmse <= floor + RATE_MARGIN_DB)[0]
    return int(near[0]) if near.size else nmse.size


def convergence_rate(nmse, window: int | None = None) -> float:
    """The convergence rate (dB per iteration, negative while converging): the
    least-squares slope of NMSE(k) over the first ``window`` iterations (default
    :func:`rate_window`; to compare variants, give them all the shortest of their windows,
    so that every slope is taken over the same iterations). NaN if ``window < 2``."""
    nmse = np.asarray(nmse, dtype=float)
    k = rate_window(nmse) if window is None else int(window)
    if k < 2:
        return float("nan")
    return float(np.polyfit(np.arange(1, k + 1), nmse[:k], 1)[0])


def choose_lambda(lams, floors, stable) -> tuple[float, bool]:
    """The threshold factor with the lowest floor among the stable runs of a sweep (the
    smallest on ties), and True; if none is stable, the largest factor (the most damped
    run) and False.

    Parameters
    ----------
    lams, floors, stable : array_like
        The factors swept, the floor (dB) of each run and whether it was stable.
    """
    lams = np.asarray(lams, dtype=float)
    floors = np.asarray(floors, dtype=float)
    ok = np.asarray(stable, dtype=bool)
    if not ok.any():
        return float(lams.max()), False
    cand = np.flatnonzero(ok)
    best = cand[floors[cand] == floors[cand].min()]
    return float(lams[best].min()), True
