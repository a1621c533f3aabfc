"""PCMArray: an N-d array of PCM devices with its state, clock and operations."""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError, ShapeError
from ..units import check_finite, to_si
from . import _kernels as K
from . import faults as F
from . import physics as ph
from . import validation as V
from .params import DeviceParams
from ._reads import ReadsMixin
from .presets import get_preset
from .programming import ProgramResult, program_oneshot, program_verify
from .validation import STATE_UNITS  # noqa: F401  (re-exported)

#: Largest number of normal draws :meth:`PCMArray.set_pulses` holds at once (8 MiB).
_DRAW_BLOCK = 2 ** 20


class PCMArray(ReadsMixin):
    """An N-d array of phase-change memory devices.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the array.
    preset : str or DeviceParams
        Device model: ``"nandakumar2018"`` (pulsed), ``"joshi2020"`` (programmed state),
        ``"binary"``, ``"ideal"``, or a parameter object (which brings its own provenance,
        see :attr:`preset`).
    seed : int, numpy.random.SeedSequence, numpy.random.Generator or None
        The array's random stream, from which every draw of the array (RESET spread,
        SET noise, programming noise, drift exponents, read noise) is taken in order:

        * an int ``s`` (non-negative): the stream ``neuropcm.random.rng(s)`` -- the root
          stream of seed ``s``, path ``()``; the same as ``numpy.random.default_rng(s)``;
        * a ``SeedSequence``: ``numpy.random.default_rng(seed)``; engines pass a derived
          stream, e.g. ``seed=seed_sequence(run_seed, "crossbar", "G_plus")``;
        * a ``Generator`` (e.g. ``rng(run_seed, "crossbar", "G_plus")``): used as it is,
          not copied -- the array's draws advance it, as with ``numpy.random.default_rng``;
        * None: fresh entropy from the operating system (not reproducible).

        The same seed and the same operations give the same results, bit for bit. The
        array derives no stream of its own (:mod:`neuropcm.random` is the one scheme).
    temperature : float or brian2 quantity, optional
        Operating temperature (K); default the model's reference temperature.
    **overrides : float or brian2 quantity
        Parameter values to change (SI floats or quantities), e.g. ``g_max=20e-6``.

    Notes
    -----
    State (flat float64/int64 arrays, SI): programmed conductance ``G`` (noise-free,
    un-drifted), pulse memory ``P``, time of last write ``t_prog``, drift exponent ``nu``,
    device-to-device SET factor ``f_set``, counters ``n_set``/``n_reset``/``n_read`` and
    ``energy`` and the manufacturing-fault code ``stuck`` (int8, :mod:`~.faults`).
    Devices start in the RESET state at time 0 (not counted as a pulse).
    Writes happen at the array's clock :attr:`time`; reads may look at any later time.
    Every write obeys the one stuck rule :func:`~neuropcm.devices.faults.can_write`: a
    worn-out device (:attr:`worn_out`, rule :data:`~neuropcm.devices.physics.WRITABLE`) or
    a faulted one (:meth:`stick`) stays exactly as it is. Arguments with a unit are
    checked for dimension (Brian2 quantities) or taken as SI floats; shapes and counts must
    be whole numbers -- nothing is rounded or clamped.
    """

    def __init__(self, shape, preset="nandakumar2018", seed=None, *, temperature=None,
                 **overrides):
        self.params: DeviceParams = get_preset(preset, **overrides)
        self.shape = V.as_shape(shape)
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.seed, self.rng = V.as_random_stream(seed)
        n = self.size
        self._s = {
            "G": np.zeros(n), "P": np.ones(n), "t_prog": np.zeros(n), "nu": np.zeros(n),
            "f_set": np.ones(n), "n_set": np.zeros(n, np.int64),
            "n_reset": np.zeros(n, np.int64), "n_read": np.zeros(n, np.int64),
            "energy": np.zeros(n), "stuck": np.zeros(n, np.int8),
        }
        self.time = 0.0
        self._temperature = self.params.t_ref
        if temperature is not None:
            self.temperature = temperature
        p = self.params
        if p.model == "pulsed":
            if p.set_dtod > 0:
                self._s["f_set"][:] = ph.F_SET_DEVICE(p, xi=self._normals(n))
            self._s["nu"][:] = ph.NU_DEVICE(p, xi=self._normals(n)) if p.nu_dtod > 0 else p.nu
        self._reset_idx(np.arange(n), count=False)

    # ------------------------------------------------------------------ provenance
    @property
    def preset(self) -> str | None:
        """Name of the preset of :attr:`params` (None for hand-built parameters, "custom" in
        text); which fields were overridden is ``params.overrides``. It comes from the
        parameters alone and cannot be set to anything else."""
        return self.params.preset

    @preset.setter
    def preset(self, value) -> None:
        # Older callers stamp the name they built the parameters from; accepted when it
        # agrees with the parameters (or says nothing: "custom"), refused otherwise.
        if value not in (None, "custom", self.params.preset):
            raise ParameterError(f"PCMArray.preset comes from its parameters "
                                 f"({self.params.provenance!r}) and cannot be set to "
                                 f"{value!r}; build the parameters with "
                                 f"get_preset({value!r}, ...)")

    # ------------------------------------------------------------------ state views
    def _view(self, name):
        v = self._s[name].reshape(self.shape).view()
        v.flags.writeable = False
        return v

    @property
    def conductance(self) -> np.ndarray:
        """Programmed conductance (S): noise-free, un-drifted, at the last write (read-only)."""
        return self._view("G")

    @property
    def pulse_memory(self) -> np.ndarray:
        """Pulse memory P of the pulsed model (1 right after RESET; read-only)."""
        return self._view("P")

    @property
    def last_write(self) -> np.ndarray:
        """Time of each device's last write (s; read-only)."""
        return self._view("t_prog")

    @property
    def drift_exponent(self) -> np.ndarray:
        """Per-device drift exponent nu (read-only)."""
        return self._view("nu")

    @property
    def n_set(self) -> np.ndarray:
        """SET pulses applied per device (read-only)."""
        return self._view("n_set")

    @property
    def n_reset(self) -> np.ndarray:
        """RESET pulses applied per device (read-only)."""
        return self._view("n_reset")

    @property
    def n_read(self) -> np.ndarray:
        """Reads per device (read-only)."""
        return self._view("n_read")

    @property
    def energy(self) -> np.ndarray:
        """Energy spent per device on SET, RESET and reads (J; read-only)."""
        return self._view("energy")

    @property
    def writable(self) -> np.ndarray:
        """Devices that may still be written (the stuck rule
        :func:`~neuropcm.devices.faults.can_write`: not faulted and ``n_set + n_reset <
        endurance``, :data:`~neuropcm.devices.physics.WRITABLE`)."""
        s = self._s
        return V.writable(self.params, s["n_set"], s["n_reset"], s["stuck"]).reshape(self.shape)

    @property
    def worn_out(self) -> np.ndarray:
        """Devices past their endurance (``not WRITABLE``), stuck at their last state."""
        return ~V.writable(self.params, self._s["n_set"], self._s["n_reset"]).reshape(self.shape)

    @property
    def stuck_level(self) -> np.ndarray:
        """Why each device is stuck (int8): ``faults.FREE`` (0, writable), ``STUCK_OFF``
        (1, at g_min), ``STUCK_ON`` (2, at g_max), ``STUCK_WORN`` (3, worn out at its last
        state); a fault code wins over wear-out."""
        st = self._s["stuck"].reshape(self.shape)
        return np.where((st == F.FREE) & self.worn_out, np.int8(F.STUCK_WORN), st)

    def stick(self, off=None, on=None) -> "PCMArray":
        """Make the devices of the boolean masks ``off`` (at ``G = g_min``) and ``on`` (at
        ``G = g_max``) stuck for good (manufacturing faults, :func:`~.faults.stick`: no drift,
        still read noise; saved with the state); disjoint masks."""
        F.stick(self, self._indices(np.zeros(self.shape, bool) if off is None else off),
                self._indices(np.zeros(self.shape, bool) if on is None else on))
        return self

    def totals(self) -> dict:
        """Total SET, RESET and read counts, energy (J) and stuck devices (``n_stuck``:
        faulted or worn out, :attr:`stuck_level` > 0) of the whole array."""
        s = self._s
        return {"n_set": int(s["n_set"].sum()), "n_reset": int(s["n_reset"].sum()),
                "n_read": int(s["n_read"].sum()), "energy": float(s["energy"].sum()),
                "n_stuck": int(np.count_nonzero(~self.writable))}

    # ------------------------------------------------------------------ clock
    @property
    def temperature(self) -> float:
        """Operating temperature (K); reads scale with the Arrhenius factor."""
        return self._temperature

    @temperature.setter
    def temperature(self, value) -> None:
        self._temperature = V.as_temperature(value)

    def advance(self, dt) -> "PCMArray":
        """Advance the array's clock by ``dt`` (s, or a Brian2 time quantity)."""
        self.time += V.as_time(dt, "dt")
        return self

    # ------------------------------------------------------------------ selections
    def _indices(self, mask) -> np.ndarray:
        if mask is None:
            return np.arange(self.size)
        m = np.asarray(mask)
        if m.dtype != bool:
            raise ParameterError(f"mask must be a boolean array of shape {self.shape}, got dtype "
                                 f"{m.dtype}; use e.g. G > 1e-6 or np.zeros(shape, bool)")
        try:
            m = np.broadcast_to(m, self.shape)
        except ValueError:
            raise ShapeError(f"mask of shape {m.shape} does not fit the array shape "
                             f"{self.shape}; give a boolean mask of shape {self.shape}") from None
        return np.flatnonzero(m)

    def _normals(self, n: int) -> np.ndarray:
        return self.rng.standard_normal(n)

    # ------------------------------------------------------------------ writes
    def _live(self, idx: np.ndarray) -> np.ndarray:
        """The devices of ``idx`` that may be written (stuck rule), before the write."""
        s = self._s
        return idx[V.writable(self.params, s["n_set"][idx], s["n_reset"][idx], s["stuck"][idx])]

    def _reset_idx(self, idx: np.ndarray, count: bool = True) -> None:
        p, s = self.params, self._s
        live = self._live(idx)  # before the write: the devices this RESET changes
        K.reset(s["G"], s["P"], s["t_prog"], s["n_set"], s["n_reset"], s["energy"], s["stuck"],
                idx, self._normals(idx.size), self.time, p.reset_mean, p.reset_std, p.g_min,
                p.g_max, p.e_reset, p.endurance, count)
        if p.model == "programmed":  # the write's new nu, only where the write happened
            self._draw_nu(live, s["G"][live])

    def _draw_nu(self, idx, g_target) -> None:
        """Draw the drift exponent of devices ``idx`` programmed to ``g_target`` (writable
        devices only: callers pass the devices the write changed)."""
        p = self.params
        mu = ph.NU_MEAN(p, Gt=g_target)
        sd = ph.NU_STD(p, Gt=g_target)
        self._s["nu"][idx] = np.abs(mu + sd * self._normals(idx.size))

    def reset(self, mask=None) -> "PCMArray":
        """RESET the selected devices (all by default): conductance drawn from the RESET
        distribution, pulse memory back to 1, drift clock restarted."""
        self._reset_idx(self._indices(mask))
        return self

    def set_pulse(self, mask=None, amplitude=1.0) -> "PCMArray":
        """Apply one SET pulse to the selected devices (all by default).

        Parameters
        ----------
        mask : bool array, optional
            Devices that receive the pulse.
        amplitude : float or array
            Relative pulse amplitude (dimensionless, 1 = nominal pulse); the increment
            scales linearly with it (assumed, physics.md section 1); 0 means no pulse;
            negative values, NaN/Inf and quantities with a unit are refused. An array
            must broadcast to the array shape.
        """
        idx = self._indices(mask)
        amp = V.as_amplitude(amplitude)
        if amp.ndim > 0:
            try:
                amp = np.broadcast_to(amp, self.shape).ravel()[idx]
            except ValueError:
                raise ShapeError(f"amplitude of shape {amp.shape} does not fit the array shape "
                                 f"{self.shape}") from None
        else:
            amp = amp.reshape(1)
        self._set_idx(idx, np.ascontiguousarray(amp))
        return self

    def _set_model(self):
        """The SET kernels' model arguments: ``(pulsed?, mem, mean_p, std_p)``."""
        p = self.params
        if p.model == "pulsed":
            return True, p.pulse_memory, (p.set_a, p.set_b, p.set_c), (p.set_d, p.set_e, p.set_f)
        return False, 1.0, (p.set_step,), (p.set_step_std,)

    def _set_idx(self, idx, amp) -> None:
        p, s = self.params, self._s
        pulsed, mem, mean_p, std_p = self._set_model()
        kern = K.set_pulsed if pulsed else K.set_linear
        kern(s["G"], s["P"], s["f_set"], s["t_prog"], s["n_set"], s["n_reset"], s["energy"],
             s["stuck"], idx, amp, self._normals(idx.size), self.time, mem, mean_p, std_p, p.g_min, p.g_max,
             p.e_set, p.endurance)

    def set_pulses(self, counts) -> "PCMArray":
        """Apply ``counts`` nominal SET pulses to each device.

        Parameters
        ----------
        counts : int or array of int
            Pulses per device: whole numbers >= 0 (whole floats accepted), a scalar for all
            devices or an array broadcasting to the array's shape. Fractions, NaN/Inf,
            negative counts, counts above :data:`~neuropcm.devices.validation.COUNT_MAX`
            and quantities with a unit are refused (one line, before any pulse), never
            rounded.

        Notes
        -----
        The pulses are applied in rounds: in round ``k`` every device with more than ``k``
        pulses gets one pulse, in flat index order, drawing one normal each -- exactly what
        ``max(counts)`` calls of :meth:`set_pulse` on the devices with ``counts > k`` do,
        bit for bit (same updates, same draws in the same order), but the loop runs inside
        one numba kernel (:func:`~neuropcm.devices._kernels.set_rounds_pulsed`) over blocks
        of rounds of at most ``2**20`` draws, so ``10**7`` pulses on a few devices take
        seconds and little memory. A worn-out device still takes its draw and is skipped,
        as in :meth:`set_pulse`.
        """
        c = V.as_counts(counts, "counts")
        try:
            c = np.ascontiguousarray(np.broadcast_to(c, self.shape).ravel())
        except ValueError:
            raise ShapeError(f"counts of shape {c.shape} does not fit the array shape "
                             f"{self.shape}") from None
        active = np.flatnonzero(c > 0).astype(np.int64)
        n_active = active.size
        if n_active == 0:
            return self
        p, s = self.params, self._s
        pulsed, mem, mean_p, std_p = self._set_model()
        kern = K.set_rounds_pulsed if pulsed else K.set_rounds_linear
        k, k_end = 0, int(c.max())
        while k < k_end:
            k1 = min(k_end, k + max(1, _DRAW_BLOCK // n_active))
            n_draws = int(np.minimum(c[active[:n_active]] - k, k1 - k).sum())
            n_active = kern(s["G"], s["P"], s["f_set"], s["t_prog"], s["n_set"], s["n_reset"],
                            s["energy"], s["stuck"], active, n_active, c, k, k1, self._normals(n_draws),
                            self.time, mem, mean_p, std_p, p.g_min, p.g_max, p.e_set,
                            p.endurance)
            k = k1
        return self

    def program(self, target, mask=None, tol=None, max_iterations=None) -> ProgramResult:
        """Program the selected devices to target conductances.

        Pulsed model: iterative program-and-verify -- RESET, then read, and while the
        read is outside ``target +- tol`` apply a SET pulse whose amplitude is scaled to
        the remaining error by the model's mean step (or RESET after an overshoot), up to
        ``max_iterations`` pulses. Programmed-state model: one-shot programming with the
        programming noise; with ``tol > 0`` re-programmed until a verify read lies within
        the tolerance or the budget of shots is spent.

        Parameters
        ----------
        target : float, array or brian2 quantity
            Target conductances (S), broadcastable to the array shape.
        mask : bool array, optional
            Devices to program (default all).
        tol : float, optional
            Tolerance (S); default the model's ``program_tol``.
        max_iterations : int, optional
            Budget of pulses (pulsed) or shots (programmed state), a whole number >= 1;
            default the model's.

        Notes
        -----
        One-shot programming writes ``clip(target + sigma_prog xi, g_min, g_max)``
        (:data:`~neuropcm.devices.physics.PROGRAM_LEVEL`): a device saturates at g_max, so
        targets at g_max leave about half of the devices there. It counts one SET and one
        RESET. Stuck devices (worn out or faulted) are not written (they keep their state; 0
        iterations).
        """
        p = self.params
        idx = self._indices(mask)
        tgt = to_si(target, "S", "target")
        check_finite(tgt, "target", nonnegative=True, what="conductance")
        tgt = np.asarray(tgt, dtype=float)
        try:
            tgt = np.broadcast_to(tgt, self.shape).ravel()[idx]
        except ValueError:
            raise ShapeError(f"target of shape {tgt.shape} does not fit the array shape "
                             f"{self.shape}") from None
        if np.any(tgt > p.g_max * (1 + 1e-12)):
            raise ParameterError(f"target contains {tgt.max()!r} S, above g_max = {p.g_max!r} S "
                                 f"of {self.params.provenance!r}; scale the targets into "
                                 f"[{p.g_min!r}, {p.g_max!r}] S")
        tol = p.program_tol if tol is None else to_si(tol, "S", "tol")
        if not (isinstance(tol, float) and math.isfinite(tol) and tol >= 0):
            raise ParameterError(f"tol = {tol!r} must be a non-negative conductance in S")
        budget = V.as_count(p.program_max_iterations if max_iterations is None
                            else max_iterations, "max_iterations", minimum=1)
        if p.model == "pulsed":
            if tol <= 0:
                raise ParameterError("program-and-verify on the pulsed model needs tol > 0")
            return program_verify(self, idx, tgt, tol, budget)
        return program_oneshot(self, idx, tgt, tol, budget)

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict:
        """Full state as plain arrays and scalars (see :data:`STATE_UNITS`)."""
        return {"arrays": {k: v.reshape(self.shape).copy() for k, v in self._s.items()},
                "time": self.time, "temperature": self._temperature,
                "rng_state": self.rng.bit_generator.state}

    @classmethod
    def from_state(cls, params: DeviceParams, state: dict, preset: str | None = None,
                   seed=None) -> "PCMArray":
        """Rebuild an array from :meth:`state_dict` output and its parameters.

        The state is checked with the constructor's rules
        (:func:`~neuropcm.devices.validation.check_state`): shapes, finite values, G in
        [g_min, g_max], whole non-negative counters, a time and a temperature the setters
        accept, a valid generator state. The preset comes from ``params`` (its provenance);
        the random stream continues from ``state["rng_state"]``.

        Parameters
        ----------
        params : DeviceParams
            The parameters (with their provenance).
        state : dict
            Output of :meth:`state_dict`.
        preset : str, optional
            Kept for older callers: must agree with ``params.preset`` (``"custom"`` or
            None say nothing); the preset is never taken from here.
        seed : int, SeedSequence or None, optional
            Recorded as :attr:`seed` (the generator state comes from ``state``).

        Raises
        ------
        ParameterError
            A value breaks a rule (the message names the field and the value).
        """
        shape, arrays, time, temperature, rng = V.load_state(params, state)
        if preset not in (None, "custom", params.preset):
            raise ParameterError(f"preset = {preset!r} disagrees with the parameters "
                                 f"({params.provenance!r}); label the parameters with "
                                 f"get_preset or with_preset instead")
        obj = cls.__new__(cls)
        obj.params, obj.shape = params, shape
        obj.seed = V.as_random_stream(seed)[0] if seed is not None else None
        obj.size = int(np.prod(shape, dtype=np.int64))
        obj._s = arrays
        obj.time, obj._temperature, obj.rng = time, temperature, rng
        return obj

    def __repr__(self) -> str:
        return (f"PCMArray(shape={self.shape}, preset={self.params.provenance!r}, model="
                f"{self.params.model!r}, time={self.time:g} s, T={self._temperature:g} K)")
