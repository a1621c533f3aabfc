"""Folders of compiled cpp_standalone simulators, shared safely between runs.

One folder holds one compiled network. Any number of runs may use it at once; each keeps
its own files (run arguments, results, the binary's standard error) in a subfolder
``run-*`` that it removes when it ends. Coordination uses ``flock`` locks
(:mod:`neuropcm.io.locks`), which the kernel releases when a process dies -- even by
``kill -9``:

* ``.inuse``: held shared by every run using the folder; :func:`prune_builds` removes a
  folder only when it can take it exclusively (nobody uses it);
* ``.build.lock``: exclusive while the project is generated and compiled, shared while a
  chunk runs (no binary starts while its files are rewritten);
* ``run-*/lock``: held exclusively by the run owning the subfolder; a subfolder whose lock
  can be taken belongs to a dead run, and the next run removes it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from ..io.locks import try_lock, wait_lock

INUSE = ".inuse"
BUILD_LOCK = ".build.lock"
RUN_PREFIX = "run-"


def _hold_shared(folder: Path) -> int:
    """A shared lock on ``folder/.inuse``, retried if the folder was pruned meanwhile."""
    while True:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            return wait_lock(folder / INUSE, shared=True)
        except FileNotFoundError:  # a pruner removed the whole folder: create it again
            continue


def _try_lock_gone_ok(path: Path) -> int | None:
    """An exclusive :func:`try_lock` of ``path``; None also when its folder was removed
    meanwhile (by another process cleaning the same folder: nothing left to do)."""
    try:
        return try_lock(path)
    except FileNotFoundError:
        return None


def prune_builds(root, pattern: str, keep) -> list[Path]:
    """Remove the folders in ``root`` whose names match the regular expression ``pattern``
    (whole name), other than ``keep``, that no run is using.

    Returns the folders removed.
    """
    root, keep = Path(root), Path(keep).resolve()
    removed = []
    if not root.is_dir():
        return removed
    for d in sorted(root.iterdir()):
        if not d.is_dir() or not re.fullmatch(pattern, d.name) or d.resolve() == keep:
            continue
        fd = _try_lock_gone_ok(d / INUSE)
        if fd is None:
            continue
        try:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
        finally:
            os.close(fd)
    return removed


class BuildFolder:
    """A run's hold on a build folder and its own subfolder ``run_dir`` in it.

    Parameters
    ----------
    path : path
        The build folder (created if missing).
    """

    def __init__(self, path):
        self.path = Path(path).resolve()
        self._inuse = _hold_shared(self.path)
        self._run_lock = None
        try:
            self.clean_stale_runs()
            tmp = Path(tempfile.mkdtemp(prefix=".new-", dir=self.path))
            self._run_lock = try_lock(tmp / "lock")
            self.run_dir = self.path / f"{RUN_PREFIX}{os.getpid()}-{tmp.name[5:]}"
            os.rename(tmp, self.run_dir)
        except BaseException:
            self.close()
            raise

    def clean_stale_runs(self) -> list[Path]:
        """Remove the run subfolders of runs that are no longer alive."""
        removed = []
        for d in sorted(self.path.glob(f"{RUN_PREFIX}*")) + sorted(self.path.glob(".new-*")):
            if not (d / "lock").exists():
                if d.name.startswith(RUN_PREFIX):  # never locked: cannot be in use
                    shutil.rmtree(d, ignore_errors=True)
                    removed.append(d)
                continue
            fd = _try_lock_gone_ok(d / "lock")
            if fd is not None:
                try:
                    shutil.rmtree(d, ignore_errors=True)
                    removed.append(d)
                finally:
                    os.close(fd)
        return removed

    @contextlib.contextmanager
    def _flock(self, shared: bool):
        fd = wait_lock(self.path / BUILD_LOCK, shared=shared)
        try:
            yield
        finally:
            os.close(fd)

    def building(self):
        """Context: the exclusive right to generate and compile the project."""
        return self._flock(shared=False)

    def running(self):
        """Context: the project is not rewritten while a chunk runs."""
        return self._flock(shared=True)

    def close(self) -> None:
        """Remove ``run_dir`` and let go of the folder."""
        if self._run_lock is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            os.close(self._run_lock)
            self._run_lock = None
        if self._inuse is not None:
            os.close(self._inuse)
            self._inuse = None
