"""The workload contract: one suite over every registered workload (issue 17, point 5).

Like scikit-learn's ``check_estimator``, every workload of :func:`neuropcm.workloads.workloads`
gets the same checks by being registered -- the parameters are collected from the registry,
nothing here names a workload except the known violations (``KNOWN_VIOLATIONS``) and the one
explicit result-file dependency (``RESULT_FILE_FIELDS``). Each workload runs once per
session under its ``Workload.smoke`` settings (:class:`Runs`); the file checks reuse that
file.

The checks are plain functions (``check_*``) that raise ``AssertionError`` naming the
defect, so that ``test_checkers_report_*`` can show on deliberately broken dummy workloads
that the suite is able to fail.

1. config: round trip through a TOML file, through ``--set`` (every field set to its own
   value written as text) and through plain dicts/JSON (:func:`check_config_roundtrip`);
2. file: root ``kind`` and ``schema_version`` of the registered kind
   (:func:`check_file_kind`), the kind's schema as :func:`neuropcm.io.open_result` checks it
   and every declared headline present (:func:`check_schema`), a declared unit on every
   dataset (:func:`check_dataset_units`), a declared unit for every headline attribute
   (:func:`check_headline_declared`), ``run`` returns ``out`` and the smoke run is quick;
3. ``summary`` is non-empty text and ``figure`` writes a PNG, both from a copy of the file
   alone (:func:`check_summary_and_figure`);
4. ``--resume``: refused before any file is written by a workload that keeps no checkpoint;
   resuming a finished resumable run is refused clearly (nothing to resume) or gives the
   same results, and leaves the file intact (:func:`check_resume`); the same through
   ``neuropcm run NAME --resume`` (exit status 2, one line; :func:`check_resume_cli`);
5. bad ``--set`` values -- an unknown field, text or a fraction for a count, a number out
   of a declared bound (``lo``/``hi``/``lo_open`` of :func:`neuropcm.config.option`), a
   string outside ``choices``, a negative count, NaN for a plain number -- are refused
   with a one-line :class:`ParameterError` naming the field (:func:`check_set_refused`), and
   by ``neuropcm run`` with exit status 2, one line on stderr, no run started and no output
   file (:func:`check_cli_refuses`);
6. the checkers report the defects of broken dummy workloads (registered for one test,
   removed by a finalizer).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import re
import shutil
import time
import typing
from pathlib import Path

import h5py
import numpy as np
import pytest

from neuropcm import cli
from neuropcm.config import Config, apply_sets, base_type, config_from_toml, field_types, \
    load_config, option
from neuropcm.errors import ParameterError, SchemaError
from neuropcm.io import KINDS, FileKind, atomic_h5, get_kind, open_h5, open_result, \
    write_config, write_dataset
from neuropcm.io.arrays import STATE_UNITS
from neuropcm.io.kinds import check_units
from neuropcm.io.paths import PNG_SIGNATURE
from neuropcm.units import unit_name
from neuropcm.workloads import Workload, refuse_resume, workloads

#: Every registered workload, read at collection time: a new one gets every check below.
NAMES = sorted(workloads())

#: Config fields that take the result file of another workload, beyond those found from
#: their docs (:func:`result_file_fields`): ``snn-crossbar`` reads the devices of a trained
#: ``mnist-clustering`` network, so its ``source`` is that fixture's output.
RESULT_FILE_FIELDS = {"snn-crossbar": {"source": "mnist-clustering"}}

#: (check, workload) -> the contract violation a workload's owner must fix. The marks are
#: strict: once fixed, the test passes, XPASS fails, and the entry must go.
KNOWN_VIOLATIONS: dict = {}

#: Generous wall-time limit of one smoke run (s): "runs in seconds", with room for a first
#: Brian2 compilation on a busy machine.
SMOKE_LIMIT_S = 180.0


def params(check: str, names=NAMES) -> list:
    """``names`` as pytest parameters, strict xfail where ``KNOWN_VIOLATIONS`` says so."""
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True,
                                                    reason=KNOWN_VIOLATIONS[check, n]))
            if (check, n) in KNOWN_VIOLATIONS else n for n in names]


# ------------------------------------------------------------------------ config as text
def _leaves(cfg: Config, prefix: str = ""):
    """(dotted name, field, annotation, value) of every non-section field, nested ones
    dotted (``throughput.clock``)."""
    hints = field_types(type(cfg))
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if isinstance(v, Config):
            yield from _leaves(v, f"{prefix}{f.name}.")
        else:
            yield prefix + f.name, f, hints[f.name], v


def _leaf_fields(cls, prefix: str = ""):
    """(dotted name, field, annotation) of every non-section field of config class ``cls``."""
    hints = field_types(cls)
    for f in dataclasses.fields(cls):
        sub, _ = base_type(hints[f.name])
        if isinstance(sub, type) and issubclass(sub, Config):
            yield from _leaf_fields(sub, f"{prefix}{f.name}.")
        else:
            yield prefix + f.name, f, hints[f.name]


def _plain_text(v) -> str:
    """A JSON-like value as a TOML value (the contents of dict fields)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))  # 1e-05, inf and nan are TOML floats as Python writes them
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_plain_text(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_plain_text(x)}"
                               for k, x in v.items()) + "}"
    raise TypeError(f"no TOML text for {v!r}")


