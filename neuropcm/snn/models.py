"""Brian2 code for PCM devices, rendered from :mod:`neuropcm.devices.physics`.

Nothing here types a device formula: every expression comes from a
:class:`~neuropcm.devices.physics.Relation` rendered with the parameter values (and
units) of a :class:`~neuropcm.devices.params.DeviceParams`. Brian2's abstract code has no
``if``, so conditional device operations take a 0/1 *gate* expression that multiplies
the change (gate 0 leaves the device exactly as it was; gate 1 applies the operation).
"""

from __future__ import annotations

from dataclasses import dataclass

from brian2 import joule

from ..devices import physics as ph
from ..devices.params import DeviceParams


@dataclass(frozen=True)
class DeviceVars:
    """Names of the Brian2 variables that hold one PCM device per synapse/neuron.

    Parameters
    ----------
    G, P, t_prog, nu, f_set, n_set, n_reset, energy : str
        Variable names for the programmed conductance (siemens), pulse memory (1), time of
        last write (second), drift exponent (1), device-to-device SET factor (1), SET and
        RESET counters (integer) and energy (joule).
    """

    G: str
    P: str
    t_prog: str
    nu: str
    f_set: str
    n_set: str
    n_reset: str
    energy: str
    drift_factor: str = ""  # optional cached drift factor (see PCMSynapses(drift_update=))

    @classmethod
    def with_suffix(cls, suffix: str) -> "DeviceVars":
        """Standard names with a suffix, e.g. ``DeviceVars.with_suffix("p")`` -> ``Gp``, ..."""
        return cls(G=f"G{suffix}", P=f"P{suffix}", t_prog=f"tprog{suffix}", nu=f"nu{suffix}",
                   f_set=f"fset{suffix}", n_set=f"nset{suffix}", n_reset=f"nreset{suffix}",
                   energy=f"energy{suffix}")

    def equations(self) -> str:
        """Model-equation lines declaring the device variables."""
        extra = [f"{self.drift_factor} : 1"] if self.drift_factor else []
        return "\n".join(extra + [
            f"{self.G} : siemens", f"{self.P} : 1", f"{self.t_prog} : second",
            f"{self.nu} : 1 (constant)", f"{self.f_set} : 1 (constant)",
            f"{self.n_set} : integer", f"{self.n_reset} : integer", f"{self.energy} : joule"])


def set_pulse_code(params: DeviceParams, v: DeviceVars, ns: dict, gate: str = "1",
                   amplitude: str = "1") -> str:
    """Abstract code applying one SET pulse when ``gate`` is 1.

    The same relations as the numba kernel: pulse memory first, then
    ``G <- clip(G + amp f_set (mean(G, P) + std(G, P) xi), g_min, g_max)``, drift clock
    restarted, counters and energy updated. Parameter values are put into ``ns``, the
    namespace the Brian2 group must be given.
    """
    mean_rel, std_rel = ph.set_relations(params)
    g = f"gate_{v.G}"
    decayed = ph.PULSE_MEMORY.brian2(params, ns, P=v.P) if params.model == "pulsed" else v.P
    mean = mean_rel.brian2(params, ns, G=v.G, P=v.P)
    std = std_rel.brian2(params, ns, G=v.G, P=v.P)
    ns["pcm_e_set"] = params.e_set * joule
    ns["pcm_e_reset"] = params.e_reset * joule
    update = ph.SET_UPDATE.brian2(params, ns, G=v.G, amp=f"({g} * ({amplitude}) * {v.f_set})",
                                  dG_mean=f"({mean})", dG_std=f"({std})", xi="randn()")
    return "\n".join([
        f"{g} = int(({gate}) > 0 and ({amplitude}) > 0)",
        f"{v.P} = {v.P} + {g} * ({decayed} - {v.P})",
        f"{v.G} = {update}",
        f"{v.t_prog} = {v.t_prog} + {g} * (t - {v.t_prog})",
        f"{v.n_set} += {g}",
        f"{v.energy} += {g} * pcm_e_set",
    ] + ([f"{v.drift_factor} = {v.drift_factor} + {g} * (1 - {v.drift_factor})"]
         if v.drift_factor else []))


def reset_code(params: DeviceParams, v: DeviceVars, ns: dict, gate: str = "1") -> str:
    """Abstract code applying a RESET when ``gate`` is 1 (random re-amorphisation)."""
    g = f"rgate_{v.G}"
    level = ph.RESET_LEVEL.brian2(params, ns, xi="randn()")
    ns["pcm_e_reset"] = params.e_reset * joule
    return "\n".join([
        f"{g} = int({gate})",
        f"{v.G} = {v.G} + {g} * ({level} - {v.G})",
        f"{v.P} = {v.P} + {g} * (1 - {v.P})",
        f"{v.t_prog} = {v.t_prog} + {g} * (t - {v.t_prog})",
        f"{v.n_reset} += {g}",
        f"{v.energy} += {g} * pcm_e_reset",
    ] + ([f"{v.drift_factor} = {v.drift_factor} + {g} * (1 - {v.drift_factor})"]
         if v.drift_factor else []))


def read_moments_expr(params: DeviceParams, v: DeviceVars, ns: dict, drift: bool = True,
                      gd: str | None = None) -> tuple[str, str]:
    """Expressions of the mean (drifted conductance) and the std of a read at time ``t``.

    ``gd`` names a temporary that already holds the mean (to reuse it in the std)."""
    dt = f"(t - {v.t_prog})"
    if drift and v.drift_factor:
        mean = f"({v.G} * {v.drift_factor})"
    elif drift:
        mean = f"({v.G} * {drift_factor_expr(params, v, ns)})"
    else:
        mean = v.G
    g = gd or mean
    if params.model == "pulsed":
        std = ph.READ_STD_PULSED.brian2(params, ns, Gd=g)
    else:
        std = ph.READ_STD_PROGRAMMED.brian2(params, ns, Gd=g, G=v.G, dt=dt)
    return mean, std


def drift_factor_expr(params: DeviceParams, v: DeviceVars, ns: dict) -> str:
    """Expression of the drift factor of the device at time ``t``."""
    return ph.drift_relation(params).brian2(params, ns, dt=f"(t - {v.t_prog})", nu=v.nu)


def read_expr(params: DeviceParams, v: DeviceVars, ns: dict, noise: bool = True,
              drift: bool = True) -> str:
    """Expression of a read of the device at time ``t``: drifted conductance plus fresh
    read noise (not clipped at 0 -- the sum of a differential pair is what matters)."""
    mean, std = read_moments_expr(params, v, ns, drift)
    return f"({mean} + ({std}) * randn())" if noise else mean
