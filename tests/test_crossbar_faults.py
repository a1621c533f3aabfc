"""Issue 21: stuck devices (one rule with wear-out) and converter nonidealities."""

import math

import h5py
import numpy as np
import pytest

from neuropcm import PCMArray
from neuropcm.crossbar import Crossbar
from neuropcm.devices import faults as F
from neuropcm.errors import ParameterError
from neuropcm.io.arrays import read_array, write_array
from neuropcm.random import rng


def state(a):
    return {k: v.copy() for k, v in a.state_dict()["arrays"].items()}


def assert_same(s1, s2):
    assert s1.keys() == s2.keys()
    for k in s1:
        assert np.array_equal(s1[k], s2[k]), k


# ---------------------------------------------------------------- the draw: binomial counts
@pytest.mark.parametrize("p_off, p_on", [(0.05, 0.0), (0.02, 0.1)])
def test_stuck_counts_are_binomial(p_off, p_on):
    """R = 200 arrays of N = 1000 devices: count c ~ Binomial(N, p), E c = N p,
    Var c = N p (1 - p). The sample mean has std sqrt(N p (1-p) / R); the sample variance
    s^2 has std ~ Var * sqrt(2 / (R - 1)) (near-normal counts). 5 sigma each."""
    N, R = 1000, 200
    codes = np.array([F.draw_stuck((N,), p_off, p_on, rng(11, "faults", r)) for r in range(R)])
    for code, p in ((F.STUCK_OFF, p_off), (F.STUCK_ON, p_on)):
        c = (codes == code).sum(axis=1)
        mean, var = N * p, N * p * (1 - p)
        if p == 0:
            assert not c.any()
            continue
        assert abs(c.mean() - mean) < 5 * math.sqrt(var / R)
        assert abs(c.var(ddof=1) - var) < 5 * var * math.sqrt(2 / (R - 1))
    assert not ((codes == F.STUCK_OFF) & (codes == F.STUCK_ON)).any()


def test_crossbar_draws_faults_from_its_own_stream():
    W = rng(0).normal(size=(30, 40))
    xb = Crossbar(W, "joshi2020", seed=3, p_stuck_off=0.1, p_stuck_on=0.05)
    for name, arr in xb.arrays.items():
        want = F.draw_stuck(arr.shape, 0.1, 0.05, rng(3, "crossbar", "faults", name))
        st = arr.stuck_level
        assert np.array_equal(st == F.STUCK_OFF, want == F.STUCK_OFF)
        assert np.array_equal(st == F.STUCK_ON, want == F.STUCK_ON)
        p = arr.params
        assert np.all(arr.conductance[st == F.STUCK_OFF] == p.g_min)
        assert np.all(arr.conductance[st == F.STUCK_ON] == p.g_max)
        assert np.all(arr.drift_exponent[st == F.STUCK_OFF] == 0)  # documented: no drift
    n = sum(int((a.stuck_level > 0).sum()) for a in xb.arrays.values())
    assert n > 0 and xb.totals()["n_stuck"] == n


# ---------------------------------------------------------------- one rule: writes ignored
def _faulty(n=300, preset="joshi2020", **kw):
    a = PCMArray(n, preset, seed=4, **kw)
    off = np.zeros(n, bool)
    on = np.zeros(n, bool)
    off[::7], on[3::7] = True, True
    return a.stick(off=off, on=on), off | on


@pytest.mark.parametrize("preset", ["joshi2020", "nandakumar2018"])
def test_stuck_devices_ignore_every_write(preset):
    a, m = _faulty(preset=preset)
    before = state(a)
    a.advance(10.0)
    a.set_pulse()
    a.set_pulses(5)
    a.reset()
    a.program(np.full(a.size, 5e-6), tol=1e-6 if preset != "joshi2020" else None)
    after = state(a)
    reads = after["n_read"][m] - before["n_read"][m]  # verify reads are reads, not writes
    np.testing.assert_allclose(after["energy"][m], before["energy"][m] + reads * a.params.e_read,
                               rtol=1e-12, atol=0)
    for k in set(before) - {"n_read", "energy"}:
        assert np.array_equal(before[k][m], after[k][m]), k
        if k in ("G", "n_set", "t_prog"):
            assert not np.array_equal(before[k][~m], after[k][~m]), k  # others were written
    assert not a.writable[m].any() and a.writable[~m].all()
    assert a.totals()["n_stuck"] == m.sum()


