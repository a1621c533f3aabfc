"""Program-and-verify, ideal device, counters, seeds, endurance, kernels, bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from neuropcm import PCMArray
from neuropcm.devices import PRESETS, get_preset
from neuropcm.devices import _kernels as K
from neuropcm.errors import (ParameterError, ShapeError, UnitError, UnknownPresetError)


def test_program_and_verify_pulsed_reaches_tolerance():
    a = PCMArray(10_000, "nandakumar2018", seed=1)
    tgt = np.random.default_rng(0).uniform(1e-6, 10e-6, 10_000)
    r = a.program(tgt, tol=0.5e-6, max_iterations=100)
    assert r.fraction_converged >= 0.99
    assert r.iterations.max() <= 100
    ok = r.converged
    assert np.all(np.abs(r.verified[ok] - tgt[ok]) <= 0.5e-6)
    # the true state is within the tolerance plus a few read-noise stds
    assert np.all(np.abs(r.achieved[ok] - tgt[ok]) <= 0.5e-6 + 6 * (0.03 * 20e-6 + 0.13e-6))


def test_program_and_verify_programmed_model():
    a = PCMArray(5000, "joshi2020", seed=2)
    tgt = np.linspace(2e-6, 24e-6, 5000)
    r = a.program(tgt, tol=0.3e-6, max_iterations=30)
    assert r.fraction_converged >= 0.99
    one = PCMArray(5000, "joshi2020", seed=2).program(tgt)
    assert np.all(one.iterations == 1)
    # verifying shrinks the error compared with one shot
    assert np.std(r.achieved - tgt) < np.std(one.achieved - tgt)


def test_ideal_is_exact():
    a = PCMArray((8, 9), "ideal", seed=0)
    tgt = np.random.default_rng(1).uniform(0, 25e-6, (8, 9))
    r = a.program(tgt)
    assert np.array_equal(a.conductance, tgt) and np.all(r.converged)
    a.advance(1e6)
    assert np.array_equal(a.read(), tgt)
    b = PCMArray(10, "ideal")
    for k in range(1, 6):
        b.set_pulse()
        np.testing.assert_allclose(b.conductance, k * 0.25e-6, rtol=1e-14)
    b.set_pulses(200)
    assert np.all(b.conductance == 25e-6)  # saturates exactly at g_max


def test_counters_and_energy_add_up():
    p = get_preset("nandakumar2018")
    a = PCMArray(50, seed=3)
    a.set_pulses(np.arange(50) % 5)
    a.reset(mask=np.arange(50) < 10)
    a.read()
    a.read(mask=np.arange(50) < 20)
    a.record_reads(3, mask=np.arange(50) >= 45)
    tot = a.totals()
    assert tot["n_read"] == 85
    assert tot["n_set"] == sum(np.arange(50) % 5)
    assert tot["n_reset"] == 10
    e = a.n_set * p.e_set + a.n_reset * p.e_reset + a.n_read * p.e_read
    np.testing.assert_allclose(a.energy, e, rtol=1e-12)
    assert tot["energy"] == pytest.approx(e.sum())


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_same_seed_same_result_different_seed_different(preset):
    def run(seed):
        a = PCMArray(500, preset, seed=seed)
        a.set_pulses(3)
        a.program(np.full(500, 5e-6), mask=np.arange(500) < 250)
        a.advance(100)
        return a.read()

    assert np.array_equal(run(1), run(1))
    if preset != "ideal":
        assert not np.array_equal(run(1), run(2))


def test_endurance_limit_freezes_worn_devices():
    a = PCMArray(20, seed=4, endurance=5)
    a.set_pulses(10)
    assert np.all(a.n_set == 5) and np.all(a.worn_out)
    g = a.conductance.copy()
    a.reset()
    assert np.array_equal(a.conductance, g)


@settings(max_examples=30, deadline=None)
@given(g=st.floats(0.1, 20.0), p=st.floats(0.0, 1.0), xi=st.floats(-4, 4), amp=st.floats(0.01, 2))
def test_set_kernel_matches_formula(g, p, xi, amp):
    """The numba kernel against the literal formula (physics.md section 1), in uS."""
    prm = get_preset("nandakumar2018")
    G, P = np.array([g * 1e-6]), np.array([p])
    n = np.zeros(1, np.int64)
    K.set_pulsed(G, P, np.ones(1), np.zeros(1), n, n.copy(), np.zeros(1),
                 np.zeros(1, np.int8), np.array([0]),
                 np.array([amp]), np.array([xi]), 5.0, prm.pulse_memory,
                 (prm.set_a, prm.set_b, prm.set_c), (prm.set_d, prm.set_e, prm.set_f),
                 prm.g_min, prm.g_max, prm.e_set, prm.endurance)
    pp = p * math.exp(-1 / 2.6)
    expect = g + amp * (-0.084 * g + 0.88 + 1.4 * pp + (0.091 * g + 0.26 + 2.15 * pp) * xi)
    assert G[0] * 1e6 == pytest.approx(min(max(expect, 0.1), 20.0), rel=1e-9, abs=1e-12)
    assert P[0] == pytest.approx(pp)


# ------------------------------------------------------------------ bad input
def test_unknown_preset_lists_known():
    with pytest.raises(UnknownPresetError, match="nandakumar2018.*") as e:
        PCMArray(10, "nandakumar2019")
    assert "nandakumar2019" in str(e.value) and "joshi2020" in str(e.value)


@pytest.mark.parametrize("bad", [np.nan, -1e-6, np.inf])
def test_bad_targets(bad):
    a = PCMArray(3, "joshi2020")
    with pytest.raises(ParameterError, match=repr(bad)[:4]):
        a.program(np.array([1e-6, bad, 2e-6]))


def test_target_above_gmax_and_unit_errors():
    a = PCMArray(3, "joshi2020")
    with pytest.raises(ParameterError, match="g_max"):
        a.program(30e-6)
    from brian2 import ms, usiemens

    a.program(5 * usiemens)
    assert a.conductance.mean() == pytest.approx(5e-6, abs=1.5e-6)
    with pytest.raises(UnitError, match="siemens"):
        a.program(5 * ms)
    a.advance(10 * ms)
    assert a.time == pytest.approx(0.01)


def test_bad_parameters():
    with pytest.raises(ParameterError, match="g_min"):
        PCMArray(3, "nandakumar2018", g_min=20e-6)
    with pytest.raises(ParameterError, match="nan"):
        get_preset("joshi2020", t0=float("nan"))
    with pytest.raises(ParameterError, match="reset_std"):
        get_preset("joshi2020", reset_std=-1.0)
    with pytest.raises(ParameterError, match="no parameter"):
        get_preset("joshi2020", gmax=1.0)


def test_bad_mask_and_shapes():
    a = PCMArray((4, 5))
    with pytest.raises(ShapeError, match=r"\(3, 5\)"):
        a.set_pulse(mask=np.ones((3, 5), bool))
    with pytest.raises(ParameterError, match="boolean"):
        a.set_pulse(mask=np.ones((4, 5)))
    with pytest.raises(ShapeError):
        a.program(np.ones(7) * 1e-6)
    with pytest.raises(ShapeError):
        PCMArray((0, 3))


def test_negative_time():
    a = PCMArray(5)
    with pytest.raises(ParameterError, match="negative"):
        a.read(t=-1.0)
    with pytest.raises(ParameterError, match="-2"):
        a.advance(-2.0)
    a.advance(10)
    a.set_pulse()
    with pytest.raises(ParameterError, match="before the last write"):
        a.read(t=5.0)
    with pytest.raises(ParameterError, match="temperature"):
        a.temperature = -3
