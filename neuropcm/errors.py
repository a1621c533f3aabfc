"""One exception hierarchy for NeuroPCM.

Every error subclasses the built-in exception it refines, so callers that catch
``ValueError`` or ``OSError`` keep working, while ``NeuroPCMError`` catches them all.
Messages name the offending value and say how to fix it.
"""

from __future__ import annotations


class NeuroPCMError(Exception):
    """Base class of every error raised by NeuroPCM."""


class ParameterError(NeuroPCMError, ValueError):
    """A parameter or argument has an invalid value (NaN, out of range, inconsistent)."""


class ShapeError(ParameterError):
    """An array argument has the wrong shape."""


class UnknownPresetError(ParameterError, KeyError):
    """A preset, mapping or model name is not known; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class UnitError(NeuroPCMError, TypeError):
    """A quantity has the wrong physical dimension or lacks a unit where one is required."""


class ModelError(NeuroPCMError, TypeError):
    """An operation the chosen device model does not support (e.g. SET pulses on a
    programmed-state model without a pulse response)."""


class ResultsFileError(NeuroPCMError, OSError):
    """An HDF5 file is missing, truncated, corrupt or not readable."""


class SchemaError(ResultsFileError):
    """An HDF5 file is readable but is not a NeuroPCM file of the expected kind/version."""


class DatasetError(NeuroPCMError, OSError):
    """A dataset (e.g. MNIST) is missing or malformed."""


class SimulationError(NeuroPCMError, RuntimeError):
    """A simulator process failed or returned an incomplete or inconsistent result."""


class RunInterrupted(KeyboardInterrupt):
    """A long run was stopped (Ctrl-C, SIGTERM, or a chunk that did not run to its end)
    before it finished. Nothing past the last complete checkpoint was kept.

    A ``KeyboardInterrupt`` (not an ``Exception``), so ``except Exception`` does not
    swallow it.
    """
