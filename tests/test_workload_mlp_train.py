"""mlp-train workload: an MLP trained on PCM crossbars (Burr 2015 in-situ; Nandakumar 2018
mixed precision).

Small networks (784-H-10, H <= 24) on the first few hundred MNIST examples. The float
references of the exactness tests are typed here with numpy, per-example SGD, independent
of the package's MLP code: forward ``a = W [h; 1]``, sigmoid hidden layer, softmax
cross-entropy, ``d2 = p - onehot(y)``, ``d1 = (W2^T d2)[:-1] h (1 - h)``.
"""

import numpy as np
import pytest

import neuropcm.io as nio
from neuropcm.config import load_config
from neuropcm.crossbar.update import coincidence_counts
from neuropcm.datasets import load_mnist
from neuropcm.errors import NeuroPCMError
from neuropcm.random import rng
from neuropcm.workloads import get_workload
from neuropcm.workloads.learning import _mlp_training as T
from neuropcm.workloads.learning._mlp import train_float
from neuropcm.workloads.learning.mlp_train import MlpTrainConfig, build, load_data

W_ = get_workload("mlp-train")
# ideal devices: 0.25 uS linear steps up to 25 uS; g_target 5 uS leaves 80 steps of headroom
IDEAL = dict(preset="ideal", g_target=5e-6, refresh="none", hidden=16, train=200, test=300,
             epochs=2, lr=0.1, lr_decay=1.0, w_max=[0.5, 1.5], seed=4)


# ----------------------------------------------------------------- the independent reference
def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def _reference(cfg: MlpTrainConfig, W0, eps, xb_seeds):
    """Per-example SGD with the crossbar's pulse rule on float weights (see module doc):
    ``dW = -lr d x^T``; deterministic ``n = rint(dW/eps)``; mixed ``chi += dW, n =
    trunc(chi/eps), chi -= n eps``; stochastic: the crossbar's coincidence counts from its
    stream ``(xb_seed, "crossbar", "updates")``. ``W += n eps``. Returns weights and the
    predictions on the test set."""
    X, y, Xt = load_data(cfg)[:3]
    W = [w.copy() for w in W0]
    chi = [np.zeros_like(w) for w in W]
    gens = [rng(s, "crossbar", "updates") for s in xb_seeds]
    mode = cfg.update_mode
    for e in range(cfg.n_epochs):
        order = rng(cfg.seed, "mlp-train", "order", e).permutation(X.shape[1])
        for i in order:
            x0 = np.append(X[:, i], 1.0)
            h = _sig(W[0] @ x0)
            x1 = np.append(h, 1.0)
            a = W[1] @ x1
            p = np.exp(a - a.max())
            p /= p.sum()
            d2 = p.copy()
            d2[y[i]] -= 1.0
            d1 = (W[1].T @ d2)[:-1] * h * (1.0 - h)
            for l, (d, x) in enumerate(((d1, x0), (d2, x1))):
                if mode == "stochastic":
                    n = coincidence_counts(gens[l], x, d, -cfg.lr / eps[l], cfg.pulse_length)
                else:
                    dW = -cfg.lr * np.outer(d, x)
                    if mode == "deterministic":
                        n = np.rint(dW / eps[l])
                    else:
                        chi[l] += dW
                        n = np.trunc(chi[l] / eps[l])
                        chi[l] -= n * eps[l]
                W[l] += n * eps[l]
    H = _sig(W[0] @ np.vstack([Xt, np.ones(Xt.shape[1])]))
    pred = (W[1] @ np.vstack([H, np.ones(H.shape[1])])).argmax(axis=0)
    return W, pred


@pytest.mark.parametrize("mode, rule", [("mixed-precision", "stochastic"),
                                        ("in-situ", "deterministic"),
                                        ("in-situ", "stochastic")])
