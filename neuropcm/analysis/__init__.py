"""Read back any NeuroPCM result file: summaries, plots, comparisons.

For notebooks: ``neuropcm.analysis.open(path)`` (= :func:`neuropcm.io.open`) gives a file's
config, its headline results with units, its datasets and its device states as
:class:`~neuropcm.devices.PCMArray`; :func:`describe`, :func:`figures_for` / :func:`plot`
and :func:`compare` are what ``neuropcm inspect``, ``plot`` and ``compare`` print and draw.
Nothing here writes into a file it reads.

Examples
--------
>>> import neuropcm.analysis as na
>>> r = na.open("mnist.h5")                                      # doctest: +SKIP
>>> r.results["test_accuracy"], r.units["test_accuracy"]         # doctest: +SKIP
(0.9123, '1')
>>> r.devices()["plus"].conductance.mean()                       # doctest: +SKIP
>>> na.plot("mnist.h5", "class-accuracy", "accuracy.png")        # doctest: +SKIP
>>> print(na.compare(["runs/"]).text())                          # doctest: +SKIP
"""

from ..io import open_result
from .compare import Comparison, compare
from .figures import FIGURES, Figure, figures_for, plot, register_figure
from .inspect import describe
from .metrics import accuracy_report, assign_labels, confusion_matrix, predict
from .plots import plot_device_characterisation, plot_phase_change_neuron, plot_receptive_fields

#: ``neuropcm.analysis.open(path)``: any NeuroPCM file as a :class:`~neuropcm.io.Result`
#: (:func:`neuropcm.io.open_result`). Not in ``__all__``, so ``import *`` leaves the built-in
#: ``open`` alone.
open = open_result  # noqa: A001

__all__ = ["plot_device_characterisation", "plot_phase_change_neuron", "plot_receptive_fields",
           "assign_labels", "predict", "confusion_matrix", "accuracy_report", "describe",
           "figures_for", "plot", "FIGURES", "Figure", "register_figure", "compare",
           "Comparison", "open_result"]
