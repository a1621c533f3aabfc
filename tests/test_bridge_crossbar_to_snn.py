"""Crossbar -> SNN: a crossbar-stored MLP run as a rate-coded spiking network."""

import numpy as np
import pytest

from neuropcm.bridge import relative_rates, run_rate_snn
from neuropcm.bridge.crossbar_to_snn import (crossbar_mlp_logits, mlp_crossbars, run_mlp_snn,
                                             run_crossbar_mlp_snn, train_mlp)
from neuropcm.datasets import load_mnist
from neuropcm.errors import ParameterError, ShapeError

RATE, T, DT = 100.0, 0.5, 1e-3


@pytest.fixture(scope="module")
def model():
    import brian2

    brian2.prefs.codegen.target = "numpy"
    xt, yt = load_mnist("train", limit=3000)
    xt = relative_rates(xt)
    mlp = train_mlp(xt, yt, 0, epochs=4)
    xs, ys = load_mnist("test", limit=200)
    xs = relative_rates(xs)
    xb1, xb2 = mlp_crossbars(mlp, seed=0)
    snn = run_crossbar_mlp_snn(xb1, xb2, xs, mlp.scale, max_rate=RATE, duration=T, dt=DT,
                               seed=0)
    return dict(mlp=mlp, xt=xt, yt=yt, xs=xs, ys=ys, xb1=xb1, xb2=xb2, snn=snn)


def test_mlp_learns_and_is_seeded(model):
    mlp, xt, yt = model["mlp"], model["xt"], model["yt"]
    assert np.mean(np.argmax(mlp.logits(xt), 1) == yt) > 0.85
    a = train_mlp(xt[:300], yt[:300], 0, hidden=8, epochs=1)
    b = train_mlp(xt[:300], yt[:300], 0, hidden=8, epochs=1)
    c = train_mlp(xt[:300], yt[:300], 1, hidden=8, epochs=1)
    assert all(np.array_equal(u, v) for u, v in zip(a[:4], b[:4]))
    assert not np.array_equal(a.W1, c.W1)


def test_spiking_and_crossbar_mlp_agree(model):
    """Margin: the SNN runs the crossbars' own mean weights; its only extra error is the
    Poisson counting noise over the 0.5 s window (a hidden neuron at the top rate counts
    ~50 spikes, i.e. ~14 % relative noise; typical ones ~10 spikes), so examples whose top
    two logits lie within that noise may flip: >= 90 % agreement and accuracies within 5
    points on 200 images (one example = 0.5 point)."""
    xs, ys, snn = model["xs"], model["ys"], model["snn"]
    xbp = np.argmax(crossbar_mlp_logits(model["xb1"], model["xb2"], xs, model["mlp"].scale), 1)
    sp = snn.predictions()
    assert np.mean(sp == xbp) >= 0.90
    assert abs(np.mean(sp == ys) - np.mean(xbp == ys)) <= 0.05
    assert np.mean(sp == ys) > 0.85


def test_hidden_rates_follow_the_if_rate_relation(model):
    """Non-leaky IF, reset by subtraction, threshold theta = s: count ~ floor(Q(T)) with
    Q = sum_i w_i N_i / s; N_i ~ Binomial(T/dt, r_i dt), r_i = x_i R (bias input: R).
    So E[count] = T R relu(sum_i w_i x_i) / s (+-1 for the floor), sd^2 = sum_i (w_i/s)^2
    (T/dt) p_i (1 - p_i)."""
    mlp, xs, snn = model["mlp"], model["xs"][:10], model["snn"]
    w1 = model["xb1"].effective_weights()[0]
    xr = np.hstack([xs, np.ones((len(xs), 1))])
    p = xr * RATE * DT
    mean = (T / DT) * (p @ w1.T) / mlp.scale
    sd = np.sqrt((T / DT) * ((p * (1 - p)) @ (w1.T / mlp.scale) ** 2))
    n = snn.hidden[:10]
    pos = mean >= 10
    assert pos.sum() >= 20
    assert np.all(np.abs(n[pos] - mean[pos]) <= 4.5 * sd[pos] + 1)
    neg = mean <= -3 * sd
    assert neg.sum() >= 20
    assert np.mean(n[neg]) < 0.5


def test_snn_weights_are_read_from_the_crossbars_devices(model):
    """SET pulses on one G+ device of the hidden bias column raise that weight after
    devices_changed(); with the same seed only that hidden neuron's count changes."""
    import copy

    xb1, xb2, mlp = copy.deepcopy(model["xb1"]), model["xb2"], model["mlp"]
    x = model["xs"][:1]
    before = run_crossbar_mlp_snn(xb1, xb2, x, mlp.scale, seed=5)
    w0 = xb1.effective_weights()[0]
    h = int(np.argmax(before.hidden[0]))
    counts = np.zeros(xb1.device_arrays()["G_plus"].shape, int)
    counts[..., h, -1] = 20
    xb1.device_arrays()["G_plus"].set_pulses(counts)
    xb1.devices_changed()
    w1 = xb1.effective_weights()[0]
    changed = w1 != w0
    assert changed[h, -1] and changed.sum() == 1 and w1[h, -1] > w0[h, -1]
    after = run_crossbar_mlp_snn(xb1, xb2, x, mlp.scale, seed=5)
    others = np.arange(w1.shape[0]) != h
    assert np.array_equal(after.hidden[0, others], before.hidden[0, others])
    assert after.hidden[0, h] > before.hidden[0, h]


def test_if_count_is_input_count_over_theta():
    """Single layer: one bright input to one class: that neuron's count is floor(w n / theta)."""
    w = np.array([[1.0, 0.0], [0.0, 0.0]])
    x = np.array([[1.0, 0.0]])
    s = run_rate_snn(w, x, max_rate=200.0, duration=1.0, spikes_top=50.0, seed=3)
    # theta = 200 / 50: the count is floor(n / 4) with n ~ Binomial(1000, 0.2)
    n_mean, n_sd = 200.0, np.sqrt(1000 * 0.2 * 0.8)
    assert abs(np.floor(s[0, 0]) - n_mean / 4) < 4 * n_sd / 4 + 1
    assert s[0, 1] == 0


def test_snn_errors():
    with pytest.raises(ShapeError):
        run_rate_snn(np.ones((2, 3)), np.ones((1, 4)))
    with pytest.raises(ParameterError):
        run_rate_snn(np.ones((2, 3)), np.full((1, 3), 2.0))
    with pytest.raises(ShapeError, match="do not fit"):
        run_mlp_snn(np.ones((4, 3)), np.ones((2, 4)), np.ones((1, 3)), 1.0)
    with pytest.raises(ParameterError, match="x must lie"):
        run_mlp_snn(np.ones((4, 3)), np.ones((2, 5)), np.full((1, 2), 2.0), 1.0)
    with pytest.raises(ParameterError, match="scale"):
        run_mlp_snn(np.ones((4, 3)), np.ones((2, 5)), np.ones((1, 2)), 0.0)
    with pytest.raises(ShapeError):
        train_mlp(np.ones((3, 2)), np.zeros(2), 0)
    with pytest.raises(ParameterError, match="hidden"):
        train_mlp(np.ones((3, 2)), np.zeros(3), 0, hidden=0)
