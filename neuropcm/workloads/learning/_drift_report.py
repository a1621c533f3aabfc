"""Reading a ``drift_resilient`` file: the summary and the figure of
:mod:`~neuropcm.workloads.learning.drift_resilient` (seed 2's Figs. 8, 4, 7 and 6, and the
opt-in sweeps of :mod:`~neuropcm.workloads.learning._drift_sweeps`), from the file alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...plotting import save_figure
from . import _drift_sweeps as sw
from ._throughput import describe

KIND = "drift_resilient"


def _load(path) -> dict:
    from ...io import open_h5, read_config

    with open_h5(path, kind=KIND) as f:
        r = f["results"]
        d = {"config": read_config(f), "attrs": dict(r.attrs),
             "time": r["time_over_t0"][()]}
        for grp in ("drift", "bits", "adc", "analog", "counters", "throughput"):
            d[grp] = {k: r[grp][k][()] for k in r[grp]}
        for grp in ("energy", "other_adc"):  # absent from files of before them
            if grp in r:
                d[grp] = {k: r[grp][k][()] for k in r[grp]}
        d["sweeps"] = sw.load(r)
    return d


def summary(path) -> str:
    """Headline lines for the CLI, read from the file."""
    d = _load(path)
    a, cfg = d["attrs"], d["config"]
    sat, conv = d["counters"]["adc_saturated"], d["counters"]["adc_conversions"]
    name = cfg["dataset"] if cfg.get("mnist_dir") is None else f"IDX files in {cfg['mnist_dir']}"
    # Table I's numbers are MNIST's; seed 2 gives other datasets in figures only
    ref = "paper" if name == "mnist" else "paper, on MNIST"
    return "\n".join([
        f"784-{cfg['hidden']}-10 sigmoid MLP on {name}, {a['weight_bits']}-bit weights on "
        f"{cfg['preset']} devices, {a['adc_bits']}-bit ADC ({cfg['adc_mode']}), "
        f"{a['instances']} instances x {a['test_examples']} test images",
        f"software_accuracy {100 * a['software_accuracy']:.2f} % ({ref} 97.4 %), quantised "
        f"float {100 * a['quantised_accuracy']:.2f} %",
        f"accuracy_t0 {100 * a['accuracy_t0']:.2f} +- {100 * a['accuracy_t0_std']:.2f} % "
        f"({ref} 97.1 %)",
        f"accuracy_final (t = {cfg['t_max']:g} t0, K compensated) "
        f"{100 * a['accuracy_final']:.2f} +- {100 * a['accuracy_final_std']:.2f} % "
        f"({ref} 96.8 %); dummy lines only {100 * a['accuracy_final_none']:.2f} %",
        f"one pass of the test set through the mapped network: {a['pass_s']:.2f} s "
        f"(run {a['wall_s']:.0f} s); " + describe(d["throughput"]) + " (paper: 40 GOPS, "
        "20,000 GOPS/W)",
        "ADC conversions at full scale: "
        f"{100 * sat / max(conv, 1):.1f} %" + (" (mostly hidden |a| > 2 ln 11, where the unary "
                                                "code is saturated anyway)"
                                                if cfg["adc_mode"] == "neuron" else ""),
        *_sweep_lines(d, cfg), *_energy_lines(d, cfg),
        *sw.summary_lines(d["sweeps"], cfg["t_max"])])


def _sweep_lines(d: dict, cfg: dict) -> list[str]:
    """Figs. 7 and 4b: accuracy at t0 / t_max (with K) per weight bits and ADC bits."""
    out = []
    grid = cfg.get("grid", "zero")
    bits = f"weight bits ({grid} grid; Fig. 7; paper: flat from 4 bits)"
    for grp, what, ref in (("bits", bits, "quantised_accuracy"),
                           ("adc", "ADC bits (Fig. 4b; paper: 6 bits suffice)", None)):
        g = d[grp]
        out.append(f"{what}: accuracy at t0 / {cfg['t_max']:g} t0 " + ", ".join(
            f"{b} {100 * x.mean():.2f} / {100 * y.mean():.2f} %"
            + (f" (float {100 * f:.2f} %)" if ref else "")
            for b, x, y, f in zip(g["bits"], g["accuracy_t0"], g["accuracy_final"],
                                  g[ref] if ref else g["bits"])))
    return out


def _energy_lines(d: dict, cfg: dict) -> list[str]:
    """The other ADC placement, and GOPS/W under other energy assumptions."""
    out = []
    if "other_adc" in d:
        o = d["other_adc"]
        other = "line" if cfg["adc_mode"] == "neuron" else "neuron"
        arch = ("TIA -> ADC per line -> DSP, the paper's architecture" if other == "line"
                else "one ADC per neuron after the analog shift-and-add")
        out.append(f"{other} ADCs ({arch}): accuracy t0 {100 * o['accuracy_t0'].mean():.2f} %, "
                   f"{cfg['t_max']:g} t0 {100 * o['accuracy_final'].mean():.2f} % (with K); "
                   f"{o['ops_per_second'] / 1e9:.3g} GOPS, {o['ops_per_joule'] / 1e9:.3g} "
                   f"GOPS/W ({o['ops_per_joule_nonzero'] / 1e9:.3g} counting only reads of "
                   f"non-zero inputs) (paper: 40 GOPS; 30 GOPS in its Fig. 9a)")
    if "ops_per_second" in d["bits"]:
        v, b = fig9_values(d), d["bits"]
        out.append("Fig. 9 per bits per weight (GOPS all / non-zero reads, TOPS/mm^2, "
                   "GOPS/W e_read / ohmic; paper at 4 bits: 40 GOPS, 0.03 TOPS/mm^2, "
                   "20,000 GOPS/W): " + "; ".join(
                       f"{n} b {g:.3g} / {gn:.3g}, {t:.3g}, {w:.3g} / {wo:.3g}"
                       for n, g, gn, t, w, wo in zip(
                           b["bits"], *v["GOPS"], v["TOPS/mm²"][0], *v["GOPS/W"])))
    if "energy" in d:
        e = d["energy"]
        i = int(abs(e["adc_fom"] - 50e-15).argmin())
        fom = e["adc_fom"][i]
        nz = e["ops_nonzero"] / d["throughput"]["ops"]
        out.append(f"counting only reads of non-zero inputs ({100 * nz:.1f} % of the reads; "
                   f"a word line at 0 V does no multiply): "
                   f"{nz * d['throughput']['ops_per_second'] / 1e9:.3g} GOPS")
        out.append(f"GOPS/W against energy per device read (ADC {fom * 1e15:g} fJ/step; "
                   f"all reads / only reads of non-zero inputs): " + ", ".join(
                       f"{er * 1e12:g} pJ {a / 1e9:.3g} / {b / 1e9:.3g}" for er, a, b in zip(
                           e["e_read"], e["ops_per_joule_all"][:, i],
                           e["ops_per_joule_nonzero"][:, i])))
        out.append(f"ohmic reads (V^2 G t, {e['v_read']:g} V, {e['t_read'] * 1e9:g} ns, "
                   f"the programmed conductances): {e['energy_ohmic_reads'] * 1e6:.3g} uJ "
                   f"per pass -> {e['ops_per_joule_ohmic_all'][i] / 1e9:.3g} GOPS/W (all "
                   f"reads) / {e['ops_per_joule_ohmic_nonzero'][i] / 1e9:.3g} (non-zero); "
                   f"ADC {fom * 1e15:g} fJ/step; other ADC energies: " + ", ".join(
                       f"{f * 1e15:g} fJ {v / 1e9:.3g}" for f, v in zip(
                           e["adc_fom"], e["ops_per_joule_ohmic_nonzero"])))
    return out


def figure(path, png) -> Path:
    """Figs. 8, 4, 7 and 6 of seed 2 from the file alone: accuracy against time with and
    without K, against ADC bits, against weight bits, and of the analog baseline."""
    from ...plotting import colours, new_figure

    d = _load(path)
    a, T = d["attrs"], d["time"]
    fig9 = "ops_per_second" in d["bits"] and len(d["bits"]["bits"]) > 1
    extra = sw.panels(d["sweeps"]) + ("energy" in d) + 3 * fig9
    rows = 2 + -(-extra // 3)
    fig, ax = new_figure(rows, 3, (16, 4.5 * rows))
    ax = ax.ravel()
    for name, label in (("none", "dummy lines only"), ("lrs", "dummy lines + K (LRS column)")):
        acc = 100 * d["drift"][f"accuracy_{name}"]
        ax[0].errorbar(T, acc.mean(1), yerr=acc.std(1, ddof=1), fmt="o-", capsize=3,
                       label=label)
    for v, ls in (("software_accuracy", "--"), ("quantised_accuracy", ":")):
        ax[0].axhline(100 * a[v], color="k", ls=ls, lw=1, label=v.replace("_", " "))
    ax[0].set(xscale="log", xlabel="time / t0", ylabel="test accuracy (%)",
              title=f"Fig. 8: {a['weight_bits']}-bit weights (mean ± std, "
                    f"{a['instances']} instances)")
    for i, (grp, title, xl) in enumerate((("adc", "Fig. 4: ADC resolution", "ADC bits"),
                                          ("bits", "Fig. 7: weight resolution",
                                           "bits per weight"))):
        g = d[grp]
        for key, lab in (("accuracy_t0", "t0"), ("accuracy_final", "t_max, with K")):
            acc = 100 * g[key]
            ax[1 + i].errorbar(g["bits"], acc.mean(1), yerr=acc.std(1), fmt="o-", capsize=3,
                               label=lab)
        if grp == "bits":
            ax[2].plot(g["bits"], 100 * g["quantised_accuracy"], "k:", label="quantised float")
        if grp == "adc" and "one_layer" in d["sweeps"]:  # Fig. 4a beside Fig. 4b
            o = d["sweeps"]["one_layer"]
            for key, lab, fmt in (("accuracy_t0", "one layer, t0", "s--"),
                                  ("accuracy_final", "one layer, t_max", "^--")):
                acc = 100 * o[key]
                ax[1].errorbar(o["bits"], acc.mean(1), yerr=acc.std(1), fmt=fmt, capsize=3,
                               label=lab)
            ax[1].axhline(100 * float(o["quantised_accuracy"]), color="grey", ls=":",
                          lw=1, label="one layer, quantised float")
        ax[1 + i].set(xlabel=xl, ylabel="test accuracy (%)", title=title)
    g = d["analog"]
    cols = colours(len(g["levels"]), 0, 0.9)
    for k, (v, title) in enumerate((("ideal", "Fig. 6a: analog, same drift for all states"),
                                    ("state", "Fig. 6b: analog, state-dependent drift"))):
        for L, acc, col in zip(g["levels"], 100 * g[f"accuracy_{v}_lrs"], cols):
            ax[3 + k].plot(T, acc.mean(1), "o-", color=col, ms=3, label=f"{L} levels")
        ax[3 + k].set(xscale="log", xlabel="time / t0", ylabel="test accuracy (%)",
                      title=title + " (with K)")
    dr = 100 * d["drift"]["accuracy_lrs"].mean(1)
    ax[5].plot(T, dr, "ko-", label=f"digital {a['weight_bits']}-bit, with K")
    for L, acc, col in zip(g["levels"], 100 * g["accuracy_state_lrs"], cols):
        ax[5].plot(T, acc.mean(1), "--", color=col, label=f"analog {L} levels, with K")
    ax[5].set(xscale="log", xlabel="time / t0", ylabel="test accuracy (%)",
              title="digital against analog weights")
    for x in ax[:6]:
        x.legend(fontsize=7)
        x.grid(alpha=0.3)
    k = 6
    if fig9:
        _draw_fig9(ax[k:k + 3], d)
        k += 3
    if "energy" in d:
        _draw_energy(ax[k], d)
        k += 1
    sw.draw(ax[k:], d["sweeps"], float(d["config"]["t_max"]), T)
    return save_figure(fig, png, dpi=110)


#: Seed 2's Table I at 4 bits: GOPS, TOPS/mm^2, GOPS/W (its Fig. 9a reads 30 GOPS).
PAPER_FIG9 = {"GOPS": 40.0, "TOPS/mm²": 0.03, "GOPS/W": 2e4}


def fig9_values(d: dict) -> dict:
    """Per weight bits: GOPS (all reads / non-zero inputs), TOPS/mm^2 (the assumed area
    model, :func:`~neuropcm.workloads.learning._throughput.area`) and GOPS/W (constant
    e_read / ohmic reads, non-zero inputs)."""
    from ._throughput import area

    b = d["bits"]
    mm2 = np.array([area(n, k) for n, k in zip(b["devices"], b["adcs"])])
    return {"GOPS": (b["ops_per_second"] / 1e9, b["ops_per_second_nonzero"] / 1e9),
            "TOPS/mm²": (b["ops_per_second"] / 1e12 / mm2,
                         b["ops_per_second_nonzero"] / 1e12 / mm2),
            "GOPS/W": (b["ops_per_joule"] / 1e9, b["ops_per_joule_ohmic"] / 1e9)}


def _draw_fig9(axes, d: dict) -> None:
    """Seed 2 Fig. 9: accuracy at t0 against GOPS, TOPS/mm^2 and GOPS/W, one point per
    weight bits (labelled), with the paper's 4-bit values."""
    from ._throughput import ADC_AREA_UM2, CELL_AREA_UM2

    b = d["bits"]
    acc = 100 * b["accuracy_t0"].mean(1)
    labels = {"GOPS": ("all device reads", "reads of non-zero inputs"),
              "TOPS/mm²": ("all device reads", "reads of non-zero inputs"),
              "GOPS/W": ("e_read per read (all reads)", "ohmic reads, non-zero inputs")}
    for ax, (key, (x_all, x_nz)) in zip(axes, fig9_values(d).items()):
        ax.plot(x_all, acc, "o-", label=labels[key][0])
        ax.plot(x_nz, acc, "s--", label=labels[key][1])
        for xb, yb, nb in zip(x_all, acc, b["bits"]):
            ax.annotate(f"{nb} b", (xb, yb), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        ax.axvline(PAPER_FIG9[key], color="k", ls=":", lw=1,
                   label=f"paper, 4 bits: {PAPER_FIG9[key]:g}")
        ax.set(xscale="log", xlabel=key + " (model)", ylabel="test accuracy at t0 (%)",
               title=f"Fig. 9: accuracy against {key}")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    axes[1].text(0.02, 0.02, f"area: {CELL_AREA_UM2:g} µm² per cell + {ADC_AREA_UM2:g} µm² "
                 f"per ADC (assumed)", transform=axes[1].transAxes, fontsize=7)


def _draw_energy(ax, d: dict) -> None:
    """GOPS/W against the energy per device read (the assumed constant that decides it),
    all reads and only those of non-zero inputs, for each ADC energy; the ohmic-read
    figures as horizontal lines; the paper's 20,000 GOPS/W."""
    from ...plotting import colours

    e = d["energy"]
    for fom, col, k in zip(e["adc_fom"], colours(len(e["adc_fom"]), 0, 0.8),
                           range(len(e["adc_fom"]))):
        lab = f"ADC {fom * 1e15:g} fJ/step"
        ax.plot(e["e_read"] * 1e12, e["ops_per_joule_all"][:, k] / 1e9, "o-", color=col,
                label=f"{lab}, all reads")
        ax.plot(e["e_read"] * 1e12, e["ops_per_joule_nonzero"][:, k] / 1e9, "s--",
                color=col, label=f"{lab}, non-zero inputs")
        ax.axhline(e["ops_per_joule_ohmic_nonzero"][k] / 1e9, color=col, ls=":", lw=1,
                   label=f"{lab}, ohmic reads ({e['v_read']:g} V), non-zero")
    ax.axhline(2e4, color="k", ls="-.", lw=1, label="paper: 20,000 GOPS/W")
    ax.set(xscale="log", yscale="log", xlabel="energy per device read (pJ)",
           ylabel="GOPS/W (model)", title="energy efficiency against the assumptions")
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3, which="both")
