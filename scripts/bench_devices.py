"""Time one SET pulse, one RESET and one read on all devices of a 1,000,000-device array.

Target (foundation issue): one SET pulse on 1e6 devices in <= 50 ms. Prints the median of
repeated runs, after a warm-up call that compiles the numba kernels, and the share of the
time spent drawing the Gaussian random numbers (numpy's generator) for comparison.

    python scripts/bench_devices.py [--devices N] [--repeats R]
"""

import argparse
import time

import numpy as np

from neuropcm import PCMArray


def timed(fn, repeats):
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--devices", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    a = PCMArray(args.devices, "nandakumar2018", seed=0)
    rng = np.random.default_rng(0)
    t_set = timed(a.set_pulse, args.repeats)
    t_rng = timed(lambda: rng.standard_normal(args.devices), args.repeats)
    t_read = timed(lambda: a.read(t=a.time + 100.0), args.repeats)
    t_reset = timed(a.reset, args.repeats)
    print(f"devices: {args.devices:,}")
    print(f"SET pulse on all devices : {t_set * 1e3:8.2f} ms  (target <= 50 ms: "
          f"{'met' if t_set <= 0.05 else 'NOT met'})")
    print(f"  of which N(0,1) draws  : {t_rng * 1e3:8.2f} ms  ({t_rng / t_set:.0%})")
    print(f"RESET on all devices     : {t_reset * 1e3:8.2f} ms")
    print(f"read on all devices      : {t_read * 1e3:8.2f} ms")


if __name__ == "__main__":
    main()
