"""drift-resilient workload: seed 2's MLP on PCM crossbars (Muñoz-Martín et al. 2021).

A small network (784-40-10, 10,000 training images, 2 epochs) is trained once per module;
the mapped networks read 1,500 test images. Accuracy differences are compared with a
tolerance of a few binomial standard errors of the test-set accuracy.
"""

import math

import numpy as np
import pytest

import neuropcm.io as nio
from neuropcm.crossbar import quantise_offset
from neuropcm.datasets import load_mnist
from neuropcm.errors import ParameterError
from neuropcm.workloads import get_workload
from neuropcm.workloads.learning import _drift_sweeps as sweeps
from neuropcm.workloads.learning._drift_network import (
    IDEAL_DRIFT,
    MappedMLP,
    expand_unary,
    grid_offset,
    quantise,
    unary_code,
)
from neuropcm.workloads.learning._mlp import images_to_columns, train_float, with_ones
from neuropcm.workloads.learning.drift_resilient import DriftResilientConfig

W_ = get_workload("drift-resilient")
N_TEST = 1500
T_MAX_AGE = (1e6 - 1) * 20.0  # 10^6 t0 of the presets (t0 = 20 s)


@pytest.fixture(scope="module")
def net():
    xtr, ytr = load_mnist("train", limit=10_000)
    xte, yte = load_mnist("test", limit=N_TEST)
    Xtr, Xte = images_to_columns(xtr), images_to_columns(xte)
    W = train_float(Xtr, ytr.astype(np.int64), (784, 40, 10), seed=1, epochs=2, lr=0.5,
                    batch=10)
    return dict(W=W, Xcal=Xtr[:, :500], Xte=Xte, X1=with_ones(Xte), y=yte.astype(np.int64))


def float_reference(W1q, W2q, X):
    """The quantised network in float, written out here: h = 1/(1 + e^-a),
    u = rint(6 h), a2 = W2q [u/6; 1]."""
    a1 = W1q @ np.vstack([X, np.ones((1, X.shape[1]))])
    u = np.rint(6.0 / (1.0 + np.exp(-a1)))
    a2 = W2q @ np.vstack([u / 6.0, np.ones((1, X.shape[1]))])
    return a2, u


def same_predictions(p, a2):
    """``p`` is the reference's class, or one of its tied top classes: with integer codes
    and unary inputs, ``a2`` is a multiple of delta/6 and two classes can tie exactly (the
    float reference then picks the first; a read rounded differently another)."""
    top = a2 >= a2.max(axis=0) - 1e-9 * np.abs(a2).max()
    return bool(np.all(top[p, np.arange(a2.shape[1])]))


def accuracy(p, y):
    return float((p == y).mean())


# ------------------------------------------------------------------ the mapping
@pytest.mark.parametrize("levels", [2, 4, 16, 64])
def test_quantiser_keeps_zero_and_the_crossbar_keeps_its_codes(levels):
    W = np.random.default_rng(levels).normal(0.0, 1.0, (30, 40))
    W[0, :5] = 0.0
    Wq, q, q_c, delta = quantise(W, levels)
    d = (W.max() - W.min()) / (levels - 1)
    assert delta == pytest.approx(d, rel=1e-12)
    assert q.min() == 0 and q.max() == levels - 1
    assert np.all(Wq[0, :5] == 0.0)                       # a zero weight stays zero
    assert np.max(np.abs(Wq - W)) <= d / 2 * (1 + 1e-9)   # round to nearest on the grid
    # the crossbar's own positive-only quantiser returns the same step and codes for Wq
    q2, qc2, d2 = quantise_offset(Wq, int(math.log2(levels)))
    assert d2 == pytest.approx(d, rel=1e-9) and qc2 == q_c and np.array_equal(q2, q)


def test_unary_code_is_a_thermometer_code():
    h = np.array([[0.0, 0.04, 0.09, 0.5, 0.92, 1.0]])
    U = unary_code(h)
    assert U.shape == (12, 6)
    on = U[:6].sum(axis=0)
    assert list(on) == [0, 0, 1, 3, 6, 6]                 # rint(6 h)
    assert np.all(np.diff(U[:6], axis=0) <= 0)            # lines 0..k-1 on, then off
    assert np.all(U[6:] == 1)                             # the bias unit
    W2 = np.arange(6.0).reshape(3, 2)
    E = expand_unary(W2)
    # 6 lines of W2/6 each: a unit with h = 0.5 (3 lines on) contributes W2 * 3/6
    np.testing.assert_allclose(E @ unary_code(np.array([[0.5]])),
                               W2 @ np.array([[0.5], [1.0]]), rtol=1e-12)


