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
four resistances 0, ``T = g^T`` (the ideal read).

Layout: line ``k`` of either kind has its periphery at its end next to cell 0 of the
other kind (rows driven next to column 0, columns sensed next to row 0), and a line of
``N`` cells has ``N`` segments (one from its periphery to its first cell), so the far cell
of a driven row of ``N`` cells sees, to first order in ``r g``, the relative drop
``r g N (N + 1) / 2``. The transposed read drives the columns (through ``R_d``) and senses
the rows (through ``R_s``) from the same ends: it is the forward read of the transposed
array with ``r_row`` and ``r_col`` swapped.

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
from scipy.sparse.linalg import splu

from ..errors import ParameterError

__all__ = ["NodalNetwork", "CircuitReads", "wires_on"]

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
    ``1/r``, its first node tied to its source (input ``V_r`` or ground) by
    ``1/(R_p + r)``; a line without wire resistance is one node tied by ``1/R_p``
    (``R_p`` = ``R_d`` for rows, ``R_s`` for columns), or no node when ``R_p = 0`` as well
    (its potential is its source's). KCL at node ``a``:
    ``sum_b G_ab (v_a - v_b) + sum_s G_as (v_a - V_s) = 0``.

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
        if N:  # symmetric positive definite: no pivoting, a symmetric fill-reducing order
            self.lu = splu(self.A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                           options={"SymmetricMode": True})

    def currents(self, V) -> np.ndarray:
        """Sense-amplifier currents (A) for driver voltages ``V`` (V), shape (R,) or
        (R, batch) -> (C,) or (C, batch): ``C A^-1 B V + D V``."""
        V = np.asarray(V, dtype=float)
        V2 = V.reshape(self.shape[0], -1)
        out = self.D @ V2
        if self.lu is not None:
            out = out + self.C @ self.lu.solve(np.asfortranarray(self.B @ V2))
        return out.reshape((self.shape[1],) + V.shape[1:])

    def transfer(self, block: int = 64) -> np.ndarray:
        """The matrix ``T`` (C, R) of :math:`I = T V` (siemens): one solve per driven line,
        ``block`` right-hand sides at a time."""
        R, C = self.shape
        T = self.D.copy()
        if self.lu is not None:
            for k in range(0, R, block):
                rhs = np.asfortranarray(self.B[:, k:k + block].toarray())
                T[:, k:k + block] += self.C @ self.lu.solve(rhs)
        return T


class CircuitReads:
    """The IR-drop matrices of a crossbar's device arrays, cached per conductance state.

    For each device array and direction the mean conductances last solved are kept with
    their matrices ``T``; a rebuild of the crossbar's read model (after a write, a refresh
    or a clock change, :meth:`Crossbar._written`) passes the current means, and only
    arrays whose means changed are factorised again (an advance without drift costs none).
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

    def moments(self, moments: dict, shape, transpose: bool) -> dict:
        """``{name: (mean, std)}`` of the mapping's arrays with each mean replaced by the
        ``T`` of its physical arrays: arrays of shape (..., m, n) are stacks of crossbars,
        lower-dimensional ones (..., n) stacks of reference lines (one column of n)."""
        m, n = shape
        top = max(np.ndim(mean) for mean, _ in moments.values())
        out = {}
        for name, (mean, std) in moments.items():
            key = (name, bool(transpose))
            hit = self._cache.get(key)
            if hit is not None and np.array_equal(hit[0], mean):
                out[name] = (hit[1], std)
                continue
            lines = mean.ndim < top
            flat = mean.reshape(-1, 1, n) if lines else mean.reshape(-1, m, n)
            T = np.stack([self.transfer(g, transpose) for g in flat]).reshape(mean.shape)
            self._cache[key] = (mean.copy(), T)
            out[name] = (T, std)
        return out
