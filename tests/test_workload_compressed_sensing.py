"""compressed-sensing workload: AMP recovery with every MVM on one PCM crossbar
(Le Gallo et al. 2018; seed tutorial Fig. 6): same convergence rate as float64, higher
error floor."""

import re
from pathlib import Path

import numpy as np
import pytest
from scipy.fft import dctn

import neuropcm.io as nio
from neuropcm.errors import ParameterError
from neuropcm.workloads import get_workload
from neuropcm.workloads.computational_memory import compressed_sensing as cs

W_ = get_workload("compressed-sensing")
SMALL = dict(size=64, block=32, iterations=20, seed=1)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("cs") / "cs.h5"
    W_.run(W_.config(**SMALL), path, progress=False)
    return nio.open(path)


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


# ------------------------------------------------------------------ the paper's claim
def test_pcm_same_rate_higher_floor(small):
    r = small.results
    fl, pc = (small.dataset(f"results/nmse_db_{v}") for v in ("float", "pcm"))
    assert r["final_nmse_db_float"] < -12  # float AMP reaches a low NMSE on the image
    assert r["final_nmse_db_pcm"] > r["final_nmse_db_float"] + 2  # higher floor
    early = fl > r["final_nmse_db_pcm"] + 3  # both still far above the PCM floor
    assert early.sum() >= 2
    assert np.all(np.abs(pc[early] - fl[early]) < 1.0), (pc[early], fl[early])  # same rate
    assert r["iterations_to_floor_pcm"] <= r["iterations_to_floor_float"]
    for v in cs.VARIANTS:  # every variant stable with this lam
        assert np.all(small.dataset(f"results/onsager_{v}") < 1)
        assert np.isfinite(small.dataset(f"results/nmse_db_{v}")).all()


def test_every_pcm_mvm_runs_on_the_crossbar(small):
    """Compression (one read per block) and two reads per block and iteration (A^T z
    and A x), all counted by the one crossbar."""
    r = small.results
    assert r["blocks"] == 4 and r["measurements"] == 512
    assert r["pcm_mvm_vectors"] == r["blocks"] * (1 + 2 * SMALL["iterations"])


def test_reconstructions_match_the_nmse(small):
    """The transform is orthonormal: the pixel-domain NMSE of the stored reconstruction
    equals the last coefficient-domain NMSE."""
    img = small.dataset("results/image")
    for v in cs.VARIANTS:
        rec = small.dataset(f"results/reconstruction_{v}")
        got = 10 * np.log10(((rec - img) ** 2).sum() / (img ** 2).sum())
        assert got == pytest.approx(small.dataset(f"results/nmse_db_{v}")[-1], abs=1e-9)


def test_fixed_point_matrix_only_option(tmp_path):
    """fixed_inputs=False quantises the matrix alone: the fixed-point AMP then uses one
    consistent 4-bit matrix for compression and recovery and ends far below the 4x4-bit
    floor of the run above (input quantisation of sparse vectors dominates)."""
    c = W_.config(size=64, block=16, iterations=10, fixed_inputs=False, seed=1)
    img = cs.load_image(c)
    X = cs.transform_matrix("haar", 16) @ cs.to_blocks(img, 16)
    A = np.random.default_rng(0).standard_normal((128, 256)) / np.sqrt(128)
    res = {}
    for inputs in (False, True):
        f, a, _ = cs.operators("fixed4", A, c.replace(fixed_inputs=inputs))
        res[inputs] = cs.amp(f, a, f(X), 256, lam=1.5, iterations=10, x_true=X)[1][-1]
    _, fl, _ = cs.amp(lambda v: A @ v, lambda v: A.T @ v, A @ X, 256, lam=1.5,
                      iterations=10, x_true=X)
    assert abs(res[False] - fl[-1]) < 1.0 < res[True] - fl[-1]


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


# ------------------------------------------------------------------ file, config, outputs
def test_file_kind_datasets_units(small):
    assert small.kind.name == "compressed_sensing"
    assert small.datasets["results/iteration"].units == "count"
    assert small.datasets["results/nmse_db_pcm"].shape == (SMALL["iterations"],)
    assert small.units["iterations_to_floor_pcm"] == "count"
    assert small.results["lam"] == 1.5
    assert small.config == cs.CompressedSensingConfig(**SMALL).to_dict()


def test_summary_and_figure(small, tmp_path):
    text = W_.summary(small.path)
    assert "pcm: floor" in text and "lam = 1.5" in text
    png = W_.figure(small.path, tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kw,msg", [
    (dict(size=100, block=32), "block = 32 does not divide size = 100"),
    (dict(size=96, block=24, transform="haar"), "block = 24 is not a power of two"),
    (dict(image="mnist", size=48, block=16), "multiple of 32"),
    (dict(compression=0.0), "compression = 0.0 is out of range"),
    (dict(compression=1e-5, block=4, size=8), "gives no measurement"),
    (dict(lam=0.0), "lam = 0.0 is out of range"),
    (dict(iterations=3), "iterations = 3 is out of range"),
    (dict(transform="fft"), "is not one of"),
])
def test_config_errors(kw, msg):
    with pytest.raises(ParameterError, match=re.escape(msg)):
        cs.CompressedSensingConfig(**kw)


def test_dct_blocks_accept_any_divisor():
    assert cs.CompressedSensingConfig(size=96, block=24, transform="dct").measurements == 288


def test_resume_refused(tmp_path):
    with pytest.raises(ParameterError, match="no checkpoint"):
        W_.run(W_.config(**SMALL), tmp_path / "x.h5", resume=True, progress=False)
