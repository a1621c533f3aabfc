"""Drift compensation of crossbar reads (physics.md section 2; seed 2): objects with one
interface, :class:`DriftCompensation`.

The crossbar calls :meth:`~DriftCompensation.calibrate` right after every programming (all
devices at age 0), :meth:`~DriftCompensation.on_write` after every later write (update,
refresh) and :meth:`~DriftCompensation.factor` for the factor a read is multiplied by (one
float, or one per output line); it caches factors per (time, write, direction). A user
subclass implements these (``factor`` at least). The named ones are the registry
:data:`COMPENSATIONS` (a :class:`~neuropcm.registry.Registry`);
``Crossbar(..., drift_compensation="global")`` builds ``GlobalCompensation`` from the
config section (:meth:`DriftCompensation.from_config`). A user class registered under its
``name`` (``COMPENSATIONS.register(cls)``) is selectable by that name everywhere: crossbar
configs, the workloads' compensation options and their ``--help``. Built in:

* ``global`` (:class:`GlobalCompensation`): one factor for all outputs,
  ``alpha = sum |Y_ref| / sum |Y(t)|`` over a fixed set of random +-1 calibration inputs
  ``X_c`` (the crossbar's stream ``"calibration"``), ``Y(t)`` a calibration read now and
  ``Y_ref`` the reference read of the stored state (below);
* ``column`` (:class:`ColumnCompensation`): the same per output line,
  ``alpha_i = sum_k |Y_ref,ik| / sum_k |Y_ik(t)|``;
* ``lrs`` (:class:`LRSReferenceCompensation`): ``K = <G_LRS(t_p)> / <G_LRS(t)>`` of a
  column of LRS devices programmed with the matrix at ``t_p`` (seed 2).

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

import copy
import math
from typing import ClassVar

import numpy as np

from ..errors import ParameterError
from ..registry import Registry

# age0_moments, age0_mean: public names of this module, defined with the rest of the
# device side in _age0
from ._age0 import (  # noqa: F401
    _age0_means,
    _all_at_age0,
    _lrs_read,
    age0_mean,
    age0_moments,
)


def _positive_int(v, where):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ParameterError(f"{where} = {v!r} must be a positive integer")
    return int(v)


class DriftCompensation:
    """Base class of drift compensation: the factor a crossbar read is multiplied by.

    Subclasses implement :meth:`factor` and, where they need them, :meth:`calibrate`,
    :meth:`on_write` and :meth:`reference_arrays`. A crossbar works on its own copy of the
    object it is given (``copy.deepcopy``), so one object can configure many crossbars.
    Persistence: :meth:`settings` (the constructor's keyword arguments, JSON-able) and
    :meth:`state_dict`/:meth:`load_state`; a subclass is written to files only when it is
    registered in :data:`COMPENSATIONS` under its :attr:`name` (files never hold code).
    A registered class is also selectable by name (``drift_compensation="known_drift"``):
    :meth:`from_config` builds it from the crossbar's compensation settings.

    Examples
    --------
    Undo a drift of known exponent ``nu`` since programming:

    >>> class KnownDrift(DriftCompensation):
    ...     name = "known_drift"
    ...     def __init__(self, nu=0.06, t0=20.0):
    ...         self.nu, self.t0 = nu, t0
    ...     def settings(self):
    ...         return {"nu": self.nu, "t0": self.t0}
    ...     def calibrate(self, xb):
    ...         self.t_p = xb.time
    ...     def factor(self, xb, transpose):
    ...         return ((xb.time - self.t_p + self.t0) / self.t0) ** self.nu
    >>> xb = Crossbar(W, "joshi2020", drift_compensation=KnownDrift(0.05))  # doctest: +SKIP
    >>> COMPENSATIONS.register(KnownDrift)  # doctest: +SKIP
    >>> xb = Crossbar(W, "joshi2020", drift_compensation="known_drift")  # doctest: +SKIP
    """

    #: Registry name (:data:`COMPENSATIONS`); None for an unregistered class.
    name: ClassVar[str | None] = None

    @classmethod
    def from_config(cls, section) -> DriftCompensation:
        """A new object for ``drift_compensation=<name>``, from the crossbar's
        :class:`~neuropcm.crossbar.config.CompensationConfig` ``section``: ``cls()`` here; a
        class whose constructor reads settings of the section overrides this."""
        return cls()

    def settings(self) -> dict:
        """Constructor keyword arguments that rebuild this object (JSON-able)."""
        return {}

    def reference_arrays(self, xb) -> dict:
        """Extra device arrays this compensation needs: ``{name: targets}`` with the
        conductances (S) to program them to, at every programming of the matrix. The
        crossbar creates them (random stream ``("crossbar", name)``), keeps their clock
        with the others, never reads them in MVMs and counts them in ``totals()``."""
        return {}

    def calibrate(self, xb) -> None:
        """Right after every programming of ``xb`` (every device at age 0)."""

    def on_write(self, xb) -> None:
        """After a later write (update, refresh) changed some devices of ``xb``."""

    def factor(self, xb, transpose: bool):
        """The factor of a read of ``xb`` now: a float, or an array with one factor per
        output line of the read (m forward, n transposed)."""
        raise NotImplementedError(f"{type(self).__name__} must implement "
                                  f"factor(xb, transpose)")

    def state_dict(self, xb) -> dict:
        """The calibration as ``{key: (value, units)}`` with plain arrays or floats."""
        return {}

    def load_state(self, xb, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (validated; :class:`ParameterError`)."""
        if state:
            raise ParameterError(f"{type(self).__name__} keeps no state, got {sorted(state)}")

    def __eq__(self, other):
        return type(self) is type(other) and self.settings() == other.settings()

    def __hash__(self):
        return hash((type(self), tuple(sorted(self.settings().items()))))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}({args})"


