"""Issue 9: one seed scheme for the crossbar's random streams, its state dict, the HDF5
files of neuropcm.io.crossbar, and the devices' preset provenance after a load."""

import copy
import json
import math
import subprocess
import sys

import h5py
import numpy as np
import pytest

import neuropcm.io as nio
from neuropcm import PCMArray
from neuropcm.crossbar import Crossbar
from neuropcm.devices import ProgrammedStateParams
from neuropcm.errors import ParameterError, SchemaError
from neuropcm.random import rng, seed_sequence

Z = 5.0
W = np.random.default_rng(0).standard_normal((6, 8))


# ------------------------------------------------------------------ seed scheme
def test_same_seed_same_reads_other_seed_other_reads():
    x = np.random.default_rng(1).standard_normal((8, 3))

    def reads(seed):
        xb = Crossbar(W, "joshi2020", seed=seed, devices_per_weight=2).at(1e3)
        return np.concatenate([(xb @ x).ravel(), (xb.H @ x[:6]).ravel(), xb @ x[:, 0]])

    np.testing.assert_array_equal(reads(5), reads(5))
    assert not np.any(reads(5) == reads(6))


def test_device_arrays_use_their_own_paths():
    """Each device array's stream is ``seed_sequence(seed, "crossbar", name)``: the same
    programming as a PCMArray seeded with that path, and different arrays independent."""
    seed = 11
    xb = Crossbar(W, "joshi2020", seed=seed, drift_compensation="lrs", lrs_devices=5)
    s = np.abs(W).max() / xb.params.g_max
    targets = {"G_plus": np.clip(W, 0, None)[None] / s, "G_minus": np.clip(-W, 0, None)[None] / s,
               "lrs": np.full(5, xb.params.g_max)}
    arrays = xb.device_arrays()
    for name, target in targets.items():
        ref = PCMArray(target.shape, xb.params, seed=seed_sequence(seed, "crossbar", name))
        ref.program(target)
        np.testing.assert_array_equal(arrays[name].conductance, ref.conductance)
        np.testing.assert_array_equal(arrays[name].drift_exponent, ref.drift_exponent)
    # the same targets on two arrays: independent programming noise (no shared stream)
    zb = Crossbar(np.zeros((40, 50)), "joshi2020", seed=seed, w_max=1.0)
    a = zb.device_arrays()
    gp, gm = a["G_plus"].conductance.ravel(), a["G_minus"].conductance.ravel()
    assert not np.array_equal(gp, gm)
    assert abs(np.corrcoef(gp, gm)[0, 1]) < Z / math.sqrt(gp.size)


def test_read_noise_is_the_reads_stream():
    """A float64 forward read of one vector is ``M x + sqrt(V x^2) xi`` with xi the first
    m numbers of ``rng(seed, "crossbar", "reads")``."""
    seed = 3
    xb = Crossbar(W, "joshi2020", seed=seed).at(100.0)
    M, V = xb.effective_weights()
    x = np.linspace(-1, 1, 8)
    xi = rng(seed, "crossbar", "reads").standard_normal(6)
    np.testing.assert_allclose(xb @ x, M @ x + np.sqrt(V @ x ** 2) * xi, rtol=1e-12, atol=0)
    assert np.std(xi) > 0.3  # the noise term is there


def test_seed_none_records_the_entropy():
    a = Crossbar(W, "joshi2020").at(10.0)
    b = Crossbar(W, "joshi2020").at(10.0)
    assert isinstance(a.seed, int) and a.seed >= 0 and a.seed != b.seed
    x = np.ones(8)
    again = Crossbar(W, "joshi2020", seed=a.seed).at(10.0)
    np.testing.assert_array_equal(a @ x, again @ x)
    assert not np.array_equal(a @ x, b @ x)


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True, [1, 2]])
def test_bad_seeds_are_refused(seed):
    with pytest.raises(ParameterError, match="seed"):
        Crossbar(W, "ideal", seed=seed)


# ------------------------------------------------------------------ state and files
def test_state_dict_round_trip_in_memory():
    xb = Crossbar(W, "nandakumar2018", seed=2, w_max=4.0, update_mode="stochastic",
                  drift_compensation="column", dtype="float32")
    rs = np.random.default_rng(3)
    xb.update(rs.standard_normal(8), rs.standard_normal(6), 3 * xb.epsilon)
    xb.at(50.0)
    X = rs.standard_normal((8, 5)).astype(np.float32)
    xb @ X
    yb = Crossbar.from_state(copy.deepcopy(xb.state_dict()))
    for _ in range(2):
        np.testing.assert_array_equal(xb @ X, yb @ X)
        x, d = rs.standard_normal(8), rs.standard_normal(6)
        np.testing.assert_array_equal(xb.update(x, d, 2 * xb.epsilon),
                                      yb.update(x, d, 2 * yb.epsilon))
    assert xb.totals() == yb.totals() and yb.config == xb.config and yb.seed == xb.seed


