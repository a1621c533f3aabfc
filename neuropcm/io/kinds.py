"""The registry of file kinds the project writes.

Every HDF5 file carries a root attribute ``kind``. Each kind is declared here once, with
its schema version, its headline results (attributes of ``/results``) and its datasets
with their units, so that readers (:func:`neuropcm.io.open`, the analysis CLI) can check a
file and show it without knowing the run that made it. Units come from one small
vocabulary of SI symbols (:data:`UNITS`).

Results named after an extension (one per drift compensation, say) are declared by name
pattern (:attr:`FileKind.optional_patterns`, :attr:`FileKind.dataset_patterns`): a file
written with a compensation registered by a user reads back with its units, also in a
session where that compensation is not registered (files outlive the code that made them).
The registry of kinds, :data:`KINDS`, is a :class:`~neuropcm.registry.Registry`.

Every headline has a range (:meth:`FileKind.range_of`): a default rule by unit
(:func:`default_range`: a ``count`` is a whole number >= 0, a magnitude of ``s``, ``J``,
``Hz``, ``S``, ``K`` and their products is >= 0, anything else any number; all finite),
replaced where the unit alone does not say it by the kind's :attr:`FileKind.bounds`
(accuracies and other fractions in [0, 1], ...), NaN and infinities allowed only for the
names in :attr:`FileKind.nonfinite`. Readers refuse a file whose headline leaves its range
(:func:`neuropcm.io.hdf5.check_headlines`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..devices.params import PARAM_CLASSES
from ..errors import ParameterError
from ..registry import Registry

#: The unit symbols a dataset or headline may carry: siemens, seconds, volts, amperes,
#: joules, kelvin, hertz (rates), dimensionless (ratios, fractions, class labels), and
#: counts (pulses, spikes, reads, shots, examples -- and means of counts). A derived unit
#: is written as a product of the physical symbols with integer powers, separated by
#: spaces: ``"V^2"``, ``"A s^-1"`` (see :func:`check_units`).
UNITS = ("S", "s", "V", "A", "J", "K", "Hz", "1", "count")

#: Unit words older files carry, and the symbol each stands for (read side only: writers
#: must use :data:`UNITS`).
LEGACY_UNITS = {"pulses": "count", "spikes": "count", "cycles": "count", "shots": "count",
                "class": "1"}

# Exponents of each physical symbol over the SI base units (m, kg, s, A, K, mol, cd), in
# the order derived units are searched (:func:`units_for_dimension`).
_BASE = {"S": (-2, -1, 3, 2, 0, 0, 0), "s": (0, 0, 1, 0, 0, 0, 0), "V": (2, 1, -3, -1, 0, 0, 0),
         "A": (0, 0, 0, 1, 0, 0, 0), "J": (2, 1, -2, 0, 0, 0, 0), "K": (0, 0, 0, 0, 1, 0, 0),
         "Hz": (0, 0, -1, 0, 0, 0, 0)}


def _parse(units: str) -> dict | None:
    """``{"V": 2}`` for ``"V^2"``; None unless ``units`` is one vocabulary symbol or a
    product of distinct physical symbols with non-zero integer powers."""
    if units in UNITS:
        return {units: 1}
    out = {}
    for tok in units.split(" "):
        sym, _, power = tok.partition("^")
        if sym not in _BASE or sym in out:
            return None
        if power:
            body = power[1:] if power[0] == "-" else power
            if not body.isdigit() or int(power) == 0:
                return None
        out[sym] = int(power) if power else 1
    return out


def check_units(units, where: str = "units") -> str:
    """Return ``units`` if it is a unit of the vocabulary, else raise a one-line error.

    A unit is a symbol of :data:`UNITS`, or a product of the physical symbols (not
    ``"1"``/``"count"``), each at most once, with non-zero integer powers, separated by
    single spaces: ``"V^2"``, ``"A s^-1"``, ``"S s"``.

    Raises
    ------
    ParameterError
        Naming the value, the vocabulary and, for a known word, its symbol.
    """
    if isinstance(units, str) and units and _parse(units) is not None:
        return units
    hint = (f"; write {LEGACY_UNITS[units]!r} for {units!r}" if units in LEGACY_UNITS
            else "; counts of pulses, spikes, cycles or shots are 'count', class labels "
                 "and ratios '1', derived units products like 'V^2' or 'A s^-1'")
    raise ParameterError(f"{where} = {units!r} is not a unit of the vocabulary "
                         f"{list(UNITS)}{hint}")


def normalise_units(units) -> str | None:
    """A unit read from a file as a unit of the vocabulary (older words mapped through
    :data:`LEGACY_UNITS`), or None when it is none."""
    if isinstance(units, bytes):
        units = units.decode(errors="replace")
    if not isinstance(units, str):
        return None
    units = LEGACY_UNITS.get(units, units)
    return units if units and _parse(units) is not None else None


def units_for_dimension(dim) -> str:
    """The vocabulary unit of a physical dimension.

    Parameters
    ----------
    dim : brian2 Dimension, brian2 quantity or sequence of 7 ints
        Exponents over (m, kg, s, A, K, mol, cd); a Brian2 object is read through its
        ``dim``/``_dims`` (Brian2 is not imported).

    Returns
    -------
    str
        ``"1"`` for a dimensionless value, a symbol of :data:`UNITS`, else the first of
        ``"X^a"`` and ``"X^a Y^b"`` (powers -4..4, symbols in the order of :data:`UNITS`)
        that has the dimension: e.g. ``"V^2"``, ``"A s^-1"``.

    Raises
    ------
    ParameterError
        The dimension is none of these (e.g. it involves mol or cd).
    """
    d = getattr(dim, "dim", dim)
    d = getattr(d, "_dims", d)
    try:
        target = tuple(int(x) for x in d)
    except (TypeError, ValueError):
        raise ParameterError(f"dimension {dim!r} is not a Brian2 dimension or 7 "
                             f"exponents") from None
    if len(target) != 7:
        raise ParameterError(f"dimension {dim!r} must have 7 exponents (m, kg, s, A, K, mol, "
                             f"cd)")
    if not any(target):
        return "1"
    powers = [p for k in range(1, 5) for p in (k, -k)]
    syms = list(_BASE)

    def vec(terms):
        return tuple(sum(_BASE[s][i] * p for s, p in terms) for i in range(7))

    for p in powers:
        for s in syms:
            if vec([(s, p)]) == target:
                return s if p == 1 else f"{s}^{p}"
    for i, s1 in enumerate(syms):
        for s2 in syms[i + 1:]:
            for p1 in powers:
                for p2 in powers:
                    if vec([(s1, p1), (s2, p2)]) == target:  # positive powers first
                        terms = sorted(((s1, p1), (s2, p2)), key=lambda t: t[1] < 0)
                        return " ".join(s if p == 1 else f"{s}^{p}" for s, p in terms)
    raise ParameterError(f"dimension {target} (m, kg, s, A, K, mol, cd) has no unit in the "
                         f"vocabulary {list(UNITS)} (or a product of two of them)")


#: Units whose magnitudes are never negative (a time, an energy, a rate, a conductance, a
#: temperature), alone or as products with any powers (``"J^-1"``, ``"S s"``).
NONNEGATIVE_UNITS = ("s", "J", "Hz", "S", "K")


@dataclass(frozen=True)
class Range:
    """The values a headline result may take.

    Attributes
    ----------
    lo, hi : float or None
        Inclusive bounds (None: unbounded on that side).
    integer : bool
        Whole numbers only (counts).
    nonfinite : bool
        NaN and infinities are allowed (e.g. a diverged residual, a threshold of equal
        scores); an infinity must still respect the bounds (``-inf`` is below ``lo = 0``).
    """

    lo: float | None = None
    hi: float | None = None
    integer: bool = False
    nonfinite: bool = False

    def __post_init__(self):
        for name in ("lo", "hi"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                                  or not math.isfinite(v)):
                raise ParameterError(f"Range.{name} = {v!r} must be a finite number or None")
        if self.lo is not None and self.hi is not None and self.lo > self.hi:
            raise ParameterError(f"Range: lo = {self.lo!r} is above hi = {self.hi!r}")

    def describe(self) -> str:
        """The range in words: ``"[0, 1]"``, ``"a whole number >= 0"``, ``">= 0"``, ..."""
        def num(v):
            return f"{v:g}" if isinstance(v, float) else str(v)

        if self.lo is not None and self.hi is not None:
            text = f"[{num(self.lo)}, {num(self.hi)}]"
        elif self.lo is not None:
            text = f">= {num(self.lo)}"
        elif self.hi is not None:
            text = f"<= {num(self.hi)}"
        else:
            text = "any number"
        if self.integer:
            text = "a whole number" + ("" if text == "any number" else f" {text}")
        return text + (", NaN or inf allowed" if self.nonfinite else ", finite")

    def violation(self, value) -> str | None:
        """None if ``value`` (a number, or an array of numbers checked element-wise) is in
        the range; else the offending value as a phrase to follow a headline's name:
        ``"= 7.5"``, ``"[2] (of 4) = -1.0"``, ``"= 'abc' (not a number)"``."""
        a = np.asarray(value)
        if a.dtype.kind not in "biuf":
            return f"= {_shown(value)} (not a number)"
        a = a.astype(float).ravel()
        finite = np.isfinite(a)
        bad = np.zeros(a.shape, bool) if self.nonfinite else ~finite
        with np.errstate(invalid="ignore"):
            if self.lo is not None:
                bad |= a < self.lo
            if self.hi is not None:
                bad |= a > self.hi
            if self.integer:
                bad |= finite & (a != np.round(a))
        if not bad.any():
            return None
        i = int(np.flatnonzero(bad)[0])
        v = np.asarray(value).ravel()[i]
        if np.ndim(value) == 0:
            return f"= {_shown(v)}"
        return f"[{i}] (of {a.size}) = {_shown(v)}"


def _shown(v) -> str:
    """A value for a message: ``7.5``, ``nan``, ``3``, a short repr otherwise."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    text = " ".join(repr(v).split())
    return text if len(text) <= 40 else text[:40] + "..."