class _ReferenceReadCompensation(DriftCompensation):
    """``global``/``column``: calibration reads against a reference that follows writes."""

    per_line: ClassVar[bool] = False

    def __init__(self, calibration_size: int = 16):
        self.calibration_size = _positive_int(calibration_size,
                                              f"{type(self).__name__}.calibration_size")
        self.x = {}        # direction (transpose flag) -> calibration inputs X_c
        self.ref = {}      # direction -> signed reference reads Y_ref (lines, size)
        self._x_in = {}    # direction -> X_c as the array sees it (after the DAC)
        self._M0 = None    # age-0 mean matrix that ``ref`` corresponds to
        self._stale = False

    @classmethod
    def from_config(cls, section) -> _ReferenceReadCompensation:
        return cls(section.calibration_size)

    def settings(self) -> dict:
        return {"calibration_size": self.calibration_size}

    def inputs(self, transpose: bool) -> np.ndarray | None:
        """The calibration inputs of one direction (None before calibration)."""
        return self.x.get(bool(transpose))

    def calibrate(self, xb) -> None:
        self._stale = False
        g = xb.stream("calibration")
        for tr, dim in ((False, xb.shape[1]), (True, xb.shape[0])):
            Xc = g.choice(np.array([-1.0, 1.0]), size=(dim, self.calibration_size))
            self.x[tr] = Xc
            self.ref[tr] = np.asarray(xb.read(Xc, transpose=tr, compensate=False), float)
        self._prepare(xb)

    def _prepare(self, xb) -> None:
        for tr, Xc in self.x.items():  # the inputs as the array sees them (DAC applied)
            if xb._normalise or xb.dac.range is not None:
                Xs, scale, _ = xb.dac.apply(Xc, np.float64)
                Xc = Xs if scale is None else Xs * scale[None, :]
            self._x_in[tr] = Xc
        self._M0 = _age0_means(xb)

    def on_write(self, xb) -> None:
        if self._M0 is not None:  # brought up to date before the next use
            self._stale = True

    def sync(self, xb) -> None:
        """Apply ``Y_ref += (M_0' - M_0) X_c`` for the writes since the last sync."""
        if not self._stale:
            return
        M0 = _age0_means(xb)
        dM, dMt = M0[0] - self._M0[0], M0[1] - self._M0[1]
        rows = np.flatnonzero((dM != 0).any(axis=1))
        cols = np.flatnonzero((dMt != 0).any(axis=0))
        self.ref[False][rows] += dM[rows] @ self._x_in[False]
        self.ref[True][cols] += dMt[:, cols].T @ self._x_in[True]
        self._M0 = M0
        self._stale = False

    def factor(self, xb, transpose: bool):
        if _all_at_age0(xb):
            return 1.0
        self.sync(xb)
        ref = np.abs(self.ref[transpose]).sum(axis=1)
        now = np.abs(np.asarray(xb.read(self.x[transpose], transpose=transpose,
                                        compensate=False), dtype=float)).sum(axis=1)
        if not self.per_line:
            return float(ref.sum() / now.sum()) if now.sum() > 0 else 1.0
        return np.where(now > 0, ref / np.where(now > 0, now, 1.0), 1.0).astype(xb.dtype)

    def state_dict(self, xb) -> dict:
        self.sync(xb)
        out = {}
        for tr in self.x:
            out[f"x_{int(tr)}"] = (self.x[tr], "1")
            out[f"ref_{int(tr)}"] = (self.ref[tr], "1")
        return out

    def load_state(self, xb, state: dict) -> None:
        expected = {f"{k}_{t}" for k in ("x", "ref") for t in (0, 1)}
        if set(state) != expected:
            raise ParameterError(f"{type(self).__name__} state has {sorted(state)}, expected "
                                 f"{sorted(expected)}")
        for tr, (lines, dim) in ((False, xb.shape), (True, xb.shape[::-1])):
            (X, ux), (Y, uy) = state[f"x_{int(tr)}"], state[f"ref_{int(tr)}"]
            X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
            size = self.calibration_size
            if X.shape != (dim, size) or Y.shape != (lines, size) or (ux, uy) != ("1", "1") \
                    or not (np.isfinite(X).all() and np.isfinite(Y).all()):
                raise ParameterError(f"calibration of direction {int(tr)} has shapes "
                                     f"{X.shape}, {Y.shape} and units {ux!r}, {uy!r} "
                                     f"(expected {(dim, size)}, {(lines, size)}, '1', finite)")
            self.x[tr], self.ref[tr] = X, Y
        self._stale = False
        self._prepare(xb)


