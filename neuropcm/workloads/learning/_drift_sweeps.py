"""Opt-in sweeps of the drift-resilient workload (:mod:`.drift_resilient`): what the
circuit and one assumed device number do to the mapped MLP's accuracy.

Each sweep runs only when its config list is non-empty (then nothing of it is run or
written, and the file is the one from before the sweep existed). Every point is the
network of the drift run (``weight_bits``-bit digital weights, ``preset``, ``adc_bits``,
``adc_mode``) measured at ``t0`` and at ``t_max t0`` with K, over ``sweep_instances``
device instances; instance ``j`` has the seed of the drift run's instance ``j``, so every
point of a sweep reads the same programmed devices and its first point (0) is the drift
run's network.

* ``wire_sweep`` (issue 21, point 4): wire resistance ``r`` per cell segment on rows and
  columns of every physical array (driver and sense resistance 0), the exact nodal
  network of :mod:`neuropcm.crossbar.circuit` (read noise added to the solved currents,
  as documented there). The arrays are not tiled: layer 1 is one 785-row array per bit
  plane, so a column collects the current of 785 devices, and the first-order relative
  drop of a column's far cell, all its devices conducting, is ``r g N (N + 1) / 2``
  (0.77 % at 1 mohm, N = 785, g = 25 uS: an LRS of the ``binary`` preset), and the
  dummy line's offset ``|W_min|`` makes the differential result far smaller than the
  line currents the drop scales: the range to sweep is milli-ohms to a tenth of an ohm.
  Datasets ``results/wires/{resistance, accuracy_t0, accuracy_final}``.
* ``stuck_sweep`` (issue 21, point 4): a fraction ``p`` of devices stuck at ``g_min``
  (``p_stuck_off = p``, curve "off") and, separately, at ``g_max`` (``p_stuck_on = p``,
  "on"); every physical array, the dummy lines and the LRS reference column included,
  draws its faults from its own stream. Datasets ``results/stuck/{fraction,
  accuracy_t0_off, accuracy_final_off, accuracy_t0_on, accuracy_final_on}``.
* ``nu_spread_sweep`` (issue 20, point 4): the device-to-device spread of the drift
  exponent, as a fraction ``s`` of its mean: :func:`spread_overrides` sets the preset's
  ``nu_c = s nu_a`` and ``nu_d = s nu_b`` so that ``std(nu) = s mean(nu)`` at every
  state (the ``binary`` preset's own 8 % is an assumption, see
  :func:`neuropcm.devices.builtin_presets.binary`). K corrects the mean drift only: the
  spread leaves the weights a relative spread of about ``s nu ln T``. Datasets
  ``results/nu_spread/{spread, nu_std_lrs, accuracy_t0, accuracy_final}``.
* ``lrs_sweep`` (issue 20, point 9; Fig. 8c-e): accuracy against time for a grid of LRS
  means and spreads and the I_SET presets, in :mod:`._drift_lrs` (written, read, summed
  up and drawn through this module).
"""

from __future__ import annotations

import numpy as np

from ...errors import ParameterError
from ..computational_memory.mvm_precision import WIRE_R_MAX, WIRE_R_UNIT  # noqa: F401
from . import _drift_lrs as lrs

#: Config fields of the sweeps (each a strictly increasing list; empty: no sweep).
FIELDS = ("wire_sweep", "stuck_sweep", "nu_spread_sweep", "one_layer_adc_sweep",
          "lrs_sweep")
#: Largest stuck fraction of the sweep (above it the network is mostly faults).
STUCK_MAX = 0.5
#: Largest relative drift-exponent spread (a std of the mean itself: nu < 0 for 16 %).
SPREAD_MAX = 1.0
#: Paper values drawn as reference lines: accuracy at 10^6 t0 with K (Table I).
PAPER_FINAL = 0.968


def check(c) -> None:
    """One-line errors for the sweep lists of a config ``c`` (strictly increasing)."""
    for name in FIELDS:
        v = list(getattr(c, name))
        if v != sorted(set(v)):
            raise ParameterError(f"{name} = {v} must be strictly increasing (or empty: no "
                                 f"sweep)")
    lrs.check(c)


def points(c) -> int:
    """Networks measured by the sweeps of ``c`` (each twice: t0 and t_max t0)."""
    return c.sweep_instances * (len(c.wire_sweep) + 2 * len(c.stuck_sweep)
                                + len(c.nu_spread_sweep) + len(c.one_layer_adc_sweep))