def default_range(unit: str) -> Range:
    """The range a headline of ``unit`` has unless its kind declares one
    (:attr:`FileKind.bounds`): a ``count`` is a whole number >= 0; a magnitude whose unit is
    one of :data:`NONNEGATIVE_UNITS` or a product of them (``"J^-1"``) is >= 0; anything
    else (``"1"``, volts, amperes) any finite number."""
    if unit == "count":
        return Range(0, None, integer=True)
    parsed = _parse(unit)
    if parsed and all(sym in NONNEGATIVE_UNITS for sym in parsed):
        return Range(0, None)
    return Range()


def _as_range(v, where: str) -> Range:
    """A bounds entry -- a :class:`Range` or a pair ``(lo, hi)`` -- as a Range."""
    if isinstance(v, Range):
        return v
    if isinstance(v, tuple) and len(v) == 2:
        return Range(*v)
    raise ParameterError(f"{where} = {v!r} must be a pair (lo, hi) (None: unbounded) or a "
                         f"neuropcm.io.kinds.Range")


@dataclass(frozen=True)
class FileKind:
    """One kind of HDF5 file.

    Attributes
    ----------
    name : str
        The root ``kind`` attribute.
    schema_version : int
        Layout version of this kind, written as the root ``schema_version``; a reader
        refuses other versions (newer: upgrade NeuroPCM; older: re-create the file).
    description : str
        One line for ``neuropcm inspect``.
    headline : dict
        Headline attributes of ``/results`` every file of the kind holds, and their
        units (from :data:`UNITS`).
    optional : dict
        Headline attributes a file may hold, and their units.
    datasets : dict
        Datasets every file of this kind holds (path under the root) and their units.
    optional_patterns : dict
        Headline attributes a file may hold, by name pattern, and their units: one
        ``{placeholder}`` in a key stands for any name of letters, digits, ``_``, ``-``
        and ``.`` (``{"eta_t_max_{compensation}": "1"}``).
    dataset_patterns : dict
        Datasets a file may hold, by path pattern (as ``optional_patterns``), and their
        units.
    optional_datasets : dict
        Datasets a file may hold (path under the root) and their units.
    devices : bool
        Whether device states are stored under ``/devices/<name>/`` (at least one).
    config : bool
        Whether the file must hold a ``/config``.
    bounds : dict
        The range of a headline (a name of :attr:`headline`/:attr:`optional` or a key of
        :attr:`optional_patterns`) where its unit's default rule (:func:`default_range`)
        does not say it: a pair ``(lo, hi)`` of inclusive bounds (None: unbounded; a
        ``count`` stays a whole number) or a :class:`Range`. Accuracies and other fractions
        are ``(0, 1)``; a dimensionless headline of the project's kinds always has an entry.
    nonfinite : tuple
        Headlines (names or pattern keys) that may be NaN or infinite; every other one must
        be finite.
    """

    name: str
    schema_version: int
    description: str
    headline: dict = field(default_factory=dict)
    optional: dict = field(default_factory=dict)
    datasets: dict = field(default_factory=dict)
    devices: bool = False
    config: bool = True
    optional_patterns: dict = field(default_factory=dict)
    dataset_patterns: dict = field(default_factory=dict)
    bounds: dict = field(default_factory=dict)
    nonfinite: tuple = ()
    optional_datasets: dict = field(default_factory=dict)

    def __post_init__(self):
        if isinstance(self.schema_version, bool) or not isinstance(self.schema_version, int) \
                or self.schema_version < 1:
            raise ParameterError(f"file kind {self.name!r}: schema_version = "
                                 f"{self.schema_version!r} must be a whole number >= 1")
        for where, table in (("headline", self.headline), ("optional", self.optional),
                             ("datasets", self.datasets),
                             ("optional_patterns", self.optional_patterns),
                             ("dataset_patterns", self.dataset_patterns),
                             ("optional_datasets", self.optional_datasets)):
            for k, u in table.items():
                check_units(u, f"file kind {self.name!r}: {where} {k!r} unit")
                if where.endswith("patterns"):
                    _pattern(k, f"file kind {self.name!r}: {where} {k!r}")
        names = {**self.headline, **self.optional, **self.optional_patterns}
        for where, keys in (("bounds", self.bounds), ("nonfinite", self.nonfinite)):
            for k in keys:
                if k not in names:
                    raise ParameterError(f"file kind {self.name!r}: {where} {k!r} is not a "
                                         f"declared headline (nor a key of optional_patterns)")
        object.__setattr__(self, "bounds", {
            k: _as_range(v, f"file kind {self.name!r}: bounds {k!r}")
            for k, v in self.bounds.items()})
        object.__setattr__(self, "nonfinite", tuple(self.nonfinite))

    def units_of(self, attribute: str) -> str | None:
        """The unit of headline attribute ``attribute`` (None if the kind does not know it;
        a name matching one of :attr:`optional_patterns` has its unit)."""
        known = self.headline.get(attribute, self.optional.get(attribute))
        return known if known is not None else _match(self.optional_patterns, attribute)

    def range_of(self, attribute: str) -> Range | None:
        """The :class:`Range` of headline ``attribute`` (None if the kind does not declare
        it): its :attr:`bounds` entry (by name, or by the :attr:`optional_patterns` key it
        matches), else its unit's :func:`default_range`; a ``count`` is always whole, and
        NaN/inf are allowed only for the names in :attr:`nonfinite`."""
        unit = self.units_of(attribute)
        if unit is None:
            return None
        key = attribute
        if attribute not in self.headline and attribute not in self.optional:
            key = next((k for k in self.optional_patterns if _pattern(k).fullmatch(attribute)),
                       attribute)
        rule = self.bounds.get(key, default_range(unit))
        return Range(rule.lo, rule.hi, integer=rule.integer or unit == "count",
                     nonfinite=rule.nonfinite or key in self.nonfinite)

    def dataset_units(self, path: str) -> str | None:
        """The unit of the dataset ``path`` (under the root) if the kind declares it, by
        name (:attr:`datasets`) or by pattern (:attr:`dataset_patterns`); else None."""
        known = self.datasets.get(path, self.optional_datasets.get(path))
        return known if known is not None else _match(self.dataset_patterns, path)


