"""All-PCM spatio-temporal pattern detection (``neuropcm run pattern-detection``).

Seed tutorial section IV: "a single PCM neuron interfaced with several PCM synapses ...
can detect spatio-temporal patterns in an unsupervised manner" (Tuma et al., Nat.
Nanotechnol. 2016; Tuma et al., IEEE EDL 2016; Wozniak et al., ISCAS 2016; Pantazi et al.,
Nanotechnology 2016), "extended to multiple neurons with an additional winner-take-all
mechanism". The tutorial gives no numbers for this experiment; the settings here are
assumed (stated in the config, the sweep shows how the result depends on c).

One phase-change neuron (:class:`~neuropcm.snn.PhaseChangeNeurons`: its membrane is a PCM
device's conductance, it fires above ``g_threshold`` and is RESET) receives ``inputs``
Bernoulli spike trains (``rate``) through differential PCM synapses
(:class:`~neuropcm.snn.PCMSynapses`, two-window STDP; weight ``(G+ - G-) / g_unit``).
During presentations (``presentation`` long, ``gap`` apart) the ``pattern_inputs`` inputs of a pattern fire in
correlation ``c`` (:mod:`._pattern_inputs`; their rate is unchanged); otherwise every input
is independent. Each step the synaptic reads of the active inputs are summed, and a sum of
at least ``drive_threshold`` gives the neuron one SET pulse (:mod:`._pattern_net`). After
``learn_time`` the synapses are frozen and a ``test_time`` test with fresh inputs scores the
detection: presentations detected, latency from onset, false alarms (spikes outside
presentations) and misattributed spikes (inside a presentation of a pattern the neuron is
not assigned to). A neuron is assigned to the pattern whose inputs have its largest mean
final weight; it has *learned* that pattern if its final weights separate those inputs from
the rest with ROC-AUC >= ``works_auc``.

Three experiments: the single neuron at every ``c`` of ``c_sweep`` and at ``c`` (the
lowest c at which it *works*: weight ROC-AUC >= ``works_auc`` and detected fraction >=
``works_detected``), and ``patterns`` patterns learned by as many neurons with
winner-take-all (a spike RESETs the other neurons' devices) at ``wta_c``. The drive
threshold (an assumed number) sets the lowest c: ``drive_sweep`` repeats the c sweep at
each threshold given.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, option
from ...devices.presets import preset_names
from ...errors import ParameterError
from .. import SEED_MAX, MemoryNeed, Workload, refuse_resume

#: Steps after a presentation's end still counted inside it: the input -> pulse ->
#: threshold pipeline puts an output spike one step after the pulse that caused it.
GRACE_STEPS = 2
#: Seconds per simulated step and per step and neuron (numpy runtime, 100 inputs; measured
#: on a 2-core machine: 30k steps in 10 s with one neuron, 50k in 25 s with three).
_S_PER_STEP, _S_PER_STEP_NEURON = 2e-4, 1e-4


def _pulsed():
    return preset_names("pulsed")


@dataclass(frozen=True)
class PatternDetectionConfig(Config):
    """Settings of an all-PCM pattern-detection run (assumed values: the tutorial gives
    none)."""

    inputs: int = option(100, "input spike trains, one PCM synapse each per neuron",
                         lo=2, hi=10_000)
    pattern_inputs: int = option(20, "inputs of each pattern (disjoint sets)", lo=1,
                                 hi=10_000)
    rate: float = option(20.0, "spike rate of every input, in and outside presentations",
                         unit="Hz", lo=0.0, lo_open=True, hi=1000.0)
    dt: float = option(1e-3, "time step", unit="s", lo=1e-5, hi=0.01)
    presentation: float = option(0.2, "duration of one pattern presentation", unit="s",
                                 lo=0.0, lo_open=True, hi=100.0)
    gap: float = option(0.2, "gap of independent inputs before each presentation", unit="s",
                        lo=0.0, lo_open=True, hi=100.0)
    learn_time: float = option(30.0, "learning time of each single-neuron run", unit="s",
                               lo=0.0, lo_open=True, hi=3600.0)
    test_time: float = option(10.0, "frozen test time of every run", unit="s", lo=0.0,
                              lo_open=True, hi=3600.0)
    c: float = option(0.2, "correlation of the pattern inputs of the single neuron's main "
                      "run (added to the sweep)", lo=0.0, hi=1.0)
    c_sweep: tuple[float, ...] = option([0.05, 0.1, 0.15, 0.2, 0.3, 0.4],
                                        "correlations of the single-neuron sweep", lo=0.0,
                                        hi=1.0)
    drive_sweep: tuple[float, ...] = option(
        [], "drive thresholds at which the c sweep is repeated (opt-in: the lowest c against "
        "this assumed number)", lo=0.0, lo_open=True, hi=1e6)
    patterns: int = option(3, "patterns of the winner-take-all run (one neuron each; 0 "
                           "skips it)", lo=0, hi=100)
    wta_c: float = option(0.3, "correlation of the patterns of the winner-take-all run",
                          lo=0.0, hi=1.0)
    wta_learn_time: float = option(40.0, "learning time of the winner-take-all run",
                                   unit="s", lo=0.0, lo_open=True, hi=3600.0)
    preset: str = option("nandakumar2018", "device preset of neurons and synapses (pulsed)",
                         choices=_pulsed)
    g_threshold: float = option(4e-6, "firing threshold of the neuron's conductance",
                                unit="S", lo=0.0, lo_open=True, hi=1e-3)
    g_unit: float = option(1e-5, "conductance difference of a synapse read as a unit "
                           "weight (pulse amplitude 1): w = (G+ - G-) / g_unit", unit="S",
                           lo=1e-9, hi=1e-3)
    drive_threshold: float = option(4.0, "summed input of a step below which the neuron "
                                    "gets no pulse (coincidence detection)", lo=0.0,
                                    lo_open=True, hi=1e6)
    dT_pot: float = option(2e-3, "STDP potentiation window", unit="s", lo=0.0, hi=1.0)
    dT_dep: float = option(50e-3, "STDP depression window (>= dT_pot)", unit="s", lo=0.0,
                           hi=1.0)
    p_dep: float = option(0.5, "probability that a depression event of the STDP applies its "
                          "pulse (stochastic STDP)", lo=0.0, hi=1.0)
    refresh: str = option("threshold", "refresh of saturated synapse pairs (as the clustering "
                          "network's synapses)", choices=("none", "threshold", "truncate"))
    initial_pulses: int = option(6, "G+ of each synapse starts with 0..n SET pulses "
                                 "(uniform), G- RESET", lo=0, hi=1000)
    record_interval: float = option(0.5, "interval of the recorded weights", unit="s",
                                    lo=0.0, lo_open=True, hi=3600.0)
    works_auc: float = option(0.9, "weight ROC-AUC at which a neuron has learned a pattern",
                              lo=0.5, hi=1.0)
    works_detected: float = option(0.5, "fraction of test presentations detected at which "
                                   "the detection works", lo=0.0, hi=1.0)
    seed: int = option(0, "seed of every random stream of the run", lo=0, hi=SEED_MAX)

    def validate(self) -> None:
        if not self.c_sweep:
            raise ParameterError(f"{self.where('c_sweep')} is empty; give at least one c, "
                                 f"e.g. [0.1, 0.2]")
        if self.rate * self.dt >= 1:
            raise ParameterError(f"{self.where('rate')} x {self.where('dt')} = "
                                 f"{self.rate * self.dt:g} must be below 1 (a spike "
                                 f"probability per step); lower rate or dt")
        for name in ("presentation", "gap", "record_interval"):
            if getattr(self, name) < self.dt:
                raise ParameterError(f"{self.where(name)} = {getattr(self, name):g} s is "
                                     f"shorter than dt = {self.dt:g} s; lengthen it")
        if self.dT_pot > self.dT_dep:
            raise ParameterError(f"{self.where('dT_pot')} = {self.dT_pot:g} s exceeds "
                                 f"dT_dep = {self.dT_dep:g} s; the potentiation window must "
                                 f"not exceed the depression window")
        if max(self.patterns, 1) * self.pattern_inputs >= self.inputs:
            raise ParameterError(f"{self.where('pattern_inputs')} = {self.pattern_inputs} x "
                                 f"{max(self.patterns, 1)} pattern(s) leaves no noise input "
                                 f"of {self.inputs}; raise inputs or lower pattern_inputs")
        from ...devices.presets import get_preset

        p = get_preset(self.preset)
        if not p.reset_mean < self.g_threshold <= p.g_max:
            raise ParameterError(f"{self.where('g_threshold')} = {self.g_threshold:g} S must "
                                 f"lie between the preset's RESET level {p.reset_mean:g} S "
                                 f"and g_max {p.g_max:g} S")

    def sweep(self) -> list[float]:
        """The correlations of the single-neuron runs: ``c_sweep`` and ``c``, sorted."""
        return sorted(set(self.c_sweep) | {self.c})

    def _steps(self) -> list[tuple[int, int]]:
        """(steps, neurons) of every run."""
        test = self.test_time
        runs = [(round((self.learn_time + test) / self.dt), 1)] * \
            (len(self.sweep()) * (1 + len(self.drive_sweep)))
        if self.patterns:
            runs.append((round((self.wta_learn_time + test) / self.dt), self.patterns))
        return runs

    def memory_needs(self) -> list:
        """The spike trains of the longest run as they are drawn (uniforms and
        probabilities, float64) and the recorded weights."""
        steps = max(s for s, _ in self._steps())
        rec = steps * self.dt / self.record_interval
        return [MemoryNeed(24.0 * steps * self.inputs,
                           {"inputs": self.inputs, "learn_time": self.learn_time,
                            "dt": self.dt}, "the input spike trains of one run"),
                MemoryNeed(16.0 * rec * self.inputs * max(self.patterns, 1),
                           {"record_interval": self.record_interval},
                           "the recorded weights")]

    def run_estimate(self) -> tuple[str, float]:
        """The size of the run and a rough time (s)."""
        runs = self._steps()
        sec = sum(s * (_S_PER_STEP + n * _S_PER_STEP_NEURON) * self.inputs / 100
                  for s, n in runs)
        return ((f"{len(self.sweep())} single-neuron runs and "
                f"{'one' if self.patterns else 'no'} winner-take-all run, {self.inputs} "
                f"inputs, {sum(s for s, _ in runs)} steps in all"), 3.0 + sec)


def experiment(cfg: PatternDetectionConfig, c: float, patterns: int, learn_time: float,
               stream) -> dict:
    """One run: ``patterns`` patterns (one neuron each; 1: the single neuron) at
    correlation ``c``, learning then the frozen test. ``stream`` names the run's random
    streams (``("single", i)``, ``("wta",)``).

    Returns the scores (:func:`._pattern_inputs.score_spikes`), the assignment, the weights
    (``w``: records, inputs, neurons), the mean weights per neuron of each pattern's inputs
    and of the noise inputs (``mean_w``: records, neurons, patterns + 1) and the spikes.
    """
    from ...random import int_seed, rng
    from ..computational_memory._correlation_kernels import roc_auc
    from . import _pattern_inputs as PI
    from ._pattern_net import simulate

    dt = cfg.dt
    learn, test = round(learn_time / dt), round(cfg.test_time / dt)
    gen = rng(cfg.seed, "inputs", *stream)
    members = np.full(cfg.inputs, -1, dtype=np.int64)
    perm = gen.permutation(cfg.inputs)
    for m in range(patterns):
        members[perm[m * cfg.pattern_inputs:(m + 1) * cfg.pattern_inputs]] = m
    shown = PI.schedule(learn + test, round(cfg.presentation / dt), round(cfg.gap / dt),
                        patterns, gen)
    spikes = PI.correlated_spikes(shown, members, cfg.rate * dt, c, gen)
    r = simulate(spikes, learn_steps=learn, dt=dt, neurons=patterns, preset=cfg.preset,
                 g_threshold=cfg.g_threshold, w_scale=1.0 / cfg.g_unit,
                 drive_threshold=cfg.drive_threshold, dT_pot=cfg.dT_pot, dT_dep=cfg.dT_dep,
                 p_dep=cfg.p_dep, refresh=None if cfg.refresh == "none" else cfg.refresh,
                 initial_pulses=cfg.initial_pulses,
                 record_every=max(1, round(cfg.record_interval / dt)),
                 brian_seed=int_seed(cfg.seed, "brian", *stream), seed=cfg.seed)
    w = (r["g_plus"] - r["g_minus"]) / cfg.g_unit  # programmed weights, relative amplitude
    groups = [members == m for m in range(patterns)] + [members < 0]
    mean_w = np.stack([w[:, g, :].mean(axis=1) for g in groups], axis=-1)
    final = w[-1]
    assignment = np.full(patterns, -1, dtype=np.int64)
    auc = np.zeros(patterns)
    for j in range(patterns):  # each neuron to the pattern of its largest mean weight
        assignment[j] = int(np.argmax(mean_w[-1, j, :patterns]))
        auc[j] = roc_auc(final[:, j], members == assignment[j])
    st, sn = r["spike_step"], r["spike_neuron"]
    t = st >= learn
    sc = PI.score_spikes(st[t] - learn, sn[t], shown[learn:], assignment, GRACE_STEPS)
    return {**sc, "latency": sc["latency"] * dt, "assignment": assignment, "auc": auc,
            "w": w, "mean_w": mean_w, "members": members, "time": r["record_step"] * dt,
            "spike_time": st * dt, "spike_neuron": sn, "learn_time": learn * dt,
            "false_alarm_rate": sc["false_alarms"] / (sc["gap_steps"] * dt)
            if sc["gap_steps"] else float("nan"),
            "neuron_resets": int(r["neuron_resets"].sum()),
            "neuron_set_pulses": int(r["neuron_set_pulses"].sum())}


def run(config: PatternDetectionConfig, out, *, resume: bool = False,
        progress: bool = True) -> Path:
    """Run the sweep of the single neuron and the winner-take-all run; write one
    ``pattern_detection`` HDF5 file."""
    import brian2
    from tqdm import tqdm

    from ._pattern_io import write_results

    if resume:
        refuse_resume("pattern-detection", "its runs take seconds to minutes")
    cfg = config
    # expected here: additive synaptic updates flagged as order-dependent, and the one-to-one
    # drive pathway run as a Python loop by the numpy target
    brian2.BrianLogger.suppress_hierarchy("brian2.codegen.generators")
    t0 = time.perf_counter()
    cs = cfg.sweep()
    single = []
    for c in tqdm(cs, desc="single neuron, c sweep", disable=not progress):
        single.append(experiment(cfg, c, 1, cfg.learn_time, ("single", f"c={c!r}")))
    drive = {}  # the opt-in sweep of the assumed drive threshold: the c sweep at each
    for d in tqdm(cfg.drive_sweep, desc="drive-threshold sweep", disable=not progress):
        cd = dataclasses.replace(cfg, drive_threshold=d)
        drive[d] = [experiment(cd, c, 1, cfg.learn_time, ("drive", f"d={d!r}", f"c={c!r}"))
                    for c in cs]
    wta = experiment(cfg, cfg.wta_c, cfg.patterns, cfg.wta_learn_time, ("wta",)) \
        if cfg.patterns else None
    return write_results(cfg, out, cs, single, wta, time.perf_counter() - t0, drive)


def summary(path) -> str:
    """Headline lines read from the file."""
    from ._pattern_io import summary_lines

    return summary_lines(path)


def figure(path, png) -> Path:
    """The run's figure from the file alone (:func:`._pattern_io.draw`)."""
    from ._pattern_io import draw

    return draw(path, png)


WORKLOAD = Workload(
    name="pattern-detection", kind="pattern_detection", config=PatternDetectionConfig,
    run=run, summary=summary, figure=figure,
    description="all-PCM spatio-temporal pattern detection: a phase-change neuron with PCM "
                "synapses and STDP (Tuma 2016), and several with winner-take-all",
    default_out="pattern_detection.h5",
    smoke=("inputs=30", "pattern_inputs=8", "learn_time=2*second", "test_time=1*second",
           "c_sweep=[0.4]", "c=0.4", "patterns=2", "wta_learn_time=2*second"))
