"""The crossbar's fast update path: pulses applied only where counts are non-zero, the
cached read model patched at the written weights, the fused mixed-precision transfer and
the bit-packed pulse coincidence -- each must give exactly what the plain computation
gives (same device draws, same read model, same counts)."""

import copy

import numpy as np
import pytest

from neuropcm.crossbar import Crossbar
from neuropcm.crossbar import _kernels as K
from neuropcm.crossbar.update import distribute


def _xb(K_=1, seed=0):
    W = np.random.default_rng(seed).uniform(-0.3, 0.3, (12, 17))
    return Crossbar(W, "nandakumar2018", mapping="differential", seed=seed, refresh=None,
                    w_max=0.5, devices_per_weight=K_)


@pytest.mark.parametrize("K_", [1, 3])
@pytest.mark.parametrize("mode", ["mixed", "deterministic", "stochastic"])
def test_patched_read_model_equals_a_rebuild(K_, mode):
    """After every update (and a refresh now and then) the incrementally patched mean and
    variance matrices and input bounds equal those built from scratch, bit for bit."""
    xb = _xb(K_)
    g = np.random.default_rng(1)
    for k in range(30):
        x = g.random(17) * (g.random(17) < 0.5)
        d = g.normal(0, 0.3, 12)
        xb.read(x)  # the model is current, so the update patches it
        xb.update(x, d, -0.2, mode=mode)
        if k % 10 == 9:
            xb.refresh("threshold")
        e = xb._eff_cache
        if xb._cache_key != (xb.time, xb._version):
            continue  # not patched (refresh): the next read rebuilds
        M, V, safe = e.M.copy(), e.V.copy(), e.safe
        xb._cache_key = None
        e2 = xb._eff()
        np.testing.assert_array_equal(M, e2.M)
        np.testing.assert_array_equal(V, e2.V)
        assert safe == e2.safe


@pytest.mark.parametrize("K_", [1, 2])
def test_sparse_pulses_equal_dense_set_pulses(K_):
    """Counts applied by the crossbar leave the devices exactly as dense ``set_pulses`` of
    the round-robin per-device counts on a twin (same draws in the same order)."""
    xb = _xb(K_, seed=5)
    twin = copy.deepcopy(xb)
    g = np.random.default_rng(2)
    for _ in range(4):
        counts = g.integers(-3, 4, xb.shape) * (g.random(xb.shape) < 0.3)
        xb._apply_counts(counts)
        for name, c in (("G_plus", np.clip(counts, 0, None)),
                        ("G_minus", np.clip(-counts, 0, None))):
            per, twin._rr[name] = distribute(c, twin._rr[name], K_)
            twin.arrays[name].set_pulses(per)
    for name in ("G_plus", "G_minus"):
        np.testing.assert_array_equal(xb.arrays[name].conductance,
                                      twin.arrays[name].conductance)
        np.testing.assert_array_equal(xb._rr[name], twin._rr[name])


def test_mixed_transfer_kernel_matches_numpy():
    g = np.random.default_rng(3)
    eps = 0.037
    chi = g.normal(0, 0.05, (9, 11))
    tr = g.normal(0, 0.1, (9, 11))
    dW = g.normal(0, 0.04, (9, 11))
    c_np = chi + dW
    n_np = np.trunc(c_np / eps)
    want_chi, want_tr = c_np - n_np * eps, tr + n_np * eps
    counts = np.zeros((9, 11), np.int64)
    nz = np.empty(99, np.int64)
    k = K.mixed_transfer(chi, tr, dW, eps, counts, nz)
    np.testing.assert_array_equal(chi, want_chi)
    np.testing.assert_array_equal(tr, want_tr)
    np.testing.assert_array_equal(counts, n_np.astype(np.int64))
    np.testing.assert_array_equal(nz[:k], np.flatnonzero(n_np))


@pytest.mark.parametrize("bl", [1, 31, 64, 130])
def test_coincidences_count_common_slots(bl):
    """``out_ij = s_i t_j #{slots where both fire}``, typed as a float product."""
    g = np.random.default_rng(bl)
    fd, fx = g.random((bl, 7)) < 0.4, g.random((bl, 13)) < 0.3
    fx[:, 3] = False
    sd, sx = g.integers(-1, 2, 7), g.integers(-1, 2, 13)
    out = np.zeros((7, 13), np.int64)
    K.coincidences(fd, fx, sd, sx, out)
    want = (fd.T.astype(float) @ fx.astype(float)) * np.outer(sd, sx)
    np.testing.assert_array_equal(out, want.astype(np.int64))


def test_refresh_with_a_rule_on_a_crossbar_without_one():
    """Occasional refresh: ``refresh("threshold")`` on a crossbar built with
    ``refresh=None`` refreshes the saturated pairs and counts them."""
    xb = _xb()
    xb._apply_counts(np.full(xb.shape, 25))   # G+ near saturation
    xb._apply_counts(np.full(xb.shape, -12))  # G- above the lower threshold
    n = xb.refresh("threshold")
    assert n > 0 and xb.n_refresh == n
    assert xb.refresh_rule is None