_PLACEHOLDER = re.compile(r"\{[A-Za-z_]+\}")


def _pattern(key: str, where: str = "pattern") -> re.Pattern:
    """The regular expression of a name pattern with one ``{placeholder}``."""
    parts = _PLACEHOLDER.split(key)
    if len(parts) != 2:
        raise ParameterError(f"{where} must hold exactly one {{placeholder}}, e.g. "
                             f"'eta_{{compensation}}'")
    return re.compile(re.escape(parts[0]) + r"[A-Za-z0-9_.\-]+" + re.escape(parts[1]))


def _match(patterns: dict, name: str) -> str | None:
    """The unit of the first pattern ``name`` matches, or None."""
    return next((u for k, u in patterns.items() if _pattern(k).fullmatch(name)), None)


def _check_kind(name: str, kind) -> None:
    if not isinstance(kind, FileKind) or kind.name != name:
        raise ParameterError(f"file kind {name!r}: {kind!r} must be a FileKind named {name!r}")


#: The registered kinds, by name.
KINDS = Registry("file kind", how="neuropcm.io.kinds.register_kind(FileKind(...))",
                 key=lambda kind: kind.name, check=_check_kind)


def register_kind(kind: FileKind) -> FileKind:
    """Add a kind to the registry (a name is registered once; registering an equal kind
    again is a no-op).

    Raises
    ------
    ParameterError
        Another kind of the same name is registered.
    """
    return KINDS.register(kind)