def value_text(value, tp, f: dataclasses.Field) -> str:
    """A field value as a person writes it in a TOML file or after ``--set NAME=``: a
    float with a unit as a quoted quantity string in its SI unit (``"1e-05*siemens"``; the
    text policy refuses bare numbers there), everything else as a TOML value."""
    base, _ = base_type(tp)
    unit = f.metadata.get("unit")
    if isinstance(value, (list, tuple)):
        args = typing.get_args(base) or (float, ...)
        inner = [args[0] if args[-1] is Ellipsis else args[k] for k in range(len(value))]
        return "[" + ", ".join(value_text(v, t, f) for v, t in zip(value, inner)) + "]"
    if isinstance(value, float) and unit not in (None, "1"):
        return json.dumps(f"{value!r}*{unit_name(unit)}")
    return _plain_text(value)


def toml_text(cfg: Config) -> str:
    """``cfg`` as a TOML file: the fields, then one ``[section]`` per nested config. A
    field holding None is left out (TOML has no null): it reads back as its default."""
    body, sections = [], []
    hints = field_types(type(cfg))
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if isinstance(v, Config):
            sections.append((f.name, v))
        elif v is not None:
            body.append(f"{f.name} = {value_text(v, hints[f.name], f)}")
    text = "\n".join(body) + "\n"
    for name, sub in sections:
        inner = toml_text(sub)
        # a nested section's own sections become [name.sub]
        inner = re.sub(r"^\[", f"[{name}.", inner, flags=re.MULTILINE)
        text += f"\n[{name}]\n{inner}"
    return text


def check_config_roundtrip(w: Workload, cfg: Config, folder: Path) -> None:
    """``cfg`` comes back equal from a TOML file, from ``--set`` of each field (and of all
    fields at once, over the defaults), and from its dict and JSON forms."""
    cls = w.config
    assert type(cfg) is cls, f"{w.name}: the config is a {type(cfg).__name__}, not a " \
                             f"{cls.__name__}"
    # plain values and JSON (what result files store)
    assert config_from_toml(cls, cfg.to_dict()) == cfg, f"{w.name}: to_dict does not round-trip"
    assert config_from_toml(cls, json.loads(cfg.to_json())) == cfg, \
        f"{w.name}: to_json does not round-trip"
    # a TOML file, read with the project's reader and text policy
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{w.name}.toml"
    path.write_text(toml_text(cfg), encoding="utf-8")
    back = load_config(cls, path)
    assert back == cfg, (f"{w.name}: the config written as TOML reads back different:\n"
                         f"{path.read_text()}\nwrote {cfg}\nread  {back}")
    # --set: each field alone, then all of them over the defaults
    items = []
    for name, f, tp, v in _leaves(cfg):
        if v is None:
            continue  # not writable as text: it must be the default (checked below)
        item = f"{name}={value_text(v, tp, f)}"
        items.append(item)
        again = apply_sets(cfg, [item])
        assert again == cfg, f"{w.name}: --set {item!r} changes the config: {again}"
    rebuilt = load_config(cls, None, items)
    assert rebuilt == cfg, (f"{w.name}: the defaults with --set {items} are not the config:\n"
                            f"want {cfg}\ngot  {rebuilt}")


# ------------------------------------------------------------------------ runs, once each
def result_file_fields(w: Workload) -> dict:
    """Config fields of ``w`` that take another workload's result file -> that workload:
    a string field (no choices) whose doc names a ``file`` and exactly one registered kind,
    plus :data:`RESULT_FILE_FIELDS`."""
    reg = workloads()
    by_kind = {v.kind: n for n, v in reg.items() if n != w.name}
    found = {}
    hints = field_types(w.config)
    for f in dataclasses.fields(w.config):
        base, _ = base_type(hints[f.name])
        doc = f.metadata.get("doc") or ""
        if base is not str or f.metadata.get("choices") or "file" not in doc:
            continue
        hits = [n for k, n in by_kind.items() if k in re.findall(r"\w+", doc)]
        if len(hits) == 1:
            found[f.name] = hits[0]
    return {**found, **RESULT_FILE_FIELDS.get(w.name, {})}


