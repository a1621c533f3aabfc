"""The rate-coded bridge: spikes <-> rates, the synapse layout, Crossbar.from_devices."""

import numpy as np
import pytest

from neuropcm.bridge import (SynapseLayout, crossbar_from_synapses, decode_rates,
                             flat_to_matrix, parse_layout, poisson_spikes, rate_scores,
                             relative_rates)
from neuropcm.crossbar import Crossbar
from neuropcm.devices import PCMArray
from neuropcm.errors import ParameterError, SchemaError, ShapeError


# ---------------------------------------------------------------- coding
def test_poisson_round_trip_within_poisson_error():
    n, T, dt = 2000, 2.0, 1e-3
    rates = np.linspace(5.0, 100.0, n)
    spikes = poisson_spikes(rates, T, dt, 3, "test")
    steps = spikes.shape[0]
    i, k = np.nonzero(spikes.T)
    est = decode_rates((i, k * dt), n, 0.0, T)
    p = rates * dt  # Bernoulli per step: count ~ Binomial(steps, p)
    z = (est * T - steps * p) / np.sqrt(steps * p * (1 - p))
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.std() - 1) < 4 / np.sqrt(2 * n)


def test_poisson_seeded():
    r = np.full(50, 40.0)
    a = poisson_spikes(r, 0.5, 1e-3, 1, "x")
    assert np.array_equal(a, poisson_spikes(r, 0.5, 1e-3, 1, "x"))
    assert not np.array_equal(a, poisson_spikes(r, 0.5, 1e-3, 1, "y"))


def test_poisson_refuses_rate_above_one_per_step():
    with pytest.raises(ParameterError, match="dt"):
        poisson_spikes(np.array([2000.0]), 1.0, 1e-3, 0)


def test_decode_from_brian2_spike_monitor():
    import brian2 as b

    b.start_scope()
    b.prefs.codegen.target = "numpy"
    idx = np.array([0, 0, 0, 2, 1, 0])
    t = np.array([1, 5, 9, 12, 30, 45]) * b.ms
    g = b.SpikeGeneratorGroup(3, idx, t)
    mon = b.SpikeMonitor(g)
    b.run(50 * b.ms)
    np.testing.assert_allclose(decode_rates(mon, 3, 0.0, 0.02), [3 / 0.02, 0, 1 / 0.02])
    np.testing.assert_allclose(decode_rates(mon, 3, 0.0, 0.05), [80.0, 20.0, 20.0])


def test_relative_rates_is_pixel_over_255():
    img = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    np.testing.assert_array_equal(relative_rates(img), img.reshape(2, -1) / 255.0)
    with pytest.raises(ParameterError):
        relative_rates(-img - 1)


# ---------------------------------------------------------------- layout
def test_layout_parse_and_matrix():
    L = parse_layout("flat synapse order k = input * 3 + neuron", 12)
    assert (L.n_in, L.n_out) == (4, 3)
    assert parse_layout(L.describe(), 12) == L
    v = np.arange(12.0)
    M = flat_to_matrix(v, L)
    for neuron in range(3):
        for inp in range(4):
            assert M[neuron, inp] == v[inp * 3 + neuron] == v[L.index(neuron, inp)]


@pytest.mark.parametrize("text,size", [("neuron-major", 12),
                                       ("flat synapse order k = input * 5 + neuron", 12)])
def test_layout_refused(text, size):
    with pytest.raises(SchemaError):
        parse_layout(text, size)


def test_rate_scores_formula():
    c = np.array([[1.0, 2.0], [3.0, 0.5]])  # (examples, n_out)
    s = rate_scores(c, np.array([0.1, 0.0]), 0.02, 0.01)
    np.testing.assert_allclose(s, [[0.02 - 0.11, 0.04 - 0.01], [0.06 - 0.11, 0.01 - 0.01]])


# ---------------------------------------------------------------- Crossbar.from_devices
def _pair(shape, preset="ideal", seed=0):
    rs = np.random.default_rng(seed)
    p, m = PCMArray(shape, preset, seed=1), PCMArray(shape, preset, seed=2)
    g = p.params.g_max
    p.program(rs.uniform(0.1, 0.9, shape) * g)
    m.program(rs.uniform(0.1, 0.9, shape) * g)
    return p, m


def test_from_devices_reads_w_scale_times_difference():
    p, m = _pair((6, 4))
    ws = 3e4
    xb = Crossbar.from_devices(p, m, ws, seed=0, read_noise=False)
    assert xb.arrays["G_plus"].base is p and xb.arrays["G_minus"].base is m
    W = ws * (p.conductance - m.conductance)
    x = np.random.default_rng(5).normal(size=(4, 3))
    np.testing.assert_allclose(xb @ x, W @ x, rtol=1e-10)
    u = np.random.default_rng(6).normal(size=(6, 2))
    np.testing.assert_allclose(xb.H @ u, W.T @ u, rtol=1e-10)


def test_from_devices_same_objects_when_shaped():
    p, m = _pair((1, 3, 5))
    xb = Crossbar.from_devices(p, m, 1.0, seed=0)
    assert xb.arrays["G_plus"] is p and xb.arrays["G_minus"] is m


def test_write_through_array_seen_by_crossbar_and_back():
    L = SynapseLayout(5, 3)
    p, m = _pair(15)
    ws = 2e4
    xb = crossbar_from_synapses(p, m, ws, L, seed=0, read_noise=False)
    before = xb.effective_weights()[0].copy()
    np.testing.assert_allclose(before.T, ws * flat_to_matrix(p.conductance - m.conductance, L),
                               rtol=1e-12)
    mask = np.zeros(15, bool)
    mask[L.index(2, 4)] = True  # neuron 2, input 4
    p.program(np.where(mask, 0.95 * p.params.g_max, p.conductance))
    assert np.array_equal(xb.effective_weights()[0], before)  # cached until told
    after = xb.devices_changed().effective_weights()[0]
    changed = np.argwhere(after != before)
    assert changed.tolist() == [[4, 2]]  # W^T[input, neuron]
    assert after[4, 2] == pytest.approx(ws * (0.95 * p.params.g_max - m.conductance[
        L.index(2, 4)]), rel=1e-12)
    # the crossbar's clock and writes are the arrays' own
    xb.advance(10.0)
    assert p.time == m.time == 10.0
    n0 = p.n_set.sum()
    xb.device_arrays()["G_plus"].set_pulse()
    assert p.n_set.sum() == n0 + 15


def test_from_devices_errors():
    p, m = _pair(12)
    with pytest.raises(ParameterError, match="w_scale"):
        Crossbar.from_devices(p, m, -1.0)
    with pytest.raises(ShapeError):
        Crossbar.from_devices(p, m, 1.0)  # flat arrays need a shape
    with pytest.raises(ShapeError):
        Crossbar.from_devices(p, m, 1.0, shape=(5, 3))
    with pytest.raises(ParameterError, match="same shape"):
        Crossbar.from_devices(p, PCMArray(10, "ideal"), 1.0, shape=(4, 3))
    with pytest.raises(ParameterError, match="one device per weight"):
        Crossbar.from_devices(p, m, 1.0, shape=(4, 3), devices_per_weight=2)
    with pytest.raises(ParameterError, match="reference devices"):
        Crossbar.from_devices(p, m, 1.0, shape=(4, 3), drift_compensation="lrs")
