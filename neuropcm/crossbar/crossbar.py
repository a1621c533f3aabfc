"""Crossbar: a matrix stored in PCM devices, read as a scipy ``LinearOperator``."""

from __future__ import annotations

import json
import math

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ..devices import PCMArray, get_preset
from ..errors import ModelError, ParameterError, SchemaError, ShapeError
from ..units import to_si
from . import _kernels as K
from .mapping import MAPPINGS, get_mapping
from .periphery import ADC, DAC
from .update import (ThresholdRefresh, coincidence_counts, distribute, get_refresh, mean_step,
                     open_loop_pulses)

#: Options of :class:`Crossbar` with their defaults.
DEFAULTS = {
    "devices_per_weight": 1, "g_target": None, "w_max": None, "bits": 4, "tol": None,
    "max_iterations": None, "dac_bits": None, "dac_range": None, "adc_bits": None,
    "adc_range": None, "read_noise": True, "read_clip": True, "drift_compensation": None,
    "calibration_size": 16, "lrs_devices": None, "dtype": "float64",
    "update_mode": "deterministic", "epsilon": None, "pulse_length": 31,
    "refresh": "threshold", "device_overrides": None, "temperature": None,
}
COMPENSATIONS = (None, "global", "column", "lrs")
UPDATE_MODES = ("deterministic", "stochastic", "mixed")


class _Eff:
    """Effective read model at one time (see :mod:`neuropcm.crossbar.mapping`)."""

    __slots__ = ("M", "V", "vr", "groups", "noisy", "kernels")


