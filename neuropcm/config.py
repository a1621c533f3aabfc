"""Frozen, validated configuration dataclasses: the one shape of every run's settings.

A workload's settings are a frozen dataclass deriving from :class:`Config`. Each field is
declared with :func:`option`, which holds its unit, bounds, choices and a one-line doc in
the field metadata; validation, ``--help`` text, TOML loading and ``--set`` overrides all
come from that one declaration (as :class:`~neuropcm.devices.params.DeviceParams` does for
device parameters).

Values are stored as plain SI floats, ints, bools and strings. At the boundary a field
with a unit accepts a Brian2 quantity (``20*ms``), a quantity string from a file or the
command line (``"20*ms"``, ``"20 ms"``, ``"0.02*mV/usiemens"``; parsed by a whitelist of
Brian2 unit names, never evaluated as code) or a plain number taken as SI. Integers are
never truncated (``2.7`` for a count is refused), and nothing is clamped.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo(Config):
...     n: int = option(10, "number of devices", lo=1)
...     t: float = option(1.0, "read time", unit="s", lo=0.0)
>>> Demo(t="20 ms").t
0.02
>>> apply_sets(Demo(), ["n=5"]).n
5
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ParameterError, UnitError
from .units import to_si

__all__ = ["Config", "option", "parse_quantity", "load_config", "apply_sets", "describe",
           "settings_diff", "check_resume"]

_MISSING = dataclasses.MISSING


def option(default: Any, doc: str, *, unit: str | None = None, lo: float | None = None,
           hi: float | None = None, lo_open: bool = False, choices: tuple | None = None) -> Any:
    """A config field: default, one-line doc, SI unit, bounds and allowed choices.

    Parameters
    ----------
    default : Any
        Default value (SI for fields with a unit). Lists are stored as tuples.
    doc : str
        One line for ``--help`` and the docstring.
    unit : str, optional
        SI unit symbol (``"s"``, ``"S"``, ``"K"``, ``"J"``, ``"Hz"``, ``"V"``, ``"A"``).
    lo, hi : float, optional
        Inclusive bounds (``lo_open=True`` makes the lower bound strict).
    choices : tuple, optional
        The allowed values of a string field.
    """
    meta = {"doc": doc, "unit": unit, "lo": lo, "hi": hi, "lo_open": lo_open,
            "choices": choices}
    if isinstance(default, (list, dict)):
        frozen = tuple(default) if isinstance(default, list) else dict(default)
        return dataclasses.field(default_factory=lambda: frozen, metadata=meta)
    if isinstance(default, type) and issubclass(default, Config):
        return dataclasses.field(default_factory=default, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


# ----------------------------------------------------------------------------- quantities
_UNITS: dict | None = None


def _unit_table() -> dict:
    global _UNITS
    if _UNITS is None:
        import brian2.units as bu
        import brian2.units.allunits as au
        from brian2.units.fundamentalunits import Unit

        _UNITS = {k: v for mod in (bu, au) for k, v in vars(mod).items()
                  if isinstance(v, Unit)}
    return _UNITS


def parse_quantity(text: str, where: str = "value"):
    """Parse ``"20*ms"``, ``"20 ms"`` or ``"0.02*mV/usiemens"`` into a Brian2 quantity.

    Only numbers, Brian2 unit names, ``*``, ``/``, ``**`` (integer powers) and a leading
    sign are allowed; nothing is evaluated as code.

    Raises
    ------
    ParameterError
        If the text is not such an expression or names an unknown unit.
    """
    src = str(text).strip()
    # "20 ms" -> "20*ms": a space between a number and a name means multiplication
    m = re.fullmatch(r"([+-]?[\d.]+(?:[eE][+-]?\d+)?)\s+([A-Za-z_].*)", src)
    if m:
        src = f"{m.group(1)}*({m.group(2)})"
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError:
        raise ParameterError(f"{where} = {text!r} is not a quantity; write e.g. '20*ms'") \
            from None
    units = _unit_table()

    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in units:
                raise ParameterError(f"{where} = {text!r}: {node.id!r} is not a Brian2 unit "
                                     f"name (e.g. ms, mV, Hz, usiemens)")
            return units[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
            a, b = ev(node.left), ev(node.right)
            return a * b if isinstance(node.op, ast.Mult) else a / b
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) \
                and isinstance(node.right, ast.Constant) and isinstance(node.right.value, int):
            return ev(node.left) ** node.right.value
        raise ParameterError(f"{where} = {text!r} is not a plain quantity: only numbers, unit "
                             f"names, *, / and integer ** are allowed (e.g. '20*ms')")

    try:
        return ev(tree.body)
    except ZeroDivisionError:
        raise ParameterError(f"{where} = {text!r} divides by zero") from None


# ----------------------------------------------------------------------------- coercion
def _base_type(tp):
    """(type, optional) for an annotation: ``float | None`` -> (float, True)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _coerce(value, tp, f: dataclasses.Field, where: str):
    """Validate and convert one field value (see the module docstring)."""
    base, optional = _base_type(tp)
    m = f.metadata
    if value is None:
        if optional:
            return None
        raise ParameterError(f"{where} is required (None given)")
    if isinstance(base, type) and issubclass(base, Config):
        if isinstance(value, base):
            return value
        if isinstance(value, dict):
            return base.from_dict(value, where=where)
        raise ParameterError(f"{where} = {value!r} must be a table of {base.__name__} fields")
    if base is bool:
        if not isinstance(value, (bool, np.bool_)):
            raise ParameterError(f"{where} = {value!r} must be true or false")
        return bool(value)
    if base is int:
        if isinstance(value, (bool, np.bool_)):
            raise ParameterError(f"{where} = {value!r} must be an integer, not a boolean")
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                pass
        if not isinstance(value, (int, np.integer)):
            raise ParameterError(f"{where} = {value!r} must be a whole number (no rounding "
                                 f"is done)")
        value = int(value)
    elif base is float:
        unit = m.get("unit")
        if isinstance(value, str):
            value = value.strip()
            try:
                value = float(value)
            except ValueError:
                value = parse_quantity(value, where)
        if isinstance(value, (bool, np.bool_)):
            raise ParameterError(f"{where} = {value!r} must be a number")
        try:
            value = to_si(value, unit or "1", where)
        except UnitError:
            raise
        if not isinstance(value, float):
            raise ParameterError(f"{where} = {value!r} must be one number")
        if not math.isfinite(value):
            raise ParameterError(f"{where} = {value!r} is not finite; give a finite value"
                                 f"{' in ' + unit if unit else ''}")
    elif base is str:
        if not isinstance(value, str):
            raise ParameterError(f"{where} = {value!r} must be a string")
        ch = m.get("choices")
        if ch is not None and value not in ch:
            raise ParameterError(f"{where} = {value!r} is not one of {list(ch)}")
        return value
    elif typing.get_origin(base) is tuple:
        inner = (typing.get_args(base) or (float,))[0]
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise ParameterError(f"{where} = {value!r} must be a list")
        fake = dataclasses.field(metadata={**m, "lo": m.get("lo"), "hi": m.get("hi")})
        return tuple(_coerce(v, inner, fake, f"{where}[{k}]") for k, v in enumerate(value))
    elif base is dict or typing.get_origin(base) is dict:
        if not isinstance(value, dict):
            raise ParameterError(f"{where} = {value!r} must be a table (dict)")
        return dict(value)
    else:  # pragma: no cover - a programming error in a config class
        raise TypeError(f"{where}: unsupported config field type {tp!r}")
    lo, hi = m.get("lo"), m.get("hi")
    unit = f" {m['unit']}" if m.get("unit") else ""
    if lo is not None and (value < lo or (m.get("lo_open") and value == lo)):
        op = ">" if m.get("lo_open") else ">="
        raise ParameterError(f"{where} = {value!r}{unit} is out of range: it must be {op} {lo}")
    if hi is not None and value > hi:
        raise ParameterError(f"{where} = {value!r}{unit} is out of range: it must be <= {hi}")
    return value


