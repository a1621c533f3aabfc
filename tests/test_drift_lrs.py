"""LRS programming conditions (issue 20, point 9; seed 2's Fig. 8c-e): the I_SET presets
(``munoz2021_iset200``, ``munoz2021_iset450``; every number assumed) and drift-resilient's
``lrs_sweep``.

The presets' statistics are checked against formulas typed here: the programmed LRS is
``N(g_lrs, (spread g_lrs)^2)``, the drift exponent ``|N(nu, nu_std^2)|`` with ``nu`` the
binary preset's relation ``0.03 + 0.06 ln(gn) / ln(0.01)`` at the LRS, and a device reads
``G0 ((t + t0)/t0)^-nu`` at time t after programming. Tolerances are 4 standard errors of
the sample size.
"""

import math

import numpy as np
import pytest

import neuropcm.io as nio
from neuropcm.devices import PRESETS, PCMArray, get_preset
from neuropcm.devices.lrs_presets import LRS_CONDITIONS, LRSCondition, lrs_condition
from neuropcm.devices.presets import preset_names
from neuropcm.errors import ParameterError, UnknownPresetError
from neuropcm.workloads import get_workload
from neuropcm.workloads.learning import _drift_lrs as lrs
from neuropcm.workloads.learning.drift_resilient import DriftResilientConfig

NAMES = ("munoz2021_iset200", "munoz2021_iset450")
N = 20_000
T0 = 20.0


def binary_nu(gn):
    """The binary preset's mean drift exponent, typed here: 0.03 at gn = 1, 0.09 at the
    HRS gn = 0.01, log-linear in gn between."""
    return 0.03 + (0.09 - 0.03) * math.log(gn) / math.log(0.01)


def test_presets_are_registered_everywhere():
    """Both are built-in programmed-state presets, name themselves, are offered by the
    workloads' preset choices, keep binary's device (g_max, HRS, t0, read noise) and
    declare an LRS below g_max with 4 spreads of headroom (not truncated); Table I's
    200 uA has the higher, tighter, less drifting LRS (the stated assumption)."""
    b = get_preset("binary")
    for name in NAMES:
        assert name in PRESETS and name in preset_names("programmed")
        p = get_preset(name)
        assert p.preset == name and p.model == "programmed"
        DriftResilientConfig(preset=name)
        for f in ("g_max", "g_min", "reset_mean", "reset_std", "t0", "q_a", "q_b"):
            assert getattr(p, f) == getattr(b, f)
        c = lrs_condition(name)
        assert c.g_lrs * (1 + 4 * c.spread) <= p.g_max
        assert c.fraction == pytest.approx(c.g_lrs / 25e-6, rel=1e-12)
    lo, hi = (LRS_CONDITIONS[n] for n in NAMES)
    assert lo.i_set == pytest.approx(200e-6) and hi.i_set == pytest.approx(450e-6)
    assert lo.g_lrs > hi.g_lrs and lo.spread < hi.spread and lo.nu < hi.nu
    for c in (lo, hi):
        assert "ASSUMED" in c.assumed


@pytest.mark.parametrize("name", NAMES)
def test_programmed_lrs_has_the_declared_mean_and_spread(name):
    """N devices programmed to the declared LRS mean: sample mean within 4 sd/sqrt(N) of
    g_lrs and sample std within 4 sd/sqrt(2 N) of sd = spread g_lrs (a normal sample's
    std has standard error sd/sqrt(2 N)); none reach g_max (no truncation)."""
    c = lrs_condition(name)
    a = PCMArray((N,), name, seed=11)
    a.program(np.full(N, c.g_lrs))
    G = a.conductance
    sd = c.spread * c.g_lrs
    assert abs(G.mean() - c.g_lrs) < 4 * sd / math.sqrt(N)
    assert abs(G.std() - sd) < 4 * sd / math.sqrt(2 * N)
    assert G.max() < get_preset(name).g_max


@pytest.mark.parametrize("name", NAMES)
def test_lrs_drift_follows_the_declared_exponent(name):
    """The drift exponents drawn at the LRS have the declared mean (binary's relation at
    gn = g_lrs / g_max, typed here) and std (8 % of it); the mean read at t after
    programming is G0 ((t + t0)/t0)^-nu per device, so the mean over devices of
    -ln(G(t)/G0) / ln((t + t0)/t0) is the mean exponent (10^6 t0). The HRS keeps binary's
    exponent (0.09)."""
    c = lrs_condition(name)
    assert c.nu == pytest.approx(binary_nu(c.fraction), rel=1e-12)
    assert c.nu_std == pytest.approx(0.08 * binary_nu(c.fraction), rel=1e-12)
    a = PCMArray((N,), name, seed=12)
    a.program(np.full(N, c.g_lrs))
    nu = a.drift_exponent
    assert abs(nu.mean() - c.nu) < 4 * c.nu_std / math.sqrt(N)
    assert abs(nu.std() - c.nu_std) < 4 * c.nu_std / math.sqrt(2 * N)
    G0 = a.conductance.copy()
    t = (1e6 - 1) * T0
    mean, _ = a.read_moments(a.time + t)
    T = (t + T0) / T0
    np.testing.assert_allclose(mean, G0 * T ** -nu, rtol=1e-9)
    est = -np.log(mean / G0) / math.log(T)
    assert abs(est.mean() - c.nu) < 4 * c.nu_std / math.sqrt(N)
    h = PCMArray((N,), name, seed=13)
    h.reset()
    assert h.drift_exponent.mean() == pytest.approx(0.09, rel=0.01)