def test_ideal_devices_equal_float_with_the_same_rule(tmp_path, mode, rule):
    """Ideal devices (exact linear SET steps, exact reads, no refresh, no saturation):
    the crossbar network ends with the weights and test predictions of float SGD with the
    same pulse rule, seed and example order."""
    cfg = MlpTrainConfig(mode=mode, rule=rule, **IDEAL)
    nets = build(cfg, (784, cfg.hidden, 10))
    xbs = [l.xb for l in nets["pcm"]]
    W0 = [xb.mapping.W.copy() for xb in xbs]
    out = W_.run(cfg, tmp_path / "m.h5", progress=False)
    W_ref, pred = _reference(cfg, W0, [xb.epsilon for xb in xbs], [xb.seed for xb in xbs])
    r = nio.open(out)
    for l in range(2):
        W = r.dataset(f"results/weights/layer{l}")
        moved = np.abs(W_ref[l] - W0[l]).max() / xbs[l].epsilon
        assert moved >= 2, moved  # the weights did change by several pulses
        np.testing.assert_allclose(W, W_ref[l], rtol=0, atol=1e-12 * cfg.w_max[l])
        # no device came near g_max (25 uS): |w| <= w_max/g_target * 25 uS with room
        assert np.abs(W).max() < 0.8 * cfg.w_max[l] * 25e-6 / cfg.g_target
    np.testing.assert_array_equal(r.dataset("results/test_predictions"), pred)
    if mode == "mixed-precision":  # the plain float reference is the lead's train_float
        X, y = load_data(cfg)[:2]
        W_f = train_float(X, y, (784, cfg.hidden, 10), seed=cfg.seed, epochs=cfg.n_epochs,
                          lr=cfg.lr, path=("mlp-train",))
        for l in range(2):
            np.testing.assert_array_equal(r.dataset(f"results/float_weights/layer{l}"), W_f[l])


def test_mixed_precision_conserves_update_mass():
    """Over a real training run on nandakumar2018 devices (refresh on): ``transferred +
    chi`` equals the sum of the requested updates ``-lr d x^T`` to float rounding, the
    transfer is whole pulses (``transferred / eps`` integers) and ``|chi| < eps``."""
    cfg = MlpTrainConfig(mode="mixed-precision", hidden=12, train=150, test=10, epochs=1,
                         lr=0.1, refresh_every=50, seed=2)
    X, y, *_ = load_data(cfg)
    net = build(cfg, (784, cfg.hidden, 10))["pcm"]
    asked = [np.zeros(l.xb.shape) for l in net]

    class Spy(T.CrossbarLayer):
        def update(self, inp, D, lr):
            asked[self.k] += -lr * (D @ inp.T)
            super().update(inp, D, lr)

    spies = []
    for k, l in enumerate(net):
        s = Spy(l.xb, l.mode, l.rule)
        s.k = k
        spies.append(s)
    n_ref = T.train_epoch(spies, X, y, T.epoch_order(cfg.seed, 0, X.shape[1]), lr=cfg.lr,
                          batch=1, activation="sigmoid", refresh_every=cfg.refresh_every)
    assert n_ref > 0  # refreshes happened and did not disturb the accounting
    for s, a in zip(spies, asked):
        xb = s.xb
        eps = xb.epsilon
        np.testing.assert_allclose(xb.transferred + xb.chi, a, rtol=0,
                                   atol=1e-12 * np.abs(a).max())
        n = xb.transferred / eps
        np.testing.assert_allclose(n, np.rint(n), rtol=0, atol=1e-9)
        assert np.abs(n).sum() > 20  # pulses were transferred
        assert np.all(np.abs(xb.chi) < eps)


def test_in_situ_learns_well_above_chance(tmp_path):
    """In-situ (stochastic pulse coincidence, nandakumar2018 devices, refresh): on 300 test
    examples chance is 10 % (binomial std 1.7 %); the network must reach 30 % (11 std)."""
    cfg = W_.config(mode="in-situ", hidden=20, train=400, test=300, epochs=2, lr=0.05,
                    refresh_every=50, seed=1)
    r = nio.open(W_.run(cfg, tmp_path / "i.h5", progress=False))
    assert r.results["test_accuracy"] >= 0.30, r.results
    assert r.results["n_set"] > 0 and r.results["n_reset"] > 0
    assert r.dataset("results/n_refresh")[-1] > 0


