"""Training a multilayer perceptron whose weights live on PCM crossbars (``neuropcm run
mlp-train``; seed tutorial Fig. 9/10, physics.md section 6).

A ``784-hidden-10`` MLP (sigmoid hidden layers, softmax output, cross-entropy, biases fed
by a constant input row; :mod:`neuropcm.workloads.learning._mlp`), or with ``network =
"burr2015"`` Burr et al.'s ``528-250-125-10`` on images cropped to 24 x 22 pixels, has
every weight layer on a differential PCM crossbar (:class:`~neuropcm.crossbar.Crossbar`,
``mapping="differential"``, preset ``nandakumar2018`` by default, ``device_overrides``
changing its parameters). Forward passes are crossbar reads, the backward pass transposed
reads; weights change only by SET pulses on ``G+`` (increase) or ``G-`` (decrease).
Modes:

* ``in-situ`` (Burr et al., IEEE TED 62, 3498 (2015); tutorial Fig. 10a: 82.9 % test
  after training on 5,000 examples): the crossbar-compatible outer-product rule -- by
  default stochastic pulse coincidence (``rule = "stochastic"``: row and column pulse
  streams of ``pulse_length`` slots, expected count ``lr d_i x_j / epsilon``); or
  ``rule = "deterministic"``, ``rint(lr d_i x_j / epsilon)`` pulses (refused before
  training when it rounds every update of the first examples to zero pulses, and a warning
  when it delivers less than half of the requested pulses).
* ``mixed-precision`` (Nandakumar et al., ISCAS 2018 / Front. Neurosci. 2020: 97.40 %
  simulated, 97.73 % hardware): updates accumulate in a float ``chi`` per weight and
  ``trunc(chi / epsilon)`` whole pulses are transferred (``|chi| >= epsilon``).
* ``3t1c`` (Ambrogio et al., Nature 558, 60 (2018); tutorial Fig. 10b): a volatile,
  linear, symmetric fast weight per synapse (3T1C capacitor) takes the updates in equal
  steps and decays; every ``transfer_every`` examples it is moved into the PCM pair by
  program-and-verify, with polarity inversion (:mod:`~neuropcm.workloads.learning._mlp_fast`).

``devices_per_weight = N`` puts N devices on each side of a weight (Boybat et al., Nat.
Commun. 2018); ``arbitration = "global"`` sends every update to the one device a global
counter selects (advancing after each update), ``round-robin`` spreads the pulses of a
weight over its devices. ``epsilon`` is one mean SET step in weight units (``w_max /
g_target * mean_step / N``). Every ``refresh_every`` examples the pairs near saturation
(:class:`~neuropcm.devices.refresh.ThresholdRefresh` with ``refresh_upper``/``lower``) are
RESET and their difference rewritten open-loop, or by program-and-verify
(``refresh_write = "verify"``). The crossbar clock does not advance during training.

Model selection: the last ``validation`` examples of the training split (disjoint from the
first ``train``) are held out; the epoch with the best validation accuracy is selected and
its test accuracy reported as ``selected_test_accuracy`` beside the final test accuracy
(nothing is chosen on the test set).

References trained on the same examples in the same order from the same initial weights:
``float`` (plain float SGD with the same learning-rate schedule) and, in-situ,
``quantised`` (float weights changed by the same pulse rule and random stream as the
crossbar: what ideal devices give). Random streams (:mod:`neuropcm.random`): initial
weights ``("mlp-train", "init", l)``, example order ``("mlp-train", "order", epoch)``,
crossbar ``l`` seeded ``int_seed(seed, "mlp-train", "crossbar", l)``, rand-MNIST noise
``int_seed(seed, "rand-mnist", split)`` (validation: split ``"validation"``), 3T1C
updates ``(seed, "mlp-train", "fast", l)``.

Measured before the validation split existed (seed 0, MNIST, nandakumar2018 devices,
``validation=0``, best over epochs on the test set -- selection on test images, kept here
as history): mixed-precision, 10 epochs of 60,000: 97.93 % test (float SGD 98.18 %); a
60k PCM epoch took 67-90 s on the 2-core machine. In-situ, 5,000 examples, 4 devices per
side, lr = 0.01, lr_decay = 0.8, 6 epochs: final 85.5 % (seed 0), 86.3 % (seed 1).

Measured with validation selection (2,000 validation and 2,000 test examples, 3 epochs of
5,000 unless stated; final / validation-selected test accuracy, seed 0 unless stated;
issue 20):

* in-situ, defaults (784-250-10, lr 0.02): 60.7 / 68.5 % (same-rule float 82.4 %, float
  SGD 87.5 %). ``network=burr2015``: 51.7 / 50.8 %; with ``refresh_write=verify`` 54.1 /
  60.6 %; without pulse memory (``device_overrides={set_c = "0 uS", set_f = "0 uS"}``)
  72.5 / 70.8 %; all three with lr 0.01, lr_decay 0.8: 75.8 / 75.3 %; refresh thresholds
  0.9 / 0.5: 39.5 / 55.5 %; lr 0.01 alone: 53.5 / 53.5 %. The large, noisy first SET
  pulses after a RESET (pulse memory) cost the most (these figures: 3 epochs, 2,000
  test images, seed 0; scripts/reproduce_mlp_burr2015.py gives both seeds). Without pulse
  memory, with verify refresh, lr 0.01, lr_decay 0.8 and the default 20 epochs on the full
  test set: 85.18 / 84.49 % (seed 0), 83.40 / 83.62 % (seed 1), above Burr's 82.9 %.
  The first 2,000 test images score 4-5 points below the full 10,000.
* multi-PCM, ``arbitration=global``, lr 0.01, lr_decay 0.8 (final %, seeds 0 / 1): N = 1:
  71.4 / 73.0; N = 2: 77.8 / 77.4; N = 4: 82.5 / 79.5; N = 8: 83.7 / 83.1
  (scripts/reproduce_mlp_multi_pcm.py).
* 3t1c, defaults (stochastic rule, 5 epochs of 55,000): 97.45 / 97.61 % (seeds 0 / 1;
  float SGD on the same examples 97.83 / 98.05 %).
* 3t1c, ``rule=deterministic``: 784-250-10, 3 epochs of 55,000, 5,000 validation, 10,000
  test: 95.72, 96.47, 97.31 % per epoch (float SGD 97.56 %; 871 s per epoch under load).
  784-100-10, one epoch of 10,000: 89.20 / 88.70 % (seeds 0 / 1; float SGD 89.20 /
  89.15 %); with ``fast_asymmetry=0.3``: 86.45 / 86.90 % with polarity inversion, 69.30 /
  64.00 % without.

After each epoch a checkpoint is written: one file ``<out>.ckpt.h5``, written atomically,
the crossbars and 3T1C state inside (:mod:`~neuropcm.workloads.learning._mlp_checkpoint`);
``resume=True`` continues exactly; other settings are refused. Ctrl-C or SIGTERM ends the
run with :class:`~neuropcm.errors.RunInterrupted` saying what the checkpoint holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from ...config import Config, option
from ...crossbar.update import ARBITRATIONS
from ...devices.overrides import DeviceOverridesText, overrides_in_si
from ...devices.presets import preset_names
from ...devices.refresh import REFRESH_RULES
from ...errors import ParameterError
from .. import SEED_MAX, MemoryNeed, Workload, crossbar_bytes
from ._mlp import ACTIVATIONS, check_mnist_dir
from ._mlp_results import COUNTERS, KIND, figure, summary, write_results

#: Defaults of the fields left None, per mode (``w_max`` per layer of the 2-layer MLP;
#: ``burr2015``'s 3 layers get :data:`W_MAX_3`). In-situ: Burr 2015's 5,000 examples;
#: its updates SET ~1000 devices per example, so pairs saturate fast and are refreshed
#: often. Mixed-precision: the settings measured to reach the paper's 97.4 %. 3T1C:
#: Ambrogio 2018 trained on the full training set (assumed: mixed-precision's schedule).
MODE_DEFAULTS = {
    "in-situ": {"epochs": 20, "train": 5000, "refresh_every": 50, "lr": 0.02,
                "lr_decay": 1.0, "w_max": (0.5, 1.5)},
    "mixed-precision": {"epochs": 10, "train": 55000, "refresh_every": 500, "lr": 0.05,
                        "lr_decay": 0.8, "w_max": (0.25, 1.0)},
    "3t1c": {"epochs": 5, "train": 55000, "refresh_every": 5000, "lr": 0.05,
             "lr_decay": 0.8, "w_max": (0.25, 1.0)}}
#: Default ``w_max`` of ``burr2015`` (528-250-125-10) per mode (assumed, as the 2-layer
#: ones: about 5x the Glorot range of the first layer).
W_MAX_3 = {"in-situ": (0.5, 1.0, 1.5), "mixed-precision": (0.25, 0.5, 1.0),
           "3t1c": (0.25, 0.5, 1.0)}
#: Burr 2015's crop of the 28 x 28 MNIST images to 528 pixels (22 x 24; which side is 22
#: is not stated: rows 2..25 and columns 3..24, the digits being taller than wide).
CROP = (slice(2, 26), slice(3, 25))


@dataclass(frozen=True)
class MlpTrainConfig(DeviceOverridesText, Config):
    """Settings of an MLP training run on PCM crossbars."""

    mode: str = option("in-situ", "in-situ pulse updates (Burr 2015), mixed-precision chi "
                       "accumulation (Nandakumar 2018) or a 3T1C fast weight with transfer "
                       "to PCM (Ambrogio 2018)", choices=("in-situ", "mixed-precision", "3t1c"))
    network: str = option("mlp", "mlp: 784-hidden-10; burr2015: 528-250-125-10 on 24x22 "
                          "crops (hidden ignored)", choices=("mlp", "burr2015"))
    preset: str = option("nandakumar2018", "device preset of the crossbars",
                         choices=preset_names)
    device_overrides: dict = option({}, "device parameters changed, with units in text, e.g."
                                    " {g_max = \"12 uS\", sigma_step = 0.0}")
    hidden: int = option(250, "hidden neurons (at most 4096, 16 times the paper's 250)", lo=1,
                         hi=4096)
    activation: str = option("sigmoid", "hidden activation", choices=tuple(sorted(ACTIVATIONS)))
    epochs: int | None = option(None, "passes over the training examples (default 20 in-situ,"
                                " 10 mixed-precision, 5 3t1c)", lo=1, hi=1000)
    train: int | None = option(None, "training examples, the first of the training split "
                               "(default 5000 in-situ as Burr 2015, else 55000)",
                               lo=1, hi=60_000)
    validation: int = option(5000, "held-out examples, the last of the training split, that "
                             "select the reported epoch (0: the last epoch)", lo=0, hi=30_000)
    test: int = option(10_000, "test examples, the first of the test split", lo=1,
                       hi=10_000)
    batch: int = option(1, "examples per update (1: per-example SGD, as the papers)", lo=1,
                        hi=60_000)
    lr: float | None = option(None, "learning rate (per example; the loss is the batch mean;"
                              " default 0.02 in-situ, 0.05 otherwise; at most 10)",
                              lo=0.0, lo_open=True, hi=10.0)
    lr_decay: float | None = option(None, "factor on the learning rate after every epoch "
                                    "(epoch e uses lr * lr_decay^e; default 1 in-situ, 0.8 "
                                    "otherwise)", lo=0.0, hi=1.0, lo_open=True)
    rule: str = option("stochastic", "in-situ and 3T1C update rule: stochastic pulse "
                       "coincidence or rint(lr d x / step) steps",
                       choices=("stochastic", "deterministic"))
    pulse_length: int = option(31, "slots of the stochastic pulse streams (BL)", lo=1,
                               hi=1000)
    refresh: str = option("threshold", "refresh rule of the pairs (none: never)",
                          choices=lambda: (*REFRESH_RULES, "none"))
    refresh_every: int | None = option(None, "examples between refreshes (assumed; default "
                                       "50 in-situ, 500 mixed-precision, 5000 3t1c)", lo=1,
                                       hi=1_000_000)
    refresh_upper: float = option(0.75, "refresh a pair when its larger device exceeds this "
                                  "fraction of the SET saturation level ...", lo=0.0, hi=1.0)
    refresh_lower: float = option(0.25, "... and its smaller device this fraction", lo=0.0,
                                  hi=1.0)
    refresh_write: str = option("open-loop", "how a refreshed pair's difference is rewritten:"
                                " open-loop pulse count, or program-and-verify",
                                choices=("open-loop", "verify"))
    w_max: tuple[float, ...] | None = option(None, "weight mapped to g_target, per layer "
                                             "(default [0.5, 1.5] in-situ, [0.25, 1.0] "
                                             "otherwise; at most 100)", lo=0.0,
                                             lo_open=True, hi=100.0)
    g_target: float | None = option(None, "conductance of w_max (default: the crossbar's, "
                                    "0.75 of the SET saturation level for pulsed devices; at "
                                    "most 100 uS)", unit="S", lo=0.0, lo_open=True, hi=1e-4)
    devices_per_weight: int = option(1, "devices per side of each weight (Boybat 2018: N)",
                                     lo=1, hi=64)
    arbitration: str = option("round-robin", "which device of a side an update writes: "
                              "round-robin per pulse, or global (one device per update, "
                              "chosen by a global counter, Boybat 2018)", choices=ARBITRATIONS)
    transfer_every: int = option(1000, "3t1c: examples between transfers of the fast weights "
                                 "to PCM (assumed)", lo=1, hi=1_000_000)
    transfer_threshold: float = option(0.5, "3t1c: transfer only fast weights of at least "
                                       "this fraction of their range (assumed; each transfer"
                                       " costs a programming error)", lo=0.0, hi=1.0)
    fast_range: float = option(0.25, "3t1c: largest fast weight, fraction of the layer's "
                               "w_max (assumed)", lo=0.0, lo_open=True, hi=1.0)
    fast_steps: int = option(256, "3t1c: equal steps from 0 to the largest fast weight "
                             "(assumed)", lo=1, hi=1_000_000)
    fast_tau: float = option(10.0, "3t1c: decay time constant of the fast weight "
                             "(capacitor leak; assumed; at most 1e6 s)", unit="s", lo=0.0,
                             lo_open=True, hi=1e6)
    example_time: float = option(1e-4, "3t1c: time per training example, for the decay "
                                 "(assumed; at most 1 s)", unit="s", lo=0.0, hi=1.0)
    fast_asymmetry: float = option(0.0, "3t1c: charging steps (1 + a) and discharging steps "
                                   "(1 - a) of the step, the asymmetry polarity inversion "
                                   "cancels", lo=-0.9, hi=0.9)
    polarity_inversion: bool = option(True, "3t1c: flip the sign of the fast weight's "
                                      "contribution after every transfer (Ambrogio 2018)")
    dataset: str = option("mnist", "mnist, or rand-mnist (10 % of the pixels of every image "
                          "randomised)", choices=("mnist", "rand-mnist"))
    mnist_dir: str | None = option(None, "folder of MNIST-format IDX files (Fashion-MNIST, "
                                   "...; default: the offline MNIST cache in data/)")
    seed: int = option(0, "seed of every random stream of the run", lo=0, hi=SEED_MAX)

    def validate(self) -> None:
        L = self.n_layers
        if self.w_max is not None and len(self.w_max) != L:
            raise ParameterError(f"w_max = {list(self.w_max)} must give one weight per layer "
                                 f"({L} layers of network {self.network!r}), e.g. "
                                 f"{list(self.resolved('w_max'))}")
        if self.refresh_lower > self.refresh_upper:
            raise ParameterError(f"refresh_lower = {self.refresh_lower!r} must not exceed "
                                 f"refresh_upper = {self.refresh_upper!r}")
        self._check_overrides()
        check_mnist_dir(self.mnist_dir)
        n = self.n_train
        if self.batch > n:
            raise ParameterError(f"batch = {self.batch} is more than the {n} training "
                                 f"examples; give batch <= train")
        if self.validation and n + self.validation > 60_000:
            raise ParameterError(f"train = {n} plus validation = {self.validation} exceed the "
                                 f"60000 examples of the training split; give train + "
                                 f"validation <= 60000 (or validation = 0)")

    def _check_overrides(self) -> None:
        """``device_overrides``: parameters of the preset, stored in SI."""
        out = overrides_in_si(self.preset, self.device_overrides, "device_overrides")
        object.__setattr__(self, "device_overrides", out)

    def resolved(self, name: str):
        """Field ``name``, or its mode's default (:data:`MODE_DEFAULTS`) when None."""
        v = getattr(self, name)
        if v is not None:
            return v
        if name == "w_max" and self.network == "burr2015":
            return W_MAX_3[self.mode]
        return MODE_DEFAULTS[self.mode][name]

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer sizes of the network (inputs first)."""
        return (528, 250, 125, 10) if self.network == "burr2015" else (784, self.hidden, 10)

    @property
    def n_layers(self) -> int:
        """Weight layers (crossbars) of the network."""
        return len(self.sizes) - 1

    @property
    def n_weights(self) -> int:
        """Weights of the network, biases included."""
        s = self.sizes
        return sum(b * (a + 1) for a, b in pairwise(s))

    def memory_needs(self) -> list:
        """The images as float columns, and the crossbars (differential,
        devices_per_weight devices per side) with the float, quantised and update copies."""
        weights = self.n_weights
        devices = 2 * self.devices_per_weight * weights
        n = self.n_train + self.test + self.validation
        return [MemoryNeed(8 * self.sizes[0] * 2 * n,
                           {"train": self.n_train, "test": self.test,
                            "validation": self.validation}, "the images"),
                MemoryNeed(crossbar_bytes(weights, devices) + 8 * 10 * weights,
                           {"hidden": self.hidden, "network": self.network,
                            "devices_per_weight": self.devices_per_weight},
                           f"crossbars of {devices} devices")]

    def run_estimate(self) -> tuple[str, float]:
        """The size of the run and a rough time (s): per weight and example of an epoch
        (training and evaluating the networks) ~7.5 ns mixed-precision (90 s per 60k
        epoch at 250 hidden) and ~13 ns in-situ and 3t1c (38 s per 5k epoch, 4 devices per
        side)."""
        per = 7.5e-9 if self.mode == "mixed-precision" else 1.3e-8
        n = self.n_train + self.test + self.validation
        what = (f"{'-'.join(map(str, self.sizes))} MLP ({self.mode}), {self.n_epochs} epochs "
                f"of {self.n_train} examples, {self.validation} validation, {self.test} test")
        return (what, 5.0 + self.n_epochs * n * self.n_weights * per)

    n_epochs = property(lambda self: self.resolved("epochs"),
                        doc="Epochs the run trains: ``epochs``, or its mode's default "
                            "(20 in-situ, 10 mixed-precision, 5 3t1c) when None.")
    n_train = property(lambda self: self.resolved("train"),
                       doc="Training examples the run uses: ``train``, or its mode's "
                           "default (5000 in-situ, 55000 otherwise) when None.")
    n_refresh_every = property(lambda self: self.resolved("refresh_every"),
                               doc="Examples between refreshes of the PCM network: "
                                   "``refresh_every``, or its mode's default (50 in-situ, "
                                   "500 mixed-precision, 5000 3t1c) when None.")

    @property
    def update_mode(self) -> str:
        """The crossbar's update mode (:meth:`Crossbar.update`)."""
        return "mixed" if self.mode == "mixed-precision" else self.rule

    def refresh_rule(self):
        """The refresh rule object (None: no refresh)."""
        if self.refresh == "none":
            return None
        if self.refresh == "threshold":
            return REFRESH_RULES["threshold"](upper=self.refresh_upper,
                                              lower=self.refresh_lower)
        return REFRESH_RULES[self.refresh]()


