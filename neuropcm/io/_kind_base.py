"""The machinery of file kinds (:mod:`neuropcm.io.kinds` declares the project's kinds with
it): the unit vocabulary and its checks, the range of a headline, :class:`FileKind` and the
registry :data:`KINDS`."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

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
