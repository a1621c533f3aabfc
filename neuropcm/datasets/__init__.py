"""Datasets for NeuroPCM experiments.

:mod:`neuropcm.datasets.mnist`: MNIST from a verified local cache (built once from the
offline default source) or from standard IDX files in a folder you name (Fashion-MNIST too),
a strict IDX reader/writer, and rand-MNIST.
:mod:`neuropcm.datasets.idx` holds the IDX format, :mod:`neuropcm.datasets.cache` the cache
and its offline source.
"""

from .mnist import (IDX_FILES, SPLITS, build_cache, cache_path, load_mnist, rand_mnist,
                    read_idx, resolve_data_dir, write_idx)

__all__ = ["load_mnist", "rand_mnist", "read_idx", "write_idx", "build_cache", "cache_path",
           "resolve_data_dir", "IDX_FILES", "SPLITS"]