def crop(X: np.ndarray) -> np.ndarray:
    """Columns of 28 x 28 images (784, N) cropped to :data:`CROP` (528, N)."""
    return X.reshape(28, 28, -1)[CROP].reshape(-1, X.shape[1])


def load_data(c: MlpTrainConfig):
    """``(X, y, Xt, yt, Xv, yv)``: training, test and validation columns (features, N) in
    [0, 1] and labels (``Xv`` with no columns when ``validation = 0``)."""
    from ._mlp import load_columns, load_validation

    kw = {"seed": c.seed, "dataset": c.dataset, "mnist_dir": c.mnist_dir}
    out = [*load_columns("train", c.n_train, name="train", **kw),
           *load_columns("test", c.test, name="test", **kw),
           *load_validation(c.validation, train=c.n_train, **kw)]
    if c.network == "burr2015":
        out[0], out[2], out[4] = crop(out[0]), crop(out[2]), crop(out[4])
    return tuple(out)


def build(c: MlpTrainConfig, sizes):
    """The networks of the run: ``{"pcm": [...], "float": [...], "quantised": [...]}``
    (``quantised`` in-situ only), from the initial weights of the seed."""
    from ...crossbar import Crossbar
    from ...random import int_seed
    from ._mlp import init_weights
    from ._mlp_training import FloatLayer, QuantisedLayer, pcm_layer

    W0 = init_weights(sizes, c.seed, "mlp-train")
    opts = {"devices_per_weight": c.devices_per_weight, "refresh": None}
    if c.device_overrides:
        opts["device_overrides"] = c.device_overrides
    if c.g_target is not None:
        opts["g_target"] = c.g_target
    pcm, quant = [], []
    for l, W in enumerate(W0):
        wmax = c.resolved("w_max")[l]
        if np.abs(W).max() > wmax:
            raise ParameterError(f"w_max[{l}] = {wmax!r} is below the initial weights' "
                                 f"max|W| = {np.abs(W).max():.4g}; give a larger w_max")
        xb = Crossbar(W, c.preset, mapping="differential", w_max=wmax,
                      seed=int_seed(c.seed, "mlp-train", "crossbar", l), **opts)
        pcm.append(pcm_layer(c, xb, l))
        quant.append(QuantisedLayer(W, xb.epsilon, c.update_mode, xb.seed, c.pulse_length))
    nets = {"pcm": pcm, "float": [FloatLayer(W) for W in W0]}
    if c.mode == "in-situ":
        nets["quantised"] = quant
    return nets


