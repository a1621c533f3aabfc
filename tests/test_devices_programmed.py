"""Programmed-state (Joshi 2020) model against the literal formulas of physics.md section 2."""

import math

import numpy as np
import pytest
from scipy import stats

from neuropcm import PCMArray

N = 20_000
Z = 5.0
GMAX = 25.0  # uS


def sigma_prog(gt):  # uS, physics.md
    gn = gt / GMAX
    return max(-1.1731 * gn ** 2 + 1.9650 * gn + 0.2635, 0.0)


def nu_params(gt):
    gn = gt / GMAX
    return (float(np.clip(-0.0155 * math.log(gn) + 0.0244, 0.049, 0.1)),
            float(np.clip(-0.0125 * math.log(gn) - 0.0059, 0.008, 0.045)))


def censored_moments(mu, s, c):
    """Mean and std of min(X, c), X ~ N(mu, s^2) (typed from the normal integrals)."""
    b = (c - mu) / s
    cdf, pdf = stats.norm.cdf(b), stats.norm.pdf(b)
    m1 = mu * cdf - s * pdf + c * (1 - cdf)
    m2 = (mu ** 2 + s ** 2) * cdf - s * (mu + c) * pdf + c ** 2 * (1 - cdf)
    return m1, math.sqrt(m2 - m1 ** 2)


@pytest.mark.parametrize("gt", [2.0, 8.0, 15.0, 24.0, 25.0])
def test_programming_noise_std_saturating_at_gmax(gt):
    """G = min(gt + sigma_prog xi, g_max): devices saturate at g_max = 25 uS."""
    a = PCMArray(N, "joshi2020", seed=int(gt * 10))
    a.program(gt * 1e-6)
    g = a.conductance * 1e6
    s = sigma_prog(gt)
    mean, std = censored_moments(gt, s, GMAX)
    assert g.max() <= GMAX
    assert abs(g.std() - std) < Z * s / math.sqrt(2 * N)
    assert abs(g.mean() - mean) < Z * s / math.sqrt(N)
    pinned = 1 - stats.norm.cdf((GMAX - gt) / s)
    assert abs(np.mean(g == GMAX) - pinned) < Z * math.sqrt(max(pinned * (1 - pinned), 1 / N) / N)


@pytest.mark.parametrize("gt", [0.1, 1.0, 5.0, 20.0])
def test_drift_exponent_distribution(gt):
    a = PCMArray(N, "joshi2020", seed=int(gt * 100))
    a.program(gt * 1e-6)
    mu, sd = nu_params(gt)
    fold = stats.foldnorm(mu / sd, scale=sd)
    nu = a.drift_exponent
    assert abs(nu.mean() - fold.mean()) < Z * fold.std() / math.sqrt(N)
    assert abs(nu.std() - fold.std()) < Z * fold.std() / math.sqrt(N)  # loose: 4th moment


@pytest.mark.parametrize("t", [1.0, 1e3, 1e6])
def test_drift_factor(t):
    a = PCMArray(5000, "joshi2020", seed=3)
    a.program(np.linspace(1e-6, 24e-6, 5000))
    mean, _ = a.read_moments(t=t)
    np.testing.assert_allclose(mean, a.conductance * ((t + 20.0) / 20.0) ** -a.drift_exponent,
                               rtol=1e-12)
    reads = a.read(t=t)
    resid = reads - mean
    assert abs(resid.mean()) < Z * resid.std() / math.sqrt(resid.size)


@pytest.mark.parametrize("gt", [3.0, 8.0, 20.0])
def test_read_noise_std_vs_qs(gt):
    t = 3600.0
    a = PCMArray(1000, "joshi2020", seed=int(gt))
    a.program(gt * 1e-6)
    mean, std = a.read_moments(t=t)
    gn = a.conductance / 25e-6
    qs = np.minimum(0.0088 / gn ** 0.65, 0.2)
    formula = mean * qs * math.sqrt(math.log((t + 20.0 + 250e-9) / (2 * 250e-9)))
    np.testing.assert_allclose(std, formula, rtol=1e-12)
    reads = np.array([a.read(t=t) for _ in range(100)])
    z = (reads - mean) / std
    assert abs(z.std() - 1) < Z / math.sqrt(2 * z.size)


def test_temperature_arrhenius_factor():
    a = PCMArray(100, "joshi2020", seed=1)
    a.program(np.linspace(1e-6, 24e-6, 100))
    m300, _ = a.read_moments()
    a.temperature = 350.0
    m350, _ = a.read_moments()
    gn = np.clip(a.conductance / 25e-6, 0, 1)
    ea = (0.3 + (0.12 - 0.3) * gn) * 1.602176634e-19
    expected = np.exp(-ea / 1.380649e-23 * (1 / 350.0 - 1 / 300.0))
    np.testing.assert_allclose(m350 / m300, expected, rtol=1e-10)
    assert np.all(m350 > m300)  # thermally activated conduction


def test_binary_levels_and_spread():
    a = PCMArray(N, "binary", seed=2)
    lrs = np.arange(N) % 2 == 0
    a.program(np.where(lrs, 25e-6, 0.25e-6))
    g = a.conductance * 1e6
    n = N // 2
    # HRS: N(0.25, 5 %) far from the clips; LRS at g_max: min(N(25, 1.25^2), 25)
    assert abs(g[~lrs].std() / 0.0125 - 1) < Z / math.sqrt(2 * n)
    assert abs(g[~lrs].mean() - 0.25) < Z * 0.0125 / math.sqrt(n)
    mean, std = censored_moments(25.0, 1.25, 25.0)
    assert abs(g[lrs].mean() - mean) < Z * 1.25 / math.sqrt(n)
    assert abs(g[lrs].std() - std) < Z * 1.25 / math.sqrt(2 * n)
    assert abs(np.mean(g[lrs] == 25.0) - 0.5) < Z * 0.5 / math.sqrt(n)
