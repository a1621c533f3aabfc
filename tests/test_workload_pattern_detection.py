"""pattern-detection: the correlated input generator, the phase-change neuron integrating
on its conductance, STDP separating pattern from noise weights, scores and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from neuropcm.errors import ParameterError
from neuropcm.random import rng
from neuropcm.workloads.spiking import _pattern_inputs as PI
from neuropcm.workloads.spiking.pattern_detection import (
    WORKLOAD,
    PatternDetectionConfig,
    experiment,
)


def _count_corr(x, y):
    return float(np.corrcoef(x, y)[0, 1])


def _corr_se(x, y, blocks=20):
    """Standard error of the correlation coefficient of ``x`` and ``y`` from the spread of
    its estimates over ``blocks`` independent consecutive blocks (batch means: the
    sampling variance of a correlation of rare binary events is well above the normal
    theory's (1 - rho^2)^2 / n)."""
    est = [_count_corr(a, b) for a, b in zip(np.array_split(x, blocks),
                                               np.array_split(y, blocks))]
    return float(np.std(est, ddof=1) / np.sqrt(blocks))


# ----------------------------------------------------------------- the input generator
@pytest.mark.parametrize("c", [0.1, 0.3])
def test_pattern_inputs_are_correlated_with_coefficient_c(c):
    p, steps, window = 0.05, 40_000, 10
    members = np.array([0] * 6 + [-1] * 6)
    shown = np.zeros(steps, dtype=np.int64)  # the pattern shown throughout
    s = PI.correlated_spikes(shown, members, p, c, rng(5, "test"))
    # every input keeps the rate p: binomial s.e. of a mean over steps
    rate = s.mean(axis=0)
    assert np.all(np.abs(rate - p) < 5 * np.sqrt(p * (1 - p) / steps))
    counts = s.reshape(steps // window, window, -1).sum(axis=1)
    # independent steps: the spike-count correlation of two pattern inputs over a window is
    # the per-step one, c; of a pattern and a noise input (or two noise inputs), 0.
    # Tolerance: 5 s.e. of each estimate (batch means over 20 blocks)
    for a in range(6):
        for b in range(a + 1, 12):
            r = _count_corr(counts[:, a], counts[:, b])
            want = c if b < 6 else 0.0
            assert abs(r - want) < 5 * _corr_se(counts[:, a], counts[:, b]), (a, b, r)


def test_outside_presentations_the_pattern_inputs_are_independent():
    steps = 40_000
    shown = np.where(np.arange(steps) % 1000 < 500, 0, -1)  # half the time presented
    members = np.array([0, 0, 0, -1])
    s = PI.correlated_spikes(shown, members, 0.05, 0.5, rng(6, "test"))
    off, on = s[shown < 0], s[shown >= 0]
    assert abs(_count_corr(off[:, 0], off[:, 1])) < 5 * _corr_se(off[:, 0], off[:, 1])
    assert abs(_count_corr(on[:, 0], on[:, 1]) - 0.5) < 5 * _corr_se(on[:, 0], on[:, 1])
    # the rate is p in and outside presentations
    for part in (off, on):
        assert abs(part[:, 0].mean() - 0.05) < 5 * np.sqrt(0.05 * 0.95 / part.shape[0])


def test_schedule_alternates_gaps_and_presentations_of_every_pattern():
    shown = PI.schedule(1000, on=30, off=20, patterns=3, gen=rng(1, "s"))
    pres = PI.presentations(shown)
    assert shown[:20].max() == -1
    assert len(pres) == 20 and np.all(pres[:, 1] - pres[:, 0] == 30)
    assert np.all(np.diff(pres[:, 0]) == 50)
    # each round of 3 presentations shows every pattern once
    for k in range(0, len(pres) - 2, 3):
        assert sorted(pres[k:k + 3, 2]) == [0, 1, 2]


def test_score_spikes_by_hand():
    shown = np.full(100, -1)
    shown[10:20] = 0
    shown[40:50] = 1
    shown[70:80] = 0
    assignment = np.array([0, 1, -1])
    steps = np.array([12, 15, 21, 30, 45, 72, 60])
    neuron = np.array([0, 0, 0, 0, 0, 1, 2])
    sc = PI.score_spikes(steps, neuron, shown, assignment, grace=2)
    # 12, 15 hits (latency 2); 21 inside the grace of [10, 20): a hit; 30 and 60: false
    # alarms; 45 by neuron 0 in pattern 1: misattributed; 72 by neuron 1 in pattern 0: too
    assert sc["hits"] == 3 and sc["false_alarms"] == 2 and sc["misattributed"] == 2
    assert sc["presentations"] == 3 and sc["detected"] == pytest.approx(1 / 3)
    assert list(sc["latency"]) == [2]
    assert sc["gap_steps"] == 100 - 3 * 12


# ----------------------------------------------------------------- the neuron
def test_phase_change_neuron_integrates_and_fires_on_its_conductance():
    """A hand-run trace: four inputs of weight ~1 (G+ = 10 uS, w_scale 1e5/S, frozen) fire
    together every 7 steps (summed input ~4 >= drive threshold 2.5: one SET pulse); input 0
    alone every 11 steps (~1: no pulse). The neuron's conductance changes only on those
    pulses (no leak), and it fires in the step after its conductance exceeds the
    threshold, which RESETs it."""
    from neuropcm.devices.presets import get_preset
    from neuropcm.workloads.spiking._pattern_net import simulate

    steps, g_th = 200, 4e-6
    sp = np.zeros((steps, 4), bool)
    sup = np.arange(5, 190, 7)
    sp[sup] = True
    sub = np.arange(8, 190, 11)
    sub = sub[~np.isin(sub, sup)]
    sp[sub, 0] = True
    r = simulate(sp, learn_steps=0, dt=1e-3, neurons=1, preset="nandakumar2018",
                 g_threshold=g_th, w_scale=1e5, drive_threshold=2.5, dT_pot=5e-3,
                 dT_dep=50e-3, p_dep=1.0, refresh=None, initial_pulses=0, record_every=50, brian_seed=1, seed=0,
                 g_plus_init=np.full(4, 10e-6), record_neuron=True)
    g = r["neuron_g"][:, 0]
    spikes = set(r["spike_step"].tolist())
    assert r["neuron_set_pulses"][0] == len(sup)  # one pulse per supra-threshold step
    assert r["neuron_resets"][0] == len(spikes) >= 3
    # it fires exactly in the steps after its conductance exceeded the threshold
    assert spikes == {k for k in range(1, steps) if g[k - 1] > g_th}
    reset = get_preset("nandakumar2018").reset_mean
    changed = {k for k in range(1, steps) if g[k] != g[k - 1]}
    assert changed <= set(sup.tolist()) | spikes  # no leak, nothing from lone inputs
    assert all(g[k] < 3 * reset for k in spikes)  # RESET (a pulse in that step is lost)
    # crystallising pulses raise G on average (one may lower it: the model's SET noise)
    up = [g[k] - g[k - 1] for k in sup if k not in spikes]
    assert np.mean(up) > 0.5e-6


# ----------------------------------------------------------------- learning
# 16 of 40 inputs in the pattern: a burst at c = 0.4 (~10 inputs of initial weight ~0.45)
# reaches the drive threshold 3, a chance coincidence of the 40 (~0.8 a step) does not
SMALL = {"inputs": 40, "pattern_inputs": 16, "drive_threshold": 3.0, "learn_time": 15.0,
         "test_time": 4.0, "c_sweep": (0.4,), "c": 0.4, "patterns": 0, "seed": 3}


@pytest.mark.slow
def test_stdp_separates_pattern_weights_from_noise_weights():
    cfg = PatternDetectionConfig(**SMALL)
    e = experiment(cfg, 0.4, 1, cfg.learn_time, ("single", "test"))
    w = e["w"][-1, :, 0]
    pat = e["members"] == 0
    assert e["auc"][0] >= 0.9
    assert w[pat].mean() > w[~pat].mean() + 0.2
    # the control: at c = 0 the pattern inputs are like the others, and the weights do not
    # tell them apart (|AUC - 1/2| within 3 s.e. of Mann-Whitney's AUC for 16 vs 24)
    e0 = experiment(cfg, 0.0, 1, cfg.learn_time, ("single", "test"))
    se = np.sqrt((16 + 24 + 1) / (12 * 16 * 24))
    assert abs(e0["auc"][0] - 0.5) < 3 * se


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("kw,match", [
    ({"rate": 500.0, "dt": 0.005}, "rate"),
    ({"pattern_inputs": 40, "patterns": 3}, "pattern_inputs"),
    ({"dT_pot": 0.1, "dT_dep": 0.05}, "dT_pot"),
    ({"g_threshold": 5e-5}, "g_threshold"),
    ({"presentation": 1e-4}, "presentation"),
    ({"c_sweep": ()}, "c_sweep"),
    ({"c": 1.5}, "c"),
    ({"inputs": 1}, "inputs"),
    ({"preset": "nope"}, "preset"),
])
def test_bad_settings_are_refused_with_the_field_named(kw, match):
    with pytest.raises(ParameterError, match=match):
        PatternDetectionConfig(**kw)


def test_generator_refuses_bad_probabilities():
    shown, members = np.zeros(10, int), np.zeros(3, int)
    with pytest.raises(ParameterError, match="p = "):
        PI.correlated_spikes(shown, members, 1.0, 0.1, rng(0, "x"))
    with pytest.raises(ParameterError, match="c = "):
        PI.correlated_spikes(shown, members, 0.1, -0.1, rng(0, "x"))
    with pytest.raises(ParameterError, match="at least one step"):
        PI.schedule(10, 0, 5, 1, rng(0, "x"))


def test_registered():
    assert WORKLOAD.name == "pattern-detection" and WORKLOAD.kind == "pattern_detection"
    cfg = PatternDetectionConfig(c=0.3, c_sweep=(0.1, 0.3, 0.2))
    assert cfg.sweep() == [0.1, 0.2, 0.3]


# ----------------------------------------------------------------- the file
def _fake_run(auc, detected, n_in=10):
    """What :func:`experiment` returns for one neuron, with given scores."""
    members = np.array([0] * 3 + [-1] * (n_in - 3))
    w = np.zeros((2, n_in, 1))
    w[-1, :3, 0] = 0.5
    mean_w = np.zeros((2, 1, 2))
    return {"auc": np.array([auc]), "detected": detected, "latency": np.array([0.05, 0.07]),
            "false_alarms": 1, "false_alarm_rate": 0.1, "misattributed": 0, "hits": 2,
            "presentations": 4, "gap_steps": 10, "neuron_resets": 3, "w": w,
            "mean_w": mean_w, "members": members, "time": np.array([0.0, 1.0]),
            "spike_time": np.array([0.1, 0.2]), "spike_neuron": np.array([0, 0])}


def test_lowest_c_is_the_smallest_c_that_works_and_the_file_reads_back(tmp_path):
    from neuropcm.io import open_result
    from neuropcm.workloads.spiking._pattern_io import write_results

    cfg = PatternDetectionConfig(c=0.2, c_sweep=(0.05, 0.1, 0.3), patterns=0,
                                 drive_sweep=(3.0, 5.0))
    cs = cfg.sweep()
    assert cs == [0.05, 0.1, 0.2, 0.3]
    # works = AUC >= 0.9 and detected >= 0.5: only at 0.1 and 0.3 (0.2: too few detected)
    single = [_fake_run(a, d) for a, d in ((0.6, 0.9), (0.95, 0.6), (0.99, 0.4), (0.97, 0.7))]
    drive = {3.0: [_fake_run(0.95, 0.9)] * 4, 5.0: [_fake_run(0.5, 0.0)] * 4}
    out = write_results(cfg, tmp_path / "p.h5", cs, single, None, 1.0, drive)
    r = open_result(out)
    assert r.results["lowest_c"] == 0.1
    assert list(r.dataset("results/sweep/works")) == [0, 1, 0, 1]
    assert r.results["latency_median"] == pytest.approx(0.06)
    assert np.isnan(r.results["wta_detected"]) and r.results["wta_patterns_learned"] == 0
    lc = r.dataset("results/drive/lowest_c")
    assert lc[0] == 0.05 and np.isnan(lc[1])  # threshold 5: no c works
    assert r.datasets["results/drive/threshold"].units == "1"
    text = WORKLOAD.summary(out)
    assert "lowest c = 0.1" in text and "3: 0.05, 5: none" in text
    assert WORKLOAD.figure(out, tmp_path / "p.png").is_file()
