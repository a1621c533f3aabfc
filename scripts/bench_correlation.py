"""Speed of the correlation-detection workload against a plain numpy loop over steps.

Target (issue 10): 1e6 processes x 1e4 steps in <= 30 s on the 2-core machine. Times the
whole run (``neuropcm run correlation``: sampling, SET pulses, snapshots with reads and
scores, the HDF5 file) ``--repeats`` times after a warm-up run that compiles the numba
kernels, then a naive dense numpy loop on the same sizes -- per step N uniform draws,
a comparison with each process's firing probability, the sum M, the covariance score
``score += M * x`` and the SET pulse of the same rule on the public PCMArray API -- over
``--dense-steps`` steps, extrapolated to ``--steps`` (it does no snapshots). Prints
process-steps per second for both and their ratio.

    python scripts/bench_correlation.py [--processes N] [--steps S] [--c C] [--repeats R]
                                        [--dense-steps D]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from neuropcm.devices import PCMArray
from neuropcm.random import rng
from neuropcm.workloads.computational_memory.correlation import (
    CorrelationConfig,
    pulse_amplitude,
    run,
)


def dense_numpy(cfg: CorrelationConfig, steps: int) -> float:
    """Seconds for ``steps`` steps of the naive dense loop (same rules, numpy only)."""
    n, n_c = cfg.processes, cfg.n_correlated
    g = rng(cfg.seed, "dense")
    arr = PCMArray(n, cfg.preset, seed=rng(cfg.seed, "dense-devices"))
    prob_on = np.full(n, cfg.p)
    prob_on[:n_c] = cfg.q_on
    prob_off = np.full(n, cfg.p)
    prob_off[:n_c] = cfg.q_off
    score = np.zeros(n, np.int64)
    t = time.perf_counter()
    for _ in range(steps):
        x = g.random(n) < (prob_on if g.random() < cfg.p else prob_off)
        m = int(np.count_nonzero(x))
        score += m * x
        a = pulse_amplitude(cfg.current * m, cfg)
        if a > 0:
            arr.set_pulse(x, a)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--processes", type=int, default=1_000_000)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--c", type=float, default=0.1)
    ap.add_argument("--snapshots", type=int, default=25)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--dense-steps", type=int, default=300)
    args = ap.parse_args()
    cfg = CorrelationConfig(processes=args.processes, steps=args.steps, c=args.c,
                            snapshots=args.snapshots)
    work = args.processes * args.steps
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        run(CorrelationConfig(processes=1000, steps=10, snapshots=2), Path(tmp) / "warm.h5",
            progress=False)
        print(f"warm-up (numba compilation): {time.perf_counter() - t:.2f} s")
        walls = []
        for i in range(args.repeats):
            t = time.perf_counter()
            run(cfg.replace(seed=i), Path(tmp) / f"run{i}.h5", progress=False)
            walls.append(time.perf_counter() - t)
    best = min(walls)
    print(f"engine: {args.processes:,} processes x {args.steps:,} steps, c = {args.c:g}, "
          f"{args.snapshots} snapshots, with the HDF5 file: "
          + ", ".join(f"{w:.2f} s" for w in walls)
          + f" -> {work / best:.3g} process-steps/s (best); target <= 30 s: "
          + ("met" if best <= 30 else "NOT met"))
    t_dense = dense_numpy(cfg, args.dense_steps)
    rate_dense = args.processes * args.dense_steps / t_dense
    print(f"dense numpy loop: {args.dense_steps} steps in {t_dense:.2f} s -> "
          f"{rate_dense:.3g} process-steps/s; {args.steps:,} steps would take "
          f"{work / rate_dense:.0f} s (extrapolated)")
    print(f"speed-up of the engine over the dense loop: {work / best / rate_dense:.0f}x")


if __name__ == "__main__":
    main()
