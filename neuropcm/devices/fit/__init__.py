"""Fitting the device relations to measured data, one fitter per kind of measurement.

Each fitter takes measurements (:class:`Measurements`, or the path of a CSV/HDF5 file,
:func:`read_measurements`) and a base preset, fits the parameters of one model relation
with :mod:`scipy.optimize` and returns a :class:`FitResult`: the values with standard
errors and covariance, the method, and a goodness of fit (``quality``: PIT test and the
posterior-predictive check :func:`posterior_predictive`, ``ok`` False when the model does
not describe the data). ``FitResult.params()`` gives the base preset with the fitted
values, validated (a value outside its field's bounds raises, it is never clamped).

=============  ======================================================================
fitter         fits (relations of :mod:`neuropcm.devices.physics`)
=============  ======================================================================
accumulation   SET_MEAN/SET_STD (set_a..set_f), PULSE_MEMORY (pulse_memory),
               F_SET_DEVICE (set_dtod), RESET_LEVEL (reset_mean, reset_std), g_max;
               programmed model: LINEAR_SET_MEAN/STD (set_step, set_step_std)
programming    PROG_STD (prog_p2, prog_p1, prog_p0, or prog_rel)
drift          NU_MEAN/NU_STD (nu_a..nu_d) or NU_DEVICE (nu, nu_dtod); t0 of the drift law
read-noise     READ_STD_PROGRAMMED (q_a, q_b) or READ_STD_PULSED (read_slope, read_offset)
temperature    TEMPERATURE (ea_hrs, ea_lrs)
ensemble       SET_MEAN & co. from published summary curves (:func:`fit_ensemble`)
=============  ======================================================================
"""

from .accumulation import fit_accumulation
from .data import KINDS, Measurements, as_measurements, read_measurements
from .drift import fit_drift
from .ensemble import EnsembleData, fit_ensemble, read_ensemble
from .predictive import posterior_predictive
from .programming import fit_programming
from .read_noise import fit_read_noise
from .result import ALPHA, FitResult
from . import simulate
from .simulate import write_csv
from .temperature import fit_temperature

#: The fitter of each kind of measurement.
FITTERS = {"accumulation": fit_accumulation, "programming": fit_programming,
           "drift": fit_drift, "read-noise": fit_read_noise, "temperature": fit_temperature}

#: The physics relations each fitter fits (names in :data:`neuropcm.devices.physics.RELATIONS`),
#: by model.
RELATIONS = {
    "accumulation": {"pulsed": ("set_mean", "set_std", "pulse_memory", "f_set_device",
                                "reset_level"),
                     "programmed": ("linear_set_mean", "linear_set_std", "reset_level")},
    "programming": {"programmed": ("prog_std",)},
    "drift": {"pulsed": ("nu_device", "drift_pulsed"),
              "programmed": ("nu_mean", "nu_std", "drift_programmed")},
    "read-noise": {"pulsed": ("read_std_pulsed",), "programmed": ("read_std_programmed",)},
    "temperature": {"pulsed": ("temperature_factor",), "programmed": ("temperature_factor",)},
    "ensemble": {"pulsed": ("set_mean", "set_std", "pulse_memory", "set_update")},
}


def fit(data, kind: str | None = None, base=None, **options) -> FitResult:
    """Fit the relation of a kind of measurement (inferred from the file's columns when
    ``kind`` is None); ``base`` defaults to the fitter's own default preset; ``options``
    go to the fitter (``seed``, ``check``, ...)."""
    if not isinstance(data, Measurements):
        data = read_measurements(data, kind)
    elif kind is not None:
        data = as_measurements(data, kind)
    fitter = FITTERS[data.kind]
    return fitter(data, **options) if base is None else fitter(data, base, **options)


__all__ = ["ALPHA", "EnsembleData", "FITTERS", "FitResult", "KINDS", "Measurements",
           "RELATIONS", "fit", "fit_accumulation", "fit_drift", "fit_ensemble",
           "fit_programming", "fit_read_noise", "fit_temperature", "posterior_predictive",
           "read_ensemble", "read_measurements", "simulate", "write_csv"]
