"""No writer of NeuroPCM replaces a file NeuroPCM did not write (issue 18, point 6).

For each writer -- ``save_array``, ``Crossbar.save``, ``neuropcm run`` (its result and its
default figure), ``neuropcm plot`` and ``save_figure`` -- a user's file at the output path
is left byte for byte as it was, the refusal is one line (exit status 2 on the command
line), and no temporary file is left; a file NeuroPCM wrote itself is still replaced.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest
from matplotlib.figure import Figure

from neuropcm.cli import main
from neuropcm.crossbar import Crossbar
from neuropcm.devices import PCMArray
from neuropcm.errors import ParameterError
from neuropcm.io import atomic_h5, load_array, open_result, save_array
from neuropcm.io.paths import PNG_SIGNATURE, check_output_path
from neuropcm.plotting import new_figure, replace_refusal, save_figure

RUN = ["run", "device-characterisation", "--set", "devices=200", "--set", "pulses=3",
       "--quiet"]


# ----------------------------------------------------------------------------- helpers
def user_files(folder: Path, suffix: str = ".h5") -> dict[str, Path]:
    """Files a user may have at an output path: text, a foreign HDF5 file, a NeuroPCM file
    of another kind."""
    folder.mkdir(parents=True, exist_ok=True)
    text = folder / f"notes{suffix}"
    text.write_text("precious notes\n")
    foreign = folder / f"foreign{suffix}"
    with h5py.File(foreign, "w") as f:
        f["data"] = np.arange(5)
    other = folder / f"other{suffix}"
    with atomic_h5(other, kind="mnist_clustering") as f:
        f["x"] = np.arange(3)
    return {"text": text, "foreign": foreign, "other kind": other}


def user_png(path: Path) -> Path:
    """A PNG a user drew with matplotlib itself (no NeuroPCM mark)."""
    fig = Figure(figsize=(2, 2))
    fig.subplots().plot([0, 1], [1, 0])
    fig.savefig(path)
    return path


def neuropcm_png(path: Path) -> Path:
    fig, ax = new_figure(1, 1, (2, 2))
    ax.plot([0, 1])
    return save_figure(fig, path, dpi=40)


def leftovers(folder: Path) -> list[str]:
    """Temporary files a writer left behind (its ``.<name>.*.tmp``, HDF5 ``.mem``)."""
    return sorted(p.name for p in folder.iterdir()
                  if p.name.endswith((".tmp", ".mem")) or ".tmp" in p.name)


def one_line_refusal(exc_info, path: Path) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg and str(path) in msg, msg
    assert "remove" in msg and ("another" in msg), msg
    return msg


def cli_error(capsys, argv) -> str:
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert code == 2, (code, cap.err)
    assert len(lines) == 1 and lines[0].startswith("neuropcm: error: "), cap.err
    return lines[0]


@pytest.fixture(scope="module")
def result_file(tmp_path_factory) -> Path:
    """A small device-characterisation result (and its figure) made by ``neuropcm run``."""
    out = tmp_path_factory.mktemp("run") / "dc.h5"
    assert main([*RUN, "--out", str(out)]) == 0
    return out


# ----------------------------------------------------------------------------- save_array
@pytest.mark.parametrize("which", ["text", "foreign", "other kind"])
def test_save_array_never_replaces_a_users_file(tmp_path, which):
    path = user_files(tmp_path)[which]
    before = path.read_bytes()
    with pytest.raises(ParameterError) as e:
        save_array(path, PCMArray(10, seed=1))
    msg = one_line_refusal(e, path)
    assert {"text": "not an HDF5 file", "foreign": "not written by NeuroPCM",
            "other kind": "'mnist_clustering'"}[which] in msg
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_save_array_replaces_its_own_file(tmp_path):
    path = tmp_path / "a.h5"
    save_array(path, PCMArray(10, seed=1))
    save_array(path, PCMArray(20, seed=2))
    assert load_array(path).shape == (20,)
    assert leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- Crossbar.save
@pytest.mark.parametrize("which", ["text", "foreign", "other kind"])
def test_crossbar_save_never_replaces_a_users_file(tmp_path, which):
    path = user_files(tmp_path)[which]
    before = path.read_bytes()
    xb = Crossbar(np.full((3, 4), 0.1), "joshi2020", seed=1)
    with pytest.raises(ParameterError) as e:
        xb.save(path)
    one_line_refusal(e, path)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_crossbar_save_replaces_its_own_file_but_not_a_device_array(tmp_path):
    path = tmp_path / "xb.h5"
    Crossbar(np.full((3, 4), 0.1), "joshi2020", seed=1).save(path)
    Crossbar(np.full((2, 5), 0.2), "joshi2020", seed=2).save(path)
    assert Crossbar.load(path).shape == (2, 5)
    arrays = tmp_path / "arr.h5"
    save_array(arrays, PCMArray(10, seed=1))
    before = arrays.read_bytes()
    with pytest.raises(ParameterError, match="NeuroPCM 'pcm_array' file, not a 'crossbar'"):
        Crossbar(np.full((3, 4), 0.1), "joshi2020", seed=1).save(arrays)
    assert arrays.read_bytes() == before
    assert leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- neuropcm run
def test_run_never_replaces_a_users_png_beside_its_result(tmp_path, capsys):
    """``neuropcm run ... --out x.h5`` (no --plot) draws x.png: a user's x.png stays."""
    png = user_png(tmp_path / "x.png")
    before = png.read_bytes()
    line = cli_error(capsys, [*RUN, "--out", tmp_path / "x.h5"])
    assert str(png) in line and "NeuroPCM did not write" in line
    assert png.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]  # nothing ran


