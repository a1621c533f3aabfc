"""HDF5 helpers: atomic writes, schema checks, unit-tagged datasets, PCMArray (de)serialisation."""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import json
import os
import tempfile
import uuid
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..devices.array import STATE_UNITS, PCMArray
from ..devices.params import PARAM_CLASSES
from ..errors import ResultsFileError, SchemaError

#: Version of the file layout; readers refuse files with another major version.
SCHEMA_VERSION = 1


@contextlib.contextmanager
def atomic_h5(path, kind: str):
    """Write an HDF5 file atomically.

    Yields an open, writable ``h5py.File`` with the root attributes already set. The file is
    assembled in memory; on normal exit its bytes are written to a temporary file next to
    ``path``, synced and renamed over ``path``; on an exception nothing is written and
    ``path`` is untouched. A failed write (a full disk, a quota) raises one
    :class:`ResultsFileError` and also leaves ``path`` as it was: HDF5 never sees the
    failing disk, so no half-written file or error flood can follow.

    Parameters
    ----------
    path : str or Path
        Destination file.
    kind : str
        What produced the file (``"pcm_array"``, ``"device_characterisation"``, ...).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(f"{path}.{uuid.uuid4().hex}.mem", "w", driver="core",
                   backing_store=False) as f:
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["neuropcm_version"] = __version__
        f.attrs["kind"] = kind
        f.attrs["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat()
        yield f
        f.flush()
        image = f.id.get_file_image()
    _write_replace(path, image)


def _write_replace(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, sync it, rename it over ``path``."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as e:
        full = " -- the disk is full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else ""
        raise ResultsFileError(f"{path}: could not be written ({e.strerror}{full}; "
                               f"{len(data) / 1e6:.1f} MB needed); the previous file there, "
                               f"if any, is unchanged") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def open_h5(path, kind: str | None = None) -> h5py.File:
    """Open a NeuroPCM HDF5 file for reading, checking that it is one.

    Raises
    ------
    ResultsFileError
        The file is missing, truncated or corrupt (the message names the file).
    SchemaError
        The file is HDF5 but not a NeuroPCM file, of another schema version, or of
        another ``kind`` than requested.
    """
    path = Path(path)
    if not path.exists():
        raise ResultsFileError(f"{path}: no such file; check the path or run the command that "
                               f"writes it first")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ResultsFileError(f"{path}: not a readable HDF5 file (truncated or corrupt: {e}); "
                               f"re-create it") from None
    try:
        if "schema_version" not in f.attrs or "kind" not in f.attrs:
            raise SchemaError(f"{path}: an HDF5 file but not a NeuroPCM file (no schema_version/"
                              f"kind attributes); give a file written by NeuroPCM")
        version = int(f.attrs["schema_version"])
        if version != SCHEMA_VERSION:
            raise SchemaError(f"{path}: schema version {version}, this NeuroPCM reads version "
                              f"{SCHEMA_VERSION}; use the matching NeuroPCM version")
        if kind is not None and f.attrs["kind"] != kind:
            raise SchemaError(f"{path}: holds a {f.attrs['kind']!r}, expected a {kind!r}")
    except BaseException:
        f.close()
        raise
    return f


def write_dataset(group: h5py.Group, name: str, data, units: str, **attrs) -> h5py.Dataset:
    """Create dataset ``name`` with a ``units`` attribute (and more attributes)."""
    arr = np.asarray(data)
    kw = {"compression": "gzip", "compression_opts": 4, "shuffle": True} if arr.size > 4096 else {}
    ds = group.create_dataset(name, data=arr, **kw)
    ds.attrs["units"] = units
    for k, v in attrs.items():
        ds.attrs[k] = v
    return ds


def read_dataset(group: h5py.Group, name: str, units: str | None = None) -> np.ndarray:
    """Read dataset ``name``, checking its ``units`` attribute if given."""
    where = f"{group.file.filename}:{group.name}"
    if name not in group:
        raise SchemaError(f"{where}: dataset {name!r} is missing; the file is incomplete or of "
                          f"another kind")
    ds = group[name]
    if units is not None and ds.attrs.get("units") != units:
        raise SchemaError(f"{where}/{name}: units {ds.attrs.get('units')!r}, expected {units!r}")
    try:
        return ds[()]
    except OSError as e:
        raise ResultsFileError(f"{where}/{name}: unreadable (corrupt file: {e})") from None


def write_config(f: h5py.File, config: dict) -> None:
    """Store a run configuration as JSON in the attribute ``json`` of ``/config``."""
    g = f.require_group("config")
    g.attrs["json"] = json.dumps(config, sort_keys=True, default=_json_default)


def read_config(f: h5py.File) -> dict:
    """Read the configuration written by :func:`write_config`."""
    if "config" not in f or "json" not in f["config"].attrs:
        raise SchemaError(f"{f.filename}: no /config")
    return json.loads(f["config"].attrs["json"])


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {o!r}")


def write_array(group: h5py.Group, arr: PCMArray) -> None:
    """Write a :class:`PCMArray` (parameters and full state) into ``group``."""
    state = arr.state_dict()
    for k, v in state["arrays"].items():
        write_dataset(group, k, v, STATE_UNITS[k])
    group.attrs["model"] = arr.params.model
    group.attrs["preset"] = arr.preset
    group.attrs["params"] = json.dumps(arr.params.as_dict())
    group.attrs["param_units"] = json.dumps(arr.params.units())
    group.attrs["time"] = state["time"]
    group.attrs["time_units"] = "s"
    group.attrs["temperature"] = state["temperature"]
    group.attrs["temperature_units"] = "K"
    group.attrs["rng_state"] = json.dumps(state["rng_state"], default=_json_default)


def read_array(group: h5py.Group) -> PCMArray:
    """Read a :class:`PCMArray` written by :func:`write_array`."""
    where = f"{group.file.filename}:{group.name}"
    try:
        model = group.attrs["model"]
        cls = PARAM_CLASSES[model]
        params = cls(**json.loads(group.attrs["params"]))
        arrays = {k: read_dataset(group, k, u) for k, u in STATE_UNITS.items()}
        rng_state = json.loads(group.attrs["rng_state"])
        time, temperature = group.attrs["time"], group.attrs["temperature"]
        preset = str(group.attrs.get("preset", "custom"))
    except KeyError as e:
        raise SchemaError(f"{where}: not a PCM device array (missing {e})") from None
    return PCMArray.from_state(params, {"arrays": arrays, "time": time,
                                        "temperature": temperature, "rng_state": rng_state},
                               preset=preset)


def save_array(path, arr: PCMArray, name: str = "array", config: dict | None = None) -> Path:
    """Save a :class:`PCMArray` to ``path`` (atomically) under ``/devices/<name>``."""
    with atomic_h5(path, kind="pcm_array") as f:
        write_array(f.create_group(f"devices/{name}"), arr)
        if config is not None:
            write_config(f, config)
    return Path(path)


def load_array(path, name: str | None = None) -> PCMArray:
    """Load a :class:`PCMArray` saved by :func:`save_array` (the only one, or ``name``)."""
    with open_h5(path) as f:
        if "devices" not in f or not len(f["devices"]):
            raise SchemaError(f"{path}: holds no device arrays (/devices is missing or empty)")
        names = list(f["devices"])
        if name is None:
            if len(names) != 1:
                raise SchemaError(f"{path}: holds several device arrays {names}; pass name=")
            name = names[0]
        if name not in f["devices"]:
            raise SchemaError(f"{path}: no device array {name!r}; it holds {names}")
        return read_array(f["devices"][name])
