"""Inputs of the pattern-detection run: Bernoulli spike trains with hidden correlated
patterns, and the scores of an output spike train against the presentations.

Time is in steps of ``dt``. Every input spikes in a step with probability ``p = rate dt``.
While pattern ``m`` is presented, its inputs follow a reference process ``X_r`` of its
own (1 with probability ``p``), as the correlated processes of Sebastian et al. (2017;
physics.md section 6):

    P(X_i = 1 | X_r = 1) = p + sqrt(c) (1 - p),   P(X_i = 1 | X_r = 0) = p (1 - sqrt(c)),

so ``P(X_i = 1) = p`` still (the rate alone tells nothing) and two inputs of the pattern
have correlation coefficient ``c`` (per step, and hence for spike counts over any window
of independent steps). Outside presentations, and for the inputs of no pattern, every
input is independent.
"""

from __future__ import annotations

import numpy as np

from ...errors import ParameterError


def schedule(steps: int, on: int, off: int, patterns: int, gen) -> np.ndarray:
    """The pattern presented at each step (``-1``: none): a gap of ``off`` steps, then a
    presentation of ``on`` steps, repeated; the patterns in a fresh random order in each
    round of ``patterns`` presentations."""
    if on < 1 or off < 1:
        raise ParameterError(f"presentation and gap must last at least one step (got {on} "
                             f"and {off} steps); lengthen them or shorten dt")
    shown = np.full(steps, -1, dtype=np.int64)
    k, order = off, []
    while k < steps:
        if not order:
            order = list(gen.permutation(patterns))
        shown[k:k + on] = order.pop(0)
        k += on + off
    return shown


def correlated_spikes(shown: np.ndarray, members: np.ndarray, p: float, c: float,
                      gen) -> np.ndarray:
    """Spikes (steps, inputs; bool) with the correlated patterns of the module docstring.

    Parameters
    ----------
    shown : int array (steps,)
        Pattern presented at each step, -1 for none (:func:`schedule`).
    members : int array (inputs,)
        Pattern of each input, -1 for a noise input.
    p : float
        Spike probability per step, in (0, 1).
    c : float
        Correlation coefficient between two inputs of a presented pattern, in [0, 1].
    gen : numpy Generator
    """
    if not 0.0 < p < 1.0:
        raise ParameterError(f"spike probability per step p = {p!r} must lie in (0, 1); "
                             f"lower the rate or dt")
    if not 0.0 <= c <= 1.0:
        raise ParameterError(f"c = {c!r} must lie in [0, 1]")
    steps, n = shown.size, members.size
    u = gen.random((steps, n))
    n_pat = int(members.max()) + 1 if members.size else 0
    ref = gen.random((steps, max(n_pat, 1))) < p  # one reference process per pattern
    s = np.sqrt(c)
    q_on, q_off = p + s * (1 - p), p * (1 - s)
    prob = np.full((steps, n), p)
    for m in range(n_pat):
        cols = np.flatnonzero(members == m)
        rows = np.flatnonzero(shown == m)
        q = np.where(ref[rows, m], q_on, q_off)
        prob[np.ix_(rows, cols)] = q[:, None]
    return u < prob


def presentations(shown: np.ndarray) -> np.ndarray:
    """``(start, stop, pattern)`` of every presentation (steps; stop exclusive)."""
    on = shown >= 0
    edges = np.flatnonzero(np.diff(np.r_[False, on, False].astype(np.int8)))
    starts, stops = edges[::2], edges[1::2]
    return np.stack([starts, stops, shown[starts]], axis=1) if starts.size else \
        np.zeros((0, 3), dtype=np.int64)


def score_spikes(spike_steps, spike_neuron, shown, assignment, grace: int) -> dict:
    """Detection scores of output spikes against the presentations.

    A spike at step ``k`` is *inside* presentation ``[a, b)`` if ``a <= k < b + grace``
    (``grace`` steps for the input -> pulse -> threshold pipeline). A neuron's spike
    inside a presentation of the pattern it is assigned to is a *hit*; a spike outside
    every presentation is a *false alarm*; a spike inside a presentation of another
    pattern, or of an unassigned neuron, is *misattributed*.

    Parameters
    ----------
    spike_steps, spike_neuron : int arrays
        Step and neuron of each output spike.
    shown : int array
        Pattern at each step (:func:`schedule`).
    assignment : int array (neurons,)
        Pattern of each neuron, -1 for none.
    grace : int
        Steps after a presentation's end still counted inside it.

    Returns
    -------
    dict
        ``detected`` (fraction of presentations with a hit), ``latency`` (steps from onset
        to the first hit, per detected presentation), ``false_alarms``, ``misattributed``,
        ``hits`` (counts) and ``gap_steps`` (steps outside every presentation and its
        grace).
    """
    pres = presentations(shown)
    steps = shown.size
    inside = np.full(steps, -1, dtype=np.int64)
    for a, b, m in pres:
        inside[a:min(b + grace, steps)] = m
    spike_steps = np.asarray(spike_steps, dtype=np.int64)
    spike_neuron = np.asarray(spike_neuron, dtype=np.int64)
    where = inside[spike_steps] if spike_steps.size else np.zeros(0, np.int64)
    own = assignment[spike_neuron] if spike_steps.size else np.zeros(0, np.int64)
    hit = (where >= 0) & (own == where)
    latency, detected = [], 0
    for a, b, m in pres:
        ks = spike_steps[hit & (spike_steps >= a) & (spike_steps < b + grace)
                         & (where == m)]
        if ks.size:
            detected += 1
            latency.append(int(ks.min() - a))
    return {"detected": detected / len(pres) if len(pres) else float("nan"),
            "latency": np.asarray(latency, dtype=np.int64),
            "false_alarms": int(np.sum(where < 0)),
            "misattributed": int(np.sum((where >= 0) & ~hit)),
            "hits": int(np.sum(hit)), "gap_steps": int(np.sum(inside < 0)),
            "presentations": len(pres)}
