"""Reproduce the mixed-precision linear solver of Le Gallo et al. (Nat. Electron. 1, 246
(2018); seed tutorial Fig. 8b) with :mod:`neuropcm.workloads.computational_memory.solver`.

Runs the ``solver`` workload once per seed (a dense N = 500 system on one crossbar with K =
4 devices per element and a banded N = 5000 system on crossbar tiles along the diagonal
with K = 8, read 1 s and 1 day after programming, beside float64 inner CG, an exact inner
solve and plain float64 CG), draws each figure from its file alone, and prints the
paper's numbers beside ours, one row per file and system::

    python scripts/reproduce_solver.py [--out-dir results] [--seeds 0 1] [--hard]
        [--sweep] [--quick] [--set inner_steps=10 ...]
    python scripts/reproduce_solver.py --plot-only results/solver_seed0.h5 ...

Default: the stated-conditioning matrix ``rho = 0.5`` (condition number < 9), ``tol =
1e-15``. ``--hard`` adds the documented hard case ``rho = 0.9`` (condition number ~360,
``banded_shift = 0.4``, ``tol = 1e-12``). ``--sweep`` adds the dense system's sweeps over
wire resistance (0, 1, 2, 5 ohm per cell segment) and stuck fraction (0, 0.1 %, 1 %, 5 %).
``--quick`` uses N = 100 (dense) and N = 1000 (banded). The same single run:
``neuropcm run solver --out solver.h5``.

Paper (tutorial section II): the error norm ``||x - x*||`` falls to ~1e-15 in ~23
refinements for every matrix size (accuracy not limited by the crossbar), and
system-level measurements gave up to 6.8x in time/energy against a float64 solver on
POWER8 CPUs / P100 GPUs for large matrices. Ours: the error norm, the refinements, and the
work against plain float64 CG on the same system with the ``c -> 0`` bound of the
modelled gain (free crossbar MVMs) and the break-even crossbar MVM cost
(:mod:`neuropcm.workloads.computational_memory._solver_cost`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import neuropcm.io as nio
from neuropcm.config import load_config
from neuropcm.workloads.computational_memory._solver_report import PAPER
from neuropcm.workloads.computational_memory.solver import WORKLOAD, SolverConfig

QUICK = ["dense_n=100", "banded_n=1000"]
HARD = ["rho=0.9", "banded_shift=0.4", "tol=1e-12"]
SWEEP = ['wire_sweep=["0*ohm", "1*ohm", "2*ohm", "5*ohm"]', "stuck_sweep=[0, 0.001, 0.01, 0.05]"]


def table(files) -> str:
    """One row per file and system, under the paper's numbers."""
    head = (f"{'case':>14} {'seed':>4} {'system':>7} {'N':>5} {'cond':>6} | {'||x-x*||':>8} "
            f"{'refin.':>6} {'xbar MVM':>8} | {'CG it.':>6} {'f64 MVM':>7} {'f64 flops':>9} "
            f"{'CG flops':>9} | {'gain <=':>7} {'c* flops':>9}")
    lines = [(f"paper: ||x - x*|| ~ {PAPER['error_norm']:.0e} in ~{PAPER['refinements']} "
             f"refinements; up to {PAPER['gain']}x time/energy vs float64 (large matrices)"),
             head, "-" * len(head)]
    for f in files:
        r = nio.open(f)
        a, cfg = r.results, r.config
        case = f"rho={cfg['rho']:g} tol={cfg['tol']:.0e}"
        for p in ("dense", "banded"):
            w = {k: a[f"{p}_work_{k}"] for k in ("refinements", "crossbar_mvms",
                                                  "float64_mvms", "cg_iterations",
                                                  "float64_flops", "cg_float64_flops",
                                                  "gain_bound", "break_even_cost")}
            lines.append(
                f"{case:>14} {cfg['seed']:>4} {p:>7} {cfg[f'{p}_n']:>5} "
                f"{a[f'{p}_condition_number']:>6.1f} | "
                f"{a[f'{p}_crossbar_final_error_norm'][0]:>8.1e} {w['refinements']:>6} "
                f"{w['crossbar_mvms']:>8} | {w['cg_iterations']:>6} {w['float64_mvms']:>7} "
                f"{w['float64_flops']:>9.2e} {w['cg_float64_flops']:>9.2e} | "
                f"{w['gain_bound']:>6.2f}x {w['break_even_cost']:>9.3g}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", type=Path, default=Path("results"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--hard", action="store_true", help="also the hard case rho = 0.9")
    ap.add_argument("--sweep", action="store_true",
                    help="add the wire-resistance and stuck-fraction sweeps")
    ap.add_argument("--quick", action="store_true", help="N = 100 dense, 1000 banded")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a setting of SolverConfig (repeatable)")
    ap.add_argument("--plot-only", type=Path, nargs="+", metavar="FILE",
                    help="only draw the figures and the table of existing files")
    args = ap.parse_args(argv)
    files = args.plot_only or []
    if not files:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        for name, case in (("", []), ("_hard", HARD))[:2 if args.hard else 1]:
            for seed in args.seeds:
                sets = ((QUICK if args.quick else []) + case + (SWEEP if args.sweep else [])
                        + args.set + [f"seed={seed}"])
                cfg = load_config(SolverConfig, None, sets)
                out = args.out_dir / f"solver{name}_seed{seed}.h5"
                WORKLOAD.run(cfg, out, progress=False)
                files.append(out)
    for f in files:
        png = WORKLOAD.figure(f, Path(f).with_suffix(".png"))
        print(f"{f}: figure {png}")
    print(WORKLOAD.summary(files[0]))
    print(table(files))
    return files


if __name__ == "__main__":
    main()
