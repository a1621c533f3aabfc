"""Grids of configs for :mod:`neuropcm.sweep`: a TOML file -> validated points.

A grid file names config fields of one workload. A list is an axis (the points are the
cartesian product of all axes, in the order the file gives them, the last axis varying
fastest), ``{ range = [start, stop] }`` (or ``[start, stop, step]``, or ``{ range = n }``
for ``0 .. n-1``) is an axis of whole numbers with Python's ``range`` semantics (``stop``
excluded), and any other value is a fixed setting. Nested fields are dotted keys or TOML
tables; a list-valued field (``times = [1.0, 10.0]``) is fixed, and an axis of it is a
list of lists. Values take units as in ``--set`` (``"20 ms"``).

Example (``seed = { range = [0, 5] }`` gives the seeds 0, 1, 2, 3, 4)::

    preset = ["nandakumar2018", "joshi2020"]
    devices = 2000
    seed = { range = [0, 5] }

Every point's config is built (validated) before anything runs; each point is named by
:func:`point_name`, a hash of the workload's name and the point's full canonical config.
The number of points is counted from the axes' lengths first (:func:`count_points`): a grid
of more than :data:`MAX_POINTS` points is refused at once, before any config is built,
unless the limit is raised (``max_points=``, :func:`point_limit`, ``--max-points``).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import itertools
import json
import math
import tomllib
import typing
from dataclasses import dataclass
from pathlib import Path

from ..config import Config, base_type, field_types, merge_tables
from ..errors import NeuroPCMError, ParameterError, UnitError

__all__ = ["Point", "load_grid", "expand_grid", "point_name", "count_points", "point_limit",
           "MAX_POINTS"]

#: The most points a grid may have unless the limit is raised: building and checking one
#: config (and looking for its file) takes 0.1 ms or more, so this many take 10 s or more,
#: and a run of each takes far longer.
MAX_POINTS = 100_000
_LIMIT: contextvars.ContextVar[int] = contextvars.ContextVar("neuropcm_max_points",
                                                             default=MAX_POINTS)


@dataclass(frozen=True)
class Point:
    """One run of a sweep.

    Attributes
    ----------
    name : str
        :func:`point_name` of the run: its file is ``<DIR>/<name>.h5``.
    config : Config
        The full, validated config of the run.
    values : dict
        The grid axes' values at this point (dotted field name -> SI value from the
        config), in axis order.
    """

    name: str
    config: Config
    values: dict

    def describe(self) -> str:
        """``seed=1 preset=joshi2020``: the axis values, for messages and tables."""
        return " ".join(f"{k}={_short(v)}" for k, v in self.values.items()) or "(no axes)"


def point_name(workload: str, config: Config) -> str:
    """The stable name of a run: the first 16 hex digits of the SHA-256 of the workload's
    name and the config's canonical JSON (:meth:`Config.to_json`)."""
    key = f"{workload}\n{config.to_json()}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class TextGrid(dict):
    """A grid read from a file: its values are text (see ``expand_grid(text=...)``)."""


