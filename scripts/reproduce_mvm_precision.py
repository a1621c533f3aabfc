"""Reproduce the MVM precision of the seed tutorial (Sec. II, Fig. 5b): a 256 x 256
Gaussian matrix on PCM against b-bit fixed point, for K = 1, 2, 4, 8 devices per weight,
and its error from 1 s to 1e6 s with and without drift compensation.

Writes the HDF5 file, then draws the figure from that file alone::

    python scripts/reproduce_mvm_precision.py [--out mvm_precision.h5] [--png F.png]
        [--set instances=20 --set vectors=200] [--seed 1] [--quick] [--plot-only]

(the same run as ``neuropcm run mvm-precision --out mvm_precision.h5``).
"""

from neuropcm.workloads import reproduce_main
from neuropcm.workloads.computational_memory.mvm_precision import WORKLOAD

QUICK = ["rows=64", "cols=64", "vectors=32", "instances=4", "time_points=4"]

if __name__ == "__main__":
    reproduce_main(WORKLOAD, __doc__, QUICK)
