"""Checkpoints of chunked runs, and the one check that a resume continues the same run.

A checkpoint is one HDF5 file, written atomically (complete or absent), holding the full
state after the last *complete* chunk, how many chunks that is, and the run's settings --
every setting that shapes the result, as one JSON-able dict (its identity) -- with the
sha256 of their canonical JSON beside them (:func:`write_settings`). ``--resume`` continues
only a run whose settings are all equal (:func:`check_resume`), and names every field that
differs otherwise; a checkpoint whose settings no longer match their checksum (edited) is
refused (:func:`read_settings`), and one that cannot be read whole is reported as damaged in
one line naming when it was written (:func:`open_checkpoint`, :func:`damaged_checkpoint`).
These helpers serve every resumable workload (``mnist-clustering`` here, ``mlp-train`` in
:mod:`neuropcm.workloads.learning._mlp_checkpoint`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import glob
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import check_resume, settings_diff  # noqa: F401  (the one resume rule)
from ..errors import ParameterError, ResultsFileError, SchemaError
from ..io import atomic_h5, open_h5, write_dataset
from ..io.locks import FileLock

__all__ = ["Checkpoint", "checkpoint_path", "settings_diff", "check_resume", "save_checkpoint",
           "load_checkpoint", "OutputLock", "settings_checksum", "write_settings",
           "read_settings", "open_checkpoint", "damaged_checkpoint", "checkpoint_origin"]


def checkpoint_path(out) -> Path:
    """The checkpoint of the run writing ``out``: ``<out>.ckpt.h5`` next to it."""
    out = Path(out)
    return out.with_name(out.name + ".ckpt.h5")


def settings_checksum(settings: dict) -> str:
    """sha256 (hex) of the canonical JSON of ``settings`` (keys sorted, no spaces): what a
    checkpoint stores beside its settings so that an edit of them is noticed."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def write_settings(f, settings: dict) -> None:
    """Store the run's ``settings`` (JSON attribute ``settings``) and their checksum
    (``settings_sha256``, :func:`settings_checksum`) on the checkpoint ``f``."""
    text = json.dumps(settings, sort_keys=True)
    f.attrs["settings"] = text
    f.attrs["settings_sha256"] = settings_checksum(json.loads(text))  # as read back


def read_settings(f, path) -> dict:
    """The settings stored by :func:`write_settings`, checked against their checksum.

    Raises
    ------
    SchemaError
        They are missing, not a JSON object, have no checksum, or do not match it
        (``"...: the checkpoint's settings were edited; ..."``) -- one line each.
    """
    if "settings" not in f.attrs:
        raise SchemaError(f"{path}: a checkpoint without settings (an older NeuroPCM); its "
                          f"run cannot be checked: run without --resume to start over")
    raw = f.attrs["settings"]
    try:
        settings = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except (TypeError, ValueError, UnicodeDecodeError):
        raise damaged_checkpoint(path, "its settings are not valid JSON", f) from None
    if not isinstance(settings, dict):
        raise damaged_checkpoint(path, "its settings are not a JSON object", f)
    stored = f.attrs.get("settings_sha256")
    if isinstance(stored, bytes):
        stored = stored.decode(errors="replace")
    if not isinstance(stored, str):
        raise SchemaError(f"cannot resume from {path}: its settings carry no checksum (written "
                          f"by an older NeuroPCM, or edited); the run that wrote it cannot be "
                          f"checked: run without --resume to start over (this replaces the "
                          f"checkpoint)")
    if stored != settings_checksum(settings):
        raise SchemaError(f"cannot resume from {path}: the checkpoint's settings were edited; "
                          f"they no longer match the checksum written with them, so the state "
                          f"it holds is not known to be theirs: run without --resume to start "
                          f"over (this replaces the checkpoint)")
    return settings


