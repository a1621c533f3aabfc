"""What a crossbar's devices read at their own age 0, and what its LRS reference column
reads now: the device side of drift compensation (:mod:`~neuropcm.crossbar.compensation`),
through the IR-drop networks (:mod:`~neuropcm.crossbar.circuit`) when the crossbar has
wires."""

from __future__ import annotations

import numpy as np

from ..devices import physics as ph
from ..devices.theory import rectified_moments as _rectified_moments
from .mapping import effective_mean

__all__ = ["age0_mean", "age0_moments"]


def age0_moments(array, clipped: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (S) of a read of every device of ``array`` right after its own last
    write (age 0), from the device relations (:mod:`neuropcm.devices.physics`).

    ``mean = G drift(0, nu) A(G, T)`` and the model's read-noise std at age 0; with
    ``clipped`` the moments of the clipped read ``max(mean + std xi, 0)``.
    """
    p = array.params
    G = np.asarray(array.conductance, dtype=float)
    mean = G * ph.drift_relation(p)(p, dt=0.0, nu=np.asarray(array.drift_exponent))
    if array.temperature != p.t_ref:
        mean = mean * ph.TEMPERATURE(p, G=G, T=array.temperature)
    if p.model == "pulsed":
        std = ph.READ_STD_PULSED(p, Gd=mean)
    else:
        std = ph.READ_STD_PROGRAMMED(p, Gd=mean, G=G, dt=0.0)
    std = np.broadcast_to(std, mean.shape)
    if clipped:
        mean, std = _rectified_moments(mean, np.array(std, dtype=float))
    return mean, std


def age0_mean(mapping, arrays: dict, clipped: bool) -> np.ndarray:
    """Mean read matrix (m, n, weight units) with every device of the mapping read at
    age 0 (``arrays`` may hold more arrays than the mapping uses)."""
    moments = {name: age0_moments(arrays[name], clipped) for name in mapping.array_shapes()}
    return effective_mean(mapping.groups(moments))


def _age0_means(xb) -> tuple:
    """Age-0 mean matrices (m, n) of the forward and the transposed read: :func:`age0_mean`,
    with IR drop through each direction's networks (a write moves every current of its
    array, so every line's reference follows it)."""
    if xb._circuit is None:
        M = age0_mean(xb.mapping, xb.arrays, xb.config.read_clip)
        return M, M
    mom = {name: age0_moments(xb.arrays[name], xb.config.read_clip)
           for name in xb.mapping.array_shapes()}
    return tuple(effective_mean(xb.mapping.groups(xb._circuit.moments(mom, xb.shape, tr)))
                 for tr in (False, True))


def _lrs_read(xb) -> float:
    """``<G_LRS>`` (S) as the column reads now (booked on its devices): the mean device
    read, or with IR drop the column's current per device with every row at 1 V
    (:meth:`~neuropcm.crossbar.circuit.CircuitReads.line_read`)."""
    lrs = xb.arrays["lrs"]
    reads = lrs.read()
    if xb._circuit is None:
        return float(reads.mean())
    return xb._circuit.line_read("lrs", lrs.read_moments(clipped=xb.config.read_clip)[0], reads)


def _all_at_age0(xb) -> bool:
    """Whether every device of the mapping was written at the crossbar's current time."""
    return all(float(np.min(xb.arrays[name].last_write)) == xb.time
               for name in xb.mapping.array_shapes())
