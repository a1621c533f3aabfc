"""Bad input to the rate-coded bridge: one-line errors naming the value and the fix,
raised before any work; valid edge cases still work."""

import numpy as np
import pytest

from neuropcm.bridge import (SynapseLayout, coding, crossbar_from_synapses,
                             crossbar_mlp_logits, decode_rates, flat_to_matrix, mlp_crossbars,
                             parse_layout, poisson_spikes, rate_scores, relative_rates,
                             run_crossbar_mlp_snn, run_mlp_snn, run_rate_snn, train_mlp,
                             train_softmax, with_bias)
from neuropcm.errors import ParameterError, ShapeError, UnitError


def refused(exc, match, f, *args, **kw):
    """``f(*args, **kw)`` raises ``exc`` with a one-line message matching ``match``."""
    with pytest.raises(exc, match=match) as e:
        f(*args, **kw)
    assert "\n" not in str(e.value), str(e.value)
    return str(e.value)


def _b2():
    import brian2

    return brian2


# ---------------------------------------------------------------- relative_rates
@pytest.mark.parametrize("images,match", [
    ([[np.nan, 3.0]], "images contains nan"),
    ([[np.inf, 3.0]], "images contains inf"),
    ([[-3, 1]], "negative pixel value -3"),
    ([[-0.5, 10.0]], "negative pixel value -0.5"),
    ([[300, 1]], "300"),
])
def test_relative_rates_refuses_bad_pixels(images, match):
    refused(ParameterError, match, relative_rates, np.array(images))


@pytest.mark.parametrize("images,top", [(np.full((2, 4), 0.5), "0.5"), (np.eye(3), "1.0"),
                                        (np.full((1, 4), 1.0, np.float32), "1.0")])
def test_relative_rates_refuses_images_already_scaled(images, top):
    msg = refused(ParameterError, f"maximum {top} <= 1", relative_rates, images)
    assert "0..255" in msg and "full_scale=1" in msg


@pytest.mark.parametrize("images,exc,match", [
    (np.ones((2, 4), bool), ParameterError, "dtype bool"),
    ([["a", "b"]], ParameterError, "dtype <U1"),
    (np.ones(4), ShapeError, r"\(4,\)"),
    (np.ones((0, 4)), ShapeError, r"\(0, 4\)"),
])
def test_relative_rates_refuses_wrong_dtype_and_shape(images, exc, match):
    refused(exc, match, relative_rates, images)


@pytest.mark.parametrize("full_scale,exc", [(0, ParameterError), (-1.0, ParameterError),
                                            (np.nan, ParameterError), ("255", ParameterError),
                                            ("ms", UnitError)])
def test_relative_rates_refuses_bad_full_scale(full_scale, exc):
    if full_scale == "ms":
        full_scale = 255 * _b2().ms
    refused(exc, "full_scale", relative_rates, np.ones((1, 2)), full_scale=full_scale)


def test_relative_rates_valid_edge_cases():
    np.testing.assert_array_equal(relative_rates(np.zeros((2, 3))), np.zeros((2, 3)))
    np.testing.assert_array_equal(relative_rates(np.zeros((2, 3), np.uint8)), np.zeros((2, 3)))
    x = np.array([[0.0, 0.25, 1.0]])
    np.testing.assert_array_equal(relative_rates(x, full_scale=1), x)  # already in [0, 1]
    np.testing.assert_array_equal(relative_rates(x, full_scale=255), x / 255)  # dim, kept
    np.testing.assert_array_equal(relative_rates([[1, 0]]), [[1 / 255, 0.0]])  # integers
    np.testing.assert_array_equal(relative_rates([[127.5, 255.0]]), [[0.5, 1.0]])


# ---------------------------------------------------------------- decode_rates
@pytest.mark.parametrize("spikes,n,exc,match", [
    (([0, 5], [0.1, 0.2]), 3, ParameterError, r"contain 5, .*n = 3.*n > 5"),
    (([0, 3], [0.1, 0.9]), 3, ParameterError, r"contain 3, .*n = 3"),
    (([0, -1], [0.1, 0.2]), 3, ParameterError, "contain -1"),
    (([0, 1], [0.1, np.nan]), 3, ParameterError, "spike times contains nan"),
    (([0, 1], [0.1, np.inf]), 3, ParameterError, "spike times contains inf"),
    (([0.5], [0.1]), 3, ParameterError, "neuron index 0.5"),
    (([0, 1], [0.1]), 3, ShapeError, r"\(2,\) and spike times \(1,\)"),
    ((np.zeros((2, 1)), np.zeros((2, 1))), 3, ShapeError, r"\(2, 1\)"),
    (np.arange(3), 3, ParameterError, "spikes is a ndarray"),
    ((["a"], [0.1]), 3, ParameterError, "spike indices has dtype"),
    (([], []), -1, ParameterError, "n = -1"),
    (([], []), 2.5, ParameterError, "n = 2.5"),
    (([], []), "3", ParameterError, "n = '3'"),
])
def test_decode_rates_refuses(spikes, n, exc, match):
    refused(exc, match, decode_rates, spikes, n, 0.0, 1.0)


