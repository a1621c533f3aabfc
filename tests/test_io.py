"""HDF5: exact round trip, units everywhere, clear errors, atomic saves."""

import h5py
import numpy as np
import pytest

from neuropcm import PCMArray
from neuropcm.errors import ResultsFileError, SchemaError
from neuropcm.io import hdf5, load_array, save_array


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

    monkeypatch.setattr(hdf5, "write_array", boom)
    with pytest.raises(KeyboardInterrupt):
        hdf5.save_array(tmp_h5, a)
    assert tmp_h5.read_bytes() == before
    assert [p.name for p in tmp_h5.parent.iterdir()] == [tmp_h5.name]