def test_run_preset_programs_its_declared_lrs():
    """drift-resilient's digital weights: a preset with an LRS condition is programmed
    to its LRS mean, ``binary`` to lrs_target g_max (None at 1: the crossbar's g_max)."""
    assert lrs.target(DriftResilientConfig(preset="munoz2021_iset450")) == \
        pytest.approx(12.5e-6)
    assert lrs.target(DriftResilientConfig()) is None
    assert lrs.target(DriftResilientConfig(lrs_target=0.8)) == pytest.approx(20e-6)


@pytest.mark.parametrize("make,pattern", [
    (lambda: DriftResilientConfig(lrs_sweep=[1.5]), r"lrs_sweep\[0\] = 1.5"),
    (lambda: DriftResilientConfig(lrs_sweep=[0.5], lrs_spreads=[-0.1]),
     r"lrs_spreads\[0\] = -0.1"),
    (lambda: DriftResilientConfig(lrs_sweep=[0.8, 0.5]), r"lrs_sweep = \[0.8, 0.5\] must be"),
    (lambda: DriftResilientConfig(lrs_sweep=[0.5], lrs_spreads=[]), r"lrs_spreads = \[\]"),
    (lambda: DriftResilientConfig(preset="munoz2021_iset999"), r"munoz2021_iset999"),
    (lambda: DriftResilientConfig(preset="munoz2021_iset200", lrs_target=0.8),
     r"lrs_target = 0.8 with preset 'munoz2021_iset200'"),
    (lambda: LRSCondition(i_set=2e-4, g_lrs=1e-5, spread=-0.1, nu=0.03, nu_std=0.0,
                          assumed=""), r"LRSCondition.spread = -0.1"),
    (lambda: LRSCondition(i_set=2e-4, g_lrs=30e-6, spread=0.05, nu=0.03, nu_std=0.0,
                          assumed=""), r"LRSCondition.g_lrs = 3e-05 S"),
    (lambda: lrs_condition("binary"), r"preset 'binary' declares no LRS"),
])
def test_bad_values_give_one_line_errors(make, pattern):
    with pytest.raises((ParameterError, UnknownPresetError), match=pattern) as e:
        make()
    assert "\n" not in str(e.value)


SMALL = {"train": 600, "test": 200, "calibration": 100, "hidden": 20, "epochs": 1,
         "instances": 2, "sweep_instances": 1, "bits_sweep": [4], "adc_sweep": [6],
         "levels_sweep": [4], "time_points": 3, "lrs_sweep": [0.5, 1.0],
         "lrs_spreads": [0.05, 0.2]}


@pytest.mark.slow
def test_lrs_sweep_file_summary_and_figure(tmp_path):
    """The sweep's grid, shapes, units and dims; the point (g_max, 5 %) of the binary
    preset is the drift run's network (same seeds: identical accuracy at every time);
    the programmed LRS of (0.5 g_max, 5 %) has mean 0.5 g_max (4 standard errors over
    its > 1,000 devices) and that at g_max is truncated (mean below g_max); the file
    passes the workload contract's kind, schema and unit checks; summary and figure."""
    w = get_workload("drift-resilient")
    path = w.run(w.config(**SMALL), tmp_path / "lrs.h5", progress=False)
    import test_workload_contract as contract  # the contract's file checks, on this file

    for check in (contract.check_file_kind, contract.check_schema,
                  contract.check_dataset_units, contract.check_headline_declared):
        check(w, path)
    r = nio.open(path)
    g = "results/lrs/"
    np.testing.assert_array_equal(r.dataset(g + "mean_fraction"), [0.5, 1.0])
    np.testing.assert_array_equal(r.dataset(g + "spread"), [0.05, 0.2])
    assert r.dataset(g + "accuracy").shape == (2, 2, 3, 1)
    assert r.dataset(g + "preset_accuracy").shape == (len(LRS_CONDITIONS), 3, 1)
    units = {"accuracy": "1", "g_max": "S", "programmed_mean": "S", "preset_i_set": "A",
             "nu_lrs": "1", "preset_accuracy": "1"}
    for k, u in units.items():
        assert r.datasets[g + k].units == u
    np.testing.assert_allclose(r.dataset(g + "nu_lrs"), [binary_nu(0.5), binary_nu(1.0)])
    np.testing.assert_allclose(r.dataset(g + "preset_i_set"), [200e-6, 450e-6])
    drift = r.dataset("results/drift/accuracy_lrs")[:, 0]
    np.testing.assert_array_equal(r.dataset(g + "accuracy")[1, 0, :, 0], drift)
    m, s = r.dataset(g + "programmed_mean"), r.dataset(g + "programmed_spread")
    assert abs(m[0, 0] - 12.5e-6) < 4 * 0.05 * 12.5e-6 / math.sqrt(1000)  # > 1,000 devices
    assert s[0, 0] == pytest.approx(0.05, rel=0.3)
    assert m[1, 0] < 25e-6 * (1 - 0.01)
    text = w.summary(path)
    assert "I_SET = 200 uA (20 uS, 5 %" in text
    assert "(paper, MNIST, I_SET = 200 uA: 97.1 / 96.8 %)" in text and "LRS grid" in text
    assert w.figure(path, tmp_path / "lrs.png").stat().st_size > 10_000
    # without the sweep the file's config holds neither field (files as before)
    cfg = w.config(**{k: v for k, v in SMALL.items() if not k.startswith("lrs")})
    assert "lrs_spreads" not in cfg.to_dict() and "lrs_sweep" not in cfg.to_dict()
