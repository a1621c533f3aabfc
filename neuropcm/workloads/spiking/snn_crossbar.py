"""Classify MNIST by rates through a crossbar over a trained clustering network's devices
(``neuropcm run snn-crossbar --set source=RESULT.h5``).

The differential synapses of a ``mnist_clustering`` file, as they were at the end of
training (its ``t = 0``), become a crossbar (:func:`neuropcm.bridge.crossbar_from_synapses`)
holding ``W^T``; the test images' relative rates ``r = pixel/255 * max_rate`` give the
input currents ``W r`` in one batched transposed read, and the rate model of the WTA layer
(:func:`neuropcm.bridge.rate_scores`: ``tau_m W r - (v_thresh + theta)``) picks the winning
neuron, whose label (``/network/assignments``) is the prediction. The devices then drift on
and the test set is read again at each time, without and with global drift compensation
(``compensation = "both"``), or with one of them, or with any other registered compensation
that needs no reference devices (the crossbar programs none: it reads the network's own);
dataset ``accuracy_<name>``.

The comparison with the spiking network is made on the same images: the spiking test of a
``mnist_clustering`` file used its first ``test_examples`` test images and stores its
predictions, so the headline gives the rate readout's accuracy (first read time, first
readout) and the spiking network's on the first ``min(test, test_examples)`` images, and
how often the two predict the same class there; the rate readout's accuracy on all ``test``
images is reported beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, option
from ...errors import ParameterError
from .. import READ_TIME_MAX, SEED_MAX, MemoryNeed, Workload, crossbar_bytes, refuse_resume
from ...plotting import save_figure

#: The readouts of ``compensation = "both"``; every file holds both datasets (NaN where
#: the readout was not run).
BOTH = ("none", "global")


def compensation_choices() -> tuple[str, ...]:
    """``"none"``, ``"both"`` and every registered drift compensation a crossbar over
    existing devices can use, read when a config is checked."""
    from ...crossbar.compensation import compensation_names

    return ("none", "both", *compensation_names(over_devices=True))


#: Most read times of one run (each is one pass of the test set per readout).
MAX_TIMES = 100
#: Seconds per multiply-add of the batched crossbar read (mean and noise products; as
#: measured for the crossbar reads of the computational-memory runs, 2-core machine).
_S_PER_MAC = 5e-10


@dataclass(frozen=True)
class SnnCrossbarConfig(Config):
    """Settings of a rate-coded crossbar readout of a trained clustering network."""

    source: str = option("", "mnist_clustering result file whose devices are read")
    times: tuple[float, ...] = option(
        [0.0, 3600.0, 86400.0, 2592000.0, 31536000.0],
        f"read times after the end of training, strictly increasing, at most {MAX_TIMES} "
        f"(up to {READ_TIME_MAX:g} s, about 10 years: beyond the measured drift)",
        unit="s", lo=0.0, hi=READ_TIME_MAX)
    compensation: str = option("both", "drift compensation of the readout",
                               choices=compensation_choices)
    test: int = option(10_000, "test images classified", lo=1, hi=10_000)
    seed: int = option(0, "seed of the crossbar's read noise", lo=0, hi=SEED_MAX)

    def validate(self) -> None:
        t = self.times
        if not 1 <= len(t) <= MAX_TIMES:
            raise ParameterError(f"{self.where('times')} = {list(t)} must hold 1 to "
                                 f"{MAX_TIMES} read times")
        if any(b <= a for a, b in zip(t, t[1:])):
            raise ParameterError(f"{self.where('times')} = {list(t)} must be strictly "
                                 f"increasing (the devices only age)")

    def _network_size(self) -> tuple[int, int]:
        """(inputs, neurons) of the source network from its devices' layout, without loading
        them; (784, 400) where the file cannot be read (the run names the problem)."""
        try:
            import h5py

            from ...bridge import parse_layout

            with h5py.File(self.source, "r") as f:
                g = f["devices/plus"]
                size = next(d.size for d in g.values() if isinstance(d, h5py.Dataset))
                lay = parse_layout(g.attrs["layout"], size)
            return lay.n_in, lay.n_out
        except Exception:  # noqa: BLE001 - only a size estimate
            return 784, 400

    def memory_needs(self) -> list:
        """The test images as rates and the crossbar over the source's synapses."""
        n_in, n_out = self._network_size()
        return [MemoryNeed(self.test * n_in * (1 + 8 + 8) + 2 * self.test * n_out * 8,
                           {"test": self.test}, "the test images as input rates"),
                MemoryNeed(crossbar_bytes(n_in * n_out, 2 * n_in * n_out),
                           {"source": self.source}, "the crossbar over the source's synapses",
                           "give a smaller network")]

    def run_estimate(self) -> tuple[str, float]:
        """The size of the run and a rough time (s)."""
        n_in, n_out = self._network_size()
        reads = len(BOTH if self.compensation == "both" else (1,)) * len(self.times)
        return (f"{self.test} test images at {len(self.times)} read times through a "
                f"{n_in} x {n_out} crossbar", 2.0 + reads * self.test * n_in * n_out * _S_PER_MAC)