@pytest.mark.parametrize("mode", ["neuron", "line"])
def test_ideal_devices_reproduce_the_quantised_float_network(net, mode):
    W1q, W2q = quantise(net["W"][0], 16)[0], quantise(net["W"][1], 16)[0]
    a2, u_ref = float_reference(W1q, W2q, net["Xte"])
    for adc in (None, 30):
        m = MappedMLP(W1q, W2q, weights="digital", levels=16, adc_bits=adc,
                      calibration=net["Xcal"], preset="ideal", seed=3, adc_mode=mode)
        for age in (0.0, T_MAX_AGE):  # ideal devices do not drift: K stays 1
            p = m.advance_to(age).predict(net["X1"])
            assert same_predictions(p["lrs"], a2) and same_predictions(p["none"], a2)
        if adc is None:  # exact: the hidden codes too
            Y1 = m.crossbars[0].read(net["X1"], compensate=False)
            assert np.array_equal(np.rint(6.0 / (1.0 + np.exp(-Y1))), u_ref)


# ------------------------------------------------------------------ the paper's properties
def test_digital_weights_with_k_resist_drift_and_analog_do_not(net):
    """Seed 2 Figs. 6b and 8: 4-bit digital weights with dummy lines and K keep their
    accuracy at 10^6 t0 within 1 % of t0; 64-level analog weights (state-dependent drift)
    lose more; without K the digital ones lose more than with it. The digital devices
    drift with the binary preset as it is (LRS nu 0.03, HRS 0.09, spread 8 %); the
    K-against-dummy-lines-only comparison uses a stronger common drift (LRS nu 0.06, no
    spread), where the narrowing that only K undoes is large on a small test set."""
    y, X1 = net["y"], net["X1"]
    se = math.sqrt(0.9 * 0.1 / N_TEST)  # binomial standard error of one accuracy

    def run(weights, levels, preset, overrides, seeds=(0, 1, 2)):
        W1q, W2q = quantise(net["W"][0], levels)[0], quantise(net["W"][1], levels)[0]
        a = []
        for s in seeds:
            m = MappedMLP(W1q, W2q, weights=weights, levels=levels, adc_bits=6,
                          calibration=net["Xcal"], preset=preset, seed=s,
                          device_overrides=overrides)
            a0 = accuracy(m.predict(X1)["lrs"], y)
            p = m.advance_to(T_MAX_AGE).predict(X1)
            a.append((a0, accuracy(p["lrs"], y), accuracy(p["none"], y)))
        return np.mean(a, axis=0)

    d0, d_lrs, _ = run("digital", 16, "binary", None)
    a0, a_lrs, _ = run("analog", 64, "joshi2020", None)
    assert d0 - d_lrs < 0.01, (d0, d_lrs)
    assert (a0 - a_lrs) - (d0 - d_lrs) > 2 * se, (a0, a_lrs, d0, d_lrs)
    strong = {"nu_b": 0.06, "nu_a": 0.0, "nu_d": 0.0, "nu_c": 0.0}
    _, s_lrs, s_none = run("digital", 16, "binary", strong, seeds=(0,))
    assert s_lrs - s_none > 3 * se, (s_lrs, s_none)


def test_analog_ideal_drift_is_recovered_by_k(net):
    """Fig. 6a: one drift exponent for every state, so K = T^nu undoes the drift of every
    weight; at 10^6 t0 the K-compensated accuracy beats the uncompensated one."""
    W1q, W2q = quantise(net["W"][0], 64)[0], quantise(net["W"][1], 64)[0]
    m = MappedMLP(W1q, W2q, weights="analog", levels=64, adc_bits=6, calibration=net["Xcal"],
                  preset="joshi2020", seed=5, device_overrides=IDEAL_DRIFT)
    a0 = accuracy(m.predict(net["X1"])["lrs"], net["y"])
    p = m.advance_to(T_MAX_AGE).predict(net["X1"])
    se = math.sqrt(0.9 * 0.1 / N_TEST)
    k1, k2 = m.factors()
    T = 1e6
    # every device nu = 0.05: K = <G0>/<G0 T^-0.05> = T^0.05 up to the read noise of the
    # column (a few % per device, averaged over its 785 or 246 devices)
    assert k1 == pytest.approx(T ** 0.05, rel=0.01) and k2 == pytest.approx(T ** 0.05, rel=0.02)
    assert accuracy(p["lrs"], net["y"]) - accuracy(p["none"], net["y"]) > 3 * se
    assert a0 - accuracy(p["lrs"], net["y"]) < 0.02


