"""Issue 9: the registry of file kinds, one unit vocabulary, and neuropcm.io.open."""

import datetime as dt
import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest

import neuropcm
import neuropcm.io as nio
from neuropcm import PCMArray
from neuropcm.devices import STATE_UNITS, PulsedParams, get_preset
from neuropcm.errors import ParameterError, ResultsFileError, SchemaError, UnknownPresetError
from neuropcm.io import KINDS, UNITS, FileKind, arrays, hdf5
from neuropcm.io.kinds import check_units, units_for_dimension

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ the unit vocabulary
def test_vocabulary_is_the_issue_list_plus_hertz():
    assert set(UNITS) == {"S", "s", "V", "A", "J", "K", "Hz", "1", "count"}


def test_state_and_parameter_units_are_in_the_vocabulary():
    assert set(STATE_UNITS.values()) <= set(UNITS)
    for cls in (PulsedParams, type(get_preset("joshi2020"))):
        assert set(cls.units().values()) <= set(UNITS), cls.units()


@pytest.mark.parametrize("bad,hint", [
    ("pulses", "write 'count' for 'pulses'"), ("spikes", "'count'"), ("class", "write '1'"),
    ("SI", "not a unit"), ("Hz2", "not a unit"), ("", "not a unit"), ("V^0", "not a unit"),
    ("V V", "not a unit"), ("count^2", "not a unit"), ("ms", "not a unit"), (None, "not a unit"),
])
def test_write_dataset_refuses_other_units_before_writing(tmp_h5, bad, hint):
    with h5py.File(tmp_h5, "w") as f:
        g = f.create_group("results")
        with pytest.raises(ParameterError, match=re.escape(hint)) as e:
            hdf5.write_dataset(g, "x", np.arange(3), bad)
        assert "x" not in g  # refused before anything was written
    msg = str(e.value)
    assert "/results/x" in msg and repr(bad) in msg and "\n" not in msg


@pytest.mark.parametrize("unit", [*UNITS, "V^2", "A s^-1", "S s", "s^-1"])
def test_write_dataset_accepts_the_vocabulary(tmp_h5, unit):
    with h5py.File(tmp_h5, "w") as f:
        assert hdf5.write_dataset(f, "x", [1.0], unit).attrs["units"] == unit


def test_units_for_dimension():
    """Exponents over (m, kg, s, A, K, mol, cd), typed from the SI definitions."""
    assert units_for_dimension((0,) * 7) == "1"
    assert units_for_dimension((-2, -1, 3, 2, 0, 0, 0)) == "S"  # A^2 s^3 / (kg m^2)
    assert units_for_dimension((2, 1, -3, -1, 0, 0, 0)) == "V"  # kg m^2 / (A s^3)
    assert units_for_dimension((4, 2, -6, -2, 0, 0, 0)) == "V^2"
    assert units_for_dimension((0, 0, -1, 1, 0, 0, 0)) == "A s^-1"
    assert units_for_dimension((2, 1, -2, 0, 0, 0, 0)) == "J"
    with pytest.raises(ParameterError, match="no unit"):
        units_for_dimension((0, 0, 0, 0, 0, 1, 0))
    import brian2 as b

    assert units_for_dimension(b.volt ** 2) == "V^2"
    assert units_for_dimension((b.amp / b.second).dim) == "A s^-1"
    for u in ("V^2", "A s^-1"):
        assert check_units(u) == u


def test_registry_declares_vocabulary_units_only():
    with pytest.raises(ParameterError, match="'pulses' is not a unit"):
        FileKind("x", 1, "x", datasets={"a": "pulses"})
    with pytest.raises(ParameterError, match="schema_version"):
        FileKind("x", 0, "x")


def test_every_kind_named_in_the_source_is_registered():
    """Scan the writers and readers: each literal kind="..." is in the registry, and each
    registered kind is written somewhere."""
    named = set()
    for path in [*ROOT.joinpath("neuropcm").rglob("*.py"), *ROOT.joinpath("scripts").glob("*.py")]:
        text = path.read_text()
        named |= set(re.findall(r'\bkind="([A-Za-z_-]+)"', text))
        named |= set(re.findall(r'^KIND = "([A-Za-z_-]+)"', text, re.M))  # a module's kind
    named -= {"stable", "quicksort", "mergesort", "heapsort"}  # numpy's sort kinds
    assert named == set(KINDS)


