"""The exact accumulation reference with a device-to-device SET factor (set_dtod > 0): a
mixture over each device's own factor, against the Monte-Carlo devices."""

from __future__ import annotations

import numpy as np
import pytest

from neuropcm.devices import PCMArray, get_preset
from neuropcm.devices.theory import accumulation_moments


@pytest.mark.parametrize("dtod", [0.3])
def test_mixture_reference_matches_the_devices(dtod):
    n, pulses = 20_000, 5
    p = get_preset("nandakumar2018", set_dtod=dtod)
    mean, std = accumulation_moments(p, pulses)
    arr = PCMArray(n, p, seed=11)
    for k in range(1, pulses + 1):
        arr.set_pulse()
        g = arr.conductance
        se_mean = std[k] / np.sqrt(n)
        se_std = std[k] / np.sqrt(2 * (n - 1))
        assert abs(g.mean() - mean[k]) < 4 * se_mean, (k, g.mean(), mean[k])
        assert abs(g.std(ddof=1) - std[k]) < 5 * se_std, (k, g.std(ddof=1), std[k])
    # the device factor widens the spread: the reference without it is narrower
    _, std0 = accumulation_moments(get_preset("nandakumar2018"), pulses)
    assert std[pulses] > std0[pulses]


def test_eight_nodes_are_converged():
    """The default quadrature (8 nodes) equals a 24-node one to 1e-4 relative (far below
    any Monte-Carlo tolerance)."""
    p = get_preset("nandakumar2018", set_dtod=0.3)
    m8, s8 = accumulation_moments(p, 3, n_grid=801)
    m24, s24 = accumulation_moments(p, 3, n_grid=801, nodes=24)
    np.testing.assert_allclose(m8, m24, rtol=1e-4)
    np.testing.assert_allclose(s8, s24, rtol=1e-4)
