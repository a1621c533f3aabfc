"""The ``pattern_detection`` file of :mod:`.pattern_detection`: writing it, its summary and
its figure (both from the file alone)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...plotting import save_figure

KIND = "pattern_detection"


def _nanmedian(v) -> float:
    return float(np.median(v)) if len(v) else float("nan")


def _works(cfg, e) -> bool:
    return bool(e["auc"][0] >= cfg.works_auc and e["detected"] >= cfg.works_detected)


def _lowest(cs, works) -> float:
    return float(min(np.asarray(cs)[works])) if works.any() else float("nan")


def write_results(cfg, out, cs, single, wta, wall, drive=None) -> Path:
    """Write the runs of :func:`.pattern_detection.run` (``single``: one per c of ``cs``;
    ``wta`` or None; ``drive``: ``{threshold: runs like single}``) to ``out``."""
    from ...io import atomic_h5, write_config, write_dataset

    out = Path(out)
    main = single[cs.index(cfg.c)]
    works = np.array([_works(cfg, e) for e in single])
    with atomic_h5(out, kind=KIND) as f:
        write_config(f, cfg.to_dict())
        r = f.create_group("results")
        a = r.attrs
        pat = main["members"] == 0
        a["c"] = cfg.c
        a["weight_auc"] = float(main["auc"][0])
        a["mean_weight_pattern"] = float(main["mean_w"][-1, 0, 0])
        a["mean_weight_noise"] = float(main["mean_w"][-1, 0, 1])
        a["detected"] = float(main["detected"])
        a["latency_median"] = _nanmedian(main["latency"])
        a["false_alarms"] = main["false_alarms"]
        a["false_alarm_rate"] = main["false_alarm_rate"]
        a["misattributed"] = main["misattributed"]
        a["test_presentations"] = main["presentations"]
        a["neuron_resets"] = main["neuron_resets"]
        a["lowest_c"] = _lowest(cs, works)
        a["wall_s"] = float(wall)
        g = r.create_group("single")
        write_dataset(g, "time", main["time"], "s")
        write_dataset(g, "mean_weight_pattern", main["mean_w"][:, 0, 0], "1")
        write_dataset(g, "mean_weight_noise", main["mean_w"][:, 0, 1], "1")
        write_dataset(g, "final_weight", main["w"][-1, :, 0], "1")
        write_dataset(g, "pattern_member", pat.astype(np.int8), "1")
        write_dataset(g, "spike_time", main["spike_time"], "s")
        write_dataset(g, "latency", main["latency"], "s")
        g = r.create_group("sweep")
        write_dataset(g, "c", np.asarray(cs, float), "1")
        write_dataset(g, "works", works.astype(np.int8), "1")
        for k, u, get in (("weight_auc", "1", lambda e: e["auc"][0]),
                          ("detected", "1", lambda e: e["detected"]),
                          ("latency_median", "s", lambda e: _nanmedian(e["latency"])),
                          ("false_alarm_rate", "Hz", lambda e: e["false_alarm_rate"]),
                          ("false_alarms", "count", lambda e: e["false_alarms"]),
                          ("misattributed", "count", lambda e: e["misattributed"]),
                          ("mean_weight_pattern", "1", lambda e: e["mean_w"][-1, 0, 0]),
                          ("mean_weight_noise", "1", lambda e: e["mean_w"][-1, 0, 1])):
            write_dataset(g, k, np.array([get(e) for e in single]), u)
        if drive:
            g = r.create_group("drive")
            th = sorted(drive)
            ok = np.array([[_works(cfg, e) for e in drive[d]] for d in th])
            write_dataset(g, "threshold", np.asarray(th, float), "1")
            write_dataset(g, "lowest_c", np.array([_lowest(cs, w) for w in ok]), "1")
            write_dataset(g, "works", ok.astype(np.int8), "1")
            write_dataset(g, "weight_auc", np.array([[e["auc"][0] for e in drive[d]]
                                                     for d in th]), "1")
            write_dataset(g, "detected", np.array([[e["detected"] for e in drive[d]]
                                                   for d in th]), "1")
        nan = float("nan")
        a["wta_c"] = cfg.wta_c if wta is not None else nan
        a["wta_patterns"] = cfg.patterns
        if wta is None:
            for k in ("wta_patterns_learned", "wta_misattributed", "wta_false_alarms"):
                a[k] = 0
            a["wta_detected"] = a["wta_false_alarm_rate"] = nan
        else:
            learned = np.unique(wta["assignment"][wta["auc"] >= cfg.works_auc])
            a["wta_patterns_learned"] = int(learned.size)
            a["wta_detected"] = float(wta["detected"])
            a["wta_misattributed"] = wta["misattributed"]
            a["wta_false_alarms"] = wta["false_alarms"]
            a["wta_false_alarm_rate"] = wta["false_alarm_rate"]
            g = r.create_group("wta")
            write_dataset(g, "time", wta["time"], "s")
            write_dataset(g, "mean_weight", wta["mean_w"], "1")
            write_dataset(g, "final_weight", wta["w"][-1], "1")
            write_dataset(g, "pattern_member", wta["members"], "1")
            write_dataset(g, "assignment", wta["assignment"], "1")
            write_dataset(g, "weight_auc", wta["auc"], "1")
            write_dataset(g, "spike_time", wta["spike_time"], "s")
            write_dataset(g, "spike_neuron", wta["spike_neuron"], "1")
            write_dataset(g, "latency", wta["latency"], "s")
    return out


def summary_lines(path) -> str:
    """Headline lines of a ``pattern_detection`` file."""
    from ...io import open_h5, read_config

    with open_h5(path, kind=KIND) as f:
        cfg = read_config(f)
        a = dict(f["results"].attrs)
        cs = f["results/sweep/c"][:]
        works = f["results/sweep/works"][:].astype(bool)
        drive = {k: f[f"results/drive/{k}"][:] for k in ("threshold", "lowest_c")} \
            if "drive" in f["results"] else None
    ms = 1e3 * a["latency_median"]
    lines = [
        (f"one phase-change neuron, {cfg['inputs']} PCM synapses ({cfg['pattern_inputs']} "
         f"pattern inputs, c = {a['c']:g}): final mean weight pattern "
         f"{a['mean_weight_pattern']:.3f} vs others {a['mean_weight_noise']:.3f} (weight "
         f"ROC-AUC {a['weight_auc']:.3f})"),
        (f"  test: {100 * a['detected']:.1f} % of {a['test_presentations']} presentations "
         f"detected, median latency {ms:.0f} ms, {a['false_alarms']} false alarms "
         f"({a['false_alarm_rate']:.3f} Hz outside presentations), {a['misattributed']} "
         f"misattributed"),
        "  works (weight ROC-AUC >= {:g}, detected >= {:g}) at c = {}; lowest {}".format(
            cfg["works_auc"], cfg["works_detected"],
            ", ".join(f"{c:g}" for c in cs[works]) or "none",
            f"c = {a['lowest_c']:g}" if np.isfinite(a["lowest_c"]) else "c: none of "
            + ", ".join(f"{c:g}" for c in cs))]
    if a["wta_patterns"] and np.isfinite(a["wta_c"]):
        lines.append(
            f"winner-take-all, {a['wta_patterns']} patterns and neurons (c = "
            f"{a['wta_c']:g}): {a['wta_patterns_learned']} patterns learned, "
            f"{100 * a['wta_detected']:.1f} % of presentations detected by their neuron, "
            f"{a['wta_misattributed']} misattributed spikes, {a['wta_false_alarms']} false "
            f"alarms ({a['wta_false_alarm_rate']:.3f} Hz)")
    if drive is not None:
        lines.append("  lowest c against the assumed drive threshold: " + ", ".join(
            f"{d:g}: " + (f"{lc:g}" if np.isfinite(lc) else "none")
            for d, lc in zip(drive["threshold"], drive["lowest_c"]))
            + f" (the run's {cfg['drive_threshold']:g}: {a['lowest_c']:g})")
    lines.append(f"  {a['wall_s']:.1f} s")
    return "\n".join(lines)


def draw(path, png) -> Path:
    """Mean weights of pattern and other inputs against time and the final weights (single
    neuron at c); weight ROC-AUC and detected fraction, false-alarm rate and latency
    against c; the winner-take-all neurons' mean weight per pattern against time."""
    from ...io import open_h5, read_config
    from ...plotting import colours, new_figure

    with open_h5(path, kind=KIND) as f:
        cfg = read_config(f)
        a = dict(f["results"].attrs)
        s = {k: f[f"results/single/{k}"][:] for k in f["results/single"]}
        sw = {k: f[f"results/sweep/{k}"][:] for k in f["results/sweep"]}
        wta = {k: f[f"results/wta/{k}"][:] for k in f["results/wta"]} \
            if "wta" in f["results"] else None
        drive = {k: f[f"results/drive/{k}"][:] for k in f["results/drive"]} \
            if "drive" in f["results"] else None
    fig, ax = new_figure(2, 4 if drive else 3, (17 if drive else 13, 7))
    if drive:
        x = ax[0, 3]
        # the sweep's thresholds and the run's own, with its lowest c
        th = np.r_[drive["threshold"], float(cfg["drive_threshold"])]
        lc = np.r_[drive["lowest_c"], a["lowest_c"]]
        order = np.argsort(th, kind="stable")
        th, lc = th[order], lc[order]
        none = ~np.isfinite(lc)
        x.plot(th, lc, "o-", color="k", label="lowest c that works")
        if none.any():
            x.plot(th[none], np.full(none.sum(), max(sw["c"])), "kx",
                   label="works at no c swept (drawn at the largest)")
        x.axvline(float(cfg["drive_threshold"]), color="C3", ls=":", label="the run's value")
        x.set(xlabel="drive threshold (summed weight, 1)", ylabel="lowest c that works (1)",
              title="the assumed drive threshold")
        x.legend(fontsize=7)
        ax[1, 3].set_axis_off()
    learn = float(cfg["learn_time"])
    x = ax[0, 0]
    x.plot(s["time"], s["mean_weight_pattern"], "C3", label="pattern inputs")
    x.plot(s["time"], s["mean_weight_noise"], "C0", label="other inputs")
    x.axvline(learn, color="k", ls=":", label="end of learning")
    x.set(xlabel="time (s)", ylabel="mean weight w (pulse amplitude, 1)",
          title=f"single neuron, c = {a['c']:g}")
    x.legend(fontsize=7)
    x = ax[0, 1]
    idx = np.arange(s["final_weight"].size)
    pm = s["pattern_member"].astype(bool)
    x.plot(idx[pm], s["final_weight"][pm], "C3o", ms=3, label="pattern")
    x.plot(idx[~pm], s["final_weight"][~pm], "C0o", ms=3, label="other")
    x.set(xlabel="input", ylabel="final weight (1)",
          title=f"weight ROC-AUC {a['weight_auc']:.3f}")
    x.legend(fontsize=7)
    x = ax[0, 2]
    x.plot(sw["c"], sw["weight_auc"], "o-", label="weight ROC-AUC")
    x.plot(sw["c"], sw["detected"], "s-", label="presentations detected")
    x.axhline(cfg["works_auc"], color="C0", ls=":", lw=0.8)
    x.axhline(cfg["works_detected"], color="C1", ls=":", lw=0.8)
    if np.isfinite(a["lowest_c"]):
        x.axvline(a["lowest_c"], color="k", ls="--", label=f"lowest c {a['lowest_c']:g}")
    x.set(xlabel="correlation c", ylabel="fraction (1)", ylim=(-0.02, 1.02),
          title="single neuron against c")
    x.legend(fontsize=7)
    x = ax[1, 0]
    x.plot(sw["c"], sw["false_alarm_rate"], "o-", color="C2")
    x.set(xlabel="correlation c", ylabel="false alarms outside presentations (Hz)")
    x = ax[1, 1]
    x.plot(sw["c"], 1e3 * sw["latency_median"], "o-", color="C4")
    x.set(xlabel="correlation c", ylabel="median detection latency (ms)")
    x = ax[1, 2]
    if wta is not None:
        mw = wta["mean_weight"]
        n, p = mw.shape[1], mw.shape[2] - 1
        cols = colours(max(p, 1))
        for j in range(n):
            for m in range(p):
                x.plot(wta["time"], mw[:, j, m], color=cols[m], ls=("-", "--", ":", "-.")[j % 4],
                       label=f"neuron {j} (-> {wta['assignment'][j]}), pattern {m}"
                       if n * p <= 9 else None)
        x.plot(wta["time"], mw[:, :, p].mean(axis=1), "k", lw=0.8, label="other inputs")
        x.axvline(float(cfg["wta_learn_time"]), color="k", ls=":")
        x.set(xlabel="time (s)", ylabel="mean weight (1)",
              title=f"winner-take-all, c = {a['wta_c']:g}: {a['wta_patterns_learned']} of "
                    f"{p} learned")
        x.legend(fontsize=6)
    else:
        x.set_axis_off()
    fig.tight_layout()
    return save_figure(fig, png)
