"""Temporal correlation detection with PCM devices (``neuropcm run correlation``).

Sebastian et al., Nat. Commun. 8, 1115 (2017); seed tutorial section II, Fig. 7;
physics.md section 6. N binary processes ``X_i(k)``, each 1 with probability ``p``; a
reference process ``X_r`` (not one of the N); the correlated processes follow it:
``P(X_i = 1 | X_r = 1) = p + sqrt(c) (1 - p)``, ``P(X_i = 1 | X_r = 0) = p (1 - sqrt(c))``
(so ``P(X_i = 1) = p``, correlation ``sqrt(c)`` with the reference and ``c`` between two
correlated processes); the others are independent. One pulsed-model PCM device per
process, all RESET at the start. At each step ``M(k) = sum_j X_j(k)`` and every device
whose process fired gets one SET pulse of current ``I = 0.002 uA * M(k)`` -- none if
``I < i_min`` (25 uA), capped at ``i_max`` (80 uA). The devices of correlated processes
collect many strong pulses (on the steps where the reference fires), the others few, so
the conductance imprints the row sums of the uncentred covariance ``sum_k X(k) X(k)^T``.

Current to pulse amplitude (assumed; physics.md section 1 says "linear in current above a
threshold"): the device model's fitted pulse (relative amplitude 1 of
:meth:`~neuropcm.devices.PCMArray.set_pulse`, which scales the mean and the spread of
the increment) is taken to be a pulse of current ``i_ref`` = 80 uA, the cap, and

    amplitude(I) = 0 if I < i_min, else s min(I, i_max) / i_ref,

with ``s = amplitude_scale`` (default 1). At the experiment's rates about 100 steps in 1e4
pulse (those on which the reference fires), a correlated device fires in about a third of
them; its step shrinks as its conductance nears saturation (g_max) while the uncorrelated
devices keep climbing, so the ROC-AUC peaks and then falls. ``s < 1`` keeps the devices off
saturation over the run (the peak ROC-AUC and its step are headlines;
``scripts/reproduce_correlation.py`` compares scales).

For N other than 1e6 the current per active process defaults to ``0.002 uA * 1e6 / N``, so
that the currents (which depend on the fraction of processes that fire) are the paper's.

The experiment's 1000 x 1000 image is not available: the correlated processes are the
pixels of a ring (a stand-in), laid out on a ``ceil(sqrt(N))``-wide grid. Devices are
numbered correlated-first inside the run; files hold everything in image order.

Scores, at log-spaced steps: ROC-AUC of the read conductance against the ground truth, the
accuracy of a split at Otsu's threshold (chosen without the labels), the precision,
recall and F1 of the set it calls correlated and, as an upper bound, the accuracy at the
best threshold; beside every accuracy the trivial baseline of calling every process
uncorrelated (``1 - n_c / N``, 90.45 % at the experiment's share); the same for the exact uncentred-covariance score
``sum_k X_i(k) M(k)`` on the same data (the baseline the tutorial names) and for the exact
sum of the pulse amplitudes each device received (what an ideal, linear, noise-free
device would hold: it separates the device's non-idealities from the algorithm's).
Assumed: the run lasts less than the model's drift reference time T0 = 38.6 s (steps
under 3.9 ms at 1e4 steps), before which the model's drift is flat, so all writes and
reads happen at t = 0 on the array's clock; reads carry read noise.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, option
from ...devices import PCMArray, get_preset
from ...devices.presets import preset_names
from ...errors import ParameterError
from ...random import rng
from .. import DEVICE_BYTES, SEED_MAX, MemoryNeed, Workload, refuse_resume
from . import _correlation_kernels as K
from ._correlation_report import figure, summary

#: The experiment (physics.md section 6): processes, correlated ones, SET current per
#: active process (A) at that size.
PAPER_PROCESSES = 1_000_000
PAPER_CORRELATED = 95_525
PAPER_CURRENT_PER_PROCESS = 0.002e-6
#: Radius of the ring of correlated pixels, in units of the image side (stand-in image).
RING_RADIUS = 0.3
#: Largest ``steps * processes`` for which :func:`simulate` records the dense process matrix.
MAX_RECORD = 50_000_000
#: Largest ``steps * processes`` of a run: 100 times the experiment's 1e10 (minutes to an
#: hour on a 2-core machine).
MAX_PROCESS_STEPS = 10 ** 12
#: Largest current of the current settings (A): far above the SET currents of any PCM
#: device (tens to a few hundred uA).
MAX_CURRENT = 1e-3

#: Curves per snapshot (datasets under ``results/snapshots``) and their units: the scores of
#: the devices' reads (no prefix), of the exact uncentred covariance ``sum_k X_i(k) M(k)``
#: (``covariance_``) and of the exact sum of the pulse amplitudes each device received, an
#: ideal linear noise-free device (``ideal_``); the conductance of each group.
_CURVE_UNITS = {
    **{f"{pre}{k}": u for pre, tu in (("", "S"), ("covariance_", "count"), ("ideal_", "1"))
       for k, u in (("roc_auc", "1"), ("accuracy", "1"), ("best_accuracy", "1"),
                    ("threshold", tu), ("precision", "1"), ("recall", "1"), ("f1", "1"))},
    "mean_g_correlated": "S", "std_g_correlated": "S", "mean_g_uncorrelated": "S",
    "std_g_uncorrelated": "S"}


def pulsed_presets() -> tuple[str, ...]:
    """Presets of the pulsed model (SET pulses need it), read from the preset registry when
    a config is checked."""
    return preset_names("pulsed")


@dataclass(frozen=True)
class CorrelationConfig(Config):
    """Settings of a temporal-correlation-detection run."""

    processes: int = option(PAPER_PROCESSES, "binary processes N, one PCM device each",
                            lo=2, hi=10_000_000)
    correlated: int | None = option(None, "correlated processes (default the experiment's "
                                    "95,525 per 1e6, scaled to N and rounded)", lo=1,
                                    hi=10_000_000 - 1)
    p: float = option(0.01, "probability that a process (and the reference) is 1 in a step",
                      lo=0.0, lo_open=True, hi=1.0)
    c: float = option(0.1, "correlation coefficient between two correlated processes "
                      "(sqrt(c) with the reference)", lo=0.0, lo_open=True, hi=1.0)
    steps: int = option(10_000, "time steps (steps x processes at most 1e12: 100 times the "
                        "experiment's)",
                        lo=1, hi=1_000_000)
    snapshots: int = option(25, "log-spaced steps at which the devices are read and scored "
                            "(distinct steps, the last one included)", lo=1, hi=1000)
    current_per_process: float | None = option(
        None, "SET current per active process, I = current_per_process * M(k) (default "
        "0.002 uA * 1e6 / N: the experiment's 0.002 uA at N = 1e6)", unit="A", lo=0.0,
        lo_open=True, hi=MAX_CURRENT)
    i_min: float = option(25e-6, "no SET pulse in a step whose current is below this (at most "
                          "1 mA, like every current here: far above any SET current)",
                          unit="A", lo=0.0, hi=MAX_CURRENT)
    i_max: float = option(80e-6, "cap of the SET current", unit="A", lo=0.0, lo_open=True,
                          hi=MAX_CURRENT)
    i_ref: float = option(80e-6, "current of the model's fitted pulse, relative amplitude 1 "
                          "(assumed: the cap)", unit="A", lo=0.0, lo_open=True,
                          hi=MAX_CURRENT)
    amplitude_scale: float = option(1.0, "factor on every pulse's relative amplitude (below "
                                    "1: smaller steps, so that the correlated devices stay "
                                    "off saturation over more steps; at most 1: the fitted "
                                    "pulse is not extrapolated)", lo=0.0, lo_open=True,
                                    hi=1.0)
    preset: str = option("nandakumar2018", "device preset (a pulsed model)",
                         choices=pulsed_presets)
    read_noise: bool = option(True, "score noisy reads of the devices (false: the programmed "
                              "conductance)")
    bins: int = option(100, "bins of the final-conductance histogram", lo=2, hi=100_000)
    seed: int = option(0, "seed of every random stream of the run", lo=0, hi=SEED_MAX)

    # -- values derived from the settings (one place each) -----------------------------
    @property
    def n_correlated(self) -> int:
        """Correlated processes (``correlated``, or the experiment's share of N)."""
        if self.correlated is not None:
            return self.correlated
        return round(self.processes * PAPER_CORRELATED / PAPER_PROCESSES)

    @property
    def current(self) -> float:
        """SET current per active process (A)."""
        if self.current_per_process is not None:
            return self.current_per_process
        return PAPER_CURRENT_PER_PROCESS * PAPER_PROCESSES / self.processes

    @property
    def q_on(self) -> float:
        """``P(X_i = 1 | X_r = 1) = p + sqrt(c) (1 - p)`` of a correlated process."""
        return self.p + math.sqrt(self.c) * (1.0 - self.p)

    @property
    def q_off(self) -> float:
        """``P(X_i = 1 | X_r = 0) = p (1 - sqrt(c))`` of a correlated process."""
        return self.p * (1.0 - math.sqrt(self.c))

    def validate(self) -> None:
        n, n_c = self.processes, self.n_correlated
        if not 1 <= n_c < n:
            raise ParameterError(f"CorrelationConfig: {n_c} correlated processes of "
                                 f"processes = {n}; give correlated between 1 and {n - 1} "
                                 f"(both classes are needed to score a detection)")
        if self.p >= 1.0:
            raise ParameterError(f"CorrelationConfig.p = {self.p!r}: every process would fire "
                                 f"at every step; give p < 1 (the experiment: 0.01)")
        if self.i_min > self.i_max:
            raise ParameterError(f"CorrelationConfig: i_min = {self.i_min!r} A is above "
                                 f"i_max = {self.i_max!r} A; give i_min <= i_max")
        if n * self.steps > MAX_PROCESS_STEPS:
            raise ParameterError(f"{self.where('processes')} = {n} x {self.where('steps')} = "
                                 f"{self.steps} is {n * self.steps:.3g} process-steps, more "
                                 f"than {MAX_PROCESS_STEPS:.0e} (100 times the experiment's);"
                                 f" lower processes or steps")
        if self.current * n < self.i_min:
            raise ParameterError(f"CorrelationConfig: the largest possible current "
                                 f"{self.current * n!r} A (all {n} processes firing) is below "
                                 f"i_min = {self.i_min!r} A, so no device would ever be "
                                 f"programmed; raise current_per_process or lower i_min")


    def memory_needs(self) -> list:
        """One device per process, the per-process scores, masks and images of the file,
        and the per-step traces."""
        n = self.processes
        return [MemoryNeed(n * (DEVICE_BYTES + 120), {"processes": n},
                           f"{n} devices and their scores"),
                MemoryNeed(self.steps * 40, {"steps": self.steps}, "the per-step traces")]

    def run_estimate(self) -> tuple[str, float]:
        """The size of the run and a rough time (s): ~0.5 ns per process-step and ~0.16 us
        per device and snapshot (reads and scores; measured at 1e5-1e6 processes)."""
        n = self.processes
        return (f"{n} processes x {self.steps} steps, {self.snapshots} snapshots",
                1.0 + 5e-10 * n * self.steps + 1.6e-7 * n * self.snapshots)


def pulse_amplitude(current: float, config: CorrelationConfig) -> float:
    """Relative SET amplitude of a pulse of ``current`` (A): the rule of the run.

    ``0`` if ``current < i_min`` (no pulse), else
    ``amplitude_scale * min(current, i_max) / i_ref``.
    """
    if current < config.i_min:
        return 0.0
    return config.amplitude_scale * min(current, config.i_max) / config.i_ref


def pulsing_threshold(config: CorrelationConfig) -> int:
    """The smallest ``M`` whose current ``current * M`` gets a pulse (from
    :func:`pulse_amplitude`, evaluated, so the kernel holds no rule of its own)."""
    cpp = config.current
    m = max(math.ceil(config.i_min / cpp) - 2, 0)
    while pulse_amplitude(cpp * m, config) <= 0.0:
        m += 1
    return m


def snapshot_steps(steps: int, snapshots: int) -> np.ndarray:
    """Distinct, log-spaced steps in ``[1, steps]`` (at most ``snapshots``), ending at
    ``steps``."""
    if snapshots == 1:
        return np.array([steps], dtype=np.int64)
    s = np.unique(np.rint(np.geomspace(1, steps, snapshots)).astype(np.int64))
    s[-1] = steps
    return s


def image_layout(n: int, n_c: int) -> tuple[int, int, np.ndarray]:
    """(rows, width, correlated pixels) of the stand-in image: the ``n_c`` pixels nearest
    to a ring of radius :data:`RING_RADIUS` (image side 1) on a ``ceil(sqrt(n))``-wide
    grid holding pixels ``0 .. n-1`` (ties by pixel index)."""
    width = math.isqrt(n - 1) + 1
    rows = -(-n // width)
    pix = np.arange(n)
    y = ((pix // width) + 0.5) / rows - 0.5
    x = ((pix % width) + 0.5) / width - 0.5
    dist = np.abs(np.hypot(x, y) - RING_RADIUS)
    return rows, width, np.sort(np.argsort(dist, stable=True)[:n_c])


def simulate(config: CorrelationConfig, *, progress: bool = False, record: bool = False) -> dict:
    """Run the experiment in memory (devices in internal order: correlated first).

    Parameters
    ----------
    config : CorrelationConfig
        The settings.
    progress : bool
        Show a progress bar over the steps.
    record : bool
        Also return the dense process matrix ``X`` (steps x processes, bool) and the
        device array; refused above :data:`MAX_RECORD` process-steps.

    Returns
    -------
    dict
        Curves per snapshot, per-step traces, final reads/scores, ``perm`` (device j is
        pixel ``perm[j]``), counters and timings.
    """
    from tqdm import tqdm

    c = config
    n, n_c, steps = c.processes, c.n_correlated, c.steps
    if record and n * steps > MAX_RECORD:
        raise ParameterError(f"record=True keeps a dense {steps} x {n} process matrix; give "
                             f"steps * processes <= {MAX_RECORD}")
    t_start = time.perf_counter()
    arr = PCMArray(n, c.preset, seed=rng(c.seed, "devices"))
    gen = rng(c.seed, "processes")
    m_min = pulsing_threshold(c)
    snaps = snapshot_steps(steps, c.snapshots)
    out = np.empty(n, np.int64)
    score = np.zeros(n, np.int64)
    ref = np.zeros(steps, np.bool_)
    msum = np.zeros(steps, np.int64)
    amp = np.zeros(steps)
    labels = np.zeros(n, bool)
    labels[:n_c] = True
    mask = np.zeros(n, bool)
    X = np.zeros((steps, n), bool) if record else None
    ideal = np.zeros(n)
    curves = {k: np.zeros(snaps.size) for k in _CURVE_UNITS}
    bar = tqdm(total=steps, desc=f"correlation c={c.c:g}", unit="step", disable=not progress)
    k = 0
    for s, stop in enumerate(snaps):
        while k < stop:
            # one step per call when recording (same draws, same order)
            k_stop = k + 1 if record else int(stop)
            k_new, m = K.advance(gen, k, k_stop, c.p, c.q_on, c.q_off, n_c, n, m_min, out,
                                 score, ref, msum)
            if record:
                X[k_new - 1, out[:msum[k_new - 1]]] = True
            if m >= 0:
                a = pulse_amplitude(c.current * m, c)
                amp[k_new - 1] = a
                idx = out[:m]
                mask[idx] = True
                arr.set_pulse(mask, a)
                mask[idx] = False
                ideal[idx] += a
            bar.update(k_new - k)
            k = k_new
        g = arr.read().ravel() if c.read_noise else arr.conductance.ravel().copy()
        for prefix, sc in (("", g), ("covariance_", score), ("ideal_", ideal)):
            for name, value in K.detection_scores(sc, labels).items():
                curves[prefix + name][s] = value
        for grp, sel in (("correlated", labels), ("uncorrelated", ~labels)):
            curves[f"mean_g_{grp}"][s] = g[sel].mean()
            curves[f"std_g_{grp}"][s] = g[sel].std()
    bar.close()
    wall = time.perf_counter() - t_start
    rows, width, pix = image_layout(n, n_c)
    rest = np.ones(n, bool)
    rest[pix] = False
    res = {"snapshots": snaps, "curves": curves, "reference": ref, "process_sum": msum,
           "current": c.current * msum, "amplitude": amp, "final_g": g, "score": score,
           "ideal": ideal, "labels": labels, "set_pulses": arr.n_set.ravel().copy(),
           "perm": np.concatenate([pix, np.flatnonzero(rest)]), "rows": rows, "width": width,
           "totals": arr.totals(), "pulse_steps": int(np.count_nonzero(amp)),
           "m_min": m_min, "wall_s": wall, "process_steps_per_s": n * steps / wall}
    if record:
        res["X"], res["array"] = X, arr
    return res


def run(config: CorrelationConfig, out, *, resume: bool = False, progress: bool = True) -> Path:
    """Run the experiment and write one ``correlation`` HDF5 file (atomically).

    The arguments and return value are those of every workload's ``run`` (see
    :class:`~neuropcm.workloads.Workload`); ``resume`` is refused (no checkpoint).
    """
    from ...io import atomic_h5, write_config, write_dataset

    if resume:
        refuse_resume("correlation", "a run takes seconds")
    c = config
    r = simulate(c, progress=progress)
    params = get_preset(c.preset)
    perm = r["perm"]

    def image(v):  # device order -> pixel order
        img = np.empty_like(v)
        img[perm] = v
        return img

    last = {k: v[-1] for k, v in r["curves"].items()}
    g, lab = r["final_g"], r["labels"]
    edges = np.linspace(0.0, max(float(g.max()), params.g_max), c.bins + 1)
    out = Path(out)
    with atomic_h5(out, kind="correlation") as f:
        write_config(f, {**c.to_dict(), "params": params.as_dict(), "model": params.model,
                         "derived": {"correlated": c.n_correlated,
                                     "current_per_process": c.current, "q_on": c.q_on,
                                     "q_off": c.q_off, "pulsing_process_sum": r["m_min"],
                                     "amplitude_at_cap": c.i_max / c.i_ref}})
        res = f.create_group("results")
        grp = res.create_group("snapshots")
        write_dataset(grp, "step", r["snapshots"], "count")
        for k, u in _CURVE_UNITS.items():
            write_dataset(grp, k, r["curves"][k], u)
        grp = res.create_group("steps")
        write_dataset(grp, "reference", r["reference"], "1")
        write_dataset(grp, "process_sum", r["process_sum"], "count")
        write_dataset(grp, "current", r["current"], "A")
        write_dataset(grp, "amplitude", r["amplitude"], "1")
        grp = res.create_group("histogram")
        write_dataset(grp, "edges", edges, "S")
        write_dataset(grp, "correlated", np.histogram(g[lab], edges)[0], "count")
        write_dataset(grp, "uncorrelated", np.histogram(g[~lab], edges)[0], "count")
        grp = res.create_group("final")
        write_dataset(grp, "conductance", image(g), "S")
        write_dataset(grp, "correlated", image(lab), "1")
        write_dataset(grp, "covariance_score", image(r["score"]), "count")
        write_dataset(grp, "ideal_score", image(r["ideal"]), "1")
        write_dataset(grp, "set_pulses", image(r["set_pulses"]), "count")
        a = res.attrs
        for k in ("roc_auc", "accuracy", "best_accuracy", "threshold", "covariance_roc_auc",
                  "covariance_accuracy", "ideal_roc_auc", "ideal_accuracy",
                  "mean_g_correlated", "mean_g_uncorrelated", "precision", "recall", "f1",
                  "covariance_precision", "covariance_recall", "covariance_f1"):
            a[k] = float(last[k])
        auc = r["curves"]["roc_auc"]
        peak = int(np.argmax(auc))
        a["peak_roc_auc"] = float(auc[peak])
        a["peak_step"] = int(r["snapshots"][peak])
        a["baseline_accuracy"] = 1.0 - c.n_correlated / c.processes
        a["n_set"] = r["totals"]["n_set"]
        a["energy_J"] = r["totals"]["energy"]
        a["pulse_steps"] = r["pulse_steps"]
        a["wall_s"] = r["wall_s"]
        a["process_steps_per_s"] = r["process_steps_per_s"]
        a["image_rows"] = r["rows"]
        a["image_width"] = r["width"]
    return out


WORKLOAD = Workload(
    name="correlation", kind="correlation", config=CorrelationConfig, run=run,
    summary=summary, figure=figure,
    description="temporal correlation detection with PCM devices (Sebastian et al. 2017)",
    default_out="correlation.h5",
    smoke=('processes=2000', 'steps=500'))