class GlobalCompensation(_ReferenceReadCompensation):
    """One factor for all outputs, ``sum |Y_ref| / sum |Y(t)|`` over ``calibration_size``
    random +-1 calibration inputs (see the module docstring).

    Parameters
    ----------
    calibration_size : int, default 16
        Number of calibration inputs.
    """

    name = "global"
    per_line = False


class ColumnCompensation(_ReferenceReadCompensation):
    """One factor per output line, ``sum_k |Y_ref,ik| / sum_k |Y_ik(t)|`` (see the module
    docstring).

    Parameters
    ----------
    calibration_size : int, default 16
        Number of calibration inputs.
    """

    name = "column"
    per_line = True


class LRSReferenceCompensation(DriftCompensation):
    """The reference-LRS-column factor ``K(t) = <G_LRS(t_p)>/<G_LRS(t)>`` (seed 2).

    Parameters
    ----------
    devices : int or None
        Devices of the LRS column (array ``"lrs"``), programmed to the mapping's LRS
        target with the matrix; default n (the crossbar's input count).
    """

    name = "lrs"

    def __init__(self, devices: int | None = None):
        self.devices = None if devices is None else _positive_int(
            devices, "LRSReferenceCompensation.devices")
        self.lrs0 = None   # mean LRS read right after programming (S)

    @classmethod
    def from_config(cls, section) -> LRSReferenceCompensation:
        return cls(section.lrs_devices)

    def settings(self) -> dict:
        return {"devices": self.devices}

    def reference_arrays(self, xb) -> dict:
        return {"lrs": np.full(self.devices or xb.shape[1], xb.mapping.lrs_target())}

    def calibrate(self, xb) -> None:
        self.lrs0 = _lrs_read(xb)

    def factor(self, xb, transpose: bool) -> float:
        """``K(t)``: reads the LRS column now (booked on its devices); 1 while the column
        is at age 0."""
        lrs = xb.arrays["lrs"]
        if xb.time == float(np.max(lrs.last_write)):
            return 1.0
        now = _lrs_read(xb)
        return self.lrs0 / now if now > 0 else 1.0

    def state_dict(self, xb) -> dict:
        return {"lrs0": (self.lrs0, "S")}

    def load_state(self, xb, state: dict) -> None:
        if set(state) != {"lrs0"}:
            raise ParameterError(f"LRSReferenceCompensation state has {sorted(state)}, "
                                 f"expected ['lrs0']")
        v, u = state["lrs0"]
        v = np.asarray(v, dtype=float)
        if v.shape != () or u != "S" or not (np.isfinite(v) and v > 0):
            raise ParameterError(f"lrs0 = {v!r} ({u!r}) must be one positive conductance in S")
        self.lrs0 = float(v)


