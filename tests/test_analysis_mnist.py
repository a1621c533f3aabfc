"""``neuropcm inspect / plot / compare`` on the file ``neuropcm mnist`` writes (kind
``mnist_clustering``): two short runs of the tiny deterministic network (Brian2 runtime,
numpy target) that differ only in their seed. Expected values are read with h5py."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import struct

import h5py
import numpy as np
import pytest

from mnist_support import DETERMINISTIC, binarised, mnist_data
from neuropcm.cli import main

pytestmark = pytest.mark.brian2

FIGURES = ["figure", "receptive-fields", "class-accuracy", "training-spikes",
           "conductance-histogram", "headlines"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from neuropcm.snn.config import load_network
    from neuropcm.workloads.spiking._mnist_run import run_clustering

    d = tmp_path_factory.mktemp("mnist")
    data, cfg = binarised(mnist_data()), load_network(DETERMINISTIC)
    out = []
    for seed in (1, 2):
        run_clustering(cfg, data, out=d / f"mnist{seed}.h5", mode="runtime",
                       runtime_target="numpy", n_train=20, n_test=10, n_assign=10, seed=seed,
                       progress=False)
        out.append(d / f"mnist{seed}.h5")
    return out


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_inspect_mnist(runs, capsys):
    code, out, err = run(capsys, "inspect", runs[0])
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[1].startswith("kind     mnist_clustering -- ")
    with h5py.File(runs[0], "r") as f:
        cfg = json.loads(f["config"].attrs["json"])
        n_plus = f["devices/plus/G"].shape
        acc = float(f["results"].attrs["test_accuracy"])
    # by section (issue 18, 14): the network definition's own tables read "neurons.n",
    # not "network.network.neurons.n"; the run's settings under their own heading
    heads = [k for k, ln in enumerate(lines) if ln.startswith("  [")]
    assert [lines[k] for k in heads[:3]] == ["  [network definition]",
                                             "  [network file as given]", "  [run settings]"]
    net = [ln.split() for ln in lines[heads[0]:heads[1]]]
    run_rows = [ln.split() for ln in lines[heads[2]:]]
    assert ["neurons.n", json.dumps(cfg["network"]["network"]["neurons"]["n"])] in net
    assert ["seed", "1"] in run_rows
    assert not any(ln.split()[0].startswith("network.network") for ln in lines if ln.strip())
    assert f"  plus: {n_plus[0]} programmed devices, preset ideal" in lines
    row = [ln for ln in lines if ln.startswith("  test_accuracy ")]
    assert len(row) == 1 and f"{acc:.6g}" in row[0] and row[0].endswith("[1]")
    assert [ln for ln in lines if ln.startswith("  network/weights ")][0].endswith("[S]")


def test_plot_mnist_figures(runs, capsys, tmp_path):
    before = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
              for p in runs}
    code, out, _ = run(capsys, "plot", runs[0])
    assert code == 0 and [r.split()[0] for r in out.splitlines()] == FIGURES
    for what in ("receptive-fields", "class-accuracy", "training-spikes",
                 "conductance-histogram"):
        png = tmp_path / f"{what}.png"
        assert run(capsys, "plot", runs[0], "--what", what, "--out", png)[0] == 0
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        assert min(struct.unpack(">II", data[16:24])) >= 300
    assert run(capsys, "compare", *runs)[0] == 0
    assert {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in runs} == before


def test_compare_two_seeds_of_mnist(runs, capsys):
    code, out, _ = run(capsys, "compare", *runs, "--csv", "--results",
                       "test_accuracy,n_set")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["file", "run.seed", "test_accuracy [1]", "n_set [count]"]
    vals = []
    for p in runs:
        with h5py.File(p, "r") as f:
            vals.append([float(f["results"].attrs[k]) for k in ("test_accuracy", "n_set")])
    vals = np.array(vals)
    assert [r[0] for r in rows[3:]] == ["mean (n=2)", "std (ddof=1, n=2)"]
    np.testing.assert_allclose([float(x) for x in rows[3][2:]], vals.mean(0), rtol=1e-13)
    np.testing.assert_allclose([float(x) for x in rows[4][2:]], vals.std(0, ddof=1),
                               rtol=1e-13)


def test_analysis_open_mnist_devices(runs):
    import neuropcm.analysis as na

    r = na.open(runs[1])
    devs = r.devices()
    with h5py.File(runs[1], "r") as f:
        for side in ("plus", "minus"):
            np.testing.assert_array_equal(devs[side].conductance, f[f"devices/{side}/G"][()])
    assert r.units["test_accuracy"] == "1" and r.config["run"]["seed"] == 2