@dataclasses.dataclass
class Produced:
    config: Config
    sets: list
    path: Path
    returned: object
    wall_s: float


class Runs:
    """Each workload run once, under its smoke settings, into one session folder; a field
    taking another workload's result file gets that workload's run (made first)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._done: dict = {}

    def get(self, name: str) -> Produced:
        if name not in self._done:
            try:
                self._done[name] = self._run(name, ())
            except BaseException as e:  # noqa: BLE001 - reported by every test of it
                self._done[name] = e
        got = self._done[name]
        if isinstance(got, BaseException):
            raise AssertionError(f"the smoke run of {name} failed: "
                                 f"{type(got).__name__}: {got}") from got
        return got

    def _run(self, name: str, chain: tuple) -> Produced:
        assert name not in chain, f"result-file dependencies form a cycle: {chain + (name,)}"
        w = workloads()[name]
        sets = list(w.smoke)
        for fld, other in sorted(result_file_fields(w).items()):
            dep = self._done.get(other)
            if dep is None:
                dep = self._done[other] = self._run(other, chain + (name,))
            if isinstance(dep, BaseException):
                raise dep
            sets.append(f"{fld}={json.dumps(str(dep.path))}")
        cfg = load_config(w.config, None, sets)
        out = self.folder / f"{name}.h5"
        t = time.perf_counter()
        returned = w.run(cfg, out, progress=False)
        return Produced(cfg, sets, out, returned, time.perf_counter() - t)


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> Runs:
    return Runs(tmp_path_factory.mktemp("workload-contract"))


# ------------------------------------------------------------------------ file checks
def check_file_kind(w: Workload, path: Path) -> None:
    """The file's root ``kind`` is the workload's, a registered kind, at its version."""
    with h5py.File(path, "r") as f:
        assert "kind" in f.attrs, f"{w.name}: {path} has no root attribute 'kind'"
        kind = f.attrs["kind"]
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        assert kind == w.kind, f"{w.name}: wrote a file of kind {kind!r}, it declares {w.kind!r}"
        assert kind in KINDS, f"{w.name}: kind {kind!r} is not registered in neuropcm.io.kinds"
        version = f.attrs.get("schema_version")
        assert version == KINDS[kind].schema_version, \
            f"{w.name}: schema_version {version!r}, kind {kind!r} is at " \
            f"{KINDS[kind].schema_version}"
    try:
        with open_h5(path, kind=w.kind):
            pass
    except SchemaError as e:
        raise AssertionError(f"{w.name}: open_h5(kind={w.kind!r}) refuses the file: {e}") from e


def check_schema(w: Workload, path: Path):
    """``neuropcm.io.open_result`` accepts the file (its kind's schema: config, declared
    datasets and their units, devices) and every declared headline is in ``/results``."""
    try:
        res = open_result(path)
    except SchemaError as e:
        raise AssertionError(f"{w.name}: the file breaks its kind's schema: {e}") from e
    kind = get_kind(w.kind)
    assert res.kind.name == w.kind, f"{w.name}: open_result reads a {res.kind.name!r}"
    missing = sorted(set(kind.headline) - set(res.results))
    assert not missing, f"{w.name}: declared headline(s) {missing} are missing"
    if kind.config:
        assert res.config, f"{w.name}: the file's /config is empty"
    return res


def declared_unit(kind: FileKind, name: str):
    """The unit declared for dataset ``name``: the kind's, or a device state's; None for a
    dataset neither declares."""
    known = kind.dataset_units(name) if hasattr(kind, "dataset_units") \
        else kind.datasets.get(name)  # by name or by pattern (a registered extension)
    if known is not None:
        return known
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "devices":
        return STATE_UNITS.get(parts[2])
    return None


def check_dataset_units(w: Workload, path: Path) -> None:
    """Every dataset has a ``units`` attribute: the declared one where the kind (or the
    device state) declares it, else a unit of the vocabulary (:func:`check_units`, which
    refuses legacy words: writers use the symbols)."""
    kind = get_kind(w.kind)
    problems = []

    def visit(name, obj):
        if not isinstance(obj, h5py.Dataset):
            return
        raw = obj.attrs.get("units")
        if raw is None:
            problems.append(f"/{name} has no 'units' attribute")
            return
        u = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        want = declared_unit(kind, name)
        if want is not None and u != want:
            problems.append(f"/{name} is in {u!r}, declared {want!r}")
        elif want is None:
            try:
                check_units(u, f"/{name} units")
            except ParameterError as e:
                problems.append(str(e))

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    assert not problems, f"{w.name}: datasets without a declared unit: " + "; ".join(problems)


def check_headline_declared(w: Workload, path: Path) -> None:
    """Every attribute of ``/results`` is declared by the kind (headline or optional), so
    that readers know its unit."""
    kind = get_kind(w.kind)
    with h5py.File(path, "r") as f:
        attrs = set(f["results"].attrs) if isinstance(f.get("results"), h5py.Group) else set()
    undeclared = sorted(a for a in attrs if kind.units_of(a) is None)
    assert not undeclared, (f"{w.name}: /results attribute(s) {undeclared} are not declared "
                            f"by kind {w.kind!r} (no unit)")


def check_summary_and_figure(w: Workload, path: Path, folder: Path) -> None:
    """``summary`` and ``figure`` work from a copy of the file alone: text, and a PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "copy.h5"
    shutil.copyfile(path, copy)
    text = w.summary(copy)
    assert isinstance(text, str) and text.strip(), \
        f"{w.name}: summary returned {text!r}, not non-empty text"
    if w.figure is None:
        return
    png = folder / "figure.png"
    got = w.figure(copy, png)
    assert png.is_file(), f"{w.name}: figure(path, png) wrote no {png} (returned {got!r})"
    assert png.read_bytes()[:8] == PNG_SIGNATURE, f"{w.name}: {png} is not a PNG"
    assert got is None or Path(got) == png, f"{w.name}: figure returned {got!r}, not {png}"


