"""The registry of file kinds the project writes.

Every HDF5 file carries a root attribute ``kind``. Each kind is declared here once, with
its schema version, its headline results (attributes of ``/results``) and its datasets
with their units, so that readers (:func:`neuropcm.io.open`, the analysis CLI) can check a
file and show it without knowing the run that made it. Units come from one small
vocabulary of SI symbols (:data:`UNITS`).

Results named after an extension (one per drift compensation, say) are declared by name
pattern (:attr:`FileKind.optional_patterns`, :attr:`FileKind.dataset_patterns`): a file
written with a compensation registered by a user reads back with its units, also in a
session where that compensation is not registered (files outlive the code that made them).
The registry of kinds, :data:`KINDS`, is a :class:`~neuropcm.registry.Registry`.

Every headline has a range (:meth:`FileKind.range_of`): a default rule by unit
(:func:`default_range`: a ``count`` is a whole number >= 0, a magnitude of ``s``, ``J``,
``Hz``, ``S``, ``K`` and their products is >= 0, anything else any number; all finite),
replaced where the unit alone does not say it by the kind's :attr:`FileKind.bounds`
(accuracies and other fractions in [0, 1], ...), NaN and infinities allowed only for the
names in :attr:`FileKind.nonfinite`. Readers refuse a file whose headline leaves its range
(:func:`neuropcm.io.hdf5.check_headlines`).
"""

from __future__ import annotations

from ..devices.params import PARAM_CLASSES
# the machinery, re-exported: neuropcm.io.kinds is where users look for it
from ._kind_base import (check_units, default_range, FileKind, get_kind, KINDS,
                          LEGACY_UNITS, NONNEGATIVE_UNITS, normalise_units, Range,
                          register_kind, UNITS, units_for_dimension)

__all__ = ["check_units", "default_range", "FileKind", "get_kind", "KINDS", "LEGACY_UNITS",
           "NONNEGATIVE_UNITS", "normalise_units", "Range", "register_kind", "UNITS",
           "units_for_dimension", "THROUGHPUT"]

register_kind(FileKind(
    "pcm_array", 1, "PCM device arrays (full state)", devices=True, config=False))
register_kind(FileKind(
    "crossbar", 2, "a programmed PCM crossbar (devices, mapping, config, clock, streams)",
    datasets={"crossbar/W": "1", "crossbar/chi": "1", "crossbar/transferred": "1",
              "crossbar/rr_plus": "count", "crossbar/rr_minus": "count"},
    devices=True))
def _device_fit_datasets() -> dict:
    """The optional datasets of a ``device_fit`` file: each fitted parameter and its standard
    error in its own unit, and the check's step and compared quantity by kind of
    measurement (as ``neuropcm.workloads.characterisation.device_fit.CHECKS``)."""
    out = {}
    for cls in PARAM_CLASSES.values():
        for name, unit in cls.units().items():
            out[f"results/parameters/{name}"] = out[f"results/stderr/{name}"] = unit
    steps = {"pulse": "count", "target": "S", "time": "s", "temperature": "K"}
    quantities = {"conductance": "S", "deviation": "S", "ratio": "1",
                  "relative_deviation": "1"}
    out.update({f"results/check/{k}": u for k, u in steps.items()})
    out.update({f"results/check/{q}_{stat}": u for q, u in quantities.items()
                for stat in ("data_mean", "data_std", "sim_mean", "sim_std")})
    return out


register_kind(FileKind(
    "device_fit", 1,
    "the device model fitted to measurements (neuropcm fit): parameters with standard errors "
    "and correlations, and the posterior-predictive check per step",
    headline={"n_devices": "count", "n_points": "count", "parameters": "count",
              "check_steps": "count", "check_min_p_value": "1", "describes_data": "count"},
    bounds={"check_min_p_value": (0, 1), "describes_data": (0, 1)},
    datasets={"results/parameter_names": "1", "results/correlation": "1",
              "results/check/statistic": "1", "results/check/p_value": "1",
              "results/check/n_data": "count", "results/check/n_sim": "count"},
    optional_datasets=_device_fit_datasets()))