def get_kind(name: str) -> FileKind:
    """The registered kind ``name``.

    Raises
    ------
    UnknownPresetError
        If no such kind is registered (the message lists the known ones).
    """
    return KINDS.get(name)


# -- the kinds the project writes (names checked against the writers by the tests) -------
register_kind(FileKind(
    "pcm_array", 1, "PCM device arrays (full state)", devices=True, config=False))
register_kind(FileKind(
    "crossbar", 2, "a programmed PCM crossbar (devices, mapping, config, clock, streams)",
    datasets={"crossbar/W": "1", "crossbar/chi": "1", "crossbar/transferred": "1",
              "crossbar/rr_plus": "count", "crossbar/rr_minus": "count"},
    devices=True))
def _device_fit_datasets() -> dict:
    """The optional datasets of a ``device_fit`` file: each fitted parameter and its standard
    error in its own unit, and the check's step and compared quantity by kind of
    measurement (as ``neuropcm.workloads.characterisation.device_fit.CHECKS``)."""
    out = {}
    for cls in PARAM_CLASSES.values():
        for name, unit in cls.units().items():
            out[f"results/parameters/{name}"] = out[f"results/stderr/{name}"] = unit
    steps = {"pulse": "count", "target": "S", "time": "s", "temperature": "K"}
    quantities = {"conductance": "S", "deviation": "S", "ratio": "1",
                  "relative_deviation": "1"}
    out.update({f"results/check/{k}": u for k, u in steps.items()})
    out.update({f"results/check/{q}_{stat}": u for q, u in quantities.items()
                for stat in ("data_mean", "data_std", "sim_mean", "sim_std")})
    return out


