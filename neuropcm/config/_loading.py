"""Reading configs: TOML files, ``--set`` overrides, ``--help`` rows and the resume rule
(see :mod:`neuropcm.config`)."""

from __future__ import annotations

import dataclasses
import json
import tomllib
import typing
from pathlib import Path
from typing import Any

from ..errors import ParameterError, UnitError
from ._base import _MISSING, Config, _is_config, base_type, choices_of, field_types

def read_toml(path, what: str = "config file") -> dict:
    """The contents of a TOML file.

    Raises
    ------
    ParameterError
        The path is a folder, missing or unreadable, not UTF-8 text, or not valid TOML
        (one line naming the file). A UTF-8 byte-order mark at the start (as some Windows
        editors write) is allowed and dropped.
    """
    p = Path(path)
    if p.is_dir():
        raise ParameterError(f"{what} {str(path)!r} is a folder, not a file; give a TOML file")
    if not p.is_file():
        raise ParameterError(f"{what} {str(path)!r} is not a file (not found); give a TOML "
                             f"file")
    try:
        return tomllib.loads(p.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ParameterError(f"{p}: not a text (UTF-8) TOML file; give a TOML file") from None
    except tomllib.TOMLDecodeError as e:
        raise ParameterError(f"{p}: not valid TOML ({e})") from None
    except OSError as e:
        raise ParameterError(f"{p}: cannot be read ({e.strerror})") from None


def _parse_set(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ParameterError(f"--set {item!r} must look like field=value (e.g. train=2000)")
    key, text = (s.strip() for s in item.split("=", 1))
    if not key:
        raise ParameterError(f"--set {item!r} names no field")
    try:  # a TOML value: numbers, true/false, "strings", [lists], {tables}
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text  # a bare word or quantity, e.g. 20*ms or standalone
    return key.split("."), value


def _toml_or_text(text: str):
    """One item of a bare list: a TOML value (number, boolean, quoted string) if it is one,
    else the text as it is (a quantity such as ``3600*second``)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _list_value(value, tp):
    """A ``--set`` value for a list field: a TOML list as it is; a bare comma-separated list
    (``1,2,4`` or ``0*second,3600*second``, which is not TOML) as the list of its items; a
    single value as a list of one. The one place where ``--set`` text becomes a list (flags
    such as ``--at 0,3600`` arrive here too); the items are checked as the field's values."""
    base, _ = base_type(tp)
    if typing.get_origin(base) is not tuple or isinstance(value, (list, dict)):
        return value
    if isinstance(value, str):
        return [_toml_or_text(s.strip()) for s in value.split(",")]
    return [value]


def _nested_update(cls, raw: dict, path: list[str], value, item: str) -> None:
    names = {f.name: f for f in dataclasses.fields(cls)}
    head = path[0]
    if head not in names:
        raise ParameterError(f"--set {item!r}: {cls.__name__} has no field {head!r}; known: "
                             f"{sorted(names)}")
    if len(path) == 1:
        raw[head] = _list_value(value, field_types(cls)[head])
        return
    sub, _ = base_type(field_types(cls)[head])
    if not _is_config(sub):
        raise ParameterError(f"--set {item!r}: {head!r} has no sub-fields")
    _nested_update(sub, raw.setdefault(head, {}), path[1:], value, item)


def merge_tables(base: dict, extra: dict) -> dict:
    """``base`` with ``extra`` laid over it, nested tables merged key by key (configs in
    ``extra`` taken as their dicts)."""
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, Config):
            v = v.to_dict()
        out[k] = merge_tables(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
            else v
    return out


def config_from_toml(cls, raw: dict, origin=None, sets=(), **values):
    """Build a ``cls`` config from the contents ``raw`` of a TOML file (``origin`` names it
    in errors), then ``values`` (Python), then ``--set field=value`` strings (later ones
    win). The file's values alone are checked first, so that their errors name the file;
    file and ``--set`` values follow :meth:`Config.check_text_values`.

    Raises
    ------
    ParameterError, UnitError
        An unknown field or an invalid value (one line naming it).
    """
    if origin is not None:
        try:
            cls.check_text_values(raw)
            cls.from_dict(raw, where="")
        except (ParameterError, UnitError) as e:
            raise type(e)(f"{origin}: {e}") from None
    raw = merge_tables(raw, values)
    for item in sets:
        path, value = _parse_set(item)
        upd: dict = {}
        _nested_update(cls, upd, path, value, item)
        cls.check_text_values(upd)
        raw = merge_tables(raw, upd)
    return cls.from_dict(raw, where="")


def load_config(cls, toml: str | Path | None = None, sets=(), **values):
    """Build a ``cls`` config from defaults, then a TOML file, then ``values``, then
    ``--set field=value`` strings (later ones win); see :func:`config_from_toml`.

    Raises
    ------
    ParameterError, UnitError
        On an unreadable or malformed file, an unknown field or an invalid value.
    """
    if toml is None:
        return config_from_toml(cls, {}, None, sets, **values)
    return config_from_toml(cls, read_toml(toml), toml, sets, **values)


def apply_sets(config: Config, sets) -> Config:
    """``config`` with ``--set field=value`` strings applied (validated again)."""
    return config_from_toml(type(config), {}, None, sets, **config.to_dict())


def describe(cls, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(name, unit, default, doc) for every field, nested ones dotted, for ``--help``;
    docs and choices as they are now (callables called, see :func:`option`)."""
    rows = []
    hints = field_types(cls)
    for f in dataclasses.fields(cls):
        sub, _ = base_type(hints[f.name])
        if _is_config(sub):
            rows += describe(sub, f"{prefix}{f.name}.")
            continue
        default = f.default if f.default is not _MISSING else f.default_factory()
        choices = choices_of(f)
        extra = f" (one of {', '.join(map(str, choices))})" if choices else ""
        doc = f.metadata.get("doc", "")
        rows.append((prefix + f.name, f.metadata.get("unit") or "", repr(default),
                     (doc() if callable(doc) else doc) + extra))
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