@pytest.mark.parametrize("t0,t1,exc,match", [
    (np.nan, 1.0, ParameterError, "t_start = nan"),
    (0.0, np.inf, ParameterError, "t_stop = inf"),
    (1.0, 1.0, ParameterError, "empty"),
    ("volt", 1.0, UnitError, "t_start"),
])
def test_decode_rates_refuses_bad_window(t0, t1, exc, match):
    if t0 == "volt":
        t0 = 0 * _b2().volt
    refused(exc, match, decode_rates, ([0], [0.1]), 2, t0, t1)


def test_decode_rates_valid_edge_cases():
    np.testing.assert_array_equal(decode_rates(([], []), 3, 0.0, 1.0), [0.0, 0.0, 0.0])
    assert decode_rates(([], []), 0, 0.0, 1.0).shape == (0,)
    # spikes outside the window are not counted, but still valid; float whole indices
    np.testing.assert_array_equal(decode_rates(([0.0, 2.0, 1.0], [0.5, 0.1, 3.0]), 3,
                                               0.0, 2.0), [0.5, 0.0, 0.5])
    b = _b2()
    np.testing.assert_allclose(decode_rates(([0, 1], [100, 700] * b.ms), 2, 0 * b.ms,
                                            500 * b.ms), [2.0, 0.0])


# ---------------------------------------------------------------- poisson_spikes
@pytest.mark.parametrize("kw,exc,match", [
    ({"duration": np.inf}, ParameterError, "duration = inf"),
    ({"duration": np.nan}, ParameterError, "duration = nan"),
    ({"duration": -1.0}, ParameterError, "duration = -1.0"),
    ({"duration": 0.0}, ParameterError, "duration = 0.0"),
    ({"duration": 0.0015}, ParameterError, r"duration = 0.0015 s is 1.5 steps"),
    ({"duration": 1e300, "dt": 1e-10}, ParameterError, "duration = 1e\\+300"),
    ({"dt": 0.0}, ParameterError, "dt = 0.0"),
    ({"dt": np.nan}, ParameterError, "dt = nan"),
    ({"dt": np.inf}, ParameterError, "dt = inf"),
    ({"rates": [np.nan]}, ParameterError, "rates contains nan"),
    ({"rates": [np.inf]}, ParameterError, "rates contains inf"),
    ({"rates": [5.0, -1.0]}, ParameterError, "negative rate -1.0"),
    ({"rates": np.ones((2, 2))}, ShapeError, r"rates has shape \(2, 2\)"),
    ({"rates": ["x"]}, ParameterError, "rates has dtype"),
    ({"duration": "Hz"}, UnitError, "duration"),
    ({"rates": "ms"}, UnitError, "rates"),
    ({"seed": -1}, ParameterError, "seed = -1"),
])
def test_poisson_spikes_refuses(kw, exc, match):
    b = _b2()
    args = {"rates": [10.0, 20.0], "duration": 0.5, "dt": 1e-3, "seed": 0}
    args.update(kw)
    if args["duration"] == "Hz":
        args["duration"] = 0.5 * b.Hz
    if isinstance(args["rates"], str):
        args["rates"] = np.array([1.0, 2.0]) * b.ms
    refused(exc, match, poisson_spikes, args["rates"], args["duration"], args["dt"],
            args["seed"])


def test_poisson_spikes_refuses_an_array_beyond_memory():
    """1e9 steps x 1e5 inputs: refused at once with the estimate, nothing allocated."""
    msg = refused(ParameterError, r"\(1000000000, 100000\) spike array", poisson_spikes,
                  np.full(100_000, 10.0), 1e6, 1e-3, 0)
    assert "~1e+12 spikes" in msg and "GiB" in msg and "shorten duration" in msg


