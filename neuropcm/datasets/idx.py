"""IDX files (Y. LeCun's format of MNIST) and folders of MNIST-format IDX files.

A strict reader and an atomic writer of IDX files (gzipped or not), and the reading of one
split of an MNIST-format dataset (MNIST, Fashion-MNIST, KMNIST) from a folder holding the
standard file names :data:`IDX_FILES`.
"""

from __future__ import annotations

import gzip
import math
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetError, ParameterError, ShapeError

__all__ = ["SPLITS", "IMAGE_SHAPE", "N_CLASSES", "IDX_FILES", "read_idx", "write_idx"]

#: The splits of MNIST-format datasets.
SPLITS = ("train", "test")
#: Height and width of an MNIST image.
IMAGE_SHAPE = (28, 28)
#: Number of classes; labels lie in ``0 .. N_CLASSES - 1``.
N_CLASSES = 10
#: Standard IDX file names (images, labels) per split; each may also end in ``.gz``.
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

# IDX type codes -> big-endian numpy dtypes (Y. LeCun's format description).
_IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_IDX_CODES = {d.newbyteorder("="): c for c, d in _IDX_DTYPES.items()}
_IDX_KNOWN = ", ".join(f"0x{c:02X} {d.name}" for c, d in _IDX_DTYPES.items())


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