def test_k_factor_of_binary_devices_follows_the_drift_exponent_distribution(net):
    """K(T) = <G_LRS(t0)>/<G_LRS(t)> with nu ~ |N(mu, s)| at the LRS: the binary preset's
    mean nu = 0.03 - 0.06 ln(gn)/ln(100) (0.03 at gn = 1, 0.09 at the HRS gn = 0.01) with
    E[ln gn] = -0.05 phi(0) = -0.0199 for an LRS of min(N(1, 0.05^2), 1) (programming
    saturates at g_max), so mu = 0.03026; s = 0.08 mu. E[T^-nu] = exp(-mu L + s^2 L^2/2),
    L = ln T (the |.| is negligible: mu/s = 12), so K = 1/E[T^-nu]. Tolerance: the
    per-device factor spread s L (3 % at T = 10^6) plus ~5 % read noise over 785
    devices, 4 standard errors, plus the spread of mu with gn (0.1 % of mu L)."""
    W1q, W2q = quantise(net["W"][0], 16)[0], quantise(net["W"][1], 16)[0]
    m = MappedMLP(W1q, W2q, weights="digital", levels=16, adc_bits=6, calibration=net["Xcal"],
                  preset="binary", seed=11)
    assert m.factors() == (1.0, 1.0)
    mu = 0.03 - 0.06 / math.log(100.0) * (-0.05 / math.sqrt(2 * math.pi))
    s = 0.08 * 0.03
    for T in (1e3, 1e6):
        m.advance_to((T - 1) * 20.0)
        L = math.log(T)
        expect = 1.0 / math.exp(-mu * L + (s * L) ** 2 / 2)
        rel_se = math.hypot(s * L, 0.06) / math.sqrt(785)
        assert m.factors()[0] == pytest.approx(expect, rel=4 * rel_se + 1e-3 * mu * L)


# ------------------------------------------------------------------ the workload file
SMALL = dict(train=2000, test=300, calibration=200, hidden=12, epochs=1, instances=2,
             sweep_instances=1, time_points=2, bits_sweep=[4], adc_sweep=[6],
             levels_sweep=[16], seed=2)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("dr") / "dr.h5"
    W_.run(W_.config(**SMALL), path, progress=False)
    return path


def test_file_kind_datasets_units_and_counters(small):
    r = nio.open(small)
    assert r.kind.name == "drift_resilient"
    for k in ("accuracy_t0", "accuracy_final", "software_accuracy"):
        assert 0.0 <= r.results[k] <= 1.0
    assert r.units["accuracy_t0"] == "1" and r.units["t0"] == "s"
    assert r.datasets["results/time"].units == "s"
    assert r.datasets["results/counters/energy"].units == "J"
    assert r.datasets["results/counters/n_read"].units == "count"
    acc = r.dataset("results/drift/accuracy_lrs")
    assert acc.shape == (2, 2)
    assert r.results["accuracy_t0"] == pytest.approx(acc[0].mean())
    assert r.results["accuracy_final"] == pytest.approx(acc[-1].mean())
    T = r.dataset("results/time_over_t0")
    assert T[0] == 1.0 and T[-1] == pytest.approx(1e6)
    assert r.dataset("results/analog/accuracy_state_lrs").shape == (1, 2, 1)
    # counters of one pass of the test set at t0: every device of the main and dummy
    # arrays is read once per input vector (4 bit planes); one ADC per neuron
    H, B, bits = 12, 300, 4
    c = {k: int(r.dataset(f"results/counters/{k}")) for k in
         ("n_read", "adc_conversions", "n_mvm", "images", "mvm_steps", "ops")}
    assert c["n_read"] == B * bits * (785 * (H + 1) + 6 * (H + 1) * 11)
    assert c["adc_conversions"] == B * (H + 10)
    assert c["n_mvm"] == 2 * B and c["images"] == B and c["mvm_steps"] == 2
    assert c["ops"] == 2 * (785 * H + (H + 1) * 10) * B
    assert float(r.dataset("results/counters/energy")) > 0
    # the throughput model from these counters: 2 bit-level ops per device read, one
    # conversion per cycle of the 10 MHz clock on each of the 2 arrays' ADCs, energy of the
    # reads plus 50 fJ * 2^6 per conversion
    e = float(r.dataset("results/counters/energy")) + c["adc_conversions"] * 50e-15 * 64
    assert r.results["ops_per_second"] == pytest.approx(
        2 * c["n_read"] / (c["adc_conversions"] / (2 * 10e6)), rel=1e-12)
    assert r.results["ops_per_joule"] == pytest.approx(2 * c["n_read"] / e, rel=1e-12)
    assert r.units["ops_per_joule"] == "J^-1"
    text = W_.summary(small)
    assert "accuracy_t0" in text and "software_accuracy" in text and "GOPS/W" in text


