"""Old import paths of moved public modules, kept for one release with a DeprecationWarning.

``import neuropcm.workloads.mvm_precision`` (the path before the workload families) gives
the module at its new path, :mod:`neuropcm.workloads.computational_memory.mvm_precision`,
and warns once per process. A meta-path finder rather than stub files: a stub in
``workloads/`` would be found by the workload registry as a second copy.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: Old module path -> new module path (remove in 0.3).
MOVED = {
    **{f"neuropcm.workloads.{m}": f"neuropcm.workloads.computational_memory.{m}"
       for m in ("mvm_precision", "compressed_sensing", "correlation", "solver")},
    **{f"neuropcm.workloads.{m}": f"neuropcm.workloads.learning.{m}"
       for m in ("mlp_train", "drift_resilient")},
    **{f"neuropcm.workloads.{m}": f"neuropcm.workloads.spiking.{m}"
       for m in ("mnist_clustering", "snn_crossbar")},
    "neuropcm.workloads.device_characterisation":
        "neuropcm.workloads.characterisation.device_characterisation",
    "neuropcm.sweep_grid": "neuropcm.sweep.grid",
    "neuropcm.sweep_summary": "neuropcm.sweep.summary",
    "neuropcm.sweep_worker": "neuropcm.sweep.worker",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path of :data:`MOVED` and loads it as the module at its new path."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; the old path goes in NeuroPCM 0.3",
                      DeprecationWarning, stacklevel=3)
        return importlib.import_module(new)

    def exec_module(self, module):
        pass  # the module at its new path is already executed


def install() -> None:
    """Put the alias finder on :data:`sys.meta_path` (once)."""
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())
