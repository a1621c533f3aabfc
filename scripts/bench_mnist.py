"""Wall time per training example: the chunked cpp_standalone runner vs a naive Brian2 loop.

Both run the same network definition on the same MNIST training examples, side by side in
one process:

* runner: :func:`neuropcm.snn.clustering.run_clustering`'s engine -- compiled once, each
  chunk of examples rerun with ``device.run(run_args=...)`` (compile time excluded);
* naive: Brian2 runtime mode (Cython), one ``run()`` call per example, the input rates set
  from Python before each call.

    python scripts/bench_mnist.py [--network sidler2017] [--examples 2000] [--naive 30]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import brian2 as b
import numpy as np

from neuropcm.datasets import load_mnist
from neuropcm.snn.clustering import encode, initial_synapse_state, make_builder
from neuropcm.snn.config import load_network
from neuropcm.random import int_seed
from neuropcm.snn.runner import ChunkedRunner


def bench_runner(cfg, x, chunk, build_dir):
    with ChunkedRunner(make_builder(cfg), chunk, x.shape[1],
                       chunk * cfg.input.example_duration * b.second, mode="standalone",
                       build_dir=build_dir, dt=cfg.simulation.quantity("dt")) as runner:
        state = initial_synapse_state(cfg, 0)
        flags = {"syn.plastic": 1.0, "wta.homeostasis_on": 1.0}
        t0 = time.perf_counter()
        for k in range(len(x) // chunk):
            state, _, _ = runner.run_chunk(x[k * chunk:(k + 1) * chunk], state,
                                           int_seed(0, "train", "chunk", k), flags)
        wall = time.perf_counter() - t0
        compile_s = runner.compile_s
    return wall / (len(x) // chunk * chunk), compile_s


def bench_naive(cfg, x):
    b.prefs.codegen.target = "cython"
    b.defaultclock.dt = cfg.simulation.quantity("dt")
    built = make_builder(cfg)(np.zeros((1, x.shape[1])))
    inp = built.net["inputs"]
    built.net["inputs_example_start"].active = False
    for k, v in initial_synapse_state(cfg, 0).items():
        setattr(built.state_groups["syn"], k[4:] + "_", v)
    T = cfg.input.example_duration * b.second
    built.net.run(T)  # warm-up: code generation and compilation, excluded
    t0 = time.perf_counter()
    for row in x:
        inp.rate = row * cfg.input.quantity("max_rate")
        built.net.run(T)
    return (time.perf_counter() - t0) / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--network", default="sidler2017")
    ap.add_argument("--examples", type=int, default=2000, help="examples for the runner")
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--naive", type=int, default=30, help="examples for the naive loop")
    args = ap.parse_args()
    cfg = load_network(args.network)
    images, _ = load_mnist("train", limit=max(args.examples, args.naive))
    x = encode(images, cfg)
    with tempfile.TemporaryDirectory() as tmp:
        per_runner, compile_s = bench_runner(cfg, x[:args.examples], args.chunk, tmp)
    per_naive = bench_naive(cfg, x[:args.naive])
    print(f"network {cfg.name}: {cfg.neurons.n} neurons, {x.shape[1]} inputs, "
          f"{cfg.input.example_duration * 1e3:.0f} ms per example, "
          f"dt {cfg.simulation.dt * 1e3:g} ms")
    print(f"chunked standalone runner : {per_runner * 1e3:8.2f} ms/example "
          f"({args.examples} examples; compile {compile_s:.1f} s excluded)")
    print(f"naive loop, run()/example : {per_naive * 1e3:8.2f} ms/example "
          f"({args.naive} examples, Cython)")
    print(f"speed-up                  : {per_naive / per_runner:8.1f}x")
    print(f"60k-example epoch         : {60_000 * per_runner / 60:8.1f} min (runner)")


if __name__ == "__main__":
    main()
