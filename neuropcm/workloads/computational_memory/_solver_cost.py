"""Work of a mixed-precision solve against plain float64 CG on the same system, and the
model of the time/energy ratio behind the paper's "up to 6.8x" (Le Gallo et al., Nat.
Electron. 1, 246 (2018); seed tutorial section II).

Float64 work (flops, a multiply-add counts 2) of an ``n x n`` system with ``nnz`` stored
elements:

* plain CG, ``k`` iterations: one MVM (``2 nnz``) and the vector updates of a CG step
  (``p.q``, ``x += a p``, ``r -= a q``, ``r.r``, ``p = r + beta p``: :data:`CG_VECTOR_FLOPS`
  ``n``) each, ``k (2 nnz + 10 n)``;
* refinement, ``R`` refinements and ``m`` inner CG steps in all: ``R + 1`` residuals
  ``b - A x`` with their norms (``2 nnz + 3 n`` each), ``R`` updates ``x += z`` (``n``)
  and the vector updates of the ``m`` inner steps (``10 n`` each) on the host; the ``m``
  inner MVMs run on the crossbar.

Time (or energy) model: both solvers run their float64 work on the same host at the same
cost per flop, a crossbar MVM costs ``c`` flop-equivalents (time: its latency times the
host's flop rate, including moving ``n`` inputs and outputs; energy: its energy over the
host's energy per flop), host and crossbar do not overlap, and programming the crossbar
is not counted (it is amortised over the solves that reuse the matrix). Then

.. math::  \\frac{T_{CG}}{T_{mixed}} = \\frac{k (2 nnz + 10 n)}
           {(R + 1)(2 nnz + 3 n) + R n + 10 n m + c m},

bounded by its ``c -> 0`` limit, about ``k / (R + 1)`` for ``nnz >> n``: refinement wins
only by needing fewer float64 MVMs than CG. ``c`` is an assumption (no source in the
project gives the time or energy of Le Gallo's crossbar MVM against their POWER8/P100
host): it is swept (:data:`C_SWEEP`), and the break-even ``c* = (W_CG - W_mixed) / m``
(the largest ``c`` at which refinement still wins) is reported.
"""

from __future__ import annotations

import numpy as np

#: float64 flops per element of the vector updates of one CG step (module docstring).
CG_VECTOR_FLOPS = 10
#: Cost of one crossbar MVM in float64 flop-equivalents, swept (assumed, module docstring).
C_SWEEP = np.logspace(0, 8, 33)
#: The paper's system-level time/energy gain for large matrices (tutorial section II).
PAPER_GAIN = 6.8


def cg_flops(n: int, nnz: int, iterations: int) -> float:
    """float64 flops of ``iterations`` plain CG iterations: ``k (2 nnz + 10 n)``."""
    return float(iterations) * (2.0 * nnz + CG_VECTOR_FLOPS * n)


def refinement_flops(n: int, nnz: int, refinements: int, inner_mvms: int) -> float:
    """Host float64 flops of a refinement: ``(R + 1)(2 nnz + 3 n) + R n + 10 n m``."""
    R, m = float(refinements), float(inner_mvms)
    return (R + 1) * (2.0 * nnz + 3 * n) + R * n + CG_VECTOR_FLOPS * n * m


def gain(cg: float, mixed: float, inner_mvms: int, c) -> np.ndarray:
    """``T_CG / T_mixed = cg / (mixed + c m)`` for crossbar MVM costs ``c`` (flops)."""
    return cg / (mixed + np.asarray(c, dtype=float) * inner_mvms)


def break_even(cg: float, mixed: float, inner_mvms: int) -> float:
    """``c* = (cg - mixed) / m``: refinement is faster for crossbar MVMs cheaper than
    ``c*`` flop-equivalents (0 when it loses even with free crossbar MVMs; inf without
    crossbar MVMs)."""
    if inner_mvms == 0:
        return float("inf") if cg > mixed else 0.0
    return max((cg - mixed) / inner_mvms, 0.0)


def work(n: int, nnz: int, mixed_history, cg_history) -> dict:
    """Counts and ratios of one crossbar refinement against plain CG on the same system:
    refinements, crossbar MVMs, float64 MVMs and flops of both, the ``c -> 0`` gain
    bound and the break-even crossbar MVM cost."""
    R, m = mixed_history.iterations, int(mixed_history.mvms[-1])
    k = cg_history.iterations
    cg, mixed = cg_flops(n, nnz, k), refinement_flops(n, nnz, R, m)
    return {"refinements": R, "crossbar_mvms": m, "float64_mvms": R + 1,
            "cg_iterations": k, "cg_float64_mvms": k, "float64_flops": mixed,
            "cg_float64_flops": cg, "gain_bound": cg / mixed,
            "break_even_cost": break_even(cg, mixed, m)}
