"""Wall time per training example of the MNIST clustering network: the present runner
(events drawn as today) vs the previous one, side by side in one process.

Both are the chunked cpp_standalone runner of the ``mnist-clustering`` workload (compiled
once, each chunk of examples rerun with new inputs and the carried-over state; compile
time excluded), on the same network definition, MNIST examples, initial devices and
seeds:

* new: ``make_builder(cfg)``: random numbers only for the events that happen (input
  spikes drawn by their geometric gaps, device writes that are applied, read noise of
  neurons that had reads), normals by the ziggurat method, and the refresh's rewrite
  pulses as a loop over the pulses that happen (``neuropcm.snn._chain``);
* old: ``make_builder(cfg, fast=False)`` and ``ChunkedRunner(step_clock=True)``: the
  network and runner as before (a random number per input and step, one per possible
  device operation, a CPU-clock system call per time step).

The two are the same model with the same distributions; their random streams differ, so
single runs differ spike for spike. Both wall time and the simulator's CPU time are
printed: on a shared machine the CPU time is the steadier figure (with ``--threads 2`` only
the wall time shows the gain). Builds are cached in ``--build-dir``.

    python scripts/bench_mnist.py                       # 50 and 400 neurons, new vs old
                                                        # (2,000 timed after 8,000 untimed)
    python scripts/bench_mnist.py --networks sidler2017 --examples 3000 --threads 2
    python scripts/bench_mnist.py --sweep               # ms/example and accuracy, 50..1600
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import brian2 as b

from neuropcm.datasets import load_mnist
from neuropcm.random import int_seed
from neuropcm.snn.clustering import (
    encode,
    initial_synapse_state,
    make_builder,
    n_inputs,
)
from neuropcm.snn.config import load_network
from neuropcm.snn.runner import ChunkedRunner

PLASTIC = {"syn.plastic": 1.0, "wta.homeostasis_on": 1.0}
#: networks of the scaling table (--sweep) by neurons
SWEEP = {50: "sidler2017", 100: "wta100", 400: "wta400", 1600: "wta1600"}


def _runner(cfg, chunk, build_root, fast, threads):
    key = f"bench-{cfg.name}-{'new' if fast else 'old'}-c{chunk}-t{threads}"
    return ChunkedRunner(make_builder(cfg, fast=fast), chunk, n_inputs(cfg),
                         chunk * cfg.input.example_duration * b.second, mode="standalone",
                         build_dir=Path(build_root) / key, dt=cfg.simulation.quantity("dt"),
                         threads=threads, step_clock=not fast)


def _child_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children: the simulator."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_chunks(cfg, x, chunk, build_root, fast, threads, warmup=0):
    """Train on ``x`` chunk by chunk from the initial state (seed 0); wall and simulator
    CPU ms per example, compile time (s), output spikes per example -- of the examples
    after the first ``warmup`` (trained on, not timed: a network whose thresholds start
    high is silent at first, and a silent network costs less than a learning one)."""
    n_chunks = len(x) // chunk
    skip = warmup // chunk
    wall = cpu = 0.0
    spikes = 0
    state = initial_synapse_state(cfg, 0)
    with _runner(cfg, chunk, build_root, fast, threads) as r:
        for k in range(n_chunks):
            t0, c0 = time.perf_counter(), _child_cpu()
            state, si, _ = r.run_chunk(x[k * chunk:(k + 1) * chunk], state,
                                       int_seed(0, "train", "chunk", k), PLASTIC)
            if k < skip:
                continue
            wall += time.perf_counter() - t0
            cpu += _child_cpu() - c0
            spikes += len(si)
        compile_s = r.compile_s
    n = (n_chunks - skip) * chunk
    return 1e3 * wall / n, 1e3 * cpu / n, compile_s, spikes / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--networks", nargs="+", default=["sidler2017", "wta400"])
    ap.add_argument("--examples", type=int, default=2000, help="training examples timed")
    ap.add_argument("--chunk", type=int, default=500, help="examples per standalone run")
    ap.add_argument("--warmup", type=int, default=8000,
                    help="training examples before the timed ones (a multiple of --chunk): "
                         "wta400 is silent for its first ~3,000 and settles by ~8,000")
    ap.add_argument("--threads", type=int, default=0,
                    help="OpenMP threads of the new runner (0: none; the old has none)")
    ap.add_argument("--build-dir", default=os.environ.get("NEUROPCM_BENCH_BUILD",
                                                          "data/build/bench"))
    ap.add_argument("--sweep", action="store_true",
                    help="scaling table: ms/example and accuracy for 50..1600 neurons")
    ap.add_argument("--train", type=int, default=10_000, help="--sweep: training examples")
    ap.add_argument("--test", type=int, default=2_000, help="--sweep: test examples")
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SWEEP),
                    help="--sweep: network sizes (neurons)")
    ap.add_argument("--out", default="sweeps/bench_mnist", help="--sweep: results folder")
    args = ap.parse_args()
    b.BrianLogger.suppress_name("brian2.codegen.generators.base")
    if args.sweep:
        import sys

        sys.path.insert(0, str(Path(__file__).parent))
        from _bench_mnist_sweep import sweep

        sweep(args, SWEEP)
        return
    if args.examples < args.chunk:
        ap.error(f"--examples {args.examples} must be at least --chunk {args.chunk}")
    if args.warmup % args.chunk or args.warmup < 0:
        ap.error(f"--warmup {args.warmup} must be a non-negative multiple of --chunk "
                 f"{args.chunk}")
    print(f"{'network':11s} {'neurons':>7s} {'synapses':>8s} | {'old wall':>8s} {'new wall':>8s} "
          f"{'ratio':>6s} | {'old cpu':>7s} {'new cpu':>7s} {'ratio':>6s} | "
          f"{'in spk':>6s} {'out spk':>7s}   (ms per example; spikes per example)")
    for name in args.networks:
        cfg = load_network(name)
        images, _ = load_mnist("train", limit=args.warmup + args.examples)
        x = encode(images, cfg)
        ow, oc, _, _ = run_chunks(cfg, x, args.chunk, args.build_dir, False, 0, args.warmup)
        nw, nc, _, out_spk = run_chunks(cfg, x, args.chunk, args.build_dir, True, args.threads,
                                        args.warmup)
        in_spk = (x[args.warmup:] * cfg.input.max_rate * cfg.input.presentation).sum(1).mean()
        print(f"{cfg.name:11s} {cfg.neurons.n:7d} {n_inputs(cfg) * cfg.neurons.n:8d} | "
              f"{ow:8.2f} {nw:8.2f} {ow / nw:5.2f}x | {oc:7.2f} {nc:7.2f} {oc / nc:5.2f}x | "
              f"{in_spk:6.0f} {out_spk:7.1f}", flush=True)
    print(f"({args.examples} training examples timed after {args.warmup} untimed from the "
          f"initial state, chunks of "
          f"{args.chunk}, seed 0, old then new; new runner with {args.threads or 'no'} OpenMP "
          f"threads; compile time excluded; cpu: the simulator's user+system time; in spk: "
          f"expected input spikes per example)")

if __name__ == "__main__":
    main()