def test_poisson_spikes_valid_edge_cases(monkeypatch):
    b = _b2()
    assert poisson_spikes([], 0.5, 1e-3, 0).shape == (500, 0)
    assert not poisson_spikes(np.zeros(3), 0.5, 1e-3, 0).any()
    assert poisson_spikes([1000.0], 0.01, 1e-3, 0).all()  # p = 1
    r = np.array([10.0, 50.0, 0.0])
    a = poisson_spikes(r, 0.5, 1e-3, 4, "q")
    np.testing.assert_array_equal(poisson_spikes(r * b.Hz, 500 * b.ms, 1 * b.ms, 4, "q"), a)
    # drawn in chunks: the very stream of one (steps, n) draw
    monkeypatch.setattr(coding, "_CHUNK", 7)
    np.testing.assert_array_equal(poisson_spikes(r, 0.5, 1e-3, 4, "q"), a)
    from neuropcm.random import rng
    np.testing.assert_array_equal(a, rng(4, "bridge", "poisson", "q").random((500, 3))
                                  < r * 1e-3)


# ---------------------------------------------------------------- training
_X = np.random.default_rng(0).random((20, 3))
_Y = np.arange(20) % 3
TRAINERS = [pytest.param(train_softmax, id="softmax"), pytest.param(train_mlp, id="mlp")]


@pytest.mark.parametrize("train", TRAINERS)
@pytest.mark.parametrize("kw,match", [
    ({"lr": 0}, "lr = 0"), ({"lr": -0.1}, "lr = -0.1"), ({"lr": np.nan}, "lr = nan"),
    ({"lr": np.inf}, "lr = inf"), ({"lr": "0.1"}, "lr = '0.1'"),
    ({"lr": np.arange(100.0)}, r"lr = ndarray of shape \(100,\)"),
    ({"epochs": 0}, "epochs = 0"), ({"epochs": 2.5}, "epochs = 2.5"),
    ({"epochs": True}, "epochs = True"), ({"batch": 0}, "batch = 0"),
    ({"batch": np.nan}, "batch = nan"), ({"classes": 0}, "classes = 0"),
    ({"classes": 2}, "label 2.*classes > 2"),
])
def test_training_refuses_bad_hyperparameters(train, kw, match):
    refused(ParameterError, match, train, _X, _Y, 0, **{"classes": 3, **kw})


@pytest.mark.parametrize("train", TRAINERS)
@pytest.mark.parametrize("x,y,exc,match", [
    (np.where(_X > 0.5, np.nan, _X), _Y, ParameterError, "x contains nan"),
    (np.where(_X > 0.5, np.inf, _X), _Y, ParameterError, "x contains inf"),
    (_X * 255, _Y, ParameterError, r"x contains 2\d\d\.\d+; inputs must lie in \[0, 1\]"),
    (_X - 0.5, _Y, ParameterError, r"x contains -0\.\d+"),
    (_X, _Y + 1, ParameterError, r"label 3; .*\[0, 3\)"),
    (_X, _Y - 1, ParameterError, "label -1"),
    (_X, _Y + 0.5, ParameterError, "label 0.5"),
    (_X, _Y.astype(bool), ParameterError, "y has dtype bool"),
    (_X, _Y[:5], ShapeError, r"x \(20, 3\) and y \(5,\)"),
    (_X[:, 0], _Y, ShapeError, r"x \(20,\)"),
    (_X[:0], _Y[:0], ShapeError, r"x \(0, 3\)"),
])
def test_training_refuses_bad_data(train, x, y, exc, match):
    refused(exc, match, train, x, y, 0, classes=3)


@pytest.mark.parametrize("hidden", [0, 2.5, -1, np.nan, "8"])
def test_train_mlp_refuses_bad_hidden(hidden):
    refused(ParameterError, "hidden", train_mlp, _X, _Y, 0, hidden=hidden, classes=3)


def test_train_mlp_refuses_diverged_training():
    with np.errstate(all="ignore"):
        refused(ParameterError, "diverged.*lr = 1e\\+200", train_mlp, _X, _Y, 0,
                classes=3, lr=1e200)


@pytest.mark.parametrize("train", TRAINERS)
def test_training_valid_edge_cases(train):
    a = train(_X, _Y, 0, classes=3, epochs=1)
    b = train(_X, _Y.astype(float), 0, classes=3.0, epochs=1.0)  # whole floats kept
    c = train(np.zeros((1, 3)), np.zeros(1, np.uint8), 0, classes=3)  # one blank example
    for r in (a, b, c):
        assert all(np.all(np.isfinite(w)) for w in r)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))