def _network(src):
    """What the readout needs from a ``mnist_clustering`` file (layout checked, SI floats)."""
    import h5py

    from ...bridge import parse_layout
    from ...io import open as open_result

    res = open_result(src)
    if res.kind.name != "mnist_clustering":
        raise ParameterError(f"source = {src!r} is a {res.kind.name!r} file; give a "
                             f"mnist_clustering result")
    with h5py.File(src, "r") as f:
        n_dev = int(f["devices/plus"].attrs.get("devices_per_synapse", 1))
    if n_dev != 1:
        raise ParameterError(f"{src}: devices_per_synapse = {n_dev}; the crossbar readout "
                             f"reads one device pair per synapse: give a file of a network "
                             f"with devices_per_synapse = 1")
    dev = res.devices()
    with h5py.File(src, "r") as f:
        layout = parse_layout(f["devices/plus"].attrs["layout"], dev["plus"].size)
        if f["devices/minus"].attrs["layout"] != f["devices/plus"].attrs["layout"]:
            raise ParameterError(f"{src}: plus and minus have different layouts")
    net = res.config["network"]["network"]
    if net["input"]["complementary"]:
        raise ParameterError(f"{src}: complementary inputs are not supported by the readout")
    q = _quantity
    # the spiking test's own predictions and labels (its first test_examples images), for the
    # comparison on the same images; files written without them compare nothing
    try:
        spk_pred = np.asarray(res.dataset("results/test_predictions"), int)
        spk_labels = np.asarray(res.dataset("results/test_labels"), int)
    except ParameterError:  # no such dataset
        spk_pred = spk_labels = None
    return dict(
        plus=dev["plus"], minus=dev["minus"], layout=layout,
        spiking_predictions=spk_pred, spiking_labels=spk_labels,
        w_scale=q(net["synapses"]["w_scale"]), tau_m=q(net["neurons"]["tau_m"]),
        v_thresh=q(net["neurons"]["v_thresh"]), max_rate=q(net["input"]["max_rate"]),
        theta=np.asarray(res.dataset("network/theta"), float),
        assignments=np.asarray(res.dataset("network/assignments"), int),
        test_accuracy=float(res.results["test_accuracy"]),
        test_examples=int(res.results.get("test_examples", 0)))


def _quantity(text) -> float:
    """SI value of a stored network value: a number (SI), or a quantity string of older
    files (e.g. ``'0.02 * mvolt / usiemens'``) read by the config's one quantity parser
    (:func:`neuropcm.config.parse_quantity`: files never execute code)."""
    from ...config import parse_quantity

    if isinstance(text, (int, float, np.integer, np.floating)) and \
            not isinstance(text, (bool, np.bool_)):
        return float(text)
    try:
        return float(np.asarray(parse_quantity(str(text).strip(), "stored quantity")))
    except ParameterError as e:
        raise ParameterError(f"{text!r} is not a stored quantity 'number * unit' ({e})") \
            from None


def classify(xb, rates, net) -> np.ndarray:
    """Predicted classes of ``rates`` (examples, n_in; Hz) at the crossbar's time."""
    from ...bridge import rate_scores

    currents = xb.H @ np.ascontiguousarray(rates.T)  # (n_out, examples) = W r
    s = rate_scores(currents.T, net["theta"], net["tau_m"], net["v_thresh"])
    return net["assignments"][np.argmax(s, axis=1)]


