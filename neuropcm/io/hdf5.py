"""HDF5 helpers: atomic writes, schema and headline checks, unit-tagged datasets, configs
(device arrays: :mod:`neuropcm.io.arrays`)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import hashlib
import json
import os
import tempfile
import uuid
from pathlib import Path

import h5py
import numpy as np

from .._version import __version__
from ..devices.presets import PRESETS, get_preset
from ..errors import ParameterError, ResultsFileError, SchemaError, UnknownPresetError
from ..plotting import file_mode
from .kinds import KINDS, check_units, get_kind
from .paths import check_replace, is_lock_error, locked_message

#: The layout version every file kind started at. The root ``schema_version`` of a file is
#: its kind's version (:attr:`~neuropcm.io.kinds.FileKind.schema_version`); readers refuse
#: any other.
SCHEMA_VERSION = 1

#: Root attribute holding the sha256 of the headline results (:func:`results_checksum`),
#: written by :func:`atomic_h5` and checked by :func:`open_h5`.
RESULTS_SHA256 = "results_sha256"


@contextlib.contextmanager
def atomic_h5(path, kind: str):
    """Write an HDF5 file atomically.

    Yields an open, writable ``h5py.File`` with the root attributes already set. The file is
    assembled in memory; on normal exit the sha256 of the headline results (the attributes
    of ``/results``, :func:`results_checksum`) is stored as the root attribute
    ``results_sha256`` (so that :func:`open_h5` refuses a file whose headlines were edited
    afterwards), then its bytes are written to a temporary file next to
    ``path``, synced and renamed over ``path``; on an exception nothing is written and
    ``path`` is untouched. A failed write (a full disk, a quota) raises one
    :class:`ResultsFileError` and also leaves ``path`` as it was: HDF5 never sees the
    failing disk, so no half-written file or error flood can follow.

    Only a NeuroPCM file of the same ``kind`` is ever replaced: a file already at ``path``
    that is not HDF5, an HDF5 file NeuroPCM did not write, or a NeuroPCM file of another
    kind is refused before anything is written, and again just before the rename
    (:func:`neuropcm.io.paths.check_replace`, the rule ``--out`` is checked with).

    Parameters
    ----------
    path : str or Path
        Destination file.
    kind : str
        What produced the file: a kind of :data:`~neuropcm.io.kinds.KINDS`
        (``"pcm_array"``, ``"device_characterisation"``, ...); its schema version is written.

    Raises
    ------
    ParameterError
        ``path`` is not a file path, is a folder, or holds a file that must not be replaced
        (one line naming it).
    ResultsFileError
        The file could not be written.
    """
    version = get_kind(kind).schema_version
    path = _as_path(path, "output file")
    check_replace(path, what="output file", kind=kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(f"{path}.{uuid.uuid4().hex}.mem", "w", driver="core",
                   backing_store=False) as f:
        f.attrs["schema_version"] = version
        f.attrs["neuropcm_version"] = __version__
        f.attrs["kind"] = kind
        f.attrs["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat()
        yield f
        f.attrs[RESULTS_SHA256] = results_checksum(f)
        f.flush()
        image = f.id.get_file_image()
    check_replace(path, what="output file", kind=kind)  # it may have appeared meanwhile
    _write_replace(path, image)


def _as_path(path, what: str) -> Path:
    """``path`` (a str or os.PathLike naming a file) as a Path.

    Raises
    ------
    ParameterError
        Anything else (None, a number, an open file), an empty name, or a folder.
    """
    if isinstance(path, (bytes, bytearray)):
        path = os.fsdecode(bytes(path))
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"{what}: {_short_repr(path)} is not a file path; give a str or "
                             f"pathlib.Path naming a .h5 file")
    p = Path(os.fsdecode(os.fspath(path)))
    if str(path) == "":
        raise ParameterError(f"{what}: the path is empty; give the name of a .h5 file")
    if p.is_dir():
        raise ParameterError(f"{what}: {str(p)!r} is a folder; give the name of a .h5 file")
    return p


def _short_repr(v, limit: int = 60) -> str:
    text = " ".join(repr(v).split())
    return text if len(text) <= limit else f"{text[:limit]}... (a {type(v).__name__})"


def _write_replace(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, sync it, rename it over ``path``."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, file_mode(path))  # the replaced file's, or a new file's, not 0o600
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

    Its headline results (attributes of ``/results``) are checked too
    (:func:`check_headlines`): each declared one against its kind's range, and all of them
    against the ``results_sha256`` that :func:`atomic_h5` stored. A file written before
    that checksum existed (no ``results_sha256`` attribute) is still read, checked by the
    ranges only.

    Raises
    ------
    ParameterError
        ``path`` is not a file path (None, a number, ...), is empty or is a folder.
    ResultsFileError
        The file is missing, truncated or corrupt, or another process has it open for
        writing (the message names the file).
    SchemaError
        The file is HDF5 but not a NeuroPCM file, of a kind this NeuroPCM does not know,
        of another schema version than its kind's (:mod:`neuropcm.io.kinds`), or of
        another ``kind`` than requested; or a headline result is out of its range or was
        edited after NeuroPCM wrote it (one line).
    """
    path = _as_path(path, "open_h5")
    if not path.exists():
        raise ResultsFileError(f"{path}: no such file; check the path or run the command that "
                               f"writes it first")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        if is_lock_error(e):
            raise ResultsFileError(locked_message(path)) from None
        raise ResultsFileError(f"{path}: not a readable HDF5 file (truncated or corrupt: {e}); "
                               f"re-create it") from None
    try:
        if "schema_version" not in f.attrs or "kind" not in f.attrs:
            raise SchemaError(f"{path}: an HDF5 file but not a NeuroPCM file (no schema_version/"
                              f"kind attributes); give a file written by NeuroPCM")
        version = _schema_version(path, f.attrs["schema_version"])
        file_kind = attr_str(f, "kind")
        if kind is not None and file_kind != kind:
            raise SchemaError(f"{path}: holds a {file_kind!r}, expected a {kind!r}")
        if file_kind not in KINDS:
            raise SchemaError(f"{path}: holds a {file_kind!r}, a kind this NeuroPCM does not "
                              f"know (known: {sorted(KINDS)}); it was written by a newer "
                              f"NeuroPCM or another program")
        expected = KINDS[file_kind].schema_version
        if version > expected:
            raise SchemaError(f"{path}: schema version {version} of kind {file_kind!r} was "
                              f"written by a newer NeuroPCM (this one reads version "
                              f"{expected}); upgrade neuropcm to read it")
        if version != expected:
            raise SchemaError(f"{path}: schema version {version} of kind {file_kind!r}, this "
                              f"NeuroPCM reads version {expected} only; re-create the file "
                              f"with this NeuroPCM")
        check_headlines(f, path, KINDS[file_kind])
    except BaseException:
        f.close()
        raise
    return f