register_kind(FileKind(
    "device_characterisation", 1,
    "a device preset measured on many simulated devices",
    headline={"g_after_pulses": "S", "g_after_pulses_theory": "S", "program_converged": "1"},
    bounds={"program_converged": (0, 1)},  # the fraction of devices that converged
    datasets={"results/accumulation/pulses": "count", "results/accumulation/mean": "S",
              "results/accumulation/std": "S", "results/accumulation/theory_mean": "S",
              "results/accumulation/theory_std": "S",
              "results/programming/target": "S", "results/programming/error_mean": "S",
              "results/programming/error_std": "S",
              "results/programming/iterations_mean": "count",
              "results/programming/converged": "1",
              "results/drift/time": "s", "results/drift/levels": "S", "results/drift/mean": "S",
              "results/read_noise/conductance": "S", "results/read_noise/std": "S",
              "results/read_noise/model_std": "S"}))
register_kind(FileKind(
    "mnist_clustering", 1, "unsupervised MNIST clustering with PCM synapses",
    headline={"test_accuracy": "1", "train_examples": "count", "test_examples": "count",
              "train_wall_s": "s", "test_wall_s": "s", "n_set": "count", "n_reset": "count",
              "energy_J": "J"},
    optional={"presented_examples": "count", "assign_examples": "count",
              "assign_wall_s": "s", "compile_s": "s", "no_response": "count",
              "neurons_assigned": "count", "s_per_train_example": "s",
              "validation_accuracy": "1", "validation_examples": "count"},
    bounds={"test_accuracy": (0, 1), "validation_accuracy": (0, 1)},
    datasets={"network/theta": "V", "network/assignments": "1", "network/weights": "S",
              "results/confusion": "count", "results/per_class_accuracy": "1",
              "results/test_predictions": "1", "results/test_labels": "1",
              "results/train_spikes_per_example": "count", "results/assign_counts": "count",
              "results/test_counts": "count"},
    # with a validation split (run setting validation > 0)
    optional_datasets={"results/validation_labels": "1", "results/validation_predictions": "1",
                       "results/validation_counts": "count"},
    devices=True))
# checkpoints, version 2: settings with their sha256 (settings_sha256) beside them
register_kind(FileKind(
    "mnist_checkpoint", 2, "a checkpoint of an MNIST clustering run (resume with --resume)",
    config=False))
register_kind(FileKind(
    "phase_change_neuron", 1, "phase-change neuron reproduction (Tuma 2016)",
    headline={"population_error": "1", "best_single_error": "1", "median_single_error": "1"},
    # RMS error of a linear fit over the signal's std (about 1 without tracking)
    bounds={"population_error": (0, None), "best_single_error": (0, None),
            "median_single_error": (0, None)},
    datasets={"results/strength": "1", "results/rate": "Hz", "results/tracking/time": "s",
              "results/tracking/signal": "1", "results/tracking/population_rate": "Hz",
              "results/tracking/single_error": "1"}))
_SOLVER_RESIDUALS = ("final_relative_residual", "worst_final_relative_residual",
                     *(f"{p}_{v}_final_relative_residual" for p in ("dense", "banded")
                       for v in ("crossbar", "float64_inner", "exact_inner", "float64_cg")))
# issue 20 A3: error norms ||x - x*|| and the work against plain float64 CG
# (workloads.computational_memory._solver_cost); NaN/inf where a solve diverged
_SOLVER_ERRORS = ("final_error_norm", "gain_bound", "break_even_cost",
                  *(f"{p}_{v}_final_error_norm" for p in ("dense", "banded")
                    for v in ("crossbar", "float64_inner", "exact_inner", "float64_cg")),
                  *(f"{p}_work_{k}" for p in ("dense", "banded")
                    for k in ("gain_bound", "break_even_cost")))
_SOLVER_WORK = {"refinements": "count", "crossbar_mvms": "count", "float64_mvms": "count",
                "cg_iterations": "count", "cg_float64_mvms": "count", "float64_flops": "count",
                "cg_float64_flops": "count", "gain_bound": "1", "break_even_cost": "1"}
