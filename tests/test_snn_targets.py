"""WTA + PCM synapses give the same spikes in Brian2's numpy, Cython and standalone targets."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.brian2
SCRIPT = Path(__file__).with_name("wta_target_run.py")


def run_target(target, tmp_path):
    out = tmp_path / f"{target}.npz"
    cmd = [sys.executable, str(SCRIPT), target, str(out), str(tmp_path / "build")]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return dict(np.load(out))


def _same(a, b):
    assert a["i"].size > 20  # the network does fire
    assert np.array_equal(a["i"], b["i"])
    np.testing.assert_allclose(a["t"], b["t"], atol=1e-9)
    np.testing.assert_allclose(a["Gp"], b["Gp"], rtol=1e-9)
    np.testing.assert_allclose(a["Gm"], b["Gm"], rtol=1e-9)
    for k in ("nsetp", "nsetm", "nresetp", "nresetm", "nreadp", "nrefresh"):
        np.testing.assert_array_equal(a[k], b[k])
    # the run does exercise refresh and wear-out
    assert a["nrefresh"].sum() > 5 and np.sum(a["nsetp"] + a["nresetp"] >= 20) > 5
    np.testing.assert_allclose(a["theta"], b["theta"], rtol=1e-6, atol=1e-12)
    steps = np.round(a["t"] / 0.0005).astype(int)
    assert np.bincount(steps).max() == 1


@pytest.fixture(scope="module")
def numpy_run(tmp_path_factory):
    return run_target("numpy", tmp_path_factory.mktemp("np"))


def test_numpy_and_cython_agree(numpy_run, tmp_path):
    _same(numpy_run, run_target("cython", tmp_path))


@pytest.mark.slow
def test_numpy_and_standalone_agree(numpy_run, tmp_path):
    _same(numpy_run, run_target("cpp_standalone", tmp_path))
