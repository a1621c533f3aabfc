"""Numba crossbar engine over the same PCM device objects.

:class:`Crossbar` stores a matrix in :class:`~neuropcm.devices.PCMArray` devices with a
mapping (:mod:`~neuropcm.crossbar.mapping`), reads it through DAC/ADC periphery
(:mod:`~neuropcm.crossbar.periphery`) as a ``scipy.sparse.linalg.LinearOperator``, and
updates it with SET pulses (:mod:`~neuropcm.crossbar.update`).
"""

from .crossbar import COMPENSATIONS, DEFAULTS, UPDATE_MODES, Crossbar
from .mapping import MAPPINGS, quantise_offset
from .periphery import ADC, DAC
from .update import ThresholdRefresh, mean_set_curve, mean_step, open_loop_pulses

__all__ = ["Crossbar", "DEFAULTS", "COMPENSATIONS", "UPDATE_MODES", "MAPPINGS",
           "quantise_offset", "ADC", "DAC", "ThresholdRefresh", "mean_set_curve", "mean_step",
           "open_loop_pulses"]
