"""HDF5 storage of NeuroPCM states and results.

Conventions (``shared/DESIGN.md``): root attributes ``schema_version``,
``neuropcm_version``, ``kind`` and ``created``; run configuration as JSON in ``/config``;
device states under ``/devices/<name>/`` with a ``units`` attribute on every dataset and a
``fletcher32`` checksum on every numeric array (values are validated on load like
constructor arguments); headline results as attributes of ``/results``. Files are
written to a temporary file and renamed into place, so an interrupted save leaves the
previous file intact.
"""

from .hdf5 import (SCHEMA_VERSION, atomic_h5, attr_float, attr_json, attr_str, load_array,
                   open_h5, read_array, read_config, read_dataset, save_array, write_array,
                   write_config, write_dataset)

__all__ = ["SCHEMA_VERSION", "atomic_h5", "open_h5", "write_dataset", "read_dataset",
           "write_array", "read_array", "save_array", "load_array", "write_config", "read_config",
           "attr_str", "attr_json", "attr_float"]
