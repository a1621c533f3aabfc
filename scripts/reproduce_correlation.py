"""Reproduce the temporal correlation detection of Sebastian et al. (Nat. Commun. 8, 1115
(2017); seed tutorial Fig. 7) with the ``correlation`` workload.

One run per correlation coefficient (default the experiment's c = 0.1 and the weakest
detectable c = 0.01), pulse-amplitude scale (default 1, the plain current rule, 0.5 and 0.25,
which keeps the correlated devices off saturation over the 1e4 steps) and seed: 1e6
processes (a 1000 x 1000 image, 95,525 correlated), p = 0.01, 1e4 steps. Each run writes an
HDF5 file; its figure (conductance map, histogram of final conductances, ROC-AUC against
step, accuracy beside the trivial baseline of calling every process uncorrelated,
precision/recall/F1 of the detected set, group conductances) is drawn from the file alone.
Then the paper's claims are printed beside our numbers, one row per run::

    python scripts/reproduce_correlation.py [--out-dir results] [--c 0.1 0.01]
        [--scales 1 0.5 0.25] [--seeds 0 1] [--quick] [--set steps=2000 ...]
    python scripts/reproduce_correlation.py --plot-only results/correlation_c0.1_s1_seed0.h5
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import neuropcm.io as nio
from neuropcm.config import load_config
from neuropcm.workloads.computational_memory.correlation import (
    WORKLOAD,
    CorrelationConfig,
)

#: ``--quick``: a 200 x 200 image, same rates and steps (about a second per run).
QUICK = {"processes": 40_000}
#: The seed's claims (tutorial section II): the correlated processes end at high
#: conductance and are found by reading the devices back, down to c = 0.01; no accuracy
#: or ROC-AUC is given.
PAPER = "correlated devices at high G; found down to c = 0.01 (no score given)"


def _pct(v) -> str:
    return f"{100 * v:6.2f}" if math.isfinite(v) else "   n/a"


def table(files) -> str:
    """The runs' scores, one row each, under the paper's claim."""
    head = (f"{'c':>5} {'scale':>5} {'seed':>4} {'N':>9} | {'AUC end':>7} {'AUC peak':>8} "
            f"{'at step':>7} | {'acc %':>6} {'base %':>6} {'prec %':>6} {'rec %':>6} "
            f"{'F1 %':>6} | {'cov F1 %':>8} | {'G corr/unc (uS)':>15}")
    lines = [f"paper: {PAPER}", head, "-" * len(head)]
    for f in files:
        r = nio.open(f)
        a, cfg = r.results, r.config
        lines.append(
            f"{cfg['c']:>5g} {cfg['amplitude_scale']:>5g} {cfg['seed']:>4} "
            f"{cfg['processes']:>9,} | {a['roc_auc']:7.4f} {a['peak_roc_auc']:8.4f} "
            f"{int(a['peak_step']):7,} | {_pct(a['accuracy'])} "
            f"{_pct(a['baseline_accuracy'])} {_pct(a['precision'])} {_pct(a['recall'])} "
            f"{_pct(a['f1'])} | {_pct(a['covariance_f1']):>8} | "
            f"{a['mean_g_correlated'] * 1e6:6.2f} / {a['mean_g_uncorrelated'] * 1e6:5.2f}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", type=Path, default=Path("results"))
    ap.add_argument("--c", type=float, nargs="+", default=[0.1, 0.01])
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.5, 0.25],
                    help="pulse-amplitude scales (amplitude_scale) to compare")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--quick", action="store_true", help="small image (200 x 200)")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a setting of CorrelationConfig (repeatable)")
    ap.add_argument("--plot-only", type=Path, nargs="+", metavar="FILE",
                    help="only draw the figures and the table of existing files")
    args = ap.parse_args(argv)
    files = args.plot_only or []
    if not files:
        base = dict(QUICK) if args.quick else {}
        for c in args.c:
            for s in args.scales:
                for seed in args.seeds:
                    cfg = load_config(CorrelationConfig, None, args.set, **base, c=c,
                                      amplitude_scale=s, seed=seed)
                    out = args.out_dir / (f"correlation_c{c:g}_s{s:g}_seed{seed}"
                                          f"{'_quick' if args.quick else ''}.h5")
                    WORKLOAD.run(cfg, out, progress=True)
                    files.append(out)
    for path in files:
        png = WORKLOAD.figure(path, Path(path).with_suffix(".png"))
        print(f"{path}:\n{WORKLOAD.summary(path)}\nfigure: {png}\n")
    print(table(files))


if __name__ == "__main__":
    main()
