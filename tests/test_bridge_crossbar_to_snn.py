"""Crossbar -> SNN: a crossbar-stored classifier run as a rate-coded spiking network."""

import numpy as np
import pytest

from neuropcm.bridge import relative_rates, run_rate_snn, train_softmax, with_bias
from neuropcm.crossbar import Crossbar
from neuropcm.datasets import load_mnist
from neuropcm.errors import ParameterError, ShapeError


@pytest.fixture(scope="module")
def model():
    import brian2

    brian2.prefs.codegen.target = "numpy"
    xt, yt = load_mnist("train", limit=3000)
    W, b = train_softmax(relative_rates(xt), yt, 0, epochs=3)
    xs, ys = load_mnist("test", limit=200)
    xb = Crossbar(np.hstack([W, b[:, None]]), "joshi2020", seed=0)
    return W, b, xb, with_bias(relative_rates(xs)), ys, relative_rates(xt), yt


def test_softmax_learns_and_is_seeded(model):
    W, b, _, _, _, xt, yt = model
    assert np.mean(np.argmax(xt @ W.T + b, 1) == yt) > 0.85
    W2, _ = train_softmax(xt[:500], yt[:500], 0, epochs=1)
    W3, _ = train_softmax(xt[:500], yt[:500], 0, epochs=1)
    W4, _ = train_softmax(xt[:500], yt[:500], 1, epochs=1)
    assert np.array_equal(W2, W3) and not np.array_equal(W2, W4)


def test_spiking_and_crossbar_accuracy_agree(model):
    """Margin: the SNN integrates the crossbar's own weights over Poisson input counts
    (~20 spikes per bright pixel), so only examples within the Poisson error of a tie may
    flip: predictions agree on >= 95 % and accuracies within 3 points on 200 images."""
    _, _, xb, X, ys, _, _ = model
    mvm = np.argmax((xb @ X.T).T, 1)
    snn = np.argmax(run_rate_snn(xb.effective_weights()[0], X, seed=0), 1)
    assert np.mean(snn == mvm) >= 0.95
    assert abs(np.mean(snn == ys) - np.mean(mvm == ys)) <= 0.03
    assert np.mean(snn == ys) > 0.8


def test_if_count_is_input_count_over_theta():
    """One bright input to one class: that neuron's count is floor(w n / theta)."""
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
