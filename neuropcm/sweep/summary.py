"""The summary of a sweep (:mod:`neuropcm.sweep`): ``DIR/summary.h5`` and a printed table.

Per point: its name, status (``done``, ``failed`` with the first line of its error, or
``missing``), its full config (JSON), the grid axes' values and every numeric headline
result of its file that the file kind declares (with the kind's unit; NaN where a point has
none). Per group of points whose configs are equal except ``seed``: the axes' values, the
number ``n`` of finished points, the failed ones, and the mean and sample standard
deviation (``ddof=1``; NaN for ``n < 2``) of each result over the finished points.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import base_type, field_types
from .grid import Point

__all__ = ["Group", "SweepSummary", "collect_summary", "write_summary", "format_table"]

@dataclass
class Group:
    """Points whose configs are equal except ``seed``.

    Attributes
    ----------
    values : dict
        The non-seed axes' values of the group.
    members : list of int
        Indices of its points in :attr:`SweepSummary.points`.
    n : int
        Finished points (those the statistics are over).
    failed : int
        Failed or missing points.
    mean, std : dict
        Result name -> mean and sample std (``ddof=1``; NaN for ``n < 2``).
    """

    values: dict
    members: list
    n: int
    failed: int
    mean: dict
    std: dict


@dataclass
class SweepSummary:
    """What a sweep produced, read back from its files (see the module docstring)."""

    workload: str
    kind: str
    axes: list
    points: list
    status: list
    errors: list
    results: dict
    units: dict
    groups: list

    @property
    def failed(self) -> int:
        """Number of points not done: failed, or missing (never run or no file)."""
        return sum(s != "done" for s in self.status)


def error_path(out_dir: Path, name: str) -> Path:
    """``DIR/<name>.error.txt``: the error of a failed point (first line: the message)."""
    return Path(out_dir) / f"{name}.error.txt"


def _read_error(out_dir: Path, name: str) -> str:
    try:
        lines = error_path(out_dir, name).read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    return lines[0] if lines else ""


def collect_summary(workload, points: list[Point], out_dir, failed: dict) -> SweepSummary:
    """Read every point's file in ``out_dir`` into a :class:`SweepSummary`.

    Parameters
    ----------
    workload : Workload
    points : list of Point
    out_dir : Path
        The sweep's folder (``<name>.h5`` per point).
    failed : dict
        Name -> error message of the points that failed in this run (others without a
        file are read from ``<name>.error.txt``, or are ``missing``).
    """
    from ..io import open as open_result
    from ..io.kinds import get_kind

    out_dir = Path(out_dir)
    kind = get_kind(workload.kind)
    status, errors, rows = [], [], []
    for p in points:
        path = out_dir / f"{p.name}.h5"
        if p.name not in failed and path.is_file():
            r = open_result(path)
            rows.append({k: float(v) for k, v in r.results.items()
                         if kind.units_of(k) is not None and _is_number(v)})
            status.append("done")
            errors.append("")
        else:
            rows.append({})
            msg = failed.get(p.name) or _read_error(out_dir, p.name)
            status.append("failed" if msg else "missing")
            errors.append(msg)
    names = [k for k in (*kind.headline, *sorted(kind.optional)) if any(k in r for r in rows)]
    results = {k: np.array([r.get(k, math.nan) for r in rows]) for k in names}
    axes = list(points[0].values) if points else []
    groups = _groups(points, status, results, axes)
    return SweepSummary(workload.name, workload.kind, axes, points, status, errors, results,
                        {k: kind.units_of(k) for k in names}, groups)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _groups(points, status, results, axes) -> list[Group]:
    order: dict[str, list[int]] = {}
    for i, p in enumerate(points):
        d = p.config.to_dict()
        d.pop("seed", None)
        order.setdefault(json.dumps(d, sort_keys=True), []).append(i)
    out = []
    for members in order.values():
        ok = [i for i in members if status[i] == "done"]
        mean, std = {}, {}
        for k, v in results.items():
            x = v[ok]
            mean[k] = float(np.mean(x)) if len(x) else math.nan
            std[k] = float(np.std(x, ddof=1)) if len(x) > 1 else math.nan
        values = {a: points[members[0]].values[a] for a in axes if a != "seed"}
        out.append(Group(values, members, len(ok), len(members) - len(ok), mean, std))
    return out


# ----------------------------------------------------------------------------- file
def _field_unit(cls, dotted: str) -> str:
    """The SI unit of config field ``dotted`` of ``cls`` ("1" for a field without one)."""
    *parents, leaf = dotted.split(".")
    for part in parents:
        cls, _ = base_type(field_types(cls)[part])
    f = {f.name: f for f in dataclasses.fields(cls)}[leaf]
    return f.metadata.get("unit") or "1"


def _strings(values) -> np.ndarray:
    """Text as fixed-length UTF-8 bytes (what h5py stores without a special dtype)."""
    enc = [str(v).encode("utf-8") for v in values]
    return np.array(enc, dtype=f"S{max([1, *map(len, enc)])}")


def _column(values) -> np.ndarray:
    """Axis values as numbers where they all are, else as text (JSON for lists)."""
    if values and all(_is_number(v) for v in values):
        return np.array(values)
    if values and all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    return _strings(v if isinstance(v, str) else json.dumps(v) for v in values)


def write_summary(s: SweepSummary, path, *, workload, grid: dict, base) -> Path:
    """Write ``s`` to ``path`` (kind ``sweep_summary``, atomically)."""
    from ..io import atomic_h5, write_config, write_dataset

    cls = workload.config
    with atomic_h5(path, kind="sweep_summary") as f:
        write_config(f, {"workload": s.workload, "kind": s.kind, "grid": grid,
                         "base": base.to_dict(), "axes": s.axes})
        pg = f.create_group("points")
        write_dataset(pg, "name", _strings(p.name for p in s.points), "1")
        write_dataset(pg, "status", _strings(s.status), "1")
        write_dataset(pg, "error", _strings(s.errors), "1")
        write_dataset(pg, "config", _strings(p.config.to_json() for p in s.points), "1",
                      description="each point's full config (canonical JSON)")
        vg = pg.create_group("values")
        for a in s.axes:
            write_dataset(vg, a, _column([p.values[a] for p in s.points]), _field_unit(cls, a))
        rg = pg.create_group("results")
        for k, v in s.results.items():
            write_dataset(rg, k, v, s.units[k])
        gg = f.create_group("groups")
        write_dataset(gg, "n", np.array([g.n for g in s.groups], dtype=np.int64), "count",
                      description="finished points of the group (the statistics' sample)")
        write_dataset(gg, "failed", np.array([g.failed for g in s.groups], dtype=np.int64),
                      "count")
        write_dataset(gg, "points", _strings(json.dumps([s.points[i].name for i in g.members])
                                             for g in s.groups), "1")
        gv = gg.create_group("values")
        for a in s.axes:
            if a != "seed":
                write_dataset(gv, a, _column([g.values[a] for g in s.groups]),
                              _field_unit(cls, a))
        for stat in ("mean", "std"):
            sg = gg.create_group(stat)
            for k in s.results:
                write_dataset(sg, k, np.array([getattr(g, stat)[k] for g in s.groups]),
                              s.units[k], description=("sample std, ddof=1" if stat == "std"
                                                       else "mean over finished points"))
        r = f.create_group("results")
        r.attrs["points"] = len(s.points)
        r.attrs["finished"] = len(s.points) - s.failed
        r.attrs["failed"] = s.failed
        r.attrs["groups"] = len(s.groups)
    return Path(path)


# ----------------------------------------------------------------------------- table
def _fmt(v) -> str:
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.4g}"
    return v if isinstance(v, str) else json.dumps(v)


def _render(header: list, rows: list) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    def line(cells):
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def format_table(s: SweepSummary, show=None) -> str:
    """The per-point table and, when some group has more than one point, the table of
    mean ± std over seeds. ``show``: the result names to print (default: the kind's
    headline results the files hold)."""
    from ..io.kinds import get_kind

    if show is None:
        show = [k for k in get_kind(s.kind).headline if k in s.results]
    show = [k for k in show if k in s.results]
    heads = [k + ("" if s.units[k] in ("1", None) else f" [{s.units[k]}]") for k in show]
    rows = [[p.name, *(_fmt(p.values[a]) for a in s.axes), st,
             *(_fmt(float(s.results[k][i])) for k in show)]
            for i, (p, st) in enumerate(zip(s.points, s.status))]
    parts = [f"{s.workload}: {len(s.points)} points, {len(s.points) - s.failed} finished, "
             f"{s.failed} failed", _render(["point", *s.axes, "status", *heads], rows)]
    bad = [(p.name, e) for p, st, e in zip(s.points, s.status, s.errors) if st != "done"]
    if bad:
        parts.append("failed points (error in DIR/<point>.error.txt):\n" + "\n".join(
            f"  {n}: {e or 'no result file'}" for n, e in bad))
    if any(len(g.members) > 1 for g in s.groups):
        axes = [a for a in s.axes if a != "seed"]
        rows = [[*(_fmt(g.values[a]) for a in axes), str(g.n) + (f" ({g.failed} failed)"
                                                                   if g.failed else ""),
                 *(_pm(g.mean[k], g.std[k]) for k in show)] for g in s.groups]
        parts.append("mean ± std (ddof=1) over seeds:\n" + _render([*axes, "n", *heads], rows))
    return "\n\n".join(parts)


def _pm(m: float, sd: float) -> str:
    if math.isnan(m):
        return "-"
    return f"{m:.4g}" if math.isnan(sd) else f"{m:.4g} ± {sd:.2g}"
