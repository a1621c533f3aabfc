"""Frozen, validated configuration dataclasses: the one shape of every run's settings.

A run's settings (a workload's, a network definition's) are a frozen dataclass deriving from
:class:`Config`. Each field is declared with :func:`option`, which holds its unit, bounds,
choices and a one-line doc in the field metadata; validation, ``--help`` text, TOML loading
and ``--set`` overrides all come from that one declaration (as
:class:`~neuropcm.devices.params.DeviceParams` does for device parameters).

Values are stored as plain SI floats, ints, bools and strings; :meth:`Config.quantity`
gives a field back as a Brian2 quantity where Brian2 needs one. Python callers may give a
field with a unit as a Brian2 quantity (``20*ms``), a quantity string (``"20*ms"``,
``"20 ms"``, ``"0.02*mV/usiemens"``) or a plain number taken as SI. Values written as
text -- a TOML file or ``--set field=value`` -- follow a stricter policy
(:meth:`Config.check_text_values`): a field with a unit needs a quantity string with its
unit (a bare ``20`` is refused: seconds or milliseconds?), a count needs an integer and a
plain number a number, not a string. Quantity strings are parsed by :func:`parse_quantity`
from a whitelist of Brian2 unit names, never evaluated as code. Integers are never
truncated (``2.7`` for a count is refused), and nothing is clamped.

Errors name the field as a file or ``--set`` names it (``neurons.tau_m``; ``Class.field``
for a Python call), its value, the bound or unit it breaks, and the fix, on one line.

The package: :mod:`._base` (:class:`Config`, :func:`option`), :mod:`._quantities`
(:func:`parse_quantity`, :func:`si_value`), :mod:`._loading` (files, ``--set``, help, resume).

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo(Config):
...     n: int = option(10, "number of devices", lo=1)
...     t: float = option(1.0, "read time", unit="s", lo=0.0)
>>> Demo(t="20 ms").t
0.02
>>> apply_sets(Demo(), ["n=5", "t=3*ms"]).n
5
"""

from ._base import Config, base_type, coerce_value, field_types, option
from ._loading import (apply_sets, check_resume, config_from_toml, describe, load_config,
                       merge_tables, read_toml, settings_diff)
from ._quantities import check_unit_text, parse_quantity, si_value

__all__ = ["Config", "option", "coerce_value", "parse_quantity", "si_value", "check_unit_text", "read_toml",
           "config_from_toml", "load_config", "apply_sets", "describe", "settings_diff",
           "check_resume", "base_type", "field_types", "merge_tables"]