def _same_results(a: Path, b: Path) -> list:
    """Differences between two result files' headlines and datasets (wall times aside)."""
    ra, rb = open_result(a), open_result(b)
    timing = re.compile(r"wall|compile|_s$|per_s|s_per")
    diff = [k for k in set(ra.results) | set(rb.results)
            if not timing.search(k) and ra.results.get(k) != rb.results.get(k)]
    for name in set(ra.datasets) | set(rb.datasets):
        if timing.search(name.rsplit("/", 1)[-1]):
            continue
        if name not in ra.datasets or name not in rb.datasets or not np.array_equal(
                ra.dataset(name), rb.dataset(name), equal_nan=True):
            diff.append(name)
    return sorted(diff)


def check_resume(w: Workload, produced: Produced, folder: Path) -> None:
    """``resume=True``: a workload that keeps no checkpoint refuses it with a one-line
    ParameterError before writing anything; a resumable one, given a finished run, refuses
    clearly (nothing to resume) or ends with the same results, and leaves no checkpoint."""
    folder.mkdir(parents=True, exist_ok=True)
    if not w.resumable:
        out = folder / "out.h5"
        try:
            w.run(produced.config, out, resume=True, progress=False)
        except ParameterError as e:
            msg = str(e)
        else:
            left = sorted(p.name for p in folder.iterdir())
            raise AssertionError(f"{w.name}: keeps no checkpoint, yet run(resume=True) was "
                                 f"not refused (it wrote {left})")
        assert "\n" not in msg and re.search(r"resume|checkpoint", msg, re.IGNORECASE), \
            f"{w.name}: resume refused with {msg!r}, not one line about resuming"
        left = sorted(p.name for p in folder.iterdir())
        assert not left, f"{w.name}: a refused resume left {left}"
        return
    out = folder / produced.path.name
    shutil.copyfile(produced.path, out)
    before = out.read_bytes()
    try:
        w.run(produced.config, out, resume=True, progress=False)
    except ParameterError as e:
        msg = str(e)
        assert "\n" not in msg and re.search(r"resume", msg, re.IGNORECASE), \
            f"{w.name}: resuming a finished run refused with {msg!r}, not one line that " \
            f"says why there is nothing to resume"
        assert out.read_bytes() == before, f"{w.name}: a refused resume changed {out}"
    else:
        diff = _same_results(produced.path, out)
        assert not diff, f"{w.name}: resuming a finished run changed {diff}"
    left = sorted(p.name for p in folder.iterdir() if p.name != out.name)
    assert not left, f"{w.name}: resuming a finished run left {left}"


