"""Checkpoints of chunked runs, and the one check that a resume continues the same run.

A checkpoint holds the full state after the last *complete* chunk, how many chunks that
is, and the run's settings -- every setting that shapes the result, as one JSON-able dict
(its identity). ``--resume`` continues only a run whose settings are all equal
(:func:`check_resume`), and names every field that differs otherwise.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import check_resume, settings_diff  # noqa: F401  (the one resume rule)
from ..errors import ParameterError, SchemaError
from ..io import atomic_h5, open_h5, write_dataset
from ..io.locks import FileLock

__all__ = ["Checkpoint", "checkpoint_path", "settings_diff", "check_resume", "save_checkpoint",
           "load_checkpoint", "OutputLock"]


def checkpoint_path(out) -> Path:
    """The checkpoint of the run writing ``out``: ``<out>.ckpt.h5`` next to it."""
    out = Path(out)
    return out.with_name(out.name + ".ckpt.h5")


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
        f.attrs["settings"] = json.dumps(cp.settings, sort_keys=True)
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
        The file is not a readable checkpoint of this NeuroPCM.
    """
    path = Path(path)
    if not path.exists():
        raise ParameterError(f"nothing to resume: there is no checkpoint {path} (the run "
                             f"finished, or never completed a chunk); run without --resume")
    with open_h5(path, kind="mnist_checkpoint") as f:
        if "settings" not in f.attrs or "state" not in f:
            raise SchemaError(f"{path}: a checkpoint without settings (an older NeuroPCM); its "
                              f"run cannot be checked: run without --resume to start over")
        try:
            settings = json.loads(f.attrs["settings"])
        except (TypeError, ValueError):
            raise SchemaError(f"{path}: its settings are not valid JSON; the file is "
                              f"damaged") from None
        done = f.attrs.get("chunks_done")
        wall = f.attrs.get("train_wall_s")
        if not isinstance(settings, dict) or isinstance(done, (bool, np.bool_)) or \
                not isinstance(done, (int, np.integer)) or done < 0 or \
                not isinstance(wall, (float, np.floating)) or not np.isfinite(wall):
            raise SchemaError(f"{path}: chunks_done = {done!r} / train_wall_s = {wall!r} / "
                              f"settings are not valid; the file is damaged")
        state = {}
        for k in f["state"]:
            v = np.asarray(f["state"][k][()])
            if v.dtype.kind not in "biuf" or (v.dtype.kind == "f" and np.isnan(v).any()):
                raise SchemaError(f"{path}: state {k} holds non-numbers; the file is damaged")
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
