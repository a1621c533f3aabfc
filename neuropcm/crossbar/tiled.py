"""A banded matrix stored only where its band reaches: crossbar tiles along the diagonal.

A matrix ``A`` (m x n) with lower bandwidth ``p`` and upper bandwidth ``q`` (``A_ij = 0``
unless ``-p <= j - i <= q``) is cut into blocks of ``B`` consecutive rows. Block ``k``
(rows ``i0 <= i < i1``) is one :class:`~neuropcm.crossbar.Crossbar` holding the dense
rectangle ``A[i0:i1, c0:c1]`` with ``c0 = max(i0 - p, 0)`` and ``c1 = min(i1 + q, n)``:
the columns the band of those rows reaches. The forward read is ``y[i0:i1] = T_k x[c0:c1]``
for every tile, the transposed read ``y[c0:c1] += T_k^T x[i0:i1]``. A tile stores
``(i1 - i0)(c1 - c0)`` weights, of which ``(i1 - i0)(p + q + 1)`` minus the corners lie in
the band; the rest are zeros stored as such (they are programmed and read like any
weight). With ``B = m`` (one tile) and ``p, q >= n`` this is a plain dense crossbar.

Example: a 5000 x 5000 matrix with 12 diagonals on each side and ``B = 12`` is 417
tiles of 12 x 36 weights instead of one 5000 x 5000 array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from ..errors import ParameterError, ShapeError
from ..random import check_seed, int_seed
from ..units import to_si
from .crossbar import Crossbar
from .state import check_finite_entries, check_matrix, check_real_dtype

__all__ = ["Tile", "BandedCrossbar", "bandwidths"]


@dataclass(frozen=True)
class Tile:
    """One crossbar tile: ``crossbar`` stores ``A[rows, cols]``."""

    rows: slice
    cols: slice
    crossbar: Crossbar


def bandwidths(A) -> tuple[int, int]:
    """Lower and upper bandwidth ``(p, q)`` of a dense or sparse matrix: the largest
    ``i - j`` and ``j - i`` over its non-zero entries (0 for a diagonal or zero matrix)."""
    C = sp.coo_matrix(A)
    nz = C.data != 0
    if not nz.any():
        return 0, 0
    d = C.col[nz].astype(np.int64) - C.row[nz].astype(np.int64)
    return int(max(-d.min(), 0)), int(max(d.max(), 0))


def _whole(v, name, minimum):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ParameterError(f"{name} = {v!r} must be a whole number >= {minimum}")
    return int(v)


def _check_matrix(A) -> sp.csr_matrix:
    """``A`` (dense or scipy.sparse) as a finite, non-empty, real CSR matrix: the crossbar's
    own rules (:func:`~neuropcm.crossbar.state.check_matrix`)."""
    if not sp.issparse(A):
        return sp.csr_matrix(check_matrix(A, "A"))
    check_real_dtype(A.dtype, "A")
    M = sp.csr_matrix(A, dtype=float)
    if 0 in M.shape:
        raise ShapeError(f"A has shape {M.shape}; a crossbar stores a non-empty matrix")
    check_finite_entries(M.data, "A")
    return M


class BandedCrossbar(LinearOperator):
    """A banded matrix stored as crossbar tiles along the diagonal (module docstring).

    Parameters
    ----------
    A : array_like or scipy.sparse matrix (m, n)
        The matrix; entries outside the band must be zero (a non-zero one is refused, not
        dropped).
    preset : str or DeviceParams, default "joshi2020"
        Device preset of every tile (passed positionally to :class:`Crossbar`).
    lower, upper : int, optional
        Lower and upper bandwidth; default those of ``A`` (:func:`bandwidths`).
    tile_rows : int, default 12
        Rows per tile ``B`` (the last tile may have fewer).
    mapping : str, default "differential"
        Mapping of every tile (:mod:`neuropcm.crossbar.mapping`).
    seed : int or None
        Seed of the run; tile ``k`` gets ``neuropcm.random.int_seed(seed, "tile", k)``.
    **options
        :class:`Crossbar` options of every tile (``devices_per_weight``, ``tol``,
        ``max_iterations``, ``drift_compensation``, ...). Each tile maps its own largest
        weight to ``g_target`` unless ``w_max`` is given.

    Notes
    -----
    :attr:`n_mvm` counts applications of the whole operator (one per input vector,
    forward or transposed); every one reads each device of every tile once (the tiles'
    device counters, :meth:`totals`). Reads a tile makes on its own (calibration for
    drift compensation) are booked on its devices too but are no operator MVMs.
    """

    def __init__(self, A, preset="joshi2020", *, lower=None, upper=None, tile_rows=12,
                 mapping="differential", seed=None, **options):
        M = _check_matrix(A)
        m, n = M.shape
        p0, q0 = bandwidths(M)
        p = p0 if lower is None else _whole(lower, "lower", 0)
        q = q0 if upper is None else _whole(upper, "upper", 0)
        if p0 > p or q0 > q:
            C = M.tocoo()
            d = C.col.astype(np.int64) - C.row.astype(np.int64)
            k = int(np.flatnonzero(((d < -p) | (d > q)) & (C.data != 0))[0])
            raise ParameterError(f"A[{C.row[k]}, {C.col[k]}] = {float(C.data[k])!r} lies "
                                 f"outside the band (lower={p}, upper={q}); give wider "
                                 f"bandwidths or zero the entry")
        B = _whole(tile_rows, "tile_rows", 1)
        if seed is not None:
            seed = check_seed(seed)
        super().__init__(dtype=np.dtype(options.get("dtype", "float64")), shape=(m, n))
        self.lower, self.upper, self.tile_rows = p, q, B
        self.seed = seed
        self.n_mvm = 0
        self.tiles: list[Tile] = []
        for k, i0 in enumerate(range(0, m, B)):
            i1 = min(i0 + B, m)
            c0, c1 = max(i0 - p, 0), min(i1 + q, n)
            if c0 >= c1:  # rows whose band lies wholly right of the matrix: nothing stored
                continue
            s = None if seed is None else int_seed(seed, "tile", k)
            xb = Crossbar(M[i0:i1, c0:c1].toarray(), preset, mapping=mapping, seed=s, **options)
            self.tiles.append(Tile(slice(i0, i1), slice(c0, c1), xb))

    # ------------------------------------------------------------------ sizes
    @property
    def band_size(self) -> int:
        """Number of positions ``(i, j)`` of the matrix inside the band."""
        m, n = self.shape
        return int(sum(max(min(i + self.upper, n - 1) - max(i - self.lower, 0) + 1, 0)
                       for i in range(m)))

    @property
    def stored_weights(self) -> int:
        """Weights held by the tiles (band positions plus the zeros filling each tile)."""
        return int(sum((t.rows.stop - t.rows.start) * (t.cols.stop - t.cols.start)
                       for t in self.tiles))

    @property
    def devices(self) -> int:
        """Devices of all tiles (every array of every crossbar)."""
        return int(sum(a.size for t in self.tiles for a in t.crossbar.arrays.values()))

    @property
    def read_devices(self) -> int:
        """Devices read by one operator MVM (all but LRS reference columns)."""
        return int(sum(a.size for t in self.tiles
                       for name, a in t.crossbar.arrays.items() if name != "lrs"))

    # ------------------------------------------------------------------ time
    @property
    def time(self) -> float:
        """The tiles' common clock (s)."""
        return self.tiles[0].crossbar.time if self.tiles else 0.0

    def advance(self, seconds) -> "BandedCrossbar":
        """Advance every tile's clock by ``seconds`` (s or a Brian2 time)."""
        v = to_si(seconds, "s", "seconds")
        if not (isinstance(v, float) and math.isfinite(v) and v >= 0):
            raise ParameterError(f"seconds = {seconds!r} must be a finite, non-negative time")
        for t in self.tiles:
            t.crossbar.advance(v)
        return self

    def at(self, t) -> "BandedCrossbar":
        """Move every tile's clock to the absolute time ``t`` (s); returns the operator."""
        v = to_si(t, "s", "t")
        if not (isinstance(v, float) and math.isfinite(v)) or v < self.time:
            raise ParameterError(f"t = {t!r} must be a finite time >= the clock {self.time!r} "
                                 f"s; time only moves forward")
        return self.advance(v - self.time)

    # ------------------------------------------------------------------ reads
    def _check(self, x, dim):
        x = np.asarray(x)
        if x.dtype.kind not in "fiub":
            raise ParameterError(f"x must be a real numeric array, got dtype {x.dtype}")
        if x.ndim not in (1, 2) or x.shape[0] != dim:
            raise ShapeError(f"x has shape {x.shape}; expected ({dim},) or ({dim}, batch) for "
                             f"an operator of shape {self.shape}")
        if not np.isfinite(x).all():
            raise ParameterError("x contains NaN or Inf; inputs must be finite")
        return x.astype(float, copy=False)

    def _apply(self, x, transpose):
        m, n = self.shape
        x = self._check(x, m if transpose else n)
        out = np.zeros(((n if transpose else m),) + x.shape[1:], dtype=self.dtype)
        for t in self.tiles:
            if transpose:
                out[t.cols] += t.crossbar.H @ x[t.rows]
            else:
                out[t.rows] = t.crossbar @ x[t.cols]
        self.n_mvm += 1 if x.ndim == 1 else x.shape[1]
        return out

    def matvec(self, x):
        """Forward read ``A x`` (x of shape (n,) or (n, batch))."""
        return self._apply(x, False)

    def rmatvec(self, x):
        """Transposed read ``A^T x``."""
        return self._apply(x, True)

    matmat, rmatmat = matvec, rmatvec
    _matvec = _matmat = matvec
    _rmatvec = _rmatmat = rmatvec

    def __matmul__(self, x):
        if isinstance(x, LinearOperator) or np.isscalar(x):
            return super().__matmul__(x)
        return self._apply(x, False)

    def dot(self, x):
        if isinstance(x, LinearOperator) or np.isscalar(x):
            return super().dot(x)
        return self._apply(x, False)

    # ------------------------------------------------------------------ state
    def effective_blocks(self) -> list[np.ndarray]:
        """Per tile, the mean of its forward read at the current time (weight units): its
        :meth:`Crossbar.effective_weights` mean times its drift-compensation factor (which,
        the first time at a new clock, reads the tile's calibration inputs, as its first
        MVM would)."""
        out = []
        for t in self.tiles:
            f = t.crossbar.compensation_factor
            out.append(t.crossbar.effective_weights()[0]
                       * (np.asarray(f)[:, None] if np.ndim(f) else f))
        return out

    def effective_matrix(self) -> sp.csr_matrix:
        """:meth:`effective_blocks` assembled into one sparse (m, n) matrix."""
        rows, cols, vals = [], [], []
        for t, Mt in zip(self.tiles, self.effective_blocks()):
            r, c = np.indices(Mt.shape)
            rows.append(r.ravel() + t.rows.start)
            cols.append(c.ravel() + t.cols.start)
            vals.append(Mt.ravel())
        return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                     np.concatenate(cols))), shape=self.shape)

    def totals(self) -> dict:
        """SET, RESET and read counts, energy (J) and stuck devices summed over every tile's
        devices, and
        ``n_mvm``, the operator MVMs (see Notes of the class)."""
        out = {"n_set": 0, "n_reset": 0, "n_read": 0, "energy": 0.0, "n_stuck": 0}
        for t in self.tiles:
            for k, v in t.crossbar.totals().items():
                if k in out:
                    out[k] += v
        out["n_mvm"] = self.n_mvm
        return out

    def __repr__(self):
        return (f"BandedCrossbar(shape={self.shape}, lower={self.lower}, upper={self.upper}, "
                f"tiles={len(self.tiles)}, devices={self.devices}, time={self.time:g} s)")
