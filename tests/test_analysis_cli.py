"""``neuropcm inspect / plot / compare`` and ``neuropcm.analysis`` on real files written by
real workloads (device characterisation, solver, correlation), a saved PCMArray and a saved
crossbar. Expected values are read from the files with h5py here, not through the package.
The MNIST file is covered in test_analysis_mnist.py."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import struct

import h5py
import numpy as np
import pytest

from neuropcm.cli import main

PNG = b"\x89PNG\r\n\x1a\n"
SEEDS = (0, 1, 2)
#: Headline units of a device-characterisation file, as the issue declares them.
DC_UNITS = {"g_after_pulses": "S", "g_after_pulses_theory": "S", "program_converged": "1"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from neuropcm.crossbar import Crossbar
    from neuropcm.devices import PCMArray
    from neuropcm.io import save_array
    from neuropcm.workloads import get_workload

    d = tmp_path_factory.mktemp("results")
    out = {}
    w = get_workload("device-characterisation")
    for s in SEEDS:
        out[f"dc{s}"] = w.run(w.config(devices=200, pulses=5, seed=s), d / f"dc{s}.h5",
                              progress=False)
    out["dc_p3"] = w.run(w.config(devices=200, pulses=3, seed=0), d / "dc_p3.h5",
                         progress=False)
    w = get_workload("solver")
    out["solver"] = w.run(w.config(dense_n=30, banded_n=100, band=12, tile_rows=12,
                                   times=[1.0], max_outer=10), d / "solver.h5", progress=False)
    w = get_workload("correlation")
    out["corr"] = w.run(w.config(processes=1000, steps=300, snapshots=4, bins=20, seed=1),
                        d / "corr.h5", progress=False)
    arr = PCMArray(300, "nandakumar2018", seed=4)
    arr.set_pulses(np.arange(300) % 9)
    out["array"] = save_array(d / "array.h5", arr)
    W = np.random.default_rng(5).uniform(-1, 1, (6, 5))
    out["xbar"] = Crossbar(W, "joshi2020", seed=3).save(d / "xbar.h5")
    return out


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def flat(d, pre=""):
    """Nested dict -> dotted names (typed here, independent of the package)."""
    if isinstance(d, dict) and (d or not pre):
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{pre}.{k}" if pre else k))
        return out
    return {pre: d}


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG, f"{path} is not a PNG"
    w, h = struct.unpack(">II", data[16:24])
    return w, h, len(data)


def fingerprint(paths):
    return {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in paths}


# ---------------------------------------------------------------------- inspect
def field_units(kind):
    """Units of the top-level config fields of the workload writing ``kind`` (read from the
    dataclass metadata; empty for files no workload writes)."""
    import dataclasses

    from neuropcm.workloads import workloads

    for w in workloads().values():
        if w.kind == kind:
            return {f.name: f.metadata.get("unit") or "" for f in dataclasses.fields(w.config)}
    return {}


def shown(v, unit):
    """How inspect shows a config value: floats to 6 significant digits, then the unit."""
    def num(x):
        return f"{x:.6g}" if isinstance(x, float) else str(x)

    if isinstance(v, float):
        text = num(v)
    elif isinstance(v, list):
        text = "[" + ", ".join(num(x) for x in v) + "]"
    else:
        text = json.dumps(v, sort_keys=True)
    if unit and unit != "1" and v is not None and not isinstance(v, (str, bool)):
        text += f" {unit}"
    return text


def test_inspect_shows_config_values_with_their_units(files, capsys):
    """issue 18, 14: ``times [1] s``, ``program_tol 1.74e-06 S``, never a 17-digit float."""
    code, out, _ = run(capsys, "inspect", files["solver"])
    assert code == 0
    lines = [ln.split(None, 1) for ln in out.splitlines() if ln.startswith("  ")]
    assert ["times", "[1] s"] in lines and ["program_tol", "1.74e-06 S"] in lines
    assert not re.search(r"\d\.\d{10,}", out)


@pytest.mark.parametrize("name", ["dc0", "solver", "corr", "array", "xbar"])
def test_inspect_shows_kind_schema_config_results_and_datasets(files, capsys, name):
    path = files[name]
    code, out, err = run(capsys, "inspect", path)
    assert code == 0 and err == ""
    lines = out.splitlines()
    with h5py.File(path, "r") as f:
        kind = f.attrs["kind"]
        assert f"kind     {kind} -- " in out
        assert f"schema   {int(f.attrs['schema_version'])}" in lines
        assert f"written  {f.attrs['created']} by neuropcm {f.attrs['neuropcm_version']}" \
            in lines
        cfg = flat(json.loads(f["config"].attrs["json"])) if "config" in f else {}
        units = field_units(kind)
        for key, v in cfg.items():
            row = [ln.split(None, 1) for ln in lines if ln.startswith(f"  {key} ")]
            assert row == [[key, shown(v, units.get(key, ""))]], key
        res = dict(f["results"].attrs) if "results" in f else {}
        for k, v in res.items():
            row = [ln for ln in lines if ln.startswith(f"  {k} ")]
            assert len(row) == 1, k
            if np.ndim(v) == 0 and np.asarray(v).dtype.kind == "f":
                assert f"{float(v):.6g}" in row[0]
        sets = {}
        f.visititems(lambda n, o: sets.update({n: o}) if isinstance(o, h5py.Dataset) else None)
        for n, ds in sets.items():
            row = [ln for ln in lines if ln.startswith(f"  {n} ")]
            assert len(row) == 1, n
            assert "x".join(map(str, ds.shape)) in row[0]
            assert row[0].endswith(f"[{ds.attrs['units']}]"), row[0]
    assert (f"config ({len(cfg)} fields):" in lines) if cfg else ("config: (none stored)"
                                                                  in lines)
    if name == "dc0":
        for k, u in DC_UNITS.items():
            assert [ln for ln in lines if ln.startswith(f"  {k} ")][0].endswith(f"[{u}]")
    if name in ("array", "xbar"):
        assert "figures  conductance-histogram (" in out


# ---------------------------------------------------------------------- plot
EXPECTED = {
    "dc0": ["figure", "accumulation", "drift", "headlines"],
    "solver": ["figure", "residual-vs-refinement", "headlines"],
    "corr": ["figure", "accuracy-vs-time", "headlines"],
    "array": ["conductance-histogram"],
    "xbar": ["conductance-histogram"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_plot_lists_the_figures_that_fit(files, capsys, name):
    code, out, err = run(capsys, "plot", files[name])
    assert code == 0 and err == ""
    rows = out.splitlines()
    assert [r.split()[0] for r in rows] == EXPECTED[name]
    assert all(len(r.split(None, 1)) == 2 for r in rows), "each name has a description"


@pytest.mark.parametrize("name, what", [
    ("dc0", "figure"), ("dc0", "drift"), ("dc0", "headlines"),
    ("solver", "residual-vs-refinement"), ("corr", "accuracy-vs-time"),
    ("array", "conductance-histogram"), ("xbar", "conductance-histogram")])
def test_plot_writes_a_png(files, capsys, tmp_path, name, what):
    out = tmp_path / "sub" / "fig.png"
    code, text, err = run(capsys, "plot", files[name], "--what", what, "--out", out)
    assert code == 0 and err == "" and text.strip() == f"wrote {out}"
    w, h, size = png_size(out)
    assert w >= 400 and h >= 300 and size > 10_000


def test_plot_with_out_alone_draws_the_main_figure(files, capsys, tmp_path):
    """``--out`` without ``--what`` draws what ``--what figure`` draws (issue 18, 11)."""
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    code, text, err = run(capsys, "plot", files["dc0"], "--out", a)
    assert code == 0 and err == "" and text.strip() == f"wrote {a}"
    assert run(capsys, "plot", files["dc0"], "--what", "figure", "--out", b)[0] == 0
    assert png_size(a)[:2] == png_size(b)[:2] and png_size(a)[0] >= 400


def test_plot_default_output_is_beside_the_file(files, capsys):
    code, text, _ = run(capsys, "plot", files["dc1"], "--what", "accumulation")
    png = files["dc1"].with_name("dc1-accumulation.png")
    assert code == 0 and text.strip() == f"wrote {png}"
    assert png_size(png)[2] > 10_000


@pytest.mark.parametrize("args, match", [
    (["--what", "nope"], "--what 'nope' is not a figure; known: ["),
    (["--what", "residual-vs-refinement"], "figures of this file: ['figure', 'accumulation'"),
    (["--what", "drift", "--out", "x.txt"], "must end in one of"),
])
def test_plot_errors_are_one_line(files, capsys, args, match):
    code, out, err = run(capsys, "plot", files["dc0"], *args)
    assert code == 2 and out == ""
    assert match in err and err.count("\n") == 1


def test_plot_does_not_replace_a_file_that_is_no_image(files, capsys, tmp_path):
    other = tmp_path / "keep.png"
    other.write_text("not an image")
    code, _, err = run(capsys, "plot", files["dc0"], "--what", "drift", "--out", other)
    assert code == 2 and "is not a PNG file" in err
    assert other.read_text() == "not an image"


# ---------------------------------------------------------------------- compare
def headline(path, k):
    with h5py.File(path, "r") as f:
        return float(f["results"].attrs[k])


def check_seed_table(text, paths):
    rows = list(csv.reader(io.StringIO(text)))
    head = rows[0]
    assert head == ["file", "seed"] + [f"{k} [{u}]" for k, u in DC_UNITS.items()]
    body = {r[0]: r for r in rows[1:]}
    assert [r[0] for r in rows[1:4]] == [str(p) for p in paths]
    assert [r[1] for r in rows[1:4]] == [str(s) for s in SEEDS]
    mean, std = body["mean (n=3)"], body["std (ddof=1, n=3)"]
    for j, k in enumerate(DC_UNITS, start=2):
        vals = np.array([headline(p, k) for p in paths])
        assert [float(r[j]) for r in rows[1:4]] == vals.tolist()
        np.testing.assert_allclose(float(mean[j]), np.mean(vals), rtol=1e-13)
        np.testing.assert_allclose(float(std[j]), np.std(vals, ddof=1), rtol=1e-13, atol=0)
    assert np.std([headline(p, "g_after_pulses") for p in paths], ddof=1) > 0
    assert len(rows) == 6


def test_compare_seeds_gives_mean_and_sample_std(files, capsys):
    paths = [files[f"dc{s}"] for s in SEEDS]
    code, out, err = run(capsys, "compare", *paths, "--csv")
    assert code == 0 and err == ""
    check_seed_table(out, paths)
    code, out, _ = run(capsys, "compare", *paths)
    g = [headline(p, "g_after_pulses") for p in paths]
    row = [ln for ln in out.splitlines() if ln.startswith("mean ± std (n=3)")]
    assert len(row) == 1
    assert f"{np.mean(g):.6g} ± {np.std(g, ddof=1):.2g}" in row[0]


def test_compare_a_folder_skips_other_files_with_a_note(files, capsys, tmp_path):
    d = tmp_path / "sweep"
    d.mkdir()
    paths = []
    for s in SEEDS:
        paths.append(shutil.copy(files[f"dc{s}"], d / f"point{s}.h5"))
    shutil.copy(files["array"], d / "summary.h5")
    with h5py.File(d / "foreign.h5", "w") as f:
        f["x"] = [1, 2, 3]
    (d / "broken.h5").write_bytes(b"not hdf5 at all")
    (d / "notes.txt").write_text("ignored: not .h5")
    code, out, err = run(capsys, "compare", d, "--csv")
    assert code == 0
    check_seed_table(out, [d / f"point{s}.h5" for s in SEEDS])
    notes = err.splitlines()
    assert len(notes) == 3 and all(n.startswith("neuropcm: note: skipped ") for n in notes)
    for name in ("summary.h5", "foreign.h5", "broken.h5"):
        assert sum(name in n for n in notes) == 1


def test_compare_groups_files_that_differ_only_in_seed(files, capsys):
    paths = [files["dc0"], files["dc_p3"], files["dc1"], files["dc2"]]
    code, out, _ = run(capsys, "compare", *paths, "--csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:3] == ["file", "pulses", "seed"]
    assert [r[0] for r in rows[1:]] == [str(files["dc0"]), str(files["dc1"]), str(files["dc2"]),
                                        "mean (n=3)", "std (ddof=1, n=3)", str(files["dc_p3"])]
    assert rows[4][1:3] == ["5", "*"] and rows[6][1:3] == ["3", "0"]


@pytest.mark.parametrize("which, match", [
    (["dc0", "array"], "compare needs files of one kind; got device_characterisation: "),
    (["dc0", "foreign"], "not a NeuroPCM file"),
    (["dc0", "newer"], "written by a newer NeuroPCM"),
])
def test_compare_refuses_mixed_foreign_and_newer_files(files, capsys, tmp_path, which, match):
    extra = bad_files(files, tmp_path)
    code, out, err = run(capsys, "compare", *[files.get(w) or extra[w] for w in which])
    assert code == 2 and out == "" and match in err and err.count("\n") == 1


def test_compare_refuses_a_folder_without_results(capsys, tmp_path):
    (tmp_path / "a.h5").write_bytes(b"junk")
    code, _, err = run(capsys, "compare", tmp_path)
    assert code == 2 and "is a folder without NeuroPCM result files" in err.splitlines()[-1]


# ---------------------------------------------------------------------- refusals, no writes
def bad_files(files, folder):
    foreign = folder / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["data"] = np.arange(4)
    newer = shutil.copy(files["dc0"], folder / "newer.h5")
    with h5py.File(newer, "r+") as f:
        f.attrs["schema_version"] = 2
    text = folder / "text.h5"
    text.write_text("hello")
    return {"foreign": foreign, "newer": newer, "text": text}


@pytest.mark.parametrize("cmd", [["inspect"], ["plot"], ["plot", "--what", "headlines"]])
@pytest.mark.parametrize("which, match", [
    ("foreign", "an HDF5 file but not a NeuroPCM file"),
    ("newer", "schema version 2 of kind 'device_characterisation' was written by a newer "
              "NeuroPCM (this one reads version 1); upgrade neuropcm"),
    ("text", "not a readable HDF5 file"),
])
def test_foreign_newer_and_broken_files_are_refused(files, capsys, tmp_path, cmd, which,
                                                    match):
    path = bad_files(files, tmp_path)[which]
    code, out, err = run(capsys, cmd[0], path, *cmd[1:])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and match in err and str(path) in err
    assert not list(tmp_path.glob("*.png"))


def test_inspect_plot_and_compare_never_write_into_their_files(files, capsys, tmp_path):
    inputs = [files[k] for k in ("dc0", "dc1", "dc2", "solver", "array", "xbar")]
    before = fingerprint(inputs)
    for p in inputs:
        assert run(capsys, "inspect", p)[0] == 0
        assert run(capsys, "plot", p)[0] == 0
    assert run(capsys, "plot", files["dc0"], "--what", "accumulation", "--out",
               tmp_path / "a.png")[0] == 0
    assert run(capsys, "plot", files["xbar"], "--what", "conductance-histogram", "--out",
               tmp_path / "b.png")[0] == 0
    assert run(capsys, "compare", *inputs[:3])[0] == 0
    assert fingerprint(inputs) == before


# ---------------------------------------------------------------------- Python API
def test_analysis_open_gives_config_results_units_and_devices(files):
    import neuropcm.analysis as na
    import neuropcm.io
    from neuropcm.devices import PCMArray

    assert na.open is neuropcm.io.open
    r = na.open(files["xbar"])
    with h5py.File(files["xbar"], "r") as f:
        assert r.config == json.loads(f["config"].attrs["json"])
        g = {n: f["devices"][n]["G"][()] for n in f["devices"]}
    devs = r.devices()
    assert set(devs) == set(g) and len(g) >= 2
    for n, arr in devs.items():
        assert isinstance(arr, PCMArray)
        np.testing.assert_array_equal(arr.conductance, g[n])
    r = na.open(files["dc2"])
    assert r.kind.name == "device_characterisation"
    assert {k: r.units[k] for k in DC_UNITS} == DC_UNITS
    assert r.results["g_after_pulses"] == headline(files["dc2"], "g_after_pulses")
    assert [f.name for f in na.figures_for(r)] == EXPECTED["dc0"]
    table = na.compare([files[f"dc{s}"] for s in SEEDS])
    assert table.config_fields == ["seed"] and len(table.groups) == 1
    assert table.groups[0].std["g_after_pulses"] == pytest.approx(
        np.std([headline(files[f"dc{s}"], "g_after_pulses") for s in SEEDS], ddof=1),
        rel=1e-13)