def test_figure_is_drawn_from_the_file(small, tmp_path):
    png = W_.figure(small, tmp_path / "f.png")
    assert png.exists() and png.stat().st_size > 10_000


@pytest.mark.parametrize("kw,pattern", [
    ({"weight_bits": 7}, r"weight_bits = 7"),
    ({"weight_bits": 0}, r"weight_bits = 0"),
    ({"bits_sweep": [0, 4]}, r"bits_sweep\[0\] = 0"),
    ({"bits_sweep": [4, 2]}, r"bits_sweep = \[4, 2\]"),
    ({"adc_bits": 0}, r"adc_bits = 0"),
    ({"adc_sweep": [3, 40]}, r"adc_sweep\[1\] = 40"),
    ({"t_max": 1.0}, r"t_max = 1"),
    ({"time_points": 1}, r"time_points = 1"),
    ({"dataset": "emnist"}, r"dataset = 'emnist'"),
    ({"mnist_dir": "/no/such/folder"}, r"mnist_dir = '/no/such/folder' is not a folder"),
    ({"instances": -1}, r"instances = -1"),
    ({"test": -5}, r"test = -5"),
    ({"sweep_instances": 0}, r"sweep_instances = 0"),
    ({"device_overrides": {"nu_sdt_min": 0.0}}, r"device_overrides = .*nu_sdt_min"),
    ({"preset": "nandakumar2018"}, r"preset = 'nandakumar2018'"),
])
def test_bad_options_give_one_line_errors(kw, pattern):
    with pytest.raises(ParameterError, match=pattern) as e:
        DriftResilientConfig(**kw)
    assert "\n" not in str(e.value)


def test_resume_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="no checkpoint"):
        W_.run(W_.config(**SMALL), tmp_path / "x.h5", resume=True)


def test_workload_flag_and_rand_mnist_config():
    assert W_.flags["--mnist-dir"][0] == "mnist_dir"
    c = W_.config(dataset="rand-mnist")
    assert c.dataset == "rand-mnist" and c.rand_fraction == 0.1


def test_rand_mnist_randomises_a_tenth_of_the_pixels_of_train_and_test():
    from neuropcm.workloads.learning.drift_resilient import _data

    c = W_.config(dataset="rand-mnist", train=200, test=100, calibration=50)
    plain = _data(W_.config(train=200, test=100, calibration=50))
    rand = _data(c)
    for k in (0, 3):  # train and test columns
        changed = (plain[k] != rand[k]).mean(axis=0)
        # round(0.1 * 784) = 78 pixels drawn per image; a drawn pixel keeps its value
        # only by chance (1/256 for a uniform grey level)
        assert np.all(changed <= 78 / 784)
        assert changed.mean() == pytest.approx(78 / 784 * 255 / 256, rel=0.02)
    assert np.array_equal(plain[1], rand[1]) and np.array_equal(plain[4], rand[4])


def test_mnist_dir_reads_any_idx_folder(tmp_path):
    """Fashion-MNIST or any MNIST-format set: the IDX files of the folder are used."""
    from neuropcm.datasets import write_idx
    from neuropcm.workloads.learning.drift_resilient import _data

    g = np.random.default_rng(0)
    for split, n in (("train", 30), ("t10k", 20)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte",
                  g.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte",
                  g.integers(0, 10, n, dtype=np.uint8))
    Xtr, ytr, Xcal, Xte, yte = _data(W_.config(mnist_dir=str(tmp_path), train=30, test=20,
                                               calibration=10))
    assert Xtr.shape == (784, 30) and Xte.shape == (784, 20) and Xcal.shape == (784, 10)
    g = np.random.default_rng(0)
    np.testing.assert_array_equal(Xtr, g.integers(0, 256, (30, 28, 28), dtype=np.uint8)
                                  .reshape(30, -1).T / 255.0)
    with pytest.raises(ParameterError, match="test = 50 but the dataset has only 20"):
        _data(W_.config(mnist_dir=str(tmp_path), train=30, test=50, calibration=10))


# ------------------------------------------------------------------ the opt-in sweeps


