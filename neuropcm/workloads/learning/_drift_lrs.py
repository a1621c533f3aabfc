"""LRS programming conditions of the drift-resilient workload (seed 2's Fig. 8c-e; issue
20, point 9): accuracy against time for a grid of LRS means and spreads and for the
``munoz2021_iset200`` / ``munoz2021_iset450`` presets (:mod:`neuropcm.devices.lrs_presets`).

Seed 2 gives no LRS mean, spread or drift exponent for its SET currents, so the presets'
values are assumed; ``lrs_sweep`` (the grid's LRS means as fractions ``f`` of ``g_max``,
the full-SET level) times ``lrs_spreads`` (relative stds ``s``) shows what those numbers
decide. A grid point is the drift run's network (``weight_bits``, ``preset`` with
``device_overrides``, ``adc_bits``, ``adc_mode``, instance seeds of the drift run) with:

* the LRS programmed to ``f g_max`` (``g_target``),
* programming noise ``s`` times the target only (``prog_rel = s``, ``prog_p* = 0``): an
  LRS ``min(N(f g_max, (s f g_max)^2), g_max)``, truncated at saturation where ``f (1 +
  3 s)`` nears 1 (the measured mean and spread of instance 0's layer-1 LRS devices are
  stored beside the grid),
* the drift exponent of the preset's own relation at ``gn = f`` (for ``binary``:
  log-linear between 0.03 at gn = 1 and 0.09 at the HRS; a lower LRS drifts more, which
  is how "the LRS modulated by I_PULSE" of the seed's text loses accuracy).

The named presets are run as registered (their own LRS target, spread and drift
exponents; the run's ``device_overrides`` are not applied to them). Every network is
read at the drift run's times (``t0`` to ``t_max t0``) with K. Datasets
``results/lrs/{mean_fraction, spread, g_max, nu_lrs, nu_std_lrs, accuracy,
programmed_mean, programmed_spread, preset_i_set, preset_fraction, preset_spread,
preset_nu, preset_nu_std, preset_accuracy, preset_programmed_mean,
preset_programmed_spread}``.
"""

from __future__ import annotations

import numpy as np

from ...devices.lrs_presets import LRS_CONDITIONS
from ...errors import ParameterError

#: Seed 2's Table I at I_SET = 200 uA: accuracy at t0 and at 10^6 t0 (K compensated).
PAPER_T0, PAPER_FINAL = 0.971, 0.968
#: Largest relative LRS spread of the grid (beyond it a Gaussian LRS reaches 0 at 2 std).
SPREAD_MAX = 0.5
#: Smallest LRS mean of the grid as a fraction of g_max (5 times binary's HRS, 0.01).
FRACTION_MIN = 0.05
#: Units of the datasets under ``results/lrs``.
UNITS = {"mean_fraction": "1", "spread": "1", "g_max": "S", "nu_lrs": "1",
         "nu_std_lrs": "1", "accuracy": "1", "programmed_mean": "S",
         "programmed_spread": "1", "preset_i_set": "A", "preset_fraction": "1",
         "preset_spread": "1", "preset_nu": "1", "preset_nu_std": "1",
         "preset_accuracy": "1", "preset_programmed_mean": "S",
         "preset_programmed_spread": "1"}
_DIMS = {"mean_fraction": "mean", "spread": "spread", "nu_lrs": "mean", "nu_std_lrs": "mean",
         "accuracy": "mean, spread, time, instances", "programmed_mean": "mean, spread",
         "programmed_spread": "mean, spread", "preset_accuracy": "presets, time, instances"}


def target(c) -> float | None:
    """The LRS target (S) of the run's digital weights: the preset's declared LRS mean
    for a preset of :data:`~neuropcm.devices.lrs_presets.LRS_CONDITIONS`, else
    ``lrs_target g_max`` (None at 1: the crossbar's default, g_max)."""
    from ...devices import get_preset

    if c.preset in LRS_CONDITIONS:
        return LRS_CONDITIONS[c.preset].g_lrs
    if c.lrs_target == 1.0:
        return None
    return c.lrs_target * get_preset(c.preset, **(c.device_overrides or {})).g_max


def check(c) -> None:
    """One-line errors: ``lrs_target`` with a preset that declares its LRS; an empty or
    unsorted ``lrs_spreads`` when the sweep runs."""
    if c.preset in LRS_CONDITIONS and c.lrs_target != 1.0:
        raise ParameterError(f"lrs_target = {c.lrs_target!r} with preset {c.preset!r}, which "
                             f"declares its own LRS mean ({LRS_CONDITIONS[c.preset].g_lrs:g} "
                             f"S); leave lrs_target at 1 or use preset 'binary'")
    v = list(c.lrs_spreads)
    if c.lrs_sweep and (not v or v != sorted(set(v))):
        raise ParameterError(f"lrs_spreads = {v} must be a non-empty, strictly increasing "
                             f"list when lrs_sweep is given")