register_kind(FileKind(
    "device_fit", 1,
    "the device model fitted to measurements (neuropcm fit): parameters with standard errors "
    "and correlations, and the posterior-predictive check per step",
    headline={"n_devices": "count", "n_points": "count", "parameters": "count",
              "check_steps": "count", "check_min_p_value": "1", "describes_data": "count"},
    bounds={"check_min_p_value": (0, 1), "describes_data": (0, 1)},
    datasets={"results/parameter_names": "1", "results/correlation": "1",
              "results/check/statistic": "1", "results/check/p_value": "1",
              "results/check/n_data": "count", "results/check/n_sim": "count"},
    optional_datasets=_device_fit_datasets()))
register_kind(FileKind(
    "device_characterisation", 1,
    "a device preset measured on many simulated devices",
    headline={"g_after_pulses": "S", "g_after_pulses_theory": "S", "program_converged": "1"},
    bounds={"program_converged": (0, 1)},  # the fraction of devices that converged
    datasets={"results/accumulation/pulses": "count", "results/accumulation/mean": "S",
              "results/accumulation/std": "S", "results/accumulation/theory_mean": "S",
              "results/accumulation/theory_std": "S",
              "results/programming/target": "S", "results/programming/error_mean": "S",
              "results/programming/error_std": "S",
              "results/programming/iterations_mean": "count",
              "results/programming/converged": "1",
              "results/drift/time": "s", "results/drift/levels": "S", "results/drift/mean": "S",
              "results/read_noise/conductance": "S", "results/read_noise/std": "S",
              "results/read_noise/model_std": "S"}))
register_kind(FileKind(
    "mnist_clustering", 1, "unsupervised MNIST clustering with PCM synapses",
    headline={"test_accuracy": "1", "train_examples": "count", "test_examples": "count",
              "train_wall_s": "s", "test_wall_s": "s", "n_set": "count", "n_reset": "count",
              "energy_J": "J"},
    optional={"presented_examples": "count", "assign_examples": "count",
              "assign_wall_s": "s", "compile_s": "s", "no_response": "count",
              "neurons_assigned": "count", "s_per_train_example": "s"},
    bounds={"test_accuracy": (0, 1)},
    datasets={"network/theta": "V", "network/assignments": "1", "network/weights": "S",
              "results/confusion": "count", "results/per_class_accuracy": "1",
              "results/test_predictions": "1", "results/test_labels": "1",
              "results/train_spikes_per_example": "count", "results/assign_counts": "count",
              "results/test_counts": "count"},
    devices=True))
# checkpoints, version 2: settings with their sha256 (settings_sha256) beside them
register_kind(FileKind(
    "mnist_checkpoint", 2, "a checkpoint of an MNIST clustering run (resume with --resume)",
    config=False))
register_kind(FileKind(
    "phase_change_neuron", 1, "phase-change neuron reproduction (Tuma 2016)",
    headline={"population_error": "1", "best_single_error": "1", "median_single_error": "1"},
    # RMS error of a linear fit over the signal's std (about 1 without tracking)
    bounds={"population_error": (0, None), "best_single_error": (0, None),
            "median_single_error": (0, None)},
    datasets={"results/strength": "1", "results/rate": "Hz", "results/tracking/time": "s",
              "results/tracking/signal": "1", "results/tracking/population_rate": "Hz",
              "results/tracking/single_error": "1"}))
_SOLVER_RESIDUALS = ("final_relative_residual", "worst_final_relative_residual",
                     *(f"{p}_{v}_final_relative_residual" for p in ("dense", "banded")
                       for v in ("crossbar", "float64_inner", "exact_inner", "float64_cg")))