def run(config: MlpTrainConfig, out, *, resume: bool = False, progress: bool = True) -> Path:
    """Train, evaluate after every epoch, checkpoint, and write one ``mlp_train`` HDF5 file
    (arguments and return value: :class:`~neuropcm.workloads.Workload`)."""
    from threadpoolctl import threadpool_limits
    from tqdm import tqdm

    from ._mlp_checkpoint import MlpCheckpoint
    from ._mlp_pulses import check_pulse_counts

    c = config
    out = Path(out)
    ckpt = MlpCheckpoint(out, c.to_dict())
    # what the run is doing, for the message of an interruption (Ctrl-C, SIGTERM): a phase,
    # or the number of the epoch being trained and checkpointed
    phase = ["loading the data"]
    try:
        data = load_data(c)
        X = data[0]
        if resume:
            phase[0] = "loading the checkpoint"
            nets, hist, start = ckpt.load(c)
        else:
            ckpt.remove()
            phase[0] = "building the networks"
            nets, hist, start = build(c, c.sizes), {}, 0
            check_pulse_counts(c, nets, X, data[1])  # before the long work
        t_run = time.perf_counter()
        bar = tqdm(total=c.n_epochs * X.shape[1], initial=start * X.shape[1], unit="ex",
                   desc=f"mlp-train {c.mode}", disable=not progress)
        try:
            # per-example products are small (250 x 785): a second BLAS thread only waits
            # for a busy core (20 ms instead of 0.35 ms per product measured under load)
            with threadpool_limits(limits=1, user_api="blas"):
                _train(c, nets, hist, start, data, bar, ckpt, phase)
        finally:
            bar.close()
        phase[0] = "writing the results"
        write_results(out, c, {k: c.resolved(k) for k in MODE_DEFAULTS[c.mode]}, nets, hist,
                      data[2], time.perf_counter() - t_run)
    except KeyboardInterrupt as e:
        raise ckpt.interrupted(e, phase[0], c.n_epochs) from None
    ckpt.remove()
    return out


