"""PCM device objects: the single source of truth for PCM physics in NeuroPCM."""

from .array import STATE_UNITS, PCMArray, ProgramResult
from .params import EV, K_BOLTZMANN, DeviceParams, ProgrammedStateParams, PulsedParams
from .presets import PRESETS, get_preset, with_preset

__all__ = ["PCMArray", "ProgramResult", "STATE_UNITS", "DeviceParams", "PulsedParams",
           "ProgrammedStateParams", "PRESETS", "get_preset", "with_preset", "EV", "K_BOLTZMANN"]
