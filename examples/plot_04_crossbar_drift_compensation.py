"""
04. A crossbar drifting, with and without drift compensation
============================================================

A random 64 x 64 matrix stored on ``joshi2020`` devices (differential mapping), read at
times from 1 s to one year after programming. Drift shrinks every conductance; a global
compensation (one factor, measured with calibration inputs) undoes most of the shrinkage.
The error is the relative norm of ``xb @ x - W @ x`` over 32 input vectors.
"""

import matplotlib.pyplot as plt
import numpy as np

from neuropcm.crossbar import Crossbar

rng = np.random.default_rng(0)
W = rng.normal(size=(64, 64))
X = rng.uniform(-1, 1, size=(64, 32))
exact = W @ X
times = np.logspace(0, 7.5, 9)  # s

fig, ax = plt.subplots(figsize=(6.4, 3.6))
for comp in (None, "global"):
    xb = Crossbar(W, preset="joshi2020", mapping="differential", seed=4,
                  drift_compensation=comp)
    errors, now = [], 0.0
    for t in times:
        xb.advance(t - now)
        now = t
        y = xb @ X
        errors.append(np.linalg.norm(y - exact) / np.linalg.norm(exact))
    ax.plot(times, errors, "o-", label=f"compensation: {comp or 'none'}")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("time since programming (s)")
ax.set_ylabel("relative MVM error")
ax.legend()
fig.tight_layout()