def _train(c, nets, hist, start, data, bar, ckpt, phase) -> None:
    """The epochs from ``start`` on: train every network, evaluate, checkpoint (``phase[0]``:
    the number of the epoch running)."""
    from ._mlp_training import epoch_order, evaluate, train_epoch

    X, y, Xt, yt, Xv, yv = data
    for e in range(start, c.n_epochs):
        phase[0] = e + 1
        order = epoch_order(c.seed, e, X.shape[1])
        row = {"epoch": e + 1}
        for name, net in nets.items():
            t = time.perf_counter()
            lr = c.resolved("lr") * c.resolved("lr_decay") ** e
            n_ref = train_epoch(net, X, y, order, lr=lr, batch=c.batch,
                                activation=c.activation, progress=bar if name == "pcm" else None,
                                refresh_every=None if name != "pcm" else c.n_refresh_every)
            wall = time.perf_counter() - t
            pre = "" if name == "pcm" else f"{name}_"
            row[f"{pre}train_accuracy"] = evaluate(net, X, y, c.activation)[0]
            row[f"{pre}test_accuracy"], pred = evaluate(net, Xt, yt, c.activation)
            row[f"{pre}validation_accuracy"] = (evaluate(net, Xv, yv, c.activation)[0]
                                                if Xv.shape[1] else np.nan)
            if name == "pcm":
                row.update(epoch_wall_s=wall, refreshed_pairs=n_ref)
                tot = [l.xb.totals() for l in net]
                row.update({k: sum(t.get(k, 0) for t in tot) for k in COUNTERS})
                row["transferred_weights"] = sum(getattr(l, "n_transferred", 0) for l in net)
                row["_pred"] = pred
        for k, v in row.items():
            hist.setdefault(k, []).append(v)
        bar.set_postfix(test=f"{100 * row['test_accuracy']:.2f}%",
                        float=f"{100 * row['float_test_accuracy']:.2f}%")
        ckpt.save(nets, hist, e + 1)


WORKLOAD = Workload(
    name="mlp-train", kind=KIND, config=MlpTrainConfig, run=run, summary=summary,
    figure=figure, resumable=True, default_out="mlp_train.h5",
    smoke=('hidden=10', 'train=200', 'test=100', 'validation=100', 'epochs=1'),
    description="train an MLP on PCM crossbars (in-situ, mixed-precision or 3T1C transfer)",
    flags={"--mnist-dir": ("mnist_dir", "folder of MNIST-format IDX files (Fashion-MNIST)")})
