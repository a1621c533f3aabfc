"""Deep-learning workloads on PCM crossbars: MLP training in situ and in mixed precision
(``mlp-train``) and drift-resilient inference (``drift-resilient``, seed 2). Private helpers:
``_mlp`` (the MLP math and data loading), ``_mlp_training`` (per-example training),
``_mlp_checkpoint`` (mlp-train's checkpoint), ``_mlp_fast`` (the 3T1C fast weights),
``_mlp_pulses`` (pulse-count rules and their checks), ``_mlp_results`` (mlp-train's file,
summary and figure), ``_drift_network`` (seed 2's mapped network), ``_drift_sweeps``,
``_drift_report`` and ``_drift_efficiency`` (drift-resilient's sweeps, report and energy
results) and ``_throughput`` (the throughput and energy model).
"""
