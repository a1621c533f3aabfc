"""Drift compensation of crossbar reads (physics.md section 2; seed 2).

Kinds (:data:`KINDS`):

* ``global``: one factor for all outputs, ``alpha = sum |Y_ref| / sum |Y(t)|`` over a fixed
  set of random +-1 calibration inputs ``X_c``, ``Y(t)`` a calibration read now and
  ``Y_ref`` the reference read of the stored state (below);
* ``column``: the same per output line, ``alpha_i = sum_k |Y_ref,ik| / sum_k |Y_ik(t)|``;
* ``lrs``: ``K = <G_LRS(t_p)> / <G_LRS(t)>`` of a column of LRS devices programmed with the
  matrix at ``t_p`` (seed 2).

The reference follows the devices. A device written at ``t_w`` drifts from then on
(``G ((t - t_w + t0)/t0)^-nu`` in the programmed-state model; every write restarts the
drift clock, physics.md sections 1-2), so
after an update or a refresh the written devices read fresh while the others keep their
drift. Re-reading the calibration after such a write would make the drifted, untouched
weights the new reference and silently drop their correction. Instead ``Y_ref`` is the
calibration read of the stored state *with every device at its own age 0*, i.e. as it read
right after its own last write:

* at programming, every device is at age 0, and ``Y_ref`` is a real calibration read
  (read noise, DAC and ADC included);
* after writes, ``Y_ref += (M_0' - M_0) X_c``, where ``M_0`` is the mean read matrix (weight
  units) with every device read at age 0 (:func:`age0_mean`). ``M_0' - M_0`` is non-zero
  only where devices were written: it is the change of the written weights as a read right
  after the write sees it (taken from the device model, without read noise). Output lines
  (and, for the transposed read, input lines) without a written device keep their measured
  reference exactly.

So ``column`` leaves the factors of untouched lines unchanged, and ``global`` keeps
correcting untouched weights: a few fresh weights among many move the factor only by
their share of the calibration output (and are themselves over-corrected by about the
others' drift, which one global factor cannot avoid). ``lrs``: the reference
column is never written after programming, so ``K`` keeps following its drift; written
devices are then over-corrected by the drift the LRS column has accumulated since
programming (seed 2 does not train on chip). Every factor is 1 while all devices are at
age 0. Factors are computed once per (time, write) and cached.
"""

from __future__ import annotations

import numpy as np

from ..devices import physics as ph
from ..devices.theory import rectified_moments as _rectified_moments
from ..errors import ModelError, SchemaError
from .mapping import effective_mean

#: Drift-compensation kinds of :class:`~neuropcm.crossbar.Crossbar`.
KINDS = (None, "global", "column", "lrs")


