"""Sparse sampling of the correlated binary processes, and the scores of a detection.

The processes of :mod:`neuropcm.workloads.computational_memory.correlation` are stored with the correlated
ones first (devices ``0 .. n_c-1``), so that each step is two scans of independent
Bernoulli trials over a contiguous range. A scan draws the gaps between successive
events (geometric skips), one uniform number per *event* instead of one per process:
the cost of a step is proportional to the number of processes that fire, and the event
indices come out sorted. The random numbers come from a ``numpy.random.Generator``
passed into the kernel (numba shares its bit generator's state).
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def bernoulli_events(gen, lo, hi, q, out, m):
    """Append to ``out[m:]`` the indices ``i`` in ``[lo, hi)`` of independent Bernoulli(q)
    trials that succeed, in increasing order; return the new count.

    Gap to the next success: ``g = floor(ln(u) / ln(1 - q))`` with ``u = 1 - U``,
    ``U ~ U[0, 1)``, so ``P(g = k) = (1 - q)^k q`` (geometric), exactly the law of the
    run of failures before a success.
    """
    if q <= 0.0:
        return m
    if q >= 1.0:
        for i in range(lo, hi):
            out[m] = i
            m += 1
        return m
    inv = 1.0 / math.log1p(-q)
    i = lo
    while True:
        gap = math.log(1.0 - gen.random()) * inv
        if gap >= hi - i:  # compared as floats: a huge gap never overflows an int
            return m
        i += int(gap)
        out[m] = i
        m += 1
        i += 1


@numba.njit(nogil=True, cache=True)
def advance(gen, k, k_stop, p, q_on, q_off, n_c, n, m_min, out, score, ref, msum):
    """Run steps ``k .. k_stop-1`` of the processes; stop early after a step that pulses.

    Each step: reference ``X_r = U < p``; correlated processes ``[0, n_c)`` fire with
    probability ``q_on`` if ``X_r`` else ``q_off``, the others ``[n_c, n)`` with ``p``
    (events in ``out[:M]``, ``M = sum_j X_j``); the uncentred-covariance score gets
    ``score[i] += M`` for every firing ``i`` (so ``score_i = sum_k X_i(k) M(k) =
    sum_j (X^T X)_ij``); ``ref[k] = X_r``, ``msum[k] = M``. A step with ``M >= m_min``
    (one that programs the devices) ends the call with its events left in ``out``.

    Returns
    -------
    (int, int)
        The number of steps done, and ``M`` of the pulsing step that ended the call
        (-1 if the call reached ``k_stop`` without one).
    """
    while k < k_stop:
        xr = gen.random() < p
        m = bernoulli_events(gen, 0, n_c, q_on if xr else q_off, out, 0)
        m = bernoulli_events(gen, n_c, n, p, out, m)
        for j in range(m):
            score[out[j]] += m
        ref[k] = xr
        msum[k] = m
        k += 1
        if m >= m_min:
            return k, m
    return k, -1


# ----------------------------------------------------------------------------- scores
@numba.njit(nogil=True, cache=True)
def split_stats(pos, neg):
    """Scores of a detection from the sorted scores of the positives and the negatives,
    in one merge over the distinct values ``v`` (ascending).

    * ``auc = sum_v n+(v) (n-(< v) + n-(v)/2) / (n+ n-)``: ``P(s+ > s-) + P(s+ = s-)/2``,
      the Mann-Whitney ``U / (n+ n-)``;
    * Otsu's cut: the ``v`` (not the largest) maximising ``j (n - j) (mu0 - mu1)^2``,
      class 0 the ``j`` scores ``<= v`` (the between-class variance times ``n^2``; the
      lowest such ``v`` on ties); threshold the midpoint of ``v`` and the next value;
    * the number of scores a split ``s > v`` gets right, ``n-(<= v) + n+(> v)``, at
      Otsu's cut and at its best over all ``v`` (and over "all positive": ``n+``).

    Returns
    -------
    (float, float, int, int)
        AUC, threshold (NaN if all scores are equal), right at the threshold (``n-`` if
        NaN: all called negative), best right.
    """
    n_p, n_n = pos.size, neg.size
    n = n_p + n_n
    total = 0.0
    for k in range(n_p):
        total += pos[k]
    for k in range(n_n):
        total += neg[k]
    i = 0
    j = 0
    below = 0.0   # U statistic (ties one half)
    le_p = 0      # positives <= v
    le_n = 0      # negatives <= v
    cum = 0.0     # sum of the scores <= v
    best_obj = -1.0
    thr = math.nan
    right_thr = n_n
    best_right = n_p
    while i < n_p or j < n_n:
        if j >= n_n or (i < n_p and pos[i] < neg[j]):
            v = pos[i]
        else:
            v = neg[j]
        cp = 0
        while i < n_p and pos[i] == v:
            i += 1
            cp += 1
        cn = 0
        while j < n_n and neg[j] == v:
            j += 1
            cn += 1
        below += cp * (le_n + 0.5 * cn)
        le_p += cp
        le_n += cn
        cum += v * (cp + cn)
        right = le_n + n_p - le_p
        best_right = max(best_right, right)
        m = le_p + le_n
        if m < n:  # a cut above v exists
            w = pos[i] if j >= n_n or (i < n_p and pos[i] < neg[j]) else neg[j]
            d = cum / m - (total - cum) / (n - m)
            obj = float(m) * float(n - m) * d * d
            if obj > best_obj:
                best_obj = obj
                thr = 0.5 * (v + w)
                if not v <= thr < w:  # adjacent floats: keep the split "s > v"
                    thr = v
                right_thr = right
    auc = below / (float(n_p) * float(n_n)) if n_p > 0 and n_n > 0 else math.nan
    return auc, thr, right_thr, best_right


def detection_scores(score, positive) -> dict:
    """Scores of a detection by ``score`` against the labels ``positive``.

    Returns
    -------
    dict
        ``roc_auc``, the area under the ROC curve (Mann-Whitney, ties one half);
        ``threshold``, Otsu's threshold, chosen without the labels (NaN if all scores
        are equal, and then every process is called uncorrelated); ``accuracy``, the
        fraction of processes that the split ``score > threshold`` classifies right;
        ``best_accuracy``, the highest accuracy of any split ``score > t`` (t chosen with
        the labels: an upper bound). See :func:`split_stats`. Of the set the split
        detects (``score > threshold``), with TP, FP, FN its true positives, false
        positives and missed positives: ``precision = TP / (TP + FP)`` (NaN when nothing
        is detected), ``recall = TP / (TP + FN)``, ``f1 = 2 TP / (2 TP + FP + FN)``.
    """
    s = np.asarray(score, dtype=np.float64)
    lab = np.asarray(positive, dtype=bool)
    pos, neg = np.sort(s[lab]), np.sort(s[~lab])
    auc, thr, right, best = split_stats(pos, neg)
    if math.isnan(thr):
        tp = fp = 0
    else:  # counts above the threshold, from the sorted scores
        tp = pos.size - int(np.searchsorted(pos, thr, side="right"))
        fp = neg.size - int(np.searchsorted(neg, thr, side="right"))
    fn = pos.size - tp
    return {"roc_auc": auc, "threshold": thr, "accuracy": right / s.size,
            "best_accuracy": best / s.size,
            "precision": tp / (tp + fp) if tp + fp else math.nan,
            "recall": tp / pos.size if pos.size else math.nan,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan}


def roc_auc(score, positive) -> float:
    """Area under the ROC curve of ``score`` for the labels ``positive`` (see
    :func:`detection_scores`)."""
    return detection_scores(score, positive)["roc_auc"]
