"""Each PCM relation written once, as an expression with its unit.

A :class:`Relation` is rendered into

* a numpy function (arrays in, array out) -- :meth:`Relation.numpy`,
* a numba ``njit`` scalar function called by the kernels -- :meth:`Relation.numba`,
* a Brian2 code string with the parameter values inlined with their units --
  :meth:`Relation.brian2`,

so the Brian2 engine, the numba kernels and the analytic references all evaluate the
same formula with the same parameters. The expression language is the common subset
of Python and Brian2: ``+ - * / **``, ``exp``, ``log``, ``sqrt``, ``clip(x, lo, hi)``
and ``inf``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np

from .params import K_BOLTZMANN, DeviceParams

_BRIAN2_UNITS = {"S": "siemens", "s": "second", "J": "joule", "K": "kelvin",
                 "J/K": "joule/kelvin"}


def _clip_scalar(x, lo, hi):
    return min(max(x, lo), hi)


def _numba_namespace() -> dict:
    import numba

    return {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "inf": math.inf,
            "clip": numba.njit(inline="always")(_clip_scalar)}


_NUMPY_NAMESPACE = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "inf": np.inf,
                    "clip": np.clip, "abs": np.abs}


@dataclass(frozen=True)
class Relation:
    """One physical relation ``name = expr`` between state variables and parameters.

    Parameters
    ----------
    name : str
        Name of the relation (also the generated function's name).
    expr : str
        The expression; state variables and parameter names are plain identifiers.
    variables : tuple of (name, unit)
        State variables, in the order the generated functions take them.
    params : tuple of str
        Names of :class:`~neuropcm.devices.params.DeviceParams` fields used, in the order the
        generated functions take them after the variables.
    unit : str
        Unit of the result.
    constants : dict
        Named physical constants ``{name: (value, unit)}`` inlined everywhere.
    """

    name: str
    expr: str
    variables: tuple[tuple[str, str], ...]
    params: tuple[str, ...]
    unit: str
    constants: dict = field(default_factory=dict)

    @property
    def variable_names(self) -> tuple[str, ...]:
        """Names of the state variables (without units), in the order the generated
        functions take them; :meth:`__call__` needs each as a keyword."""
        return tuple(v for v, _ in self.variables)

    def _source(self) -> str:
        args = ", ".join(self.variable_names + self.params)
        expr = self.expr
        for cname, (cval, _) in self.constants.items():
            expr = re.sub(rf"\b{cname}\b", repr(float(cval)), expr)
        return f"def {self.name}({args}):\n    return {expr}\n"

    def _build(self, namespace: dict) -> Callable:
        ns = dict(namespace)
        exec(compile(self._source(), f"<relation {self.name}>", "exec"), ns)
        return ns[self.name]

    @cached_property
    def numpy(self) -> Callable:
        """The relation as a numpy function ``f(*variables, *params)``."""
        return self._build(_NUMPY_NAMESPACE)

    @cached_property
    def numba(self) -> Callable:
        """The relation as an inlined numba scalar function ``f(*variables, *params)``."""
        import numba

        return numba.njit(cache=False)(self._build(_numba_namespace()))

    def __call__(self, params: DeviceParams, **variables):
        """Evaluate with numpy for the given parameter set and state variables."""
        missing = set(self.variable_names) - set(variables)
        if missing:
            raise TypeError(f"relation {self.name} needs variables {sorted(missing)}")
        args = [variables[v] for v in self.variable_names]
        args += [getattr(params, p) for p in self.params]
        return self.numpy(*args)

    def brian2(self, params: DeviceParams, namespace: dict | None = None, **rename: str) -> str:
        """Render as a Brian2 expression.

        Parameters
        ----------
        params : DeviceParams
            Parameter values.
        namespace : dict, optional
            If given, parameters are referenced as ``pcm_<name>`` and their values (Brian2
            quantities) are put into this dict, to be passed as the group's namespace.
            Otherwise values are inlined as literals with units. (Brian2 2.9's numpy target
            fails on functions of literal constants such as ``exp(-1.0/(2.6))``, so engines
            use the namespace form.)
        **rename : str
            New names for state variables, e.g. ``G="Gp"``.
        """
        units = type(params).units()
        subs = {}
        for p in self.params:
            u = _BRIAN2_UNITS.get(units.get(p, ""))
            val = float(getattr(params, p))
            if namespace is not None:
                import brian2

                subs[p] = f"pcm_{p}"
                namespace[f"pcm_{p}"] = val * eval(u, vars(brian2)) if u else val
                continue
            subs[p] = f"({val!r}*{u})" if u else f"({val!r})"
        for cname, (cval, cunit) in self.constants.items():
            u = _BRIAN2_UNITS.get(cunit)
            subs[cname] = f"({float(cval)!r}*{u})" if u else f"({float(cval)!r})"
        unknown = set(rename) - set(self.variable_names)
        if unknown:
            raise TypeError(f"relation {self.name} has no variables {sorted(unknown)}; "
                            f"it has {list(self.variable_names)}")
        subs.update(rename)
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, subs)) + r")\b")
        return pattern.sub(lambda m: subs[m.group(1)], self.expr)


# --------------------------------------------------------------------------------------
# Pulsed (SET-accumulation) model, Nandakumar et al. 2018 (physics.md section 1)
# --------------------------------------------------------------------------------------
PULSE_MEMORY = Relation(
    "pulse_memory", "P * exp(-1.0 / pulse_memory)", (("P", "1"),), ("pulse_memory",), "1")
"""Pulse memory after one more pulse: ``P' = P exp(-1/n_mem)`` (applied before the pulse)."""

SET_MEAN = Relation(
    "set_mean", "set_a * G + set_b + set_c * P", (("G", "S"), ("P", "1")),
    ("set_a", "set_b", "set_c"), "S")
"""Mean SET increment ``a G + b + c P`` (siemens). The parameters are bounded so that a SET
never lowers G where the device starts (:meth:`PulsedParams.check_relations
<neuropcm.devices.params.PulsedParams.check_relations>`): ``-1 < a <= 0``, ``c >= 0`` and
``a g_min + b > 0``, so the step is positive from g_min up to the fixed point
``-(b + c P)/a`` (10.48 uS for the published fit); above it the mean is negative, the fit's
saturation."""

SET_STD = Relation(
    "set_std", "set_d * G + set_e + set_f * P", (("G", "S"), ("P", "1")),
    ("set_d", "set_e", "set_f"), "S")
"""Std of the SET increment ``d G + e + f P`` (siemens)."""

DRIFT_PULSED = Relation(
    "drift_pulsed", "clip(dt / t0, 1.0, inf) ** (-nu)", (("dt", "s"), ("nu", "1")), ("t0",), "1")
"""Drift factor ``(max(dt, T0)/T0)^-nu``, dt = time since the last write (flat before T0)."""

NU_DEVICE = Relation("nu_device", "abs(nu + nu_dtod * xi)", (("xi", "1"),), ("nu", "nu_dtod"), "1")
"""Drift exponent of one device of the pulsed model, ``|nu + nu_dtod xi|`` (fixed per device)."""

F_SET_DEVICE = Relation("f_set_device", "clip(1.0 + set_dtod * xi, 0.0, inf)", (("xi", "1"),),
                        ("set_dtod",), "1")
"""Device-to-device factor of the SET increment, ``max(1 + set_dtod xi, 0)``."""

READ_STD_PULSED = Relation(
    "read_std_pulsed", "read_slope * Gd + read_offset", (("Gd", "S"),),
    ("read_slope", "read_offset"), "S")
"""Read-noise std ``0.03 G(t) + 0.13 uS`` of the pulsed model (siemens)."""

# --------------------------------------------------------------------------------------
# Programmed-state model, Joshi et al. 2020 / aihwkit PCMLikeNoiseModel (section 2)
# --------------------------------------------------------------------------------------
PROG_STD = Relation(
    "prog_std", "clip(prog_p2 * (Gt / g_max) ** 2 + prog_p1 * (Gt / g_max) + prog_p0, 0.0, inf)"
    " * g_max + prog_rel * Gt", (("Gt", "S"),), ("prog_p2", "prog_p1", "prog_p0", "g_max",
                                                  "prog_rel"), "S")
"""Programming-noise std at target Gt (siemens)."""

NU_MEAN = Relation(
    "nu_mean", "clip(nu_a * log(clip(Gt / g_max, 0.001, inf)) + nu_b, nu_mean_min, nu_mean_max)",
    (("Gt", "S"),), ("nu_a", "g_max", "nu_b", "nu_mean_min", "nu_mean_max"), "1")
"""Mean of the drift-exponent distribution at target Gt."""

NU_STD = Relation(
    "nu_std", "clip(nu_c * log(clip(Gt / g_max, 0.001, inf)) + nu_d, nu_std_min, nu_std_max)",
    (("Gt", "S"),), ("nu_c", "g_max", "nu_d", "nu_std_min", "nu_std_max"), "1")
"""Std of the drift-exponent distribution at target Gt."""

DRIFT_PROGRAMMED = Relation(
    "drift_programmed", "((dt + t0) / t0) ** (-nu)", (("dt", "s"), ("nu", "1")), ("t0",), "1")
"""Drift factor ``((t + t0)/t0)^-nu``, t = time since programming."""

READ_STD_PROGRAMMED = Relation(
    "read_std_programmed",
    "Gd * clip(q_a / clip(G / g_max, 0.001, inf) ** q_b, 0.0, q_max)"
    " * sqrt(log((dt + t0 + t_read) / (2.0 * t_read)))",
    (("Gd", "S"), ("G", "S"), ("dt", "s")), ("q_a", "g_max", "q_b", "q_max", "t0", "t_read"), "S")
"""Accumulated 1/f read-noise std ``G(t) Q_s sqrt(ln((t + t0 + t_r)/(2 t_r)))`` (siemens)."""

LINEAR_SET_MEAN = Relation("linear_set_mean", "set_step + 0.0 * G", (("G", "S"), ("P", "1")),
                           ("set_step",), "S")
"""Mean SET step of the programmed-state model (state independent; assumed)."""

LINEAR_SET_STD = Relation("linear_set_std", "set_step_std + 0.0 * G", (("G", "S"), ("P", "1")),
                          ("set_step_std",), "S")
"""Std of the SET step of the programmed-state model (assumed)."""

# --------------------------------------------------------------------------------------
# Shared by both models (section 3)
# --------------------------------------------------------------------------------------
SET_UPDATE = Relation(
    "set_update", "clip(G + amp * (dG_mean + dG_std * xi), g_min, g_max)",
    (("G", "S"), ("amp", "1"), ("dG_mean", "S"), ("dG_std", "S"), ("xi", "1")),
    ("g_min", "g_max"), "S")
"""Conductance after a SET pulse of relative amplitude ``amp`` with increment moments
``dG_mean``, ``dG_std`` and a standard normal ``xi``, saturating in [g_min, g_max]."""

PROGRAM_LEVEL = Relation(
    "program_level", "clip(Gt + sigma * xi, g_min, g_max)",
    (("Gt", "S"), ("sigma", "S"), ("xi", "1")), ("g_min", "g_max"), "S")
"""Conductance after one-shot programming to target ``Gt`` with programming-noise std
``sigma`` and a standard normal ``xi``. A device saturates: the result is clipped to
[g_min, g_max] like every other write (aihwkit clips only at 0; physics.md section 2)."""

WRITABLE = Relation(
    "writable", "n_set + n_reset < endurance", (("n_set", "1"), ("n_reset", "1")),
    ("endurance",), "1")
"""Endurance rule, the one place every engine takes it from: a device may still be written
while its SET and RESET pulses together stay below ``endurance``. A write on a writable
device takes full effect (conductance, pulse memory, drift clock, drift exponent, counters,
energy), also the write that reaches or passes the limit -- one-shot programming counts one
SET and one RESET, so from ``endurance - 1`` it ends at ``endurance + 1``. Afterwards the
device is worn out: stuck at its last state, every later write (SET, RESET, programming)
changes nothing, not even counters or energy. It can still be read."""

RESET_LEVEL = Relation(
    "reset_level", "clip(reset_mean + reset_std * xi, g_min, g_max)", (("xi", "1"),),
    ("reset_mean", "reset_std", "g_min", "g_max"), "S")
"""Conductance after a RESET (random re-amorphisation), ``xi`` standard normal."""

TEMPERATURE = Relation(
    "temperature_factor",
    "exp(-(ea_hrs + (ea_lrs - ea_hrs) * clip(G / g_max, 0.0, 1.0)) / k_B * (1.0 / T - 1.0 / t_ref))",
    (("G", "S"), ("T", "K")), ("ea_hrs", "ea_lrs", "g_max", "t_ref"), "1",
    constants={"k_B": (K_BOLTZMANN, "J/K")})
"""Arrhenius factor ``exp(-Ea/k (1/T - 1/T_ref))`` of thermally activated conduction, with
Ea interpolated between the HRS and LRS values by G/g_max (assumed)."""

RELATIONS = {r.name: r for r in (
    PULSE_MEMORY, SET_MEAN, SET_STD, NU_DEVICE, F_SET_DEVICE, DRIFT_PULSED, READ_STD_PULSED,
    PROG_STD, NU_MEAN, NU_STD, DRIFT_PROGRAMMED, READ_STD_PROGRAMMED, LINEAR_SET_MEAN,
    LINEAR_SET_STD, SET_UPDATE, PROGRAM_LEVEL, WRITABLE, RESET_LEVEL, TEMPERATURE)}


def set_relations(params: DeviceParams) -> tuple[Relation, Relation]:
    """The (mean, std) SET-increment relations of a parameter set's model."""
    if params.model == "pulsed":
        return SET_MEAN, SET_STD
    return LINEAR_SET_MEAN, LINEAR_SET_STD


def drift_relation(params: DeviceParams) -> Relation:
    """The drift-factor relation of a parameter set's model."""
    return DRIFT_PULSED if params.model == "pulsed" else DRIFT_PROGRAMMED