register_kind(FileKind(
    "solver", 1,
    "mixed-precision linear solver with MVMs on PCM crossbars (Le Gallo 2018); headline: "
    "the dense system at the first read time",
    headline={"final_relative_residual": "1", "outer_iterations": "count",
              "crossbar_mvms": "count", "device_reads": "count",
              "worst_final_relative_residual": "1"},
    optional={
        **{f"{p}_crossbar_{k}": u for p in ("dense", "banded")
           for k, u in (("final_relative_residual", "1"), ("outer_iterations", "count"),
                        ("mvms", "count"), ("device_reads", "count"))},
        **{f"{p}_{v}_{k}": u for p in ("dense", "banded")
           for v in ("float64_inner", "exact_inner", "float64_cg")
           for k, u in (("final_relative_residual", "1"), ("outer_iterations", "count"),
                        ("mvms", "count"))},
        **{f"{p}_{k}": u for p in ("dense", "banded")
           for k, u in (("devices", "count"), ("band_devices", "count"),
                        ("read_devices", "count"), ("tiles", "count"),
                        ("programming_reads", "count"), ("lambda_min", "1"),
                        ("condition_number", "1"))}},
    # residuals are >= 0, and NaN or inf where a solve diverged (it stops there); the
    # matrices are SPD (lambda_min > 0, condition number >= 1)
    bounds={**{k: (0, None) for k in _SOLVER_RESIDUALS},
            **{f"{p}_lambda_min": (0, None) for p in ("dense", "banded")},
            **{f"{p}_condition_number": (1, None) for p in ("dense", "banded")}},
    nonfinite=_SOLVER_RESIDUALS,
    datasets={
        **{f"results/{p}/{d}": u for p in ("dense", "banded")
           for d, u in (("times", "s"), ("b", "1"), ("x_exact", "1"),
                        ("matrix_error_rms", "1"), ("matrix_error_max", "1"),
                        ("mvm_relative_error", "1"), ("calibration_reads", "count"))},
        **{f"results/{p}/{v}/{d}": u for p in ("dense", "banded")
           for v in ("crossbar_0", "float64_inner", "exact_inner", "float64_cg")
           for d, u in (("relative_residual", "1"), ("relative_error", "1"),
                        ("mvms", "count"), ("device_reads", "count"), ("x", "1"))}}))
_CORR_SCORES = {f"{pre}{k}": u for pre, tu in (("", "S"), ("covariance_", "count"),
                                                 ("ideal_", "1"))
                for k, u in (("roc_auc", "1"), ("accuracy", "1"), ("best_accuracy", "1"),
                             ("threshold", tu))}
register_kind(FileKind(
    "correlation", 1, "temporal correlation detection with PCM devices (Sebastian 2017)",
    headline={"roc_auc": "1", "accuracy": "1", "best_accuracy": "1", "threshold": "S",
              "covariance_roc_auc": "1", "covariance_accuracy": "1", "ideal_roc_auc": "1",
              "ideal_accuracy": "1", "mean_g_correlated": "S", "mean_g_uncorrelated": "S",
              "n_set": "count", "energy_J": "J", "pulse_steps": "count", "wall_s": "s",
              "process_steps_per_s": "Hz", "image_rows": "count", "image_width": "count"},
    # ROC-AUCs and accuracies are fractions; Otsu's threshold (a conductance, reads are
    # clipped at 0) is NaN when all scores are equal
    bounds={k: (0, 1) for k in ("roc_auc", "accuracy", "best_accuracy", "covariance_roc_auc",
                                "covariance_accuracy", "ideal_roc_auc", "ideal_accuracy")},
    nonfinite=("threshold",),
    datasets={"results/snapshots/step": "count",
              **{f"results/snapshots/{k}": u for k, u in _CORR_SCORES.items()},
              "results/snapshots/mean_g_correlated": "S",
              "results/snapshots/std_g_correlated": "S",
              "results/snapshots/mean_g_uncorrelated": "S",
              "results/snapshots/std_g_uncorrelated": "S",
              "results/steps/reference": "1", "results/steps/process_sum": "count",
              "results/steps/current": "A", "results/steps/amplitude": "1",
              "results/histogram/edges": "S", "results/histogram/correlated": "count",
              "results/histogram/uncorrelated": "count",
              "results/final/conductance": "S", "results/final/correlated": "1",
              "results/final/covariance_score": "count", "results/final/ideal_score": "1",
              "results/final/set_pulses": "count"}))
