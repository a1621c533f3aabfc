"""Quantity strings: the one parser of unit expressions (never evaluated as code) and the
one conversion of a config value to SI (:func:`si_value`)."""

from __future__ import annotations

import ast
import math
import re

import numpy as np

from ..errors import ParameterError, UnitError
from ..units import brian2_unit, is_quantity, to_si, unit_name

_UNITS: dict | None = None
_MAX_EXPR = 200
_IMPLICIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s+([A-Za-z_(].*)$")
_BINOPS = {ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
           ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b}


def _unit_table() -> dict:
    """Every Brian2 unit by name (``ms``, ``mV``, ``uS``, ``usiemens``, ``kHz`` ...)."""
    global _UNITS
    if _UNITS is None:
        import brian2.units as bu
        import brian2.units.allunits as au
        from brian2.units.fundamentalunits import Unit

        _UNITS = {k: v for mod in (bu, au) for k, v in vars(mod).items()
                  if isinstance(v, Unit)}
    return _UNITS


def _eval_node(node):
    """Evaluate a parsed unit expression; anything but numbers, unit names and arithmetic
    is refused (no calls, attributes, subscripts or other names)."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    if isinstance(node, ast.Name):
        units = _unit_table()
        if node.id not in units:
            raise ValueError(f"unknown unit {node.id!r}: not a Brian2 unit name such as ms, "
                             f"mV, Hz, uS")
        return units[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval_node(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_eval_node(node.left), _eval_node(node.right))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        exp, sign = node.right, 1
        if isinstance(exp, ast.UnaryOp) and isinstance(exp.op, ast.USub):
            exp, sign = exp.operand, -1
        if not (isinstance(exp, ast.Constant) and type(exp.value) in (int, float)
                and abs(exp.value) <= 16):
            raise ValueError("an exponent must be a number between -16 and 16")
        return _eval_node(node.left) ** (sign * exp.value)
    raise ValueError(f"{type(node).__name__} is not allowed in a unit expression")


def parse_quantity(text, where: str = "value"):
    """Parse a unit expression such as ``"20*ms"``, ``"12 uS"`` or ``"0.02*mV/usiemens"``.

    Numbers, Brian2's unit names and ``* / ** + -`` with parentheses only (``**`` with a
    number between -16 and 16); a number followed by a space and a unit means a product.
    Nothing is executed.

    Returns
    -------
    brian2.Quantity or float
        A float for a pure number.

    Raises
    ------
    ParameterError
        The text is not such an expression (or longer than 200 characters), names an
        unknown unit, mixes dimensions in a sum, or its value is not finite.
    """
    import brian2

    if not isinstance(text, str) or len(text) > _MAX_EXPR:
        raise ParameterError(f"{where} = {text!r} must be a unit expression (a string of at "
                             f"most {_MAX_EXPR} characters), e.g. \"20*ms\"")
    m = _IMPLICIT.match(text)
    src = f"({m.group(1)})*({m.group(2)})" if m else text
    try:
        value = _eval_node(ast.parse(src.strip(), mode="eval").body)
    except (SyntaxError, ValueError, TypeError, ZeroDivisionError, OverflowError,
            brian2.DimensionMismatchError) as e:
        raise ParameterError(f"{where} = {text!r} is not a quantity ({e}); write e.g. "
                             f"\"20*ms\"") from None
    if not np.all(np.isfinite(np.asarray(value, dtype=float))):
        raise ParameterError(f"{where} = {text!r} is not finite")
    return value


def _example(value_si, unit: str) -> str:
    """``value_si`` in ``unit`` written as a quantity string in its best Brian2 unit,
    e.g. ``0.02, "s"`` -> ``"20*ms"``."""
    base = brian2_unit(unit)
    try:
        v = float(value_si)
    except (TypeError, ValueError):
        v = 1.0
    v = v if v and math.isfinite(v) else 1.0
    if "/" in unit:  # Brian2 has no name for a ratio such as volt/siemens
        return f"{v:g}*{unit_name(unit)}"
    q = v * base
    best = q.get_best_unit()
    name = best.dispname if best.dispname in _unit_table() else best.name
    return f"{float(q / best):g}*{name}"


def si_value(value, unit: str | None, where: str) -> float:
    """One value as an SI float in ``unit``: a Brian2 quantity, a quantity string, or a
    plain number (taken as SI); the one conversion rule of every config field.

    Raises
    ------
    UnitError
        The quantity has another dimension than ``unit``.
    ParameterError
        Not a number or quantity, or not finite.
    """
    unit = unit or "1"
    text = value if isinstance(value, str) else None
    if text is not None:
        value = parse_quantity(text.strip(), where)
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{where} = {value!r} must be a number")
    try:
        out = to_si(value, unit, where)
    except UnitError:
        if text is None:
            raise
        if unit == "1":
            raise UnitError(f"{where} = {text!r} has a unit, but it is a plain number "
                            f"(dimensionless)") from None
        raise UnitError(f"{where} = {text!r} has the wrong unit: expected {unit}, e.g. "
                        f"\"{_example(1.0, unit)}\"") from None
    if not isinstance(out, float):
        raise ParameterError(f"{where} = {value!r} must be one number")
    if not math.isfinite(out):
        raise ParameterError(f"{where} = {value!r} is not finite; give a finite value"
                             f"{' in ' + unit if unit != '1' else ''}")
    return out


def check_unit_text(value, unit: str, where: str, default=None) -> None:
    """A value written as text (a file, ``--set``) for a quantity in ``unit``: it must be a
    quantity string with a unit; a bare number is refused, since it is unclear in which
    unit it was meant (its dimension is checked on conversion, by :func:`si_value`).

    Raises
    ------
    UnitError
        ``value`` is a number, or a string without a unit; the message shows ``default``
        (SI) as an example.
    """
    if isinstance(value, str):
        q = parse_quantity(value.strip(), where)
        if is_quantity(q) and not q.is_dimensionless:
            return
    elif isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float)):
        return  # not a number at all: the field's own check names the problem
    raise UnitError(f"{where} = {value!r} needs a unit ({unit}): write a quantity such as "
                    f"\"{_example(default, unit)}\"")