def same_images(rate_pred, y, net) -> dict:
    """The rate readout and the spiking network on the same images: the first
    ``n = min(len(y), len(spiking predictions))`` test images, which the stored spiking test
    classified (its labels must be those images' labels).

    Returns
    -------
    dict
        ``same_images`` (n; 0 when the source stores no spiking predictions),
        ``test_accuracy_rate_same``, ``test_accuracy_spiking_same`` and ``agreement_same``
        (fraction of the n images both predict the same class; NaN for n = 0).

    Raises
    ------
    ParameterError
        The stored labels are not those of the first MNIST test images (e.g. a network
        tested on another data set).
    """
    sp, sl = net.get("spiking_predictions"), net.get("spiking_labels")
    if sp is None or sl is None or len(sp) == 0:
        nan = float("nan")
        return {"same_images": 0, "test_accuracy_rate_same": nan,
                "test_accuracy_spiking_same": nan, "agreement_same": nan}
    n = int(min(len(y), len(sp)))
    if not np.array_equal(sl[:n], np.asarray(y[:n], int)):
        raise ParameterError(f"the source's stored test labels are not those of the first "
                             f"{n} MNIST test images (a network tested on other data?); give "
                             f"a mnist_clustering result tested on MNIST")
    rp, spn, yn = np.asarray(rate_pred[:n]), np.asarray(sp[:n]), np.asarray(y[:n])
    return {"same_images": n, "test_accuracy_rate_same": float(np.mean(rp == yn)),
            "test_accuracy_spiking_same": float(np.mean(spn == yn)),
            "agreement_same": float(np.mean(rp == spn))}


def run(config: SnnCrossbarConfig, out, *, resume: bool = False, progress: bool = True) -> Path:
    """Classify the test set by rates through the crossbar; write one ``snn_crossbar`` file."""
    from tqdm import tqdm

    from ...bridge import crossbar_from_synapses, relative_rates
    from ...datasets import load_mnist
    from ...io import atomic_h5, write_config, write_dataset

    if resume:
        refuse_resume("snn-crossbar", "it takes seconds")
    c = config
    if not c.source or not Path(c.source).is_file():
        raise ParameterError(f"source = {c.source!r} is not a file; give --set "
                             f"source=RESULT.h5 (a mnist_clustering result)")
    times = np.array(c.times, dtype=float)
    comps = BOTH if c.compensation == "both" else (c.compensation,)
    x, y = load_mnist("test", limit=c.test)
    acc = {}
    same = None
    t0 = time.perf_counter()
    for comp in comps:
        net = _network(c.source)  # fresh devices at the end of training for each readout
        rates = relative_rates(x) * net["max_rate"]
        if rates.shape[1] != net["layout"].n_in:
            raise ParameterError(f"{rates.shape[1]} pixels, the network has "
                                 f"{net['layout'].n_in} inputs")
        xb = crossbar_from_synapses(net["plus"], net["minus"], net["w_scale"], net["layout"],
                                    seed=c.seed, drift_compensation=None
                                    if comp == "none" else comp)
        t_start = xb.time
        a = []
        for t in tqdm(times, desc=f"reading ({comp})", disable=not progress):
            pred = classify(xb.at(t_start + t), rates, net)
            if same is None:  # the headline readout: first read time, first readout
                same = same_images(pred, y, net)
            a.append(float(np.mean(pred == y)))
        acc[comp] = np.array(a)
    wall = time.perf_counter() - t0
    first = acc[comps[0]][0]
    out = Path(out)
    with atomic_h5(out, kind=WORKLOAD.kind) as f:
        write_config(f, c.to_dict())
        r = f.create_group("results")
        r.attrs["test_accuracy_rate"] = first
        r.attrs["test_accuracy_spiking"] = net["test_accuracy"]
        r.attrs["spiking_test_examples"] = net["test_examples"]
        r.attrs["test_examples"] = int(len(y))
        for k, v in same.items():
            r.attrs[k] = v
        r.attrs["wall_s"] = wall
        r.attrs["read_time_offset"] = float(times[0])
        write_dataset(r, "time", times, "s")
        for comp in (*BOTH, *(k for k in acc if k not in BOTH)):
            v = acc.get(comp, np.full(times.size, np.nan))
            write_dataset(r, f"accuracy_{comp}", v, "1")
        f.create_group("network").attrs["layout"] = net["layout"].describe()
    return out


