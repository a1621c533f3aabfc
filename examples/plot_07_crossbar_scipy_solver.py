"""
07. A scipy solver on a PCM crossbar
====================================

A :class:`~neuropcm.crossbar.Crossbar` is a ``scipy.sparse.linalg.LinearOperator``, so
scipy's iterative solvers run on it unchanged. Conjugate gradients on a symmetric
positive-definite matrix stored in PCM stall at the crossbar's precision; the ``solver``
workload adds mixed-precision iterative refinement on top (Le Gallo et al. 2018).
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.sparse.linalg import cg

from neuropcm.crossbar import Crossbar

rng = np.random.default_rng(3)
n = 64
Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
A = Q @ np.diag(np.linspace(1, 10, n)) @ Q.T  # SPD, condition number 10
b = rng.normal(size=n)
x_true = np.linalg.solve(A, b)

fig, ax = plt.subplots(figsize=(6.4, 3.6))
for label, op in (("float64", A), ("PCM crossbar (4 devices per weight)",
                                   Crossbar(A, preset="joshi2020", seed=7,
                                            devices_per_weight=4))):
    iterates = []
    cg(op, b, maxiter=40, rtol=1e-12, callback=lambda xk, out=iterates: out.append(xk.copy()))
    errors = [np.linalg.norm(xk - x_true) / np.linalg.norm(x_true) for xk in iterates]
    ax.semilogy(np.arange(1, len(errors) + 1), errors, "o-", ms=3, label=label)
ax.set_xlabel("CG iteration")
ax.set_ylabel("relative error of x")
ax.legend()
fig.tight_layout()
