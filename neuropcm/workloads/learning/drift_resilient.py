"""Drift-resilient MLP inference on PCM (``neuropcm run drift-resilient``; seed 2,
Muñoz-Martín et al. 2021, physics.md section 6).

A 784-H-10 sigmoid MLP (biases kept as one more word line) is trained in float
(:func:`~neuropcm.workloads.learning._mlp.train_float`, the software reference) and mapped with
positive-only weights, dummy lines, a 6-bit unary hidden code and the LRS reference
column's factor K (:mod:`~neuropcm.workloads.learning._drift_network`). Measured on the test set,
Monte Carlo over device instances (instance ``j`` from ``int_seed(seed, "devices", j)``):

* **drift** (Fig. 8): ``weight_bits``-bit digital weights on binary devices, accuracy from
  ``t0`` to ``t_max t0`` (log-spaced ``time_points``; time ``T t0`` is a device age of
  ``(T - 1) t0``, so the drift factor is ``T^-nu``), without compensation (dummy lines
  only) and with K;
* **weight bits** (Fig. 7) and **ADC bits** (Fig. 4b): accuracy at t0 and at ``t_max t0``
  (K compensated) for each value, ``sweep_instances`` instances; per weight bits also
  the throughput model's GOPS, GOPS/W and TOPS/mm^2 (Fig. 9; ``results/bits/ops_*``,
  the assumed area model of :func:`~neuropcm.workloads.learning._throughput.area`);
* **the other ADC placement**: the network with ``adc_mode`` "line" (the paper's TIA ->
  ADC -> DSP) when the run's is "neuron" and vice versa, accuracy and throughput
  (``results/other_adc``);
* **analog baseline** (Fig. 6): ``levels`` conductance levels per device (``offset``
  mapping, ``joshi2020``: state-dependent drift) and the same with one drift exponent
  for every state ("ideal drift", Fig. 6a), over the same times.

Headlines (``/results`` attributes): ``accuracy_t0`` and ``accuracy_final`` (the
drift run with K, mean over instances) and ``software_accuracy`` (float network); seed 2
reports 97.1 %, 96.8 % and 97.4 % (Table I). K corrects the mean LRS drift only: the
device-to-device spread of the drift exponent (``binary`` preset: 8 % of the mean, an
assumption) spreads the weights by ``sigma_nu ln T`` (3 % at 1e6 t0), which K cannot undo;
``device_overrides = {nu_d = 0.0, nu_c = 0.0}`` removes that spread, larger values show
what it costs; ``nu_spread_sweep`` sweeps it. ``/results/counters`` holds the summed
crossbar counters of one pass of the test set at t0 (instance 0), from which the
throughput model (:mod:`~neuropcm.workloads.learning._throughput`) gives GOPS and GOPS/W;
``/results/energy`` gives GOPS/W for each energy per read of ``e_read_sweep`` and ADC
energy of ``adc_fom_sweep`` (the devices' 0.1 pJ per read is assumed and decides the
figure), counting every device read as two operations or only reads of non-zero inputs
(a word line at 0 V does no multiply; ~19 % of the reads on MNIST), and for ohmic reads
``(x V_read)^2 G t`` at the programmed conductances over one clock cycle.

Options of the mapping: ``grid`` (``"zero"``, the crossbar's grid holding 0, one-signed
at 1-2 bits and 2-4 analog levels; ``"midrise"``, both signs, one more dummy line; see
:func:`~neuropcm.workloads.learning._drift_network.quantise`) and ``lrs_target`` (the LRS
below g_max, so its programming spread is not truncated at g_max). Opt-in sweeps
(:mod:`~neuropcm.workloads.learning._drift_sweeps`): wire resistance, stuck devices, the
drift-exponent spread, the one-layer network's ADC bits (Fig. 4a), and the LRS programming
conditions (Fig. 8c-e: ``lrs_sweep``, :mod:`~neuropcm.workloads.learning._drift_lrs`). With a
preset that declares its LRS (``munoz2021_iset200``/``450``, assumed values) the digital
weights' LRS is programmed to the preset's LRS mean.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, option
from ...devices.presets import preset_names
from ...errors import ParameterError
from ...random import int_seed
from .. import SEED_MAX, MemoryNeed, Workload, crossbar_bytes, refuse_resume
from . import _drift_lrs as lrs
from . import _drift_sweeps as sw
from ._drift_efficiency import write_efficiency
from ._drift_report import figure, summary
from ._mlp import check_mnist_dir
from ._throughput import UNITS as THROUGHPUT_UNITS
from ._throughput import (
    ThroughputModel,
    throughput,
)

#: Compensations of every time curve: "none" = dummy lines only, "lrs" = with K.
COMPENSATIONS = ("none", "lrs")
#: Analog variants: state-dependent drift (the preset) and one drift exponent for all
#: states (:data:`~neuropcm.workloads.learning._drift_network.IDEAL_DRIFT`).
ANALOG = ("state", "ideal")


def programmed_presets() -> tuple[str, ...]:
    """Presets of the programmed-state (inference) model, which the mappings need: a filter
    over the preset registry, read when a config is checked."""
    return preset_names("programmed")


@dataclass(frozen=True)
class DriftResilientConfig(Config):
    """Settings of the drift-resilient MLP experiment."""

    dataset: str = option("mnist", "dataset: MNIST or rand-MNIST (rand_fraction of the pixels "
                          "of every image random, train and test)", choices=("mnist", "rand-mnist"))
    mnist_dir: str | None = option(None, "folder of IDX files (Fashion-MNIST or any MNIST-format "
                                   "set; default: the offline MNIST cache)")
    rand_fraction: float = option(0.1, "fraction of random pixels of rand-MNIST", lo=0.0, hi=1.0)
    train: int = option(60_000, "training examples (the first ones)", lo=1, hi=60_000)
    test: int = option(10_000, "test examples (the first ones)", lo=1, hi=10_000)
    calibration: int = option(1000, "training examples setting the ADC full scales", lo=1,
                              hi=60_000)
    hidden: int = option(120, "hidden units (at most 4096, 34 times the paper's 120)", lo=1,
                         hi=4096)
    epochs: int = option(3, "float training epochs", lo=1, hi=1000)
    lr: float = option(0.5, "float training learning rate (at most 10: sigmoid SGD diverges "
                       "far below)", lo=0.0, lo_open=True, hi=10.0)
    batch: int = option(10, "float training minibatch (at most train)", lo=1, hi=60_000)
    weight_bits: int = option(4, "bits per digital weight of the drift run", lo=1, hi=6)
    adc_bits: int = option(6, "ADC resolution of the drift, weight-bits and analog runs", lo=1,
                           hi=16)
    adc_mode: str = option("neuron", "ADC per neuron after the differential shift-and-add, or "
                           "per crossbar line", choices=("neuron", "line"))
    bits_sweep: tuple[int, ...] = option([1, 2, 3, 4, 5, 6], "weight bits of the Fig. 7 sweep",
                                         lo=1, hi=6)
    adc_sweep: tuple[int, ...] = option([3, 4, 5, 6, 7, 8, 10], "ADC bits of the Fig. 4 sweep",
                                        lo=1, hi=16)
    levels_sweep: tuple[int, ...] = option([2, 4, 8, 16, 32, 64], "levels per analog device "
                                           "of the Fig. 6 baseline", lo=2, hi=256)
    t_max: float = option(1e6, "last read time, in units of t0 (at most 1e7: about 6 years "
                          "at the binary preset's t0 = 20 s)", lo=1.0, lo_open=True, hi=1e7)
    time_points: int = option(7, "read times from t0 to t_max t0 (log-spaced)", lo=2, hi=100)
    instances: int = option(10, "device instances of the drift run (Monte Carlo)", lo=2,
                            hi=100)
    sweep_instances: int = option(3, "device instances of each sweep point", lo=1, hi=100)
    preset: str = option("binary", "device preset of the digital weights",
                         choices=programmed_presets)
    analog_preset: str = option("joshi2020", "device preset of the analog baseline",
                                choices=programmed_presets)
    device_overrides: dict | None = option(None, "device parameter overrides (SI) of the "
                                           "digital preset, e.g. {'nu_std_max': 0.0}")
    wire_sweep: tuple[float, ...] = option([], "wire resistances per cell segment (rows and "
                                           "columns) of the IR-drop sweep (strictly "
                                           "increasing; empty: no sweep). Assumed range, as "
                                           "mvm-precision's: ~1-10 ohm per cell segment in "
                                           "published 1T1R arrays, not sourced", unit="ohm",
                                           lo=0.0, hi=sw.WIRE_R_MAX)
    stuck_sweep: tuple[float, ...] = option([], "fractions of devices stuck at g_min, and "
                                            "separately at g_max, of the fault sweep "
                                            "(strictly increasing; empty: no sweep)", lo=0.0,
                                            hi=sw.STUCK_MAX)
    one_layer_adc_sweep: tuple[int, ...] = option([], "ADC bits of the one-layer network's "
                                                  "sweep (Fig. 4a; empty: not run)", lo=1,
                                                  hi=16)
    nu_spread_sweep: tuple[float, ...] = option([], "drift-exponent spreads (std / mean; the "
                                                "binary preset assumes 0.08) of the spread "
                                                "sweep (strictly increasing; empty: no sweep)",
                                                lo=0.0, hi=sw.SPREAD_MAX)
    lrs_sweep: tuple[float, ...] = option([], "LRS means / g_max (the full-SET level) of the "
                                          "LRS-condition sweep, Fig. 8c-e: accuracy against "
                                          "time for each and each of lrs_spreads, and for "
                                          "the I_SET presets (strictly increasing; empty: no "
                                          "sweep)", lo=lrs.FRACTION_MIN, hi=1.0)
    lrs_spreads: tuple[float, ...] = option([0.05, 0.1], "relative LRS spreads (std / mean) "
                                            "of the LRS-condition sweep (strictly "
                                            "increasing)", lo=0.0,
                                            hi=lrs.SPREAD_MAX)
    grid: str = option("zero", "quantisation grid of the weights: 'zero' holds 0 (the "
                       "crossbar's; one-signed weights at 1-2 bits and 2-4 analog levels), "
                       "'midrise' puts each weight at the centre of one of 2^bits cells over "
                       "[W_min, W_max] (both signs at 1 bit; one more dummy line)",
                       choices=("zero", "midrise"))
    lrs_target: float = option(1.0, "LRS programming target of the digital weights as a "
                               "fraction of g_max (1: at g_max, where programming saturates, "
                               "so the binary preset's LRS is min(N(g_max, (0.05 g_max)^2), "
                               "g_max) and half its devices sit at g_max; 1/(1 + 4 * 0.05) = "
                               "0.833 keeps 4 sigma of the spread below it)", lo=0.1, hi=1.0)
    e_read_sweep: tuple[float, ...] = option([1e-14, 3e-14, 1e-13, 3e-13, 1e-12],
                                             "energies per device read for the GOPS/W "
                                             "table (the presets' e_read 0.1 pJ is assumed)",
                                             unit="J", lo=0.0, lo_open=True, hi=1e-9)
    adc_fom_sweep: tuple[float, ...] = option([5e-15, 5e-14, 5e-13], "ADC energies per "
                                              "conversion step for the GOPS/W table",
                                              unit="J", lo=0.0, hi=1e-9)
    v_read: float = option(0.2, "read voltage of a word line at input 1 for the ohmic read "
                           "energy V^2 G t over one clock cycle (assumed, the e_read "
                           "presets' 0.2 V)", unit="V", lo=0.0, lo_open=True, hi=5.0)
    throughput: ThroughputModel = option(ThroughputModel, "assumptions of the throughput "
                                         "and energy model (clock, ADCs, ADC energy)")
    seed: int = option(0, "seed of every random stream of the run", lo=0, hi=SEED_MAX)

    def validate(self) -> None:
        if self.batch > self.train:
            raise ParameterError(f"{self.where('batch')} = {self.batch} is more than the "
                                 f"{self.train} training examples; give batch <= train")
        for name in ("bits_sweep", "adc_sweep", "levels_sweep", "e_read_sweep",
                     "adc_fom_sweep"):
            v = getattr(self, name)
            if not v or list(v) != sorted(set(v)):
                raise ParameterError(f"{name} = {list(v)} must be a non-empty, strictly "
                                     f"increasing list")
        if self.device_overrides:
            from ...devices import get_preset

            try:
                get_preset(self.preset, **self.device_overrides)
            except ParameterError as e:
                raise ParameterError(f"device_overrides = {self.device_overrides!r}: {e}") \
                    from None
        sw.check(self)
        if self.nu_spread_sweep:
            sw.spread_overrides(self.preset, 0.0, self.device_overrides)
        check_mnist_dir(self.mnist_dir)

    def to_dict(self) -> dict:
        """As :meth:`Config.to_dict`, without the empty opt-in sweeps (files without them
        stay those of before they existed)."""
        d = super().to_dict()
        for name in sw.FIELDS:
            if not getattr(self, name):
                del d[name]
        if not self.lrs_sweep:
            del d["lrs_spreads"]
        return d

    def _passes(self) -> int:
        """Passes of the test set through a mapped network (the run's progress steps)."""
        S, T = self.sweep_instances, self.time_points
        return (self.instances * T + S * 2 * (len(self.bits_sweep) + len(self.adc_sweep))
                + S * len(ANALOG) * len(self.levels_sweep) * T + 2 * S + 2 * sw.points(self)
                + lrs.passes(self))

    def memory_needs(self) -> list:
        """The images as float columns, two mapped networks at once (bit-sliced: one device
        per bit and weight, plus the dummy lines), and one pass's intermediate arrays (the
        hidden layer and its 6-line unary code per test image)."""
        h = self.hidden
        weights = h * 785 + 10 * 6 * (h + 1)
        bits = max(self.weight_bits, *self.bits_sweep, 1)
        return [MemoryNeed(8 * 784 * (2 * max(self.train, self.calibration) + 3 * self.test),
                           {"train": self.train, "test": self.test}, "the images"),
                MemoryNeed(2 * crossbar_bytes(weights, weights * (bits + 1)),
                           {"hidden": h}, f"two mapped networks of {weights} weights"),
                MemoryNeed(self.test * (140 * h + 785 * 16) + 8 * 6 * weights,
                           {"hidden": h, "test": self.test},
                           "the hidden activations of the test set")]

    def run_estimate(self) -> tuple[str, float]:
        """The size of the run and a rough time (s): float training (~1.5 ns per
        multiply-add, three per weight and example), then per network mapped ~0.5 us per
        device and per pass of the test set ~0.8 ns per weight and image (measured at
        hidden = 20 and 120; the defaults take about 6 minutes). A pass with wire
        resistance solves every bit plane's nodal network: ~0.1 s per hidden unit and
        bit (measured at hidden = 20, 4 bits, on a shared 2-core machine)."""
        h = self.hidden
        weights = h * 785 + 10 * 6 * (h + 1)
        nets = (self.instances + sw.points(self) + lrs.networks(self) + self.sweep_instances * (
            1 + len(self.bits_sweep) + len(self.adc_sweep) + len(ANALOG) * len(self.levels_sweep)))
        seconds = (2.0 + 3 * 1.5e-9 * self.epochs * self.train * weights
                   + nets * weights * (self.weight_bits + 1) * 5e-7
                   + self._passes() * self.test * weights * 8e-10
                   + 2 * self.sweep_instances * len(self.wire_sweep) * 0.1 * h
                   * self.weight_bits)
        return (f"784-{h}-10 MLP, {self.epochs} epochs of {self.train}, {nets} mapped "
                f"networks, {self._passes()} passes of {self.test} test images", seconds)


def _data(c: DriftResilientConfig):
    """Training, calibration and test columns (784, N) and labels, rand-MNIST applied."""
    from ._mlp import load_columns

    kw = dict(seed=c.seed, dataset=c.dataset, mnist_dir=c.mnist_dir,
              rand_fraction=c.rand_fraction)
    name = "train" if c.train >= c.calibration else "calibration"
    Xtr, ytr = load_columns("train", max(c.train, c.calibration), name=name, **kw)
    Xte, yte = load_columns("test", c.test, name="test", **kw)
    return Xtr[:, :c.train], ytr[:c.train], Xtr[:, :c.calibration], Xte, yte


def run(config: DriftResilientConfig, out, *, resume: bool = False,
        progress: bool = True) -> Path:
    """Train, map and measure; write one ``drift_resilient`` HDF5 file.

    The arguments and return value are those of every workload's ``run`` (see
    :class:`~neuropcm.workloads.Workload`); ``resume`` is refused (no checkpoint).
    """
    from tqdm import tqdm

    from . import _drift_network as dn
    from ._mlp import float_ops, predict, train_float, with_ones

    if resume:
        refuse_resume("drift-resilient", "a default run takes a few minutes")
    c = config
    wall = time.perf_counter()
    Xtr, ytr, Xcal, Xte, yte = _data(c)
    from ...devices import get_preset

    t0 = float(get_preset(c.preset, **(c.device_overrides or {})).t0)
    T = np.logspace(0.0, np.log10(c.t_max), c.time_points)
    ages = (T - 1.0) * t0
    X1 = with_ones(Xte)
    S = c.sweep_instances
    bar = tqdm(total=c._passes(), desc="drift-resilient", unit="pass", disable=not progress)

    bar.set_postfix_str("float training")
    W = train_float(Xtr, ytr, (Xtr.shape[0], c.hidden, 10), seed=c.seed, epochs=c.epochs,
                    lr=c.lr, batch=c.batch, path=("drift-resilient", "mlp"))
    software = float((predict(float_ops(W)[0], Xte) == yte).mean())

    def q(levels):
        return dn.quantise(W[0], levels, c.grid)[0], dn.quantise(W[1], levels, c.grid)[0]

    def acc(p):
        return float((p == yte).mean())

    g_lrs = lrs.target(c)  # None: the crossbar's default, g_max

    def net(levels, j, adc_bits, weights="digital", preset=c.preset, overrides=c.device_overrides,
            options=None, adc_mode=c.adc_mode):
        if weights == "digital" and g_lrs is not None:
            options = {"g_target": g_lrs, **(options or {})}
        return dn.MappedMLP(*q(levels), weights=weights, levels=levels, adc_bits=adc_bits,
                            calibration=Xcal, preset=preset, adc_mode=adc_mode,
                            seed=int_seed(c.seed, "devices", j), device_overrides=overrides,
                            crossbar_options=options, grid=c.grid)

    def counted(n):  # one pass at t0 and the counters it accrued
        before = n.totals()
        n.count_inputs = True
        p = n.predict(X1)
        n.count_inputs = False
        after = n.totals()
        return p, {**{key: after[key] - before[key] for key in after},
                   "nonzero_reads": n.nonzero_reads, "x2g": n.x2g,
                   "devices": sum(int(np.prod(a.shape)) for xb in n.crossbars
                                  for a in xb.arrays.values())}

    def ends(n, counts=None):  # accuracy at t0 and at t_max t0, K compensated
        if counts is None:
            a0 = acc(n.predict(X1)["lrs"])
        else:  # the t0 pass's counters appended to counts
            p, cnt = counted(n)
            counts.append(cnt)
            a0 = acc(p["lrs"])
        bar.update()
        a1 = acc(n.advance_to(ages[-1]).predict(X1)["lrs"])
        bar.update()
        return a0, a1

    # drift run (Fig. 8)
    drift = {k: np.empty((len(T), c.instances)) for k in COMPENSATIONS}
    counters = None
    pass_s = []
    for j in range(c.instances):
        n = net(2 ** c.weight_bits, j, c.adc_bits)
        for k, age in enumerate(ages):
            tp = time.perf_counter()
            if j == 0 and k == 0:
                p, counters = counted(n.advance_to(age))
            else:
                p = n.advance_to(age).predict(X1)
            pass_s.append(time.perf_counter() - tp)
            for name in COMPENSATIONS:
                drift[name][k, j] = acc(p[name])
            bar.update()

    # weight bits (Fig. 7) and ADC bits (Fig. 4)
    sweeps, bits_counts = {}, []  # counters of instance 0 per weight bits (Fig. 9)
    for name, values in (("bits", c.bits_sweep), ("adc", c.adc_sweep)):
        a = np.empty((2, len(values), S))
        for i, v in enumerate(values):
            bar.set_postfix_str(f"{name} {v}")
            for j in range(S):
                n = net(2 ** v, j, c.adc_bits) if name == "bits" else \
                    net(2 ** c.weight_bits, j, v)
                a[:, i, j] = ends(n, bits_counts if name == "bits" and j == 0 else None)
        sweeps[name] = a
    quantised = np.array([acc(dn.predict_float(*q(2 ** b), Xte)) for b in c.bits_sweep])

    # analog multilevel baseline (Fig. 6)
    analog = {(v, k): np.empty((len(c.levels_sweep), len(T), S))
              for v in ANALOG for k in COMPENSATIONS}
    for v in ANALOG:
        for i, L in enumerate(c.levels_sweep):
            bar.set_postfix_str(f"analog {v} {L} levels")
            for j in range(S):
                n = net(L, j, c.adc_bits, weights="analog", preset=c.analog_preset,
                        overrides=dn.IDEAL_DRIFT if v == "ideal" else None)
                for k, age in enumerate(ages):
                    p = n.advance_to(age).predict(X1)
                    for name in COMPENSATIONS:
                        analog[v, name][i, k, j] = acc(p[name])
                    bar.update()
    analog_q = np.array([acc(dn.predict_float(*q(L), Xte)) for L in c.levels_sweep])

    # the other ADC placement (the paper's TIA -> ADC per line beside one ADC per neuron)
    other = "line" if c.adc_mode == "neuron" else "neuron"
    bar.set_postfix_str(f"{other} ADCs")
    other_acc, other_counters = np.empty((2, S)), None
    for j in range(S):
        n = net(2 ** c.weight_bits, j, c.adc_bits, adc_mode=other)
        if j == 0:
            p, other_counters = counted(n)
        else:
            p = n.predict(X1)
        other_acc[0, j] = acc(p["lrs"])
        bar.update()
        other_acc[1, j] = acc(n.advance_to(ages[-1]).predict(X1)["lrs"])
        bar.update()

    # the opt-in sweeps: wire resistance, stuck devices, drift-exponent spread, LRS
    def sweep_net(j, overrides=c.device_overrides, options=None, preset=c.preset):
        return net(2 ** c.weight_bits, j, c.adc_bits, preset=preset, overrides=overrides,
                   options=options)

    def curve(n):  # accuracy with K at every read time (LRS conditions)
        out = [acc(n.advance_to(age).predict(X1)["lrs"]) for age in ages]
        bar.update(len(ages))
        return out

    extra = sw.run(c, sweep_net, ends, bar)
    if c.lrs_sweep:
        extra.update({f"lrs/{k}": v for k, v in lrs.run(c, sweep_net, curve, bar).items()})
    if c.one_layer_adc_sweep:
        extra.update(sw.one_layer(c, (Xtr, ytr, Xcal, Xte, yte), ends, bar))
    bar.close()

    from ...io import atomic_h5, write_config, write_dataset

    out = Path(out)
    with atomic_h5(out, kind=WORKLOAD.kind) as f:
        write_config(f, c.to_dict())
        r = f.create_group("results")
        write_dataset(r, "time", T * t0, "s", note="T t0: the devices' age is (T - 1) t0")
        write_dataset(r, "time_over_t0", T, "1")
        g = r.create_group("weights")
        write_dataset(g, "W1", W[0], "1")
        write_dataset(g, "W2", W[1], "1")
        g = r.create_group("drift")
        for name in COMPENSATIONS:
            write_dataset(g, f"accuracy_{name}", drift[name], "1", dims="time, instances")
        for name, values in (("bits", c.bits_sweep), ("adc", c.adc_sweep)):
            g = r.create_group(name)
            write_dataset(g, "bits", np.array(values), "count")
            write_dataset(g, "accuracy_t0", sweeps[name][0], "1", dims=f"{name}, instances")
            write_dataset(g, "accuracy_final", sweeps[name][1], "1", dims=f"{name}, instances")
        write_dataset(r["bits"], "quantised_accuracy", quantised, "1")
        g = r.create_group("analog")
        write_dataset(g, "levels", np.array(c.levels_sweep), "count")
        write_dataset(g, "quantised_accuracy", analog_q, "1")
        for (v, name), a in analog.items():
            write_dataset(g, f"accuracy_{v}_{name}", a, "1", dims="levels, time, instances")
        sw.write(r, extra)
        g = r.create_group("counters")
        ops = 2 * sum(w.size for w in W) * Xte.shape[1]
        for key, val, unit in (("n_read", counters["n_read"], "count"),
                               ("adc_conversions", counters["adc_conversions"], "count"),
                               ("adc_saturated", counters["adc_saturated"], "count"),
                               ("dac_conversions", counters["dac_conversions"], "count"),
                               ("energy", counters["energy"], "J"),
                               ("n_mvm", counters["n_mvm"], "count"),
                               ("images", Xte.shape[1], "count"), ("mvm_steps", 2, "count"),
                               ("ops", ops, "count")):
            write_dataset(g, key, val, unit)
        # the model, for the arrays of the mapped network (one ADC each unless configured)
        tp = throughput(counters, images=int(Xte.shape[1]), adc_bits=c.adc_bits, arrays=2,
                        model=c.throughput, weights=sum(w.size for w in W))
        g = r.create_group("throughput")
        for key, val in tp.items():
            write_dataset(g, key, val, THROUGHPUT_UNITS[key])
        write_efficiency(r, c, counters, other_counters, other_acc, bits_counts,
                         images=int(Xte.shape[1]))
        r.attrs["ops_per_second"] = tp["ops_per_second"]
        r.attrs["ops_per_joule"] = tp["ops_per_joule"]
        d = drift["lrs"]
        r.attrs["accuracy_t0"] = float(d[0].mean())
        r.attrs["accuracy_final"] = float(d[-1].mean())
        r.attrs["accuracy_t0_std"] = float(d[0].std(ddof=1))
        r.attrs["accuracy_final_std"] = float(d[-1].std(ddof=1))
        r.attrs["accuracy_final_none"] = float(drift["none"][-1].mean())
        r.attrs["software_accuracy"] = software
        r.attrs["quantised_accuracy"] = float(
            acc(dn.predict_float(*q(2 ** c.weight_bits), Xte)))
        r.attrs["weight_bits"] = c.weight_bits
        r.attrs["adc_bits"] = c.adc_bits
        r.attrs["instances"] = c.instances
        r.attrs["test_examples"] = int(Xte.shape[1])
        r.attrs["t0"] = t0
        r.attrs["pass_s"] = float(np.median(pass_s))
        r.attrs["wall_s"] = time.perf_counter() - wall
    return out


WORKLOAD = Workload(
    name="drift-resilient", kind="drift_resilient", config=DriftResilientConfig, run=run,
    summary=summary, figure=figure, default_out="drift_resilient.h5", smoke=('train=600', 'test=200', 'calibration=100', 'hidden=20', 'epochs=1', 'instances=2', 'sweep_instances=1', 'bits_sweep=[2, 4]', 'adc_sweep=[4, 6]', 'levels_sweep=[4, 16]', 'time_points=2'),
    flags={"--mnist-dir": ("mnist_dir", "folder of IDX files (e.g. Fashion-MNIST)")},
    description="drift-resilient MLP inference on PCM (seed 2): digital weights, dummy "
                "lines and the LRS factor K against time; ADC, weight-bit and analog sweeps")
