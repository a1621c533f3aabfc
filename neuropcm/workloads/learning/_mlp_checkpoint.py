"""Per-epoch checkpoints of ``mlp-train``: one file, ``<out>.ckpt.h5``, complete or absent.

The checkpoint holds everything the next epoch depends on: the crossbars (devices,
accumulators ``chi``/``transferred``, round-robin and global arbitration counters, clocks,
counters and every random stream; one group ``/crossbars/layer<l>`` each, written by
:func:`neuropcm.io.crossbar.write_crossbar`), the float references' weights (and the
quantised reference's ``chi`` and generator state), the 3T1C fast weights (``/fast``: ``F``,
polarity, examples since the last transfer, counters, generator state), the per-epoch history and the run's
settings with their checksum (:func:`~neuropcm.workloads._checkpoint.write_settings`). It
is written at once by :func:`~neuropcm.io.atomic_h5`, so ``kill -9``, Ctrl-C or a full disk
leave the previous checkpoint whole. The example order of an epoch comes from the seed
alone. ``resume`` continues only a run with equal settings
(:func:`neuropcm.config.check_resume`); a checkpoint whose settings were edited, or that is
incomplete or damaged, is refused in one line.

(Before schema version 2 the crossbars were separate files ``<out>.ckpt.e<epoch>.xb<l>.h5``;
such files are not read, and may be deleted.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from ...config import check_resume, settings_diff
from ...errors import ParameterError, ResultsFileError, RunInterrupted
from ...io import atomic_h5, read_dataset, write_dataset
from .._checkpoint import (
    checkpoint_path,
    damaged_checkpoint,
    open_checkpoint,
    read_settings,
    write_settings,
)

KIND = "mlp_train_checkpoint"


class MlpCheckpoint:
    """The checkpoint of the run writing ``out`` with settings ``settings`` (a dict)."""

    def __init__(self, out, settings: dict):
        out = Path(out)
        self.path = checkpoint_path(out)  # the one naming rule of checkpoints
        self.settings = settings

    def save(self, nets: dict, hist: dict, epochs_done: int) -> None:
        """Write the state after ``epochs_done`` epochs: one file, atomically (the previous
        checkpoint stays whole on any failure)."""
        from ...io.crossbar import write_crossbar

        with atomic_h5(self.path, kind="mlp_train_checkpoint") as f:
            write_settings(f, self.settings)
            f.attrs["epochs_done"] = int(epochs_done)
            f.attrs["nets"] = json.dumps(sorted(nets))
            g = f.create_group("history")
            for k, v in hist.items():
                a = np.asarray(v)
                write_dataset(g, k, a, "1" if a.dtype.kind == "f" else "count")
            xbs = f.create_group("crossbars")
            for l, layer in enumerate(nets["pcm"]):
                write_crossbar(xbs.create_group(f"layer{l}"), layer.xb.state_dict())
                if hasattr(layer, "load_state"):  # 3T1C fast weights
                    st = layer.state()
                    write_dataset(f, f"fast/F{l}", st.pop("F"), "1")
                    f["fast"].attrs[f"state{l}"] = json.dumps(st)
            for name, net in nets.items():
                if name == "pcm":
                    continue
                for l, layer in enumerate(net):
                    write_dataset(f, f"{name}/W{l}", layer.W, "1")
                    if hasattr(layer, "chi"):
                        write_dataset(f, f"{name}/chi{l}", layer.chi, "1")
                        f[name].attrs[f"rng{l}"] = json.dumps(layer.rng.bit_generator.state)

    def load(self, c):
        """``(nets, hist, epochs_done)`` of the checkpoint, for the run's config ``c``.

        Raises
        ------
        ParameterError
            No checkpoint, or one made with other settings (naming each field).
        SchemaError
            The checkpoint is incomplete or damaged, or its settings were edited (one line
            naming when, and by which run, it was written).
        """
        with open_checkpoint(self.path, KIND, "an epoch") as f:
            saved = read_settings(f, self.path)
            check_resume(saved, self.settings, self.path)
            try:
                return self._read(f, c)
            except (ResultsFileError, ParameterError, KeyError, TypeError, ValueError,
                    OSError) as e:
                raise damaged_checkpoint(self.path, _reason(e), f, saved) from None

    def _read(self, f, c):
        from ...crossbar import Crossbar
        from ...io.crossbar import read_crossbar
        from ._mlp_training import FloatLayer, QuantisedLayer, pcm_layer

        done = f.attrs.get("epochs_done")
        if isinstance(done, (bool, np.bool_)) or not isinstance(done, (int, np.integer)) \
                or not 1 <= done <= c.n_epochs:
            raise ValueError(f"epochs_done = {done!r} is not in 1..{c.n_epochs}")
        names = json.loads(f.attrs["nets"])
        for group in ("history", "crossbars"):
            if not isinstance(f.get(group), h5py.Group):
                raise ValueError(f"/{group} is missing")
        hist = {k: list(read_dataset(f["history"], k)) for k in f["history"]}
        if any(len(v) != done for v in hist.values()) or "test_accuracy" not in hist:
            raise ValueError(f"/history does not hold {int(done)} complete epochs")
        pcm = []
        for l in range(c.n_layers):
            g = f["crossbars"].get(f"layer{l}")
            if not isinstance(g, h5py.Group) or not all(
                    isinstance(g.get(k), h5py.Group) for k in ("config", "crossbar", "devices")):
                raise ValueError(f"/crossbars/layer{l} is missing or incomplete")
            xb = Crossbar.from_state(read_crossbar(g, f"{self.path}:/crossbars/layer{l}"))
            layer = pcm_layer(c, xb, l)
            if c.mode == "3t1c":
                if not isinstance(f.get("fast"), h5py.Group):
                    raise ValueError("/fast (the 3T1C fast weights) is missing")
                layer.load_state({"F": read_dataset(f["fast"], f"F{l}", "1"),
                                  **json.loads(f["fast"].attrs[f"state{l}"])})
            pcm.append(layer)
        nets = {"pcm": pcm}
        for name in names:
            if name == "pcm":
                continue
            if not isinstance(f.get(name), h5py.Group):
                raise ValueError(f"/{name} (the {name} reference) is missing")
            net = []
            for l in range(c.n_layers):
                W = read_dataset(f[name], f"W{l}", "1")
                if f"chi{l}" in f[name]:
                    xb = pcm[l].xb
                    layer = QuantisedLayer(W, xb.epsilon, c.update_mode, xb.seed,
                                           c.pulse_length)
                    layer.chi[...] = read_dataset(f[name], f"chi{l}", "1")
                    layer.rng.bit_generator.state = json.loads(f[name].attrs[f"rng{l}"])
                else:
                    layer = FloatLayer(W)
                net.append(layer)
            nets[name] = net
        if "_pred" in hist:
            hist["_pred"] = [np.asarray(p) for p in hist["_pred"]]
        return nets, hist, int(done)

    def epochs_done(self) -> int:
        """Complete epochs of a checkpoint this run can continue from: 0 when there is none,
        it cannot be read, or its settings are not this run's (or were edited)."""
        if not self.path.exists():
            return 0
        try:
            with open_checkpoint(self.path, KIND, "an epoch") as f:
                if settings_diff(read_settings(f, self.path), self.settings):
                    return 0
                done = f.attrs.get("epochs_done", 0)
                return int(done) if isinstance(done, (int, np.integer)) else 0
        except (ResultsFileError, ParameterError, TypeError, ValueError):
            return 0

    def interrupted(self, e: BaseException, phase, epochs: int) -> RunInterrupted:
        """The interruption ``e`` (Ctrl-C, SIGTERM) during ``phase`` (what the run was doing,
        or the number of the epoch it was training and checkpointing), saying what the
        checkpoint holds; its ``checkpoint`` is set when a resume can continue from it."""
        if isinstance(e, RunInterrupted):
            return e
        done = self.epochs_done()
        what = f"{e} -- " if str(e) else ""
        if isinstance(phase, int):  # "after": its checkpoint had just been written
            phase = f"{'after' if done >= phase else 'during'} epoch {phase} of {epochs}"
        else:
            phase = f"during {phase}"
        if done:
            msg = (f"{what}stopped {phase}; the checkpoint {self.path} holds {done} of "
                   f"{epochs} complete epochs and nothing else: resume to continue from there")
        else:
            msg = f"{what}stopped {phase}, before the first checkpoint; nothing was written"
        err = RunInterrupted(msg)
        err.checkpoint = self.path if done else None
        return err

    def remove(self) -> None:
        """Delete the checkpoint, if any."""
        if self.path.exists() or self.path.is_symlink():
            os.unlink(self.path)


def _reason(e: BaseException) -> str:
    """What is wrong, for the one-line message (a KeyError names the missing item)."""
    if isinstance(e, KeyError):
        return f"{e.args[0] if e.args else e} is missing"
    return str(e).splitlines()[0] if str(e) else type(e).__name__
