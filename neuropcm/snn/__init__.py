"""Brian2 engine: PCM neurons and synapses built from :mod:`neuropcm.devices`.

Import this module to use Brian2 (it imports ``brian2``). Building blocks:
:class:`PCMSynapses` (differential 2-PCM synapses with plasticity and refresh),
:class:`TwoWindowSTDP` and :class:`PairSTDP`, :class:`ThresholdRefresh` (the devices' rule,
shared with the crossbar) and :class:`TruncateRefresh`, :class:`WTALayer` (LIF, exact
winner-take-all, homeostasis) and :class:`PhaseChangeNeurons`.
"""

from .models import DeviceVars, read_expr, reset_code, set_pulse_code
from .neurons import PhaseChangeNeurons, WTALayer
from .plasticity import PairSTDP, Plasticity, TwoWindowSTDP
from .refresh import Refresh, ThresholdRefresh, TruncateRefresh
from .synapses import PCMSynapses, pcm_synapses_code

__all__ = ["PCMSynapses", "TwoWindowSTDP", "PairSTDP", "Plasticity", "Refresh",
           "ThresholdRefresh", "TruncateRefresh", "WTALayer", "PhaseChangeNeurons",
           "DeviceVars", "set_pulse_code", "reset_code", "read_expr", "pcm_synapses_code"]