def _results_attrs(f: h5py.File):
    """The attributes of ``/results`` (empty when the file has no such group)."""
    g = f.get("results")
    return g.attrs if isinstance(g, h5py.Group) else {}


def results_checksum(f: h5py.File) -> str:
    """sha256 (hex) of a canonical serialisation of the headline results of ``f``.

    Each attribute of ``/results``, by sorted name: its name, its dtype (little-endian,
    e.g. ``"<f8"``; text as ``"text"``), its shape and its value (the array's bytes, text
    as UTF-8 JSON), each part length-prefixed. A file without ``/results`` hashes as no
    attributes. Editing a value, its type or adding/removing a headline changes it.
    """
    h = hashlib.sha256()
    attrs = _results_attrs(f)
    for name in sorted(attrs):
        v = attrs[name]
        a = np.asarray(v)
        if a.dtype.kind in "OSU":  # text (str, bytes, arrays of them)
            items = [x.decode(errors="surrogateescape") if isinstance(x, bytes) else str(x)
                     for x in a.ravel().tolist()]
            dtype, payload = "text", json.dumps(items, ensure_ascii=False).encode(
                errors="surrogateescape")
        else:
            a = a.astype(a.dtype.newbyteorder("<"), copy=False)
            dtype, payload = a.dtype.str, np.ascontiguousarray(a).tobytes()
        head = json.dumps([name, dtype, list(a.shape), len(payload)]).encode(
            errors="surrogateescape")
        h.update(len(head).to_bytes(8, "little"))
        h.update(head)
        h.update(payload)
    return h.hexdigest()


