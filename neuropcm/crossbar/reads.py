"""The read paths of a :class:`~neuropcm.crossbar.Crossbar`: the effective read model and
the forward/transposed MVMs through DAC, devices and ADC.

Device reads are independent Gaussians, so a line output ``sum_j w_ij x_j`` is drawn exactly
in distribution as ``M x + sqrt(V x^2) xi`` from the mean and variance matrices ``M``, ``V``
(weight units; :mod:`~neuropcm.crossbar.mapping`), built from
:meth:`~neuropcm.devices.PCMArray.read_moments` and cached until the next write or clock
change: two BLAS products, or one fused numba pass for a single small vector
(:mod:`~neuropcm.crossbar._kernels`). Read noise comes from the crossbar's stream
``"reads"`` (float64: ``Generator.standard_normal``; batched float32: the counter-based
stream :class:`~neuropcm.crossbar._kernels.NormalStream` keyed from the stream
``"noise"``).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ..errors import ModelError, ParameterError, ShapeError
from ..random import rng
from . import _kernels as K
from .mapping import effective_mean, effective_variance
from .periphery import worst_case_ranges


class _Eff:
    """Effective read model at one time (see :mod:`neuropcm.crossbar.mapping`)."""

    __slots__ = ("M", "V", "groups", "kernels", "noisy", "safe", "vr")


class ReadMixin:
    """The effective read model and the read paths of a crossbar (see the module
    docstring); mixed into :class:`~neuropcm.crossbar.Crossbar`."""

    def _moments(self):
        clip = self.config.read_clip
        return {name: tuple(np.asarray(v, float)
                            for v in self.arrays[name].read_moments(clipped=clip))
                for name in self.mapping.array_shapes()}

    def _eff(self, transpose: bool = False) -> _Eff:
        """The read model now; with IR drop (:mod:`~neuropcm.crossbar.circuit`) the
        transposed read has its own (``transpose=True``), whose ``M.T`` is its matrix."""
        key = (self.time, self._version)
        tr = bool(transpose) and self._circuit is not None
        if (self._eff_t_key if tr else self._cache_key) == key:
            return self._eff_t_cache if tr else self._eff_cache
        if self.time < max(a.last_write.max() for a in self.arrays.values()):
            raise ParameterError("device clocks are out of step with the crossbar; move time "
                                 "only through Crossbar.advance/at")
        moments = self._moments()
        if self._circuit is not None:  # each array's mean -> its network's matrix T
            moments = self._circuit.moments(moments, self.shape, tr)
        groups = self.mapping.groups(moments)
        dt = self.dtype
        e = _Eff()
        M = effective_mean(groups)
        V, vr = effective_variance(groups)
        e.noisy = self.config.read_noise and (
            bool(np.any(V > 0)) or (vr is not None and bool(np.any(vr > 0))))
        e.safe = _safe_inputs(M, V, vr, e.noisy, dt)
        e.M = np.ascontiguousarray(M, dtype=dt)
        e.V = np.ascontiguousarray(V, dtype=dt) if e.noisy else None
        e.vr = np.ascontiguousarray(vr, dtype=dt) if (e.noisy and vr is not None) else None
        mn = int(M.size)
        e.kernels = (K.pick("mvm1", mn), K.pick("mean1", mn), K.pick("add_noise", mn))
        e.groups = []
        if self.adc.on:
            for g in groups:
                e.groups.append((
                    g.coef, np.ascontiguousarray(g.M, dtype=dt),
                    np.ascontiguousarray(g.V, dtype=dt) if e.noisy else None,
                    None if g.r is None else g.r.astype(dt),
                    None if (g.vr is None or not e.noisy) else g.vr.astype(dt)))
        if tr:
            self._eff_t_key, self._eff_t_cache = key, e
        else:
            self._cache_key, self._eff_cache = key, e
        return e

    @property
    def n_factorisations(self) -> int:
        """LU factorisations of IR-drop networks done so far (0 without wire/periphery
        resistance; :class:`~neuropcm.crossbar.circuit.CircuitReads`)."""
        return 0 if self._circuit is None else self._circuit.n_factorisations

    def effective_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance (weight units) of each weight's read at the current time,
        without periphery or compensation; the reference line's variance is not included
        (see :meth:`reference_variance`)."""
        e = self._eff()
        V = np.zeros(self.shape) if e.V is None else e.V.astype(float)
        return e.M.astype(float), V

    def reference_variance(self) -> np.ndarray | None:
        """Variance per input row (weight units) of the reference line (None without one)."""
        e = self._eff()
        return None if e.vr is None else e.vr.astype(float)

    @property
    def target_weights(self) -> np.ndarray:
        """The matrix the mapping represents (quantised for ``bit-sliced``)."""
        return self.mapping.target_weights

    def _auto_adc_ranges(self):
        if not self.adc.on:
            return None
        xm = self.dac.x_max if (self._normalise or self.dac.range is not None) else 1.0
        out = worst_case_ranges(self._eff().groups, xm, self.adc.bits, self.adc.range)
        if self._circuit is None:
            return out
        # with IR drop the transposed read has its own networks: its worst case is theirs
        tr = worst_case_ranges(self._eff(True).groups, xm, self.adc.bits, self.adc.range)
        return [(f, r, t[2]) for (f, r, _), t in zip(out, tr)]

    def calibrate_adc(self) -> list:
        """Re-range the ADCs now to the worst case of the current mean outputs
        (:func:`~neuropcm.crossbar.periphery.worst_case_ranges`); returns the full scales
        ``(forward, reference, transposed)`` per line group."""
        if not self.adc.on:
            raise ModelError("this crossbar has no ADC; build it with adc_bits=...")
        if self.adc.range is not None:
            raise ParameterError(f"the ADC range is fixed by adc_range = {self.adc.range!r}; "
                                 f"build the crossbar with adc_range=None to calibrate it")
        self._adc_ranges = self._auto_adc_ranges()
        self._adc_stale = False
        return list(self._adc_ranges)

    # ------------------------------------------------------------------ reads
    def _check_x(self, x, n, name="x", finite=True):
        x = np.asarray(x)
        if x.dtype.kind not in "fiub":
            raise ParameterError(f"{name} must be a real numeric array, got dtype {x.dtype}")
        if x.ndim == 1:
            x = x.reshape(-1, 1)
        if x.ndim != 2 or x.shape[0] != n:
            raise ShapeError(f"{name} has shape {x.shape}; expected ({n},) or ({n}, batch) for "
                             f"a crossbar of shape {self.shape}")
        if finite and not np.isfinite(x).all():
            _raise_nonfinite(x, name)
        return x

    def read(self, x, transpose: bool = False, compensate: bool = True) -> np.ndarray:
        """One read now: ``W x`` (or ``W^T x`` with ``transpose``) of x of shape (n,) or
        (n, batch), through DAC, devices and ADC, multiplied by the drift compensation's
        factor unless ``compensate`` is False (``xb @ x`` is ``xb.read(x)``)."""
        return self._apply(x, bool(transpose), bool(compensate))

    def _apply(self, x, transpose, compensate=True):
        n = self.shape[0] if transpose else self.shape[1]
        if not transpose and self._plain:  # lean path: one vector, no periphery
            x = np.asarray(x)
            if x.ndim == 1 and x.shape[0] == n and x.dtype.kind == "f":
                with np.errstate(over="ignore"):  # |x| <= sqrt(x.x); NaN, Inf or an
                    xx = float(np.dot(x, x))      # overflow take the checked path
                if math.sqrt(xx) <= self._eff().safe[0]:
                    return self._read1(x)
        X = self._check_x(x, n, finite=False)
        Y = self._read(X, transpose, compensate)
        return Y.reshape(-1) if np.ndim(x) == 1 else Y

    # scipy's public methods are overridden so that bad input raises NeuroPCM's errors
    def matvec(self, x):
        """Forward read ``W x`` for x of shape (n,) or (n, 1)."""
        return self._apply(x, False)

    def matmat(self, X):
        """Forward read ``W X`` for X of shape (n, batch)."""
        return self._apply(X, False)

    def rmatvec(self, x):
        """Transposed read ``W^T x`` for x of shape (m,) or (m, 1)."""
        return self._apply(x, True)

    def rmatmat(self, X):
        """Transposed read ``W^T X`` for X of shape (m, batch)."""
        return self._apply(X, True)

    def dot(self, x):
        """Forward read ``W x`` of an array ``x`` of shape (n,) or (n, batch), as
        :meth:`matvec`/:meth:`matmat` (NeuroPCM's errors on bad input).

        A scalar or another ``LinearOperator`` is not read: as in scipy's
        ``LinearOperator.dot``, the result is a scaled or product operator that reads the
        crossbar when it is applied.
        """
        if isinstance(x, LinearOperator):
            return super().dot(x)
        if np.isscalar(x):
            return super().dot(x)
        return self._apply(x, False)

    _matvec = _matmat = matvec
    _rmatvec = _rmatmat = rmatvec

    def _adjoint(self):
        return _Transposed(self)

    _transpose = _adjoint

    def __matmul__(self, x):
        if not isinstance(x, np.ndarray) and (isinstance(x, LinearOperator) or np.isscalar(x)):
            return super().__matmul__(x)
        return self._apply(x, False)

    def _read1(self, x):
        """One forward read of a validated 1-d float vector, without periphery."""
        e = self._eff()
        m = self.shape[0]
        xs = x.astype(self.dtype)
        if e.M.size >= K.BLAS_MATVEC_SIZE:  # memory bound: two multi-threaded BLAS passes
            out = e.M @ xs
            if e.noisy:
                self._add_noise(out.reshape(m, 1), (e.V @ (xs * xs)).reshape(m, 1))
        elif e.noisy:
            out = np.empty(m, dtype=self.dtype)
            e.kernels[0](e.M, e.V, xs, self.rng.standard_normal(m, dtype=self.dtype), out)
        else:
            out = np.empty(m, dtype=self.dtype)
            e.kernels[1](e.M, xs, out)
        if e.noisy and e.vr is not None:
            out -= math.sqrt(max(float(e.vr @ (xs * xs)), 0.0)) * self.rng.standard_normal()
        self._pending += 1
        self.n_mvm += 1
        return out

    def _buffer(self, name, shape):
        """A reused work array of the crossbar's dtype (contents undefined)."""
        b = self._bufs.get(name)
        if b is None or b.shape != shape:
            b = self._bufs[name] = np.empty(shape, self.dtype)
        return b

    def _add_noise(self, Y, S):
        """In place ``Y += sqrt(S) xi`` with fresh independent ``xi ~ N(0, 1)``."""
        if Y.dtype == np.float32 and Y.flags.c_contiguous and S.flags.c_contiguous:
            self._noise.add(Y, S)
            return
        xi = self._buffer("xi", Y.shape)
        self.rng.standard_normal(dtype=xi.dtype, out=xi)
        K.pick("add_noise", S.size)(Y, S, xi)

    def _read(self, X, transpose, compensate=True):
        e = self._eff(transpose)
        dt = self.dtype
        B = X.shape[1]
        dac = self._normalise or self.dac.range is not None
        X2 = None
        if not dac and X.dtype == dt and e.noisy and not self.adc.on and X.size:
            X2 = self._buffer("x2", X.shape)  # hot path: x^2 and a bound of max|x| in one pass
            a = math.sqrt(float(K.square_sum(X, X2)))
        else:
            a = float(np.max(np.abs(X))) if X.size else 0.0
        if not math.isfinite(a):  # NaN/Inf in X, or x^2 overflowed
            if not np.isfinite(X).all():
                _raise_nonfinite(X, "x")
            a = float(np.max(np.abs(X)))
        guard = self.adc.on or not a <= e.safe[int(transpose)]
        with np.errstate(over="ignore", invalid="ignore") if guard else _QUIET:
            Y = self._read_inputs(e, X, X2, transpose, compensate)
        if guard and not np.isfinite(Y).all():
            raise ParameterError(
                f"x has entries up to {float(np.max(np.abs(X))):.4g}: the read overflows "
                f"{dt.name} (largest finite {np.finfo(dt).max:.4g}); scale x down and the "
                f"outputs back up, or use dtype='float64'")
        self._pending += B
        self.n_mvm += B
        return Y

    def _read_inputs(self, e, X, X2, transpose, compensate):
        """DAC, array read, ADC, input scaling and compensation of validated inputs X."""
        dt = self.dtype
        if self._normalise or self.dac.range is not None:
            Xs, xscale, clipped = self.dac.apply(X, dt)
            if self.dac.range is not None:
                self._clips.book("dac", X.size, clipped, self.dac.range, stacklevel=6)
        else:
            Xs, xscale = np.asarray(X, dtype=dt), None
        if not self.adc.on:
            Y = self._read_collapsed(e, Xs, transpose, X2)
        else:
            Y = self._read_adc(e, Xs, transpose)
        if xscale is not None:
            Y *= xscale.astype(dt)[None, :]
        if compensate and self._comp is not None:
            f = self._compensation_factor(transpose)
            Y *= f[:, None] if np.ndim(f) else f
        return Y

    def _read_collapsed(self, e, Xs, transpose, X2=None):
        m, n = e.M.shape
        B = Xs.shape[1]
        if not transpose and B == 1 and e.M.size < K.BLAS_MATVEC_SIZE:
            out = np.empty(m, dtype=self.dtype)
            x = np.ascontiguousarray(Xs[:, 0])
            if e.noisy:
                xi = self.rng.standard_normal(m, dtype=self.dtype)
                K.pick("mvm1", m * n)(e.M, e.V, x, xi, out)
                if e.vr is not None:
                    out -= math.sqrt(max(float(e.vr @ (x * x)), 0.0)) * self.rng.standard_normal()
            else:
                K.pick("mean1", m * n)(e.M, x, out)
            return out.reshape(m, 1)
        Y = (e.M.T if transpose else e.M) @ Xs
        if not e.noisy:
            return Y
        if X2 is None:
            X2 = self._buffer("x2", Xs.shape)
            np.multiply(Xs, Xs, out=X2)
        S = self._buffer("s", Y.shape)
        np.matmul(e.V.T if transpose else e.V, X2, out=S)
        if transpose and e.vr is not None:
            u = Xs.sum(axis=0)
            S += np.outer(e.vr, u * u)
        self._add_noise(Y, S)
        if not transpose and e.vr is not None:
            sr = np.sqrt(np.maximum(e.vr @ X2, 0))
            Y -= (sr * self.rng.standard_normal(B, dtype=self.dtype))[None, :]
        return Y

    def adc_spread(self, direction: str = "forward", group: int = 0):
        """Gains ``g`` (relative) and offsets ``o`` (LSB) of the ADCs of one line group's
        output lines (:meth:`~neuropcm.crossbar.periphery.ADC.spread`); None without a
        spread (``adc_gain_std = adc_offset_lsb_std = 0``).

        ``direction``: ``"forward"`` (m lines), ``"reference"`` (the reference line of
        ``offset``/``bit-sliced``) or ``"transposed"`` (n lines): a transposed read uses
        other lines, so other ADCs. Line ``i`` converts ``y_i`` to
        ``code_i = clip(rint(((1 + g_i) y_i + o_i lsb) / lsb), lo, hi)``. Drawn once, on
        first use, from the stream ``(seed, "crossbar", "converters", direction, group)``:
        a function of the seed and the config, so a restored crossbar draws the same.
        """
        if not (self.adc.on and self.adc.spread_on):
            return None
        lines = {"forward": self.shape[0], "reference": 1, "transposed": self.shape[1]}
        if direction not in lines:
            raise ParameterError(f"direction = {direction!r}; use one of {sorted(lines)}")
        key = (direction, int(group))
        out = self._adc_spread.get(key)
        if out is None:
            gen = rng(self.seed, "crossbar", "converters", direction, int(group))
            out = self._adc_spread[key] = self.adc.spread(lines[direction], gen)
        return out

    def _convert(self, L, full_range, direction="forward", group=0):
        """ADC conversion of the lines ``L`` in place, clipped conversions booked."""
        spread = self.adc_spread(direction, group) if self.adc.spread_on else None
        self._clips.book("adc", L.size, self.adc.apply(L, full_range, spread), full_range,
                         stacklevel=8)  # the user's line for reads through xb @ x

    def _read_adc(self, e, Xs, transpose):
        if self._adc_stale:  # policy "calibrate": re-range after writes
            self.calibrate_adc()
        B = Xs.shape[1]
        m, n = self.shape
        Y = np.zeros((n if transpose else m, B), dtype=self.dtype)
        X2 = Xs * Xs if e.noisy else None
        u = Xs.sum(axis=0) if transpose else None
        for k, ((coef, M, V, r, vr), (rf, rr, rt)) in enumerate(zip(e.groups,
                                                                     self._adc_ranges)):
            if transpose:
                L = M.T @ Xs
                if r is not None:
                    L -= np.outer(r, u)
                if e.noisy:
                    S = V.T @ X2
                    if vr is not None:
                        S += np.outer(vr, u * u)
                    self._add_noise(L, S)
                self._convert(L, rt, "transposed", k)
                Y += coef * L
                continue
            L = M @ Xs
            if e.noisy:
                self._add_noise(L, V @ X2)
            self._convert(L, rf, "forward", k)
            if r is not None:
                R = (r @ Xs).reshape(1, B)
                if e.noisy and vr is not None:
                    R += np.sqrt(np.maximum(vr @ X2, 0)) * self.rng.standard_normal(
                        B, dtype=self.dtype)
                self._convert(R, rr, "reference", k)
                L -= R
            Y += coef * L
        return Y



