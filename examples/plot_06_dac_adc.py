"""
06. DAC and ADC resolution
==========================

Inputs pass a DAC and outputs an ADC. With an ideal device preset (no noise, no drift)
and one converter at a time, only that converter limits the product: the error falls by
about a factor 2 per bit.
"""

import matplotlib.pyplot as plt
import numpy as np

from neuropcm.crossbar import Crossbar

rng = np.random.default_rng(2)
W = rng.uniform(-1, 1, size=(32, 32))
X = rng.uniform(-1, 1, size=(32, 16))
exact = W @ X
bits = np.arange(3, 11)

fig, ax = plt.subplots(figsize=(6.4, 3.6))
for which in ("adc_bits", "dac_bits"):
    errors = []
    for b in bits:
        xb = Crossbar(W, preset="ideal", seed=6, **{which: int(b)})
        errors.append(np.linalg.norm(xb @ X - exact) / np.linalg.norm(exact))
    ax.plot(bits, errors, "o-", label=which.replace("_bits", "").upper())
ax.plot(bits, errors[0] * 2.0 ** -(bits - bits[0]), "k:", label="2^-bits")
ax.set_yscale("log")
ax.set_xlabel("converter bits")
ax.set_ylabel("relative MVM error (ideal devices)")
ax.legend()
fig.tight_layout()