def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


# ----------------------------------------------------------------------------- base class
@dataclasses.dataclass(frozen=True)
class Config:
    """Base of every frozen, validated config dataclass (see the module docstring)."""

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in dataclasses.fields(self):
            where = f"{type(self).__name__}.{f.name}"
            v = _coerce(getattr(self, f.name), hints[f.name], f, where)
            object.__setattr__(self, f.name, v)
        self.validate()

    def validate(self) -> None:
        """Cross-field checks of a subclass (raise :class:`ParameterError`)."""

    @classmethod
    def from_dict(cls, raw: dict, where: str | None = None):
        """Build from a plain mapping (TOML table, JSON); unknown keys are refused."""
        where = where or cls.__name__
        if not isinstance(raw, dict):
            raise ParameterError(f"{where} must be a table of settings, got {raw!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise ParameterError(f"{where} has unknown setting(s) {unknown}; known: "
                                 f"{sorted(names)}")
        return cls(**raw)

    def to_dict(self) -> dict:
        """Plain JSON-able values (SI floats), nested configs as dicts."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Config):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    def to_json(self) -> str:
        """The config as canonical JSON (sorted keys), to store in result files."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def replace(self, **changes) -> "Config":
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)


# ----------------------------------------------------------------------------- loading
def _parse_set(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ParameterError(f"--set {item!r} must look like field=value (e.g. train=2000)")
    key, text = (s.strip() for s in item.split("=", 1))
    if not key:
        raise ParameterError(f"--set {item!r} names no field")
    try:  # a TOML value: numbers, true/false, "strings", [lists]
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text  # a bare word or quantity, e.g. 20*ms or standalone
    return key.split("."), value


def _nested_update(cls, raw: dict, path: list[str], value, item: str) -> None:
    names = {f.name: f for f in dataclasses.fields(cls)}
    head = path[0]
    if head not in names:
        raise ParameterError(f"--set {item!r}: {cls.__name__} has no field {head!r}; known: "
                             f"{sorted(names)}")
    if len(path) == 1:
        raw[head] = value
        return
    sub, _ = _base_type(_hints(cls)[head])
    if not (isinstance(sub, type) and issubclass(sub, Config)):
        raise ParameterError(f"--set {item!r}: {head!r} has no sub-fields")
    _nested_update(sub, raw.setdefault(head, {}), path[1:], value, item)


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
            else v
    return out


def load_config(cls, toml: str | Path | None = None, sets=(), **values):
    """Build a ``cls`` config from defaults, then a TOML file, then ``values``, then
    ``--set field=value`` strings (later ones win).

    Raises
    ------
    ParameterError
        On an unreadable or malformed file, an unknown field or an invalid value.
    """
    raw: dict = {}
    if toml is not None:
        p = Path(toml)
        if not p.is_file():
            raise ParameterError(f"config file {str(toml)!r} is not a file; give a TOML file")
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ParameterError(f"{p}: not a valid TOML file ({e})") from None
    raw = _merge(raw, {k: v for k, v in values.items()})
    for item in sets:
        path, value = _parse_set(item)
        upd: dict = {}
        _nested_update(cls, upd, path, value, item)
        raw = _merge(raw, upd)
    return cls.from_dict(raw)


def apply_sets(config: Config, sets) -> Config:
    """``config`` with ``--set field=value`` strings applied (validated again)."""
    return load_config(type(config), None, sets, **config.to_dict())


def describe(cls, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(name, unit, default, doc) for every field, nested ones dotted, for ``--help``."""
    rows = []
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        sub, _ = _base_type(hints[f.name])
        if isinstance(sub, type) and issubclass(sub, Config):
            rows += describe(sub, f"{prefix}{f.name}.")
            continue
        default = f.default if f.default is not _MISSING else f.default_factory()
        extra = f" (one of {', '.join(map(str, f.metadata['choices']))})" \
            if f.metadata.get("choices") else ""
        rows.append((prefix + f.name, f.metadata.get("unit") or "", repr(default),
                     f.metadata.get("doc", "") + extra))
    return rows


def _flatten(d, prefix: str = "") -> dict:
    if not isinstance(d, dict):
        return {prefix: d}
    out = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def settings_diff(saved: dict, now: dict) -> list[str]:
    """The settings (dotted paths) that differ between two ``to_dict()``-style mappings, as
    ``"field: saved -> now"`` lines, sorted; empty if they are equal."""
    a, b = _flatten(saved), _flatten(now)
    out = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k, _MISSING), b.get(k, _MISSING)
        if va != vb:
            fmt = lambda v: "(absent)" if v is _MISSING else json.dumps(v)  # noqa: E731
            out.append(f"{k}: {fmt(va)} -> {fmt(vb)}")
    return out


def check_resume(saved: dict, now: dict, path) -> None:
    """Refuse to resume the checkpoint ``path`` (made with settings ``saved``) with the
    settings ``now``: the one resume rule of every workload.

    Raises
    ------
    ParameterError
        Naming each field that differs, the checkpoint's value and the requested one.
    """
    diff = settings_diff(saved, now)
    if diff:
        raise ParameterError(f"cannot resume from {path}: it was made with other settings "
                             f"({'; '.join(diff)}); give the checkpoint's settings, or run "
                             f"without --resume to start over (this replaces the checkpoint)")