@pytest.mark.parametrize("s", [0.0, 0.08, 0.25])
def test_spread_overrides_give_a_drift_exponent_std_of_s_times_its_mean(s):
    """``nu_spread_sweep``: with ``spread_overrides(binary, s)`` an LRS device (target
    g_max) draws nu ~ |N(0.03, (0.03 s)^2)| and a RESET (HRS) device nu ~ |N(mu, (s mu)^2)|
    with mu = 0.03 - 0.06 ln(G/g_max)/ln(100) at its RESET conductance G (0.09 at
    g_max/100). 20,000 devices: the mean within 4 standard errors sd/sqrt(n), the std
    within 4 sd/sqrt(2 n); the |.| is negligible (mu/sd >= 4)."""
    from neuropcm.devices import get_preset
    from neuropcm.devices.array import PCMArray

    n = 20_000
    p = get_preset("binary", **sweeps.spread_overrides("binary", s))
    a = PCMArray((n,), p, seed=7)
    a.program(np.full(n, p.g_max))
    nu = a.drift_exponent.copy()
    if s == 0.0:
        np.testing.assert_allclose(nu, 0.03, rtol=1e-12)
    else:
        sd = 0.03 * s
        assert abs(nu.mean() - 0.03) < 4 * sd / math.sqrt(n)
        assert abs(nu.std() - sd) < 4 * sd / math.sqrt(2 * n)
    a.reset()
    mu = 0.03 - 0.06 * np.log(a.conductance / p.g_max) / math.log(100.0)
    assert mu.mean() == pytest.approx(0.09, abs=0.002)  # HRS = g_max / 100, 5 % spread
    nu = a.drift_exponent
    if s == 0.0:
        np.testing.assert_allclose(nu, mu, rtol=1e-9)
    else:
        z = (nu - mu) / (s * mu)
        assert abs(z.mean()) < 4 / math.sqrt(n) and abs(z.std() - 1) < 4 / math.sqrt(2 * n)
    # the run's own overrides are kept, and a bad spread is one line
    assert sweeps.spread_overrides("binary", 0.1, {"t0": 10.0})["t0"] == 10.0
    with pytest.raises(ParameterError, match=r"spread = 1.5 must be in \[0, 1.0\]"):
        sweeps.spread_overrides("binary", 1.5)


def _small_mapped(net, options, levels=16, hidden=10, seed=4):
    """The first ``hidden`` units of the module's network on ideal devices, no ADC."""
    W1, W2 = net["W"][0][:hidden], net["W"][1][:, list(range(hidden)) + [-1]]
    W1q, W2q = quantise(W1, levels)[0], quantise(W2, levels)[0]
    return MappedMLP(W1q, W2q, weights="digital", levels=levels, adc_bits=None,
                     calibration=net["Xcal"], preset="ideal", seed=seed,
                     crossbar_options=options), W1q


@pytest.mark.parametrize("kind", ["off", "on"])
def test_stuck_devices_scale_the_layer_output_by_one_minus_p(net, kind):
    """``stuck_sweep``: on ideal devices (HRS 0 = g_min, LRS = g_max) a device stuck at
    g_min (g_max) with probability p has E[G] = (1 - p) G (+ p g_max); the read
    ``y = delta sum_b 2^b (G_b - G_ref,b) x / g_max`` of main and dummy lines gains the
    same ``p g_max`` on both, so E[y] = (1 - p) W x either way. Slope of the read
    against W x (least squares) over 6 instances at p = 0.2: within 0.03 of 0.8 (the
    dummy line's 785 x 4 devices, shared by all outputs, dominate the per-instance spread
    of the slope: ~sqrt(p (1 - p) / 785) ~ 1.4 % per bit plane, over 6 instances ~0.6 %,
    times a few for the offset weight |W_min| against the signal)."""
    X1 = net["X1"][:, :200]
    slopes = []
    for seed in range(6):
        m, W1q = _small_mapped(net, {f"p_stuck_{kind}": 0.2}, seed=seed)
        Y = m.crossbars[0].read(X1, compensate=False)
        ref = W1q @ X1
        slopes.append(float((Y * ref).sum() / (ref * ref).sum()))
    assert np.mean(slopes) == pytest.approx(0.8, abs=0.03), slopes
    m0, W1q = _small_mapped(net, {f"p_stuck_{kind}": 0.0})
    np.testing.assert_allclose(m0.crossbars[0].read(X1, compensate=False), W1q @ X1,
                               rtol=1e-9, atol=1e-9)