register_kind(FileKind(
    "mvm_precision", 1, "PCM matrix-vector multiplication error against b-bit fixed point",
    headline={"devices_per_weight": "count", "equivalent_bits": "1",
              "equivalent_bits_fractional": "1", "eta_pcm": "1", "eta_pcm_se": "1",
              "drift_devices_per_weight": "count", "eta_t_max_none": "1",
              "eta_t_max_global": "1", "eta_t_max_column": "1", "eta_t_max_lrs": "1"},
    datasets={"results/matrix": "1", "results/inputs": "1", "results/fixed/bits": "count",
              "results/fixed/eta": "1", "results/pcm/devices_per_weight": "count",
              "results/pcm/eta": "1", "results/drift/time": "s",
              "results/drift/eta_none": "1", "results/drift/eta_global": "1",
              "results/drift/eta_column": "1", "results/drift/eta_lrs": "1"},
    # every further registered drift compensation of the time sweep
    optional_patterns={"eta_t_max_{compensation}": "1"},
    # relative errors >= 0; equivalent bits whole (bits_min - 1 >= 1 when PCM is worse than
    # every b), the fractional ones NaN outside the bits tried
    bounds={"equivalent_bits": Range(0, None, integer=True),
            "equivalent_bits_fractional": (0, None),
            **{k: (0, None) for k in ("eta_pcm", "eta_pcm_se", "eta_t_max_none",
                                      "eta_t_max_global", "eta_t_max_column", "eta_t_max_lrs",
                                      "eta_t_max_{compensation}")}},
    nonfinite=("equivalent_bits_fractional",),
    dataset_patterns={"results/drift/eta_{compensation}": "1"},
    # the opt-in wire-resistance sweep; a resistance is "S^-1" in the vocabulary (ohm)
    optional_datasets={"results/wires/tile_size": "count", "results/wires/resistance": "S^-1",
                       "results/wires/eta": "1", "results/wires/equivalent_bits": "1"}))
register_kind(FileKind(
    "compressed_sensing", 1, "compressed sensing with AMP recovery on one PCM crossbar",
    headline={"final_nmse_db_float": "1", "final_nmse_db_fixed4": "1",
              "final_nmse_db_pcm": "1", "iterations_to_floor_float": "count",
              "iterations_to_floor_fixed4": "count", "iterations_to_floor_pcm": "count",
              "lam": "1", "measurements": "count", "blocks": "count",
              "pcm_mvm_vectors": "count"},
    # NMSE floors in dB: any sign, -inf for an exact recovery, +inf where AMP diverged
    bounds={**{f"final_nmse_db_{v}": (None, None) for v in ("float", "fixed4", "pcm")},
            "lam": (0, None)},
    nonfinite=tuple(f"final_nmse_db_{v}" for v in ("float", "fixed4", "pcm")),
    datasets={"results/iteration": "count", "results/image": "1", "results/matrix": "1",
              "results/nmse_db_float": "1", "results/nmse_db_fixed4": "1",
              "results/nmse_db_pcm": "1", "results/onsager_float": "1",
              "results/onsager_fixed4": "1", "results/onsager_pcm": "1",
              "results/reconstruction_float": "1", "results/reconstruction_fixed4": "1",
              "results/reconstruction_pcm": "1"}))
register_kind(FileKind(
    "snn_crossbar", 1, "MNIST by rates through a crossbar over a clustering network's devices",
    headline={"test_accuracy_rate": "1", "test_accuracy_spiking": "1", "wall_s": "s",
              "test_examples": "count", "spiking_test_examples": "count"},
    # seconds between the end of training and the first read time (the devices' age)
    optional={"read_time_offset": "s"},
    bounds={"test_accuracy_rate": (0, 1), "test_accuracy_spiking": (0, 1)},
    datasets={"results/time": "s", "results/accuracy_none": "1",
              "results/accuracy_global": "1"},
    # the readout with any other registered drift compensation
    dataset_patterns={"results/accuracy_{compensation}": "1"}))
register_kind(FileKind(
    "sweep_summary", 1,
    "a sweep of one workload over a grid of configs (neuropcm sweep): every point's axis values "
    "and headline results, mean and std (ddof=1) over seeds per group",
    headline={"points": "count", "finished": "count", "failed": "count", "groups": "count"},
    datasets={"points/name": "1", "points/status": "1", "points/error": "1",
              "points/config": "1", "groups/n": "count", "groups/failed": "count",
              "groups/points": "1"}))
#: Datasets of the throughput model (neuropcm.workloads.learning._throughput.UNITS).
THROUGHPUT = {"ops": "count", "ops_per_image": "count", "time": "s", "ops_per_second": "Hz",
              "energy": "J", "energy_devices": "J", "energy_adc": "J", "energy_dac": "J",
              "energy_per_image": "J", "ops_per_joule": "J^-1", "network_ops": "count"}

