"""ADC range policies after updates, the saturation counter and its warning.

A crossbar trained from zero weights: the automatic ADC range set at programming is that
of a zero matrix, so after training the outputs clip. ``fixed`` keeps that range but counts
and warns; ``calibrate`` re-ranges after every write. Expectations from W (exact ideal
devices: a pulse adds exactly epsilon) and the ADC definition
``y_q = clip(rint(y/lsb), -2^(b-1), 2^(b-1) - 1) lsb``, ``lsb = 2 range / 2^b``."""

import warnings

import numpy as np
import pytest

from neuropcm.crossbar import Crossbar
from neuropcm.errors import ModelError, ParameterError

BITS = 8
LO, HI = -2 ** (BITS - 1), 2 ** (BITS - 1) - 1


def _trained(policy):
    """Zero matrix programmed, then pulses that make W1 = epsilon * counts."""
    m, n = 5, 8
    counts = np.random.default_rng(0).integers(-90, 91, (m, n))
    xb = Crossbar(np.zeros((m, n)), "ideal", seed=0, w_max=1.0, refresh=None, adc_bits=BITS,
                  adc_policy=policy)
    applied = xb.update(counts.T.astype(float), np.eye(m), lr=xb.epsilon)
    assert np.array_equal(applied, counts)
    return xb, xb.epsilon * counts


def _adc(y, full_range):
    lsb = 2 * full_range / 2 ** BITS
    c = np.rint(y / lsb)
    return np.clip(c, LO, HI) * lsb, int(np.sum((c < LO) | (c > HI)))


def test_fixed_range_counts_and_warns_once_when_outputs_clip():
    xb, W1 = _trained("fixed")
    X = np.random.default_rng(1).uniform(-1, 1, (8, 20))
    X[:, 0] = np.sign(W1[0])  # drives line 0 to sum_j |W1_0j| >> the zero-matrix range
    # the range was set for the zero matrix: worst case 0, hence full scale 1 (line units)
    xs = X / np.abs(X).max(axis=0)  # abs-max input scaling, outputs scaled back
    want, clipped = _adc(W1 @ xs, 1.0)
    assert clipped > 0
    with pytest.warns(RuntimeWarning, match=r"ADC saturated: \d+ of 100 conversions"):
        Y = xb @ X
    np.testing.assert_allclose(Y, want * np.abs(X).max(axis=0), rtol=1e-12, atol=1e-12)
    t = xb.totals()
    assert t["adc_conversions"] == 100 and t["adc_saturated"] == clipped
    with warnings.catch_warnings():  # once per crossbar: the second read only counts
        warnings.simplefilter("error")
        xb @ X
    assert xb.totals()["adc_saturated"] == 2 * clipped
    # re-ranged on demand: the worst case of the trained matrix, nothing clips
    (fwd, ref, tr), = xb.calibrate_adc()
    top = HI / 2 ** (BITS - 1)  # the worst case is the top code (h - 1) lsb = R (h - 1)/h
    assert fwd * top == pytest.approx(np.abs(W1).sum(axis=1).max(), rel=1e-12)
    assert tr * top == pytest.approx(np.abs(W1).sum(axis=0).max(), rel=1e-12) and ref is None
    want, clipped = _adc(W1 @ xs, fwd)
    assert clipped == 0
    np.testing.assert_allclose(xb @ X, want * np.abs(X).max(axis=0), rtol=1e-12, atol=1e-12)
    assert xb.totals()["adc_saturated"] == 2 * _adc(W1 @ xs, 1.0)[1]


def test_calibrate_policy_re_ranges_after_writes():
    xb, W1 = _trained("calibrate")
    X = np.random.default_rng(2).uniform(-1, 1, (8, 30))
    X[:, 0] = np.sign(W1[1])  # the worst case of line 1 reads as the top code, unclipped
    xs = X / np.abs(X).max(axis=0)
    top = 2 ** (BITS - 1) / HI  # full scale = worst case * h/(h - 1)
    fwd = np.abs(W1).sum(axis=1).max() * top
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Y = xb @ X
        U = np.random.default_rng(3).uniform(-1, 1, (5, 4))
        Yt = xb.H @ U
    np.testing.assert_allclose(Y, _adc(W1 @ xs, fwd)[0] * np.abs(X).max(axis=0), rtol=1e-12,
                               atol=1e-12)
    us = U / np.abs(U).max(axis=0)
    np.testing.assert_allclose(Yt, _adc(W1.T @ us, np.abs(W1).sum(axis=0).max() * top)[0]
                               * np.abs(U).max(axis=0), rtol=1e-12, atol=1e-12)
    assert np.abs(Y - W1 @ X).max() <= fwd / 2 ** BITS * np.abs(X).max() + 1e-12
    assert xb.totals()["adc_saturated"] == 0
    # another write: the range follows again
    xb.update(np.ones(8), np.ones(5), lr=5 * xb.epsilon)
    W2 = W1 + 5 * xb.epsilon
    Y2 = xb @ X
    np.testing.assert_allclose(Y2, _adc(W2 @ xs, np.abs(W2).sum(axis=1).max() * top)[0]
                               * np.abs(X).max(axis=0), rtol=1e-12, atol=1e-12)


def test_dac_clipping_is_counted():
    W = np.random.default_rng(4).standard_normal((3, 6))
    xb = Crossbar(W, "ideal", seed=0, dac_range=1.0)
    x = np.array([0.5, -2.0, 1.0, 3.0, -0.2, 1.5])
    with pytest.warns(RuntimeWarning, match="DAC saturated: 3 of 6"):
        y = xb @ x
    np.testing.assert_allclose(y, W @ np.clip(x, -1, 1), atol=1e-12)
    assert xb.totals()["dac_saturated"] == 3 and xb.totals()["dac_conversions"] == 6


def test_adc_policy_errors():
    W = np.ones((2, 3))
    with pytest.raises(ParameterError, match="adc_policy"):
        Crossbar(W, "ideal", adc_bits=4, adc_policy="sometimes")
    with pytest.raises(ParameterError, match="adc_range"):
        Crossbar(W, "ideal", adc_bits=4, adc_range=2.0, adc_policy="calibrate")
    with pytest.raises(ModelError, match="no ADC"):
        Crossbar(W, "ideal").calibrate_adc()
    with pytest.raises(ParameterError, match="fixed by adc_range"):
        Crossbar(W, "ideal", adc_bits=4, adc_range=2.0).calibrate_adc()