# ---------------------------------------------------------------- rate_scores
@pytest.mark.parametrize("currents,theta,match", [
    (np.ones((3, 4)), np.ones(5), r"currents \(3, 4\) and theta \(5,\)"),
    (np.ones(4), np.ones(4), r"currents \(4,\) and theta \(4,\)"),
    (np.ones((3, 4)), np.ones((1, 4)), r"currents \(3, 4\) and theta \(1, 4\)"),
])
def test_rate_scores_refuses_mismatched_shapes(currents, theta, match):
    refused(ShapeError, match, rate_scores, currents, theta, 0.02, 0.01)


@pytest.mark.parametrize("kw,exc,match", [
    ({"currents": np.full((3, 4), np.nan)}, ParameterError, "currents contains nan"),
    ({"theta": np.array([0.0, np.inf, 0, 0])}, ParameterError, "theta contains inf"),
    ({"tau_m": 0.0}, ParameterError, "tau_m = 0.0"),
    ({"tau_m": np.nan}, ParameterError, "tau_m = nan"),
    ({"v_thresh": np.nan}, ParameterError, "v_thresh = nan"),
    ({"tau_m": "mV"}, UnitError, "tau_m"),
    ({"theta": "s"}, UnitError, "theta"),
])
def test_rate_scores_refuses(kw, exc, match):
    b = _b2()
    args = {"currents": np.ones((3, 4)), "theta": np.zeros(4), "tau_m": 0.02,
            "v_thresh": 0.01}
    args.update(kw)
    if args["tau_m"] == "mV":
        args["tau_m"] = 20 * b.mV
    if isinstance(args["theta"], str):
        args["theta"] = np.zeros(4) * b.second
    refused(exc, match, rate_scores, *args.values())


def test_rate_scores_accepts_quantities_and_either_orientation():
    b = _b2()
    c, th = np.arange(12.0).reshape(3, 4), np.linspace(0, 0.01, 4)
    s = rate_scores(c, th, 0.02, -0.05)
    np.testing.assert_allclose(rate_scores(c.T, th, 0.02, -0.05), s)
    np.testing.assert_allclose(rate_scores(c * b.volt / b.second, th * b.volt, 20 * b.ms,
                                           -50 * b.mV), s)


# ---------------------------------------------------------------- layout
@pytest.mark.parametrize("n_in,n_out,match", [(-1, 3, "n_in = -1"), (2.5, 3, "n_in = 2.5"),
                                              (4, 0, "n_out = 0"), (4, "3", "n_out = '3'")])
def test_synapse_layout_refuses_bad_sizes(n_in, n_out, match):
    refused(ParameterError, match, SynapseLayout, n_in, n_out)


@pytest.mark.parametrize("neuron,inp,match", [(3, 0, "neuron = 3"), (-1, 0, "neuron = -1"),
                                              (0, 4, "inp = 4"), (0.5, 0, "index 0.5")])
def test_synapse_layout_index_refuses_out_of_range(neuron, inp, match):
    refused(ParameterError, match, SynapseLayout(4, 3).index, neuron, inp)


@pytest.mark.parametrize("size", [-12, 12.5, 0])
def test_parse_layout_refuses_bad_size(size):
    refused(ParameterError, f"size = {size}", parse_layout,
            "flat synapse order k = input * 3 + neuron", size)


def test_flat_to_matrix_and_crossbar_refuse_bad_values_and_layout():
    L = SynapseLayout(4, 3)
    refused(ShapeError, r"values have shape \(3, 4\)", flat_to_matrix, np.ones((3, 4)), L)
    refused(ParameterError, "layout is a tuple", flat_to_matrix, np.ones(12), (4, 3))
    refused(ParameterError, "layout is a tuple", crossbar_from_synapses, None, None, 1.0,
            (4, 3))


def test_layout_valid_edge_cases():
    L = SynapseLayout(4.0, 3)
    assert (L.n_in, L.n_out) == (4, 3) and isinstance(L.n_in, int)
    np.testing.assert_array_equal(L.index([0, 2], [3, 3]), [9, 11])
    assert SynapseLayout(1, 1).index(0, 0) == 0


# ---------------------------------------------------------------- MLP on crossbars, SNN
@pytest.mark.parametrize("x,exc,match", [
    (np.ones(3), ShapeError, r"x has shape \(3,\)"),
    (np.full((1, 3), np.nan), ParameterError, "x contains nan"),
])
def test_with_bias_refuses(x, exc, match):
    refused(exc, match, with_bias, x)


@pytest.fixture(scope="module")
def small_mlp():
    mlp = train_mlp(_X, _Y, 0, hidden=4, classes=3, epochs=1)
    return mlp, mlp_crossbars(mlp, "ideal", seed=0)


