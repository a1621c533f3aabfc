"""``neuropcm sweep``: grids, point names, Dask execution, reruns, failures, summary."""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest

import neuropcm.io as nio
from neuropcm.cli import main
from neuropcm.config import Config, option
from neuropcm.errors import ParameterError, UnitError
from neuropcm.sweep import is_finished, plan_sweep, point_path, run_sweep
from neuropcm.sweep.grid import expand_grid, point_name
from neuropcm.workloads import Workload, get_workload

ROOT = Path(__file__).resolve().parent.parent
DC = get_workload("device-characterisation")
#: Small, fast device characterisations (about a second each).
SMALL = {"devices": 200, "pulses": 3}


# ----------------------------------------------------------------------------- helpers
def h5_differences(a, b) -> list[str]:
    """Every difference between two HDF5 files: groups, datasets (dtype, shape, values)
    and attributes -- all but the root attribute ``created`` (the write time)."""
    def contents(path):
        out = {}
        with h5py.File(path, "r") as f:
            out["/"] = ({k: v for k, v in f.attrs.items() if k != "created"}, None)
            f.visititems(lambda name, obj: out.__setitem__(
                name, (dict(obj.attrs), obj[()] if isinstance(obj, h5py.Dataset) else None)))
        return out

    ca, cb = contents(a), contents(b)
    diffs = [f"only in one file: {k}" for k in sorted(set(ca) ^ set(cb))]
    for k in sorted(set(ca) & set(cb)):
        (attrs_a, da), (attrs_b, db) = ca[k], cb[k]
        if sorted(attrs_a) != sorted(attrs_b):
            diffs.append(f"{k}: attributes {sorted(attrs_a)} != {sorted(attrs_b)}")
        for n in set(attrs_a) & set(attrs_b):
            if not np.array_equal(np.asarray(attrs_a[n]), np.asarray(attrs_b[n])):
                diffs.append(f"{k}.attrs[{n}]: {attrs_a[n]!r} != {attrs_b[n]!r}")
        if da is not None or db is not None:
            da, db = np.asarray(da), np.asarray(db)
            nan = da.dtype.kind in "fc"
            if da.dtype != db.dtype or da.shape != db.shape or \
                    not np.array_equal(da, db, equal_nan=nan):
                diffs.append(f"{k}: data differ")
    return diffs


def headline(path, name: str) -> float:
    with h5py.File(path, "r") as f:
        return float(f["results"].attrs[name])


def env_with_worktree() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}


