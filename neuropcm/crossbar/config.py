"""The settings of a :class:`~neuropcm.crossbar.Crossbar`: one frozen, validated config.

:class:`CrossbarConfig` holds the mapping and device settings and three sections in the
spirit of aihwkit's ``RPUConfig``: :class:`PeripheryConfig` (DAC and ADC),
:class:`UpdateConfig` (outer-product updates and refresh) and :class:`CompensationConfig`
(drift compensation). Every field is declared once with :func:`neuropcm.config.option`
(unit, bounds, choices, one-line doc), validated like the device parameters (one-line
:class:`~neuropcm.errors.ParameterError` naming the field and the value) and stored as
plain SI values.

Flat keywords: field names are unique across the sections, so
``Crossbar(W, "joshi2020", adc_bits=6, drift_compensation="global")`` sets
``config.periphery.adc_bits`` and ``config.compensation.drift_compensation``
(:func:`make_config`); an unknown keyword is refused with the list of known ones.

Two fields hold objects, validated by hand (not scalars): ``update.refresh`` (a rule name,
a refresh-rule object, an object with ``select`` or a callable; callables are kept wrapped
in :class:`~neuropcm.devices.refresh.MaskRefresh`) and ``compensation.drift_compensation``
(None, a name of the registry :data:`~neuropcm.crossbar.compensation.COMPENSATIONS` -- read
when the value is checked and when ``--help`` is printed, so a class registered later is
accepted and listed -- or a :class:`~neuropcm.crossbar.compensation.DriftCompensation`
object). The config keeps what was given (the name or the object); a crossbar works on its
own copy of a compensation object. :meth:`Config.to_dict` writes a name as itself and a
named object as ``{"name": ..., **settings}`` (read back by :meth:`Config.from_dict`); an
object that no registered class rebuilds exactly cannot be written (files never hold code).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..config import Config, coerce_value, describe, option
from ..devices.faults import check_fractions
from ..errors import ParameterError
from .compensation import check_compensation, compensation_names, compensation_spec
from .update import UPDATE_MODES, check_refresh, refresh_spec

__all__ = ["CrossbarConfig", "PeripheryConfig", "UpdateConfig", "CompensationConfig",
           "make_config", "option_names"]


@dataclass(frozen=True)
class _Section(Config):
    """A config whose fields named in ``_BY_HAND`` hold objects, validated by a checker
    ``check(value, where) -> value`` and written by ``spec(value) -> JSON`` instead of by
    type."""

    _BY_HAND: ClassVar[dict] = {}

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            where = f"{type(self).__name__}.{f.name}"
            v = getattr(self, f.name)
            hand = self._BY_HAND.get(f.name)
            v = hand[0](v, where) if hand else coerce_value(v, hints[f.name], f, where)
            object.__setattr__(self, f.name, v)
        self.validate()

    def to_dict(self) -> dict:
        out = super().to_dict()
        for name, (_check, spec) in self._BY_HAND.items():
            out[name] = spec(getattr(self, name))
        return out


@dataclass(frozen=True)
class PeripheryConfig(_Section):
    """Input DAC and output ADC (:mod:`~neuropcm.crossbar.periphery`).

    ADC ranges are in line units: weight x input for ``differential``/``offset``, bits x
    input for each bit line of ``bit-sliced``.
    """

    dac_bits: int | None = option(None, "input DAC resolution (None: ideal inputs)", lo=2,
                                  hi=32)
    dac_range: float | None = option(None, "input DAC full scale, larger inputs clip (None: "
                                     "abs-max scaling of each input vector)", lo=0.0,
                                     lo_open=True)
    adc_bits: int | None = option(None, "output ADC resolution per line (None: no ADC)", lo=1,
                                  hi=32)
    adc_range: float | None = option(None, "ADC full scale in line units (None: worst case "
                                     "of the mean output, set by adc_policy)", lo=0.0,
                                     lo_open=True)
    adc_policy: str = option("fixed", "when the automatic ADC range is set: at programming "
                             "only, or again after every write", choices=("fixed", "calibrate"))
    dac_inl_lsb: float = option(0.0, "peak DAC integral nonlinearity in LSB, cubic model "
                                "periphery.inl_deviation (0: none; needs dac_bits)", lo=0.0)
    adc_inl_lsb: float = option(0.0, "peak ADC integral nonlinearity in LSB, cubic model "
                                "periphery.inl_deviation (0: none; needs adc_bits)", lo=0.0)
    adc_gain_std: float = option(0.0, "relative std of each output line's ADC gain g_i, "
                                 "code = quantise((1 + g_i) y_i + o_i LSB), drawn once per "
                                 "crossbar from its stream 'converters' (0: none; needs "
                                 "adc_bits)", lo=0.0)
    adc_offset_lsb_std: float = option(0.0, "std of each output line's ADC offset o_i in LSB "
                                       "(as adc_gain_std; 0: none; needs adc_bits)", lo=0.0)
    # IR drop (neuropcm.crossbar.circuit): any of the four non-zero -> the read solves the
    # resistive network of each physical array
    wire_resistance_row: float = option(0.0, "wire resistance per cell segment of a row "
                                        "(input line of the forward read)", unit="ohm",
                                        lo=0.0)
    wire_resistance_col: float = option(0.0, "wire resistance per cell segment of a column "
                                        "(output line of the forward read)", unit="ohm",
                                        lo=0.0)
    driver_resistance: float = option(0.0, "output resistance of each line driver (DAC)",
                                      unit="ohm", lo=0.0)
    sense_resistance: float = option(0.0, "input resistance of each virtual-ground sense "
                                     "amplifier (TIA)", unit="ohm", lo=0.0)

    def validate(self) -> None:
        if self.adc_policy == "calibrate" and self.adc_range is not None:
            raise ParameterError(f"adc_policy='calibrate' sets the ADC range itself, but "
                                 f"adc_range = {self.adc_range!r} was given; leave adc_range="
                                 f"None or use adc_policy='fixed'")


@dataclass(frozen=True)
class UpdateConfig(_Section):
    """Outer-product updates (:meth:`Crossbar.update`) and the refresh applied after each."""

    _BY_HAND: ClassVar[dict] = {"refresh": (check_refresh, refresh_spec)}

    update_mode: str = option("deterministic", "default mode of Crossbar.update",
                              choices=UPDATE_MODES)
    epsilon: float | None = option(None, "weight change of one SET pulse (default: one mean "
                                   "SET step, s * mean_step / K)", lo=0.0, lo_open=True)
    pulse_length: int = option(31, "stochastic pulse-stream length BL", lo=1)
    refresh: object = option("threshold", "refresh rule after each update: None, a rule name "
                             "('threshold'), a rule object or a callable")


@dataclass(frozen=True)
class CompensationConfig(_Section):
    """Drift compensation of reads (:mod:`~neuropcm.crossbar.compensation`)."""

    _BY_HAND: ClassVar[dict] = {"drift_compensation": (check_compensation,
                                                       compensation_spec)}

    drift_compensation: object = option(None, "None, a DriftCompensation object or a "
                                        "registered name", choices=compensation_names)
    calibration_size: int = option(16, "random +-1 calibration inputs of the named 'global'/"
                                   "'column' compensations", lo=1)
    lrs_devices: int | None = option(None, "devices of the LRS reference column of the named "
                                     "'lrs' compensation (default: n)", lo=1)

    def validate(self) -> None:
        if isinstance(self.drift_compensation, str) or self.drift_compensation is None:
            return
        given = [f for f in ("calibration_size", "lrs_devices")
                 if getattr(self, f) != _default(type(self), f)]
        if given:
            raise ParameterError(f"{given} set the named compensations only; with the object "
                                 f"{self.drift_compensation!r} give them to its constructor "
                                 f"instead")


@dataclass(frozen=True)
class CrossbarConfig(_Section):
    """Every setting of a :class:`~neuropcm.crossbar.Crossbar` (frozen, validated, SI).

    Build it with keywords (``CrossbarConfig(devices_per_weight=4)``), with
    :func:`make_config` from flat keywords of every section, or from a dict
    (:meth:`~neuropcm.config.Config.from_dict`); change it with :meth:`replace`.
    """

    devices_per_weight: int = option(1, "devices K averaged per weight (Le Gallo et al. "
                                     "2018)", lo=1)
    g_target: float | None = option(None, "conductance of the largest weight, the LRS of "
                                    "bit-sliced weights (default: g_max for programmed-state "
                                    "models, 0.75 of the SET saturation level for pulsed)",
                                    unit="S", lo=0.0, lo_open=True)
    w_max: float | None = option(None, "weight mapped to g_target, differential mapping "
                                 "(default: max|W|)", lo=0.0, lo_open=True)
    bits: int = option(4, "bits per weight of the bit-sliced mapping", lo=1, hi=16)
    tol: float | None = option(None, "program-and-verify tolerance (default: the preset's "
                               "program_tol)", unit="S", lo=0.0)
    max_iterations: int | None = option(None, "program-and-verify budget (default: the "
                                        "preset's)", lo=1)
    read_noise: bool = option(True, "draw the read noise (False: mean reads only)")
    read_clip: bool = option(True, "use the exact moments of the clipped device read "
                             "max(g + s xi, 0) (False: the Gaussian before the clip)")
    dtype: str = option("float64", "precision of the effective matrices and products",
                        choices=("float64", "float32"))
    device_overrides: dict | None = option(None, "device parameter overrides (SI), e.g. "
                                           "{'nu_mean_min': 0.06}")
    temperature: float | None = option(None, "operating temperature of the devices "
                                       "(default: the model's t_ref)", unit="K", lo=0.0,
                                       lo_open=True)
    p_stuck_off: float = option(0.0, "fraction of devices stuck at g_min (manufacturing "
                                "faults, drawn once per crossbar from its stream 'faults')",
                                lo=0.0, hi=1.0)
    p_stuck_on: float = option(0.0, "fraction of devices stuck at g_max (as p_stuck_off; "
                               "p_stuck_off + p_stuck_on <= 1)", lo=0.0, hi=1.0)
    periphery: PeripheryConfig = option(PeripheryConfig, "input DAC and output ADC")
    update: UpdateConfig = option(UpdateConfig, "outer-product updates and refresh")
    compensation: CompensationConfig = option(CompensationConfig, "drift compensation")

    def __post_init__(self) -> None:
        if not isinstance(self.dtype, str):  # np.float32, np.dtype(...) -> its name
            try:
                object.__setattr__(self, "dtype", np.dtype(self.dtype).name)
            except TypeError:
                raise ParameterError(f"CrossbarConfig.dtype = {self.dtype!r}; use 'float64' "
                                     f"or 'float32'") from None
        super().__post_init__()

    def validate(self) -> None:
        check_fractions(self.p_stuck_off, self.p_stuck_on)
        o = self.device_overrides
        if o is not None and not all(isinstance(k, str) for k in o):
            raise ParameterError(f"CrossbarConfig.device_overrides = {o!r} must map parameter "
                                 f"names to values")


def _document(cls):
    """Append a numpydoc ``Attributes`` section rendered from the field declarations
    (sections' fields dotted; the flat keyword is the last part)."""
    lines = ["", "Attributes", "----------"]
    for name, unit, default, doc in describe(cls):
        lines.append(f"{name} : default {default}{f' [{unit}]' if unit else ''}")
        lines.append(f"    {doc}.")
    cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n" + "\n".join(
        "    " + ln if ln else ln for ln in lines) + "\n"
    return cls


