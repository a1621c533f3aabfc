"""
02. Drift and read noise of programmed devices
===============================================

The programmed-state model of Joshi et al. (2020): devices programmed to four target
levels drift as ``G(t) = G ((t + t0)/t0)^-nu`` with a state-dependent exponent, and every
read adds 1/f noise. :meth:`~neuropcm.devices.PCMArray.read_moments` gives the read
distribution without reading; :meth:`~neuropcm.devices.PCMArray.read` draws reads.
"""

import matplotlib.pyplot as plt
import numpy as np

from neuropcm import PCMArray

levels = np.array([2e-6, 6e-6, 12e-6, 20e-6])  # S
per_level = 500
g = PCMArray(levels.size * per_level, preset="joshi2020", seed=2)
g.program(np.repeat(levels, per_level))

times = np.logspace(0, 6, 13)  # s after programming
mean = np.empty((times.size, levels.size))
spread = np.empty_like(mean)
elapsed = 0.0
for i, t in enumerate(times):
    g.advance(t - elapsed)
    elapsed = t
    r = g.read().reshape(levels.size, per_level)  # drifted conductance + read noise
    mean[i], spread[i] = r.mean(axis=1), r.std(axis=1)

fig, ax = plt.subplots(figsize=(6.4, 3.6))
for j, level in enumerate(levels):
    ax.errorbar(times, mean[:, j] * 1e6, spread[:, j] * 1e6, fmt="o-", ms=3, capsize=2,
                label=f"target {level * 1e6:.0f} µS")
ax.set_xscale("log")
ax.set_xlabel("time since programming (s)")
ax.set_ylabel("read conductance (µS)")
ax.legend(fontsize="small")
fig.tight_layout()
