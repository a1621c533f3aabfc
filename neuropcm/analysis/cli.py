"""``neuropcm inspect | plot | compare``: the analysis subcommands.

They only read result files (opened read-only; an image is the only thing ``plot``
writes). A foreign, damaged or newer-schema file ends with a one-line error and exit
status 2 (raised as :class:`~neuropcm.errors.NeuroPCMError`, reported by
:func:`neuropcm.cli.main`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import ParameterError

__all__ = ["add_analysis_parsers"]


def _emit(text: str) -> None:
    """Print ``text``; a reader that stops early (``| head``) ends the output quietly."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # Python's advice: point stdout at devnull, no error at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _inspect(args) -> int:
    from .inspect import describe

    _emit(describe(args.file))
    return 0


def _image_path(path, source: Path) -> Path:
    """``--out``: a suffix matplotlib writes, a writable place, not the file read, and an
    existing file there only an image NeuroPCM wrote, of the same format (its mark in the
    image's metadata: :func:`neuropcm.plotting.replace_refusal`); a user's image is never
    replaced."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..io.paths import check_output_path

    suffixes = tuple(sorted("." + t for t in FigureCanvasAgg(Figure()).get_supported_filetypes()))
    out = check_output_path(path, what="--out", suffixes=suffixes)  # images: marked ones only
    if out.exists() and out.resolve() == source.resolve():
        raise ParameterError(f"--out {str(out)!r} is the file being read; give another name")
    return out


def _plot(args) -> int:
    from ..io import open_result
    from .figures import figures_for, plot

    r = open_result(args.file)
    what = args.what
    if what is None and args.out is not None:
        what = "figure"  # --out alone: the file's main figure, as `neuropcm run` draws it
        if what not in {f.name for f in figures_for(r)}:
            raise ParameterError(f"--out {args.out!r}: a {r.kind.name!r} file has no main "
                                 f"figure; name one with --what (neuropcm plot {args.file} "
                                 f"lists them)")
    if what is None:
        figs = figures_for(r)
        if not figs:
            print(f"no figure fits {r.path} (a {r.kind.name!r} file)")
            return 0
        w = max(len(f.name) for f in figs)
        _emit("\n".join(f"{f.name:<{w}}  {f.describe(r)}" for f in figs))
        return 0
    default = r.path.with_name(f"{r.path.stem}-{what}.png")
    out = _image_path(args.out if args.out is not None else default, r.path)
    out = plot(r, what, out)
    print(f"wrote {out}")
    return 0


def _compare(args) -> int:
    from .compare import compare, gather

    results, notes = gather(args.paths)
    for n in notes:
        print(f"neuropcm: note: {n}", file=sys.stderr)
    shown = None if args.results is None else [s.strip() for s in args.results.split(",")
                                                if s.strip()]
    table = compare(results, results=shown)
    _emit(table.csv().rstrip("\n") if args.csv else table.text())
    return 0


def add_analysis_parsers(sub) -> None:
    """Add ``inspect``, ``plot`` and ``compare`` to the subparsers ``sub`` of
    ``neuropcm``."""
    p = sub.add_parser("inspect", help="what a result file holds: kind, schema, provenance, "
                                       "config, headline results, datasets with units",
                       description="Print everything a NeuroPCM HDF5 file says about itself "
                                   "(the file is only read).")
    p.add_argument("file", metavar="FILE.h5")
    p.set_defaults(func=_inspect)

    p = sub.add_parser("plot", help="draw a figure from a result file alone (without --what "
                                    "and --out: list the figures that fit it)",
                       description="Draw one figure from a NeuroPCM HDF5 file alone. With "
                                   "--out and no --what, draw the file's main figure (the one "
                                   "`neuropcm run` draws); with neither, list the figures "
                                   "that fit the file, one per line.",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE.h5")
    p.add_argument("--what", metavar="NAME", default=None,
                   help="the figure to draw (see the list; default with --out: figure)")
    p.add_argument("--out", metavar="FILE.png", default=None,
                   help="image to write (default: FILE-NAME.png beside the file)")
    p.set_defaults(func=_plot)

    p = sub.add_parser("compare", help="one table of the headline results and differing "
                                       "config fields of several result files (mean ± std "
                                       "over seeds)",
                       description="Compare result files of one kind: files and/or folders "
                                   "(a folder stands for its *.h5 files; files there of "
                                   "another kind are skipped with a note). Files whose "
                                   "configs differ only in their seed get a mean ± std "
                                   "(ddof=1) row.")
    p.add_argument("paths", nargs="+", metavar="FILE.h5|DIR")
    p.add_argument("--csv", action="store_true", help="print CSV (full precision)")
    p.add_argument("--results", metavar="NAME[,NAME...]", default=None,
                   help="headline results to show (default: the kind's headline results; "
                        "'all': every one)")
    p.set_defaults(func=_compare)
