"""Multi-PCM synapses with arbitration (Boybat et al., Nat. Commun. 9, 2514 (2018); tutorial
section "multi-PCM architectures") in the in-situ MLP: test accuracy against the devices per
side N (1, 2, 4, 8), one update per example written to the one device a global counter
selects (``arbitration = "global"``), refreshed when saturated.

Runs ``neuropcm run mlp-train --set mode=in-situ --set devices_per_weight=N --set
arbitration=global ...`` once per N and seed (a point whose file exists is not rerun),
then draws the final and the validation-selected test accuracy against N (mean and range
over seeds) with the same-rule float weights (ideal devices) and Burr 2015's 82.9 % (2 PCM
per synapse) as reference lines, and prints the table::

    python scripts/reproduce_mlp_multi_pcm.py [--dir mlp_multi_pcm] [--n 1 2 4 8]
        [--seeds 0 1] [--set lr=0.01 ...] [--quick] [--plot-only]
"""

import argparse
from pathlib import Path

import numpy as np

from _runs import run_or_read
from neuropcm.workloads.learning._mlp_results import PAPER
from neuropcm.workloads.learning.mlp_train import WORKLOAD

#: The sweep's settings (reduced test and validation sets; the rate that suits N >= 2).
BASE = ["mode=in-situ", "arbitration=global", "lr=0.01", "lr_decay=0.8", "epochs=3",
        "validation=2000", "test=2000"]
QUICK = ["hidden=20", "train=300", "validation=200", "test=200", "epochs=1"]


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default="mlp_multi_pcm", help="folder of the runs' files")
    p.add_argument("--n", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--plot-only", action="store_true")
    a = p.parse_args(argv)
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in a.n:
        for s in a.seeds:
            sets = BASE + (QUICK if a.quick else []) + a.set + [
                f"devices_per_weight={n}", f"seed={s}"]
            r = run_or_read(WORKLOAD, sets, d / f"n{n}_seed{s}.h5", run=not a.plot_only)
            if r is not None:
                rows.append((n, s, r["test_accuracy"], r["selected_test_accuracy"],
                             r.get("quantised_test_accuracy", np.nan),
                             r["float_test_accuracy"]))
    rows = np.array(rows, dtype=float)
    print(f"{'N':>3} {'seed':>4} {'final %':>8} {'selected %':>10} {'same-rule float %':>17} "
          f"{'float SGD %':>11}   (paper, 2 PCM per synapse: {100 * PAPER['in-situ'][0]:.1f} %)")
    for r in rows:
        print(f"{int(r[0]):>3} {int(r[1]):>4} {100 * r[2]:8.2f} {100 * r[3]:10.2f} "
              f"{100 * r[4]:17.2f} {100 * r[5]:11.2f}")
    return _figure(rows, d / "accuracy_vs_n.png")


def _figure(rows, png) -> Path:
    from neuropcm.plotting import errorbar_over_seeds, new_figure, save_figure

    fig, ax = new_figure(1, 1, (5.5, 4))
    ns = np.unique(rows[:, 0])
    for col, label, style in ((2, "PCM, final epoch", "o-"),
                              (3, "PCM, epoch selected on validation", "s--"),
                              (4, "float, same pulse rule (ideal devices)", "k:")):
        errorbar_over_seeds(ax, rows[:, 0], rows[:, col], style, 100, label=label)
    ax.axhline(100 * PAPER["in-situ"][0], color="C3", lw=1, label=PAPER["in-situ"][1])
    ax.set_xscale("log", base=2)
    ax.set_xticks(ns, [str(int(n)) for n in ns])
    ax.set_xlabel("PCM devices per side of a synapse, N (global arbitration)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("multi-PCM synapses (Boybat 2018) in in-situ MLP training\n"
                 "(mean and range over seeds)", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return save_figure(fig, png)


if __name__ == "__main__":
    print(f"figure: {main()}")
