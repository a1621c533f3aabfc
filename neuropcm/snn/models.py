"""Brian2 code for PCM devices, rendered from :mod:`neuropcm.devices.physics`.

Nothing here types a device formula: every expression comes from a
:class:`~neuropcm.devices.physics.Relation` rendered with the parameter values (and
units) of a :class:`~neuropcm.devices.params.DeviceParams`. Brian2's abstract code has no
``if``, so conditional device operations take a 0/1 *gate* expression that selects
the new or the old value (gate 0 leaves the device exactly as it was; gate 1 applies the
operation).

The code follows the numba kernels of :mod:`neuropcm.devices` rule for rule: a worn-out
device (``n_set + n_reset >= endurance``) is stuck -- no SET or RESET changes it or its
counters; reads scale with the Arrhenius factor of the operating temperature
(:data:`~neuropcm.devices.physics.TEMPERATURE`, applied when it differs from ``t_ref``);
a RESET of the programmed-state model draws a new drift exponent for the new state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import DEFAULT_FUNCTIONS, Function, joule, kelvin

from ..devices import physics as ph
from ..devices.params import DeviceParams
from ._normal import ZIGGURAT_CPP


@dataclass(frozen=True)
class DeviceVars:
    """Names of the Brian2 variables that hold one PCM device per synapse/neuron.

    Parameters
    ----------
    G, P, t_prog, nu, f_set, n_set, n_reset, energy : str
        Variable names for the programmed conductance (siemens), pulse memory (1), time of
        last write (second), drift exponent (1), device-to-device SET factor (1), SET and
        RESET counters (integer) and energy (joule).
    drift_factor : str
        Optional cached drift factor (see ``PCMSynapses(drift_update=)``).
    n_read : str
        Optional read counter (integer), for devices that are read.
    """

    G: str
    P: str
    t_prog: str
    nu: str
    f_set: str
    n_set: str
    n_reset: str
    energy: str
    drift_factor: str = ""
    n_read: str = ""

    @classmethod
    def with_suffix(cls, suffix: str) -> "DeviceVars":
        """Standard names with a suffix, e.g. ``DeviceVars.with_suffix("p")`` -> ``Gp``, ..."""
        return cls(G=f"G{suffix}", P=f"P{suffix}", t_prog=f"tprog{suffix}", nu=f"nu{suffix}",
                   f_set=f"fset{suffix}", n_set=f"nset{suffix}", n_reset=f"nreset{suffix}",
                   energy=f"energy{suffix}")

    def equations(self, params: DeviceParams | None = None) -> str:
        """Model-equation lines declaring the device variables (the drift exponent is
        constant except for the programmed-state model, whose RESET re-draws it)."""
        extra = [f"{self.drift_factor} : 1"] if self.drift_factor else []
        extra += [f"{self.n_read} : integer"] if self.n_read else []
        nu_flag = "" if params is not None and params.model == "programmed" else " (constant)"
        return "\n".join(extra + [
            f"{self.G} : siemens", f"{self.P} : 1", f"{self.t_prog} : second",
            f"{self.nu} : 1{nu_flag}", f"{self.f_set} : 1 (constant)",
            f"{self.n_set} : integer", f"{self.n_reset} : integer", f"{self.energy} : joule"])


def _randn_if_numpy(gate, _vectorisation_idx):
    """numpy target: one standard normal per element whose gate is non-zero (drawn in
    element order, as the compiled targets draw them), 0 elsewhere."""
    try:
        n = len(_vectorisation_idx)
    except TypeError:  # scalar code
        return float(np.random.randn()) if np.asarray(gate) != 0 else 0.0
    mask = np.broadcast_to(np.asarray(gate) != 0, (n,))
    out = np.zeros(n)
    out[mask] = np.random.randn(int(mask.sum()))
    return out


#: Brian2 function ``randn_if(gate)``: a standard normal where ``gate`` is non-zero, else 0
#: (and no random number drawn; the C++ target draws it by the ziggurat method). A gated
#: device operation draws its noise only when it happens: the same distribution as
#: ``gate * randn()``, far fewer random numbers.
RANDN_IF = Function(_randn_if_numpy, arg_units=[1], return_unit=1, stateless=False,
                    auto_vectorise=True)
# C++: the ziggurat normal of ._normal (exact; fewer uniforms and no logarithm per draw)
RANDN_IF.implementations.add_implementation(
    "cpp", code=ZIGGURAT_CPP + "inline double _randn_if(const double gate, "
                "const int _vectorisation_idx) "
                "{ return gate != 0 ? _npcm_zig_normal(_vectorisation_idx) : 0.0; }",
    name="_randn_if", dependencies={"_rand": DEFAULT_FUNCTIONS["rand"]})
RANDN_IF.implementations.add_implementation(
    "cython", code="cdef double _randn_if(double gate, int _vectorisation_idx):\n"
                   "    if gate != 0:\n        return _randn(_vectorisation_idx)\n"
                   "    return 0.0\n",
    name="_randn_if", dependencies={"_randn": DEFAULT_FUNCTIONS["randn"]})
RANDN_IF.implementations.add_implementation("numpy", code=_randn_if_numpy)


def gated_normal(gate: str, ns: dict, gated: bool = True) -> str:
    """Expression of the standard normal of an operation enabled by the 0/1 ``gate``:
    ``randn_if(gate)`` (put into ``ns``), or ``randn()`` with ``gated=False`` (a draw
    whether the operation happens or not: the random stream of earlier versions)."""
    if not gated:
        return "randn()"
    ns["randn_if"] = RANDN_IF
    return f"randn_if({gate})"


def _select(gate: str, new: str, old: str) -> str:
    """``gate ? new : old`` for a 0/1 gate, exact in floating point (``1*new + 0*old``)."""
    return f"{gate} * ({new}) + (1 - {gate}) * {old}"


def alive_expr(params: DeviceParams, v: DeviceVars, ns: dict) -> str:
    """0/1 expression: the device is not worn out, ``n_set + n_reset < endurance``
    (a worn-out device is stuck at its last state, as in the numba kernels)."""
    return f"int({ph.WRITABLE.brian2(params, ns, n_set=v.n_set, n_reset=v.n_reset)})"


def set_pulse_code(params: DeviceParams, v: DeviceVars, ns: dict, gate: str = "1",
                   amplitude: str = "1", gated_noise: bool = True) -> str:
    """Abstract code applying one SET pulse when ``gate`` is 1.

    The same relations as the numba kernel: pulse memory first, then
    ``G <- clip(G + amp f_set (mean(G, P) + std(G, P) xi), g_min, g_max)``, drift clock
    restarted, counters and energy updated; nothing happens for ``amplitude <= 0`` or a
    worn-out device. Parameter values are put into ``ns``, the namespace the Brian2 group
    must be given. With ``gated_noise`` (default) the pulse's random number is drawn only
    when the pulse is applied (:func:`gated_normal`).
    """
    mean_rel, std_rel = ph.set_relations(params)
    g = f"gate_{v.G}"
    decayed = ph.PULSE_MEMORY.brian2(params, ns, P=v.P) if params.model == "pulsed" else v.P
    mean = mean_rel.brian2(params, ns, G=v.G, P=v.P)
    std = std_rel.brian2(params, ns, G=v.G, P=v.P)
    ns["pcm_e_set"] = params.e_set * joule
    ns["pcm_e_reset"] = params.e_reset * joule
    update = ph.SET_UPDATE.brian2(params, ns, G=v.G, amp=f"({g} * ({amplitude}) * {v.f_set})",
                                  dG_mean=f"({mean})", dG_std=f"({std})",
                                  xi=gated_normal(g, ns, gated_noise))
    return "\n".join([
        f"{g} = int(({gate}) > 0 and ({amplitude}) > 0) * {alive_expr(params, v, ns)}",
        f"{v.P} = {_select(g, decayed, v.P)}",
        f"{v.G} = {_select(g, update, v.G)}",
        f"{v.t_prog} = {_select(g, 't', v.t_prog)}",
        f"{v.n_set} += {g}",
        f"{v.energy} += {g} * pcm_e_set",
    ] + ([f"{v.drift_factor} = {_select(g, '1.0', v.drift_factor)}"]
         if v.drift_factor else []))


def reset_code(params: DeviceParams, v: DeviceVars, ns: dict, gate: str = "1",
               gated_noise: bool = True) -> str:
    """Abstract code applying a RESET when ``gate`` is 1 (random re-amorphisation; a new
    drift exponent for the programmed-state model; nothing for a worn-out device); random
    numbers drawn only for applied RESETs unless ``gated_noise=False``."""
    g = f"rgate_{v.G}"
    level = ph.RESET_LEVEL.brian2(params, ns, xi=gated_normal(g, ns, gated_noise))
    ns["pcm_e_reset"] = params.e_reset * joule
    lines = [
        f"{g} = int({gate}) * {alive_expr(params, v, ns)}",
        f"{v.G} = {_select(g, level, v.G)}",
        f"{v.P} = {_select(g, '1.0', v.P)}",
        f"{v.t_prog} = {_select(g, 't', v.t_prog)}",
        f"{v.n_reset} += {g}",
        f"{v.energy} += {g} * pcm_e_reset",
    ]
    if params.model == "programmed":  # as PCMArray: nu ~ |N(mu(G), sd(G))| of the new state
        mu = ph.NU_MEAN.brian2(params, ns, Gt=v.G)
        sd = ph.NU_STD.brian2(params, ns, Gt=v.G)
        xi = gated_normal(g, ns, gated_noise)
        lines.append(f"{v.nu} = {_select(g, f'abs({mu} + {sd} * {xi})', v.nu)}")
    if v.drift_factor:
        lines.append(f"{v.drift_factor} = {_select(g, '1.0', v.drift_factor)}")
    return "\n".join(lines)


def temperature_factor_expr(params: DeviceParams, v: DeviceVars, ns: dict,
                            temperature: float | None) -> str | None:
    """Expression of the Arrhenius factor of a read at ``temperature`` (K), or None when
    it is the model's reference temperature (factor 1, as the numba kernels skip it)."""
    if temperature is None or float(temperature) == params.t_ref:
        return None
    ns["pcm_temperature"] = float(temperature) * kelvin
    return ph.TEMPERATURE.brian2(params, ns, G=v.G, T="pcm_temperature")


