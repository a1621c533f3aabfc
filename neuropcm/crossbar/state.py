"""The rules of a crossbar's state: its keys (:data:`STATE_KEYS`), the checks of a
stored matrix and a seed, rebuilding a :class:`~neuropcm.crossbar.Crossbar` from its state
dict (:meth:`Crossbar.from_state`, every value checked like a constructor argument) and
building one over existing device arrays (:meth:`Crossbar.from_devices`).

The class (:mod:`neuropcm.crossbar.crossbar`) imports this module, never the reverse: the
functions fill an object the class made with ``cls.__new__(cls)``. The HDF5 side
(:mod:`neuropcm.io.crossbar`) only reads and writes the dict.
"""

from __future__ import annotations

import math

import numpy as np

from ..devices import PCMArray
from ..errors import ParameterError, ShapeError
from ..random import check_seed
from .config import make_config
from .mapping import MAPPINGS, get_mapping

#: Keys of :meth:`Crossbar.state_dict`.
STATE_KEYS = ("config", "preset", "mapping", "mapping_state", "seed", "time", "n_mvm",
              "n_refresh", "rng_state", "update_rng_state", "noise_stream", "clip_counts",
              "W", "chi", "transferred", "rr_plus", "rr_minus", "adc_ranges", "compensation",
              "factors", "arrays")


def resolve_seed(seed) -> int:
    """The seed in use: ``seed`` checked, or fresh entropy for None."""
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    return check_seed(seed)


def check_real_dtype(dtype, name: str = "W") -> None:
    """Refuse a dtype that is not a real number type (integer or floating): a complex matrix
    (whose imaginary part a float conversion would drop), a boolean one and one of Python
    objects or strings are never converted."""
    kind = np.dtype(dtype).kind
    if kind == "c":
        raise ParameterError(f"{name} has the complex dtype {dtype}: a crossbar stores real "
                             f"weights; pass {name}.real (or split real and imaginary parts "
                             f"into two crossbars) explicitly")
    if kind not in "iuf":
        what = {"b": "boolean", "O": "object"}.get(kind, "non-numeric")
        raise ParameterError(f"{name} has the {what} dtype {dtype}: a crossbar stores a real "
                             f"numeric matrix; convert it explicitly, e.g. "
                             f"{name}.astype(float)")


def check_matrix(W, name: str = "W") -> np.ndarray:
    """``W`` as a finite, non-empty 2-d float array (``name`` names it in errors).

    Only real numbers are accepted (:func:`check_real_dtype`).

    Raises
    ------
    ParameterError
        ``W`` is not a real numeric array (complex, bool, object, strings) or holds NaN/Inf.
    ShapeError
        ``W`` is not a non-empty matrix.
    """
    try:
        raw = np.asarray(W)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a real numeric matrix, got "
                             f"{type(W).__name__}") from None
    check_real_dtype(raw.dtype, name)
    W = np.asarray(raw, dtype=float)
    if W.ndim != 2 or 0 in W.shape:
        raise ShapeError(f"{name} has shape {W.shape}; a crossbar stores a non-empty 2-d "
                         f"matrix (m, n)")
    check_finite_entries(W, name)
    return W


def check_finite_entries(values: np.ndarray, name: str = "W") -> None:
    """Refuse NaN or Inf among ``values`` (naming the first one)."""
    if not np.isfinite(values).all():
        bad = values[~np.isfinite(values)].ravel()[0]
        raise ParameterError(f"{name} contains {bad!r}; every entry must be finite")


def restore(obj, state: dict) -> None:
    """Fill the bare crossbar ``obj`` (``cls.__new__(cls)``) from ``state``.

    Raises
    ------
    ParameterError
        A missing key or an invalid value (one line naming it).
    """
    if not isinstance(state, dict):
        raise ParameterError(f"a crossbar state must be a dict, got {type(state).__name__}")
    missing = [k for k in STATE_KEYS if k not in state]
    if missing:
        raise ParameterError(f"the crossbar state lacks {missing}")
    config = make_config(state["config"])
    seed = check_seed(state["seed"], "seed")
    mname = state["mapping"]
    if mname not in MAPPINGS:
        raise ParameterError(f"mapping = {mname!r} is not a mapping; known: {sorted(MAPPINGS)}")
    arrays = state["arrays"]
    if not (isinstance(arrays, dict) and arrays
            and all(isinstance(a, PCMArray) for a in arrays.values())):
        raise ParameterError("arrays must be a non-empty dict of PCMArray objects")
    params = next(iter(arrays.values())).params
    for name, a in arrays.items():
        if a.params != params or (a.params.preset, a.params.overrides) \
                != (params.preset, params.overrides):
            raise ParameterError(f"device array {name!r} has other parameters "
                                 f"({a.params.provenance}) than the others "
                                 f"({params.provenance}); a crossbar's devices share one set")
    stated = None if state["preset"] == "custom" else state["preset"]
    if stated != params.preset:
        raise ParameterError(f"preset = {state['preset']!r} disagrees with the devices' "
                             f"parameters ({params.provenance})")
    W = check_matrix(state["W"])
    obj._setup(W, params, MAPPINGS[mname], seed, config)
    _check_mapping(obj, state["mapping_state"])
    _set_arrays(obj, arrays, _float(state["time"], "time"))
    m, n = obj.shape
    obj.chi = _floats(state["chi"], "chi", (m, n))
    obj.transferred = _floats(state["transferred"], "transferred", (m, n))
    obj._rr = {side: _counters(state[key], key, (m, n), obj.mapping.K)
               for side, key in (("G_plus", "rr_plus"), ("G_minus", "rr_minus"))}
    obj.n_mvm = _count(state["n_mvm"], "n_mvm")
    obj.n_refresh = _count(state["n_refresh"], "n_refresh")
    for gen, key in ((obj.rng, "rng_state"), (obj._update_rng, "update_rng_state")):
        _set_generator(gen, state[key], key)
    _set_noise(obj._noise, state["noise_stream"])
    clips = state["clip_counts"]
    if not isinstance(clips, dict) or set(clips) != set(obj._clips.counts):
        raise ParameterError(f"clip_counts = {clips!r} must have the keys "
                             f"{sorted(obj._clips.counts)}")
    obj._clips.counts = {k: _count(v, f"clip_counts[{k!r}]") for k, v in clips.items()}
    _set_adc(obj, state["adc_ranges"])
    _set_compensation(obj, state["compensation"], state["factors"])


