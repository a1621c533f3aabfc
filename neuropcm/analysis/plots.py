"""Plots made from HDF5 result files (never from in-memory objects).

A workload's own figures live beside it (e.g. :func:`plot_receptive_fields` in
:mod:`neuropcm.workloads.spiking.mnist_clustering`); they are re-exported here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import open_h5
from ..plotting import new_figure, save_figure
from ..workloads.characterisation.device_characterisation import plot_device_characterisation
from ..workloads.spiking.mnist_clustering import plot_receptive_fields

__all__ = ["plot_device_characterisation", "plot_phase_change_neuron", "plot_receptive_fields"]


def plot_phase_change_neuron(h5_path, png_path) -> Path:
    """Three-panel PNG of a phase-change-neuron reproduction file: rate vs input strength,
    inter-spike-interval histograms, population tracking of a fast signal."""
    with open_h5(h5_path, kind="phase_change_neuron") as f:
        r = f["results"]
        strength, rate = r["strength"][()], r["rate"][()]
        isi = {r["isi"][k].attrs["strength"]: r["isi"][k][()] for k in r["isi"]}
        tr = {k: r["tracking"][k][()] for k in r["tracking"]}
        pop_err, best = r.attrs["population_error"], r.attrs["best_single_error"]
    fig, ax = new_figure(1, 3, (15, 4.2))
    ax[0].errorbar(strength, rate.mean(1), yerr=rate.std(1), fmt="o-", capsize=3)
    ax[0].set(xlabel="input strength (relative pulse amplitude)", ylabel="firing rate (Hz)",
              title="Rate vs input")
    for s, v in sorted(isi.items()):
        ax[1].hist(v * 1e3, bins=40, histtype="step", density=True, label=f"strength {s:.1f}")
    ax[1].set(xlabel="inter-spike interval (ms)", ylabel="density", title="ISI distributions")
    ax[1].legend()
    sig = tr["signal"]
    pop = tr["population_rate"]
    A = np.vstack([pop, np.ones_like(pop)]).T
    fit = A @ np.linalg.lstsq(A, sig, rcond=None)[0]
    ax[2].plot(tr["time"], sig, "k-", lw=2, label="input signal")
    ax[2].plot(tr["time"], fit, "-", color="C3", alpha=0.8,
               label=f"population rate (error {pop_err:.2f})")
    ax[2].set(xlabel="time (s)", ylabel="signal", title=f"Population tracking (best single "
                                                         f"neuron error {best:.2f})")
    ax[2].legend(fontsize=8)
    return save_figure(fig, png_path, dpi=110)


