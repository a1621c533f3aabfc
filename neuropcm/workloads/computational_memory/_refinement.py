"""Mixed-precision iterative refinement (Le Gallo et al., Nat. Electron. 1, 246 (2018)) and
the float64 pieces of the ``solver`` workload: the model covariance matrices, their exact
Cholesky solvers and spectra, the inner conjugate gradient and plain float64 CG.

Refinement: ``x_0 = 0``; repeat ``r_k = b - A x_k`` (float64, exact ``A``), stop when
``||r_k|| / ||b|| < tol``, else ``x_{k+1} = x_k + z_k`` with ``z_k`` an inexact solution of
``A z = r_k`` from an inner solver (CG whose MVMs may run on a crossbar).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from ...errors import ParameterError

#: A refinement whose relative residual exceeds this has diverged and is stopped.
DIVERGED = 1e6


# ----------------------------------------------------------------------------- matrices
def dense_covariance(n: int, rho: float) -> np.ndarray:
    """``A_ij = rho^|i-j|`` (n x n): a model covariance matrix whose correlations decay away
    from the diagonal (the assumed stand-in for Le Gallo's model covariance matrices). It
    is SPD for ``0 < rho < 1``, with eigenvalues in ``((1-rho)/(1+rho), (1+rho)/(1-rho))``.
    """
    i = np.arange(n)
    return rho ** np.abs(i[:, None] - i[None, :]).astype(float)


def banded_covariance(n: int, rho: float, band: int, shift: float) -> sp.csr_matrix:
    """``rho^|i-j|`` for ``|i-j| <= band`` (0 outside) plus ``shift`` on the diagonal.

    Cut to a band the matrix is not positive definite in general (``rho = 0.9``,
    ``band = 12``: ``lambda_min ~ -0.34``); the diagonal shift makes it so (``+0.4``:
    ``lambda_min ~ 0.06``). Only the band is stored (sparse).
    """
    offs = np.arange(-band, band + 1)
    diagonals = [np.full(n - abs(k), rho ** abs(k) + (shift if k == 0 else 0.0)) for k in offs]
    return sp.diags(diagonals, offs, shape=(n, n), format="csr")


def _upper_banded(A: sp.spmatrix, band: int) -> np.ndarray:
    """LAPACK upper banded storage ``ab[band + i - j, j] = A[i, j]`` (i <= j)."""
    n = A.shape[0]
    ab = np.zeros((band + 1, n))
    for k in range(band + 1):
        ab[band - k, k:] = A.diagonal(k)
    return ab


class ExactSolver:
    """float64 Cholesky factorisation of the SPD matrix ``A`` (dense, or sparse with
    half-bandwidth ``band``), its solves and its extreme eigenvalues.

    Raises
    ------
    ParameterError
        ``A`` is not positive definite (the message gives ``lambda_min``).
    """

    def __init__(self, A, band: int | None = None, what: str = "A", fix: str = ""):
        self.banded = sp.issparse(A)
        if self.banded:
            ab = _upper_banded(A, band)
            lam = sla.eigvals_banded(ab, lower=False, select="i",
                                     select_range=(0, 0))[0], \
                sla.eigvals_banded(ab, lower=False, select="i",
                                   select_range=(A.shape[0] - 1, A.shape[0] - 1))[0]
        else:
            w = np.linalg.eigvalsh(A)
            lam = w[0], w[-1]
        self.lambda_min, self.lambda_max = float(lam[0]), float(lam[1])
        if not self.lambda_min > 0:
            raise ParameterError(f"{what} is not positive definite (lambda_min = "
                                 f"{self.lambda_min:.3g}): CG and the refinement need an SPD "
                                 f"matrix{'; ' + fix if fix else ''}")
        self._f = sla.cholesky_banded(ab, lower=False) if self.banded else sla.cho_factor(A)

    @property
    def condition_number(self) -> float:
        """``lambda_max / lambda_min`` (2-norm condition number of the SPD matrix)."""
        return self.lambda_max / self.lambda_min

    def solve(self, r: np.ndarray) -> np.ndarray:
        """``A^{-1} r`` in float64."""
        if self.banded:
            return sla.cho_solve_banded((self._f, False), r)
        return sla.cho_solve(self._f, r)


# ----------------------------------------------------------------------------- solvers
def inner_cg(op, r: np.ndarray, steps: int) -> tuple[np.ndarray, int]:
    """At most ``steps`` conjugate-gradient steps on ``op z = r`` from ``z = 0``.

    The input is scaled to unit norm (what a crossbar's inputs see) and the result scaled
    back. CG stops early if the curvature ``p . (op p)`` is not positive (possible when
    ``op`` is a noisy crossbar read of an SPD matrix: CG is undefined there) or the
    residual vanishes.

    Returns
    -------
    z : ndarray
        The approximate solution.
    mvms : int
        MVMs with ``op`` used.
    """
    s = float(np.linalg.norm(r))
    z = np.zeros_like(r, dtype=float)
    if s == 0.0:
        return z, 0
    res = r / s
    p = res.copy()
    rr = float(res @ res)
    mvms = 0
    for _ in range(steps):
        q = np.asarray(op @ p, dtype=float)
        mvms += 1
        curv = float(p @ q)
        if not (np.isfinite(curv) and curv > 0):
            break
        a = rr / curv
        z += a * p
        res -= a * q
        rn = float(res @ res)
        if rn == 0.0:
            break
        p = res + (rn / rr) * p
        rr = rn
    return s * z, mvms


@dataclass
class History:
    """Curves of one solve, one entry per outer iteration (``k = 0`` is ``x = 0``):
    ``||b - A x|| / ||b||``, ``||x - x*|| / ||x*||``, ``||x - x*||`` (the paper's Fig. 8b
    axis; ``x*`` the float64 direct solution), cumulative inner MVMs and device reads."""

    relative_residual: list = field(default_factory=list)
    relative_error: list = field(default_factory=list)
    error_norm: list = field(default_factory=list)
    mvms: list = field(default_factory=list)
    device_reads: list = field(default_factory=list)
    x: np.ndarray | None = None
    converged: bool = False

    @property
    def iterations(self) -> int:
        """Outer iterations (refinements) done, or CG iterations for plain CG."""
        return len(self.relative_residual) - 1

    @property
    def final(self) -> float:
        """The last relative residual."""
        return float(self.relative_residual[-1])


def _record(h: History, A, b, x, x_ref, nb, mvms, reads):
    rel = float(np.linalg.norm(b - A @ x) / nb)
    h.relative_residual.append(rel)
    e = float(np.linalg.norm(x - x_ref))
    h.error_norm.append(e)
    h.relative_error.append(e / float(np.linalg.norm(x_ref)))
    h.mvms.append(mvms)
    h.device_reads.append(reads)
    return rel


def refine(A, b, inner: Callable, tol: float, max_outer: int, x_ref,
           reads: Callable[[], int] | None = None,
           on_step: Callable[[int, float], None] | None = None) -> History:
    """Iterative refinement with the inner solver ``inner(r) -> (z, mvms)``.

    Parameters
    ----------
    A : ndarray or sparse matrix
        The exact matrix (residuals in float64).
    b : ndarray
        Right-hand side.
    inner : callable
        Inexact solve of ``A z = r``.
    tol : float
        Stop when ``||b - A x|| / ||b|| < tol``.
    max_outer : int
        Most refinements; a residual above :data:`DIVERGED` (or not finite) also stops.
    x_ref : ndarray
        The float64 direct solution, for the error curve ``||x - x_ref|| / ||x_ref||``.
    reads : callable, optional
        Cumulative device reads so far (crossbar inner solvers).
    on_step : callable, optional
        ``on_step(k, relative_residual)`` after each residual.
    """
    h = History()
    nb = float(np.linalg.norm(b))
    x = np.zeros_like(b, dtype=float)
    mvms = 0
    for k in range(max_outer + 1):
        rel = _record(h, A, b, x, x_ref, nb, mvms, reads() if reads else 0)
        if on_step is not None:
            on_step(k, rel)
        if rel < tol:
            h.converged = True
            break
        if not np.isfinite(rel) or rel > DIVERGED or k == max_outer:
            break
        z, m = inner(b - A @ x)
        x = x + z
        mvms += m
    h.x = x
    return h


def plain_cg(A, b, tol: float, max_iterations: int, x_ref) -> History:
    """Conjugate gradient in float64 on ``A x = b`` from ``x = 0`` until the true relative
    residual ``||b - A x|| / ||b|| < tol`` (recorded every iteration; one MVM each, the
    check itself not counted)."""
    h = History()
    nb = float(np.linalg.norm(b))
    x = np.zeros_like(b, dtype=float)
    res = b.astype(float).copy()
    p = res.copy()
    rr = float(res @ res)
    for k in range(max_iterations + 1):
        rel = _record(h, A, b, x, x_ref, nb, k, 0)
        if rel < tol:
            h.converged = True
            break
        if k == max_iterations or rr == 0.0:
            break
        q = A @ p
        a = rr / float(p @ q)
        x += a * p
        res -= a * q
        rn = float(res @ res)
        p = res + (rn / rr) * p
        rr = rn
    h.x = x
    return h