def spread_overrides(preset: str, spread: float, overrides: dict | None = None) -> dict:
    """Device overrides giving a drift-exponent std of ``spread`` times its mean.

    The programmed-state model has ``mean(nu) = nu_a ln gn + nu_b`` and ``std(nu) = nu_c
    ln gn + nu_d`` (clipped); ``nu_c = s nu_a``, ``nu_d = s nu_b`` make ``std = s mean``
    wherever the mean is not clipped, the lower std clip is set to 0 and the upper one
    raised to ``s nu_mean_max`` where that is above it (so ``s = 0`` is no spread).

    Parameters
    ----------
    preset : str
        Programmed-state preset (its parameters after ``overrides``).
    spread : float
        ``s`` in [0, :data:`SPREAD_MAX`].
    overrides : dict, optional
        The run's own device overrides; the result adds to them.
    """
    from ...devices import get_preset

    if not 0.0 <= spread <= SPREAD_MAX:
        raise ParameterError(f"spread = {spread!r} must be in [0, {SPREAD_MAX}] (a fraction "
                             f"of the mean drift exponent)")
    p = get_preset(preset, **(overrides or {}))
    if getattr(p, "model", None) != "programmed":
        raise ParameterError(f"preset {preset!r} is not a programmed-state preset; the drift "
                             f"exponent spread needs nu_a, nu_b, nu_c, nu_d")
    return {**(overrides or {}), "nu_c": spread * p.nu_a, "nu_d": spread * p.nu_b,
            "nu_std_min": 0.0, "nu_std_max": max(p.nu_std_max, spread * p.nu_mean_max)}


def run(c, net, ends, bar) -> dict:
    """The sweeps of config ``c``: ``{dataset path under results: array}``.

    ``net(j, overrides=..., options=...)`` builds instance ``j`` of the drift run's
    network with device overrides and further crossbar options; ``ends(n)`` gives its
    accuracy ``(t0, t_max t0)`` with K and moves ``bar`` on twice.
    """
    from ...devices import get_preset

    S, out = c.sweep_instances, {}

    def sweep(values, label, make):
        a = np.empty((2, len(values), S))
        for i, v in enumerate(values):
            bar.set_postfix_str(f"{label} {v:g}")
            for j in range(S):
                a[:, i, j] = ends(make(j, v))
        return a

    if c.wire_sweep:
        a = sweep(c.wire_sweep, "wire ohm", lambda j, r: net(
            j, options={"wire_resistance_row": r, "wire_resistance_col": r}))
        out.update({"wires/resistance": np.array(c.wire_sweep, float),
                    "wires/accuracy_t0": a[0], "wires/accuracy_final": a[1]})
    if c.stuck_sweep:
        out["stuck/fraction"] = np.array(c.stuck_sweep, float)
        for kind in ("off", "on"):
            a = sweep(c.stuck_sweep, f"stuck {kind}",
                      lambda j, p, k=kind: net(j, options={f"p_stuck_{k}": p}))
            out[f"stuck/accuracy_t0_{kind}"], out[f"stuck/accuracy_final_{kind}"] = a
    if c.nu_spread_sweep:
        a = sweep(c.nu_spread_sweep, "nu spread", lambda j, s: net(
            j, overrides=spread_overrides(c.preset, s, c.device_overrides)))
        p = get_preset(c.preset, **(c.device_overrides or {}))
        lrs = float(np.clip(p.nu_b, p.nu_mean_min, p.nu_mean_max))  # mean nu at gn = 1
        own = p.nu_d / p.nu_b if p.nu_b else np.nan  # the preset's own spread at gn = 1
        out.update({"nu_spread/spread": np.array(c.nu_spread_sweep, float),
                    "nu_spread/preset_spread": float(own),
                    "nu_spread/nu_std_lrs": lrs * np.array(c.nu_spread_sweep, float),
                    "nu_spread/accuracy_t0": a[0], "nu_spread/accuracy_final": a[1]})
    return out


