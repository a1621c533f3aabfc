"""Issue 18, point 1: headline results are validated on load -- each against its kind's
range (a default rule by unit, explicit bounds where the unit does not say it) -- and
protected by a sha256 of the ``/results`` attributes stored when the file is written.

Real files: a device characterisation (200 devices) and an mlp-train smoke run, edited
with h5py as a user (or a script) would."""

from __future__ import annotations

import math
import re
import shutil

import h5py
import numpy as np
import pytest

import neuropcm.analysis as na
import neuropcm.io as nio
from neuropcm import PCMArray
from neuropcm.cli import main
from neuropcm.config import load_config
from neuropcm.errors import ParameterError, SchemaError
from neuropcm.io import KINDS, FileKind, arrays, hdf5
from neuropcm.io.kinds import Range, default_range
from neuropcm.workloads import get_workload


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One real file of each kind, written once (tests edit copies)."""
    d = tmp_path_factory.mktemp("headlines")
    w = get_workload("device-characterisation")
    dc = w.run(w.config(devices=200, pulses=5, seed=0), d / "dc.h5", progress=False)
    w = get_workload("mlp-train")
    mlp = w.run(load_config(w.config, None, list(w.smoke)), d / "mlp.h5", progress=False)
    return {"dc": dc, "mlp": mlp}


def copy(made, which, tmp_path, name="f.h5"):
    p = tmp_path / name
    shutil.copyfile(made[which], p)
    return p


def edit(path, name, value, *, drop_checksum=False):
    with h5py.File(path, "r+") as f:
        f["results"].attrs[name] = value
        if drop_checksum:
            del f.attrs["results_sha256"]


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("neuropcm: error:")]


# ------------------------------------------------------------------ files as written
def test_written_files_carry_the_checksum_and_read_back(made):
    for p in made.values():
        with h5py.File(p, "r") as f:
            stored = f.attrs["results_sha256"]
            assert isinstance(stored, str) and re.fullmatch(r"[0-9a-f]{64}", stored)
            assert stored == hdf5.results_checksum(f)
        r = nio.open(p)
        assert r.results and na.open(p).results == r.results


def test_checksum_is_canonical_over_names_dtypes_and_values(tmp_path):
    def write(path, attrs):
        with hdf5.atomic_h5(path, kind="pcm_array") as f:
            g = f.create_group("results")
            for k, v in attrs.items():
                g.attrs[k] = v
        with h5py.File(path, "r") as f:
            return f.attrs["results_sha256"]

    base = {"a": 1.5, "b": np.arange(3), "c": "text"}
    h = write(tmp_path / "a.h5", base)
    assert write(tmp_path / "b.h5", dict(reversed(base.items()))) == h  # order: none
    assert write(tmp_path / "c.h5", {**base, "a": np.float32(1.5)}) != h  # dtype
    assert write(tmp_path / "d.h5", {**base, "b": np.arange(4)}) != h  # value / shape
    assert write(tmp_path / "e.h5", {**base, "d": 0}) != h  # one more
    assert write(tmp_path / "f.h5", {**base, "c": "texT"}) != h
    with hdf5.atomic_h5(tmp_path / "g.h5", kind="pcm_array"):  # no /results: still stored
        pass
    with h5py.File(tmp_path / "g.h5", "r") as f:
        assert f.attrs["results_sha256"] == hdf5.results_checksum(f)


# ------------------------------------------------------------------ out-of-range edits
EDITS = [  # (file, headline, value, shown, range text, unit)
    ("mlp", "test_accuracy", 7.5, "= 7.5", "[0, 1]", "1"),
    ("mlp", "test_accuracy", -1.0, "= -1.0", "[0, 1]", "1"),
    ("mlp", "test_accuracy", math.nan, "= nan", "[0, 1], finite", "1"),
    ("mlp", "epochs", 2.5, "= 2.5", "a whole number >= 0", "count"),
    ("mlp", "n_set", -3, "= -3", "a whole number >= 0", "count"),
    ("mlp", "wall_s", -1.0, "= -1.0", ">= 0", "s"),
    ("dc", "program_converged", 7.5, "= 7.5", "[0, 1]", "1"),
    ("dc", "g_after_pulses", -1.0, "= -1.0", ">= 0", "S"),
    ("dc", "g_after_pulses_theory", math.inf, "= inf", ">= 0, finite", "S"),
]


@pytest.mark.parametrize("which,name,value,shown,rule,unit", EDITS,
                         ids=[f"{e[0]}-{e[1]}-{e[2]}" for e in EDITS])
@pytest.mark.parametrize("drop_checksum", [False, True], ids=["checksum", "no-checksum"])
def test_out_of_range_headline_is_refused_everywhere(made, tmp_path, capsys, which, name,
                                                     value, shown, rule, unit, drop_checksum):
    f = copy(made, which, tmp_path)
    g = copy(made, which, tmp_path, "intact.h5")
    edit(f, name, value, drop_checksum=drop_checksum)
    for opener in (nio.open_result, na.open):
        with pytest.raises(SchemaError) as e:
            opener(f)
        msg = str(e.value)
        assert "\n" not in msg
        assert msg.startswith(f"{f}: headline {name!r} {shown} is out of range"), msg
        assert rule in msg and f"(unit {unit!r})" in msg, msg
    with pytest.raises(SchemaError, match=re.escape(f"headline {name!r} {shown}")):
        hdf5.open_h5(f)
    for argv in (("inspect", f), ("compare", f, g), ("compare", g, f), ("plot", f)):
        code, out, err = cli(capsys, *argv)
        assert code == 2, (argv, out, err)
        lines = error_lines(err)
        assert len(lines) == 1 and len(err.splitlines()) == 1, err
        assert f"headline {name!r} {shown} is out of range" in lines[0] and str(f) in lines[0]


def test_compare_of_a_folder_skips_the_edited_file_with_a_note(made, tmp_path, capsys):
    d = tmp_path / "runs"
    d.mkdir()
    f = copy(made, "dc", d, "a.h5")
    copy(made, "dc", d, "b.h5")
    edit(f, "program_converged", 7.5)
    code, _, err = cli(capsys, "compare", d)
    assert code == 0
    assert "skipped" in err and "'program_converged' = 7.5 is out of range" in err


def test_snn_crossbar_refuses_a_source_with_an_edited_headline(tmp_path, capsys):
    src = tmp_path / "mnist.h5"
    _mnist_like(src)
    nio.open(src)  # as written: read
    edit(src, "test_accuracy", 7.5)
    with pytest.raises(SchemaError, match=r"'test_accuracy' = 7\.5 is out of range"):
        from neuropcm.workloads.spiking.snn_crossbar import _network
        _network(src)
    out = tmp_path / "readout.h5"
    code, _, err = cli(capsys, "run", "snn-crossbar", "--from", src, "--set", "test=10",
                       "--out", out)
    assert code == 2 and not out.exists()
    lines = error_lines(err)
    assert len(lines) == 1 and "'test_accuracy' = 7.5 is out of range" in lines[0], err


# ------------------------------------------------------------------ the checksum
@pytest.mark.parametrize("which,name,delta", [("mlp", "test_accuracy", 0.01),
                                              ("dc", "program_converged", -0.01),
                                              ("mlp", "epochs", 1)])
def test_checksum_catches_an_in_range_edit(made, tmp_path, capsys, which, name, delta):
    f = copy(made, which, tmp_path)
    g = copy(made, which, tmp_path, "intact.h5")
    with h5py.File(f, "r+") as h:
        v = h["results"].attrs[name]
        h["results"].attrs[name] = v + delta  # e.g. 0.91 -> 0.92: in range
    expected = (f"{f}: the headline results were edited after NeuroPCM wrote them "
                f"(results_sha256 mismatch); re-run the run that wrote it")
    for opener in (nio.open_result, na.open, hdf5.open_h5):
        with pytest.raises(SchemaError) as e:
            opener(f)
        assert str(e.value).startswith(expected) and "\n" not in str(e.value)
        assert str(e.value).endswith("or restore the file")
    for argv in (("inspect", f), ("compare", f, g)):
        code, _, err = cli(capsys, *argv)
        assert code == 2 and len(err.splitlines()) == 1 and "results_sha256 mismatch" in err


@pytest.mark.parametrize("change", ["add", "delete", "retype"])
def test_checksum_catches_added_deleted_and_retyped_headlines(made, tmp_path, change):
    f = copy(made, "mlp", tmp_path)
    with h5py.File(f, "r+") as h:
        a = h["results"].attrs
        if change == "add":
            a["note"] = "better than it was"
        elif change == "delete":
            del a["quantised_test_accuracy"]  # optional: the kind does not miss it
        else:
            a["test_accuracy"] = np.float32(a["test_accuracy"])
    with pytest.raises(SchemaError, match="results_sha256 mismatch"):
        nio.open(f)


def test_file_without_checksum_is_still_read(made, tmp_path, capsys):
    """Files written before the checksum existed: read, checked by the ranges only."""
    f = copy(made, "mlp", tmp_path)
    with h5py.File(f, "r+") as h:
        del h.attrs["results_sha256"]
    r = nio.open(f)
    assert r.results == nio.open(made["mlp"]).results
    assert "results_sha256" not in r.results
    code, out, _ = cli(capsys, "inspect", f)
    assert code == 0 and "test_accuracy" in out
    edit(f, "test_accuracy", 0.5)  # in range, no checksum: accepted (nothing to check)
    assert nio.open(f).results["test_accuracy"] == 0.5


def test_a_corrupt_checksum_attribute_is_a_mismatch(made, tmp_path):
    f = copy(made, "dc", tmp_path)
    with h5py.File(f, "r+") as h:
        h.attrs["results_sha256"] = "0" * 64
    with pytest.raises(SchemaError, match="results_sha256 mismatch"):
        nio.open(f)


# ------------------------------------------------------------------ ranges on any kind
def _results_only(path, kind, attrs):
    """A file with only ``/results`` attributes (open_h5 checks the headlines)."""
    with hdf5.atomic_h5(path, kind=kind) as f:
        g = f.create_group("results")
        for k, v in attrs.items():
            g.attrs[k] = v
    return path


def test_array_headlines_are_checked_element_wise(tmp_path):
    good = {"eta_pcm": np.array([0.1, 0.05]), "equivalent_bits": np.array([3, 4]),
            "equivalent_bits_fractional": np.array([np.nan, 4.5]),
            "devices_per_weight": np.array([1, 2]), "eta_t_max_mine": 0.2}
    hdf5.open_h5(_results_only(tmp_path / "ok.h5", "mvm_precision", good)).close()
    for name, value, shown in (
            ("eta_pcm", np.array([0.1, -1.0]), "[1] (of 2) = -1.0"),
            ("equivalent_bits", np.array([3.0, 4.5]), "[1] (of 2) = 4.5"),
            ("devices_per_weight", np.array([1, -2]), "[1] (of 2) = -2"),
            ("eta_pcm", np.array([np.nan, 0.1]), "[0] (of 2) = nan"),
            ("eta_t_max_mine", -0.5, "= -0.5")):  # a pattern-declared headline
        p = _results_only(tmp_path / f"{name}.h5", "mvm_precision", {**good, name: value})
        with pytest.raises(SchemaError, match=re.escape(f"headline {name!r} {shown} is out")):
            hdf5.open_h5(p)


def test_declared_nonfinite_values_and_unbounded_db_are_accepted(tmp_path):
    p = _results_only(tmp_path / "s.h5", "solver", {
        "final_relative_residual": np.inf, "worst_final_relative_residual": np.nan,
        "dense_crossbar_final_relative_residual": np.array([1e-9, np.inf]),
        "dense_condition_number": 12.0})
    hdf5.open_h5(p).close()
    p = _results_only(tmp_path / "s2.h5", "solver", {"final_relative_residual": -np.inf})
    with pytest.raises(SchemaError, match="= -inf is out of range"):
        hdf5.open_h5(p)
    p = _results_only(tmp_path / "s3.h5", "solver", {"dense_condition_number": 0.5})
    with pytest.raises(SchemaError, match=r"allows >= 1, finite \(unit '1'\)"):
        hdf5.open_h5(p)
    p = _results_only(tmp_path / "c.h5", "compressed_sensing",
                      {"final_nmse_db_pcm": -35.0, "final_nmse_db_float": -np.inf})
    hdf5.open_h5(p).close()
    p = _results_only(tmp_path / "k.h5", "correlation", {"threshold": np.nan})
    hdf5.open_h5(p).close()


def test_text_and_undeclared_headlines(tmp_path):
    p = _results_only(tmp_path / "t.h5", "mlp_train", {"test_accuracy": "high"})
    with pytest.raises(SchemaError, match=r"'test_accuracy' = 'high' \(not a number\)"):
        hdf5.open_h5(p)
    p = _results_only(tmp_path / "u.h5", "mlp_train", {"odd_extra": -1e9, "label": "x"})
    hdf5.open_h5(p).close()  # undeclared: no unit, no range


def test_range_rules():
    assert default_range("count") == Range(0, None, integer=True)
    for unit in ("s", "J", "Hz", "S", "K", "J^-1", "S s"):
        assert default_range(unit) == Range(0, None), unit
    for unit in ("1", "V", "A", "V^2", "A s^-1"):
        assert default_range(unit) == Range(), unit
    r = Range(0, 1)
    assert r.violation(0.5) is None and r.violation(np.array([0, 1.0])) is None
    assert r.violation(1.0000001) == "= 1.0000001"
    assert r.violation(np.array([], float)) is None
    assert Range(0, None, integer=True).describe() == "a whole number >= 0, finite"
    assert Range(None, None, nonfinite=True).describe() == "any number, NaN or inf allowed"
    with pytest.raises(ParameterError, match="lo = 2 is above hi = 1"):
        Range(2, 1)
    with pytest.raises(ParameterError, match="not a declared headline"):
        FileKind("x", 1, "x", headline={"a": "1"}, bounds={"b": (0, 1)})
    with pytest.raises(ParameterError, match="not a declared headline"):
        FileKind("x", 1, "x", headline={"a": "1"}, nonfinite=("b",))
    with pytest.raises(ParameterError, match=r"must be a pair \(lo, hi\)"):
        FileKind("x", 1, "x", headline={"a": "1"}, bounds={"a": 1})
    k = FileKind("x", 1, "x", headline={"n": "count", "f": "1"},
                 optional_patterns={"e_{c}": "1"}, bounds={"n": (1, 5), "e_{c}": (0, 1)},
                 nonfinite=("f",))
    assert k.range_of("n") == Range(1, 5, integer=True)  # a count stays whole
    assert k.range_of("f") == Range(nonfinite=True)
    assert k.range_of("e_any") == Range(0, 1) and k.range_of("other") is None


def test_every_registered_kind_has_a_range_for_every_headline():
    """Each declared headline has a rule; a dimensionless one an explicit bound (the unit
    "1" alone says nothing), and every accuracy, convergence fraction and probability lies
    in [0, 1]."""
    assert len(KINDS) >= 10
    for kind in KINDS.values():
        declared = {**kind.headline, **kind.optional, **kind.optional_patterns}
        for name, unit in declared.items():
            probe = re.sub(r"\{[A-Za-z_]+\}", "probe", name)
            rule = kind.range_of(probe)
            assert isinstance(rule, Range), (kind.name, name)
            assert rule.describe()
            if unit == "1":
                assert name in kind.bounds, f"{kind.name}: dimensionless {name!r} has no bound"
            if unit == "count":
                assert rule.integer and rule.lo is not None and rule.lo >= 0, (kind.name, name)
            if any(w in name for w in ("accuracy", "converged", "probability", "auc")) \
                    and not name.endswith("_std"):
                assert (rule.lo, rule.hi) == (0, 1), (kind.name, name, rule)


# ------------------------------------------------------------------ an MNIST-like file
def _mnist_like(path):
    """A small mnist_clustering file in the writer's layout (as tests/test_io_kinds.py)."""
    n_in, n_out = 6, 3
    plus = PCMArray(n_in * n_out, "nandakumar2018", seed=1)
    minus = PCMArray(n_in * n_out, "nandakumar2018", seed=2)
    with hdf5.atomic_h5(path, kind="mnist_clustering") as f:
        hdf5.write_config(f, {"network": {"name": "tiny"}, "run": {"seed": 3}})
        for name, arr in (("plus", plus), ("minus", minus)):
            arrays.write_array(f.create_group(f"devices/{name}"), arr)
        net = f.create_group("network")
        hdf5.write_dataset(net, "theta", np.zeros(n_out), "V")
        hdf5.write_dataset(net, "assignments", np.array([0, 1, 2]), "1")
        hdf5.write_dataset(net, "weights", np.zeros((n_out, n_in)), "S")
        r = f.create_group("results")
        for k, v in {"test_accuracy": 0.5, "train_examples": 40, "test_examples": 10,
                     "train_wall_s": 1.5, "test_wall_s": 0.5, "n_set": 18, "n_reset": 0,
                     "energy_J": 1e-10}.items():
            r.attrs[k] = v
        hdf5.write_dataset(r, "confusion", np.ones((10, 11), int), "count")
        for name, unit in (("per_class_accuracy", "1"), ("test_predictions", "1"),
                           ("test_labels", "1"), ("train_spikes_per_example", "count"),
                           ("assign_counts", "count"), ("test_counts", "count")):
            hdf5.write_dataset(r, name, np.zeros(10), unit)
