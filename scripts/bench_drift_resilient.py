"""Time one pass of the test set through seed 2's mapped MLP against the same network in
float, side by side in one run.

The network (784-120-10 sigmoid, float-trained for one epoch on 10,000 images: the time
does not depend on the weights) is mapped with 4-bit weights on binary devices, 6-bit
neuron ADCs and the LRS factor K (:mod:`neuropcm.workloads.learning._drift_network`). Timed, best
of ``--repeat``: ``MappedMLP.predict`` (layer 1 read once, layer 2 read with and without
K, as the workload does) at t0 and at 1e6 t0, and the float forward pass of the same
quantised network with the same unary code (:func:`predict_float`). With ``--wire-ohm R``
also the same network with wire resistance R per cell segment (the nodal network of
every bit plane solved once per conductance state; the cost behind ``wire_sweep``)::

    python scripts/bench_drift_resilient.py [--test 10000] [--repeat 3] [--bits 4]
        [--hidden 120] [--wire-ohm 0.01]
"""

import argparse
import time

import numpy as np

from neuropcm.datasets import load_mnist
from neuropcm.workloads.learning._drift_network import (
    MappedMLP,
    predict_float,
    quantise,
)
from neuropcm.workloads.learning._mlp import images_to_columns, train_float, with_ones


def best(f, repeat):
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return min(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--test", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--bits", type=int, default=4)
    p.add_argument("--adc-mode", default="neuron", choices=("neuron", "line"))
    p.add_argument("--hidden", type=int, default=120)
    p.add_argument("--wire-ohm", type=float, default=None)
    a = p.parse_args(argv)
    xtr, ytr = load_mnist("train", limit=10_000)
    xte, _ = load_mnist("test", limit=a.test)
    Xtr, Xte = images_to_columns(xtr), images_to_columns(xte)
    W = train_float(Xtr, ytr.astype(np.int64), (784, a.hidden, 10), seed=0, epochs=1, lr=0.5,
                    batch=10)
    L = 2 ** a.bits
    W1q, W2q = quantise(W[0], L)[0], quantise(W[1], L)[0]
    t = time.perf_counter()
    net = MappedMLP(W1q, W2q, weights="digital", levels=L, adc_bits=6, calibration=Xtr[:, :1000],
                    preset="binary", seed=0, adc_mode=a.adc_mode)
    build = time.perf_counter() - t
    X1 = with_ones(Xte)
    net.predict(X1[:, :10])  # compile the kernels
    t_float = best(lambda: predict_float(W1q, W2q, Xte), a.repeat)
    t_0 = best(lambda: net.predict(X1), a.repeat)
    net.advance_to((1e6 - 1) * 20.0)
    t_f = best(lambda: net.predict(X1), a.repeat)
    print(f"{a.test} test images, 784-{a.hidden}-10, {a.bits}-bit weights, {a.adc_mode} ADCs "
          f"(build {build:.2f} s)")
    print(f"float forward pass:         {t_float:.3f} s")
    print(f"mapped network at t0:       {t_0:.3f} s  ({t_0 / t_float:.1f} x float)")
    print(f"mapped network at 1e6 t0:   {t_f:.3f} s  ({t_f / t_float:.1f} x float; layer 2 "
          f"read twice, with and without K)")
    if a.wire_ohm is not None:
        r = a.wire_ohm
        wired = MappedMLP(W1q, W2q, weights="digital", levels=L, adc_bits=6,
                          calibration=Xtr[:, :1000], preset="binary", seed=0,
                          adc_mode=a.adc_mode, crossbar_options={
                              "wire_resistance_row": r, "wire_resistance_col": r})
        t_w = best(lambda: wired.predict(X1), 1)  # first pass: factorisations
        t_w2 = best(lambda: wired.predict(X1), a.repeat)  # cached until devices change
        print(f"with {r:g} ohm wires, first pass: {t_w:.3f} s  ({t_w / t_0:.1f} x the ideal "
              f"read at t0); again: {t_w2:.3f} s ({t_w2 / t_0:.1f} x)")


if __name__ == "__main__":
    main()
