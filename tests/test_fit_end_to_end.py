"""A fitted device everywhere (issue 19): the preset file fitted to the shipped example drives
a Brian2 synapse, a crossbar and a workload in one process, and the devices each of them
makes match the measurements the preset was fitted on (two-sample KS, per pulse number)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy import stats

brian2 = pytest.importorskip("brian2")

PULSES = (1, 3, 8)
N = 1500


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    from neuropcm.cli import main
    from neuropcm.workloads.characterisation.device_fit import example_data

    d = tmp_path_factory.mktemp("fit")
    toml = d / "mine.toml"
    assert main(["fit", "accumulation", str(example_data()), "--out", str(toml),
                 "--check-devices", "300", "--quiet"]) == 0
    rows = list(csv.reader(line for line in example_data().read_text().splitlines()
                           if not line.startswith("#")))
    head = rows[0]
    ip, ig = head.index("pulse"), head.index("conductance [uS]")
    data = {k: np.array([float(r[ig]) * 1e-6 for r in rows[1:] if int(r[ip]) == k])
            for k in PULSES}
    return toml, data


def _close(sim, data, what):
    p = stats.ks_2samp(sim, data).pvalue
    assert p > 1e-3, f"{what}: KS p = {p:.2g} between simulated devices and the data"


def test_a_brian2_synapse_with_the_fitted_preset_matches_the_data(fitted):
    from brian2 import Network, SpikeGeneratorGroup, ms, siemens

    from neuropcm.snn import PCMSynapses
    from snn_support import AlwaysLTP, clock_neuron

    toml, data = fitted
    brian2.seed(3)
    pre = SpikeGeneratorGroup(N, [], [] * ms)
    post = clock_neuron()  # fires at 1, 2, 3, ... ms: one SET pulse on G+ each time
    S = PCMSynapses(pre, post, preset=str(toml), plasticity=AlwaysLTP(), w_scale=1 / siemens,
                    drift=False, initial_pulses=(0, 0))
    S.connect()
    assert S.device_params.preset == "mine"
    net = Network(pre, post, S)
    done = 0
    for k in PULSES:
        net.run((k - done) * ms + (0.5 * ms if done == 0 else 0 * ms))
        done = k
        _close(np.asarray(S.Gp_[:]), data[k], f"Brian2 synapses after {k} pulses")


def test_a_crossbar_with_the_fitted_preset_matches_the_data(fitted):
    from neuropcm.crossbar import Crossbar
    from neuropcm.devices import PCMArray

    toml, data = fitted
    m, n = 30, N // 30
    plus = PCMArray((m, n), preset=str(toml), seed=5)
    minus = PCMArray((m, n), preset=str(toml), seed=6)
    xb = Crossbar.from_devices(plus, minus, w_scale=1e4, seed=7)
    assert xb.params.preset == "mine"
    done = 0
    for k in PULSES:  # k - done deterministic SET pulses on every G+ through the crossbar
        counts = xb.update(np.ones(n), np.ones(m), (k - done) * xb.epsilon, mode="deterministic")
        assert np.all(counts == k - done)
        done = k
        _close(plus.conductance.ravel(), data[k], f"crossbar devices after {k} pulses")


def test_a_workload_with_the_fitted_preset_matches_the_data(fitted, tmp_path):
    """device-characterisation's accumulation curve (mean and std over its devices) lies
    within the sampling error of the data's, pulse by pulse."""
    from neuropcm.io import open_result
    from neuropcm.workloads import get_workload

    toml, data = fitted
    w = get_workload("device-characterisation")
    out = w.run(w.config(preset=str(toml), devices=4000, pulses=max(PULSES), seed=2),
                tmp_path / "dev.h5", progress=False)
    r = open_result(out)
    assert r.preset_files["preset"]["path"] == str(toml)
    pulses = r.dataset("results/accumulation/pulses")
    mean, std = r.dataset("results/accumulation/mean"), r.dataset("results/accumulation/std")
    for k in PULSES:
        i = int(np.flatnonzero(pulses == k)[0])
        x = data[k]
        se = np.sqrt(x.var(ddof=1) / x.size + std[i] ** 2 / 4000)
        assert abs(mean[i] - x.mean()) < 4 * se, (k, mean[i], x.mean(), se)
        # the spread: the std of a sample of x.size, within 4 of its standard errors
        assert abs(std[i] - x.std(ddof=1)) < 4 * std[i] / np.sqrt(2 * (x.size - 1)), k
