"""Spiking workloads (Brian2): unsupervised MNIST clustering with PCM synapses
(``mnist-clustering``) and the rate-coded crossbar readout of a trained SNN
(``snn-crossbar``). Private helpers: ``_mnist_plan`` (checks and sizes before a run) and
``_mnist_run`` (the chunked, checkpointed run).
"""
