"""``neuropcm fit`` end to end (issue 19): the shipped example to a preset file, its report and
its use by a workload; bad input refused in one line with no output file."""

from __future__ import annotations

import pytest

from neuropcm.cli import main
from neuropcm.workloads.characterisation.device_fit import example_data

PNG = b"\x89PNG\r\n\x1a\n"


def test_fit_the_example_then_run_a_workload_with_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_bytes(example_data().read_bytes())
    assert main(["fit", "accumulation", "data.csv", "--out", "mine.toml", "--plot", "fit.png",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "the model describes the data" in out and "set_a" in out
    assert (tmp_path / "fit.png").read_bytes()[:8] == PNG
    assert (tmp_path / "mine.fit.h5").is_file()
    # the fit's own file draws its report again
    assert main(["plot", "mine.fit.h5", "--out", "again.png"]) == 0
    assert (tmp_path / "again.png").read_bytes()[:8] == PNG
    assert main(["run", "mvm-precision", "--set", "preset=mine.toml", "--set", "rows=16",
                 "--set", "cols=16", "--set", "vectors=8", "--set", "instances=2",
                 "--set", "devices_per_weight=[1]", "--set", "time_points=2", "--out",
                 "mvm.h5", "--plot", "none", "--quiet"]) == 0
    from neuropcm.io import open_result

    r = open_result(tmp_path / "mvm.h5")
    assert r.config["preset"] == "mine.toml"
    assert r.preset_files["preset"]["text"] == (tmp_path / "mine.toml").read_text()


BAD = {
    "no such file": None,
    "binary": bytes(range(256)) * 8,
    "empty": b"",
    "no conductance column": b"device,pulse\nd0,0\nd0,1\n",
    "wrong unit": b"device,pulse,conductance [s]\nd0,0,1\nd0,1,2\n",
    "NaN": b"device,pulse,conductance [uS]\nd0,0,0.1\nd0,1,nan\n",
    "negative conductance": b"device,pulse,conductance [uS]\nd0,0,0.1\nd0,1,-2\n",
    "too few points": b"device,pulse,conductance [uS]\nd0,0,0.1\nd0,1,2\n",
}


@pytest.mark.parametrize("what", sorted(BAD))
def test_bad_data_is_one_line_and_no_output(tmp_path, capsys, what):
    data = tmp_path / "data.csv"
    if BAD[what] is not None:
        data.write_bytes(BAD[what])
    code = main(["fit", "accumulation", str(data), "--out", str(tmp_path / "x.toml"),
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == (["data.csv"] if BAD[what] is not None
                                                          else [])


def test_out_must_be_a_toml_and_not_a_users_file(tmp_path, capsys):
    assert main(["fit", "accumulation", str(example_data()), "--out",
                 str(tmp_path / "x.json")]) == 2
    assert ".toml" in capsys.readouterr().err
    mine = tmp_path / "notes.toml"
    mine.write_text('title = "mine"\n')
    assert main(["fit", "accumulation", str(example_data()), "--out", str(mine)]) == 2
    assert "not a NeuroPCM preset file" in capsys.readouterr().err
    assert mine.read_text() == 'title = "mine"\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.toml"]


def test_a_sweep_takes_several_preset_files(tmp_path):
    from neuropcm.devices.preset_files import write_preset_file
    from neuropcm.sweep import plan_sweep
    from neuropcm.workloads import get_workload

    a = write_preset_file(tmp_path / "a.toml", "a", "nandakumar2018", {"set_a": -0.07})
    b = write_preset_file(tmp_path / "b.toml", "b", "nandakumar2018", {"set_a": -0.09})
    grid = tmp_path / "g.toml"
    grid.write_text(f'preset = ["{a}", "{b}", "nandakumar2018"]\ndevices = 200\n')
    plan = plan_sweep(get_workload("device-characterisation"), grid, tmp_path / "out")
    assert [p.config.preset for p in plan.points] == [str(a), str(b), "nandakumar2018"]


def test_the_fit_kind_declares_every_check_dataset_of_the_workload():
    """io.kinds (a lower floor) lists the check datasets that device_fit.CHECKS names: the
    two tables must agree, unit for unit."""
    from neuropcm.io import get_kind
    from neuropcm.workloads.characterisation.device_fit import CHECKS

    kind = get_kind("device_fit")
    for (step, step_unit), (qty, qty_unit) in CHECKS.values():
        assert kind.dataset_units(f"results/check/{step}") == step_unit
        for stat in ("data_mean", "data_std", "sim_mean", "sim_std"):
            assert kind.dataset_units(f"results/check/{qty}_{stat}") == qty_unit
