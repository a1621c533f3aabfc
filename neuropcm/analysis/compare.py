"""``neuropcm compare A.h5 B.h5 ... | DIR``: one table of several result files of one kind.

Columns: the file, the config fields (dotted names) whose values differ between the files,
then the headline results with their units. Files whose configs are equal except for their
seeds (every field whose last name is ``seed``) form a group; each group of two or more
files gets a row of mean ± std (sample std, ddof = 1) of every numeric headline (arrays
element by element), so a folder of sweep results over seeds reads as mean ± std per point.

A folder stands for its ``*.h5`` files (not recursing). There, a file that is no NeuroPCM
result this NeuroPCM reads (a foreign, damaged or newer-schema file), or one of another
kind than the others (a sweep's ``summary.h5``, a checkpoint), is skipped with a note; a
file named explicitly must be readable and all files must be of one kind.
"""

from __future__ import annotations

import csv
import io as _io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ParameterError, ResultsFileError
from ..io import Result, open_result
from .inspect import flatten

__all__ = ["Comparison", "Group", "compare", "gather"]

_ABSENT = object()


def _natural(p: Path):
    """Sort key: ``run2`` before ``run10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(p))]


def _is_seed(field_name: str) -> bool:
    return field_name.rsplit(".", 1)[-1] == "seed"


def _key(v) -> str:
    return json.dumps(v, sort_keys=True)


def gather(paths) -> tuple[list[Result], list[str]]:
    """The result files to compare, and notes on the files of folders that were skipped.

    Parameters
    ----------
    paths : sequence of str or Path
        Files and folders (a folder stands for its ``*.h5`` files).

    Raises
    ------
    ResultsFileError, SchemaError
        A file named explicitly is missing, foreign, damaged or of a newer schema.
    ParameterError
        No files; a folder without readable result files; files of several kinds.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ParameterError("compare needs at least one result file or folder")
    notes: list[str] = []
    named: list[Result] = []
    found: list[Result] = []
    folders = []
    for p in paths:
        if not p.is_dir():
            named.append(open_result(p))
            continue
        folders.append(p)
        files = sorted((f for f in p.glob("*.h5") if f.is_file()), key=_natural)
        readable = []
        for f in files:
            try:
                readable.append(open_result(f))
            except ResultsFileError as e:  # includes SchemaError: foreign, newer, damaged
                notes.append(f"skipped {e}")
        if not readable:
            raise ParameterError(f"{str(p)!r} is a folder without NeuroPCM result files "
                                 f"({len(files)} .h5 file(s), none readable); give result "
                                 f"files or a folder of them")
        found += readable
    kinds: dict = {}
    for r in named:
        kinds.setdefault(r.kind.name, []).append(str(r.path))
    if len(kinds) > 1:
        raise ParameterError("compare needs files of one kind; got " + "; ".join(
            f"{k}: {', '.join(v)}" for k, v in kinds.items()) + " -- compare each kind "
            "separately")
    if named:
        kind = next(iter(kinds))
    else:
        from ..workloads import workloads

        in_folders = Counter(r.kind.name for r in found)
        runs = {w.kind for w in workloads().values()}
        candidates = [k for k in in_folders if k in runs] or list(in_folders)
        if len(candidates) > 1:
            raise ParameterError(f"the folder(s) {[str(f) for f in folders]} hold results of "
                                 f"several kinds {dict(in_folders)}; name the files to "
                                 f"compare")
        kind = candidates[0]
    out, seen = [], set()
    for r in named + found:
        if r.kind.name != kind:
            notes.append(f"skipped {r.path}: a {r.kind.name!r} file, not {kind!r} like the "
                         f"others")
            continue
        key = r.path.resolve()
        if key in seen:
            notes.append(f"skipped {r.path}: given twice")
            continue
        seen.add(key)
        out.append(r)
    return out, notes


@dataclass
class Group:
    """Files whose configs are equal except for their seeds.

    Attributes
    ----------
    members : list of int
        Row indices of :attr:`Comparison.files`.
    mean, std : dict
        Headline -> mean and sample std (ddof = 1) over the members (float or array);
        only numeric headlines every member holds with one shape, and only for groups
        of two or more.
    """

    members: list
    mean: dict = field(default_factory=dict)
    std: dict = field(default_factory=dict)


