"""Checks of PCMArray arguments and states, shared by the constructor, the operations and
:meth:`PCMArray.from_state` (so a loaded state obeys the same rules as a built one).

Every check raises a one-line :mod:`neuropcm.errors` error that names the value and the
fix; nothing is rounded, truncated or clamped.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError, ShapeError
from ..random import check_seed, rng
from ..units import check_finite, is_quantity, to_si
from . import faults as F
from . import physics as ph
from .params import T_MAX, DeviceParams

#: State arrays of a PCMArray with their units (the HDF5 layout uses the same names).
STATE_UNITS = {
    "G": "S", "P": "1", "t_prog": "s", "nu": "1", "f_set": "1",
    "n_set": "count", "n_reset": "count", "n_read": "count", "energy": "J",
    "stuck": "1",
}
#: State arrays a stored state may lack (older files): their value when absent.
OPTIONAL_STATE = {"stuck": lambda shape: np.zeros(shape, np.int8)}


#: Largest count accepted (the int64 counters' limit, as a float that converts exactly).
COUNT_MAX = 2 ** 62


def _integral(v) -> bool:
    return (isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))) or (
        isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer())


def as_count(value, name: str, *, minimum: int = 0) -> int:
    """``value`` as an int >= ``minimum``; a whole float (``3.0``) is accepted, ``2.7``,
    NaN, a bool or a quantity with a unit are refused (never truncated)."""
    v = to_si(value, "1", name) if is_quantity(value) else value
    if not _integral(v):
        raise ParameterError(f"{name} = {value!r} must be a whole number >= {minimum}; "
                             f"it is not rounded, give e.g. {max(minimum, 3)}")
    if int(v) < minimum:
        raise ParameterError(f"{name} = {value!r} must be >= {minimum}")
    return int(v)


def as_counts(values, name: str) -> np.ndarray:
    """A non-negative whole-number array (int64); whole floats are accepted, fractions,
    NaN/Inf, negatives, counts above :data:`COUNT_MAX` and quantities with a unit refused."""
    v = to_si(values, "1", name) if is_quantity(values) else values
    a = np.asarray(v)
    if a.dtype.kind == "b" or a.dtype.kind not in "iuf":
        raise ParameterError(f"{name} must hold whole numbers >= 0, got dtype {a.dtype}")
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.round(a))
        if bad.any():
            raise ParameterError(f"{name} contains {a[bad].ravel()[0].item()!r}: counts must "
                                 f"be whole numbers (they are not rounded)")
    if a.size and a.min() < 0:
        raise ParameterError(f"{name} contains the negative count {a.min().item()!r}; counts "
                             f"are >= 0")
    if a.size and a.max() > COUNT_MAX:
        raise ParameterError(f"{name} contains {a.max().item()!r}, above the largest count "
                             f"{COUNT_MAX} (an int64 counter); give a smaller count")
    return a.astype(np.int64)


def as_shape(shape) -> tuple[int, ...]:
    """A shape: a positive whole number or a non-empty tuple of them (never truncated)."""
    parts = (shape,) if not isinstance(shape, (tuple, list)) else tuple(shape)
    if len(parts) == 0 or not all(_integral(s) and int(s) > 0 for s in parts):
        raise ShapeError(f"shape = {shape!r} must be a positive whole number or a tuple of "
                         f"them, e.g. (256, 256)")
    return tuple(int(s) for s in parts)


def as_random_stream(seed):
    """The random stream of a device array: ``(seed, generator)``.

    ``seed`` is an int (-> ``neuropcm.random.rng(seed)``, the root stream of that seed), a
    ``numpy.random.SeedSequence`` (-> ``numpy.random.default_rng(seed)``), a
    ``numpy.random.Generator`` (used as it is, not copied) or None (fresh entropy). The
    first value returned is what :attr:`PCMArray.seed` records: the int or SeedSequence,
    None for a Generator or None.
    """
    if seed is None:
        return None, np.random.default_rng()
    if isinstance(seed, np.random.Generator):
        return None, seed
    if isinstance(seed, np.random.SeedSequence):
        return seed, np.random.default_rng(seed)
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        s = check_seed(seed)
        return s, rng(s)
    raise ParameterError(f"seed = {seed!r} must be a non-negative integer, a "
                         f"numpy.random.SeedSequence or Generator (e.g. "
                         f"neuropcm.random.rng(run_seed, 'crossbar')), or None")


def as_amplitude(amplitude) -> np.ndarray:
    """Relative SET-pulse amplitude(s): dimensionless, finite, >= 0 (0 = no pulse)."""
    amp = np.asarray(to_si(amplitude, "1", "amplitude"), dtype=float)
    check_finite(amp, "amplitude", what="relative pulse amplitude")
    if np.any(amp < 0):
        raise ParameterError(f"amplitude contains the negative value {amp[amp < 0].min().item()!r}; "
                             f"relative pulse amplitudes are >= 0 (0 = no pulse): a SET "
                             f"cannot lower G, use reset()")
    return amp


def as_time(value, name: str, *, nonnegative: bool = True) -> float:
    """A finite time in seconds (plain SI float or Brian2 time)."""
    v = to_si(value, "s", name)
    if not (isinstance(v, float) and math.isfinite(v) and (v >= 0 or not nonnegative)):
        raise ParameterError(f"{name} = {value!r} must be a finite"
                             f"{', non-negative' if nonnegative else ''} time in seconds "
                             f"(e.g. 10.0 or 10*second)")
    return v


def as_temperature(value) -> float:
    """A positive finite temperature in kelvin, at most
    :data:`~neuropcm.devices.params.T_MAX` (about the melting point of Ge2Sb2Te5: above
    it there is no device), the bound of the models' ``t_ref`` too."""
    v = to_si(value, "K", "temperature")
    if not (isinstance(v, float) and math.isfinite(v) and v > 0):
        raise ParameterError(f"temperature = {value!r} must be a positive finite number of "
                             f"kelvin, e.g. 300 or 300*kelvin")
    if v > T_MAX:
        raise ParameterError(f"temperature = {value!r} K is out of range: it must be <= "
                             f"{T_MAX!r} K (about the melting point of Ge2Sb2Te5; above it "
                             f"there is no device)")
    return v


