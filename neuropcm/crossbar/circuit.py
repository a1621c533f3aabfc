"""IR drop: the exact resistive network of a crossbar read (nodal analysis, ``scipy.sparse``).

With any of ``wire_resistance_row``, ``wire_resistance_col``, ``driver_resistance`` or
``sense_resistance`` (:class:`~neuropcm.crossbar.config.PeripheryConfig`) non-zero, a read
no longer sees the ideal currents ``I_c = sum_r g_rc V_r``: every cell has a row node and
a column node, each device is a conductance ``g_rc`` between them, neighbouring nodes of a
line are joined by one wire segment (``r_row`` along a row, ``r_col`` along a column), a
driver (ideal source ``V_r``, the DAC-coded input, in series with ``R_d``) feeds one end
of each row and a virtual-ground sense amplifier (input resistance ``R_s``) sits at one end
of each column. Kirchhoff's current law at every unknown node gives ``A v = B V`` (``A``
the symmetric positive-definite nodal conductance matrix, ``B`` the couplings to the
sources), and the output currents are ``I = C v + D V`` (current into each sense
amplifier). The network is linear in ``V``, so at one conductance state it is the matrix

.. math::  T = C A^{-1} B + D, \\qquad I = T V,

computed once from one sparse LU factorisation (``scipy.sparse.linalg.splu``) of ``A``
and reused by every input vector of every read until the conductances change; with all
four resistances 0, ``T = g^T`` (the ideal read). Cost: the nodes are eliminated in a
nested-dissection order with the line heads last (:func:`_dissection`), so the
factorisation of the ``n x n`` array's ``2 n^2`` nodes costs ``O(n^3)`` and leaves the
Schur complement of the ``2 n`` heads, from which ``T`` follows by two dense triangular
solves (:class:`NodalNetwork`); a batch read is then one product with ``T``, as the ideal
read is with ``g^T`` (``scripts/bench_crossbar.py --ir-drop`` times both).

Layout: line ``k`` of either kind has its periphery at its end next to cell 0 of the
other kind (rows driven next to column 0, columns sensed next to row 0), and a line of
``N`` cells has ``N`` segments (one from its periphery to its first cell), so the far cell
of a driven row of ``N`` cells sees, to first order in ``r g``, the relative drop
``r g N (N + 1) / 2``. The transposed read drives the columns (through ``R_d``) and senses
the rows (through ``R_s``) from the same ends: it is the forward read of the transposed
array with ``r_row`` and ``r_col`` swapped. With ``R_d = R_s`` that is the same network
with the same port resistors, and by reciprocity (the short-circuit transfer conductances
of a passive resistive network are symmetric) its matrix is the forward one transposed:
the transposed read then reuses the forward networks.

Mapping onto physical arrays (:mod:`~neuropcm.crossbar.mapping`): weight ``W[i, j]``
(output ``i``, input ``j``) sits at row ``j`` and column ``i``; every physical device array
of the mapping (``G+`` and ``G-`` of each of the K devices, each bit slice and device of
``bit-sliced``) is its own crossbar with its own wires, and a reference line (``offset``,
``bit-sliced``) is a crossbar of one column. Each array's ``T`` takes the place of its
mean conductances and the mapping combines them as it combines ideal currents (K-average,
``G+ - G-``, shift-and-add), which is exact because the combination is linear.

Read noise: ``T`` is computed at the mean (drifted, clip-corrected) conductances and the
read noise is added to the outputs as on the ideal path (variance ``sum_j V_ij x_j^2`` of
the device reads). This neglects the change of the noise's weight by the IR drop of the
cell's voltages, a relative error of order (relative IR drop) x (relative read noise), and
the change of the IR drop by the noise itself, of order ``r g`` x (relative read noise);
both are second order when the read noise is small relative to ``g``. Solving the network
at the noisy conductances of each read would need one factorisation per read.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy.linalg import solve_triangular
from scipy.sparse.linalg import splu

from ..errors import ParameterError

__all__ = ["CircuitReads", "NodalNetwork", "wires_on"]

_FIELDS = ("wire_resistance_row", "wire_resistance_col", "driver_resistance",
           "sense_resistance")


def _check_resistance(v, name) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
        raise ParameterError(f"{name} = {v!r} must be a resistance in ohm (a plain number)")
    v = float(v)
    if not (math.isfinite(v) and v >= 0):
        raise ParameterError(f"{name} = {v!r} must be a finite resistance >= 0 ohm")
    return v


def wires_on(periphery) -> bool:
    """Whether a :class:`~neuropcm.crossbar.config.PeripheryConfig` asks for IR drop."""
    return any(getattr(periphery, f) != 0 for f in _FIELDS)


def _dissection(urow, wcol, shape, leaf: int = 8) -> np.ndarray:
    """Elimination order of the wire nodes of a crossbar network: geometric nested
    dissection of its cells.

    The cell rectangle is cut in two across its longer side; the nodes that join the two
    halves -- a cut across the columns is bridged only by the row wires' nodes at the cut
    column (``urow[:, m]``), a cut across the rows only by the column wires' nodes at the
    cut row (``wcol[m, :]``) -- are ordered after both halves, recursively, down to pieces
    of ``leaf`` cells. Eliminating in this order fills only within a piece and its
    separators: for the ``n x n`` array of ``N = 2 n^2`` nodes, ``O(N log N)`` fill and
    ``O(N^1.5)`` work (George 1973) against ``O(N^1.5)`` and ``O(N^2)`` of a banded order.
    The line heads (``urow[:, 0]``, ``wcol[0, :]``: the nodes tied to drivers and sense
    amplifiers) are left out: :class:`NodalNetwork` orders them last.
    """
    out = []

    def cut(r0, r1, c0, c1, xu, xw):  # xu, xw: urow[:, c0], wcol[r0, :] already ordered
        if (r1 - r0) * (c1 - c0) <= leaf:
            if urow is not None:
                out.append(urow[r0:r1, c0 + xu:c1].ravel())
            if wcol is not None:
                out.append(wcol[r0 + xw:r1, c0:c1].ravel())
        elif c1 - c0 >= r1 - r0:
            m = (c0 + c1) // 2
            cut(r0, r1, c0, m, xu, xw)
            cut(r0, r1, m, c1, 1, xw)
            if urow is not None:
                out.append(urow[r0:r1, m])
        else:
            m = (r0 + r1) // 2
            cut(r0, m, c0, c1, xu, xw)
            cut(m, r1, c0, c1, xu, 1)
            if wcol is not None:
                out.append(wcol[m, c0:c1])

    cut(0, shape[0], 0, shape[1], 1, 1)
    return np.concatenate(out) if out else np.zeros(0, np.int64)


class NodalNetwork:
    """The resistive network of one physical array, factorised once.

    Parameters
    ----------
    g : ndarray (R, C)
        Device conductances (S), finite and >= 0: row ``r`` (driven) crosses column ``c``
        (sensed) at ``g[r, c]``.
    r_row, r_col : float
        Wire resistance per cell segment of a row, a column (ohm, >= 0).
    r_driver, r_sense : float
        Driver output and sense-amplifier input resistance (ohm, >= 0).

    Notes
    -----
    Unknown nodes: a line with wire resistance > 0 has one node per cell, joined by
    ``1/r``, its first node (its *head*) tied to its source (input ``V_r`` or ground) by
    ``1/(R_p + r)``; a line without wire resistance is one node tied by ``1/R_p``
    (``R_p`` = ``R_d`` for rows, ``R_s`` for columns), or no node when ``R_p = 0`` as well
    (its potential is its source's). KCL at node ``a``:
    ``sum_b G_ab (v_a - v_b) + sum_s G_as (v_a - V_s) = 0``.

    Order and factorisation: the nodes are numbered in the elimination order of
    :func:`_dissection` with the ``k`` line heads last, and ``A`` is factorised in that
    order (``splu``, no column permutation, no pivoting: ``A`` is symmetric positive
    definite). When both rows and columns have nodes, the sources couple only to the row
    heads and the sense amplifiers read only the column heads, so ``T = C A^-1 B + D``
    needs only the head block of ``A^-1``, the inverse of the Schur complement
    ``S = L_hh U_hh`` that the factorisation leaves in its last ``k x k`` block:
    ``T = D + C_h U_hh^-1 L_hh^-1 B_h`` costs two dense triangular solves of order ``k``
    instead of one sparse solve per driven line. Otherwise (rows at their input
    potentials or columns at ground: independent lines, ``A`` a set of tridiagonal
    blocks) ``T`` is solved column by column.

    Attributes
    ----------
    size : int
        Number of unknown node voltages.
    """

    def __init__(self, g, r_row=0.0, r_col=0.0, r_driver=0.0, r_sense=0.0):
        g = np.asarray(g, dtype=float)
        if g.ndim != 2:
            raise ParameterError(f"g has shape {g.shape}; expected (rows, columns)")
        if not (np.isfinite(g).all() and (g >= 0).all()):
            bad = g[~(np.isfinite(g) & (g >= 0))].ravel()[0]
            raise ParameterError(f"g contains {bad!r}: conductances must be finite and >= 0 S")
        rr, rc = _check_resistance(r_row, "r_row"), _check_resistance(r_col, "r_col")
        rd, rs = _check_resistance(r_driver, "r_driver"), _check_resistance(r_sense, "r_sense")
        R, C = g.shape
        self.shape = (R, C)
        cells = np.arange(R * C).reshape(R, C)
        # node index of the row / column wire at each cell; -1: fixed potential
        if rr > 0:
            row = cells.copy()
        elif rd > 0:
            row = np.repeat(np.arange(R)[:, None], C, axis=1)
        else:
            row = np.full((R, C), -1)
        nr = int(row.max()) + 1
        if rc > 0:
            col = nr + cells
        elif rs > 0:
            col = nr + np.repeat(np.arange(C)[None, :], R, axis=0)
        else:
            col = np.full((R, C), -1)
        N = max(nr, int(col.max()) + 1)
        self.size = N
        # renumber in elimination order, line heads last
        heads = [h for h, on in ((row[:, 0], nr > 0), (col[0, :], N > nr)) if on]
        order = np.concatenate([_dissection(row if rr > 0 else None, col if rc > 0 else None,
                                            (R, C))] + heads).astype(np.int64)
        new = np.empty(N, np.int64)
        new[order] = np.arange(N)
        if N:
            row = np.where(row >= 0, new[np.maximum(row, 0)], -1)
            col = np.where(col >= 0, new[np.maximum(col, 0)], -1)
        self.n_heads = sum(h.size for h in heads)
        self._schur = nr > 0 and N > nr  # sources and sense only at the heads
        rin = np.repeat(np.arange(R)[:, None], C, axis=1)  # the input of each cell's row
        cout = np.repeat(np.arange(C)[None, :], R, axis=0)  # the output of each cell's column
        a_i, a_j, a_v = [], [], []        # A (N x N)
        b_i, b_j, b_v = [], [], []        # B (N x R)
        c_i, c_j, c_v = [], [], []        # C (C x N)
        d_i, d_j, d_v = [], [], []        # D (C x R)

        def node_node(a, b, G):
            a_i.extend((a, b, a, b))
            a_j.extend((a, b, b, a))
            a_v.extend((G, G, -G, -G))

        def node_input(a, r, G):
            a_i.append(a), a_j.append(a), a_v.append(G)
            b_i.append(a), b_j.append(r), b_v.append(G)

        def node_ground(a, G):
            a_i.append(a), a_j.append(a), a_v.append(G)

        if rr > 0:
            node_node(row[:, :-1].ravel(), row[:, 1:].ravel(), np.full(R * (C - 1), 1 / rr))
            node_input(row[:, 0], np.arange(R), np.full(R, 1 / (rd + rr)))
        elif rd > 0:
            node_input(row[:, 0], np.arange(R), np.full(R, 1 / rd))
        if rc > 0:
            node_node(col[:-1, :].ravel(), col[1:, :].ravel(), np.full((R - 1) * C, 1 / rc))
            node_ground(col[0, :], np.full(C, 1 / (rs + rc)))
            c_i.append(np.arange(C)), c_j.append(col[0, :]), c_v.append(np.full(C, 1 / (rs + rc)))
        elif rs > 0:
            node_ground(col[0, :], np.full(C, 1 / rs))
            c_i.append(np.arange(C)), c_j.append(col[0, :]), c_v.append(np.full(C, 1 / rs))
        gr, rw, cl = g.ravel(), row.ravel(), col.ravel()
        ri, co = rin.ravel(), cout.ravel()
        both = (rw >= 0) & (cl >= 0)
        node_node(rw[both], cl[both], gr[both])
        s = (rw >= 0) & (cl < 0)              # column at ground, row a node
        node_ground(rw[s], gr[s])
        s = (rw < 0) & (cl >= 0)              # row at its input, column a node
        node_input(cl[s], ri[s], gr[s])
        if rc == 0 and rs == 0:               # columns at ground: sum of device currents
            s = rw >= 0
            c_i.append(co[s]), c_j.append(rw[s]), c_v.append(gr[s])
            s = rw < 0
            d_i.append(co[s]), d_j.append(ri[s]), d_v.append(gr[s])

        def build(i, j, v, shape):
            if not i:
                return sp.csc_matrix(shape)
            return sp.coo_matrix((np.concatenate(v), (np.concatenate(i), np.concatenate(j))),
                                 shape=shape).tocsc()

        self.A = build(a_i, a_j, a_v, (N, N))
        self.B = build(b_i, b_j, b_v, (N, R))
        self.C = build(c_i, c_j, c_v, (C, N)).tocsr()
        self.D = build(d_i, d_j, d_v, (C, R)).toarray()
        self.lu = None
        if N:  # symmetric positive definite: our order, no pivoting
            self.lu = splu(self.A, permc_spec="NATURAL", diag_pivot_thresh=0.0,
                           options={"SymmetricMode": True})
            ident = np.arange(N)
            self._schur &= bool(np.array_equal(self.lu.perm_c, ident)
                                and np.array_equal(self.lu.perm_r, ident))

    def currents(self, V) -> np.ndarray:
        """Sense-amplifier currents (A) for driver voltages ``V`` (V), shape (R,) or
        (R, batch) -> (C,) or (C, batch): ``C A^-1 B V + D V`` solved in full (the path
        :meth:`transfer` is checked against)."""
        V = np.asarray(V, dtype=float)
        V2 = V.reshape(self.shape[0], -1)
        out = self.D @ V2
        if self.lu is not None:
            out = out + self.C @ self.lu.solve(np.asfortranarray(self.B @ V2))
        return out.reshape((self.shape[1],) + V.shape[1:])

    def transfer(self, method: str = "auto", block: int = 64) -> np.ndarray:
        """The matrix ``T`` (C, R) of :math:`I = T V` (siemens).

        ``method="auto"``: from the Schur complement of the line heads when both rows and
        columns have nodes (class notes), else as ``"solve"``; ``"solve"``: one solve of
        the factorised network per driven line, ``block`` right-hand sides at a time (the
        reference the Schur path is tested and benchmarked against).
        """
        if method not in ("auto", "solve"):
            raise ParameterError(f"method = {method!r} must be 'auto' or 'solve'")
        R = self.shape[0]
        T = self.D.copy()
        if self.lu is None:
            return T
        if self._schur and method == "auto":
            n, k = self.size, self.n_heads
            L = self.lu.L.tocsc()[n - k:, n - k:].toarray()  # one full copy at a time
            U = self.lu.U.tocsc()[n - k:, n - k:].toarray()
            Y = solve_triangular(L, self.B[n - k:].toarray(), lower=True, unit_diagonal=True,
                                 check_finite=False)
            Y = solve_triangular(U, Y, lower=False, check_finite=False)
            return T + self.C[:, n - k:] @ Y
        for k in range(0, R, block):
            rhs = np.asfortranarray(self.B[:, k:k + block].toarray())
            T[:, k:k + block] += self.C @ self.lu.solve(rhs)
        return T


class CircuitReads:
    """The IR-drop matrices of a crossbar's device arrays, cached per conductance state.

    For each device array and direction the last two mean-conductance states solved (the
    reads' and the drift compensation's age-0 reference) are kept with their matrices
    ``T``; a rebuild of the crossbar's read model (after a write, a refresh or a clock
    change, :meth:`Crossbar._written`) passes the current means, and only arrays whose
    means changed are factorised again (an advance without drift costs none).
    :attr:`n_factorisations` counts the LU factorisations done.
    """

    def __init__(self, periphery):
        self.r_row = periphery.wire_resistance_row
        self.r_col = periphery.wire_resistance_col
        self.r_driver = periphery.driver_resistance
        self.r_sense = periphery.sense_resistance
        self.n_factorisations = 0
        self._cache = {}

    def transfer(self, g, transpose: bool) -> np.ndarray:
        """``T`` of one physical array whose weight-layout conductances are ``g`` (out, in),
        in the same layout: forward ``I_out = T x``; transposed ``I_in = T^T x``."""
        if transpose:  # drive the columns (output lines), sense the rows (input lines)
            net = NodalNetwork(g, self.r_col, self.r_row, self.r_driver, self.r_sense)
            T = net.transfer().T
        else:
            net = NodalNetwork(g.T, self.r_row, self.r_col, self.r_driver, self.r_sense)
            T = net.transfer()
        self.n_factorisations += net.lu is not None
        return T

    def _cached(self, key, mean, build):
        """``T`` of ``mean`` under ``key``: the last two states solved per key are kept
        (the reads' and the compensation's age-0 state, equal right after a write)."""
        entries = self._cache.setdefault(key, [])
        for i, (m, T) in enumerate(entries):
            if np.array_equal(m, mean):
                entries.insert(0, entries.pop(i))
                return T
        T = build()
        entries.insert(0, (mean.copy(), T))
        del entries[2:]
        return T

    def moments(self, moments: dict, shape, transpose: bool) -> dict:
        """``{name: (mean, std)}`` of the mapping's arrays with each mean replaced by the
        ``T`` of its physical arrays: arrays of shape (..., m, n) are stacks of crossbars,
        lower-dimensional ones (..., n) stacks of reference lines (one column of n). The
        transposed read with ``R_d = R_s`` gets the forward ``T`` (reciprocity, module
        docstring)."""
        m, n = shape
        top = max(np.ndim(mean) for mean, _ in moments.values())
        transpose = bool(transpose) and self.r_driver != self.r_sense  # else reciprocal
        out = {}
        for name, (mean, std) in moments.items():
            flat = mean.reshape(-1, 1, n) if mean.ndim < top else mean.reshape(-1, m, n)
            T = self._cached((name, transpose), mean, lambda flat=flat, mean=mean: (
                np.stack([self.transfer(g, transpose) for g in flat]).reshape(mean.shape)))
            out[name] = (T, std)
        return out

    def line_read(self, name: str, mean, reads) -> float:
        """The current per device (A at 1 V, i.e. S) of one column of devices with every
        row driven at 1 V: ``(sum_r T_r + sum_r (reads_r - mean_r)) / n`` for devices of
        mean conductance ``mean`` (n,) read as ``reads`` (S), ``T`` the column's network
        (a crossbar of one column, cached under ``name``), the read noise added to the
        solved current as in every read (module docstring). The ideal column gives the
        mean device read."""
        mean = np.asarray(mean, dtype=float).ravel()
        T = self._cached((name, False, "line"), mean,
                         lambda: self.transfer(mean.reshape(1, -1), False))
        return float(T.sum() + (np.asarray(reads, dtype=float).ravel() - mean).sum()) / mean.size
