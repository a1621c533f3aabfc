"""Reproduce the rate-coded bridge (issue 12, part 1).

1. SNN -> crossbar: ``snn-crossbar`` on a trained clustering result (test accuracy by rates
   through a crossbar over its devices, beside the stored spiking accuracy, against time
   with drift, with and without global compensation); the figure from the file alone.
2. Crossbar -> SNN: a softmax classifier stored on a crossbar, run as a rate-coded Brian2
   network on the crossbar's device states; accuracy beside the crossbar MVM's.

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

    from neuropcm.workloads.snn_crossbar import SnnCrossbarConfig, figure, run, summary

    cfg = SnnCrossbarConfig(source=a.source, test=1000 if a.quick else 10_000, seed=a.seed)
    out = run(cfg, a.out)
    print(summary(out))
    print("figure:", figure(out, a.png))

    import brian2

    from neuropcm.bridge import relative_rates, run_rate_snn, train_softmax, with_bias
    from neuropcm.crossbar import Crossbar
    from neuropcm.datasets import load_mnist

    brian2.prefs.codegen.target = "numpy"
    n = 100 if a.quick else a.snn_images
    xt, yt = load_mnist("train", limit=10_000)
    W, b = train_softmax(relative_rates(xt), yt, a.seed, epochs=5)
    xs, ys = load_mnist("test", limit=n)
    X = with_bias(relative_rates(xs))
    xb = Crossbar(np.hstack([W, b[:, None]]), "joshi2020", seed=a.seed)
    acc_float = np.mean(np.argmax(X @ np.hstack([W, b[:, None]]).T, 1) == ys)
    t_p = xb.time
    for t in (0.0, 86400.0):
        xb.at(t_p + t)
        mvm = np.argmax((xb @ X.T).T, 1)
        t0 = time.perf_counter()
        snn = np.argmax(run_rate_snn(xb.effective_weights()[0], X, seed=a.seed), 1)
        print(f"crossbar -> SNN at +{t:g} s ({n} images): float {acc_float:.3f}, "
              f"crossbar MVM {np.mean(mvm == ys):.3f}, spiking {np.mean(snn == ys):.3f}, "
              f"agreement {np.mean(snn == mvm):.3f}, SNN {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