def test_atomic_h5_refuses_an_unregistered_kind(tmp_h5):
    with pytest.raises(UnknownPresetError, match="unknown file kind 'nope'"):
        with hdf5.atomic_h5(tmp_h5, kind="nope"):
            pass
    assert list(tmp_h5.parent.iterdir()) == []


# ------------------------------------------------------------------ per-kind schema versions
def test_schema_version_is_the_kinds(tmp_h5, monkeypatch):
    monkeypatch.setitem(KINDS, "test_kind", FileKind("test_kind", 3, "a test kind",
                                                     config=False))
    with hdf5.atomic_h5(tmp_h5, kind="test_kind"):
        pass
    with h5py.File(tmp_h5) as f:
        assert f.attrs["schema_version"] == 3
    with hdf5.open_h5(tmp_h5, kind="test_kind") as f:
        assert f.attrs["kind"] == "test_kind"
    assert nio.open(tmp_h5).schema_version == 3
    monkeypatch.setitem(KINDS, "test_kind", FileKind("test_kind", 2, "older reader",
                                                     config=False))
    with pytest.raises(SchemaError, match="version 3 of kind 'test_kind'.*upgrade neuropcm"):
        nio.open(tmp_h5)
    monkeypatch.setitem(KINDS, "test_kind", FileKind("test_kind", 4, "newer reader",
                                                     config=False))
    with pytest.raises(SchemaError, match="version 3 of kind 'test_kind'.*re-create"):
        hdf5.open_h5(tmp_h5)


# ------------------------------------------------------------------ files of every kind
def _check_common(r, path, kind):
    assert isinstance(r, nio.Result) and r.kind is KINDS[kind] and r.path == Path(path)
    assert r.schema_version == KINDS[kind].schema_version
    assert r.neuropcm_version == neuropcm.__version__
    created = dt.datetime.fromisoformat(r.created)
    assert abs((dt.datetime.now(dt.timezone.utc) - created).total_seconds()) < 600
    for name, unit in KINDS[kind].datasets.items():
        assert r.datasets[name].units == unit
    for name in KINDS[kind].headline:
        assert r.units[name] == KINDS[kind].headline[name]
    with h5py.File(path) as f:  # the listing is the file's, shapes and units included
        for name, info in r.datasets.items():
            assert info.shape == f[name].shape and info.dtype == f[name].dtype.str
            assert info.units == f[name].attrs["units"]
    text = r.summary()
    assert kind in text and KINDS[kind].description in text
    assert all(name in text for name in r.datasets)


def test_open_pcm_array(tmp_h5):
    a = PCMArray((4, 5), "joshi2020", seed=2, g_max=20e-6)
    a.program(np.full((4, 5), 5e-6))
    a.advance(10.0)
    nio.save_array(tmp_h5, a, name="arr", config={"why": "test"})
    r = nio.open(tmp_h5)
    _check_common(r, tmp_h5, "pcm_array")
    assert r.config == {"why": "test"} and r.results == {}
    assert r.datasets["devices/arr/G"].shape == (4, 5)
    assert r.datasets["devices/arr/n_set"].units == "count"
    np.testing.assert_array_equal(r.dataset("devices/arr/G"), a.conductance)
    assert r.device_info["arr"].preset == "joshi2020"
    assert r.device_info["arr"].overrides == ("g_max",)
    (name, b), = r.devices().items()
    assert name == "arr" and b.params == a.params
    assert (b.preset, b.params.overrides) == ("joshi2020", ("g_max",))
    np.testing.assert_array_equal(b.read(), a.read())
    assert "joshi2020 (g_max overridden)" in r.summary()
    with pytest.raises(ParameterError, match="no dataset 'nope'.*devices/arr/G"):
        r.dataset("nope")


