"""Multi-PCM synapses with arbitration (Boybat et al., Nat. Commun. 9, 2514 (2018); tutorial
section "multi-PCM architectures") in the spiking network: MNIST clustering with the 50-neuron
``sidler2017`` network and N devices on each side of every synapse (N = 1, 2, 4, 8), each
STDP pulse written to the one device an arbitration counter selects, refreshed per device
pair when saturated (``[synapses] devices_per_synapse = N``; see neuropcm.snn._multi).

The weight range is that of one pair (the network's ``w_scale`` is divided by N: the weight
is ``w_scale`` times the mean of the N differences, as the MLP's mean of K devices), so one
pulse moves a weight 1/N as much; nothing else of the network is changed or tuned.

Writes ``<dir>/sidler2017_n<N>.toml`` (sidler2017 with ``devices_per_synapse = N``), runs
``neuropcm run mnist-clustering --set network=<that file> --set train=5000 --set test=1000
--set seed=S`` once per N and seed (a point whose file exists is not rerun), prints the
test accuracy against N beside the trivial baseline (the most frequent class of the test
examples) and draws it::

    python scripts/reproduce_snn_multi_pcm.py [--dir snn_multi_pcm] [--n 1 2 4 8]
        [--seeds 0 1] [--set train=5000 ...] [--quick] [--plot-only]

The default reduced set: 5,000 training examples (one epoch; labels assigned on the same
5,000), the first 1,000 test examples.
"""

import argparse
import re
from pathlib import Path

import numpy as np

from _runs import run_or_read
from neuropcm.io import open_h5
from neuropcm.snn.config import NETWORKS_DIR
from neuropcm.workloads.spiking.mnist_clustering import WORKLOAD

#: The reduced set (stated in the docstring and the table).
BASE = ["train=5000", "test=1000"]
QUICK = ["train=200", "test=100"]
#: Sidler et al. 2017, the same 784-50 network with 2 PCM per synapse (seed tutorial Fig. 16).
SIDLER = 68.14


def network_file(folder: Path, n: int, stdp_scale: bool = False) -> Path:
    """``sidler2017`` with ``devices_per_synapse = n`` (its own name: its own build); with
    ``stdp_scale`` also ``p_pot``/``p_dep`` times n (the same expected weight change per
    STDP event as one pair; refused where a probability would exceed 1)."""
    text = (NETWORKS_DIR / "sidler2017.toml").read_text()
    tag = f"n{n}" + ("_pscaled" if stdp_scale else "")
    text, k1 = re.subn(r'^name = "sidler2017"', f'name = "sidler2017-{tag}"', text,
                       flags=re.MULTILINE)
    text, k2 = re.subn(r"^devices_per_synapse = 1\b", f"devices_per_synapse = {n}", text,
                       flags=re.MULTILINE)
    assert k1 == k2 == 1, "sidler2017.toml changed: update this script"
    if stdp_scale:
        def scaled(m):
            p = float(m.group(2)) * n
            if p > 1:
                raise SystemExit(f"--stdp-scale: {m.group(1)} x {n} = {p:g} exceeds 1; "
                                 f"leave N = {n} out")
            return f"{m.group(1)} = {p!r}"
        text, k3 = re.subn(r"^(p_pot|p_dep) = ([0-9.]+)", scaled, text, flags=re.MULTILINE)
        assert k3 == 2, "sidler2017.toml changed: update this script"
    path = folder / f"sidler2017_{tag}.toml"
    path.write_text(text)
    return path


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default="snn_multi_pcm", help="folder of the runs' files")
    p.add_argument("--n", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--plot-only", action="store_true")
    p.add_argument("--stdp-scale", action="store_true",
                   help="p_pot and p_dep times N (same expected weight change per event)")
    a = p.parse_args(argv)
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in a.n:
        for s in a.seeds:
            out = d / (f"n{n}_seed{s}" + ("_pscaled" if a.stdp_scale else "") + ".h5")
            run = not a.plot_only and not out.exists()
            sets = BASE + (QUICK if a.quick else []) + a.set + [
                f"network={network_file(d, n, a.stdp_scale)}", f"seed={s}"] if run else []
            r = run_or_read(WORKLOAD, sets, out, run=run)
            if r is not None:
                with open_h5(out, kind=WORKLOAD.kind) as f:
                    labels = f["results/test_labels"][()]
                base = np.bincount(labels.astype(int)).max() / labels.size
                rows.append((n, s, r["test_accuracy"], base, r["n_set"], r["n_reset"],
                             r["test_examples"], r["train_examples"]))
    rows = np.array(rows, dtype=float)
    print(f"{'N':>3} {'seed':>4} {'test %':>7} {'most frequent class %':>21} {'SET pulses':>11} "
          f"{'RESETs':>8}   (train / test examples; Sidler 2017, 2 PCM: {SIDLER} % on 10k)")
    for r in rows:
        print(f"{int(r[0]):>3} {int(r[1]):>4} {100 * r[2]:7.2f} {100 * r[3]:21.2f} "
              f"{int(r[4]):>11} {int(r[5]):>8}   ({int(r[7])} / {int(r[6])})")
    return _figure(rows, d / "accuracy_vs_n.png")


def _figure(rows, png) -> Path:
    from neuropcm.plotting import errorbar_over_seeds, new_figure, save_figure

    fig, ax = new_figure(1, 1, (5.5, 4))
    ns = np.unique(rows[:, 0])
    for col, label, style in ((2, "PCM synapses, N devices per side", "o-"),
                              (3, "most frequent class (trivial baseline)", "k:")):
        errorbar_over_seeds(ax, rows[:, 0], rows[:, col], style, 100, label=label)
    one = rows[rows[:, 0] == 1, 2]
    if one.size:
        ax.axhline(100 * one.mean(), color="C2", lw=1, ls="--", label="N = 1 (this run)")
    ax.axhline(SIDLER, color="C3", lw=1, label="Sidler 2017, 2 PCM (10k test, full training)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ns, [str(int(n)) for n in ns])
    ax.set_xlabel("PCM devices per side of a synapse, N (arbitration counter)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("multi-PCM synapses (Boybat 2018) in the 50-neuron clustering SNN\n"
                 "(mean and range over seeds; reduced set)", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save_figure(fig, png)


if __name__ == "__main__":
    print(f"figure: {main()}")