register_kind(FileKind(
    "drift_resilient", 1, "drift-resilient MLP inference on PCM (seed 2): accuracy against "
    "time, ADC bits, weight bits and of an analog multilevel baseline",
    headline={"accuracy_t0": "1", "accuracy_final": "1", "accuracy_t0_std": "1",
              "accuracy_final_std": "1", "accuracy_final_none": "1", "software_accuracy": "1",
              "quantised_accuracy": "1", "weight_bits": "count", "adc_bits": "count",
              "instances": "count", "test_examples": "count", "t0": "s", "pass_s": "s",
              "wall_s": "s", "ops_per_second": "Hz", "ops_per_joule": "J^-1"},
    # accuracies, and their std over >= 2 instances, are fractions; the throughput model
    # gives NaN for a zero time or energy
    bounds={k: (0, 1) for k in ("accuracy_t0", "accuracy_final", "accuracy_t0_std",
                                "accuracy_final_std", "accuracy_final_none",
                                "software_accuracy", "quantised_accuracy")},
    nonfinite=("ops_per_second", "ops_per_joule"),
    datasets={"results/time": "s", "results/time_over_t0": "1", "results/weights/W1": "1",
              "results/weights/W2": "1", "results/drift/accuracy_none": "1",
              "results/drift/accuracy_lrs": "1", "results/bits/bits": "count",
              "results/bits/accuracy_t0": "1", "results/bits/accuracy_final": "1",
              "results/bits/quantised_accuracy": "1", "results/adc/bits": "count",
              "results/adc/accuracy_t0": "1", "results/adc/accuracy_final": "1",
              "results/analog/levels": "count", "results/analog/quantised_accuracy": "1",
              "results/analog/accuracy_state_none": "1", "results/analog/accuracy_state_lrs": "1",
              "results/analog/accuracy_ideal_none": "1", "results/analog/accuracy_ideal_lrs": "1",
              "results/counters/n_read": "count", "results/counters/adc_conversions": "count",
              "results/counters/adc_saturated": "count",
              "results/counters/dac_conversions": "count", "results/counters/energy": "J",
              "results/counters/n_mvm": "count", "results/counters/images": "count",
              "results/counters/mvm_steps": "count", "results/counters/ops": "count",
              **{f"results/throughput/{k}": u for k, u in THROUGHPUT.items()}}))
register_kind(FileKind(
    "mlp_train", 1,
    "an MLP trained on PCM crossbars, in-situ (Burr 2015) or mixed-precision (Nandakumar "
    "2018), with float references",
    headline={"test_accuracy": "1", "best_test_accuracy": "1", "train_accuracy": "1",
              "float_test_accuracy": "1", "epochs": "count", "train_examples": "count",
              "test_examples": "count", "epsilon": "1", "n_set": "count", "n_reset": "count",
              "energy_J": "J", "epoch_wall_s": "s", "wall_s": "s",
              "energy_per_example": "J", "ops_per_joule": "J^-1"},
    optional={"quantised_test_accuracy": "1"},
    # epsilon: the weight change of one SET pulse; the throughput model gives NaN for a
    # zero energy
    bounds={**{k: (0, 1) for k in ("test_accuracy", "best_test_accuracy", "train_accuracy",
                                   "float_test_accuracy", "quantised_test_accuracy")},
            "epsilon": (0, None)},
    nonfinite=("ops_per_joule",),
    datasets={**{f"results/{k}": u for k, u in (
        ("epoch", "count"), ("train_accuracy", "1"), ("test_accuracy", "1"),
        ("float_train_accuracy", "1"), ("float_test_accuracy", "1"), ("epoch_wall_s", "s"),
        ("refreshed_pairs", "count"), ("n_set", "count"), ("n_reset", "count"),
        ("n_read", "count"), ("energy", "J"), ("n_refresh", "count"), ("n_mvm", "count"),
        ("adc_conversions", "count"), ("test_predictions", "1"), ("weights/layer0", "1"),
        ("weights/layer1", "1"), ("float_weights/layer0", "1"),
        ("float_weights/layer1", "1"))},
        **{f"results/throughput/{k}": u for k, u in THROUGHPUT.items()}}))
# version 2: one file -- settings with their sha256, the crossbars under /crossbars/layer<l>
# (neuropcm.io.crossbar.write_crossbar), no separate crossbar files
register_kind(FileKind(
    "mlp_train_checkpoint", 2, "a checkpoint of an mlp-train run, crossbars included (resume "
    "with --resume)", config=False))
