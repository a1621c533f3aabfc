"""Reproduce the MVM precision of the seed tutorial (Sec. II, Fig. 5b): a 256 x 256
Gaussian matrix on PCM against b-bit fixed point, for K = 1, 2, 4, 8 devices per weight,
and its error from 1 s to 1e6 s with and without drift compensation.

Writes the HDF5 file, then draws the figure from that file alone::

    python scripts/reproduce_mvm_precision.py [--out mvm_precision.h5] [--png F.png]
        [--set instances=20 --set vectors=200] [--seed 1] [--quick] [--plot-only]

(the same run as ``neuropcm run mvm-precision --out mvm_precision.h5``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from neuropcm.config import load_config
from neuropcm.workloads.mvm_precision import WORKLOAD

QUICK = ["rows=64", "cols=64", "vectors=32", "instances=4", "time_points=4"]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=WORKLOAD.default_out, help="HDF5 file to write")
    p.add_argument("--png", default=None, help="figure (default: OUT with .png)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="config override (repeatable), e.g. instances=20")
    p.add_argument("--seed", type=int, default=None, help="seed of the run")
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    p.add_argument("--plot-only", action="store_true", help="draw from an existing OUT")
    a = p.parse_args(argv)
    out = Path(a.out)
    if not a.plot_only:
        sets = (QUICK if a.quick else []) + a.set
        if a.seed is not None:
            sets.append(f"seed={a.seed}")
        cfg = load_config(WORKLOAD.config, None, sets)
        t = time.perf_counter()
        WORKLOAD.run(cfg, out)
        print(f"wrote {out} in {time.perf_counter() - t:.1f} s")
    png = WORKLOAD.figure(out, Path(a.png) if a.png else out.with_suffix(".png"))
    print(WORKLOAD.summary(out))
    print(f"figure: {png}")


if __name__ == "__main__":
    main()
