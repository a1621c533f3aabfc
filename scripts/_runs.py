"""One point of a reproduction sweep: run the workload unless its file exists, then read the
file's results (shared by the ``reproduce_*.py`` scripts that sweep a setting over seeds;
a script run as ``python scripts/x.py`` has this folder on its import path)."""

from __future__ import annotations

from pathlib import Path


def run_or_read(workload, sets, out, *, run: bool = True) -> dict | None:
    """Run ``workload`` with the ``--set`` texts ``sets`` into ``out`` (with ``run`` and no
    file there yet; an existing point is not rerun), then return the ``results``
    attributes of the file, or None where there is no file (``run=False``: read only)."""
    from neuropcm.config import load_config
    from neuropcm.io import open_h5

    out = Path(out)
    if run and not out.exists():
        workload.run(load_config(workload.config, None, list(sets)), out, progress=False)
    if not out.exists():
        return None
    with open_h5(out, kind=workload.kind) as f:
        return dict(f["results"].attrs)
