"""Output paths checked before long work; a full disk ends with one clear error and
leaves the previous file intact."""

import errno
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from neuropcm.errors import ParameterError, ResultsFileError
from neuropcm.io import atomic_h5, open_h5
from neuropcm.io.paths import PNG_SIGNATURE, check_output_path


def _neuropcm_file(path, kind="mnist_clustering"):
    with atomic_h5(path, kind=kind) as f:
        f["x"] = np.arange(3)


def test_output_path_checks(tmp_path):
    ok = tmp_path / "new" / "deeper" / "r.h5"
    assert check_output_path(ok, what="--out", kind="mnist_clustering") == ok
    assert not ok.parent.exists()  # checking creates nothing
    with pytest.raises(ParameterError, match="--out .* is a folder"):
        check_output_path(tmp_path, what="--out", kind="mnist_clustering")
    text = tmp_path / "notes.h5"
    text.write_text("my notes")
    with pytest.raises(ParameterError, match="not an HDF5 file"):
        check_output_path(text, what="--out", kind="mnist_clustering")
    assert text.read_text() == "my notes"
    other = tmp_path / "dev.h5"
    _neuropcm_file(other, kind="device_characterisation")
    with pytest.raises(ParameterError, match="'device_characterisation' file"):
        check_output_path(other, what="--out", kind="mnist_clustering")
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["a"] = 1
    with pytest.raises(ParameterError, match="not written by NeuroPCM"):
        check_output_path(foreign, what="--out", kind="mnist_clustering")
    same = tmp_path / "again.h5"
    _neuropcm_file(same)
    assert check_output_path(same, what="--out", kind="mnist_clustering") == same
    with pytest.raises(ParameterError, match="is a file, not a folder"):
        check_output_path(text / "x.h5", what="--out", kind="mnist_clustering")
    with pytest.raises(ParameterError, match=r"must end in one of \['.png'\]"):
        check_output_path(tmp_path / "p.txt", what="--plot", suffixes=(".png",))
    png = tmp_path / "p.png"
    png.write_text("not an image")
    with pytest.raises(ParameterError, match="not a PNG file"):
        check_output_path(png, what="--plot", suffixes=(".png",), signature=PNG_SIGNATURE)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_unwritable_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(ParameterError, match="not writable"):
            check_output_path(ro / "r.h5", what="--out")
    finally:
        ro.chmod(0o700)


def test_write_error_is_one_clean_error(tmp_path, monkeypatch):
    """A write that fails with ENOSPC raises one ResultsFileError; the old file stays."""
    path = tmp_path / "r.h5"
    _neuropcm_file(path)
    before = path.read_bytes()

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(ResultsFileError, match="the disk is full"):
        with atomic_h5(path, kind="mnist_clustering") as f:
            f["x"] = np.arange(10)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5"]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 kB tmpfs (needs root and mount; skipped elsewhere)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=True)


def test_full_disk_in_a_subprocess(tiny_disk):
    """On a really full disk: exit 1 with one error line (was: a flood of h5py messages and
    a segfault), the previous file intact and no temporary file left."""
    path = tiny_disk / "r.h5"
    _neuropcm_file(path)
    before = path.read_bytes()
    code = ("import numpy as np, sys\n"
            "from neuropcm.io import atomic_h5\n"
            "from neuropcm.errors import ResultsFileError\n"
            "try:\n"
            f"    with atomic_h5({str(path)!r}, kind='mnist_clustering') as f:\n"
            "        f.create_dataset('big', data=np.random.default_rng(0).random(100_000))\n"
            "except ResultsFileError as e:\n"
            "    print(e, file=sys.stderr); sys.exit(1)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert r.returncode == 1, r.stderr[-2000:]
    assert r.stderr.count("\n") == 1 and "the disk is full" in r.stderr, r.stderr
    assert path.read_bytes() == before
    with open_h5(path, kind="mnist_clustering") as f:
        assert list(f["x"][()]) == [0, 1, 2]
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["r.h5"]
