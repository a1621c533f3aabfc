"""Time a sweep of device characterisations on a 2-worker local Dask cluster against the
same points run one after another.

Both sides run as fresh processes, timed from start to end (interpreter, imports, numba
compilation included), with their CPU time: the sequential side is one Python process
running the points in a loop; the sweep side is ``neuropcm sweep device-characterisation
--workers W`` (cluster start, the workers' imports and the summary included). The files of
both sides are then compared (every dataset and attribute but the write time; a difference
is printed with its largest relative size: Dask workers run numpy with one BLAS thread, the
sequential process with the default, and multithreaded BLAS reductions may round
differently).

Target (issue 13): speed-up >= 1.7x for 8 points on 2 workers on a 2-core machine. Other
processes may share the cores, and the points are partly memory-bound: the script first
measures the ceiling, how many more points two plain processes (no Dask) running at once
get through than one (2.0 on two free cores), and prints it with the load average and the
cores each side used on average (CPU time / wall time), so the speed-up can be read
against what the machine gave.

    python scripts/bench_sweep.py [--points 8] [--workers 2] [--devices 400000] [--pulses 100]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent

SEQUENTIAL = """
import json, sys
from neuropcm.sweep.grid import expand_grid
from neuropcm.workloads import get_workload
w = get_workload("device-characterisation")
for p in expand_grid(w, json.loads(sys.argv[1])):
    w.run(p.config, f"{sys.argv[2]}/{p.name}.h5", progress=False)
"""


def contents(path):
    """Every dataset and attribute of an HDF5 file but the root ``created``."""
    out = {}
    with h5py.File(path, "r") as f:
        out["/"] = ({k: v for k, v in f.attrs.items() if k != "created"}, None)

        def visit(name, obj):
            out[name] = (dict(obj.attrs), obj[()] if isinstance(obj, h5py.Dataset) else None)
        f.visititems(visit)
    return out


def differences(a, b) -> dict:
    """Path -> largest relative difference, for every dataset or attribute that differs."""
    ca, cb = contents(a), contents(b)
    out = {k: float("inf") for k in ca.keys() ^ cb.keys()}
    for k in ca.keys() & cb.keys():
        (attrs_a, x), (attrs_b, y) = ca[k], cb[k]
        for n in attrs_a.keys() | attrs_b.keys():
            d = _difference(attrs_a.get(n), attrs_b.get(n))
            if d is not None:
                out[f"{k}.attrs[{n}]"] = d
        d = _difference(x, y)
        if d is not None:
            out[k] = d
    return out


def _difference(x, y):
    """None if equal, else the largest relative difference (inf if not comparable)."""
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype != y.dtype or x.shape != y.shape:
        return float("inf")
    if np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
        return None
    if x.dtype.kind != "f":
        return float("inf")
    return float(np.nanmax(np.abs(x - y) / np.maximum(np.abs(x), 1e-300)))


ONE_POINT = """
import json, sys, time
from neuropcm.sweep.grid import expand_grid
from neuropcm.workloads import get_workload
w = get_workload("device-characterisation")
w.run(w.config(devices=200, pulses=1), sys.argv[2] + ".warm.h5", progress=False)  # compile
p = expand_grid(w, json.loads(sys.argv[1]))[0]
t = time.perf_counter()
w.run(p.config, sys.argv[2], progress=False)
print(time.perf_counter() - t)
"""


def ceiling(grid: dict, n: int, tmp: Path, env: dict) -> float:
    """What ``n`` plain processes at once, one thread each like Dask's workers, get
    through relative to one, on points of this size (numba compiled first, not timed):
    ``n`` on free cores, less where the cores are shared or memory bandwidth runs out."""
    env = {**env, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

    def run(k):
        procs = [subprocess.Popen([sys.executable, "-c", ONE_POINT,
                                   json.dumps({**grid, "seed": [j]}), str(tmp / f"c{j}.h5")],
                                  env=env, stdout=subprocess.PIPE, text=True)
                 for j in range(k)]
        return [float(p.communicate()[0]) for p in procs]
    alone = run(1)[0]
    return n * alone / max(run(n))


def timed(cmd, env) -> tuple[float, float]:
    """Wall time and CPU time (user + system, of the process and all it waited for)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=8, help="points (seeds 0..points-1)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--devices", type=int, default=400_000, help="devices per experiment")
    ap.add_argument("--pulses", type=int, default=100, help="SET pulses of the curve")
    args = ap.parse_args()
    grid = {"devices": args.devices, "pulses": args.pulses,
            "seed": {"range": [0, args.points]}}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "seq").mkdir()
        (tmp / "grid.toml").write_text(
            f"devices = {args.devices}\npulses = {args.pulses}\n"
            f"seed = {{ range = [0, {args.points}] }}\n")
        load0 = os.getloadavg()[0]
        cap = ceiling({"devices": args.devices, "pulses": args.pulses}, args.workers, tmp,
                      env)
        t_seq, cpu_seq = timed([sys.executable, "-c", SEQUENTIAL, json.dumps(grid),
                                str(tmp / "seq")], env)
        t_sweep, cpu_sweep = timed([sys.executable, "-m", "neuropcm.cli", "sweep",
                                    "device-characterisation", "--grid", str(tmp / "grid.toml"),
                                    "--out", str(tmp / "sweep"), "--workers",
                                    str(args.workers), "--quiet"], env)
        load1 = os.getloadavg()[0]
        files = sorted(p.name for p in (tmp / "seq").glob("*.h5"))
        diff: dict = {}
        for n in files:
            for k, v in differences(tmp / "seq" / n, tmp / "sweep" / n).items():
                diff[k] = max(diff.get(k, 0.0), v)
    speedup = t_seq / t_sweep
    print(f"{args.points} device characterisations ({args.devices} devices, {args.pulses} "
          f"pulses), {os.cpu_count()} CPUs, load average {load0:.1f} -> {load1:.1f}")
    print(f"ceiling: {args.workers} plain processes at once ran {cap:.2f}x the points of one "
          f"({args.workers}.00 on free cores)")
    for what, t, cpu in (("one after another (1 process)", t_seq, cpu_seq),
                         (f"sweep on {args.workers} local workers", t_sweep, cpu_sweep)):
        print(f"{what:<31}: {t:7.1f} s  (CPU {cpu:6.1f} s: {cpu / t:.2f} cores on average)")
    print(f"{'speed-up':<31}: {speedup:7.2f}x  (target >= 1.7x: "
          f"{'met' if speedup >= 1.7 else 'NOT met'})")
    if not diff:
        print(f"files: all {len(files)} identical (every dataset and attribute but 'created')")
    else:  # e.g. BLAS reductions: Dask workers run numpy with one BLAS thread
        print(f"files: {len(files)}, differing in " + ", ".join(
            f"{k} (max relative difference {v:.1e})" for k, v in sorted(diff.items())))


if __name__ == "__main__":
    main()
