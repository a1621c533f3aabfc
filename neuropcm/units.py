"""Unit handling at the public boundary.

Public functions accept Brian2 quantities (checked for dimension) or plain numbers,
which are taken as SI values. Inside, everything is plain SI floats. Brian2 is imported
only when a quantity is actually passed, so the numba engine does not pay for it.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError, UnitError

_DIMS = {"s": "second", "S": "siemens", "K": "kelvin", "J": "joule", "Hz": "hertz",
         "A": "amp", "V": "volt", "ohm": "ohm", "1": None}


def is_quantity(x) -> bool:
    """Whether ``x`` is a Brian2 quantity (has physical dimensions attached)."""
    return hasattr(x, "dim") and hasattr(x, "dimensions")


def unit_name(unit: str) -> str | None:
    """The Brian2 name of an SI unit symbol, ``"V/S"`` -> ``"volt/siemens"``; None for
    ``"1"``."""
    return None if unit == "1" else "/".join(_DIMS[u] for u in unit.split("/"))


def brian2_unit(unit: str):
    """The Brian2 unit of an SI unit symbol (``"s"`` -> ``second``; a ratio such as
    ``"V/S"`` -> ``volt/siemens``); ``1`` for ``"1"``."""
    import brian2

    if unit == "1":
        return 1
    num, *den = (getattr(brian2, _DIMS[u]) for u in unit.split("/"))
    for d in den:
        num = num / d
    return num


def to_si(x, unit: str, name: str, *, require_unit: bool = False):
    """Convert ``x`` to plain SI float(s) in ``unit``.

    Parameters
    ----------
    x : float, array-like or brian2.Quantity
        The value. Plain numbers are taken as SI unless ``require_unit``.
    unit : str
        Expected SI unit symbol (``"s"``, ``"S"``, ``"K"``, ``"J"``, ``"Hz"``, ``"1"``) or a
        ratio of two (``"V/S"``).
    name : str
        Argument name, used in error messages.
    require_unit : bool
        If true, a plain number is refused (Brian2-facing APIs).

    Raises
    ------
    UnitError
        On a dimension mismatch, or a missing unit where one is required.
    """
    if is_quantity(x):
        from brian2.units.fundamentalunits import get_dimensions

        target, base = unit_name(unit), brian2_unit(unit)
        want = get_dimensions(base)
        if x.dim is not want:
            if target is None:
                raise UnitError(f"{name} = {x!r} has a unit, but {name} is dimensionless: "
                                f"give a plain number (e.g. {name}=0.5)")
            raise UnitError(f"{name} = {x!r} has the wrong unit: expected {target} "
                            f"(e.g. {name}=5*{target})")
        arr = np.asarray(x / base, dtype=float)
        return float(arr) if arr.ndim == 0 else arr
    if require_unit and unit != "1":
        raise UnitError(f"{name} = {x!r} lacks a unit: give a Brian2 quantity in "
                        f"{unit_name(unit)} (e.g. {name}=10*ms)")
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} = {x!r} is not a number") from None
    return float(arr) if arr.ndim == 0 else arr


def check_finite(x, name: str, *, nonnegative: bool = False, what: str = "value"):
    """Raise :class:`ParameterError` if ``x`` holds NaN/Inf (or negatives)."""
    arr = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].ravel()[0].item()
        raise ParameterError(f"{name} contains {bad!r}: every {what} must be finite; remove or "
                             f"replace NaN/Inf entries")
    if nonnegative and np.any(arr < 0):
        bad = arr[arr < 0].ravel()[0].item()
        raise ParameterError(f"{name} contains the negative {what} {bad!r}; it must be >= 0")
    return x
