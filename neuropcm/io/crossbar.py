"""HDF5 files of kind ``crossbar``: a crossbar's state dict written and read back.

The crossbar produces a plain state dict (:meth:`neuropcm.crossbar.Crossbar.state_dict`)
and rebuilds itself from one (:meth:`~neuropcm.crossbar.Crossbar.from_state`, which checks
every value); this module only moves that dict to and from a file, so ``io`` never imports
the crossbar (floors: devices -> io -> engines). Layout:

* ``/config`` (JSON): ``preset``, ``mapping``, ``shape``, ``seed`` and ``crossbar`` (the
  :class:`~neuropcm.crossbar.CrossbarConfig` as a dict);
* ``/crossbar`` attributes: ``mapping``, ``mapping_state``, ``time`` (s), ``n_mvm``,
  ``n_refresh``, the generator states ``rng_state``/``update_rng_state`` and the float32
  noise stream ``noise_stream`` (JSON), ``clip_counts`` (JSON); datasets ``W``, ``chi``,
  ``transferred`` (weight units), ``rr_plus``/``rr_minus`` (count), optional
  ``adc_ranges`` and ``factor_0``/``factor_1`` (the compensation factors in use);
* ``/crossbar/compensation`` (with compensation): attributes ``name`` and ``settings``
  (JSON), one dataset per calibration entry with its units;
* ``/devices/<name>``: each device array (:func:`~neuropcm.io.arrays.write_array`; read back
  with its parameters' provenance).

Every numeric dataset carries units and a checksum; the file is written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..errors import SchemaError
from .arrays import read_array, write_array
from .hdf5 import (atomic_h5, attr_float, attr_json, attr_str, open_h5, read_config, read_dataset,
                   write_config, write_dataset)
from .kinds import get_kind

#: The datasets of ``/crossbar`` every file holds, with their units (the kind's entry in
#: :mod:`neuropcm.io.kinds`).
DATASETS = {path.split("/", 1)[1]: units for path, units in get_kind("crossbar").datasets.items()}
_JSON_ATTRS = ("mapping_state", "rng_state", "update_rng_state", "noise_stream",
               "clip_counts")


def save_crossbar(path, state: dict) -> Path:
    """Write a crossbar state dict to the HDF5 file ``path`` atomically.

    Parameters
    ----------
    path : str or Path
        Destination.
    state : dict
        :meth:`Crossbar.state_dict` output.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    with atomic_h5(path, kind="crossbar") as f:
        write_crossbar(f, state)
    return path


def write_crossbar(f, state: dict) -> None:
    """Write a crossbar state dict into the open group ``f`` (a file's root, or a group of
    another file that holds crossbars, e.g. a training checkpoint): ``config``,
    ``crossbar`` and ``devices`` below it."""
    write_config(f, {"preset": state["preset"] or "custom", "mapping": state["mapping"],
                     "shape": list(np.shape(state["W"])), "seed": state["seed"],
                     "crossbar": state["config"]})
    g = f.create_group("crossbar")
    g.attrs["mapping"] = state["mapping"]
    g.attrs["time"] = float(state["time"])
    g.attrs["time_units"] = "s"
    g.attrs["n_mvm"] = int(state["n_mvm"])
    g.attrs["n_refresh"] = int(state["n_refresh"])
    for k in _JSON_ATTRS:
        g.attrs[k] = json.dumps(state[k], default=_json_default)
    for k, units in DATASETS.items():
        write_dataset(g, k, state[k], units)
    if state["adc_ranges"] is not None:
        write_dataset(g, "adc_ranges", state["adc_ranges"], "1")
    for tr, fac in state["factors"].items():
        write_dataset(g, f"factor_{int(tr)}", np.asarray(fac, dtype=float), "1")
    comp = state["compensation"]
    if comp is not None:
        c = g.create_group("compensation")
        c.attrs["name"] = comp["name"]
        c.attrs["settings"] = json.dumps(comp["settings"], default=_json_default)
        for k, (value, units) in comp["state"].items():
            write_dataset(c, k, np.asarray(value, dtype=float), units)
    for name, arr in state["arrays"].items():
        write_array(f.create_group(f"devices/{name}"), arr)