def one_layer(c, data, ends, bar) -> dict:
    """Seed 2's Fig. 4a: a one-layer network (784 -> 10, sigmoid outputs, trained in
    float like the MLP, stream ``("drift-resilient", "one-layer")``) at ``weight_bits``
    on ``preset`` (:class:`~neuropcm.workloads.learning._drift_network.MappedLayer`),
    accuracy at t0 and ``t_max t0`` for each ADC resolution of ``one_layer_adc_sweep``
    (``sweep_instances`` instances, seeds of the drift run's instances).

    ``data`` is ``(Xtr, ytr, Xcal, Xte, yte)``; ``ends`` as in :func:`run`.
    """
    from ...random import int_seed
    from . import _drift_network as dn
    from ._mlp import float_ops, predict, train_float

    Xtr, ytr, Xcal, Xte, yte = data
    bar.set_postfix_str("one-layer training")
    W = train_float(Xtr, ytr, (Xtr.shape[0], 10), seed=c.seed, epochs=c.epochs, lr=c.lr,
                    batch=c.batch, path=("drift-resilient", "one-layer"))[0]
    L, g = 2 ** c.weight_bits, lrs.target(c)
    Wq = dn.quantise(W, L, c.grid)[0]
    a = np.empty((2, len(c.one_layer_adc_sweep), c.sweep_instances))
    for i, b in enumerate(c.one_layer_adc_sweep):
        bar.set_postfix_str(f"one layer, ADC {b} bits")
        for j in range(c.sweep_instances):
            n = dn.MappedLayer(Wq, weights="digital", levels=L, adc_bits=b, calibration=Xcal,
                               preset=c.preset, seed=int_seed(c.seed, "devices", j),
                               adc_mode=c.adc_mode, device_overrides=c.device_overrides,
                               grid=c.grid, crossbar_options=None if g is None else {
                                   "g_target": g})
            a[:, i, j] = ends(n)
    from ._mlp import with_ones

    return {"one_layer/bits": np.array(c.one_layer_adc_sweep),
            "one_layer/accuracy_t0": a[0], "one_layer/accuracy_final": a[1],
            "one_layer/software_accuracy": float((predict(float_ops([W])[0], Xte) == yte)
                                                 .mean()),
            "one_layer/quantised_accuracy": float(((Wq @ with_ones(Xte)).argmax(axis=0)
                                                   == yte).mean())}


#: Units and dims of the sweep datasets (``results/<path>``).
UNITS = {"wires/resistance": WIRE_R_UNIT, "wires/accuracy_t0": "1",
         "wires/accuracy_final": "1", "stuck/fraction": "1",
         **{f"stuck/accuracy_{w}_{k}": "1" for w in ("t0", "final") for k in ("off", "on")},
         "nu_spread/spread": "1", "nu_spread/preset_spread": "1",
         "nu_spread/nu_std_lrs": "1", "nu_spread/accuracy_t0": "1",
         "nu_spread/accuracy_final": "1", "one_layer/bits": "count",
         "one_layer/accuracy_t0": "1", "one_layer/accuracy_final": "1",
         "one_layer/software_accuracy": "1", "one_layer/quantised_accuracy": "1"}
_DIMS = {"wires": "resistance, instances", "stuck": "fraction, instances",
         "nu_spread": "spread, instances", "one_layer": "bits, instances"}
#: Groups drawn in panels of their own (``one_layer`` joins the Fig. 4 panel).
PANELS = ("wires", "stuck", "nu_spread")


def write(r, results: dict) -> None:
    """Write :func:`run`'s results into the ``results`` group ``r``."""
    from ...io import write_dataset

    for path, v in results.items():
        grp, name = path.split("/")
        if grp == "lrs":
            continue
        g = r.require_group(grp)
        dims = (_DIMS[grp] if name.startswith("accuracy") else
                _DIMS[grp].split(",")[0] if np.ndim(v) == 1 else None)
        kw = {"dims": dims} if dims else {}
        if path == "wires/resistance":
            kw["note"] = "ohm per cell segment, rows and columns"
        write_dataset(g, name, v, UNITS[path], **kw)
    if any(p.startswith("lrs/") for p in results):
        lrs.write(r, {p[4:]: v for p, v in results.items() if p.startswith("lrs/")})


def load(r) -> dict:
    """The sweeps a ``results`` group holds: ``{group: {name: array}}``."""
    out = {g: {k: r[g][k][()] for k in r[g]} for g in _DIMS if g in r}
    if "lrs" in r:
        out["lrs"] = lrs.load(r)
    return out


def panels(d: dict) -> int:
    """Figure panels of the sweeps in ``d`` (:func:`load`): one per group of
    :data:`PANELS`, two for ``lrs``."""
    return sum(g in d for g in PANELS) + 2 * ("lrs" in d)


def _pct(a) -> str:
    return f"{100 * a.mean():.2f} %"


