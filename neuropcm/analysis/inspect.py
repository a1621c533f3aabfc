"""``neuropcm inspect FILE``: everything a result file says about itself, as text."""

from __future__ import annotations

import json

import numpy as np

from ..io import Result, open_result

__all__ = ["describe", "flatten"]


def flatten(d, prefix: str = "") -> dict:
    """A nested mapping as ``{"a.b.c": value}`` (lists and scalars are leaves); an empty
    mapping stays one leaf."""
    if not isinstance(d, dict) or (not d and prefix):
        return {prefix: d}
    out = {}
    for k, v in d.items():
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def _value(v, unit: str) -> str:
    """A config value as a user reads it: numbers short (``20``, not
    ``20.000000000000004``), with the field's unit where it has one."""
    text = _fmt(v) if isinstance(v, (float, list)) else json.dumps(v, sort_keys=True)
    if unit and unit != "1" and v is not None and not isinstance(v, (str, bool)):
        text += f" {unit}"
    return text


def _workload_of(kind: str):
    from ..workloads import workloads

    return next((w for w in workloads().values() if w.kind == kind), None)


def _class(spec):
    """A config class from ``"module:Class"`` (imported only now), or None."""
    if spec is None:
        return None
    import importlib

    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def _units_of(cls) -> dict:
    from ..config import describe as config_rows

    return {n: u for n, u, _, _ in config_rows(cls)} if cls is not None else {}


def _sections(kind: str, config: dict) -> list[tuple[str, dict, dict]]:
    """``(title, flat fields, units)`` per section of a stored configuration: the
    workload's ``file_config`` sections where it declares them, else the whole config (one
    untitled section with the units of the workload's config class), else the top-level
    tables as sections when there are several, each a non-empty table."""
    w = _workload_of(kind)
    if w is not None and getattr(w, "file_config", None):
        out, seen = [], set()
        for path, (title, spec) in w.file_config.items():
            node = config
            for part in path.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict):
                out.append((title, flatten(node), _units_of(_class(spec))))
                seen.add(path)
        rest = {k: v for k, v in config.items()
                if not any(p == k or p.startswith(k + ".") for p in seen)}
        return out + [(k, flatten(v) if isinstance(v, dict) else {k: v}, {})
                      for k, v in rest.items()]
    units = _units_of(w.config) if w is not None else {}
    if len(config) > 1 and all(isinstance(v, dict) and v for v in config.values()):
        return [(k, flatten(v), {}) for k, v in config.items()]
    return [("", flatten(config), units)]


def describe(source) -> str:
    """The text ``neuropcm inspect`` prints: the file's kind and schema, when and by which
    NeuroPCM it was written, its whole configuration (dotted names, JSON values), its
    headline results with units, its datasets with shapes, types and units, its device
    arrays, and the figures ``neuropcm plot`` can draw from it.

    Parameters
    ----------
    source : str, Path or Result
        The file (opened read-only) or an opened :class:`~neuropcm.io.Result`.
    """
    from .figures import figures_for

    r = source if isinstance(source, Result) else open_result(source)
    k = r.kind
    lines = [f"file     {r.path}",
             f"kind     {k.name} -- {k.description}",
             f"schema   {r.schema_version}",
             f"written  {r.created} by neuropcm {r.neuropcm_version}"]
    lines += _config_lines(r)
    if r.results:
        lines.append(f"results ({len(r.results)}):")
        w = max(len(n) for n in r.results)
        vals = {n: _fmt(v) for n, v in r.results.items()}
        wv = max(len(v) for v in vals.values())
        lines += [f"  {n:<{w}}  {vals[n]:<{wv}}  [{r.units[n] or '?'}]" for n in r.results]
    else:
        lines.append("results: (none)")
    if r.datasets:
        lines.append(f"datasets ({len(r.datasets)}):")
        w = max(len(n) for n in r.datasets)
        for n, d in r.datasets.items():
            shape = "x".join(map(str, d.shape)) if d.shape else "scalar"
            lines.append(f"  {n:<{w}}  {shape:<12} {np.dtype(d.dtype).name:<8} "
                         f"[{d.units or '?'}]")
    for field, src in r.preset_files.items():
        lines.append(f"preset file of {field}: {src['path']} (sha256 {src['sha256'][:16]}..., "
                     f"{len(src['text'])} characters stored in the file: "
                     f"neuropcm.analysis.open(path).preset_files)")
    if r.device_info:
        lines.append(f"devices ({len(r.device_info)} arrays, read with "
                     f"neuropcm.analysis.open(path).devices()):")
        for n, d in r.device_info.items():
            prov = d.preset or "custom"
            if d.overrides:
                prov += f" ({', '.join(d.overrides)} overridden)"
            lines.append(f"  {n}: {'x'.join(map(str, d.shape))} {d.model} devices, "
                         f"preset {prov}")
    figs = [f.name for f in figures_for(r)]
    lines.append("figures  " + (", ".join(figs) + f" (neuropcm plot {r.path} --what NAME)"
                                if figs else "(none)"))
    return "\n".join(lines)


def _config_lines(r) -> list[str]:
    """The configuration, one field a line with its unit, section by section where the
    stored config has several (so a section's own tables read ``neurons.n``, not
    ``network.network.neurons.n``)."""
    cfg = flatten(r.config)
    if not cfg:
        return ["config: (none stored)"]
    sections = _sections(r.kind.name, r.config)
    titled = any(title for title, _, _ in sections)
    lines = [f"config ({len(cfg)} fields{', by section' if titled else ''}):"]
    for title, fields, units in sections:
        indent = "    " if titled else "  "
        if titled:
            lines.append(f"  [{title}]")
        w = max((len(n) for n in fields), default=0)
        lines += [f"{indent}{n:<{w}}  {_value(v, units.get(n, ''))}" for n, v in fields.items()]
    return lines