@pytest.mark.parametrize("which", ["text", "foreign", "other kind"])
def test_run_never_replaces_a_users_result_file(tmp_path, capsys, which):
    path = user_files(tmp_path)[which]
    before = path.read_bytes()
    line = cli_error(capsys, [*RUN, "--out", path, "--plot", "none"])
    assert str(path) in line
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_run_replaces_its_own_result_and_figure(result_file, tmp_path, capsys):
    out = tmp_path / "again.h5"
    for _ in range(2):
        assert main([*RUN, "--out", str(out)]) == 0
    capsys.readouterr()
    assert out.with_suffix(".png").read_bytes()[:8] == PNG_SIGNATURE
    assert replace_refusal(out.with_suffix(".png")) is None
    assert open_result(out).kind.name == "device_characterisation"
    assert leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- neuropcm plot
@pytest.mark.parametrize("make", ["matplotlib", "text", "pillow"])
def test_plot_never_replaces_a_users_image(result_file, tmp_path, capsys, make):
    mine = tmp_path / "mine.png"
    if make == "matplotlib":
        user_png(mine)
    elif make == "text":
        mine.write_text("not an image")
    else:
        from PIL import Image

        Image.new("RGB", (4, 4), "red").save(mine)
    before = mine.read_bytes()
    line = cli_error(capsys, ["plot", result_file, "--what", "figure", "--out", mine])
    assert str(mine) in line
    assert ("is not a PNG file" if make == "text" else "NeuroPCM did not write") in line
    assert mine.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.png"]


def test_plot_replaces_its_own_image(result_file, tmp_path, capsys):
    out = tmp_path / "fig.png"
    for _ in range(2):
        assert main(["plot", str(result_file), "--what", "figure", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip().endswith(f"wrote {out}")
    assert replace_refusal(out) is None and out.stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]


def test_plot_refuses_a_users_pdf_and_replaces_its_own(result_file, tmp_path, capsys):
    mine = tmp_path / "mine.pdf"
    fig = Figure()
    fig.subplots()
    fig.savefig(mine)
    before = mine.read_bytes()
    assert "PDF file NeuroPCM did not write" in cli_error(
        capsys, ["plot", result_file, "--what", "figure", "--out", mine])
    assert mine.read_bytes() == before
    own = tmp_path / "own.pdf"
    for _ in range(2):
        assert main(["plot", str(result_file), "--what", "figure", "--out", str(own)]) == 0
    assert own.read_bytes()[:4] == b"%PDF"


# ----------------------------------------------------------------------------- save_figure
@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg", ".jpg", ".tif"])
def test_save_figure_never_replaces_a_users_image(tmp_path, suffix):
    mine = tmp_path / f"mine{suffix}"
    fig = Figure(figsize=(2, 2))
    fig.subplots().plot([0, 1])
    fig.savefig(mine)
    before = mine.read_bytes()
    fig, _ = new_figure(1, 1, (2, 2))
    with pytest.raises(ParameterError) as e:
        save_figure(fig, mine)
    msg = str(e.value)
    assert "\n" not in msg and str(mine) in msg and "NeuroPCM did not write" in msg
    assert "choose another name or remove the file" in msg
    assert mine.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name]


