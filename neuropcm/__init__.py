"""NeuroPCM: brain-inspired computing with phase-change-memory devices.

One set of PCM device objects (:mod:`neuropcm.devices`) shared by a Brian2 spiking engine,
a numba crossbar engine and a rate-coded bridge; every state and result stored in HDF5
(:mod:`neuropcm.io`).

``PCMArray`` and ``get_preset`` are loaded on first use (PEP 562), so ``import neuropcm``
-- and the start of the ``neuropcm`` command, which must turn an early Ctrl-C into one
line -- does not wait for numba.
"""

from . import _moved
from ._version import __version__

_moved.install()

__all__ = ["PCMArray", "get_preset", "__version__"]


def __getattr__(name):
    if name in ("PCMArray", "get_preset"):
        from . import devices

        return getattr(devices, name)
    raise AttributeError(f"module 'neuropcm' has no attribute {name!r}")
