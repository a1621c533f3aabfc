"""Crossbar outer-product updates, refresh and the mixed-precision accumulator."""

import math

import numpy as np
import pytest

from neuropcm.crossbar import (Crossbar, ThresholdRefresh, mean_set_curve, mean_step,
                               open_loop_pulses)
from neuropcm.devices import get_preset
from neuropcm.errors import ModelError, ParameterError, ShapeError

Z = 5.0


def test_deterministic_update_is_exact_on_ideal_devices():
    m, n = 5, 7
    xb = Crossbar(np.zeros((m, n)), "ideal", seed=0, w_max=1.0, refresh=None,
                  devices_per_weight=2)
    eps = xb.epsilon
    assert eps == pytest.approx(1.0 / 25e-6 * 0.25e-6 / 2)  # s * set_step / K
    rng = np.random.default_rng(1)
    d = rng.integers(-3, 4, m).astype(float)
    x = rng.integers(-3, 4, n).astype(float)
    counts = xb.update(x, d, lr=eps)
    np.testing.assert_array_equal(counts, np.outer(d, x).astype(int))
    np.testing.assert_allclose(xb.effective_weights()[0], eps * np.outer(d, x), atol=1e-12)
    # batched: the sum of the outer products
    X, D = rng.integers(-2, 3, (n, 4)).astype(float), rng.integers(-2, 3, (m, 4)).astype(float)
    c2 = xb.update(X, D, lr=-eps)
    np.testing.assert_allclose(xb.effective_weights()[0], eps * (np.outer(d, x) - D @ X.T),
                               atol=1e-12)
    # pulses went to G+ for positive changes and to G- for negative ones, round-robin over K
    a = xb.device_arrays()
    for name, sign in (("G_plus", 1), ("G_minus", -1)):
        pulses = a[name].n_set - 1  # programming counts one SET per device
        want = np.clip(sign * counts, 0, None) + np.clip(sign * c2, 0, None)
        np.testing.assert_array_equal(pulses.sum(axis=0), want)
        assert np.abs(pulses[0] - pulses[1]).max() <= 1


def test_stochastic_update_expectation():
    m, n, R = 4, 6, 400
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, n)
    d = rng.uniform(-1, 1, m)
    xb = Crossbar(np.zeros((m, n)), "ideal", seed=3, w_max=1.0, refresh=None,
                  update_mode="stochastic", pulse_length=31)
    eps = xb.epsilon
    lr = 0.2 * eps  # at most 80 pulses per device: no saturation at g_max
    total = np.zeros((m, n))
    for _ in range(R):
        total += xb.update(x, d, lr)
    expect = lr * np.outer(d, x) / eps  # expected pulses per update
    # counts are binomial: variance <= mean
    assert np.all(np.abs(total / R - expect) < Z * np.sqrt(np.abs(expect) / R) + 1e-9)
    np.testing.assert_allclose(xb.effective_weights()[0], total * eps, atol=1e-9)
    corr = np.corrcoef(total.ravel(), np.outer(d, x).ravel())[0, 1]
    assert corr > 0.95


def test_update_moves_pulsed_devices_along_d_x():
    """Nandakumar 2018 devices: state-dependent, noisy steps, yet the expected change
    follows lr d x^T."""
    m, n = 40, 50
    rng = np.random.default_rng(4)
    xb = Crossbar(np.zeros((m, n)), "nandakumar2018", seed=5, w_max=1.0, refresh=None)
    M0 = xb.effective_weights()[0]
    x = rng.uniform(-1, 1, n)
    d = rng.uniform(-1, 1, m)
    want = 4 * xb.epsilon * np.outer(d, x)
    xb.update(x, d, lr=4 * xb.epsilon)
    dM = xb.effective_weights()[0] - M0
    big = np.abs(want) > 1.5 * xb.epsilon
    assert np.mean(np.sign(dM[big]) == np.sign(want[big])) > 0.95
    assert np.corrcoef(dM.ravel(), want.ravel())[0, 1] > 0.8
    # the mean change for k pulses is the device model's mean SET curve from RESET
    counts = np.rint(want / xb.epsilon).astype(int)
    curve = mean_set_curve(xb.params)
    for k in (1, 2, 3):
        sel = np.abs(counts) == k
        got = np.abs(dM[sel])
        expect = xb.mapping.scale * (curve[k] - curve[0])
        assert abs(got.mean() - expect) < Z * got.std() / math.sqrt(sel.sum())


def test_mixed_precision_never_loses_update_mass():
    m, n = 6, 8
    rng = np.random.default_rng(6)
    xb = Crossbar(np.zeros((m, n)), "ideal", seed=7, w_max=1.0, refresh=None,
                  update_mode="mixed")
    eps = xb.epsilon
    requested = np.zeros((m, n))
    for k in range(60):
        x = rng.standard_normal((n, 2))
        d = rng.standard_normal((m, 2))
        lr = eps * rng.uniform(0.05, 0.8) * (-1) ** k
        xb.update(x, d, lr)
        requested += lr * d @ x.T
        np.testing.assert_allclose(xb.transferred + xb.chi, requested, rtol=0,
                                   atol=1e-12 * max(1.0, np.abs(requested).max()))
        assert np.all(np.abs(xb.chi) < eps)
    assert np.abs(xb.transferred).max() > 3 * eps  # whole pulses were transferred
    # on ideal devices the stored weights are exactly the transferred pulses
    np.testing.assert_allclose(xb.effective_weights()[0], xb.transferred, atol=1e-12)


