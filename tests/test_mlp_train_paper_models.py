"""The papers' models in mlp-train (issue 20, points 5, 5b, 7, 8).

* multi-PCM synapses with global arbitration (Boybat et al., Nat. Commun. 2018): one device
  per update, chosen by a global counter that advances after every update -- a typed trace;
  the weight read equals ``s (mean_k G+_k - mean_k G-_k)`` computed here from the devices;
* program-and-verify writes (closed-loop refresh, weight transfer): the pair lands within
  the programming tolerance of the target weight;
* 3T1C fast weights (Ambrogio et al., Nature 2018): decay ``F(n) = F(0) exp(-n t_ex /
  tau)``, equal steps ``delta (1 +- a)`` by polarity, transfer to PCM within tolerance,
  checkpoint round trip;
* validation selection, the deterministic rule's refusal, Burr 2015's crop, the
  ``device_overrides`` field.
"""

import math

import numpy as np
import pytest

from neuropcm.config import load_config
from neuropcm.crossbar import Crossbar
from neuropcm.errors import NeuroPCMError, ParameterError
from neuropcm.workloads import get_workload
from neuropcm.workloads.learning import _mlp_training as T
from neuropcm.workloads.learning._mlp_results import selected_epoch
from neuropcm.workloads.learning.mlp_train import MlpTrainConfig, build, crop

W_ = get_workload("mlp-train")
SMALL = {"hidden": 8, "train": 60, "test": 40, "validation": 40, "epochs": 2, "seed": 5}


# --------------------------------------------------------------- global arbitration
def test_global_counter_selects_one_device_per_update_round_robin():
    """K = 4 devices per side on linear noise-free devices (``ideal``: 0.25 uS per SET
    pulse): update t writes only device t mod 4 of each weight, with the whole count of
    that update; the counter survives a state round trip."""
    K, step = 4, 0.25e-6
    W = np.zeros((3, 5))
    xb = Crossbar(W, "ideal", devices_per_weight=K, w_max=1.0, g_target=5e-6, seed=2,
                  read_noise=False)
    trace = []
    x = np.array([1.0, 0.5, 0.0, 1.0, 0.25])
    d = np.array([1.0, -1.0, 0.5])
    for t in range(9):
        gp0 = xb.arrays["G_plus"].conductance.copy()
        gm0 = xb.arrays["G_minus"].conductance.copy()
        counts = xb.update(x, d, 8 * xb.epsilon, mode="deterministic", arbitration="global")
        dgp = xb.arrays["G_plus"].conductance - gp0
        dgm = xb.arrays["G_minus"].conductance - gm0
        written = [k for k in range(K) if np.any(dgp[k]) or np.any(dgm[k])]
        trace.append(written)
        k = t % K
        np.testing.assert_allclose(dgp[k], np.clip(counts, 0, None) * step, atol=1e-15)
        np.testing.assert_allclose(dgm[k], np.clip(-counts, 0, None) * step, atol=1e-15)
    assert trace == [[0], [1], [2], [3], [0], [1], [2], [3], [0]]
    assert xb.arbitration_counter == 9 % K
    # the weight is the mapping of the devices: s (mean_k G+_k - mean_k G-_k)
    s = 1.0 / 5e-6
    gp, gm = xb.arrays["G_plus"].conductance, xb.arrays["G_minus"].conductance
    np.testing.assert_allclose(xb.effective_weights()[0], s * (gp.mean(0) - gm.mean(0)),
                               rtol=0, atol=1e-12)
    back = Crossbar.from_state(xb.state_dict())
    assert back.arbitration_counter == xb.arbitration_counter


def test_global_and_round_robin_move_the_weight_alike_on_linear_devices():
    """On linear devices the weight change of an update does not depend on which device
    takes the pulses: both arbitrations give ``counts * epsilon``."""
    W = np.zeros((2, 3))
    a = Crossbar(W, "ideal", devices_per_weight=2, w_max=1.0, g_target=5e-6, seed=1,
                 read_noise=False)
    b = Crossbar(W, "ideal", devices_per_weight=2, w_max=1.0, g_target=5e-6, seed=1,
                 read_noise=False)
    x, d = np.array([1.0, 0.3, 0.7]), np.array([0.6, -0.9])
    ca = a.update(x, d, 5 * a.epsilon, mode="deterministic", arbitration="round-robin")
    cb = b.update(x, d, 5 * b.epsilon, mode="deterministic", arbitration="global")
    np.testing.assert_array_equal(ca, cb)
    np.testing.assert_allclose(a.effective_weights()[0], ca * a.epsilon, atol=1e-12)
    np.testing.assert_allclose(b.effective_weights()[0], cb * b.epsilon, atol=1e-12)
    with pytest.raises(ParameterError, match="arbitration"):
        a.update(x, d, 0.1, arbitration="random")