register_kind(FileKind(
    "solver", 1,
    "mixed-precision linear solver with MVMs on PCM crossbars (Le Gallo 2018); headline: "
    "the dense system at the first read time",
    headline={"final_relative_residual": "1", "outer_iterations": "count",
              "crossbar_mvms": "count", "device_reads": "count",
              "worst_final_relative_residual": "1"},
    optional={
        **{f"{p}_crossbar_{k}": u for p in ("dense", "banded")
           for k, u in (("final_relative_residual", "1"), ("outer_iterations", "count"),
                        ("mvms", "count"), ("device_reads", "count"))},
        **{f"{p}_{v}_{k}": u for p in ("dense", "banded")
           for v in ("float64_inner", "exact_inner", "float64_cg")
           for k, u in (("final_relative_residual", "1"), ("outer_iterations", "count"),
                        ("mvms", "count"))},
        **{f"{p}_{k}": u for p in ("dense", "banded")
           for k, u in (("devices", "count"), ("band_devices", "count"),
                        ("read_devices", "count"), ("tiles", "count"),
                        ("programming_reads", "count"), ("lambda_min", "1"),
                        ("condition_number", "1"))},
        **{k: "1" for k in _SOLVER_ERRORS},
        **{f"{p}_work_{k}": u for p in ("dense", "banded") for k, u in _SOLVER_WORK.items()},
        "cg_iterations": "count"},
    # residuals are >= 0, and NaN or inf where a solve diverged (it stops there); the
    # matrices are SPD (lambda_min > 0, condition number >= 1)
    bounds={**{k: (0, None) for k in _SOLVER_RESIDUALS},
            **{f"{p}_lambda_min": (0, None) for p in ("dense", "banded")},
            **{f"{p}_condition_number": (1, None) for p in ("dense", "banded")},
            # error norms, the gain bound and the break-even MVM cost are >= 0
            **{k: (0, None) for k in _SOLVER_ERRORS},
            **{f"{p}_work_{k}": (0, None) for p in ("dense", "banded")
               for k, u in _SOLVER_WORK.items() if u == "1"}},
    nonfinite=_SOLVER_RESIDUALS + _SOLVER_ERRORS,
    datasets={
        **{f"results/{p}/{d}": u for p in ("dense", "banded")
           for d, u in (("times", "s"), ("b", "1"), ("x_exact", "1"),
                        ("matrix_error_rms", "1"), ("matrix_error_max", "1"),
                        ("mvm_relative_error", "1"), ("calibration_reads", "count"))},
        **{f"results/{p}/{v}/{d}": u for p in ("dense", "banded")
           for v in ("crossbar_0", "float64_inner", "exact_inner", "float64_cg")
           for d, u in (("relative_residual", "1"), ("relative_error", "1"),
                        ("mvms", "count"), ("device_reads", "count"), ("x", "1"))}}))
_CORR_SCORES = {f"{pre}{k}": u for pre, tu in (("", "S"), ("covariance_", "count"),
                                                 ("ideal_", "1"))
                for k, u in (("roc_auc", "1"), ("accuracy", "1"), ("best_accuracy", "1"),
                             ("threshold", tu), ("precision", "1"), ("recall", "1"),
                             ("f1", "1"))}
register_kind(FileKind(
    "correlation", 2, "temporal correlation detection with PCM devices (Sebastian 2017)",
    headline={"roc_auc": "1", "accuracy": "1", "best_accuracy": "1", "threshold": "S",
              "covariance_roc_auc": "1", "covariance_accuracy": "1", "ideal_roc_auc": "1",
              "ideal_accuracy": "1", "mean_g_correlated": "S", "mean_g_uncorrelated": "S",
              "n_set": "count", "energy_J": "J", "pulse_steps": "count", "wall_s": "s",
              "process_steps_per_s": "Hz", "image_rows": "count", "image_width": "count",
              "precision": "1", "recall": "1", "f1": "1", "covariance_precision": "1",
              "covariance_recall": "1", "covariance_f1": "1", "baseline_accuracy": "1",
              "peak_roc_auc": "1", "peak_step": "count"},
    # ROC-AUCs, accuracies, precision, recall, F1 are fractions; Otsu's threshold (a
    # conductance, reads are clipped at 0) is NaN when all scores are equal, and then
    # precision (nothing detected) and F1 are NaN too
    bounds={k: (0, 1) for k in ("roc_auc", "accuracy", "best_accuracy", "covariance_roc_auc",
                                "covariance_accuracy", "ideal_roc_auc", "ideal_accuracy",
                                "precision", "recall", "f1", "covariance_precision",
                                "covariance_recall", "covariance_f1", "baseline_accuracy",
                                "peak_roc_auc")},
    nonfinite=("threshold", "precision", "f1", "covariance_precision", "covariance_f1"),
    datasets={"results/snapshots/step": "count",
              **{f"results/snapshots/{k}": u for k, u in _CORR_SCORES.items()},
              "results/snapshots/mean_g_correlated": "S",
              "results/snapshots/std_g_correlated": "S",
              "results/snapshots/mean_g_uncorrelated": "S",
              "results/snapshots/std_g_uncorrelated": "S",
              "results/steps/reference": "1", "results/steps/process_sum": "count",
              "results/steps/current": "A", "results/steps/amplitude": "1",
              "results/histogram/edges": "S", "results/histogram/correlated": "count",
              "results/histogram/uncorrelated": "count",
              "results/final/conductance": "S", "results/final/correlated": "1",
              "results/final/covariance_score": "count", "results/final/ideal_score": "1",
              "results/final/set_pulses": "count"}))
