"""The :class:`Config` base class and :func:`option`: field declaration, conversion and
validation (see :mod:`neuropcm.config`)."""

from __future__ import annotations

import contextvars
import dataclasses
import json
import types
import typing
from typing import Any, Callable

import numpy as np

from ..errors import ParameterError
from ..units import brian2_unit, is_quantity
from ._quantities import _example, check_unit_text, si_value

_MISSING = dataclasses.MISSING


def option(default: Any, doc: str | Callable[[], str], *, unit: str | None = None,
           lo: float | None = None, hi: float | None = None, lo_open: bool = False,
           choices: tuple | Callable[[], tuple] | None = None) -> Any:
    """A config field: default, one-line doc, SI unit, bounds and allowed choices.

    Parameters
    ----------
    default : Any
        Default value (SI for fields with a unit). Lists are stored as tuples; a
        :class:`Config` subclass as the default makes a nested section.
    doc : str or callable
        One line for ``--help`` and the docstring; a callable returning it is called each
        time help is printed (e.g. to name what a registry holds now).
    unit : str, optional
        SI unit symbol (``"s"``, ``"S"``, ``"K"``, ``"J"``, ``"Hz"``, ``"V"``, ``"A"``
        or a ratio such as ``"V/S"``).
    lo, hi : float, optional
        Inclusive bounds (``lo_open=True`` makes the lower bound strict).
    choices : tuple or callable, optional
        The allowed values of a string field; for a ``str | float`` field, the keywords
        it takes besides a number (e.g. ``("reset", "none")`` or a voltage). A callable
        returning them is called each time a value is checked and ``--help`` is printed
        (:func:`choices_of`), so choices read from a registry include names registered
        after the class was defined.

    Examples
    --------
    >>> from neuropcm.devices.presets import preset_names
    >>> @dataclasses.dataclass(frozen=True)
    ... class Run(Config):
    ...     preset: str = option("joshi2020", "device preset", choices=preset_names)
    >>> Run(preset="ideal").preset  # any preset registered by now
    'ideal'
    """
    meta = {"doc": doc, "unit": unit, "lo": lo, "hi": hi, "lo_open": lo_open,
            "choices": choices}
    if isinstance(default, (list, dict)):
        frozen = tuple(default) if isinstance(default, list) else dict(default)
        return dataclasses.field(default_factory=lambda: frozen, metadata=meta)
    if isinstance(default, type) and issubclass(default, Config):
        return dataclasses.field(default_factory=default, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def choices_of(f: dataclasses.Field) -> tuple | None:
    """The allowed values of field ``f`` now (its ``choices``, called if callable), or
    None for a field without choices."""
    ch = f.metadata.get("choices")
    if callable(ch):
        ch = ch()
    # a tuple subclass is kept: its ``in`` may accept more than it lists (preset files)
    return ch if ch is None or isinstance(ch, tuple) else tuple(ch)


def base_type(tp):
    """(type, optional) for an annotation: ``float | None`` -> (float, True); a union of
    ``str`` and ``float`` (a keyword or a number) is kept as it is."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        if len(args) == 1:
            return args[0], optional
        return typing.Union[tuple(args)], optional
    return tp, False


def _keyword_or_number(base) -> bool:
    return typing.get_origin(base) in (typing.Union, types.UnionType) and \
        set(typing.get_args(base)) == {str, float}


def _is_config(base) -> bool:
    return isinstance(base, type) and issubclass(base, Config)


def _coerce(value, tp, f: dataclasses.Field, where: str):
    """Validate and convert one field value (see the module docstring)."""
    base, optional = base_type(tp)
    m = f.metadata
    unit = m.get("unit")
    shown = value
    if value is None:
        if optional:
            return None
        raise ParameterError(f"{where} is required (None given)")
    if _is_config(base):
        if isinstance(value, base):
            return value
        if isinstance(value, dict):
            return base.from_dict(value, where=where)
        raise ParameterError(f"{where} = {value!r} must be a table of {base.__name__} fields")
    if _keyword_or_number(base):
        if isinstance(value, str) and value in (choices_of(f) or ()):
            return value
        try:
            value = si_value(value, unit, where)
        except ParameterError:
            raise _not_keyword(value, f, where) from None
    elif base is bool:
        if not isinstance(value, (bool, np.bool_)):
            raise ParameterError(f"{where} = {value!r} must be true or false")
        return bool(value)
    elif base is int:
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
        value = si_value(value, unit, where)
    elif base is str:
        if not isinstance(value, str):
            raise ParameterError(f"{where} = {value!r} must be a string")
        ch = choices_of(f)
        if ch is not None and value not in ch:
            raise ParameterError(f"{where} = {value!r} is not one of {list(ch)}")
        return value
    elif typing.get_origin(base) is tuple:
        args = typing.get_args(base) or (float, ...)
        if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
            raise ParameterError(f"{where} = {value!r} must be a list")
        value = list(value)
        if args[-1] is not Ellipsis and len(value) != len(args):
            raise ParameterError(f"{where} = {value!r} must be a list of {len(args)} values, "
                                 f"e.g. {list(f.default_factory())}")
        return tuple(_coerce(v, args[0 if args[-1] is Ellipsis else k], f, f"{where}[{k}]")
                     for k, v in enumerate(value))
    elif base is dict or typing.get_origin(base) is dict:
        if not isinstance(value, dict):
            raise ParameterError(f"{where} = {value!r} must be a table (dict)")
        return dict(value)
    else:  # pragma: no cover - a programming error in a config class
        raise TypeError(f"{where}: unsupported config field type {tp!r}")
    lo, hi = m.get("lo"), m.get("hi")
    u = f" {unit}" if unit else ""
    converted = unit and (isinstance(shown, str) or is_quantity(shown))
    val = f"{shown!r}" + (f" (= {value:g}{u})" if converted else u)
    if lo is not None and (value < lo or (m.get("lo_open") and value == lo)):
        op = ">" if m.get("lo_open") else ">="
        raise ParameterError(f"{where} = {val} is out of range: it must be {op} {lo:g}{u}")
    if hi is not None and value > hi:
        raise ParameterError(f"{where} = {val} is out of range: it must be <= {hi:g}{u}")
    return value


def _not_keyword(value, f: dataclasses.Field, where: str) -> ParameterError:
    """The error for a value of a ``str | float`` field that is neither a keyword nor a
    number (or quantity)."""
    unit = f.metadata.get("unit")
    what = f"a quantity in {unit}, e.g. \"{_example(None, unit)}\"" if unit else "a number"
    return ParameterError(f"{where} = {value!r} must be one of "
                          f"{list(choices_of(f) or ())} or {what}")


def _check_text(value, tp, f: dataclasses.Field, where: str) -> None:
    """The policy for one value written as text (see :meth:`Config.check_text_values`)."""
    base, _ = base_type(tp)
    m = f.metadata
    if value is None:
        return
    if _is_config(base):
        if isinstance(value, dict):
            base.check_text_values(value, f"{where}.")
        return
    if typing.get_origin(base) is tuple:
        if isinstance(value, list):
            args = typing.get_args(base) or (float, ...)
            for k, v in enumerate(value):
                inner = args[0 if args[-1] is Ellipsis else min(k, len(args) - 1)]
                _check_text(v, inner, f, f"{where}[{k}]")
        return
    unit = m.get("unit")
    default = f.default if isinstance(f.default, float) else None
    if _keyword_or_number(base):
        if isinstance(value, str) and value in (choices_of(f) or ()):
            return
        try:
            if unit not in (None, "1"):
                check_unit_text(value, unit, where, default)
        except ParameterError:
            raise _not_keyword(value, f, where) from None
    elif base is float and unit not in (None, "1"):
        check_unit_text(value, unit, where, default)
    elif base is int and isinstance(value, str):
        raise ParameterError(f"{where} = {value!r} must be an integer: a whole number, "
                             f"not text")
    elif base is float and isinstance(value, str):
        raise ParameterError(f"{where} = {value!r} must be a number, not text")


def coerce_value(value, tp, f: dataclasses.Field, where: str):
    """Validate and convert one value for field ``f`` of annotation ``tp`` (the rules of
    :class:`Config`), for classes that check some fields by hand; ``where`` names it in
    errors."""
    return _coerce(value, tp, f, where)


def field_types(cls) -> dict:
    """The resolved type annotation of every field of the config class ``cls``."""
    return typing.get_type_hints(cls)


# ----------------------------------------------------------------------------- base class
# How the fields of a config under construction are named in errors: from_dict sets
# (class, "neurons.") for the one object it builds, __post_init__ takes it; validate()
# reads the prefix of the object it checks through Config.where.
_PENDING: contextvars.ContextVar = contextvars.ContextVar("config_pending", default=None)
_VALIDATING: contextvars.ContextVar = contextvars.ContextVar("config_validating", default=None)


@dataclasses.dataclass(frozen=True)
class Config:
    """Base of every frozen, validated config dataclass (see the module docstring)."""

    def __post_init__(self) -> None:
        pending = _PENDING.get()
        prefix = pending[1] if pending is not None and pending[0] is type(self) \
            else f"{type(self).__name__}."
        token = _PENDING.set(None)
        try:
            hints = field_types(type(self))
            for f in dataclasses.fields(self):
                v = _coerce(getattr(self, f.name), hints[f.name], f, prefix + f.name)
                object.__setattr__(self, f.name, v)
        finally:
            _PENDING.reset(token)
        token = _VALIDATING.set((self, prefix))
        try:
            self.validate()
        finally:
            _VALIDATING.reset(token)

    def validate(self) -> None:
        """Cross-field checks of a subclass (raise :class:`ParameterError` naming fields
        with :meth:`where`); runs after every field is converted."""

    def where(self, name: str) -> str:
        """How errors name field ``name`` (dotted for a sub-field): as a file or ``--set``
        names it while the config is read (``neurons.v_thresh``), else ``Class.name``."""
        cur = _VALIDATING.get()
        prefix = cur[1] if cur is not None and cur[0] is self else f"{type(self).__name__}."
        return prefix + name

    @classmethod
    def from_dict(cls, raw: dict, where: str | None = None):
        """Build from a plain mapping (TOML table, JSON); unknown keys are refused.

        ``where`` names the mapping in errors (its fields are ``where.field``); ``""``
        names them as in a file (``neurons.n``); default: the class name.
        """
        label = where or cls.__name__
        if not isinstance(raw, dict):
            raise ParameterError(f"{label} must be a table of settings, got {raw!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise ParameterError(f"{label} has unknown setting(s) {unknown}; known: "
                                 f"{sorted(names)}")
        token = _PENDING.set((cls, "" if where == "" else f"{label}."))
        try:
            return cls(**raw)
        finally:
            _PENDING.reset(token)

    @classmethod
    def check_text_values(cls, raw: dict, prefix: str = "") -> None:
        """Refuse what is valid from Python but ambiguous as text, in a mapping read from a
        file or ``--set`` (before :meth:`from_dict`): a bare number for a field with a
        unit (:func:`check_unit_text`), a string for a count or a plain number. Nested
        sections are checked by their own class; a subclass whose units depend on other
        fields extends this.

        Raises
        ------
        UnitError, ParameterError
            Naming the field as ``prefix + name``.
        """
        if not isinstance(raw, dict):
            return  # from_dict names the problem
        hints = field_types(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for name, value in raw.items():
            if name in fields:
                _check_text(value, hints[name], fields[name], prefix + name)

    def to_dict(self) -> dict:
        """Plain JSON-able values (SI floats), nested configs as dicts."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Config):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            elif isinstance(v, dict):
                v = dict(v)
            out[f.name] = v
        return out

    def to_json(self) -> str:
        """The config as canonical JSON (sorted keys), to store in result files."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def replace(self, **changes) -> "Config":
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def quantity(self, name: str):
        """Field ``name`` as a Brian2 quantity: its SI value times its unit (an array for a
        list); a field without a unit, a keyword (``"reset"``) or None as it is."""
        f = {g.name: g for g in dataclasses.fields(self)}.get(name)
        if f is None:
            raise ParameterError(f"{type(self).__name__} has no field {name!r}")
        value, unit = getattr(self, name), f.metadata.get("unit")
        if unit in (None, "1") or value is None or isinstance(value, str):
            return value
        return (np.asarray(value) if isinstance(value, tuple) else value) * brian2_unit(unit)
