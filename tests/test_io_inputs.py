"""Bad inputs to the io functions end in one line, not a traceback (issue 18, point 12):
non-path arguments to ``open``, device array names HDF5 cannot hold, and a file another
process is writing (reported as such, not as corrupt)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import neuropcm.analysis
import neuropcm.io
from neuropcm.devices import PCMArray
from neuropcm.errors import ParameterError, ResultsFileError
from neuropcm.io import load_array, open_h5, save_array
from neuropcm.io.paths import check_output_path

ROOT = Path(__file__).resolve().parent.parent


def one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert msg and "\n" not in msg, msg
    return msg


# ----------------------------------------------------------------------------- open(...)
@pytest.mark.parametrize("opener", [neuropcm.io.open, neuropcm.analysis.open])
@pytest.mark.parametrize("arg, shown", [(None, "None"), (3, "3"), (2.5, "2.5"),
                                        (["a.h5"], "['a.h5']"), ({"path": 1}, "{'path': 1}")])
def test_open_refuses_what_is_not_a_path(opener, arg, shown):
    with pytest.raises(ParameterError) as e:
        opener(arg)
    msg = one_line(e)
    assert msg.startswith(f"neuropcm.io.open: {shown} is not a file path") and "str" in msg


def test_open_refuses_an_open_file_object_empty_names_and_folders(tmp_path):
    with open(tmp_path / "x.h5", "wb") as fh:
        with pytest.raises(ParameterError, match="is not a file path") as e:
            neuropcm.io.open(fh)
        one_line(e)
    with pytest.raises(ParameterError, match="the path is empty") as e:
        neuropcm.io.open("")
    one_line(e)
    with pytest.raises(ParameterError, match="is a folder") as e:
        neuropcm.io.open(tmp_path)
    assert str(tmp_path) in one_line(e)
    for fn in (open_h5, load_array):
        with pytest.raises(ParameterError, match="None is not a file path"):
            fn(None)


def test_open_takes_str_pathlike_and_bytes(tmp_path):
    path = tmp_path / "a.h5"
    save_array(path, PCMArray(5, seed=1))
    for arg in (str(path), path, os.fsencode(path)):
        assert neuropcm.io.open(arg).kind.name == "pcm_array"


def test_a_long_argument_is_shortened_in_the_message():
    with pytest.raises(ParameterError) as e:
        neuropcm.io.open(list(range(1000)))
    assert len(one_line(e)) < 200


# ----------------------------------------------------------------------------- array names
@pytest.mark.parametrize("name, words", [
    ("a/b", ["'a/b'", "contains '/'", "could not be read back", "'a_b'"]),
    ("/abs", ["contains '/'"]),
    ("", ["not a device array name"]),
    (".", ["not a device array name"]),
    (3, ["name=3", "not a device array name"]),
])
def test_save_array_refuses_names_that_cannot_be_read_back(tmp_path, name, words):
    path = tmp_path / "a.h5"
    with pytest.raises(ParameterError) as e:
        save_array(path, PCMArray(5, seed=1), name=name)
    msg = one_line(e)
    assert msg.startswith("save_array: ")
    for w in words:
        assert w in msg
    assert not any(tmp_path.iterdir())  # refused at save, before anything is written


def test_names_without_a_slash_round_trip(tmp_path):
    path = tmp_path / "a.h5"
    save_array(path, PCMArray(5, seed=1), name="layer 1 (G+)")
    assert load_array(path).shape == (5,)
    assert load_array(path, name="layer 1 (G+)").shape == (5,)
    assert list(neuropcm.io.open(path).device_info) == ["layer 1 (G+)"]
    with pytest.raises(ParameterError, match="contains '/'"):
        load_array(path, name="layer/1")


def test_save_array_refuses_what_is_not_an_array(tmp_path):
    with pytest.raises(ParameterError, match="arr is a list, not a PCMArray") as e:
        save_array(tmp_path / "a.h5", [1, 2, 3])
    one_line(e)
    assert not any(tmp_path.iterdir())


# ----------------------------------------------------------------------------- file locks
@pytest.fixture
def writer(tmp_path):
    """A NeuroPCM file held open for writing by another process (HDF5 file locking)."""
    if os.environ.get("HDF5_USE_FILE_LOCKING", "").upper() == "FALSE":
        pytest.skip("HDF5 file locking is switched off (HDF5_USE_FILE_LOCKING=FALSE)")
    path = tmp_path / "busy.h5"
    save_array(path, PCMArray(5, seed=1))
    code = ("import sys, h5py\n"
            f"f = h5py.File({str(path)!r}, 'a')\n"
            "print('open', flush=True)\n"
            "sys.stdin.read()\n"
            "f.close()\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert p.stdout.readline().strip() == "open"
        yield path, p
    finally:
        if p.poll() is None:
            p.stdin.close()
            p.wait(timeout=30)


def test_a_file_being_written_is_reported_as_such_not_as_corrupt(writer):
    path, p = writer
    expected = f"{path} is being written by another process; wait for it to finish"
    for read in (neuropcm.io.open, load_array, open_h5):
        with pytest.raises(ResultsFileError) as e:
            read(path)
        assert one_line(e) == expected
        assert "corrupt" not in str(e.value)
    with pytest.raises(ParameterError) as e:  # nor is it replaced meanwhile
        check_output_path(path, what="--out", kind="pcm_array")
    assert one_line(e) == expected
    p.stdin.close()
    assert p.wait(timeout=30) == 0
    assert neuropcm.io.open(path).kind.name == "pcm_array"
