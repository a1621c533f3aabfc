"""Summary and figure of the compressed-sensing workload, read from its file alone
(:mod:`neuropcm.workloads.computational_memory.compressed_sensing`)."""

from __future__ import annotations

import numpy as np

from ...plotting import save_figure
from ._amp import FLOOR_MARGIN_DB
from ._cs_signal import INPUTS, VARIANTS

#: Names of the matrices and input modes in the summary and the figure.
_MATRIX = {"float": "float64", "fixed4": "4-bit matrix", "pcm": "PCM crossbar"}
_STYLE = {"float": "g--", "fixed4": "b-.", "pcm": "r-"}


def _load(path) -> dict:
    from ...io import open_h5, read_config

    with open_h5(path, kind="compressed_sensing") as f:
        r = f["results"]
        return {"config": read_config(f), "attrs": {k: r.attrs[k] for k in r.attrs},
                **{k: r[k][()] for k in r}}


def _rate(value) -> str:
    """A rate (dB/iteration) as text; NaN: the run was within 3 dB of its floor at once."""
    return (f"{value:.2f} dB/iteration" if np.isfinite(value)
            else "n/a (a variant within 3 dB of its floor at once)")


def _short_rate(value) -> str:
    return f"{value:.2f} dB/it" if np.isfinite(value) else "rate n/a"


def _inputs_label(inputs: str, bits: int) -> str:
    return ("matrix only: analog inputs" if inputs == "analog"
            else f"matrix + vector: every input through one {bits}-bit DAC")


def summary(path) -> str:
    """Headline lines for the CLI, read from the file: for each input mode, each matrix's
    floor (dB), its threshold factor, its rate (dB/iteration) and the iterations to reach
    the floor; the paper's claim beside them."""

    d = _load(path)
    a, cfg = d["attrs"], d["config"]
    how = ("one lam for all" if cfg["lam"] is not None else
           "each variant at its best stable lam of " + str(list(cfg["lam_sweep"])) +
           ", chosen on a held-out image (" + ("the phantom shifted by half a block"
                                               if cfg["image"] == "shepp-logan"
                                               else "the next MNIST digits") + ")")
    head = (f"{cfg['size']}x{cfg['size']} {cfg['image']}, {cfg['transform']} "
            f"{cfg['block']}x{cfg['block']} blocks ({a['blocks']}), M = {a['measurements']}"
            f" of N = {cfg['block'] ** 2}, {cfg['iterations']} AMP iterations; {how}")
    lines = [head]
    for inputs in INPUTS:
        lines.append(_inputs_label(inputs, int(a["dac_bits"])) + ":")
        for v in VARIANTS:
            k = f"{v}_{inputs}"
            warn = "" if a[f"lam_stable_{k}"] else " (no stable lam in the sweep)"
            if not a[f"stable_{k}"]:
                warn += " (unstable on the test image: floor > 1 dB above its minimum)"
            lines.append(f"  {_MATRIX[v]:>13}: floor {a['final_nmse_db_' + k]:7.2f} dB at "
                         f"lam = {a['lam_' + k]:g}{warn}, rate "
                         f"{_rate(a['rate_db_per_iteration_' + k])}, within "
                         f"{FLOOR_MARGIN_DB:g} dB of the floor after "
                         f"{a['iterations_to_floor_' + k]} iterations")
        f, q, p = (a[f"final_nmse_db_{v}_{inputs}"] for v in VARIANTS)
        ratio = (a[f"rate_db_per_iteration_pcm_{inputs}"]
                 / a[f"rate_db_per_iteration_float_{inputs}"])
        lines.append(f"  PCM floor - float64 floor: {p - f:+.2f} dB; PCM - 4-bit matrix: "
                     f"{p - q:+.2f} dB; PCM rate / float64 rate over the same first "
                     f"{int(a['rate_window_' + inputs])} iterations: {ratio:.2f}")
    lines.append(f"all {a['pcm_mvm_vectors']} PCM MVM vectors of the reported runs "
                 f"(compression and recovery) on the crossbars; paper (tutorial Fig. 6b, "
                 f"no number given): same convergence rate as float, higher floor")
    return "\n".join(lines)