def checkpoint_origin(path, f=None) -> str:
    """Which run wrote the checkpoint ``path``, for messages: ``"written <UTC time> by
    NeuroPCM <version>"`` from the open file ``f``, else the file's modification time."""
    if f is not None:
        created, version = f.attrs.get("created"), f.attrs.get("neuropcm_version")
        created = created.decode(errors="replace") if isinstance(created, bytes) else created
        version = version.decode(errors="replace") if isinstance(version, bytes) else version
        if isinstance(created, str):
            by = f" by NeuroPCM {version}" if isinstance(version, str) else ""
            return f"written {created}{by}"
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return "of unknown origin"
    when = _dt.datetime.fromtimestamp(mtime, _dt.UTC).isoformat(timespec="seconds")
    return f"last written {when}"


def damaged_checkpoint(path, why: str, f=None, settings: dict | None = None) -> SchemaError:
    """The one-line error of a checkpoint that cannot be resumed because it is incomplete or
    damaged: names the file, when and by which run it was written (``settings``: the run's
    settings, when they could be read and match this run's) and what is wrong."""
    run = " by a run with these same settings" if settings is not None else ""
    why = str(why).splitlines()[0] if str(why) else "unreadable"
    return SchemaError(f"cannot resume from {path}: the checkpoint ({checkpoint_origin(path, f)}"
                       f"{run}) is incomplete or damaged: {why}; run without --resume to "
                       f"start over (this replaces the checkpoint)")


def open_checkpoint(path, kind: str, unit: str = "chunk"):
    """Open the checkpoint ``path`` of ``kind`` for a resume (an open ``h5py.File``).

    Raises
    ------
    ParameterError
        There is none: ``"nothing to resume: there is no checkpoint ..."`` (``unit``: what
        the run checkpoints after, for the message).
    SchemaError
        It cannot be read (truncated, corrupt), or is not a checkpoint of ``kind`` of this
        NeuroPCM's schema: one line (:func:`damaged_checkpoint`).
    """
    path = Path(path)
    if not path.exists():
        raise ParameterError(f"nothing to resume: there is no checkpoint {path} (the run "
                             f"finished, or never completed {unit}); run without --resume")
    try:
        return open_h5(path, kind=kind)
    except SchemaError as e:
        raise SchemaError(f"cannot resume: {str(e).splitlines()[0]}; run without --resume to "
                          f"start over (this replaces the checkpoint)") from None
    except ResultsFileError as e:
        if "being written by another process" in str(e):
            raise
        raise damaged_checkpoint(path, "not a readable HDF5 file (truncated or corrupt)") \
            from None


@dataclass
class Checkpoint:
    settings: dict
    chunks_done: int
    train_wall_s: float
    state: dict
    #: unit (:data:`neuropcm.io.kinds.UNITS` vocabulary) of each state entry; the synapses'
    #: device variables (``syn.<var>``) are known without a simulator
    units: dict = field(default_factory=dict)

    def __post_init__(self):
        from ..snn.synapses import synapse_state_units

        self.units = {**{f"syn.{k}": u for k, u in synapse_state_units().items()},
                      "chunk.spikes_per_example": "count", **self.units}


def save_checkpoint(path, cp: Checkpoint) -> None:
    """Write ``cp`` atomically (the previous checkpoint stays intact on any failure)."""
    with atomic_h5(path, kind="mnist_checkpoint") as f:
        write_settings(f, cp.settings)
        f.attrs["chunks_done"] = int(cp.chunks_done)
        f.attrs["train_wall_s"] = float(cp.train_wall_s)
        g = f.create_group("state")
        for k, v in cp.state.items():
            if k not in cp.units:
                raise KeyError(f"checkpoint state {k!r} has no unit")  # a programming error
            write_dataset(g, k, v, cp.units[k])


