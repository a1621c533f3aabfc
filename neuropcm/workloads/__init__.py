"""Every run of the project, one module each, in one shape, grouped by family.

A workload module defines ``WORKLOAD = Workload(...)``: a frozen, validated config
dataclass (:class:`neuropcm.config.Config`) and ``run(config, out, *, resume=False,
progress=True) -> Path``, which writes one HDF5 file of the workload's own ``kind``
(registered in :mod:`neuropcm.io.kinds`). The CLI (``neuropcm run NAME``), sweeps and
analysis are built on this shape alone. Every call of a workload's ``run`` holds the lock of
its output (:class:`LockedRun`), so two runs never write one file at once.

The families, each a sub-package holding its workloads and their private helpers (``_*.py``)
side by side:

* :mod:`~neuropcm.workloads.characterisation`: ``device-characterisation``;
* :mod:`~neuropcm.workloads.computational_memory`: ``mvm-precision``,
  ``compressed-sensing``, ``correlation``, ``solver``;
* :mod:`~neuropcm.workloads.learning`: ``mlp-train``, ``drift-resilient``;
* :mod:`~neuropcm.workloads.spiking`: ``mnist-clustering``, ``snn-crossbar``.

Helpers shared by families (the resumable-run checkpoint) sit here as ``_*.py``.

Adding a workload: write one module in its family (or a new family sub-package) that defines
``WORKLOAD``, give its file kind to :func:`neuropcm.io.kinds.register_kind`, and set
``Workload.smoke`` to settings that run in seconds. The registry (:func:`workloads`) finds the
module by walking the sub-packages; the CLI, sweeps, analysis and the workload contract
tests (``tests/test_workload_contract.py``) then pick it up without editing other files.

Examples
--------
>>> from neuropcm.workloads import get_workload
>>> w = get_workload("device-characterisation")
>>> cfg = w.config(devices=2000, seed=1)
>>> w.run(cfg, "devices.h5")                       # doctest: +SKIP
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..config import Config
from ..errors import UnknownPresetError
from ..plotting import save_figure  # noqa: F401  (re-exported: workloads draw with it)

__all__ = ["Workload", "LockedRun", "workloads", "get_workload", "refuse_resume", "reproduce_main"]


@dataclass(frozen=True)
class Workload:
    """What the CLI, sweeps and analysis need to know of one run.

    Attributes
    ----------
    name : str
        Command name (``neuropcm run NAME``), e.g. ``"mnist-clustering"``.
    kind : str
        The ``kind`` of the HDF5 file it writes.
    config : type
        Its frozen config dataclass (a :class:`~neuropcm.config.Config`).
    run : callable
        ``run(config, out, *, resume=False, progress=True) -> Path``; stored wrapped in a
        :class:`LockedRun`, so each call holds the output's lock (one run per ``out``).
    summary : callable
        ``summary(path) -> str``: the headline lines the CLI prints, read from the file.
    description : str
        One line for ``neuropcm run --help``.
    default_out : str
        Output file name when ``--out`` is not given.
    figure : callable or None
        ``figure(path, png) -> Path``: the run's main figure, drawn from the file alone.
    resumable : bool
        Whether ``run(..., resume=True)`` continues from a checkpoint.
    flags : dict
        Extra command-line options of ``neuropcm run NAME``, each a short name for one
        config field: ``{"--from": ("source", "help text")}`` makes ``--from X`` mean
        ``--set source=X``.
    smoke : tuple of str
        ``--set`` settings under which the run takes seconds (the contract tests and
        ``--quick`` reproductions use them).
    """

    name: str
    kind: str
    config: type
    run: Callable[..., Path]
    summary: Callable[[Path], str]
    description: str
    default_out: str
    figure: Callable[[Path, Path], Path] | None = None
    resumable: bool = False
    flags: dict = field(default_factory=dict)
    smoke: tuple = ()

    def __post_init__(self):
        if not (isinstance(self.config, type) and issubclass(self.config, Config)):
            raise TypeError(f"workload {self.name!r}: config must be a Config subclass")
        if not isinstance(self.run, LockedRun):  # every caller of ``run`` gets the lock
            object.__setattr__(self, "run", LockedRun(self.run))


class LockedRun:
    """A workload's ``run`` that holds its output's lock while it runs.

    ``Workload`` wraps every ``run`` in one, so the CLI, sweeps, reproductions and direct
    calls alike refuse an ``out`` that another live run is writing (instead of both
    writing it and both reporting success). The lock is
    :class:`~neuropcm.workloads._checkpoint.OutputLock`; a run that takes it itself
    (``mnist-clustering``) joins it.

    Parameters
    ----------
    run : callable
        The module's ``run(config, out, *, resume=False, progress=True) -> Path``.

    Raises
    ------
    neuropcm.io.locks.LockHeld
        (when called) ``out`` is being written by another live run: nothing is read,
        written or removed.
    """

    def __init__(self, run: Callable[..., Path]):
        functools.update_wrapper(self, run)  # name, doc and signature of the module's run

    def __call__(self, config, out, *args, **kwargs) -> Path:
        from ..io.paths import check_output_path
        from ._checkpoint import OutputLock

        # a folder or a path under a file is refused before a lock file is made next to it
        check_output_path(out, what="out")
        with OutputLock(out):
            return self.__wrapped__(config, out, *args, **kwargs)

    def __repr__(self) -> str:
        return f"LockedRun({self.__wrapped__!r})"


def refuse_resume(name: str, why: str) -> None:
    """The one answer of a workload that keeps no checkpoint to ``resume=True``."""
    from ..errors import ParameterError

    raise ParameterError(f"{name} keeps no checkpoint ({why}); run it again without --resume")


def reproduce_main(workload: Workload, doc: str, quick: list[str], argv=None) -> Path:
    """The command line of ``scripts/reproduce_<name>.py``: run ``workload`` (``--set``,
    ``--seed``, ``--quick`` = the ``quick`` settings) unless ``--plot-only``, then draw its
    figure from the file alone and print its headlines."""
    import argparse
    import time

    from ..config import load_config

    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--out", default=workload.default_out, help="HDF5 file to write")
    p.add_argument("--png", default=None, help="figure (default: OUT with .png)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="config override (repeatable)")
    p.add_argument("--seed", type=int, default=None, help="seed of the run")
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    p.add_argument("--plot-only", action="store_true", help="draw from an existing OUT")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    a = p.parse_args(argv)
    out = Path(a.out)
    if not a.plot_only:
        sets = (list(quick) if a.quick else []) + a.set
        if a.seed is not None:
            sets.append(f"seed={a.seed}")
        cfg = load_config(workload.config, None, sets)
        t = time.perf_counter()
        workload.run(cfg, out, progress=not a.quiet)
        print(f"wrote {out} in {time.perf_counter() - t:.1f} s")
    png = workload.figure(out, Path(a.png) if a.png else out.with_suffix(".png"))
    print(workload.summary(out))
    print(f"figure: {png}")
    return png


_REGISTRY: dict[str, Workload] | None = None


def workloads() -> dict[str, Workload]:
    """All workloads of the package by name: the modules of this package and its family
    sub-packages that define ``WORKLOAD`` (private ``_*`` modules are helpers and are not
    imported; heavy engines are imported only inside each ``run``)."""
    global _REGISTRY
    if _REGISTRY is None:
        found = {}
        for mod in sorted(pkgutil.walk_packages(__path__, prefix=f"{__name__}."),
                          key=lambda m: m.name):
            if mod.ispkg or mod.name.rsplit(".", 1)[1].startswith("_"):
                continue
            w = getattr(importlib.import_module(mod.name), "WORKLOAD", None)
            if isinstance(w, Workload):
                if w.name in found:
                    raise RuntimeError(f"two workloads are named {w.name!r}")
                found[w.name] = w
        _REGISTRY = found
    return _REGISTRY


def get_workload(name: str) -> Workload:
    """The workload called ``name``.

    Raises
    ------
    UnknownPresetError
        If no workload has that name (the message lists them).
    """
    reg = workloads()
    if name not in reg:
        raise UnknownPresetError(f"unknown workload {name!r}; known: {sorted(reg)}")
    return reg[name]
