"""``neuropcm <command>``: the command-line entry point."""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .errors import NeuroPCMError


def _devices(args) -> int:
    from .analysis import plot_device_characterisation
    from .devices.characterise import characterise

    out = characterise(args.preset, args.devices, args.seed, args.out,
                       progress=not args.quiet)
    png = plot_device_characterisation(out, args.plot)
    print(f"wrote {out} and {png}")
    return 0


def _mnist(args) -> int:
    from pathlib import Path

    from .analysis import plot_receptive_fields
    from .datasets import load_mnist
    from .snn.clustering import run_clustering
    from .snn.config import load_network

    import brian2

    # expected and harmless here: additive synaptic updates flagged as order-dependent
    brian2.BrianLogger.suppress_name("brian2.codegen.generators.base")
    cfg = load_network(args.network)
    train = load_mnist("train", mnist_dir=args.mnist_dir)
    test = load_mnist("test", mnist_dir=args.mnist_dir)
    res = run_clustering(cfg, (*train, *test), n_train=args.train, n_test=args.test,
                         epochs=args.epochs, seed=args.seed, out=args.out, resume=args.resume,
                         mode=args.mode, n_assign=args.assign, progress=not args.quiet)
    png = plot_receptive_fields(args.out, args.plot or Path(args.out).with_suffix(".png"))
    print(f"network {cfg.name}: {res['train_examples']} training examples in "
          f"{res['train_wall_s']:.1f} s ({res['ms_per_train_example']:.2f} ms/example, "
          f"compile {res['compile_s']:.1f} s)")
    print(f"test accuracy: {100 * res['test_accuracy']:.2f} % on {res['test_examples']} test "
          f"examples ({res['no_response']} without response)")
    print(f"wrote {args.out} and {png}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .devices.presets import PRESETS

    ap = argparse.ArgumentParser(prog="neuropcm", description=__doc__)
    ap.add_argument("--version", action="version", version=f"neuropcm {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("devices", help="characterise a PCM device preset (HDF5 + PNG)")
    d.add_argument("--preset", default="nandakumar2018", choices=sorted(PRESETS))
    d.add_argument("--devices", type=int, default=10_000, help="simulated devices (default 10000)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--out", default="devices.h5", help="HDF5 output (default devices.h5)")
    d.add_argument("--plot", default="devices.png", help="PNG output (default devices.png)")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=_devices)

    m = sub.add_parser("mnist", help="unsupervised MNIST clustering with PCM synapses")
    m.add_argument("--network", default="sidler2017",
                   help="network definition: a TOML file or a name in networks/ "
                        "(default sidler2017)")
    m.add_argument("--train", type=int, default=60_000, help="training examples per epoch")
    m.add_argument("--test", type=int, default=10_000, help="test examples")
    m.add_argument("--epochs", type=int, default=1)
    m.add_argument("--assign", type=int, default=None,
                   help="training examples for label assignment (default min(train, 10000))")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--out", default="mnist.h5", help="results HDF5 (default mnist.h5)")
    m.add_argument("--plot", default=None, help="receptive-field PNG (default OUT.png)")
    m.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from its checkpoint OUT.ckpt.h5")
    m.add_argument("--mnist-dir", default=None,
                   help="folder with MNIST/Fashion-MNIST IDX files (default: the offline "
                        "cache in data/)")
    m.add_argument("--mode", choices=["standalone", "runtime"], default="standalone",
                   help="cpp_standalone compiled once (default) or Brian2 runtime (debugging)")
    m.add_argument("--quiet", action="store_true", help="no progress bars")
    m.set_defaults(func=_mnist)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NeuroPCMError as e:
        print(f"neuropcm: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
