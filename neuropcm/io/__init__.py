"""HDF5 storage of NeuroPCM states and results.

Conventions (``shared/DESIGN.md``): root attributes ``schema_version``,
``neuropcm_version``, ``kind`` and ``created``; run configuration as JSON in ``/config``;
device states under ``/devices/<name>/`` with a ``units`` attribute on every dataset and a
``fletcher32`` checksum on every numeric array (values are validated on load like
constructor arguments); headline results as attributes of ``/results``. Files are
written to a temporary file and renamed into place, so an interrupted save leaves the
previous file intact.

Every kind of file the project writes is declared in :mod:`neuropcm.io.kinds` (its schema
version, headline results and datasets with units from one vocabulary, :data:`UNITS`);
``neuropcm.io.open(path)`` reads any of them back as a :class:`Result`.

One writer per output: :class:`FileLock` (:mod:`neuropcm.io.locks`), an ``flock`` that the
kernel releases when its holder dies.
"""

from .arrays import load_array, read_array, read_provenance, save_array, write_array
from .hdf5 import (SCHEMA_VERSION, atomic_h5, attr_float, attr_json, attr_str, open_h5,
                   read_config, read_dataset, write_config, write_dataset)
from .kinds import KINDS, UNITS, FileKind, get_kind, register_kind
from .locks import FileLock, LockHeld, lock_holder, try_lock, wait_lock
from .result import DatasetInfo, DeviceInfo, Result, open_result

#: ``neuropcm.io.open(path)``: any NeuroPCM file as a :class:`Result` (see
#: :func:`open_result`). Not in ``__all__``, so ``from neuropcm.io import *`` leaves the
#: built-in ``open`` alone.
open = open_result  # noqa: A001

__all__ = ["SCHEMA_VERSION", "atomic_h5", "open_h5", "write_dataset", "read_dataset",
           "write_array", "read_array", "read_provenance", "save_array", "load_array",
           "write_config", "read_config", "attr_str", "attr_json", "attr_float", "KINDS",
           "UNITS", "FileKind", "get_kind", "register_kind", "Result", "DatasetInfo",
           "DeviceInfo", "open_result", "FileLock", "LockHeld", "lock_holder", "try_lock",
           "wait_lock"]