def test_open_crossbar(tmp_h5):
    from neuropcm.crossbar import Crossbar

    W = np.random.default_rng(0).standard_normal((4, 6))
    xb = Crossbar(W, "joshi2020", seed=1)
    xb.save(tmp_h5)
    r = nio.open(tmp_h5)
    _check_common(r, tmp_h5, "crossbar")
    np.testing.assert_array_equal(r.dataset("crossbar/W"), W)
    devs = r.devices()
    assert set(devs) == set(xb.device_arrays())
    for name, arr in devs.items():
        assert arr.preset == "joshi2020" and arr.params == xb.params
        np.testing.assert_array_equal(arr.conductance, xb.device_arrays()[name].conductance)


@pytest.fixture(scope="module")
def characterisation(tmp_path_factory):
    from neuropcm.workloads import get_workload

    w = get_workload("device-characterisation")
    path = tmp_path_factory.mktemp("dc") / "devices.h5"
    return w.run(w.config(devices=200, pulses=5, seed=1), path, progress=False)


def test_open_device_characterisation(characterisation):
    r = nio.open(characterisation)
    _check_common(r, characterisation, "device_characterisation")
    assert r.config["devices"] == 200 and r.config["preset"] == "nandakumar2018"
    mean = r.dataset("results/accumulation/mean")
    assert mean.shape == (6,) and r.datasets["results/accumulation/pulses"].units == "count"
    assert r.results["g_after_pulses"] == mean[-1]
    assert r.units == {"g_after_pulses": "S", "g_after_pulses_theory": "S",
                       "program_converged": "1"}
    assert r.devices() == {} and r.device_info == {}
    assert re.search(r"g_after_pulses\s+[0-9.e-]+ S", r.summary())


def _mnist_like(path, *, units=None):
    """A small mnist_clustering file in the writer's layout (snn/clustering.py), from the
    real device arrays and io writers; a real run needs a Brian2 build."""
    units = units or {}
    n_in, n_out = 6, 3
    plus = PCMArray(n_in * n_out, "nandakumar2018", seed=1)
    minus = PCMArray(n_in * n_out, "nandakumar2018", seed=2)
    plus.set_pulses(np.arange(n_in * n_out) % 3)
    with hdf5.atomic_h5(path, kind="mnist_clustering") as f:
        hdf5.write_config(f, {"network": {"name": "tiny"}, "run": {"seed": 3}})
        for name, arr in (("plus", plus), ("minus", minus)):
            arrays.write_array(f.create_group(f"devices/{name}"), arr)
        net = f.create_group("network")
        hdf5.write_dataset(net, "theta", np.zeros(n_out), "V")
        hdf5.write_dataset(net, "assignments", np.array([0, 1, 2]), "1")
        hdf5.write_dataset(net, "weights", np.zeros((n_out, n_in)), "S")
        r = f.create_group("results")
        for k, v in {"test_accuracy": 0.5, "train_examples": 40, "test_examples": 10,
                     "train_wall_s": 1.5, "test_wall_s": 0.5, "n_set": 18, "n_reset": 0,
                     "energy_J": 1e-10, "no_response": 1, "s_per_train_example": 0.0375, "odd_extra": 1.0}.items():
            r.attrs[k] = v
        hdf5.write_dataset(r, "confusion", np.ones((10, 11), int), "count")
        for name, unit in (("per_class_accuracy", "1"), ("test_predictions", "1"),
                           ("test_labels", "1"), ("train_spikes_per_example", "count"),
                           ("assign_counts", "count"), ("test_counts", "count")):
            hdf5.write_dataset(r, name, np.zeros(10), units.get(name, unit))
    return plus, minus


def test_open_mnist_clustering(tmp_h5):
    plus, minus = _mnist_like(tmp_h5)
    r = nio.open(tmp_h5)
    _check_common(r, tmp_h5, "mnist_clustering")
    assert r.results["test_accuracy"] == 0.5 and r.units["test_accuracy"] == "1"
    assert r.units["no_response"] == "count"
    assert r.units["odd_extra"] is None  # not declared: shown without a unit
    assert isinstance(r.results["train_examples"], int)
    d = r.devices()
    np.testing.assert_array_equal(d["plus"].n_set, plus.n_set)
    assert d["minus"].preset == "nandakumar2018"


