"""``neuropcm sweep WORKLOAD --grid GRID.toml --out DIR``: the command line of
:mod:`neuropcm.sweep` (:func:`~neuropcm.sweep.runner.run_sweep`)."""

from __future__ import annotations

import argparse

from ..config import load_config
from ..errors import ParameterError
from .grid import MAX_POINTS, count_points, load_grid, point_limit
from .runner import plan_sweep, run_sweep

_GRID_HELP = """\
grid file (TOML): config fields of the workload; a list is an axis (the points are the
cartesian product), { range = [0, 5] } is the whole numbers 0..4, anything else a fixed
setting; nested fields dotted or as tables. Example:
    preset = ["nandakumar2018", "joshi2020"]
    devices = 2000
    seed = { range = [0, 5] }
Each point writes DIR/<hash of its config>.h5; a rerun skips finished points. The points
are counted first: a grid of more than {max_points:,} points is refused unless --max-points
raises the limit. Exit status: 0 all points finished, 1 some failed
(DIR/<point>.error.txt), 2 bad input, 130 interrupted.
"""


def _sweep_command(args) -> int:
    from ..io.kinds import get_kind
    from ..workloads import get_workload

    w = get_workload(args.workload)
    base = load_config(w.config, args.config, args.sets)
    show = None
    if args.show:
        kind = get_kind(w.kind)
        show = [s.strip() for s in args.show.split(",") if s.strip()]
        unknown = [s for s in show if kind.units_of(s) is None]
        if unknown:
            raise ParameterError(f"--show {args.show!r}: {unknown} are not results of a "
                                 f"{w.kind!r} file; known: "
                                 f"{sorted([*kind.headline, *kind.optional])}")
    where = f"--grid {str(args.grid)!r}"
    grid = load_grid(args.grid)
    # counted from the axes' lengths before any config is built: a huge grid is refused
    # at once, and the count is on screen before the configs are checked
    n = count_points(w, grid, where, max_points=args.max_points)
    print(f"{where}: {n:,} point{'s' if n != 1 else ''} of {w.name}; checking their "
          f"configs", flush=True)
    with point_limit(args.max_points):
        if args.dry_run:
            plan = plan_sweep(w, grid, args.out, base=base, where=where)
            for p in plan.points:
                print(f"{p.name}  {'finished' if p in plan.done else 'to run  '}  "
                      f"{p.describe()}")
            print(f"{len(plan.points)} points, {len(plan.done)} finished, {len(plan.todo)} "
                  f"to run")
            return 0
        report = run_sweep(w, grid, args.out, base=base, where=where,
                           scheduler=args.scheduler, workers=args.workers,
                           progress=not args.quiet, show=show)
    print(report.table)
    print(f"wrote {report.summary}")
    return 0 if report.ok else 1


def add_sweep_parser(sub) -> None:
    """Add ``neuropcm sweep WORKLOAD --grid GRID.toml --out DIR ...`` to the subparsers."""
    from ..workloads import workload_aliases, workloads

    p = sub.add_parser("sweep", help="run a workload over a grid of configs and seeds on Dask",
                       description="Run WORKLOAD once per point of a grid of configs, on a "
                                   "local Dask cluster or an existing one; one HDF5 file per "
                                   "point in DIR, DIR/summary.h5 and a table of the results "
                                   "(mean ± std over seeds).",
                       epilog=_GRID_HELP.replace("{max_points:,}", f"{MAX_POINTS:,}"),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    names = sorted(workloads())
    aliases = workload_aliases()
    p.add_argument("workload", metavar="WORKLOAD", choices=names + sorted(aliases),
                   help=f"one of {', '.join(names)} (or "
                        f"{', '.join(f'{a} = {n}' for a, n in sorted(aliases.items()))})")
    p.add_argument("--grid", required=True, metavar="GRID.toml", help="the grid (TOML)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder of the point files")
    p.add_argument("--config", metavar="FILE.toml", help="settings under the grid (TOML)")
    p.add_argument("--set", metavar="FIELD=VALUE", action="append", default=[], dest="sets",
                   help="a setting under the grid (repeatable; the grid wins)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing Dask scheduler (tcp://HOST:8786, or its scheduler file); "
                        "default: a local cluster")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes of the local cluster (default: the CPUs available)")
    p.add_argument("--show", metavar="NAME[,NAME]",
                   help="results to print (default: the file kind's headline results)")
    p.add_argument("--max-points", type=int, default=None, metavar="N",
                   help=f"the most points the grid may have (default {MAX_POINTS:,}); the "
                        f"count is checked before any config is built")
    p.add_argument("--dry-run", action="store_true",
                   help="list the points (finished or to run) and run nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_sweep_command)
