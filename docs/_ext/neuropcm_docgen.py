"""Pages of the NeuroPCM documentation generated from the code when the docs build.

Nothing here is a hand-kept copy: every page is text rendered from a registry or an object
of the package, written into ``docs/api/generated/`` and ``docs/reference/generated/`` on
``builder-inited`` (a file is rewritten only when its text changes, so an unchanged page is
not rebuilt).

* the API reference: one page per public module (:func:`public_modules`), documenting the
  public names whose home is that module (:func:`module_members`; a name re-exported by a
  package is documented once, where it is defined);
* the workloads: every config field with its unit, default, bounds, choices and doc, from
  the workload registry (:func:`workloads_page`);
* the device presets: every parameter with its unit, bounds and value in each preset, and
  each preset's source (:func:`presets_page`);
* the physics relations, each with its expression and units (:func:`relations_page`);
* the HDF5 file kinds: headlines and datasets with their units (:func:`kinds_page`);
* the command line: the help of every command (:func:`cli_page`).

The page functions take the registry they render as an argument, so a test can render a
registry with one more field or preset and see it appear.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import itertools
import pkgutil
import re
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]

# -------------------------------------------------------------------------- public API


def public_modules(package: str = "neuropcm") -> list[str]:
    """Dotted names of the package's public modules: every module and sub-package whose
    path has no part starting with ``_``, sorted, the package first."""
    pkg = importlib.import_module(package)
    names = [package]
    for m in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
        if not any(p.startswith("_") for p in m.name.split(".")[1:]):
            names.append(m.name)
    return sorted(set(names), key=lambda n: (n != package, n))


def _import(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module(name)


def _home(obj) -> str | None:
    """The public module an object is documented in: its ``__module__`` with private parts
    (``_kernels``) dropped, so a class defined in ``devices/_params_base.py`` and exported
    by ``devices/params.py`` is documented on the ``neuropcm.devices`` page ... unless a
    public module re-exports it first (see :func:`module_members`)."""
    mod = getattr(obj, "__module__", None)
    if not isinstance(mod, str) or not mod.startswith("neuropcm"):
        return None
    parts = mod.split(".")
    while len(parts) > 1 and parts[-1].startswith("_"):
        parts.pop()
    return ".".join(parts)


def _exported(mod) -> list[str]:
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n, o in vars(mod).items() if not n.startswith("_")
                 and (inspect.isfunction(o) or inspect.isclass(o))
                 and getattr(o, "__module__", None) == mod.__name__]
    return list(names)


def module_members(name: str) -> list[tuple[str, object]]:
    """The public functions and classes documented on the page of module ``name``.

    A module's names are its ``__all__`` (or, without one, the public functions and
    classes it defines). A function or class is documented on the page of its home: the
    module that defines it, or -- when that module is private (``_x.py``) -- the public
    module that exports it and lies nearest to it (the same package first). Objects of
    other packages (numpy, Brian2) are not documented.
    """
    mod = _import(name)
    out = []
    for n in _exported(mod):
        obj = getattr(mod, n, None)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if _documented_in(obj, n) == name:
            out.append((n, obj))
    return out


_HOMES: dict | None = None


def _documented_in(obj, n: str) -> str | None:
    """The module whose page documents ``obj`` (see :func:`module_members`)."""
    global _HOMES
    if _HOMES is None:
        _HOMES = {}
        for m in public_modules():
            mod = _import(m)
            for e in _exported(mod):
                o = getattr(mod, e, None)
                if inspect.isfunction(o) or inspect.isclass(o):
                    _HOMES.setdefault(id(o), []).append(m)
    defined = getattr(obj, "__module__", "")
    home = _home(obj)
    cands = _HOMES.get(id(obj), [])
    if defined in cands:
        return defined
    if not cands:
        return None
    # a private module's object: the exporting module deepest inside the private
    # module's package (devices/_params_base -> devices.params before devices)
    def score(m):
        common = 0
        for a, b in zip(m.split("."), (home or "").split(".")):
            if a != b:
                break
            common += 1
        return (-common, len(m), m)
    return min(cands, key=score)


def api_page(name: str) -> str:
    """The reST of one module's API page: its docstring and its own public members."""
    title = f"``{name}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {name}", "   :no-members:", ""]
    members = module_members(name)
    for n, obj in members:
        if inspect.isclass(obj):
            lines += [f".. autoclass:: {name}.{n}", "   :members:", "   :show-inheritance:", ""]
        else:
            lines += [f".. autofunction:: {name}.{n}", ""]
    subs = [m for m in public_modules() if m.rsplit(".", 1)[0] == name and m != name]
    if subs:
        lines += ["Modules", "-------", "", ".. toctree::", "   :maxdepth: 1", ""]
        lines += [f"   {m}" for m in subs]
        lines.append("")
    return "\n".join(lines)


