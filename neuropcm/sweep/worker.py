"""What runs inside a Dask worker for :mod:`neuropcm.sweep`: one point per task.

A task gets the workload's name, the point's config as JSON and the output path, runs the
workload there and returns a small dict (never arrays: results travel as files). Each
worker process runs one point at a time and keeps its own Brian2 build folder.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import traceback
from pathlib import Path

from distributed import WorkerPlugin, get_worker

from ..io.locks import try_lock
from .summary import error_path

__all__ = ["ENV_BUILD_DIR", "MainThreadImports", "run_point", "worker_build_dir"]

#: Environment variable naming the root folder of Brian2 standalone builds
#: (:func:`neuropcm.workloads.spiking._mnist_plan.default_build_dir`).
ENV_BUILD_DIR = "NEUROPCM_BUILD_DIR"

_POINT_LOCK = threading.Lock()
_BUILD: dict = {}


class MainThreadImports(WorkerPlugin):
    """Import Brian2 in the worker's main thread when the worker starts.

    Importing ``brian2`` installs a SIGINT handler, which Python allows only in the main
    thread, while tasks run in other threads; so the import happens here, once per worker
    (about a second), before any point runs.

    Parameters
    ----------
    ignore_sigint : bool
        Make the worker ignore SIGINT (for the sweep's own local workers: a Ctrl-C in the
        terminal reaches them too, and the sweep closes them itself).
    """

    name = "neuropcm-main-thread-imports"

    def __init__(self, ignore_sigint: bool = False):
        self.ignore_sigint = ignore_sigint

    def setup(self, worker):
        import brian2  # noqa: F401

        if self.ignore_sigint:  # Ctrl-C reaches the whole process group: the sweep decides
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def worker_build_dir() -> Path:
    """This worker process's own Brian2 build folder: the first of ``<root>/sweep-worker-0``,
    ``-1``, ... (root ``$NEUROPCM_BUILD_DIR`` or ``data/build``) that no live process holds;
    it stays locked for the process's life.

    So two workers never share a folder, and since the kernel releases the lock when a
    process dies, later workers reuse the compiled builds (as many folders as workers ran
    at once on this machine, whatever their names).
    """
    from ..datasets.cache import resolve_data_dir

    if "dir" not in _BUILD:
        root = Path(os.environ.get(ENV_BUILD_DIR) or resolve_data_dir() / "build")
        k = 0
        while True:
            folder = root / f"sweep-worker-{k}"
            folder.mkdir(parents=True, exist_ok=True)
            fd = try_lock(folder / ".worker.lock")
            if fd is None:  # a live worker uses this one
                k += 1
                continue
            _BUILD.update(dir=folder, fd=fd)  # the fd stays open: the lock lives with us
            break
    return _BUILD["dir"]


def run_point(workload_name: str, config_json: str, out: str) -> dict:
    """Run one point: the workload writes ``out``. Returns ``{"ok", "error", "worker",
    "wall_s"}``; an error is also written to ``<out stem>.error.txt`` (message, config,
    traceback)."""
    from ..workloads import get_workload

    try:
        worker = str(get_worker().name)
    except ValueError:  # called outside a worker
        worker = f"pid{os.getpid()}"
    out = Path(out)
    with _POINT_LOCK:  # one point per process: Brian2 and the build folder are per process
        t0 = time.perf_counter()
        previous = os.environ.get(ENV_BUILD_DIR)
        try:
            w = get_workload(workload_name)
            config = w.config.from_dict(json.loads(config_json))
            os.environ[ENV_BUILD_DIR] = str(worker_build_dir())
            w.run(config, out, progress=False)
        except Exception as e:
            msg = one_line(e)
            write_error(out, msg, config_json, traceback.format_exc())
            return {"ok": False, "error": msg, "worker": worker,
                    "wall_s": time.perf_counter() - t0}
        finally:
            if previous is None:
                os.environ.pop(ENV_BUILD_DIR, None)
            else:
                os.environ[ENV_BUILD_DIR] = previous
    return {"ok": True, "error": None, "worker": worker, "wall_s": time.perf_counter() - t0}


def one_line(e: BaseException) -> str:
    """``Type: message`` on one line."""
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def write_error(out: Path, msg: str, config_json: str, tb: str) -> None:
    """``<out stem>.error.txt``: the message, the config, the traceback."""
    error_path(out.parent, out.stem).write_text(f"{msg}\n\nconfig: {config_json}\n\n{tb}",
                                                encoding="utf-8")
