"""numba kernels of the crossbar engine.

Array in, array out (outputs written in place), random numbers passed in (drawn by the
caller from a seeded ``numpy.random.Generator``) or, for the float32 read noise, made
inside the kernel from a counter-based stream whose key the caller draws
(:class:`NormalStream`); the formula in each docstring. Each
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
    Returns the number of entries clipped to an end code (``rint(y/lsb)`` outside
    ``[lo, hi]``).
    """
    m, b = y.shape
    one = lsb.size == 1
    n_clip = 0
    for i in numba.prange(m):
        q = lsb[0] if one else lsb[i]
        for k in range(b):
            c = np.rint(y[i, k] / q)
            if c < lo:
                c = lo
                n_clip += 1
            elif c > hi:
                c = hi
                n_clip += 1
            y[i, k] = c * q
    return n_clip


@numba.njit(fastmath={"reassoc", "contract", "arcp", "nsz"}, nogil=True, cache=True)
def square_sum(x, out):
    """``out = x * x`` (2-d, elementwise) and returns ``sum(out)`` in x's dtype: NaN when
    x holds a NaN or an infinity, inf when a square or the sum overflows, else an upper
    bound of ``max(x^2)``. (No no-NaN fast-math flag, so a NaN cannot be optimised away.)
    """
    m, b = x.shape
    acc = x[0, 0] - x[0, 0]
    for i in range(m):
        xi = x[i]
        oi = out[i]
        for k in range(b):
            v = xi[k] * xi[k]
            oi[k] = v
            acc += v
    return acc


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


