"""
01. SET accumulation: simulated devices against the exact model
================================================================

The pulsed model of Nandakumar et al. (2018): every SET pulse adds a random,
state-dependent increment to a device's conductance. We apply 20 pulses to 2,000 devices
of the ``nandakumar2018`` preset and compare the ensemble mean and spread with the exact
distribution propagated on a grid (:func:`neuropcm.devices.theory.accumulation_moments`).
"""

import matplotlib.pyplot as plt
import numpy as np

from neuropcm import PCMArray, get_preset
from neuropcm.devices.theory import accumulation_moments

n_pulses = 20
g = PCMArray(2000, preset="nandakumar2018", seed=1)  # all devices start in RESET
mean, std = [g.conductance.mean()], [g.conductance.std()]
for _ in range(n_pulses):
    g.set_pulse()
    mean.append(g.conductance.mean())
    std.append(g.conductance.std())

exact_mean, exact_std = accumulation_moments(get_preset("nandakumar2018"), n_pulses)

k = np.arange(n_pulses + 1)
fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.fill_between(k, (exact_mean - exact_std) * 1e6, (exact_mean + exact_std) * 1e6,
                alpha=0.25, label="exact mean ± std")
ax.plot(k, exact_mean * 1e6, "C0-")
ax.errorbar(k, np.array(mean) * 1e6, np.array(std) * 1e6, fmt="o", ms=3, color="C1",
            label="2,000 simulated devices")
ax.set_xlabel("SET pulses since RESET")
ax.set_ylabel("conductance (µS)")
ax.legend()
fig.tight_layout()