def read_moments_expr(params: DeviceParams, v: DeviceVars, ns: dict, drift: bool = True,
                      gd: str | None = None,
                      temperature: float | None = None) -> tuple[str, str]:
    """Expressions of the mean (drifted, temperature-scaled conductance) and the std of a
    read at time ``t``, as :meth:`neuropcm.devices.PCMArray.read_moments`.

    ``gd`` names a temporary that already holds the mean (to reuse it in the std);
    ``temperature`` is the operating temperature (K; None: the reference)."""
    dt = f"(t - {v.t_prog})"
    factors = [v.G]
    if drift and v.drift_factor:
        factors.append(v.drift_factor)
    elif drift:
        factors.append(drift_factor_expr(params, v, ns))
    temp = temperature_factor_expr(params, v, ns, temperature)
    if temp is not None:
        factors.append(f"({temp})")
    mean = f"({' * '.join(factors)})" if len(factors) > 1 else v.G
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
              drift: bool = True, temperature: float | None = None,
              clip_zero: bool = False, gate: str | None = None) -> str:
    """Expression of a read of the device at time ``t``: drifted, temperature-scaled
    conductance plus fresh read noise; not clipped at 0 (the sum of a differential pair is
    what matters) unless ``clip_zero``, which gives :meth:`PCMArray.read`'s
    ``max(mean + std xi, 0)``. With a 0/1 ``gate`` expression the noise is drawn only where
    it is 1 (a read that does not happen)."""
    mean, std = read_moments_expr(params, v, ns, drift, temperature=temperature)
    xi = "randn()" if gate is None else gated_normal(gate, ns)
    out = f"({mean} + ({std}) * {xi})" if noise else mean
    return f"clip({out}, 0*siemens, inf*siemens)" if clip_zero else out


