"""Spike trains <-> rates.

Encoding is the SNN's own: relative rates ``pixel/255`` (:func:`neuropcm.snn.clustering.
encode`) times ``max_rate``, and per time step a Bernoulli draw with ``p = rate dt``, as
the inputs of the clustering network and ``brian2.PoissonGroup`` do. Decoding counts the
spikes of each neuron in a window and divides by its length.

Arguments in seconds or hertz may be Brian2 quantities or plain SI numbers
(:mod:`neuropcm.units`). Bad input is refused with a one-line error; nothing is clamped,
rounded or dropped.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError, ShapeError
from ..random import rng
from .. import checks as chk

_CHUNK = 1 << 22  # random numbers drawn at a time by poisson_spikes (32 MiB of float64)


def relative_rates(images, full_scale=None) -> np.ndarray:
    """Relative input rates in [0, 1] (``pixel/255``), shape (examples, pixels): the
    SNN's encoder without complementary inputs.

    Parameters
    ----------
    images : array (examples, ...)
        Grey levels 0..255 (an integer or float array), finite and non-negative.
    full_scale : float, optional
        The pixel value of the top rate. Left out, it is 255, and float images whose
        largest pixel lies in (0, 1] are refused: they are almost surely already scaled
        to [0, 1] and would give rates 1/255 of the intended. Give ``full_scale=1`` for
        images in [0, 1], or ``full_scale=255`` to take dim 0..255 float images as they
        are.

    Raises
    ------
    ShapeError
        ``images`` is not (examples, ...) with at least one pixel.
    ParameterError
        A bool or non-numeric image, NaN/Inf, negative pixels or pixels above
        ``full_scale``, or an image that looks already scaled (see ``full_scale``).
    """
    x = chk.numeric(images, "images")
    if x.dtype.kind == "b":
        raise ParameterError("images has dtype bool; give grey levels 0..255 (e.g. "
                             "images * 255) or full_scale=1 with a float array")
    if x.ndim < 2 or x.size == 0:
        raise ShapeError(f"images have shape {x.shape}; give (examples, ...) pixel values")
    top = 255.0 if full_scale is None else chk.scalar(full_scale, "full_scale",
                                                      sign="positive")
    r = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    chk.check_finite(r, "images", nonnegative=True, what="pixel value")
    m = float(r.max())
    if full_scale is None and x.dtype.kind == "f" and 0 < m <= 1:
        raise ParameterError(f"images are floats with maximum {m!r} <= 1: they look already "
                             f"scaled to [0, 1] (rates would be 1/255 of the intended); pass "
                             f"grey levels 0..255 (e.g. images * 255), or full_scale=1 to "
                             f"use them as they are")
    if m > top:
        raise ParameterError(f"images contain the pixel value {m!r} > {top:g}; pixel values "
                             f"must lie in [0, {top:g}] (full_scale = {top:g})")
    return r / top


def poisson_spikes(rates, duration: float, dt: float, seed, *path) -> np.ndarray:
    """Spike trains of rates ``rates`` (Hz, shape (n,)) for ``duration`` s in steps ``dt``.

    Returns a boolean array (steps, n), ``steps = duration / dt`` (a whole number): spike
    in a step with probability ``rate * dt`` (the Bernoulli form of a Poisson process that
    Brian2 uses), drawn from the stream ``neuropcm.random.rng(seed, "bridge", "poisson",
    *path)``.

    Raises
    ------
    ParameterError
        NaN/Inf or negative rates, a non-positive or non-finite ``duration``/``dt``,
        ``duration`` not a whole number of steps, ``max(rates) * dt > 1``, or a spike
        array larger than the memory available.
    ShapeError
        ``rates`` is not 1-d.
    UnitError
        A quantity in the wrong unit.
    """
    r = chk.real(rates, "rates", "Hz", what="rate", nonnegative=True)
    if r.ndim != 1:
        raise ShapeError(f"rates has shape {r.shape}; give a 1-d array (n,) of rates in Hz")
    duration = chk.scalar(duration, "duration", "s", sign="positive")
    dt = chk.scalar(dt, "dt", "s", sign="positive")
    top = float(r.max(initial=0.0))
    if top * dt > 1:
        raise ParameterError(f"max rate {top!r} Hz * dt = {top * dt!r} > 1: the "
                             f"Bernoulli step cannot represent it; use a smaller dt")
    steps = chk.whole_steps(duration, dt)
    n = r.size
    chk.check_memory(float(steps) * n, f"poisson_spikes would draw a ({steps}, {n}) spike "
                     f"array, ~{float(r.sum()) * duration:.3g} spikes expected",
                     "shorten duration, give fewer rates or use a larger dt")
    g = rng(seed, "bridge", "poisson", *path)
    out = np.empty((steps, n), dtype=bool)
    p = r * dt
    rows = max(1, _CHUNK // max(n, 1))  # the same stream as one draw of (steps, n)
    for s in range(0, steps, rows):
        e = min(s + rows, steps)
        np.less(g.random((e - s, n)), p, out=out[s:e])
    return out


def decode_rates(spikes, n: int, t_start: float, t_stop: float) -> np.ndarray:
    """Firing rate (Hz) of each of ``n`` neurons over ``[t_start, t_stop)``.

    ``spikes`` is a Brian2 ``SpikeMonitor`` (its ``i`` and ``t``) or a pair
    ``(indices, times)``, times in seconds (or a Brian2 quantity). Every spike must
    name one of the ``n`` neurons (a whole number in ``0..n-1``) and have a finite time;
    spikes outside the window are not counted.

    Raises
    ------
    ParameterError
        ``n`` not a whole number >= 0, a non-finite or empty window, a spike index
        outside ``0..n-1`` or not a whole number, a NaN/Inf spike time.
    ShapeError
        Indices and times not 1-d of equal length.
    """
    n = chk.count(n, "n", lo=0)
    t0 = chk.scalar(t_start, "t_start", "s")
    t1 = chk.scalar(t_stop, "t_stop", "s")
    if not t1 > t0:
        raise ParameterError(f"the window [{t_start!r}, {t_stop!r}) s is empty; give "
                             f"t_stop > t_start")
    if hasattr(spikes, "i") and hasattr(spikes, "t"):
        i, t = spikes.i[:], spikes.t[:]
    else:
        try:
            i, t = spikes
        except (TypeError, ValueError):
            raise ParameterError(f"spikes is a {type(spikes).__name__}; give a Brian2 "
                                 f"SpikeMonitor or a pair (indices, times in s)") from None
    i = chk.numeric(i, "spike indices", kinds="iuf")
    t = chk.real(t, "spike times", "s", what="spike time")
    if i.ndim != 1 or i.shape != t.shape:
        raise ShapeError(f"spike indices {i.shape} and spike times {t.shape} must be 1-d "
                         f"arrays of equal length")
    i = chk.whole_numbers(i, "spike indices", "neuron index")
    if i.size and i.min() < 0:
        raise ParameterError(f"spike indices contain {int(i.min())}; neuron indices lie in "
                             f"0..n-1 (n = {n}): remove those spikes")
    if i.size and i.max() >= n:
        raise ParameterError(f"spike indices contain {int(i.max())}, not one of the n = {n} "
                             f"neurons (0..n-1); pass n > {int(i.max())} or remove those "
                             f"spikes")
    sel = (t >= t0) & (t < t1)
    return np.bincount(i[sel], minlength=n) / (t1 - t0)
