"""Plan and run a sweep on Dask: the points of a grid, finished ones skipped
(:mod:`neuropcm.sweep`)."""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..errors import ParameterError, RunInterrupted
from ..io.locks import FileLock
from .grid import Point, expand_grid, load_grid
from .summary import collect_summary, error_path, format_table, write_summary

__all__ = ["SweepPlan", "SweepReport", "plan_sweep", "run_sweep", "is_finished",
           "point_path"]

#: Seconds to wait for a worker to join an existing cluster before giving up.
WAIT_FOR_WORKERS_S = 60.0
#: Seconds to wait for the connection to a scheduler.
CONNECT_TIMEOUT_S = 20.0


def point_path(out_dir, point: Point) -> Path:
    """``DIR/<point>.h5``."""
    return Path(out_dir) / f"{point.name}.h5"


def _config_agrees(stored: dict, config: Config) -> bool | None:
    """Whether a file's ``/config`` holds ``config``'s fields with the same values; None
    when it stores the run's settings under other names (e.g. ``mnist-clustering``,
    which stores the network and the run's settings): then the file's name, a hash of the
    config, and its kind identify the point."""
    want = json.loads(config.to_json())
    if not set(want) <= set(stored):
        return None
    return all(stored[k] == v for k, v in want.items())


def is_finished(workload, point: Point, out_dir) -> bool:
    """Whether ``DIR/<point>.h5`` is a finished run of ``point``: readable by
    :func:`neuropcm.io.open`, of the workload's kind, and (where the file stores it so) with
    the same config."""
    from ..errors import ResultsFileError
    from ..io import open as open_result

    path = point_path(out_dir, point)
    if not path.is_file():
        return False
    try:
        r = open_result(path)
    except ResultsFileError:  # SchemaError included: damaged or foreign
        return False
    return r.kind.name == workload.kind and _config_agrees(r.config, point.config) is not False


@dataclass
class SweepPlan:
    """The points of a sweep, validated, split into finished and to-run."""

    workload: object
    out_dir: Path
    grid: dict
    base: Config
    points: list
    done: list
    todo: list