def networks(c) -> int:
    """Networks the sweep maps (0 without ``lrs_sweep``)."""
    if not c.lrs_sweep:
        return 0
    return c.sweep_instances * (len(c.lrs_sweep) * len(c.lrs_spreads) + len(LRS_CONDITIONS))


def passes(c) -> int:
    """Passes of the test set: every network at every read time."""
    return networks(c) * c.time_points


def overrides(c, spread: float) -> dict:
    """Device overrides of a grid point of spread ``spread``: the run's own, with the
    programming noise ``spread`` times the target only."""
    return {**(c.device_overrides or {}), "prog_p2": 0.0, "prog_p1": 0.0, "prog_p0": 0.0,
            "prog_rel": float(spread)}


def _lrs_stats(n) -> tuple[float, float]:
    """Mean (S) and std / mean of the programmed LRS devices of layer 1's bit planes."""
    xb = n.crossbars[0]
    G = np.asarray(xb.arrays["main"].conductance)
    mask = np.broadcast_to(xb.mapping.bit_main[:, None], G.shape)
    g = G[mask]
    return float(g.mean()), float(g.std() / g.mean())


def run(c, net, curve, bar) -> dict:
    """The sweep of config ``c``: ``{name: array}`` of :data:`UNITS`.

    ``net(j, preset=..., overrides=..., options=...)`` builds instance ``j`` of the drift
    run's network; ``curve(n)`` gives its accuracy with K at the drift run's read times
    (moving ``bar`` on once per time).
    """
    from ...devices import get_preset
    from ...devices.physics import NU_MEAN, NU_STD

    fr, sp, S = np.array(c.lrs_sweep, float), np.array(c.lrs_spreads, float), c.sweep_instances
    p = get_preset(c.preset, **(c.device_overrides or {}))
    acc = np.empty((len(fr), len(sp), c.time_points, S))
    stats = np.empty((2, len(fr), len(sp)))
    for i, f in enumerate(fr):
        for k, s in enumerate(sp):
            bar.set_postfix_str(f"LRS {f:g} g_max, spread {s:g}")
            for j in range(S):
                n = net(j, overrides=overrides(c, s), options={"g_target": f * p.g_max})
                if j == 0:
                    stats[:, i, k] = _lrs_stats(n)
                acc[i, k, :, j] = curve(n)
    names = list(LRS_CONDITIONS)
    pacc = np.empty((len(names), c.time_points, S))
    pstats = np.empty((2, len(names)))
    for i, name in enumerate(names):
        bar.set_postfix_str(name)
        for j in range(S):
            n = net(j, preset=name, overrides=None,
                    options={"g_target": LRS_CONDITIONS[name].g_lrs})
            if j == 0:
                pstats[:, i] = _lrs_stats(n)
            pacc[i, :, j] = curve(n)
    conds = [LRS_CONDITIONS[n] for n in names]
    G = fr * p.g_max
    return {"mean_fraction": fr, "spread": sp, "g_max": float(p.g_max),
            "nu_lrs": np.asarray(NU_MEAN(p, Gt=G), float),
            "nu_std_lrs": np.asarray(NU_STD(p, Gt=G), float), "accuracy": acc,
            "programmed_mean": stats[0], "programmed_spread": stats[1],
            "preset_i_set": np.array([x.i_set for x in conds]),
            "preset_fraction": np.array([x.g_lrs / get_preset(n).g_max
                                         for x, n in zip(conds, names)]),
            "preset_spread": np.array([x.spread for x in conds]),
            "preset_nu": np.array([x.nu for x in conds]),
            "preset_nu_std": np.array([x.nu_std for x in conds]),
            "preset_accuracy": pacc, "preset_programmed_mean": pstats[0],
            "preset_programmed_spread": pstats[1]}


def write(r, results: dict) -> None:
    """Write :func:`run`'s results as the group ``lrs`` of the ``results`` group ``r``."""
    from ...io import write_dataset

    g = r.require_group("lrs")
    for name, v in results.items():
        kw = {"dims": _DIMS[name]} if name in _DIMS else (
            {"dims": "presets"} if name.startswith("preset_") else {})
        if name == "mean_fraction":
            kw["note"] = "LRS mean / g_max (the full-SET level, results/lrs/g_max)"
        write_dataset(g, name, v, UNITS[name], **kw)


def load(r) -> dict | None:
    """The sweep's arrays from a ``results`` group (None if it holds none)."""
    return {k: r["lrs"][k][()] for k in r["lrs"]} if "lrs" in r else None


