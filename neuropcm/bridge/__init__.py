"""Rate-coded bridge between the Brian2 SNN and the numba crossbar.

* :mod:`.coding`: spike trains <-> rates (the SNN's Poisson encoder, rate decoding).
* :mod:`.layout`: the SNN's flat synapse layout as data, and a crossbar over a trained
  network's very device arrays (:func:`crossbar_from_synapses`).
* :func:`rate_scores`: what the rate model of the winner-take-all layer computes.
* :mod:`.crossbar_to_snn`: a float-trained MLP on two crossbars run as a two-layer
  rate-coded Brian2 SNN on the same device states (and a single-layer classifier).
"""

from .coding import decode_rates, poisson_spikes, relative_rates
from .crossbar_to_snn import (crossbar_mlp_logits, mlp_crossbars, run_crossbar_mlp_snn,
                              run_mlp_snn, run_rate_snn, train_mlp, train_softmax, with_bias)
from .layout import (SynapseLayout, crossbar_from_synapses, flat_to_matrix, parse_layout,
                     rate_scores)

__all__ = ["SynapseLayout", "crossbar_from_synapses", "decode_rates", "flat_to_matrix",
           "parse_layout", "poisson_spikes", "rate_scores", "relative_rates", "run_rate_snn",
           "train_softmax", "with_bias", "train_mlp", "mlp_crossbars", "crossbar_mlp_logits",
           "run_mlp_snn", "run_crossbar_mlp_snn"]
