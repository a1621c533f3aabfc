"""The built-in device presets: each only changes defaults and cites its source
(:data:`PRESETS`; resolved by :func:`neuropcm.devices.presets.get_preset`)."""

from __future__ import annotations

import math
from typing import Callable

from .params import DeviceParams, ProgrammedStateParams, PulsedParams


def nandakumar2018() -> PulsedParams:
    """Pulsed SET-accumulation model fitted on 10,000 devices.

    S. R. Nandakumar et al., "A phase-change memory model for neuromorphic computing",
    J. Appl. Phys. 124, 152135 (2018); drift and read noise as in its public
    implementations (physics.md section 1). ``g_max`` = 20 uS as in the paper's figures
    and a public implementation (12 uS has no source and pins ~11 % of devices at the
    clip after 100 pulses; give ``g_max=12e-6`` as an override where a workload wants
    it). The dataclass defaults are this preset.
    """
    return PulsedParams()


def joshi2020() -> ProgrammedStateParams:
    """Programmed-state inference model (programming noise, drift, 1/f read noise).

    V. Joshi et al., "Accurate deep neural network inference using computational
    phase-change memory", Nat. Commun. 11, 2473 (2020); as in IBM aihwkit's
    ``PCMLikeNoiseModel`` (physics.md section 2). The dataclass defaults are this preset.
    """
    return ProgrammedStateParams()


def binary() -> ProgrammedStateParams:
    """Binary (digital) PCM: LRS = g_max, HRS = g_max/100, 5 % programming spread.

    Muñoz-Martín et al., "Drift-resilient PCM MLP" (seed 2): HRS about two orders of
    magnitude more resistive than LRS. Drift exponents of an embedded PCM at 300 K (the kind
    of device of seed 2; physics.md section 3): mean 0.03 at the LRS and 0.09 at the HRS,
    log-linear in G between them (``nu_a``, ``nu_b``). Assumed, no source: the 5 % relative
    LRS/HRS programming spread (physics.md section 3) and a device-to-device spread of the
    drift exponent of 8 % of its mean (``nu_c``, ``nu_d``; the relative spread of the Joshi
    2020 relation at gn = 0.5, the highest conductance where that relation's own spread is
    positive -- extrapolated to gn = 1 it is negative, and aihwkit's floor of 0.008 there
    is a numerical clip, not data). Read noise follows the Joshi 2020 relation.
    Programming saturates at g_max, so an LRS programmed at g_max is
    ``min(N(g_max, (0.05 g_max)^2), g_max)``: half the devices sit at g_max (a crossbar's
    ``g_target`` below g_max, e.g. drift-resilient's ``lrs_target = 0.833``, programs a
    full Gaussian LRS instead).
    """
    ln_hrs = math.log(0.01)  # gn of the HRS
    return ProgrammedStateParams(
        g_min=0.0, g_max=25e-6, reset_mean=0.25e-6, reset_std=0.0125e-6, prog_p2=0.0,
        prog_p1=0.0, prog_p0=0.0, prog_rel=0.05,
        nu_b=0.03, nu_a=(0.09 - 0.03) / ln_hrs, nu_mean_min=0.0, nu_mean_max=0.1,
        nu_d=0.08 * 0.03, nu_c=0.08 * (0.09 - 0.03) / ln_hrs, nu_std_min=0.0, nu_std_max=0.045)


#: Reduction of the drift exponent and of the 1/f read noise by the shunt of a projected
#: cell (:func:`projected`). Assumed: an order of magnitude, the size of the reduction
#: Koelmans et al. 2015 report; their measured values are not in the project's sources.
PROJECTED_REDUCTION = 10.0


def projected() -> ProgrammedStateParams:
    """Projected PCM: the ``joshi2020`` device with a shunt that carries the read current
    past the amorphous volume, so drift and 1/f read noise shrink.

    W. W. Koelmans et al., "Projected phase-change memory devices", Nat. Commun. 6, 8181
    (2015); seed tutorial (Sebastian et al. 2018) section V: "a shunt path for read current
    to bypass the amorphous phase-change material". Assumed, not sourced here: the mean and
    the device-to-device spread of the drift exponent (``nu_a``, ``nu_b``, ``nu_c``,
    ``nu_d`` and their clips) and the read-noise scale ``q_a`` are those of ``joshi2020``
    divided by :data:`PROJECTED_REDUCTION` (10: "an order of magnitude", the size of the
    reduction the paper reports, not its fitted values), which keeps the state dependence
    of the drift (as a fraction). Programming noise, conductance range, t0 and energies are
    ``joshi2020``'s (the shunt's effect on them is not modelled).
    """
    j, f = ProgrammedStateParams(), PROJECTED_REDUCTION
    return ProgrammedStateParams(
        nu_a=j.nu_a / f, nu_b=j.nu_b / f, nu_mean_min=j.nu_mean_min / f,
        nu_mean_max=j.nu_mean_max / f, nu_c=j.nu_c / f, nu_d=j.nu_d / f,
        nu_std_min=j.nu_std_min / f, nu_std_max=j.nu_std_max / f, q_a=j.q_a / f)


def ideal() -> ProgrammedStateParams:
    """Ideal device: no noise, no drift, linear exact SET steps (for tests and references).

    Programming hits the target exactly, reads return the programmed value, a SET pulse
    adds exactly ``set_step`` = g_max/100 (up to g_max), RESET gives exactly 0.
    """
    return ProgrammedStateParams(
        g_min=0.0, g_max=25e-6, reset_mean=0.0, reset_std=0.0, prog_p2=0.0, prog_p1=0.0,
        prog_p0=0.0, prog_rel=0.0, nu_a=0.0, nu_b=0.0, nu_mean_min=0.0, nu_mean_max=0.0,
        nu_c=0.0, nu_d=0.0, nu_std_min=0.0, nu_std_max=0.0, q_a=0.0, set_step=0.25e-6,
        set_step_std=0.0, ea_hrs=0.0, ea_lrs=0.0)


PRESETS: dict[str, Callable[[], DeviceParams]] = {
    "nandakumar2018": nandakumar2018,
    "joshi2020": joshi2020,
    "binary": binary,
    "projected": projected,
    "ideal": ideal,
}
