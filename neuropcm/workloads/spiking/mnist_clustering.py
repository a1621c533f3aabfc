"""Unsupervised MNIST clustering with PCM synapses: the flagship run (``neuropcm run
mnist-clustering``, alias ``neuropcm mnist``).

Poisson rate-coded 28x28 inputs -> differential 2-PCM synapses with two-window STDP -> a WTA
layer with homeostasis (Sidler et al. 2017; seed tutorial Fig. 16), built by
:mod:`neuropcm.snn.clustering` from a network definition (``networks/*.toml``). After
learning, each neuron is labelled with the class it responded to most on training examples
(frozen network), and test examples are classified by the mean response of each class's
neurons.

Training runs in chunks of examples (:class:`~neuropcm.snn.runner.ChunkedRunner`, compiled
once with cpp_standalone), checkpointing the full state after every complete chunk;
``resume=True`` continues an interrupted run with the same settings and ends with exactly
the uninterrupted result. Every random stream comes from the run's seed by
:mod:`neuropcm.random` (``"subset"``, ``("train", "order", epoch)``, ``("train", "chunk",
k)``, ``(phase, "attempt", a, "chunk", c)``, ``("init", ...)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, option
from .. import DEVICE_BYTES, SEED_MAX, MemoryNeed, Workload

#: Most examples of one kind (training per epoch, test, assignment): the MNIST-format sets
#: hold 60,000 and 10,000; an IDX folder may hold more (the run refuses more than it has).
MAX_EXAMPLES = 1_000_000
#: Bytes per synapse of a run: the devices of both sides as Python state and in the
#: compiled simulator, the synapse's indices and STDP variables, and the checkpoint's copy.
SYNAPSE_BYTES = 4 * DEVICE_BYTES
#: Seconds per simulated time step, and per step and synapse (Poisson inputs, STDP and the
#: devices), fitted to the simulator's CPU time for sidler2017 (1.37 ms per example) and
#: wta400 (6.1 ms) on a 2-core machine (scripts/bench_mnist.py); and of the compilation.
_S_PER_STEP = 3.2e-6
_S_PER_STEP_SYNAPSE = 7.8e-11
_COMPILE_S = 90.0


@dataclass(frozen=True)
class MnistClusteringConfig(Config):
    """Settings of an MNIST clustering run (the network itself is a TOML definition)."""

    network: str = option("sidler2017", "network definition: a name in the package's networks "
                          "(sidler2017, wta100, wta400, wta1600, wta6400) or a TOML "
                          "file")
    train: int = option(60_000, "training examples per epoch (a seeded subset of MNIST's "
                        "training set)", lo=1, hi=MAX_EXAMPLES)
    test: int = option(10_000, "test examples", lo=1, hi=MAX_EXAMPLES)
    epochs: int = option(1, "passes over the training examples", lo=1, hi=100)
    assign: int | None = option(None, "training examples for the label assignment (default "
                                "min(train, 10000))", lo=1, hi=MAX_EXAMPLES)
    validation: int = option(0, "training images held out of training and classified like "
                             "the test set: the accuracy to tune settings on (0: none)",
                             lo=0, hi=MAX_EXAMPLES)
    seed: int = option(0, "seed of every random stream of the run", lo=0, hi=SEED_MAX)
    mnist_dir: str | None = option(None, "folder of MNIST/Fashion-MNIST IDX files (default: "
                                   "the offline cache in data/)")
    mode: str = option("standalone", "cpp_standalone compiled once, or Brian2 runtime "
                       "(debugging)", choices=("standalone", "runtime"))
    threads: int = option(0, "OpenMP threads of the compiled simulator (0: none; each "
                          "thread count is its own build and random stream)", lo=0, hi=256)

    def _network(self):
        """(inputs, neurons, steps per example, examples per chunk, devices per side of a
        synapse) of the network definition (read, not built)."""
        from ...snn.clustering import n_inputs
        from ...snn.config import load_network

        cfg = load_network(self.network)
        steps = round(cfg.input.example_duration / cfg.simulation.dt)
        return (n_inputs(cfg), cfg.neurons.n, steps, cfg.simulation.chunk,
                cfg.synapses.devices_per_synapse)

    def _examples(self) -> int:
        """Examples presented in all: training, label assignment, test (with retries)."""
        assign = min(self.train, 10_000) if self.assign is None else self.assign
        return self.train * self.epochs + assign + self.test + self.validation

    def memory_needs(self) -> list:
        """The network's synapses (PCM devices on both sides), the spike counts of the
        assignment and test examples, one chunk's input rates and the image sets."""
        n_in, n_out, _, chunk, n_dev = self._network()
        assign = min(self.train, 10_000) if self.assign is None else self.assign
        return [MemoryNeed(SYNAPSE_BYTES * n_dev * n_in * n_out,
                           {"network": self.network, "inputs": n_in, "neurons": n_out,
                            "devices_per_synapse": n_dev},
                           f"{n_in * n_out} synapses of {2 * n_dev} devices",
                           "give a network with fewer neurons or devices per synapse"),
                MemoryNeed(2 * 4 * (assign + self.test) * n_out,
                           {"assign": assign, "test": self.test},
                           "the spike counts of the assignment and test examples"),
                MemoryNeed(3 * 8 * chunk * n_in + 784 * 70_000 * 2, {"network": self.network},
                           "one chunk's input rates and the images",
                           "lower simulation.chunk of the network")]

    def run_estimate(self) -> tuple[str, float]:
        """The size of the run and a rough time (s): the compilation, then per example its
        time steps times its synapses (rate measured with sidler2017)."""
        n_in, n_out, steps, _, n_dev = self._network()
        ex = self._examples()
        return (f"{n_in} x {n_out} synapses, {ex} examples presented ({self.train} x "
                f"{self.epochs} epochs of training)",
                _COMPILE_S + ex * steps * (_S_PER_STEP
                                           + n_dev * n_in * n_out * _S_PER_STEP_SYNAPSE))