def _pairs_to_refresh(seed):
    """A pulsed crossbar whose pairs were pushed up on both sides by two updates."""
    rng = np.random.default_rng(seed)
    m, n = 40, 50
    xb = Crossbar(np.zeros((m, n)), "nandakumar2018", seed=seed, w_max=1.0, refresh=None)
    up = rng.integers(6, 40, (m, n))
    down = rng.integers(6, 40, (m, n))
    _pulses(xb, up)
    _pulses(xb, -down)
    return xb


def _pulses(xb, counts):
    """Apply exactly ``counts`` (m, n) signed pulses with one public batched update:
    with d = identity, lr d x^T / epsilon = counts."""
    m = counts.shape[0]
    applied = xb.update(counts.T.astype(float), np.eye(m), lr=xb.epsilon, mode="deterministic")
    assert np.array_equal(applied, counts)


def test_threshold_refresh_preserves_net_weight_and_counts_resets():
    xb = _pairs_to_refresh(8)
    xb.refresh_rule = ThresholdRefresh()
    a = xb.device_arrays()
    gp, gm = a["G_plus"].conductance.copy(), a["G_minus"].conductance.copy()
    r0 = a["G_plus"].n_reset.copy()
    resets_before = xb.totals()["n_reset"]
    g_ref = xb.refresh_rule.reference(xb.params)   # thresholds are fractions of saturation
    expected_sel = (np.maximum(gp, gm) > 0.75 * g_ref) & (np.minimum(gp, gm) > 0.25 * g_ref)
    n_ref = xb.refresh()
    assert n_ref > 200 and xb.n_refresh == n_ref
    # selection uses noisy reads: almost all clearly-qualified pairs are picked
    assert abs(n_ref - expected_sel.sum()) < 0.1 * expected_sel.sum()
    assert xb.totals()["n_reset"] - resets_before == 2 * n_ref
    gp2, gm2 = a["G_plus"].conductance, a["G_minus"].conductance
    sel = (a["G_plus"].n_reset - r0)[0] == 1
    assert sel.sum() == n_ref
    err = ((gp2 - gm2) - (gp - gm))[0][sel]
    assert abs(err.mean()) < Z * err.std() / math.sqrt(err.size)
    # both sides are low again: the refreshed pairs no longer qualify
    assert np.mean(np.minimum(gp2, gm2)[0][sel] < 0.25 * g_ref) > 0.95


def test_refresh_on_ideal_devices_is_exact_and_pluggable():
    m, n = 3, 4
    xb = Crossbar(np.zeros((m, n)), "ideal", seed=0, w_max=1.0, refresh=None)
    _pulses(xb, np.full((m, n), 80))
    _pulses(xb, -np.arange(m * n).reshape(m, n) - 30)
    before = xb.effective_weights()[0].copy()
    calls = []

    def everything(gp, gm, g_max):
        calls.append(g_max)
        return np.ones_like(gp, dtype=bool)

    xb.refresh_rule = everything
    assert xb.refresh() == m * n and calls == [25e-6]
    np.testing.assert_allclose(xb.effective_weights()[0], before, atol=1e-12)
    assert np.all(xb.device_arrays()["G_minus"].conductance == 0)


def test_default_refresh_runs_inside_update():
    xb = Crossbar(np.zeros((2, 2)), "ideal", seed=0, w_max=1.0)
    eps = xb.epsilon
    xb.update(np.ones(2), np.ones(2), lr=90 * eps)
    assert xb.n_refresh == 0
    xb.update(np.ones(2), np.ones(2), lr=-40 * eps)  # G+ 90 steps (0.9 g_max), G- 40 (0.4)
    assert xb.n_refresh == 4
    np.testing.assert_allclose(xb.effective_weights()[0], 50 * eps, atol=1e-12)


def test_open_loop_pulses_follow_the_mean_curve():
    p = get_preset("ideal")
    np.testing.assert_array_equal(open_loop_pulses(p, np.array([0.0, 0.25e-6, 2.6e-6])),
                                  [0, 1, 10])
    q = get_preset("nandakumar2018")
    assert 0.6e-6 < mean_step(q) < 0.9e-6  # physics.md: 7.8 uS after 10 pulses
    assert open_loop_pulses(q, np.array([1.8e-6]))[0] == 1


def test_update_errors():
    xb = Crossbar(np.zeros((3, 4)), "ideal", seed=0, w_max=1.0)
    with pytest.raises(ShapeError, match="batch"):
        xb.update(np.ones((4, 2)), np.ones((3, 3)), 0.1)
    with pytest.raises(ShapeError):
        xb.update(np.ones(3), np.ones(3), 0.1)
    with pytest.raises(ParameterError, match="lr"):
        xb.update(np.ones(4), np.ones(3), float("nan"))
    with pytest.raises(ParameterError, match="mode"):
        xb.update(np.ones(4), np.ones(3), 0.1, mode="sgd")
    with pytest.raises(ParameterError, match="nan"):
        xb.update(np.array([1, np.nan, 0, 0]), np.ones(3), 0.1)
    with pytest.raises(ModelError, match="differential"):
        Crossbar(np.ones((2, 2)), "ideal", "offset").update(np.ones(2), np.ones(2), 0.1)
    with pytest.raises(ParameterError, match="refresh"):
        Crossbar(np.ones((2, 2)), "ideal", refresh="sometimes")
