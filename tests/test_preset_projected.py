"""The projected-PCM preset (Koelmans et al. 2015; issue 20, point 10): the joshi2020 device
with drift exponent and 1/f read noise divided by PROJECTED_REDUCTION (an assumed 10)."""

import math

import numpy as np
import pytest

from neuropcm.devices import get_preset
from neuropcm.devices.array import PCMArray
from neuropcm.devices.builtin_presets import PROJECTED_REDUCTION


def test_projected_preset_divides_drift_and_read_noise_by_ten():
    """At gn = 0.5: joshi2020 has mean nu = clip(-0.0155 ln 0.5 + 0.0244, 0.049, 0.1) =
    0.049 and std nu = clip(-0.0125 ln 0.5 - 0.0059, 0.008, 0.045) = 0.008; projected
    has a tenth of each. 20,000 devices: mean within 4 sd/sqrt(n), std within
    4 sd/sqrt(2 n). Read std at time t after programming: G(t) Q_s sqrt(ln((t + t0 +
    t_read)/(2 t_read))) with Q_s = 0.0088/10 / gn^0.65 at the programmed gn, from the
    read moments."""
    assert PROJECTED_REDUCTION == 10.0
    n, f = 20_000, 10.0
    p = get_preset("projected")
    a = PCMArray((n,), p, seed=3)
    a.program(np.full(n, 0.5 * p.g_max))
    nu = a.drift_exponent
    mu = min(max(-0.0155 * math.log(0.5) + 0.0244, 0.049), 0.1) / f
    sd = min(max(-0.0125 * math.log(0.5) - 0.0059, 0.008), 0.045) / f
    assert abs(nu.mean() - mu) < 4 * sd / math.sqrt(n)
    assert abs(nu.std() - sd) < 4 * sd / math.sqrt(2 * n)
    t = 1e4
    mean, std = a.read_moments(a.time + t)
    G0 = a.conductance
    T = (t + 20.0) / 20.0
    np.testing.assert_allclose(mean, G0 * T ** -nu, rtol=1e-9)
    q = 0.0088 / f / (G0 / p.g_max) ** 0.65  # Q_s at the device's programmed gn
    expect = mean * q * math.sqrt(math.log((t + 20.0 + 250e-9) / (2 * 250e-9)))
    np.testing.assert_allclose(std, expect, rtol=1e-9)
    # against joshi2020: the same programming, a tenth of the drift and read noise
    j = get_preset("joshi2020")
    for name in ("nu_a", "nu_b", "nu_c", "nu_d", "nu_mean_min", "nu_mean_max", "nu_std_min",
                 "nu_std_max", "q_a"):
        assert getattr(p, name) == pytest.approx(getattr(j, name) / f, rel=1e-12)
    for name in ("g_max", "prog_p0", "prog_p1", "prog_p2", "t0", "reset_mean", "e_read"):
        assert getattr(p, name) == getattr(j, name)
