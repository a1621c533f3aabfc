"""neuropcm.plotting.errorbar_over_seeds: the mean over the runs at each x, with bars from
the lowest to the highest run (what reproductions draw over seeds)."""

import numpy as np

from neuropcm.plotting import errorbar_over_seeds, new_figure


def test_points_are_group_means_and_bars_span_each_groups_range():
    x = [4, 1, 1, 4, 2]
    y = [0.80, 0.70, 0.72, 0.86, 0.75]
    fig, ax = new_figure(1, 1)
    cont = errorbar_over_seeds(ax, x, y, "o-", 100, label="runs")
    line, _, (bars,) = cont.lines
    np.testing.assert_allclose(line.get_xdata(), [1, 2, 4])
    np.testing.assert_allclose(line.get_ydata(), [71.0, 75.0, 83.0])
    segs = np.array([s[:, 1] for s in bars.get_segments()])  # (low, high) of each bar
    np.testing.assert_allclose(segs, [[70.0, 72.0], [75.0, 75.0], [80.0, 86.0]])
    assert ax.get_legend_handles_labels()[1] == ["runs"]
