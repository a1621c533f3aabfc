"""Unsupervised MNIST clustering: scoring logic, network definitions, a short run that
learns, and exact resumption after an interruption."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from neuropcm.analysis.metrics import (accuracy_report, assign_labels, class_rates,
                                       confusion_matrix, predict)
from neuropcm.errors import ParameterError, ShapeError, UnitError


# ------------------------------------------------------------------ scoring on hand-made data
def test_assign_labels_takes_the_class_with_the_highest_mean_response():
    labels = np.array([0, 0, 1, 1, 1, 2])
    counts = np.array([[5, 0, 0, 1],
                       [3, 0, 0, 1],
                       [0, 4, 0, 1],
                       [1, 2, 0, 1],
                       [0, 3, 0, 1],
                       [0, 0, 0, 9]])
    # neuron 0 -> class 0 (mean 4), 1 -> class 1 (3), 2 never fires -> -1,
    # neuron 3 -> class 2 (9 > 1); means per class, not sums (class 1 has more examples)
    assert list(assign_labels(counts, labels, 3)) == [0, 1, -1, 2]
    np.testing.assert_allclose(class_rates(counts, labels, 3)[:, 0], [4, 1 / 3, 0])


def test_predict_and_confusion():
    assignments = np.array([0, 0, 1, -1, 2])
    counts = np.array([[4, 2, 0, 9, 0],    # class 0 mean 3 vs 0 -> 0
                       [0, 0, 5, 0, 1],    # class 1
                       [0, 0, 0, 7, 0],    # only the unassigned neuron fires -> -1
                       [1, 1, 1, 0, 1],    # ties 1 = 1 = 1 -> lowest class
                       [0, 0, 0, 0, 3]])   # class 2
    pred = predict(counts, assignments, 3)
    assert list(pred) == [0, 1, -1, 0, 2]
    labels = np.array([0, 1, 2, 1, 2])
    cm = confusion_matrix(labels, pred, 3)
    assert cm.shape == (3, 4) and cm.sum() == 5
    assert cm[0, 0] == 1 and cm[1, 1] == 1 and cm[1, 0] == 1 and cm[2, 3] == 1 and cm[2, 2] == 1
    rep = accuracy_report(labels, pred, 3)
    assert rep["accuracy"] == pytest.approx(3 / 5) and rep["no_response"] == 1
    np.testing.assert_allclose(rep["per_class_accuracy"], [1, 0.5, 0.5])


def test_scoring_shape_errors():
    with pytest.raises(ShapeError):
        assign_labels(np.zeros((3, 2)), np.zeros(4, int))
    with pytest.raises(ShapeError):
        predict(np.zeros((3, 2)), np.zeros(3, int))


# ------------------------------------------------------------------ network definitions
def test_network_definitions_load_with_units(tmp_path):
    from neuropcm.snn.config import NETWORKS_DIR, load_network

    names = sorted(p.stem for p in NETWORKS_DIR.glob("*.toml"))
    assert {"sidler2017", "wta100", "wta400"} <= set(names)
    for name in names:
        cfg = load_network(name)
        assert cfg.neurons.n >= 50 and float(cfg.input.presentation) > 0
    assert load_network("wta400").neurons.n == 400
    bad = tmp_path / "bad.toml"
    bad.write_text('[neurons]\ntau_m = "20*mV"\n')
    with pytest.raises(UnitError, match="tau_m"):
        load_network(bad)
    bad.write_text('[neurons]\ntau_m = 20\n')
    with pytest.raises(UnitError, match="needs a unit"):
        load_network(bad)
    bad.write_text('[neurons]\ntau = "20*ms"\n')
    with pytest.raises(ParameterError, match="unknown keys"):
        load_network(bad)
    with pytest.raises(ParameterError, match="sidler2017"):
        load_network("no_such_network")


# ------------------------------------------------------------------ short standalone runs
@pytest.fixture(scope="module")
def small_data():
    from neuropcm.datasets import load_mnist

    try:
        tr = load_mnist("train", limit=2000)
        te = load_mnist("test", limit=300)
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"MNIST not available: {e}")
    return (*tr, *te)


@pytest.fixture(scope="module")
def small_cfg():
    from neuropcm.snn.config import load_network

    return load_network("sidler2017").replace("simulation", chunk=100)


@pytest.mark.brian2
def test_short_run_learns_and_resumes_exactly(small_data, small_cfg, tmp_path):
    import h5py

    from neuropcm.snn.clustering import run_clustering

    kw = dict(n_train=400, n_test=300, n_assign=400, seed=3, progress=False)
    full = tmp_path / "full.h5"
    res = run_clustering(small_cfg, small_data, out=full, **kw)
    # learns: 300 held-out examples, chance is 10 % with binomial std 1.7 %; 20 % is 5.8 std
    # above chance (this seed gives 29 % after only 400 training examples)
    assert res["test_accuracy"] > 0.20, res
    assert res["n_set"] > 0 and res["train_examples"] == 400

    part = tmp_path / "part.h5"
    with pytest.raises(KeyboardInterrupt):
        run_clustering(small_cfg, small_data, out=part, stop_after_chunks=2, **kw)
    assert (tmp_path / "part.h5.ckpt.h5").exists() and not part.exists()
    res2 = run_clustering(small_cfg, small_data, out=part, resume=True, **kw)
    assert res2["test_accuracy"] == res["test_accuracy"]
    with h5py.File(full) as a, h5py.File(part) as b:
        for name in ("devices/plus/G", "devices/minus/G", "devices/plus/n_set",
                     "network/theta", "results/test_predictions", "results/confusion"):
            assert np.array_equal(a[name][()], b[name][()]), name
        assert a["results/confusion"][()].sum() == 300
        for ds in ("devices/plus/G", "network/theta", "results/confusion"):
            assert "units" in a[ds].attrs
    assert not (tmp_path / "part.h5.ckpt.h5").exists()


@pytest.mark.slow
@pytest.mark.brian2
def test_cli_resume_after_kill_9(small_data, tmp_path):
    """`neuropcm mnist` killed with SIGKILL mid-run, then `--resume`: same result as an
    uninterrupted run."""
    base = [sys.executable, "-m", "neuropcm.cli", "mnist", "--train", "1000", "--test", "200",
            "--assign", "500", "--seed", "5", "--quiet"]
    net = tmp_path / "net.toml"
    from neuropcm.snn.config import NETWORKS_DIR

    net.write_text((NETWORKS_DIR / "sidler2017.toml").read_text().replace("chunk = 1000",
                                                                           "chunk = 100"))
    ref = tmp_path / "ref.h5"
    subprocess.run(base + ["--network", str(net), "--out", str(ref)], check=True,
                   capture_output=True)
    out = tmp_path / "run.h5"
    proc = subprocess.Popen(base + ["--network", str(net), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = tmp_path / "run.h5.ckpt.h5"
    deadline = time.time() + 300
    while not ckpt.exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    subprocess.run(base + ["--network", str(net), "--out", str(out), "--resume"], check=True,
                   capture_output=True)
    import h5py

    with h5py.File(ref) as a, h5py.File(out) as b:
        assert a["results"].attrs["test_accuracy"] == b["results"].attrs["test_accuracy"]
        assert np.array_equal(a["devices/plus/G"][()], b["devices/plus/G"][()])


@pytest.mark.brian2
def test_runtime_mode_runs_the_same_network(small_data, small_cfg, tmp_path):
    import h5py

    from neuropcm.snn.clustering import run_clustering

    cfg = small_cfg.replace("simulation", chunk=10)
    res = run_clustering(cfg, small_data, n_train=20, n_test=10, n_assign=20, seed=1,
                         out=tmp_path / "rt.h5", mode="runtime", runtime_target="numpy",
                         progress=False)
    assert res["train_examples"] == 20 and res["n_set"] > 0
    with h5py.File(tmp_path / "rt.h5") as f:
        assert f.attrs["kind"] == "mnist_clustering"
        assert f["results/confusion"][()].sum() == 10
        assert f["devices/plus/G"].attrs["units"] == "S"