# --------------------------------------------------------------- program-and-verify writes
def test_program_weights_lands_within_the_programming_tolerance():
    """nandakumar2018 (program_tol 0.5 uS): program-and-verify stops when a noisy verify
    read is within tol of |w| / s, so the noise-free conductance is within tol plus the read
    noise of that read (median error <= tol, all <= 3 tol); the other side is RESET, so
    |w_read - w| <= s (3 tol + G_other). Pairs outside the mask are not touched."""
    rng = np.random.default_rng(0)
    W0 = rng.uniform(-0.5, 0.5, (20, 30))
    xb = Crossbar(W0, "nandakumar2018", w_max=1.0, seed=3, read_noise=False)
    before = [xb.arrays[k].conductance.copy() for k in ("G_plus", "G_minus")]
    target = rng.uniform(-0.8, 0.8, W0.shape)
    mask = rng.random(W0.shape) < 0.5
    assert xb.program_weights(target, mask) == mask.sum()
    s, tol = xb.mapping.scale, 0.5e-6
    gp = xb.arrays["G_plus"].conductance[0]
    gm = xb.arrays["G_minus"].conductance[0]
    w = s * (gp - gm)
    other = np.where(target > 0, gm, gp)
    err = np.abs(w - target)[mask]
    assert np.all(err <= s * (3 * tol + other[mask]))
    assert np.median(np.abs(np.where(target > 0, gp, gm) - np.abs(target) / s)[mask]) <= tol
    for k, g in zip(("G_plus", "G_minus"), before, strict=True):
        np.testing.assert_array_equal(xb.arrays[k].conductance[0][~mask], g[0][~mask])


def test_closed_loop_refresh_keeps_the_difference_within_tolerance():
    """A pair selected by the threshold rule (oracle reads) and rewritten by
    program-and-verify keeps its difference within tol + the RESET side's conductance."""
    from neuropcm.devices.refresh import ThresholdRefresh

    W = np.full((6, 6), 0.2)
    xb = Crossbar(W, "nandakumar2018", w_max=1.0, seed=4, read_noise=False)
    rule = ThresholdRefresh(upper=0.0, lower=0.0, reads="programmed")  # every pair
    before = xb.arrays["G_plus"].conductance - xb.arrays["G_minus"].conductance
    assert xb.refresh(rule, verify=True) == W.size
    gp, gm = xb.arrays["G_plus"].conductance, xb.arrays["G_minus"].conductance
    err = np.abs((gp - gm) - before)
    assert np.all(err <= 3 * 0.5e-6 + np.where(before > 0, gm, gp))  # as above


# --------------------------------------------------------------- 3T1C
def _fast_layer(**kw):
    c = MlpTrainConfig(mode="3t1c", **{**SMALL, **kw})
    nets = build(c, c.sizes)
    return c, nets["pcm"][1]


def test_capacitor_decays_as_the_exponential():
    _, layer = _fast_layer(fast_tau=2e-3, example_time=1e-4, transfer_every=10 ** 6)
    F0 = np.linspace(-0.01, 0.01, layer.F.size).reshape(layer.F.shape)
    layer.F[...] = F0
    for n in (1, 7, 12):
        layer.step(n)
    np.testing.assert_allclose(layer.F, F0 * math.exp(-20 * 1e-4 / 2e-3), rtol=1e-12)


def test_capacitor_steps_are_equal_and_polarity_flips_the_asymmetry():
    """Deterministic counts n = rint(lr d x / delta); a step of F is delta (1 + a) when the
    capacitor charges (p n > 0) and delta (1 - a) when it discharges."""
    c, layer = _fast_layer(rule="deterministic", fast_asymmetry=0.2, transfer_every=10 ** 6)
    delta = c.fast_range * c.resolved("w_max")[1] / c.fast_steps
    assert layer.delta == pytest.approx(delta, rel=1e-15)
    m, n = layer.F.shape
    x = np.zeros((n, 1))
    x[0] = 1.0
    D = np.zeros((m, 1))
    D[0], D[1] = -3 * delta, 2 * delta  # lr = 1: counts +3 on (0, 0), -2 on (1, 0)
    layer.update(x, D, 1.0)
    assert layer.F[0, 0] == pytest.approx(3 * delta * 1.2)
    assert layer.F[1, 0] == pytest.approx(-2 * delta * 0.8)
    layer.F[...] = 0
    layer.polarity = -1
    layer.update(x, D, 1.0)
    assert layer.F[0, 0] == pytest.approx(3 * delta * 0.8)
    assert layer.F[1, 0] == pytest.approx(-2 * delta * 1.2)


