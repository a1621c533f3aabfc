"""The registry of figures ``neuropcm plot`` draws from a result file alone.

Each :class:`Figure` says which files it fits (a test on the opened :class:`~neuropcm.io.
Result`: its kind, its datasets, its devices) and draws itself from the file into an image.
Three sorts are registered:

* ``figure``: the run's main figure, the one ``neuropcm run NAME`` draws (the workload's
  ``figure``, looked up by the file's kind in :func:`neuropcm.workloads.workloads`);
* curves named in the issue where the file has the data (:mod:`.curves`):
  ``receptive-fields``, ``class-accuracy``, ``training-spikes``, ``accumulation``,
  ``drift``, ``residual-vs-refinement``, ``nmse-vs-iteration``, ``accuracy-vs-time``;
* generic ones: ``conductance-histogram`` (any file with device arrays) and ``headlines``
  (any file with numeric headline results).

Examples
--------
>>> from neuropcm.analysis import figures_for, plot
>>> [f.name for f in figures_for("devices.h5")]                     # doctest: +SKIP
['figure', 'accumulation', 'drift', 'headlines']
>>> plot("devices.h5", "drift", "drift.png")                        # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ParameterError
from ..io import Result, open_result

__all__ = ["Figure", "FIGURES", "register_figure", "figures_for", "plot", "main_figures"]


@dataclass(frozen=True)
class Figure:
    """One figure ``neuropcm plot --what NAME`` can draw.

    Attributes
    ----------
    name : str
        The ``--what`` name.
    description : str or callable
        One line for the listing; a callable gets the :class:`Result` (for text that
        depends on the file's kind).
    fits : callable
        ``fits(result) -> bool``: whether the file holds what the figure needs.
    draw : callable
        ``draw(result, png) -> Path``: the figure drawn from the file into ``png``.
    """

    name: str
    description: str | Callable[[Result], str]
    fits: Callable[[Result], bool]
    draw: Callable[[Result, Path], Path]

    def describe(self, result: Result) -> str:
        """The one-line description for ``result``."""
        d = self.description
        return d(result) if callable(d) else d


#: Every registered figure by name, in listing order.
FIGURES: dict[str, Figure] = {}


def register_figure(fig: Figure) -> Figure:
    """Add a figure to :data:`FIGURES` (a name may be registered once)."""
    if fig.name in FIGURES and FIGURES[fig.name] != fig:
        raise ParameterError(f"figure {fig.name!r} is registered twice, differently")
    FIGURES[fig.name] = fig
    return fig


def _as_result(source) -> Result:
    return source if isinstance(source, Result) else open_result(source)


def figures_for(source) -> list[Figure]:
    """The figures that fit a file, in listing order.

    Parameters
    ----------
    source : str, Path or Result
        The file (opened read-only) or an opened :class:`Result`.
    """
    r = _as_result(source)
    return [f for f in FIGURES.values() if f.fits(r)]


def plot(source, what: str, png) -> Path:
    """Draw figure ``what`` of a file into the image ``png`` (the file is only read).

    Parameters
    ----------
    source : str, Path or Result
        The file or an opened :class:`Result`.
    what : str
        A figure name of :data:`FIGURES` that fits the file.
    png : str or Path
        The image to write (PNG, or another format matplotlib writes, by its suffix).

    Returns
    -------
    Path
        ``png``.

    Raises
    ------
    ParameterError
        ``what`` is no figure, or not one of this file (the message lists those that fit).
    """
    r = _as_result(source)
    if what not in FIGURES:
        raise ParameterError(f"--what {what!r} is not a figure; known: {sorted(FIGURES)}")
    fits = [f.name for f in figures_for(r)]
    if what not in fits:
        raise ParameterError(f"--what {what!r} does not fit {r.path} (a {r.kind.name!r} file "
                             f"without the data it needs); figures of this file: "
                             f"{fits or 'none'}")
    return Path(FIGURES[what].draw(r, Path(png)))


# ---------------------------------------------------------------------- main figures
def main_figures() -> dict:
    """``kind -> (figure(path, png), source)``: the main figure of each file kind, the
    workload's own (``neuropcm run NAME``) or, for a kind no workload writes, the
    reproduction script's."""
    from ..workloads import workloads
    from .plots import plot_phase_change_neuron

    out = {"phase_change_neuron": (plot_phase_change_neuron,
                                   "scripts/reproduce_phase_change_neuron.py")}
    for name, w in sorted(workloads().items()):
        if w.figure is not None:
            out[w.kind] = (w.figure, f"neuropcm run {name}")
    return out


def _main_describe(r: Result) -> str:
    fn, source = main_figures()[r.kind.name]
    doc = " ".join((fn.__doc__ or "").split())
    # its first clause, for one line ("Fig. 5b" is no sentence end)
    doc = re.split(r"[(:;]|\.\s+(?=[A-Z])|\.$", doc)[0].strip()
    doc = re.sub(r",? from the file alone$", "", doc)
    return f"the run's main figure, as `{source}` draws it" + (f": {doc}" if doc else "")


# ---------------------------------------------------------------------- generic figures
def _conductance_histogram(r: Result, png: Path) -> Path:
    from ..plotting import new_figure, save_figure

    arrays = r.devices()
    us = 1e6
    g = {name: a.conductance.ravel() * us for name, a in arrays.items()}
    every = np.concatenate(list(g.values()))
    top = float(every.max()) if every.size else 0.0
    edges = np.linspace(0.0, 1.02 * top if top > 0 else 1.0, 81)
    fig, ax = new_figure(1, 1, (7, 4.5))
    pooled = len(g) > 10  # a tiled crossbar: one histogram of every array
    series = {"all arrays": every} if pooled else g
    for name, v in series.items():
        info = r.device_info.get(name)
        lab = name if info is None else f"{name}: {v.size:,} devices, {info.preset or 'custom'}"
        ax.stairs(np.histogram(v, edges)[0], edges, label=lab)
    ax.set(yscale="log", xlabel="programmed conductance G (µS)", ylabel="devices",
           title=f"Device conductances of {r.path.name} ({r.kind.name}"
                 + (f", {len(g)} arrays pooled)" if pooled else ")"))
    ax.legend(fontsize=8)
    return save_figure(fig, png, dpi=110)


def _numeric_headlines(r: Result) -> dict:
    """Headline name (``name[k]`` for each entry of an array) -> float, for the numbers."""
    out = {}
    for k, v in r.results.items():
        a = np.asarray(v)
        if a.dtype.kind not in "biuf" or a.size == 0:
            continue
        if a.ndim == 0:
            out[k] = float(a)
        else:
            out.update({f"{k}[{i}]": float(x) for i, x in enumerate(a.ravel())})
    return out


def _headlines(r: Result, png: Path) -> Path:
    from ..plotting import new_figure, save_figure

    vals = _numeric_headlines(r)
    by_unit: dict = {}
    for k, v in vals.items():
        by_unit.setdefault(r.units.get(k.split("[")[0]) or "?", []).append((k, v))
    fig, axes = new_figure(len(by_unit), 1,
                             (8, sum(0.35 * len(x) + 1.0 for x in by_unit.values())))
    axes = np.atleast_1d(axes)
    for ax, (unit, items) in zip(axes, sorted(by_unit.items())):
        scale, shown = (1e6, "µS") if unit == "S" else (1.0, unit)
        names = [k for k, _ in items]
        x = np.array([v for _, v in items]) * scale
        ax.barh(range(len(x)), x, color="C0")
        ax.set_yticks(range(len(x)), names, fontsize=8)
        ax.invert_yaxis()
        pos = x[x > 0]
        if pos.size == x.size and pos.size > 1 and pos.max() / pos.min() > 100:
            ax.set_xscale("log")
        for i, v in enumerate(x):
            ax.annotate(f"{v:.4g}", (v, i), fontsize=7, va="center",
                        xytext=(3, 0), textcoords="offset points")
        ax.set_xlabel(f"value ({shown})")
    axes[0].set_title(f"Headline results of {r.path.name} ({r.kind.name})")
    return save_figure(fig, png, dpi=110)


# ---------------------------------------------------------------------- the registry
def _register_all() -> None:
    from . import curves as c

    for name, description, fits, draw in (
            ("figure", _main_describe, lambda r: r.kind.name in main_figures(),
             lambda r, png: main_figures()[r.kind.name][0](r.path, png)),
            ("receptive-fields", "G+ - G- of each output neuron as an image, titled with its "
             "class", c.fits_receptive_fields, c.receptive_fields),
            ("class-accuracy", "test accuracy per class and the confusion matrix",
             c.fits_class_accuracy, c.class_accuracy),
            ("training-spikes", "mean output spikes per example against training examples",
             c.fits_training_spikes, c.training_spikes),
            ("accumulation", "mean ± std of G against SET pulses from RESET, beside the exact "
             "model", c.fits_accumulation, c.accumulation),
            ("drift", "what drifts (conductance, MVM error, ...) against time after "
             "programming", c.fits_drift, c.drift),
            ("residual-vs-refinement", "relative residual against refinement (outer "
             "iteration) of each solve", c.fits_residual, c.residual_vs_refinement),
            ("nmse-vs-iteration", "NMSE (dB) of each recovery against iteration",
             c.fits_nmse, c.nmse_vs_iteration),
            ("accuracy-vs-time", "accuracy and ROC-AUC scores against time (or step)",
             c.fits_accuracy_vs_time, c.accuracy_vs_time),
            ("conductance-histogram", "histogram of the programmed conductance of every "
             "device array in the file", lambda r: bool(r.device_info),
             _conductance_histogram),
            ("headlines", "bar chart of the headline results, one panel per unit",
             lambda r: bool(_numeric_headlines(r)), _headlines)):
        register_figure(Figure(name, description, fits, draw))


_register_all()