register_kind(FileKind(
    "mvm_precision", 1, "PCM matrix-vector multiplication error against b-bit fixed point",
    headline={"devices_per_weight": "count", "equivalent_bits": "1",
              "equivalent_bits_fractional": "1", "eta_pcm": "1", "eta_pcm_se": "1",
              "drift_devices_per_weight": "count", "eta_t_max_none": "1",
              "eta_t_max_global": "1", "eta_t_max_column": "1", "eta_t_max_lrs": "1"},
    datasets={"results/matrix": "1", "results/inputs": "1", "results/fixed/bits": "count",
              "results/fixed/eta": "1", "results/pcm/devices_per_weight": "count",
              "results/pcm/eta": "1", "results/drift/time": "s",
              "results/drift/eta_none": "1", "results/drift/eta_global": "1",
              "results/drift/eta_column": "1", "results/drift/eta_lrs": "1"},
    # every further registered drift compensation of the time sweep
    optional_patterns={"eta_t_max_{compensation}": "1"},
    # relative errors >= 0; equivalent bits whole (bits_min - 1 >= 1 when PCM is worse than
    # every b), the fractional ones NaN outside the bits tried
    bounds={"equivalent_bits": Range(0, None, integer=True),
            "equivalent_bits_fractional": (0, None),
            **{k: (0, None) for k in ("eta_pcm", "eta_pcm_se", "eta_t_max_none",
                                      "eta_t_max_global", "eta_t_max_column", "eta_t_max_lrs",
                                      "eta_t_max_{compensation}")}},
    nonfinite=("equivalent_bits_fractional",),
    dataset_patterns={"results/drift/eta_{compensation}": "1"},
    # the opt-in wire-resistance sweep; a resistance is "S^-1" in the vocabulary (ohm)
    optional_datasets={"results/wires/tile_size": "count", "results/wires/resistance": "S^-1",
                       "results/wires/eta": "1", "results/wires/equivalent_bits": "1"}))
_CS_KEYS = tuple(f"{v}_{i}" for i in ("analog", "dac") for v in ("float", "fixed4", "pcm"))
register_kind(FileKind(
    "compressed_sensing", 2, "compressed sensing with AMP recovery on one PCM crossbar",
    headline={**{f"{h}_{k}": u for k in _CS_KEYS
                 for h, u in (("final_nmse_db", "1"), ("iterations_to_floor", "count"),
                              ("rate_db_per_iteration", "1"), ("lam", "1"),
                              ("lam_stable", "count"), ("stable", "count"))},
              "rate_window_analog": "count", "rate_window_dac": "count",
              "dac_bits": "count", "measurements": "count", "blocks": "count",
              "pcm_mvm_vectors": "count"},
    # NMSE floors and rates in dB: any sign; -inf for an exact recovery, +inf or NaN where
    # AMP diverged (rate NaN with fewer than 2 iterations above the floor)
    bounds={**{f"{h}_{k}": (None, None) for k in _CS_KEYS
               for h in ("final_nmse_db", "rate_db_per_iteration")},
            **{f"lam_{k}": (0, None) for k in _CS_KEYS},
            **{f"{h}_{k}": Range(0, 1, integer=True) for k in _CS_KEYS
               for h in ("lam_stable", "stable")}},
    nonfinite=tuple(f"{h}_{k}" for k in _CS_KEYS
                    for h in ("final_nmse_db", "rate_db_per_iteration")),
    datasets={"results/iteration": "count", "results/image": "1",
              "results/held_out_image": "1", "results/matrix": "1", "results/lam_sweep": "1",
              **{f"results/{d}_{k}": "1" for k in _CS_KEYS
                 for d in ("nmse_db", "onsager", "reconstruction", "tuning_floor_db",
                           "tuning_stable")}}))
