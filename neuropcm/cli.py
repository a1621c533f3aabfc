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
