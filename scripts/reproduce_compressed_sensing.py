"""Reproduce compressed sensing with AMP on one PCM crossbar (Le Gallo et al. 2018; seed
tutorial Fig. 6b): a 128 x 128 image at 50 % compression in 32 x 32 Haar blocks, NMSE
against iteration for float64, 4x4-bit fixed point and the PCM crossbar.

Writes the HDF5 file, then draws the figure from that file alone::

    python scripts/reproduce_compressed_sensing.py [--out compressed_sensing.h5] [--png F.png]
        [--set image=mnist --set lam=1.4] [--seed 1] [--quick] [--plot-only]

(the same run as ``neuropcm run compressed-sensing --out compressed_sensing.h5``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from neuropcm.config import load_config
from neuropcm.workloads.compressed_sensing import WORKLOAD

QUICK = ["size=64", "block=16", "iterations=15"]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=WORKLOAD.default_out, help="HDF5 file to write")
    p.add_argument("--png", default=None, help="figure (default: OUT with .png)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="config override (repeatable), e.g. lam=1.4")
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
