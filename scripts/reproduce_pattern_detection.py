"""Reproduce the all-PCM spatio-temporal pattern detection of the seed tutorial (section IV;
Tuma et al., Nat. Nanotechnol. 2016; Tuma et al., IEEE EDL 2016; Wozniak et al., ISCAS 2016;
Pantazi et al., Nanotechnology 2016): one phase-change neuron with PCM synapses and STDP
finds the inputs that fire in a correlated pattern hidden in noise; several such neurons
with winner-take-all learn several patterns. The correlation sweep gives the lowest c at
which it works.

Writes the HDF5 file, then draws the figure from that file alone, and prints what the
tutorial says beside ours::

    python scripts/reproduce_pattern_detection.py [--out pattern_detection.h5]
        [--png F.png] [--seed 1] [--set c_sweep=[0.05,0.1,0.2]] [--quick] [--plot-only]

(the same run as ``neuropcm run pattern-detection --out pattern_detection.h5``).
"""

import sys
from pathlib import Path

import numpy as np

from neuropcm.workloads import reproduce_main
from neuropcm.workloads.spiking.pattern_detection import WORKLOAD

QUICK = ["learn_time=10*second", "test_time=4*second", "c_sweep=[0.05, 0.2, 0.4]",
         "wta_learn_time=15*second"]

#: What the seed tutorial states about this experiment (it gives no numbers for it).
PAPER = [
    ("single PCM neuron + PCM synapses",
     ("\"detect spatio-temporal patterns in an unsupervised manner\" (refs 38, 46-48); "
     "no detection rate, latency or lowest c stated")),
    ("several neurons + WTA",
     ("\"pattern classification tasks can be performed in an unsupervised manner\" (ref 49); "
     "no number stated")),
    ("lowest correlation (other experiment)",
     ("c = 0.01 for Sebastian 2017's correlation detection with devices as accumulators and "
     "10^6 processes -- not this neuron-and-STDP setup, shown only as context")),
]


def _ours(path) -> list[str]:
    from neuropcm.io import open_h5, read_config

    with open_h5(path, kind=WORKLOAD.kind) as f:
        cfg = read_config(f)
        a = dict(f["results"].attrs)
        cs = f["results/sweep/c"][:]
        works = f["results/sweep/works"][:].astype(bool)
    low = f"{a['lowest_c']:g}" if np.isfinite(a["lowest_c"]) else \
        f"none of {', '.join(f'{c:g}' for c in cs)}"
    lines = [(f"detected {100 * a['detected']:.1f} % of presentations at c = {a['c']:g}, "
             f"median latency {1e3 * a['latency_median']:.0f} ms, "
             f"{a['false_alarm_rate']:.3f} Hz false alarms; weight ROC-AUC "
             f"{a['weight_auc']:.3f} ({cfg['inputs']} inputs, {cfg['pattern_inputs']} in the "
             f"pattern)")]
    if a["wta_patterns"] and np.isfinite(a["wta_c"]):
        lines.append(f"{a['wta_patterns_learned']} of {a['wta_patterns']} patterns learned at "
                     f"c = {a['wta_c']:g}, {100 * a['wta_detected']:.1f} % of presentations "
                     f"detected by their neuron, {a['wta_misattributed']} misattributed spikes")
    else:
        lines.append("(winner-take-all run skipped: patterns = 0)")
    lines.append(f"lowest c that works: {low} (works at "
                 f"{', '.join(f'{c:g}' for c in cs[works]) or 'none'})")
    return lines


def main(argv=None):
    import argparse

    argv = sys.argv[1:] if argv is None else list(argv)
    png = reproduce_main(WORKLOAD, __doc__, QUICK, argv)
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--out", default=WORKLOAD.default_out)
    out = Path(p.parse_known_args(argv)[0].out)  # the file reproduce_main wrote or read
    print("\npaper (seed tutorial) | ours")
    for (what, paper), ours in zip(PAPER, _ours(out)):
        print(f"  {what}: {paper}\n    ours: {ours}")
    return png


if __name__ == "__main__":
    main()
