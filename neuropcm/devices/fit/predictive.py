"""Posterior-predictive checks: devices simulated from a fit's parameters under the data's
protocol, compared with the data step by step (pulse number, time, target, temperature)."""

from __future__ import annotations

from ...errors import ParameterError
from . import drift, programming, read_noise, temperature
from .simulate import accumulation_predictive
from .data import as_measurements
from .result import FitResult

_CHECKS = {"accumulation": accumulation_predictive, "programming": programming.predictive,
           "drift": drift.predictive, "read-noise": read_noise.predictive,
           "temperature": temperature.predictive}


def posterior_predictive(fit: FitResult, data, seed: int = 0, n_sim: int = 2000) -> dict:
    """Simulate devices from the fitted parameters with :class:`PCMArray` under the same
    protocol as ``data`` and test each step with ``scipy.stats.ks_2samp``.

    The protocols: accumulation -- RESET, the data's pulses and amplitudes (a RESET before
    each run), the conductance after each pulse number; programming -- programming to the
    data's targets, the deviation from the target per target level (or decile); drift --
    devices at the data's conductances before drift, read at the data's times, the ratio
    to the first read per time; read-noise -- devices at the data's conductances, read as
    often as the data at each time, the deviation from the group mean per time;
    temperature -- devices at the data's conductances read at each temperature, the ratio
    to the read nearest t_ref per temperature. Parameters of the base that the fit did not
    touch (e.g. the read noise in a drift check) come from the base preset.

    Parameters
    ----------
    fit : FitResult
        A fit of one of the measurement fitters (not ``ensemble``).
    data : Measurements or path
        The measurements (of the fit's kind).
    seed : int
        Seed of the simulated devices.
    n_sim : int
        At least this many simulated devices (the data's devices repeated).

    Returns
    -------
    dict
        ``variable`` (what a step is), ``test`` ("ks_2samp"), and per step the lists
        ``step``, ``statistic``, ``p_value``, ``n_data``, ``n_sim``.
    """
    if fit.relation not in _CHECKS:
        raise ParameterError(f"no posterior-predictive check for a {fit.relation!r} fit; it "
                             f"exists for {sorted(_CHECKS)}")
    data = as_measurements(data, fit.relation)
    return _CHECKS[fit.relation](fit, data, seed, n_sim)
