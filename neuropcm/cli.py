"""``neuropcm <command>``: the command-line entry point.

Every argument is checked before long work starts (paths, counts, seed, network file) and
a bad one ends with a one-line error and exit status 2. Ctrl-C or SIGTERM stops a run at its
last complete checkpoint, says how to continue, and exits with 130 (143 for SIGTERM); at any
other moment (start-up, loading data, compiling) it says in one line that nothing was
written (or which checkpoint is kept), with the same exit status.
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
    try:
        if png is not None:
            png = w.figure(out, png)
        text = w.summary(out)
    except KeyboardInterrupt as e:
        why = f"{e} -- " if str(e) else ""
        raise RunInterrupted(f"{why}stopped after {out} was written, before its "
                             f"{'figure and ' if png is not None else ''}summary; the "
                             f"results are complete") from None
    print(text)
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
    sets = [w.flag_set(fld, getattr(args, "flag_" + fld)) for fld, _ in w.flags.values()
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


def _fit(args) -> int:
    """``neuropcm fit KIND DATA --out mine.toml``: the device-fit workload, its file
    beside the preset file (``mine.fit.h5``)."""
    from .random import check_seed
    from .workloads import get_workload

    w = get_workload("device-fit")
    check_seed(args.seed, "--seed")
    out = Path(args.out)
    if out.suffix != ".toml":
        raise ParameterError(f"--out {args.out!r} must end in .toml (the preset file)")
    config = w.config(data=args.data, kind=args.kind, base=args.base or "",
                      name=args.name or out.stem, preset_out=str(out), seed=args.seed,
                      check_devices=args.check_devices)
    return _execute(w, config, out.with_suffix(".fit.h5"), args.plot, False, args.quiet)


def _add_fit_parser(sub) -> None:
    """``neuropcm fit KIND DATA --out FILE.toml``, one sub-command per kind of
    measurement (:data:`neuropcm.devices.fit.FITTERS`)."""
    from .devices.fit import FITTERS

    f = sub.add_parser("fit", help="fit the device model to measurements: a preset file "
                                   "(= neuropcm run device-fit)",
                       description="Fit one relation of the device model to measurements "
                                   "(CSV in long format or HDF5; neuropcm/data/README.md) and "
                                   "write a preset file usable wherever a preset is, plus "
                                   "the fit's HDF5 file (OUT with .fit.h5).")
    kinds = f.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind in FITTERS:
        k = kinds.add_parser(kind, help=f"fit the {kind} relation")
        k.add_argument("data", metavar="DATA", help="measurements (.csv or .h5)")
        k.add_argument("--out", required=True, metavar="FILE.toml", help="preset file to write")
        k.add_argument("--plot", default=None, metavar="FILE.png",
                       help="the fit report (default: none; neuropcm plot OUT.fit.h5 draws "
                            "it later)")
        k.add_argument("--base", default=None, help="built-in preset whose other fields are "
                                                   "kept (default: the fitter's)")
        k.add_argument("--name", default=None, help="name of the preset (default: OUT's stem)")
        k.add_argument("--check-devices", type=int, default=2000, dest="check_devices",
                       help="simulated devices of the posterior-predictive check")
        k.add_argument("--seed", type=int, default=0)
        k.add_argument("--quiet", action="store_true", help="no progress bar")
        k.set_defaults(func=_fit)


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
    """The parser of the ``neuropcm`` command: every sub-command and its options (the
    workloads' ``run`` sub-commands and choices read from the registries)."""
    from .devices.presets import PRESETS

    ap = argparse.ArgumentParser(prog="neuropcm", description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", action="version", version=f"neuropcm {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    _add_run_parsers(sub)
    from .sweep.cli import add_sweep_parser
    add_sweep_parser(sub)
    _add_fit_parser(sub)
    d = sub.add_parser("devices", help="characterise a PCM device preset (HDF5 + PNG); "
                                       "= neuropcm run device-characterisation")
    d.add_argument("--preset", default="nandakumar2018", metavar="PRESET",
                   help=f"a built-in preset ({', '.join(sorted(PRESETS))}), a preset file "
                        f"(.toml, e.g. from neuropcm fit) or its name in the user preset "
                        f"folder (default nandakumar2018)")
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


def _out_from_argv(argv: list[str]):
    """``--out`` of a resumable command line not parsed yet (interrupted while the parser
    was being built), else None."""
    for i, a in enumerate(argv):
        if a == "--out" and i + 1 < len(argv):
            out = argv[i + 1]
        elif a.startswith("--out="):
            out = a[len("--out="):]
        else:
            continue
        return out if argv[:1] in (["mnist"], ["run"]) else None
    if argv[:1] == ["mnist"]:
        return "mnist.h5"
    if argv[:1] == ["run"] and len(argv) > 1:
        from .workloads import get_workload

        w = get_workload(argv[1])
        return w.default_out if w.resumable else None
    return None


def _kept_checkpoint(args, argv: list[str]):
    """The checkpoint a ``--resume`` of the command would continue from, if one exists
    (None for a command whose run keeps none)."""
    try:
        if args is None:
            out = _out_from_argv(argv)
        else:
            w = getattr(args, "workload_obj", None)
            resumable = getattr(args, "command", None) == "mnist" or \
                getattr(w, "resumable", False)
            out = getattr(args, "out", None) if resumable else None
        if out is None:
            return None
        from .workloads._checkpoint import checkpoint_path

        ckpt = checkpoint_path(out)
        return ckpt if ckpt.is_file() else None
    except Exception:  # noqa: BLE001  (only for the message)
        return None


def _interrupted(e: KeyboardInterrupt, argv: list[str], args) -> int:
    """Ctrl-C or SIGTERM, wherever it came: one line saying what was kept (a second with
    the command that continues, when a checkpoint can be resumed); 130, or 143 for
    SIGTERM."""
    terminated = bool(_TERMINATED)
    if isinstance(e, RunInterrupted):
        print(f"neuropcm: {e}", file=sys.stderr)
        ckpt = getattr(e, "checkpoint", None)
    else:  # before or outside a run's own handling (start-up, data loading, compiling)
        what = "terminated (SIGTERM)" if terminated else "interrupted"
        ckpt = _kept_checkpoint(args, argv)
        if ckpt is not None:
            print(f"neuropcm: {what}; nothing new was written, the checkpoint {ckpt} is "
                  f"kept", file=sys.stderr)
        else:
            print(f"neuropcm: {what}; nothing was written", file=sys.stderr)
    if ckpt is not None:
        print(f"neuropcm: to continue: {_resume_command(argv)}", file=sys.stderr)
    return 143 if terminated else 130


def main(argv=None) -> int:
    """Run the ``neuropcm`` command with ``argv`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 done, 2 bad input (one line on stderr), 130 interrupted
        (143 by SIGTERM); a sub-command may add its own (``sweep``: 1, some points
        failed).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = None
    args = None
    _TERMINATED.clear()
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        try:
            args = build_parser().parse_args(argv)
            return args.func(args)
        except KeyboardInterrupt as e:  # anywhere: start-up, parsing, the run, the figure
            # a second Ctrl-C while the message is written must not end in a traceback
            with _sigint_ignored():
                return _interrupted(e, argv, args)
        except NeuroPCMError as e:
            print(f"neuropcm: error: {e}", file=sys.stderr)
            if getattr(e, "checkpoint", None) is not None:
                print(f"neuropcm: once fixed, continue with: {_resume_command(argv)}",
                      file=sys.stderr)
            return 2
    except KeyboardInterrupt as e:  # a second Ctrl-C while the first was reported
        return 143 if _TERMINATED or "SIGTERM" in str(e) else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class _sigint_ignored:
    """SIGINT ignored inside (main thread only; elsewhere nothing changes)."""

    def __enter__(self):
        try:
            self._old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:
            self._old = None
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
