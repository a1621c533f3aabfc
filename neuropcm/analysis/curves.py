"""Curves drawn from the datasets of a result file, wherever a file holds them.

Each ``fits_*`` tells from a :class:`~neuropcm.io.Result` (its dataset list only, nothing
read) whether the file holds the data of the curve, and the function of the same name draws
it from the file alone. A figure is tied to the data, not to a kind, so a new workload that
stores e.g. ``results/drift/time`` beside what drifts gets the ``drift`` figure for free.
Registered in :mod:`.figures`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import Result
from ..plotting import new_figure, save_figure
from .plots import plot_receptive_fields

#: Leaf names of the datasets an ``accuracy-vs-time`` figure plots (a substring match).
SCORE_WORDS = ("accuracy", "auc")
#: Leaf names of the axis of an ``accuracy-vs-time`` figure.
TIME_AXES = ("time", "step")


def _has(r: Result, *names: str) -> bool:
    return all(n in r.datasets for n in names)


def _children(r: Result, group: str) -> list[str]:
    """Datasets directly under ``group`` (full names, in file order)."""
    pre = group.rstrip("/") + "/"
    return [n for n in r.datasets if n.startswith(pre) and "/" not in n[len(pre):]]


def _leaf(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _scaled(values, units):
    """Values for display and their unit label (conductances in µS)."""
    if units == "S":
        return np.asarray(values) * 1e6, "µS"
    if units == "A":
        return np.asarray(values) * 1e6, "µA"
    return np.asarray(values), ("" if units in (None, "1") else units)


def _log_if_spread(ax, x, axis: str = "x") -> None:
    x = np.asarray(x, dtype=float)
    if x.size > 1 and np.all(x > 0) and x.max() / x.min() > 100:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


# ---------------------------------------------------------------------- mnist clustering
def fits_receptive_fields(r: Result) -> bool:
    """A clustering network whose first 784 inputs are a 28 x 28 image."""
    w = r.datasets.get("network/weights")
    return (r.kind.name == "mnist_clustering" and w is not None and len(w.shape) == 2
            and w.shape[1] >= 784 and _has(r, "network/assignments"))


def receptive_fields(r: Result, png: Path) -> Path:
    """Draw the receptive fields (G+ - G- of each output neuron as an image) into ``png``."""
    return plot_receptive_fields(r.path, png)


def fits_class_accuracy(r: Result) -> bool:
    """A file with per-class test accuracies and a confusion matrix."""
    return _has(r, "results/per_class_accuracy", "results/confusion")


def class_accuracy(r: Result, png: Path) -> Path:
    """Bars of the accuracy of each class; the confusion matrix (rows: true class; last
    column: no response)."""
    acc = r.dataset("results/per_class_accuracy")
    cm = r.dataset("results/confusion")
    fig, ax = new_figure(1, 2, (12, 4.8))
    classes = np.arange(acc.size)
    ax[0].bar(classes, 100 * acc, color="C0")
    if "test_accuracy" in r.results:
        ax[0].axhline(100 * r.results["test_accuracy"], color="k", ls="--", lw=1,
                      label=f"overall {100 * r.results['test_accuracy']:.2f} %")
        ax[0].legend(loc="lower right")
    ax[0].set(xticks=classes, xlabel="class", ylabel="test accuracy (%)", ylim=(0, 100),
              title="Accuracy per class")
    im = ax[1].imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax[1], label="test examples")
    n_cls = cm.shape[0]
    ax[1].set_xticks(range(cm.shape[1]),
                     [str(k) for k in range(n_cls)] + ["none"] * (cm.shape[1] - n_cls))
    ax[1].set(yticks=range(n_cls), xlabel="predicted class", ylabel="true class",
              title=f"Confusion matrix ({int(cm.sum())} test examples)")
    if cm.size <= 400:
        top = cm.max() or 1
        for (i, j), v in np.ndenumerate(cm):
            if v:
                ax[1].text(j, i, str(int(v)), ha="center", va="center", fontsize=6,
                           color="w" if v > top / 2 else "k")
    return save_figure(fig, png, dpi=110)


def fits_training_spikes(r: Result) -> bool:
    """A file with the output spikes per training example."""
    return _has(r, "results/train_spikes_per_example")


def training_spikes(r: Result, png: Path) -> Path:
    """Mean output spikes per example of each training chunk (x in examples when the
    config records the chunk size, else in chunks)."""
    s = r.dataset("results/train_spikes_per_example").ravel()
    chunk = r.config.get("run", {}).get("chunk") if isinstance(r.config.get("run"), dict) \
        else None
    fig, ax = new_figure(1, 1, (7, 4))
    if isinstance(chunk, int) and chunk > 0:
        ax.plot(chunk * np.arange(1, s.size + 1), s, "o-", ms=3)
        ax.set_xlabel(f"training examples presented ({chunk} per chunk)")
    else:
        ax.plot(np.arange(1, s.size + 1), s, "o-", ms=3)
        ax.set_xlabel("training chunk")
    ax.set(ylabel="mean output spikes per example", title="Output activity during training")
    return save_figure(fig, png, dpi=110)


# ---------------------------------------------------------------------- devices
_ACC = "results/accumulation/"


def fits_accumulation(r: Result) -> bool:
    """A file with an accumulation curve (pulses, mean and std of G)."""
    return _has(r, *(_ACC + k for k in ("pulses", "mean", "std")))


def accumulation(r: Result, png: Path) -> Path:
    """Mean ± std of G after each SET pulse from RESET; the exact model where stored."""
    p = r.dataset(_ACC + "pulses")
    m, _ = _scaled(r.dataset(_ACC + "mean"), "S")
    s, _ = _scaled(r.dataset(_ACC + "std"), "S")
    fig, ax = new_figure(1, 1, (7, 4.5))
    n = r.config.get("devices")
    ax.errorbar(p, m, yerr=s, fmt="o", ms=3, capsize=2,
                label="simulated" + (f" ({n} devices)" if n else "") + ", mean ± std")
    if _has(r, _ACC + "theory_mean", _ACC + "theory_std"):
        tm, _ = _scaled(r.dataset(_ACC + "theory_mean"), "S")
        ts, _ = _scaled(r.dataset(_ACC + "theory_std"), "S")
        ax.plot(p, tm, "k-", label="exact model, mean ± std")
        ax.fill_between(p, tm - ts, tm + ts, color="k", alpha=0.1)
    ax.set(xlabel="SET pulses after RESET", ylabel="G (µS)",
           title="Accumulation" + (f" ({r.config['preset']})" if "preset" in r.config else ""))
    ax.legend()
    return save_figure(fig, png, dpi=110)


def _drift_series(r: Result) -> list:
    """``(label, y, units)`` of each curve under ``results/drift`` against its ``time``:
    a (time,) dataset is one curve; (rows, time) one curve per row (labelled by
    ``levels`` when stored); (time, ...) the mean over the other axes."""
    t_shape = r.datasets["results/drift/time"].shape
    if len(t_shape) != 1:
        return []
    T = t_shape[0]
    levels = None
    out = []
    for name in _children(r, "results/drift"):
        leaf, info = _leaf(name), r.datasets[name]
        if leaf in ("time", "levels") or not info.shape:
            continue
        shape = info.shape
        if shape == (T,):
            out.append((leaf, name, None, info.units))
        elif len(shape) == 2 and shape[1] == T and shape[0] != T:
            if levels is None and "results/drift/levels" in r.datasets:
                levels = r.dataset("results/drift/levels")
            for i in range(shape[0]):
                if levels is not None and levels.shape == (shape[0],):
                    v, u = _scaled(levels[i], r.datasets["results/drift/levels"].units)
                    lab = f"{leaf}, level {float(v):.3g} {u}".rstrip()
                else:
                    lab = f"{leaf}[{i}]"
                out.append((lab, name, ("row", i), info.units))
        elif shape[0] == T:
            out.append((f"{leaf} (mean over {shape[1:]})", name, ("mean",), info.units))
    return out


def fits_drift(r: Result) -> bool:
    """A file with drift times and at least one series drawn against them."""
    return "results/drift/time" in r.datasets and bool(_drift_series(r))


def drift(r: Result, png: Path) -> Path:
    """Each drifting quantity against time after programming, one panel per unit."""
    t = r.dataset("results/drift/time")
    series = _drift_series(r)
    units = sorted({u or "?" for *_, u in series})
    fig, axes = new_figure(1, len(units), (7 * len(units), 4.5))
    axes = np.atleast_1d(axes)
    cache = {}
    for ax, unit in zip(axes, units):
        for lab, name, how, u in series:
            if (u or "?") != unit:
                continue
            y = cache.setdefault(name, r.dataset(name))
            if how is not None and how[0] == "row":
                y = y[how[1]]
            elif how is not None:
                y = y.reshape(y.shape[0], -1).mean(1)
            y, shown = _scaled(y, u)
            ax.plot(t, y, "o-", ms=3, label=lab)
        _log_if_spread(ax, t)
        ys = np.concatenate([line.get_ydata() for line in ax.get_lines()])
        _log_if_spread(ax, ys, "y")
        ax.set(xlabel="time after programming (s)",
               ylabel="value" + (f" ({_scaled(0.0, unit)[1]})" if unit not in ("1", "?")
                                 else ""), title="Drift")
        ax.legend(fontsize=8)
    return save_figure(fig, png, dpi=110)


# ---------------------------------------------------------------------- solvers
def _residual_curves(r: Result) -> dict:
    """``problem -> [(variant, dataset)]`` for every ``.../<variant>/relative_residual``."""
    out: dict = {}
    for name, info in r.datasets.items():
        if name.endswith("/relative_residual") and len(info.shape) == 1 and info.shape[0]:
            variant_path = name.rsplit("/", 1)[0]
            problem, _, variant = variant_path.rpartition("/")
            out.setdefault(problem or "results", []).append((variant, name))
    return out


def fits_residual(r: Result) -> bool:
    """A file with the residual of at least one solve per refinement."""
    return bool(_residual_curves(r))


def residual_vs_refinement(r: Result, png: Path) -> Path:
    """Relative residual ||b - Ax|| / ||b|| against refinement, one panel per system;
    ``crossbar_k`` labelled with its read time where the file stores ``times``."""
    curves = _residual_curves(r)
    fig, axes = new_figure(1, len(curves), (6.5 * len(curves), 4.5))
    axes = np.atleast_1d(axes)
    for ax, (problem, items) in zip(axes, curves.items()):
        times = r.dataset(f"{problem}/times") if f"{problem}/times" in r.datasets else None
        for variant, name in items:
            y = r.dataset(name)
            lab = variant
            if variant.startswith("crossbar_") and times is not None:
                k = int(variant.split("_")[1])
                if k < times.size:
                    lab = f"PCM crossbar, read at t = {times[k]:g} s"
            elif variant.endswith("_cg"):
                lab = f"{variant} (x: CG iteration)"
            ax.semilogy(np.arange(y.size), y, "o-" if y.size < 60 else "-", ms=3, label=lab)
        if isinstance(r.config.get("tol"), (int, float)):
            ax.axhline(r.config["tol"], color="gray", lw=0.8, label="tolerance")
        ax.set(xlabel="refinement (outer iteration)", ylabel="||b - Ax|| / ||b||",
               title=_leaf(problem))
        ax.legend(fontsize=8)
    return save_figure(fig, png, dpi=110)


def _nmse_curves(r: Result) -> list:
    n = r.datasets.get("results/iteration")
    if n is None or len(n.shape) != 1:
        return []
    return [k for k in _children(r, "results")
            if _leaf(k).startswith("nmse_db_") and r.datasets[k].shape == n.shape]


def fits_nmse(r: Result) -> bool:
    """A file with the NMSE of at least one recovery per iteration."""
    return bool(_nmse_curves(r))


def nmse_vs_iteration(r: Result, png: Path) -> Path:
    """NMSE in dB of each recovery (``results/nmse_db_<variant>``) against iteration."""
    it = r.dataset("results/iteration")
    fig, ax = new_figure(1, 1, (7, 4.5))
    for name in _nmse_curves(r):
        ax.plot(it, r.dataset(name), "o-", ms=3, label=_leaf(name)[len("nmse_db_"):])
    ax.set(xlabel="iteration", ylabel="NMSE (dB)", title="Recovery error against iteration")
    ax.legend()
    return save_figure(fig, png, dpi=110)


# ---------------------------------------------------------------------- scores over time
def _score_groups(r: Result) -> list:
    """``[(axis dataset, [score datasets])]``: in each group, the 1-D ``time``/``step``
    axis and the datasets named like a score with that length along their first axis."""
    out = []
    for axis, info in r.datasets.items():
        if _leaf(axis) not in TIME_AXES or len(info.shape) != 1:
            continue
        group = axis.rsplit("/", 1)[0] if "/" in axis else ""
        scores = [n for n in (_children(r, group) if group else [])
                  if n != axis and any(w in _leaf(n) for w in SCORE_WORDS)
                  and r.datasets[n].shape[:1] == info.shape]
        if scores:
            out.append((axis, scores))
    return out


def fits_accuracy_vs_time(r: Result) -> bool:
    """A file with accuracy or ROC-AUC scores against time (or step)."""
    return bool(_score_groups(r))


def accuracy_vs_time(r: Result, png: Path) -> Path:
    """Every accuracy or ROC-AUC curve against its time (or step) axis, one panel per
    group (a score with more axes is averaged over them)."""
    groups = _score_groups(r)
    fig, axes = new_figure(1, len(groups), (7 * len(groups), 4.5))
    axes = np.atleast_1d(axes)
    for ax, (axis, scores) in zip(axes, groups):
        t = r.dataset(axis)
        for name in scores:
            y = r.dataset(name)
            y = y.reshape(y.shape[0], -1).mean(1) if y.ndim > 1 else y
            ax.plot(t, y, "o-", ms=3, label=_leaf(name))
        _log_if_spread(ax, t)
        unit = r.datasets[axis].units
        xl = "time (s)" if unit == "s" else f"{_leaf(axis)}" + (f" ({unit})" if unit else "")
        ax.set(xlabel=xl, ylabel="score", title=f"Scores against {_leaf(axis)} "
                                                f"({axis.rsplit('/', 1)[0]})")
        ax.legend(fontsize=8)
    return save_figure(fig, png, dpi=110)
