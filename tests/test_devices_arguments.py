"""Public PCMArray arguments: whole numbers are never truncated, units are checked at the
boundary, cached theory curves cannot be changed by a caller."""

import numpy as np
import pytest
from brian2 import kelvin, mV, ms, second, siemens, usiemens

from neuropcm import PCMArray
from neuropcm.devices import PulsedParams, get_preset
from neuropcm.devices.theory import accumulation_distribution, mean_set_curve, mean_step
from neuropcm.errors import ParameterError, ShapeError, UnitError


# ------------------------------------------------------------------ point 10: cached curves
@pytest.mark.parametrize("preset", ["nandakumar2018", "ideal"])
def test_cached_mean_curve_is_read_only(preset):
    p = get_preset(preset)
    c = mean_set_curve(p)
    eps = mean_step(p)
    first = c.copy()
    with pytest.raises(ValueError, match="read-only"):
        c *= 2
    with pytest.raises(ValueError, match="read-only"):
        c[3] = 0.0
    assert np.array_equal(mean_set_curve(p), first) and mean_step(p) == eps
    mine = np.array(mean_set_curve(p))  # a copy is the caller's to change
    mine *= 2
    assert np.array_equal(mean_set_curve(p), first)


# ------------------------------------------------------------------ point 15: counts
@pytest.mark.parametrize("shape", [2.7, (3, 2.5), -3, (0, 3), (), True, "4", (2, np.nan)])
def test_bad_shapes_are_refused(shape):
    with pytest.raises(ShapeError, match="shape"):
        PCMArray(shape)


def test_whole_float_shapes_and_counts_are_accepted():
    a = PCMArray((3.0, np.int64(2)), seed=0)
    assert a.shape == (3, 2)
    a.set_pulses(2.0)
    a.set_pulses(np.full((3, 2), 1.0))
    a.record_reads(2.0)
    assert np.all(a.n_set == 3) and np.all(a.n_read == 2)


@pytest.mark.parametrize("counts,match", [(2.7, "2.7"), (np.array([1.0, 2.5, 0, 1, 1, 1]), "2.5"),
                                          (-1, "negative"), (np.array([1, -2, 0, 0, 0, 0]), "-2"),
                                          (np.nan, "nan"), (True, "dtype")])
def test_bad_pulse_counts(counts, match):
    a = PCMArray(6, seed=0)
    with pytest.raises(ParameterError, match=match):
        a.set_pulses(counts)
    assert a.totals()["n_set"] == 0


@pytest.mark.parametrize("bad", [2.7, 0, -1, np.nan, "3"])
def test_bad_max_iterations(bad):
    a = PCMArray(4, seed=0)
    with pytest.raises(ParameterError, match="max_iterations"):
        a.program(np.full(4, 5e-6), max_iterations=bad)
    assert a.totals()["n_set"] == 0 and a.totals()["n_reset"] == 0


@pytest.mark.parametrize("bad", [2.7, -1])
def test_bad_read_counts(bad):
    with pytest.raises(ParameterError, match="count"):
        PCMArray(4).record_reads(bad)


def test_whole_number_parameters():
    with pytest.raises(ParameterError, match="program_max_iterations = 2.5"):
        get_preset("nandakumar2018", program_max_iterations=2.5)
    with pytest.raises(ParameterError, match="endurance = 10.5"):
        PCMArray(3, endurance=10.5)
    with pytest.raises(ParameterError, match="n_max"):
        mean_set_curve(get_preset("ideal"), 2.7)
    with pytest.raises(ParameterError, match="n_pulses"):
        accumulation_distribution(get_preset("nandakumar2018"), -1)


@pytest.mark.parametrize("seed", [2.5, -1, "1"])
def test_bad_seeds(seed):
    with pytest.raises(ParameterError, match="seed"):
        PCMArray(3, seed=seed)


# ------------------------------------------------------------------ point 16: units
def test_amplitude_with_a_unit_is_refused():
    a = PCMArray(5, seed=0)
    with pytest.raises(UnitError, match=r"amplitude = 5.*mvolt.*dimensionless"):
        a.set_pulse(amplitude=5 * mV)
    with pytest.raises(UnitError, match="amplitude"):
        a.set_pulse(amplitude=np.full(5, 0.5) * ms)
    assert a.totals()["n_set"] == 0
    a.set_pulse(amplitude=(2 * mV) / (4 * mV))  # dimensionless quantity: 0.5
    assert a.totals()["n_set"] == 5


@pytest.mark.parametrize("bad,match", [(-0.5, "negative"), (np.nan, "nan"), (np.inf, "inf"),
                                       (np.array([0.5, -1, 1, 1, 1]), "-1")])
def test_amplitude_sign_and_finiteness(bad, match):
    a = PCMArray(5, seed=0)
    with pytest.raises(ParameterError, match=match):
        a.set_pulse(amplitude=bad)
    assert a.totals()["n_set"] == 0


def test_every_argument_checks_its_unit():
    a = PCMArray(4, seed=0)
    cases = [(lambda: a.advance(5 * mV), "dt.*second"),
             (lambda: a.read(t=1 * siemens), "t.*second"),
             (lambda: a.read_moments(t=1 * kelvin), "t.*second"),
             (lambda: a.program(5 * ms), "target.*siemens"),
             (lambda: a.program(5e-6, tol=1 * ms), "tol.*siemens"),
             (lambda: a.program(5e-6, max_iterations=3 * second), "max_iterations"),
             (lambda: a.set_pulses(2 * ms), "counts"),
             (lambda: a.record_reads(2 * ms), "count"),
             (lambda: setattr(a, "temperature", 300 * ms), "temperature.*kelvin"),
             (lambda: PCMArray(4, temperature=5 * second), "temperature.*kelvin"),
             (lambda: PCMArray(4, g_max=20 * ms), "g_max.*siemens"),
             (lambda: PulsedParams(g_max=20 * usiemens), "g_max.*quantity")]
    for call, match in cases:
        with pytest.raises(UnitError, match=match):
            call()
    assert a.totals() == {"n_set": 0, "n_reset": 0, "n_read": 0, "energy": 0.0, "n_stuck": 0}


def test_quantities_of_the_right_unit_are_converted():
    a = PCMArray(4, "ideal", seed=0, temperature=310 * kelvin, g_max=20 * usiemens,
                 t0=1 * second)
    assert a.params.g_max == pytest.approx(20e-6) and a.params.t0 == 1.0
    assert a.temperature == 310.0
    a.advance(2 * second)
    assert a.time == 2.0
    a.program(5 * usiemens, tol=0.1 * usiemens, max_iterations=3)
    np.testing.assert_allclose(a.conductance, 5e-6, rtol=1e-12)
