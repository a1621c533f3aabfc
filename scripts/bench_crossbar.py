"""Time the noisy PCM crossbar MVM against a plain float32 numpy matmul of the same shape.

For 256x256 and 1024x1024 matrices at batch 1 and 256: a Crossbar with the joshi2020
device (differential mapping, programming noise, drift at t = 1 h, read noise drawn on
every read, float32) against ``W32 @ X32`` on the same float32 input. The two are timed
side by side in one run, interleaved sample by sample (PCM, numpy, PCM, numpy, ...), so
that load from other processes hits both alike; the table gives the median times and the
median and range of the per-sample ratios. Targets: batched <= 2.5x the float32 matmul,
batch 1 <= 10x the float32 matvec.

The exact noisy read costs two products (mean ``M x`` and variance ``V x^2``) plus one
Gaussian number per output, so a batched ratio of 2 plus the cost of the Gaussian draws
is the floor of the method.

    python scripts/bench_crossbar.py [--repeats R] [--rounds K] [--blas-threads N]
                                     [--noise-threads T] [--cpu-time] [--ir-drop]

``--ir-drop`` adds the read with wire resistance (:func:`ir_drop`): 256 vectors through a
256x256 array solved as a resistive network, against the ideal read (target <= 20x with
the factorisation reused), and the one-off cost of building the network;
``--ir-drop-only`` runs only that.

``--rounds K`` repeats the whole table K times (one line per round and case).
``--blas-threads N`` sets OPENBLAS/OMP/MKL thread counts before numpy is imported (both
sides use the same BLAS); on a machine shared with other jobs, multi-threaded BLAS timings
jump in multiples of the scheduler tick, and ``--blas-threads 1`` gives steadier ratios.
``--cpu-time`` times with the calling thread's CPU clock (``time.thread_time``) instead of
the wall clock: with ``--blas-threads 1`` all work runs on that thread, so the ratios do not
depend on what else the machine runs (the steadiest measure on a shared machine).
``--noise-threads T`` sets :data:`neuropcm.crossbar._kernels.NOISE_THREADS` (threads that
share the float32 noise pass; results do not depend on it).
"""

import argparse
import os
import time

CLOCK = time.perf_counter


def _inner(fn, budget):
    """Calls per sample so that one sample lasts about ``budget`` seconds."""
    fn()
    fn()
    inner = 1
    while True:
        t = CLOCK()
        for _ in range(inner):
            fn()
        if CLOCK() - t > budget or inner > 10000:
            return inner
        inner *= 2


def _sample(fn, inner):
    t = CLOCK()
    for _ in range(inner):
        fn()
    return (CLOCK() - t) / inner


def side_by_side(f_a, f_b, repeats, budget=0.02):
    """Interleaved samples of two functions: median times and per-sample ratios a/b."""
    import numpy as np

    ia, ib = _inner(f_a, budget), _inner(f_b, budget)
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(_sample(f_a, ia))
        tb.append(_sample(f_b, ib))
    ta, tb = np.array(ta), np.array(tb)
    r = ta / tb
    return float(np.median(ta)), float(np.median(tb)), float(np.median(r)), float(r.min()), \
        float(r.max())


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--blas-threads", type=int, default=None)
    ap.add_argument("--noise-threads", type=int, default=None)
    ap.add_argument("--cpu-time", action="store_true")
    ap.add_argument("--ir-drop", action="store_true", help="also time the IR-drop read")
    ap.add_argument("--ir-drop-only", action="store_true", help="time only the IR-drop read")
    args = ap.parse_args()
    if args.cpu_time:
        global CLOCK
        CLOCK = time.thread_time
    if args.blas_threads is not None:
        for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[v] = str(args.blas_threads)
    import numpy as np

    from neuropcm.crossbar import Crossbar, _kernels

    if args.noise_threads is not None:
        _kernels.NOISE_THREADS = args.noise_threads
    rng = np.random.default_rng(0)
    print(f"BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'default')} of "
          f"{os.cpu_count()} CPUs; device joshi2020, differential, float32, t = 3600 s, "
          f"read noise on; noise threads {_kernels.NOISE_THREADS}; {args.repeats} "
          f"interleaved samples per case; {'CPU' if args.cpu_time else 'wall'} clock")
    if args.ir_drop_only:
        ir_drop(args.repeats)
        return
    print(f"{'shape':>10} {'batch':>6} {'PCM MVM':>12} {'numpy f32':>12} {'ratio':>7} "
          f"{'(min-max)':>13} {'per vector':>12}  target")
    cases = []
    for n in (256, 1024):
        W = rng.standard_normal((n, n))
        xb = Crossbar(W, "joshi2020", seed=1, dtype="float32")
        xb.at(3600.0)
        W32 = W.astype(np.float32)
        for batch in (1, 256):
            X32 = rng.standard_normal((n, batch) if batch > 1 else n).astype(np.float32)
            xb @ X32  # builds the cached effective matrices at this time
            cases.append((n, batch, xb, W32, X32))
    for _ in range(args.rounds):
        for n, batch, xb, W32, X32 in cases:
            t_pcm, t_np, r, lo, hi = side_by_side(lambda xb=xb, X32=X32: xb @ X32,
                                                  lambda W32=W32, X32=X32: W32 @ X32,
                                                  args.repeats)
            target = 2.5 if batch > 1 else 10.0
            print(f"{n:>4}x{n:<5} {batch:>6} {t_pcm * 1e6:>9.1f} us {t_np * 1e6:>9.1f} us "
                  f"{r:>6.2f}x ({lo:>4.2f}-{hi:>5.2f}) {t_pcm / batch * 1e6:>9.2f} us  "
                  f"<= {target:g}x: {'met' if r <= target else 'NOT met'}", flush=True)
    if args.ir_drop:
        ir_drop(args.repeats)


