"""Crossbar HDF5 round trip: devices, mapping, scales, time, accumulators, random streams."""

import json

import h5py
import numpy as np
import pytest

from neuropcm.crossbar import Crossbar, ThresholdRefresh
from neuropcm.errors import ParameterError, ResultsFileError, SchemaError
from neuropcm.io import save_array


@pytest.mark.parametrize("mapping,opts", [
    ("differential", {"devices_per_weight": 2, "drift_compensation": "global"}),
    ("offset", {"adc_bits": 6, "dac_bits": 5, "drift_compensation": "column"}),
    ("bit-sliced", {"bits": 3, "drift_compensation": "lrs", "dtype": "float32"}),
    ("differential", {"adc_bits": 5, "adc_policy": "calibrate", "dtype": "float32",
                      "drift_compensation": "column"}),
])
def test_round_trip_is_exact(tmp_h5, mapping, opts):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((5, 7))
    xb = Crossbar(W, "joshi2020", mapping, seed=1, **opts)
    xb.advance(123.0)
    x = rng.standard_normal((7, 3))
    xb @ x
    xb.save(tmp_h5)
    yb = Crossbar.load(tmp_h5)
    assert yb.time == xb.time and yb.shape == xb.shape and yb.dtype == xb.dtype
    assert yb.mapping.name == mapping and yb.params == xb.params
    assert yb.mapping.state() == xb.mapping.state()
    np.testing.assert_array_equal(yb.target_weights, xb.target_weights)
    assert yb.totals() == xb.totals()
    for k, a in xb.device_arrays().items():
        b = yb.device_arrays()[k]
        for name, v in a.state_dict()["arrays"].items():
            assert np.array_equal(v, b.state_dict()["arrays"][name]), (k, name)
    # the same state and random streams: the next reads agree exactly, also after drift
    np.testing.assert_array_equal(xb @ x, yb @ x)
    xb.advance(1e4)
    yb.advance(1e4)
    np.testing.assert_array_equal(xb @ x, yb @ x)
    np.testing.assert_array_equal(xb.H @ x[:5], yb.H @ x[:5])


def test_round_trip_keeps_update_state(tmp_h5):
    rng = np.random.default_rng(2)
    xb = Crossbar(np.zeros((4, 6)), "nandakumar2018", seed=3, w_max=1.0, update_mode="mixed")
    for _ in range(5):
        xb.update(rng.standard_normal(6), rng.standard_normal(4), 0.7 * xb.epsilon)
    xb.save(tmp_h5)
    yb = Crossbar.load(tmp_h5)
    np.testing.assert_array_equal(yb.chi, xb.chi)
    np.testing.assert_array_equal(yb.transferred, xb.transferred)
    x, d = rng.standard_normal(6), rng.standard_normal(4)
    np.testing.assert_array_equal(xb.update(x, d, 2 * xb.epsilon), yb.update(x, d, 2 * yb.epsilon))
    np.testing.assert_array_equal(xb.device_arrays()["G_plus"].conductance,
                                  yb.device_arrays()["G_plus"].conductance)


def test_file_layout_has_units_everywhere(tmp_h5):
    Crossbar(np.eye(3), "joshi2020", "offset", seed=0, adc_bits=4).save(tmp_h5)
    with h5py.File(tmp_h5) as f:
        assert f.attrs["kind"] == "crossbar"
        assert set(f["devices"]) == {"main", "ref"}
        missing = []
        f.visititems(lambda n, o: missing.append(n) if isinstance(o, h5py.Dataset)
                     and "units" not in o.attrs else None)
        assert missing == []


def test_load_refuses_wrong_files(tmp_path):
    with pytest.raises(ResultsFileError, match="no such file"):
        Crossbar.load(tmp_path / "missing.h5")
    from neuropcm import PCMArray

    p = save_array(tmp_path / "array.h5", PCMArray(3, seed=0))
    with pytest.raises(SchemaError, match="crossbar"):
        Crossbar.load(p)
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5 at all")
    with pytest.raises(ResultsFileError):
        Crossbar.load(bad)


@pytest.mark.parametrize("comp", ["global", "column", "lrs"])
def test_round_trip_after_updates_keeps_the_compensation(tmp_h5, comp):
    """Saved after an update and reloaded: the same factors and reads later on."""
    rng = np.random.default_rng(5)
    W = rng.standard_normal((6, 9))
    xb = Crossbar(W, "joshi2020", seed=2, drift_compensation=comp, refresh=None,
                  lrs_devices=30)
    xb.at(1e3)
    xb.update(rng.standard_normal(9), rng.standard_normal(6), 2 * xb.epsilon)
    xb.save(tmp_h5)
    yb = Crossbar.load(tmp_h5)
    x = rng.standard_normal((9, 4))
    for t in (1e3, 1e5):
        xb.at(t)
        yb.at(t)
        np.testing.assert_array_equal(np.asarray(xb.compensation_factor),
                                      np.asarray(yb.compensation_factor))
        np.testing.assert_array_equal(xb @ x, yb @ x)


def test_refresh_rule_is_stored_or_saving_is_refused(tmp_path):
    """Named rules are stored with their parameters; a custom rule is refused (files never
    hold code) instead of being dropped silently, and no file is written."""
    W = np.zeros((2, 3))
    xb = Crossbar(W, "ideal", seed=0, w_max=1.0, refresh=ThresholdRefresh(0.8, 0.3))
    yb = Crossbar.load(xb.save(tmp_path / "a.h5"))
    assert type(yb.refresh_rule) is ThresholdRefresh
    assert (yb.refresh_rule.upper, yb.refresh_rule.lower) == (0.8, 0.3)
    xb.refresh_rule = None
    assert Crossbar.load(xb.save(tmp_path / "b.h5")).refresh_rule is None

    class Mine(ThresholdRefresh):
        pass

    for rule in (lambda gp, gm, g_max: gp > gm, Mine()):
        xb.refresh_rule = rule
        with pytest.raises(ParameterError, match="cannot be saved"):
            xb.save(tmp_path / "c.h5")
        assert not (tmp_path / "c.h5").exists()


def test_load_validates_the_refresh_rule(tmp_h5):
    Crossbar(np.zeros((2, 3)), "ideal", seed=0, w_max=1.0).save(tmp_h5)
    with h5py.File(tmp_h5, "r+") as f:
        cfg = json.loads(f["config"].attrs["json"])
        cfg["crossbar"]["update"]["refresh"] = {"name": "threshold", "upper": 2.0,
                                                "lower": 0.25}
        f["config"].attrs["json"] = json.dumps(cfg)
    with pytest.raises(SchemaError, match="refresh rule 'threshold'"):
        Crossbar.load(tmp_h5)
