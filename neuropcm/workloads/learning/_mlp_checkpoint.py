"""Per-epoch checkpoints of ``mlp-train``: ``<out>.ckpt.h5`` plus one crossbar file per
layer (``<out>.ckpt.e<epoch>.xb<l>.h5``, :meth:`Crossbar.save`).

The checkpoint holds everything the next epoch depends on: the crossbars (devices,
accumulators ``chi``/``transferred``, round-robin counters, clocks, counters and every
random stream), the float references' weights (and the quantised reference's ``chi`` and
generator state), the per-epoch history and the run's settings. The example order of an
epoch comes from the seed alone. ``resume`` continues only a run with equal settings
(:func:`neuropcm.config.check_resume`).
"""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path

import numpy as np

from ...config import check_resume
from ...errors import ParameterError, SchemaError
from ...io import atomic_h5, open_h5, read_dataset, write_dataset
from .._checkpoint import checkpoint_path



class MlpCheckpoint:
    """The checkpoint of the run writing ``out`` with settings ``settings`` (a dict)."""

    def __init__(self, out, settings: dict):
        out = Path(out)
        self.path = checkpoint_path(out)  # the one naming rule of checkpoints
        self._stem = out.name + ".ckpt"
        self.dir = out.parent
        self.settings = settings

    def _xb_path(self, epoch: int, layer: int) -> Path:
        return self.dir / f"{self._stem}.e{epoch}.xb{layer}.h5"

    def _xb_files(self) -> list[str]:
        return glob.glob(os.path.join(glob.escape(str(self.dir)),
                                      f"{glob.escape(self._stem)}.e*.xb*.h5"))

    def save(self, nets: dict, hist: dict, epochs_done: int) -> None:
        """Write the state after ``epochs_done`` epochs (atomically: the crossbar files
        first, then the main file naming them; older crossbar files are removed last)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        keep = set()
        for l, layer in enumerate(nets["pcm"]):
            p = self._xb_path(epochs_done, l)
            layer.xb.save(p)
            keep.add(str(p))
        with atomic_h5(self.path, kind="mlp_train_checkpoint") as f:
            f.attrs["settings"] = json.dumps(self.settings, sort_keys=True)
            f.attrs["epochs_done"] = int(epochs_done)
            f.attrs["nets"] = json.dumps(sorted(nets))
            g = f.create_group("history")
            for k, v in hist.items():
                a = np.asarray(v)
                write_dataset(g, k, a, "1" if a.dtype.kind == "f" else "count")
            for name, net in nets.items():
                if name == "pcm":
                    continue
                for l, layer in enumerate(net):
                    write_dataset(f, f"{name}/W{l}", layer.W, "1")
                    if hasattr(layer, "chi"):
                        write_dataset(f, f"{name}/chi{l}", layer.chi, "1")
                        f[name].attrs[f"rng{l}"] = json.dumps(layer.rng.bit_generator.state)
        for p in self._xb_files():
            if p not in keep:
                os.unlink(p)

    def load(self, c):
        """``(nets, hist, epochs_done)`` of the checkpoint, for the run's config ``c``.

        Raises
        ------
        ParameterError
            No checkpoint, or one made with other settings (naming each field).
        SchemaError
            The checkpoint is damaged.
        """
        from ...crossbar import Crossbar
        from ._mlp_training import CrossbarLayer, FloatLayer, QuantisedLayer

        if not self.path.exists():
            raise ParameterError(f"nothing to resume: there is no checkpoint {self.path} (the "
                                 f"run finished, or never completed an epoch); run without "
                                 f"--resume")
        with open_h5(self.path, kind="mlp_train_checkpoint") as f:
            try:
                saved = json.loads(f.attrs["settings"])
                done = int(f.attrs["epochs_done"])
                names = json.loads(f.attrs["nets"])
            except (KeyError, TypeError, ValueError):
                raise SchemaError(f"{self.path}: settings/epochs_done/nets missing or not "
                                  f"valid; the checkpoint is damaged") from None
            check_resume(saved, self.settings, self.path)
            hist = {k: list(read_dataset(f["history"], k)) for k in f["history"]}
            rule = None if c.refresh == "none" else c.refresh
            nets = {"pcm": [CrossbarLayer(Crossbar.load(self._xb_path(done, l)),
                                          c.update_mode, rule) for l in range(2)]}
            for name in names:
                if name == "pcm":
                    continue
                net = []
                for l in range(2):
                    W = read_dataset(f[name], f"W{l}", "1")
                    if f"chi{l}" in f[name]:
                        xb = nets["pcm"][l].xb
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
        return nets, hist, done

    def remove(self) -> None:
        """Delete the checkpoint (main file and crossbar files), if any."""
        for p in [str(self.path), *self._xb_files()]:
            if os.path.exists(p):
                os.unlink(p)