def _cli(argv) -> tuple[int, list]:
    """``neuropcm ARGV``: exit status and the non-empty lines of stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = cli.main(argv)
    return rc, [ln for ln in err.getvalue().splitlines() if ln.strip()]


def check_resume_cli(w: Workload, produced: Produced, folder: Path) -> None:
    """``neuropcm run NAME --resume`` with the run's settings: without checkpoints, exit 2
    with one line about resuming and no file; for a resumable workload over a finished
    run's file, exit 2 with one line (nothing to resume) and the file intact, or exit 0
    and the same results."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "out.h5"
    if w.resumable:
        shutil.copyfile(produced.path, out)
    before = out.read_bytes() if out.exists() else None
    argv = ["run", w.name, *[a for s in produced.sets for a in ("--set", s)], "--resume",
            "--out", str(out), "--quiet"] + (["--plot", "none"] if w.figure else [])
    rc, lines = _cli(argv)
    if rc == 0 and w.resumable:
        diff = _same_results(produced.path, out)
        assert not diff, f"{w.name}: --resume of a finished run changed {diff}"
    else:
        assert rc == 2, f"{w.name}: --resume exited with {rc}: {lines}"
        assert len(lines) == 1 and re.search(r"resume|checkpoint", lines[0], re.IGNORECASE), \
            f"{w.name}: --resume refused without one line about resuming: {lines}"
        if before is None:
            assert not out.exists(), f"{w.name}: a refused --resume wrote {out}"
        else:
            assert out.read_bytes() == before, f"{w.name}: a refused --resume changed {out}"
    left = sorted(p.name for p in folder.iterdir() if p.name != out.name)
    assert not left, f"{w.name}: --resume left {left}"


# ------------------------------------------------------------------------ bad --set values
def _bad_number(f: dataclasses.Field, integer: bool, side: str):
    """A number just outside the ``side`` ('lo' or 'hi') bound of field ``f``."""
    m = f.metadata
    b = m[side]
    if side == "lo":
        if integer:
            return math.floor(b) if m.get("lo_open") else math.ceil(b) - 1
        return float(b) if m.get("lo_open") else float(b) - max(1.0, abs(b))
    return math.floor(b) + 1 if integer else float(b) + max(1.0, abs(b))


def bad_sets(cls) -> list:
    """(``--set`` item, dotted field name, why) that ``cls`` must refuse, from its fields'
    types and metadata: an unknown field, text and a fraction for each count, a negative
    count, a number outside each declared bound, a string outside each ``choices``, NaN for
    each plain number."""
    out = [("no_such_field=1", "no_such_field", "unknown field")]
    for name, f, tp in _leaf_fields(cls):
        base, _ = base_type(tp)
        unit = f.metadata.get("unit")
        if typing.get_origin(base) is tuple:
            elem = (typing.get_args(base) or (float,))[0]
            seq = True
        else:
            elem, seq = base, False
        if elem is bool or elem not in (int, float, str):
            continue
        integer = elem is int

        def text(v, _unit=unit, _seq=seq, _integer=integer):
            t = json.dumps(f"{float(v)!r}*{unit_name(_unit)}") \
                if not _integer and _unit not in (None, "1") else repr(v)
            return f"[{t}]" if _seq else t

        if elem is str:
            if f.metadata.get("choices") and not seq:
                out.append((f"{name}=not-a-choice", name, "not one of the choices"))
            continue
        if integer and not seq:
            out.append((f"{name}=abc", name, "text for a count"))
            out.append((f"{name}=2.5", name, "a fraction for a count"))
            if f.metadata.get("choices") is None:
                out.append((f"{name}=-1", name, "a negative count"))
        if not integer and not seq and unit in (None, "1"):
            out.append((f"{name}=nan", name, "NaN"))
        for side in ("lo", "hi"):
            if f.metadata.get(side) is not None:
                v = _bad_number(f, integer, side)
                out.append((f"{name}={text(v)}", name, f"out of range ({side})"))
    # one refusal per (item): a negative count may also be the lo bound's value
    seen, uniq = set(), []
    for item in out:
        if item[0] not in seen:
            seen.add(item[0])
            uniq.append(item)
    return uniq


