"""`neuropcm devices` writes a self-describing HDF5 file and the four-panel PNG."""

import h5py
import numpy as np
import pytest

from neuropcm.cli import main


@pytest.mark.parametrize("preset", ["nandakumar2018", "joshi2020"])
def test_devices_command(tmp_path, preset):
    out, png = tmp_path / "d.h5", tmp_path / "d.png"
    assert main(["devices", "--preset", preset, "--devices", "800", "--out", str(out),
                 "--plot", str(png), "--quiet"]) == 0
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    with h5py.File(out) as f:
        assert f.attrs["kind"] == "device_characterisation"
        acc = f["results/accumulation"]
        assert acc["mean"].attrs["units"] == "S"
        m = acc["mean"][()]
        assert np.all(np.diff(m) >= -1e-7)  # accumulation rises
        d = f["results/drift/mean"][()]
        assert np.all(d[:, -1] < d[:, 0])  # drift lowers every level


def test_unknown_preset_is_one_line_listing_the_presets(capsys, tmp_path):
    # --preset takes a built-in name, a preset file or a user-folder name (issue 19), so the
    # check is the preset's own, before any work: one line listing the known presets
    out = tmp_path / "d.h5"
    assert main(["devices", "--preset", "nope", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and "nandakumar2018" in err and err.count("\n") == 1
    assert not out.exists()
