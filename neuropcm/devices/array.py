"""PCMArray: an N-d array of PCM devices with its state, clock and operations."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, ShapeError
from ..units import check_finite, to_si
from . import _kernels as K
from . import physics as ph
from .params import DeviceParams
from .presets import get_preset

#: State arrays of a PCMArray with their units (the HDF5 layout uses the same names).
STATE_UNITS = {
    "G": "S", "P": "1", "t_prog": "s", "nu": "1", "f_set": "1",
    "n_set": "count", "n_reset": "count", "n_read": "count", "energy": "J",
}

_AMP_MIN = 0.05  # smallest relative pulse amplitude program-and-verify uses


@dataclass(frozen=True)
class ProgramResult:
    """Outcome of :meth:`PCMArray.program` for the programmed devices (flat, in mask order).

    Attributes
    ----------
    target : ndarray
        Requested conductances (S).
    achieved : ndarray
        Programmed (noise-free, un-drifted) conductances afterwards (S).
    verified : ndarray
        The last verify read of each device (S); for one-shot programming, a read right after.
    iterations : ndarray of int
        Programming pulses (SET or RESET) or shots used per device.
    converged : ndarray of bool
        Whether the verify read came within the tolerance inside the budget.
    tol : float
        The tolerance used (S).
    """

    target: np.ndarray
    achieved: np.ndarray
    verified: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    tol: float

    @property
    def fraction_converged(self) -> float:
        """Fraction of devices that converged."""
        return float(np.mean(self.converged)) if self.converged.size else 1.0


class PCMArray:
    """An N-d array of phase-change memory devices.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the array.
    preset : str or DeviceParams
        Device model: ``"nandakumar2018"`` (pulsed), ``"joshi2020"`` (programmed state),
        ``"binary"``, ``"ideal"``, or a parameter object.
    seed : int or None
        Seed of the array's random generator; the same seed gives the same results.
    temperature : float or brian2 quantity, optional
        Operating temperature (K); default the model's reference temperature.
    **overrides : float
        Parameter values to change (SI units), e.g. ``g_max=20e-6``.

    Notes
    -----
    State (flat float64/int64 arrays, SI): programmed conductance ``G`` (noise-free,
    un-drifted), pulse memory ``P``, time of last write ``t_prog``, drift exponent ``nu``,
    device-to-device SET factor ``f_set``, counters ``n_set``/``n_reset``/``n_read`` and
    ``energy``. Devices start in the RESET state at time 0 (not counted as a pulse).
    Writes happen at the array's clock :attr:`time`; reads may look at any later time.
    """

    def __init__(self, shape, preset="nandakumar2018", seed=None, *, temperature=None,
                 **overrides):
        self.params: DeviceParams = get_preset(preset, **overrides)
        self.preset = preset if isinstance(preset, str) else "custom"
        self.shape = _as_shape(shape)
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        n = self.size
        self._s = {
            "G": np.zeros(n), "P": np.ones(n), "t_prog": np.zeros(n), "nu": np.zeros(n),
            "f_set": np.ones(n), "n_set": np.zeros(n, np.int64),
            "n_reset": np.zeros(n, np.int64), "n_read": np.zeros(n, np.int64),
            "energy": np.zeros(n),
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
    def worn_out(self) -> np.ndarray:
        """Devices past their endurance (stuck at their last state)."""
        s = self._s
        return ((s["n_set"] + s["n_reset"]) >= self.params.endurance).reshape(self.shape)

    def totals(self) -> dict:
        """Total SET, RESET and read counts and energy (J) of the whole array."""
        s = self._s
        return {"n_set": int(s["n_set"].sum()), "n_reset": int(s["n_reset"].sum()),
                "n_read": int(s["n_read"].sum()), "energy": float(s["energy"].sum())}

    # ------------------------------------------------------------------ clock
    @property
    def temperature(self) -> float:
        """Operating temperature (K); reads scale with the Arrhenius factor."""
        return self._temperature

    @temperature.setter
    def temperature(self, value) -> None:
        v = to_si(value, "K", "temperature")
        if not (isinstance(v, float) and math.isfinite(v) and v > 0):
            raise ParameterError(f"temperature = {value!r} must be a positive finite number of "
                                 f"kelvin, e.g. 300 or 300*kelvin")
        self._temperature = v

    def advance(self, dt) -> "PCMArray":
        """Advance the array's clock by ``dt`` (s, or a Brian2 time quantity)."""
        v = to_si(dt, "s", "dt")
        if not (isinstance(v, float) and math.isfinite(v) and v >= 0):
            raise ParameterError(f"dt = {dt!r} must be a finite, non-negative time in seconds")
        self.time += v
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
    def _reset_idx(self, idx: np.ndarray, count: bool = True) -> None:
        p, s = self.params, self._s
        K.reset(s["G"], s["P"], s["t_prog"], s["n_set"], s["n_reset"], s["energy"], idx,
                self._normals(idx.size), self.time, p.reset_mean, p.reset_std, p.g_min,
                p.g_max, p.e_reset, p.endurance, count)
        if p.model == "programmed":
            self._draw_nu(idx, s["G"][idx])

    def _draw_nu(self, idx, g_target) -> None:
        p = self.params
        mu = ph.NU_MEAN(p, Gt=g_target)
        sd = ph.NU_STD(p, Gt=g_target)
        nu = np.abs(mu + sd * self._normals(idx.size))
        live = (self._s["n_set"][idx] + self._s["n_reset"][idx]) < p.endurance + 1
        self._s["nu"][idx[live]] = nu[live]

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
            Relative pulse amplitude (1 = nominal pulse); the increment scales linearly
            with it (assumed, physics.md section 1); ``<= 0`` means no pulse. An array
            must broadcast to the array shape.
        """
        idx = self._indices(mask)
        amp = np.asarray(amplitude, dtype=float)
        check_finite(amp, "amplitude")
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

    def _set_idx(self, idx, amp) -> None:
        p, s = self.params, self._s
        if p.model == "pulsed":
            kern, mean_p, std_p = K.set_pulsed, (p.set_a, p.set_b, p.set_c), \
                (p.set_d, p.set_e, p.set_f)
            mem = p.pulse_memory
        else:
            kern, mean_p, std_p, mem = K.set_linear, (p.set_step,), (p.set_step_std,), 1.0
        kern(s["G"], s["P"], s["f_set"], s["t_prog"], s["n_set"], s["n_reset"], s["energy"],
             idx, amp, self._normals(idx.size), self.time, mem, mean_p, std_p, p.g_min, p.g_max,
             p.e_set, p.endurance)

    def set_pulses(self, counts) -> "PCMArray":
        """Apply ``counts`` SET pulses to each device (a non-negative integer array of the
        array's shape, or a scalar for all devices)."""
        c = np.asarray(counts)
        if c.dtype.kind not in "iu" or np.any(c < 0):
            raise ParameterError(f"counts must be non-negative integers, got dtype {c.dtype}"
                                 + (f" with minimum {c.min()}" if c.size else ""))
        try:
            c = np.broadcast_to(c, self.shape).ravel()
        except ValueError:
            raise ShapeError(f"counts of shape {c.shape} does not fit the array shape "
                             f"{self.shape}") from None
        one = np.ones(1)
        for k in range(int(c.max()) if c.size else 0):
            self._set_idx(np.flatnonzero(c > k), one)
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
            Budget of pulses (pulsed) or shots (programmed state); default the model's.
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
                                 f"of preset {self.preset!r}; scale the targets into "
                                 f"[{p.g_min!r}, {p.g_max!r}] S")
        tol = p.program_tol if tol is None else to_si(tol, "S", "tol")
        if not (isinstance(tol, float) and math.isfinite(tol) and tol >= 0):
            raise ParameterError(f"tol = {tol!r} must be a non-negative conductance in S")
        budget = int(p.program_max_iterations if max_iterations is None else max_iterations)
        if budget < 1:
            raise ParameterError(f"max_iterations = {max_iterations!r} must be >= 1")
        if p.model == "pulsed":
            if tol <= 0:
                raise ParameterError("program-and-verify on the pulsed model needs tol > 0")
            return self._program_verify(idx, tgt, tol, budget)
        return self._program_oneshot(idx, tgt, tol, budget)

    def _program_oneshot(self, idx, tgt, tol, budget) -> ProgramResult:
        p, s = self.params, self._s
        iters = np.zeros(idx.size, np.int64)
        converged = np.zeros(idx.size, bool)
        verified = np.zeros(idx.size)
        todo = np.arange(idx.size)
        for _ in range(budget):
            sub = idx[todo]
            live = (s["n_set"][sub] + s["n_reset"][sub]) < p.endurance
            sub, todo = sub[live], todo[live]
            if sub.size == 0:
                break
            g = tgt[todo] + ph.PROG_STD(p, Gt=tgt[todo]) * self._normals(sub.size)
            s["G"][sub] = np.maximum(g, p.g_min)
            s["P"][sub] = 1.0
            s["t_prog"][sub] = self.time
            s["n_set"][sub] += 1
            s["n_reset"][sub] += 1
            s["energy"][sub] += p.e_set + p.e_reset
            self._draw_nu(sub, tgt[todo])
            iters[todo] += 1
            verified[todo] = self._read_idx(sub, self.time)
            ok = np.abs(verified[todo] - tgt[todo]) <= tol if tol > 0 else np.ones(sub.size, bool)
            converged[todo[ok]] = True
            todo = todo[~ok]
            if todo.size == 0:
                break
        return ProgramResult(tgt, s["G"][idx].copy(), verified, iters, converged, tol)

    def _program_verify(self, idx, tgt, tol, budget) -> ProgramResult:
        p, s = self.params, self._s
        self._reset_idx(idx)
        iters = np.zeros(idx.size, np.int64)
        converged = np.zeros(idx.size, bool)
        verified = np.zeros(idx.size)
        todo = np.arange(idx.size)
        decay = math.exp(-1.0 / p.pulse_memory)
        for it in range(budget + 1):
            sub = idx[todo]
            r = self._read_idx(sub, self.time)
            verified[todo] = r
            err = tgt[todo] - r
            ok = np.abs(err) <= tol
            converged[todo[ok]] = True
            if it == budget:
                break
            keep = ~ok & ((s["n_set"][sub] + s["n_reset"][sub]) < p.endurance)
            todo, err, r, sub = todo[keep], err[keep], r[keep], sub[keep]
            if todo.size == 0:
                break
            over = err < 0
            if over.any():
                self._reset_idx(sub[over])
            under = ~over
            if under.any():
                step = ph.SET_MEAN(p, G=r[under], P=s["P"][sub[under]] * decay)
                amp = np.where(step > 0, np.clip(err[under] / np.where(step > 0, step, 1.0),
                                                 _AMP_MIN, 1.0), 1.0)
                self._set_idx(sub[under], np.ascontiguousarray(amp))
            iters[todo] += 1
        return ProgramResult(tgt, s["G"][idx].copy(), verified, iters, converged, tol)

    # ------------------------------------------------------------------ reads
    def _check_time(self, t, idx) -> float:
        if t is None:
            return self.time
        v = to_si(t, "s", "t")
        if not (isinstance(v, float) and math.isfinite(v)):
            raise ParameterError(f"t = {t!r} must be a finite time in seconds")
        if v < 0:
            raise ParameterError(f"t = {t!r} is negative; read times are >= 0 s on the array's "
                                 f"clock (now {self.time!r} s)")
        if idx.size and v < self._s["t_prog"][idx].max():
            raise ParameterError(f"t = {v!r} s is before the last write at "
                                 f"{self._s['t_prog'][idx].max()!r} s; read at a later time")
        return v

    def _moments_idx(self, idx, t):
        p, s = self.params, self._s
        mean = np.empty(idx.size)
        std = np.empty(idx.size)
        T = self._temperature
        temp_on = T != p.t_ref
        if p.model == "pulsed":
            K.moments_pulsed(s["G"], s["nu"], s["t_prog"], idx, t, T, temp_on, p.t0,
                             p.read_slope, p.read_offset, p.ea_hrs, p.ea_lrs, p.g_max, p.t_ref,
                             mean, std)
        else:
            K.moments_programmed(s["G"], s["nu"], s["t_prog"], idx, t, T, temp_on, p.t0,
                                 p.t_read, p.q_a, p.q_b, p.q_max, p.ea_hrs, p.ea_lrs, p.g_max,
                                 p.t_ref, mean, std)
        return mean, std

    def _read_idx(self, idx, t) -> np.ndarray:
        mean, std = self._moments_idx(idx, t)
        out = np.empty(idx.size)
        K.sample_read(mean, std, self._normals(idx.size), out)
        self._s["n_read"][idx] += 1
        self._s["energy"][idx] += self.params.e_read
        return out

    def read(self, t=None, mask=None) -> np.ndarray:
        """Read conductances (S): drifted, temperature-scaled, with fresh read noise.

        Parameters
        ----------
        t : float or brian2 quantity, optional
            Absolute time of the read on the array's clock (default :attr:`time`); must not
            precede the last write of a read device.
        mask : bool array, optional
            Devices to read; the result then holds only those (flat, C order).
        """
        idx = self._indices(mask)
        out = self._read_idx(idx, self._check_time(t, idx))
        return out.reshape(self.shape) if mask is None else out

    def record_reads(self, count=1, mask=None) -> "PCMArray":
        """Book ``count`` reads of the selected devices (counters and energy) without sampling.

        For engines that draw the result of many reads at once from :meth:`read_moments`
        (e.g. a crossbar MVM), so that read counts and energy still come from the devices.
        """
        c = int(count)
        if c < 0:
            raise ParameterError(f"count = {count!r} must be a non-negative integer")
        idx = self._indices(mask)
        self._s["n_read"][idx] += c
        self._s["energy"][idx] += c * self.params.e_read
        return self

    def read_moments(self, t=None, mask=None, *, clipped=False) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of a read at time ``t`` (S), without reading (no counters).

        The mean is the drifted, temperature-scaled conductance; reads are
        ``max(mean + std * xi, 0)``. With ``clipped=True`` the returned mean and std are
        those of the read itself, the rectified Gaussian ``max(mean + std * xi, 0)``
        (exact: ``E = m Phi(a) + s phi(a)``, ``E2 = (m^2 + s^2) Phi(a) + m s phi(a)``,
        ``a = m/s``); with ``clipped=False`` those of the Gaussian before the clip.
        """
        idx = self._indices(mask)
        mean, std = self._moments_idx(idx, self._check_time(t, idx))
        if clipped:
            mean, std = _rectified_moments(mean, std)
        if mask is None:
            return mean.reshape(self.shape), std.reshape(self.shape)
        return mean, std

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict:
        """Full state as plain arrays and scalars (see :data:`STATE_UNITS`)."""
        return {"arrays": {k: v.reshape(self.shape).copy() for k, v in self._s.items()},
                "time": self.time, "temperature": self._temperature,
                "rng_state": self.rng.bit_generator.state}

    @classmethod
    def from_state(cls, params: DeviceParams, state: dict, preset: str = "custom",
                   seed=None) -> "PCMArray":
        """Rebuild an array from :meth:`state_dict` output and its parameters."""
        shape = np.asarray(state["arrays"]["G"]).shape
        obj = cls.__new__(cls)
        obj.params, obj.preset, obj.shape, obj.seed = params, preset, tuple(shape), seed
        obj.size = int(np.prod(shape, dtype=np.int64))
        obj._s = {}
        for k in STATE_UNITS:
            a = np.asarray(state["arrays"][k])
            if a.shape != obj.shape:
                raise ShapeError(f"state array {k!r} has shape {a.shape}, expected {obj.shape}")
            dtype = np.int64 if k.startswith("n_") else np.float64
            obj._s[k] = np.ascontiguousarray(a, dtype=dtype).ravel().copy()
        obj.time = float(state["time"])
        obj._temperature = float(state["temperature"])
        obj.rng = np.random.default_rng()
        obj.rng.bit_generator.state = state["rng_state"]
        return obj

    def __repr__(self) -> str:
        return (f"PCMArray(shape={self.shape}, preset={self.preset!r}, model="
                f"{self.params.model!r}, time={self.time:g} s, T={self._temperature:g} K)")


def _rectified_moments(mean: np.ndarray, std: np.ndarray):
    """Mean and std of ``max(X, 0)`` for ``X ~ N(mean, std^2)`` (elementwise; std may be 0)."""
    from scipy.special import ndtr

    noisy = std > 0
    if not noisy.any():
        return np.maximum(mean, 0.0), np.zeros_like(std)
    m, s = mean[noisy], std[noisy]
    a = m / s
    cdf = ndtr(a)
    pdf = np.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
    e1 = m * cdf + s * pdf
    e2 = (m * m + s * s) * cdf + m * s * pdf
    out_m = np.maximum(mean, 0.0)
    out_s = np.zeros_like(std)
    out_m[noisy] = e1
    out_s[noisy] = np.sqrt(np.maximum(e2 - e1 * e1, 0.0))
    return out_m, out_s


def _as_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise ShapeError(f"shape = {shape!r} must be an int or a tuple of ints") from None
    if len(shape) == 0 or any(s <= 0 for s in shape):
        raise ShapeError(f"shape = {shape!r} must have positive sizes, e.g. (256, 256)")
    return shape