def test_refresh_skips_stuck_devices():
    """The crossbar's refresh RESETs and SETs through the arrays: a stuck pair keeps its
    state through updates and refresh."""
    W = rng(1).normal(size=(8, 10))
    xb = Crossbar(W, "nandakumar2018", seed=2, p_stuck_off=0.2, p_stuck_on=0.2)
    stuck = {n: a.stuck_level > 0 for n, a in xb.arrays.items()}
    before = {n: state(a) for n, a in xb.arrays.items()}
    for _ in range(5):
        xb.update(rng(5).normal(size=10), rng(6).normal(size=8), lr=5.0)
    assert xb.totals()["n_set"] > 0 and xb.n_refresh > 0
    for n, a in xb.arrays.items():
        s = state(a)
        for k in ("G", "P", "t_prog", "nu", "n_set", "n_reset"):  # energy: reads too
            assert np.array_equal(s[k].ravel()[stuck[n].ravel()],
                                  before[n][k].ravel()[stuck[n].ravel()]), (n, k)


def test_worn_out_and_faulted_are_one_rule():
    """stuck_level reports both causes; writable is the rule can_write of both."""
    a = PCMArray(4, "joshi2020", seed=1, endurance=3)
    a.stick(on=np.array([False, False, False, True]))
    a.set_pulses(np.array([0, 3, 1, 5]))
    assert list(a.stuck_level) == [F.FREE, F.STUCK_WORN, F.FREE, F.STUCK_ON]
    assert list(a.writable) == [True, False, True, False]
    assert list(a.worn_out) == [False, True, False, False]
    assert a.totals()["n_stuck"] == 2
    assert list(F.can_write(np.array([0, 0, 1, 2]), np.array([True, False, True, True]))) == \
        [True, False, False, False]


# ---------------------------------------------------------------- state round trips
def test_pcmarray_state_and_file_round_trip(tmp_path):
    a, m = _faulty()
    b = PCMArray.from_state(a.params, a.state_dict())
    assert_same(state(a), state(b))
    with h5py.File(tmp_path / "a.h5", "w") as f:
        write_array(f.create_group("arr"), a)
    with h5py.File(tmp_path / "a.h5", "r") as f:
        c = read_array(f["arr"])
    assert_same(state(a), state(c))
    assert np.array_equal(c.stuck_level > 0, m)
    # a state without faults (older files) loads as fault-free
    st = a.state_dict()
    del st["arrays"]["stuck"]
    st["arrays"]["G"] = np.full(a.size, a.params.g_min)
    assert not PCMArray.from_state(a.params, st).stuck_level.any()


def test_crossbar_save_load_keeps_the_stuck_set(tmp_path):
    W = rng(2).normal(size=(6, 9))
    xb = Crossbar(W, "joshi2020", seed=8, p_stuck_off=0.15, p_stuck_on=0.1)
    xb.save(tmp_path / "xb.h5")
    yb = Crossbar.load(tmp_path / "xb.h5")
    for n in xb.arrays:
        assert np.array_equal(xb.arrays[n].stuck_level, yb.arrays[n].stuck_level)
    assert yb.config.p_stuck_off == 0.15 and yb.totals() == xb.totals()
    x = rng(3).normal(size=9)
    assert np.array_equal(xb @ x, yb @ x)


def test_bad_state_is_refused():
    a, _ = _faulty()
    st = a.state_dict()
    st["arrays"]["stuck"][0] = 7
    with pytest.raises(ParameterError, match="fault codes"):
        PCMArray.from_state(a.params, st)
    st = a.state_dict()
    st["arrays"]["G"][0] = 5e-6  # device 0 is stuck off
    with pytest.raises(ParameterError, match="stuck off"):
        PCMArray.from_state(a.params, st)


# ---------------------------------------------------------------- defaults and bad input
def test_defaults_are_bit_identical():
    W = rng(4).normal(size=(12, 16))
    X = rng(5).normal(size=(16, 3))
    a = Crossbar(W, "joshi2020", seed=9)
    b = Crossbar(W, "joshi2020", seed=9, p_stuck_off=0.0, p_stuck_on=0.0)
    a.advance(100.0)
    b.advance(100.0)
    assert np.array_equal(a @ X, b @ X)
    assert np.array_equal(a.H @ X[:12], b.H @ X[:12])


@pytest.mark.parametrize("kw, msg", [
    ({"p_stuck_off": 1.5}, "p_stuck_off"), ({"p_stuck_on": -0.1}, "p_stuck_on"),
    ({"p_stuck_off": 0.7, "p_stuck_on": 0.4}, "p_stuck_off \\+ p_stuck_on"),
    ({"p_stuck_off": float("nan")}, "p_stuck_off"), ({"p_stuck_on": True}, "p_stuck_on"),
    ({"p_stuck_off": None}, "p_stuck_off"), ({"p_stuck_on": [0.1]}, "p_stuck_on")])