def _held(f) -> list[str]:
    """The readouts a file holds: those of ``both``, then any other, sorted."""
    other = sorted(k[len("accuracy_"):] for k in f["results"] if k.startswith("accuracy_"))
    return [*BOTH, *(k for k in other if k not in BOTH)]


def summary(path) -> str:
    """Headline lines read from the file."""
    from ...io import open_h5

    with open_h5(path, kind=WORKLOAD.kind) as f:
        r = f["results"].attrs
        t = f["results/time"][:]
        n = int(r.get("same_images", 0))
        if n > 0:
            lines = [(f"on the same {n} test images: rate-coded crossbar "
                      f"{100 * r['test_accuracy_rate_same']:.2f} %, spiking network "
                      f"{100 * r['test_accuracy_spiking_same']:.2f} % (same class predicted "
                      f"on {100 * r['agreement_same']:.2f} %)"),
                     (f"rate-coded crossbar on all {r['test_examples']} images: "
                      f"{100 * r['test_accuracy_rate']:.2f} %; {r['wall_s']:.2f} s")]
        else:  # an older file, or a source without stored predictions: not like for like
            lines = [(f"rate-coded crossbar accuracy {100 * r['test_accuracy_rate']:.2f} % "
                      f"on {r['test_examples']} images; spiking network "
                      f"{100 * r['test_accuracy_spiking']:.2f} % on "
                      f"{r['spiking_test_examples']} (not the same images: no comparison); "
                      f"{r['wall_s']:.2f} s")]
        for comp in _held(f):
            a = f[f"results/accuracy_{comp}"][:]
            if np.all(np.isfinite(a)):
                lines.append(f"  {comp}: " + ", ".join(
                    f"{tt:g} s {100 * v:.2f} %" for tt, v in zip(t, a)))
        return "\n".join(lines)


def figure(path, png) -> Path:
    """Accuracy against time since the end of training, per compensation."""
    from ...io import open_h5
    from ...plotting import new_figure

    with open_h5(path, kind=WORKLOAD.kind) as f:
        t = f["results/time"][:]
        curves = {c: f[f"results/accuracy_{c}"][:] for c in _held(f)}
        ra = f["results"].attrs
        n = int(ra.get("same_images", 0))
        spk = float(ra["test_accuracy_spiking_same"] if n > 0 else ra["test_accuracy_spiking"])
        rate_same = float(ra["test_accuracy_rate_same"]) if n > 0 else None
        n_all, n_spk = int(ra["test_examples"]), int(ra["spiking_test_examples"])
    fig, ax = new_figure(1, 1, (5, 3.5))
    tt = np.maximum(t, 1.0)
    for c, a in curves.items():
        if np.all(np.isfinite(a)):
            ax.semilogx(tt, 100 * a, "o-",
                        label=f"rate readout ({n_all} images), compensation {c}")
    if rate_same is not None:
        ax.semilogx([tt[0]], [100 * rate_same], "k*", ms=9,
                    label=f"rate readout at {t[0]:g} s on the spiking test's {n} images")
        ax.axhline(100 * spk, color="k", ls="--", label=f"spiking network, same {n} images")
    else:
        ax.axhline(100 * spk, color="k", ls="--",
                   label=f"spiking network ({n_spk} images; not the same set)")
    ax.set_xlabel("time since end of training (s; 0 drawn at 1 s)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=7)
    return save_figure(fig, png)


WORKLOAD = Workload(
    name="snn-crossbar", kind="snn_crossbar", config=SnnCrossbarConfig, run=run,
    summary=summary, figure=figure,
    description="classify MNIST by rates through a crossbar over a trained SNN's devices",
    default_out="snn_crossbar.h5", smoke=('test=100', 'times=["0*second", "3600*second"]'),
    flags={"--from": ("source", "the trained mnist-clustering result file"),
           "--at": ("times", "read times in seconds after training, comma-separated (e.g. "
                             "0,3600,86400)")})