def age0_moments(array, clipped: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (S) of a read of every device of ``array`` right after its own last
    write (age 0), from the device relations (:mod:`neuropcm.devices.physics`).

    ``mean = G drift(0, nu) A(G, T)`` and the model's read-noise std at age 0; with
    ``clipped`` the moments of the clipped read ``max(mean + std xi, 0)``.
    """
    p = array.params
    G = np.asarray(array.conductance, dtype=float)
    mean = G * ph.drift_relation(p)(p, dt=0.0, nu=np.asarray(array.drift_exponent))
    if array.temperature != p.t_ref:
        mean = mean * ph.TEMPERATURE(p, G=G, T=array.temperature)
    if p.model == "pulsed":
        std = ph.READ_STD_PULSED(p, Gd=mean)
    else:
        std = ph.READ_STD_PROGRAMMED(p, Gd=mean, G=G, dt=0.0)
    std = np.broadcast_to(std, mean.shape)
    if clipped:
        mean, std = _rectified_moments(mean, np.array(std, dtype=float))
    return mean, std


def age0_mean(mapping, arrays: dict, clipped: bool) -> np.ndarray:
    """Mean read matrix (m, n, weight units) with every device read at age 0."""
    moments = {name: age0_moments(a, clipped) for name, a in arrays.items() if name != "lrs"}
    return effective_mean(mapping.groups(moments))


class Compensation:
    """Drift-compensation state of one crossbar (see the module docstring).

    Parameters
    ----------
    kind : {None, "global", "column", "lrs"}
        Compensation built at programming.
    calibration_size : int
        Number of +-1 calibration inputs of ``global``/``column``.
    """

    def __init__(self, kind, calibration_size: int):
        self.kind = kind
        self.size = int(calibration_size)
        self.x = {}        # direction (transpose flag) -> calibration inputs X_c
        self.ref = {}      # direction -> signed reference reads Y_ref (lines, size)
        self.lrs0 = None   # mean LRS read right after programming (S)
        self._x_in = {}    # direction -> X_c as the array sees it (after the DAC)
        self._M0 = None    # age-0 mean matrix that ``ref`` corresponds to
        self._stale = False
        self.cache = {}    # (time, version, direction) -> factor

    # ------------------------------------------------------------------ life cycle
    def calibrate(self, xb) -> None:
        """Full calibration right after programming (all devices at age 0)."""
        self.cache = {}
        self._stale = False
        if self.kind in ("global", "column"):
            for tr, dim in ((False, xb.shape[1]), (True, xb.shape[0])):
                Xc = xb.rng.choice(np.array([-1.0, 1.0]), size=(dim, self.size))
                self.x[tr] = Xc
                self.ref[tr] = np.asarray(xb._read(Xc, tr, compensate=False), dtype=float)
            self._prepare(xb)
        elif self.kind == "lrs":
            self.lrs0 = float(xb.arrays["lrs"].read().mean())

    def _prepare(self, xb) -> None:
        for tr, Xc in self.x.items():  # the inputs as the array sees them (DAC applied)
            if xb._normalise or xb.dac.range is not None:
                Xs, scale, _ = xb.dac.apply(Xc, np.float64)
                Xc = Xs if scale is None else Xs * scale[None, :]
            self._x_in[tr] = Xc
        self._M0 = age0_mean(xb.mapping, xb.arrays, xb.options["read_clip"])

    def written(self) -> None:
        """Devices were written: the reference is brought up to date before the next use."""
        self.cache = {}
        if self._M0 is not None:
            self._stale = True

    def sync(self, xb) -> None:
        """Apply ``Y_ref += (M_0' - M_0) X_c`` for the writes since the last sync."""
        if not self._stale:
            return
        M0 = age0_mean(xb.mapping, xb.arrays, xb.options["read_clip"])
        dM = M0 - self._M0
        changed = dM != 0
        rows = np.flatnonzero(changed.any(axis=1))
        cols = np.flatnonzero(changed.any(axis=0))
        if rows.size:
            self.ref[False][rows] += dM[rows] @ self._x_in[False]
            self.ref[True][cols] += dM[:, cols].T @ self._x_in[True]
        self._M0 = M0
        self._stale = False

    # ------------------------------------------------------------------ factors
    def factor(self, xb, transpose: bool):
        """Compensation factor of a read now: a float (``global``, ``lrs``) or one per
        output line of the read (``column``)."""
        key = (xb.time, xb._version, bool(transpose))
        if key in self.cache:
            return self.cache[key]
        if self.kind == "lrs":
            f = self.lrs_factor(xb)
        elif _all_at_age0(xb):
            f = 1.0
        else:
            self.sync(xb)
            ref = np.abs(self.ref[transpose]).sum(axis=1)
            now = np.abs(np.asarray(xb._read(self.x[transpose], transpose, compensate=False),
                                    dtype=float)).sum(axis=1)
            if self.kind == "global":
                f = float(ref.sum() / now.sum()) if now.sum() > 0 else 1.0
            else:
                f = np.where(now > 0, ref / np.where(now > 0, now, 1.0), 1.0).astype(xb.dtype)
        self.cache[key] = f
        return f

    def lrs_factor(self, xb) -> float:
        """``K(t) = <G_LRS(t_p)>/<G_LRS(t)>``: reads the LRS column now (booked on its
        devices); 1 while the column is at age 0."""
        if "lrs" not in xb.arrays:
            raise ModelError("this crossbar has no LRS reference column; build it with "
                             "drift_compensation='lrs'")
        lrs = xb.arrays["lrs"]
        if xb.time == float(np.max(lrs.last_write)):
            return 1.0
        now = float(lrs.read().mean())
        return self.lrs0 / now if now > 0 else 1.0

    # ------------------------------------------------------------------ persistence
    def save(self, xb, g, write_dataset) -> None:
        """Store the calibration (reference brought up to date first) in HDF5 group ``g``."""
        self.sync(xb)
        for tr in self.x:
            write_dataset(g, f"calib_x_{int(tr)}", self.x[tr], "1")
            write_dataset(g, f"calib_ref_{int(tr)}", self.ref[tr], "1")
        for (t, ver, tr), fac in self.cache.items():
            if t == xb.time and ver == xb._version:  # factors in use now
                write_dataset(g, f"comp_factor_{int(tr)}", np.asarray(fac), "1")
        if self.lrs0 is not None:
            g.attrs["calib_lrs"] = self.lrs0
            g.attrs["calib_lrs_units"] = "S"

    def load(self, xb, g, read_dataset) -> None:
        """Restore what :meth:`save` stored (validated against the crossbar's shape)."""
        where = f"{g.file.filename}:{g.name}"
        if self.kind in ("global", "column"):
            for tr, (lines, dim) in ((False, xb.shape), (True, xb.shape[::-1])):
                X = read_dataset(g, f"calib_x_{int(tr)}", "1")
                Y = read_dataset(g, f"calib_ref_{int(tr)}", "1")
                if X.shape != (dim, self.size) or Y.shape != (lines, self.size) \
                        or not (np.isfinite(X).all() and np.isfinite(Y).all()):
                    raise SchemaError(f"{where}: calibration of direction {int(tr)} has shapes "
                                      f"{X.shape}, {Y.shape} (expected {(dim, self.size)}, "
                                      f"{(lines, self.size)}, finite); the file is inconsistent")
                self.x[tr], self.ref[tr] = X, Y
            self._prepare(xb)
        elif self.kind == "lrs":
            if "calib_lrs" not in g.attrs:
                raise SchemaError(f"{where}: no calib_lrs for the 'lrs' compensation")
            self.lrs0 = float(g.attrs["calib_lrs"])
        for tr in (False, True):
            if f"comp_factor_{int(tr)}" in g:
                fac = read_dataset(g, f"comp_factor_{int(tr)}", "1")
                self.cache[(xb.time, xb._version, tr)] = float(fac) if fac.ndim == 0 else fac


def _all_at_age0(xb) -> bool:
    """Whether every read device was written at the crossbar's current time."""
    return all(float(np.min(a.last_write)) == xb.time
               for name, a in xb.arrays.items() if name != "lrs")