@dataclass
class SweepReport:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    plan : SweepPlan
    ran : list of str
        Names of the points run (and finished) now.
    failed : dict
        Name -> one-line error of each point that failed.
    workers : dict
        Name -> the Dask worker that ran each point run now.
    wall_s : dict
        Name -> seconds the point took on its worker (failed points included).
    summary : Path
        ``DIR/summary.h5``.
    table : str
        The printed table (:func:`~neuropcm.sweep.summary.format_table`).
    """

    plan: SweepPlan
    ran: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    workers: dict = field(default_factory=dict)
    wall_s: dict = field(default_factory=dict)
    summary: Path | None = None
    table: str = ""

    @property
    def ok(self) -> bool:
        """True when no point run by this call failed (:attr:`failed` is empty)."""
        return not self.failed


def _workload(workload):
    from ..workloads import Workload, get_workload

    return workload if isinstance(workload, Workload) else get_workload(workload)


def plan_sweep(workload, grid, out_dir, *, base: Config | None = None,
               where: str = "grid") -> SweepPlan:
    """Validate every point of ``grid`` and the output folder; nothing runs.

    Parameters
    ----------
    workload : str or Workload
    grid : dict or path
        A grid table, or a TOML file of one (:mod:`neuropcm.sweep.grid`).
    out_dir : path
        The sweep's folder (created if missing).
    base : Config, optional
        Settings under the grid (``--config``/``--set``; default: the defaults).
    where : str
        How the grid is named in messages.

    Raises
    ------
    ParameterError, UnitError
        A bad grid (unknown field, wrong unit, out-of-range value, repeated point), an
        output folder that is a file or cannot be written, or a file in it that is not one
        this sweep may replace.
    """
    from ..io.paths import check_output_path

    w = _workload(workload)
    if not isinstance(grid, dict):  # a file: a TextGrid, whose values are text
        where = f"--grid {str(grid)!r}" if where == "grid" else where
        grid = load_grid(grid)
    points = expand_grid(w, grid, base, where)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--out {str(out)!r} is a file; give a folder for the sweep's "
                             f"files (one .h5 per point and summary.h5)")
    check_output_path(out / "summary.h5", what="--out", kind="sweep_summary")
    done, todo = [], []
    for p in points:
        (done if is_finished(w, p, out) else todo).append(p)
    for p in todo:  # a file there that is not a run of this kind is not replaced
        if point_path(out, p).exists() or point_path(out, p).is_symlink():
            check_output_path(point_path(out, p), what="point file", kind=w.kind)
    return SweepPlan(w, out, grid, base if base is not None else w.config(), points, done,
                     todo)


# ----------------------------------------------------------------------------- clusters
@contextlib.contextmanager
def _connect(scheduler, workers, client):
    """A Dask client: the one given, one of an existing cluster, or of a new LocalCluster
    (closed at the end). Yields (client, description)."""
    from .worker import one_line

    if client is not None:
        yield client, "the given Dask client"
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        kw = ({"scheduler_file": str(scheduler)} if Path(str(scheduler)).is_file()
              else {"address": str(scheduler)})
        try:
            c = Client(**kw, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as e:
            raise ParameterError(f"--scheduler {str(scheduler)!r}: cannot connect "
                                 f"({one_line(e)}); give the address of a running Dask "
                                 f"scheduler (tcp://HOST:8786) or its scheduler file") from None
        try:
            try:
                c.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
            except TimeoutError:
                raise ParameterError(f"--scheduler {str(scheduler)!r}: no worker joined in "
                                     f"{WAIT_FOR_WORKERS_S:.0f} s; start workers with "
                                     f"'dask worker {c.scheduler.address} --nthreads 1'") \
                    from None
            n = len(c.scheduler_info(n_workers=-1)["workers"])
            yield c, f"the cluster at {c.scheduler.address} ({n} workers now)"
        finally:
            c.close()
        return
    import dask

    # Dask sets MALLOC_TRIM_THRESHOLD_ in its workers (to hand the memory of many small
    # tasks back); that disables glibc's adaptive mmap threshold, so every large temporary
    # array of a simulation is mapped and zeroed afresh: two such points at once ran 30 %
    # slower here. Our points are long numeric runs: glibc's default it is.
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
    try:
        c = Client(cluster)
        try:
            yield c, f"a local cluster of {workers} worker processes"
        finally:
            c.close()
    finally:
        cluster.close()


def _lock_folder(out: Path) -> FileLock:
    """Take ``DIR/.sweep.lock``: one sweep per folder at a time (the kernel releases the
    lock when the process dies, even by ``kill -9``). Returns the lock to close.

    Raises
    ------
    LockHeld
        Another live sweep holds the folder.
    """
    out.mkdir(parents=True, exist_ok=True)
    return FileLock(out / ".sweep.lock", what=f"sweep folder {out}",
                    by="another NeuroPCM sweep")


def default_workers() -> int:
    """CPUs this process may use (the default size of the local cluster)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _clean_temporaries(out_dir: Path, todo: list) -> None:
    """Remove the temporary files a worker killed while writing a point left behind."""
    for p in todo:
        for tmp in glob.glob(os.path.join(glob.escape(str(out_dir)),
                                          f".{glob.escape(p.name)}.h5.*.tmp")):
            os.unlink(tmp)


