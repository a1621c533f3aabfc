"""The C++ target's standard normal (ziggurat, neuropcm.snn._normal) against the normal
distribution: moments, the Kolmogorov-Smirnov statistic and the mass of the tail and the
far tail, with tolerances from the sample size; gated draws; seeded repeats."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

pytestmark = pytest.mark.brian2
N = 1_000_000
R = 3.442619855899  # where the ziggurat's tail starts


def _draw(tmp_path, seed, name):
    out = tmp_path / f"{name}.npz"
    cmd = [sys.executable, str(Path(__file__).with_name("zig_run.py")), str(out),
           str(tmp_path / "build"), str(N), str(seed)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return dict(np.load(out))


@pytest.fixture(scope="module")
def draws(tmp_path_factory):
    d = tmp_path_factory.mktemp("zig")
    return _draw(d, 5, "a"), _draw(d, 5, "b"), _draw(d, 6, "c")


def test_ziggurat_draws_are_standard_normal(draws):
    x = draws[0]["x"]
    assert abs(x.mean()) < 5 / math.sqrt(N)
    assert abs(x.var() - 1) < 5 * math.sqrt(2 / N)
    assert stats.kstest(x, "norm").pvalue > 1e-3
    for edge in (1.0, R, 4.0):  # the boxes, the tail's start and the far tail
        p = math.erfc(edge / math.sqrt(2))  # P(|x| > edge), typed here
        assert abs(np.mean(np.abs(x) > edge) - p) < 5 * math.sqrt(p * (1 - p) / N) + 1 / N
    assert np.mean(x > 0) == pytest.approx(0.5, abs=5 * 0.5 / math.sqrt(N))


def test_gated_draws_and_seeded_repeats(draws):
    a, b, c = draws
    assert np.all(a["y"][0::2] == 0)  # gate 0: exactly 0
    assert stats.kstest(a["y"][1::2], "norm").pvalue > 1e-3
    assert np.array_equal(a["x"], b["x"])  # one seed, one stream
    assert not np.array_equal(a["x"], c["x"])