def _iset(a: float) -> str:
    return f"I_SET = {a * 1e6:.0f} uA"


def summary_lines(d: dict, t_max: float) -> list[str]:
    """Summary lines of the sweep ``d`` (:func:`load`)."""
    fr, sp, acc = d["mean_fraction"], d["spread"], d["accuracy"]
    g_max = float(d["g_max"])
    ref = f"paper, MNIST, I_SET = 200 uA: {100 * PAPER_T0:.1f} / {100 * PAPER_FINAL:.1f} %"
    lines = [f"LRS programming conditions (Fig. 8c-e; LRS mean, spread and drift exponent "
             f"ASSUMED): accuracy at t0 / {t_max:g} t0 with K ({ref}): " + "; ".join(
                 f"{_iset(i)} ({f * g_max * 1e6:.3g} uS, {100 * s:g} %, nu {nu:.4f}) "
                 f"{100 * a[0].mean():.2f} / {100 * a[-1].mean():.2f} %"
                 for i, f, s, nu, a in zip(d["preset_i_set"], d["preset_fraction"],
                                           d["preset_spread"], d["preset_nu"],
                                           d["preset_accuracy"]))]
    lines.append(f"LRS grid (mean as fraction of g_max = {g_max * 1e6:g} uS, nu at it; "
                 f"spread std/mean): accuracy at t0 / {t_max:g} t0 with K: " + "; ".join(
                     f"{f:g} (nu {nu:.4f}), {100 * s:g} %: {100 * acc[i, k, 0].mean():.2f} / "
                     f"{100 * acc[i, k, -1].mean():.2f} %"
                     for i, (f, nu) in enumerate(zip(fr, d["nu_lrs"]))
                     for k, s in enumerate(sp)))
    return lines


def draw(axes, d: dict, T: np.ndarray) -> None:
    """Two panels: accuracy against time (log axis) for every grid point (colour: mean,
    line style: spread) and preset (black), with seed 2's Table I points as lines; and
    accuracy at the last time against the LRS mean, one line per spread, the presets
    marked."""
    from ...plotting import colours

    fr, sp, acc = d["mean_fraction"], d["spread"], 100 * d["accuracy"]
    styles = ("-", "--", ":", "-.")
    ax = axes[0]
    for i, (f, col) in enumerate(zip(fr, colours(len(fr), 0, 0.85))):
        for k, s in enumerate(sp):
            ax.plot(T, acc[i, k].mean(-1), styles[k % 4], color=col, lw=1,
                    label=f"{f:g} g_max, {100 * s:g} %")
    for i, (a, m) in enumerate(zip(d["preset_i_set"], ("s", "^", "o", "D"))):
        ax.plot(T, 100 * d["preset_accuracy"][i].mean(-1), "k" + m + "-", lw=2, ms=5,
                label=f"{_iset(a)} (assumed {d['preset_fraction'][i]:g} g_max, "
                      f"{100 * d['preset_spread'][i]:g} %)")
    ax.axhline(100 * PAPER_T0, color="grey", ls=":", lw=1,
               label=f"paper, MNIST, 200 uA, t0: {100 * PAPER_T0:.1f} %")
    ax.axhline(100 * PAPER_FINAL, color="grey", ls="-.", lw=1,
               label=f"paper, MNIST, 200 uA, 10^6 t0: {100 * PAPER_FINAL:.1f} %")
    ax.set(xscale="log", xlabel="time / t0", ylabel="test accuracy, with K (%)",
           title="Fig. 8c-e: LRS programming conditions (LRS mean, spread)")
    ax = axes[1]
    for k, s in enumerate(sp):
        a = acc[:, k, -1]
        ax.errorbar(fr, a.mean(-1), yerr=a.std(-1), fmt="o" + styles[k % 4], capsize=3,
                    label=f"spread {100 * s:g} %, {T[-1]:g} t0")
    for i, (a, m) in enumerate(zip(d["preset_i_set"], ("s", "^", "o", "D"))):
        ax.plot(d["preset_fraction"][i], 100 * d["preset_accuracy"][i, -1].mean(), "k" + m,
                ms=9, label=f"{_iset(a)} preset ({100 * d['preset_spread'][i]:g} %)")
    ax.axhline(100 * PAPER_FINAL, color="grey", ls="-.", lw=1,
               label=f"paper, MNIST, 200 uA, 10^6 t0: {100 * PAPER_FINAL:.1f} %")
    ax.set(xlabel="LRS mean / g_max (full SET)", ylabel="test accuracy, with K (%)",
           title=f"accuracy at {T[-1]:g} t0 against the assumed LRS")
    for x in axes[:2]:
        x.legend(fontsize=6)
        x.grid(alpha=0.3)
