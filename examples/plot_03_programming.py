"""
03. Programming error: program-and-verify against one-shot programming
=======================================================================

``PCMArray.program`` programs every device to its target: the pulsed model iterates
SET pulses and verify reads (program-and-verify) until the device is within tolerance,
the programmed-state model draws one-shot programming noise. We program 1,000 devices of
each preset to targets across the window and draw the error against the target.
"""

import matplotlib.pyplot as plt
import numpy as np

from neuropcm import PCMArray

targets = np.linspace(1e-6, 9e-6, 1000)  # S, inside both presets' windows
fig, ax = plt.subplots(figsize=(6.4, 3.6))
for preset, colour in (("nandakumar2018", "C0"), ("joshi2020", "C1")):
    g = PCMArray(targets.size, preset=preset, seed=3)
    res = g.program(targets)
    err = (g.conductance - targets) * 1e6
    ax.plot(targets * 1e6, err, ".", ms=2, color=colour, alpha=0.5, label=preset)
    print(f"{preset}: error std {err.std():.3f} µS; result: {type(res).__name__}")
ax.axhline(0, color="k", lw=0.5)
ax.set_xlabel("target conductance (µS)")
ax.set_ylabel("programmed - target (µS)")
ax.legend(markerscale=5)
fig.tight_layout()
