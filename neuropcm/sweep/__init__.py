"""Sweeps and Monte Carlo runs of any workload on Dask (``neuropcm sweep``).

``neuropcm sweep WORKLOAD --grid GRID.toml --out DIR`` runs the workload once per point of
the grid (:mod:`neuropcm.sweep.grid`: lists of config values, ``seed = { range = [0, 5]
}``), each point writing ``DIR/<point>.h5``, where ``<point>`` is a hash of the workload and
the point's full config (:func:`~neuropcm.sweep.grid.point_name`). A point whose file is
there -- readable, of the workload's kind and holding the same config -- is finished and is
skipped, so after a crash, ``kill -9`` or Ctrl-C a rerun of the same command redoes only the
points that were in flight (files are written atomically: a half-written one cannot exist).

The points run on ``dask.distributed``: by default a :class:`~distributed.LocalCluster` of
worker processes with one thread each on this machine, or an existing cluster given by
``--scheduler tcp://HOST:8786`` (or a scheduler file), e.g. started with::

    dask scheduler --port 8786                      # on one machine
    dask worker tcp://HOST:8786 --nthreads 1        # on each machine, as often as it has cores

``DIR`` must then be one shared folder at the same path on every machine: results travel as
files, never as arrays through the scheduler. Each worker process builds Brian2 standalone
projects in its own folder (``$NEUROPCM_BUILD_DIR`` or ``data/build``, then
``sweep-worker-<k>``, locked while the worker lives), so workers never share one, and runs
one point at a time.

A point that fails is recorded (``DIR/<point>.error.txt``: the message, then the config and
the traceback) and the rest go on; the exit status is then 1. At the end, ``DIR/summary.h5``
(kind ``sweep_summary``, :mod:`neuropcm.sweep.summary`) and a printed table give every
point's axis values and headline results, and mean ± std over seeds per group.

Examples
--------
>>> from neuropcm.sweep import run_sweep
>>> report = run_sweep("device-characterisation",
...                    {"devices": 2000, "seed": {"range": [0, 4]}}, "sweep-out",
...                    workers=2)                                     # doctest: +SKIP
>>> print(report.table)                                               # doctest: +SKIP

What lives where: :mod:`~neuropcm.sweep.grid` (a TOML grid -> validated points),
:mod:`~neuropcm.sweep.runner` (plan, run on Dask, skip finished points),
:mod:`~neuropcm.sweep.worker` (what runs in each Dask worker process),
:mod:`~neuropcm.sweep.summary` (``summary.h5`` and the printed table) and
:mod:`~neuropcm.sweep.cli` (``neuropcm sweep``).
"""

from .grid import Point, expand_grid, load_grid, point_name
from .runner import SweepPlan, SweepReport, is_finished, plan_sweep, point_path, run_sweep
from .summary import SweepSummary, collect_summary, format_table, write_summary

__all__ = ["Point", "expand_grid", "load_grid", "point_name", "SweepPlan", "SweepReport",
           "is_finished", "plan_sweep", "point_path", "run_sweep", "SweepSummary",
           "collect_summary", "format_table", "write_summary"]
