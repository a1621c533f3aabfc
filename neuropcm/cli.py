"""``neuropcm <command>``: the command-line entry point.

Every argument is checked before long work starts (paths, counts, seed, network file) and
a bad one ends with a one-line error and exit status 2. Ctrl-C or SIGTERM stops a run at its
last complete checkpoint, says how to continue, and exits with 130 (143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from pathlib import Path

from . import __version__
from .errors import NeuroPCMError, ParameterError, RunInterrupted

#: Signature of the first bytes of image files the plots may replace.
_IMAGE_SIGNATURES = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF"}


def _check_plot_path(path, what: str) -> Path:
    """``--plot``: a file name with a suffix matplotlib can write, in a writable place."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .io.paths import check_output_path

    suffixes = tuple(sorted("." + t for t in FigureCanvasAgg(Figure()).get_supported_filetypes()))
    return check_output_path(path, what=what, suffixes=suffixes,
                             signature=_IMAGE_SIGNATURES.get(Path(path).suffix.lower()))


def _check_outputs(out, plot, kind: str) -> tuple[Path, Path]:
    from .io.paths import check_output_path

    out = check_output_path(out, what="--out", kind=kind)
    png = _check_plot_path(plot, "--plot")
    if png.resolve() == out.resolve():
        raise ParameterError(f"--plot {str(png)!r} is the same file as --out; give another name")
    return out, png


def _devices(args) -> int:
    from .analysis import plot_device_characterisation
    from .devices.characterise import characterise
    from .random import check_seed

    check_seed(args.seed, "--seed")
    out, png = _check_outputs(args.out, args.plot, "device_characterisation")
    out = characterise(args.preset, args.devices, args.seed, out, progress=not args.quiet)
    png = plot_device_characterisation(out, png)
    print(f"wrote {out} and {png}")
    return 0


def _mnist(args) -> int:
    from .analysis import plot_receptive_fields
    from .datasets import load_mnist
    from .random import check_seed
    from .snn.clustering import check_counts, run_clustering
    from .snn.config import load_network

    import brian2

    # expected and harmless here: additive synaptic updates flagged as order-dependent
    brian2.BrianLogger.suppress_name("brian2.codegen.generators.base")
    check_seed(args.seed, "--seed")
    out, png = _check_outputs(args.out, args.plot or Path(args.out).with_suffix(".png"),
                              "mnist_clustering")
    cfg = load_network(args.network)
    train = load_mnist("train", mnist_dir=args.mnist_dir)
    test = load_mnist("test", mnist_dir=args.mnist_dir)
    try:
        check_counts(args.train, args.test, args.assign, args.epochs, len(train[0]),
                     len(test[0]))
    except ParameterError as e:
        raise ParameterError(f"--{e}") from None  # the messages start with the option name
    res = run_clustering(cfg, (*train, *test), n_train=args.train, n_test=args.test,
                         epochs=args.epochs, seed=args.seed, out=out, resume=args.resume,
                         mode=args.mode, n_assign=args.assign, progress=not args.quiet)
    png = plot_receptive_fields(out, png)
    print(f"network {cfg.name}: {res['train_examples']} training examples in "
          f"{res['train_wall_s']:.1f} s ({1e3 * res['s_per_train_example']:.2f} ms/example, "
          f"compile {res['compile_s']:.1f} s)")
    print(f"test accuracy: {100 * res['test_accuracy']:.2f} % on {res['test_examples']} test "
          f"examples ({res['no_response']} without response)")
    print(f"wrote {out} and {png}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .devices.presets import PRESETS

    ap = argparse.ArgumentParser(prog="neuropcm", description=__doc__.split("\n\n")[0])
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
    m.add_argument("--train", type=int, default=60_000,
                   help="training examples per epoch (at most the 60000 of MNIST)")
    m.add_argument("--test", type=int, default=10_000, help="test examples (at most 10000)")
    m.add_argument("--epochs", type=int, default=1)
    m.add_argument("--assign", type=int, default=None,
                   help="training examples for label assignment (default min(train, 10000))")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--out", default="mnist.h5", help="results HDF5 (default mnist.h5)")
    m.add_argument("--plot", default=None, help="receptive-field PNG (default OUT.png)")
    m.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from its checkpoint OUT.ckpt.h5 (the "
                        "same settings are required)")
    m.add_argument("--mnist-dir", default=None,
                   help="folder with MNIST/Fashion-MNIST IDX files (default: the offline "
                        "cache in data/)")
    m.add_argument("--mode", choices=["standalone", "runtime"], default="standalone",
                   help="cpp_standalone compiled once (default) or Brian2 runtime (debugging)")
    m.add_argument("--quiet", action="store_true", help="no progress bars")
    m.set_defaults(func=_mnist)
    return ap


_TERMINATED = []


def _on_sigterm(signum, frame):
    """SIGTERM is handled like Ctrl-C (remembered for the exit status)."""
    _TERMINATED.append(signum)
    raise KeyboardInterrupt("terminated (SIGTERM)")


def _resume_command(argv: list[str]) -> str:
    return shlex.join(["neuropcm", *argv] + ([] if "--resume" in argv else ["--resume"]))


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    previous = None
    _TERMINATED.clear()
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        return args.func(args)
    except KeyboardInterrupt as e:
        terminated = bool(_TERMINATED)
        print(f"neuropcm: {e if isinstance(e, RunInterrupted) else 'interrupted'}",
              file=sys.stderr)
        if getattr(e, "checkpoint", None) is not None:
            print(f"neuropcm: to continue: {_resume_command(argv)}", file=sys.stderr)
        return 143 if terminated else 130
    except NeuroPCMError as e:
        print(f"neuropcm: error: {e}", file=sys.stderr)
        if getattr(e, "checkpoint", None) is not None:
            print(f"neuropcm: once fixed, continue with: {_resume_command(argv)}",
                  file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