register_kind(FileKind(
    "snn_crossbar", 1, "MNIST by rates through a crossbar over a clustering network's devices",
    headline={"test_accuracy_rate": "1", "test_accuracy_spiking": "1", "wall_s": "s",
              "test_examples": "count", "spiking_test_examples": "count"},
    # seconds between the end of training and the first read time (the devices' age); the
    # rate readout and the spiking network on the same images (the spiking test's first
    # same_images; 0 and NaN where the source stores no predictions)
    optional={"read_time_offset": "s", "same_images": "count", "test_accuracy_rate_same": "1",
              "test_accuracy_spiking_same": "1", "agreement_same": "1"},
    bounds={"test_accuracy_rate": (0, 1), "test_accuracy_spiking": (0, 1),
            "test_accuracy_rate_same": (0, 1), "test_accuracy_spiking_same": (0, 1),
            "agreement_same": (0, 1)},
    nonfinite=("test_accuracy_rate_same", "test_accuracy_spiking_same", "agreement_same"),
    datasets={"results/time": "s", "results/accuracy_none": "1",
              "results/accuracy_global": "1"},
    # the readout with any other registered drift compensation
    dataset_patterns={"results/accuracy_{compensation}": "1"}))
register_kind(FileKind(
    "pattern_detection", 1, "all-PCM spatio-temporal pattern detection: a phase-change neuron "
    "with PCM synapses and STDP against correlation c, and several with winner-take-all",
    headline={"c": "1", "weight_auc": "1", "mean_weight_pattern": "1",
              "mean_weight_noise": "1", "detected": "1", "latency_median": "s",
              "false_alarms": "count", "false_alarm_rate": "Hz", "misattributed": "count",
              "test_presentations": "count", "neuron_resets": "count", "lowest_c": "1",
              "wall_s": "s", "wta_c": "1", "wta_patterns": "count",
              "wta_patterns_learned": "count", "wta_detected": "1", "wta_misattributed": "count",
              "wta_false_alarms": "count", "wta_false_alarm_rate": "Hz"},
    # weights are signed (relative pulse amplitudes of differential pairs); NaN: no detected
    # presentation (latency), no c that works, no gap or no winner-take-all run
    bounds={**{k: (0, 1) for k in ("c", "weight_auc", "detected", "lowest_c", "wta_c",
                                   "wta_detected")},
            "mean_weight_pattern": (None, None), "mean_weight_noise": (None, None)},
    nonfinite=("latency_median", "false_alarm_rate", "lowest_c", "wta_c", "wta_detected",
               "wta_false_alarm_rate"),
    datasets={"results/single/time": "s", "results/single/mean_weight_pattern": "1",
              "results/single/mean_weight_noise": "1", "results/single/final_weight": "1",
              "results/single/pattern_member": "1", "results/single/spike_time": "s",
              "results/single/latency": "s", "results/sweep/c": "1", "results/sweep/works": "1",
              "results/sweep/weight_auc": "1", "results/sweep/detected": "1",
              "results/sweep/latency_median": "s", "results/sweep/false_alarm_rate": "Hz",
              "results/sweep/false_alarms": "count", "results/sweep/misattributed": "count",
              "results/sweep/mean_weight_pattern": "1", "results/sweep/mean_weight_noise": "1"},
    optional_datasets={**{f"results/wta/{k}": u for k, u in (
        ("time", "s"), ("mean_weight", "1"), ("final_weight", "1"), ("pattern_member", "1"),
        ("assignment", "1"), ("weight_auc", "1"), ("spike_time", "s"),
        ("spike_neuron", "1"), ("latency", "s"))},
        # the opt-in sweep of the drive threshold: the c sweep at each
        **{f"results/drive/{k}": "1" for k in ("threshold", "lowest_c", "works", "weight_auc",
                                                 "detected")}}))
register_kind(FileKind(
    "sweep_summary", 1,
    "a sweep of one workload over a grid of configs (neuropcm sweep): every point's axis values "
    "and headline results, mean and std (ddof=1) over seeds per group",
    headline={"points": "count", "finished": "count", "failed": "count", "groups": "count"},
    datasets={"points/name": "1", "points/status": "1", "points/error": "1",
              "points/config": "1", "groups/n": "count", "groups/failed": "count",
              "groups/points": "1"}))