def test_wire_resistance_error_is_first_order_in_r(net):
    """``wire_sweep``: to first order in ``r g`` the IR drop changes the read linearly in
    r, so the read error at 2 r is twice that at r (ratio within 5 %, the second-order
    term ~ r g N^2 / 2 ~ 0.4 % at r = 1 mohm), r = 0 is the ideal read, and the error at
    1 mohm is of the order of the first-order drop of a line of 785 cells,
    r g N (N + 1) / 2 x (the mean input) -- between 0.1 and 10 times it, relative to
    the largest line current (in weight units, delta q x: the drop acts on the lines'
    positive-only currents, and the differential result W x is far smaller)."""
    X1 = net["X1"][:, :50]
    ideal, W1q = _small_mapped(net, {}, hidden=4)
    Y0 = ideal.crossbars[0].read(X1, compensate=False)
    np.testing.assert_allclose(Y0, W1q @ X1, rtol=1e-9, atol=1e-9)
    err = []
    for r in (1e-3, 2e-3):
        m, _ = _small_mapped(net, {"wire_resistance_row": r, "wire_resistance_col": r},
                             hidden=4)
        err.append(np.abs(m.crossbars[0].read(X1, compensate=False) - Y0).max())
    assert err[1] / err[0] == pytest.approx(2.0, rel=0.05)
    # the drop scales the lines' positive-only currents, delta q x (codes q in 0..15),
    # not the differential result W x (which is far smaller: W* = W + |W_min|)
    _, q, _, delta = quantise(net["W"][0][:4], 16)
    first = 1e-3 * 25e-6 * 785 * 786 / 2 * X1.mean()
    ratio = err[0] / (first * delta * (q @ X1).max())
    assert 0.1 < ratio < 10


SWEEPS = dict(SMALL, wire_sweep=[0.0, 0.05], stuck_sweep=[0.0, 0.1],
              nu_spread_sweep=[0.08, 0.5], one_layer_adc_sweep=[4, 8])


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    path = tmp_path_factory.mktemp("drs") / "drs.h5"
    W_.run(W_.config(**SWEEPS), path, progress=False)
    return path


@pytest.mark.slow
def test_sweeps_file_summary_and_figure(swept, small, tmp_path):
    """The sweeps' datasets, units and shapes; their first point (r = 0, p = 0, and the
    binary preset's own spread 0.08) is the drift run's instance 0 (same seeds, same
    reads: identical accuracies); summary lines and figure panels."""
    r = nio.open(swept)
    assert r.datasets["results/wires/resistance"].units == "S^-1"
    for path in ("wires/accuracy_t0", "wires/accuracy_final", "stuck/accuracy_t0_off",
                 "stuck/accuracy_final_on", "nu_spread/accuracy_final"):
        assert r.dataset(f"results/{path}").shape == (2, 1)
    d0, d1 = r.dataset("results/drift/accuracy_lrs")[:, 0]
    for g in ("wires", "nu_spread"):
        assert r.dataset(f"results/{g}/accuracy_t0")[0, 0] == d0
        assert r.dataset(f"results/{g}/accuracy_final")[0, 0] == d1
    assert r.dataset("results/stuck/accuracy_t0_on")[0, 0] == d0
    np.testing.assert_allclose(r.dataset("results/nu_spread/nu_std_lrs"), [0.0024, 0.015])
    assert r.dataset("results/one_layer/accuracy_t0").shape == (2, 1)
    assert 0.5 < float(r.dataset("results/one_layer/quantised_accuracy")) <= 1.0
    text = W_.summary(swept)
    assert "wire resistance" in text and "stuck at g_min" in text and "(paper 96.8 %)" in text
    assert "one-layer network (Fig. 4a" in text
    assert "wire" not in W_.summary(small)
    png = W_.figure(swept, tmp_path / "f.png")
    assert png.stat().st_size > 10_000
    # no sweep: no sweep fields in the file's config (files as before the sweeps)
    assert "wire_sweep" not in nio.open(small).config


@pytest.mark.parametrize("kw,pattern", [
    ({"wire_sweep": [0.1, 0.01]}, r"wire_sweep = \[0.1, 0.01\] must be strictly increasing"),
    ({"wire_sweep": [-1.0]}, r"wire_sweep\[0\] = -1"),
    ({"stuck_sweep": [0.6]}, r"stuck_sweep\[0\] = 0.6"),
    ({"nu_spread_sweep": [0.1, 0.1]}, r"nu_spread_sweep = \[0.1, 0.1\]"),
    ({"nu_spread_sweep": [2.0]}, r"nu_spread_sweep\[0\] = 2"),
    ({"one_layer_adc_sweep": [0]}, r"one_layer_adc_sweep\[0\] = 0"),
    ({"one_layer_adc_sweep": [8, 4]}, r"one_layer_adc_sweep = \[8, 4\] must be strictly"),
    ({"grid": "odd"}, r"grid = 'odd'"),
    ({"lrs_target": 1.5}, r"lrs_target = 1.5"),
    ({"e_read_sweep": [1e-12, 1e-13]}, r"e_read_sweep = \[1e-12, 1e-13\] must be"),
    ({"e_read_sweep": []}, r"e_read_sweep = \[\] must be a non-empty"),
    ({"v_read": 0.0}, r"v_read = 0"),
])
def test_bad_sweeps_give_one_line_errors(kw, pattern):
    with pytest.raises(ParameterError, match=pattern) as e:
        DriftResilientConfig(**kw)
    assert "\n" not in str(e.value)