def test_bad_fractions_one_line(kw, msg):
    with pytest.raises(ParameterError, match=msg) as e:
        Crossbar(np.eye(3), "joshi2020", seed=0, **kw)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("p_off, p_on", [(1.5, 0), (0, -1), (0.6, 0.6), (float("nan"), 0),
                                         (None, 0), ("a", 0), (False, 0)])
def test_bad_draw_arguments_one_line(p_off, p_on):
    with pytest.raises(ParameterError) as e:
        F.draw_stuck((4,), p_off, p_on, rng(0))
    assert "\n" not in str(e.value)


def test_stick_refuses_overlap():
    a = PCMArray(3, "joshi2020", seed=0)
    with pytest.raises(ParameterError, match="disjoint"):
        a.stick(off=np.array([True, False, False]), on=np.array([True, True, False]))


# ---------------------------------------------------------------- converter INL
from neuropcm.crossbar.periphery import ADC, DAC, inl_deviation


def test_inl_deviation_is_the_typed_cubic():
    FS, lsb, k = 2.0, 0.01, 1.5
    x = np.linspace(-3, 3, 601)
    u = np.clip(x / FS, -1, 1)
    want = k * lsb * (3 * math.sqrt(3) / 2) * u * (1 - u ** 2)
    np.testing.assert_allclose(inl_deviation(x, FS, lsb, k), want, rtol=1e-14, atol=1e-18)
    u0 = 1 / math.sqrt(3)  # the peak: exactly inl_lsb LSB; zero at 0 and full scale
    assert inl_deviation(u0 * FS, FS, lsb, k) == pytest.approx(k * lsb, rel=1e-14)
    assert inl_deviation(np.array([0.0, FS, -FS]), FS, lsb, k).tolist() == [0.0, 0.0, 0.0]


def test_adc_and_dac_apply_the_inl():
    Y = rng(0).uniform(-1.2, 1.2, size=(5, 40))
    R, k, bits = 1.0, 2.0, 6
    lsb = 2 * R / 2 ** bits
    u = np.clip(Y / R, -1, 1)
    want = np.clip(np.rint((Y + k * lsb * (3 * math.sqrt(3) / 2) * u * (1 - u ** 2)) / lsb),
                   -2 ** (bits - 1), 2 ** (bits - 1) - 1) * lsb
    got = Y.copy()
    ADC(bits, inl_lsb=k).apply(got, R)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    X = rng(1).uniform(-1, 1, size=(7, 3))
    L = 2 ** (bits - 1) - 1
    q = np.clip(np.rint(X / (1.5 / L)), -L, L) * (1.5 / L)
    uq = q / 1.5
    want = q + k * (1.5 / L) * (3 * math.sqrt(3) / 2) * uq * (1 - uq ** 2)
    np.testing.assert_allclose(DAC(bits, 1.5, inl_lsb=k).apply(X, np.float64)[0], want,
                               rtol=0, atol=1e-15)


def test_converter_defaults_are_bit_identical():
    W = rng(4).normal(size=(12, 16))
    X = rng(5).normal(size=(16, 3))
    kw = {"adc_bits": 6, "dac_bits": 5}
    a = Crossbar(W, "joshi2020", seed=9, **kw)
    b = Crossbar(W, "joshi2020", seed=9, adc_inl_lsb=0.0, dac_inl_lsb=0.0, **kw)
    c = Crossbar(W, "joshi2020", seed=9, adc_inl_lsb=1.0, dac_inl_lsb=1.0, **kw)
    ya, yb, yc = a @ X, b @ X, c @ X
    assert np.array_equal(ya, yb) and not np.array_equal(ya, yc)


@pytest.mark.parametrize("kw, msg", [
    ({"adc_bits": 6, "adc_inl_lsb": -1.0}, "adc_inl_lsb"),
    ({"dac_bits": 6, "dac_inl_lsb": float("nan")}, "dac_inl_lsb"),
    ({"adc_inl_lsb": 1.0}, "adc_inl_lsb.*bits"), ({"dac_inl_lsb": 1.0}, "dac_inl_lsb.*bits"),
    ({"adc_bits": 6, "adc_inl_lsb": True}, "adc_inl_lsb"),
    ({"adc_bits": 6, "adc_inl_lsb": None}, "adc_inl_lsb")])
def test_bad_inl_one_line(kw, msg):
    with pytest.raises(ParameterError, match=msg) as e:
        Crossbar(np.eye(3), "joshi2020", seed=0, **kw)
    assert "\n" not in str(e.value)
