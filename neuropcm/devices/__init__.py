"""PCM device objects: the single source of truth for PCM physics in NeuroPCM (the ground
floor: nothing here imports io, the engines or anything above).

What lives where: :mod:`.params` (frozen, validated parameter dataclasses of the two device
models, every field with its unit and physical bounds; their shared base in
``_params_base``), :mod:`.builtin_presets` and :mod:`.presets` (named presets that only
change defaults and cite their source; :func:`get_preset` resolves names, preset files and
the user preset folder), :mod:`.preset_files` (a user's device as a TOML preset file),
:mod:`.fit` (the relations fitted to measurements), :mod:`.physics` (each relation written
once, rendered into numpy, numba and Brian2), :mod:`.array` (:class:`PCMArray`: state,
operations, counters; reads in ``_reads``, numba kernels in ``_kernels``), :mod:`.faults`
(the one rule of which devices a write may change: stuck faults and wear-out),
:mod:`.programming` (program-and-verify), :mod:`.theory` (exact analytic references),
:mod:`.validation` (argument and state checks) and :mod:`.refresh` (refresh rules shared by
the crossbar and the SNN).
"""

from .array import STATE_UNITS, PCMArray, ProgramResult
from .params import EV, K_BOLTZMANN, DeviceParams, ProgrammedStateParams, PulsedParams
from .presets import PRESETS, get_preset, with_preset

__all__ = ["PCMArray", "ProgramResult", "STATE_UNITS", "DeviceParams", "PulsedParams",
           "ProgrammedStateParams", "PRESETS", "get_preset", "with_preset", "EV", "K_BOLTZMANN"]
