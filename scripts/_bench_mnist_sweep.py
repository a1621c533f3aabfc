"""The scaling table of ``bench_mnist.py --sweep``: one ``mnist-clustering`` run per network
size, ms per training example and test accuracy beside the synaptic events per example.

Each run is the workload itself (``run_clustering``: compiled once per network, trained in
chunks, labelled, tested; results files in ``--out``). Events per example: presynaptic
(input spikes x neurons: efficacy reads) and postsynaptic (output spikes x inputs: STDP
updates), from the run's own spike counts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def sweep(args, sizes: dict) -> None:
    from neuropcm.datasets import load_mnist
    from neuropcm.io import open_h5
    from neuropcm.snn.clustering import encode, n_inputs
    from neuropcm.snn.config import load_network
    from neuropcm.workloads.spiking._mnist_run import run_clustering

    train = load_mnist("train")
    test = load_mnist("test")
    out = Path(getattr(args, "out", None) or "sweeps/bench_mnist")
    out.mkdir(parents=True, exist_ok=True)
    print(f"{'network':11s} {'neurons':>7s} {'synapses':>9s} {'ms/ex':>7s} {'accuracy':>8s} "
          f"{'pre ev/ex':>10s} {'post ev/ex':>10s} {'ns/event':>8s}")
    for n in args.sizes:
        if n not in sizes:
            raise SystemExit(f"--sizes {n}: known sizes {sorted(sizes)}")
        cfg = load_network(sizes[n])
        path = out / f"{cfg.name}_train{args.train}_seed0.h5"
        res = run_clustering(cfg, (*train, *test), n_train=args.train, n_test=args.test,
                             seed=0, out=path, progress=False, threads=args.threads)
        x = encode(train[0][:2000], cfg)
        in_spk = float((x * cfg.input.max_rate * cfg.input.presentation).sum(1).mean())
        with open_h5(path) as f:
            out_spk = float(np.mean(f["results/train_spikes_per_example"][:]))
        pre_ev, post_ev = in_spk * cfg.neurons.n, out_spk * n_inputs(cfg)
        ms = 1e3 * res["s_per_train_example"]
        print(f"{cfg.name:11s} {cfg.neurons.n:7d} {n_inputs(cfg) * cfg.neurons.n:9d} "
              f"{ms:7.2f} {100 * res['test_accuracy']:7.2f}% {pre_ev:10.0f} {post_ev:10.0f} "
              f"{1e6 * ms / (pre_ev + post_ev):8.2f}", flush=True)
    print(f"({args.train} training / {args.test} test examples, seed 0, one seed: accuracy "
          f"varies by seed; {args.threads or 'no'} OpenMP threads; compile time excluded)")
