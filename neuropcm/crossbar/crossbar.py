"""Crossbar: a matrix stored in PCM devices, read as a scipy ``LinearOperator``.

This module holds the class, its construction, clock, counters and state; the read paths
are :mod:`~neuropcm.crossbar.reads`, updates and refresh :mod:`~neuropcm.crossbar.update`,
the settings :mod:`~neuropcm.crossbar.config`, drift compensation
:mod:`~neuropcm.crossbar.compensation` and the HDF5 files :mod:`neuropcm.io.crossbar`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ..devices import PCMArray, get_preset
from ..devices.faults import STUCK_OFF, STUCK_ON, draw_stuck
from ..devices.theory import saturation_conductance
from ..errors import ModelError, ParameterError, SchemaError, ShapeError
from ..random import rng, seed_sequence
from ..units import to_si
from . import _kernels as K
from .circuit import CircuitReads, wires_on
from .compensation import LRSReferenceCompensation, build_compensation, checked_factor
from .config import CrossbarConfig, make_config
from .mapping import check_magnitude, get_mapping
from .periphery import ADC, DAC, ClipCounter
from .reads import ReadMixin
from .state import STATE_KEYS, check_matrix, over_devices, resolve_seed, restore  # noqa: F401
from .update import UpdateMixin, get_refresh


class Crossbar(ReadMixin, UpdateMixin, LinearOperator):
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
    preset : str or DeviceParams
        Device preset (``"joshi2020"``, ``"nandakumar2018"``, ``"binary"``, ``"ideal"``) or a
        parameter object (which keeps its provenance; :attr:`preset`).
    mapping : {"differential", "offset", "bit-sliced"}
        How weights become conductances (:mod:`neuropcm.crossbar.mapping`).
    seed : int or None
        The run's seed: every random stream is ``neuropcm.random`` path
        ``(seed, "crossbar", name)``, name ``"reads"`` (read noise), ``"noise"`` (key of
        the float32 noise stream), ``"updates"`` (stochastic updates), ``"calibration"``
        (compensation inputs), one per device array (``"G_plus"``, ``"G_minus"``,
        ``"main"``, ``"ref"``, ``"lrs"``) and ``("faults", array name)`` (the stuck
        devices of ``p_stuck_off``/``p_stuck_on``, drawn once at construction). None: fresh entropy, recorded in :attr:`seed`
        (``Crossbar(W, ..., seed=xb.seed)`` repeats the crossbar).
    config : CrossbarConfig or dict, optional
        The settings (:class:`~neuropcm.crossbar.config.CrossbarConfig`); default all
        defaults.
    **options
        Fields of :class:`~neuropcm.crossbar.config.CrossbarConfig` by their flat names
        (``devices_per_weight``, ``adc_bits``, ``drift_compensation``, ``refresh``, ...;
        listed there with units and defaults); they replace those of ``config``. An
        unknown name is refused with the list of known ones.

    Attributes
    ----------
    config : CrossbarConfig
        The frozen settings (SI values).
    params : DeviceParams
        The devices' parameters, with their provenance (:attr:`preset`).
    seed : int
        The seed all random streams derive from.
    compensation : DriftCompensation or None
        The crossbar's drift-compensation object.

    Notes
    -----
    Reads are drawn exactly in distribution from the mean and variance matrices of the
    device reads (:mod:`~neuropcm.crossbar.reads`). The device read is clipped at 0 S;
    with ``read_clip=True`` (default) the mean and variance used are those of the clipped
    read (exact), and the line sum is Gaussian with them (central limit theorem); with
    ``read_clip=False`` the clip is ignored (exact in distribution where a device's read
    noise never reaches 0 S). The reference line of ``offset``/``bit-sliced`` is one read
    shared by all outputs of a forward MVM (correlated noise), as in hardware. The ADC
    range (``adc_range=None``) is the worst case of the mean output, set at programming
    (``adc_policy="fixed"``) or again after every write (``"calibrate"``);
    :meth:`calibrate_adc` re-ranges on demand; clipped conversions are counted
    (``totals()``) and warned about once. Drift compensation (``global``, ``column``,
    ``lrs`` or a user :class:`~neuropcm.crossbar.compensation.DriftCompensation`) keeps
    correcting untouched weights through writes (:mod:`~neuropcm.crossbar.compensation`).
    Inputs are checked for NaN/Inf and for magnitudes whose read would overflow the dtype
    (clear error naming the value). Every MVM books one read per device and input vector
    on the device counters (lazily: :meth:`device_arrays` and :meth:`totals` bring them up
    to date). Change devices only through the crossbar, or its caches go stale.
    """

    def __init__(self, W, preset="joshi2020", mapping="differential", seed=None,
                 config: CrossbarConfig | dict | None = None, **options):
        cfg = make_config(config, options)
        W = check_matrix(W)
        params = get_preset(preset, **(cfg.device_overrides or {}))
        mcls = get_mapping(mapping)
        self._setup(W, params, mcls, resolve_seed(seed), cfg)
        self._create_arrays()
        self._program()

    # ------------------------------------------------------------------ construction
    def _setup(self, W, params, mcls, seed: int, cfg: CrossbarConfig):
        dtype = np.dtype(cfg.dtype)
        super().__init__(dtype=dtype, shape=W.shape)
        if cfg.device_overrides:  # quantities -> the SI values the parameters hold
            cfg = cfg.replace(device_overrides={k: float(getattr(params, k))
                                                for k in cfg.device_overrides})
        self.config = cfg
        self.params = params
        self.seed = seed
        self.rng = rng(seed, "crossbar", "reads")
        self._update_rng = rng(seed, "crossbar", "updates")
        self._noise = K.NormalStream(rng(seed, "crossbar", "noise"))
        g_target = cfg.g_target
        if g_target is None:
            g_target = params.g_max if params.model != "pulsed" else \
                0.75 * saturation_conductance(params)
        if not g_target <= params.g_max * (1 + 1e-12):
            raise ParameterError(f"g_target = {g_target!r} S must be a conductance in "
                                 f"(0, g_max = {params.g_max!r}] S")
        self.mapping = mcls(W, params, cfg.devices_per_weight, g_target, w_max=cfg.w_max,
                            bits=cfg.bits)
        check_magnitude(W, self.mapping, dtype)
        p = cfg.periphery
        self.dac = DAC(p.dac_bits, p.dac_range, p.dac_inl_lsb)
        self.adc = ADC(p.adc_bits, p.adc_range, p.adc_policy, p.adc_inl_lsb,
                       p.adc_gain_std, p.adc_offset_lsb_std)
        self._adc_spread = {}  # (direction, group) -> (g, o), drawn on first use
        self._normalise = self.dac.range is None and (self.dac.bits is not None or self.adc.on)
        self._comp = build_compensation(cfg.compensation)
        self._refresh_rule = get_refresh(cfg.update.refresh, "refresh")
        self.arrays: dict[str, PCMArray] = {}
        self._pending = 0
        self._version = 0
        self._cache_key = None
        self._eff_cache = None
        self._circuit = CircuitReads(p) if wires_on(p) else None  # IR drop (circuit.py)
        self._eff_t_key = self._eff_t_cache = None
        self._factors = {}
        self._adc_ranges = None
        self._adc_stale = False
        self._clips = ClipCounter()
        self._bufs = {}
        self.n_refresh = 0
        self.n_mvm = 0
        m, n = W.shape
        self.chi = np.zeros((m, n))
        self.transferred = np.zeros((m, n))
        self._rr = {"G_plus": np.zeros((m, n), np.int64), "G_minus": np.zeros((m, n), np.int64)}
        self.program_results = {}

    def _create_arrays(self):
        shapes = dict(self.mapping.array_shapes())
        if self._comp is not None:
            for name, targets in self._comp.reference_arrays(self).items():
                if name in shapes:
                    raise ParameterError(f"compensation {self._comp!r} asks for a reference "
                                         f"array {name!r}, a name the mapping uses")
                shapes[name] = np.shape(targets)
        for name, shape in shapes.items():
            self.arrays[name] = PCMArray(shape, self.params,
                                         seed=seed_sequence(self.seed, "crossbar", name),
                                         temperature=self.config.temperature)
        p_off, p_on = self.config.p_stuck_off, self.config.p_stuck_on
        if p_off or p_on:  # manufacturing faults: their own streams, drawn once
            for name, arr in self.arrays.items():
                code = draw_stuck(arr.shape, p_off, p_on,
                                  rng(self.seed, "crossbar", "faults", name))
                arr.stick(off=code == STUCK_OFF, on=code == STUCK_ON)
        self._clock = self.arrays[next(iter(self.mapping.array_shapes()))]

    def _program(self):
        c = self.config
        kw = {k: v for k, v in (("tol", c.tol), ("max_iterations", c.max_iterations))
              if v is not None}
        self.program_results = self.mapping.program(self.arrays, **kw)
        if self._comp is not None:
            for name, targets in self._comp.reference_arrays(self).items():
                self.program_results[name] = self.arrays[name].program(targets, **kw)
        self._written(programmed=True)
        self._adc_ranges = self._auto_adc_ranges()
        self._adc_stale = False
        if self._comp is not None:
            self._comp.calibrate(self)

    @classmethod
    def from_devices(cls, plus: PCMArray, minus: PCMArray, w_scale, shape=None, seed=None,
                     config: CrossbarConfig | dict | None = None, **options) -> "Crossbar":
        """A differential crossbar over existing device arrays (no programming, no copies).

        The crossbar reads ``W = w_scale (G+ - G-)``: its ``G_plus``/``G_minus`` arrays
        share every state array, the clock and the random stream of ``plus``/``minus``
        (the same objects when they already have shape ``(1, m, n)``; otherwise
        :class:`_SharedView` objects seeing them as ``(1, m, n)``, row-major: flat
        index ``k = i * n + j`` is weight ``(i, j)``). A write through the arrays is seen
        by the crossbar's next read after :meth:`devices_changed`; writes through the
        crossbar (updates, refresh) land in the arrays themselves.

        Parameters
        ----------
        plus, minus : PCMArray
            The two device arrays (same shape, parameters and clock).
        w_scale : float
            Weight per siemens (the mapping scale), > 0.
        shape : (m, n), optional
            The matrix shape; default the arrays' last two axes (2-d or (1, m, n) arrays).
        seed, config, **options
            As :class:`Crossbar` (``devices_per_weight`` must stay 1).
        """
        return over_devices(cls, plus, minus, w_scale, shape, seed,
                            make_config(config, options))

    def devices_changed(self) -> "Crossbar":
        """Tell the crossbar its devices were written from outside (e.g. through the
        arrays given to :meth:`from_devices`): its cached read moments are dropped."""
        self._written()
        return self

    def program(self, W) -> "Crossbar":
        """Store a new matrix of the same shape (re-programs every device now)."""
        W = check_matrix(W)
        if W.shape != self.shape:
            raise ShapeError(f"W has shape {W.shape}, this crossbar holds {self.shape}; build a "
                             f"new Crossbar for another shape")
        c = self.config
        self.mapping = type(self.mapping)(W, self.params, c.devices_per_weight,
                                          self.mapping.g_target, w_max=c.w_max, bits=c.bits)
        self.chi[:] = 0
        self.transferred[:] = 0
        self._program()
        return self

    def stream(self, name: str) -> np.random.Generator:
        """A new generator of the crossbar's random stream ``name`` (path ``(seed,
        "crossbar", name)``): the same numbers on every call."""
        return rng(self.seed, "crossbar", name)

    # ------------------------------------------------------------------ settings
    @property
    def preset(self) -> str | None:
        """Name of the devices' preset (None for hand-built parameters); the overridden
        fields are ``params.overrides``."""
        return self.params.preset

    @property
    def compensation(self):
        """The crossbar's drift-compensation object (None without compensation)."""
        return self._comp

    @property
    def refresh_rule(self):
        """The refresh rule applied after each update (None: none). Settable (a name, a
        rule object or a callable, as the ``refresh`` option); :attr:`config` follows."""
        return self._refresh_rule

    @refresh_rule.setter
    def refresh_rule(self, value):
        u = self.config.update.replace(refresh=value)
        self._refresh_rule = get_refresh(u.refresh, "refresh")
        self.config = self.config.replace(update=u)

    @property
    def update_mode(self) -> str:
        """Default mode of :meth:`update` (settable; :attr:`config` follows)."""
        return self.config.update.update_mode

    @update_mode.setter
    def update_mode(self, value):
        self.config = self.config.replace(
            update=self.config.update.replace(update_mode=value))

    @property
    def _plain(self) -> bool:
        return (self._comp is None and not self.adc.on and self.dac.bits is None
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

    def _written(self, programmed: bool = False):
        """Devices were written: caches are dropped; the compensation hears of writes after
        programming (programming itself is followed by its calibration)."""
        self._version += 1
        self._factors = {}
        if self._comp is not None and not programmed:
            self._comp.on_write(self)
        if self.adc.on and self.adc.policy == "calibrate":
            self._adc_stale = True

    # ------------------------------------------------------------------ drift compensation
    def _compensation_factor(self, transpose: bool):
        """The compensation's factor now, computed once per (time, write, direction)."""
        key = (self.time, self._version)
        if self._factors.get("key") != key:
            self._factors = {"key": key}
        if transpose not in self._factors:
            self._factors[transpose] = checked_factor(self._comp, self._comp.factor(
                self, transpose), self.shape[1 if transpose else 0])
        return self._factors[transpose]

    @property
    def compensation_factor(self):
        """Current forward compensation factor (1 without compensation)."""
        return 1.0 if self._comp is None else self._compensation_factor(False)

    def calibration_inputs(self, transpose: bool = False) -> np.ndarray | None:
        """The +-1 calibration inputs of ``global``/``column`` compensation (None otherwise)."""
        inputs = getattr(self._comp, "inputs", None)
        c = None if inputs is None else inputs(transpose)
        return None if c is None else c.copy()

    def lrs_factor(self) -> float:
        """Reference-LRS-column factor ``K(t) = <G_LRS(t0)>/<G_LRS(t)>`` (seed 2): reads the
        LRS column now (booked on its devices) and compares with its read after programming.
        """
        if not isinstance(self._comp, LRSReferenceCompensation):
            raise ModelError("this crossbar has no LRS reference column; build it with "
                             "drift_compensation='lrs'")
        return self._comp.factor(self, False)

    # ------------------------------------------------------------------ counters
    def _flush_reads(self):
        if self._pending:
            for name in self.mapping.array_shapes():
                self.arrays[name].record_reads(self._pending)
            self._pending = 0

    def device_arrays(self) -> dict:
        """The crossbar's :class:`PCMArray` objects by name (reads booked up to now)."""
        self._flush_reads()
        return dict(self.arrays)

    def totals(self) -> dict:
        """SET, RESET and read counts, energy (J) and stuck devices (``n_stuck``: faulted
        or worn out, :func:`~neuropcm.devices.faults.can_write`) summed over all devices,
        plus the crossbar's MVM vector and refresh counts and its DAC/ADC conversions and
        clipped (saturated) conversions (``dac_conversions``, ``dac_saturated``,
        ``adc_conversions``, ``adc_saturated``; DAC conversions are counted where a fixed
        ``dac_range`` can clip)."""
        self._flush_reads()
        out = {"n_set": 0, "n_reset": 0, "n_read": 0, "energy": 0.0, "n_stuck": 0}
        for a in self.arrays.values():
            for k, v in a.totals().items():
                out[k] += v
        out["n_mvm"] = self.n_mvm
        out["n_refresh"] = self.n_refresh
        out.update(self._clips.counts)
        return out

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """Everything an exact restore needs (:meth:`from_state`), as plain values.

        Keys (:data:`~neuropcm.crossbar.state.STATE_KEYS`, also importable from here):
        ``config`` (:meth:`CrossbarConfig.to_dict`), ``preset``, ``mapping`` and
        ``mapping_state``, ``seed``, ``time`` (s), the counters, the generator states of
        the streams ``reads`` and ``updates`` and the float32 noise stream ``[key,
        counter]``, the ADC clip counts, the arrays ``W``, ``chi``, ``transferred``,
        ``rr_plus``/``rr_minus`` (round-robin counters), ``adc_ranges`` ((groups, 3), NaN
        for no reference line; None without ADC), ``compensation`` (None or ``{"name",
        "settings", "state"}``, the state as ``{key: (value, units)}``), ``factors`` (the
        compensation factors in use now, by transpose flag)
        and ``arrays`` (the :class:`PCMArray` objects themselves, not copies).
        The per-line ADC gains and offsets (``adc_gain_std``, ``adc_offset_lsb_std``;
        :meth:`adc_spread`) are not stored: they are a function of ``seed`` and
        ``config``, and a restored crossbar redraws the same ones.

        Raises
        ------
        ParameterError
            If the refresh rule or the compensation is a custom object that cannot be
            rebuilt from a name and settings (files never hold code; see
            :func:`~neuropcm.crossbar.update.refresh_spec`).
        """
        config = self.config.to_dict()  # refuses custom objects before anything else
        self._flush_reads()
        if self._adc_stale:
            self.calibrate_adc()
        comp = None
        if self._comp is not None:
            comp = {"name": self._comp.name, "settings": self._comp.settings(),
                    "state": self._comp.state_dict(self)}
        factors = {}
        if self._factors.get("key") == (self.time, self._version):
            factors = {k: v for k, v in self._factors.items() if k != "key"}
        adc = None if self._adc_ranges is None else np.array(
            [[a, np.nan if b is None else b, c] for a, b, c in self._adc_ranges])
        return {
            "config": config, "preset": self.params.preset, "mapping": self.mapping.name,
            "mapping_state": self.mapping.state(), "seed": self.seed, "time": self.time,
            "n_mvm": self.n_mvm, "n_refresh": self.n_refresh,
            "rng_state": self.rng.bit_generator.state,
            "update_rng_state": self._update_rng.bit_generator.state,
            "noise_stream": [self._noise.key, self._noise.counter],
            "clip_counts": dict(self._clips.counts), "W": self.mapping.W, "chi": self.chi,
            "transferred": self.transferred, "rr_plus": self._rr["G_plus"],
            "rr_minus": self._rr["G_minus"], "adc_ranges": adc, "compensation": comp,
            "factors": factors, "arrays": dict(self.arrays)}

    @classmethod
    def from_state(cls, state: dict) -> "Crossbar":
        """Rebuild a crossbar from :meth:`state_dict` output (no re-programming).

        Everything is checked like constructor arguments (the config, the seed, W and
        the mapping's scalars, the arrays' names, shapes, clocks and parameters, the
        accumulators, generator states, ADC ranges, compensation state); the device
        arrays are used as given, so ``Crossbar.from_state(copy.deepcopy(xb.state_dict()))``
        is an independent twin of ``xb``.

        Raises
        ------
        ParameterError
            A missing key or a value that breaks a rule (one line naming it).
        """
        obj = cls.__new__(cls)
        restore(obj, state)
        return obj

    def save(self, path) -> Path:
        """Save the crossbar (devices, mapping, config, time, accumulators, calibration,
        counters, random streams) to HDF5 atomically (:mod:`neuropcm.io.crossbar`);
        :meth:`load` restores it exactly.

        Raises
        ------
        ParameterError
            If the refresh rule or the compensation is a custom object (see
            :meth:`state_dict`); no file is written. Set ``refresh_rule = None`` before
            saving and set it again after loading.
        """
        # imported here so that h5py loads only when files are used (not against a circle)
        from ..io.crossbar import save_crossbar

        return save_crossbar(path, self.state_dict())

    @classmethod
    def load(cls, path) -> "Crossbar":
        """Load a crossbar written by :meth:`save` (no re-programming), validated like
        constructor arguments; the parameters keep their provenance."""
        from ..io.crossbar import load_crossbar_state  # here: as in save

        state = load_crossbar_state(path)
        try:
            return cls.from_state(state)
        except ParameterError as e:
            raise SchemaError(f"{path}: {e}; the file is damaged or was edited") from None

    def __repr__(self):
        return (f"Crossbar(shape={self.shape}, preset={self.params.provenance!r}, mapping="
                f"{self.mapping.name!r}, K={self.mapping.K}, time={self.time:g} s, "
                f"dtype={self.dtype})")