def test_transfer_moves_the_fast_weight_into_pcm_within_tolerance():
    _, layer = _fast_layer(transfer_threshold=0.5)
    rng = np.random.default_rng(1)
    layer.F[...] = rng.uniform(-layer.f_max, layer.f_max, layer.F.shape)
    big = np.abs(layer.F) >= 0.5 * layer.f_max
    small_F = layer.F[~big].copy()
    w_slow = layer.slow.weights().copy()
    total = w_slow + layer.F
    assert layer.transfer() == big.sum() and layer.polarity == -1
    assert np.all(layer.F[big] == 0) and np.array_equal(layer.F[~big], small_F)
    s, tol = layer.xb.mapping.scale, 0.5e-6
    gp = layer.xb.arrays["G_plus"].conductance[0]
    gm = layer.xb.arrays["G_minus"].conductance[0]
    other = np.where(total > 0, gm, gp)
    err = np.abs(layer.weights() - total)[big]
    assert np.all(err <= s * (3 * tol + other[big]))  # as for program_weights
    np.testing.assert_array_equal(layer.slow.weights()[~big], w_slow[~big])


def test_3t1c_run_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    cfg = W_.config(mode="3t1c", transfer_every=20, **SMALL)
    full = W_.run(cfg, tmp_path / "full.h5", progress=False)
    real, calls = T.train_epoch, {"n": 0}

    def cut(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:  # epoch 2, first network
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(T, "train_epoch", cut)
    with pytest.raises(KeyboardInterrupt):
        W_.run(cfg, tmp_path / "cut.h5", progress=False)
    monkeypatch.setattr(T, "train_epoch", real)
    out = W_.run(cfg, tmp_path / "cut.h5", resume=True, progress=False)
    import neuropcm.io as nio

    a, b = nio.open(full), nio.open(out)
    for k in ("results/weights/layer0", "results/weights/layer1", "results/test_accuracy",
              "results/transferred_weights", "results/n_set"):
        np.testing.assert_array_equal(a.dataset(k), b.dataset(k), err_msg=k)
    assert a.results["selected_test_accuracy"] == b.results["selected_test_accuracy"]


# --------------------------------------------------------------- selection, checks, data
def test_selected_epoch_is_the_first_best_validation_epoch():
    assert selected_epoch({"validation_accuracy": [0.5, 0.7, 0.7, 0.6]}) == 1
    assert selected_epoch({"validation_accuracy": [np.nan, np.nan]}) == 1


def test_file_reports_the_test_accuracy_of_the_validation_selected_epoch(tmp_path):
    import neuropcm.io as nio

    f = nio.open(W_.run(W_.config(mode="mixed-precision", **{**SMALL, "epochs": 3}),
                        tmp_path / "r.h5", progress=False))
    v = f.dataset("results/validation_accuracy")
    t = f.dataset("results/test_accuracy")
    k = int(np.flatnonzero(v == v.max())[0])
    assert f.results["selected_epoch"] == k + 1
    assert f.results["selected_test_accuracy"] == t[k]
    assert f.results["test_accuracy"] == t[-1]
    assert "best_test_accuracy" not in f.results


def test_deterministic_rule_that_rounds_every_update_to_zero_is_refused(tmp_path):
    """At the in-situ defaults (lr 0.02) |lr d x| / epsilon < 0.5 everywhere: refused
    before training, naming the lr that would give pulses."""
    with pytest.raises(ParameterError, match=r"deterministic.*zero pulses.*lr >="):
        W_.run(W_.config(rule="deterministic", **SMALL), tmp_path / "x.h5", progress=False)
    assert not (tmp_path / "x.h5").exists()


def test_burr2015_crop_and_sizes():
    c = MlpTrainConfig(network="burr2015", train=10, test=10, validation=0)
    assert c.sizes == (528, 250, 125, 10) and c.resolved("w_max") == (0.5, 1.0, 1.5)
    imgs = np.arange(3 * 784, dtype=float).reshape(3, 28, 28)
    X = imgs.reshape(3, -1).T
    np.testing.assert_array_equal(crop(X), imgs[:, 2:26, 3:25].reshape(3, -1).T)
    with pytest.raises(NeuroPCMError, match="w_max"):
        MlpTrainConfig(network="burr2015", w_max=[0.5, 1.5])


@pytest.mark.parametrize("sets, words", [
    (['device_overrides={g_max = 1.5e-5}'], ["g_max", "unit"]),
    (['device_overrides={no_such = 1.0}'], ["no_such"]),
    (["refresh_lower=0.8", "refresh_upper=0.5"], ["refresh_lower"]),
    (["train=58000"], ["validation"]),
])
def test_bad_new_options_give_one_line_errors(sets, words):
    with pytest.raises(NeuroPCMError) as e:
        load_config(MlpTrainConfig, None, sets)
    assert all(w in str(e.value) for w in words) and "\n" not in str(e.value)


def test_device_overrides_with_units_reach_the_crossbars():
    c = load_config(MlpTrainConfig, None, ['device_overrides={g_max = "15 uS"}',
                                           "hidden=4", "train=10", "test=10",
                                           "validation=0"])
    assert c.device_overrides == {"g_max": pytest.approx(15e-6)}
    nets = build(c, c.sizes)
    assert nets["pcm"][0].xb.params.g_max == pytest.approx(15e-6)
