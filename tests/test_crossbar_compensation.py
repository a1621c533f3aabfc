"""Drift compensation follows the devices: an update restarts the drift of the devices it
writes only, and the correction of every untouched weight continues.

Expectations are written from W, the pulses applied and the drift law of physics.md
section 2, ``G(t) = G ((t - t_w + t0)/t0)^-nu`` (t_w: time of the device's last write),
on deterministic devices (no programming or read noise, one fixed nu, exact SET steps)."""

import numpy as np
import pytest

from neuropcm.crossbar import Crossbar

NU, T0, G_MAX, STEP = 0.06, 20.0, 25e-6, 1e-6
T1, T2 = 1e4, 1e6  # update at T1, read at T2
EXACT = {"prog_p2": 0.0, "prog_p1": 0.0, "prog_p0": 0.0, "q_a": 0.0, "set_step_std": 0.0,
         "nu_mean_min": NU, "nu_mean_max": NU, "nu_std_min": 0.0, "nu_std_max": 0.0}


def drift(age):
    return ((age + T0) / T0) ** -NU


def _updated(comp, seed=0, **kw):
    """Program W at 0, update weight (i, j) by 3 SET pulses on G+ at T1, go to T2.

    Returns the crossbar, W, the age-0 matrix after the update and the matrix read at T2."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((6, 10))
    i, j = np.argwhere(W < 0)[0]  # a negative weight: G+ = 0 before the pulses
    xb = Crossbar(W, "joshi2020", seed=seed, drift_compensation=comp, refresh=None,
                  device_overrides=EXACT, **kw)
    s = np.abs(W).max() / G_MAX
    xb.at(T1)
    counts = xb.update(np.eye(10)[j], np.eye(6)[i], lr=3 * xb.epsilon)
    assert counts.sum() == 3 and counts[i, j] == 3
    xb.at(T2)
    W_age0 = W.copy()
    W_age0[i, j] += s * 3 * STEP
    W_t = W * drift(T2)
    W_t[i, j] = s * 3 * STEP * drift(T2 - T1) + W[i, j] * drift(T2)  # G+ fresh, G- old
    return xb, W, W_age0, W_t, i


def test_global_factor_after_update_keeps_correcting_untouched_weights():
    xb, W, W_age0, W_t, _ = _updated("global")
    Xc = xb.calibration_inputs()
    f = np.abs(W_age0 @ Xc).sum() / np.abs(W_t @ Xc).sum()
    assert xb.compensation_factor == pytest.approx(f, rel=1e-9)
    # untouched weights read W d(T2): the factor still undoes that drift (re-calibrating at
    # the update would leave f d(T2) = d(T2)/d(T1) = 0.76)
    assert abs(f * drift(T2) - 1) < 1e-2
    x = np.random.default_rng(1).standard_normal(10)
    np.testing.assert_allclose(xb @ x, f * (W_t @ x), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(xb @ x, W_age0 @ x, rtol=0, atol=2e-2 * np.abs(W_age0 @ x).max())


def test_column_factors_after_update():
    xb, W, W_age0, W_t, i = _updated("column")
    Xc, Xt = xb.calibration_inputs(), xb.calibration_inputs(transpose=True)
    f = np.abs(W_age0 @ Xc).sum(axis=1) / np.abs(W_t @ Xc).sum(axis=1)
    np.testing.assert_allclose(xb.compensation_factor, f, rtol=1e-9)
    untouched = np.arange(6) != i
    np.testing.assert_allclose(f[untouched] * drift(T2), 1.0, rtol=1e-12)
    x = np.random.default_rng(2).standard_normal(10)
    np.testing.assert_allclose(xb @ x, f * (W_t @ x), rtol=1e-9)
    np.testing.assert_allclose((xb @ x)[untouched], (W @ x)[untouched], rtol=1e-9)
    # transposed reads: one factor per input line, from the transposed calibration
    ft = np.abs(W_age0.T @ Xt).sum(axis=1) / np.abs(W_t.T @ Xt).sum(axis=1)
    u = np.random.default_rng(3).standard_normal(6)
    np.testing.assert_allclose(xb.H @ u, ft * (W_t.T @ u), rtol=1e-9)


def test_lrs_factor_continues_through_updates():
    """The LRS reference column is never written after programming: K keeps following
    its drift from t = 0 (K = 1/d(T2)), whatever the updates do."""
    xb, W, W_age0, W_t, _ = _updated("lrs", lrs_devices=50)
    assert xb.lrs_factor() == pytest.approx(1 / drift(T2), rel=1e-12)
    x = np.random.default_rng(4).standard_normal(10)
    np.testing.assert_allclose(xb @ x, (W_t @ x) / drift(T2), rtol=1e-9)


def test_refresh_writes_are_followed_too():
    """A refresh RESETs both devices of a pair and rewrites the difference it reads on one
    side (open loop, the nearest whole number of SET steps): the reference follows those
    writes like an update's. Lines without a refreshed pair keep their factors; the
    refreshed line's factor is that of its new age-0 weights."""
    xb, W, W_age0, W_t, i = _updated("column")
    f_before = np.array(xb.compensation_factor)
    r = (i + 1) % 6
    mask = np.zeros((1, 6, 10), bool)
    mask[0, r, 0] = True
    xb.refresh_rule = lambda gp, gm, g_max: mask
    assert xb.refresh() == 1
    s = np.abs(W).max() / G_MAX
    W_age0[r, 0] = np.sign(W_t[r, 0]) * s * STEP * np.rint(abs(W_t[r, 0]) / (s * STEP))
    W_t[r, 0] = W_age0[r, 0]  # written now, at T2: age 0
    Xc = xb.calibration_inputs()
    f = np.abs(W_age0 @ Xc).sum(axis=1) / np.abs(W_t @ Xc).sum(axis=1)
    f_after = np.array(xb.compensation_factor)
    np.testing.assert_allclose(f_after, f, rtol=1e-9)
    others = np.arange(6) != r
    np.testing.assert_array_equal(f_after[others], f_before[others])
    assert f_after[r] != f_before[r]


def test_untouched_line_factors_are_those_of_a_twin_without_the_update():
    """With read noise: the column factors of lines without a written device are exactly
    those of the same crossbar left alone (same devices, same random streams)."""
    rng = np.random.default_rng(5)
    W = rng.standard_normal((8, 12))
    kw = dict(seed=6, drift_compensation="column", refresh=None, calibration_size=64)
    xa, xb = Crossbar(W, "joshi2020", **kw), Crossbar(W, "joshi2020", **kw)
    xa.at(T1)
    xb.at(T1)
    d = np.zeros(8)
    d[2] = 1.0
    xb.update(rng.standard_normal(12), d, lr=2 * xb.epsilon)  # writes line 2 only
    xa.at(T2)
    xb.at(T2)
    fa, fb = np.asarray(xa.compensation_factor), np.asarray(xb.compensation_factor)
    keep = np.arange(8) != 2
    np.testing.assert_array_equal(fb[keep], fa[keep])
    assert fb[2] != fa[2]
    assert np.all(fa > 1.2)  # a real drift correction
