"""Read back any file kind: ``neuropcm.io.open(path)`` returns a :class:`Result`.

A :class:`Result` holds what a file says about itself -- its kind (from the registry
:mod:`neuropcm.io.kinds`), schema version, creation time, NeuroPCM version, run
configuration, headline results with their units, and the list of its datasets with
shapes and units -- checked against the kind's declaration when the file is opened: every
declared headline must lie in its range (:meth:`~neuropcm.io.kinds.FileKind.range_of`) and
the headlines must match the ``results_sha256`` NeuroPCM stored when it wrote the file
(files written before that checksum existed are read, checked by the ranges only; see
:func:`~neuropcm.io.hdf5.check_headlines`). Arrays and device states are read on demand
(:meth:`Result.dataset`, :meth:`Result.devices`), each time from the file, opened
read-only: a Result never writes.

Examples
--------
>>> import neuropcm.io
>>> r = neuropcm.io.open("devices.h5")                          # doctest: +SKIP
>>> r.kind.name, r.results["g_after_pulses"], r.units["g_after_pulses"]  # doctest: +SKIP
('device_characterisation', 1.1e-05, 'S')
>>> print(r.summary())                                          # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..errors import ParameterError, SchemaError
from .arrays import read_array
from .hdf5 import _as_path, _schema_version, attr_json, attr_str, open_h5, read_config, \
    read_dataset
from .kinds import KINDS, FileKind, normalise_units

__all__ = ["Result", "DatasetInfo", "DeviceInfo", "open_result"]


@dataclass(frozen=True)
class DatasetInfo:
    """What a file says about one dataset (without reading it).

    Attributes
    ----------
    shape : tuple of int
    dtype : str
        numpy dtype string, e.g. ``"<f8"``.
    units : str or None
        Unit symbol from :data:`~neuropcm.io.kinds.UNITS` (older unit words mapped through
        :data:`~neuropcm.io.kinds.LEGACY_UNITS`); None if the dataset has no unit the
        vocabulary knows.
    """

    shape: tuple
    dtype: str
    units: str | None


@dataclass(frozen=True)
class DeviceInfo:
    """What a file says about one device array under ``/devices`` (without reading it).

    Attributes
    ----------
    shape : tuple of int
    model : str
        Device model (``"pulsed"`` or ``"programmed"``).
    preset : str or None
        Preset name as recorded (None for "custom").
    overrides : tuple of str
        Overridden fields as recorded (empty in files written before they were recorded).
    """

    shape: tuple
    model: str
    preset: str | None
    overrides: tuple


class Result:
    """A NeuroPCM results file of any registered kind, as read by :func:`open_result`.

    Attributes
    ----------
    path : Path
        The file.
    kind : FileKind
        Its kind, from the registry :data:`~neuropcm.io.kinds.KINDS`.
    schema_version : int
        The file's schema version (equal to the kind's: other versions are refused).
    created : str
        Creation time (ISO 8601, UTC).
    neuropcm_version : str
        Version of NeuroPCM that wrote the file.
    config : dict
        The run configuration (``/config``; empty if the kind stores none).
    results : dict
        Headline attributes of ``/results`` as Python values.
    units : dict
        Unit of each headline (from the kind; None for an attribute the kind does not
        declare).
    datasets : dict
        Every dataset of the file (path under the root, e.g. ``"results/drift/mean"``)
        -> :class:`DatasetInfo`.
    device_info : dict
        Every device array under ``/devices`` -> :class:`DeviceInfo`.
    preset_files : dict
        The preset files the configuration names, as they were when the run started:
        ``{dotted field: {"path", "sha256", "text"}}`` (write ``text`` to a ``.toml`` file
        to repeat the run without the original).
    """

    def __init__(self, path, kind: FileKind, schema_version: int, created: str,
                 neuropcm_version: str, config: dict, results: dict, datasets: dict,
                 device_info: dict, preset_files: dict | None = None):
        self.path = Path(path)
        self.kind = kind
        self.schema_version = schema_version
        self.created = created
        self.neuropcm_version = neuropcm_version
        self.config = config
        self.results = results
        self.units = {k: kind.units_of(k) for k in results}
        self.datasets = datasets
        self.device_info = device_info
        self.preset_files = preset_files or {}

    # ------------------------------------------------------------------ data on demand
    def dataset(self, name: str) -> np.ndarray:
        """Read dataset ``name`` (a key of :attr:`datasets`) from the file.

        Raises
        ------
        ParameterError
            The file holds no such dataset (the message lists those it holds).
        ResultsFileError
            The data are corrupt (checksum) or the file has gone.
        """
        name = str(name).strip("/")
        if name not in self.datasets:
            raise ParameterError(f"{self.path}: no dataset {name!r}; it holds "
                                 f"{sorted(self.datasets)}")
        parent, _, leaf = name.rpartition("/")
        with open_h5(self.path, kind=self.kind.name) as f:
            return read_dataset(f[parent] if parent else f, leaf)

    def devices(self) -> dict:
        """Every device array under ``/devices`` as a :class:`~neuropcm.devices.PCMArray`
        (full state, validated like constructor arguments; empty if the file has none)."""
        if not self.device_info:
            return {}
        with open_h5(self.path, kind=self.kind.name) as f:
            return {name: read_array(f["devices"][name]) for name in self.device_info}

    # ------------------------------------------------------------------ text
    def summary(self) -> str:
        """A few lines for people: kind, provenance, configuration, headline results with
        units, datasets and devices."""
        k = self.kind
        lines = [f"{self.path}: {k.name} (schema {self.schema_version}) -- {k.description}",
                 f"written {self.created} by neuropcm {self.neuropcm_version}"]
        if self.config:
            lines.append("config:")
            lines += [f"  {key} = {_short_json(v)}" for key, v in sorted(self.config.items())]
        if self.results:
            lines.append("results:")
            w = max(len(n) for n in self.results)
            for name, v in self.results.items():
                u = self.units[name]
                lines.append(f"  {name:<{w}}  {_fmt(v)}"
                             + ("" if u in (None, "1") else f" {u}"))
        if self.datasets:
            lines.append(f"datasets ({len(self.datasets)}):")
            w = max(len(n) for n in self.datasets)
            for name, d in self.datasets.items():
                lines.append(f"  {name:<{w}}  {str(d.shape):<14} {np.dtype(d.dtype).name:<8} "
                             f"{d.units or '?'}")
        if self.device_info:
            lines.append(f"devices ({len(self.device_info)}):")
            for name, d in self.device_info.items():
                prov = d.preset or "custom"
                if d.overrides:
                    prov += f" ({', '.join(d.overrides)} overridden)"
                lines.append(f"  {name}: {d.shape} {d.model} devices, preset {prov}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Result({str(self.path)!r}, kind={self.kind.name!r}, "
                f"schema_version={self.schema_version})")


def open_result(path) -> Result:
    """Open a NeuroPCM HDF5 file of any registered kind (read-only) and check it against
    its kind's declaration (also available as ``neuropcm.io.open``).

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    Result

    Raises
    ------
    ParameterError
        ``path`` is not a file path (None, a number, an open file ...), is empty or is a
        folder (one line).
    ResultsFileError
        The file is missing, truncated or not HDF5, or another process is writing it.
    SchemaError
        The file is not a NeuroPCM file, is of a kind this NeuroPCM does not know or of
        another schema version, or lacks a headline, dataset, configuration or device
        array its kind declares, or a declared dataset has other units, or a headline is
        out of its range (naming it, its value, the range and the unit) or was edited after
        NeuroPCM wrote the file (``results_sha256`` mismatch) -- one line.

    Notes
    -----
    A file written before the headline checksum was introduced (no root attribute
    ``results_sha256``) is still read; its headlines are checked by their ranges only.
    """
    path = _as_path(path, "neuropcm.io.open")
    with open_h5(path) as f:
        kind = KINDS[attr_str(f, "kind")]  # open_h5 refused unknown kinds
        version = _schema_version(path, f.attrs["schema_version"])
        created = attr_str(f, "created")
        npcm = attr_str(f, "neuropcm_version")
        if "config" in f:
            config = read_config(f)
        elif kind.config:
            raise SchemaError(f"{path}: a {kind.name!r} file without /config; the file is "
                              f"incomplete or damaged")
        else:
            config = {}
        results = _headline(f, kind)
        datasets = _datasets(f)
        for name, unit in kind.datasets.items():
            if name not in datasets:
                raise SchemaError(f"{path}: lacks the dataset {name!r} that every "
                                  f"{kind.name!r} file holds; the file is incomplete or "
                                  f"damaged")
            if datasets[name].units != unit:
                raise SchemaError(f"{path}:/{name}: units {datasets[name].units!r}, a "
                                  f"{kind.name!r} file stores it in {unit!r}")
        devices = _device_info(f)
        if kind.devices and not devices:
            raise SchemaError(f"{path}: a {kind.name!r} file without device arrays under "
                              f"/devices; the file is incomplete or damaged")
        presets = _preset_files(path, f)
    return Result(path, kind, version, created, npcm, config, results, datasets, devices,
                  presets)


def _preset_files(path, f) -> dict:
    """The ``preset_files`` attribute of ``/config`` (see :func:`~neuropcm.io.write_config`),
    each entry checked: the text must still match its sha256."""
    import hashlib

    if "config" not in f or "preset_files" not in f["config"].attrs:
        return {}
    files = attr_json(f["config"], "preset_files")
    ok = isinstance(files, dict) and all(
        isinstance(v, dict) and set(v) == {"path", "sha256", "text"}
        and isinstance(v["text"], str)
        and hashlib.sha256(v["text"].encode("utf-8")).hexdigest() == v["sha256"]
        for v in files.values())
    if not ok:
        raise SchemaError(f"{path}:/config: attribute 'preset_files' is malformed or its text "
                          f"does not match its sha256; the file is damaged or was edited")
    return files


# ---------------------------------------------------------------------- helpers
def _headline(f: h5py.File, kind: FileKind) -> dict:
    attrs = f["results"].attrs if isinstance(f.get("results"), h5py.Group) else {}
    missing = sorted(set(kind.headline) - set(attrs))
    if missing:
        raise SchemaError(f"{f.filename}: /results lacks the headline(s) {missing} that "
                          f"every {kind.name!r} file holds; the file is incomplete or damaged")
    return {k: _value(attrs[k]) for k in sorted(attrs)}


def _value(v):
    """An HDF5 attribute as a plain Python value (numbers, strings, lists)."""
    if isinstance(v, (bytes, np.bytes_)):
        return bytes(v).decode(errors="replace")
    if isinstance(v, np.ndarray):
        return [_value(x) for x in v.tolist()] if v.dtype.kind in "SO" else v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _datasets(f: h5py.File) -> dict:
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            out[name] = DatasetInfo(tuple(obj.shape), obj.dtype.str,
                                    normalise_units(obj.attrs.get("units")))

    f.visititems(visit)
    return out


def _device_info(f: h5py.File) -> dict:
    g = f.get("devices")
    if not isinstance(g, h5py.Group):
        return {}
    out = {}
    for name, sub in g.items():
        where = f"{f.filename}:{sub.name}"
        if not isinstance(sub, h5py.Group) or not isinstance(sub.get("G"), h5py.Dataset):
            raise SchemaError(f"{where}: not a device array (no dataset 'G')")
        preset = attr_str(sub, "preset") if "preset" in sub.attrs else "custom"
        over = attr_json(sub, "overrides") if "overrides" in sub.attrs else []
        if not (isinstance(over, list) and all(isinstance(o, str) for o in over)):
            raise SchemaError(f"{where}: attribute 'overrides' = {over!r} is not a JSON list "
                              f"of field names")
        out[name] = DeviceInfo(tuple(sub["G"].shape), attr_str(sub, "model"),
                               None if preset == "custom" else preset, tuple(over))
    return out


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _short_json(v, limit: int = 100) -> str:
    """``v`` as compact JSON; a longer value is shown as its type and size (the full
    value is in :attr:`Result.config`)."""
    text = json.dumps(v, sort_keys=True)
    if len(text) <= limit:
        return text
    if isinstance(v, dict):
        return f"{{...}} ({len(v)} keys: {', '.join(sorted(map(str, v)))})"
    if isinstance(v, list):
        return f"[...] ({len(v)} items)"
    return text
