"""
09. Fit the device model to accumulation measurements
=====================================================

:func:`neuropcm.devices.fit.fit_accumulation` fits the SET relation (mean and spread of
the step, pulse memory, device-to-device factor, RESET level) to accumulation curves by
maximum likelihood, with standard errors. We fit the example shipped with the package
(300 devices x RESET + 20 SET pulses, *simulated* from ``nandakumar2018``, not measured),
then simulate devices of the fitted preset and draw them over the data.
"""

from importlib.resources import files

import matplotlib.pyplot as plt
import numpy as np

from neuropcm import PCMArray
from neuropcm.devices.fit import fit_accumulation, read_measurements

path = files("neuropcm.data") / "example_accumulation.csv"
res = fit_accumulation(path, base="nandakumar2018", check=False)
for name in ("set_a", "set_b", "set_c", "reset_mean"):
    print(f"{name} = {res.values[name]:.4g} ± {res.stderr[name]:.2g} {res.units[name]}")

data = read_measurements(path)
params = res.params()                      # the base preset with the fitted values
sim = PCMArray(2000, preset=params, seed=9)
sim_mean = [sim.conductance.mean()]
for _ in range(20):
    sim.set_pulse()
    sim_mean.append(sim.conductance.mean())

fig, ax = plt.subplots(figsize=(6.4, 3.6))
pulse = np.asarray(data.columns["pulse"])
g = np.asarray(data.columns["conductance"])     # S, as every reader converts to SI
jitter = np.random.default_rng(0).uniform(-0.2, 0.2, pulse.size)
ax.plot(pulse + jitter, g * 1e6, ".", ms=1, alpha=0.3, color="C0", label="data (300 devices)")
ax.plot(np.arange(21), np.array(sim_mean) * 1e6, "C1o-", ms=3,
        label="mean of 2,000 devices of the fitted preset")
ax.set_xlabel("SET pulses since RESET")
ax.set_ylabel("conductance (µS)")
ax.legend()
fig.tight_layout()
