"""Reproduce MLP training on PCM crossbars (seed tutorial Fig. 9/10; physics.md section 6)
and print the paper's number beside ours:

* ``--set mode=in-situ`` (default): SET-only pulse updates on 2 PCM per weight (Burr 2015:
  82.9 % test after 5,000 training examples); ``--set network=burr2015`` for their
  528-250-125-10 network on cropped images;
* ``--set mode=mixed-precision``: chi accumulation (Nandakumar 2018: 97.40 % simulated);
* ``--set mode=3t1c``: 3T1C fast weights with program-and-verify transfer to PCM and
  polarity inversion (Ambrogio 2018: software-equivalent; the float SGD reference on the
  same examples is printed beside it).

Writes the HDF5 file, then draws the figure from that file alone::

    python scripts/reproduce_mlp_train.py [--out mlp_train.h5] [--png F.png]
        [--set mode=mixed-precision --set epochs=10] [--seed 1] [--quick] [--plot-only]

(the same run as ``neuropcm run mlp-train --set ... --out mlp_train.h5``). The reported
epoch is selected on the held-out validation split (``validation``), never on the test set.
Multi-PCM synapses against N: scripts/reproduce_mlp_multi_pcm.py.
"""

import argparse

from neuropcm.io import open_h5, read_config
from neuropcm.workloads import reproduce_main
from neuropcm.workloads.learning._mlp_results import PAPER
from neuropcm.workloads.learning.mlp_train import WORKLOAD

QUICK = ["hidden=50", "train=1000", "test=1000", "validation=1000", "epochs=2"]


def paper_beside_ours(path) -> str:
    """One line: the paper's accuracy, ours (final and at the validation-selected epoch)
    and the float SGD reference on the same examples."""
    with open_h5(path, kind=WORKLOAD.kind) as f:
        mode = read_config(f)["mode"]
        r = dict(f["results"].attrs)
    paper, label = PAPER[mode]
    return (f"paper: {label}\nours:  final {100 * r['test_accuracy']:.2f} %, at the "
            f"validation-selected epoch {int(r['selected_epoch'])} "
            f"{100 * r['selected_test_accuracy']:.2f} % (paper {100 * paper:.1f} %); float "
            f"SGD on the same examples {100 * r['float_test_accuracy']:.2f} %")


if __name__ == "__main__":
    reproduce_main(WORKLOAD, __doc__, QUICK)
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--out", default=WORKLOAD.default_out)
    print(paper_beside_ours(out.parse_known_args()[0].out))
