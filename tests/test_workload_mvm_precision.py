"""mvm-precision workload: PCM MVM error against b-bit fixed point (seed tutorial Fig. 5b).

Small sizes (64 x 64, 12 device instances). Every tolerance is a number of standard
errors of the quantity tested: instance means are the independent Monte Carlo samples
of the PCM error (programming noise is shared by all vectors of one instance); vectors
are the samples of the fixed-point error (one matrix).
"""

import re

import numpy as np
import pytest

import neuropcm.io as nio
from neuropcm.errors import ParameterError
from neuropcm.workloads import get_workload
from neuropcm.workloads.computational_memory.mvm_precision import (COMPENSATIONS, MVMPrecisionConfig,
                                              equivalent_bits, quantise)

W_ = get_workload("mvm-precision")
SMALL = dict(rows=64, cols=64, vectors=32, instances=12, time_points=3, seed=3)
Z = 4.0  # standard errors allowed


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("mvm") / "mvm.h5"
    W_.run(W_.config(**SMALL), path, progress=False)
    return nio.open(path)


# ------------------------------------------------------------------ the paper's properties
def test_pcm_error_variance_falls_as_one_over_k(small):
    """Independent device errors: eta^2(K) = beta^2 + sigma^2/K (beta: the per-device
    mean error, which averaging K devices keeps; sigma^2: the per-device variance), so the
    successive differences eta^2(K) - eta^2(2K) = sigma^2/(2K) halve from K to 2K."""
    ks = small.dataset("results/pcm/devices_per_weight")
    assert list(ks) == [1, 2, 4, 8]
    e2 = (small.dataset("results/pcm/eta") ** 2).mean(axis=2)  # (K, instances)
    n = e2.shape[1]
    m, se = e2.mean(axis=1), e2.std(axis=1, ddof=1) / np.sqrt(n)
    assert np.all(np.diff(m) < 0), m
    for i in range(len(ks) - 2):
        a, b = m[i] - m[i + 1], m[i + 1] - m[i + 2]
        r = a / b
        # delta method; the two differences share m[i + 1]
        sr = np.sqrt((se[i] / b) ** 2 + (se[i + 1] * (1 / b + a / b ** 2)) ** 2
                     + (se[i + 2] * a / b ** 2) ** 2)
        assert abs(r - 2.0) < Z * sr, (ks[i], r, sr)
    # the K-independent part is small: eta(1)/eta(2) is sqrt(2) to within 10 %
    assert abs(np.sqrt(m[0] / m[1]) / np.sqrt(2) - 1) < 0.1


def test_fixed_point_matches_uniform_quantisation_noise(small):
    """e = dW x + W dx with dW, dx uniform on +-delta/2 (variance delta^2/12):
    E||e||^2 = m (dW^2/12) ||x||^2 + (dx^2/12) ||W||_F^2, typed here from the stored W, X;
    valid once the steps are small (b >= 4)."""
    W, X = small.dataset("results/matrix"), small.dataset("results/inputs")
    bits, eta = small.dataset("results/fixed/bits"), small.dataset("results/fixed/eta")
    m, v = W.shape[0], X.shape[1]
    for b, e in zip(bits, eta):
        if b < 4:
            continue
        L = 2 ** (b - 1) - 1
        dw, dx = np.abs(W).max() / L, np.abs(X).max(axis=0) / L
        pred = np.sqrt((m * dw ** 2 / 12 * (X ** 2).sum(0) + dx ** 2 / 12 * (W ** 2).sum())
                       / ((W @ X) ** 2).sum(0))
        # sampling error of the mean over vectors, and of the empirical dW variance over
        # m*n uniform errors (relative sd sqrt(1/80 - 1/144)/(1/12) / sqrt(mn) on eta^2)
        tol = Z * (e.std(ddof=1) / np.sqrt(v) / e.mean() + 0.9 / np.sqrt(W.size) / 2)
        assert abs(e.mean() / pred.mean() - 1) < tol, (b, e.mean(), pred.mean(), tol)


def test_fixed_point_error_halves_per_bit(small):
    """eta proportional to the step max|a|/(2^(b-1) - 1): each extra bit divides eta by
    (2^b - 1)/(2^(b-1) - 1) -> 2; tested per vector from b = 5 on."""
    bits, eta = small.dataset("results/fixed/bits"), small.dataset("results/fixed/eta")
    assert np.all(np.diff(eta.mean(axis=1)) < 0)
    for i, b in enumerate(bits[:-1]):
        if b < 5:
            continue
        r = eta[i] / eta[i + 1]
        expect = (2 ** b - 1) / (2 ** (b - 1) - 1)
        assert abs(r.mean() - expect) < Z * r.std(ddof=1) / np.sqrt(r.size) + 0.01, (b, r.mean())


