"""Device-parameter overrides in a config (``device_overrides = { g_max = "12 uS" }``): the
one check used by every network and workload that lets a user change fields of a preset.

In text a dimensional parameter is written as a quantity (its unit checked against the
field); counts and ratios are plain numbers. The values are stored in SI and must give a
valid device (the preset's own bounds).
"""

from __future__ import annotations

from ..config import check_unit_text, si_value
from ..errors import ParameterError, UnknownPresetError
from .presets import PRESETS, get_preset

__all__ = ["DIMENSIONAL", "parameter_units", "check_override_units", "overrides_in_si",
           "DeviceOverridesText"]

#: Units of the parameters that must carry their unit in text (the rest are plain numbers).
DIMENSIONAL = ("S", "s", "J", "K")


def _params(preset):
    """The preset's parameters, or None where it is not known (the caller reports it)."""
    try:
        return get_preset(preset)
    except (ParameterError, UnknownPresetError):
        return None


def parameter_units(preset) -> dict[str, str]:
    """The unit of every parameter of ``preset`` (of any built-in preset when it is not
    known, so that text can be checked before the preset's own error is raised)."""
    params = _params(preset)
    if params is not None:
        return type(params).units()
    return {k: v for name in PRESETS for k, v in type(get_preset(name)).units().items()}


def check_override_units(preset, overrides: dict, where: str, fallback: str) -> None:
    """Check the text of ``overrides``: each dimensional parameter is a quantity of its unit.

    Parameters
    ----------
    preset : str
        The preset the overrides apply to.
    overrides : dict
        Parameter name -> value as written in a TOML file or on the command line.
    where : str
        The config field, for the error message (e.g. ``"synapses.device_overrides"``).
    fallback : str
        A preset whose values serve as the example in the message when ``preset`` is not
        known.
    """
    units = parameter_units(preset)
    example = _params(preset) or get_preset(fallback)
    for name, value in overrides.items():
        if units.get(name) in DIMENSIONAL:
            check_unit_text(value, units[name], f"{where}.{name}",
                            getattr(example, name, None))


def overrides_in_si(preset, overrides: dict, where: str) -> dict[str, float]:
    """``overrides`` converted to SI floats, after checking each is a parameter of
    ``preset`` and that the preset with them is a valid device.

    Raises
    ------
    ParameterError
        One line naming the field and the parameter: an unknown name, a wrong unit or a
        value outside the parameter's bounds.
    """
    units = type(get_preset(preset)).units()
    out = {}
    for name, value in overrides.items():
        if name not in units:
            raise ParameterError(f"{where}: preset {preset!r} has no parameter {name!r}; "
                                 f"known: {sorted(units)}")
        unit = units[name] if units[name] in DIMENSIONAL else "1"
        out[name] = si_value(value, unit, f"{where}.{name}")
    try:
        get_preset(preset, **out)
    except ParameterError as e:
        raise ParameterError(f"{where}: {e}") from None
    return out


class DeviceOverridesText:
    """Mixin for a :class:`~neuropcm.config.Config` with the fields ``preset`` and
    ``device_overrides``: its text check also requires a unit on every dimensional
    parameter of ``device_overrides`` (before ``validate`` converts them with
    :func:`overrides_in_si`). Put it before ``Config`` among the bases."""

    @classmethod
    def check_text_values(cls, raw: dict, prefix: str = "") -> None:
        """The config's own text checks, then a unit for every dimensional parameter in
        ``device_overrides``."""
        super().check_text_values(raw, prefix)
        overrides = raw.get("device_overrides") if isinstance(raw, dict) else None
        if isinstance(overrides, dict):
            check_override_units(raw.get("preset", cls.preset), overrides,
                                 f"{prefix}device_overrides", cls.preset)