def load_crossbar_state(path) -> dict:
    """Read a crossbar state dict from a file written by :func:`save_crossbar`.

    The file's structure is checked here (kind, schema version, attributes, units,
    checksums, device arrays with their parameters and provenance); the values are checked
    by :meth:`Crossbar.from_state`.

    Raises
    ------
    ResultsFileError
        The file is missing, unreadable or a dataset fails its checksum.
    SchemaError
        The file is not a crossbar file of this schema, or something is missing or
        malformed (one line naming the file and the item).
    """
    with open_h5(path, kind="crossbar") as f:
        return read_crossbar(f, str(path))


def read_crossbar(f, where: str) -> dict:
    """Read a crossbar state dict from the group ``f`` written by :func:`write_crossbar`
    (``where`` names it in errors); structure checked as by :func:`load_crossbar_state`."""
    cfg = read_config(f)
    for k in ("preset", "mapping", "seed", "crossbar"):
        if k not in cfg:
            raise SchemaError(f"{where}: /config lacks {k!r}; the file is incomplete")
    if not isinstance(f.get("crossbar"), h5py.Group) \
            or not isinstance(f.get("devices"), h5py.Group) or not len(f["devices"]):
        raise SchemaError(f"{where}: incomplete crossbar file (no /crossbar group or no "
                          f"device arrays under /devices)")
    g = f["crossbar"]
    if attr_str(g, "mapping") != cfg["mapping"]:
        raise SchemaError(f"{where}: /crossbar mapping {attr_str(g, 'mapping')!r} differs "
                          f"from /config's {cfg['mapping']!r}")
    if "time_units" in g.attrs and attr_str(g, "time_units") != "s":
        raise SchemaError(f"{where}: /crossbar time_units {g.attrs['time_units']!r}, "
                          f"expected 's'")
    state = {"config": cfg["crossbar"], "preset": cfg["preset"], "seed": cfg["seed"],
             "mapping": cfg["mapping"], "time": attr_float(g, "time"),
             "n_mvm": _int_attr(g, "n_mvm"), "n_refresh": _int_attr(g, "n_refresh")}
    for k in _JSON_ATTRS:
        state[k] = attr_json(g, k)
    for k, units in DATASETS.items():
        state[k] = read_dataset(g, k, units)
    state["adc_ranges"] = read_dataset(g, "adc_ranges", "1") if "adc_ranges" in g \
        else None
    state["factors"] = {tr: _factor(read_dataset(g, f"factor_{int(tr)}", "1"))
                        for tr in (False, True) if f"factor_{int(tr)}" in g}
    state["compensation"] = _read_compensation(g)
    state["arrays"] = {name: read_array(f["devices"][name]) for name in f["devices"]}
    return state


def _read_compensation(g):
    if "compensation" not in g:
        return None
    c = g["compensation"]
    out = {"name": attr_str(c, "name"), "settings": attr_json(c, "settings"), "state": {}}
    for k, ds in c.items():
        if not isinstance(ds, h5py.Dataset):
            raise SchemaError(f"{c.file.filename}:{c.name}/{k}: is a group, expected a dataset")
        units = attr_str(ds, "units")
        out["state"][k] = (read_dataset(c, k, units), units)
    return out


def _factor(a: np.ndarray):
    return float(a) if a.ndim == 0 else a


def _int_attr(g, name) -> int:
    if name not in g.attrs:
        raise SchemaError(f"{g.file.filename}:{g.name}: attribute {name!r} is missing")
    v = g.attrs[name]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise SchemaError(f"{g.file.filename}:{g.name}: attribute {name!r} = {v!r} is not a "
                          f"whole number")
    return int(v)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {o!r}")
