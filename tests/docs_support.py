"""The docs' generator (``docs/_ext/neuropcm_docgen.py``) as a module, for the docs tests:
it is a Sphinx extension, not part of the package, so it is loaded from its file once."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

DOCGEN = Path(__file__).resolve().parents[1] / "docs" / "_ext" / "neuropcm_docgen.py"


def docgen():
    """The generator module (loaded on first use, then shared)."""
    name = "neuropcm_docgen"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, DOCGEN)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]
