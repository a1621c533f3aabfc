"""compressed-sensing workload: AMP recovery with every MVM on one PCM crossbar
(Le Gallo et al. 2018; seed tutorial Fig. 6): same convergence rate as float64, higher
error floor; every variant with the same input converter, at its own threshold factor
chosen on a held-out image."""

import re
from pathlib import Path

import numpy as np
import pytest
from scipy.fft import dctn

import neuropcm.io as nio
from neuropcm.crossbar import Crossbar
from neuropcm.errors import ParameterError
from neuropcm.workloads.computational_memory import _amp
from neuropcm.workloads.computational_memory import compressed_sensing as cs
from neuropcm.workloads.computational_memory._precision import quantise

W_ = cs.WORKLOAD
#: A fast run (seconds): 4 blocks of N = 256, three factors.
SMALL = {"size": 32, "block": 16, "iterations": 8, "lam_sweep": [1.0, 1.5, 2.0], "seed": 1}
#: The paper's claim needs blocks of N = 1024 (about 15 s).
CLAIM = {"size": 64, "block": 32, "iterations": 16, "lam_sweep": [1.0, 1.2], "seed": 1}
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("cs") / "cs.h5"
    W_.run(W_.config(**SMALL), path, progress=False)
    return nio.open(path)


def _problem(kw):
    """The run's image, held-out image, coefficients and matrix, rebuilt here."""
    c = W_.config(**kw)
    img = cs.shepp_logan(c.size)
    held = np.roll(img, (c.block // 2, c.block // 2), axis=(0, 1))
    T = cs.transform_matrix("haar", c.block)
    A = cs.rng(c.seed, "matrix").standard_normal((c.measurements, c.block ** 2))
    return c, img, held, T, A / np.sqrt(c.measurements)


def _q_by_hand(v, bits):
    """b-bit DAC typed here: per column delta = max|v| / (2^(b-1) - 1), rint(v / delta)."""
    L = 2 ** (bits - 1) - 1
    d = np.abs(v).max(axis=0) / L
    d = np.where(d == 0, 1.0, d)
    return np.rint(v / d) * d


def _sparse_problem(seed=5, n=512, m=256, k=20, cols=16):
    """k-sparse Gaussian columns (k/M = 0.08, far below the l1 phase transition of
    ~0.38 at M/N = 0.5) and a Gaussian N(0, 1/M) matrix."""
    g = np.random.default_rng(seed)
    X = np.zeros((n, cols))
    for j in range(cols):
        X[g.choice(n, k, replace=False), j] = g.standard_normal(k)
    return X, g.standard_normal((m, n)) / np.sqrt(m)


# ------------------------------------------------------------------ AMP itself
def test_amp_recovers_exactly_sparse_signals_and_needs_onsager():
    """Noise-free k-sparse signals: AMP converges linearly to the signal; the same
    iteration without the Onsager term (iterative soft thresholding with AMP's
    threshold rule) does not converge (it diverges here)."""
    X, A = _sparse_problem()
    ops = (lambda v: A @ v), (lambda v: A.T @ v)
    _, with_o, b = cs.amp(*ops, A @ X, X.shape[0], lam=1.5, iterations=30, x_true=X)
    _, without, _ = cs.amp(*ops, A @ X, X.shape[0], lam=1.5, iterations=30, x_true=X,
                           onsager=False)
    assert with_o[-1] < -60
    assert np.all(np.diff(with_o[5:]) < 0)  # linear convergence: steadily down in dB
    assert np.all(b < 1)  # ||x||_0 / M below the stability limit
    assert without[-1] > with_o[-1] + 40 and without[-1] > 0


def test_amp_iteration_by_hand():
    """One AMP step typed out: u = A^T y, x = soft(u, lam ||y|| / sqrt M),
    z = y - A x + (||x||_0 / M) y."""
    X, A = _sparse_problem(n=64, m=32, k=3, cols=2)
    y = A @ X
    x1, _, b = cs.amp(lambda v: A @ v, lambda v: A.T @ v, y, 64, lam=1.2, iterations=1)
    u = A.T @ y
    th = 1.2 * np.sqrt((y ** 2).sum(0)) / np.sqrt(32)
    x = np.where(np.abs(u) > th, u - np.sign(u) * th, 0.0)
    assert np.allclose(x1, x)
    assert b[0] == pytest.approx(np.mean((x != 0).sum(0) / 32))


def test_floor_and_iterations():
    nmse = np.array([-2.0, -6.0, -9.0, -9.5, -10.0, -10.0, -10.0, -10.0, -10.0])
    floor, k = cs.floor_and_iterations(nmse)
    assert floor == pytest.approx(-10.0) and k == 3  # -9.0 is within 1 dB of -10
    assert cs.floor_and_iterations([-1.0, 3.0, np.inf, np.inf, np.inf, np.inf, np.inf]) == \
        (np.inf, 0)


def test_nmse_formula():
    """NMSE = 10 log10(sum (x_hat - x)^2 / sum x^2): an error of 1 % of the energy is
    -20 dB, of 10 % -10 dB, whatever the shape."""
    g = np.random.default_rng(3)
    x = g.standard_normal((64, 5))
    e = g.standard_normal((64, 5))
    for ratio, want in ((0.01, -20.0), (0.1, -10.0), (1.0, 0.0)):
        err = e * np.sqrt(ratio * (x ** 2).sum() / (e ** 2).sum())
        assert cs.nmse_db(x + err, x) == pytest.approx(want, abs=1e-10)


def test_stability_rate_and_choice_on_hand_built_curves():
    """Stable: finite, floor < 0 dB and within 1 dB of the minimum; rate: the slope before
    3 dB of the floor; choice: lowest stable floor, smallest factor on ties, else the
    largest factor flagged."""
    linear = np.r_[-2.0 * np.arange(1, 11), np.full(8, -20.0)]  # -2 dB/it to -20 dB
    assert _amp.is_stable(linear)
    assert _amp.convergence_rate(linear) == pytest.approx(-2.0)  # iterations 1..8
    rising = np.r_[-2.0 * np.arange(1, 11), -17.0, -16.0, -15.0, -14.0, -13.0, -12.0]
    assert not _amp.is_stable(rising)  # floor -14 dB, 6 dB above the minimum -20 dB
    assert not _amp.is_stable(np.r_[-3.0, -5.0, np.inf, np.inf, np.inf, np.inf])
    assert not _amp.is_stable(np.full(6, 0.5))  # worse than the all-zero estimate
    assert np.isnan(_amp.convergence_rate(np.full(8, -7.0)))  # at its floor at once
    assert _amp.rate_window(linear) == 8  # -16 dB is the last more than 3 dB above -20
    assert _amp.convergence_rate(np.r_[-1.0, -4.0, -5.0, -5.5], window=3) == \
        pytest.approx(-2.0)  # least squares through (1, -1), (2, -4), (3, -5)
    lams = [0.8, 1.0, 1.2, 1.5]
    assert _amp.choose_lambda(lams, [-30, -25, -20, -25], [False, True, True, True]) == \
        (1.0, True)
    assert _amp.choose_lambda(lams, [-30, -25, -20, -25], [False] * 4) == (1.5, False)


# ------------------------------------------------------------------ like-for-like inputs
def test_dac_is_the_same_converter_on_every_variant():
    """With inputs = dac, float and fixed4 quantise every input vector with the DAC typed
    here, and the PCM crossbar reads exactly what the analog crossbar (same devices, same
    seed) reads for the hand-quantised inputs; with inputs = analog nothing is quantised."""
    g = np.random.default_rng(2)
    A = g.standard_normal((24, 40)) / np.sqrt(24)
    V, Z = g.standard_normal((40, 3)), g.standard_normal((24, 3))
    c = W_.config(size=32, block=16, dac_bits=5)
    Aq = quantise(A, 4)
    assert np.allclose(Aq, _q_by_hand(A.reshape(-1, 1), 4).reshape(A.shape))
    f, a, _ = cs.operators("float", A, c, "dac")
    assert np.allclose(f(V), A @ _q_by_hand(V, 5)) and np.allclose(a(Z), A.T @ _q_by_hand(Z, 5))
    f, a, _ = cs.operators("fixed4", A, c, "dac")
    assert np.allclose(f(V), Aq @ _q_by_hand(V, 5))
    f, a, _ = cs.operators("fixed4", A, c, "analog")
    assert np.allclose(f(V), Aq @ V) and np.allclose(a(Z), Aq.T @ Z)
    *_, xd = cs.operators("pcm", A, c, "dac")
    *_, xa = cs.operators("pcm", A, c, "analog")
    assert np.allclose(xd.matmat(V), xa.matmat(_q_by_hand(V, 5)), atol=1e-12)
    assert np.allclose(xd.rmatmat(Z), xa.rmatmat(_q_by_hand(Z, 5)), atol=1e-12)
    assert isinstance(xd, Crossbar)


def test_lambda_is_chosen_on_the_held_out_image(small):
    """The stored sweep is the float64 AMP run on the held-out image (rebuilt here), each
    variant is reported at the factor choose_lambda takes from its sweep, and the reported
    float64 curves are AMP on the test image at that factor (inputs through the DAC typed
    here for the dac mode)."""
    _c, img, held, T, A = _problem(SMALL)
    assert np.array_equal(small.dataset("results/held_out_image"), held)
    assert not np.array_equal(held, img)
    lams = small.dataset("results/lam_sweep")
    Xh, X = T @ cs.to_blocks(held, 16), T @ cs.to_blocks(img, 16)
    ops = {"analog": (lambda v: A @ v, lambda v: A.T @ v),
           "dac": (lambda v: A @ _q_by_hand(v, 4), lambda v: A.T @ _q_by_hand(v, 4))}
    for inputs, (f, a) in ops.items():
        key = f"float_{inputs}"
        floors = [np.mean(cs.amp(f, a, f(Xh), 256, lam=lam, iterations=8, x_true=Xh)[1][-5:])
                  for lam in lams]
        assert np.allclose(small.dataset(f"results/tuning_floor_db_{key}"), floors)
    for key in cs.KEYS:
        fl = small.dataset(f"results/tuning_floor_db_{key}")
        st = small.dataset(f"results/tuning_stable_{key}")
        assert small.results[f"lam_{key}"] == _amp.choose_lambda(lams, fl, st)[0]
    for inputs, (f, a) in ops.items():
        lam = small.results[f"lam_float_{inputs}"]
        nm = cs.amp(f, a, f(X), 256, lam=lam, iterations=8, x_true=X)[1]
        assert np.allclose(small.dataset(f"results/nmse_db_float_{inputs}"), nm)


def test_rates_share_one_window_per_input_mode(small):
    """Within an input mode every rate is the least-squares slope (typed here: cov(k, y) /
    var(k)) over the same first iterations: those before the variant nearest its floor
    comes within 3 dB of it."""
    r = small.results
    for inputs in cs.INPUTS:
        curves = {v: small.dataset(f"results/nmse_db_{v}_{inputs}") for v in cs.VARIANTS}
        k = min(_amp.rate_window(y) for y in curves.values())
        assert r[f"rate_window_{inputs}"] == k
        for v, y in curves.items():
            got = r[f"rate_db_per_iteration_{v}_{inputs}"]
            if k < 2:
                assert np.isnan(got)
                continue
            it = np.arange(1, k + 1)
            slope = ((it - it.mean()) * (y[:k] - y[:k].mean())).sum() / ((it - it.mean()) ** 2).sum()
            assert got == pytest.approx(slope, rel=1e-9)


def test_one_lambda_for_all(tmp_path):
    path = W_.run(W_.config(**{**SMALL, "lam": 1.7}), tmp_path / "l.h5", progress=False)
    r = nio.open(path).results
    assert all(r[f"lam_{k}"] == 1.7 for k in cs.KEYS)


# ------------------------------------------------------------------ the paper's claim
@pytest.mark.slow
def test_pcm_same_rate_higher_floor(tmp_path):
    """Matrix only (analog inputs): PCM's floor is above float64's, and while float64 is
    still far above the PCM floor the two curves coincide (same rate); with every input
    through a 4-bit DAC all floors are level within 1.5 dB (the DAC dominates)."""
    path = W_.run(W_.config(**CLAIM), tmp_path / "claim.h5", progress=False)
    f = nio.open(path)
    r = f.results
    fl, pc = (f.dataset(f"results/nmse_db_{v}_analog") for v in ("float", "pcm"))
    assert r["final_nmse_db_float_analog"] < -15
    assert r["final_nmse_db_pcm_analog"] > r["final_nmse_db_float_analog"] + 2
    early = fl > r["final_nmse_db_pcm_analog"] + 3
    assert early.sum() >= 2
    assert np.all(np.abs(pc[early] - fl[early]) < 1.0), (pc[early], fl[early])
    ratio = r["rate_db_per_iteration_pcm_analog"] / r["rate_db_per_iteration_float_analog"]
    assert 0.75 < ratio < 1.25, ratio  # same rate over the same iterations
    dac = [r[f"final_nmse_db_{v}_dac"] for v in cs.VARIANTS]
    assert max(dac) - min(dac) < 1.5 and max(dac) > r["final_nmse_db_pcm_analog"]
    for k in cs.KEYS:
        assert np.isfinite(f.dataset(f"results/nmse_db_{k}")).all()


def test_every_pcm_mvm_runs_on_the_crossbar(small):
    """Compression (one read per block) and two reads per block and iteration (A^T z
    and A x), for each of the two input modes, counted by the crossbars."""
    r = small.results
    assert r["blocks"] == 4 and r["measurements"] == 128
    assert r["pcm_mvm_vectors"] == 2 * r["blocks"] * (1 + 2 * SMALL["iterations"])


def test_reconstructions_match_the_nmse(small):
    """The transform is orthonormal: the pixel-domain NMSE of the stored reconstruction
    equals the last coefficient-domain NMSE."""
    img = small.dataset("results/image")
    for k in cs.KEYS:
        rec = small.dataset(f"results/reconstruction_{k}")
        got = 10 * np.log10(((rec - img) ** 2).sum() / (img ** 2).sum())
        assert got == pytest.approx(small.dataset(f"results/nmse_db_{k}")[-1], abs=1e-9)


# ------------------------------------------------------------------ images and transforms
def test_shepp_logan_values():
    img = cs.shepp_logan(64)
    assert img.shape == (64, 64) and img.min() >= 0
    assert img[0, 0] == 0.0  # outside the head
    assert img[31, 31] == pytest.approx(0.2)  # 1 - 0.8 inside the brain, off the spots
    assert img.max() == pytest.approx(1.0)  # the skull


@pytest.mark.parametrize("kind", ["haar", "dct"])
def test_transforms_are_orthonormal(kind):
    T = cs.transform_matrix(kind, 8)
    assert np.allclose(T @ T.T, np.eye(64), atol=1e-12)


def test_dct_matches_scipy_and_haar_of_a_constant():
    g = np.random.default_rng(0)
    blk = g.standard_normal((8, 8))
    c = cs.transform_matrix("dct", 8) @ blk.ravel()
    assert np.allclose(c, dctn(blk, norm="ortho").ravel())
    h = cs.transform_matrix("haar", 16) @ np.full(256, 0.3)
    assert h[0] == pytest.approx(16 * 0.3) and np.allclose(h[1:], 0, atol=1e-12)


def test_blocks_round_trip():
    img = np.arange(64 * 64, dtype=float).reshape(64, 64)
    cols = cs.to_blocks(img, 16)
    assert cols.shape == (256, 16)
    assert np.array_equal(cols[:, 1], img[:16, 16:32].ravel())  # second block: top row
    assert np.array_equal(cs.from_blocks(cols, 64), img)


def test_mnist_montage():
    # the offline MNIST default (built once into data/ by the README's set-up) must be there
    img = cs.mnist_montage(64)
    assert img.shape == (64, 64) and 0 <= img.min() and img.max() <= 1
    assert img[:2].sum() == 0 and img[:, 30:34].sum() == 0  # cell borders
    assert (img[2:30, 2:30] > 0).any()
    rep, held = cs.signal_images("mnist", 64, 32)  # held out: the next four digits
    assert np.array_equal(rep, img) and np.array_equal(held[:32, :32], cs.mnist_montage(
        96, first=4)[:32, :32])


# ------------------------------------------------------------------ file, config, outputs
def test_file_kind_datasets_units(small):
    assert small.kind.name == "compressed_sensing"
    assert small.datasets["results/iteration"].units == "count"
    assert small.datasets["results/nmse_db_pcm_dac"].shape == (SMALL["iterations"],)
    assert small.datasets["results/tuning_floor_db_pcm_analog"].shape == (3,)
    assert small.units["iterations_to_floor_pcm_dac"] == "count"
    assert small.results["dac_bits"] == 4
    assert small.config == cs.CompressedSensingConfig(**SMALL).to_dict()


def test_summary_and_figure(small, tmp_path):
    text = W_.summary(small.path)
    assert "matrix only: analog inputs" in text and "4-bit DAC" in text
    assert f"at lam = {small.results['lam_pcm_dac']:g}" in text
    png = W_.figure(small.path, tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kw,msg", [
    ({"size": 100, "block": 32}, "block = 32 does not divide size = 100"),
    ({"size": 96, "block": 24, "transform": "haar"}, "block = 24 is not a power of two"),
    ({"image": "mnist", "size": 48, "block": 16}, "multiple of 32"),
    ({"compression": 0.0}, "compression = 0.0 is out of range"),
    ({"compression": 1e-5, "block": 4, "size": 8}, "gives no measurement"),
    ({"lam": 0.0}, "lam = 0.0 is out of range"),
    ({"lam_sweep": [1.5, 1.0]}, "strictly increasing"),
    ({"lam_sweep": []}, "strictly increasing"),
    ({"lam_sweep": [1.0, 20.0]}, "out of range"),
    ({"dac_bits": 1}, "dac_bits = 1 is out of range"),
    ({"iterations": 3}, "iterations = 3 is out of range"),
    ({"transform": "fft"}, "is not one of"),
])
def test_config_errors(kw, msg):
    with pytest.raises(ParameterError, match=re.escape(msg)):
        cs.CompressedSensingConfig(**kw)


def test_dct_blocks_accept_any_divisor():
    assert cs.CompressedSensingConfig(size=96, block=24, transform="dct").measurements == 288


def test_resume_refused(tmp_path):
    with pytest.raises(ParameterError, match="no checkpoint"):
        W_.run(W_.config(**SMALL), tmp_path / "x.h5", resume=True, progress=False)
