"""The reads of a :class:`~neuropcm.devices.array.PCMArray`: drifted, temperature-scaled
conductances with read noise, their moments, and booked reads (a mixin of PCMArray, which
holds the state ``_s``, the clock and the random stream these use)."""

from __future__ import annotations

import math
from typing import Self

import numpy as np

from ..errors import ParameterError
from ..units import to_si
from . import _kernels as K
from . import validation as V


class ReadsMixin:
    """Read operations of :class:`~neuropcm.devices.array.PCMArray`."""

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

    def record_reads(self, count=1, mask=None) -> Self:
        """Book ``count`` reads of the selected devices (counters and energy) without sampling.

        For engines that draw the result of many reads at once from :meth:`read_moments`
        (e.g. a crossbar MVM), so that read counts and energy still come from the devices.
        """
        c = V.as_count(count, "count")
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
            from .theory import rectified_moments  # scipy only when needed

            mean, std = rectified_moments(mean, std)
        if mask is None:
            return mean.reshape(self.shape), std.reshape(self.shape)
        return mean, std
