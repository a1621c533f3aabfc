"""HDF5 storage of a :class:`~neuropcm.crossbar.Crossbar` (``Crossbar.save``/``load``).

Everything needed for an exact restore is stored: devices, mapping, scales, time,
update accumulators, drift-compensation calibration, ADC ranges and clip counters, the
random streams (the generator state and the float32 noise stream) and the refresh rule
as a registry name plus its parameters. Files never hold code, so a custom refresh rule
(a callable or an unregistered object) is refused at save time rather than dropped.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..devices.params import PARAM_CLASSES
from ..errors import ParameterError, SchemaError
from ..io.hdf5 import (atomic_h5, open_h5, read_array, read_config, read_dataset, write_array,
                       write_config, write_dataset)
from .mapping import MAPPINGS
from .crossbar import _parse_options as parse_options
from .update import REFRESH_RULES


def save(xb, path) -> Path:
    """Write ``xb`` to the HDF5 file ``path`` atomically (see :meth:`Crossbar.save`)."""
    rule_name, rule_params = refresh_spec(xb.refresh_rule)
    xb._flush_reads()
    if xb._adc_stale:
        xb.calibrate_adc()
    opts = {k: v for k, v in xb.options.items() if k != "refresh"}
    opts["refresh"] = rule_name
    with atomic_h5(path, kind="crossbar") as f:
        write_config(f, {"mapping": xb.mapping.name, "device": xb.device,
                         "shape": list(xb.shape), "options": opts,
                         "seed": xb.seed if isinstance(xb.seed, (int, type(None)))
                         else None})
        g = f.create_group("crossbar")
        g.attrs["mapping"] = xb.mapping.name
        g.attrs["params"] = json.dumps(xb.params.as_dict())
        g.attrs["model"] = xb.params.model
        g.attrs["mapping_state"] = json.dumps(xb.mapping.state())
        g.attrs["time"] = xb.time
        g.attrs["time_units"] = "s"
        g.attrs["n_refresh"] = xb.n_refresh
        g.attrs["n_mvm"] = xb.n_mvm
        g.attrs["rng_state"] = json.dumps(xb.rng.bit_generator.state, default=_jd)
        g.attrs["noise_stream"] = json.dumps([xb._noise.key, xb._noise.counter])
        g.attrs["clip_counts"] = json.dumps(xb._clips.counts)
        g.attrs["refresh_params"] = json.dumps(rule_params)
        write_dataset(g, "W", xb.mapping.W, "1")
        write_dataset(g, "chi", xb.chi, "1")
        write_dataset(g, "transferred", xb.transferred, "1")
        write_dataset(g, "rr_plus", xb._rr["G_plus"], "count")
        write_dataset(g, "rr_minus", xb._rr["G_minus"], "count")
        xb._comp.save(xb, g, write_dataset)
        if xb._adc_ranges is not None:
            write_dataset(g, "adc_ranges", np.array(
                [[a, np.nan if b is None else b, c] for a, b, c in xb._adc_ranges]), "1")
        for name, a in xb.arrays.items():
            write_array(f.create_group(f"devices/{name}"), a)
    return Path(path)


def load(cls, path):
    """A ``cls`` (:class:`Crossbar`) from a file written by :func:`save`, validated like
    constructor arguments (no re-programming)."""
    with open_h5(path, kind="crossbar") as f:
        cfg = read_config(f)
        if "crossbar" not in f or "devices" not in f:
            raise SchemaError(f"{path}: incomplete crossbar file (no /crossbar or /devices)")
        g = f["crossbar"]
        try:
            params = PARAM_CLASSES[g.attrs["model"]](**json.loads(g.attrs["params"]))
            mname = str(g.attrs["mapping"])
            rule_params = json.loads(g.attrs["refresh_params"])
            key, counter = json.loads(g.attrs["noise_stream"])
            clips = json.loads(g.attrs["clip_counts"])
        except KeyError as e:
            raise SchemaError(f"{path}: /crossbar lacks {e}") from None
        if mname not in MAPPINGS:
            raise SchemaError(f"{path}: unknown mapping {mname!r}")
        rule_name = cfg["options"].get("refresh")
        if rule_name is not None and rule_name not in REFRESH_RULES:
            raise SchemaError(f"{path}: unknown refresh rule {rule_name!r}; known: "
                              f"{sorted(REFRESH_RULES)}")
        opts = parse_options(cfg["options"])
        W = read_dataset(g, "W", "1")
        obj = cls.__new__(cls)
        obj._setup(W, params, cfg["device"], MAPPINGS[mname], cfg.get("seed"), opts)
        if rule_name is not None:
            try:
                obj.refresh_rule = REFRESH_RULES[rule_name](**rule_params)
            except (TypeError, ValueError) as e:
                raise SchemaError(f"{path}: refresh rule {rule_name!r} with parameters "
                                  f"{rule_params!r} is invalid ({e})") from None
        saved = json.loads(g.attrs["mapping_state"])
        for k, v in obj.mapping.state().items():
            if not np.isclose(v, saved[k], rtol=1e-12, atol=0):
                raise SchemaError(f"{path}: mapping {k} = {saved[k]!r} in the file, but W "
                                  f"gives {v!r}; the file is inconsistent")
        for name in obj.mapping.array_shapes():
            obj.arrays[name] = read_array(f["devices"][name])
        if "lrs" in f["devices"]:
            obj.arrays["lrs"] = read_array(f["devices"]["lrs"])
        obj._clock = next(iter(obj.arrays.values()))
        obj.chi = read_dataset(g, "chi", "1")
        obj.transferred = read_dataset(g, "transferred", "1")
        obj._rr = {"G_plus": read_dataset(g, "rr_plus", "count"),
                   "G_minus": read_dataset(g, "rr_minus", "count")}
        obj.n_refresh = int(g.attrs["n_refresh"])
        obj.n_mvm = int(g.attrs["n_mvm"])
        obj.rng.bit_generator.state = json.loads(g.attrs["rng_state"])
        obj._noise.key, obj._noise.counter = int(key), int(counter)
        if set(clips) != set(obj._clips.counts):
            raise SchemaError(f"{path}: clip_counts has keys {sorted(clips)}, expected "
                              f"{sorted(obj._clips.counts)}")
        obj._clips.counts = {k: int(v) for k, v in clips.items()}
        obj._comp.load(obj, g, read_dataset)
        if "adc_ranges" in g:
            obj._adc_ranges = [(a, None if np.isnan(b) else b, c)
                               for a, b, c in read_dataset(g, "adc_ranges", "1").tolist()]
    return obj


def refresh_spec(rule) -> tuple[str | None, dict]:
    """Registry name and parameters that store ``rule`` (``(None, {})`` for no rule).

    A rule is storable when its type is exactly a class of :data:`REFRESH_RULES` and that
    class, called with the rule's attributes, rebuilds it (same attributes, JSON-able).
    Anything else raises :class:`ParameterError`.
    """
    if rule is None:
        return None, {}
    for name, cls in REFRESH_RULES.items():
        if type(rule) is cls:
            params = dict(vars(rule))
            try:
                ok = vars(cls(**params)) == params
                json.dumps(params)
            except (TypeError, ValueError):
                ok = False
            if ok:
                return name, params
    raise ParameterError(f"refresh rule {rule!r} is not a named rule ({sorted(REFRESH_RULES)}) "
                         f"and cannot be saved (files never hold code); set "
                         f"xb.refresh_rule = None before save() and set it again after load()")


def _jd(o):
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {o!r}")
