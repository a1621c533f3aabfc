"""Time the noisy PCM crossbar MVM against a plain float32 numpy matmul of the same shape.

For 256x256 and 1024x1024 matrices at batch 1 and 256: a Crossbar with the joshi2020
device (differential mapping, programming noise, drift at t = 1 h, read noise drawn on
every read, float32) against ``W32 @ X32`` on the same float32 input. Prints the median
times and their ratio. Issue targets: batched <= 2x the float32 matmul, batch 1 <= 10x
the float32 matvec.

The exact noisy read costs two products (mean ``M x`` and variance ``V x^2``) plus one
Gaussian number per output, so a batched ratio of 2 is the floor of the method.

    python scripts/bench_crossbar.py [--repeats R] [--blas-threads N]

``--blas-threads N`` sets OPENBLAS/OMP/MKL thread counts before numpy is imported (both
sides use the same BLAS); on a machine shared with other jobs, multi-threaded BLAS timings
jump in multiples of the scheduler tick, and ``--blas-threads 1`` gives stable ratios.
"""

import argparse
import os
import time


def timed(fn, repeats, min_time=0.2):
    import numpy as np

    fn()
    fn()
    inner = 1
    while True:  # enough calls per sample for a stable timer
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        if time.perf_counter() - t > min_time / repeats or inner > 10000:
            break
        inner *= 2
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        ts.append((time.perf_counter() - t) / inner)
    return float(np.median(ts))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--blas-threads", type=int, default=None)
    args = ap.parse_args()
    if args.blas_threads is not None:
        for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[v] = str(args.blas_threads)
    import numpy as np

    from neuropcm.crossbar import Crossbar

    rng = np.random.default_rng(0)
    print(f"BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'default')} of "
          f"{os.cpu_count()} CPUs; device joshi2020, differential, float32, t = 3600 s, "
          f"read noise on")
    print(f"{'shape':>10} {'batch':>6} {'PCM MVM':>12} {'numpy f32':>12} {'ratio':>7} "
          f"{'per vector':>12}  target")
    for n in (256, 1024):
        W = rng.standard_normal((n, n))
        xb = Crossbar(W, "joshi2020", seed=1, dtype="float32")
        xb.at(3600.0)
        W32 = W.astype(np.float32)
        for batch in (1, 256):
            X32 = rng.standard_normal((n, batch) if batch > 1 else n).astype(np.float32)
            xb @ X32  # builds the cached effective matrices at this time
            t_pcm = timed(lambda: xb @ X32, args.repeats)
            t_np = timed(lambda: W32 @ X32, args.repeats)
            target = 2.0 if batch > 1 else 10.0
            r = t_pcm / t_np
            print(f"{n:>4}x{n:<5} {batch:>6} {t_pcm * 1e6:>9.1f} us {t_np * 1e6:>9.1f} us "
                  f"{r:>6.2f}x {t_pcm / batch * 1e6:>9.2f} us  <= {target:g}x: "
                  f"{'met' if r <= target else 'NOT met'}")


if __name__ == "__main__":
    main()
