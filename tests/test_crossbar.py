"""Crossbar reads: ideal exactness per mapping, noisy-read moments, drift and its
compensation, DAC/ADC, scipy solvers, counters and errors."""

import math

import numpy as np
import pytest
from scipy import stats
from scipy.sparse.linalg import cg

from neuropcm.crossbar import Crossbar, quantise_offset
from neuropcm.errors import ModelError, ParameterError, ShapeError, UnknownPresetError

Z = 5.0
MAPPINGS = ["differential", "offset", "bit-sliced"]


def rect_moments(mu, sd):
    """Mean and variance of max(N(mu, sd^2), 0), written from the textbook formula."""
    mu, sd = np.asarray(mu, float), np.asarray(sd, float)
    safe = np.where(sd > 0, sd, 1.0)
    a = mu / safe
    m1 = np.where(sd > 0, mu * stats.norm.cdf(a) + sd * stats.norm.pdf(a), np.maximum(mu, 0))
    m2 = np.where(sd > 0, (mu ** 2 + sd ** 2) * stats.norm.cdf(a) + mu * sd * stats.norm.pdf(a),
                  np.maximum(mu, 0) ** 2)
    return m1, m2 - m1 ** 2


@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize("K", [1, 3])
def test_ideal_equals_matmul(mapping, K):
    rng = np.random.default_rng(K)
    W = rng.standard_normal((7, 11))
    xb = Crossbar(W, "ideal", mapping, seed=0, devices_per_weight=K)
    x = rng.standard_normal(11)
    X = rng.standard_normal((11, 5))
    u = rng.standard_normal(7)
    np.testing.assert_allclose(xb @ x, W @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xb @ X, W @ X, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xb.rmatvec(u), W.T @ u, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xb.H @ u.reshape(7, 1), (W.T @ u).reshape(7 + 4, 1) if False
                               else (W.T @ u).reshape(11, 1), rtol=1e-12, atol=1e-12)
    assert (xb @ x).shape == (7,) and (xb @ X).shape == (7, 5)