def run(config: MnistClusteringConfig, out, *, resume: bool = False,
        progress: bool = True) -> Path:
    """Train, label and test; write one ``mnist_clustering`` HDF5 file (see
    :func:`neuropcm.workloads.spiking._mnist_run.run_clustering`, which this calls with the network and data ``config`` names).

    Returns
    -------
    Path
        ``out``.
    """
    import brian2

    from ...datasets import load_mnist
    from ...snn.config import load_network

    # expected and harmless here: additive synaptic updates flagged as order-dependent
    brian2.BrianLogger.suppress_name("brian2.codegen.generators.base")
    cfg = load_network(config.network)
    train = load_mnist("train", mnist_dir=config.mnist_dir)
    test = load_mnist("test", mnist_dir=config.mnist_dir)
    from ._mnist_run import run_clustering

    run_clustering(cfg, (*train, *test), n_train=config.train, n_test=config.test,
                   epochs=config.epochs, seed=config.seed, out=out, resume=resume,
                   mode=config.mode, n_assign=config.assign, progress=progress,
                   threads=config.threads, n_validation=config.validation)
    return Path(out)


def summary(path) -> str:
    """Headline lines for the CLI, read from the file."""
    from ...io import open_h5, read_config

    with open_h5(path, kind=WORKLOAD.kind) as f:
        name = read_config(f)["network"]["network"]["name"]
        r = dict(f["results"].attrs)
    return (f"network {name}: {int(r['train_examples'])} training examples in "
            f"{r['train_wall_s']:.1f} s ({1e3 * r['s_per_train_example']:.2f} ms/example, "
            f"compile {r['compile_s']:.1f} s)\n"
            f"test accuracy: {100 * r['test_accuracy']:.2f} % on {int(r['test_examples'])} "
            f"test examples ({int(r['no_response'])} without response)"
            + (f"\nvalidation accuracy: {100 * r['validation_accuracy']:.2f} % on "
               f"{int(r['validation_examples'])} held-out training images"
               if "validation_accuracy" in r else ""))


def figure(path, png) -> Path:
    """The receptive fields of the output neurons, from the file alone."""
    return plot_receptive_fields(path, png)


WORKLOAD = Workload(
    name="mnist-clustering", kind="mnist_clustering", config=MnistClusteringConfig, run=run,
    summary=summary, figure=figure, resumable=True, default_out="mnist.h5", file_config={"network.network": ("network definition", "neuropcm.snn.config:NetworkConfig"),
                 "network.source": ("network file as given", None),
                 "run": ("run settings", None)},
    aliases=("mnist",), smoke=('train=100', 'test=50', 'assign=100'),
    description="unsupervised MNIST clustering with PCM synapses (Brian2)")


def plot_receptive_fields(h5_path, png_path) -> Path:
    """Receptive fields of a ``neuropcm mnist`` run: G+ - G- of each output neuron as a
    28x28 image (seed tutorial Fig. 16c), titled with the neuron's assigned class."""
    from ...io import open_h5
    from ...plotting import new_figure, save_figure

    with open_h5(h5_path, kind="mnist_clustering") as f:
        w = f["network/weights"][()]
        assign = f["network/assignments"][()]
        acc = float(f["results"].attrs["test_accuracy"])
        n_train = int(f["results"].attrs["train_examples"])
    n = w.shape[0]
    fields = w[:, :784].reshape(n, 28, 28) * 1e6
    cols = int(np.ceil(np.sqrt(n * 1.5)))
    rows = int(np.ceil(n / cols))
    fig, axes = new_figure(rows, cols, (1.3 * cols, 1.45 * rows + 0.6))
    lim = np.abs(fields).max() or 1.0
    for k, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if k < n:
            ax.imshow(fields[k], cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(str(assign[k]) if assign[k] >= 0 else "-", fontsize=8, pad=2)
    fig.suptitle(f"G+ − G− per neuron (±{lim:.1f} µS; title: assigned class) — "
                 f"{n_train} training examples, test accuracy {100 * acc:.2f} %", fontsize=9)
    return save_figure(fig, png_path, dpi=100)