# -------------------------------------------------------------------------- tables


def _cell(text) -> str:
    """Text for one cell of a Markdown table (one line, pipes escaped)."""
    text = " ".join(str(text).split())
    return text.replace("|", "\\|")


def _table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def _code(text) -> str:
    text = str(text)
    tick = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{tick}{pad}{text}{pad}{tick}" if text else ""


def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return repr(v)


def _bounds(meta) -> str:
    lo, hi = meta.get("lo"), meta.get("hi")
    parts = []
    if lo is not None:
        parts.append(f"{'>' if meta.get('lo_open') else '>='} {_value(lo)}")
    if hi is not None:
        parts.append(f"<= {_value(hi)}")
    return ", ".join(parts)


def config_rows(cls, prefix: str = "") -> list[list]:
    """One row per field of the config class ``cls`` (nested sections flattened as
    ``section.field``): name, unit, default, bounds or choices, doc."""
    from neuropcm.config import Config
    from neuropcm.config._base import base_type, choices_of, field_types

    types = field_types(cls)
    rows = []
    for f in dataclasses.fields(cls):
        base, optional = base_type(types[f.name])
        doc = f.metadata.get("doc", "")
        doc = doc() if callable(doc) else doc
        if isinstance(base, type) and issubclass(base, Config):
            rows.append([_code(prefix + f.name), "", "(section)", "", doc])
            rows += config_rows(base, prefix + f.name + ".")
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = "(required)"
        default = _value(default) if default != "(required)" else default
        if optional and default == "None":
            default = "None (optional)"
        ch = choices_of(f)
        limits = _bounds(f.metadata)
        if ch is not None:
            limits = (limits + "; " if limits else "") + "one of " + ", ".join(map(str, ch))
        rows.append([_code(prefix + f.name), f.metadata.get("unit") or "",
                     _code(default), limits, doc])
    return rows


def workloads_page(registry: dict) -> str:
    """The Markdown page of every workload of ``registry`` (``{name: Workload}``)."""
    out = ["# Workloads: configuration fields", "",
           ("Generated from the workload registry (`neuropcm.workloads.workloads()`) when the "
           "docs are built. Every field is set in a TOML file (`--config`) or on the command "
           "line (`--set FIELD=VALUE`); a value with a unit is written as a quantity "
           "(`--set 'program_tol=1.74 uS'`). Units are SI; a bad value is refused before "
           "any work starts."), ""]
    for name in sorted(registry):
        w = registry[name]
        out += [f"(workload-{name})=", f"## `{name}`", "", w.description.rstrip(".") + ".", ""]
        facts = [f"file kind: `{w.kind}`", f"default output: `{w.default_out}`",
                 f"config class: `{w.config.__module__}.{w.config.__name__}`",
                 "resumable (`--resume`)" if w.resumable else "not resumable"]
        if w.aliases:
            facts.append("aliases: " + ", ".join(f"`{a}`" for a in w.aliases))
        if w.smoke:
            facts.append("seconds-long settings (`smoke`): " + " ".join(
                f"`--set {s}`" for s in w.smoke))
        for flag, (fld, help_) in w.flags.items():
            facts.append(f"`{flag}` sets `{fld}`")
        out += ["- " + f for f in facts] + [""]
        out.append(_table(["field", "unit", "default", "bounds / choices", "meaning"],
                          config_rows(w.config)))
    return "\n".join(out)


def _md(text: str) -> str:
    """A docstring's text for a Markdown page: one line, reST roles as MyST roles
    (``:class:`X``` -> ``{class}`X```)."""
    return re.sub(r"(?<![\w`]):(\w+(?::\w+)?):`", r"{\1}`", " ".join(text.split()))