def check_state(params: DeviceParams, arrays: dict, time: float) -> None:
    """Refuse a state no sequence of operations on a PCMArray can produce.

    Rules: ``G`` in [g_min, g_max]; ``P`` in [0, 1]; ``t_prog`` finite and not after the
    clock ``time`` (writes happen at the clock; it may be negative when the time origin was
    moved, e.g. to the end of training); ``nu``, ``f_set``, ``energy`` finite and >= 0;
    counters whole numbers >= 0; ``stuck`` a fault code of
    :data:`~neuropcm.devices.faults.FAULT_CODES`, with ``G = g_min`` where stuck off and
    ``G = g_max`` where stuck on.
    """
    p = params
    for k, a in arrays.items():
        if k.startswith("n_") or k == "stuck":
            continue
        bad = ~np.isfinite(a)
        if bad.any():
            raise ParameterError(f"state array {k!r} contains {a[bad].ravel()[0].item()!r}: every "
                                 f"value must be finite")
    ranges = {"G": (p.g_min, p.g_max), "P": (0.0, 1.0), "t_prog": (-math.inf, time),
              "nu": (0.0, math.inf), "f_set": (0.0, math.inf), "energy": (0.0, math.inf)}
    for k, (lo, hi) in ranges.items():
        a = arrays[k]
        bad = (a < lo) | (a > hi)
        if bad.any():
            raise ParameterError(f"state array {k!r} contains {a[bad].ravel()[0].item()!r} "
                                 f"{STATE_UNITS[k]}, outside [{lo!r}, {hi!r}]"
                                 + (" (a write cannot lie after the clock)" if k == "t_prog"
                                    else ""))
    for k in ("n_set", "n_reset", "n_read"):
        arrays[k] = as_counts(arrays[k], f"state array {k!r}")
    st = arrays["stuck"]
    bad = ~np.isin(st, F.FAULT_CODES)
    if bad.any():
        raise ParameterError(f"state array 'stuck' contains {st[bad].ravel()[0].item()!r}; fault "
                             f"codes are {list(F.FAULT_CODES)} (free, stuck off, stuck on)")
    for code, level, name in ((F.STUCK_OFF, p.g_min, "g_min"), (F.STUCK_ON, p.g_max, "g_max")):
        wrong = (st == code) & (arrays["G"] != level)
        if wrong.any():
            raise ParameterError(f"state array 'G' holds {arrays['G'][wrong][0]!r} S at a device "
                                 f"stuck {'off' if code == F.STUCK_OFF else 'on'}; it must be "
                                 f"{name} = {level!r} S")


def writable(params: DeviceParams, n_set, n_reset, stuck=None) -> np.ndarray:
    """Devices that may still be written, by the stuck rule
    :func:`~neuropcm.devices.faults.can_write`: not faulted (``stuck == FREE``; None: no
    faults) and not worn out (:data:`~neuropcm.devices.physics.WRITABLE`,
    ``n_set + n_reset < endurance``)."""
    w = np.asarray(ph.WRITABLE(params, n_set=np.asarray(n_set), n_reset=np.asarray(n_reset)))
    return w if stuck is None else np.asarray(F.can_write(np.asarray(stuck), w))


def load_state(params: DeviceParams, state: dict):
    """Check a :meth:`PCMArray.state_dict`-style state against ``params``.

    Returns
    -------
    shape, arrays, time, temperature, rng
        The shape, flat contiguous state arrays (float64; int64 counters), the clock (s),
        the temperature (K) and a ``numpy.random.Generator`` in the stored state.
    """
    if not isinstance(params, DeviceParams):
        raise ParameterError(f"params must be a DeviceParams object, got {type(params).__name__}")
    try:
        raw, time, temperature, rng_state = (state["arrays"], state["time"],
                                             state["temperature"], state["rng_state"])
        raw = {k: np.asarray(raw[k]) for k in STATE_UNITS
               if k not in OPTIONAL_STATE or k in raw}
    except (KeyError, TypeError) as e:
        raise ParameterError(f"state lacks {e}; give the output of PCMArray.state_dict()") \
            from None
    shape = as_shape(raw["G"].shape)
    for k, make in OPTIONAL_STATE.items():
        raw.setdefault(k, make(shape))
    arrays = {}
    for k, a in raw.items():
        if a.shape != shape:
            raise ShapeError(f"state array {k!r} has shape {a.shape}, expected {shape}")
        if a.dtype.kind not in "iuf":
            raise ParameterError(f"state array {k!r} has dtype {a.dtype}; it must be numeric")
        arrays[k] = a.ravel()
    time = as_time(time, "time")
    temperature = as_temperature(temperature)
    check_state(params, arrays, time)
    arrays = {k: np.array(a, dtype=np.int8 if k == "stuck" else
                          np.int64 if k.startswith("n_") else np.float64)
              for k, a in arrays.items()}
    rng = np.random.default_rng()
    try:
        rng.bit_generator.state = rng_state
    except (TypeError, ValueError, KeyError) as e:
        raise ParameterError(f"rng_state is not a valid {type(rng.bit_generator).__name__} "
                             f"state ({e})") from None
    return shape, arrays, time, temperature, rng