# ------------------------------------------------------------------ throughput and LRS
def test_nonzero_reads_and_ohmic_conductance_of_a_pass(net):
    """On ideal devices (LRS g_max = 25 uS, HRS 0), 4-bit weights, H hidden units: a pass
    reads ``4 (H + 1)`` devices per non-zero layer-1 input (H main columns, 1 dummy) and
    ``4 x 11`` per non-zero unary line; ``sum x^2 G`` of layer 1 is
    ``g_max sum_j x_j^2 (sum_i popcount(q_ij) + popcount(q_c))`` (the LRS devices on
    input line j of the bit planes and the dummy line)."""
    H = 10
    m, _ = _small_mapped(net, {}, hidden=H)
    X1 = net["X1"][:, :100]
    m.count_inputs = True
    Y1 = m.crossbars[0].read(X1, compensate=False)
    m._layer(0, X1)
    _, q, q_c, _ = quantise(net["W"][0][:H], 16)
    pop = np.vectorize(lambda v: int(v).bit_count())
    lrs = pop(q).sum(axis=0) + pop(q_c)
    assert m.nonzero_reads == pytest.approx(4 * (H + 1) * np.count_nonzero(X1), rel=1e-12)
    assert m.x2g == pytest.approx(25e-6 * (np.square(X1).sum(axis=1) @ lrs), rel=1e-12)
    U = unary_code(1.0 / (1.0 + np.exp(-Y1)))
    before = m.nonzero_reads
    m._layer(1, U)
    assert m.nonzero_reads - before == pytest.approx(4 * 11 * np.count_nonzero(U), rel=1e-12)


@pytest.mark.parametrize("target", [1.0, 0.833])
def test_lrs_target_below_g_max_removes_the_truncation(net, target):
    """``lrs_target``: the binary preset programs the LRS to N(f g_max, (0.05 f g_max)^2)
    clipped at g_max; at f = 1 half the LRS devices sit exactly at g_max (mean
    g_max (1 - 0.05 phi(0)) = 0.98 g_max), at f = 0.833 (4 sigma of headroom) none but a
    3e-5 tail and the mean is f g_max. Tolerances: binomial and sample-mean standard
    errors over the ~10^4 LRS devices of layer 1, 4 of them."""
    W1q, W2q = quantise(net["W"][0], 16)[0], quantise(net["W"][1], 16)[0]
    g_max = 25e-6
    opts = {} if target == 1.0 else {"g_target": target * g_max}
    m = MappedMLP(W1q, W2q, weights="digital", levels=16, adc_bits=6,
                  calibration=net["Xcal"], preset="binary", seed=2, crossbar_options=opts)
    G = m.crossbars[0].arrays["main"].conductance
    lrs = G[G > 0.1 * g_max]
    n = lrs.size
    at_max = np.mean(lrs >= g_max * (1 - 1e-12))
    if target == 1.0:
        assert at_max == pytest.approx(0.5, abs=4 * math.sqrt(0.25 / n))
        mean = g_max * (1 - 0.05 / math.sqrt(2 * math.pi))
    else:
        assert at_max < 10 / n + 3e-5
        mean = target * g_max
    assert lrs.mean() == pytest.approx(mean, abs=4 * 0.05 * target * g_max / math.sqrt(n))


def test_energy_and_other_adc_datasets(small):
    """The GOPS/W table at the preset's e_read (0.1 pJ) and the model's ADC (50 fJ/step)
    is the headline GOPS/W; the line-ADC network's GOPS is 2 n_read / (its conversions /
    (2 arrays x 10 MHz)) with more conversions than one per neuron."""
    r = nio.open(small)
    e = {k: r.dataset(f"results/energy/{k}") for k in ("e_read", "adc_fom",
                                                        "ops_per_joule_all", "nonzero_reads")}
    i, k = list(e["e_read"]).index(1e-13), list(e["adc_fom"]).index(5e-14)
    assert e["ops_per_joule_all"][i, k] == pytest.approx(r.results["ops_per_joule"], rel=1e-9)
    n_read = int(r.dataset("results/counters/n_read"))
    assert 0 < e["nonzero_reads"] < n_read
    conv = int(r.dataset("results/other_adc/adc_conversions"))
    assert conv > int(r.dataset("results/counters/adc_conversions"))
    assert r.dataset("results/other_adc/accuracy_t0").shape == (1,)
    assert "line ADCs" in W_.summary(small) and "ohmic reads" in W_.summary(small)
    # Fig. 9 rows: the 4-bit point of the bits sweep is the drift run's instance 0 (same
    # network, same counters); devices: bit planes + dummy line + LRS column per layer
    b = {k: r.dataset(f"results/bits/{k}") for k in ("ops_per_second", "ops_per_joule",
                                                      "devices", "adcs")}
    assert b["ops_per_second"][0] == pytest.approx(r.results["ops_per_second"], rel=1e-12)
    assert b["ops_per_joule"][0] == pytest.approx(r.results["ops_per_joule"], rel=1e-12)
    H, u = 12, 6 * 13
    assert b["devices"][0] == 4 * (H * 785 + 785) + 785 + 4 * (10 * u + u) + u
    assert b["adcs"][0] == 2


