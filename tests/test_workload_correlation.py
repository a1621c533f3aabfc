"""Temporal correlation detection (neuropcm/workloads/correlation.py; physics.md section 6).

Formulas are typed here from the paper, independently of the package: the conditional
firing probabilities, the correlation c between correlated processes, the uncentred
covariance, the SET-current rule, the Mann-Whitney AUC and Otsu's criterion.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.stats

from neuropcm.devices import PCMArray
from neuropcm.errors import ParameterError, UnitError
from neuropcm.random import rng
from neuropcm.workloads.computational_memory import _correlation_kernels as K
from neuropcm.workloads.computational_memory.correlation import (
    WORKLOAD,
    CorrelationConfig,
    pulse_amplitude,
    simulate,
)

# A small recorded run: p = 0.1 so that both groups fire often; currents set so that steps
# without the reference (M ~ 170) are skipped, steps with it (M ~ 485) are programmed, and
# about half of those hit the cap (i_max = 40 uA at M = 480).
SMALL = {"processes": 2000, "correlated": 1000, "p": 0.1, "c": 0.1, "steps": 4000, "snapshots": 4,
             "current_per_process": 25e-6 / 300, "i_max": 40e-6, "read_noise": False, "seed": 3}


@pytest.fixture(scope="module")
def recorded():
    cfg = CorrelationConfig(**SMALL)
    return cfg, simulate(cfg, record=True)


def test_reference_and_conditional_frequencies(recorded):
    """P(X_r) = p; correlated: P(X=1|X_r=1) = p + sqrt(c)(1-p), P(X=1|X_r=0) = p(1-sqrt(c));
    uncorrelated: p either way (4 binomial standard errors)."""
    _cfg, r = recorded
    X, ref = r["X"], r["reference"]
    p, s, n_c = 0.1, math.sqrt(0.1), 1000
    assert abs(ref.mean() - p) < 4 * math.sqrt(p * (1 - p) / ref.size)
    cases = [(X[ref][:, :n_c], p + s * (1 - p)), (X[~ref][:, :n_c], p * (1 - s)),
             (X[ref][:, n_c:], p), (X[~ref][:, n_c:], p)]
    for x, q in cases:
        assert abs(x.mean() - q) < 4 * math.sqrt(q * (1 - q) / x.size), (x.mean(), q)
    np.testing.assert_array_equal(r["process_sum"], X.sum(1))


def test_pairwise_correlation_is_c(recorded):
    """E[X_i X_j] = p^2 + c p (1-p) for two correlated processes (correlation c) and p^2
    for a correlated and an uncorrelated one; the per-step pair frequencies are
    independent across steps, so the tolerance is 4 of their standard errors."""
    _, r = recorded
    X = r["X"].astype(float)
    p, c, n_c, n_u = 0.1, 0.1, 1000, 1000
    m_c, m_u = X[:, :n_c].sum(1), X[:, n_c:].sum(1)
    for f, want in ((m_c * (m_c - 1) / (n_c * (n_c - 1)), p * p + c * p * (1 - p)),
                    (m_c * m_u / (n_c * n_u), p * p)):
        se = f.std(ddof=1) / math.sqrt(f.size)
        assert abs(f.mean() - want) < 4 * se, (f.mean(), want, se)


def test_covariance_baseline_is_exact(recorded):
    """The baseline is sum_j (X^T X)_ij, the row sums of the uncentred covariance."""
    _, r = recorded
    X = r["X"].astype(np.float64)  # integer counts far below 2**53: exact in float64
    C = X.T @ X
    np.testing.assert_array_equal(r["score"], C.sum(1).astype(np.int64))


def test_pulses_follow_the_current_rule(recorded):
    """I(k) = current_per_process * M(k); no pulse below 25 uA, capped at i_max, amplitude
    I/80 uA; each device gets one pulse per programmed step its process fired in, and the
    devices end exactly where the public PCMArray API takes them on the same pulses."""
    cfg, r = recorded
    X = r["X"]
    current = SMALL["current_per_process"] * X.sum(1)
    amp = np.where(current < 25e-6, 0.0, np.minimum(current, 40e-6) / 80e-6)
    assert 0 < np.count_nonzero(amp) < amp.size and np.any(current >= 40e-6)
    np.testing.assert_array_equal(r["amplitude"], amp)
    np.testing.assert_array_equal(r["set_pulses"], X[amp > 0].sum(0))
    replay = PCMArray(cfg.processes, "nandakumar2018", seed=rng(cfg.seed, "devices"))
    for k in np.flatnonzero(amp):
        replay.set_pulse(X[k], amp[k])
    np.testing.assert_array_equal(r["array"].conductance, replay.conductance)
    assert r["array"].totals() == replay.totals()
    assert r["totals"]["n_set"] == X[amp > 0].sum()


def test_pulse_amplitude_edges():
    cfg = CorrelationConfig(processes=1000)
    assert pulse_amplitude(24.999e-6, cfg) == 0.0
    assert pulse_amplitude(25e-6, cfg) == 25 / 80
    assert pulse_amplitude(60e-6, cfg) == 60 / 80
    assert pulse_amplitude(200e-6, cfg) == 1.0
    half = cfg.replace(amplitude_scale=0.5)  # scales the amplitude, not the threshold
    assert pulse_amplitude(24.999e-6, half) == 0.0
    assert pulse_amplitude(60e-6, half) == 0.5 * 60 / 80
    assert pulse_amplitude(200e-6, half) == 0.5
    # the experiment's current: 0.002 uA per active process at N = 1e6, scaled with N
    assert CorrelationConfig().current == 0.002e-6
    assert math.isclose(cfg.current * 1000, 0.002e-6 * 1e6)


def test_auc_is_mann_whitney():
    g = np.random.default_rng(0)
    for score in (g.normal(size=3000), g.integers(0, 7, size=3000)):  # continuous, with ties
        lab = g.random(3000) < 0.2
        lab[:5] = True
        score = score + lab  # an integer shift keeps ties between the groups
        u = scipy.stats.mannwhitneyu(score[lab], score[~lab]).statistic
        want = u / (lab.sum() * (~lab).sum())
        assert math.isclose(K.roc_auc(score, lab), want, rel_tol=1e-12)
        assert math.isclose(K.detection_scores(score, lab)["roc_auc"], want, rel_tol=1e-12)


def test_threshold_split_is_otsu_and_best_accuracy_is_the_maximum():
    """Otsu: the cut maximising w0 w1 (mu0 - mu1)^2, typed here by brute force."""
    g = np.random.default_rng(1)
    lab = np.r_[np.zeros(400, bool), np.ones(100, bool)]
    score = np.round(np.r_[g.normal(1, 1, 400), g.normal(5, 1.5, 100)], 1)  # with ties
    vals = np.unique(score)
    best_obj, best_cut, accs = -1.0, None, []
    for lo, hi in itertools.pairwise(vals):
        t = 0.5 * (lo + hi)
        a, b = score[score <= t], score[score > t]
        obj = a.size * b.size * (a.mean() - b.mean()) ** 2
        if obj > best_obj:
            best_obj, best_cut = obj, t
        accs.append(np.mean((score > t) == lab))
    accs += [np.mean(lab), np.mean(~lab)]  # everything called correlated / uncorrelated
    d = K.detection_scores(score, lab)
    assert math.isclose(d["threshold"], best_cut, rel_tol=1e-12)
    assert d["accuracy"] == np.mean((score > best_cut) == lab)
    assert d["best_accuracy"] == max(accs)
    det = score > best_cut
    tp, fp, fn = (det & lab).sum(), (det & ~lab).sum(), (~det & lab).sum()
    assert d["precision"] == tp / (tp + fp) and d["recall"] == tp / (tp + fn)
    assert math.isclose(d["f1"], 2 * d["precision"] * d["recall"]
                        / (d["precision"] + d["recall"]), rel_tol=1e-12)
    flat = K.detection_scores(np.ones(5), np.array([1, 0, 0, 0, 0], bool))
    assert math.isnan(flat["threshold"]) and flat["accuracy"] == 0.8
    assert flat["roc_auc"] == 0.5 and flat["best_accuracy"] == 0.8
    # nothing detected: precision undefined, recall and F1 zero
    assert math.isnan(flat["precision"]) and flat["recall"] == 0 and flat["f1"] == 0


def test_precision_recall_f1_auc_by_hand():
    """Six scores, Otsu's cut between 3 and 10: detected {10, 11, 12}, of which 10 and 11
    are correlated (TP 2, FP 1) and the correlated 3 is missed (FN 1): precision = recall
    = F1 = 2/3; accuracy 4/6 against the baseline 3/6 (three uncorrelated). AUC by
    counting pairs (positive above negative): of 3 x 3 pairs, 3 > 1, 3 > 2, 10 > 1, 10 > 2,
    11 > 1, 11 > 2 win, the rest lose: 6/9."""
    score = np.array([1.0, 2.0, 3.0, 10.0, 11.0, 12.0])
    lab = np.array([0, 0, 1, 1, 1, 0], bool)
    d = K.detection_scores(score, lab)
    assert 3 < d["threshold"] < 10
    assert d["precision"] == pytest.approx(2 / 3) and d["recall"] == pytest.approx(2 / 3)
    assert d["f1"] == pytest.approx(2 / 3) and d["accuracy"] == pytest.approx(4 / 6)
    assert d["roc_auc"] == pytest.approx(6 / 9)


@pytest.mark.parametrize("c, auc_min", [(0.1, 0.98), (0.01, 0.9)])
def test_detection_small(c, auc_min):
    """The paper's claim at 1/100 of its size (1e4 processes, 955 correlated, p = 0.01,
    1e4 steps, reads with noise): the correlated devices end at high conductance, and the
    ROC-AUC grows from chance (before the first programmed step, within 4 standard errors
    of the Mann-Whitney statistic under the null) to near 1."""
    cfg = CorrelationConfig(processes=10_000, c=c, seed=5)
    r = simulate(cfg)
    cur = r["curves"]
    first = int(np.flatnonzero(r["amplitude"])[0]) + 1  # steps done before any pulse
    before = r["snapshots"] < first
    assert before.any()
    n_c, n_u = 955, 9045
    # no pulse yet: AUC of two samples of the same read distribution, SE of Mann-Whitney
    se_auc = math.sqrt((n_c + n_u + 1) / (12 * n_c * n_u))
    assert np.all(np.abs(cur["roc_auc"][before] - 0.5) < 4 * se_auc)
    assert cur["roc_auc"][-1] > auc_min
    assert cur["ideal_roc_auc"][-1] > auc_min
    assert cur["mean_g_correlated"][-1] > 3 * cur["mean_g_uncorrelated"][-1]


@pytest.fixture(scope="module")
def result_file(tmp_path_factory):
    w = WORKLOAD
    path = tmp_path_factory.mktemp("corr") / "corr.h5"
    cfg = w.config(processes=2500, steps=3000, snapshots=8, bins=40, seed=2)
    return w.run(cfg, path, progress=False)


def test_file_layout_units_and_headline(result_file):
    import neuropcm.io as nio

    r = nio.open(result_file)
    assert r.kind.name == "correlation" and r.config["processes"] == 2500
    assert r.config["derived"]["correlated"] == 239  # round(2500 * 95525 / 1e6)
    for name, unit in r.kind.datasets.items():
        assert r.datasets[name].units == unit
    g = r.dataset("results/final/conductance")
    lab = r.dataset("results/final/correlated").astype(bool)
    assert g.shape == (2500,) and lab.sum() == 239
    # the headline AUC is the Mann-Whitney AUC of the stored final reads
    u = scipy.stats.mannwhitneyu(g[lab], g[~lab]).statistic
    assert math.isclose(r.results["roc_auc"], u / (239 * 2261), rel_tol=1e-12)
    assert r.results["roc_auc"] == r.dataset("results/snapshots/roc_auc")[-1]
    t = r.results["threshold"]
    assert r.results["accuracy"] == np.mean((g > t) == lab)
    hc = r.dataset("results/histogram/correlated")
    hu = r.dataset("results/histogram/uncorrelated")
    assert hc.sum() == 239 and hu.sum() == 2261 and hc.size == 40
    assert r.dataset("results/snapshots/step")[-1] == 3000
    assert r.results["n_set"] == r.dataset("results/final/set_pulses").sum()
    # the ring of correlated pixels is where the stand-in image puts it
    rows, width = int(r.results["image_rows"]), int(r.results["image_width"])
    assert (rows, width) == (50, 50)
    yy, xx = np.divmod(np.flatnonzero(lab), width)
    rad = np.hypot((xx + 0.5) / width - 0.5, (yy + 0.5) / rows - 0.5)
    assert np.all(np.abs(rad - 0.3) < 0.05)
    text = WORKLOAD.summary(result_file)
    assert "ROC-AUC" in text and f"{r.results['roc_auc']:.4f}" in text
    # the trivial baseline beside the accuracy, the detected set's scores from the reads
    assert r.results["baseline_accuracy"] == 1 - 239 / 2500
    assert f"{100 * (1 - 239 / 2500):.2f} % for calling every process uncorrelated" in text
    det = g > t
    tp, fp = (det & lab).sum(), (det & ~lab).sum()
    assert r.results["precision"] == tp / (tp + fp) and r.results["recall"] == tp / 239
    assert math.isclose(r.results["f1"], 2 * tp / (tp + fp + 239), rel_tol=1e-12)
    auc = r.dataset("results/snapshots/roc_auc")
    assert r.results["peak_roc_auc"] == auc.max()
    steps = r.dataset("results/snapshots/step")
    assert r.results["peak_step"] == steps[np.argmax(auc)]
    assert r.results["f1"] == r.dataset("results/snapshots/f1")[-1]


def test_same_seed_same_file(result_file, tmp_path):
    w = WORKLOAD
    again = w.run(w.config(processes=2500, steps=3000, snapshots=8, bins=40, seed=2),
                  tmp_path / "again.h5", progress=False)
    import neuropcm.io as nio

    a, b = nio.open(result_file), nio.open(again)
    for name in ("results/final/conductance", "results/final/covariance_score",
                 "results/steps/process_sum", "results/snapshots/roc_auc"):
        np.testing.assert_array_equal(a.dataset(name), b.dataset(name))


def test_amplitude_scale_scales_every_pulse():
    """Same processes, amplitudes times s: the ideal device's sum of amplitudes scales by
    exactly s, every device gets the same pulses, and the PCM devices end lower."""
    base = {"processes": 3000, "steps": 3000, "snapshots": 3, "seed": 4}
    one = simulate(CorrelationConfig(**base))
    quarter = simulate(CorrelationConfig(**base, amplitude_scale=0.25))
    np.testing.assert_array_equal(one["set_pulses"], quarter["set_pulses"])
    np.testing.assert_allclose(quarter["ideal"], 0.25 * one["ideal"], rtol=1e-12)
    np.testing.assert_allclose(quarter["amplitude"], 0.25 * one["amplitude"], rtol=1e-12)
    lab = one["labels"]
    assert quarter["final_g"][lab].mean() < one["final_g"][lab].mean()


@pytest.mark.slow
def test_amplitude_scale_keeps_the_auc_from_falling():
    """1e5 processes at the experiment's rates, 1e4 steps: with the plain rule the ROC-AUC
    peaks and falls as the correlated devices flatten towards saturation; with the
    amplitudes scaled by 0.25 it is still at its peak at the last step, above the plain
    rule's, and the split's accuracy clears the trivial baseline (every process called
    uncorrelated) by more."""
    base = {"processes": 100_000, "seed": 0}
    one = simulate(CorrelationConfig(**base))["curves"]
    quarter = simulate(CorrelationConfig(**base, amplitude_scale=0.25))["curves"]
    assert one["roc_auc"][-1] < one["roc_auc"].max() - 1e-3
    assert quarter["roc_auc"][-1] == quarter["roc_auc"].max()
    assert quarter["roc_auc"][-1] > one["roc_auc"][-1]
    baseline = 1 - 9552 / 100_000
    assert quarter["accuracy"][-1] - baseline > one["accuracy"][-1] - baseline


def test_figure_from_file(result_file, tmp_path):
    png = WORKLOAD.figure(result_file, tmp_path / "fig.png")
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("kw, match", [
    ({"processes": 100, "correlated": 100}, "correlated between 1 and 99"),
    ({"processes": 4}, "correlated between 1 and 3"),  # round(4 * 0.095525) = 0
    ({"c": 0.0}, "out of range"),
    ({"c": 1.5}, "out of range"),
    ({"p": 1.0}, "p < 1"),
    ({"i_min": 90e-6}, "i_min <= i_max"),
    ({"processes": 1000, "current_per_process": 1e-9}, "no device would ever be programmed"),
    ({"steps": 2.5}, "whole number"),
    ({"preset": "joshi2020"}, "not one of"),
    ({"i_max": "80*mV"}, "unit"),
])
def test_config_errors(kw, match):
    with pytest.raises((ParameterError, UnitError), match=match):
        CorrelationConfig(**kw)


def test_config_accepts_quantities_and_refuses_resume(tmp_path):
    cfg = CorrelationConfig(processes=1000, i_min="20*uA", current_per_process="50 nA")
    assert cfg.i_min == pytest.approx(20e-6) and cfg.current == pytest.approx(50e-9)
    with pytest.raises(ParameterError, match="without --resume"):
        WORKLOAD.run(cfg, tmp_path / "x.h5", resume=True)
    with pytest.raises(ParameterError, match="record=True"):
        simulate(CorrelationConfig(processes=100_000, steps=1000), record=True)
