"""Plots made from HDF5 result files (never from in-memory objects)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import open_h5, read_config


def _figure(nrows: int, ncols: int, size):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(nrows, ncols, figsize=size)


def _save(plt, fig, png_path, dpi: int) -> Path:
    from ..workloads import save_figure

    return save_figure(fig, png_path, dpi)


def plot_device_characterisation(h5_path, png_path) -> Path:
    """Four-panel PNG of a ``neuropcm devices`` file: accumulation, programming error,
    drift, read noise."""
    with open_h5(h5_path, kind="device_characterisation") as f:
        cfg = read_config(f)
        r = {k: {n: f["results"][k][n][()] for n in f["results"][k]} for k in f["results"]}
    plt, fig, ax = _figure(2, 2, (11, 8))
    us = 1e6
    a = r["accumulation"]
    ax[0, 0].errorbar(a["pulses"], a["mean"] * us, yerr=a["std"] * us, fmt="o", ms=3, capsize=2,
                      label=f"simulated ({cfg['devices']} devices)")
    ax[0, 0].plot(a["pulses"], a["theory_mean"] * us, "k-", label="model (exact)")
    ax[0, 0].fill_between(a["pulses"], (a["theory_mean"] - a["theory_std"]) * us,
                          (a["theory_mean"] + a["theory_std"]) * us, color="k", alpha=0.1)
    ax[0, 0].set(xlabel="SET pulses after RESET", ylabel="G (µS)", title="Accumulation")
    ax[0, 0].legend()
    p = r["programming"]
    ax[0, 1].errorbar(p["target"] * us, p["error_mean"] * us, yerr=p["error_std"] * us, fmt="s",
                      capsize=3)
    ax[0, 1].axhline(0, color="k", lw=0.5)
    ax[0, 1].set(xlabel="target G (µS)", ylabel="achieved − target (µS)",
                 title=f"Programming error (mean ± std); converged "
                       f"{100 * p['converged'].mean():.1f} %")
    d = r["drift"]
    for lev, m in zip(d["levels"], d["mean"]):
        ax[1, 0].loglog(d["time"], m * us, "o-", ms=3, label=f"{lev * us:.1f} µS")
    ax[1, 0].set(xlabel="time since programming (s)", ylabel="mean read G (µS)", title="Drift")
    ax[1, 0].legend(fontsize=8)
    n = r["read_noise"]
    order = np.argsort(n["conductance"])
    ax[1, 1].plot(n["conductance"] * us, n["std"] * us, ".", ms=3, alpha=0.5, label="measured")
    ax[1, 1].plot(n["conductance"][order] * us, n["model_std"][order] * us, "k-", label="model")
    ax[1, 1].set(xlabel="G (µS)", ylabel="read-noise std (µS)", title="Read noise (t = 1 s)")
    ax[1, 1].legend()
    fig.suptitle(f"PCM preset {cfg['preset']!r} ({cfg['model']} model)")
    return _save(plt, fig, png_path, dpi=110)


def plot_phase_change_neuron(h5_path, png_path) -> Path:
    """Three-panel PNG of a phase-change-neuron reproduction file: rate vs input strength,
    inter-spike-interval histograms, population tracking of a fast signal."""
    with open_h5(h5_path, kind="phase_change_neuron") as f:
        r = f["results"]
        strength, rate = r["strength"][()], r["rate"][()]
        isi = {r["isi"][k].attrs["strength"]: r["isi"][k][()] for k in r["isi"]}
        tr = {k: r["tracking"][k][()] for k in r["tracking"]}
        pop_err, best = r.attrs["population_error"], r.attrs["best_single_error"]
    plt, fig, ax = _figure(1, 3, (15, 4.2))
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
    return _save(plt, fig, png_path, dpi=110)


def plot_receptive_fields(h5_path, png_path) -> Path:
    """Receptive fields of a ``neuropcm mnist`` run: G+ - G- of each output neuron as a
    28x28 image (seed tutorial Fig. 16c), titled with the neuron's assigned class."""
    with open_h5(h5_path, kind="mnist_clustering") as f:
        w = f["network/weights"][()]
        assign = f["network/assignments"][()]
        acc = float(f["results"].attrs["test_accuracy"])
        n_train = int(f["results"].attrs["train_examples"])
    n = w.shape[0]
    fields = w[:, :784].reshape(n, 28, 28) * 1e6
    cols = int(np.ceil(np.sqrt(n * 1.5)))
    rows = int(np.ceil(n / cols))
    plt, fig, axes = _figure(rows, cols, (1.3 * cols, 1.45 * rows + 0.6))
    lim = np.abs(fields).max() or 1.0
    for k, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if k < n:
            ax.imshow(fields[k], cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(str(assign[k]) if assign[k] >= 0 else "-", fontsize=8, pad=2)
    fig.suptitle(f"G+ − G− per neuron (±{lim:.1f} µS; title: assigned class) — "
                 f"{n_train} training examples, test accuracy {100 * acc:.2f} %", fontsize=9)
    return _save(plt, fig, png_path, dpi=100)
