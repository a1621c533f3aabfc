"""Reproduce compressed sensing with AMP on one PCM crossbar (Le Gallo et al. 2018; seed
tutorial Fig. 6b): a 128 x 128 image at 50 % compression in 32 x 32 Haar blocks, NMSE
against iteration for float64, 4x4-bit fixed point and the PCM crossbar.

Writes the HDF5 file, then draws the figure from that file alone::

    python scripts/reproduce_compressed_sensing.py [--out compressed_sensing.h5] [--png F.png]
        [--set image=mnist --set lam=1.4] [--seed 1] [--quick] [--plot-only]

(the same run as ``neuropcm run compressed-sensing --out compressed_sensing.h5``).
"""

from neuropcm.workloads import reproduce_main
from neuropcm.workloads.computational_memory.compressed_sensing import WORKLOAD

QUICK = ["size=64", "block=16", "iterations=15"]

if __name__ == "__main__":
    reproduce_main(WORKLOAD, __doc__, QUICK)