def test_equivalent_bits_monotone_in_k_and_consistent(small):
    a = small.results
    bits, eta = small.dataset("results/fixed/bits"), small.dataset("results/fixed/eta")
    ef = eta.mean(axis=1)
    eb = a["equivalent_bits"]
    assert np.all(np.diff(eb) >= 0), eb
    for b, e in zip(eb, a["eta_pcm"]):
        i = list(bits).index(b)
        assert ef[i] >= e  # PCM matches or beats b bits ...
        assert i + 1 == len(bits) or ef[i + 1] < e  # ... and not b + 1
    # paper: one device pair per weight is about 4-bit fixed point
    assert eb[0] == 4
    assert a["eta_pcm"] == pytest.approx(small.dataset("results/pcm/eta").mean(axis=(1, 2)))


def test_drift_compensation_reduces_error_at_the_last_time(small):
    t = small.dataset("results/drift/time")
    assert t[0] == pytest.approx(1.0) and t[-1] == pytest.approx(1e6)
    inst = {n: small.dataset(f"results/drift/eta_{n}").mean(axis=2) for n in COMPENSATIONS}
    none = inst["none"]
    n = none.shape[1]
    assert none[-1].mean() > none[0].mean() + Z * none[-1].std(ddof=1) / np.sqrt(n)
    for name in ("global", "column", "lrs"):
        diff = none[-1] - inst[name][-1]  # paired: the same devices in each instance
        assert diff.mean() > Z * diff.std(ddof=1) / np.sqrt(n), name
        assert small.results[f"eta_t_max_{name}"] == pytest.approx(inst[name][-1].mean())


# ------------------------------------------------------------------ helpers
def test_quantise_rule():
    a = np.array([0.7, -0.2, 0.05, 0.0, -0.7])
    # b = 3: L = 3 levels of 0.7/3 on each side; typed: rint(a / (0.7/3)) * 0.7/3
    assert np.allclose(quantise(a, 3), np.array([3, -1, 0, 0, -3]) * 0.7 / 3)
    cols = np.array([[1.0, 0.0], [-0.5, 0.0], [0.26, 0.0]])
    q = quantise(cols, 2, axis=0)  # L = 1: sign * max per column
    assert np.array_equal(q, [[1.0, 0.0], [-0.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ParameterError, match="axis"):
        quantise(a, 4, axis=1)


def test_equivalent_bits_helper():
    bits = [2, 3, 4, 5]
    ef = [0.8, 0.4, 0.2, 0.1]
    assert equivalent_bits(bits, ef, 0.2) == (4, 4.0)
    w, fr = equivalent_bits(bits, ef, 0.15)
    assert w == 4 and fr == pytest.approx(4 + np.log2(0.2 / 0.15))
    w, fr = equivalent_bits(bits, ef, 0.9)
    assert w == 1 and np.isnan(fr)  # worse than every b tried
    assert equivalent_bits(bits, ef, 0.01)[0] == 5


# ------------------------------------------------------------------ file, config, outputs
def test_file_kind_datasets_units(small):
    assert small.kind.name == "mvm_precision"
    assert small.datasets["results/drift/time"].units == "s"
    assert small.datasets["results/pcm/eta"].shape == (4, 12, 32)
    assert small.units["equivalent_bits"] == "1"
    assert small.units["devices_per_weight"] == "count"
    assert small.config == MVMPrecisionConfig(**SMALL).to_dict()


def test_summary_and_figure(small, tmp_path):
    text = W_.summary(small.path)
    assert "equivalent_bits 4" in text and "K = 8" in text
    png = W_.figure(small.path, tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kw,msg", [
    (dict(bits_min=6, bits_max=5), "bits_min = 6 is above bits_max = 5"),
    (dict(devices_per_weight=[2, 1]), "strictly increasing"),
    (dict(devices_per_weight=[]), "is empty"),
    (dict(devices_per_weight=[0]), "out of range"),
    (dict(t_min=10.0, t_max=10.0), "t_min = 10.0 s is not below"),
    (dict(instances=1), "instances = 1 is out of range"),
    (dict(preset="nope"), "is not one of"),
])
def test_config_errors(kw, msg):
    with pytest.raises(ParameterError, match=re.escape(msg)):
        MVMPrecisionConfig(**kw)


def test_resume_refused(tmp_path):
    with pytest.raises(ParameterError, match="no checkpoint"):
        W_.run(W_.config(**SMALL), tmp_path / "x.h5", resume=True, progress=False)
    assert not (tmp_path / "x.h5").exists()