@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg", ".eps", ".jpg", ".tif", ".webp"])
def test_save_figure_replaces_its_own_image_and_writes_a_new_one(tmp_path, suffix):
    path = tmp_path / "sub" / f"fig{suffix}"
    assert neuropcm_png(path) == path  # a missing file (and folder) is fine
    first = path.read_bytes()
    assert replace_refusal(path) is None
    fig, ax = new_figure(1, 1, (3, 2))
    ax.plot([1, 0, 1])
    save_figure(fig, path, dpi=40)
    assert path.read_bytes() != first
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_save_figure_keeps_the_replaced_files_permissions(tmp_path):
    path = neuropcm_png(tmp_path / "f.png")
    path.chmod(0o640)
    neuropcm_png(path)
    assert path.stat().st_mode & 0o777 == 0o640
    new = neuropcm_png(tmp_path / "new.png")
    umask = os.umask(0o022)
    os.umask(umask)
    assert new.stat().st_mode & 0o777 == 0o666 & ~umask


def test_save_figure_refuses_a_text_file_and_an_unknown_format(tmp_path):
    notes = tmp_path / "notes.png"
    notes.write_text("precious")
    fig, _ = new_figure(1, 1, (2, 2))
    with pytest.raises(ParameterError, match="is not a PNG file"):
        save_figure(fig, notes)
    assert notes.read_text() == "precious"
    with pytest.raises(ParameterError, match=r"cannot write '\.txt' files"):
        save_figure(fig, tmp_path / "f.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.png"]


def test_check_output_path_uses_the_same_image_rule(tmp_path):
    mine = user_png(tmp_path / "mine.png")
    with pytest.raises(ParameterError, match="NeuroPCM did not write"):
        check_output_path(mine, what="--plot", suffixes=(".png",), signature=PNG_SIGNATURE)
    with pytest.raises(ParameterError, match="NeuroPCM did not write"):
        check_output_path(mine, what="--plot", suffixes=(".png", ".svg"))  # no signature
    own = neuropcm_png(tmp_path / "own.png")
    assert check_output_path(own, what="--plot", suffixes=(".png",),
                             signature=PNG_SIGNATURE) == own
    assert check_output_path(tmp_path / "new.png", what="--plot", suffixes=(".png",))


@pytest.mark.parametrize("workload, sets", [
    ("device-characterisation", ["devices=200"]),
    ("mvm-precision", ["rows=16", "cols=16", "vectors=8", "instances=2",
                       "devices_per_weight=[1]", "bits_max=4", "time_points=2"])])
def test_a_full_disk_while_the_figure_is_written_is_one_line(tmp_path, monkeypatch, capsys,
                                                            workload, sets):
    """issue 18, 0: the results file is complete; the PNG fails with one line, exit 2,
    and no partial image or temporary file is left."""
    import errno

    import neuropcm.plotting as plotting
    from neuropcm.cli import main

    real = plotting.os.fdopen

    class Full:
        def __init__(self, fd, mode):
            self.fh = real(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.fh.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(plotting.os, "fdopen", Full)
    out = tmp_path / "r.h5"
    argv = ["run", workload, "--out", str(out), "--quiet"]
    for s in sets:
        argv += ["--set", s]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5"]
