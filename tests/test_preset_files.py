"""A user's device as a preset file (issue 19, point 2): written, read back, named by path or
by the user preset folder, accepted wherever a preset is, and refused in one line when bad."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from neuropcm.devices import PCMArray, get_preset
from neuropcm.devices.preset_files import (load_preset_file, preset_file_text,
                                           write_preset_file)
from neuropcm.devices.presets import preset_names
from neuropcm.errors import ParameterError, UnknownPresetError

FITTED = {"set_a": -0.07, "set_b": 0.95e-6, "g_max": 18e-6}
STDERR = {"set_a": 0.002, "set_b": 0.01e-6, "g_max": 0.1e-6}


@pytest.fixture
def mine(tmp_path):
    return write_preset_file(tmp_path / "mine.toml", "mine", "nandakumar2018", FITTED,
                             stderr=STDERR, description="test device",
                             provenance={"source": "data.csv", "source_sha256": "0" * 64},
                             quality={"ok": True, "p_value": 0.4})


def test_round_trip_keeps_values_provenance_and_the_file(mine):
    p = load_preset_file(mine)
    base = get_preset("nandakumar2018")
    for k, v in FITTED.items():
        assert getattr(p, k) == v
    untouched = [k for k in base.as_dict() if k not in FITTED]
    assert all(getattr(p, k) == getattr(base, k) for k in untouched)
    assert p.preset == "mine" and p.overrides == () and p.model == "pulsed"
    text = mine.read_text()
    assert p.source == {"path": str(mine), "text": text,
                        "sha256": hashlib.sha256(text.encode()).hexdigest()}
    # an override of a file preset keeps the file and names the overridden field
    q = p.replace(t0=40.0)
    assert q.overrides == ("t0",) and q.source == p.source and q.preset == "mine"


def test_the_path_and_the_user_folder_name_work_everywhere(mine, monkeypatch, tmp_path):
    from neuropcm.crossbar import Crossbar
    from neuropcm.workloads import get_workload

    monkeypatch.setenv("NEUROPCM_PRESETS", str(tmp_path))
    for name in (str(mine), "mine"):
        assert get_preset(name).set_a == FITTED["set_a"]
        arr = PCMArray(50, preset=name, seed=0)
        assert arr.params.g_max == FITTED["g_max"] and arr.params.preset == "mine"
        xb = Crossbar(np.eye(3) * 0.5, preset=name, seed=0)
        assert xb.params.preset == "mine"
        w = get_workload("device-characterisation")
        assert w.config(preset=name).preset == name
    assert "mine" in preset_names() and "mine" in preset_names("pulsed")
    assert "mine" not in preset_names("programmed")
    # a programmed-state setting refuses a pulsed preset file by its model
    with pytest.raises(ParameterError, match="pulsed"):
        get_workload("drift-resilient").config(preset=str(mine))


def test_unknown_names_list_what_is_known(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROPCM_PRESETS", str(tmp_path))
    (tmp_path / "other.toml").write_text(preset_file_text("other", "joshi2020", {"t0": 25.0}))
    with pytest.raises(UnknownPresetError) as e:
        get_preset("nope")
    msg = str(e.value)
    assert "'nope'" in msg and "other" in msg and "joshi2020" in msg and "\n" not in msg
    with pytest.raises(UnknownPresetError, match="does not exist|not a built-in"):
        get_preset(str(tmp_path / "missing.toml"))


GOOD = preset_file_text("dev", "nandakumar2018", FITTED, stderr=STDERR)


def _bad(old, new):
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


BAD_TEXTS = [
    ("not toml", "not = [valid", "not valid TOML"),
    ("unknown table", GOOD + "\n[extra]\nx = 1\n", "unknown table"),
    ("unknown preset key", _bad('name = "dev"', 'name = "dev"\ncolour = "red"'), "unknown key"),
    ("wrong format", _bad('format = "neuropcm-preset"', 'format = "other"'),
     "not a NeuroPCM preset"),
    ("newer format", _bad("format_version = 1", "format_version = 9"), "format_version"),
    ("unknown base", _bad('base = "nandakumar2018"', 'base = "mydevice2"'), "base"),
    ("base is a path", _bad('base = "nandakumar2018"', 'base = "x.toml"'), "base"),
    ("model mismatch", _bad('model = "pulsed"', 'model = "programmed"'), "model"),
    ("name is built-in", _bad('name = "dev"', 'name = "joshi2020"'), "name"),
    ("unknown field", _bad("[parameters.set_a]", "[parameters.set_z]"), "set_z"),
    ("field of the other model", _bad("[parameters.set_a]", "[parameters.q_a]"), "q_a"),
    ("wrong unit", _bad('unit = "S"', 'unit = "uS"'), "unit"),
    ("value is a string", _bad("value = -0.07", 'value = "-0.07"'), "finite number"),
    ("value is code", _bad("value = -0.07", 'value = "__import__(\'os\').system(\'x\')"'),
     "finite number"),
    ("value is nan", _bad("value = -0.07", "value = nan"), "finite number"),
    ("value is inf", _bad("value = -0.07", "value = inf"), "finite number"),
    ("negative stderr", _bad("stderr = 0.002", "stderr = -0.002"), "stderr"),
    ("unphysical value", _bad("value = -0.07", "value = 0.5"), "set_a"),
    ("no parameters table", GOOD.split("[parameters")[0], "parameters"),
    ("no value", _bad("value = -0.07\n", ""), "value"),
]


@pytest.mark.parametrize("what, text, match", BAD_TEXTS, ids=[b[0] for b in BAD_TEXTS])
def test_bad_preset_files_are_refused_in_one_line(tmp_path, what, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ParameterError) as e:
        load_preset_file(path)
    msg = str(e.value)
    assert match in msg and "\n" not in msg and "bad.toml" in msg, msg
    with pytest.raises(ParameterError):
        PCMArray(5, preset=str(path), seed=0)


def test_binary_and_huge_files_are_refused(tmp_path):
    b = tmp_path / "b.toml"
    b.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ParameterError, match="not UTF-8|NUL"):
        load_preset_file(b)
    h = tmp_path / "h.toml"
    h.write_text("# " + "x" * (1 << 20))
    with pytest.raises(ParameterError, match="bytes"):
        load_preset_file(h)


def test_a_file_neuropcm_did_not_write_is_never_replaced(tmp_path, mine):
    other = tmp_path / "notes.toml"
    other.write_text('title = "my notes"\n')
    with pytest.raises(ParameterError, match="not a NeuroPCM preset file"):
        write_preset_file(other, "x", "nandakumar2018", FITTED)
    assert other.read_text() == 'title = "my notes"\n'
    write_preset_file(mine, "mine", "nandakumar2018", {"set_a": -0.06})  # its own: replaced
    assert load_preset_file(mine).set_a == -0.06
    with pytest.raises(ParameterError, match="set_a"):  # invalid content is never written
        write_preset_file(tmp_path / "new.toml", "new", "nandakumar2018", {"set_a": 3.0})
    assert not (tmp_path / "new.toml").exists()


def test_a_network_file_takes_a_preset_file(mine, tmp_path):
    """``synapses.preset`` of a network definition may name a preset file; its device
    overrides are checked against that file's model."""
    from neuropcm.snn.config import NETWORKS_DIR, load_network

    text = (NETWORKS_DIR / "sidler2017.toml").read_text()
    assert 'preset = "nandakumar2018"' in text
    net = tmp_path / "net.toml"
    net.write_text(text.replace('preset = "nandakumar2018"', f'preset = "{mine}"', 1))
    cfg = load_network(str(net))
    params = cfg.synapses.device_params()
    assert params.preset == "mine" and params.set_a == FITTED["set_a"]
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('preset = "nandakumar2018"', 'preset = "gone.toml"', 1))
    with pytest.raises(UnknownPresetError, match="gone.toml"):
        load_network(str(bad))


