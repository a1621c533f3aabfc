"""The one way NeuroPCM makes and saves a figure (workloads' figures and the analysis plots).

Figures are :class:`matplotlib.figure.Figure` objects made without :mod:`matplotlib.pyplot`:
no global figure manager, no backend switch (a user's notebook backend is left alone) and
nothing to close; :meth:`~matplotlib.figure.Figure.savefig` renders PNGs with Agg.

Examples
--------
>>> from neuropcm.plotting import new_figure, save_figure
>>> fig, ax = new_figure(1, 2, (8, 3))
>>> _ = ax[0].plot([0, 1], [0, 1])
>>> save_figure(fig, "out/demo.png")                                # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["new_figure", "colours", "save_figure"]


def new_figure(nrows: int | None = 1, ncols: int = 1, size=(7.0, 4.5)):
    """A new figure of ``size`` inches with an ``nrows`` x ``ncols`` grid of axes.

    Returns ``(fig, axes)`` as :func:`matplotlib.pyplot.subplots` does (one axes object for
    a 1 x 1 grid, else an array); ``nrows=None`` gives a figure without axes,
    ``(fig, None)``.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    return fig, (None if nrows is None else fig.subplots(nrows, ncols))


def colours(n: int, lo: float = 0.0, hi: float = 0.85, cmap: str = "viridis") -> np.ndarray:
    """``n`` RGBA colours spread over ``[lo, hi]`` of the colormap ``cmap``."""
    import matplotlib

    return matplotlib.colormaps[cmap](np.linspace(lo, hi, n))


def save_figure(fig, png, dpi: int = 120) -> Path:
    """Lay out ``fig``, write it to ``png`` (folders made as needed) and return the path:
    the last step of every figure."""
    from ._version import __version__

    fig.tight_layout()
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=dpi, metadata={"Software": f"NeuroPCM {__version__}"})
    return png