def load_grid(path) -> dict:
    """Read a grid TOML file (data only: nothing in it is executed), as a
    :class:`TextGrid`.

    Raises
    ------
    ParameterError
        The file is missing or not valid TOML (one line naming it).
    """
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"--grid {str(path)!r} is not a file; give a TOML grid file "
                             f"(e.g. scripts/grids/mnist_seeds.toml)")
    try:
        return TextGrid(tomllib.loads(p.read_text(encoding="utf-8-sig")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ParameterError(f"--grid {str(path)!r}: not a valid TOML file ({e})") from None


def _short(v) -> str:
    return json.dumps(v) if not isinstance(v, str) else v


def _is_range(value) -> bool:
    return isinstance(value, dict) and set(value) == {"range"}


def _range_values(spec, field: str, where: str) -> range:
    bounds = spec["range"]
    if not isinstance(bounds, list):
        bounds = [bounds]
    if not (1 <= len(bounds) <= 3) or not all(isinstance(b, int) and not isinstance(b, bool)
                                               for b in bounds):
        raise ParameterError(f"{where}: {field} = {{ range = {json.dumps(spec['range'])} }} "
                             f"must be whole numbers [start, stop] or [start, stop, step] "
                             f"(stop excluded), e.g. {{ range = [0, 5] }} for 0..4")
    if len(bounds) == 3 and bounds[2] == 0:
        raise ParameterError(f"{where}: {field} = {{ range = {bounds} }} has step 0")
    values = range(*bounds)  # not a list: its length is known without building it
    if not values:
        raise ParameterError(f"{where}: {field} = {{ range = {bounds} }} is empty (stop is "
                             f"excluded: [0, 5] gives 0..4)")
    return values


def _walk(cls, table: dict, prefix: str, where: str, fixed: dict, axes: list) -> None:
    """Split ``table`` (fields of ``cls``) into fixed settings and axes, by dotted name."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = field_types(cls)
    for key, value in table.items():
        dotted = prefix + key
        head, dot, rest = key.partition(".")
        if head not in fields:
            raise ParameterError(f"{where}: {cls.__name__} has no field {dotted!r}; known: "
                                 f"{sorted(prefix + n for n in fields)}")
        tp, _ = base_type(hints[head])
        nested = isinstance(tp, type) and issubclass(tp, Config)
        if dot:  # "sub.t" given as one key (a Python dict or a quoted TOML key)
            if not nested:
                raise ParameterError(f"{where}: {prefix + head!r} has no sub-fields (in "
                                     f"{dotted!r})")
            _walk(tp, {rest: value}, prefix + head + ".", where, fixed, axes)
        elif nested and isinstance(value, dict):
            _walk(tp, value, dotted + ".", where, fixed, axes)
        elif _is_range(value) and tp is int:
            axes.append((dotted, _range_values(value, dotted, where)))
        elif isinstance(value, list) and (not _listlike(tp)
                                          or all(isinstance(v, list) for v in value)):
            if not value:
                raise ParameterError(f"{where}: {dotted} = [] gives no points; give at least "
                                     f"one value")
            axes.append((dotted, value))
        else:
            fixed[dotted] = value


def _listlike(tp) -> bool:
    return typing.get_origin(tp) is tuple


def _nest(flat: dict) -> dict:
    out: dict = {}
    for dotted, v in flat.items():
        *parents, leaf = dotted.split(".")
        d = out
        for p in parents:
            d = d.setdefault(p, {})
        d[leaf] = v
    return out


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        d = d[part]
    return d


def _check_limit(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ParameterError(f"--max-points (max_points=) {n!r} must be a whole number >= 1")
    return n


@contextlib.contextmanager
def point_limit(max_points: int | None):
    """Raise (or lower) the largest grid :func:`expand_grid` builds, inside the ``with``
    block (for callers of :func:`~neuropcm.sweep.plan_sweep` and
    :func:`~neuropcm.sweep.run_sweep`; ``neuropcm sweep --max-points N``). None keeps the
    current limit."""
    if max_points is None:
        yield
        return
    token = _LIMIT.set(_check_limit(max_points))
    try:
        yield
    finally:
        _LIMIT.reset(token)


def _axes(workload, grid: dict, where: str) -> tuple[dict, list]:
    """The fixed settings and the axes ``[(dotted name, values), ...]`` of ``grid``."""
    if not isinstance(grid, dict):
        raise ParameterError(f"{where} must be a table of config fields")
    fixed: dict = {}
    axes: list = []
    _walk(workload.config, grid, "", where, fixed, axes)
    return fixed, axes


def _limit_points(axes: list, where: str, max_points: int | None) -> int:
    n = math.prod(len(values) for _, values in axes)
    limit = _LIMIT.get() if max_points is None else _check_limit(max_points)
    if n > limit:
        shape = " x ".join(f"{name} {len(values):,}" for name, values in axes)
        raise ParameterError(f"{where}: {n:,} points ({shape}) are more than the limit of "
                             f"{limit:,}; shrink an axis, or raise the limit with "
                             f"--max-points {n} (max_points={n} in Python)")
    return n


def count_points(workload, grid: dict, where: str = "grid",
                 max_points: int | None = None) -> int:
    """How many points ``grid`` has: the product of its axes' lengths, counted without
    building any config (fields are checked by name, values not).

    Raises
    ------
    ParameterError
        An unknown field, an empty axis or a malformed range; or more points than
        ``max_points`` (default :data:`MAX_POINTS`, or the :func:`point_limit` in force).
    """
    _, axes = _axes(workload, grid, where)
    return _limit_points(axes, where, max_points)


def expand_grid(workload, grid: dict, base: Config | None = None,
                where: str = "grid", max_points: int | None = None,
                text: bool = False) -> list[Point]:
    """Every point of ``grid`` for ``workload``, each config built and validated.

    Parameters
    ----------
    workload : Workload
        The workload whose config class the grid names fields of.
    grid : dict
        The grid table (:func:`load_grid`).
    base : Config, optional
        Settings under the grid (default: the config class's defaults).
    where : str
        How the grid is named in messages (e.g. ``"grid sweep.toml"``).
    max_points : int, optional
        The most points built (default :data:`MAX_POINTS`, or the :func:`point_limit` in
        force); the count is checked before any config is built.
    text : bool
        The grid was read from a file (always so for a :class:`TextGrid`): its values
        follow the policy of values written as text, as in a config file or ``--set`` (a
        field with a unit needs a quantity with its unit, ``program_tol = ["1.74 uS"]``; a
        bare ``1.74`` is refused, not read as 1.74 S;
        :meth:`~neuropcm.config.Config.check_text_values`).

    Returns
    -------
    list of Point
        In grid order (the last axis varies fastest).

    Raises
    ------
    ParameterError, UnitError
        An unknown field, an empty axis, a malformed range, more points than the limit, a
        value the config refuses (out of range, wrong unit: the message names the point),
        or two points with the same config -- all before anything runs.
    """
    cls = workload.config
    fixed, axes = _axes(workload, grid, where)
    _limit_points(axes, where, max_points)
    if text or isinstance(grid, TextGrid):  # every value once, before any config is built
        for dotted, values in [*((k, [v]) for k, v in fixed.items()), *axes]:
            for v in values:
                try:
                    cls.check_text_values(_nest({dotted: v}))
                except (ParameterError, UnitError) as e:
                    raise type(e)(f"{where}: {e}") from None
    base_raw = (base if base is not None else cls()).to_dict()
    base_raw = merge_tables(base_raw, _nest(fixed))
    points, seen = [], {}
    names = [a[0] for a in axes]
    for combo in itertools.product(*(a[1] for a in axes)):
        given = dict(zip(names, combo))
        desc = " ".join(f"{k}={_short(v)}" for k, v in given.items())
        try:
            config = cls.from_dict(merge_tables(base_raw, _nest(given)))
        except NeuroPCMError as e:
            label = f"{where}, point {desc}" if desc else where
            raise type(e)(f"{label}: {e}") from None
        name = point_name(workload.name, config)
        if name in seen:
            raise ParameterError(f"{where}: points {seen[name]} and {desc} are the same run "
                                 f"(the same config); remove the repeated value")
        seen[name] = desc or "(no axes)"
        as_dict = json.loads(config.to_json())
        points.append(Point(name, config, {k: _get(as_dict, k) for k in names}))
    return points