def test_mlp_crossbars_refuses_bad_mlp(small_mlp):
    mlp = small_mlp[0]
    refused(ParameterError, "mlp is a tuple", mlp_crossbars, tuple(mlp))
    refused(ParameterError, "mlp.scale = 0", mlp_crossbars, mlp._replace(scale=0.0))
    refused(ParameterError, "mlp.scale = nan", mlp_crossbars, mlp._replace(scale=np.nan))
    refused(ParameterError, "mlp.W1 contains nan", mlp_crossbars,
            mlp._replace(W1=np.full_like(mlp.W1, np.nan)))
    refused(ShapeError, r"mlp.W1 \(4, 3\), b1 \(5,\)", mlp_crossbars,
            mlp._replace(b1=np.zeros(5)))


def test_crossbar_mlp_logits_refuses(small_mlp):
    mlp, (xb1, xb2) = small_mlp
    refused(ParameterError, "scale = 0", crossbar_mlp_logits, xb1, xb2, _X, 0)
    refused(ParameterError, "scale = inf", crossbar_mlp_logits, xb1, xb2, _X, np.inf)
    refused(ParameterError, "xb1 is a ndarray", crossbar_mlp_logits, np.ones((4, 4)), xb2,
            _X, 1.0)
    refused(ShapeError, r"crossbars \(4, 4\), \(3, 5\) and 2 inputs", crossbar_mlp_logits,
            xb1, xb2, _X[:, :2], 1.0)
    refused(ShapeError, r"crossbars \(3, 5\), \(4, 4\)", crossbar_mlp_logits, xb2, xb1, _X,
            1.0)
    refused(ParameterError, "xb2 is a NoneType", run_crossbar_mlp_snn, xb1, None, _X, 1.0)
    assert crossbar_mlp_logits(xb1, xb2, _X, mlp.scale).shape == (20, 3)


_W1, _W2, _XS = np.ones((4, 3)), np.ones((2, 5)), np.full((1, 2), 0.5)
_SNN_BAD = [
    ({"duration": np.inf}, ParameterError, "duration = inf"),
    ({"duration": np.nan}, ParameterError, "duration = nan"),
    ({"duration": 0.0}, ParameterError, "duration = 0.0"),
    ({"duration": 0.0015}, ParameterError, "1.5 steps"),
    ({"dt": 0.0}, ParameterError, "dt = 0.0"),
    ({"dt": -1e-3}, ParameterError, "dt = -0.001"),
    ({"max_rate": np.nan}, ParameterError, "max_rate = nan"),
    ({"max_rate": -5.0}, ParameterError, "max_rate = -5.0"),
    ({"max_rate": 2000.0}, ParameterError, r"max_rate 2000.0 Hz \* dt"),
    ({"spikes_top": 0.0}, ParameterError, "spikes_top = 0.0"),
    ({"spikes_top": np.nan}, ParameterError, "spikes_top = nan"),
    ({"seed": -1}, ParameterError, "seed = -1"),
    ({"duration": "Hz"}, UnitError, "duration"),
]


def _kw(kw):
    if kw.get("duration") == "Hz":
        kw = {**kw, "duration": 0.5 * _b2().Hz}
    return kw


@pytest.mark.parametrize("kw,exc,match", _SNN_BAD)
def test_run_rate_snn_refuses(kw, exc, match):
    refused(exc, match, run_rate_snn, np.ones((2, 2)), _XS, **_kw(kw))


@pytest.mark.parametrize("kw,exc,match", _SNN_BAD + [
    ({"scale": np.inf}, ParameterError, "scale = inf"),
    ({"scale": np.nan}, ParameterError, "scale = nan"),
])
def test_run_mlp_snn_refuses(kw, exc, match):
    kw = _kw(kw)
    scale = kw.pop("scale", 1.0)
    refused(exc, match, run_mlp_snn, _W1, _W2, _XS, scale, **kw)


@pytest.mark.parametrize("w,x,exc,match", [
    (np.full((2, 2), np.nan), _XS, ParameterError, "weights contains nan"),
    (np.ones((2, 2)), np.full((1, 2), np.nan), ParameterError, "x contains nan"),
    (np.ones((2, 2)), np.ones((0, 2)), ShapeError, r"x has shape \(0, 2\)"),
    (np.ones((2, 2)), np.full((1, 2), 1.5), ParameterError, "x must lie in .* 1.5"),
])
def test_run_rate_snn_refuses_bad_arrays(w, x, exc, match):
    refused(exc, match, run_rate_snn, w, x)
    if w.shape == (2, 2) and np.isfinite(w).all():
        refused(exc, match, run_mlp_snn, _W1[:, :3], _W2, x, 1.0)