def _name_of(cls) -> str:
    """The registry name of a compensation class: its ``name`` attribute."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ParameterError(f"{getattr(cls, '__name__', cls)!r} has name = {name!r}; set the "
                             f"class attribute name = '...' before registering it")
    return name


def _check_class(name: str, cls) -> None:
    if not (isinstance(cls, type) and issubclass(cls, DriftCompensation)):
        raise ParameterError(f"drift compensation {name!r}: {cls!r} is not a "
                             f"DriftCompensation subclass; register the class itself")
    if cls.name != name:
        raise ParameterError(f"drift compensation {name!r}: {cls.__name__}.name = "
                             f"{cls.name!r} must be the name it is registered under; set "
                             f"name = {name!r} on the class")


#: The named drift compensations, by their class's ``name``: selectable as
#: ``drift_compensation=<name>`` and written to files (``{"name": ..., **settings}``).
COMPENSATIONS = Registry("drift compensation",
                         how="neuropcm.crossbar.COMPENSATIONS.register(cls) (cls: a "
                             "DriftCompensation subclass, cls.name the name)",
                         key=_name_of, check=_check_class)
for _cls in (GlobalCompensation, ColumnCompensation, LRSReferenceCompensation):
    COMPENSATIONS.register(_cls)
del _cls


def compensation_names(over_devices: bool = False) -> tuple[str, ...]:
    """The registered compensation names, read now (registration order).

    With ``over_devices`` only those a crossbar over existing devices
    (:meth:`~neuropcm.crossbar.Crossbar.from_devices`) can use: classes that program no
    reference devices (they keep :meth:`DriftCompensation.reference_arrays`).
    """
    return tuple(n for n, cls in COMPENSATIONS.items() if not over_devices
                 or cls.reference_arrays is DriftCompensation.reference_arrays)


def _choices() -> str:
    return f"{[None, *COMPENSATIONS]} or a DriftCompensation object"


def check_compensation(value, where: str = "drift_compensation"):
    """The compensation setting as a config holds it: None, a name of
    :data:`COMPENSATIONS`, or a :class:`DriftCompensation` object (a ``{"name": ...,
    **settings}`` dict, as :func:`compensation_spec` writes it, is rebuilt)."""
    if value is None or isinstance(value, DriftCompensation):
        return value
    if isinstance(value, str):
        if value not in COMPENSATIONS:
            raise ParameterError(f"{where} = {value!r}; use one of {_choices()}; register "
                                 f"a class with {COMPENSATIONS.how}")
        return value
    if isinstance(value, dict):
        return COMPENSATIONS.build(value, where)
    raise ParameterError(f"{where} = {value!r}; use one of {_choices()}")


def compensation_spec(value):
    """The JSON form of a compensation setting: None, a name, or ``{"name": ...,
    **settings}`` for an object of a registered class.

    Raises
    ------
    ParameterError
        For an object whose class is not registered in :data:`COMPENSATIONS` under its
        ``name`` (files never hold code).
    """
    if value is None or isinstance(value, str):
        return value
    name = getattr(type(value), "name", None)
    if name is not None and COMPENSATIONS.get(name, None) is type(value):
        return {"name": name, **value.settings()}
    raise ParameterError(f"drift compensation {value!r} is not a registered one "
                         f"({list(COMPENSATIONS)}) and cannot be saved (files never hold "
                         f"code); register its class with {COMPENSATIONS.how}, or keep the "
                         f"crossbar in memory")


def build_compensation(config) -> DriftCompensation | None:
    """The compensation object of a crossbar from its :class:`CompensationConfig`: for a
    name, the registered class's :meth:`~DriftCompensation.from_config`; a copy of an
    object."""
    v = config.drift_compensation
    if v is None:
        return None
    if isinstance(v, DriftCompensation):
        return copy.deepcopy(v)
    cls = COMPENSATIONS.get(v)
    try:
        return cls.from_config(config)
    except TypeError as e:
        raise ParameterError(f"drift_compensation = {v!r}: {cls.__name__}.from_config(section) "
                             f"failed ({e}); give its constructor defaults or override "
                             f"from_config") from None


def checked_factor(comp, f, lines: int):
    """A compensation's factor as a read uses it: a finite positive float, or one per output
    line (``lines`` of them). A user compensation returning NaN, a factor <= 0 (which would
    flip or erase every output) or the wrong shape is refused in one line."""
    arr = np.asarray(f, dtype=float) if np.ndim(f) or isinstance(f, np.ndarray) else None
    name = type(comp).__name__
    if arr is None:
        try:
            v = float(f)
        except (TypeError, ValueError):
            raise ParameterError(f"{name}.factor returned {f!r}; return a number or one per "
                                 f"output line") from None
        if not (math.isfinite(v) and v > 0):
            raise ParameterError(f"{name}.factor returned {v!r}; a drift compensation "
                                 f"factor must be finite and > 0")
        return v
    if arr.shape != (lines,):
        raise ParameterError(f"{name}.factor returned shape {arr.shape}; return a number or "
                             f"one factor per output line ({lines},)")
    if not (np.isfinite(arr).all() and (arr > 0).all()):
        bad = arr[~(np.isfinite(arr) & (arr > 0))][0]
        raise ParameterError(f"{name}.factor returned {bad!r} for an output line; a drift "
                             f"compensation factor must be finite and > 0")
    return f