class _Transposed(LinearOperator):
    """The transposed read of a :class:`Crossbar` (``xb.H`` / ``xb.T``)."""

    def __init__(self, xb):
        super().__init__(dtype=xb.dtype, shape=(xb.shape[1], xb.shape[0]))
        self.xb = xb

    def matvec(self, x):
        return self.xb._apply(x, True)

    def rmatvec(self, x):
        return self.xb._apply(x, False)

    matmat, rmatmat = matvec, rmatvec
    _matvec = _matmat = matvec
    _rmatvec = _rmatmat = rmatvec

    def dot(self, x):
        if isinstance(x, LinearOperator) or np.isscalar(x):
            return super().dot(x)
        return self.xb._apply(x, True)

    def _adjoint(self):
        return self.xb

    _transpose = _adjoint



_QUIET = contextlib.nullcontext()


def _raise_nonfinite(x, name):
    bad = x[~np.isfinite(x)].ravel()[0]
    raise ParameterError(f"{name} contains {bad!r}: inputs must be finite; remove or replace "
                         f"NaN/Inf entries")


def _safe_inputs(M, V, vr, noisy, dtype) -> tuple[float, float]:
    """Largest max|x| (forward, transposed) for which no product, variance or output of a
    read can overflow ``dtype``: ``|y| <= max|x| (max line sum |M| + 7 sqrt(max line sum V))``
    and ``S <= max|x|^2 max line sum V``, with a factor 1e3 to spare (compensation factors,
    rounding); the reference line's variance is included."""
    fmax = float(np.finfo(dtype).max) / 1e3
    m = M.shape[0]
    absM = np.abs(M)
    out = []
    for axis, ref_v in ((1, 0.0 if vr is None else float(vr.sum())),
                        (0, 0.0 if vr is None else float(vr.max()) * m * m)):
        bm = float(absM.sum(axis=axis).max())
        bv = float(V.sum(axis=axis).max()) + ref_v if noisy else 0.0
        lim = fmax / (bm + 7.0 * math.sqrt(bv)) if bm + bv > 0 else math.inf
        if noisy:
            lim = min(lim, math.sqrt(fmax), math.sqrt(fmax / bv) if bv > 0 else math.inf)
        out.append(lim)
    return tuple(out)

