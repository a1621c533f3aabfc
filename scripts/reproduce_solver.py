"""Reproduce the mixed-precision linear solver of Le Gallo et al. (Nat. Electron. 1, 246
(2018); seed tutorial Fig. 8b) with :mod:`neuropcm.workloads.solver`.

Runs the ``solver`` workload (a dense N = 500 system on one crossbar with K = 4 devices per
element and a banded N = 5000 system on crossbar tiles along the diagonal with K = 8, read
1 s and 1 day after programming, beside float64 inner CG, an exact inner solve and plain
float64 CG), then draws the relative residual against refinement from the file alone::

    python scripts/reproduce_solver.py [--out solver.h5] [--png solver.png] [--quick]
                                       [--seed 0] [--set inner_steps=10 ...]

The same run: ``neuropcm run solver --out solver.h5``. The full run takes 25-40 s on a
shared 2-core machine; ``--quick`` uses N = 100 (dense) and N = 1000 (banded).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from neuropcm.config import apply_sets
from neuropcm.workloads.solver import WORKLOAD

QUICK = ["dense_n=100", "banded_n=1000"]


def main(argv=None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="solver.h5", help="HDF5 file to write")
    ap.add_argument("--png", default=None, help="figure (default: --out with .png)")
    ap.add_argument("--quick", action="store_true", help="small systems (seconds)")
    ap.add_argument("--seed", type=int, default=None, help="seed of the run")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="FIELD=VALUE",
                    help="change a setting (repeatable), e.g. --set inner_steps=10")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    a = ap.parse_args(argv)
    sets = (QUICK if a.quick else []) + a.sets
    if a.seed is not None:
        sets.append(f"seed={a.seed}")
    config = apply_sets(WORKLOAD.config(), sets)
    t0 = time.perf_counter()
    out = WORKLOAD.run(config, a.out, progress=not a.quiet)
    print(f"wrote {out} in {time.perf_counter() - t0:.1f} s")
    print(WORKLOAD.summary(out))
    png = WORKLOAD.figure(out, a.png or Path(a.out).with_suffix(".png"))
    print(f"figure {png}")
    return png


if __name__ == "__main__":
    main()