def check_headlines(f: h5py.File, path, kind) -> None:
    """Check the headline results of the open file ``f`` of ``kind`` (a
    :class:`~neuropcm.io.kinds.FileKind`).

    1. Each attribute of ``/results`` the kind declares (by name or pattern) must be in its
       range (:meth:`~neuropcm.io.kinds.FileKind.range_of`: its unit's default rule or the
       kind's bounds; an array is checked element-wise). Undeclared ones are not checked.
    2. If the file carries ``results_sha256`` (every file :func:`atomic_h5` wrote since it
       was introduced), it must equal :func:`results_checksum` of the file: any edit of a
       headline after NeuroPCM wrote it -- in range or not -- is refused. Files written
       before (no such attribute) are still read, checked by the ranges only.

    Raises
    ------
    SchemaError
        One line naming the file and, for a range, the headline, its value, the allowed
        range and the unit.
    """
    attrs = _results_attrs(f)
    for name in sorted(attrs):
        rule = kind.range_of(name)
        if rule is None:
            continue
        try:
            value = attrs[name]
        except (OSError, TypeError) as e:  # an attribute h5py cannot read back
            raise SchemaError(f"{path}: headline {name!r} cannot be read "
                              f"({str(e).splitlines()[0]}); the file is damaged") from None
        bad = rule.violation(value)
        if bad is not None:
            raise SchemaError(f"{path}: headline {name!r} {bad} is out of range: a "
                              f"{kind.name!r} file allows {rule.describe()} (unit "
                              f"{kind.units_of(name)!r}); the file is damaged or was edited "
                              f"-- re-run the run that wrote it or restore the file")
    if RESULTS_SHA256 in f.attrs:
        stored = f.attrs[RESULTS_SHA256]
        if isinstance(stored, (bytes, np.bytes_)):
            stored = bytes(stored).decode(errors="replace")
        try:
            actual = results_checksum(f)
        except (OSError, TypeError, ValueError) as e:  # an attribute h5py cannot read back
            raise SchemaError(f"{path}: the headline results cannot be read "
                              f"({str(e).splitlines()[0]}); the file is damaged") from None
        if stored != actual:
            missing = sorted(set(kind.headline) - set(attrs))
            if missing:  # the more specific message (open_result's)
                raise SchemaError(f"{path}: /results lacks the headline(s) {missing} that "
                                  f"every {kind.name!r} file holds; the file is incomplete "
                                  f"or damaged")
            raise SchemaError(f"{path}: the headline results were edited after NeuroPCM wrote "
                              f"them ({RESULTS_SHA256} mismatch); re-run "
                              f"the run that wrote it or restore the file")


def _schema_version(path, raw) -> int:
    """The ``schema_version`` attribute as an int: an integer or a string of digits only
    (``1.7``, ``"abc"`` or ``True`` are refused, not truncated)."""
    raw = raw.item() if isinstance(raw, np.generic) else raw
    v = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return int(v)
    raise SchemaError(f"{path}: attribute schema_version = {raw!r} is not a whole version "
                      f"number; the file is damaged or not written by NeuroPCM")


def _where(obj) -> str:
    return f"{obj.file.filename}:{obj.name}"


def attr_str(obj, name: str) -> str:
    """String attribute ``name`` of an HDF5 object (bytes decoded as UTF-8).

    Raises
    ------
    SchemaError
        The attribute is missing or not a string (the message names file and attribute).
    """
    if name not in obj.attrs:
        raise SchemaError(f"{_where(obj)}: attribute {name!r} is missing; the file is "
                          f"incomplete or of another kind")
    v = obj.attrs[name]
    if isinstance(v, (bytes, np.bytes_)):
        try:
            v = bytes(v).decode()
        except UnicodeDecodeError:
            raise SchemaError(f"{_where(obj)}: attribute {name!r} is not valid UTF-8 "
                              f"text") from None
    if not isinstance(v, str):
        raise SchemaError(f"{_where(obj)}: attribute {name!r} = {v!r} is not a string")
    return v


