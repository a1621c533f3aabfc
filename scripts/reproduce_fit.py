"""Fit the pulsed SET relation to the published Nandakumar 2018 summary curves and print the
fitted parameters beside the built-in ``nandakumar2018`` preset's.

The curves (``neuropcm/data/nandakumar2018_ensemble.csv``, source in its header): the
mean-field curve and the ensemble means of 20,000-device Monte-Carlo runs at g_max 20 and
12 uS quoted in physics.md section 1. Fit 1 frees the mean relation (set_a, set_b, set_c,
pulse_memory) against the means; fit 2 also frees the std relation (set_d, set_e, set_f)
against the two quoted stds, which shows whether those quotes agree with the model. Then
the shipped example measurement (300 simulated devices x 20 pulses) is fitted with the
device-level maximum-likelihood fitter. Takes a few seconds::

    python scripts/reproduce_fit.py [--no-example]
"""

from __future__ import annotations

import argparse
import math
from importlib import resources

from neuropcm.devices import get_preset
from neuropcm.devices.fit import fit_accumulation, fit_ensemble, read_ensemble
from neuropcm.devices.fit.ensemble import MEAN_FIELDS, curves

_SHOW = {"S": (1e6, "uS"), "1": (1.0, ""), "count": (1.0, "pulses")}


def compare(fit, preset) -> str:
    """Table: field, fitted value +- stderr, the preset's value, (fit - preset)/stderr."""
    rows = [f"{'field':13s} {'fitted':>22s} {'preset':>10s} {'z':>7s}  unit"]
    for k, v in fit.values.items():
        f, unit = _SHOW.get(fit.units[k], (1.0, fit.units[k]))
        se = fit.stderr[k]
        ref = getattr(preset, k)
        z = (v - ref) / se if se > 0 and math.isfinite(se) else float("nan")
        rows.append(f"{k:13s} {v * f:11.4g} +- {se * f:8.2g} {ref * f:10.4g} {z:7.2f}  {unit}")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-example", action="store_true", help="skip the example measurement")
    args = ap.parse_args(argv)
    data_dir = resources.files("neuropcm.data")
    preset = get_preset("nandakumar2018")
    table = read_ensemble(data_dir / "nandakumar2018_ensemble.csv")
    print(f"summary curves: {table.n_points} quoted points from {table.source}\n")

    fit = fit_ensemble(table, "nandakumar2018")
    q = fit.quality
    print("fit 1: mean relation against the quoted means (" + fit.method + ")")
    print(compare(fit, preset))
    print(f"chi2 = {q['chi2']:.2f} for {q['dof']} dof (p = {q['p_value']:.3g}); ok = {q['ok']}")
    a, b = fit.values["set_a"], fit.values["set_b"]
    print(f"fixed point -set_b/set_a = {-b / a * 1e6:.3f} uS (quoted 10.48 uS; preset "
          f"{-preset.set_b / preset.set_a * 1e6:.3f} uS)\n")

    mean, std = curves(preset, table)
    print("the preset's stds against the quoted ones:")
    for i in range(table.n_points):
        if table.std[i] == table.std[i]:
            print(f"  g_max {table.g_max[i] * 1e6:4.0f} uS, pulse {table.pulse[i]:2d}: model "
                  f"{std[i] * 1e6:.2f} uS, quoted {table.std[i] * 1e6:.2f} +- "
                  f"{table.std_se[i] * 1e6:.2f} uS")
    twelve = get_preset("nandakumar2018", g_max=12e-6)
    from neuropcm.devices.theory import accumulation_moments

    s12 = accumulation_moments(twelve, 20, n_grid=201)[1][20]
    print(f"  (g_max 12 uS, pulse 20: model {s12 * 1e6:.2f} uS)\n")

    fit2 = fit_ensemble(table, "nandakumar2018",
                        fields=MEAN_FIELDS + ("set_d", "set_e", "set_f"))
    q2 = fit2.quality
    print("fit 2: mean and std relations against the quoted means and stds")
    print(compare(fit2, preset))
    print(f"chi2 = {q2['chi2']:.2f} for {q2['dof']} dof (p = {q2['p_value']:.3g}); ok = "
          f"{q2['ok']}; std residuals {[round(r, 2) for r in q2['residuals'][-2:]]}")
    for note in q2["notes"]:
        print(f"  note: {note}")

    if not args.no_example:
        ex = fit_accumulation(data_dir / "example_accumulation.csv", "nandakumar2018")
        print(f"\nexample measurement: {ex.n_devices} devices, {ex.n_points} reads; "
              f"goodness of fit ok = {ex.quality['ok']} (PIT p = "
              f"{ex.quality['pit']['p_value']:.3g})")
        print(compare(ex, preset))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
