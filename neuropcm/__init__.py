"""NeuroPCM: brain-inspired computing with phase-change-memory devices.

One set of PCM device objects (:mod:`neuropcm.devices`) shared by a Brian2 spiking engine,
a numba crossbar engine and a rate-coded bridge; every state and result stored in HDF5
(:mod:`neuropcm.io`).
"""

from . import _moved
from ._version import __version__
from .devices import PCMArray, get_preset

_moved.install()

__all__ = ["PCMArray", "get_preset", "__version__"]
