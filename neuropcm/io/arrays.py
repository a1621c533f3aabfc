"""Device arrays in HDF5: a :class:`~neuropcm.devices.PCMArray` (parameters with their
provenance and preset file, full state, random stream) written into a group and read back
validated like constructor arguments; ``save_array``/``load_array`` for whole files."""

from __future__ import annotations

import json
from pathlib import Path

import h5py

from ..devices.array import STATE_UNITS, PCMArray
from ..devices.params import PARAM_CLASSES
from ..devices.presets import PRESETS, with_preset
from ..devices.validation import OPTIONAL_STATE
from ..errors import ParameterError, SchemaError
from .hdf5 import (_json_default, _where, atomic_h5, attr_float, attr_json, attr_str, open_h5, read_dataset, write_config, write_dataset)


def write_array(group: h5py.Group, arr: PCMArray) -> None:
    """Write a :class:`PCMArray` (parameters and full state) into ``group``."""
    state = arr.state_dict()
    for k, v in state["arrays"].items():
        write_dataset(group, k, v, STATE_UNITS[k])
    group.attrs["model"] = arr.params.model
    group.attrs["preset"] = arr.params.preset or "custom"
    group.attrs["overrides"] = json.dumps(list(arr.params.overrides))
    if arr.params.source is not None:  # the preset file, so the file alone repeats the run
        group.attrs["preset_file"] = json.dumps(arr.params.source, sort_keys=True)
    group.attrs["params"] = json.dumps(arr.params.as_dict())
    group.attrs["param_units"] = json.dumps(arr.params.units())
    group.attrs["time"] = state["time"]
    group.attrs["time_units"] = "s"
    group.attrs["temperature"] = state["temperature"]
    group.attrs["temperature_units"] = "K"
    group.attrs["rng_state"] = json.dumps(state["rng_state"], default=_json_default)


def read_array(group: h5py.Group) -> PCMArray:
    """Read a :class:`PCMArray` written by :func:`write_array`.

    Everything loaded is checked with the constructors' rules (parameters by the parameter
    class, the state by :meth:`PCMArray.from_state`); a violation is a one-line
    :class:`SchemaError` naming the file, the group and the value. The parameters get their
    provenance back (:func:`read_provenance`).
    """
    where = _where(group)
    if "model" not in group.attrs:
        raise SchemaError(f"{where}: not a PCM device array (no 'model' attribute)")
    model = attr_str(group, "model")
    if model not in PARAM_CLASSES:
        raise SchemaError(f"{where}: attribute 'model' = {model!r} is not a device model; "
                          f"known: {sorted(PARAM_CLASSES)}")
    values = attr_json(group, "params")
    if not isinstance(values, dict):
        raise SchemaError(f"{where}: attribute 'params' is not a JSON object")
    cls = PARAM_CLASSES[model]
    missing = sorted(set(cls.units()) - set(values))
    if missing:
        raise SchemaError(f"{where}: attribute 'params' lacks the field(s) {missing} of the "
                          f"{model!r} model; the file is damaged or was edited")
    try:
        params = cls().replace(**values)
    except ParameterError as e:
        raise SchemaError(f"{where}: attribute 'params': {e}") from None
    params = read_provenance(group, params)
    arrays = {k: read_dataset(group, k, u) for k, u in STATE_UNITS.items()
              if k in group or k not in OPTIONAL_STATE}  # older files: no faults
    state = {"arrays": arrays, "rng_state": attr_json(group, "rng_state"),
             "time": attr_float(group, "time"), "temperature": attr_float(group, "temperature")}
    try:
        return PCMArray.from_state(params, state)
    except ParameterError as e:
        raise SchemaError(f"{where}: {e}; the file is damaged or was edited") from None


def read_provenance(group: h5py.Group, params):
    """``params`` labelled with the preset and overrides recorded in ``group``.

    The attribute ``preset`` names the preset (``"custom"`` or absent: none) and
    ``overrides`` lists the overridden fields as JSON (absent in older files). For a
    preset this NeuroPCM knows, the preset must be of the file's model and the overridden
    fields are recomputed as those whose stored value differs from the preset's current
    values (exact even if the preset has changed since the file was written, and for older
    files); for a name it does not know (e.g. one a user registered), the recorded list is
    kept (each entry must be a field of the model).

    Raises
    ------
    SchemaError
        An attribute is malformed or contradicts the stored values (one line).
    """
    where = _where(group)
    name = attr_str(group, "preset") if "preset" in group.attrs else "custom"
    recorded = attr_json(group, "overrides") if "overrides" in group.attrs else []
    if not (isinstance(recorded, list) and all(isinstance(o, str) for o in recorded)):
        raise SchemaError(f"{where}: attribute 'overrides' = {recorded!r} is not a JSON list "
                          f"of field names")
    try:
        if name == "custom":
            if recorded:
                raise ParameterError(f"overrides {recorded} are recorded without a preset")
            return params.with_provenance(None)
        if name in PRESETS:
            return with_preset(params, name)
        out = params.with_provenance(name, recorded)
        if "preset_file" in group.attrs:
            out = out.with_source(attr_json(group, "preset_file"))
        return out
    except ParameterError as e:
        raise SchemaError(f"{where}: preset {name!r}: {e}") from None


def _check_array_name(name, what: str) -> str:
    """A device array's name: one HDF5 link name (no '/', not '.' or '..')."""
    if not isinstance(name, str) or name in ("", ".", ".."):
        raise ParameterError(f"{what}: name={name!r} is not a device array name; give a "
                             f"non-empty string such as 'array'")
    if "/" in name:
        raise ParameterError(f"{what}: name={name!r} contains '/', which HDF5 reads as "
                             f"nested groups, so the array could not be read back; use e.g. "
                             f"{name.replace('/', '_')!r}")
    return name


def save_array(path, arr: PCMArray, name: str = "array", config: dict | None = None) -> Path:
    """Save a :class:`PCMArray` to ``path`` (atomically) under ``/devices/<name>``.

    Raises
    ------
    ParameterError
        ``arr`` is not a PCMArray, ``name`` is not one HDF5 name (it contains ``'/'``), or
        ``path`` holds a file that is not a ``pcm_array`` file NeuroPCM wrote (it is never
        replaced) -- one line, before anything is written.
    """
    if not isinstance(arr, PCMArray):
        raise ParameterError(f"save_array: arr is a {type(arr).__name__}, not a PCMArray")
    _check_array_name(name, "save_array")
    with atomic_h5(path, kind="pcm_array") as f:
        write_array(f.create_group(f"devices/{name}"), arr)
        if config is not None:
            write_config(f, config)
    return Path(path)


def load_array(path, name: str | None = None) -> PCMArray:
    """Load a :class:`PCMArray` saved by :func:`save_array` (the only one, or ``name``)."""
    if name is not None:
        _check_array_name(name, "load_array")
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
