"""Reproduce MLP training on PCM crossbars (seed tutorial Fig. 9/10a; physics.md section 6):
a 784-250-10 MLP on differential 2-PCM crossbars, trained in-situ with SET-only pulse
updates (Burr 2015: 82.9 % test after 5,000 training examples) or with mixed precision
(Nandakumar 2018: 97.40 % simulated). Draws train/test accuracy against epoch.

Writes the HDF5 file, then draws the figure from that file alone::

    python scripts/reproduce_mlp_train.py [--out mlp_train.h5] [--png F.png]
        [--set mode=mixed-precision --set epochs=10] [--seed 1] [--quick] [--plot-only]

(the same run as ``neuropcm run mlp-train --set mode=in-situ --out mlp_train.h5``). Run it
once per mode (``--set mode=in-situ`` / ``--set mode=mixed-precision``) for both panels of
the comparison.
"""

from neuropcm.workloads import reproduce_main
from neuropcm.workloads.learning.mlp_train import WORKLOAD

QUICK = ["hidden=50", "train=1000", "test=1000", "epochs=2"]

if __name__ == "__main__":
    reproduce_main(WORKLOAD, __doc__, QUICK)