def efficacy_code(params: DeviceParams, plus: list, minus: list, ns: dict, *, drift: bool,
                  temperature, read_noise: bool, noise_to, target_var: str,
                  cache_efficacy: bool, source_reads: bool) -> tuple[list, str, list]:
    """The read of a synapse's devices on a presynaptic event, for any number of devices
    per side (``plus``, ``minus``: lists of :class:`DeviceVars`).

    The efficacy is ``w_scale * (sum read(G+) - sum read(G-))``; the devices' independent
    Gaussian read noises are drawn as one Gaussian of the summed variance (exact in
    distribution, fewer random numbers), or with ``noise_to`` their variance
    ``w_scale**2 * sum var`` is added to that postsynaptic variable (the target draws one
    Gaussian per step). ``cache_efficacy``: the mean and variance are kept in ``eff`` /
    ``effvar``, recomputed by the returned ``update_efficacy`` code after every write and
    drift update, so an event only loads them.

    Returns
    -------
    model : list of str
        Extra model lines (the cache variables).
    update_efficacy : str
        Code recomputing the cache ("" without it).
    pre : list of str
        The presynaptic code: the reads, the efficacy, and the read counters.
    """
    one = len(plus) == 1 and len(minus) == 1
    means, variances, names = [], [], []
    for v in plus + minus:
        gd = ("rd_p" if v in plus else "rd_m") if one else f"rd_{v.G}"
        mean, std = read_moments_expr(params, v, ns, drift, gd=gd, temperature=temperature)
        means.append(f"{gd} = {mean}")
        variances.append(f"({std})**2")
        names.append(gd)
    k = len(plus)
    diff = (f"{names[0]} - {names[1]}" if one else
            f"({' + '.join(names[:k])}) - ({' + '.join(names[k:])})")
    var = " + ".join(variances)
    model, update, pre = [], "", []
    if cache_efficacy:
        model.append("eff : siemens  # mean read: sum of G+ - sum of G-\n"
                     "effvar : siemens**2  # read-noise variance of the devices summed")
        update = "\n".join([*means, f"eff = {diff}", f"effvar = {var}"])
        diff, var = "eff", "effvar"
    else:
        pre += means
    noise = f" + sqrt({var}) * randn()" if read_noise and not noise_to else ""
    pre.append(f"{target_var}_post += w_scale * ({diff}{noise})")
    if not source_reads:
        pre += [f"{v.n_read} += 1" for v in plus + minus]
        pre += [f"{v.energy} += pcm_e_read" for v in plus + minus]
    if read_noise and noise_to:
        pre.append(f"{noise_to}_post += w_scale**2 * ({var})")
    return model, update, pre
