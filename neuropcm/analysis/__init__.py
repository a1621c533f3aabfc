"""Summaries and plots read back from NeuroPCM HDF5 files alone."""

from .metrics import accuracy_report, assign_labels, confusion_matrix, predict
from .plots import plot_device_characterisation, plot_phase_change_neuron, plot_receptive_fields

__all__ = ["plot_device_characterisation", "plot_phase_change_neuron", "plot_receptive_fields",
           "assign_labels", "predict", "confusion_matrix", "accuracy_report"]
