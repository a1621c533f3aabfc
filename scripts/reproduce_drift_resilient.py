"""Reproduce the drift-resilient PCM MLP of seed 2 (Muñoz-Martín et al. 2021): a 784-120-10
sigmoid MLP with 4-bit digital weights on binary PCM, dummy lines and the LRS reference
column's factor K; accuracy from t0 to 1e6 t0 with and without K (Fig. 8), against ADC
bits (Fig. 4) and weight bits (Fig. 7), the analog multilevel baseline (Fig. 6), the
paper's line-ADC architecture beside the per-neuron one, and GOPS/W against the energy
assumptions (Table I). The summary prints the paper's number beside ours.

Writes the HDF5 file, then draws the figure from that file alone::

    python scripts/reproduce_drift_resilient.py [--out drift_resilient.h5] [--png F.png]
        [--set dataset=rand-mnist] [--set mnist_dir=~/fashion-mnist] [--seed 1]
        [--quick] [--plot-only]

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
"""

from neuropcm.workloads import reproduce_main
from neuropcm.workloads.learning.drift_resilient import WORKLOAD

QUICK = ["train=10000", "test=2000", "hidden=60", "epochs=2", "instances=3",
         "sweep_instances=1", "time_points=4", "adc_sweep=[4, 6, 8]",
         "levels_sweep=[4, 16, 64]"]

if __name__ == "__main__":
    reproduce_main(WORKLOAD, __doc__, QUICK)