def figure(path, png):
    """Fig. 6b-style figure from the file alone: NMSE (dB) against iteration of the three
    matrices with analog inputs and with every input through the DAC (each at its own
    threshold factor), the floors on the held-out image against the factor (stable runs
    filled, the chosen factor starred), the original image and three reconstructions."""
    from ...plotting import new_figure

    d = _load(path)
    a, cfg = d["attrs"], d["config"]
    bits = int(a["dac_bits"])
    fig = new_figure(None, 1, (16, 9))[0]
    gs = fig.add_gridspec(2, 4, height_ratios=[1.3, 1])
    for col, inputs in enumerate(INPUTS):
        ax = fig.add_subplot(gs[0, col])
        for v in VARIANTS:
            k = f"{v}_{inputs}"
            rate = a[f"rate_db_per_iteration_{k}"]
            ax.plot(d["iteration"], d[f"nmse_db_{k}"], _STYLE[v], lw=1.8,
                    label=f"{_MATRIX[v]}, λ {a['lam_' + k]:g}: "
                          f"{a['final_nmse_db_' + k]:.1f} dB, {_short_rate(rate)}")
            it = int(a[f"iterations_to_floor_{k}"])
            if it > 0:
                ax.plot(it, d[f"nmse_db_{k}"][it - 1], _STYLE[v][0] + "o", ms=6)
        ax.set(xlabel="iteration k", ylabel="NMSE (dB)",
               title=_inputs_label(inputs, bits).replace(": ", ":\n"))
        ax.legend(fontsize=7, title="matrix, λ: floor, rate (same first "
                  f"{int(a['rate_window_' + inputs])} iterations)", title_fontsize=7)
        ax.grid(alpha=0.3)
    ax = fig.add_subplot(gs[0, 2:])
    lams = d["lam_sweep"]
    for inputs, ls in zip(INPUTS, ("-", ":")):
        for v in VARIANTS:
            k = f"{v}_{inputs}"
            fl, st = d[f"tuning_floor_db_{k}"], d[f"tuning_stable_{k}"].astype(bool)
            col = _STYLE[v][0]
            ax.plot(lams, np.clip(fl, -60, 20), col + ls, lw=1.2,
                    label=f"{_MATRIX[v]}, {'analog' if inputs == 'analog' else f'{bits}-bit DAC'}")
            ax.plot(lams[st], fl[st], col + "o", ms=5)
            ax.plot(lams[~st], np.clip(fl[~st], -60, 20), col + "x", ms=7)
            j = np.flatnonzero(lams == a[f"lam_{k}"])
            if j.size:
                ax.plot(lams[j], fl[j], col + "*", ms=14, mfc="none")
    ax.set(xlabel="threshold factor λ", ylabel="floor on the held-out image (dB)",
           title="λ sweep on the held-out image (o stable, x unstable, ☆ chosen)")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    panels = [("original", d["image"]),
              (f"float64, analog (λ = {a['lam_float_analog']:g})",
               d["reconstruction_float_analog"]),
              (f"PCM, analog (λ = {a['lam_pcm_analog']:g})", d["reconstruction_pcm_analog"]),
              (f"PCM, {bits}-bit DAC (λ = {a['lam_pcm_dac']:g})", d["reconstruction_pcm_dac"])]
    vmax = max(float(d["image"].max()), 1e-12)
    for i, (title, im) in enumerate(panels):
        sub = fig.add_subplot(gs[1, i])
        sub.imshow(im, cmap="gray", vmin=0, vmax=vmax)
        sub.set_title(title, fontsize=9)
        sub.axis("off")
    fig.suptitle(f"AMP recovery, M/N = {a['measurements']}/{cfg['block'] ** 2} "
                 f"(dots: within {FLOOR_MARGIN_DB:g} dB of the floor); paper: same "
                 f"convergence rate as float, higher floor")
    return save_figure(fig, png)
