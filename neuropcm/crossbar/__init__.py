"""Numba crossbar engine over the same PCM device objects.

:class:`Crossbar` stores a matrix in :class:`~neuropcm.devices.PCMArray` devices with a
mapping (:mod:`~neuropcm.crossbar.mapping`), reads it through DAC/ADC periphery
(:mod:`~neuropcm.crossbar.periphery`, read paths :mod:`~neuropcm.crossbar.reads`) as a
``scipy.sparse.linalg.LinearOperator``, corrects drift with compensation objects
(:mod:`~neuropcm.crossbar.compensation`) and updates it with SET pulses
(:mod:`~neuropcm.crossbar.update`). Its settings are one frozen :class:`CrossbarConfig`
(:mod:`~neuropcm.crossbar.config`); its files are :mod:`neuropcm.io.crossbar`.
"""

from .compensation import (COMPENSATIONS, ColumnCompensation, DriftCompensation,
                           GlobalCompensation, LRSReferenceCompensation)
from .config import (CompensationConfig, CrossbarConfig, PeripheryConfig, UpdateConfig,
                     make_config)
from .crossbar import Crossbar
from .mapping import MAPPINGS, quantise_offset
from .periphery import ADC, DAC
from .update import (REFRESH_RULES, UPDATE_MODES, ThresholdRefresh, mean_set_curve, mean_step,
                     open_loop_pulses)

__all__ = ["Crossbar", "CrossbarConfig", "PeripheryConfig", "UpdateConfig",
           "CompensationConfig", "make_config", "DriftCompensation", "GlobalCompensation",
           "ColumnCompensation", "LRSReferenceCompensation", "COMPENSATIONS", "UPDATE_MODES",
           "REFRESH_RULES", "MAPPINGS", "quantise_offset", "ADC", "DAC", "ThresholdRefresh",
           "mean_set_curve", "mean_step", "open_loop_pulses"]
