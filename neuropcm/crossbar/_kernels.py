"""numba kernels of the crossbar engine.

Array in, array out (outputs written in place), random numbers passed in (drawn by the
caller from a seeded ``numpy.random.Generator``), the formula in each docstring. Each
kernel that pays off with threads is compiled twice, serial (``cache=True``) and parallel
(``parallel=True``, never cached); :func:`pick` chooses in Python by problem size.
"""

from __future__ import annotations


import numba
import numpy as np

#: Work above which :func:`pick` returns the parallel variant of a kernel. Off (None) by
#: default: measured on the 2-core reference machine, numba's OpenMP worker threads
#: contend with OpenBLAS's threads in the products that surround these kernels (a parallel
#: ``add_noise`` took 12 ms where the serial one takes 0.05 ms), so the engine leaves the
#: threads to BLAS. Set an integer to enable.
PARALLEL_WORK = None
#: Size (m*n) from which a single-vector read uses two BLAS matrix-vector products
#: (multi-threaded) instead of the fused serial kernel.
BLAS_MATVEC_SIZE = 1 << 17


def _mvm1(M, V, x, xi, out):
    """Noisy matrix-vector product, one input vector, fused in one pass over M and V.

    ``out_i = sum_j M_ij x_j + sqrt(sum_j V_ij x_j^2) * xi_i``: exact in distribution for
    independent Gaussian per-device terms of mean ``M_ij x_j`` and variance ``V_ij x_j^2``.
    Accumulates in the dtype of M (``a - a`` gives a zero of that type) so float32 stays
    vectorised.
    """
    m, n = M.shape
    for i in numba.prange(m):
        Mi = M[i]
        Vi = V[i]
        a = Mi[0] - Mi[0]
        v = a
        for j in range(n):
            xj = x[j]
            a += Mi[j] * xj
            v += Vi[j] * (xj * xj)
        if v < 0:
            v = v - v
        out[i] = a + np.sqrt(v) * xi[i]


def _mean1(M, x, out):
    """Noise-free matrix-vector product ``out_i = sum_j M_ij x_j`` (one pass)."""
    m, n = M.shape
    for i in numba.prange(m):
        Mi = M[i]
        a = Mi[0] - Mi[0]
        for j in range(n):
            a += Mi[j] * x[j]
        out[i] = a


def _add_noise(Y, S, xi):
    """In place ``Y += sqrt(max(S, 0)) * xi`` (S: output variances, xi ~ N(0, 1))."""
    m, b = Y.shape
    for i in numba.prange(m):
        Yi = Y[i]
        Si = S[i]
        xii = xi[i]
        for k in range(b):
            s = Si[k]
            if s < 0:
                s = s - s
            Yi[k] += np.sqrt(s) * xii[k]


def _quantise(y, lsb, lo, hi):
    """In place uniform quantiser with saturation: ``y = clip(rint(y/lsb), lo, hi) * lsb``.

    ``y`` is a 2-d array; ``lsb`` has one entry per row (broadcast when of length 1).
    """
    m, b = y.shape
    one = lsb.size == 1
    for i in numba.prange(m):
        q = lsb[0] if one else lsb[i]
        for k in range(b):
            c = np.rint(y[i, k] / q)
            if c < lo:
                c = lo
            elif c > hi:
                c = hi
            y[i, k] = c * q


_SERIAL = {f.__name__: numba.njit(fastmath=True, cache=True, nogil=True)(f)
           for f in (_mvm1, _mean1, _add_noise, _quantise)}
_PARALLEL = {f.__name__: numba.njit(fastmath=True, parallel=True, nogil=True)(f)
             for f in (_mvm1, _mean1, _add_noise, _quantise)}

mvm1 = _SERIAL["_mvm1"]
mean1 = _SERIAL["_mean1"]
add_noise = _SERIAL["_add_noise"]
quantise = _SERIAL["_quantise"]
mvm1_parallel = _PARALLEL["_mvm1"]
mean1_parallel = _PARALLEL["_mean1"]
add_noise_parallel = _PARALLEL["_add_noise"]
quantise_parallel = _PARALLEL["_quantise"]


def pick(name: str, work: int):
    """The serial or the parallel variant of kernel ``name`` for ``work`` operations."""
    par = PARALLEL_WORK is not None and work >= PARALLEL_WORK \
        and numba.config.NUMBA_NUM_THREADS > 1
    table = _PARALLEL if par else _SERIAL
    return table["_" + name]


#: Pairs per block of :func:`normals` (keeps the temporaries in L2 cache).
_BM_BLOCK = 8192
#: Below this many float32 numbers :func:`normals` uses numpy's ziggurat directly.
_BM_MIN = 4096


def normals(rng: np.random.Generator, n: int, dtype) -> np.ndarray:
    """``n`` independent N(0, 1) numbers of ``dtype`` from the seeded generator ``rng``.

    float64, or fewer than ``_BM_MIN`` numbers: ``rng.standard_normal``. float32: the
    Box-Muller transform ``z1 = r cos(2 pi u2)``, ``z2 = r sin(2 pi u2)``,
    ``r = sqrt(-2 ln u1)``, with ``u1`` a float64 uniform on (0, 1] (53 bits: tails reach
    8.5 sigma) and ``u2`` a float32 uniform, in cache-sized blocks with numpy's SIMD
    float32 sin/cos: exact in distribution up to float32 rounding, and on the 2-core
    reference machine about 1.7x faster than numpy's float32 ziggurat.
    """
    dtype = np.dtype(dtype)
    if dtype != np.float32 or n < _BM_MIN:
        return rng.standard_normal(n, dtype=dtype)
    out = np.empty(n, np.float32)
    h = (n + 1) // 2
    u1 = np.empty(min(h, _BM_BLOCK))
    th = np.empty(u1.size, np.float32)
    r = np.empty(u1.size, np.float32)
    two_pi = np.float32(2 * np.pi)
    for a in range(0, h, _BM_BLOCK):
        k = min(_BM_BLOCK, h - a)
        u, t, rr = u1[:k], th[:k], r[:k]
        rng.random(out=u)
        np.subtract(1.0, u, out=u)
        np.log(u, out=u)
        u *= -2.0
        np.sqrt(u, out=u)
        rr[...] = u
        rng.random(out=t, dtype=np.float32)
        t *= two_pi
        lo = out[2 * a:2 * a + k]
        hi = out[2 * a + k:2 * a + 2 * k]  # shorter than k only in the last block of odd n
        np.cos(t, out=lo)
        lo *= rr
        np.sin(t[:hi.size], out=hi)
        hi *= rr[:hi.size]
    return out
