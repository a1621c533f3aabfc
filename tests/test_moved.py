"""Old import paths of moved modules keep working for one release, with a DeprecationWarning
(issue 17: workload families, the sweep package)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from neuropcm._moved import MOVED


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_old_path_gives_the_new_module_and_warns(old, new):
    # a fresh interpreter: the warning is given once per process, at the first import
    code = (f"import warnings, importlib\n"
            f"warnings.simplefilter('error', DeprecationWarning)\n"
            f"try:\n    importlib.import_module({old!r})\n"
            f"except DeprecationWarning as w:\n    print('warned:', w)\n"
            f"warnings.simplefilter('ignore')\n"
            f"m = importlib.import_module({old!r})\n"
            f"print('same:', m is importlib.import_module({new!r}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert f"warned: {old} moved to {new}" in out
    assert "same: True" in out


def test_public_names_resolve_through_the_old_path():
    with pytest.warns(DeprecationWarning, match="moved to"):
        sys.modules.pop("neuropcm.sweep_grid", None)
        old = importlib.import_module("neuropcm.sweep_grid")
    from neuropcm.sweep.grid import expand_grid

    assert old.expand_grid is expand_grid


def test_every_new_path_exists_and_no_old_path_is_a_file():
    from pathlib import Path

    import neuropcm

    root = Path(neuropcm.__file__).parent
    for old, new in MOVED.items():
        importlib.import_module(new)
        rel = Path(*old.split(".")[1:])
        assert not (root / rel).with_suffix(".py").exists() and not (root / rel).exists(), old
