"""Reproduce the drift-resilient PCM MLP of seed 2 (Muñoz-Martín et al. 2021): a 784-120-10
sigmoid MLP with 4-bit digital weights on binary PCM, dummy lines and the LRS reference
column's factor K; accuracy from t0 to 1e6 t0 with and without K (Fig. 8), against ADC
bits (Fig. 4) and weight bits (Fig. 7), and the analog multilevel baseline (Fig. 6).

Writes the HDF5 file, then draws the figure from that file alone::

    python scripts/reproduce_drift_resilient.py [--out drift_resilient.h5] [--png F.png]
        [--set dataset=rand-mnist] [--set mnist_dir=~/fashion-mnist] [--seed 1]
        [--quick] [--plot-only]

(the same run as ``neuropcm run drift-resilient --out drift_resilient.h5``).
"""

from neuropcm.workloads import reproduce_main
from neuropcm.workloads.learning.drift_resilient import WORKLOAD

QUICK = ["train=10000", "test=2000", "hidden=60", "epochs=2", "instances=3",
         "sweep_instances=1", "time_points=4", "adc_sweep=[4, 6, 8]",
         "levels_sweep=[4, 16, 64]"]

if __name__ == "__main__":
    reproduce_main(WORKLOAD, __doc__, QUICK)
