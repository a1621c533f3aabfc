"""Checks of the arguments of the Brian2 building blocks (units, sign, finiteness)."""

from __future__ import annotations

import numbers

import numpy as np
from brian2 import Quantity
from brian2.units.fundamentalunits import have_same_dimensions

from ..errors import ParameterError, UnitError

_SIGNS = {None: (lambda x: True, ""), "positive": (lambda x: x > 0, "positive"),
          "nonnegative": (lambda x: x >= 0, "non-negative")}


def check_quantity(value, unit, name: str, example: str, sign: str | None = None):
    """Return ``value`` if it is a finite scalar Brian2 quantity with the dimension of
    ``unit`` (and the given ``sign``: None, ``"positive"`` or ``"nonnegative"``); raise
    :class:`UnitError` / :class:`ParameterError` naming the value and the fix otherwise."""
    if not isinstance(value, Quantity) or not have_same_dimensions(value, unit):
        raise UnitError(f"{name} = {value!r} must be a Brian2 quantity with the unit of "
                        f"{unit!r}, e.g. {name}={example}")
    arr = np.asarray(value)
    if arr.ndim != 0:
        raise ParameterError(f"{name} = {value!r} must be a single value, e.g. {name}={example}")
    ok, what = _SIGNS[sign]
    if not np.isfinite(float(arr)) or not ok(float(arr)):
        kind = f"finite, {what}" if what else "finite"
        raise ParameterError(f"{name} = {value!r} must be a {kind} value, e.g. {name}={example}")
    return value


def check_number(value, name: str, lo: float | None = None, hi: float | None = None):
    """Return ``value`` as a float if it is a finite plain number in ``[lo, hi]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} = {value!r} must be a plain number")
    v = float(value)
    if not np.isfinite(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f" in [{lo}, {hi}]" if lo is not None and hi is not None else \
            (f" >= {lo}" if lo is not None else "")
        raise ParameterError(f"{name} = {value!r} must be a finite number{rng}")
    return v
