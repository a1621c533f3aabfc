"""Frozen, validated parameter dataclasses of the PCM device models.

All values are plain SI floats (siemens, seconds, joules, kelvin); each field's unit,
bounds and meaning live in its metadata and are rendered into the class docstring, so
the documentation and the validation come from one place. Brian2 quantities are
accepted only at the public API boundary (see :mod:`neuropcm.units`).

A parameter object knows where it came from: :attr:`DeviceParams.preset` (the preset
name, ``None`` for an object built by hand, written "custom" in text and files) and
:attr:`DeviceParams.overrides` (the fields whose value differs from that preset's). They
are set by :func:`~neuropcm.devices.presets.get_preset` (through
:meth:`DeviceParams.with_reference`, which also keeps the preset's own values) and kept by
:meth:`DeviceParams.replace`, which compares with those values, so this module never
consults the preset table (:mod:`~neuropcm.devices.presets` imports it, not the reverse).
They are not fields, so equality, hashing and :meth:`~DeviceParams.as_dict` see the
values only.

Two models are provided (see ``shared/physics.md``):

* :class:`PulsedParams` -- the SET-accumulation statistical model of Nandakumar et al.
  (J. Appl. Phys. 2018): stochastic, state-dependent, saturating SET increments with a
  pulse memory; programming is iterative program-and-verify.
* :class:`ProgrammedStateParams` -- the inference model of Joshi et al. (Nat. Commun.
  2020; IBM aihwkit ``PCMLikeNoiseModel``): one-shot programming noise, state-dependent
  drift exponent, accumulated 1/f read noise.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import ParameterError, UnitError

#: Boltzmann constant (J/K).
K_BOLTZMANN = 1.380649e-23
#: One electron-volt in joules.
EV = 1.602176634e-19


def _p(default: float, unit: str, doc: str, *, lo: float | None = None,
       hi: float | None = None, lo_open: bool = False, whole: bool = False) -> Any:
    """A parameter field: default, unit, one-line doc and bounds (checked at init);
    ``whole`` fields (counts) must hold whole numbers."""
    return field(default=default, metadata={"unit": unit, "doc": doc, "lo": lo, "hi": hi,
                                            "lo_open": lo_open, "whole": whole})


def _document(cls):
    """Append a numpydoc ``Attributes`` section built from the field metadata."""
    lines = ["", "Attributes", "----------"]
    for f in dataclasses.fields(cls):
        unit = f.metadata.get("unit", "")
        lines.append(f"{f.name} : float")
        lines.append(f"    {f.metadata.get('doc', '')} [{unit or '1'}]; default {f.default!r}.")
    lines += ["preset : str or None",
              "    Name of the preset this object came from; None when built by hand "
              "(not a field).",
              "overrides : tuple of str",
              "    Fields whose value differs from the preset's, sorted (not a field)."]
    cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n" + "\n".join("    " + ln if ln else ln
                                                                 for ln in lines) + "\n"
    return cls


@dataclass(frozen=True)
class DeviceParams:
    """Fields shared by every PCM device model (conductance range, RESET state,
    temperature, energy, endurance).

    Provenance: :attr:`preset` and :attr:`overrides` say which named preset the values
    come from and which fields differ from it. Equality and hashing compare the values
    only (two objects describing the same devices are equal whatever their history);
    compare ``.preset`` and ``.overrides`` explicitly where provenance matters.
    ``dataclasses.replace`` builds a new object by hand (preset None); use
    :meth:`replace`, which keeps the provenance.
    """

    #: model name used by kernels and files; set by subclasses
    model: ClassVar[str] = "base"

    g_min: float = _p(0.0, "S", "lowest conductance a device can take (clip)", lo=0.0)
    g_max: float = _p(25e-6, "S", "highest conductance a device can take (saturation)", lo=0.0,
                      lo_open=True)
    reset_mean: float = _p(0.0, "S", "mean conductance right after a RESET", lo=0.0)
    reset_std: float = _p(0.0, "S", "cycle-to-cycle std of the conductance after a RESET", lo=0.0)
    t_ref: float = _p(300.0, "K", "reference temperature at which the model was fitted", lo=0.0,
                      lo_open=True)
    ea_hrs: float = _p(0.3 * EV, "J", "activation energy of conduction in the amorphous (HRS) "
                       "limit, G ~ exp(-Ea/kT)", lo=0.0)
    ea_lrs: float = _p(0.12 * EV, "J", "activation energy of conduction in the crystalline (LRS) "
                       "limit; interpolated linearly in G/g_max between the two (assumed)", lo=0.0)
    e_set: float = _p(5e-12, "J", "energy of one SET pulse", lo=0.0)
    e_reset: float = _p(30e-12, "J", "energy of one RESET pulse", lo=0.0)
    e_read: float = _p(0.1e-12, "J", "energy of one device read (0.2 V, 10 uA, 50 ns; assumed)",
                       lo=0.0)
    endurance: float = _p(1e9, "count", "SET+RESET pulses a device survives; a worn-out device "
                          "is stuck at its last state (rule: physics.WRITABLE)", lo=1.0,
                          whole=True)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            name = f"{type(self).__name__}.{f.name}"
            if hasattr(v, "dim"):
                raise UnitError(f"{name} = {v!r} is a Brian2 quantity: give a plain float in "
                                f"{f.metadata.get('unit')} (SI), or pass it as an override "
                                f"of get_preset/PCMArray, which converts it")
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ParameterError(f"{name} must be a plain float in {f.metadata.get('unit')} "
                                     f"(SI), got {v!r} of type {type(v).__name__}")
            if not math.isfinite(v):
                raise ParameterError(f"{name} = {v!r} is not finite; give a finite value in "
                                     f"{f.metadata.get('unit')}")
            lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
            if lo is not None and (v < lo or (f.metadata.get("lo_open") and v == lo)):
                op = ">" if f.metadata.get("lo_open") else ">="
                raise ParameterError(f"{name} = {v!r} {f.metadata.get('unit')} is out of range: "
                                     f"it must be {op} {lo}")
            if hi is not None and v > hi:
                raise ParameterError(f"{name} = {v!r} {f.metadata.get('unit')} is out of range: "
                                     f"it must be <= {hi}")
            if f.metadata.get("whole") and not float(v).is_integer():
                raise ParameterError(f"{name} = {v!r} must be a whole number of "
                                     f"{f.metadata.get('unit')} (it is not rounded)")
        if self.g_min >= self.g_max:
            raise ParameterError(f"{type(self).__name__}: g_min = {self.g_min!r} S must be below "
                                 f"g_max = {self.g_max!r} S")
        if not self.g_min <= self.reset_mean <= self.g_max:
            raise ParameterError(f"{type(self).__name__}.reset_mean = {self.reset_mean!r} S must "
                                 f"lie in [g_min, g_max] = [{self.g_min!r}, {self.g_max!r}] S")

    # -- provenance ---------------------------------------------------------------
    @property
    def preset(self) -> str | None:
        """Name of the preset these values come from; None for an object built by hand."""
        return self.__dict__.get("_preset")

    @property
    def overrides(self) -> tuple[str, ...]:
        """Fields whose value differs from the preset's (sorted; empty without a preset)."""
        return self.__dict__.get("_overrides", ())

    @property
    def provenance(self) -> str:
        """The provenance in words: ``"joshi2020"``, ``"joshi2020 (g_max, t0 overridden)"``
        or ``"custom"``."""
        if self.preset is None:
            return "custom"
        if not self.overrides:
            return self.preset
        return f"{self.preset} ({', '.join(self.overrides)} overridden)"

    def with_provenance(self, preset: str | None, overrides=()) -> "DeviceParams":
        """A copy with the given provenance, taken as stated (the values are not compared
        with any preset; :meth:`with_reference` does that). The copy holds no preset
        values, so its :meth:`replace` adds the fields it changes to the overrides.

        Parameters
        ----------
        preset : str or None
            Preset name; None (or ``"custom"``) for hand-built values.
        overrides : iterable of str
            Overridden field names (must be fields of this model; empty without a preset).

        Raises
        ------
        ParameterError
            The name is not a non-empty string, or an override names no field.
        """
        if preset == "custom":
            preset = None
        if preset is not None and not (isinstance(preset, str) and preset.strip()):
            raise ParameterError(f"preset = {preset!r} must be a preset name or None")
        if isinstance(overrides, str):
            overrides = (overrides,)
        names = {f.name for f in dataclasses.fields(self)}
        over = tuple(overrides)
        bad = [o for o in over if not isinstance(o, str) or o not in names]
        if bad:
            raise ParameterError(f"{type(self).__name__}: overridden field(s) {bad} are not "
                                 f"parameters of this model; known: {sorted(names)}")
        if preset is None and over:
            raise ParameterError(f"overrides {sorted(over)} need a preset name; a hand-built "
                                 f"parameter object has none")
        out = copy.copy(self)
        object.__setattr__(out, "_preset", preset)
        object.__setattr__(out, "_overrides", tuple(sorted(set(over))))
        object.__setattr__(out, "_reference", None)
        return out

    def with_reference(self, preset: str, reference: DeviceParams) -> DeviceParams:
        """A copy labelled as preset ``preset``, whose values are ``reference``.

        The overrides are the fields whose value differs from ``reference``'s, and the
        copy keeps ``reference`` so that :meth:`replace` recomputes them the same way.

        Parameters
        ----------
        preset : str
            Preset name.
        reference : DeviceParams
            The preset's values (of the same model).

        Raises
        ------
        ParameterError
            ``reference`` is of another device model, or the name is not valid.
        """
        if type(reference) is not type(self):
            raise ParameterError(f"preset {preset!r} is a {reference.model!r} model, but the "
                                 f"values are of the {self.model!r} model "
                                 f"({type(self).__name__})")
        over = [f.name for f in dataclasses.fields(self)
                if getattr(self, f.name) != getattr(reference, f.name)]
        out = self.with_provenance(preset, over)
        # the bare values: a reference that carried its own reference would chain copies
        object.__setattr__(out, "_reference", dataclasses.replace(reference))
        return out

    # -- conveniences -------------------------------------------------------------
    def replace(self, **changes: float) -> "DeviceParams":
        """Return a copy with some fields changed (validated again), keeping the preset.

        The copy's :attr:`overrides` are the fields whose value differs from the preset's
        (a field set back to the preset's value is no longer overridden); without the
        preset's values (:meth:`with_provenance`), the changed fields are added to them.

        Raises
        ------
        ParameterError
            If a name is not a field of this model (the message lists the fields).
        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ParameterError(f"{type(self).__name__} has no parameter(s) {unknown}; "
                                 f"known: {sorted(names)}")
        new = dataclasses.replace(self, **changes)
        if self.preset is None:
            return new
        reference = self.__dict__.get("_reference")
        if reference is not None:
            return new.with_reference(self.preset, reference)
        over = set(self.overrides) | {k for k in changes if getattr(new, k) != getattr(self, k)}
        return new.with_provenance(self.preset, over)

    def as_dict(self) -> dict[str, float]:
        """Field values as a plain dict (for JSON/HDF5)."""
        return {f.name: float(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def units(cls) -> dict[str, str]:
        """The unit of every field."""
        return {f.name: f.metadata.get("unit", "") for f in dataclasses.fields(cls)}


@_document
@dataclass(frozen=True)
class PulsedParams(DeviceParams):
    """SET-accumulation model (Nandakumar et al., J. Appl. Phys. 124, 152135 (2018)).

    Per SET pulse of relative amplitude ``a`` on a device at conductance G with pulse
    memory P (first ``P <- P*exp(-1/pulse_memory)``)::

        dG = a * f_d * (set_a*G + set_b + set_c*P + (set_d*G + set_e + set_f*P) * xi)
        G  <- clip(G + dG, g_min, g_max)

    with ``xi ~ N(0, 1)`` per pulse and ``f_d`` a per-device factor ~ N(1, set_dtod).
    Drift: ``G(t) = G * (max(t - t_p, t0)/t0)**(-nu)``; read noise std
    ``read_slope*G(t) + read_offset``.
    """

    model: ClassVar[str] = "pulsed"

    g_min: float = _p(0.1e-6, "S", "lowest conductance a device can take (clip)", lo=0.0)
    g_max: float = _p(20e-6, "S", "highest conductance (saturation clip); 20 uS as in the "
                      "paper's figures and its public implementation", lo=0.0, lo_open=True)
    reset_mean: float = _p(0.1e-6, "S", "mean conductance right after a RESET", lo=0.0)
    reset_std: float = _p(0.01e-6, "S", "std of the conductance after a RESET", lo=0.0)
    set_a: float = _p(-0.084, "1", "state dependence of the mean SET increment (per S of G)")
    set_b: float = _p(0.880e-6, "S", "constant part of the mean SET increment")
    set_c: float = _p(1.40e-6, "S", "pulse-memory part of the mean SET increment")
    set_d: float = _p(0.091, "1", "state dependence of the SET increment std", lo=0.0)
    set_e: float = _p(0.26e-6, "S", "constant part of the SET increment std", lo=0.0)
    set_f: float = _p(2.15e-6, "S", "pulse-memory part of the SET increment std", lo=0.0)
    pulse_memory: float = _p(2.6, "count", "decay constant of the pulse memory P, in pulses",
                             lo=0.0, lo_open=True)
    set_dtod: float = _p(0.0, "1", "device-to-device std of the SET increment factor f_d (the "
                         "published fit already holds the total spread, hence 0)", lo=0.0)
    nu: float = _p(0.04, "1", "mean drift exponent", lo=0.0)
    nu_dtod: float = _p(0.0, "1", "device-to-device std of the drift exponent", lo=0.0)
    t0: float = _p(38.6, "s", "drift reference time T0 after a write", lo=0.0, lo_open=True)
    read_slope: float = _p(0.03, "1", "read-noise std per S of drifted conductance", lo=0.0)
    read_offset: float = _p(0.13e-6, "S", "read-noise std offset", lo=0.0)
    program_tol: float = _p(0.5e-6, "S", "default program-and-verify tolerance", lo=0.0,
                            lo_open=True)
    program_max_iterations: float = _p(100.0, "count", "default program-and-verify budget "
                                       "of pulses", lo=1.0, whole=True)


@_document
@dataclass(frozen=True)
class ProgrammedStateParams(DeviceParams):
    """Programmed-state inference model (Joshi et al., Nat. Commun. 11, 2473 (2020);
    IBM aihwkit ``PCMLikeNoiseModel``).

    With ``gn = G_target/g_max``::

        sigma_prog = max(prog_p2*gn**2 + prog_p1*gn + prog_p0, 0)*g_max + prog_rel*G_target
        G_prog = clip(G_target + sigma_prog*xi, g_min, g_max)
        nu ~ |N(clip(nu_a*ln gn + nu_b, nu_mean_min, nu_mean_max),
                clip(nu_c*ln gn + nu_d, nu_std_min, nu_std_max))|
        G(t) = G_prog * ((t + t0)/t0)**(-nu)
        sigma_read = G(t) * min(q_a/gn**q_b, q_max) * sqrt(ln((t + t0 + t_read)/(2 t_read)))

    (the read-noise clock counts from t0 before programming, as in aihwkit). Unlike
    aihwkit, which clips only at 0, programming saturates at ``g_max`` like every write
    here: ``g_max`` is the highest conductance a device can take, so a target at g_max
    leaves about half of the devices pinned there. SET pulses,
    which this model does not describe, are taken as linear steps ``set_step`` with std
    ``set_step_std`` (assumed).
    """

    model: ClassVar[str] = "programmed"

    prog_p2: float = _p(-1.1731 / 25, "1", "quadratic coefficient of sigma_prog/g_max in gn")
    prog_p1: float = _p(1.9650 / 25, "1", "linear coefficient of sigma_prog/g_max in gn")
    prog_p0: float = _p(0.2635 / 25, "1", "constant coefficient of sigma_prog/g_max")
    prog_rel: float = _p(0.0, "1", "programming-noise std relative to the target", lo=0.0)
    nu_a: float = _p(-0.0155, "1", "slope of the mean drift exponent in ln(gn)")
    nu_b: float = _p(0.0244, "1", "offset of the mean drift exponent")
    nu_mean_min: float = _p(0.049, "1", "lower clip of the mean drift exponent", lo=0.0)
    nu_mean_max: float = _p(0.1, "1", "upper clip of the mean drift exponent", lo=0.0)
    nu_c: float = _p(-0.0125, "1", "slope of the drift-exponent std in ln(gn)")
    nu_d: float = _p(-0.0059, "1", "offset of the drift-exponent std")
    nu_std_min: float = _p(0.008, "1", "lower clip of the drift-exponent std", lo=0.0)
    nu_std_max: float = _p(0.045, "1", "upper clip of the drift-exponent std", lo=0.0)
    t0: float = _p(20.0, "s", "drift reference time t0", lo=0.0, lo_open=True)
    t_read: float = _p(250e-9, "s", "read duration (1/f noise bandwidth)", lo=0.0, lo_open=True)
    q_a: float = _p(0.0088, "1", "1/f read-noise scale Q_s at gn = 1", lo=0.0)
    q_b: float = _p(0.65, "1", "exponent of the Q_s dependence on gn", lo=0.0)
    q_max: float = _p(0.2, "1", "upper clip of Q_s", lo=0.0)
    set_step: float = _p(1e-6, "S", "mean conductance step of one SET pulse (assumed)", lo=0.0)
    set_step_std: float = _p(0.3e-6, "S", "std of the SET step (assumed)", lo=0.0)
    program_tol: float = _p(0.0, "S", "default program-and-verify tolerance (0: one shot)",
                            lo=0.0)
    program_max_iterations: float = _p(1.0, "count", "default program-and-verify budget "
                                       "of programming shots", lo=1.0, whole=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        for lo, hi in (("nu_mean_min", "nu_mean_max"), ("nu_std_min", "nu_std_max")):
            if getattr(self, lo) > getattr(self, hi):
                raise ParameterError(f"ProgrammedStateParams.{lo} = {getattr(self, lo)!r} must "
                                     f"not exceed {hi} = {getattr(self, hi)!r}")


PARAM_CLASSES = {cls.model: cls for cls in (PulsedParams, ProgrammedStateParams)}
