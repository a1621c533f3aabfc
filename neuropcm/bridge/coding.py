"""Spike trains <-> rates.

Encoding is the SNN's own: relative rates ``pixel/255`` (:func:`neuropcm.snn.clustering.
encode`) times ``max_rate``, and per time step a Bernoulli draw with ``p = rate dt``, as
the inputs of the clustering network and ``brian2.PoissonGroup`` do. Decoding counts the
spikes of each neuron in a window and divides by its length.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError, ShapeError
from ..random import rng


def relative_rates(images) -> np.ndarray:
    """Relative input rates in [0, 1] (``pixel/255``), shape (examples, pixels): the
    SNN's encoder without complementary inputs."""
    x = np.asarray(images)
    if x.ndim < 2 or x.size == 0:
        raise ShapeError(f"images have shape {x.shape}; give (examples, ...) pixel values")
    x = x.reshape(len(x), -1).astype(np.float64) / 255.0
    if x.min() < 0 or x.max() > 1:
        raise ParameterError("pixel values must lie in [0, 255]")
    return x


def poisson_spikes(rates, duration: float, dt: float, seed, *path) -> np.ndarray:
    """Spike trains of rates ``rates`` (Hz, shape (n,)) for ``duration`` s in steps ``dt``.

    Returns a boolean array (steps, n): spike in a step with probability ``rate * dt``
    (the Bernoulli form of a Poisson process that Brian2 uses), drawn from the stream
    ``neuropcm.random.rng(seed, "bridge", "poisson", *path)``.
    """
    r = np.asarray(rates, dtype=float)
    if r.ndim != 1 or not np.all(np.isfinite(r)) or r.min(initial=0) < 0:
        raise ParameterError("rates must be a 1-d array of finite, non-negative Hz")
    if not (dt > 0 and duration > 0):
        raise ParameterError(f"duration = {duration!r} s and dt = {dt!r} s must be positive")
    if r.max(initial=0) * dt > 1:
        raise ParameterError(f"max rate {r.max()!r} Hz * dt = {r.max() * dt!r} > 1: the "
                             f"Bernoulli step cannot represent it; use a smaller dt")
    steps = int(round(duration / dt))
    return rng(seed, "bridge", "poisson", *path).random((steps, r.size)) < r * dt


def decode_rates(spikes, n: int, t_start: float, t_stop: float) -> np.ndarray:
    """Firing rate (Hz) of each of ``n`` neurons over ``[t_start, t_stop)``.

    ``spikes`` is a Brian2 ``SpikeMonitor`` (its ``i`` and ``t``) or a pair
    ``(indices, times_in_seconds)``.
    """
    if hasattr(spikes, "i") and hasattr(spikes, "t"):
        i, t = np.asarray(spikes.i[:]), np.asarray(spikes.t[:] / _second())
    else:
        i, t = (np.asarray(v) for v in spikes)
    if not t_stop > t_start:
        raise ParameterError(f"the window [{t_start!r}, {t_stop!r}) s is empty")
    sel = (t >= t_start) & (t < t_stop)
    return np.bincount(i[sel].astype(np.int64), minlength=n)[:n] / (t_stop - t_start)


def _second():
    from brian2 import second

    return second