@pytest.mark.parametrize("bits", [1, 3, 4, 6])
def test_bit_sliced_equals_quantised_matmul(bits):
    rng = np.random.default_rng(bits)
    W = rng.standard_normal((9, 13))
    # n-bit positive-only quantisation of seed 2, written out here independently
    c = -W.min()
    delta = (W + c).max() / (2 ** bits - 1)
    q = np.rint((W + c) / delta)
    Wq = delta * (q - np.rint(c / delta))
    assert q.min() >= 0 and q.max() <= 2 ** bits - 1
    xb = Crossbar(W, "ideal", "bit-sliced", seed=1, bits=bits)
    np.testing.assert_allclose(xb.target_weights, Wq, rtol=0, atol=1e-12)
    X = rng.integers(-4, 5, size=(13, 6)).astype(float)
    np.testing.assert_allclose(xb @ X, Wq @ X, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(xb.H @ X[:9], Wq.T @ X[:9], rtol=1e-13, atol=1e-12)
    qq, qc, d = quantise_offset(W, bits)
    assert np.array_equal(qq, q.astype(int)) and qc == round(c / delta) and d == delta


def _device_moments(xb, name, t):
    mu, sd = xb.device_arrays()[name].read_moments(t=t)
    return rect_moments(mu, sd)


@pytest.mark.parametrize("device,clip", [("joshi2020", True), ("joshi2020", False),
                                         ("nandakumar2018", True)])
def test_differential_read_mean_and_variance(device, clip):
    rng = np.random.default_rng(5)
    m, n, K, R = 6, 10, 2, 20_000
    W = rng.standard_normal((m, n))
    xb = Crossbar(W, device, seed=3, devices_per_weight=K, read_clip=clip)
    xb.advance(1000.0)
    x = rng.standard_normal(n)
    Y = xb @ np.repeat(x[:, None], R, axis=1)
    s = xb.mapping.scale
    if clip:
        mp, vp = _device_moments(xb, "G_plus", 1000.0)
        mm, vm = _device_moments(xb, "G_minus", 1000.0)
    else:
        (mp, sp), (mm, sm) = (xb.device_arrays()[k].read_moments(t=1000.0)
                              for k in ("G_plus", "G_minus"))
        vp, vm = sp ** 2, sm ** 2
    mean = s / K * ((mp - mm).sum(axis=0) @ x)
    var = s ** 2 / K ** 2 * ((vp + vm).sum(axis=0) @ x ** 2)
    assert np.all(np.abs(Y.mean(axis=1) - mean) < Z * np.sqrt(var / R))
    assert np.all(np.abs(Y.var(axis=1) - var) < Z * var * math.sqrt(2 / (R - 1)))
    # outputs of different lines are independent
    c = np.corrcoef(Y)[np.triu_indices(m, 1)]
    assert np.all(np.abs(c) < Z / math.sqrt(R))


def test_offset_reference_line_is_shared():
    """The dummy line is one read per MVM: its noise is common to all outputs (forward),
    independent per output in the transposed read."""
    rng = np.random.default_rng(8)
    m, n, R = 5, 12, 20_000
    W = rng.standard_normal((m, n))
    xb = Crossbar(W, "joshi2020", "offset", seed=4, read_clip=False)
    xb.advance(100.0)
    x = np.abs(rng.standard_normal(n)) + 0.5
    Y = xb @ np.repeat(x[:, None], R, axis=1)
    mu, sd = xb.device_arrays()["main"].read_moments(t=100.0)
    rmu, rsd = xb.device_arrays()["ref"].read_moments(t=100.0)
    s = xb.mapping.scale
    mean = s * (mu[0] - rmu[0][None, :]) @ x
    cov = np.full((m, m), s ** 2 * (rsd[0] ** 2 @ x ** 2))
    cov[np.diag_indices(m)] += s ** 2 * (sd[0] ** 2 @ x ** 2)
    assert np.all(np.abs(Y.mean(axis=1) - mean) < Z * np.sqrt(np.diag(cov) / R))
    C = np.cov(Y)
    se = np.sqrt((cov ** 2 + np.outer(np.diag(cov), np.diag(cov))) / R)
    assert np.all(np.abs(C - cov) < Z * se)
    assert cov[0, 1] > 10 * se[0, 1]  # the shared part is resolved by this test
    # transposed: independent per output, variance sum_i V_ij u_i^2 + vr_j (sum_i u_i)^2
    u = np.abs(rng.standard_normal(m)) + 0.5
    Yt = xb.H @ np.repeat(u[:, None], R, axis=1)
    vt = s ** 2 * ((sd[0] ** 2).T @ u ** 2 + rsd[0] ** 2 * u.sum() ** 2)
    mt = s * (mu[0] - rmu[0][None, :]).T @ u
    assert np.all(np.abs(Yt.mean(axis=1) - mt) < Z * np.sqrt(vt / R))
    assert np.all(np.abs(Yt.var(axis=1) - vt) < Z * vt * math.sqrt(2 / (R - 1)))
    c = np.corrcoef(Yt)[np.triu_indices(n, 1)]
    assert np.all(np.abs(c) < Z / math.sqrt(R))


@pytest.mark.parametrize("m,n", [(40, 30), (520, 300)])  # fused kernel / BLAS path
def test_batch_one_and_batched_paths_agree_in_distribution(m, n):
    rng = np.random.default_rng(2)
    W = rng.standard_normal((m, n))
    xb = Crossbar(W, "joshi2020", seed=9, dtype="float32")
    x = rng.standard_normal(n)
    R = 4000
    a = np.stack([xb @ x for _ in range(R)], axis=1)
    b = xb @ np.repeat(x[:, None], R, axis=1)
    M, V = xb.effective_weights()
    sd = np.sqrt(V @ x ** 2)
    assert a.dtype == np.float32
    for Y in (a, b):
        assert np.all(np.abs(Y.mean(axis=1) - M @ x) < Z * sd / math.sqrt(R))
        assert np.all(np.abs(Y.std(axis=1) - sd) < Z * sd / math.sqrt(2 * R))


def _fixed_nu(nu):
    return {"nu_mean_min": nu, "nu_mean_max": nu, "nu_std_min": 0.0, "nu_std_max": 0.0}


def test_drift_lowers_output_as_power_law():
    rng = np.random.default_rng(11)
    W = rng.standard_normal((8, 64))
    nu, t, t0, R = 0.06, 1e5, 20.0, 4000
    xb = Crossbar(W, "joshi2020", seed=12, read_clip=False, device_overrides=_fixed_nu(nu))
    x = np.abs(rng.standard_normal(64))
    y0 = xb.effective_weights()[0] @ x
    xb.at(t)
    Y = xb @ np.repeat(x[:, None], R, axis=1)
    sd = np.sqrt(xb.effective_weights()[1] @ x ** 2)
    expect = y0 * ((t + t0) / t0) ** -nu
    assert np.all(np.abs(Y.mean(axis=1) - expect) < Z * sd / math.sqrt(R))
    assert np.mean(Y.mean(axis=1) / y0) < 0.65  # a real drop: (5001)^-0.06 = 0.60


def _abs_mean(mu, var):
    """E|N(mu, var)|."""
    sd = np.sqrt(var)
    return sd * math.sqrt(2 / math.pi) * np.exp(-mu ** 2 / (2 * var)) + mu * (
        1 - 2 * stats.norm.cdf(-mu / sd))


def test_global_compensation_restores_mean():
    rng = np.random.default_rng(13)
    m, n, t, R = 24, 48, 1e6, 2000
    W = rng.standard_normal((m, n))
    xb = Crossbar(W, "joshi2020", seed=14, drift_compensation="global", calibration_size=32)
    Xc = xb.calibration_inputs()
    M0, V0 = xb.effective_weights()
    x = rng.standard_normal(n)
    xb.at(t)
    Mt, Vt = xb.effective_weights()
    # expected factor: sum E|y(t0)| / sum E|y(t)| over the calibration inputs
    e0 = _abs_mean(M0 @ Xc, V0 @ Xc ** 2)
    et = _abs_mean(Mt @ Xc, Vt @ Xc ** 2)
    alpha_exp = e0.sum() / et.sum()
    se_alpha = alpha_exp * (np.sqrt((V0 @ Xc ** 2).sum()) / e0.sum()
                            + np.sqrt((Vt @ Xc ** 2).sum()) / et.sum())
    alpha = xb.compensation_factor
    assert abs(alpha - alpha_exp) < Z * se_alpha
    assert alpha > 1.3  # drift is being undone
    Y = xb @ np.repeat(x[:, None], R, axis=1)
    sd = np.sqrt(Vt @ x ** 2)
    assert np.all(np.abs(Y.mean(axis=1) / alpha - Mt @ x) < Z * sd / math.sqrt(R))
    # compensation error relative to t0 is what nu's spread leaves, far below no compensation
    y0 = M0 @ x
    err_comp = np.linalg.norm(Y.mean(axis=1) - y0)
    err_expected = np.linalg.norm(alpha_exp * (Mt @ x) - y0)
    err_none = np.linalg.norm(Mt @ x - y0)
    assert err_comp < err_expected + Z * alpha * np.linalg.norm(sd) / math.sqrt(R) \
        + abs(alpha - alpha_exp) * np.linalg.norm(Mt @ x)
    assert err_comp < 0.3 * err_none


def test_column_compensation_beats_global_on_rowwise_drift():
    """Per-column factors restore each output line's mean magnitude; a global factor only
    the total. Rows of equal |w| but different magnitude sit at different conductances and
    so drift with different mean nu (Joshi 2020: nu grows as G falls)."""
    rng = np.random.default_rng(15)
    m, n = 16, 64
    W = np.sign(rng.standard_normal((m, n))) * np.geomspace(0.03, 1, m)[:, None]
    x = rng.standard_normal((n, 200))
    spread = {}
    for comp in ("global", "column"):
        xb = Crossbar(W, "joshi2020", seed=16, drift_compensation=comp, calibration_size=512)
        y0 = xb.effective_weights()[0] @ x
        xb.at(1e7)
        f = np.reshape(xb.compensation_factor, (-1, 1))  # scalar or one per output line
        y = f * (xb.effective_weights()[0] @ x)  # the compensated mean output
        r = np.abs(y).sum(axis=1) / np.abs(y0).sum(axis=1)
        spread[comp] = np.log(r).std()
    assert spread["column"] < 0.6 * spread["global"]


def test_lrs_reference_factor_tracks_lrs_drift():
    rng = np.random.default_rng(17)
    W = rng.standard_normal((10, 20))
    xb = Crossbar(W, "binary", "bit-sliced", seed=18, bits=4, drift_compensation="lrs",
                  lrs_devices=4000)
    lrs = xb.device_arrays()["lrs"]
    g, nu = lrs.conductance.copy(), lrs.drift_exponent.copy()
    t, t0 = 1e5, 20.0
    x = np.abs(rng.standard_normal(20))
    M0 = xb.effective_weights()[0]
    xb.at(t)
    K_exp = g.mean() / (g * ((t + t0) / t0) ** -nu).mean()
    _, sd0 = lrs.read_moments(t=0.0)
    _, sdt = lrs.read_moments(t=t)
    se = K_exp * (sd0.mean() / g.mean() + sdt.mean() * K_exp / g.mean()) / math.sqrt(g.size)
    Kt = xb.lrs_factor()
    assert abs(Kt - K_exp) < Z * se
    assert K_exp > 1.5
    # the K-compensated bit-sliced mean output stays close to t0; uncompensated it drops
    Mt = xb.effective_weights()[0]
    y_comp, y_raw = Kt * (Mt @ x), Mt @ x
    # what K leaves is the device-to-device spread of nu (std 0.008 at LRS: ~7 % per device
    # at 1e5 s), acting on W* and on the dummy line, i.e. about half of the ~34 % drop of W
    assert np.linalg.norm(y_comp - M0 @ x) < 0.6 * np.linalg.norm(y_raw - M0 @ x)
    y = np.mean([xb @ x for _ in range(200)], axis=0)
    sd = np.sqrt(xb.effective_weights()[1] @ x ** 2 + xb.reference_variance() @ x ** 2)
    assert np.all(np.abs(y - y_comp) < Z * Kt * sd / math.sqrt(200))


def test_adc_levels_and_saturation():
    rng = np.random.default_rng(19)
    W = rng.standard_normal((12, 16)) / 4
    bits, R = 4, 1.5
    xb = Crossbar(W, "joshi2020", seed=20, adc_bits=bits, adc_range=R, dac_range=1.0)
    X = rng.uniform(-1, 1, size=(16, 300))
    Y = xb @ X
    lsb = 2 * R / 2 ** bits
    codes = Y / lsb
    np.testing.assert_allclose(codes, np.rint(codes), atol=1e-9)
    assert codes.min() >= -2 ** (bits - 1) and codes.max() <= 2 ** (bits - 1) - 1
    assert len(np.unique(np.rint(codes))) > 8
    # saturation: outputs far beyond the range sit at the end codes
    big = np.sign(W.T[:, :1]) * np.ones((16, 1))  # drives row 0 to sum|W_0j| > R
    assert np.abs(W[0]).sum() > R + 0.5
    yb = xb @ big
    assert yb[0, 0] == pytest.approx((2 ** (bits - 1) - 1) * lsb)
    yn = xb @ -big
    assert yn[0, 0] == pytest.approx(-2 ** (bits - 1) * lsb)
    # a fine ADC on the ideal device is within half a step of the exact product
    xi = Crossbar(W, "ideal", seed=0, adc_bits=12, adc_range=4.0, dac_range=1.0)
    lsb12 = 8.0 / 2 ** 12
    assert np.all(np.abs(xi @ X - W @ X) <= lsb12 / 2 + 1e-12)


@pytest.mark.parametrize("mapping", MAPPINGS)
def test_adc_on_every_mapping_is_near_exact_when_fine(mapping):
    rng = np.random.default_rng(21)
    W = rng.standard_normal((6, 9))
    xb = Crossbar(W, "ideal", mapping, seed=0, adc_bits=16, bits=5)
    X = rng.standard_normal((9, 4))
    ref = xb.target_weights @ X
    assert np.allclose(xb @ X, ref, rtol=0, atol=2e-3 * np.abs(ref).max())
    assert np.allclose(xb.H @ X[:6], xb.target_weights.T @ X[:6], rtol=0,
                       atol=2e-3 * np.abs(xb.target_weights.T @ X[:6]).max())


def test_dac_quantises_inputs():
    rng = np.random.default_rng(22)
    W = rng.standard_normal((5, 8))
    x = rng.uniform(-2, 2, 8)
    xb = Crossbar(W, "ideal", seed=0, dac_bits=3, dac_range=1.0)
    xq = np.clip(np.rint(x * 3), -3, 3) / 3  # 3 bits: levels k/3, k in -3..3, clipped at 1
    np.testing.assert_allclose(xb @ x, W @ xq, atol=1e-12)
    xa = Crossbar(W, "ideal", seed=0, dac_bits=3)  # abs-max scaling per vector
    s = np.abs(x).max()
    np.testing.assert_allclose(xa @ x, W @ (np.rint(x / s * 3) / 3 * s), atol=1e-12)


def test_cg_solves_spd_system_with_ideal_crossbar():
    rng = np.random.default_rng(23)
    n = 40
    B = rng.standard_normal((n, n))
    A = B @ B.T / n + np.eye(n)
    b = rng.uniform(0, 1, n)
    xb = Crossbar(A, "ideal", seed=0)
    x, info = cg(xb, b, rtol=1e-12, maxiter=500)
    assert info == 0
    assert np.linalg.norm(A @ x - b) / np.linalg.norm(b) < 1e-10
    # with real devices cg still runs (an inexact inner solver)
    x2, _ = cg(Crossbar(A, "joshi2020", seed=1, devices_per_weight=4), b, maxiter=20)
    assert np.linalg.norm(A @ x2 - b) / np.linalg.norm(b) < 0.5


def test_reads_are_booked_on_the_devices():
    W = np.random.default_rng(0).standard_normal((4, 6))
    xb = Crossbar(W, "joshi2020", seed=0)
    before = {k: a.n_read.copy() for k, a in xb.device_arrays().items()}
    e_before = xb.totals()["energy"]
    for _ in range(3):
        xb @ np.ones(6)
    xb @ np.ones((6, 5))
    xb.H @ np.ones(4)
    for k, a in xb.device_arrays().items():
        assert np.all(a.n_read - before[k] == 9)
    assert xb.totals()["energy"] == pytest.approx(e_before + 9 * 2 * 24 * 0.1e-12)


def test_time_moves_forward_only():
    xb = Crossbar(np.eye(3), "joshi2020", seed=0)
    xb.advance(10.0)
    assert xb.time == 10.0 and all(a.time == 10.0 for a in xb.device_arrays().values())
    xb.at(50.0)
    assert xb.time == 50.0
    with pytest.raises(ParameterError, match="before"):
        xb.at(20.0)
    with pytest.raises(ParameterError):
        xb.advance(-1.0)
    brian2 = pytest.importorskip("brian2")
    xb.advance(1 * brian2.second)
    assert xb.time == pytest.approx(51.0)


def test_clear_errors():
    W = np.ones((3, 4))
    with pytest.raises(ShapeError, match="2-d"):
        Crossbar(np.ones(4))
    with pytest.raises(ParameterError, match="nan"):
        Crossbar(np.array([[1.0, np.nan]]))
    with pytest.raises(UnknownPresetError, match="known mappings"):
        Crossbar(W, mapping="diagonal")
    with pytest.raises(UnknownPresetError, match="known presets"):
        Crossbar(W, device="flash")
    with pytest.raises(ParameterError, match="known options"):
        Crossbar(W, adc_bitz=4)
    with pytest.raises(ParameterError, match="drift_compensation"):
        Crossbar(W, drift_compensation="magic")
    with pytest.raises(ParameterError, match="devices_per_weight"):
        Crossbar(W, devices_per_weight=0)
    with pytest.raises(ParameterError, match="adc_bits"):
        Crossbar(W, adc_bits=0)
    xb = Crossbar(W, "ideal", seed=0)
    with pytest.raises(ShapeError, match=r"\(4,\)"):
        xb @ np.ones(3)
    with pytest.raises(ShapeError):
        xb.rmatvec(np.ones(4))
    with pytest.raises(ParameterError, match="nan"):
        xb @ np.array([1.0, np.nan, 0, 0])
    with pytest.raises(ParameterError, match="inf"):
        xb @ np.array([[1.0], [np.inf], [0], [0]])
    with pytest.raises(ModelError, match="LRS"):
        xb.lrs_factor()


def test_reprogram_and_float32():
    rng = np.random.default_rng(24)
    W1, W2 = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
    xb = Crossbar(W1, "ideal", seed=0)
    xb.program(W2)
    x = rng.standard_normal(5)
    np.testing.assert_allclose(xb @ x, W2 @ x, atol=1e-12)
    with pytest.raises(ShapeError):
        xb.program(np.ones((5, 6)))
    x32 = Crossbar(W2, "ideal", seed=0, dtype="float32") @ x
    assert x32.dtype == np.float32
    np.testing.assert_allclose(x32, W2 @ x, rtol=1e-5, atol=1e-5)
    # large single-vector reads take the BLAS path: same distribution
    big = rng.standard_normal((512, 300))
    xl = Crossbar(big, "ideal", seed=0, dtype="float32")
    np.testing.assert_allclose(xl @ big[0, :300], big @ big[0, :300], rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("n", [1001, 300_001])
def test_float32_normal_source(n):
    """The float32 noise source (Box-Muller above a size) is standard normal."""
    from neuropcm.crossbar._kernels import normals

    z = normals(np.random.default_rng(n), n, np.float32)
    assert z.dtype == np.float32 and z.shape == (n,)
    assert abs(z.mean()) < Z / math.sqrt(n)
    assert abs(z.var() - 1) < Z * math.sqrt(2 / n)
    assert abs(stats.kurtosis(z)) < Z * math.sqrt(24 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-4
    if n > 100_000:  # cos and sin halves of each Box-Muller pair are independent
        zz = normals(np.random.default_rng(2), 2 * 8192, np.float32)
        assert abs(np.corrcoef(zz[:8192] ** 2, zz[8192:] ** 2)[0, 1]) < Z / math.sqrt(8192)