class Crossbar(LinearOperator):
    """A real matrix ``W`` (m x n) stored in PCM devices; a ``scipy`` LinearOperator.

    ``xb @ x`` (``matvec``/``matmat``) is the analog forward read ``W x`` and ``xb.H @ x``
    (``rmatvec``) the transposed read ``W^T x``, at the crossbar's current time, through
    DAC, device reads (drift, read noise) and ADC. The crossbar holds
    :class:`~neuropcm.devices.PCMArray` objects and only calls them: programming,
    drift, read noise, SET/RESET and all counters come from the device model.

    Parameters
    ----------
    W : array_like (m, n)
        Finite real matrix to store.
    device : str or DeviceParams
        Device preset (``"joshi2020"``, ``"nandakumar2018"``, ``"binary"``, ``"ideal"``) or a
        parameter object.
    mapping : {"differential", "offset", "bit-sliced"}
        How weights become conductances (:mod:`neuropcm.crossbar.mapping`).
    seed : int or None
        Seed of all random streams (devices and reads).
    **options
        devices_per_weight : int, default 1
            K devices averaged per weight (Le Gallo et al. 2018).
        g_target : float (S), default g_max (programmed-state models) or 0.75 g_max (pulsed)
            Conductance of the largest weight (the LRS of bit-sliced weights).
        w_max : float, default max|W|
            Weight mapped to ``g_target`` (differential; sets the range for updates).
        bits : int, default 4
            Bits per weight of the bit-sliced mapping.
        tol, max_iterations :
            Passed to :meth:`PCMArray.program` (program-and-verify).
        dac_bits, dac_range : int, float
            Input DAC (:class:`~neuropcm.crossbar.periphery.DAC`); default ideal inputs.
        adc_bits, adc_range : int, float
            Output ADC per line (:class:`~neuropcm.crossbar.periphery.ADC`). Line units:
            weight x input for ``differential``/``offset``; bits x input for each bit line
            of ``bit-sliced``. Default: no ADC; ``adc_range=None`` with bits: worst case.
        read_noise : bool, default True
            Draw the read noise (False: mean reads only).
        read_clip : bool, default True
            Use the moments of the clipped device read ``max(g + s xi, 0)`` (exact mean and
            variance; the sum over devices is then Gaussian by the central limit theorem
            only). False: the Gaussian before the clip (exact in distribution, but a
            slightly biased mean for devices whose read noise reaches 0 S).
        drift_compensation : {None, "global", "column", "lrs"}
            Output rescaling: ``global``/``column`` compare a calibration read taken after
            programming with one at the current time (``sum|y(t0)| / sum|y(t)|``, over all
            outputs or per output line); ``lrs`` multiplies by the reference-LRS-column
            factor ``K = <G_LRS(t0)>/<G_LRS(t)>`` of seed 2.
        calibration_size : int, default 16
            Random +-1 calibration inputs of ``global``/``column``.
        lrs_devices : int, default n
            Devices of the LRS reference column.
        dtype : {"float64", "float32"}, default "float64"
            Precision of the effective matrices and products.
        update_mode : {"deterministic", "stochastic", "mixed"}
            Default mode of :meth:`update`.
        epsilon : float, default one mean SET step
            Weight change of one pulse (weight units); default ``s * mean_step / K``.
        pulse_length : int, default 31
            Stochastic pulse-stream length BL.
        refresh : None, "threshold", rule object or callable, default "threshold"
            Refresh rule applied after each update (:class:`ThresholdRefresh`).
        device_overrides : dict
            Device parameter overrides (SI), e.g. ``{"nu_mean_min": 0.06}``.
        temperature : float (K) or brian2 quantity
            Operating temperature of the devices.

    Notes
    -----
    Fast reads: device reads are independent Gaussians, so a line output
    ``sum_j w_ij x_j`` is drawn exactly in distribution as ``M x + sqrt(V x^2) xi`` from the
    mean and variance matrices ``M``, ``V`` (two BLAS products, or one fused numba pass
    for a single small vector), built from :meth:`PCMArray.read_moments` and cached until
    the next write or clock change. The device read is clipped at 0 S; with
    ``read_clip=True`` (default) the mean and variance used are those of the clipped read
    (exact), and the line sum is Gaussian with them (central limit theorem); with
    ``read_clip=False`` the clip is ignored (exact in distribution where a device's read
    noise never reaches 0 S). The reference line of ``offset``/``bit-sliced`` is one read
    shared by all outputs of a forward MVM (correlated noise), as in hardware. float32
    noise comes from a Box-Muller source (:func:`neuropcm.crossbar._kernels.normals`),
    float64 from ``Generator.standard_normal``. Every MVM books one read per device and
    input vector on the device counters (lazily: :meth:`device_arrays` and
    :meth:`totals` bring them up to date). Change devices only through the crossbar, or
    its caches go stale.
    """

    def __init__(self, W, device="joshi2020", mapping="differential", seed=None, **options):
        opts = _parse_options(options)
        W = _check_matrix(W)
        params = get_preset(device, **(opts["device_overrides"] or {}))
        mcls = get_mapping(mapping)
        self._setup(W, params, device if isinstance(device, str) else "custom", mcls, seed,
                    opts)
        self._create_arrays()
        self._program()

    # ------------------------------------------------------------------ construction
    def _setup(self, W, params, device_name, mcls, seed, opts):
        dtype = np.dtype(opts["dtype"])
        super().__init__(dtype=dtype, shape=W.shape)
        self.params = params
        self.device = device_name
        self.options = opts
        self.seed = seed
        self._ss = np.random.SeedSequence(seed)
        children = self._ss.spawn(8)
        self._child_seeds = [int(c.generate_state(1, dtype=np.uint64)[0] >> 1) for c in children]
        self.rng = np.random.default_rng(children[0])
        g_target = opts["g_target"]
        if g_target is None:
            g_target = params.g_max if params.model != "pulsed" else 0.75 * params.g_max
        g_target = to_si(g_target, "S", "g_target")
        if not (isinstance(g_target, float) and 0 < g_target <= params.g_max * (1 + 1e-12)):
            raise ParameterError(f"g_target = {opts['g_target']!r} must be a conductance in "
                                 f"(0, g_max = {params.g_max!r}] S")
        if opts["g_target"] is not None:
            opts["g_target"] = g_target  # plain SI float from here on (storable)
        if opts["temperature"] is not None:
            opts["temperature"] = to_si(opts["temperature"], "K", "temperature")
        k = opts["devices_per_weight"]
        self.mapping = mcls(W, params, k, g_target, w_max=opts["w_max"], bits=opts["bits"])
        self.dac = DAC(opts["dac_bits"], opts["dac_range"])
        self.adc = ADC(opts["adc_bits"], opts["adc_range"])
        self._normalise = self.dac.range is None and (self.dac.bits is not None or self.adc.on)
        self._compensation = opts["drift_compensation"]
        self.refresh_rule = get_refresh(opts["refresh"])
        self.update_mode = opts["update_mode"]
        self.arrays: dict[str, PCMArray] = {}
        self._pending = 0
        self._version = 0
        self._cache_key = None
        self._eff_cache = None
        self._comp_cache = {}
        self._calib = {}
        self._adc_ranges = None
        self.n_refresh = 0
        self.n_mvm = 0
        m, n = W.shape
        self.chi = np.zeros((m, n))
        self.transferred = np.zeros((m, n))
        self._rr = {"G_plus": np.zeros((m, n), np.int64), "G_minus": np.zeros((m, n), np.int64)}
        self.program_results = {}

    def _create_arrays(self):
        o = self.options
        for i, (name, shape) in enumerate(self.mapping.array_shapes().items()):
            self.arrays[name] = PCMArray(shape, self.params, seed=self._child_seeds[1 + i],
                                         temperature=o["temperature"])
            self.arrays[name].preset = self.device
        if self.compensation == "lrs":
            n_lrs = o["lrs_devices"] or self.shape[1]
            self.arrays["lrs"] = PCMArray(int(n_lrs), self.params, seed=self._child_seeds[7],
                                          temperature=o["temperature"])
            self.arrays["lrs"].preset = self.device
        self._clock = next(iter(self.arrays.values()))

    def _program(self):
        kw = {k: self.options[k] for k in ("tol", "max_iterations") if self.options[k] is not None}
        self.program_results = self.mapping.program(self.arrays, **kw)
        if "lrs" in self.arrays:
            self.program_results["lrs"] = self.arrays["lrs"].program(
                np.full(self.arrays["lrs"].shape, self.mapping.lrs_target()), **kw)
        self._written()
        self._adc_ranges = self._auto_adc_ranges()
        self._calibrate()

    def program(self, W) -> "Crossbar":
        """Store a new matrix of the same shape (re-programs every device now)."""
        W = _check_matrix(W)
        if W.shape != self.shape:
            raise ShapeError(f"W has shape {W.shape}, this crossbar holds {self.shape}; build a "
                             f"new Crossbar for another shape")
        o = self.options
        self.mapping = type(self.mapping)(W, self.params, o["devices_per_weight"],
                                          self.mapping.g_target, w_max=o["w_max"], bits=o["bits"])
        self.chi[:] = 0
        self.transferred[:] = 0
        self._program()
        return self

    @property
    def compensation(self):
        """Drift compensation in use: None, "global", "column" or "lrs" (settable)."""
        return self._compensation

    @compensation.setter
    def compensation(self, value):
        if value not in COMPENSATIONS:
            raise ParameterError(f"compensation = {value!r}; use one of {list(COMPENSATIONS)}")
        if value is not None and value != self.options["drift_compensation"]:
            raise ParameterError(f"compensation {value!r} needs its calibration at programming;"
                                 f" build the crossbar with drift_compensation={value!r}")
        self._compensation = value

    @property
    def _plain(self) -> bool:
        return (self._compensation is None and not self.adc.on and self.dac.bits is None
                and self.dac.range is None)

    # ------------------------------------------------------------------ time
    @property
    def time(self) -> float:
        """The crossbar's clock (s); reads happen at this time."""
        return self._clock.time

    def advance(self, seconds) -> "Crossbar":
        """Advance the clock of every device by ``seconds`` (s or a Brian2 time)."""
        v = to_si(seconds, "s", "seconds")
        if not (isinstance(v, float) and math.isfinite(v) and v >= 0):
            raise ParameterError(f"seconds = {seconds!r} must be a finite, non-negative time")
        for a in self.arrays.values():
            a.advance(v)
        return self

    def at(self, t) -> "Crossbar":
        """Move the clock forward to the absolute time ``t`` (s) and return the crossbar,
        so that ``xb.at(3600) @ x`` reads at one hour."""
        v = to_si(t, "s", "t")
        if not (isinstance(v, float) and math.isfinite(v)):
            raise ParameterError(f"t = {t!r} must be a finite time in seconds")
        if v < self.time:
            raise ParameterError(f"t = {v!r} s is before the crossbar's clock {self.time!r} s; "
                                 f"time only moves forward")
        return self.advance(v - self.time)

    # ------------------------------------------------------------------ effective model
    def _written(self):
        self._version += 1
        self._comp_cache = {}

    def _moments(self):
        clip = self.options["read_clip"]
        return {name: tuple(np.asarray(v, float) for v in a.read_moments(clipped=clip))
                for name, a in self.arrays.items() if name != "lrs"}

    def _eff(self) -> _Eff:
        key = (self.time, self._version)
        if self._cache_key == key:
            return self._eff_cache
        if self.time < max(a.last_write.max() for a in self.arrays.values()):
            raise ParameterError("device clocks are out of step with the crossbar; move time "
                                 "only through Crossbar.advance/at")
        groups = self.mapping.groups(self._moments())
        dt = self.dtype
        e = _Eff()
        M = sum(g.coef * (g.M - (g.r[None, :] if g.r is not None else 0)) for g in groups)
        V = sum(g.coef ** 2 * g.V for g in groups)
        refs = [g.coef ** 2 * g.vr for g in groups if g.vr is not None]
        vr = sum(refs) if refs else None
        e.noisy = bool(self.options["read_noise"]) and (
            bool(np.any(V > 0)) or (vr is not None and bool(np.any(vr > 0))))
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
        self._cache_key, self._eff_cache = key, e
        return e

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
        fix = self.adc.range
        out = []
        for coef, M, V, r, vr in self._eff().groups:
            Mf = M.astype(float)
            fwd = fix or float(np.abs(Mf).sum(axis=1).max() * xm) or 1.0
            ref = None if r is None else (fix or float(np.abs(r).sum() * xm) or 1.0)
            Mt = Mf - (0 if r is None else r[None, :].astype(float))
            tr = fix or float(np.abs(Mt).sum(axis=0).max() * xm) or 1.0
            out.append((fwd, ref, tr))
        return out

    # ------------------------------------------------------------------ reads
    def _check_x(self, x, n, name="x"):
        x = np.asarray(x)
        if x.dtype.kind not in "fiub":
            raise ParameterError(f"{name} must be a real numeric array, got dtype {x.dtype}")
        if x.ndim == 1:
            x = x.reshape(-1, 1)
        if x.ndim != 2 or x.shape[0] != n:
            raise ShapeError(f"{name} has shape {x.shape}; expected ({n},) or ({n}, batch) for "
                             f"a crossbar of shape {self.shape}")
        if not np.isfinite(x).all():
            bad = x[~np.isfinite(x)].ravel()[0]
            raise ParameterError(f"{name} contains {bad!r}: inputs must be finite; remove or "
                                 f"replace NaN/Inf entries")
        return x

    def _apply(self, x, transpose):
        n = self.shape[0] if transpose else self.shape[1]
        if not transpose and self._plain:  # lean path: one vector, no periphery
            x = np.asarray(x)
            if x.ndim == 1 and x.shape[0] == n and x.dtype.kind == "f" \
                    and np.isfinite(x).all():
                return self._read1(x)
        X = self._check_x(x, n)
        Y = self._read(X, transpose)
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
        if isinstance(x, LinearOperator) or np.isscalar(x):
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
                s = e.V @ (xs * xs)
                np.maximum(s, 0, out=s)
                np.sqrt(s, out=s)
                s *= K.normals(self.rng, m, self.dtype)
                out += s
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

    def _normals(self, shape):
        return K.normals(self.rng, int(np.prod(shape)), self.dtype).reshape(shape)

    def _read(self, X, transpose, compensate=True):
        e = self._eff()
        dt = self.dtype
        B = X.shape[1]
        if self._normalise or self.dac.range is not None:
            Xs, xscale = self.dac.apply(X, dt)
        else:
            Xs, xscale = np.asarray(X, dtype=dt), None
        if not self.adc.on:
            Y = self._read_collapsed(e, Xs, transpose)
        else:
            Y = self._read_adc(e, Xs, transpose)
        if xscale is not None:
            Y *= xscale.astype(dt)[None, :]
        if compensate and self.compensation is not None:
            f = self._compensation_factor(transpose)
            Y *= f[:, None] if np.ndim(f) else f
        self._pending += B
        self.n_mvm += B
        return Y

    def _read_collapsed(self, e, Xs, transpose):
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
        Mx = e.M.T if transpose else e.M
        Y = Mx @ Xs
        if not e.noisy:
            return Y
        X2 = Xs * Xs
        S = (e.V.T if transpose else e.V) @ X2
        if transpose and e.vr is not None:
            u = Xs.sum(axis=0)
            S += np.outer(e.vr, u * u)
        xi = self._normals(S.shape)
        K.pick("add_noise", S.size)(Y, S, xi)
        if not transpose and e.vr is not None:
            sr = np.sqrt(np.maximum(e.vr @ X2, 0))
            Y -= (sr * self.rng.standard_normal(B, dtype=self.dtype))[None, :]
        return Y

    def _read_adc(self, e, Xs, transpose):
        B = Xs.shape[1]
        m, n = self.shape
        Y = np.zeros((n if transpose else m, B), dtype=self.dtype)
        X2 = Xs * Xs if e.noisy else None
        u = Xs.sum(axis=0) if transpose else None
        for (coef, M, V, r, vr), (rf, rr, rt) in zip(e.groups, self._adc_ranges):
            if transpose:
                L = M.T @ Xs
                if r is not None:
                    L -= np.outer(r, u)
                if e.noisy:
                    S = V.T @ X2
                    if vr is not None:
                        S += np.outer(vr, u * u)
                    K.pick("add_noise", S.size)(L, S, self._normals(S.shape))
                Y += coef * self.adc.apply(L, rt)
                continue
            L = M @ Xs
            if e.noisy:
                S = V @ X2
                K.pick("add_noise", S.size)(L, S, self._normals(S.shape))
            L = self.adc.apply(L, rf)
            if r is not None:
                R = (r @ Xs).reshape(1, B)
                if e.noisy and vr is not None:
                    R += np.sqrt(np.maximum(vr @ X2, 0)) * self.rng.standard_normal(
                        B, dtype=self.dtype)
                L -= self.adc.apply(R, rr)
            Y += coef * L
        return Y

    # ------------------------------------------------------------------ drift compensation
    def _calibrate(self):
        """Reference reads right after a write (time t0) for drift compensation."""
        self._calib = {"t0": self.time}
        if self.compensation in ("global", "column"):
            ncal = self.options["calibration_size"]
            for tr, dim in ((False, self.shape[1]), (True, self.shape[0])):
                Xc = self.rng.choice(np.array([-1.0, 1.0]), size=(dim, ncal))
                y0 = np.abs(self._read(Xc, tr, compensate=False)).astype(float)
                self._calib[tr] = (Xc, y0.sum(axis=1))
        elif self.compensation == "lrs":
            self._calib["lrs"] = float(self.arrays["lrs"].read().mean())

    def _compensation_factor(self, transpose):
        key = (self.time, self._version, transpose)
        if key in self._comp_cache:
            return self._comp_cache[key]
        if self.time == self._calib["t0"]:
            f = 1.0
        elif self.compensation == "lrs":
            f = self.lrs_factor()
        else:
            Xc, ref = self._calib[transpose]
            now = np.abs(self._read(Xc, transpose, compensate=False)).astype(float).sum(axis=1)
            if self.compensation == "global":
                f = float(ref.sum() / now.sum()) if now.sum() > 0 else 1.0
            else:
                f = np.where(now > 0, ref / np.where(now > 0, now, 1.0), 1.0).astype(self.dtype)
        self._comp_cache[key] = f
        return f

    def calibration_inputs(self, transpose: bool = False) -> np.ndarray | None:
        """The +-1 calibration inputs of ``global``/``column`` compensation (None otherwise)."""
        c = self._calib.get(bool(transpose))
        return None if c is None else c[0].copy()

    def lrs_factor(self) -> float:
        """Reference-LRS-column factor ``K(t) = <G_LRS(t0)>/<G_LRS(t)>`` (seed 2): reads the
        LRS column now (booked on its devices) and compares with its read after programming.
        """
        if "lrs" not in self.arrays:
            raise ModelError("this crossbar has no LRS reference column; build it with "
                             "drift_compensation='lrs'")
        if self.time == self._calib["t0"]:
            return 1.0
        now = float(self.arrays["lrs"].read().mean())
        return self._calib["lrs"] / now if now > 0 else 1.0

    @property
    def compensation_factor(self):
        """Current forward compensation factor (1 without compensation)."""
        return 1.0 if self.compensation is None else self._compensation_factor(False)

    # ------------------------------------------------------------------ updates
    @property
    def epsilon(self) -> float:
        """Weight change of one SET pulse on one device (weight units)."""
        if self.options["epsilon"] is not None:
            return float(self.options["epsilon"])
        if not self.mapping.trainable:
            raise ModelError(f"the {self.mapping.name!r} mapping does not support updates")
        return self.mapping.scale * mean_step(self.params) / self.mapping.K

    def update(self, x, d, lr, mode=None) -> np.ndarray:
        """Outer-product update ``W += lr * d x^T`` applied as SET pulses.

        Positive changes are SET pulses on G+, negative ones on G-, spread round-robin over
        the K devices of a weight; the device model decides what each pulse does.

        Parameters
        ----------
        x : array (n,) or (n, batch)
            Inputs (rows).
        d : array (m,) or (m, batch)
            Errors (outputs); the update sums over the batch.
        lr : float
            Learning rate (negative for gradient descent on ``d = dL/dy``).
        mode : {"deterministic", "stochastic", "mixed"}, optional
            ``deterministic``: ``rint(lr d x^T / epsilon)`` pulses. ``stochastic``:
            stochastic pulse coincidence of Bernoulli streams (expected count
            ``lr d_i x_j / epsilon``). ``mixed``: a float64 accumulator ``chi += lr d x^T``
            transfers ``trunc(chi/epsilon)`` whole pulses and keeps the rest (Nandakumar
            2018), so ``transferred + chi`` equals the requested total exactly.

        Returns
        -------
        ndarray of int (m, n)
            Signed pulse counts applied per weight.
        """
        if not self.mapping.trainable:
            raise ModelError(f"update needs the 'differential' mapping; this crossbar uses "
                             f"{self.mapping.name!r}")
        mode = self.update_mode if mode is None else mode
        if mode not in UPDATE_MODES:
            raise ParameterError(f"mode = {mode!r} is not an update mode; use one of "
                                 f"{list(UPDATE_MODES)}")
        m, n = self.shape
        X = self._check_x(x, n, "x").astype(float)
        D = self._check_x(d, m, "d").astype(float)
        if X.shape[1] != D.shape[1]:
            raise ShapeError(f"x has batch {X.shape[1]} but d has batch {D.shape[1]}; give the "
                             f"same number of columns")
        try:
            lr = float(lr)
        except (TypeError, ValueError):
            raise ParameterError(f"lr = {lr!r} must be a finite number") from None
        if not math.isfinite(lr):
            raise ParameterError(f"lr = {lr!r} must be a finite number")
        eps = self.epsilon
        if mode == "stochastic":
            counts = np.zeros((m, n), np.int64)
            for b in range(X.shape[1]):
                counts += coincidence_counts(self.rng, X[:, b], D[:, b], lr / eps,
                                             self.options["pulse_length"])
        else:
            dW = lr * (D @ X.T)
            if mode == "deterministic":
                counts = np.rint(dW / eps).astype(np.int64)
            else:
                self.chi += dW
                counts = np.trunc(self.chi / eps).astype(np.int64)
                self.chi -= counts * eps
        self.transferred += counts * eps
        self._apply_counts(counts)
        if self.refresh_rule is not None:
            self.refresh()
        if self.compensation is not None:
            self._calibrate()
        return counts

    def _apply_counts(self, counts):
        K_ = self.mapping.K
        for name, c in (("G_plus", np.clip(counts, 0, None)),
                        ("G_minus", np.clip(-counts, 0, None))):
            if not c.any():
                continue
            per, self._rr[name] = distribute(c, self._rr[name], K_)
            self.arrays[name].set_pulses(per)
        self._written()

    def refresh(self) -> int:
        """Apply the refresh rule to every differential pair now; returns how many pairs
        were refreshed (RESET both, difference rewritten open-loop on the larger side)."""
        rule = self.refresh_rule
        if rule is None or not self.mapping.trainable:
            return 0
        # the one refresh rule of both engines (neuropcm.devices.refresh)
        nsel = get_refresh(rule).apply(self.arrays["G_plus"], self.arrays["G_minus"])
        if nsel == 0:
            return 0
        self.n_refresh += nsel
        self._written()
        return nsel

    # ------------------------------------------------------------------ counters
    def _flush_reads(self):
        if self._pending:
            for name, a in self.arrays.items():
                if name != "lrs":
                    a.record_reads(self._pending)
            self._pending = 0

    def device_arrays(self) -> dict:
        """The crossbar's :class:`PCMArray` objects by name (reads booked up to now)."""
        self._flush_reads()
        return dict(self.arrays)

    def totals(self) -> dict:
        """SET, RESET and read counts and energy (J) summed over all devices, plus the
        crossbar's MVM vector and refresh counts."""
        self._flush_reads()
        out = {"n_set": 0, "n_reset": 0, "n_read": 0, "energy": 0.0}
        for a in self.arrays.values():
            for k, v in a.totals().items():
                out[k] += v
        out["n_mvm"] = self.n_mvm
        out["n_refresh"] = self.n_refresh
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> "Path":
        """Save the programmed crossbar (devices, mapping, scales, time, accumulators) to
        HDF5 atomically; :meth:`load` restores it exactly (random streams included)."""
        from ..io.hdf5 import atomic_h5, write_array, write_config, write_dataset

        self._flush_reads()
        opts = {k: v for k, v in self.options.items() if k != "refresh"}
        rule = self.refresh_rule
        # rule objects are stored by name; a custom callable is not stored (set
        # ``refresh_rule`` again after loading)
        opts["refresh"] = "threshold" if isinstance(rule, ThresholdRefresh) else None
        with atomic_h5(path, kind="crossbar") as f:
            write_config(f, {"mapping": self.mapping.name, "device": self.device,
                             "shape": list(self.shape), "options": opts,
                             "seed": self.seed if isinstance(self.seed, (int, type(None)))
                             else None})
            g = f.create_group("crossbar")
            g.attrs["mapping"] = self.mapping.name
            g.attrs["params"] = json.dumps(self.params.as_dict())
            g.attrs["model"] = self.params.model
            g.attrs["mapping_state"] = json.dumps(self.mapping.state())
            g.attrs["time"] = self.time
            g.attrs["time_units"] = "s"
            g.attrs["n_refresh"] = self.n_refresh
            g.attrs["n_mvm"] = self.n_mvm
            g.attrs["rng_state"] = json.dumps(self.rng.bit_generator.state, default=_jd)
            g.attrs["calib_t0"] = self._calib["t0"]
            if isinstance(rule, ThresholdRefresh):
                g.attrs["refresh_thresholds"] = [rule.upper, rule.lower]
            write_dataset(g, "W", self.mapping.W, "1")
            write_dataset(g, "chi", self.chi, "1")
            write_dataset(g, "transferred", self.transferred, "1")
            write_dataset(g, "rr_plus", self._rr["G_plus"], "count")
            write_dataset(g, "rr_minus", self._rr["G_minus"], "count")
            for tr in (False, True):
                if tr in self._calib:
                    Xc, ref = self._calib[tr]
                    write_dataset(g, f"calib_x_{int(tr)}", Xc, "1")
                    write_dataset(g, f"calib_ref_{int(tr)}", ref, "1")
            for (t, ver, tr), fac in self._comp_cache.items():
                if t == self.time and ver == self._version:  # factors in use now
                    write_dataset(g, f"comp_factor_{int(tr)}", np.asarray(fac), "1")
            if "lrs" in self._calib:
                g.attrs["calib_lrs"] = self._calib["lrs"]
                g.attrs["calib_lrs_units"] = "S"
            if self._adc_ranges is not None:
                write_dataset(g, "adc_ranges", np.array(
                    [[a, np.nan if b is None else b, c] for a, b, c in self._adc_ranges]), "1")
            for name, a in self.arrays.items():
                write_array(f.create_group(f"devices/{name}"), a)
        from pathlib import Path

        return Path(path)

    @classmethod
    def load(cls, path) -> "Crossbar":
        """Load a crossbar written by :meth:`save` (no re-programming)."""
        from ..devices.params import PARAM_CLASSES
        from ..io.hdf5 import open_h5, read_array, read_config, read_dataset

        with open_h5(path, kind="crossbar") as f:
            cfg = read_config(f)
            if "crossbar" not in f or "devices" not in f:
                raise SchemaError(f"{path}: incomplete crossbar file (no /crossbar or /devices)")
            g = f["crossbar"]
            try:
                params = PARAM_CLASSES[g.attrs["model"]](**json.loads(g.attrs["params"]))
                mname = str(g.attrs["mapping"])
            except KeyError as e:
                raise SchemaError(f"{path}: /crossbar lacks {e}") from None
            if mname not in MAPPINGS:
                raise SchemaError(f"{path}: unknown mapping {mname!r}")
            opts = _parse_options(cfg["options"])
            W = read_dataset(g, "W", "1")
            obj = cls.__new__(cls)
            obj._setup(W, params, cfg["device"], MAPPINGS[mname], cfg.get("seed"), opts)
            saved = json.loads(g.attrs["mapping_state"])
            for k, v in obj.mapping.state().items():
                if not np.isclose(v, saved[k], rtol=1e-12, atol=0):
                    raise SchemaError(f"{path}: mapping {k} = {saved[k]!r} in the file, but W "
                                      f"gives {v!r}; the file is inconsistent")
            for name in obj.mapping.array_shapes():
                obj.arrays[name] = read_array(f["devices"][name])
            if "lrs" in f["devices"]:
                obj.arrays["lrs"] = read_array(f["devices"]["lrs"])
            obj._clock = next(iter(obj.arrays.values()))
            obj.chi = read_dataset(g, "chi", "1")
            obj.transferred = read_dataset(g, "transferred", "1")
            obj._rr = {"G_plus": read_dataset(g, "rr_plus", "count"),
                       "G_minus": read_dataset(g, "rr_minus", "count")}
            obj.n_refresh = int(g.attrs["n_refresh"])
            obj.n_mvm = int(g.attrs["n_mvm"])
            obj.rng.bit_generator.state = json.loads(g.attrs["rng_state"])
            obj._calib = {"t0": float(g.attrs["calib_t0"])}
            if "refresh_thresholds" in g.attrs:
                obj.refresh_rule = ThresholdRefresh(*map(float, g.attrs["refresh_thresholds"]))
            for tr in (False, True):
                if f"calib_x_{int(tr)}" in g:
                    obj._calib[tr] = (read_dataset(g, f"calib_x_{int(tr)}", "1"),
                                      read_dataset(g, f"calib_ref_{int(tr)}", "1"))
            for tr in (False, True):
                if f"comp_factor_{int(tr)}" in g:
                    fac = read_dataset(g, f"comp_factor_{int(tr)}", "1")
                    obj._comp_cache[(obj.time, obj._version, tr)] = \
                        float(fac) if fac.ndim == 0 else fac
            if "calib_lrs" in g.attrs:
                obj._calib["lrs"] = float(g.attrs["calib_lrs"])
            if "adc_ranges" in g:
                obj._adc_ranges = [(a, None if np.isnan(b) else b, c)
                                   for a, b, c in read_dataset(g, "adc_ranges", "1").tolist()]
        return obj

    def __repr__(self):
        return (f"Crossbar(shape={self.shape}, device={self.device!r}, mapping="
                f"{self.mapping.name!r}, K={self.mapping.K}, time={self.time:g} s, "
                f"dtype={self.dtype})")


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


