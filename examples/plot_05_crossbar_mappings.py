"""
05. Mappings and devices per weight
===================================

How a weight becomes conductances: ``differential`` (G+ - G-), ``offset`` (one device
against a shared reference line) and ``bit-sliced`` (binary devices, one per bit).
Averaging K devices per weight lowers the programming and read noise about as
1/sqrt(K) (Le Gallo et al. 2018); the bit-sliced mapping levels off at the quantisation
error of its bits (4 by default).
"""

import matplotlib.pyplot as plt
import numpy as np

from neuropcm.crossbar import Crossbar

rng = np.random.default_rng(1)
W = rng.uniform(-1, 1, size=(32, 32))
X = rng.uniform(-1, 1, size=(32, 16))
exact = W @ X

ks = np.array([1, 2, 4, 8])
fig, ax = plt.subplots(figsize=(6.4, 3.6))
errors = {}
for mapping in ("differential", "offset", "bit-sliced"):
    errors[mapping] = []
    for k in ks:
        xb = Crossbar(W, preset="joshi2020", mapping=mapping, seed=5, devices_per_weight=int(k))
        errors[mapping].append(np.linalg.norm(xb @ X - exact) / np.linalg.norm(exact))
    ax.plot(ks, errors[mapping], "o-", label=mapping)
ax.plot(ks, errors["differential"][0] / np.sqrt(ks), "k:", label="1/sqrt(K) from K = 1")
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_xlabel("devices per weight K")
ax.set_ylabel("relative MVM error")
ax.legend()
fig.tight_layout()