def test_open_mnist_checkpoint_and_phase_change_neuron(tmp_path):
    ck = tmp_path / "ck.h5"
    with hdf5.atomic_h5(ck, kind="mnist_checkpoint") as f:
        f.attrs["chunks_done"] = 2
        hdf5.write_dataset(f.create_group("state"), "wta.v", np.zeros(3), "V")
    r = nio.open(ck)
    _check_common(r, ck, "mnist_checkpoint")
    assert r.config == {} and r.datasets["state/wta.v"].units == "V"
    pcn = tmp_path / "pcn.h5"
    with hdf5.atomic_h5(pcn, kind="phase_change_neuron") as f:  # scripts/ layout
        hdf5.write_config(f, {"seed": 1, "neurons": 100})
        g = f.create_group("results")
        for name, unit in KINDS["phase_change_neuron"].datasets.items():
            hdf5.write_dataset(f, name, np.arange(4.0), unit)
        hdf5.write_dataset(g, "isi/strength_0.5", np.ones(5), "s", strength=0.5)
        g.attrs.update({"population_error": 0.1, "best_single_error": 0.2,
                        "median_single_error": 0.3})
    r = nio.open(pcn)
    _check_common(r, pcn, "phase_change_neuron")
    assert r.units["population_error"] == "1" and r.datasets["results/rate"].units == "Hz"


# ------------------------------------------------------------------ refusals
def test_open_refuses_foreign_unknown_and_newer_files(tmp_path):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(SchemaError, match="not a NeuroPCM file") as e:
        nio.open(foreign)
    assert "\n" not in str(e.value)
    unknown = tmp_path / "unknown.h5"
    nio.save_array(unknown, PCMArray(3, seed=0))
    with h5py.File(unknown, "a") as f:
        f.attrs["kind"] = "future_kind"
    with pytest.raises(SchemaError, match="'future_kind', a kind this NeuroPCM does not know"):
        nio.open(unknown)
    newer = tmp_path / "newer.h5"
    nio.save_array(newer, PCMArray(3, seed=0))
    with h5py.File(newer, "a") as f:
        f.attrs["schema_version"] = KINDS["pcm_array"].schema_version + 1
    with pytest.raises(SchemaError, match="newer NeuroPCM.*upgrade"):
        nio.open(newer)
    with pytest.raises(ResultsFileError, match="no such file"):
        nio.open(tmp_path / "missing.h5")


def test_open_refuses_files_that_break_their_kind(tmp_path):
    p = tmp_path / "a.h5"
    _mnist_like(p, units={"test_counts": "1"})
    with pytest.raises(SchemaError, match="results/test_counts: units '1'.*'count'"):
        nio.open(p)
    p = tmp_path / "b.h5"
    _mnist_like(p)
    with h5py.File(p, "a") as f:
        del f["results/confusion"]
    with pytest.raises(SchemaError, match="lacks the dataset 'results/confusion'"):
        nio.open(p)
    p = tmp_path / "c.h5"
    _mnist_like(p)
    with h5py.File(p, "a") as f:
        del f["results"].attrs["test_accuracy"]
    with pytest.raises(SchemaError, match=r"lacks the headline\(s\) \['test_accuracy'\]"):
        nio.open(p)
    p = tmp_path / "d.h5"
    _mnist_like(p)
    with h5py.File(p, "a") as f:
        del f["config"]
    with pytest.raises(SchemaError, match="without /config"):
        nio.open(p)


def test_open_never_writes(tmp_h5):
    _mnist_like(tmp_h5)
    before, mtime = tmp_h5.read_bytes(), tmp_h5.stat().st_mtime_ns
    r = nio.open(tmp_h5)
    r.summary()
    r.dataset("results/confusion")
    r.devices()
    assert tmp_h5.read_bytes() == before and tmp_h5.stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_h5.parent.iterdir()] == [tmp_h5.name]


