"""snn-crossbar: rate-coded readout of a trained clustering network through a crossbar."""

from pathlib import Path

import numpy as np
import pytest

import neuropcm.io as nio
from neuropcm.errors import ParameterError
from neuropcm.workloads.spiking.snn_crossbar import (SnnCrossbarConfig, WORKLOAD, _quantity,
                                                     run, same_images, summary)

SRC = Path(__file__).resolve().parents[1] / "data" / "mnist_result_s0.h5"


@pytest.fixture(scope="module")
def src():
    """A trained clustering result: the README main command's run (10k training examples,
    2k test, seed 0), made once into data/ if it is not there (a few minutes: slow)."""
    if not SRC.is_file():
        from neuropcm.workloads import get_workload

        w = get_workload("mnist-clustering")
        w.run(w.config(train=10_000, test=2_000, seed=0), SRC, progress=False)
    return SRC


needs_src = pytest.mark.slow


@needs_src
def test_rate_readout_agrees_with_spiking_network(tmp_path, src):
    n = 2000  # the images the stored spiking test used
    res = nio.open(SRC)
    spk = float(res.results["test_accuracy"])
    assert int(res.results["test_examples"]) == n
    # more images than the spiking test: the comparison is on its first n, the rest is extra
    out = run(SnnCrossbarConfig(source=str(SRC), test=n + 500, times=(0, 86400, 31536000)),
              tmp_path / "s.h5", progress=False)
    r = nio.open(out)
    assert r.kind.name == "snn_crossbar"
    rr = r.results
    acc = float(rr["test_accuracy_rate"])
    assert rr["test_accuracy_spiking"] == spk and int(rr["test_examples"]) == n + 500
    assert int(rr["same_images"]) == n
    # the spiking accuracy recomputed from its stored predictions is the stored one
    assert rr["test_accuracy_spiking_same"] == pytest.approx(spk, abs=1e-12)
    same = float(rr["test_accuracy_rate_same"])
    # same images: the two accuracies differ by at most 3 points (the binomial s.e. of one
    # is ~1 point; the spiking run adds Poisson noise the rate model averages out)
    assert abs(same - spk) < 0.03
    # two classifiers right on an image agree on it: agreement >= acc_a + acc_b - 1
    assert float(rr["agreement_same"]) >= same + spk - 1 - 1e-12
    a_none = r.dataset("results/accuracy_none")
    a_glob = r.dataset("results/accuracy_global")
    assert a_none[0] == acc and r.datasets["results/time"].units == "s"
    assert r.units["wall_s"] == "s" and r.units["same_images"] == "count"
    # drift lowers every weight; global compensation recovers the year-old accuracy
    assert a_glob[-1] > a_none[-1]
    assert abs(a_glob[-1] - a_glob[0]) < 0.01
    text = summary(out)
    assert f"on the same {n} test images" in text and "rate-coded" in text


def test_same_images_compares_only_the_spiking_tests_images():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 10, 50)
    spk_pred = np.where(rng.random(30) < 0.7, y[:30], (y[:30] + 1) % 10)
    rate_pred = np.where(rng.random(50) < 0.6, y, (y + 2) % 10)
    net = {"spiking_predictions": spk_pred, "spiking_labels": y[:30]}
    s = same_images(rate_pred, y, net)
    assert s["same_images"] == 30  # the spiking test's 30, not the readout's 50
    assert s["test_accuracy_rate_same"] == np.sum(rate_pred[:30] == y[:30]) / 30
    assert s["test_accuracy_spiking_same"] == np.sum(spk_pred == y[:30]) / 30
    assert s["agreement_same"] == np.sum(rate_pred[:30] == spk_pred) / 30
    # fewer readout images than the spiking test: its first 20 of both
    s20 = same_images(rate_pred[:20], y[:20], net)
    assert s20["same_images"] == 20
    assert s20["test_accuracy_spiking_same"] == np.sum(spk_pred[:20] == y[:20]) / 20
    # a source tested on other images is refused, naming the fix
    bad = {"spiking_predictions": spk_pred, "spiking_labels": (y[:30] + 1) % 10}
    with pytest.raises(ParameterError, match="test labels"):
        same_images(rate_pred, y, bad)
    # no stored predictions: nothing compared (0 images, NaN)
    none = same_images(rate_pred, y, {"spiking_predictions": None, "spiking_labels": None})
    assert none["same_images"] == 0 and np.isnan(none["agreement_same"])


@needs_src
def test_source_devices_are_not_changed(tmp_path, src):
    before = nio.open(SRC).devices()["plus"].conductance.copy()
    run(SnnCrossbarConfig(source=str(SRC), test=50, times=(0, 10), compensation="none"),
        tmp_path / "s.h5", progress=False)
    assert np.array_equal(nio.open(SRC).devices()["plus"].conductance, before)


def test_config_errors(tmp_path):
    with pytest.raises(ParameterError, match="source"):
        run(SnnCrossbarConfig(source=str(tmp_path / "none.h5")), tmp_path / "o.h5",
            progress=False)
    with pytest.raises(ParameterError):
        SnnCrossbarConfig(compensation="lrs")
    with pytest.raises(ParameterError):
        SnnCrossbarConfig(test=0)
    # read times are a list of quantities (s), checked by the config (no private parser)
    for bad in ((1, 0), ("a", "b"), (-1,), (0, float("inf")), ()):
        with pytest.raises(ParameterError, match="times"):
            SnnCrossbarConfig(times=bad)
    assert SnnCrossbarConfig(times=["0 ms", "3600*second"]).times == (0.0, 3600.0)


def test_wrong_kind_refused(tmp_path):
    from neuropcm.workloads.characterisation.device_characterisation import (DeviceCharacterisationConfig,
                                                            run as run_dev)

    f = run_dev(DeviceCharacterisationConfig(devices=80, pulses=2), tmp_path / "d.h5",
                progress=False)
    with pytest.raises(ParameterError, match="mnist_clustering"):
        run(SnnCrossbarConfig(source=str(f), test=10), tmp_path / "o.h5", progress=False)


def test_quantity_parser_never_evaluates():
    assert _quantity("0.02 * mvolt / usiemens") == pytest.approx(0.02e-3 / 1e-6)
    assert _quantity("63.75 * hertz") == 63.75
    for bad in ("__import__('os')", "1 * open", "2 ** mvolt", "x"):
        with pytest.raises(ParameterError):
            _quantity(bad)


def test_registered():
    assert WORKLOAD.name == "snn-crossbar" and WORKLOAD.kind == "snn_crossbar"