def ir_drop(repeats):
    """IR drop: a batch of 256 through a 256x256 array with wire, driver and sense
    resistance (the solved network, neuropcm.crossbar.circuit) against the ideal read of
    the same crossbar settings, side by side (target: <= 20x); reads reuse the network's
    matrix T until the conductances change. The one-off build is timed apart: the
    crossbar's first read (G+ and G-: assembly, factorisation, T from the heads' Schur
    complement), and for one array the network's parts against T solved line by line
    from the same factorisation (``transfer(method="solve")``, the earlier method)."""
    import numpy as np

    from neuropcm.crossbar import Crossbar
    from neuropcm.crossbar.circuit import NodalNetwork

    rng = np.random.default_rng(0)
    n, batch = 256, 256
    W = rng.standard_normal((n, n))
    X = rng.standard_normal((n, batch)).astype(np.float32)
    r = {"wire_resistance_row": 2.5, "wire_resistance_col": 2.5, "driver_resistance": 100.0,
         "sense_resistance": 100.0}
    ideal = Crossbar(W, "joshi2020", seed=1, dtype="float32").at(3600.0)
    solved = Crossbar(W, "joshi2020", seed=1, dtype="float32", **r).at(3600.0)
    ideal @ X
    t = CLOCK()
    solved @ X  # factorises G+ and G- and forms their network matrices
    t_build = CLOCK() - t
    t = CLOCK()
    solved.H @ X  # the transposed networks
    t_build_h = CLOCK() - t
    t_ir, t_id, q, lo, hi = side_by_side(lambda: solved @ X, lambda: ideal @ X, repeats)
    print(f"IR drop {n}x{n}, wires 2.5 ohm/cell, driver and sense 100 ohm, batch {batch}:")
    print(f"  solved read {t_ir * 1e6:.1f} us, ideal read {t_id * 1e6:.1f} us, ratio "
          f"{q:.2f}x ({lo:.2f}-{hi:.2f}); target <= 20x: {'met' if q <= 20 else 'NOT met'}")
    print(f"  one-off build: forward {t_build:.2f} s, transposed {t_build_h:.2f} s "
          f"({solved.n_factorisations} factorisations); build + one read = "
          f"{(t_build + t_ir) / t_id:.0f} ideal reads", flush=True)
    g = solved.arrays["G_plus"].read_moments(clipped=True)[0][0].T
    t = CLOCK()
    net = NodalNetwork(g, *r.values())
    t_fac = CLOCK() - t
    t = CLOCK()
    T = net.transfer()
    t_schur = CLOCK() - t
    t = CLOCK()
    T_solve = net.transfer(method="solve")
    t_solve = CLOCK() - t
    err = np.abs(T - T_solve).max() / np.abs(T_solve).max()
    print(f"  one network ({net.size} nodes): assembly + factorisation {t_fac:.2f} s; T from "
          f"the heads' Schur complement {t_schur:.3f} s against one solve per line "
          f"{t_solve:.2f} s ({t_solve / t_schur:.0f}x; max relative difference {err:.1e})",
          flush=True)


if __name__ == "__main__":
    main()
