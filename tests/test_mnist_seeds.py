"""Two mnist-clustering runs with one seed write the same device arrays, random streams
included (issue 18, point 0b). The results file is written from a synapse state directly
(no Brian2 run): the device arrays' streams must come from the run's seed."""

import numpy as np
import pytest

from mnist_support import DETERMINISTIC
from neuropcm.analysis import open as open_result
from neuropcm.snn.clustering import initial_synapse_state, n_inputs
from neuropcm.snn.config import load_network
from neuropcm.snn.metrics import accuracy_report
from neuropcm.workloads.spiking._mnist_run import _write_results


@pytest.fixture(scope="module")
def network():
    cfg = load_network(DETERMINISTIC)
    state = initial_synapse_state(cfg, 0)
    state["wta.theta"] = np.zeros(cfg.neurons.n)
    state["chunk.spikes_per_example"] = np.ones(2)
    return cfg, state


def _write(path, cfg, state, seed):
    n_out, labels = cfg.neurons.n, np.arange(10) % 10
    pred = np.roll(labels, 1)
    counts = np.ones((10, n_out), dtype=np.int32)
    _write_results(path, cfg, {"seed": seed, "n_train": 10, "n_test": 10}, state,
                   accuracy_report(labels, pred), pred, labels, np.arange(n_out) % 10,
                   counts, counts,
                   {"train_examples": 10, "presented_examples": 10, "test_examples": 10,
                    "assign_examples": 10, "train_wall_s": 1.0, "test_wall_s": 1.0,
                    "assign_wall_s": 1.0, "compile_s": 0.0, "s_per_train_example": 0.1})
    return open_result(path).devices()


def test_stored_device_streams_follow_the_run_seed(tmp_path, network):
    cfg, state = network
    a = _write(tmp_path / "a.h5", cfg, state, 3)
    b = _write(tmp_path / "b.h5", cfg, state, 3)
    c = _write(tmp_path / "c.h5", cfg, state, 4)
    assert set(a) == {"plus", "minus"}
    assert a["plus"].size == n_inputs(cfg) * cfg.neurons.n
    for name in ("plus", "minus"):
        assert a[name].rng.bit_generator.state == b[name].rng.bit_generator.state
        assert a[name].rng.bit_generator.state != c[name].rng.bit_generator.state
        np.testing.assert_array_equal(a[name].conductance, c[name].conductance)
        # reads of the two files agree bit for bit; another seed reads other noise
        ra, rb, rc = a[name].read(), b[name].read(), c[name].read()
        np.testing.assert_array_equal(ra, rb)
        if a[name].params.model == "pulsed" or a[name].params.q_a > 0:
            assert not np.array_equal(ra, rc)
    assert a["plus"].rng.bit_generator.state != a["minus"].rng.bit_generator.state
