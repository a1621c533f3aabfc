"""
08. Run a workload and analyse its file
=======================================

Every run is a workload writing one HDF5 file of its kind. Here the
``device-characterisation`` workload runs with small settings, and its file is read back
with :func:`neuropcm.analysis.open`: config, headline results with units, datasets.
The same file is what ``neuropcm inspect``/``plot``/``compare`` read.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from neuropcm import analysis
from neuropcm.workloads import get_workload

w = get_workload("device-characterisation")
cfg = w.config(devices=500, seed=1)
out = Path(tempfile.mkdtemp()) / "devices.h5"
w.run(cfg, out, progress=False)

r = analysis.open(out)
for name, value in r.results.items():
    unit = r.units[name]
    print(f"{name} = {value:.4g}" + (f" {unit}" if unit != "1" else ""))

pulses = r.dataset("results/accumulation/pulses")
fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.plot(pulses, r.dataset("results/accumulation/mean") * 1e6, "o", ms=3, label="simulated")
ax.plot(pulses, r.dataset("results/accumulation/theory_mean") * 1e6, "-", label="exact")
ax.set_xlabel("SET pulses")
ax.set_ylabel("mean conductance (µS)")
ax.set_title(f"{cfg.preset}, {cfg.devices} devices (read from {out.name})")
ax.legend()
fig.tight_layout()
