"""File locks: one writer per output, one sweep per folder, one worker per build folder.

Every lock of the project is an ``flock`` on a small file next to what it protects. The
kernel releases an ``flock`` when its last file descriptor closes, which includes the death
of the process by any means (``kill -9`` too), so a crashed run never leaves a stale lock:
the file may stay, the lock does not.

* :class:`FileLock`: the exclusive lock of a run on its output (non-blocking; a one-line
  :class:`LockHeld` error naming the path and the holder's pid when it is held);
* :func:`try_lock` / :func:`wait_lock`: the raw forms (an fd or None, or wait), exclusive or
  shared, for callers that coordinate several processes themselves (build folders).

A lock file may be removed by its holder while it holds it (``FileLock(remove=True)``,
a pruned build folder); the functions here then notice that the file they locked is no
longer the one at the path and lock the new one, so two processes never both hold it.

Examples
--------
>>> with FileLock("results/.run.h5.lock", what="results/run.h5"):  # doctest: +SKIP
...     write_results()
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..errors import ParameterError

__all__ = ["FileLock", "LockHeld", "try_lock", "wait_lock", "lock_holder"]


class LockHeld(ParameterError):
    """The lock is held by another live process (a :class:`~neuropcm.errors.ParameterError`:
    the user chose an output another run is writing).

    Attributes
    ----------
    path : Path
        The lock file.
    pid : int or None
        The holder's process id, when it recorded one.
    """

    def __init__(self, message: str, path: Path, pid: int | None):
        super().__init__(message)
        self.path, self.pid = path, pid


def _same_file(path, fd: int) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (not removed or replaced)."""
    try:
        st, fst = os.stat(path), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)


def _lock(path, shared: bool, blocking: bool) -> int | None:
    mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if blocking else fcntl.LOCK_NB)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, mode)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        if _same_file(path, fd):
            return fd
        os.close(fd)  # its holder removed the file between our open and our lock: again


def try_lock(path, *, shared: bool = False) -> int | None:
    """Lock ``path`` (created if missing) without waiting.

    Parameters
    ----------
    path : str or Path
        The lock file; its folder must exist.
    shared : bool
        A shared lock (any number of holders) instead of an exclusive one.

    Returns
    -------
    int or None
        The open file descriptor holding the lock (``os.close`` it to release the lock), or
        None when another process holds a conflicting lock.

    Raises
    ------
    FileNotFoundError
        The folder of ``path`` does not exist (or was removed meanwhile).
    """
    return _lock(path, shared, blocking=False)


def wait_lock(path, *, shared: bool = False) -> int:
    """Lock ``path`` (created if missing), waiting for conflicting holders to let go.

    Parameters and exceptions as for :func:`try_lock`; returns the file descriptor.
    """
    return _lock(path, shared, blocking=True)


def lock_holder(path) -> int | None:
    """The pid that the holder of the :class:`FileLock` ``path`` recorded, else None."""
    try:
        text = Path(path).read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class FileLock:
    """The exclusive, non-blocking lock of one writer: taken on creation, released by
    :meth:`close` (or leaving its ``with`` block), and by the kernel when the process dies.

    The holder writes its pid into the lock file, so the error names it.

    Parameters
    ----------
    path : str or Path
        The lock file (its folder must exist), e.g. ``.<out>.lock`` next to ``out``.
    what : str, optional
        What the lock protects, for the message (default: ``path``).
    by : str
        Who would hold it, for the message.
    remove : bool
        Remove the lock file on :meth:`close` (while still holding it). A lock file left by
        a killed holder is harmless: it is locked and reused by the next writer.

    Raises
    ------
    LockHeld
        Another live process holds the lock: ``"<what> is being written by another NeuroPCM
        run (pid N); wait for it to end or choose another --out"``.
    """

    def __init__(self, path, *, what: str | None = None, by: str = "another NeuroPCM run",
                 remove: bool = False):
        self.path = Path(path)
        self.what = str(self.path) if what is None else what
        self._remove = remove
        self._fd = try_lock(self.path)
        if self._fd is None:
            pid = lock_holder(self.path)
            raise LockHeld(f"{self.what} is being written by {by}"
                           f"{f' (pid {pid})' if pid is not None else ''}; wait for it to end "
                           f"or choose another --out", self.path, pid)
        try:
            os.ftruncate(self._fd, 0)
            os.write(self._fd, f"{os.getpid()}\n".encode("ascii"))
        except OSError:  # the pid is only for the message of the next writer
            pass

    @property
    def held(self) -> bool:
        """Whether this object still holds the lock."""
        return self._fd is not None

    def close(self) -> None:
        """Release the lock (and remove the file when ``remove``); idempotent."""
        if self._fd is None:
            return
        try:
            if self._remove:  # while we hold it: the next writer notices (see _lock)
                try:
                    os.unlink(self.path)
                except OSError:
                    pass
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileLock:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FileLock({str(self.path)!r}, {'held' if self.held else 'released'})"
