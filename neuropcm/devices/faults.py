"""Stuck devices: the one rule under which a device ignores every write.

A device is *stuck* -- no SET, RESET, programming or refresh changes it, not its
conductance, pulse memory, drift clock, drift exponent, counters or energy -- when

    stuck = (fault != FREE) or not WRITABLE(n_set, n_reset)

i.e. :func:`can_write` is false. The two causes are two cases of this one rule:

* **wear-out**: the endurance relation :data:`~neuropcm.devices.physics.WRITABLE`
  (``n_set + n_reset < endurance``) has become false; the device stays at its last state
  (and keeps drifting from its last write, as before it wore out);
* **manufacturing faults**: the per-device state ``stuck`` of a
  :class:`~neuropcm.devices.PCMArray` (int8) is :data:`STUCK_OFF` (conductance ``g_min``)
  or :data:`STUCK_ON` (conductance ``g_max``), set by :meth:`PCMArray.stick
  <neuropcm.devices.PCMArray.stick>`, e.g. drawn with :func:`draw_stuck`.

Every engine (the numba kernels, programming, refresh through the arrays' SET/RESET)
takes its gate from :func:`can_write`; nothing else decides whether a write happens.

Reads and drift of a faulted device (chosen and documented here): a stuck device is
still read through the model's read path, so it has read noise and the temperature
factor of its conductance, as every device; a manufacturing-stuck device does *not*
drift (its drift exponent is set to 0: a stuck-on cell is a crystalline/shorted cell, a
stuck-off one an open or void cell, neither has a relaxing amorphous phase). A worn-out
device keeps the drift exponent and clock of its last write.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError

#: Codes of the state array ``stuck`` (int8); :data:`STUCK_WORN` only in the derived view
#: :attr:`PCMArray.stuck_level <neuropcm.devices.PCMArray.stuck_level>`, never stored
#: (wear-out follows from the counters).
FREE, STUCK_OFF, STUCK_ON, STUCK_WORN = 0, 1, 2, 3
#: Codes a stored ``stuck`` state may hold.
FAULT_CODES = (FREE, STUCK_OFF, STUCK_ON)


def can_write(stuck, writable):
    """The one stuck rule: a write takes effect iff ``stuck == FREE and writable``.

    Parameters
    ----------
    stuck : int or int array
        The device's fault code (:data:`FREE`, :data:`STUCK_OFF`, :data:`STUCK_ON`).
    writable : bool or bool array
        The endurance relation :data:`~neuropcm.devices.physics.WRITABLE` of its counters.

    Plain operators only, so the numba kernels compile this very function.
    """
    return (stuck == FREE) & writable


def check_fraction(value, name: str) -> float:
    """``value`` as a probability in [0, 1]; bools, strings, NaN/Inf refused (one line)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} = {value!r} must be a probability in [0, 1] (a number), "
                             f"got {type(value).__name__}")
    v = float(value)
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise ParameterError(f"{name} = {value!r} must be a probability in [0, 1], e.g. 0.01")
    return v


def check_fractions(p_off, p_on) -> tuple[float, float]:
    """``(p_stuck_off, p_stuck_on)`` checked: each in [0, 1] and their sum <= 1."""
    a = check_fraction(p_off, "p_stuck_off")
    b = check_fraction(p_on, "p_stuck_on")
    if a + b > 1.0:
        raise ParameterError(f"p_stuck_off + p_stuck_on = {a!r} + {b!r} > 1: a device is "
                             f"stuck off, stuck on or neither; give fractions summing to <= 1")
    return a, b


def draw_stuck(shape, p_off, p_on, generator: np.random.Generator) -> np.ndarray:
    """Draw manufacturing faults: an int8 array of fault codes of shape ``shape``.

    With one uniform ``u_i`` per device (in flat C order) from ``generator``:
    ``STUCK_OFF`` where ``u_i < p_off``, ``STUCK_ON`` where ``p_off <= u_i < p_off +
    p_on``, ``FREE`` elsewhere. The devices are independent, so the number stuck off of
    ``N`` devices is ``Binomial(N, p_off)`` (mean ``N p_off``, variance
    ``N p_off (1 - p_off)``), likewise stuck on with ``p_on``.

    Parameters
    ----------
    shape : tuple of int
        Shape of the device array.
    p_off, p_on : float
        Probabilities in [0, 1] with ``p_off + p_on <= 1``.
    generator : numpy.random.Generator
        A stream of its own, e.g. ``neuropcm.random.rng(seed, "crossbar", "faults", name)``.
    """
    p_off, p_on = check_fractions(p_off, p_on)
    if not isinstance(generator, np.random.Generator):
        raise ParameterError(f"generator = {generator!r} must be a numpy.random.Generator, "
                             f"e.g. neuropcm.random.rng(seed, 'faults')")
    u = generator.random(shape)
    out = np.zeros(shape, np.int8)
    out[u < p_off] = STUCK_OFF
    out[(u >= p_off) & (u < p_off + p_on)] = STUCK_ON
    return out


def stick(arr, i_off: np.ndarray, i_on: np.ndarray) -> None:
    """Make devices ``i_off`` (flat indices) of ``arr`` stuck off and ``i_on`` stuck on.

    A faulted device gets ``G = g_min`` (off) or ``G = g_max`` (on), pulse memory
    ``P = 1`` and drift exponent ``nu = 0`` (no drift; its reads keep read noise and the
    temperature factor); counters and energy are unchanged. Its fault code goes into the
    state array ``stuck``, so :meth:`PCMArray.state_dict` and the files keep it, and from
    then on :func:`can_write` is false for it.
    """
    if np.intersect1d(i_off, i_on).size:
        raise ParameterError("off and on mark the same device; a device is stuck off or on, "
                             "give disjoint masks")
    s, p = arr._s, arr.params
    for idx, code, level in ((i_off, STUCK_OFF, p.g_min), (i_on, STUCK_ON, p.g_max)):
        s["stuck"][idx], s["G"][idx], s["P"][idx], s["nu"][idx] = code, level, 1.0, 0.0