def summary_lines(d: dict, t_max: float) -> list[str]:
    """Summary lines of the sweeps in ``d`` (:func:`load`)."""
    lines = []
    if "wires" in d:
        w = d["wires"]
        lines.append(f"wire resistance per cell segment (rows, columns; arrays not tiled): "
                     f"accuracy at t0 / {t_max:g} t0 with K: " + ", ".join(
                         f"{r:g} ohm {_pct(a)} / {_pct(b)}" for r, a, b in
                         zip(w["resistance"], w["accuracy_t0"], w["accuracy_final"])))
    if "stuck" in d:
        s = d["stuck"]
        for k, where in (("off", "g_min"), ("on", "g_max")):
            lines.append(f"stuck at {where} (p_stuck_{k}): accuracy at t0 / {t_max:g} t0: "
                         + ", ".join(f"{p:g} {_pct(a)} / {_pct(b)}" for p, a, b in
                                     zip(s["fraction"], s[f"accuracy_t0_{k}"],
                                         s[f"accuracy_final_{k}"])))
    if "one_layer" in d:
        o = d["one_layer"]
        lines.append(f"one-layer network (Fig. 4a; paper: 8 ADC bits needed, 6 for two "
                     f"layers; software {100 * float(o['software_accuracy']):.2f} %, quantised "
                     f"{100 * float(o['quantised_accuracy']):.2f} %): accuracy at t0 / "
                     f"{t_max:g} t0 by ADC bits: " + ", ".join(
                         f"{b} {_pct(x)} / {_pct(y)}" for b, x, y in
                         zip(o["bits"], o["accuracy_t0"], o["accuracy_final"])))
    if "nu_spread" in d:
        n = d["nu_spread"]
        lines.append(f"drift-exponent spread (std / mean; LRS std): accuracy at {t_max:g} t0 "
                     f"with K (paper {100 * PAPER_FINAL:.1f} %): " + ", ".join(
                         f"{s:g} ({v:.4f}) {_pct(a)}" for s, v, a in
                         zip(n["spread"], n["nu_std_lrs"], n["accuracy_final"])))
    if "lrs" in d:
        lines += lrs.summary_lines(d["lrs"], t_max)
    return lines


def draw(axes, d: dict, t_max: float, T=None) -> None:
    """One axes per sweep in ``d`` (``axes`` at least :func:`panels`): accuracy at t0 and
    at ``t_max t0`` (with K) against the swept value, mean +- std over instances; for
    ``lrs`` two (:func:`._drift_lrs.draw`, ``T`` the read times in t0)."""
    def curves(ax, x, pairs):
        for key, label, fmt in pairs:
            a = 100 * key
            ax.errorbar(x, a.mean(1), yerr=a.std(1), fmt=fmt, capsize=3, label=label)

    k = 0
    if "wires" in d:
        w, ax = d["wires"], axes[k]
        curves(ax, w["resistance"], ((w["accuracy_t0"], "t0", "o-"),
                                     (w["accuracy_final"], f"{t_max:g} t0, with K", "s--")))
        if w["resistance"][0] == 0 and len(w["resistance"]) > 2:
            ax.set_xscale("symlog", linthresh=float(w["resistance"][1]))
        ax.set(xlabel="wire resistance per cell segment (Ω)", ylabel="test accuracy (%)",
               title="IR drop (785-row arrays, not tiled)")
        k += 1
    if "stuck" in d:
        s, ax = d["stuck"], axes[k]
        curves(ax, 100 * s["fraction"], (
            (s["accuracy_t0_off"], "stuck at g_min, t0", "o-"),
            (s["accuracy_final_off"], f"stuck at g_min, {t_max:g} t0", "o--"),
            (s["accuracy_t0_on"], "stuck at g_max, t0", "s-"),
            (s["accuracy_final_on"], f"stuck at g_max, {t_max:g} t0", "s--")))
        if s["fraction"][0] == 0 and len(s["fraction"]) > 2:
            ax.set_xscale("symlog", linthresh=100 * float(s["fraction"][1]))
        ax.set(xlabel="stuck devices (%)", ylabel="test accuracy (%)",
               title="device faults")
        k += 1
    if "nu_spread" in d:
        n, ax = d["nu_spread"], axes[k]
        curves(ax, 100 * n["spread"], ((n["accuracy_t0"], "t0", "o-"),
                                       (n["accuracy_final"], f"{t_max:g} t0, with K", "s-")))
        ax.axhline(100 * PAPER_FINAL, color="k", ls=":", lw=1,
                   label=f"paper, 10^6 t0: {100 * PAPER_FINAL:.1f} %")
        own = float(n.get("preset_spread", np.nan))
        if np.isfinite(own):
            ax.axvline(100 * own, color="grey", ls="--", lw=1,
                       label=f"the preset's assumed spread ({100 * own:g} %)")
        ax.set(xlabel="drift-exponent spread, std / mean (%)", ylabel="test accuracy (%)",
               title="the assumed spread of ν")
        k += 1
    for ax in axes[:k]:
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    if "lrs" in d:
        lrs.draw(axes[k:k + 2], d["lrs"], T)
        k += 2
    for ax in axes[k:]:
        ax.set_visible(False)
