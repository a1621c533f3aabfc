"""Reproduce the drift-resilient PCM MLP of seed 2 (Muñoz-Martín et al. 2021): a 784-120-10
sigmoid MLP with 4-bit digital weights on binary PCM, dummy lines and the LRS reference
column's factor K; accuracy from t0 to 1e6 t0 with and without K (Fig. 8), against ADC
bits (Fig. 4) and weight bits (Fig. 7), the analog multilevel baseline (Fig. 6), the
paper's line-ADC architecture beside the per-neuron one, and GOPS/W against the energy
assumptions (Table I). The summary prints the paper's number beside ours.

Writes the HDF5 file, then draws the figure from that file alone::

    python scripts/reproduce_drift_resilient.py [--out drift_resilient.h5] [--png F.png]
        [--set dataset=rand-mnist] [--set mnist_dir=~/fashion-mnist] [--seed 1]
        [--quick] [--plot-only] [--lrs] [--seeds 0 1]

(the same run as ``neuropcm run drift-resilient --out drift_resilient.h5``). Opt-in
sweeps, each a figure panel and summary line (``--set`` as for ``neuropcm run``)::

    # issue 20, point 4: accuracy at 1e6 t0 against the drift-exponent spread, paper 96.8 %
    --set 'nu_spread_sweep=[0, 0.04, 0.08, 0.15, 0.3]'
    # issue 21, point 4: wire resistance (IR drop; slow: ~0.1 s per hidden unit and bit
    # per pass) and stuck devices
    --set 'wire_sweep=["0 ohm", "0.001 ohm", "0.01 ohm", "0.1 ohm"]'
    --set 'stuck_sweep=[0, 0.001, 0.01, 0.05]'
    # issue 20, point 10: projected PCM (assumed: a tenth of joshi2020's drift and noise)
    --set preset=projected --set analog_preset=projected
    # issue 20, point 5b: the LRS programmed below g_max (no truncation at g_max)
    --set lrs_target=0.833
    # issue 20, point 9 (Fig. 8c-e): accuracy against time for a grid of LRS means and
    # spreads and the I_SET = 200 / 450 uA presets (assumed LRS values): --lrs sets
    --set 'lrs_sweep=[0.25, 0.5, 0.8, 1.0]' --set 'lrs_spreads=[0.05, 0.1, 0.2]'
    # (--set of either replaces it); the run's own preset as an I_SET condition:
    --set preset=munoz2021_iset200

``--seeds 0 1`` runs once per seed (``OUT`` with ``_seed<n>`` before its suffix) and, with
``--lrs``, ends with a table of the LRS conditions' accuracy at t0 and t_max t0 per seed
beside the paper's 97.1 / 96.8 % (I_SET = 200 uA, Table I).
"""

import argparse
import sys
from pathlib import Path

from neuropcm.workloads import reproduce_main
from neuropcm.workloads.learning.drift_resilient import WORKLOAD

QUICK = ["train=10000", "test=2000", "hidden=60", "epochs=2", "instances=3",
         "sweep_instances=1", "time_points=4", "adc_sweep=[4, 6, 8]",
         "levels_sweep=[4, 16, 64]"]
#: The LRS grid of ``--lrs`` (means as fractions of g_max; relative spreads).
LRS = ["lrs_sweep=[0.25, 0.5, 0.8, 1.0]", "lrs_spreads=[0.05, 0.1, 0.2]"]


def lrs_table(paths: dict) -> str:
    """Accuracy (%, K compensated, mean over instances) at t0 and at the last time of the
    I_SET presets and the grid points, one column pair per seed, paper beside."""
    import neuropcm.io as nio
    from neuropcm.workloads.learning._drift_lrs import PAPER_FINAL, PAPER_T0, UNITS

    rows, heads = {}, []
    for seed, path in paths.items():
        r = nio.open(path)
        d = {k: r.dataset(f"results/lrs/{k}") for k in UNITS}
        g = d.__getitem__
        heads.append(f"seed {seed} t0 / last")
        for i, a in enumerate(g("preset_i_set")):
            key = (f"I_SET = {a * 1e6:.0f} uA (assumed {g('preset_fraction')[i]:g} g_max, "
                   f"{100 * g('preset_spread')[i]:g} %, nu {g('preset_nu')[i]:.4f})")
            acc = g("preset_accuracy")[i]
            rows.setdefault(key, []).append((acc[0].mean(), acc[-1].mean()))
        for i, f in enumerate(g("mean_fraction")):
            for k, s in enumerate(g("spread")):
                key = f"grid {f:g} g_max, {100 * s:g} % (nu {g('nu_lrs')[i]:.4f})"
                acc = g("accuracy")[i, k]
                rows.setdefault(key, []).append((acc[0].mean(), acc[-1].mean()))
        dr = r.dataset("results/drift/accuracy_lrs")
        rows.setdefault("drift run (the run's preset)", []).append(
            (dr[0].mean(), dr[-1].mean()))
    w = max(map(len, rows))
    out = [f"{'LRS condition':<{w}} | " + " | ".join(heads) + " | paper (200 uA)"]
    paper = f"{100 * PAPER_T0:.1f} / {100 * PAPER_FINAL:.1f}"
    for key, vals in rows.items():
        cells = " | ".join(f"{100 * a:.2f} / {100 * b:.2f}" for a, b in vals)
        out.append(f"{key:<{w}} | {cells} | " + (paper if "200 uA" in key else ""))
    return "\n".join(out)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--lrs", action="store_true", help="run the LRS-condition sweep")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="one run per seed")
    p.add_argument("--out", default=WORKLOAD.default_out)
    a, rest = p.parse_known_args(argv)
    if "-h" in rest or "--help" in rest:
        print("extra options: --lrs (the LRS-condition sweep, Fig. 8c-e), --seeds N [N ...]")
    given = {x.split("=")[0] for x in rest}  # a --set of a grid field replaces --lrs's
    sets = [w for s in LRS if s.split("=")[0] not in given for w in ("--set", s)] \
        if a.lrs else []
    out = Path(a.out)
    if a.seeds is None:
        reproduce_main(WORKLOAD, __doc__, QUICK, [*rest, *sets, "--out", str(out)])
        return
    paths = {}
    for seed in a.seeds:
        paths[seed] = out.with_name(f"{out.stem}_seed{seed}{out.suffix}")
        reproduce_main(WORKLOAD, __doc__, QUICK,
                       [*rest, *sets, "--seed", str(seed), "--out", str(paths[seed])])
    if a.lrs:
        print(lrs_table(paths))


if __name__ == "__main__":
    main(sys.argv[1:])