# ------------------------------------------------------------------ files written before
def test_older_unit_words_read_as_the_vocabulary(characterisation, tmp_path):
    """Files written before issue 9 say 'pulses' (devices/characterise.py) and 'class'."""
    old = tmp_path / "old.h5"
    old.write_bytes(Path(characterisation).read_bytes())
    with h5py.File(old, "a") as f:
        f["results/accumulation/pulses"].attrs["units"] = "pulses"
        f["results/programming/iterations_mean"].attrs["units"] = "pulses"
    r = nio.open(old)
    assert r.datasets["results/accumulation/pulses"].units == "count"
    assert r.datasets["results/programming/iterations_mean"].units == "count"


# ------------------------------------------------------------------ provenance in files
def _device_group_edit(path, fn):
    with h5py.File(path, "a") as f:
        fn(f["devices/array"])


def test_files_record_preset_and_overrides(tmp_h5):
    nio.save_array(tmp_h5, PCMArray(3, "binary", seed=0, prog_rel=0.1, t0=4.0))
    with h5py.File(tmp_h5) as f:
        g = f["devices/array"]
        assert g.attrs["preset"] == "binary"
        assert json.loads(g.attrs["overrides"]) == ["prog_rel", "t0"]
    b = nio.load_array(tmp_h5)
    assert (b.preset, b.params.overrides) == ("binary", ("prog_rel", "t0"))
    nio.save_array(tmp_h5, PCMArray(3, PulsedParams(t0=3.0), seed=0))
    with h5py.File(tmp_h5) as f:
        assert f["devices/array"].attrs["preset"] == "custom"
        assert json.loads(f["devices/array"].attrs["overrides"]) == []
    assert nio.load_array(tmp_h5).preset is None


def test_files_before_provenance_read_with_recomputed_overrides(tmp_h5):
    """Files written before issue 9 carry no 'overrides' (and the crossbar stamped the bare
    name over overridden values): the overridden fields are found by comparison."""
    nio.save_array(tmp_h5, PCMArray(3, "joshi2020", seed=0, g_max=20e-6))
    _device_group_edit(tmp_h5, lambda g: g.attrs.__delitem__("overrides"))
    b = nio.load_array(tmp_h5)
    assert (b.preset, b.params.overrides) == ("joshi2020", ("g_max",))
    _device_group_edit(tmp_h5, lambda g: g.attrs.__delitem__("preset"))
    assert nio.load_array(tmp_h5).preset is None


@pytest.mark.parametrize("attr,value,match", [
    ("preset", "nandakumar2018", "preset 'nandakumar2018'.*'pulsed' model"),
    ("overrides", '{"g_max": 1}', "'overrides' = .* is not a JSON list"),
    ("overrides", "[1]", "is not a JSON list"),
    ("overrides", "[1", "'overrides' is not valid JSON"),
])
def test_bad_provenance_is_refused(tmp_h5, attr, value, match):
    nio.save_array(tmp_h5, PCMArray(3, "joshi2020", seed=0))
    _device_group_edit(tmp_h5, lambda g: g.attrs.__setitem__(attr, value))
    with pytest.raises(SchemaError, match=match) as e:
        nio.load_array(tmp_h5)
    assert "/devices/array" in str(e.value) and "\n" not in str(e.value)


def test_custom_with_overrides_and_unknown_names(tmp_h5):
    nio.save_array(tmp_h5, PCMArray(3, PulsedParams(), seed=0))
    _device_group_edit(tmp_h5, lambda g: g.attrs.__setitem__("overrides", '["t0"]'))
    with pytest.raises(SchemaError, match="recorded without a preset"):
        nio.load_array(tmp_h5)
    # a preset this session does not define (e.g. one a user registered): kept as recorded
    _device_group_edit(tmp_h5, lambda g: g.attrs.update({"preset": "lab_fit_2023",
                                                         "overrides": '["t0"]'}))
    b = nio.load_array(tmp_h5)
    assert (b.preset, b.params.overrides) == ("lab_fit_2023", ("t0",))
    _device_group_edit(tmp_h5, lambda g: g.attrs.__setitem__("overrides", '["nope"]'))
    with pytest.raises(SchemaError, match=r"\['nope'\] are not parameters"):
        nio.load_array(tmp_h5)
