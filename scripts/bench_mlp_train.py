"""Time one training epoch of the mlp-train network on PCM crossbars against a float numpy
epoch of the same network, measured in the same run.

The network of ``neuropcm run mlp-train`` (784-250-10, sigmoid, per-example SGD, MNIST)
in ``--mode mixed-precision`` (default) or ``in-situ``: one epoch of ``--train`` examples
(default 60,000) on the PCM crossbars (forward and transposed crossbar reads, pulse updates,
refresh every ``refresh_every`` examples), then one epoch of plain float SGD of the same
network on the same examples in the same order (the float reference of the workload,
:class:`~neuropcm.workloads.learning._mlp_training.FloatLayer`). Prints both times and their ratio.
Target: a 60k mixed-precision epoch in <= 3 minutes on the 2-core reference machine.

    python scripts/bench_mlp_train.py [--mode mixed-precision|in-situ] [--train N]
        [--hidden H] [--blas-threads N] [--cpu-time] [--profile]

``--blas-threads N`` (default 1) sets the OPENBLAS/OMP/MKL thread counts before numpy is
imported: per-example products are small, and on a shared machine multi-threaded BLAS
waits for busy cores (a 250x31 @ 31x785 product took 20 ms with 2 threads under load,
0.35 ms with 1). ``--cpu-time`` times with the process CPU clock (steadier on a shared
machine). ``--profile`` prints the 15 most expensive functions of the PCM epoch.
"""

import argparse
import os
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", default="mixed-precision", choices=("mixed-precision", "in-situ"))
    ap.add_argument("--train", type=int, default=60_000)
    ap.add_argument("--hidden", type=int, default=250)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--blas-threads", type=int, default=1)
    ap.add_argument("--cpu-time", action="store_true")
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = str(a.blas_threads)
    clock = time.process_time if a.cpu_time else time.perf_counter

    from neuropcm.workloads.learning._mlp_training import epoch_order, train_epoch
    from neuropcm.workloads.learning.mlp_train import MlpTrainConfig, build, load_data

    c = MlpTrainConfig(mode=a.mode, train=a.train, test=1, validation=0, hidden=a.hidden,
                       seed=a.seed)
    X, y = load_data(c)[:2]
    nets = build(c, c.sizes)
    order = epoch_order(c.seed, 0, X.shape[1])
    kw = dict(lr=c.resolved("lr"), batch=c.batch, activation=c.activation)
    # warm-up (numba compilation, caches) on a few examples of throw-away networks
    warm = build(c, c.sizes)
    train_epoch(warm["pcm"], X, y, order[:50], refresh_every=25, **kw)
    train_epoch(warm["float"], X, y, order[:50], **kw)

    t = clock()
    if a.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
    train_epoch(nets["pcm"], X, y, order, refresh_every=c.n_refresh_every, **kw)
    t_pcm = clock() - t
    if a.profile:
        prof.disable()
    t = clock()
    train_epoch(nets["float"], X, y, order, **kw)
    t_float = clock() - t
    tot = [l.xb.totals() for l in nets["pcm"]]
    print(f"mlp-train {a.mode}: 784-{a.hidden}-10, {a.train} examples, batch 1, BLAS threads "
          f"{a.blas_threads}, {'CPU' if a.cpu_time else 'wall'} clock")
    print(f"PCM epoch:   {t_pcm:8.1f} s ({1e3 * t_pcm / a.train:.3f} ms/example; "
          f"{sum(x['n_set'] for x in tot)} SET, {sum(x['n_reset'] for x in tot)} RESET, "
          f"{sum(x['n_refresh'] for x in tot)} refreshed pairs)")
    print(f"float epoch: {t_float:8.1f} s ({1e3 * t_float / a.train:.3f} ms/example)")
    print(f"ratio PCM / float: {t_pcm / t_float:.2f}")
    if a.profile:
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
