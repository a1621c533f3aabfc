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

from ._version import __version__
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


def _execute(w, config, out, plot, resume: bool, quiet: bool) -> int:
    """Run workload ``w`` with ``config``: outputs checked first, then the run, the figure
    (when ``plot`` is not None) and the headline lines read back from the file."""
    from .io.paths import check_output_path

    if plot is not None:
        out, png = _check_outputs(out, plot, w.kind)
    else:
        out, png = check_output_path(out, what="--out", kind=w.kind), None
    out = w.run(config, out, resume=resume, progress=not quiet)
    if png is not None:
        png = w.figure(out, png)
    print(w.summary(out))
    print(f"wrote {out}" + (f" and {png}" if png is not None else ""))
    return 0


def _run_workload(args) -> int:
    """``neuropcm run WORKLOAD``: config from defaults, --config, --seed and --set."""
    from .config import load_config
    from .random import check_seed

    w = args.workload_obj
    values = {}
    if getattr(args, "seed", None) is not None:
        values["seed"] = check_seed(args.seed, "--seed")
    sets = [f"{fld}={getattr(args, 'flag_' + fld)}" for fld, _ in w.flags.values()
            if getattr(args, "flag_" + fld, None) is not None] + list(args.sets)
    config = load_config(w.config, args.config, sets, **values)
    plot = None
    if w.figure is not None and args.plot != "none":
        plot = args.plot or Path(args.out).with_suffix(".png")
    return _execute(w, config, args.out, plot, args.resume, args.quiet)


def _devices(args) -> int:
    from .random import check_seed
    from .workloads import get_workload

    w = get_workload("device-characterisation")
    check_seed(args.seed, "--seed")
    config = w.config(preset=args.preset, devices=args.devices, seed=args.seed)
    return _execute(w, config, args.out, args.plot, False, args.quiet)


def _mnist(args) -> int:
    from .datasets import load_mnist
    from .random import check_seed
    from .snn.config import load_network
    from .workloads import get_workload
    from .workloads.spiking._mnist_plan import check_counts

    w = get_workload("mnist-clustering")
    check_seed(args.seed, "--seed")
    _check_outputs(args.out, args.plot or Path(args.out).with_suffix(".png"), w.kind)
    load_network(args.network)      # a bad definition is reported before the data is read
    n_train = len(load_mnist("train", mnist_dir=args.mnist_dir)[0])
    n_test = len(load_mnist("test", mnist_dir=args.mnist_dir)[0])
    try:
        check_counts(args.train, args.test, args.assign, args.epochs, n_train, n_test)
    except ParameterError as e:
        raise ParameterError(f"--{e}") from None  # the messages start with the option name
    config = w.config(network=args.network, train=args.train, test=args.test,
                      epochs=args.epochs, assign=args.assign, seed=args.seed,
                      mnist_dir=args.mnist_dir, mode=args.mode)
    return _execute(w, config, args.out, args.plot or Path(args.out).with_suffix(".png"),
                    args.resume, args.quiet)


def _add_run_parsers(sub) -> None:
    """``neuropcm run WORKLOAD ...``: one subcommand per registered workload, its options
    and ``--help`` text taken from the workload's config dataclass."""
    from .config import describe
    from .workloads import workloads

    run = sub.add_parser("run", help="run a workload: neuropcm run WORKLOAD --help",
                         description="Run one workload: its config from the defaults, "
                                     "--config FILE.toml, --seed and --set FIELD=VALUE (in "
                                     "that order); one HDF5 file out.")
    wsub = run.add_subparsers(dest="workload", required=True, metavar="WORKLOAD")
    for name, w in sorted(workloads().items()):
        rows = describe(w.config)
        width = max(len(r[0]) for r in rows)
        epilog = ("config fields (--set FIELD=VALUE; a field with a unit takes a quantity, "
                  "e.g. '20*ms' or '[\"1*second\", \"86400*second\"]'):\n" + "\n".join(
                      f"  {n:<{width}}  [{u or '-'}] default {d}: {doc}"
                      for n, u, d, doc in rows))
        p = wsub.add_parser(name, help=w.description, description=w.description,
                            epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--config", metavar="FILE.toml", help="TOML file of config fields")
        p.add_argument("--set", metavar="FIELD=VALUE", action="append", default=[],
                       dest="sets", help="set one config field (repeatable; dotted names for "
                                         "nested fields)")
        if any(r[0] == "seed" for r in rows):
            p.add_argument("--seed", type=int, default=None,
                           help="seed of every random stream (same as --set seed=S)")
        for flag, (fld, text) in w.flags.items():
            p.add_argument(flag, dest=f"flag_{fld}", default=None, metavar=fld.upper(),
                           help=f"{text} (= --set {fld}=...)")
        p.add_argument("--out", default=w.default_out,
                       help=f"HDF5 output (default {w.default_out})")
        if w.figure is not None:
            p.add_argument("--plot", default=None,
                           help="PNG of the run's figure (default OUT.png; 'none': no figure)")
        p.add_argument("--resume", action="store_true",
                       help=("continue from the checkpoint OUT.ckpt.h5 (the same settings are "
                             "required)") if w.resumable else "refused: this run keeps no "
                                                              "checkpoint")
        p.add_argument("--quiet", action="store_true", help="no progress bars")
        p.set_defaults(func=_run_workload, workload_obj=w)


def build_parser() -> argparse.ArgumentParser:
    from .devices.presets import PRESETS

    ap = argparse.ArgumentParser(prog="neuropcm", description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", action="version", version=f"neuropcm {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    _add_run_parsers(sub)
    from .sweep.cli import add_sweep_parser
    add_sweep_parser(sub)
    d = sub.add_parser("devices", help="characterise a PCM device preset (HDF5 + PNG); "
                                       "= neuropcm run device-characterisation")
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
    from .analysis.cli import add_analysis_parsers
    add_analysis_parsers(sub)
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