def _preset_doc(make) -> tuple[str, str]:
    doc = inspect.getdoc(make) or ""
    first, _, rest = doc.partition("\n\n")
    return _md(first), _md(rest)


def presets_page(presets: dict) -> str:
    """The Markdown page of the device presets ``presets`` (``{name: factory}``, as
    :data:`neuropcm.devices.presets.PRESETS`)."""
    made = {n: make() for n, make in presets.items()}
    out = ["# Device presets and their parameters", "",
           ("Generated from `neuropcm.devices.presets.PRESETS` when the docs are built. A "
           "preset only changes defaults and cites its source; any parameter can be "
           "overridden by keyword in SI units (`PCMArray(100, \"nandakumar2018\", "
           "g_max=12e-6)`), and a fitted preset file is accepted wherever a name is "
           "([your own device](../../guide/your-device.md))."), ""]
    out += ["## Presets", ""]
    out.append(_table(["preset", "model", "class", "source"],
                      [[_code(n), p.model, _code(type(p).__name__), _preset_doc(presets[n])[0]]
                       for n, p in made.items()]))
    for n, p in made.items():
        title, rest = _preset_doc(presets[n])
        out += [f"### `{n}`", "", title, "", rest, ""] if rest else [f"### `{n}`", "", title, ""]
    by_class: dict = {}
    for n, p in made.items():
        by_class.setdefault(type(p), []).append(n)
    for cls, names in by_class.items():
        out += [f"## Parameters of `{cls.__name__}` ({names and made[names[0]].model} model)", ""]
        rows = []
        for f in dataclasses.fields(cls):
            m = f.metadata
            rows.append([_code(f.name), m.get("unit") or "1", _bounds(m)]
                        + [_value(getattr(made[n], f.name)) for n in names]
                        + [m.get("doc", "") + (f" ({m['why']})" if m.get("why") else "")])
        out.append(_table(["parameter", "unit", "bounds"] + [f"`{n}`" for n in names]
                          + ["meaning (and why the bounds)"], rows))
    return "\n".join(out)


def _attribute_docs(module) -> dict:
    """``{NAME: docstring}`` of the module-level assignments followed by a string literal
    (the docstrings Sphinx reads for module attributes)."""
    tree = ast.parse(inspect.getsource(module))
    docs = {}
    body = tree.body
    for a, b in itertools.pairwise(body):
        if isinstance(a, ast.Assign) and len(a.targets) == 1 and \
                isinstance(a.targets[0], ast.Name) and isinstance(b, ast.Expr) and \
                isinstance(b.value, ast.Constant) and isinstance(b.value.value, str):
            docs[a.targets[0].id] = inspect.cleandoc(b.value.value)
    return docs


def relations_page(relations: dict, module=None) -> str:
    """The Markdown page of the physics relations ``relations`` (``{name: Relation}``, as
    :data:`neuropcm.devices.physics.RELATIONS`): each expression exactly as every engine
    evaluates it, with the units of its variables and result."""
    if module is None:
        module = _import("neuropcm.devices.physics")
    docs = {}
    for var, text in _attribute_docs(module).items():
        r = getattr(module, var, None)
        if r is not None and hasattr(r, "expr"):
            docs[r.name] = text
    out = ["# Physics relations", "",
           ("Generated from `neuropcm.devices.physics.RELATIONS` when the docs are built: each "
           "relation is written once, as the expression below, and rendered into numpy, "
           "numba and Brian2 code (the [device-physics tutorial](../../tutorials/g_device_physics.md) "
           "draws them). Parameters are fields of the device presets "
           "([presets](presets.md))."), ""]
    for name, r in relations.items():
        var = ", ".join(f"`{v}` [{u}]" for v, u in r.variables) or "none"
        out += [f"## `{name}`", "", "```text", f"{name} = {r.expr}", "```", "",
                f"- result unit: {r.unit}", f"- variables: {var}",
                "- parameters: " + (", ".join(f"`{p}`" for p in r.params) or "none")]
        if r.constants:
            out.append("- constants: " + ", ".join(f"`{c}` = {v:g} {u}"
                                                   for c, (v, u) in r.constants.items()))
        doc = docs.get(name)
        out += ["", _md(doc) if doc else "", ""]
    return "\n".join(out)


