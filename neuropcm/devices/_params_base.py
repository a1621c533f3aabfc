"""The base of the device parameter classes (:mod:`neuropcm.devices.params`): physical
constants and bounds, the field declaration :func:`_p` with its documentation renderer, and
:class:`DeviceParams`, the fields and rules every device model shares."""

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
    "reset_mean": {"lo": 0.0, "why": "a conductance, at most g_max (below g_min the RESET "
                   "draws are clipped at g_min)"},
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

        Every model: ``g_min < g_max``; ``reset_mean <= g_max`` (a mean below ``g_min`` is
        a RESET level at the floor: the relation clips each draw into the window, and a fit
        of a device that resets to the floor lands there within its error);
        ``reset_std <= g_max - g_min`` (judgement); ``ea_lrs <= ea_hrs`` (crystalline
        conduction is less activated than amorphous, physics.md section 3).
        """
        w = self.g_max - self.g_min
        return [
            self._rule(self.g_min < self.g_max, "g_min",
                       f"must be below g_max = {self.g_max!r} S (the conductance window "
                       f"[g_min, g_max] must not be empty)"),
            self._rule(self.reset_mean <= self.g_max, "reset_mean",
                       f"must be <= g_max = {self.g_max!r} S (a RESET leaves the device "
                       f"inside its window; the draws are clipped into it)"),
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
    def source(self) -> dict | None:
        """The preset file these values were read from, as ``{"path", "sha256", "text"}``
        (its whole text, so a result file that records it can be repeated without the
        file); None for a built-in preset or hand-built values."""
        return self.__dict__.get("_source")

    def with_source(self, source: dict | None) -> "DeviceParams":
        """A copy that records the preset file ``source`` (see :attr:`source`)."""
        if source is not None and not (isinstance(source, dict)
                                       and set(source) == {"path", "sha256", "text"}):
            raise ParameterError(f"source must be None or a dict with path, sha256 and text, "
                                 f"got {source!r}")
        out = copy.copy(self)
        object.__setattr__(out, "_source", None if source is None else dict(source))
        return out

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
        if preset != self.preset:  # another preset: the file of this one no longer applies
            object.__setattr__(out, "_source", None)
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
            new = new.with_reference(self.preset, reference)
        else:
            over = set(self.overrides) | {k for k in changes
                                          if getattr(new, k) != getattr(self, k)}
            new = new.with_provenance(self.preset, over)
        return new.with_source(self.source)  # overrides of a file preset keep its file

    def as_dict(self) -> dict[str, float]:
        """Field values as a plain dict (for JSON/HDF5)."""
        return {f.name: float(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def units(cls) -> dict[str, str]:
        """The unit of every field."""
        return {f.name: f.metadata.get("unit", "") for f in dataclasses.fields(cls)}