def attr_json(obj, name: str):
    """JSON attribute ``name`` of an HDF5 object, parsed (data only: JSON never runs code).

    Raises
    ------
    SchemaError
        The attribute is missing, not a string or not valid JSON (one line naming the file,
        the attribute and where the JSON breaks).
    """
    text = attr_str(obj, name)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SchemaError(f"{_where(obj)}: attribute {name!r} is not valid JSON ({e.msg} at "
                          f"line {e.lineno} column {e.colno}); the file is damaged") from None


def attr_float(obj, name: str) -> float:
    """Real-number attribute ``name`` (a string or array is refused with a SchemaError)."""
    if name not in obj.attrs:
        raise SchemaError(f"{_where(obj)}: attribute {name!r} is missing")
    v = obj.attrs[name]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                             np.floating)):
        raise SchemaError(f"{_where(obj)}: attribute {name!r} = {v!r} is not a number")
    return float(v)


def write_dataset(group: h5py.Group, name: str, data, units: str, *, checksum: bool = True,
                  **attrs) -> h5py.Dataset:
    """Create dataset ``name`` with a ``units`` attribute (and more attributes).

    ``units`` must be a symbol of :data:`neuropcm.io.kinds.UNITS` (counts of pulses or
    spikes are ``"count"``, class labels and ratios ``"1"``); anything else is refused
    before the dataset is created. Non-empty numeric arrays are stored chunked with a
    ``fletcher32`` checksum (and gzip above 4096 elements), so a flipped bit is detected on
    read (:func:`read_dataset`).
    """
    check_units(units, f"dataset {group.name.rstrip('/')}/{name}: units")
    arr = np.asarray(data)
    kw = {"compression": "gzip", "compression_opts": 4, "shuffle": True} if arr.size > 4096 else {}
    if checksum and arr.ndim > 0 and arr.size > 0 and arr.dtype.kind in "biufc":
        kw["fletcher32"] = True
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
    if not isinstance(ds, h5py.Dataset):
        raise SchemaError(f"{where}/{name}: is a group, expected a dataset")
    if units is not None:
        got = attr_str(ds, "units") if "units" in ds.attrs else None
        if got != units:
            raise SchemaError(f"{where}/{name}: units {got!r}, expected {units!r}")
    try:
        return ds[()]
    except OSError as e:
        check = " (its fletcher32 checksum does not match)" if ds.fletcher32 else ""
        raise ResultsFileError(f"{where}/{name}: dataset {name!r} is corrupt{check}: "
                               f"{str(e).splitlines()[0]}; re-create the file") from None


def write_config(f: h5py.File, config: dict) -> None:
    """Store a run configuration as JSON in the attribute ``json`` of ``/config``, and the
    preset files it names (:func:`preset_files_of`) as the attribute ``preset_files``, so
    the file records the devices it was run with even after the preset files change."""
    g = f.require_group("config")
    g.attrs["json"] = json.dumps(config, sort_keys=True, default=_json_default)
    files = preset_files_of(config)
    if files:
        g.attrs["preset_files"] = json.dumps(files, sort_keys=True)


def preset_files_of(config) -> dict:
    """``{dotted field: {"path", "sha256", "text"}}`` for every preset setting of
    ``config`` (a key ending in ``preset``) that names a preset file rather than a built-in
    preset."""
    out = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}{k}" if not prefix else f"{prefix}.{k}")
        elif isinstance(node, str) and prefix.rsplit(".", 1)[-1].endswith("preset") \
                and node not in PRESETS and node != "custom":
            try:
                src = get_preset(node).source
            except (ParameterError, UnknownPresetError):
                return  # not a preset file (e.g. a label of hand-built parameters)
            if src is not None:
                out[prefix] = src

    walk(config, "")
    return out


def read_config(f: h5py.File) -> dict:
    """Read the configuration written by :func:`write_config`."""
    if "config" not in f or "json" not in f["config"].attrs:
        raise SchemaError(f"{f.filename}: no /config")
    cfg = attr_json(f["config"], "json")
    if not isinstance(cfg, dict):
        raise SchemaError(f"{f.filename}:/config: attribute 'json' holds a "
                          f"{type(cfg).__name__}, expected a JSON object")
    return cfg


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {o!r}")