# ---------------------------------------------------------------------------- float32 noise
# SplitMix64 (Steele, Lea & Flood, OOPSLA 2014; the generator of Java's SplittableRandom
# and the seeder of the xoshiro family): output k of the stream with seed ``key`` is
# ``mix(key + (k + 1) * GAMMA)``. Counter based, so every output is computed independently
# and the loop below vectorises (no state carried between iterations).
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@numba.njit(fastmath=True, nogil=True, inline="always")
def _splitmix64(z):
    """SplitMix64 output function (a bijection of 64-bit words)."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@numba.njit(fastmath=True, nogil=True, inline="always")
def _log_unit(x):
    """Natural log of a float32 ``x`` in (0, 1] (Cephes ``logf``: ``x = m 2^e`` with
    ``m`` in [sqrt(1/2), sqrt(2)), ``ln x = e ln 2 + ln m``, ``ln m`` by its minimax
    polynomial; error ~1 ulp). Plain arithmetic, so it vectorises without a vector libm."""
    b = np.float32(x).view(np.int32)
    e = ((b >> np.int32(23)) & np.int32(0xFF)) - np.int32(126)
    m = np.int32((b & np.int32(0x7FFFFF)) | np.int32(0x3F000000)).view(np.float32)  # [0.5, 1)
    low = m < np.float32(0.70710678)
    e = e - np.int32(1) if low else e
    f = (m + m - np.float32(1.0)) if low else (m - np.float32(1.0))
    z = f * f
    y = ((((((((np.float32(7.0376836292e-2) * f - np.float32(1.1514610310e-1)) * f
               + np.float32(1.1676998740e-1)) * f - np.float32(1.2420140846e-1)) * f
             + np.float32(1.4249322787e-1)) * f - np.float32(1.6668057665e-1)) * f
           + np.float32(2.0000714765e-1)) * f - np.float32(2.4999993993e-1)) * f
         + np.float32(3.3333331174e-1)) * f * z
    fe = np.float32(e)
    y += np.float32(-2.12194440e-4) * fe
    y += np.float32(-0.5) * z
    return f + y + np.float32(0.693359375) * fe


@numba.njit(fastmath=True, nogil=True, cache=True)
def _words(hi, lo, base):
    """SplitMix64 words ``w_q = mix(base + q GAMMA)`` for ``q < len(hi)``, split into
    ``hi_q = floor(w_q / 2^33)`` (31 bits) and ``lo_q = w_q mod 2^32`` (as int32)."""
    for q in range(hi.size):
        w = _splitmix64(base + np.uint64(q) * _GAMMA)
        hi[q] = np.int32(w >> np.uint64(33))
        lo[q] = np.int32(np.uint32(w & np.uint64(0xFFFFFFFF)))


@numba.njit(fastmath=True, nogil=True, inline="always")
def _box_muller(hi, lo):
    """Two independent N(0, 1) float32 numbers from the halves of one uniform word.

    ``u1 = (hi + 1/2) / 2^31`` in (0, 1), ``u2 = lo / 2^32`` in [-1/2, 1/2) (lo signed);
    ``r = sqrt(-2 ln u1)``, returns ``(r cos(2 pi u2), r sin(2 pi u2))``. The angle is
    reduced exactly (quadrant ``q = rint(4 u2)``, remainder ``pi/2 (4 u2 - q)`` in
    [-pi/4, pi/4]) and sin/cos use the Cephes ``sinf``/``cosf`` polynomials (~1 ulp).
    Largest |z|: ``sqrt(2 ln 2^32) = 6.66`` (P(|N(0,1)| > 6.66) = 3e-11).
    """
    u1 = (np.float32(hi) + np.float32(0.5)) * np.float32(2.0 ** -31)
    r = np.sqrt(max(np.float32(-2.0) * _log_unit(u1), np.float32(0.0)))
    v = np.float32(lo) * np.float32(2.0 ** -30)  # 4 u2, exact scaling
    q = np.rint(v)
    ph = (v - q) * np.float32(np.pi / 2)
    zz = ph * ph
    sn = ((np.float32(-1.9515295891e-4) * zz + np.float32(8.3321608736e-3)) * zz
          - np.float32(1.6666654611e-1)) * zz * ph + ph
    cs = ((np.float32(2.443315711809948e-5) * zz - np.float32(1.388731625493765e-3)) * zz
          + np.float32(4.166664568298827e-2)) * zz * zz - np.float32(0.5) * zz + np.float32(1.0)
    qa = abs(q)
    odd = qa == np.float32(1.0)
    two = qa == np.float32(2.0)
    c = sn if odd else cs  # cos(q pi/2 + ph) = (cs, -sn, -cs, sn)[q mod 4]
    s = cs if odd else sn  # sin(q pi/2 + ph) = (sn, cs, -sn, -cs)[q mod 4]
    if two or q == np.float32(1.0):
        c = -c
    if two or q == np.float32(-1.0):
        s = -s
    return r * c, r * s


@numba.njit(fastmath=True, nogil=True, cache=True)
def _add_pairs(hi, lo, y1, s1, y2, s2):
    """``y1 += sqrt(s1) z1``, ``y2 += sqrt(s2) z2`` with ``(z1, z2) = _box_muller(hi, lo)``."""
    for q in range(hi.size):
        a, b = _box_muller(hi[q], lo[q])
        y1[q] += np.sqrt(max(s1[q], np.float32(0.0))) * a
        y2[q] += np.sqrt(max(s2[q], np.float32(0.0))) * b


#: Words per block of :func:`add_normal_noise` (the int32 halves stay in L1 cache).
_BLOCK = 2048


@numba.njit(fastmath=True, nogil=True, cache=True)
def add_normal_noise(y, s, key, start, p_lo, p_hi):
    """In place ``y += sqrt(max(s, 0)) * xi`` with float32 ``xi ~ N(0, 1)`` drawn here,
    for the pairs ``p_lo <= p < p_hi`` of the layout below.

    ``y``, ``s``: 1-d float32 arrays of equal size N (outputs and their variances). With
    ``H = floor(N/2)``, pair ``p < H`` uses the SplitMix64 output number ``start + p`` of
    the stream ``key`` and gives, by :func:`_box_muller`, ``xi[p]`` and ``xi[p + H]``; for
    odd N, pair ``H`` (output ``start + H``) gives ``xi[N - 1]``. So a pass over the pairs
    ``0 .. ceil(N/2)`` in any number of pieces gives the same numbers; the caller advances
    its counter by ``ceil(N/2)``. Blocks of words are made first (64-bit integer lanes),
    then turned into normals and added (32-bit lanes): both loops vectorise at their width.
    """
    n = y.size
    h = n // 2
    base = key + (start + np.uint64(1)) * _GAMMA
    hi = np.empty(_BLOCK, np.int32)
    lo = np.empty(_BLOCK, np.int32)
    top = min(p_hi, h)
    for b0 in range(p_lo, top, _BLOCK):
        k = min(_BLOCK, top - b0)
        _words(hi[:k], lo[:k], base + np.uint64(b0) * _GAMMA)
        _add_pairs(hi[:k], lo[:k], y[b0:b0 + k], s[b0:b0 + k], y[h + b0:h + b0 + k],
                   s[h + b0:h + b0 + k])
    if n > 2 * h and p_lo <= h < p_hi:
        _words(hi[:1], lo[:1], base + np.uint64(h) * _GAMMA)
        a, b = _box_muller(hi[0], lo[0])
        y[n - 1] += np.sqrt(max(s[n - 1], np.float32(0.0))) * a


#: Threads sharing one float32 noise pass of at least :data:`SPLIT_PAIRS` pairs (1: the
#: calling thread alone). Results do not depend on it (bit-identical). Off by default:
#: on the 2-core reference machine a second thread made the batched read slower, since
#: OpenBLAS's worker keeps spinning on the other core for ~0.1 s after each product.
NOISE_THREADS = 1
SPLIT_PAIRS = 1 << 14
_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=NOISE_THREADS - 1,
                                   thread_name_prefix="neuropcm-noise")
    return _POOL


class NormalStream:
    """The float32 read-noise source of one crossbar: one SplitMix64 stream.

    ``key`` is drawn once from the crossbar's seeded generator; each call to :meth:`add`
    uses the next ``ceil(N/2)`` outputs of the stream, so draws never repeat within a
    run (period 2^64 words) and a saved ``(key, counter)`` restores the stream exactly.
    Measured on the 2-core reference machine: ~1.3 ns of CPU per float32 normal including
    the ``sqrt`` and the add, about 7x less than ``Generator.standard_normal(dtype=float32)``.
    """

    def __init__(self, rng: np.random.Generator):
        self.key = int(rng.integers(0, 2 ** 63, dtype=np.int64))
        self.counter = 0

    def add(self, y: np.ndarray, s: np.ndarray) -> None:
        """``y += sqrt(s) * xi`` in place (float32, C-contiguous, equal sizes)."""
        yf, sf = y.reshape(-1), s.reshape(-1)
        key, start = np.uint64(self.key), np.uint64(self.counter)
        pairs = (y.size + 1) // 2
        if NOISE_THREADS > 1 and pairs >= SPLIT_PAIRS:
            # pieces start at multiples of _BLOCK, so every pair is computed by the same
            # (vector or scalar) code as in one pass: bit-identical results
            cut = [i * pairs // NOISE_THREADS // _BLOCK * _BLOCK for i in range(NOISE_THREADS)]
            cut.append(pairs)
            jobs = [_pool().submit(add_normal_noise, yf, sf, key, start, cut[i], cut[i + 1])
                    for i in range(1, NOISE_THREADS)]
            add_normal_noise(yf, sf, key, start, 0, cut[1])
            for j in jobs:
                j.result()
        else:
            add_normal_noise(yf, sf, key, start, 0, pairs)
        self.counter += pairs

    def normals(self, n: int) -> np.ndarray:
        """``n`` N(0, 1) float32 numbers from the stream (for tests and small draws)."""
        out = np.zeros(n, np.float32)
        self.add(out, np.ones(n, np.float32))
        return out


# ---------------------------------------------------------------------------- updates
@numba.njit(nogil=True, cache=True)
def mixed_transfer(chi, transferred, dW, eps, counts, nz):
    """The mixed-precision transfer (Nandakumar 2018), in place, in one pass.

    ``chi += dW``; ``c = trunc(chi / eps)``; ``chi -= c eps``; ``transferred += c eps``;
    ``counts = c`` (all 2-d, C order; counts pre-zeroed). The flat indices of the
    non-zero counts go to ``nz`` in increasing order; returns how many. The same float
    operations, in the same order, as the numpy expressions (no fast-math: no contraction).
    """
    m, n = chi.shape
    k = 0
    for i in range(m):
        for j in range(n):
            c = chi[i, j] + dW[i, j]
            q = np.trunc(c / eps)
            if q != 0.0:
                c -= q * eps
                transferred[i, j] += q * eps
                counts[i, j] = np.int64(q)
                nz[k] = i * n + j
                k += 1
            chi[i, j] = c
    return k


@numba.njit(nogil=True, inline="always")
def _popcount(v):
    v = v - ((v >> np.uint64(1)) & np.uint64(0x5555555555555555))
    v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
    v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (v * np.uint64(0x0101010101010101)) >> np.uint64(56)


@numba.njit(nogil=True, cache=True)
def coincidences(fire_d, fire_x, sign_d, sign_x, out):
    """Signed pulse coincidences of two sets of pulse streams, in place.

    ``out_ij = sign_d_i sign_x_j #{t : fire_d[t, i] and fire_x[t, j]}`` for boolean
    streams ``fire_d`` (BL, m) and ``fire_x`` (BL, n); ``out`` (m, n) int64. The streams
    are packed into 64-slot words, so a pair costs one AND and one population count per
    word; rows and columns that never fire are skipped (their counts stay 0).
    """
    bl, m = fire_d.shape
    n = fire_x.shape[1]
    nw = (bl + 63) // 64
    pd = np.zeros((m, nw), np.uint64)
    px = np.zeros((n, nw), np.uint64)
    for t in range(bl):
        w = t // 64
        bit = np.uint64(1) << np.uint64(t % 64)
        for i in range(m):
            if fire_d[t, i]:
                pd[i, w] |= bit
        for j in range(n):
            if fire_x[t, j]:
                px[j, w] |= bit
    cols = np.empty(n, np.int64)
    nc = 0
    for j in range(n):
        any_ = False
        for w in range(nw):
            if px[j, w] != 0:
                any_ = True
        if any_:
            cols[nc] = j
            nc += 1
    for i in range(m):
        live = False
        for w in range(nw):
            if pd[i, w] != 0:
                live = True
        if not live:
            continue
        for k in range(nc):
            j = cols[k]
            c = np.uint64(0)
            for w in range(nw):
                c += _popcount(pd[i, w] & px[j, w])
            out[i, j] = np.int64(c) * sign_d[i] * sign_x[j]