def write_grid(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@dataclass(frozen=True)
class Sub(Config):
    t: float = option(0.01, "a time", unit="s", lo=0.0)
    n: int = option(1, "a count", lo=1)


@dataclass(frozen=True)
class Demo(Config):
    sub: Sub = option(Sub, "nested settings")
    times: tuple[float, ...] = option([1.0, 2.0], "read times", unit="s", lo=0.0)
    mode: str = option("a", "a mode", choices=("a", "b"))
    seed: int = option(0, "seed", lo=0)


DEMO = Workload(name="demo", kind="device_characterisation", config=Demo,
                run=lambda *a, **k: None, summary=lambda p: "", description="demo",
                default_out="demo.h5")


# ----------------------------------------------------------------------------- grids
def test_point_name_is_the_sha256_of_workload_and_canonical_config():
    cfg = DC.config(devices=300, seed=4)
    text = json.dumps({"devices": 300, "preset": "nandakumar2018", "pulses": 20, "seed": 4},
                      sort_keys=True)
    expected = hashlib.sha256(f"device-characterisation\n{text}".encode()).hexdigest()[:16]
    assert point_name("device-characterisation", cfg) == expected
    # the same config given differently is the same point; any change is another point
    assert point_name("demo", Demo(sub={"t": "20 ms"})) == point_name("demo", Demo(sub={"t": 0.02}))
    assert point_name("demo", Demo(seed=1)) != point_name("demo", Demo(seed=2))
    assert point_name("demo", Demo()) != point_name("other", Demo())


def test_grid_is_the_cartesian_product_in_file_order():
    pts = expand_grid(DC, {"preset": ["nandakumar2018", "joshi2020"], "devices": 100,
                           "seed": {"range": [0, 3]}})
    assert [(p.values["preset"], p.values["seed"]) for p in pts] == \
        [(pr, s) for pr in ("nandakumar2018", "joshi2020") for s in (0, 1, 2)]
    assert all(p.config.devices == 100 and p.config.pulses == 20 for p in pts)
    assert [p.name for p in pts] == [point_name(DC.name, p.config) for p in pts]
    assert len({p.name for p in pts}) == 6


def test_range_forms():
    seeds = lambda spec: [p.config.seed for p in expand_grid(DC, {"seed": spec})]  # noqa
    assert seeds({"range": 3}) == [0, 1, 2]
    assert seeds({"range": [2, 5]}) == [2, 3, 4]
    assert seeds({"range": [1, 8, 3]}) == [1, 4, 7]
    for bad, msg in (({"range": [0.0, 2]}, "whole numbers"), ({"range": [3, 3]}, "empty"),
                     ({"range": [0, 5, 0]}, "step 0"), ({"range": [1, 2, 3, 4]}, "whole")):
        with pytest.raises(ParameterError, match=msg):
            seeds(bad)


def test_nested_fields_units_and_list_fields():
    dotted = expand_grid(DEMO, {"sub.t": ["20 ms", 0.03], "times": [[1.0], [5.0, 6.0]]})
    table = expand_grid(DEMO, {"sub": {"t": ["20 ms", 0.03]}, "times": [[1.0], [5.0, 6.0]]})
    assert [p.name for p in dotted] == [p.name for p in table]
    assert [(p.config.sub.t, p.config.times) for p in dotted] == \
        [(0.02, (1.0,)), (0.02, (5.0, 6.0)), (0.03, (1.0,)), (0.03, (5.0, 6.0))]
    assert dotted[0].values == {"sub.t": 0.02, "times": [1.0]}
    # a flat list for a list-valued field is one fixed value, not an axis
    fixed = expand_grid(DEMO, {"times": [3.0, 4.0], "mode": ["a", "b"]})
    assert [p.config.times for p in fixed] == [(3.0, 4.0)] * 2
    # settings under the grid: the grid wins
    base = Demo(mode="b", sub={"n": 7})
    pts = expand_grid(DEMO, {"seed": [1, 2]}, base)
    assert all(p.config.mode == "b" and p.config.sub.n == 7 for p in pts)


@pytest.mark.parametrize("grid, error, words", [
    ({"seed": [0], "nope": [1, 2]}, ParameterError, ["'nope'", "known"]),
    ({"sub": {"x": 1}}, ParameterError, ["'sub.x'", "sub.t"]),
    ({"sub.t": ["1 ms", "2 mV"]}, UnitError, ["sub.t=2 mV", "wrong unit"]),
    ({"sub.n": [1, 0]}, ParameterError, ["sub.n=0", ">= 1"]),
    ({"mode": ["a", "c"]}, ParameterError, ["mode=c", "one of"]),
    ({"seed": []}, ParameterError, ["seed = []", "no points"]),
    ({"sub.t": ["10 ms", 0.01]}, ParameterError, ["same run"]),
])
def test_bad_grids_are_refused_naming_the_field(grid, error, words):
    with pytest.raises(error) as e:
        expand_grid(DEMO, grid, where="grid g.toml")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("grid g.toml")
    for w in words:
        assert w in msg


def test_cli_refuses_a_bad_grid_before_anything_runs(tmp_path, capsys, monkeypatch):
    import distributed

    def no_cluster(*a, **k):
        raise AssertionError("a cluster was started")
    monkeypatch.setattr(distributed, "LocalCluster", no_cluster)
    monkeypatch.setattr(distributed, "Client", no_cluster)
    out = tmp_path / "out"
    cases = [
        ("device-characterisation", "seed = [0, 1]\ndevice = [10]\n", [], "'device'"),
        ("correlation", "i_max = ['80 mV']\n", [], "i_max"),
        ("device-characterisation", "devices = [100, 10]\n", [], "devices=10"),
        ("device-characterisation", "seed = [0]\n", ["--workers", "0"], "--workers"),
        ("device-characterisation", "seed = [0]\n", ["--workers", "2", "--scheduler",
                                                     "tcp://127.0.0.1:1"], "--scheduler"),
        ("device-characterisation", "seed = [0]\n", ["--show", "accuracy"], "accuracy"),
        ("device-characterisation", "seed = [0\n", [], "not a valid TOML"),
    ]
    for workload, text, extra, word in cases:
        grid = write_grid(tmp_path / "g.toml", text)
        rc = main(["sweep", workload, "--grid", str(grid), "--out", str(out), *extra])
        err = capsys.readouterr().err.strip()
        assert rc == 2, (text, err)
        assert err.count("\n") == 0 and err.startswith("neuropcm: error:") and word in err
        assert not out.exists() or not any(out.iterdir())
    (tmp_path / "file").write_text("x")
    grid = write_grid(tmp_path / "g.toml", "seed = [0]\n")
    assert main(["sweep", DC.name, "--grid", str(grid), "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_one_line_error(tmp_path, capsys, monkeypatch):
    import neuropcm.sweep.runner

    monkeypatch.setattr(neuropcm.sweep.runner, "CONNECT_TIMEOUT_S", 1.0)
    grid = write_grid(tmp_path / "g.toml", "seed = [0]\ndevices = 100\npulses = 1\n")
    rc = main(["sweep", DC.name, "--grid", str(grid), "--out", str(tmp_path / "out"),
               "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err and "cannot connect" in err and "tcp://127.0.0.1:9" in err
    assert not list((tmp_path / "out").glob("*.h5"))


def test_finished_means_a_readable_file_of_the_kind_with_the_same_config(tmp_path):
    p0, p1 = expand_grid(DC, {**SMALL, "seed": [0, 1]})
    assert not is_finished(DC, p0, tmp_path)
    DC.run(p0.config, point_path(tmp_path, p0), progress=False)
    assert is_finished(DC, p0, tmp_path)
    # a file of another config under the name of p1 is not a finished p1 (it is redone)
    DC.run(p0.config, point_path(tmp_path, p1), progress=False)
    assert not is_finished(DC, p1, tmp_path)
    plan = plan_sweep(DC, {**SMALL, "seed": [0, 1]}, tmp_path)
    assert plan.done == [p0] and plan.todo == [p1]
    # a file that is not a NeuroPCM file of the kind is refused, not replaced
    point_path(tmp_path, p1).write_bytes(b"not hdf5")
    with pytest.raises(ParameterError, match="not an HDF5 file"):
        plan_sweep(DC, {**SMALL, "seed": [0, 1]}, tmp_path)


def _hold_build_dir(root, barrier, queue):
    os.environ["NEUROPCM_BUILD_DIR"] = root
    from neuropcm.sweep.worker import worker_build_dir
    queue.put(str(worker_build_dir()))
    if barrier is not None:
        barrier.wait(timeout=60)  # both processes hold their folder at the same time


def test_live_workers_never_share_a_build_folder(tmp_path):
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_hold_build_dir, args=(str(tmp_path), barrier, queue))
             for _ in range(2)]
    for p in procs:
        p.start()
    folders = sorted(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert folders == [str(tmp_path / "sweep-worker-0"), str(tmp_path / "sweep-worker-1")]
    # the locks died with the processes: the next worker reuses the first folder
    later = ctx.Process(target=_hold_build_dir, args=(str(tmp_path), None, queue))
    later.start()
    assert queue.get(timeout=120) == str(tmp_path / "sweep-worker-0")
    later.join(timeout=60)


# ----------------------------------------------------------------------------- on Dask
@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address="127.0.0.1:0", silence_logs=40)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_sweep_files_equal_the_points_run_one_by_one(client, tmp_path):
    grid = {**SMALL, "preset": ["nandakumar2018", "joshi2020"], "seed": [0, 1]}
    report = run_sweep(DC, grid, tmp_path / "sweep", client=client, progress=False,
                       echo=lambda line: None)
    points = report.plan.points
    assert report.ok and sorted(report.ran) == sorted(p.name for p in points)
    assert len(client.scheduler_info()["workers"]) == 2
    for p in points:  # one by one in this process (numpy's default BLAS threads: at this
        # size its reductions run on one thread, as in the Dask workers)
        one = DC.run(p.config, tmp_path / "one" / f"{p.name}.h5", progress=False)
        assert h5_differences(point_path(tmp_path / "sweep", p), one) == []
    # the comparison sees a difference where there is one (another seed)
    assert h5_differences(point_path(tmp_path / "sweep", points[0]),
                          point_path(tmp_path / "sweep", points[1])) != []

    # summary: per point and mean ± std (ddof=1) over seeds, from the files themselves
    s = nio.open(report.summary)
    assert s.kind.name == "sweep_summary"
    assert (s.results["points"], s.results["failed"], s.results["groups"]) == (4, 0, 2)
    names = [n.decode() for n in s.dataset("points/name")]
    assert names == [p.name for p in points]
    g = {p.name: headline(point_path(tmp_path / "sweep", p), "g_after_pulses")
         for p in points}
    assert np.array_equal(s.dataset("points/results/g_after_pulses"), [g[n] for n in names])
    means, stds = s.dataset("groups/mean/g_after_pulses"), s.dataset("groups/std/g_after_pulses")
    for k, preset in enumerate(["nandakumar2018", "joshi2020"]):
        x = [g[p.name] for p in points if p.config.preset == preset]
        m = sum(x) / len(x)
        assert means[k] == pytest.approx(m, rel=1e-12)
        assert stds[k] == pytest.approx(math.sqrt(sum((v - m) ** 2 for v in x) / (len(x) - 1)),
                                        rel=1e-9)
    assert list(s.dataset("groups/n")) == [2, 2]
    assert s.units["points"] == "count"
    assert "mean ± std" in report.table and "joshi2020" in report.table


@pytest.fixture(scope="module")
def small_client():
    """Workers that may plan for 200 MB (NEUROPCM_MEMORY, set in their environment)."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address="127.0.0.1:0", silence_logs=40,
                           env={"NEUROPCM_MEMORY": "200MB"})
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_a_failing_point_is_recorded_and_the_others_finish(small_client, tmp_path):
    # 10**6 devices pass validation, but the workers may plan for 200 MB only: the run
    # refuses itself in the worker (a real failure of a run, before any allocation)
    client = small_client
    grid = {"pulses": 3, "devices": [200, 10**6], "seed": [0, 1]}
    report = run_sweep(DC, grid, tmp_path, client=client, progress=False,
                       echo=lambda line: None)
    big = [p.name for p in report.plan.points if p.config.devices == 10**6]
    assert sorted(report.failed) == sorted(big) and len(report.ran) == 2
    for name in big:
        assert "more memory than is available" in report.failed[name]
        assert "devices = 1000000" in report.failed[name]
        text = (tmp_path / f"{name}.error.txt").read_text()
        assert text.splitlines()[0] == report.failed[name] and "Traceback" in text
        assert not (tmp_path / f"{name}.h5").exists()
    s = nio.open(report.summary)
    status = [v.decode() for v in s.dataset("points/status")]
    assert status == ["failed" if p.name in big else "done" for p in report.plan.points]
    assert list(s.dataset("groups/n")) == [2, 0] and list(s.dataset("groups/failed")) == [0, 2]
    g = s.dataset("points/results/g_after_pulses")
    assert [bool(np.isnan(v)) for v in g] == [p.name in big for p in report.plan.points]
    assert "failed points" in report.table
    # a rerun tries the failed points again and leaves the finished ones alone
    done = {p: (tmp_path / f"{p}.h5").stat().st_mtime_ns for p in report.ran}
    again = run_sweep(DC, grid, tmp_path, client=client, progress=False, echo=lambda x: None)
    assert sorted(again.failed) == sorted(big) and again.ran == []
    assert {p: (tmp_path / f"{p}.h5").stat().st_mtime_ns for p in report.ran} == done


# ----------------------------------------------------------------------------- processes
def _sweep_process(grid, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "neuropcm.cli", "sweep", DC.name,
                             "--grid", str(grid), "--out", str(out), "--quiet", *extra],
                            env=env_with_worktree(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for_files(out: Path, n: int, proc, timeout=240.0) -> None:
    t = time.monotonic()
    while len(list(out.glob("*.h5"))) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t < timeout, "the sweep made no progress"
        time.sleep(0.1)


def _group_gone(pgid: int, timeout=30.0) -> bool:
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.killpg(pgid, signal.SIGKILL)  # only the processes this test started
    return False


def _files(out: Path) -> dict:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("*.h5")
            if p.name != "summary.h5"}


@pytest.mark.slow
def test_ctrl_c_and_kill_9_then_a_rerun_runs_only_the_missing_points(tmp_path):
    grid = write_grid(tmp_path / "g.toml", "devices = 2000\npulses = 12\n"
                                           "seed = { range = [0, 6] }\n")
    out = tmp_path / "out"
    # Ctrl-C in a terminal: SIGINT to the whole process group
    proc = _sweep_process(grid, out, "--workers", "2")
    _wait_for_files(out, 1, proc)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "run the same command again to continue" in stderr
    assert _group_gone(proc.pid)
    # kill -9 of the sweep alone: its worker processes end with it
    proc = _sweep_process(grid, out, "--workers", "2")
    _wait_for_files(out, len(_files(out)) + 1, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert _group_gone(proc.pid, timeout=20), "worker processes outlived the killed sweep"
    before = _files(out)
    assert 2 <= len(before) < 6
    proc = _sweep_process(grid, out, "--workers", "2")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert f"{len(before)} finished before (skipped), {6 - len(before)} to run" in stdout
    after = _files(out)
    assert len(after) == 6 and {k: after[k] for k in before} == before
    assert not list(out.glob(".*.tmp"))


@pytest.mark.slow
def test_sweep_on_a_separately_started_scheduler(tmp_path):
    sched_file = tmp_path / "scheduler.json"
    env = env_with_worktree()
    dask = [sys.executable, "-m", "dask"]
    procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(sched_file)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)]
    try:
        t = time.monotonic()
        while not sched_file.exists():
            assert time.monotonic() - t < 60 and procs[0].poll() is None, "no scheduler"
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen(
            [*dask, "worker", address, "--nthreads", "1", "--nworkers", "2", "--host",
             "127.0.0.1", "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True))
        grid = write_grid(tmp_path / "g.toml", "pulses = 3\ndevices = [200, 1_000_000_000_000_000]"
                                               "\nseed = [0, 1]\n")
        proc = _sweep_process(grid, tmp_path / "out", "--scheduler", address)
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 1, stderr  # two points cannot allocate their devices
        assert f"on the cluster at {address}" in stdout
        assert "4 points, 2 finished, 2 failed" in stdout
        finished = sorted(p.name for p in (tmp_path / "out").glob("*.h5"))
        assert len(finished) == 3 and "summary.h5" in finished
        for p in expand_grid(DC, {"pulses": 3, "devices": [200], "seed": [0, 1]}):
            assert is_finished(DC, p, tmp_path / "out")
            one = DC.run(p.config, tmp_path / "one.h5", progress=False)
            assert h5_differences(point_path(tmp_path / "out", p), one) == []
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)



@pytest.mark.slow
@pytest.mark.brian2
def test_brian2_standalone_builds_go_to_per_worker_folders(tmp_path, monkeypatch):
    build = tmp_path / "build"
    monkeypatch.setenv("NEUROPCM_BUILD_DIR", str(build))  # inherited by the new workers
    report = run_sweep("mnist-clustering", {"train": 100, "test": 50, "seed": [0, 1]},
                       tmp_path / "out", workers=2, progress=False, echo=lambda line: None)
    assert report.ok and len(report.ran) == 2
    workers = set(report.workers.values())
    with_builds = sorted(d.name for d in build.iterdir() if list(d.glob("mnist-*")))
    # one folder per worker that ran a point, each with its own compiled network, none shared
    assert with_builds == [f"sweep-worker-{k}" for k in range(len(workers))]
    assert all(len(list((build / d).glob("mnist-*"))) == 1 for d in with_builds)
    assert not list(build.glob("mnist-*"))
