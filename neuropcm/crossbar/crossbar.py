"""Crossbar: a matrix stored in PCM devices, read as a scipy ``LinearOperator``."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ..devices import PCMArray, get_preset
from ..devices.theory import saturation_conductance
from ..errors import ModelError, ParameterError, ShapeError
from ..units import to_si
from . import _kernels as K
from .compensation import KINDS as COMPENSATIONS
from .compensation import Compensation
from .mapping import check_magnitude, effective_mean, effective_variance, get_mapping
from .periphery import ADC, DAC, ClipCounter, worst_case_ranges
from .update import coincidence_counts, distribute, get_refresh, mean_step

#: Options of :class:`Crossbar` with their defaults.
DEFAULTS = {
    "devices_per_weight": 1, "g_target": None, "w_max": None, "bits": 4, "tol": None,
    "max_iterations": None, "dac_bits": None, "dac_range": None, "adc_bits": None,
    "adc_range": None, "adc_policy": "fixed", "read_noise": True, "read_clip": True,
    "drift_compensation": None, "calibration_size": 16, "lrs_devices": None, "dtype": "float64",
    "update_mode": "deterministic", "epsilon": None, "pulse_length": 31,
    "refresh": "threshold", "device_overrides": None, "temperature": None,
}
UPDATE_MODES = ("deterministic", "stochastic", "mixed")


class _Eff:
    """Effective read model at one time (see :mod:`neuropcm.crossbar.mapping`)."""

    __slots__ = ("M", "V", "vr", "groups", "noisy", "kernels", "safe")


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
        g_target : float (S), default g_max (programmed-state models) or 0.75 g_sat (pulsed:
            ``g_sat`` is the level SET pulses saturate at, :func:`~neuropcm.devices.theory.saturation_conductance`)
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
            of ``bit-sliced``. Default: no ADC; ``adc_range=None`` with bits: worst case
            of the mean output, set by ``adc_policy``.
        adc_policy : {"fixed", "calibrate"}, default "fixed"
            When the automatic ADC range is set: at programming only, or again after
            every write (:mod:`~neuropcm.crossbar.periphery`); :meth:`calibrate_adc`
            re-ranges on demand. Clipped conversions are counted (``totals()``) and
            warned about once.
        read_noise : bool, default True
            Draw the read noise (False: mean reads only).
        read_clip : bool, default True
            Use the moments of the clipped device read ``max(g + s xi, 0)`` (exact mean and
            variance; the sum over devices is then Gaussian by the central limit theorem
            only). False: the Gaussian before the clip (exact in distribution, but a
            slightly biased mean for devices whose read noise reaches 0 S).
        drift_compensation : {None, "global", "column", "lrs"}
            Output rescaling: ``global``/``column`` compare a calibration read of the
            stored state with every device at age 0 (measured at programming, updated
            for later writes) with one at the current time (``sum|y_ref| / sum|y(t)|``,
            over all outputs or per output line); ``lrs`` multiplies by the
            reference-LRS-column factor ``K = <G_LRS(t0)>/<G_LRS(t)>`` of seed 2. Writes
            keep the correction of untouched weights
            (:mod:`~neuropcm.crossbar.compensation`).
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
    shared by all outputs of a forward MVM (correlated noise), as in hardware. Batched
    float32 noise is drawn inside one fused pass ``Y += sqrt(S) xi`` from a counter-based
    stream (:class:`neuropcm.crossbar._kernels.NormalStream`), float64 noise from
    ``Generator.standard_normal``; products and noise use reused buffers. Inputs are
    checked for NaN/Inf and for magnitudes whose read would overflow the dtype (clear
    error naming the value). Every MVM books one read per device and
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
            g_target = params.g_max if params.model != "pulsed" else \
                0.75 * saturation_conductance(params)
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
        check_magnitude(W, self.mapping, dtype)
        self.dac = DAC(opts["dac_bits"], opts["dac_range"])
        self.adc = ADC(opts["adc_bits"], opts["adc_range"], opts["adc_policy"])
        self._normalise = self.dac.range is None and (self.dac.bits is not None or self.adc.on)
        self._compensation = opts["drift_compensation"]
        self._comp = Compensation(opts["drift_compensation"], opts["calibration_size"])
        self.refresh_rule = get_refresh(opts["refresh"])
        self.update_mode = opts["update_mode"]
        self.arrays: dict[str, PCMArray] = {}
        self._pending = 0
        self._version = 0
        self._cache_key = None
        self._eff_cache = None
        self._adc_ranges = None
        self._adc_stale = False
        self._clips = ClipCounter()
        self._noise = K.NormalStream(self.rng)
        self._bufs = {}
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
        self._adc_stale = False
        self._comp.calibrate(self)

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
        self._comp.written()
        if self.adc.on and self.adc.policy == "calibrate":
            self._adc_stale = True

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
        M = effective_mean(groups)
        V, vr = effective_variance(groups)
        e.noisy = bool(self.options["read_noise"]) and (
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
        return worst_case_ranges(self._eff().groups, xm, self.adc.bits, self.adc.range)

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

    def _apply(self, x, transpose):
        n = self.shape[0] if transpose else self.shape[1]
        if not transpose and self._plain:  # lean path: one vector, no periphery
            x = np.asarray(x)
            if x.ndim == 1 and x.shape[0] == n and x.dtype.kind == "f":
                with np.errstate(over="ignore"):  # |x| <= sqrt(x.x); NaN, Inf or an
                    xx = float(np.dot(x, x))      # overflow take the checked path
                if math.sqrt(xx) <= self._eff().safe[0]:
                    return self._read1(x)
        X = self._check_x(x, n, finite=False)
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
        e = self._eff()
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
        if compensate and self.compensation is not None:
            f = self._comp.factor(self, transpose)
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

    def _convert(self, L, full_range):
        """ADC conversion of the lines ``L`` in place, clipped conversions booked."""
        self._clips.book("adc", L.size, self.adc.apply(L, full_range), full_range,
                         stacklevel=8)  # the user's line for reads through xb @ x

    def _read_adc(self, e, Xs, transpose):
        if self._adc_stale:  # policy "calibrate": re-range after writes
            self.calibrate_adc()
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
                    self._add_noise(L, S)
                self._convert(L, rt)
                Y += coef * L
                continue
            L = M @ Xs
            if e.noisy:
                self._add_noise(L, V @ X2)
            self._convert(L, rf)
            if r is not None:
                R = (r @ Xs).reshape(1, B)
                if e.noisy and vr is not None:
                    R += np.sqrt(np.maximum(vr @ X2, 0)) * self.rng.standard_normal(
                        B, dtype=self.dtype)
                self._convert(R, rr)
                L -= R
            Y += coef * L
        return Y

    # ------------------------------------------------------------------ drift compensation
    def calibration_inputs(self, transpose: bool = False) -> np.ndarray | None:
        """The +-1 calibration inputs of ``global``/``column`` compensation (None otherwise)."""
        c = self._comp.x.get(bool(transpose))
        return None if c is None else c.copy()

    def lrs_factor(self) -> float:
        """Reference-LRS-column factor ``K(t) = <G_LRS(t0)>/<G_LRS(t)>`` (seed 2): reads the
        LRS column now (booked on its devices) and compares with its read after programming.
        """
        return self._comp.lrs_factor(self)

    @property
    def compensation_factor(self):
        """Current forward compensation factor (1 without compensation)."""
        return 1.0 if self.compensation is None else self._comp.factor(self, False)

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
        # pulses asked of one device at most: sum_b |lr d_ib x_jb| / epsilon
        peak = abs(lr) * float(np.abs(D).max(initial=0.0)) * float(np.abs(X).max(initial=0.0)) \
            * X.shape[1] / eps
        if not peak <= _MAX_PULSES:
            raise ParameterError(
                f"the update lr d x^T asks for up to {peak:.4g} SET pulses on one device "
                f"(lr = {lr!r}, max|d| = {np.abs(D).max():.4g}, max|x| = {np.abs(X).max():.4g}, "
                f"epsilon = {eps:.4g} per pulse), more than {_MAX_PULSES}; check the units "
                f"and scale of lr, x and d")
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
        crossbar's MVM vector and refresh counts and its DAC/ADC conversions and clipped
        (saturated) conversions (``dac_conversions``, ``dac_saturated``,
        ``adc_conversions``, ``adc_saturated``; DAC conversions are counted where a fixed
        ``dac_range`` can clip)."""
        self._flush_reads()
        out = {"n_set": 0, "n_reset": 0, "n_read": 0, "energy": 0.0}
        for a in self.arrays.values():
            for k, v in a.totals().items():
                out[k] += v
        out["n_mvm"] = self.n_mvm
        out["n_refresh"] = self.n_refresh
        out.update(self._clips.counts)
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> "Path":
        """Save the programmed crossbar (devices, mapping, scales, time, accumulators,
        calibration, counters, refresh rule) to HDF5 atomically; :meth:`load` restores it
        exactly (random streams included).

        Raises
        ------
        ParameterError
            If the refresh rule is a custom one (a callable, or an object that is not a
            named rule of :data:`~neuropcm.crossbar.update.REFRESH_RULES` rebuilt exactly
            from its attributes): files never hold code, and dropping the rule would not
            be an exact restore. Set ``refresh_rule = None`` before saving and set it
            again after loading.
        """
        from .persistence import save

        return save(self, path)

    @classmethod
    def load(cls, path) -> "Crossbar":
        """Load a crossbar written by :meth:`save` (no re-programming)."""
        from .persistence import load

        return load(cls, path)

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


_QUIET = contextlib.nullcontext()
#: Most SET pulses one update may ask of one device (beyond: a units mistake).
_MAX_PULSES = 2 ** 20


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
