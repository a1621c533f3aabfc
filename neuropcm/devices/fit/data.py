"""Measured device data for the fitters: CSV and HDF5 readers with their checks.

Long format, one measurement a row. The columns of each kind of measurement
(:data:`KINDS`; ``[u]`` marks a column that needs a unit)::

    accumulation  device, pulse, conductance [u]  (+ amplitude, run)
    programming   device, target [u], conductance [u]
    drift         device, time [u], conductance [u]  (+ target [u])
    read-noise    device, time [u], conductance [u]  (+ target [u])
    temperature   device, temperature [u], conductance [u]  (+ target [u], time [u])

A unit is written in brackets after the name (``conductance [uS]``, ``time [s]``,
``temperature [K]``); ``resistance [kOhm]`` (or ``[Ohm]``, ``[MOhm]``, ...) may stand for
``conductance`` and is converted (G = 1/R). CSV lines starting with ``#`` are comments.
HDF5 files hold one dataset per column, named like the column without the unit, each with
a ``units`` attribute (``""`` for dimensionless ones). Everything is converted to SI on
reading. Each reader refuses bad input with a one-line error naming the value and the fix,
before any fitting: :class:`~neuropcm.errors.DatasetError` for the file and its contents,
:class:`~neuropcm.errors.UnitError` for units.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import DatasetError, UnitError
from .._params_base import T_MAX

#: Columns of each kind: (required, optional). ``device`` is always first.
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "accumulation": (("device", "pulse", "conductance"), ("amplitude", "run")),
    "programming": (("device", "target", "conductance"), ()),
    "drift": (("device", "time", "conductance"), ("target",)),
    "read-noise": (("device", "time", "conductance"), ("target",)),
    "temperature": (("device", "temperature", "conductance"), ("target", "time")),
}

_CONDUCTANCE = {"S": 1.0, "mS": 1e-3, "uS": 1e-6, "\u00b5S": 1e-6, "\u03bcS": 1e-6, "nS": 1e-9}
_RESISTANCE = {"Ohm": 1.0, "ohm": 1.0, "\u03a9": 1.0, "kOhm": 1e3, "kohm": 1e3, "k\u03a9": 1e3,
               "MOhm": 1e6, "Mohm": 1e6, "M\u03a9": 1e6, "GOhm": 1e9, "G\u03a9": 1e9}
_TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "\u00b5s": 1e-6, "ns": 1e-9, "min": 60.0,
         "h": 3600.0}
_TEMPERATURE = {"K": 1.0}
_DIMENSIONLESS = {"": 1.0, "1": 1.0}
#: The units each column accepts, by column name.
_UNITS = {"conductance": _CONDUCTANCE, "target": _CONDUCTANCE, "time": _TIME,
          "temperature": _TEMPERATURE, "pulse": _DIMENSIONLESS, "amplitude": _DIMENSIONLESS,
          "run": _DIMENSIONLESS, "resistance": _RESISTANCE}
_EXAMPLE_UNIT = {"conductance": "uS", "target": "uS", "time": "s", "temperature": "K",
                 "resistance": "kOhm"}
_WHOLE = ("pulse", "run")
_HEADER = re.compile(r"^\s*([A-Za-z_-]+)\s*(?:\[\s*([^\]]*?)\s*\])?\s*$")


@dataclass(frozen=True, eq=False)
class Measurements:
    """Checked measurements of one kind, in SI units, one entry per row.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    device : ndarray of int
        Device index of each row, into :attr:`device_names`.
    device_names : tuple of str
        The device labels of the file, in order of first appearance.
    columns : dict of str to ndarray
        The other columns in SI (conductance in S, time in s, temperature in K; pulse and
        run as whole floats), each as long as :attr:`device`.
    units : dict of str to str
        The unit each column was given in (``"kOhm"`` for a converted resistance).
    source : str
        Where the data came from (a path or ``"<arrays>"``).
    """

    kind: str
    device: np.ndarray
    device_names: tuple
    columns: dict
    units: dict
    source: str

    @property
    def n_devices(self) -> int:
        """Number of devices."""
        return len(self.device_names)

    @property
    def n_points(self) -> int:
        """Number of rows (measurements)."""
        return int(self.device.size)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def has(self, name: str) -> bool:
        """Whether the optional column ``name`` is present."""
        return name in self.columns

    @classmethod
    def from_arrays(cls, kind: str, *, device, source: str = "<arrays>", **columns):
        """Measurements from arrays already in SI (S, s, K), checked like a file.

        Parameters
        ----------
        kind : str
            One of :data:`KINDS`.
        device : array_like
            Device label of each row (any hashable values, e.g. ints).
        **columns : array_like
            The kind's other columns by name (``conductance`` in S, ``time`` in s, ...).
        """
        kind = check_kind(kind)
        units = {k: ("S" if k in ("conductance", "target") else "s" if k == "time" else
                     "K" if k == "temperature" else "") for k in columns}
        names = ["device", *columns]
        _check_columns(kind, names, source)
        raw = {"device": [str(d) for d in np.asarray(device).ravel()]}
        n = len(raw["device"])
        for k, v in columns.items():
            arr = np.asarray(v, dtype=float).ravel()
            if arr.size != n:
                raise DatasetError(f"{source}: column {k!r} has {arr.size} values but device "
                                   f"has {n}; give one value per row in every column")
            raw[k] = arr
        return _build(kind, raw, units, source)


def check_kind(kind) -> str:
    """The kind name, checked against :data:`KINDS` (one-line error otherwise)."""
    if kind not in KINDS:
        raise DatasetError(f"unknown kind of measurement {kind!r}; known kinds: {sorted(KINDS)}")
    return kind


def read_measurements(path, kind: str | None = None) -> Measurements:
    """Read a CSV or HDF5 file of measurements (format sniffed from the content).

    Parameters
    ----------
    path : str or Path
        The file.
    kind : str, optional
        The kind of measurement (:data:`KINDS`); by default inferred from the columns
        (``pulse`` -> accumulation, ``temperature`` -> temperature, ``time`` -> read-noise
        when a (device, time) pair repeats, else drift; ``target`` alone -> programming).

    Returns
    -------
    Measurements

    Raises
    ------
    DatasetError
        A missing, empty, binary or malformed file, or values that break a rule.
    UnitError
        An unknown unit, or one of the wrong dimension.
    """
    path = Path(path)
    if kind is not None:
        check_kind(kind)
    if not path.is_file():
        raise DatasetError(f"measurement file {str(path)!r} does not exist (or is not a file); "
                           f"check the path")
    blob = path.read_bytes()
    if not blob:
        raise DatasetError(f"measurement file {str(path)!r} is empty: write a header line and "
                           f"one row per measurement")
    if blob.startswith(b"\x89HDF\r\n\x1a\n"):
        names, units, raw = _read_hdf5(path)
    else:
        names, units, raw = _read_csv(path, blob)
    kind = kind or _infer_kind(names, raw, str(path))
    _check_columns(kind, names, str(path))
    return _build(kind, raw, units, str(path))


# ---------------------------------------------------------------------------- readers
def _parse_header(cell: str, source: str) -> tuple[str, str]:
    m = _HEADER.match(cell)
    if not m:
        raise DatasetError(f"{source}: header cell {cell!r} is not 'name' or 'name [unit]'; "
                           f"e.g. 'conductance [uS]'")
    return m.group(1).lower(), (m.group(2) or "")


def csv_table(blob: bytes, src: str, example: str, check_header=None):
    """The cells of a CSV file by column (blank and ``#`` lines skipped); one-line errors
    for a binary or non-UTF-8 file, no header or data, a bad header cell, a short row.

    Parameters
    ----------
    blob : bytes
        The file's content.
    src : str
        The file's name, for the messages.
    example : str
        A header line to suggest when there is none.
    check_header : callable, optional
        Called with the header, a list of ``(name, unit)``, before the rows are read (to
        refuse unknown or missing columns first).

    Returns
    -------
    header, cols, lines : list of (name, unit), dict of name to stripped cells, list of int
        The header (unit ``""`` where none is given), the columns, and the file's line
        number of each data row.
    """
    if b"\x00" in blob[:4096]:
        raise DatasetError(f"{src} is a binary file, not a CSV text file; export the "
                           f"measurements as CSV (or HDF5)")
    try:
        text = blob.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{src} is not UTF-8 text (byte {blob[exc.start]:#04x} at offset "
                           f"{exc.start}); save the CSV as UTF-8") from None
    rows = [(i + 1, r) for i, r in enumerate(csv.reader(io.StringIO(text)))
            if r and any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    if not rows:
        raise DatasetError(f"{src} holds no header and no data (only comments or blank "
                           f"lines); write a header line such as {example!r}")
    header = [_parse_header(c, src) for c in rows[0][1]]
    names = [n for n, _ in header]
    if len(rows) < 2:
        raise DatasetError(f"{src} has a header but no data rows; add one row per measurement")
    if check_header is not None:
        check_header(header)
    cols: dict[str, list] = {n: [] for n in names}
    for lineno, r in rows[1:]:
        if len(r) != len(names):
            raise DatasetError(f"{src} line {lineno} has {len(r)} fields but the header has "
                               f"{len(names)} ({', '.join(names)}); fix the row")
        for n, cell in zip(names, r):
            cols[n].append(cell.strip())
    return header, cols, [lineno for lineno, _ in rows[1:]]


def _read_csv(path: Path, blob: bytes):
    src = str(path)
    header, cols, lines = csv_table(blob, src, "device,pulse,conductance [uS]",
                                    lambda header: _check_columns(None, [n for n, _ in header], src))
    names = [n for n, _ in header]
    units = {n: u for n, u in header}
    raw = {}
    for n, cells in cols.items():
        if n == "device":
            raw[n] = cells
            continue
        try:
            raw[n] = np.array([float(c) for c in cells])
        except ValueError:
            bad = next(c for c in cells if not _is_float(c))
            line = lines[cells.index(bad)]
            raise DatasetError(f"{src} line {line}: {n} = {bad!r} is not a number; write a "
                               f"decimal number") from None
    return names, units, raw


def _is_float(c: str) -> bool:
    try:
        float(c)
    except ValueError:
        return False
    return True


def _read_hdf5(path: Path):
    import h5py

    src = str(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DatasetError(f"{src} starts like HDF5 but cannot be opened ({exc}); the file "
                           f"may be truncated") from None
    with f:
        names = [k for k in f.keys() if isinstance(f[k], h5py.Dataset)]
        if not names:
            raise DatasetError(f"{src} holds no datasets; write one dataset per column "
                               f"(device, pulse, conductance, ...)")
        names = [n.lower() for n in names]
        _check_columns(None, names, src)
        units, raw = {}, {}
        for key in f.keys():
            ds = f[key]
            if not isinstance(ds, h5py.Dataset):
                continue
            n = key.lower()
            if "units" not in ds.attrs and n != "device":
                raise DatasetError(f"{src}: dataset {key!r} has no 'units' attribute; set it "
                                   f"(e.g. {_EXAMPLE_UNIT.get(n, '')!r})")
            u = ds.attrs.get("units", "")
            units[n] = (u.decode() if isinstance(u, bytes) else str(u)).strip()
            data = ds[()]
            if np.ndim(data) != 1:
                raise DatasetError(f"{src}: dataset {key!r} has shape {np.shape(data)}; every "
                                   f"column must be one-dimensional")
            if n == "device":
                raw[n] = [d.decode() if isinstance(d, bytes) else str(d) for d in data]
            else:
                try:
                    raw[n] = np.asarray(data, dtype=float)
                except (TypeError, ValueError):
                    raise DatasetError(f"{src}: dataset {key!r} of dtype {data.dtype} is not "
                                       f"numeric; store numbers") from None
    lengths = {n: len(v) for n, v in raw.items()}
    if len(set(lengths.values())) > 1:
        raise DatasetError(f"{src}: the datasets have different lengths {lengths}; every "
                           f"column needs one value per measurement")
    return names, units, raw


# ---------------------------------------------------------------------------- checks
def _infer_kind(names, raw, src) -> str:
    s = set(names)
    if "pulse" in s:
        return "accumulation"
    if "temperature" in s:
        return "temperature"
    if "time" in s:
        keys = list(zip(raw["device"], raw["time"].tolist()))
        return "read-noise" if len(set(keys)) < len(keys) else "drift"
    if "target" in s:
        return "programming"
    raise DatasetError(f"{src}: cannot tell the kind of measurement from the columns "
                       f"{sorted(s)}; add a 'pulse', 'target', 'time' or 'temperature' column")


def _check_columns(kind, names, src) -> None:
    """Known, unique column names; with a kind, the required ones present and no others."""
    known = {"device", "pulse", "conductance", "resistance", "amplitude", "run", "target",
             "time", "temperature"}
    seen = set()
    for n in names:
        if n not in known:
            raise DatasetError(f"{src}: unknown column {n!r}; known columns: {sorted(known)}")
        if n in seen:
            raise DatasetError(f"{src}: column {n!r} appears twice; keep one")
        seen.add(n)
    if "conductance" in seen and "resistance" in seen:
        raise DatasetError(f"{src}: both 'conductance' and 'resistance' columns; keep one")
    if kind is None:
        return
    required, optional = KINDS[kind]
    have = {"conductance" if n == "resistance" else n for n in names}
    missing = [c for c in required if c not in have]
    if missing:
        raise DatasetError(f"{src}: {kind} data need the column(s) {missing}; the file has "
                           f"{sorted(names)} (columns of {kind}: {list(required)} + optional "
                           f"{list(optional)})")
    extra = sorted(have - set(required) - set(optional))
    if extra:
        raise DatasetError(f"{src}: column(s) {extra} do not belong to {kind} data (columns: "
                           f"{list(required)} + optional {list(optional)}); drop them or give "
                           f"the right kind")


def _to_si(name: str, unit: str, values: np.ndarray, src: str) -> tuple[str, np.ndarray]:
    """Convert one column to SI; a resistance becomes a conductance."""
    table = _UNITS[name]
    if unit not in table:
        if table is _DIMENSIONLESS:
            fix = f"{name} is dimensionless: write it without a unit"
        else:
            dim = {"target": "conductance"}.get(name, name)
            fix = f"give a {dim} unit such as {sorted(u for u in table if u.isascii())}"
            if name == "target":
                fix += " (convert target resistances to conductances)"
        for other, tab in _UNITS.items():
            if unit and unit in tab and tab is not table:
                raise UnitError(f"{src}: column {name!r} has the unit {unit!r} of {other}, "
                                f"the wrong dimension; {fix}")
        if not unit:
            raise UnitError(f"{src}: column {name!r} needs a unit in brackets, e.g. "
                            f"'{name} [{_EXAMPLE_UNIT.get(name, '')}]'")
        raise UnitError(f"{src}: unknown unit {unit!r} of column {name!r}; {fix}")
    factor = table[unit]
    if name != "resistance":
        return name, values * factor
    bad = ~(values > 0)
    if np.any(bad & np.isfinite(values)):
        v = values[bad & np.isfinite(values)][0]
        raise DatasetError(f"{src}: resistance {float(v):.6g} {unit} is not positive; a resistance "
                           f"must be > 0 (an open device has a large resistance, not 0)")
    with np.errstate(divide="ignore"):
        return "conductance", 1.0 / (values * factor)


def _build(kind: str, raw: dict, units: dict, src: str) -> Measurements:
    n = len(raw["device"])
    if n == 0:
        raise DatasetError(f"{src} has no data rows; add one row per measurement")
    columns, given = {}, {}
    for name, values in raw.items():
        if name == "device":
            continue
        key, si = _to_si(name, units.get(name, ""), np.asarray(values, dtype=float), src)
        bad = ~np.isfinite(si)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise DatasetError(f"{src}: {name} = {float(values[i]):.6g} (row {i + 1}, device "
                               f"{raw['device'][i]!r}) is not finite; remove the row or give a "
                               f"measured value")
        columns[key], given[key] = si, units.get(name, "")
    labels = raw["device"]
    empty = [i for i, d in enumerate(labels) if not str(d).strip()]
    if empty:
        raise DatasetError(f"{src}: row {empty[0] + 1} has an empty device label; name every "
                           f"device")
    first: dict[str, int] = {}
    device = np.fromiter((first.setdefault(str(d), len(first)) for d in labels), np.int64, n)
    m = Measurements(kind, device, tuple(first), columns, given, src)
    _check_values(m)
    return m


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _check_values(m: Measurements) -> None:
    src, c, dev = m.source, m.columns, m.device
    names = m.device_names

    def where(i):
        return f"row {i + 1}, device {names[dev[i]]!r}"

    g = c["conductance"]
    if np.any(g < 0):
        i = _first(g < 0)
        raise DatasetError(f"{src}: conductance {float(g[i]):.6g} S ({where(i)}) is negative; a "
                           f"conductance is >= 0 (check the sign or the column)")
    for col in _WHOLE:
        if col in c:
            v = c[col]
            bad = (v < 0) | (v != np.round(v))
            if np.any(bad):
                i = _first(bad)
                raise DatasetError(f"{src}: {col} = {float(v[i]):.6g} ({where(i)}) is not a whole "
                                   f"number >= 0; {col} counts from 0")
    if "amplitude" in c and np.any(c["amplitude"] <= 0):
        i = _first(c["amplitude"] <= 0)
        a = float(c["amplitude"][i])
        raise DatasetError(f"{src}: amplitude {a:.6g} ({where(i)}) is not > 0; a pulse of "
                           f"amplitude 0 is no pulse: drop the row")
    if "target" in c and np.any(c["target"] < 0):
        i = _first(c["target"] < 0)
        raise DatasetError(f"{src}: target {float(c['target'][i]):.6g} S ({where(i)}) is negative; "
                           f"targets are conductances >= 0")
    if "time" in c and np.any(c["time"] < 0):
        i = _first(c["time"] < 0)
        t = float(c["time"][i])
        raise DatasetError(f"{src}: time {t:.6g} s ({where(i)}) is negative; give the time "
                           f"since programming (>= 0)")
    if "temperature" in c:
        t = c["temperature"]
        bad = (t <= 0) | (t > T_MAX)
        if np.any(bad):
            i = _first(bad)
            raise DatasetError(f"{src}: temperature {float(t[i]):.6g} K ({where(i)}) is outside "
                               f"(0, {T_MAX:g}] K; give absolute temperatures in kelvin")
    key = {"accumulation": ("run", "pulse"), "drift": ("time",),
           "temperature": ("temperature",)}.get(m.kind)
    if key is not None:
        cols = [dev] + [c.get(k, np.zeros(dev.size)) for k in key]
        order = np.lexsort(cols[::-1])
        stacked = np.stack([col[order] for col in cols], axis=1)
        dup = np.all(stacked[1:] == stacked[:-1], axis=1)
        if np.any(dup):
            i = int(order[_first(dup) + 1])
            what = ", ".join(f"{k} {float(c[k][i]):.6g}" for k in key if k in c)
            raise DatasetError(f"{src}: device {names[dev[i]]!r} has two rows with {what} "
                               f"(row {i + 1}); keep one measurement per (device, "
                               f"{', '.join(k for k in key if k in c)})")
    if m.kind in ("drift", "read-noise"):
        t = c["time"]
        order = np.argsort(dev, kind="stable")
        same = dev[order][1:] == dev[order][:-1]
        back = same & (np.diff(t[order]) < 0)
        if np.any(back):
            j = _first(back)
            i = int(order[j + 1])
            raise DatasetError(f"{src}: the times of device {names[dev[i]]!r} are not "
                               f"increasing ({float(t[i]):.6g} s in row {i + 1} after "
                               f"{float(t[order[j]]):.6g} s); list each device's reads in time "
                               f"order")


def as_measurements(data, kind: str) -> Measurements:
    """``data`` (a :class:`Measurements` or a path) as measurements of ``kind``."""
    if isinstance(data, Measurements):
        if data.kind != kind:
            raise DatasetError(f"{data.source} holds {data.kind} data, but this is a {kind} fit; "
                               f"use the {data.kind} fitter or give {kind} data (columns "
                               f"{list(KINDS[kind][0])})")
        return data
    if isinstance(data, (str, Path)):
        return read_measurements(data, kind)
    raise DatasetError(f"data = {data!r:.60} must be a Measurements object or the path of a "
                       f"CSV/HDF5 file")
