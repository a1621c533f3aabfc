"""Deep-learning workloads on PCM crossbars: MLP training in situ and in mixed precision
(``mlp-train``) and drift-resilient inference (``drift-resilient``, seed 2). Private helpers:
``_mlp`` (the MLP math and data loading), ``_mlp_training`` (per-example training),
``_mlp_checkpoint`` (mlp-train's checkpoint), ``_drift_network`` (seed 2's mapped network)
and ``_throughput`` (the throughput and energy model).
"""
