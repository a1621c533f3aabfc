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
    ``min(N(g_max, (0.05 g_max)^2), g_max)``: half the devices sit at g_max.
    """
    ln_hrs = math.log(0.01)  # gn of the HRS
    return ProgrammedStateParams(
        g_min=0.0, g_max=25e-6, reset_mean=0.25e-6, reset_std=0.0125e-6, prog_p2=0.0,
        prog_p1=0.0, prog_p0=0.0, prog_rel=0.05,
        nu_b=0.03, nu_a=(0.09 - 0.03) / ln_hrs, nu_mean_min=0.0, nu_mean_max=0.1,
        nu_d=0.08 * 0.03, nu_c=0.08 * (0.09 - 0.03) / ln_hrs, nu_std_min=0.0, nu_std_max=0.045)


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
    "ideal": ideal,
}
