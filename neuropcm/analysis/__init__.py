"""Summaries and plots read back from NeuroPCM HDF5 files alone."""

from .plots import plot_device_characterisation

__all__ = ["plot_device_characterisation"]
