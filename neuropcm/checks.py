"""Argument checks of public functions (the bridge, the engines, workload sizes): one place
for each rule.

Each check raises a one-line :mod:`neuropcm.errors` error that names the argument, the
offending value and the fix, before any long work. Nothing is rounded, clamped or
dropped: a value that does not fit is refused. Quantities follow
:mod:`neuropcm.units`: a Brian2 quantity (checked for dimension) or a plain number taken
as SI.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

from .errors import ParameterError, ShapeError, UnitError
from .units import brian2_unit, check_finite, is_quantity, to_si, unit_name

_SIGNS = {None: (lambda v: True, ""), "positive": (lambda v: v > 0, " > 0"),
          "nonnegative": (lambda v: v >= 0, " >= 0")}


def _show(value) -> str:
    """``repr(value)``, or its type and shape where that would not be one short line."""
    r = repr(value)
    if "\n" in r or len(r) > 60:
        return f"{type(value).__name__} of shape {np.shape(value)}"
    return r


def scalar(value, name: str, unit: str = "1", *, sign: str | None = None) -> float:
    """``value`` (a plain number in SI, or a Brian2 quantity in ``unit``) as a finite float
    with the given ``sign`` (None, ``"positive"`` or ``"nonnegative"``)."""
    u = "" if unit == "1" else f" (in {unit})"
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not (
            (is_quantity(value) and np.ndim(value) == 0) or isinstance(value, numbers.Real)):
        raise ParameterError(f"{name} = {_show(value)} is not a number; give a single "
                             f"number{u}")
    v = to_si(value, unit, name)
    ok, what = _SIGNS[sign]
    if not (math.isfinite(v) and ok(v)):
        raise ParameterError(f"{name} = {value!r} must be a finite number{what}{u}")
    return v


def count(value, name: str, lo: int = 1) -> int:
    """``value`` as an int if it is a whole number (``3`` or ``3.0``, not ``2.5``) >= ``lo``;
    nothing is rounded."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} = {_show(value)} must be a whole number >= {lo}")
    v = float(value)
    if not math.isfinite(v) or v != int(v):
        raise ParameterError(f"{name} = {value!r} must be a whole number >= {lo}; it is not "
                             f"rounded")
    if v < lo:
        raise ParameterError(f"{name} = {value!r} must be a whole number >= {lo}")
    return int(v)


def numeric(value, name: str, unit: str = "1", *, kinds: str = "biuf") -> np.ndarray:
    """``value`` as a numpy array of a real dtype (kinds of ``numpy.dtype.kind``), in SI
    if a Brian2 quantity in ``unit``; no conversion otherwise."""
    if is_quantity(value):
        from brian2.units.fundamentalunits import get_dimensions

        base = brian2_unit(unit)
        if value.dim is not get_dimensions(base):
            want = unit_name(unit) or "no unit (dimensionless)"
            raise UnitError(f"{name} has the unit {value.dim}, expected {want}: give a "
                            f"quantity in {want} or plain SI numbers")
        return np.asarray(value / base, dtype=float)
    try:
        a = np.asarray(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} is not a rectangular array of numbers "
                             f"({type(value).__name__}); give a numeric array") from None
    if a.dtype.kind not in kinds:
        raise ParameterError(f"{name} has dtype {a.dtype}; give an array of real numbers")
    return a


def real(value, name: str, unit: str = "1", *, what: str = "value",
         nonnegative: bool = False) -> np.ndarray:
    """``value`` as a float array of finite (and, if asked, non-negative) entries."""
    a = np.asarray(numeric(value, name, unit), dtype=float)
    check_finite(a, name, nonnegative=nonnegative, what=what)
    return a


def whole_numbers(a: np.ndarray, name: str, what: str) -> np.ndarray:
    """Integer-valued array ``a`` (int dtype, or floats that are whole numbers) as int64."""
    if a.dtype.kind == "f":
        bad = ~(np.isfinite(a) & (a == np.round(a)))
        if bad.any():
            raise ParameterError(f"{name} contains the {what} {a[bad].ravel()[0].item()!r}, "
                                 f"not a whole number; give whole numbers (nothing is "
                                 f"rounded)")
    return a.astype(np.int64)


def whole_steps(duration: float, dt: float) -> int:
    """The number of steps ``dt`` in ``duration`` (both finite, > 0, in s); refused unless
    it is a whole number >= 1 (nothing is rounded)."""
    q = duration / dt
    if not math.isfinite(q):
        raise ParameterError(f"duration = {duration!r} s is more than 1e308 steps of dt = "
                             f"{dt!r} s; shorten duration")
    k = round(q)
    if k < 1 or abs(q - k) > 1e-9 * k:
        raise ParameterError(f"duration = {duration!r} s is {q:.6g} steps of dt = {dt!r} s; "
                             f"give a duration that is a whole number (>= 1) of steps")
    return k


#: Environment variable capping the memory a run may plan for (``"8GiB"``, ``"500MB"`` or
#: bytes): for shared machines and clusters where free memory is not all one's own.
MEMORY_ENV = "NEUROPCM_MEMORY"
_SIZE_UNITS = {"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KIB": 2 ** 10,
               "MIB": 2 ** 20, "GIB": 2 ** 30, "TIB": 2 ** 40}


def memory_cap() -> int | None:
    """The cap of :data:`MEMORY_ENV` in bytes; None when it is not set.

    Raises
    ------
    ParameterError
        The variable is not a size such as ``8GiB``, ``500MB`` or a number of bytes.
    """
    raw = os.environ.get(MEMORY_ENV, "").strip()
    if not raw:
        return None
    num = raw.rstrip("BbKkMmGgTtIi ")
    unit = raw[len(num):].strip().upper()
    try:
        value = float(num) * _SIZE_UNITS[unit]
    except (ValueError, KeyError):
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise ParameterError(f"{MEMORY_ENV} = {raw!r} is not a memory size; give e.g. 8GiB, "
                             f"500MB or a number of bytes")
    return int(value)


def _cgroup_free() -> int | None:
    """Memory left under this process's cgroup (v2) limit, where there is one: in a
    container ``MemAvailable`` is the host's, not what the container may use."""
    try:
        top = open("/sys/fs/cgroup/memory.max").read().strip()
        if top == "max":
            return None
        used = int(open("/sys/fs/cgroup/memory.current").read().strip())
        return max(int(top) - used, 0)
    except (OSError, ValueError):
        return None


def available_bytes() -> int | None:
    """Memory available to a new allocation: the least of ``MemAvailable`` (Linux; else the
    free physical pages), the room under a cgroup limit and the cap of
    :data:`MEMORY_ENV`; None where none is known."""
    known = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    known.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    if not known:
        try:
            known.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    known += [v for v in (_cgroup_free(), memory_cap()) if v is not None]
    return min(known) if known else None


def check_memory(nbytes: float, what: str, fix: str) -> None:
    """Refuse an allocation of ``nbytes`` larger than the memory available now."""
    avail = available_bytes()
    if avail is not None and nbytes > avail:
        raise ParameterError(f"{what} ({nbytes / 2**30:.3g} GiB; {avail / 2**30:.3g} GiB "
                             f"available); {fix}")


def shape2(a: np.ndarray, name: str, what: str) -> None:
    """Refuse ``a`` unless it is 2-d with at least one row and one column."""
    if a.ndim != 2 or 0 in a.shape:
        raise ShapeError(f"{name} has shape {a.shape}; give a non-empty 2-d array {what}")
