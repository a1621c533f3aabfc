"""mvm-precision, issue 21 point 4: the opt-in wire-resistance sweep (IR drop against tile
size), and default runs that stay those of before the sweep existed."""

import json

import h5py
import numpy as np
import pytest

from neuropcm.crossbar import Crossbar
from neuropcm.errors import ParameterError
from neuropcm.io.kinds import get_kind
from neuropcm.random import int_seed, rng
from neuropcm.workloads import get_workload
from neuropcm.workloads.computational_memory.mvm_precision import relative_error

W_ = get_workload("mvm-precision")
TINY = dict(rows=8, cols=8, vectors=8, instances=2, devices_per_weight=[1], bits_max=8,
            time_points=2, seed=5)
SWEEP = dict(tile_sizes=[8, 16], wire_sweep=["0 ohm", "1 ohm", "5 ohm"])
SMOKE = dict(rows=16, cols=16, vectors=8, instances=2, devices_per_weight=[1, 2], bits_max=4,
             time_points=2)
#: Every dataset and attribute of a smoke-config file written before the sweep existed.
BEFORE = {"config", "results", "results/drift", "results/drift/eta_column",
          "results/drift/eta_global", "results/drift/eta_lrs", "results/drift/eta_none",
          "results/drift/time", "results/fixed", "results/fixed/bits", "results/fixed/eta",
          "results/inputs", "results/matrix", "results/pcm", "results/pcm/devices_per_weight",
          "results/pcm/eta"}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    path = tmp_path_factory.mktemp("wires") / "mvm.h5"
    W_.run(W_.config(**TINY, **SWEEP), path, progress=False)
    return path


def _wires(path):
    with h5py.File(path) as f:
        return {k: (f["results/wires"][k][()], f["results/wires"][k].attrs["units"])
                for k in f["results/wires"]}


def test_zero_resistance_is_the_ideal_read_of_the_same_devices(swept):
    eta = _wires(swept)["eta"][0]  # (tile_size, resistance, instances, vectors)
    c = W_.config(**TINY, **SWEEP)
    for a, n in enumerate(c.tile_sizes):
        W = rng(c.seed, "wires", "matrix", n).standard_normal((n, n))
        X = rng(c.seed, "wires", "inputs", n).standard_normal((n, c.vectors))
        for j in range(c.instances):
            xb = Crossbar(W, c.preset, seed=int_seed(c.seed, "wires", "devices", n, j))
            np.testing.assert_array_equal(eta[a, 0, j], relative_error(xb @ X, W @ X))


def test_eta_grows_with_wire_resistance_and_tile_size(swept):
    w = _wires(swept)
    assert list(w["tile_size"][0]) == [8, 16]
    assert list(w["resistance"][0]) == [0.0, 1.0, 5.0]
    m = w["eta"][0].mean(axis=(2, 3))  # (tile_size, resistance)
    assert np.all(np.diff(m, axis=1) > 0), m
    # same devices and noise at every r: the excess over r = 0 is the IR drop's
    excess = m[:, 1:] - m[:, :1]
    assert np.all(excess[1] > excess[0]), m
    assert m[1, -1] > m[0, -1], m
    eb = w["equivalent_bits"][0]
    assert np.all(np.diff(eb, axis=1) <= 0) and eb[1, -1] <= eb[0, -1], eb


def test_wire_datasets_have_units_and_are_declared(swept):
    kind = get_kind("mvm_precision")
    w = _wires(swept)
    assert set(w) == {"tile_size", "resistance", "eta", "equivalent_bits"}
    for k, (_, units) in w.items():
        assert units == kind.dataset_units(f"results/wires/{k}")
    assert w["resistance"][1] == "S^-1" and w["tile_size"][1] == "count"


def test_summary_table_and_figure_panel(swept, tmp_path):
    text = W_.summary(swept)
    assert "wire resistance" in text and "5 ohm" in text
    rows = [ln.split() for ln in text.splitlines() if ln.split()[:1] in (["8"], ["16"])]
    assert len(rows) == 2
    png = W_.figure(swept, tmp_path / "f.png")
    assert png.stat().st_size > 0
    cfg = json.loads(h5py.File(swept)["config"].attrs["json"])
    assert cfg["tile_sizes"] == [8, 16] and cfg["wire_sweep"] == [0.0, 1.0, 5.0]


def test_default_run_writes_what_it_wrote_before(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    W_.run(W_.config(**SMOKE), a, progress=False)
    W_.run(W_.config(**SMOKE, tile_sizes=[], wire_sweep=[]), b, progress=False)
    names = set()
    with h5py.File(a) as f, h5py.File(b) as g:
        f.visit(names.add)
        cfg = json.loads(f["config"].attrs["json"])
        assert "tile_sizes" not in cfg and "wire_sweep" not in cfg
        assert f["config"].attrs["json"] == g["config"].attrs["json"]
        assert set(f["results"].attrs) == set(g["results"].attrs)
        for k in f["results"].attrs:
            np.testing.assert_array_equal(f["results"].attrs[k], g["results"].attrs[k])
        assert f.attrs["results_sha256"] == g.attrs["results_sha256"]
    assert names == BEFORE


@pytest.mark.parametrize("bad, word", [
    (dict(tile_sizes=[16], wire_sweep=["-1 ohm"]), "wire_sweep"),
    (dict(tile_sizes=[0], wire_sweep=["1 ohm"]), "tile_sizes"),
    (dict(tile_sizes=[2048], wire_sweep=["1 ohm"]), "tile_sizes"),
    (dict(tile_sizes=[16, 8], wire_sweep=["1 ohm"]), "tile_sizes"),
    (dict(tile_sizes=[16]), "wire_sweep"),
    (dict(wire_sweep=["1 V"], tile_sizes=[8]), "wire_sweep"),
])
def test_bad_sweeps_refused_in_one_line(bad, word):
    with pytest.raises(ParameterError) as e:
        W_.config(**TINY, **bad)
    msg = str(e.value)
    assert word in msg and "\n" not in msg
