"""Summary and figure of the correlation-detection workload, read from its file alone
(:mod:`neuropcm.workloads.computational_memory.correlation`)."""

from __future__ import annotations

import numpy as np

from ...plotting import save_figure


def _pct(v) -> str:
    return f"{100 * v:.2f} %" if np.isfinite(v) else "n/a (nothing detected)"


def summary(path) -> str:
    """Headline lines for the CLI, read from the file: ROC-AUC (final and peak), the
    Otsu split's accuracy beside the trivial baseline, and its precision, recall, F1."""
    from ...io import open_h5, read_config

    with open_h5(path, kind="correlation") as f:
        cfg = read_config(f)
        a = dict(f["results"].attrs)
    d = cfg["derived"]
    return (
        f"{cfg['processes']:,} processes ({d['correlated']:,} correlated, c = {cfg['c']:g}, "
        f"p = {cfg['p']:g}), {cfg['steps']:,} steps, amplitude scale "
        f"{cfg['amplitude_scale']:g}: ROC-AUC {a['roc_auc']:.4f} at the end, peak "
        f"{a['peak_roc_auc']:.4f} at step {int(a['peak_step']):,} (exact covariance "
        f"{a['covariance_roc_auc']:.4f})"
        f"\nsplit at Otsu's threshold {a['threshold'] * 1e6:.2f} uS: accuracy "
        f"{_pct(a['accuracy'])} against {_pct(a['baseline_accuracy'])} for calling every "
        f"process uncorrelated (best threshold {_pct(a['best_accuracy'])}); correlated set: "
        f"precision {_pct(a['precision'])}, recall {_pct(a['recall'])}, F1 "
        f"{_pct(a['f1'])} (exact covariance: accuracy {_pct(a['covariance_accuracy'])}, F1 "
        f"{_pct(a['covariance_f1'])})"
        f"\nmean G: correlated {a['mean_g_correlated'] * 1e6:.2f} uS, uncorrelated "
        f"{a['mean_g_uncorrelated'] * 1e6:.2f} uS (g_max {cfg['params']['g_max'] * 1e6:.1f} "
        f"uS); {int(a['n_set']):,} SET pulses on {int(a['pulse_steps']):,} steps; "
        f"{a['wall_s']:.1f} s ({a['process_steps_per_s']:.3g} process-steps/s)")


def figure(path, png):
    """The experiment's figure from the file alone: the conductance map, the histogram of
    final conductances, ROC-AUC against step (PCM reads, an ideal device and the exact
    covariance), accuracy against step beside the trivial baseline, precision, recall and
    F1 of the detected set against step, and the mean conductance of both groups."""
    from ...io import open_h5, read_config
    from ...plotting import new_figure

    with open_h5(path, kind="correlation") as f:
        cfg = read_config(f)
        r = f["results"]
        a = dict(r.attrs)
        snap = {k: r["snapshots"][k][()] for k in r["snapshots"]}
        hist = {k: r["histogram"][k][()] for k in r["histogram"]}
        g = r["final"]["conductance"][()]
    us = 1e6
    rows, width = int(a["image_rows"]), int(a["image_width"])
    fig, ax = new_figure(2, 3, (17, 9.5))
    img = np.full(rows * width, np.nan)
    img[:g.size] = g * us
    im = ax[0, 0].imshow(img.reshape(rows, width), cmap="viridis", interpolation="nearest")
    fig.colorbar(im, ax=ax[0, 0], label="read G (µS)")
    ax[0, 0].set(title=f"Conductance after {cfg['steps']:,} steps", xticks=[], yticks=[])
    e = hist["edges"] * us
    for k, col in (("uncorrelated", "tab:blue"), ("correlated", "tab:red")):
        ax[0, 1].stairs(hist[k], e, color=col, fill=True, alpha=0.5, label=k)
    ax[0, 1].axvline(a["threshold"] * us, color="k", ls="--", lw=1, label="Otsu threshold")
    ax[0, 1].axvline(cfg["params"]["g_max"] * us, color="gray", ls=":", lw=1, label="g_max")
    ax[0, 1].set(yscale="log", xlabel="read G (µS)", ylabel="devices",
                 title="Final conductances")
    ax[0, 1].legend(fontsize=8)
    s = snap["step"]
    for key, style, col, lab in (
            ("roc_auc", "o-", "tab:red", "PCM reads"),
            ("ideal_roc_auc", "^:", "tab:purple", "ideal device (sum of amplitudes)"),
            ("covariance_roc_auc", "s--", "k", "exact uncentred covariance")):
        ax[0, 2].semilogx(s, snap[key], style, ms=3, color=col, label=lab)
    ax[0, 2].plot(a["peak_step"], a["peak_roc_auc"], "r*", ms=12,
                  label=f"peak {a['peak_roc_auc']:.4f} at step {int(a['peak_step']):,}")
    ax[0, 2].set(xlabel="time step k", ylabel="ROC-AUC", ylim=(0.45, 1.01),
                 title="ROC-AUC against step")
    ax[0, 2].legend(fontsize=8, loc="lower right")
    for key, style, col, lab in (
            ("accuracy", "o-", "tab:orange", "PCM, Otsu's threshold"),
            ("best_accuracy", "v:", "tab:brown", "PCM, best threshold (labels: a bound)"),
            ("covariance_accuracy", "s--", "k", "exact covariance, Otsu's threshold")):
        ax[1, 0].semilogx(s, snap[key], style, ms=3, color=col, label=lab)
    ax[1, 0].axhline(a["baseline_accuracy"], color="gray", ls="-.", lw=1.5,
                     label=f"every process uncorrelated: {100 * a['baseline_accuracy']:.2f} %")
    ax[1, 0].set(xlabel="time step k", ylabel="accuracy", ylim=(0.0, 1.02),
                 title="Accuracy against step, beside the trivial baseline")
    ax[1, 0].legend(fontsize=8, loc="lower right")
    for key, col in (("precision", "tab:green"), ("recall", "tab:blue"), ("f1", "tab:red")):
        ax[1, 1].semilogx(s, snap[key], "o-", ms=3, color=col, label=f"{key}, PCM")
        ax[1, 1].semilogx(s, snap[f"covariance_{key}"], "--", color=col, lw=1,
                          label=f"{key}, exact covariance")
    ax[1, 1].set(xlabel="time step k", ylabel="score of the detected set", ylim=(0.0, 1.02),
                 title="Correlated set detected at Otsu's threshold (baseline F1 = 0)")
    ax[1, 1].legend(fontsize=7, loc="center left", ncol=2)
    for k, col in (("correlated", "tab:red"), ("uncorrelated", "tab:blue")):
        m, sd = snap[f"mean_g_{k}"] * us, snap[f"std_g_{k}"] * us
        ax[1, 2].semilogx(s, m, "o-", ms=3, color=col, label=k)
        ax[1, 2].fill_between(s, m - sd, m + sd, color=col, alpha=0.15)
    ax[1, 2].axhline(cfg["params"]["g_max"] * us, color="gray", ls=":", lw=1, label="g_max")
    ax[1, 2].set(xlabel="time step k", ylabel="read G (µS), mean ± std",
                 title="Conductance of the two groups")
    ax[1, 2].legend(fontsize=8)
    d = cfg["derived"]
    fig.suptitle(f"Temporal correlation detection: {cfg['processes']:,} processes, "
                 f"{d['correlated']:,} correlated, c = {cfg['c']:g}, p = {cfg['p']:g}, "
                 f"amplitude scale {cfg['amplitude_scale']:g} ({cfg['preset']})")
    return save_figure(fig, png, dpi=100)