# ------------------------------------------------------------------ the midrise grid
@pytest.mark.parametrize("levels", [2, 4, 16])
def test_midrise_grid_keeps_both_signs_and_its_offset_line(levels):
    """``grid = "midrise"``: L cells of width delta = (W_max - W_min)/L, every weight at
    its cell's centre (error <= delta/2), both signs at 2 levels; the shift s onto the
    crossbar's zero-holding grid is at most delta/2 and makes W + s a grid matrix of the
    crossbar's own quantiser (same step and codes)."""
    W = np.random.default_rng(levels).normal(0.1, 1.0, (30, 40))
    Wq, q, q_c, delta = quantise(W, levels, "midrise")
    assert delta == pytest.approx((W.max() - W.min()) / levels, rel=1e-12)
    assert np.max(np.abs(Wq - W)) <= delta / 2 * (1 + 1e-9)
    assert q.min() == 0 and q.max() == levels - 1
    if levels == 2:
        assert Wq.min() < 0 < Wq.max()
    s = grid_offset(Wq, levels)
    assert abs(s) <= delta / 2 * (1 + 1e-9)
    q2, qc2, d2 = quantise_offset(Wq + s, int(math.log2(levels)))
    assert d2 == pytest.approx(delta, rel=1e-9) and qc2 == q_c and np.array_equal(q2, q)
    np.testing.assert_allclose(d2 * (q2 - qc2) - s, Wq, atol=1e-12)
    with pytest.raises(ParameterError, match="grid = 'odd'"):
        quantise(W, levels, "odd")


@pytest.mark.parametrize("bits", [1, 4])
def test_midrise_network_on_ideal_devices_is_its_quantised_float_network(net, bits):
    """On ideal devices without ADC the mapped midrise network (crossbar W + s, offset
    line s sum(x) subtracted) gives the hidden codes and classes of the quantised float
    network on the same grid, at t0 and 1e6 t0 (ideal devices: K = 1)."""
    L = 2 ** bits
    W1q = quantise(net["W"][0], L, "midrise")[0]
    W2q = quantise(net["W"][1], L, "midrise")[0]
    a2, u_ref = float_reference(W1q, W2q, net["Xte"])
    m = MappedMLP(W1q, W2q, weights="digital", levels=L, adc_bits=None,
                  calibration=net["Xcal"], preset="ideal", seed=3, grid="midrise")
    assert all(s != 0 for s in m.offsets)
    for age in (0.0, T_MAX_AGE):
        p = m.advance_to(age).predict(net["X1"])
        assert same_predictions(p["lrs"], a2) and same_predictions(p["none"], a2)
    Y1 = m._layer(0, net["X1"])
    assert np.array_equal(np.rint(6.0 / (1.0 + np.exp(-Y1))), u_ref)


def test_one_layer_network_on_ideal_devices_is_its_quantised_float_network(net):
    """Fig. 4a's one-layer network: on ideal devices without ADC the class is
    argmax(Wq [x; 1]) (ties allowed), on both grids; with an ADC of b bits over
    R = max|Wq [x; 1]| (calibration; times 2^(b-1)/(2^(b-1) - 1), the top code) every
    output inside the range is within one step R/2^(b-1)."""
    from neuropcm.workloads.learning._drift_network import MappedLayer

    W = np.random.default_rng(5).normal(0.0, 0.1, (10, 785))
    X1 = net["X1"][:, :300]
    for grid in ("zero", "midrise"):
        Wq = quantise(W, 16, grid)[0]
        m = MappedLayer(Wq, weights="digital", levels=16, adc_bits=None,
                        calibration=net["Xcal"], preset="ideal", seed=1, grid=grid)
        a = Wq @ X1
        assert same_predictions(m.predict(X1)["lrs"], a)
        m8 = MappedLayer(Wq, weights="digital", levels=16, adc_bits=8,
                         calibration=net["Xcal"], preset="ideal", seed=1, grid=grid)
        R = np.abs(Wq @ with_ones(net["Xcal"])).max() * 128 / 127
        Y = m8._layer(0, X1)
        inside = np.abs(a) < R
        assert np.all(np.abs(Y - a)[inside] <= R / 128 * (1 + 1e-9))