def load_checkpoint(path) -> Checkpoint:
    """Read and validate a checkpoint.

    Raises
    ------
    ParameterError
        There is no checkpoint at ``path`` (nothing to resume).
    SchemaError, ResultsFileError
        The file is not a readable checkpoint of this NeuroPCM, is damaged, or its settings
        were edited (they do not match their checksum) -- one line naming when it was
        written.
    """
    path = Path(path)
    with open_checkpoint(path, "mnist_checkpoint", "a chunk") as f:
        settings = read_settings(f, path)
        if "state" not in f:
            raise damaged_checkpoint(path, "it holds no /state", f)
        done = f.attrs.get("chunks_done")
        wall = f.attrs.get("train_wall_s")
        if isinstance(done, (bool, np.bool_)) or \
                not isinstance(done, (int, np.integer)) or done < 0 or \
                not isinstance(wall, (float, np.floating)) or not np.isfinite(wall):
            raise damaged_checkpoint(path, f"chunks_done = {done!r} / train_wall_s = {wall!r} "
                                           f"are not valid", f)
        state = {}
        for k in f["state"]:
            try:
                v = np.asarray(f["state"][k][()])
            except OSError as e:
                raise damaged_checkpoint(path, f"state {k} cannot be read ({e})", f) from None
            if v.dtype.kind not in "biuf" or (v.dtype.kind == "f" and np.isnan(v).any()):
                raise damaged_checkpoint(path, f"state {k} holds non-numbers", f)
            state[k] = v
    return Checkpoint(settings, int(done), float(wall), state)


#: Output locks this process holds: lock path -> [thread id, depth, FileLock]
_HELD: dict = {}
_HELD_GUARD = threading.Lock()


class OutputLock:
    """Exclusive right to write ``out`` and its checkpoint (one run per output at a time).

    Every workload takes it: :class:`~neuropcm.workloads.Workload` wraps each ``run`` in it.
    A :class:`~neuropcm.io.locks.FileLock` on ``.<out>.lock`` next to ``out`` (released when
    the run ends or dies, even by ``kill -9``); taking it also removes the temporary files
    that an earlier run killed while writing ``out`` or its checkpoint left behind.

    Taking it again in the thread that holds it (``mnist-clustering``'s engine under
    ``Workload.run``) joins the held lock instead of failing: it is the same run.

    Parameters
    ----------
    out : str or Path
        The run's output file (its folder is created if missing).

    Raises
    ------
    neuropcm.io.locks.LockHeld
        Another live run (another process, or another thread of this one) writes the same
        ``out``: ``"<out> is being written by another NeuroPCM run (pid N); wait for it to
        end or choose another --out"``.
    """

    def __init__(self, out):
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        self.path = out.with_name(f".{out.name}.lock")
        self._key = os.path.realpath(self.path)
        me = threading.get_ident()
        with _HELD_GUARD:
            held = _HELD.get(self._key)
            if held is not None and held[0] == me:
                held[1] += 1
                self._open = True
                return
        lock = FileLock(self.path, what=str(out), remove=True)  # another thread: refused
        with _HELD_GUARD:
            _HELD[self._key] = [me, 1, lock]
        self._open = True
        for tmp in glob.glob(os.path.join(glob.escape(str(out.parent)),
                                          f".{glob.escape(out.name)}.*.tmp")):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def close(self) -> None:
        """Let go (the lock itself is released when the outermost holder closes)."""
        if not self._open:
            return
        self._open = False
        with _HELD_GUARD:
            held = _HELD[self._key]
            held[1] -= 1
            if held[1]:
                return
            del _HELD[self._key]
        held[2].close()

    def __enter__(self) -> OutputLock:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def checkpoint_chunks(path) -> int:
    """How many complete chunks the checkpoint at ``path`` holds (0 if none or unreadable)."""
    try:
        with open_h5(path, kind="mnist_checkpoint") as f:
            done = f.attrs.get("chunks_done", 0)
            return int(done) if isinstance(done, (int, np.integer)) else 0
    except (OSError, ValueError):
        return 0
