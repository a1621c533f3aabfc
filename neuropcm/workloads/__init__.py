"""Every run of the project, one module each, in one shape, grouped by family.

A workload module defines ``WORKLOAD = Workload(...)``: a frozen, validated config
dataclass (:class:`neuropcm.config.Config`) and ``run(config, out, *, resume=False,
progress=True) -> Path``, which writes one HDF5 file of the workload's own ``kind``
(registered in :mod:`neuropcm.io.kinds`). The CLI (``neuropcm run NAME``), sweeps and
analysis are built on this shape alone. Every call of a workload's ``run`` holds the lock of
its output (:class:`LockedRun`), so two runs never write one file at once.

The families, each a sub-package holding its workloads and their private helpers (``_*.py``)
side by side:

* :mod:`~neuropcm.workloads.characterisation`: ``device-characterisation``, ``device-fit``;
* :mod:`~neuropcm.workloads.computational_memory`: ``mvm-precision``,
  ``compressed-sensing``, ``correlation``, ``solver``;
* :mod:`~neuropcm.workloads.learning`: ``mlp-train``, ``drift-resilient``;
* :mod:`~neuropcm.workloads.spiking`: ``mnist-clustering``, ``snn-crossbar``, ``pattern-detection``.

Helpers shared by families (the resumable-run checkpoint) sit here as ``_*.py``.

Adding a workload: write one module in its family (or a new family sub-package) that defines
``WORKLOAD``, give its file kind to :func:`neuropcm.io.kinds.register_kind`, and set
``Workload.smoke`` to settings that run in seconds. Give every config field bounds a user
would accept (``lo``/``hi`` of :func:`neuropcm.config.option`), and the config a
``memory_needs()`` method (the big arrays a run allocates, as :class:`MemoryNeed`) and a
``run_estimate()`` method (its size and a rough time); :class:`LockedRun` refuses a run that
cannot fit memory before it starts and prints the estimate when ``progress`` is on. The
registry (:func:`workloads`) finds the module by walking the sub-packages; the CLI, sweeps,
analysis and the workload contract tests (``tests/test_workload_contract.py``) then pick it
up without editing other files.

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
import math
import pkgutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..config import Config
from ..errors import UnknownPresetError
from ..plotting import save_figure  # noqa: F401  (re-exported: workloads draw with it)

__all__ = ["Workload", "LockedRun", "workloads", "get_workload", "refuse_resume", "reproduce_main",
           "MemoryNeed", "workload_aliases", "check_run_memory", "announce_estimate",
           "DEVICE_BYTES", "crossbar_bytes", "SEED_MAX", "READ_TIME_MAX"]

#: Largest seed of a workload config (``hi`` of every ``seed`` field): a 64-bit integer, as
#: result files and numpy store it.
SEED_MAX = 2 ** 63 - 1
#: Largest read time after programming (s) of a workload config: about 10 years, beyond the
#: time over which any device preset's drift was measured.
READ_TIME_MAX = 3.2e8

#: Bytes of memory per device of a :class:`~neuropcm.devices.PCMArray` while it is
#: programmed and read (its state and the temporaries of program-and-verify; measured with
#: tracemalloc: ~214 B per device at 1e6 devices), for the memory estimates of the runs.
DEVICE_BYTES = 220
#: Bytes per device and per stored weight of a :class:`~neuropcm.crossbar.Crossbar` (the
#: devices, and the mean/variance matrices and buffers of its reads; measured: 510 B per
#: weight at 2 devices per weight, 2600 B at 16).
CROSSBAR_DEVICE_BYTES = 170
CROSSBAR_WEIGHT_BYTES = 220


def crossbar_bytes(weights: float, devices: float) -> float:
    """Estimated memory (bytes) of crossbars holding ``weights`` weights on ``devices``
    devices in all (see :data:`CROSSBAR_DEVICE_BYTES`)."""
    return CROSSBAR_WEIGHT_BYTES * float(weights) + CROSSBAR_DEVICE_BYTES * float(devices)


@dataclass(frozen=True)
class MemoryNeed:
    """One big allocation of a run, estimated from its config (before anything is built).

    Attributes
    ----------
    nbytes : float
        Estimated bytes.
    sizes : dict
        The settings that set it, ``{"dense_n": 500}``: the refusal names them and their
        values.
    what : str
        What they allocate, e.g. ``"the dense matrix and its crossbar"``.
    fix : str, optional
        The advice of the refusal (default: lower the settings named in ``sizes``).
    """

    nbytes: float
    sizes: dict
    what: str
    fix: str = ""


def check_run_memory(config) -> None:
    """Refuse a run whose estimated memory (``config.memory_needs()``, a list of
    :class:`MemoryNeed`) is more than the memory available now, with one line naming the
    settings of its largest part, their values and the fix
    (:func:`neuropcm.checks.check_memory`). A config without ``memory_needs`` is not
    checked. :class:`LockedRun` calls this before every run, so nothing is allocated.

    Raises
    ------
    ParameterError
        The run cannot fit.
    """
    from ..checks import check_memory

    needs = getattr(config, "memory_needs", None)
    needs = list(needs()) if callable(needs) else []
    if not needs:
        return
    total = float(sum(n.nbytes for n in needs))
    big = max(needs, key=lambda n: n.nbytes)
    sizes = ", ".join(f"{k} = {v}" for k, v in big.sizes.items())
    fix = big.fix or f"lower {' or '.join(big.sizes)}"
    check_memory(total, f"{sizes}: by an estimate from the settings, the run would need "
                        f"more memory than is available, most of it for {big.what}", fix)


def _duration(seconds: float) -> str:
    """``seconds`` as a short rough duration: ``"40 s"``, ``"12 min"``, ``"3.5 h"``."""
    if not math.isfinite(seconds):
        return "unknown"
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def announce_estimate(name: str, config, file=None) -> str | None:
    """Print (to stderr) the size of a run and a rough estimate of its time, from
    ``config.run_estimate()`` (``(size text, seconds)``); nothing for a config without one.
    Returns the line printed."""
    est = getattr(config, "run_estimate", None)
    if not callable(est):
        return None
    size, seconds = est()
    line = (f"{name}: {size}; estimated time {_duration(seconds)} (a rough estimate from "
            f"per-unit costs measured on a 2-core machine)")
    print(line, file=file or sys.stderr, flush=True)
    return line


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
    aliases : tuple of str
        Short names that stand for this workload everywhere a workload is named
        (``neuropcm sweep mnist``; ``neuropcm mnist`` is its own command).
    file_config : dict
        How the file's ``/config`` is laid out where it is not one ``config``: ``{dotted
        path: (title, "module:ConfigClass" or None)}`` -- what ``neuropcm inspect`` shows
        as sections, with the units of each class (imported only when shown).
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
    aliases: tuple = ()
    file_config: dict = field(default_factory=dict)

    def __post_init__(self):
        if not (isinstance(self.config, type) and issubclass(self.config, Config)):
            raise TypeError(f"workload {self.name!r}: config must be a Config subclass")
        if not isinstance(self.run, LockedRun):  # every caller of ``run`` gets the lock
            object.__setattr__(self, "run", LockedRun(self.run, self.name))

    def flag_set(self, fld: str, text: str) -> str:
        """The ``--set`` item that the flag of field ``fld`` (:attr:`flags`) means with the
        value ``text``: ``fld=text``, where a bare number for a field with a unit is in that
        field's SI unit (the flag's help names it): ``--at 0,3600`` of a field in s is
        ``times=0*second,3600*second`` (a comma list becomes a list where the field is one:
        :func:`neuropcm.config.load_config`)."""
        import dataclasses
        import re

        from ..units import unit_name

        f = {g.name: g for g in dataclasses.fields(self.config)}.get(fld)
        unit = f.metadata.get("unit") if f is not None else None
        text = str(text)
        if unit in (None, "1") or text.lstrip().startswith(("[", "\"", "'")):
            return f"{fld}={text}"
        number = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
        items = [s.strip() for s in text.split(",")]
        items = [f"{s}*{unit_name(unit)}" if number.match(s) else s for s in items]
        return f"{fld}={','.join(items)}"


class LockedRun:
    """A workload's ``run`` that holds its output's lock while it runs.

    ``Workload`` wraps every ``run`` in one, so the CLI, sweeps, reproductions and direct
    calls alike refuse an ``out`` that another live run is writing (instead of both
    writing it and both reporting success). The lock is
    :class:`~neuropcm.workloads._checkpoint.OutputLock`; a run that takes it itself
    (``mnist-clustering``) joins it.

    Before the lock is taken, a run whose estimated memory cannot fit is refused
    (:func:`check_run_memory`); with ``progress`` on (the default), the run's size and a
    rough time estimate are printed first (:func:`announce_estimate`).

    Parameters
    ----------
    run : callable
        The module's ``run(config, out, *, resume=False, progress=True) -> Path``.
    name : str, optional
        The workload's name (for the estimate line).

    Raises
    ------
    neuropcm.io.locks.LockHeld
        (when called) ``out`` is being written by another live run: nothing is read,
        written or removed.
    neuropcm.errors.ParameterError
        (when called) the run would need more memory than is available.
    """

    def __init__(self, run: Callable[..., Path], name: str | None = None):
        functools.update_wrapper(self, run)  # name, doc and signature of the module's run
        self.workload_name = name or run.__module__.rsplit(".", 1)[-1]

    def __call__(self, config, out, *args, **kwargs) -> Path:
        from ..io.paths import check_output_path
        from ._checkpoint import OutputLock

        # a folder or a path under a file is refused before a lock file is made next to it
        check_output_path(out, what="out")
        check_run_memory(config)  # before anything is allocated
        with OutputLock(out):
            if kwargs.get("progress", True):
                announce_estimate(self.workload_name, config)
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
    if name in reg:
        return reg[name]
    for w in reg.values():
        if name in w.aliases:
            return w
    raise UnknownPresetError(f"unknown workload {name!r}; known: {sorted(reg)} (and the "
                             f"aliases {sorted(workload_aliases())})")


def workload_aliases() -> dict[str, str]:
    """``{alias: workload name}`` of every registered workload's aliases."""
    return {a: w.name for w in workloads().values() for a in w.aliases}