@pytest.mark.filterwarnings("ignore:ADC saturated")
def test_file_round_trip_keeps_every_stream(tmp_h5):
    """Bit-identical reads (float64 and float32 noise streams) and stochastic updates after a
    load, for a crossbar seeded with fresh entropy."""
    for dtype in ("float64", "float32"):
        xb = Crossbar(W, "joshi2020", w_max=3.0, update_mode="stochastic", dtype=dtype,
                      drift_compensation="global", adc_bits=8, adc_policy="calibrate")
        rs = np.random.default_rng(4)
        X = rs.standard_normal((8, 300)).astype(dtype)
        xb.at(30.0)
        xb @ X
        yb = Crossbar.load(xb.save(tmp_h5))
        assert yb.seed == xb.seed and yb.config == xb.config
        for t in (30.0, 3e4):
            xb.at(t)
            yb.at(t)
            np.testing.assert_array_equal(xb @ X, yb @ X)
            np.testing.assert_array_equal(xb.H @ X[:6], yb.H @ X[:6])
            x, d = rs.standard_normal(8), rs.standard_normal(6)
            np.testing.assert_array_equal(xb.update(x, d, 4 * xb.epsilon),
                                          yb.update(x, d, 4 * yb.epsilon))
        assert xb.totals() == yb.totals()


def test_io_does_not_import_the_crossbar():
    code = ("import sys, neuropcm.io, neuropcm.io.crossbar; "
            "print([m for m in sys.modules if m.startswith('neuropcm.crossbar')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_file_layout(tmp_h5):
    xb = Crossbar(W, "joshi2020", "offset", seed=0, adc_bits=4, drift_compensation="lrs")
    xb.save(tmp_h5)
    r = nio.open(tmp_h5)
    assert r.kind.name == "crossbar" and r.schema_version == 2
    assert r.config["preset"] == "joshi2020" and r.config["seed"] == 0
    assert r.config["crossbar"]["periphery"]["adc_bits"] == 4
    assert set(r.devices()) == {"main", "ref", "lrs"}
    assert r.datasets["crossbar/compensation/lrs0"].units == "S"
    np.testing.assert_array_equal(r.dataset("crossbar/W"), W)


@pytest.mark.parametrize("edit,match", [
    (lambda f: f["crossbar"].attrs.__setitem__("noise_stream", "[1]"), "noise_stream"),
    (lambda f: f["crossbar"].attrs.__setitem__("rng_state", '{"bit_generator": "MT"}'),
     "rng_state is not a valid PCG64 state"),
    (lambda f: f["crossbar"].attrs.__delitem__("n_mvm"), "'n_mvm' is missing"),
    (lambda f: f["crossbar/compensation"].attrs.__setitem__("settings",
                                                            '{"calibration_size": 3}'),
     "the compensation state is of 'global'"),
    (lambda f: f["devices"].move("G_minus", "G_other"), r"device arrays \['G_other', 'G_plus'\]"),
    (lambda f: f["devices/G_minus"].attrs.__setitem__("time", 5.0), "clocks must agree"),
])
def test_damaged_files_are_refused_in_one_line(tmp_h5, edit, match):
    Crossbar(W, "joshi2020", seed=0, drift_compensation="global").save(tmp_h5)
    with h5py.File(tmp_h5, "r+") as f:
        edit(f)
    with pytest.raises(SchemaError, match=match) as e:
        Crossbar.load(tmp_h5)
    assert str(tmp_h5) in str(e.value) and "\n" not in str(e.value)


def test_bad_rr_counters_are_refused(tmp_h5):
    Crossbar(W, "joshi2020", seed=0, devices_per_weight=2).save(tmp_h5)
    with h5py.File(tmp_h5, "r+") as f:
        del f["crossbar/rr_plus"]
        nio.write_dataset(f["crossbar"], "rr_plus", np.full((6, 8), 2), "count")
    with pytest.raises(SchemaError, match=r"rr_plus must be whole numbers in \[0, K = 2\)"):
        Crossbar.load(tmp_h5)


# ------------------------------------------------------------------ preset provenance
def test_preset_provenance_after_load(tmp_h5):
    xb = Crossbar(W, "joshi2020", seed=0, device_overrides={"nu_mean_min": 0.06})
    assert xb.preset == "joshi2020" and xb.params.overrides == ("nu_mean_min",)
    for a in xb.device_arrays().values():
        assert a.params is xb.params  # the crossbar's parameters, not a stamped name
    yb = Crossbar.load(xb.save(tmp_h5))
    assert yb.preset == "joshi2020" and yb.params.overrides == ("nu_mean_min",)
    assert yb.params == xb.params and "nu_mean_min overridden" in repr(yb)
    for a in yb.device_arrays().values():
        assert (a.preset, a.params.overrides) == ("joshi2020", ("nu_mean_min",))
    # hand-built parameters have no preset, before and after
    zb = Crossbar(W, ProgrammedStateParams(t0=10.0), seed=0)
    assert zb.preset is None
    zl = Crossbar.load(zb.save(tmp_h5))
    assert zl.preset is None and zl.params == zb.params
    with h5py.File(tmp_h5) as f:
        assert json.loads(f["config"].attrs["json"])["preset"] == "custom"


def test_files_of_the_first_crossbar_layout_are_refused(tmp_h5):
    Crossbar(W, "ideal", seed=0).save(tmp_h5)
    with h5py.File(tmp_h5, "r+") as f:
        f.attrs["schema_version"] = 1
    with pytest.raises(SchemaError, match="schema version 1 of kind 'crossbar'.*re-create"):
        Crossbar.load(tmp_h5)
