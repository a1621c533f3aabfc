"""Frozen, validated parameter dataclasses of the PCM device models.

All values are plain SI floats (siemens, seconds, joules, kelvin); each field's unit,
bounds (with the physics or the judgement behind them) and meaning live in its metadata
and are rendered into the class docstring, so the documentation and the validation come
from one place; the rules between fields are each model's ``check_relations``. This
module is the one place of the parameter rules (:mod:`~neuropcm.devices.validation`
checks the arguments and states of a PCMArray, and takes the temperature bound
:data:`T_MAX` from here). Brian2 quantities are
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
import textwrap
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import ParameterError, UnitError

#: Boltzmann constant (J/K).
K_BOLTZMANN = 1.380649e-23
#: One electron-volt in joules.
EV = 1.602176634e-19

# -- physical bounds of the parameters (each used by the fields below) -------------------
#: Largest drift exponent accepted. Measured exponents (physics.md section 3): amorphous /
#: RESET states 0.07-0.11, low-drift / LRS states 0.01-0.03, an embedded PCM at 300 K 0.03
#: (LRS) to 0.09 (HRS); the Joshi 2020 relation clips its mean at 0.1. Extrapolation beyond
#: 0.2, about twice the largest measured value, is refused (judgement): at 0.2 a device
#: loses almost 90 % of its conductance within 1e6 s of a write.
NU_MAX = 0.2
#: Highest temperature (K) a PCM device can be at: about the melting point of
#: Ge2Sb2Te5 (~900 K); above it there is no amorphous/crystalline device to describe.
T_MAX = 900.0
#: Largest activation energy of conduction accepted (J): measured 0.3 eV amorphous, 0.1-0.15
#: eV crystalline (physics.md section 3); extrapolation beyond 1 eV (more than half the
#: ~0.7 eV band gap of amorphous GST, about three times the measured value) is refused
#: (judgement).
EA_MAX = 1.0 * EV
#: Largest energy of one pulse or read accepted (J): measured SET ~5 pJ, RESET ~30 pJ
#: (physics.md section 3); beyond 1 nJ (over 30 times a RESET) is refused (judgement).
E_PULSE_MAX = 1e-9
#: Largest g_max accepted (S): fully crystalline PCM cells sit at tens of uS (20-25 uS in
#: the fits, physics.md sections 1-2); beyond 1 mS (a 1 kOhm cell, below the access
#: device's own resistance) is refused (judgement; it also catches a value given in uS).
G_LIMIT = 1e-3
#: Largest endurance accepted (count): measured 1e9-1e12 cycles (physics.md section 3);
#: beyond 1e15 is refused (judgement).
ENDURANCE_MAX = 1e15
#: Largest drift reference time accepted (s): fitted 38.6 s (pulsed) and 20 s (Joshi 2020);
#: extrapolation beyond 1e6 s (about 12 days) is refused (judgement).
T0_MAX = 1e6

_WINDOW = "the conductance window g_max - g_min"


def _p(default: float, unit: str, doc: str, *, lo: float | None = None,
       hi: float | None = None, lo_open: bool = False, whole: bool = False,
       why: str = "") -> Any:
    """A parameter field: default, unit, one-line doc and bounds (checked at init, with
    ``why`` -- the physics or the judgement behind the bounds -- in the error and the
    docstring); ``whole`` fields (counts) must hold whole numbers."""
    return field(default=default, metadata={"unit": unit, "doc": doc, "lo": lo, "hi": hi,
                                            "lo_open": lo_open, "whole": whole, "why": why})


def _range_text(meta) -> str:
    """The bounds of a field in words, e.g. ``"0 <= x <= 0.2"``."""
    lo, hi = meta.get("lo"), meta.get("hi")
    parts = []
    if lo is not None:
        parts.append(f"{lo!r} {'<' if meta.get('lo_open') else '<='} x")
    if hi is not None:
        parts.append(f"x <= {hi!r}" if not parts else f"<= {hi!r}")
    return " ".join(parts)


def _document(cls):
    """Append a numpydoc ``Attributes`` section built from the field metadata."""
    lines = ["", "Attributes", "----------"]
    for f in dataclasses.fields(cls):
        unit = f.metadata.get("unit", "")
        lines.append(f"{f.name} : float")
        lines.append(f"    {f.metadata.get('doc', '')} [{unit or '1'}]; default {f.default!r}.")
        rng = _range_text(f.metadata)
        if rng or f.metadata.get("why"):
            text = f"Range: {rng or 'any finite value'}" + (
                f" -- {f.metadata['why']}." if f.metadata.get("why") else ".")
            lines += ["    " + ln for ln in textwrap.wrap(text, 84)]
    lines += ["preset : str or None",
              ("    Name of the preset this object came from; None when built by hand "
               "(not a field)."),
              "overrides : tuple of str",
              "    Fields whose value differs from the preset's, sorted (not a field).",
              "",
              "Notes",
              "-----",
              ("Besides each field's range, :meth:`check_relations` lists the rules between "
               "fields.")]
    cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n" + "\n".join("    " + ln if ln else ln
                                                                 for ln in lines) + "\n"
    return cls


_STD_WHY = ("a std is not negative at any G and P; the SET-step std at g_max right after "
            "RESET, set_d*g_max + set_e + set_f, above g_max - g_min is refused (judgement)")
_NU_WHY = ("drift exponents measured 0.01-0.11 (physics.md section 3); extrapolation beyond "
           "0.2 is refused (judgement)")
_NU_STD_WHY = ("a spread of drift exponents is not negative; one beyond 0.2, the largest "
               "exponent accepted (physics.md section 3), is refused (judgement)")
_NU_CLIP_WHY = "any finite value: the relation clips its result into the [min, max] fields"
_PROG_WHY = ("with the two other coefficients, sigma_prog/g_max must lie in [0, 1] for every "
             "gn in [0, 1] (a std is not negative; above g_max is refused, judgement)")

#: Bounds of the fields every model redefines with its own default.
_BOUNDS = {
    "g_min": {"lo": 0.0,
              "why": "a conductance is not negative; it must also lie below g_max"},
    "g_max": {"lo": 0.0, "lo_open": True, "hi": G_LIMIT,
              "why": "crystalline PCM cells sit at tens of uS (physics.md sections 1-2); "
                     "extrapolation beyond 1 mS is refused (judgement; a value in uS must "
                     "be given in S)"},
    "reset_mean": {"lo": 0.0, "why": "a conductance, and it must lie in [g_min, g_max]"},
    "reset_std": {"lo": 0.0, "why": f"a std is not negative; a spread wider than {_WINDOW} "
                                    f"is refused (judgement)"},
    "t0": {"lo": 0.0, "lo_open": True, "hi": T0_MAX,
           "why": "fitted 38.6 s (pulsed) and 20 s (Joshi 2020), > 0 as the drift law "
                  "divides by it; extrapolation beyond 1e6 s is refused (judgement)"},
}


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

    g_min: float = _p(0.0, "S", "lowest conductance a device can take (clip)",
                      **_BOUNDS["g_min"])
    g_max: float = _p(25e-6, "S", "highest conductance a device can take (saturation)",
                      **_BOUNDS["g_max"])
    reset_mean: float = _p(0.0, "S", "mean conductance right after a RESET",
                           **_BOUNDS["reset_mean"])
    reset_std: float = _p(0.0, "S", "cycle-to-cycle std of the conductance after a RESET",
                          **_BOUNDS["reset_std"])
    t_ref: float = _p(300.0, "K", "reference temperature at which the model was fitted", lo=0.0,
                      lo_open=True, hi=T_MAX,
                      why="an absolute temperature, below the ~900 K melting point of "
                          "Ge2Sb2Te5")
    ea_hrs: float = _p(0.3 * EV, "J", "activation energy of conduction in the amorphous (HRS) "
                       "limit, G ~ exp(-Ea/kT)", lo=0.0, hi=EA_MAX,
                       why="measured ~0.3 eV (physics.md section 3); extrapolation beyond "
                           "1 eV is refused (judgement)")
    ea_lrs: float = _p(0.12 * EV, "J", "activation energy of conduction in the crystalline (LRS) "
                       "limit; interpolated linearly in G/g_max between the two (assumed)", lo=0.0,
                       hi=EA_MAX,
                       why="measured 0.1-0.15 eV, below the amorphous value (physics.md "
                           "section 3), so also <= ea_hrs; beyond 1 eV is refused (judgement)")
    e_set: float = _p(5e-12, "J", "energy of one SET pulse", lo=0.0, hi=E_PULSE_MAX,
                      why="measured ~5 pJ (physics.md section 3); beyond 1 nJ is refused "
                          "(judgement)")
    e_reset: float = _p(30e-12, "J", "energy of one RESET pulse", lo=0.0, hi=E_PULSE_MAX,
                        why="measured ~30 pJ (physics.md section 3); beyond 1 nJ is refused "
                            "(judgement)")
    e_read: float = _p(0.1e-12, "J", "energy of one device read (0.2 V, 10 uA, 50 ns; assumed)",
                       lo=0.0, hi=E_PULSE_MAX,
                       why="beyond 1 nJ, more than any write pulse, is refused (judgement)")
    endurance: float = _p(1e9, "count", "SET+RESET pulses a device survives; a worn-out device "
                          "is stuck at its last state (rule: physics.WRITABLE)", lo=1.0,
                          hi=ENDURANCE_MAX, whole=True,
                          why="measured 1e9-1e12 cycles (physics.md section 3); beyond 1e15 is "
                              "refused (judgement)")

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
            why = f" ({f.metadata['why']})" if f.metadata.get("why") else ""
            u = f.metadata.get("unit")
            u = f" {u}" if u not in (None, "", "1") else ""
            if lo is not None and (v < lo or (f.metadata.get("lo_open") and v == lo)):
                op = ">" if f.metadata.get("lo_open") else ">="
                raise ParameterError(f"{name} = {v!r}{u} is out of range: it must be {op} "
                                     f"{lo!r}{u}{why}")
            if hi is not None and v > hi:
                raise ParameterError(f"{name} = {v!r}{u} is out of range: it must be <= "
                                     f"{hi!r}{u}{why}")
            if f.metadata.get("whole") and not float(v).is_integer():
                raise ParameterError(f"{name} = {v!r} must be a whole number of "
                                     f"{f.metadata.get('unit')} (it is not rounded)")
        for rule in self.check_relations():
            ok, message = rule
            if not ok:
                raise ParameterError(message)

    def _rule(self, ok: bool, names, text: str) -> tuple[bool, str]:
        """One rule between fields: ``(ok, one-line message)``; the message names the
        field(s) ``names`` (a name or a tuple) with their values and units, then ``text``."""
        names = (names,) if isinstance(names, str) else tuple(names)
        units = type(self).units()
        vals = ", ".join(f"{n} = {getattr(self, n)!r}"
                         + (f" {units[n]}" if units[n] not in ("", "1") else "")
                         for n in names)
        return bool(ok), f"{type(self).__name__}.{vals} {text}"

    def check_relations(self) -> list[tuple[bool, str]]:
        """The rules between fields, as ``(holds, one-line message)`` pairs; the constructor
        raises :class:`~neuropcm.errors.ParameterError` with the first that fails.

        Every model: ``g_min < g_max``; ``g_min <= reset_mean <= g_max``;
        ``reset_std <= g_max - g_min`` (judgement); ``ea_lrs <= ea_hrs`` (crystalline
        conduction is less activated than amorphous, physics.md section 3).
        """
        w = self.g_max - self.g_min
        return [
            self._rule(self.g_min < self.g_max, "g_min",
                       f"must be below g_max = {self.g_max!r} S (the conductance window "
                       f"[g_min, g_max] must not be empty)"),
            self._rule(self.g_min <= self.reset_mean <= self.g_max, "reset_mean",
                       f"must lie in [g_min, g_max] = [{self.g_min!r}, {self.g_max!r}] S (a "
                       f"RESET leaves the device inside its window)"),
            self._rule(self.reset_std <= w, "reset_std",
                       f"is out of range: it must be <= g_max - g_min = {w:.4g} S (a RESET "
                       f"spread wider than the whole window is refused; judgement)"),
            self._rule(self.ea_lrs <= self.ea_hrs, "ea_lrs",
                       f"is out of range: it must be <= ea_hrs = {self.ea_hrs!r} J "
                       f"(crystalline conduction is less activated than amorphous, "
                       f"physics.md section 3)"),
        ]

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

    g_min: float = _p(0.1e-6, "S", "lowest conductance a device can take (clip)",
                      **_BOUNDS["g_min"])
    g_max: float = _p(20e-6, "S", "highest conductance (saturation clip); 20 uS as in the "
                      "paper's figures and its public implementation", **_BOUNDS["g_max"])
    reset_mean: float = _p(0.1e-6, "S", "mean conductance right after a RESET",
                           **_BOUNDS["reset_mean"])
    reset_std: float = _p(0.01e-6, "S", "std of the conductance after a RESET",
                          **_BOUNDS["reset_std"])
    set_a: float = _p(-0.084, "1", "state dependence of the mean SET increment (per S of G)",
                      lo=-1.0, lo_open=True, hi=0.0,
                      why="the mean increment shrinks as the device crystallises (saturating "
                          "accumulation, physics.md section 1), and 1 + set_a > 0 keeps a "
                          "pulse from reversing the order of two conductances")
    set_b: float = _p(0.880e-6, "S", "constant part of the mean SET increment", lo=0.0,
                      lo_open=True,
                      why="a SET never lowers G: the mean step at g_min once the pulse memory "
                          "has decayed, set_a*g_min + set_b, must be > 0")
    set_c: float = _p(1.40e-6, "S", "pulse-memory part of the mean SET increment", lo=0.0,
                      why="the pulse memory enlarges the first steps after a RESET (physics.md "
                          "section 1); a negative value would shrink them, possibly below 0")
    set_d: float = _p(0.091, "1", "state dependence of the SET increment std", lo=0.0,
                      why=_STD_WHY)
    set_e: float = _p(0.26e-6, "S", "constant part of the SET increment std", lo=0.0,
                      why=_STD_WHY)
    set_f: float = _p(2.15e-6, "S", "pulse-memory part of the SET increment std", lo=0.0,
                      why=_STD_WHY)
    pulse_memory: float = _p(2.6, "count", "decay constant of the pulse memory P, in pulses",
                             lo=0.0, lo_open=True, hi=100.0,
                             why="the fit gives 2.6 pulses (physics.md section 1); "
                                 "extrapolation beyond 100 pulses is refused (judgement)")
    set_dtod: float = _p(0.0, "1", "device-to-device std of the SET increment factor f_d (the "
                         "published fit already holds the total spread, hence 0)", lo=0.0,
                         hi=1.0,
                         why="about a third of the variability is device-to-device (physics.md "
                             "section 1); beyond 1, over 16 % of the devices would get f_d "
                             "clipped to 0 (no SET response), refused (judgement)")
    nu: float = _p(0.04, "1", "mean drift exponent", lo=0.0, hi=NU_MAX, why=_NU_WHY)
    nu_dtod: float = _p(0.0, "1", "device-to-device std of the drift exponent", lo=0.0,
                        hi=NU_MAX,
                        why="a spread wider than 0.2, the largest drift exponent accepted "
                            "(physics.md section 3: 0.01-0.11 measured), is refused (judgement)")
    t0: float = _p(38.6, "s", "drift reference time T0 after a write", **_BOUNDS["t0"])
    read_slope: float = _p(0.03, "1", "read-noise std per S of drifted conductance", lo=0.0,
                           hi=1.0,
                           why="a std is not negative; measured 0.03 (physics.md section 1); a "
                               "read noise larger than the conductance read is refused "
                               "(judgement)")
    read_offset: float = _p(0.13e-6, "S", "read-noise std offset", lo=0.0,
                            why="a std is not negative; measured 0.13 uS (physics.md section "
                                "1); an offset above g_max is refused (judgement)")
    program_tol: float = _p(0.5e-6, "S", "default program-and-verify tolerance", lo=0.0,
                            lo_open=True,
                            why="program-and-verify needs a positive tolerance; one wider than "
                                "g_max - g_min is refused (judgement)")
    program_max_iterations: float = _p(100.0, "count", "default program-and-verify budget "
                                       "of pulses", lo=1.0, whole=True,
                                       why="at least one pulse")

    def check_relations(self) -> list[tuple[bool, str]]:
        """The rules between fields (see :meth:`DeviceParams.check_relations`), and:

        * ``set_a*g_min + set_b > 0``: a SET never lowers G -- the mean step of a device at
          g_min is positive for every pulse memory P in [0, 1] (``set_c >= 0``), so the
          mean SET curve rises from RESET to its fixed point ``-(set_b + set_c P)/set_a``.
          Above the fixed point the published fit's mean step is negative: that is its
          saturation (10.48 uS, physics.md section 1), kept.
        * ``set_a*g_min + set_b + set_c <= g_max - g_min`` and
          ``set_d*g_max + set_e + set_f <= g_max - g_min``: neither the largest mean step
          nor the largest step std spans the whole window (judgement: that would be a
          binary device, not SET accumulation).
        * ``read_offset <= g_max`` and ``program_tol <= g_max - g_min`` (judgement).
        """
        w = self.g_max - self.g_min
        slow = self.set_a * self.g_min + self.set_b
        first = slow + self.set_c
        wide = self.set_d * self.g_max + self.set_e + self.set_f
        return super().check_relations() + [
            self._rule(slow > 0, ("set_b", "set_a"),
                       f"give a mean SET step at g_min, set_a*g_min + set_b = {slow:.4g} S, "
                       f"that is not > 0: a SET never lowers G (physics.md section 1)"),
            self._rule(first <= w, ("set_b", "set_c"),
                       f"give a first mean SET step set_a*g_min + set_b + set_c = {first:.4g} S "
                       f"above g_max - g_min = {w:.4g} S: one pulse spanning the window is not "
                       f"SET accumulation (judgement)"),
            self._rule(wide <= w, ("set_d", "set_e", "set_f"),
                       f"give a SET-step std at g_max right after RESET, set_d*g_max + set_e "
                       f"+ set_f = {wide:.4g} S, above g_max - g_min = {w:.4g} S (judgement)"),
            self._rule(self.read_offset <= self.g_max, ("read_offset",),
                       f"is out of range: it must be <= g_max = {self.g_max!r} S (a read-noise "
                       f"floor above the largest conductance is refused; judgement)"),
            self._rule(self.program_tol <= w, ("program_tol",),
                       f"is out of range: it must be <= g_max - g_min = {w:.4g} S (a tolerance "
                       f"wider than the window verifies nothing; judgement)"),
        ]


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

    prog_p2: float = _p(-1.1731 / 25, "1", "quadratic coefficient of sigma_prog/g_max in gn",
                        why=_PROG_WHY)
    prog_p1: float = _p(1.9650 / 25, "1", "linear coefficient of sigma_prog/g_max in gn",
                        why=_PROG_WHY)
    prog_p0: float = _p(0.2635 / 25, "1", "constant coefficient of sigma_prog/g_max",
                        why=_PROG_WHY)
    prog_rel: float = _p(0.0, "1", "programming-noise std relative to the target", lo=0.0,
                         hi=1.0,
                         why="a std is not negative; a spread beyond 100 % of the target is "
                             "refused (judgement)")
    nu_a: float = _p(-0.0155, "1", "slope of the mean drift exponent in ln(gn)",
                     why=_NU_CLIP_WHY)
    nu_b: float = _p(0.0244, "1", "offset of the mean drift exponent", why=_NU_CLIP_WHY)
    nu_mean_min: float = _p(0.049, "1", "lower clip of the mean drift exponent", lo=0.0,
                            hi=NU_MAX, why=_NU_WHY + "; nu_mean_min <= nu_mean_max")
    nu_mean_max: float = _p(0.1, "1", "upper clip of the mean drift exponent", lo=0.0,
                            hi=NU_MAX, why=_NU_WHY)
    nu_c: float = _p(-0.0125, "1", "slope of the drift-exponent std in ln(gn)",
                     why=_NU_CLIP_WHY)
    nu_d: float = _p(-0.0059, "1", "offset of the drift-exponent std", why=_NU_CLIP_WHY)
    nu_std_min: float = _p(0.008, "1", "lower clip of the drift-exponent std", lo=0.0,
                           hi=NU_MAX, why=_NU_STD_WHY + "; nu_std_min <= nu_std_max")
    nu_std_max: float = _p(0.045, "1", "upper clip of the drift-exponent std", lo=0.0,
                           hi=NU_MAX, why=_NU_STD_WHY)
    t0: float = _p(20.0, "s", "drift reference time t0", **_BOUNDS["t0"])
    t_read: float = _p(250e-9, "s", "read duration (1/f noise bandwidth)", lo=0.0, lo_open=True,
                       why="a read takes time; t_read <= t0 keeps the 1/f noise term "
                           "sqrt(ln((t + t0 + t_read)/(2 t_read))) real at t = 0")
    q_a: float = _p(0.0088, "1", "1/f read-noise scale Q_s at gn = 1", lo=0.0, hi=1.0,
                    why="a relative std is not negative; measured 0.0088 (physics.md section "
                        "2); a read noise as large as the conductance is refused (judgement)")
    q_b: float = _p(0.65, "1", "exponent of the Q_s dependence on gn", lo=0.0,
                    why="relative read noise does not fall as the conductance falls "
                        "(measured 0.65, physics.md section 2); no upper bound: Q_s is "
                        "clipped at q_max")
    q_max: float = _p(0.2, "1", "upper clip of Q_s", lo=0.0, hi=1.0,
                      why="a relative std is not negative; beyond 1 (read noise as large as "
                          "the conductance) is refused (judgement)")
    set_step: float = _p(1e-6, "S", "mean conductance step of one SET pulse (assumed)", lo=0.0,
                         why="a SET never lowers G (0: SET pulses do nothing); a step larger "
                             "than g_max - g_min is refused (judgement)")
    set_step_std: float = _p(0.3e-6, "S", "std of the SET step (assumed)", lo=0.0,
                             why="a std is not negative; one larger than g_max - g_min is "
                                 "refused (judgement)")
    program_tol: float = _p(0.0, "S", "default program-and-verify tolerance (0: one shot)",
                            lo=0.0,
                            why="not negative; one wider than g_max - g_min is refused "
                                "(judgement)")
    program_max_iterations: float = _p(1.0, "count", "default program-and-verify budget "
                                       "of programming shots", lo=1.0, whole=True,
                                       why="at least one shot")

    def check_relations(self) -> list[tuple[bool, str]]:
        """The rules between fields (see :meth:`DeviceParams.check_relations`), and:

        * ``0 <= prog_p2 gn^2 + prog_p1 gn + prog_p0 <= 1`` for every gn in [0, 1]: the
          programming-noise std is not negative (the relation's clip at 0 is aihwkit's
          guard, never reached by a valid set) and not above g_max (judgement);
        * ``nu_mean_min <= nu_mean_max``, ``nu_std_min <= nu_std_max``;
        * ``t_read <= t0`` (the 1/f noise term is real at t = 0);
        * ``set_step``, ``set_step_std``, ``program_tol <= g_max - g_min`` (judgement).
        """
        w = self.g_max - self.g_min
        lo, hi, at = _quadratic_range(self.prog_p2, self.prog_p1, self.prog_p0)
        names = ("prog_p2", "prog_p1", "prog_p0")
        rules = super().check_relations() + [
            self._rule(lo >= 0, names,
                       f"give sigma_prog/g_max = {lo:.4g} < 0 at gn = {at[0]:.4g}: a "
                       f"programming-noise std is not negative over gn in [0, 1]"),
            self._rule(hi <= 1, names,
                       f"give sigma_prog/g_max = {hi:.4g} > 1 at gn = {at[1]:.4g}: a "
                       f"programming-noise std above g_max is refused (judgement)"),
        ]
        for a, b in (("nu_mean_min", "nu_mean_max"), ("nu_std_min", "nu_std_max")):
            rules.append(self._rule(getattr(self, a) <= getattr(self, b), (a,),
                                    f"must not exceed {b} = {getattr(self, b)!r} (an empty "
                                    f"clip range)"))
        rules.append(self._rule(self.t_read <= self.t0, ("t_read",),
                                f"is out of range: it must be <= t0 = {self.t0!r} s (the 1/f "
                                f"noise term sqrt(ln((t + t0 + t_read)/(2 t_read))) must be "
                                f"real at t = 0)"))
        for name in ("set_step", "set_step_std", "program_tol"):
            rules.append(self._rule(getattr(self, name) <= w, (name,),
                                    f"is out of range: it must be <= g_max - g_min = {w:.4g} S "
                                    f"(a SET step, its spread or a tolerance wider than the "
                                    f"whole window is refused; judgement)"))
        return rules


def _quadratic_range(a: float, b: float, c: float) -> tuple[float, float, tuple[float, float]]:
    """Smallest and largest value of ``a x^2 + b x + c`` on ``x`` in [0, 1], and where."""
    xs = [0.0, 1.0]
    if a != 0 and 0.0 < -b / (2 * a) < 1.0:
        xs.append(-b / (2 * a))
    vals = [a * x * x + b * x + c for x in xs]
    i, j = min(range(len(xs)), key=vals.__getitem__), max(range(len(xs)), key=vals.__getitem__)
    return vals[i], vals[j], (xs[i], xs[j])


PARAM_CLASSES = {cls.model: cls for cls in (PulsedParams, ProgrammedStateParams)}
