"""In-situ training with 2 PCM per synapse as Burr et al. (IEEE TED 62, 3498 (2015); tutorial
Fig. 10a: 82.9 % test after 5,000 training examples): which of the model's choices cost
accuracy on their ``528-250-125-10`` network on 24 x 22 crops (``network = "burr2015"``).

Runs ``neuropcm run mlp-train --set mode=in-situ ...`` once per variant and seed (a point
whose file exists is not rerun):

* ``burr2015``: the network as shipped (open-loop refresh, nandakumar2018 devices);
* ``+verify``: refreshed pairs rewritten by program-and-verify (``refresh_write=verify``);
* ``no-memory``: no pulse memory (``set_c = set_f = 0``: the first SET pulses after a RESET
  are no larger and no noisier than the later ones);
* ``+verify, no-memory``: both;
* ``+verify, no-memory, lr``: both, with lr 0.01 decayed by 0.8 per epoch;
* ``784-250-10``: today's default network (``network=mlp``), for comparison.

then prints the final and the validation-selected test accuracy per variant and seed beside
the paper's 82.9 %, float weights changed by the same pulse rule (ideal devices) and float
SGD, and draws them (points per seed, bars the mean)::

    python scripts/reproduce_mlp_burr2015.py [--dir mlp_burr2015] [--seeds 0 1]
        [--variants burr2015 no-memory ...] [--set epochs=20 ...] [--quick] [--plot-only]

The sweep uses 3 epochs and 2,000 validation / 2,000 test examples (the workload's
defaults, 20 epochs and 5,000 / 10,000, take about 15 min per point on 2 loaded cores;
``--set epochs=20 --set validation=5000 --set test=10000`` runs them).
"""

import argparse
from pathlib import Path

import numpy as np

from _runs import run_or_read
from neuropcm.workloads.learning._mlp_results import PAPER
from neuropcm.workloads.learning.mlp_train import WORKLOAD

#: The sweep's settings (reduced epochs, test and validation sets).
BASE = ["mode=in-situ", "epochs=3", "validation=2000", "test=2000"]
QUICK = ["train=200", "validation=100", "test=100", "epochs=1"]
_VERIFY = "refresh_write=verify"
_NO_MEMORY = 'device_overrides={set_c = "0 uS", set_f = "0 uS"}'
_LR = ["lr=0.01", "lr_decay=0.8"]
#: Variant name -> its settings (``--set`` texts), in the order drawn.
VARIANTS = {
    "burr2015": ["network=burr2015"],
    "+verify": ["network=burr2015", _VERIFY],
    "no-memory": ["network=burr2015", _NO_MEMORY],
    "+verify, no-memory": ["network=burr2015", _VERIFY, _NO_MEMORY],
    "+verify, no-memory, lr": ["network=burr2015", _VERIFY, _NO_MEMORY, *_LR],
    "784-250-10": ["network=mlp"],
}
_FILE = {"burr2015": "burr2015", "+verify": "verify", "no-memory": "nomem",
         "+verify, no-memory": "verify_nomem", "+verify, no-memory, lr": "verify_nomem_lr",
         "784-250-10": "mlp784"}


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default="mlp_burr2015", help="folder of the runs' files")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS),
                   metavar="VARIANT", help=f"variants to run (of {', '.join(VARIANTS)})")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="a config field set for every variant")
    p.add_argument("--quick", action="store_true", help="tiny runs (a smoke test)")
    p.add_argument("--plot-only", action="store_true", help="run nothing; read the files")
    a = p.parse_args(argv)
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, v in enumerate(a.variants):
        for s in a.seeds:
            sets = BASE + (QUICK if a.quick else []) + VARIANTS[v] + a.set + [f"seed={s}"]
            r = run_or_read(WORKLOAD, sets, d / f"{_FILE[v]}_seed{s}.h5", run=not a.plot_only)
            if r is not None:
                rows.append((i, s, r["test_accuracy"], r["selected_test_accuracy"],
                             r.get("quantised_test_accuracy", np.nan),
                             r["float_test_accuracy"]))
    if not rows:
        raise SystemExit(f"no result files in {d}; run without --plot-only first")
    rows = np.array(rows, dtype=float)
    names = list(a.variants)
    paper = 100 * PAPER["in-situ"][0]
    print(f"{'variant':<24} {'seed':>4} {'final %':>8} {'selected %':>10} {'paper %':>7} "
          f"{'same-rule float %':>17} {'float SGD %':>11}")
    for r in rows:
        print(f"{names[int(r[0])]:<24} {int(r[1]):>4} {100 * r[2]:8.2f} {100 * r[3]:10.2f} "
              f"{paper:7.1f} {100 * r[4]:17.2f} {100 * r[5]:11.2f}")
    return _figure(rows, names, d / "accuracy_by_variant.png")


def _figure(rows, names, png) -> Path:
    from neuropcm.plotting import new_figure, save_figure

    fig, ax = new_figure(1, 1, (7, 4.2))
    idx = np.unique(rows[:, 0]).astype(int)
    for col, dx, label, colour in ((2, -0.2, "PCM, final epoch", "C0"),
                                   (3, 0.0, "PCM, epoch selected on validation", "C1"),
                                   (4, 0.2, "float, same pulse rule (ideal devices)", "0.5")):
        m = [100 * np.mean(rows[rows[:, 0] == i, col]) for i in idx]
        ax.bar(idx + dx, m, width=0.2, color=colour, alpha=0.45, label=f"{label} (mean)")
        for i in idx:
            y = 100 * rows[rows[:, 0] == i, col]
            ax.plot(np.full(y.shape, i + dx), y, "o", ms=3.5, color=colour)
    ax.axhline(100 * PAPER["in-situ"][0], color="C3", lw=1, label=PAPER["in-situ"][1])
    ax.set_xticks(idx, [names[i] for i in idx], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 118)
    ax.set_title("in-situ training, 2 PCM per synapse, Burr 2015's network (528-250-125-10)\n"
                 "bars: mean over seeds; points: seeds", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", ncol=2)
    ax.grid(alpha=0.3, axis="y")
    return save_figure(fig, png)


if __name__ == "__main__":
    print(f"figure: {main()}")