#: Datasets of the throughput model (neuropcm.workloads.learning._throughput.UNITS).
THROUGHPUT = {"ops": "count", "ops_per_image": "count", "time": "s", "ops_per_second": "Hz",
              "energy": "J", "energy_devices": "J", "energy_adc": "J", "energy_dac": "J",
              "energy_per_image": "J", "ops_per_joule": "J^-1", "network_ops": "count"}

register_kind(FileKind(
    "drift_resilient", 1, "drift-resilient MLP inference on PCM (seed 2): accuracy against "
    "time, ADC bits, weight bits and of an analog multilevel baseline",
    headline={"accuracy_t0": "1", "accuracy_final": "1", "accuracy_t0_std": "1",
              "accuracy_final_std": "1", "accuracy_final_none": "1", "software_accuracy": "1",
              "quantised_accuracy": "1", "weight_bits": "count", "adc_bits": "count",
              "instances": "count", "test_examples": "count", "t0": "s", "pass_s": "s",
              "wall_s": "s", "ops_per_second": "Hz", "ops_per_joule": "J^-1"},
    # accuracies, and their std over >= 2 instances, are fractions; the throughput model
    # gives NaN for a zero time or energy
    bounds={k: (0, 1) for k in ("accuracy_t0", "accuracy_final", "accuracy_t0_std",
                                "accuracy_final_std", "accuracy_final_none",
                                "software_accuracy", "quantised_accuracy")},
    nonfinite=("ops_per_second", "ops_per_joule"),
    datasets={"results/time": "s", "results/time_over_t0": "1", "results/weights/W1": "1",
              "results/weights/W2": "1", "results/drift/accuracy_none": "1",
              "results/drift/accuracy_lrs": "1", "results/bits/bits": "count",
              "results/bits/accuracy_t0": "1", "results/bits/accuracy_final": "1",
              "results/bits/quantised_accuracy": "1", "results/adc/bits": "count",
              "results/adc/accuracy_t0": "1", "results/adc/accuracy_final": "1",
              "results/analog/levels": "count", "results/analog/quantised_accuracy": "1",
              "results/analog/accuracy_state_none": "1", "results/analog/accuracy_state_lrs": "1",
              "results/analog/accuracy_ideal_none": "1", "results/analog/accuracy_ideal_lrs": "1",
              "results/counters/n_read": "count", "results/counters/adc_conversions": "count",
              "results/counters/adc_saturated": "count",
              "results/counters/dac_conversions": "count", "results/counters/energy": "J",
              "results/counters/n_mvm": "count", "results/counters/images": "count",
              "results/counters/mvm_steps": "count", "results/counters/ops": "count",
              **{f"results/throughput/{k}": u for k, u in THROUGHPUT.items()}},
    # the opt-in sweeps (neuropcm.workloads.learning._drift_sweeps); a resistance is "S^-1"
    optional_datasets={"results/wires/resistance": "S^-1", "results/stuck/fraction": "1",
                       "results/nu_spread/spread": "1", "results/nu_spread/nu_std_lrs": "1",
                       "results/nu_spread/preset_spread": "1",
                       # LRS programming conditions (Fig. 8c-e; _drift_lrs.UNITS)
                       **{f"results/lrs/{k}": "1" for k in (
                           "mean_fraction", "spread", "nu_lrs", "nu_std_lrs", "accuracy",
                           "programmed_spread", "preset_fraction", "preset_spread",
                           "preset_nu", "preset_nu_std", "preset_accuracy",
                           "preset_programmed_spread")},
                       **{f"results/lrs/{k}": "S" for k in (
                           "g_max", "programmed_mean", "preset_programmed_mean")},
                       "results/lrs/preset_i_set": "A",
                       **{f"results/one_layer/{k}": "1" for k in (
                           "accuracy_t0", "accuracy_final", "software_accuracy",
                           "quantised_accuracy")},
                       "results/one_layer/bits": "count",
                       **{f"results/{g}/accuracy_{w}": "1" for g in ("wires", "nu_spread")
                          for w in ("t0", "final")},
                       **{f"results/stuck/accuracy_{w}_{k}": "1" for w in ("t0", "final")
                          for k in ("off", "on")},
                       # GOPS/W under other energy assumptions, and the other ADC placement
                       # (files from before them lack both)
                       "results/energy/e_read": "J", "results/energy/adc_fom": "J",
                       "results/energy/v_read": "V", "results/energy/t_read": "s",
                       "results/energy/nonzero_reads": "count",
                       "results/energy/ops_nonzero": "count",
                       "results/energy/energy_ohmic_reads": "J",
                       **{f"results/energy/ops_per_joule_{k}": "J^-1" for k in (
                           "all", "nonzero", "ohmic_all", "ohmic_nonzero")},
                       "results/other_adc/accuracy_t0": "1",
                       "results/other_adc/accuracy_final": "1",
                       "results/other_adc/ops_per_second": "Hz",
                       "results/other_adc/ops_per_joule": "J^-1",
                       "results/other_adc/ops_per_joule_nonzero": "J^-1",
                       "results/other_adc/adc_conversions": "count",
                       # Fig. 9: throughput against weight bits
                       **{f"results/bits/{k}": u for k, u in (
                           ("ops_per_second", "Hz"), ("ops_per_second_nonzero", "Hz"),
                           ("ops_per_joule", "J^-1"), ("ops_per_joule_nonzero", "J^-1"),
                           ("ops_per_joule_ohmic", "J^-1"), ("devices", "count"),
                           ("adcs", "count"))}}))