def test_result_files_record_the_preset_file(mine, tmp_path, capsys):
    """A run records the preset file's text and sha256, so the file alone repeats it: the
    text written back gives the same preset after the original is gone."""
    from neuropcm.analysis import open as open_result
    from neuropcm.cli import main
    from neuropcm.io import load_array, save_array

    out = tmp_path / "dev.h5"
    assert main(["devices", "--preset", str(mine), "--devices", "200", "--out", str(out),
                 "--plot", str(tmp_path / "dev.png"), "--quiet"]) == 0
    text = mine.read_text()
    r = open_result(out)
    assert r.preset_files == {"preset": {"path": str(mine), "text": text,
                                         "sha256": hashlib.sha256(text.encode()).hexdigest()}}
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    assert f"preset file of preset: {mine}" in capsys.readouterr().out
    mine.unlink()
    again = tmp_path / "again.toml"
    again.write_text(r.preset_files["preset"]["text"])
    assert load_preset_file(again).as_dict() == get_preset("nandakumar2018").replace(
        **FITTED).as_dict()
    # device arrays carry it too
    arr = PCMArray(20, preset=str(again), seed=1)
    back = load_array(save_array(tmp_path / "a.h5", arr))
    assert back.params.source == arr.params.source and back.params.preset == "mine"


def test_an_edited_record_is_refused(mine, tmp_path):
    import h5py

    from neuropcm.errors import SchemaError
    from neuropcm.io import open_result
    from neuropcm.workloads import get_workload

    w = get_workload("device-characterisation")
    out = w.run(w.config(preset=str(mine), devices=200), tmp_path / "d.h5", progress=False)
    with h5py.File(out, "r+") as f:
        f["config"].attrs["preset_files"] = f["config"].attrs["preset_files"].replace(
            "-0.07", "-0.06")
    with pytest.raises(SchemaError, match="preset_files"):
        open_result(out)
