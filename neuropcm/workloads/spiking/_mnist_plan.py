"""How an MNIST clustering run is planned and identified, checked before any work.

:func:`check_counts` validates the example counts (nothing is clamped), :func:`plan` splits
training into equal chunks, :func:`run_settings` is the run's identity (stored in its
checkpoint and results file; a resume must match it), :func:`default_build_dir` names the
one build folder of a network.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..._version import __version__
from ...errors import ParameterError
from ...snn.config import NetworkConfig


@dataclass
class RunPlan:
    """How a training run is split into chunks."""
    chunk: int
    chunks_per_epoch: int
    epochs: int
    n_train: int

    @property
    def total_chunks(self) -> int:
        return self.chunks_per_epoch * self.epochs

    @property
    def presented(self) -> int:
        return self.total_chunks * self.chunk


def plan(n_train: int, epochs: int, chunk_max: int) -> RunPlan:
    """Chunks of equal size (the compiled duration) covering ``n_train`` examples per
    epoch; the last chunk of an epoch is topped up with repeats of that epoch's first
    examples when ``n_train`` is not a multiple."""
    if n_train < 1 or epochs < 1:
        raise ParameterError(f"train = {n_train} and epochs = {epochs} must be >= 1")
    n_ch = math.ceil(n_train / chunk_max)
    return RunPlan(math.ceil(n_train / n_ch), n_ch, epochs, n_train)


def check_counts(n_train, n_test, n_assign, epochs, n_train_images: int,
                 n_test_images: int, n_validation=0) -> tuple[int, int, int, int]:
    """Validate the example counts of a run; ``n_assign=None`` means ``min(n_train, 10000)``;
    ``n_validation`` training images are held out of training (0: none).

    Raises
    ------
    ParameterError
        A count is not a whole number, is below 1, or asks for more examples than there
        are (nothing is clamped).
    """
    def whole(v, name):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise ParameterError(f"{name} = {v!r} must be a whole number")
        if v < 1:
            raise ParameterError(f"{name} = {v} must be at least 1")
        return int(v)

    n_train, n_test, epochs = whole(n_train, "train"), whole(n_test, "test"), \
        whole(epochs, "epochs")
    if isinstance(n_validation, (bool, np.bool_)) or not isinstance(n_validation,
                                                                     (int, np.integer)) \
            or n_validation < 0:
        raise ParameterError(f"validation = {n_validation!r} must be a whole number >= 0")
    if n_train > n_train_images:
        raise ParameterError(f"train = {n_train}: there are only {n_train_images} training "
                             f"images; give at most {n_train_images} (and epochs > 1 to present "
                             f"them again)")
    if n_train + n_validation > n_train_images:
        raise ParameterError(f"train = {n_train} + validation = {n_validation} exceeds the "
                             f"{n_train_images} training images: the validation examples are "
                             f"held out of training; give train <= "
                             f"{max(n_train_images - n_validation, 0)}")
    if n_test > n_test_images:
        raise ParameterError(f"test = {n_test}: there are only {n_test_images} test images; "
                             f"give at most {n_test_images}")
    n_assign = min(n_train, 10_000) if n_assign is None else whole(n_assign, "assign")
    if n_assign > n_train:
        raise ParameterError(f"assign = {n_assign}: labels are assigned on the run's {n_train} "
                             f"training examples; give at most {n_train}")
    return n_train, n_test, n_assign, epochs


def _data_fingerprint(data) -> str:
    h = hashlib.sha256()
    for a in data:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:16]


def run_settings(cfg: NetworkConfig, data, *, n_train, n_test, n_assign, epochs, seed, mode,
                 chunk, threads, runtime_target, n_validation=0) -> dict:
    """The identity of a run: every setting that shapes its result, as a JSON-able dict
    (stored in the checkpoint and the results file; a resume must match it exactly).
    ``n_validation`` appears only when non-zero (runs without one keep their identity)."""
    held_out = {"n_validation": n_validation} if n_validation else {}
    return {**held_out, "network": cfg.to_dict(), "data": _data_fingerprint(data), "n_train": n_train,
            "n_test": n_test, "n_assign": n_assign, "epochs": epochs, "seed": seed,
            "mode": mode, "chunk": chunk, "threads": threads,
            "runtime_target": runtime_target if mode == "runtime" else None,
            "neuropcm": __version__}


def default_build_dir(cfg: NetworkConfig, chunk: int, threads: int) -> Path:
    """``data/build/mnist-<name>-<hash of what is compiled in>`` (root
    ``$NEUROPCM_BUILD_DIR`` if set): one build per network."""
    from ...datasets.mnist import resolve_data_dir

    key = json.dumps({"network": cfg.to_dict(), "chunk": chunk, "threads": threads},
                     sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    root = os.environ.get("NEUROPCM_BUILD_DIR") or resolve_data_dir() / "build"
    return Path(root) / f"mnist-{cfg.name}-{digest}"