def kinds_page(kinds) -> str:
    """The Markdown page of the HDF5 file kinds ``kinds`` (a registry or dict of
    :class:`~neuropcm.io.kinds.FileKind`)."""
    out = ["# HDF5 file kinds", "",
           ("Generated from the file-kind registry (`neuropcm.io.kinds.KINDS`) when the docs are "
           "built. Every file holds a root `kind` and `schema_version`; every dataset carries "
           "a `units` attribute (`count` for counts, `1` for ratios and labels); headline "
           "results are attributes of `/results`. `neuropcm inspect FILE` shows what one "
           "file holds."), ""]
    for name in sorted(kinds):
        k = kinds[name]
        out += [f"## `{name}` (schema {k.schema_version})", "", k.description.rstrip(".") + ".",
                "", f"- holds `/config`: {'yes' if k.config else 'no'}",
                f"- device states under `/devices/<name>/`: {'yes' if k.devices else 'no'}", ""]
        rows = []
        for table, what in ((k.headline, "headline"), (k.optional, "optional headline"),
                            (k.optional_patterns, "optional headline (pattern)")):
            for key, unit in table.items():
                rng = k.bounds.get(key)
                rows.append([_code(f"/results@{key}"), what, unit,
                             rng.describe() if rng is not None else ""])
        for table, what in ((k.datasets, "dataset"), (k.optional_datasets, "optional dataset"),
                            (k.dataset_patterns, "optional dataset (pattern)")):
            for key, unit in table.items():
                rows.append([_code("/" + key), what, unit, ""])
        if rows:
            out.append(_table(["path", "what", "unit", "range"], rows))
    return "\n".join(out)


def _subparsers(parser):
    import argparse

    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            return a
    return None


def cli_page(parser) -> str:
    """The Markdown page of the command line ``parser`` (an ``argparse`` parser with
    sub-commands): the help text of every command and sub-command."""
    out = ["# Command line", "",
           ("Generated from the parser of the `neuropcm` command "
           "(`neuropcm.cli.build_parser()`) when the docs are built."), ""]

    def walk(p, path, level):
        text = p.format_help().rstrip()
        out.extend(["#" * level + f" `{' '.join(path)}`", "", "```text", text, "```", ""])
        sub = _subparsers(p)
        if sub is not None:
            for cname, cp in sub.choices.items():
                walk(cp, path + [cname], min(level + 1, 4))

    walk(parser, [parser.prog], 2)
    return "\n".join(out)


# -------------------------------------------------------------------------- writing


def _write(path: Path, text: str) -> bool:
    """Write ``text`` unless the file already holds it; True if written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def generate(docs: Path = DOCS) -> list[Path]:
    """Write every generated page under ``docs``; returns the pages written."""
    import os

    os.environ.setdefault("COLUMNS", "100")  # argparse wraps help at the terminal width
    from neuropcm.cli import build_parser
    from neuropcm.devices import physics
    from neuropcm.devices.presets import PRESETS
    from neuropcm.io.kinds import KINDS
    from neuropcm.workloads import workloads

    written = []
    api = docs / "api" / "generated"
    mods = public_modules()
    for m in mods:
        if _write(api / f"{m}.rst", api_page(m)):
            written.append(api / f"{m}.rst")
    for old in api.glob("*.rst"):  # a module that was removed loses its page
        if old.stem not in mods:
            old.unlink()
    ref = docs / "reference" / "generated"
    pages = {"workloads.md": workloads_page(workloads()),
             "presets.md": presets_page(PRESETS),
             "relations.md": relations_page(physics.RELATIONS, physics),
             "file-kinds.md": kinds_page(KINDS),
             "cli.md": cli_page(build_parser())}
    for fname, text in pages.items():
        if _write(ref / fname, text):
            written.append(ref / fname)
    return written


def _on_builder_inited(app) -> None:
    generate(Path(app.srcdir))


def setup(app):
    """Sphinx extension: generate the pages before the sources are read."""
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":  # python docs/_ext/neuropcm_docgen.py: write the pages only
    for p in generate():
        print(p)