def _check_mapping(obj, saved) -> None:
    now = obj.mapping.state()
    if not isinstance(saved, dict) or set(saved) != set(now):
        raise ParameterError(f"mapping_state = {saved!r} must have the keys {sorted(now)}")
    for k, v in now.items():
        s = saved[k]
        if isinstance(s, bool) or not isinstance(s, (int, float)) \
                or not np.isclose(v, s, rtol=1e-12, atol=0):
            raise ParameterError(f"mapping {k} = {s!r} is stored, but W and the config give "
                                 f"{v!r}; the state is inconsistent")


def _set_arrays(obj, arrays: dict, time: float) -> None:
    shapes = dict(obj.mapping.array_shapes())
    if obj._comp is not None:
        shapes.update({k: np.shape(t) for k, t in obj._comp.reference_arrays(obj).items()})
    if set(arrays) != set(shapes):
        raise ParameterError(f"device arrays {sorted(arrays)}; this mapping and compensation "
                             f"use {sorted(shapes)}")
    for name, shape in shapes.items():
        a = arrays[name]
        if tuple(a.shape) != tuple(shape):
            raise ParameterError(f"device array {name!r} has shape {a.shape}, expected {shape}")
        if a.time != time:
            raise ParameterError(f"device array {name!r} is at time {a.time!r} s, the crossbar "
                                 f"at {time!r} s; the clocks must agree")
    obj.arrays = {name: arrays[name] for name in shapes}
    obj._clock = obj.arrays[next(iter(obj.mapping.array_shapes()))]


def _set_adc(obj, ranges) -> None:
    if not obj.adc.on:
        if ranges is not None:
            raise ParameterError("adc_ranges are given, but the config has no ADC")
        return
    groups = len(obj._eff().groups)
    r = np.asarray(ranges, dtype=float) if ranges is not None else None
    ok = r is not None and r.shape == (groups, 3)
    if ok:
        fixed = np.delete(r, 1, axis=1)
        ref = r[:, 1]
        ok = bool(np.all(np.isfinite(fixed) & (fixed > 0))
                  and np.all(np.isnan(ref) | (np.isfinite(ref) & (ref > 0))))
    if not ok:
        raise ParameterError(f"adc_ranges = {ranges!r} must be ({groups}, 3) positive full "
                             f"scales (NaN for no reference line)")
    obj._adc_ranges = [(a, None if math.isnan(b) else b, c) for a, b, c in r.tolist()]


def _set_compensation(obj, comp, factors) -> None:
    if obj._comp is None:
        if comp is not None or factors:
            raise ParameterError("compensation state is given, but the config has none")
        return
    if not (isinstance(comp, dict) and set(comp) == {"name", "settings", "state"}):
        raise ParameterError(f"compensation = {comp!r} must be a dict with name, settings and "
                             f"state")
    if comp["name"] != obj._comp.name or comp["settings"] != obj._comp.settings():
        raise ParameterError(f"the compensation state is of {comp['name']!r} "
                             f"{comp['settings']!r}, the config builds {obj._comp!r}")
    if not isinstance(comp["state"], dict):
        raise ParameterError("the compensation state must be a dict of (value, units)")
    obj._comp.load_state(obj, comp["state"])
    if not isinstance(factors, dict) or not set(factors) <= {False, True}:
        raise ParameterError(f"factors = {factors!r} must map transpose flags to factors")
    out = {"key": (obj.time, obj._version)}
    for tr, f in factors.items():
        lines = obj.shape[1] if tr else obj.shape[0]
        v = np.asarray(f, dtype=float)
        if not (v.shape in ((), (lines,)) and np.all(np.isfinite(v)) and np.all(v > 0)):
            raise ParameterError(f"compensation factor of direction {int(tr)} = {f!r} must "
                                 f"be positive and finite, one or {lines}")
        out[tr] = float(v) if v.shape == () else v.astype(obj.dtype)
    obj._factors = out