def run_sweep(workload, grid, out_dir, *, base: Config | None = None, where: str = "grid",
              scheduler=None, workers: int | None = None, client=None, progress: bool = True,
              show=None, echo=None) -> SweepReport:
    """Run every unfinished point of ``grid`` on Dask and write ``DIR/summary.h5``.

    Parameters
    ----------
    workload, grid, out_dir, base, where
        As for :func:`plan_sweep` (everything is validated before a cluster starts).
    scheduler : str, optional
        Address (``tcp://HOST:8786``) or scheduler file of an existing Dask cluster.
    workers : int, optional
        Worker processes of the local cluster (default: the CPUs this process may use).
    client : distributed.Client, optional
        Use this client (and its cluster) instead.
    progress : bool
        One progress bar over the points, with ETA.
    show : list of str, optional
        Results to print in the table (default: the kind's headline results).
    echo : callable, optional
        Where the plan line goes (default: printed).

    Returns
    -------
    SweepReport
        Failed points are in ``report.failed`` (and ``DIR/<point>.error.txt``).

    Raises
    ------
    RunInterrupted
        Ctrl-C (or SIGTERM in the CLI): the points in flight are cancelled, the cluster is
        closed; rerunning the same sweep continues.
    """
    from tqdm import tqdm

    if scheduler is not None and workers is not None:
        raise ParameterError("--workers sizes the local cluster; with --scheduler the "
                             "cluster's own workers run the points: give one of them")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ParameterError(f"--workers {workers!r} must be a whole number >= 1")
    plan = plan_sweep(workload, grid, out_dir, base=base, where=where)
    echo = echo or (lambda line: print(line, flush=True))
    w, out = plan.workload, plan.out_dir
    report = SweepReport(plan)
    lock = _lock_folder(out)
    try:  # points another sweep finished before we had the lock are done too
        plan.todo = [p for p in plan.todo if not is_finished(w, p, out)]
        plan.done = [p for p in plan.points if p not in plan.todo]
        if plan.todo:
            _clean_temporaries(out, plan.todo)
            _execute(plan, report, scheduler, workers or default_workers(), client, progress,
                     echo, tqdm)
        else:
            echo(f"sweep of {w.name}: all {len(plan.points)} points are finished in {out}")
        s = collect_summary(w, plan.points, out, report.failed)
        report.summary = write_summary(s, out / "summary.h5", workload=w, grid=plan.grid,
                                       base=plan.base)
        report.table = format_table(s, show)
    finally:
        lock.close()
    return report


def _execute(plan, report, scheduler, workers, client, progress, echo, tqdm) -> None:
    """Submit the points to run, gather them as they finish; Ctrl-C cancels them."""
    from .worker import MainThreadImports, run_point

    w, out = plan.workload, plan.out_dir
    try:
        with _connect(scheduler, None if scheduler else workers, client) as (c, desc):
            echo(f"sweep of {w.name}: {len(plan.points)} points, {len(plan.done)} finished "
                 f"before (skipped), {len(plan.todo)} to run on {desc}; files in {out}")
            # our own local workers leave Ctrl-C to this process, which closes them
            plugin = MainThreadImports(ignore_sigint=scheduler is None and client is None)
            c.register_plugin(plugin, name=plugin.name)
            token = uuid.uuid4().hex[:8]
            futures = {c.submit(run_point, w.name, p.config.to_json(),
                                str(point_path(out, p).resolve()), pure=False,
                                key=f"neuropcm-{w.name}-{p.name}-{token}"): p
                       for p in plan.todo}
            try:
                _gather(plan, report, futures, progress, tqdm)
            except KeyboardInterrupt:
                with contextlib.suppress(Exception):
                    c.cancel(list(futures))
                raise
    except KeyboardInterrupt:
        done = len(plan.done) + sum(is_finished(w, p, out) for p in plan.todo)
        raise RunInterrupted(f"sweep interrupted: {done} of {len(plan.points)} points are "
                             f"finished in {out}; run the same command again to continue "
                             f"(finished points are skipped)") from None


def _gather(plan, report, futures, progress, tqdm) -> None:
    """Record each point as it finishes (a file that is a finished run, or an error)."""
    from distributed import as_completed

    from .worker import one_line, write_error

    w, out = plan.workload, plan.out_dir
    with tqdm(total=len(futures), unit="point", desc=f"sweep {w.name}",
              disable=not progress) as bar:
        for f in as_completed(futures):
            p = futures[f]
            try:
                res = f.result()
            except Exception as e:  # the worker died (KilledWorker) or another failure
                res = {"ok": False, "error": one_line(e)}
                write_error(point_path(out, p), res["error"], p.config.to_json(),
                            "".join(traceback.format_exception(e)))
            if res["ok"] and not is_finished(w, p, out):
                res = {"ok": False, "error": f"the run returned but {point_path(out, p)} is "
                                             f"not a finished {w.kind!r} file"}
                write_error(point_path(out, p), res["error"], p.config.to_json(), "")
            if res.get("worker") is not None:
                report.workers[p.name], report.wall_s[p.name] = res["worker"], res["wall_s"]
            if res["ok"]:
                report.ran.append(p.name)
                error_path(out, p.name).unlink(missing_ok=True)
            else:
                report.failed[p.name] = res["error"]
            bar.update()
            if report.failed:
                bar.set_postfix(failed=len(report.failed))
