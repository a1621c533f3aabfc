"""Reproduce the temporal correlation detection of Sebastian et al. (Nat. Commun. 8, 1115
(2017); seed tutorial Fig. 7) with the ``correlation`` workload.

One run per correlation coefficient (default the experiment's c = 0.1 and the weakest
detectable c = 0.01): 1e6 processes (a 1000 x 1000 image, 95,525 correlated), p = 0.01,
1e4 steps. Each run writes an HDF5 file; the figure (conductance map, histogram of final
conductances, ROC-AUC and threshold-split accuracy against step beside the exact
uncentred covariance, group conductances) is drawn from the file alone::

    python scripts/reproduce_correlation.py [--out-dir results] [--c 0.1 0.01] [--quick]
                                            [--seed 0] [--set steps=2000 ...]
    python scripts/reproduce_correlation.py --plot-only results/correlation_c0.1.h5
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neuropcm.config import load_config
from neuropcm.workloads.computational_memory.correlation import WORKLOAD, CorrelationConfig

#: ``--quick``: a 200 x 200 image, same rates and steps (about a second per run).
QUICK = {"processes": 40_000}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", type=Path, default=Path("results"))
    ap.add_argument("--c", type=float, nargs="+", default=[0.1, 0.01])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="small image (200 x 200)")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a setting of CorrelationConfig (repeatable)")
    ap.add_argument("--plot-only", type=Path, nargs="+", metavar="FILE",
                    help="only draw the figure of existing files")
    args = ap.parse_args(argv)
    files = args.plot_only or []
    if not files:
        base = dict(QUICK) if args.quick else {}
        for c in args.c:
            cfg = load_config(CorrelationConfig, None, args.set, **base, c=c, seed=args.seed)
            out = args.out_dir / f"correlation_c{c:g}{'_quick' if args.quick else ''}.h5"
            WORKLOAD.run(cfg, out, progress=True)
            files.append(out)
    for path in files:
        png = WORKLOAD.figure(path, Path(path).with_suffix(".png"))
        print(f"{path}:\n{WORKLOAD.summary(path)}\nfigure: {png}")


if __name__ == "__main__":
    main()