def _set_generator(gen, st, key) -> None:
    try:
        gen.bit_generator.state = st
    except (TypeError, ValueError, KeyError) as e:
        raise ParameterError(f"{key} is not a valid {type(gen.bit_generator).__name__} "
                             f"state ({e})") from None


def _set_noise(noise, st) -> None:
    ok = isinstance(st, (list, tuple)) and len(st) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in st)
    if not ok or not (0 <= st[0] < 2 ** 63 and 0 <= st[1] < 2 ** 64):
        raise ParameterError(f"noise_stream = {st!r} must be [key, counter], 0 <= key < 2^63 "
                             f"and 0 <= counter < 2^64")
    noise.key, noise.counter = int(st[0]), int(st[1])


def _float(v, name) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
            or not math.isfinite(v):
        raise ParameterError(f"{name} = {v!r} must be a finite number")
    return float(v)


def _count(v, name) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 0:
        raise ParameterError(f"{name} = {v!r} must be a whole number >= 0")
    return int(v)


def _floats(v, name, shape) -> np.ndarray:
    a = np.asarray(v)
    if a.shape != shape or a.dtype.kind not in "fiu" or not np.isfinite(a).all():
        raise ParameterError(f"{name} has shape {a.shape} and dtype {a.dtype}; expected "
                             f"finite numbers of shape {shape}")
    return a.astype(float)


def _counters(v, name, shape, K) -> np.ndarray:
    a = np.asarray(v)
    if a.shape != shape or a.dtype.kind not in "iu" or a.size and (a.min() < 0 or a.max() >= K):
        raise ParameterError(f"{name} must be whole numbers in [0, K = {K}) of shape {shape}")
    return a.astype(np.int64)


def over_devices(cls, plus, minus, w_scale, shape, seed, cfg):
    """:meth:`Crossbar.from_devices`: a differential crossbar over ``plus``/``minus``."""
    for name, a in (("plus", plus), ("minus", minus)):
        if not isinstance(a, PCMArray):
            raise ParameterError(f"{name} must be a PCMArray, got {type(a).__name__}")
    if plus.shape != minus.shape or plus.time != minus.time or plus.params != minus.params:
        raise ParameterError("plus and minus must have the same shape, clock and "
                             f"parameters (shapes {plus.shape}, {minus.shape}; times "
                             f"{plus.time!r}, {minus.time!r} s)")
    s = w_scale
    if isinstance(s, bool) or not isinstance(s, (int, float)) or not (
            math.isfinite(s) and s > 0):
        raise ParameterError(f"w_scale = {w_scale!r} must be a positive finite weight per "
                             f"siemens")
    if shape is None:
        if len(plus.shape) == 2 or (len(plus.shape) == 3 and plus.shape[0] == 1):
            shape = plus.shape[-2:]
        else:
            raise ShapeError(f"arrays of shape {plus.shape}: give shape=(m, n) with "
                             f"m * n = {plus.size} (row-major)")
    shape = tuple(int(v) for v in shape)
    if len(shape) != 2 or shape[0] * shape[1] != plus.size:
        raise ShapeError(f"shape = {shape} does not hold the {plus.size} devices")
    g_max = plus.params.g_max
    G = np.stack([plus.conductance.reshape(shape), minus.conductance.reshape(shape)])
    W = float(s) * (G[0] - G[1])
    cfg = cfg.replace(w_max=float(s) * g_max, g_target=g_max)
    obj = cls.__new__(cls)
    obj._setup(check_matrix(W), plus.params, get_mapping("differential"),
               resolve_seed(seed), cfg)
    if obj.mapping.K != 1:
        raise ParameterError(f"devices_per_weight = {obj.mapping.K}: a crossbar over "
                             f"existing arrays has one device per weight and side")
    full = (1, *shape)
    obj.arrays = {n: a if a.shape == full else _SharedView(a, full)
                  for n, a in (("G_plus", plus), ("G_minus", minus))}
    obj._clock = obj.arrays["G_plus"]
    if obj._comp is not None and obj._comp.reference_arrays(obj):
        raise ParameterError(f"compensation {obj._comp!r} needs reference devices, "
                             f"which existing arrays do not have; use 'global' or "
                             f"'column'")
    obj._written(programmed=True)
    obj._adc_ranges = obj._auto_adc_ranges()
    obj._adc_stale = False
    if obj._comp is not None:
        obj._comp.calibrate(obj)
    return obj


class _SharedView(PCMArray):
    """``base`` seen with another shape: the same state arrays (one dict), clock,
    temperature and random stream, so writes and time on either side are one."""

    def __init__(self, base: PCMArray, shape):
        d = dict(base.__dict__)
        d.pop("time", None)
        d.pop("_temperature", None)
        self.__dict__.update(d, base=base, shape=tuple(shape))

    time = property(lambda self: self.base.time,
                    lambda self, v: setattr(self.base, "time", v))
    _temperature = property(lambda self: self.base._temperature,
                            lambda self, v: setattr(self.base, "_temperature", v))