# ----------------------------------------------------------------- file, resume, errors
def test_file_kind_datasets_units_and_resume(tmp_path, monkeypatch):
    """The file is of kind mlp_train with per-epoch curves and units; an interrupted run
    resumed from its checkpoint ends exactly as the uninterrupted run; other settings are
    refused."""
    cfg = W_.config(mode="mixed-precision", hidden=10, train=120, test=50, epochs=2, seed=3,
                    refresh_every=40)
    full = nio.open(W_.run(cfg, tmp_path / "full.h5", progress=False))
    assert full.kind.name == "mlp_train"
    units = {k: v.units for k, v in full.datasets.items()}
    assert units["results/test_accuracy"] == "1" and units["results/energy"] == "J"
    assert units["results/n_set"] == "count" and units["results/epoch_wall_s"] == "s"
    assert full.units["energy_J"] == "J" and full.units["test_accuracy"] == "1"
    assert list(full.dataset("results/epoch")) == [1, 2]
    assert np.all(np.diff(full.dataset("results/n_set")) > 0)
    assert full.results["epochs"] == 2 and full.results["train_examples"] == 120
    assert "test accuracy" in W_.summary(full.path)
    assert W_.figure(full.path, tmp_path / "f.png").stat().st_size > 0
    # throughput/energy model from the run's own counters: 2 ops per device read; energy
    # of the devices' reads and pulses (no ADC): n_read e_read + n_set e_set + n_reset e_reset
    n_read = float(full.dataset("results/throughput/ops")) / 2
    e = float(full.dataset("results/throughput/energy"))
    assert e == pytest.approx(full.results["energy_J"], rel=1e-12)
    assert e == pytest.approx(n_read * 0.1e-12 + full.results["n_set"] * 5e-12
                              + full.results["n_reset"] * 30e-12, rel=1e-9)
    assert full.results["ops_per_joule"] == pytest.approx(2 * n_read / e, rel=1e-12)
    assert full.results["energy_per_example"] == pytest.approx(e / (2 * 120), rel=1e-12)

    calls = {"n": 0}
    real = T.train_epoch

    def interrupted(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:  # epoch 2, first network
            raise KeyboardInterrupt
        return real(*a, **k)

    out = tmp_path / "cut.h5"
    monkeypatch.setattr(T, "train_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        W_.run(cfg, out, progress=False)
    monkeypatch.setattr(T, "train_epoch", real)
    with pytest.raises(NeuroPCMError, match="lr"):
        W_.run(cfg.replace(lr=0.2), out, resume=True, progress=False)
    cut = nio.open(W_.run(cfg, out, resume=True, progress=False))
    for k in ("results/test_predictions", "results/weights/layer0", "results/weights/layer1",
              "results/float_weights/layer0", "results/test_accuracy", "results/n_set",
              "results/energy", "results/n_refresh"):
        np.testing.assert_array_equal(cut.dataset(k), full.dataset(k), err_msg=k)
    assert not list(tmp_path.glob("cut.h5.ckpt*"))  # the checkpoint is gone
    with pytest.raises(NeuroPCMError, match="nothing to resume"):
        W_.run(cfg, out, resume=True, progress=False)


@pytest.mark.parametrize("sets, words", [
    (["mode=backprop"], ["mode", "backprop"]),
    (["train=-5"], ["train", "-5"]),
    (["epochs=0"], ["epochs"]),
    (["g_target=3*ms"], ["g_target"]),
    (["dataset=cifar"], ["dataset", "cifar"]),
    (["mnist_dir=/no/such/folder"], ["mnist_dir", "/no/such/folder"]),
    (["w_max=[0.5]"], ["w_max"]),
    (["batch=10", "train=5"], ["batch"]),
])
def test_bad_options_give_one_line_errors(sets, words):
    with pytest.raises(NeuroPCMError) as e:
        load_config(MlpTrainConfig, None, sets)
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_too_many_examples_refused_before_training(tmp_path):
    with pytest.raises(NeuroPCMError, match="test = 20000"):
        W_.run(W_.config(test=20000), tmp_path / "x.h5", progress=False)
    assert not (tmp_path / "x.h5").exists()


def test_mnist_dir_and_rand_mnist(tmp_path):
    """An IDX folder is read through mnist_dir (here the MNIST cache written as IDX);
    rand-MNIST changes about 10 % of the pixels of each image."""
    from neuropcm.datasets import write_idx

    for split, pre in (("train", "train"), ("test", "t10k")):
        im, lab = load_mnist(split, limit=80)
        write_idx(tmp_path / f"{pre}-images-idx3-ubyte", im)
        write_idx(tmp_path / f"{pre}-labels-idx1-ubyte", lab)
    cfg = MlpTrainConfig(mnist_dir=str(tmp_path), train=50, test=50, validation=30)
    X, y, _, _, Xv, yv = load_data(cfg)
    im, lab = load_mnist("train", limit=80)
    np.testing.assert_array_equal(X, im[:50].reshape(50, -1).T / 255.0)
    np.testing.assert_array_equal(y, lab[:50])
    # the validation examples are the last 30 of the split, disjoint from the 50 trained on
    np.testing.assert_array_equal(Xv, im[50:].reshape(30, -1).T / 255.0)
    np.testing.assert_array_equal(yv, lab[50:])
    with pytest.raises(NeuroPCMError, match="validation = 31"):
        load_data(cfg.replace(validation=31))
    Xr = load_data(cfg.replace(dataset="rand-mnist"))[0]
    changed = (Xr != X).mean(axis=0)
    assert np.all(changed <= 0.1 + 1e-9) and changed.mean() > 0.08
    assert W_.flags["--mnist-dir"][0] == "mnist_dir"
