"""Reproduce compressed sensing with AMP on one PCM crossbar (Le Gallo et al. 2018; seed
tutorial Fig. 6b): a 128 x 128 image at 50 % compression in 32 x 32 Haar blocks, NMSE
against iteration for float64, a 4-bit matrix and the PCM crossbar, each with analog inputs
(matrix only) and with every input through the same 4-bit DAC (matrix + vector, the
paper's "4x4-bit"), each at its own best stable threshold factor chosen on a held-out image.

One run per seed (the measurement matrix, the devices and their reads change with it);
each writes an HDF5 file and its figure (drawn from the file alone), then the paper's
claim is printed beside our numbers, one column per seed::

    python scripts/reproduce_compressed_sensing.py [--out-dir results] [--seeds 0 1]
        [--quick] [--set image=mnist --set dac_bits=6 ...]
    python scripts/reproduce_compressed_sensing.py --plot-only results/compressed_sensing_seed0.h5

(each run is ``neuropcm run compressed-sensing --set seed=S``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import neuropcm.io as nio
from neuropcm.config import load_config
from neuropcm.workloads.computational_memory.compressed_sensing import (
    INPUTS,
    VARIANTS,
    WORKLOAD,
)

#: ``--quick``: a 64 x 64 image (4 blocks), 16 iterations, 2 factors (about 15 s a seed).
QUICK = ["size=64", "iterations=16", "lam_sweep=[1.0, 1.2]"]
_NAME = {"float": "float64", "fixed4": "4-bit matrix", "pcm": "PCM crossbar"}


def rows(files) -> list[tuple[str, str, list[str]]]:
    """(quantity, the paper's value, ours per file) for the comparison table."""
    res = [nio.open(f).results for f in files]
    out = []
    for inputs in INPUTS:
        mode = "analog inputs" if inputs == "analog" else f"{int(res[0]['dac_bits'])}-bit DAC"
        for v in VARIANTS:
            k = f"{v}_{inputs}"
            out.append((f"floor (dB), {_NAME[v]}, {mode}", "not given",
                        [f"{r['final_nmse_db_' + k]:.2f} (lam {r['lam_' + k]:g})"
                         for r in res]))
        out.append((f"PCM - float64 floor (dB), {mode}", "> 0 (higher floor)",
                    [f"{r[f'final_nmse_db_pcm_{inputs}'] - r[f'final_nmse_db_float_{inputs}']:+.2f}"
                     for r in res]))
        out.append((f"PCM - 4-bit matrix floor (dB), {mode}", "not given",
                    [f"{r[f'final_nmse_db_pcm_{inputs}'] - r[f'final_nmse_db_fixed4_{inputs}']:+.2f}"
                     for r in res]))
        ratio = [r[f"rate_db_per_iteration_pcm_{inputs}"]
                 / r[f"rate_db_per_iteration_float_{inputs}"] for r in res]
        out.append((f"rate PCM / float64 (dB/iteration), {mode}", "1 (same rate)",
                    [f"{x:.2f}" if np.isfinite(x) else "n/a (at floor at once)"
                     for x in ratio]))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", type=Path, default=Path("results"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--quick", action="store_true", help="small image (64 x 64)")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a setting of CompressedSensingConfig (repeatable)")
    ap.add_argument("--plot-only", type=Path, nargs="+", metavar="FILE",
                    help="only draw the figures and the table of existing files")
    args = ap.parse_args(argv)
    files = args.plot_only or []
    if not files:
        for seed in args.seeds:
            cfg = load_config(WORKLOAD.config, None,
                              (QUICK if args.quick else []) + args.set + [f"seed={seed}"])
            out = args.out_dir / (f"compressed_sensing_seed{seed}"
                                  f"{'_quick' if args.quick else ''}.h5")
            WORKLOAD.run(cfg, out, progress=True)
            files.append(out)
    for path in files:
        png = WORKLOAD.figure(path, Path(path).with_suffix(".png"))
        print(f"{path}:\n{WORKLOAD.summary(path)}\nfigure: {png}\n")
    table = rows(files)
    seeds = [f"seed {int(nio.open(f).config['seed'])}" for f in files]
    w = max(len(q) for q, _, _ in table)
    print(f"{'':{w}}  {'paper (tutorial Fig. 6b)':<20}  " + "  ".join(f"{s:<22}" for s in seeds))
    for q, paper, ours in table:
        print(f"{q:{w}}  {paper:<20}  " + "  ".join(f"{o:<22}" for o in ours))


if __name__ == "__main__":
    main()
