"""Named device presets. A preset only changes defaults and cites its source.

The built-in presets are :data:`PRESETS`; a user's device is a preset file
(:mod:`~neuropcm.devices.preset_files`), named by its path or by its name in the user
preset folder, and accepted wherever a preset name is.
"""

from __future__ import annotations

from ..errors import ParameterError, UnknownPresetError
from ..units import is_quantity, to_si
from .builtin_presets import PRESETS, binary, ideal, joshi2020, nandakumar2018  # noqa: F401
from .lrs_presets import LRS_PRESETS
from .params import DeviceParams
from .preset_files import (find_preset_file, is_preset_path, load_preset_file, user_preset_dir,
                           user_presets)

PRESETS.update(LRS_PRESETS)  # seed 2's I_SET presets, derived from binary (lrs_presets)


class PresetNames(tuple):
    """The preset names a config field accepts: the built-in and user-folder names (what
    ``--help`` lists), and -- tested by ``in`` -- any path of a valid preset file of the
    field's device model. A path to an invalid file raises its one-line error from ``in``
    (the reason, rather than "not one of ...")."""

    def __new__(cls, names, model: str | None = None):
        out = super().__new__(cls, names)
        out.model = model
        return out

    def __contains__(self, name) -> bool:
        if tuple.__contains__(self, name):
            return True
        if not (isinstance(name, str) and is_preset_path(name)):
            return False
        params = _build(name)
        if self.model is not None and params.model != self.model:
            raise ParameterError(f"preset file {name!r} is a {params.model!r} model; this "
                                 f"setting takes a {self.model!r} one")
        return True


def preset_names(model: str | None = None) -> PresetNames:
    """The names of the built-in presets and of the user preset folder's files, sorted
    (config ``choices`` call this when they validate, so a preset added later is accepted
    everywhere; a path of a preset file is accepted too, see :class:`PresetNames`).

    Parameters
    ----------
    model : str, optional
        Only the presets of this device model (``"pulsed"``, ``"programmed"``).
    """
    names = {n for n, make in PRESETS.items() if model is None or make().model == model}
    for n, path in user_presets().items():
        if n in PRESETS:
            continue
        if model is not None:
            try:
                if load_preset_file(path).model != model:
                    continue
            except (ParameterError, UnknownPresetError):
                continue  # an invalid user file is reported when it is named, not here
        names.add(n)
    return PresetNames(sorted(names), model)


def get_preset(preset: "str | DeviceParams", **overrides: float) -> DeviceParams:
    """Resolve a preset name (or a parameter object) and apply overrides.

    The result knows its provenance: ``get_preset("joshi2020", g_max=20e-6)`` has
    ``preset == "joshi2020"`` and ``overrides == ("g_max",)`` (the fields whose value
    differs from the preset's); a parameter object passed in keeps its own provenance.

    Parameters
    ----------
    preset : str or DeviceParams
        A name from :data:`PRESETS`, a preset file's path or its name in the user preset
        folder (:mod:`~neuropcm.devices.preset_files`), or a ready parameter object.
    **overrides : float or brian2 quantity
        Field values to change: plain SI floats, or Brian2 quantities of the field's unit
        (converted; e.g. ``g_max=20*usiemens``).

    Raises
    ------
    UnknownPresetError
        If the name is not known; the message lists the known presets.
    ParameterError
        If an override names no field or has an invalid value.
    """
    if isinstance(preset, DeviceParams):
        params = preset
    elif isinstance(preset, str):
        params = _build(preset)
        if preset in PRESETS:  # a file preset carries its own name and reference
            params = params.with_reference(preset, params)
    else:
        raise ParameterError(f"preset must be a preset name or a DeviceParams object, got "
                             f"{preset!r}; known presets: {sorted(PRESETS)}")
    if not overrides:
        return params
    units = type(params).units()
    conv = {k: to_si(v, units[k] if units[k] in _SI else "1", k)
            if is_quantity(v) and k in units else v for k, v in overrides.items()}
    return params.replace(**conv)


def _build(name: str) -> DeviceParams:
    """A built-in preset's values, or the validated values of the preset file ``name``
    stands for (a path, or a name in the user preset folder)."""
    if name in PRESETS:
        return PRESETS[name]()
    path = find_preset_file(name)
    if path is not None:
        return load_preset_file(path)
    where = "" if is_preset_path(name) else f" nor a file {str(user_preset_dir())!r}/{name}.toml"
    raise UnknownPresetError(
        f"unknown device preset {name!r}: not a built-in preset{where}; known presets: "
        f"{sorted(PRESETS) + sorted(set(user_presets()) - set(PRESETS))}, or the path of a "
        f"preset file (.toml)")


def with_preset(params: DeviceParams, name: str) -> DeviceParams:
    """A copy of ``params`` labelled as preset ``name`` with the fields that differ from it
    as :attr:`~DeviceParams.overrides` (e.g. to name the preset of values read back); see
    :meth:`~DeviceParams.with_reference`.

    Raises
    ------
    UnknownPresetError
        The name is not in :data:`PRESETS`.
    ParameterError
        The preset is of another device model.
    """
    return params.with_reference(name, _build(name))


_SI = ("S", "s", "J", "K")
