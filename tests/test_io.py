"""HDF5: exact round trip, units everywhere, clear errors, atomic saves."""

import json

import h5py
import numpy as np
import pytest

from neuropcm import PCMArray
from neuropcm.devices import STATE_UNITS
from neuropcm.errors import ResultsFileError, SchemaError
from neuropcm.io import arrays, hdf5, load_array, save_array


@pytest.mark.parametrize("preset", ["nandakumar2018", "joshi2020"])
def test_round_trip_is_exact(tmp_h5, preset):
    a = PCMArray((6, 7), preset, seed=3, temperature=310.0)
    a.set_pulses(2)
    a.program(np.full((6, 7), 4e-6), mask=np.eye(6, 7, dtype=bool))
    a.advance(123.0)
    save_array(tmp_h5, a)
    b = load_array(tmp_h5)
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa["arrays"]:
        assert np.array_equal(sa["arrays"][k], sb["arrays"][k]), k
        assert sa["arrays"][k].dtype == sb["arrays"][k].dtype
    assert b.params == a.params and b.time == a.time and b.temperature == a.temperature
    # the random stream continues identically
    assert np.array_equal(a.read(), b.read())
    a.set_pulse(); b.set_pulse()
    assert np.array_equal(a.conductance, b.conductance)


def test_every_dataset_has_units_and_header(tmp_h5):
    save_array(tmp_h5, PCMArray(10, seed=1), config={"why": "test"})
    with h5py.File(tmp_h5) as f:
        assert f.attrs["schema_version"] == hdf5.SCHEMA_VERSION and f.attrs["kind"] == "pcm_array"
        missing = []
        f.visititems(lambda n, o: missing.append(n) if isinstance(o, h5py.Dataset)
                     and "units" not in o.attrs else None)
        assert missing == []


def test_missing_file(tmp_path):
    with pytest.raises(ResultsFileError, match="no such file"):
        load_array(tmp_path / "nope.h5")


def test_corrupt_and_truncated_files(tmp_path):
    bad = tmp_path / "garbage.h5"
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ResultsFileError, match="garbage.h5"):
        load_array(bad)
    good = tmp_path / "good.h5"
    save_array(good, PCMArray(50_000, seed=1))
    data = good.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ResultsFileError, match="cut.h5"):
        load_array(cut)


