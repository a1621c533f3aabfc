"""The one endurance rule (physics.WRITABLE): the write that reaches the limit takes full
effect, every later write changes nothing at all."""

import numpy as np
import pytest

from neuropcm import PCMArray
from neuropcm.devices import get_preset
from neuropcm.devices import physics as ph


def state(a):
    return {k: v.copy() for k, v in a.state_dict()["arrays"].items()}


def assert_same(s1, s2):
    for k in s1:
        assert np.array_equal(s1[k], s2[k]), k


def test_writable_is_the_literal_rule():
    p = get_preset("joshi2020", endurance=7)
    n_set, n_reset = np.meshgrid(np.arange(10), np.arange(10))
    np.testing.assert_array_equal(ph.WRITABLE(p, n_set=n_set, n_reset=n_reset),
                                  n_set + n_reset < 7)
    ns = {}  # the form the Brian2 engine can gate its writes with
    assert ph.WRITABLE.brian2(p, ns, n_set="nsetp", n_reset="nresetp") == \
        "nsetp + nresetp < pcm_endurance" and ns["pcm_endurance"] == 7
    a = PCMArray(4, "joshi2020", endurance=7)
    a.set_pulses(np.array([0, 5, 6, 7]))
    np.testing.assert_array_equal(a.writable, [True, True, True, False])
    np.testing.assert_array_equal(a.worn_out, ~a.writable)


def test_reset_reaching_the_limit_takes_effect_then_device_is_stuck():
    """Programmed-state model (nu drawn at every write): with endurance 3 the third RESET
    is a full write -- same state as on a device without a limit -- and a fourth changes
    nothing, not nu, not the drift clock, not the counters."""
    worn = PCMArray(200, "joshi2020", seed=5, endurance=3)
    free = PCMArray(200, "joshi2020", seed=5)
    for _ in range(3):
        for a in (worn, free):
            a.advance(10.0)
            a.reset()
        assert_same(state(worn), state(free))
    assert np.all(worn.worn_out) and not np.any(free.worn_out)
    before = state(worn)
    worn.advance(10.0)
    worn.reset()
    worn.set_pulse()
    r = worn.program(np.full(200, 5e-6))
    assert_same(state(worn), before)
    assert np.all(r.iterations == 0) and not np.any(r.converged)


def test_one_shot_programming_on_the_last_allowed_write_draws_nu():
    """A one-shot write counts one SET and one RESET; from endurance - 1 it is still a full
    write (G, nu, t_prog, counters, energy as without a limit), afterwards nothing."""
    tgt = np.linspace(1e-6, 24e-6, 300)
    worn = PCMArray(300, "joshi2020", seed=7, endurance=2)
    free = PCMArray(300, "joshi2020", seed=7)
    for a in (worn, free):
        a.advance(5.0)
        a.reset()
        a.advance(5.0)
        a.program(tgt)
    assert_same(state(worn), state(free))
    assert np.all(worn.n_set + worn.n_reset == 3) and np.all(worn.worn_out)
    before = state(worn)
    worn.advance(5.0)
    worn.program(tgt[::-1].copy())
    assert_same(state(worn), before)


def test_pulsed_set_reaching_the_limit_counts_and_then_nothing():
    worn = PCMArray(500, seed=3, endurance=4)
    free = PCMArray(500, seed=3)
    for a in (worn, free):
        a.set_pulses(4)
    assert_same(state(worn), state(free))
    before = state(worn)
    worn.advance(100.0)
    worn.set_pulses(3)
    worn.reset()
    worn.program(np.full(500, 5e-6))  # program-and-verify: RESET + SETs, all refused
    after = state(worn)
    after.pop("n_read"), before.pop("n_read")  # verify reads still happen (and count)
    after.pop("energy"), before.pop("energy")
    assert_same(after, before)
    assert np.all(worn.n_read > 0)


def test_only_worn_devices_of_a_mask_are_stuck():
    a = PCMArray(6, "ideal", endurance=3)
    a.set_pulses(np.array([0, 1, 2, 3, 3, 0]))
    g = a.conductance.copy()
    a.set_pulse()
    np.testing.assert_allclose(a.conductance - g, [0.25e-6] * 3 + [0, 0, 0.25e-6], rtol=1e-12)
    np.testing.assert_array_equal(a.n_set, [1, 2, 3, 3, 3, 1])


@pytest.mark.parametrize("preset", ["nandakumar2018", "joshi2020"])
def test_reads_of_worn_devices_still_work(preset):
    a = PCMArray(50, preset, seed=1, endurance=1)
    a.set_pulse()
    a.advance(1000.0)
    mean, _ = a.read_moments()
    assert np.all(mean <= a.conductance) and np.all(a.read() >= 0)