for _cls in (PeripheryConfig, UpdateConfig, CompensationConfig, CrossbarConfig):
    _document(_cls)

#: The sections of :class:`CrossbarConfig`, by field name.
SECTIONS = {"periphery": PeripheryConfig, "update": UpdateConfig,
            "compensation": CompensationConfig}


def _default(cls, name):
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return f.default


def option_names() -> dict:
    """Every flat keyword of :func:`make_config` -> its section (None: top level)."""
    out = {f.name: None for f in dataclasses.fields(CrossbarConfig) if f.name not in SECTIONS}
    for sec, cls in SECTIONS.items():
        out.update({f.name: sec for f in dataclasses.fields(cls)})
    return out


def make_config(config=None, options: dict | None = None) -> CrossbarConfig:
    """A :class:`CrossbarConfig` from a base config and flat keyword options.

    Parameters
    ----------
    config : CrossbarConfig, dict or None
        The starting point; None: the defaults. A dict is read like ``options`` (the
        nested form of :meth:`~neuropcm.config.Config.to_dict`, flat names, or both).
    options : dict
        Flat field names of any section (``adc_bits``, ``drift_compensation``, ...) or
        whole sections (``periphery={...}``); they replace the base values.

    Raises
    ------
    ParameterError
        An unknown option (the message lists the known ones) or an invalid value.
    """
    if isinstance(config, dict):
        return make_config(None, {**config, **(options or {})})
    if config is None:
        base = CrossbarConfig()
    elif isinstance(config, CrossbarConfig):
        base = config
    else:
        raise ParameterError(f"config = {config!r} must be a CrossbarConfig, a dict of its "
                             f"fields or None")
    options = dict(options or {})
    if "device" in options:
        raise ParameterError("Crossbar(device=...) is now Crossbar(preset=...), the word "
                             "PCMArray uses: pass the preset as preset= or positionally")
    if not options:
        return base
    names = option_names()
    unknown = sorted(set(options) - set(names) - set(SECTIONS))
    if unknown:
        raise ParameterError(f"unknown Crossbar option(s) {unknown}; known options: "
                             f"{sorted(names)} (or the sections {sorted(SECTIONS)})")
    top = {k: v for k, v in options.items() if names.get(k) is None}
    for sec in SECTIONS:
        part = {k: v for k, v in options.items() if names.get(k) == sec}
        if part:
            current = top.get(sec, getattr(base, sec))
            if isinstance(current, dict):
                current = SECTIONS[sec].from_dict(current, where=f"CrossbarConfig.{sec}")
            if not isinstance(current, SECTIONS[sec]):
                raise ParameterError(f"CrossbarConfig.{sec} = {current!r} must be a "
                                     f"{SECTIONS[sec].__name__} or a dict of its fields")
            top[sec] = current.replace(**part)
    return base.replace(**top)
