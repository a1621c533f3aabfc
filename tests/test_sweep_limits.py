"""A huge sweep grid is counted and refused at once, not built for minutes (issue 18,
point 8): the count comes from the axes' lengths before any config is built."""

from __future__ import annotations

import time

import pytest

from neuropcm.cli import main
from neuropcm.errors import ParameterError
from neuropcm.sweep import plan_sweep
from neuropcm.sweep.grid import MAX_POINTS, count_points, expand_grid, point_limit
from neuropcm.workloads import get_workload

DC = get_workload("device-characterisation")
#: 10,000 x 1,000 = 10^7 points.
HUGE = {"seed": {"range": [0, 10_000]}, "devices": {"range": [100, 1100]}, "pulses": 3}
HUGE_TOML = "seed = { range = [0, 10000] }\ndevices = { range = [100, 1100] }\npulses = 3\n"


def test_a_grid_of_ten_million_points_is_refused_at_once():
    t = time.perf_counter()
    with pytest.raises(ParameterError) as e:
        expand_grid(DC, HUGE, where="grid g.toml")
    assert time.perf_counter() - t < 0.5
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("grid g.toml: 10,000,000 points")
    assert "seed 10,000 x devices 1,000" in msg and f"{MAX_POINTS:,}" in msg
    assert "--max-points 10000000" in msg


def test_counting_builds_no_config(monkeypatch):
    def no(*a, **k):
        raise AssertionError("a config was built")
    monkeypatch.setattr(DC.config, "from_dict", classmethod(no))
    assert count_points(DC, {"seed": {"range": [0, 7]}, "devices": [100, 200, 300]}) == 21
    assert count_points(DC, {"devices": 100}) == 1
    huge = {"seed": {"range": [0, 10**12]}}  # a range is never made a list
    t = time.perf_counter()
    with pytest.raises(ParameterError, match="1,000,000,000,000 points"):
        count_points(DC, huge)
    assert time.perf_counter() - t < 0.5
    assert count_points(DC, huge, max_points=10**12) == 10**12


def test_the_limit_can_be_raised_or_lowered(tmp_path):
    grid = {"seed": {"range": [0, 3]}, "devices": [100, 200], "pulses": 3}
    assert len(expand_grid(DC, grid)) == 6
    with pytest.raises(ParameterError, match=r"6 points \(seed 3 x devices 2\) are more than "
                                             r"the limit of 5"):
        expand_grid(DC, grid, max_points=5)
    with point_limit(5), pytest.raises(ParameterError, match="limit of 5"):
        plan_sweep(DC, grid, tmp_path / "out")
    assert len(expand_grid(DC, grid, max_points=6)) == 6
    with pytest.raises(ParameterError, match=r"--max-points \(max_points=\) 0 must be"):
        expand_grid(DC, grid, max_points=0)


def test_cli_refuses_a_huge_grid_in_well_under_a_second(tmp_path, capsys):
    grid = tmp_path / "huge.toml"
    grid.write_text(HUGE_TOML)
    out = tmp_path / "out"
    main(["sweep", DC.name, "--grid", str(tmp_path / "missing.toml"), "--out", str(out)])
    capsys.readouterr()  # imports warmed up
    t = time.perf_counter()
    code = main(["sweep", DC.name, "--grid", str(grid), "--out", str(out), "--dry-run"])
    took = time.perf_counter() - t
    cap = capsys.readouterr()
    assert code == 2 and took < 1.0, (code, took)
    assert cap.out == "" and cap.err.count("\n") == 1
    assert "10,000,000 points" in cap.err and "--max-points" in cap.err
    assert not out.exists()


def test_cli_prints_the_count_first_and_takes_max_points(tmp_path, capsys):
    grid = tmp_path / "g.toml"
    grid.write_text("seed = { range = [0, 3] }\ndevices = [100, 200]\npulses = 3\n")
    out = tmp_path / "out"
    argv = ["sweep", DC.name, "--grid", str(grid), "--out", str(out), "--dry-run"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"--grid {str(grid)!r}: 6 points of {DC.name}; checking their configs"
    assert lines[-1] == "6 points, 0 finished, 6 to run" and len(lines) == 8
    assert main([*argv, "--max-points", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "limit of 5" in err
    assert main([*argv, "--max-points", "0"]) == 2
    assert "--max-points (max_points=) 0 must be a whole number >= 1" in capsys.readouterr().err


def test_a_grid_file_needs_units_like_set_does(tmp_path):
    """issue 18, 0b: ``program_tol = [1.74]`` in a grid file is refused (seconds? siemens?)
    as ``--set program_tol=1.74`` is; with its unit it is accepted. A grid given from Python
    takes SI numbers, as a config does."""
    from neuropcm.errors import NeuroPCMError
    from neuropcm.sweep import load_grid, plan_sweep
    from neuropcm.workloads import get_workload

    w = get_workload("solver")
    bare = tmp_path / "bare.toml"
    bare.write_text("program_tol = [1.74]\ndense_n = 30\nbanded_n = 60\n")
    with pytest.raises(NeuroPCMError, match=r"bare.toml.*program_tol = 1.74 needs a unit"):
        plan_sweep(w, bare, tmp_path / "out")
    with pytest.raises(NeuroPCMError, match="needs a unit"):
        plan_sweep(w, load_grid(bare), tmp_path / "out")   # the loaded table is text too
    ok = tmp_path / "ok.toml"
    ok.write_text('program_tol = ["1.74 uS", "1 uS"]\ndense_n = 30\nbanded_n = 60\n')
    tols = [p.config.program_tol for p in plan_sweep(w, ok, tmp_path / "out").points]
    assert tols == pytest.approx([1.74e-6, 1e-6], rel=1e-12)
    py = plan_sweep(w, {"program_tol": [1.74e-6], "dense_n": 30, "banded_n": 60},
                    tmp_path / "out")
    assert py.points[0].config.program_tol == 1.74e-6


def test_sweep_takes_the_workload_aliases(tmp_path, capsys):
    from neuropcm.cli import main
    from neuropcm.workloads import get_workload

    assert get_workload("devices") is get_workload("device-characterisation")
    assert get_workload("mnist") is get_workload("mnist-clustering")
    grid = tmp_path / "g.toml"
    grid.write_text("devices = 200\nseed = [0, 1]\n")
    assert main(["sweep", "devices", "--grid", str(grid), "--out", str(tmp_path / "o"),
                 "--dry-run"]) == 0
    assert "2 points, 0 finished, 2 to run" in capsys.readouterr().out
