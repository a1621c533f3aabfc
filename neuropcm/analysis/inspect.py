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
    cfg = flatten(r.config)
    lines.append(f"config ({len(cfg)} fields):" if cfg else "config: (none stored)")
    w = max((len(n) for n in cfg), default=0)
    lines += [f"  {n:<{w}}  {json.dumps(v, sort_keys=True)}" for n, v in cfg.items()]
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