def test_foreign_hdf5(tmp_path):
    p = tmp_path / "foreign.h5"
    with h5py.File(p, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(SchemaError, match="not a NeuroPCM file"):
        load_array(p)
    with h5py.File(p, "a") as f:
        f.attrs["schema_version"] = 99
        f.attrs["kind"] = "pcm_array"
    with pytest.raises(SchemaError, match="schema version 99"):
        load_array(p)


def test_interrupted_save_keeps_previous_file(tmp_h5, monkeypatch):
    a = PCMArray(20, seed=1)
    save_array(tmp_h5, a)
    before = tmp_h5.read_bytes()

    def boom(group, arr):
        group.create_dataset("G", data=np.zeros(3))
        raise KeyboardInterrupt

    monkeypatch.setattr(arrays, "write_array", boom)
    with pytest.raises(KeyboardInterrupt):
        arrays.save_array(tmp_h5, a)
    assert tmp_h5.read_bytes() == before
    assert [p.name for p in tmp_h5.parent.iterdir()] == [tmp_h5.name]


# ------------------------------------------------------------------ validation on load
def _saved(tmp_h5, n=10, preset="joshi2020"):
    a = PCMArray(n, preset, seed=2)
    a.program(np.full(n, 5e-6))
    a.advance(50.0)
    save_array(tmp_h5, a)
    return a


def _edit(path, fn):
    with h5py.File(path, "a") as f:
        fn(f["devices/array"])


@pytest.mark.parametrize("name,value,match", [
    ("temperature", -5.0, "temperature = -5.0"),
    ("temperature", np.nan, "temperature = nan"),
    ("time", np.nan, "time = nan"),
    ("time", -1.0, "time = -1.0"),
    ("time", "abc", "'time' = 'abc' is not a number"),
    ("params", "{not json", "'params' is not valid JSON"),
    ("rng_state", "[1, 2", "'rng_state' is not valid JSON"),
    ("rng_state", '{"bit_generator": "PCG64"}', "rng_state is not a valid"),
    ("model", "nonsense", "'model' = 'nonsense'"),
    ("params", '{"g_max": 25e-6}', "lacks the field"),
])
def test_bad_attributes_give_one_line_schema_errors(tmp_h5, name, value, match):
    _saved(tmp_h5)
    _edit(tmp_h5, lambda g: g.attrs.__setitem__(name, value))
    with pytest.raises(SchemaError, match=match) as e:
        load_array(tmp_h5)
    msg = str(e.value)
    assert "out.h5" in msg and "/devices/array" in msg and "\n" not in msg


def test_bad_parameter_values_are_refused(tmp_h5):
    _saved(tmp_h5)

    def bad(g):
        p = json.loads(g.attrs["params"])
        g.attrs["params"] = json.dumps({**p, "g_max": -1.0})

    _edit(tmp_h5, bad)
    with pytest.raises(SchemaError, match="g_max = -1.0"):
        load_array(tmp_h5)


@pytest.mark.parametrize("name,value,match", [
    ("t_prog", np.nan, "'t_prog' contains nan"),
    ("t_prog", 1e6, "'t_prog' contains 1000000.0 .*after the clock"),
    ("G", 1e-3, "'G' contains 0.001"),
    ("G", -1e-6, "'G' contains -1e-06"),
    ("P", 2.0, "'P' contains 2.0"),
    ("nu", -0.1, "'nu' contains -0.1"),
    ("energy", np.inf, "'energy' contains inf"),
    ("n_set", -1, "'n_set'.*negative"),
    ("n_read", -3, "'n_read'.*negative"),
])
def test_bad_state_values_are_refused(tmp_h5, name, value, match):
    _saved(tmp_h5)

    def bad(g):
        ds = g[name]
        data = ds[()]
        data[3] = value
        ds[...] = data  # through h5py: the checksum is recomputed, only the value is wrong

    _edit(tmp_h5, bad)
    with pytest.raises(SchemaError, match=match):
        load_array(tmp_h5)


def test_fractional_counters_are_refused(tmp_h5):
    _saved(tmp_h5)

    def bad(g):
        data = g["n_set"][()].astype(float)
        data[0] = 2.5
        del g["n_set"]
        hdf5.write_dataset(g, "n_set", data, "count")

    _edit(tmp_h5, bad)
    with pytest.raises(SchemaError, match="2.5"):
        load_array(tmp_h5)


@pytest.mark.parametrize("version,match", [
    (1.7, "schema_version = 1.7 is not a whole"), ("abc", "'abc' is not a whole"),
    (True, "not a whole"), ("1.0", "not a whole"), (2, "newer NeuroPCM.*upgrade neuropcm"),
    ("3", "schema version 3.*upgrade neuropcm"), (0, "schema version 0.*re-create")])
def test_schema_version_is_strict(tmp_h5, version, match):
    _saved(tmp_h5)
    with h5py.File(tmp_h5, "a") as f:
        f.attrs["schema_version"] = version
    with pytest.raises(SchemaError, match=match):
        load_array(tmp_h5)


def test_schema_version_as_digit_string_is_read(tmp_h5):
    a = _saved(tmp_h5)
    with h5py.File(tmp_h5, "a") as f:
        f.attrs["schema_version"] = str(hdf5.SCHEMA_VERSION)
    assert np.array_equal(load_array(tmp_h5).conductance, a.conductance)


def test_malformed_config_json(tmp_h5):
    save_array(tmp_h5, PCMArray(3, seed=0), config={"a": 1})
    with h5py.File(tmp_h5, "a") as f:
        f["config"].attrs["json"] = '{"a": 1'
    with h5py.File(tmp_h5) as f, pytest.raises(SchemaError, match="/config.*'json'.*JSON"):
        hdf5.read_config(f)
    with h5py.File(tmp_h5, "a") as f:
        f["config"].attrs["json"] = "[1, 2]"
    with h5py.File(tmp_h5) as f, pytest.raises(SchemaError, match="expected a JSON object"):
        hdf5.read_config(f)


def test_state_datasets_carry_a_checksum(tmp_h5):
    _saved(tmp_h5)
    with h5py.File(tmp_h5) as f:
        g = f["devices/array"]
        assert all(g[k].fletcher32 for k in STATE_UNITS)


@pytest.mark.parametrize("n", [10, 50_000])  # uncompressed and gzip-compressed chunks
def test_flipped_bit_is_detected(tmp_h5, n):
    """Flip the lowest mantissa byte of one G value on disk: the value stays in range (only
    the checksum can see it) and the read names the file and the dataset."""
    _saved(tmp_h5, n=n)
    with h5py.File(tmp_h5) as f:
        ds = f["devices/array/G"]
        info = ds.id.get_chunk_info(0)
        compressed = ds.compression is not None
    raw = bytearray(tmp_h5.read_bytes())
    off = info.byte_offset + (info.size // 2 if compressed else 3 * 8)  # element 3, byte 0
    raw[off] ^= 0x01
    tmp_h5.write_bytes(bytes(raw))
    with pytest.raises(ResultsFileError, match=r"out\.h5.*/devices/array/G.*'G' is corrupt") \
            as e:
        load_array(tmp_h5)
    if not compressed:
        assert "checksum" in str(e.value)
    assert "\n" not in str(e.value)