def _jd(o):
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {o!r}")


def _check_matrix(W) -> np.ndarray:
    try:
        W = np.asarray(W, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"W must be a real numeric matrix, got {type(W).__name__}") from None
    if W.ndim != 2 or 0 in W.shape:
        raise ShapeError(f"W has shape {W.shape}; a crossbar stores a non-empty 2-d matrix "
                         f"(m, n)")
    if not np.isfinite(W).all():
        bad = W[~np.isfinite(W)].ravel()[0]
        raise ParameterError(f"W contains {bad!r}; every weight must be finite")
    return W


def _parse_options(options: dict) -> dict:
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise ParameterError(f"unknown Crossbar option(s) {unknown}; known options: "
                             f"{sorted(DEFAULTS)}")
    o = {**DEFAULTS, **options}
    k = o["devices_per_weight"]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"devices_per_weight = {k!r} must be a positive integer")
    o["devices_per_weight"] = int(k)
    if o["drift_compensation"] not in COMPENSATIONS:
        raise ParameterError(f"drift_compensation = {o['drift_compensation']!r}; use one of "
                             f"{list(COMPENSATIONS)}")
    if o["update_mode"] not in UPDATE_MODES:
        raise ParameterError(f"update_mode = {o['update_mode']!r}; use one of "
                             f"{list(UPDATE_MODES)}")
    try:
        dt = np.dtype(o["dtype"])
    except TypeError:
        raise ParameterError(f"dtype = {o['dtype']!r}; use 'float64' or 'float32'") from None
    if dt not in (np.float32, np.float64):
        raise ParameterError(f"dtype = {o['dtype']!r}; use 'float64' or 'float32'")
    o["dtype"] = dt.name
    for name in ("calibration_size", "pulse_length"):
        v = o[name]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ParameterError(f"{name} = {v!r} must be a positive integer")
    if o["lrs_devices"] is not None and (not isinstance(o["lrs_devices"], (int, np.integer))
                                         or o["lrs_devices"] < 1):
        raise ParameterError(f"lrs_devices = {o['lrs_devices']!r} must be a positive integer")
    if o["epsilon"] is not None:
        e = o["epsilon"]
        if not (isinstance(e, (int, float)) and math.isfinite(e) and e > 0):
            raise ParameterError(f"epsilon = {e!r} must be a positive weight change per pulse")
    if o["device_overrides"] is not None and not isinstance(o["device_overrides"], dict):
        raise ParameterError(f"device_overrides = {o['device_overrides']!r} must be a dict of "
                             f"parameter values (SI)")
    return o
