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

from dataclasses import dataclass
from typing import ClassVar

from ._params_base import (EA_MAX, E_PULSE_MAX, ENDURANCE_MAX, EV, G_LIMIT, K_BOLTZMANN,  # noqa: F401
                           NU_MAX, T_MAX, _BOUNDS, _NU_CLIP_WHY, _NU_STD_WHY, _NU_WHY,
                           _PROG_WHY, _STD_WHY, DeviceParams, _document, _p)


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