@dataclass
class Comparison:
    """The table of :func:`compare`.

    Attributes
    ----------
    kind : str
    files : list of Path
    config_fields : list of str
        Dotted config fields whose values differ between the files.
    configs : list of dict
        Each file's flattened config.
    results : list of str
        The headline results shown.
    units : dict
        Headline -> unit (None if the kind does not declare it).
    values : list of dict
        Each file's headline results.
    groups : list of Group
        Files equal except for their seeds, in table order.
    """

    kind: str
    files: list
    config_fields: list
    configs: list
    results: list
    units: dict
    values: list
    groups: list

    def _header(self) -> list[str]:
        return (["file"] + self.config_fields
                + [f"{n} [{self.units[n] or '?'}]" for n in self.results])

    def _rows(self, cell, stats) -> list[list[str]]:
        rows = []
        for g in self.groups:
            for i in g.members:
                rows.append([str(self.files[i])]
                            + [cell(self.configs[i].get(c, _ABSENT)) for c in self.config_fields]
                            + [cell(self.values[i].get(n, _ABSENT)) for n in self.results])
            if len(g.members) > 1:
                rows += stats(g)
        return rows

    def _group_config(self, g: Group, cell) -> list[str]:
        out = []
        for c in self.config_fields:
            vals = {_key(self.configs[i].get(c)) for i in g.members}
            out.append("*" if len(vals) > 1 else cell(self.configs[g.members[0]].get(c,
                                                                                     _ABSENT)))
        return out

    def text(self) -> str:
        """The table, aligned in columns (6 significant digits)."""
        def stats(g):
            cells = [(_text(g.mean[n]) + " ± " + _text(g.std[n], 2)) if n in g.mean else ""
                     for n in self.results]
            return [[f"mean ± std (n={len(g.members)})"] + self._group_config(g, _text) + cells]

        table = [self._header()] + self._rows(_text, stats)
        widths = [max(len(r[j]) for r in table) for j in range(len(table[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def csv(self) -> str:
        """The table as CSV (full precision; a group's mean and std on two rows)."""
        def stats(g):
            n = len(g.members)
            conf = self._group_config(g, _csv)
            return [[f"mean (n={n})"] + conf + [_csv(g.mean[k]) if k in g.mean else ""
                                                 for k in self.results],
                    [f"std (ddof=1, n={n})"] + conf + [_csv(g.std[k]) if k in g.std else ""
                                                        for k in self.results]]

        buf = _io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self._header())
        w.writerows(self._rows(_csv, stats))
        return buf.getvalue()


def _text(v, digits: int = 6) -> str:
    if v is _ABSENT or v is None:
        return "-"
    if isinstance(v, (float, np.floating)):
        return f"{v:.{digits}g}"
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, list):
        return "[" + ", ".join(_text(x, digits) for x in v) + "]"
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return str(v)


def _csv(v) -> str:
    if v is _ABSENT:
        return ""
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, (list, dict)):
        return json.dumps(v, sort_keys=True)
    return "" if v is None else str(v)


def _stats(vals: list):
    """Mean and sample std over the first axis, or None unless every value is a number
    (or a numeric array of one shape)."""
    try:
        arr = np.asarray(vals, dtype=float)
    except (TypeError, ValueError):
        return None
    if arr.dtype == object or arr.shape[0] < 2:
        return None
    mean, std = arr.mean(axis=0), arr.std(axis=0, ddof=1)
    return (float(mean), float(std)) if arr.ndim == 1 else (mean, std)


def compare(sources, results=None) -> Comparison:
    """Compare result files of one kind (see the module docstring).

    Parameters
    ----------
    sources : sequence of str, Path or Result
        Files and folders, or opened :class:`~neuropcm.io.Result` objects.
    results : sequence of str, optional
        Headline results to show (default: the kind's declared headline results, else all
        the files hold); ``["all"]``: every headline any file holds.

    Returns
    -------
    Comparison
        With ``.text()`` and ``.csv()``; the notes of :func:`gather` are not kept (use it
        directly to see them).

    Raises
    ------
    ParameterError
        As :func:`gather`; an unknown name in ``results``.
    """
    if sources and all(isinstance(s, Result) for s in sources):
        rs = list(sources)
        kinds = {r.kind.name for r in rs}
        if len(kinds) > 1:
            raise ParameterError(f"compare needs files of one kind; got {sorted(kinds)}")
    else:
        rs, _ = gather(sources)
    kind = rs[0].kind
    held = [n for n in dict.fromkeys(k for r in rs for k in r.results)]
    order = [*kind.headline, *kind.optional]
    held.sort(key=lambda n: (order.index(n) if n in order else len(order), n))
    if results is None:
        shown = [n for n in kind.headline if n in held] or held
    elif list(results) == ["all"]:
        shown = held
    else:
        unknown = [n for n in results if n not in held]
        if unknown:
            raise ParameterError(f"--results {','.join(unknown)}: not a headline of these "
                                 f"{kind.name!r} files; they hold {held}")
        shown = list(dict.fromkeys(results))
    configs = [flatten(r.config) for r in rs]
    names = list(dict.fromkeys(k for c in configs for k in c))
    differ = [n for n in names if len({_key(c.get(n, "\0absent")) for c in configs}) > 1]
    groups: dict = {}
    for i, c in enumerate(configs):
        groups.setdefault(_key({k: v for k, v in c.items() if not _is_seed(k)}), []).append(i)
    out = []
    for members in groups.values():
        g = Group(members)
        if len(members) > 1:
            for n in shown:
                vals = [rs[i].results.get(n, _ABSENT) for i in members]
                s = None if any(v is _ABSENT for v in vals) else _stats(vals)
                if s is not None:
                    g.mean[n], g.std[n] = s
        out.append(g)
    return Comparison(kind.name, [r.path for r in rs], differ, configs, shown,
                      {n: kind.units_of(n) for n in shown}, [r.results for r in rs], out)