def _names_field(msg: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", msg) is not None


def check_set_refused(w: Workload, item: str, name: str) -> None:
    """``--set item`` over the smoke settings is refused: a one-line ParameterError that
    names the field."""
    try:
        cfg = load_config(w.config, None, [*w.smoke, item])
    except ParameterError as e:
        msg = str(e)
        assert "\n" not in msg, f"{w.name}: --set {item!r}: a message of several lines: {msg!r}"
        assert _names_field(msg, name), \
            f"{w.name}: --set {item!r} refused without naming {name!r}: {msg!r}"
        return
    except Exception as e:
        raise AssertionError(f"{w.name}: --set {item!r} raised {type(e).__name__} ({e}), "
                             f"not a ParameterError") from e
    raise AssertionError(f"{w.name}: --set {item!r} was accepted: "
                         f"{name} = {_get(cfg, name)!r}")


def _get(cfg, dotted: str):
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


def check_cli_refuses(w: Workload, item: str, name: str, folder: Path) -> None:
    """``neuropcm run NAME --set item`` exits with 2 and one line on stderr naming the
    field, before the run starts, leaving no output file."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "out.h5"
    called = []

    def spy(*args, **kwargs):
        called.append(args)
        raise AssertionError("the run started")

    reg = workloads()
    saved = reg[w.name]
    reg[w.name] = dataclasses.replace(saved, run=spy)
    argv = ["run", w.name, "--set", item, "--out", str(out), "--quiet"]
    if w.figure is not None:
        argv[4:4] = ["--plot", "none"]
    try:
        rc, lines = _cli(argv)
    finally:
        reg[w.name] = saved
    assert rc == 2, f"{w.name}: neuropcm {' '.join(argv)} exited with {rc}, not 2"
    assert not called, f"{w.name}: --set {item!r}: the run started"
    assert len(lines) == 1 and _names_field(lines[0], name), \
        f"{w.name}: --set {item!r}: stderr is not one line naming {name!r}: {lines}"
    left = sorted(p.name for p in folder.iterdir())
    assert not left, f"{w.name}: --set {item!r} left {left}"


# ======================================================================== the suite
@pytest.mark.parametrize("name", params("config_roundtrip"))
def test_config_roundtrip(name, tmp_path):
    w = workloads()[name]
    check_config_roundtrip(w, w.config(), tmp_path / "defaults")
    check_config_roundtrip(w, load_config(w.config, None, list(w.smoke)), tmp_path / "smoke")


@pytest.mark.parametrize("name", params("smoke_run"))
def test_smoke_run(name, runs):
    """``run`` returns ``out``, under the smoke settings, in (generous) seconds."""
    w = workloads()[name]
    p = runs.get(name)
    assert p.returned is not None and Path(p.returned) == p.path and p.path.is_file(), \
        f"{name}: run returned {p.returned!r}, not the file {p.path}"
    assert p.wall_s < SMOKE_LIMIT_S, \
        f"{name}: the smoke run {list(w.smoke)} took {p.wall_s:.0f} s (limit {SMOKE_LIMIT_S} s)"
    check_config_roundtrip(w, p.config, p.path.parent / f"{name}-toml")


@pytest.mark.parametrize("name", params("file_kind"))
def test_file_kind(name, runs):
    check_file_kind(workloads()[name], runs.get(name).path)


@pytest.mark.parametrize("name", params("schema"))
def test_schema(name, runs):
    check_schema(workloads()[name], runs.get(name).path)


@pytest.mark.parametrize("name", params("dataset_units"))
def test_dataset_units(name, runs):
    check_dataset_units(workloads()[name], runs.get(name).path)


@pytest.mark.parametrize("name", params("headline_declared"))
def test_headline_declared(name, runs):
    check_headline_declared(workloads()[name], runs.get(name).path)


@pytest.mark.parametrize("name", params("summary_figure"))
def test_summary_and_figure(name, runs, tmp_path):
    check_summary_and_figure(workloads()[name], runs.get(name).path, tmp_path)


@pytest.mark.parametrize("name", params("resume"))
def test_resume(name, runs, tmp_path):
    check_resume(workloads()[name], runs.get(name), tmp_path)


@pytest.mark.parametrize("name", params("resume_cli"))
def test_resume_cli(name, runs, tmp_path):
    check_resume_cli(workloads()[name], runs.get(name), tmp_path)


@pytest.mark.parametrize("name", params("bad_sets"))
def test_bad_sets_refused(name):
    w = workloads()[name]
    failures = []
    for item, field_name, why in bad_sets(w.config):
        try:
            check_set_refused(w, item, field_name)
        except AssertionError as e:
            failures.append(f"[{why}] {e}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", params("bad_sets_cli"))
def test_bad_sets_refused_by_cli(name, tmp_path):
    """One bad value of each sort through ``neuropcm run``."""
    w = workloads()[name]
    picked = {}
    for item, field_name, why in bad_sets(w.config):
        picked.setdefault(why.split(" (")[0], (item, field_name))
    for k, (item, field_name) in enumerate(picked.values()):
        check_cli_refuses(w, item, field_name, tmp_path / str(k))


def test_result_file_fields_are_found_from_docs():
    """The generic discovery finds the one dependency there is (so that a new workload
    taking a result file is fed without editing this suite)."""
    w = workloads()["snn-crossbar"]
    saved = dict(RESULT_FILE_FIELDS)
    RESULT_FILE_FIELDS.clear()
    try:
        assert result_file_fields(w) == {"source": "mnist-clustering"}
    finally:
        RESULT_FILE_FIELDS.update(saved)


def test_registry_lists_every_workload_once():
    reg = workloads()
    assert NAMES and NAMES == sorted(reg)
    assert all(w.name == n for n, w in reg.items())
    for w in reg.values():
        assert w.kind in KINDS, f"{w.name}: its kind {w.kind!r} is not registered"
        assert isinstance(w.smoke, tuple) and all(isinstance(s, str) for s in w.smoke), w.name
        for flag, (fld, _) in w.flags.items():
            assert fld in {f.name for f in dataclasses.fields(w.config)}, (w.name, flag)


# ======================================================================== the suite can fail
@dataclasses.dataclass(frozen=True)
class DummyConfig(Config):
    """Settings of the contract's dummy workloads."""

    n: int = option(4, "values written", lo=1, hi=1000)
    scale: float = option(1.0, "time scale", unit="s", lo=0.0, lo_open=True)
    label: str = option("a", "a label", choices=("a", "b"))
    seed: int = option(0, "seed", lo=0)


@dataclasses.dataclass(frozen=True)
class UnboundedConfig(Config):
    """A count without a bound: accepts nonsense."""

    n: int = option(4, "values written")


DUMMY_KIND = FileKind("contract_dummy", 1, "a dummy of the workload contract tests",
                      headline={"total": "count"}, optional={"wall_s": "s"},
                      datasets={"results/values": "count", "results/time": "s"})

#: defect -> what the dummy's run does wrong (None: nothing, the control)
DEFECTS = ("none", "wrong-kind", "unknown-unit", "wrong-declared-unit", "no-units",
           "missing-headline", "undeclared-headline", "no-png", "empty-summary",
           "resume-ignored", "unbounded-count")


def make_dummy(defect: str) -> Workload:
    def run(config, out, *, resume=False, progress=True):
        if resume and defect != "resume-ignored":
            refuse_resume("contract-dummy", "it is a dummy")
        c = config
        values = np.arange(c.n)
        with atomic_h5(out, kind="solver" if defect == "wrong-kind" else DUMMY_KIND.name) as f:
            write_config(f, c.to_dict())
            r = f.create_group("results")
            if defect != "missing-headline":
                r.attrs["total"] = int(values.sum())
            r.attrs["wall_s"] = 0.001
            if defect == "undeclared-headline":
                r.attrs["mystery"] = 1.5
            write_dataset(r, "values", values,
                          "s" if defect == "wrong-declared-unit" else "count")
            write_dataset(r, "time", getattr(c, "scale", 1.0) * values, "s")
            extra = r.create_dataset("extra", data=values * 2.0)
            if defect == "unknown-unit":
                extra.attrs["units"] = "furlongs"   # write_dataset would refuse it
            elif defect != "no-units":
                extra.attrs["units"] = "1"
        return Path(out)

    def summary(path):
        if defect == "empty-summary":
            return ""
        with open_h5(path) as f:
            return f"total {int(f['results'].attrs['total'])}"

    def figure(path, png):
        from neuropcm.plotting import new_figure, save_figure

        if defect == "no-png":
            Path(png).write_bytes(b"not an image")
            return Path(png)
        with open_h5(path) as f:
            v = f["results/values"][()]
        fig, ax = new_figure(1, 1, (2, 2))
        ax.plot(v)
        return save_figure(fig, png, dpi=40)

    return Workload(name=f"contract-dummy-{defect}", kind=DUMMY_KIND.name,
                    config=UnboundedConfig if defect == "unbounded-count" else DummyConfig,
                    run=run, summary=summary, figure=figure,
                    description="a dummy of the workload contract tests",
                    default_out="dummy.h5", smoke=("n=3",))


@contextlib.contextmanager
def registered(defect: str):
    """A dummy workload (and its kind) in the registries for the ``with`` block."""
    reg = workloads()
    w = make_dummy(defect)
    assert w.name not in reg and KINDS.get(DUMMY_KIND.name, DUMMY_KIND) == DUMMY_KIND
    had_kind = DUMMY_KIND.name in KINDS
    KINDS[DUMMY_KIND.name] = DUMMY_KIND
    reg[w.name] = w
    try:
        yield w
    finally:  # item deletion: the registries are dicts or neuropcm.registry.Registry
        if w.name in reg:
            del reg[w.name]
        if not had_kind and DUMMY_KIND.name in KINDS:
            del KINDS[DUMMY_KIND.name]


@pytest.fixture
def register_dummy(request):
    """Register a dummy workload for one test; a finalizer removes it (and its kind)."""

    def register(defect: str) -> Workload:
        cm = registered(defect)
        w = cm.__enter__()
        request.addfinalizer(lambda: cm.__exit__(None, None, None))
        return w

    return register


def _dummy_run(w: Workload, folder: Path) -> Produced:
    runner = Runs(folder)
    return runner.get(w.name)


def run_all_checks(w: Workload, folder: Path) -> None:
    """Every checker of the suite on workload ``w`` (stops at the first defect)."""
    p = _dummy_run(w, folder / "run")
    check_config_roundtrip(w, p.config, folder / "config")
    check_file_kind(w, p.path)
    check_schema(w, p.path)
    check_dataset_units(w, p.path)
    check_headline_declared(w, p.path)
    check_summary_and_figure(w, p.path, folder / "summary")
    check_resume(w, p, folder / "resume")
    check_resume_cli(w, p, folder / "resume-cli")
    for item, field_name, _ in bad_sets(w.config):
        check_set_refused(w, item, field_name)
    item, field_name, _ = bad_sets(w.config)[0]
    check_cli_refuses(w, item, field_name, folder / "cli")


def test_checkers_pass_a_correct_dummy(register_dummy, tmp_path):
    """The control: a dummy that keeps the contract passes every checker (so the failures
    below come from the defects alone)."""
    w = register_dummy("none")
    assert w.name in workloads()
    run_all_checks(w, tmp_path)


#: defect -> the checker that must report it, and a pattern of its message
EXPECTED = {
    "wrong-kind": ("check_file_kind", r"kind 'solver'.*declares 'contract_dummy'"),
    "unknown-unit": ("check_dataset_units", r"/results/extra.*furlongs"),
    "wrong-declared-unit": ("check_dataset_units", r"/results/values is in 's', declared 'count'"),
    "no-units": ("check_dataset_units", r"/results/extra has no 'units'"),
    "missing-headline": ("check_schema", r"total"),
    "undeclared-headline": ("check_headline_declared", r"mystery"),
    "no-png": ("check_summary_and_figure", r"not a PNG"),
    "empty-summary": ("check_summary_and_figure", r"summary returned ''"),
    "resume-ignored": ("check_resume", r"run\(resume=True\) was not refused"),
    "unbounded-count": ("check_set_refused", r"n=-1.*accepted"),
}


@pytest.mark.parametrize("defect", sorted(EXPECTED))
def test_checkers_report_defects(defect, register_dummy, tmp_path):
    w = register_dummy(defect)
    checker, pattern = EXPECTED[defect]
    p = _dummy_run(w, tmp_path / "run")
    call = {
        "check_file_kind": lambda: check_file_kind(w, p.path),
        "check_schema": lambda: check_schema(w, p.path),
        "check_dataset_units": lambda: check_dataset_units(w, p.path),
        "check_headline_declared": lambda: check_headline_declared(w, p.path),
        "check_summary_and_figure": lambda: check_summary_and_figure(w, p.path,
                                                                     tmp_path / "s"),
        "check_resume": lambda: check_resume(w, p, tmp_path / "resume"),
        "check_set_refused": lambda: check_set_refused(w, "n=-1", "n"),
    }[checker]
    with pytest.raises(AssertionError, match=pattern):
        call()
    # and the whole battery, as the suite runs it, fails too
    with pytest.raises(AssertionError):
        run_all_checks(w, tmp_path / "all")


def test_dummies_are_removed_afterwards():
    reg = workloads()
    before, kinds = set(reg), set(KINDS)
    with registered("wrong-kind") as w:
        assert set(reg) == before | {w.name} and DUMMY_KIND.name in KINDS
    assert set(reg) == before and set(KINDS) == kinds
    assert sorted(reg) == NAMES
