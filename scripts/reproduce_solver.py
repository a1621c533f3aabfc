"""Reproduce the mixed-precision linear solver of Le Gallo et al. (Nat. Electron. 1, 246
(2018); seed tutorial Fig. 8b) with :mod:`neuropcm.workloads.computational_memory.solver`.

Runs the ``solver`` workload (a dense N = 500 system on one crossbar with K = 4 devices per
element and a banded N = 5000 system on crossbar tiles along the diagonal with K = 8, read
1 s and 1 day after programming, beside float64 inner CG, an exact inner solve and plain
float64 CG), then draws the relative residual against refinement from the file alone::

    python scripts/reproduce_solver.py [--out solver.h5] [--png solver.png] [--quick]
                                       [--seed 0] [--set inner_steps=10 ...]

The same run: ``neuropcm run solver --out solver.h5``. The full run takes 25-40 s on a
shared 2-core machine; ``--quick`` uses N = 100 (dense) and N = 1000 (banded).
"""

from neuropcm.workloads import reproduce_main
from neuropcm.workloads.computational_memory.solver import WORKLOAD

QUICK = ["dense_n=100", "banded_n=1000"]

if __name__ == "__main__":
    reproduce_main(WORKLOAD, __doc__, QUICK)