# version 2 (issue 20): the epoch is selected on a validation split (selected_*,
# validation_*); best_test_accuracy (a maximum over epochs on the test set) is gone
register_kind(FileKind(
    "mlp_train", 2,
    "an MLP trained on PCM crossbars, in-situ (Burr 2015), mixed-precision (Nandakumar "
    "2018) or with 3T1C fast weights (Ambrogio 2018), with float references",
    headline={"test_accuracy": "1", "selected_test_accuracy": "1", "selected_epoch": "count",
              "validation_accuracy": "1", "train_accuracy": "1", "float_test_accuracy": "1",
              "float_selected_test_accuracy": "1", "paper_test_accuracy": "1",
              "epochs": "count", "train_examples": "count", "validation_examples": "count",
              "test_examples": "count", "epsilon": "1", "n_set": "count", "n_reset": "count",
              "energy_J": "J", "epoch_wall_s": "s", "wall_s": "s",
              "energy_per_example": "J", "ops_per_joule": "J^-1"},
    optional={"quantised_test_accuracy": "1"},
    # epsilon: the weight change of one SET pulse; the throughput model gives NaN for a
    # zero energy; no validation split: validation_accuracy NaN
    bounds={**{k: (0, 1) for k in ("test_accuracy", "selected_test_accuracy",
                                   "validation_accuracy", "train_accuracy",
                                   "float_test_accuracy", "float_selected_test_accuracy",
                                   "paper_test_accuracy", "quantised_test_accuracy")},
            "epsilon": (0, None)},
    nonfinite=("ops_per_joule", "validation_accuracy"),
    datasets={**{f"results/{k}": u for k, u in (
        ("epoch", "count"), ("train_accuracy", "1"), ("test_accuracy", "1"),
        ("validation_accuracy", "1"), ("float_train_accuracy", "1"),
        ("float_test_accuracy", "1"), ("float_validation_accuracy", "1"), ("epoch_wall_s", "s"),
        ("refreshed_pairs", "count"), ("transferred_weights", "count"), ("n_set", "count"),
        ("n_reset", "count"), ("n_read", "count"), ("energy", "J"), ("n_refresh", "count"),
        ("n_mvm", "count"), ("adc_conversions", "count"), ("test_predictions", "1"))},
        **{f"results/throughput/{k}": u for k, u in THROUGHPUT.items()}},
    optional_datasets={f"results/quantised_{k}_accuracy": "1"
                       for k in ("train", "test", "validation")},
    dataset_patterns={"results/weights/layer{l}": "1", "results/float_weights/layer{l}": "1"}))
# version 2: one file -- settings with their sha256, the crossbars under /crossbars/layer<l>
# (neuropcm.io.crossbar.write_crossbar), no separate crossbar files
register_kind(FileKind(
    "mlp_train_checkpoint", 2, "a checkpoint of an mlp-train run, crossbars included (resume "
    "with --resume)", config=False))
