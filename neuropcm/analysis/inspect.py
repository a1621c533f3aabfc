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


def config_units(kind: str, config: dict) -> dict:
    """``{dotted field: unit}`` for the stored configuration ``config`` of a file of
    ``kind``, from the config classes of the workload that writes it (its
    ``Workload.file_config`` sections where the file stores several, e.g. the MNIST run's
    network definition beside its run settings); empty where no workload writes ``kind``."""
    from ..config import describe as config_rows
    from ..workloads import workloads

    for w in workloads().values():
        if w.kind != kind:
            continue
        sections = getattr(w, "file_config", None) or {"": w.config}
        units = {}
        for key, cls in sections.items():
            prefix = f"{key}." if key else ""
            units.update({prefix + n: u for n, u, _, _ in config_rows(cls)})
        return units
    return {}


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
    """The configuration, one field a line with its unit; a stored config made of several
    sections (a dict of dicts, e.g. ``network`` and ``run``) is shown section by section,
    so a section's own ``network`` table reads ``network.name``, not
    ``network.network.name``."""
    units = config_units(r.kind.name, r.config)
    cfg = flatten(r.config)
    if not cfg:
        return ["config: (none stored)"]
    sectioned = len(r.config) > 1 and all(isinstance(v, dict) and v for v in r.config.values())
    groups = {k: flatten(v) for k, v in r.config.items()} if sectioned else {"": cfg}
    lines = [f"config ({len(cfg)} fields{', by section' if sectioned else ''}):"]
    for sec, fields in groups.items():
        indent = "  "
        if sec:
            lines.append(f"  [{sec}]")
            indent = "    "
        w = max(len(n) for n in fields)
        for n, v in fields.items():
            unit = units.get(f"{sec}.{n}" if sec else n, "")
            lines.append(f"{indent}{n:<{w}}  {_value(v, unit)}")
    return lines
