"""Brian2 engine: PCM neurons and synapses built from :mod:`neuropcm.devices`.

Import this module to use Brian2 (it imports ``brian2``). Building blocks:
:class:`PCMSynapses` (differential 2-PCM synapses with plasticity and refresh),
:class:`TwoWindowSTDP` and :class:`PairSTDP`, :class:`ThresholdRefresh` (the devices' rule,
shared with the crossbar) and :class:`TruncateRefresh`, :class:`WTALayer` (LIF, exact
winner-take-all, homeostasis) and :class:`PhaseChangeNeurons`.

What lives where: :mod:`.models` (Brian2 code rendered from the device relations),
:mod:`.synapses`, :mod:`.neurons`, :mod:`.plasticity`, :mod:`.refresh`; :mod:`.config`
(network definitions), :mod:`.clustering` (the clustering network and its input encoding;
its Poisson inputs, drawn spike by spike, in :mod:`._inputs`),
:mod:`.metrics` (label assignment and scoring), :mod:`.runner` and :mod:`.builds` (compiled
once with ``cpp_standalone``, run in checkpointed chunks, builds cached per network).
"""

from .models import DeviceVars, read_expr, reset_code, set_pulse_code
from .neurons import PhaseChangeNeurons, WTALayer
from .plasticity import PairSTDP, Plasticity, TwoWindowSTDP
from .refresh import Refresh, ThresholdRefresh, TruncateRefresh
from .synapses import PCMSynapses, pcm_synapses_code

__all__ = ["PCMSynapses", "TwoWindowSTDP", "PairSTDP", "Plasticity", "Refresh",
           "ThresholdRefresh", "TruncateRefresh", "WTALayer", "PhaseChangeNeurons",
           "DeviceVars", "set_pulse_code", "reset_code", "read_expr", "pcm_synapses_code"]
