"""Physical bounds of the device parameters (issue 18, point 4) and many SET pulses in one
kernel (point 13)."""

import dataclasses
import math
import time

import numpy as np
import pytest

import neuropcm.devices.array as array_module
from neuropcm import PCMArray
from neuropcm.devices import PRESETS, get_preset
from neuropcm.devices import physics as ph
from neuropcm.devices.params import EV, NU_MAX, T_MAX, ProgrammedStateParams, PulsedParams
from neuropcm.errors import ParameterError


def _one_line_error(call, *names, value=None):
    """The ParameterError of ``call``: one line naming every name (and the value)."""
    with pytest.raises(ParameterError) as e:
        call()
    msg = str(e.value)
    assert "\n" not in msg, msg
    for n in names:
        assert n in msg, msg
    if value is not None:
        assert repr(value) in msg, msg
    return msg


# ------------------------------------------------------------------ point 4: bounds
BAD = [
    # (preset, field, value, words the reason must hold)
    ("nandakumar2018", "nu", 1e3, "0.2"),
    ("nandakumar2018", "nu", 0.25, "physics.md section 3"),
    ("nandakumar2018", "nu_dtod", 0.5, "0.2"),
    ("nandakumar2018", "set_b", -1e-6, "never lowers G"),
    ("nandakumar2018", "set_b", 0.0, "never lowers G"),
    ("nandakumar2018", "set_b", 1e-9, "never lowers G"),      # set_a*g_min + set_b < 0
    ("nandakumar2018", "set_a", 0.01, "saturating"),
    ("nandakumar2018", "set_a", -1.5, "order"),
    ("nandakumar2018", "set_c", -0.5e-6, "pulse memory"),
    ("nandakumar2018", "set_d", -0.01, "std"),
    ("nandakumar2018", "set_e", -1e-7, "std"),
    ("nandakumar2018", "set_f", 50e-6, "judgement"),
    ("nandakumar2018", "set_b", 30e-6, "judgement"),
    ("nandakumar2018", "set_dtod", 2.0, "judgement"),
    ("nandakumar2018", "pulse_memory", 1e4, "judgement"),
    ("nandakumar2018", "read_slope", -0.01, "std"),
    ("nandakumar2018", "read_slope", 3.0, "judgement"),
    ("nandakumar2018", "read_offset", -1e-9, "std"),
    ("nandakumar2018", "read_offset", 1e-4, "g_max"),
    ("nandakumar2018", "t0", 0.0, "> 0"),
    ("nandakumar2018", "t0", 1e9, "judgement"),
    ("nandakumar2018", "program_tol", 1e-3, "g_max - g_min"),
    ("nandakumar2018", "g_min", 25e-6, "g_max"),
    ("nandakumar2018", "g_max", 20.0, "uS"),                  # 20 uS given as 20 S
    ("nandakumar2018", "reset_std", 1e-4, "g_max - g_min"),
    ("joshi2020", "nu_mean_max", 0.5, "0.2"),
    ("joshi2020", "nu_std_max", 0.3, "0.2"),
    ("joshi2020", "nu_mean_min", 0.15, "nu_mean_max"),
    ("joshi2020", "prog_p0", -0.05, "not negative"),
    ("joshi2020", "prog_p2", -0.5, "not negative"),
    ("joshi2020", "prog_p0", 1.5, "judgement"),
    ("joshi2020", "prog_rel", -0.1, "std"),
    ("joshi2020", "prog_rel", 5.0, "judgement"),
    ("joshi2020", "q_a", 2.0, "judgement"),
    ("joshi2020", "q_max", -0.1, "std"),
    ("joshi2020", "t_read", 30.0, "t0"),
    ("joshi2020", "set_step", -1e-6, "never lowers G"),
    ("joshi2020", "set_step", 1e-4, "g_max - g_min"),
    ("joshi2020", "set_step_std", 1e-4, "g_max - g_min"),
    ("joshi2020", "t_ref", 0.0, "temperature"),
    ("joshi2020", "t_ref", 5000.0, "melting"),
    ("joshi2020", "ea_hrs", 2.0 * EV, "judgement"),
    ("joshi2020", "ea_hrs", 0.05 * EV, "less activated"),   # below ea_lrs
    ("joshi2020", "ea_lrs", -0.1 * EV, "0.1-0.15 eV"),
    ("joshi2020", "e_reset", 1e-6, "judgement"),
    ("joshi2020", "e_read", -1e-15, ">= 0.0"),
    ("joshi2020", "endurance", 1e18, "1e9-1e12"),
]


@pytest.mark.parametrize("preset,name,value,why", BAD,
                         ids=[f"{p}-{n}={v!r}" for p, n, v, _ in BAD])
