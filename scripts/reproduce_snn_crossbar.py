"""Reproduce the rate-coded bridge (issue 12, part 1).

1. SNN -> crossbar: ``snn-crossbar`` on a trained clustering result (test accuracy by rates
   through a crossbar over its devices, beside the spiking network's on the same images --
   the spiking test's, from its stored predictions -- against time with drift, with and
   without global compensation); the figure from the file alone.
2. Crossbar -> SNN: a float-trained 784-64-10 MLP mapped to two differential crossbars,
   run as a two-layer rate-coded Brian2 IF network on the crossbars' device states;
   float MLP / crossbar MLP / spiking accuracy and agreement at programming and +1 day.

    python scripts/reproduce_snn_crossbar.py --source data/mnist_result_s0.h5 [--quick]
"""

import argparse
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="data/mnist_result_s0.h5")
    ap.add_argument("--out", default="snn_crossbar.h5")
    ap.add_argument("--png", default="snn_crossbar.png")
    ap.add_argument("--quick", action="store_true", help="1000 test images, 100 SNN images")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--snn-images", type=int, default=300)
    a = ap.parse_args()

    from neuropcm.workloads.spiking.snn_crossbar import SnnCrossbarConfig, figure, run, summary

    cfg = SnnCrossbarConfig(source=a.source, test=1000 if a.quick else 10_000, seed=a.seed)
    out = run(cfg, a.out)
    print(summary(out))
    print("figure:", figure(out, a.png))
    # like for like: the rate readout and the spiking network on the spiking test's images
    import neuropcm.io as nio

    r = nio.open(out).results
    n = int(r.get("same_images", 0))
    if n:
        print(f"same {n} images: rate readout {100 * r['test_accuracy_rate_same']:.2f} % | "
              f"spiking network {100 * r['test_accuracy_spiking_same']:.2f} % | agreement "
              f"{100 * r['agreement_same']:.2f} % (rate readout on all {r['test_examples']}: "
              f"{100 * r['test_accuracy_rate']:.2f} %)")
    else:
        print("the source stores no spiking predictions: no comparison on the same images")

    import brian2

    from neuropcm.bridge import relative_rates
    from neuropcm.bridge.crossbar_to_snn import (crossbar_mlp_logits, mlp_crossbars,
                                                 run_crossbar_mlp_snn, train_mlp)
    from neuropcm.datasets import load_mnist

    brian2.prefs.codegen.target = "numpy"
    n = 100 if a.quick else a.snn_images
    xt, yt = load_mnist("train", limit=10_000)
    xt = relative_rates(xt)
    t0 = time.perf_counter()
    mlp = train_mlp(xt, yt, a.seed, epochs=5)
    print(f"MLP 784-{len(mlp.b1)}-10 trained in {time.perf_counter() - t0:.1f} s, train "
          f"accuracy {np.mean(np.argmax(mlp.logits(xt), 1) == yt):.3f}, hidden scale "
          f"{mlp.scale:.3g}")
    xs, ys = load_mnist("test", limit=n)
    xs = relative_rates(xs)
    xb1, xb2 = mlp_crossbars(mlp, seed=a.seed)
    acc_float = np.mean(np.argmax(mlp.logits(xs), 1) == ys)
    t1, t2 = xb1.time, xb2.time
    for t in (0.0, 86400.0):
        xb1.at(t1 + t)
        xb2.at(t2 + t)
        xbp = np.argmax(crossbar_mlp_logits(xb1, xb2, xs, mlp.scale), 1)
        t0 = time.perf_counter()
        snn = run_crossbar_mlp_snn(xb1, xb2, xs, mlp.scale, seed=a.seed).predictions()
        print(f"crossbar -> SNN (MLP) at +{t:g} s ({n} images): float MLP {acc_float:.3f}, "
              f"crossbar MLP {np.mean(xbp == ys):.3f}, spiking {np.mean(snn == ys):.3f}, "
              f"agreement {np.mean(snn == xbp):.3f}, SNN {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