def test_out_of_bounds_parameters_are_refused_in_one_line(preset, name, value, why):
    msg = _one_line_error(lambda: get_preset(preset, **{name: value}), name, value=value)
    assert why in msg, msg
    # the same rule holds for an object built by hand and for a PCMArray override
    cls = type(get_preset(preset))
    _one_line_error(lambda: cls(**{**get_preset(preset).as_dict(), name: value}), name)
    _one_line_error(lambda: PCMArray(3, preset, seed=0, **{name: value}), name)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_validates_and_keeps_the_physics(name):
    p = PRESETS[name]()
    assert dataclasses.replace(p) == p  # __post_init__ passes again
    if p.model == "pulsed":
        # a SET never lowers G at the bottom of the window, for any pulse memory
        for P in (0.0, 0.5, 1.0):
            assert ph.SET_MEAN(p, G=p.g_min, P=P) > 0
        assert -1 < p.set_a <= 0 and p.nu <= NU_MAX
    else:
        assert p.set_step >= 0 and p.nu_mean_max <= NU_MAX and p.t_read <= p.t0
        gn = np.linspace(0, 1, 101)
        poly = p.prog_p2 * gn ** 2 + p.prog_p1 * gn + p.prog_p0
        assert np.all(poly >= 0) and np.all(poly <= 1)
    assert 0 < p.t_ref <= T_MAX and 0 <= p.ea_lrs <= p.ea_hrs


def test_bounds_are_documented_with_their_reason():
    for cls in (PulsedParams, ProgrammedStateParams):
        for f in dataclasses.fields(cls):
            assert f.metadata["why"], f"{cls.__name__}.{f.name} has no reason for its bounds"
            assert f"{f.name} : float" in cls.__doc__
        assert "physics.md section 3" in cls.__doc__ and "judgement" in cls.__doc__
    doc = PulsedParams.__doc__
    assert "0.0 <= x <= 0.2" in doc  # nu


def test_values_inside_the_bounds_are_accepted():
    get_preset("nandakumar2018", nu=0.2, nu_dtod=0.05, set_a=0.0, set_c=0.0, t0=1e6,
               set_dtod=1.0, read_slope=1.0)
    get_preset("joshi2020", t_read=20.0, nu_mean_max=0.2, prog_rel=1.0, q_max=1.0)
    get_preset("ideal", set_step=0.0)  # no SET response: allowed (mean_step refuses it)
    PCMArray(2, "joshi2020", seed=0, temperature=T_MAX)


@pytest.mark.parametrize("bad", [T_MAX + 1, 1e4])
def test_operating_temperature_above_melting_is_refused(bad):
    _one_line_error(lambda: PCMArray(3, seed=0, temperature=bad), "temperature", value=bad)
    a = PCMArray(3, seed=0)
    _one_line_error(lambda: setattr(a, "temperature", bad), "temperature", value=bad)
    assert a.temperature == a.params.t_ref


# ------------------------------------------------------------------ point 13: many pulses
def _one_by_one(a, counts):
    c = np.broadcast_to(np.asarray(counts), a.shape)
    for k in range(int(c.max())):
        a.set_pulse(mask=c > k)


@pytest.mark.parametrize("preset,overrides", [
    ("nandakumar2018", {"set_dtod": 0.3, "nu_dtod": 0.01}),
    ("nandakumar2018", {"endurance": 6}),   # devices wear out on the way
    ("joshi2020", {}),
    ("ideal", {}),
])
@pytest.mark.parametrize("block", [2 ** 20, 7, 1])
def test_set_pulses_is_bit_identical_to_one_pulse_at_a_time(monkeypatch, preset, overrides,
                                                            block):
    monkeypatch.setattr(array_module, "_DRAW_BLOCK", block)
    counts = np.random.default_rng(1).integers(0, 12, (5, 7))
    a = PCMArray((5, 7), preset, seed=3, **overrides).advance(1.5)
    b = PCMArray((5, 7), preset, seed=3, **overrides).advance(1.5)
    a.set_pulses(counts)
    _one_by_one(b, counts)
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa["arrays"]:
        assert np.array_equal(sa["arrays"][k], sb["arrays"][k]), k
    assert sa["rng_state"] == sb["rng_state"]
    assert np.array_equal(a.n_set + a.n_reset >= a.params.endurance, a.worn_out)


def test_many_pulses_run_in_a_kernel():
    a = PCMArray(10, seed=0)
    t = time.perf_counter()
    a.set_pulses(2 * 10 ** 6)
    assert time.perf_counter() - t < 20  # the per-pulse Python loop took about a minute
    assert np.all(a.n_set == 2 * 10 ** 6)
    sat = float(a.conductance.mean())
    assert 5e-6 < sat < a.params.g_max  # saturated near the fixed point, not at a clip


@pytest.mark.parametrize("counts,word", [(-1, "negative"), (2.5, "2.5"), (np.nan, "nan"),
                                         (np.array([1.0, np.inf, 0.0]), "inf"),
                                         (np.array([0, -3, 1]), "-3"), (1e30, "1e+30"),
                                         (np.uint64(2 ** 63), str(2 ** 63))])
def test_bad_pulse_counts_are_refused_in_one_line(counts, word):
    a = PCMArray(3, seed=0)
    msg = _one_line_error(lambda: a.set_pulses(counts), "counts")
    assert word in msg, msg
    assert a.totals()["n_set"] == 0 and math.isclose(a.totals()["energy"], 0.0)
