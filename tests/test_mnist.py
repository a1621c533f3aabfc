"""Unsupervised MNIST clustering: scoring logic, network definitions, checks made before
any work, a short run that learns, exact resumption after an interruption (Ctrl-C, kill -9,
a full disk), the runtime target against the standalone one, and clean build folders."""

import json
import os
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

from mnist_support import (DETERMINISTIC, REPO, binarised, build_root, mnist_data, run_folders,
                           small_sidler_toml, wait_for_simulator, wait_gone)

from neuropcm.analysis.metrics import (accuracy_report, assign_labels, class_rates,
                                       confusion_matrix, predict)
from neuropcm.errors import ParameterError, ShapeError, UnitError


# ------------------------------------------------------------------ scoring on hand-made data
def test_assign_labels_takes_the_class_with_the_highest_mean_response():
    labels = np.array([0, 0, 1, 1, 1, 2])
    counts = np.array([[5, 0, 0, 1],
                       [3, 0, 0, 1],
                       [0, 4, 0, 1],
                       [1, 2, 0, 1],
                       [0, 3, 0, 1],
                       [0, 0, 0, 9]])
    # neuron 0 -> class 0 (mean 4), 1 -> class 1 (3), 2 never fires -> -1,
    # neuron 3 -> class 2 (9 > 1); means per class, not sums (class 1 has more examples)
    assert list(assign_labels(counts, labels, 3)) == [0, 1, -1, 2]
    np.testing.assert_allclose(class_rates(counts, labels, 3)[:, 0], [4, 1 / 3, 0])


def test_predict_and_confusion():
    assignments = np.array([0, 0, 1, -1, 2])
    counts = np.array([[4, 2, 0, 9, 0],    # class 0 mean 3 vs 0 -> 0
                       [0, 0, 5, 0, 1],    # class 1
                       [0, 0, 0, 7, 0],    # only the unassigned neuron fires -> -1
                       [1, 1, 1, 0, 1],    # ties 1 = 1 = 1 -> lowest class
                       [0, 0, 0, 0, 3]])   # class 2
    pred = predict(counts, assignments, 3)
    assert list(pred) == [0, 1, -1, 0, 2]
    labels = np.array([0, 1, 2, 1, 2])
    cm = confusion_matrix(labels, pred, 3)
    assert cm.shape == (3, 4) and cm.sum() == 5
    assert cm[0, 0] == 1 and cm[1, 1] == 1 and cm[1, 0] == 1 and cm[2, 3] == 1 and cm[2, 2] == 1
    rep = accuracy_report(labels, pred, 3)
    assert rep["accuracy"] == pytest.approx(3 / 5) and rep["no_response"] == 1
    np.testing.assert_allclose(rep["per_class_accuracy"], [1, 0.5, 0.5])


def test_scoring_shape_errors():
    with pytest.raises(ShapeError):
        assign_labels(np.zeros((3, 2)), np.zeros(4, int))
    with pytest.raises(ShapeError):
        predict(np.zeros((3, 2)), np.zeros(3, int))


# ------------------------------------------------------------------ network definitions
def test_network_definitions_load_with_units(tmp_path):
    from neuropcm.snn.config import NETWORKS_DIR, load_network

    names = sorted(p.stem for p in NETWORKS_DIR.glob("*.toml"))
    assert {"sidler2017", "wta100", "wta400"} <= set(names)
    for name in names:
        cfg = load_network(name)
        assert cfg.neurons.n >= 50 and float(cfg.input.presentation) > 0
    assert load_network("wta400").neurons.n == 400
    bad = tmp_path / "bad.toml"
    bad.write_text('[neurons]\ntau_m = "20*mV"\n')
    with pytest.raises(UnitError, match="tau_m"):
        load_network(bad)
    bad.write_text('[neurons]\ntau_m = 20\n')
    with pytest.raises(UnitError, match="needs a unit"):
        load_network(bad)
    bad.write_text('[neurons]\ntau = "20*ms"\n')
    with pytest.raises(ParameterError, match="unknown setting"):
        load_network(bad)
    with pytest.raises(ParameterError, match="sidler2017"):
        load_network("no_such_network")


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def data():
    return mnist_data()


@pytest.fixture(scope="module")
def det_cfg():
    from neuropcm.snn.config import load_network

    return load_network(DETERMINISTIC)


@pytest.fixture(scope="module")
def small_toml(tmp_path_factory):
    return small_sidler_toml(tmp_path_factory.mktemp("net"))


@pytest.fixture(scope="module")
def small_cfg(small_toml):
    from neuropcm.snn.config import load_network

    return load_network(small_toml)


@pytest.fixture
def no_compile(monkeypatch):
    """Makes building a simulator a test failure: for checks that must come first."""
    import neuropcm.workloads.spiking._mnist_run as cl

    def refuse(*a, **kw):
        raise AssertionError("a simulator was built before the check")

    monkeypatch.setattr(cl, "ChunkedRunner", refuse)


# ------------------------------------------------------------------ checks before any work
@pytest.mark.parametrize("kw, match", [
    ({"n_test": -5}, "test = -5 must be at least 1"),
    ({"n_test": 0}, "test = 0 must be at least 1"),
    ({"n_assign": -5}, "assign = -5 must be at least 1"),
    ({"n_assign": 500}, "assign = 500: labels are assigned on the run's 400"),
    ({"n_train": 100_000}, "train = 100000: there are only 60000 training images"),
    ({"n_test": 10_001}, "test = 10001: there are only 10000 test images"),
    ({"n_train": 0}, "train = 0 must be at least 1"),
    ({"n_train": 12.5}, "train = 12.5 must be a whole number"),
    ({"epochs": 0}, "epochs = 0 must be at least 1"),
    ({"seed": -1}, "seed = -1 is negative"),
    ({"seed": 1.5}, "seed = 1.5 must be a non-negative integer"),
    ({"n_validation": -1}, "validation = -1 must be a whole number >= 0"),
    ({"n_validation": 0.5}, "validation = 0.5 must be a whole number >= 0"),
    ({"n_train": 59_000, "n_validation": 1001},
     "train = 59000 \\+ validation = 1001 exceeds the 60000 training images.*train <= 58999"),
])
def test_counts_and_seed_are_checked_first(data, small_cfg, tmp_path, no_compile, kw, match):
    from neuropcm.workloads.spiking._mnist_run import run_clustering

    args = dict(n_train=400, n_test=300, n_assign=None, seed=3, progress=False,
                out=tmp_path / "r.h5") | kw
    with pytest.raises(ParameterError, match=match):
        run_clustering(small_cfg, data, **args)
    assert list(tmp_path.iterdir()) == []


def test_output_path_is_checked_first(data, small_cfg, tmp_path, no_compile):
    from neuropcm.workloads.spiking._mnist_run import run_clustering

    kw = dict(n_train=100, n_test=100, seed=3, progress=False)
    with pytest.raises(ParameterError, match="is a folder"):
        run_clustering(small_cfg, data, out=tmp_path, **kw)
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    with pytest.raises(ParameterError, match="not an HDF5 file"):
        run_clustering(small_cfg, data, out=notes, **kw)
    assert notes.read_text() == "keep me"
    with pytest.raises(ParameterError, match="is a file, not a folder"):
        run_clustering(small_cfg, data, out=notes / "r.h5", **kw)


def test_network_is_built_once_without_compiling_first(data, small_toml, tmp_path,
                                                       no_compile):
    """What only the Brian2 objects check (here the STDP windows) is found in a second, not
    after a compilation."""
    from neuropcm.workloads.spiking._mnist_run import run_clustering
    from neuropcm.snn.config import load_network

    bad = tmp_path / "bad.toml"
    bad.write_text(small_toml.read_text().replace('dT_pot = "25*ms"', 'dT_pot = "200*ms"'))
    cfg = load_network(bad)
    with pytest.raises(ParameterError, match="network 'test-sidler2017': dT_pot = 200"):
        run_clustering(cfg, data, n_train=100, n_test=100, seed=3, progress=False,
                       out=tmp_path / "r.h5")


# ------------------------------------------------------------------ resume settings
def test_settings_diff_names_each_field():
    from neuropcm.config import settings_diff

    a = {"seed": 3, "n_train": 400, "network": {"neurons": {"n": 50}, "name": "x"}}
    b = {"seed": 4, "n_train": 400, "network": {"neurons": {"n": 100}, "name": "x"},
         "epochs": 2}
    assert settings_diff(a, b) == ["epochs: (absent) -> 2", "network.neurons.n: 50 -> 100",
                                   "seed: 3 -> 4"]
    assert settings_diff(a, json.loads(json.dumps(a))) == []


def _fake_checkpoint(cfg, data, out, **run):
    """A checkpoint with the settings of a run (as run_clustering stores them)."""
    from neuropcm.workloads._checkpoint import Checkpoint, checkpoint_path, save_checkpoint
    from neuropcm.snn.clustering import initial_synapse_state
    from neuropcm.workloads.spiking._mnist_plan import run_settings

    settings = run_settings(cfg, data, **({"n_train": 400, "n_test": 300, "n_assign": 400,
                                           "epochs": 1, "seed": 3, "mode": "standalone",
                                           "chunk": 100, "threads": 0,
                                           "runtime_target": "cython"} | run))
    ckpt = checkpoint_path(out)
    save_checkpoint(ckpt, Checkpoint(settings, 2, 1.0, initial_synapse_state(cfg, 3)))
    return ckpt


@pytest.mark.parametrize("change, fields", [
    ({"seed": 4}, ["seed: 3 -> 4"]),
    ({"n_train": 500}, ["n_train: 400 -> 500"]),
    ({"epochs": 2}, ["epochs: 1 -> 2"]),
    ({"n_train": 500, "seed": 5}, ["n_train: 400 -> 500", "seed: 3 -> 5"]),
    ({"network": "wta100"}, ["network.name", "network.neurons.n: 50 -> 100",
                             "network.neurons.rate_target"]),
])
def test_resume_with_other_settings_is_refused(data, small_cfg, tmp_path, no_compile, change,
                                               fields):
    from neuropcm.workloads.spiking._mnist_run import run_clustering
    from neuropcm.snn.config import load_network

    out = tmp_path / "r.h5"
    ckpt = _fake_checkpoint(small_cfg, data, out)
    before = ckpt.read_bytes()
    kw = dict(n_train=400, n_test=300, n_assign=400, epochs=1, seed=3) | change
    cfg = load_network(kw.pop("network")) if "network" in kw else small_cfg
    with pytest.raises(ParameterError, match="cannot resume") as e:
        run_clustering(cfg, data, out=out, resume=True, progress=False, **kw)
    for f in fields:
        assert f in str(e.value)
    assert ckpt.read_bytes() == before  # kept for a resume with the right settings


def test_resume_without_checkpoint_says_so(data, small_cfg, tmp_path, no_compile):
    from neuropcm.workloads.spiking._mnist_run import run_clustering

    with pytest.raises(ParameterError, match="nothing to resume: there is no checkpoint"):
        run_clustering(small_cfg, data, n_train=400, n_test=300, seed=3, progress=False,
                       out=tmp_path / "r.h5", resume=True)


class _FakeRunner:
    """Stands in for the compiled simulator: records the seed of every chunk; the network
    answers only at doubled input rates, so every example is shown again (attempt 1)."""

    def __init__(self, builder, rows, inputs, duration, **kw):
        self.rows, self.compile_s, self.calls = rows, 0.0, []
        self.state_units = {"wta.theta": "V"}  # what run_chunk hands back beyond the synapses
        _FakeRunner.last = self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def close(self):
        pass

    def run_chunk(self, stimulus, state, seed, flags):
        self.calls.append((seed, flags.get("inputs.gain", 0.0), flags["syn.plastic"]))
        n = 0 if flags.get("inputs.gain", 1.0) == 1.0 and not flags["syn.plastic"] else \
            self.rows
        out = dict(state)
        out["wta.theta"] = np.zeros(50)
        return out, np.zeros(n, dtype=int), (np.arange(n) + 0.5) * 0.22


def test_every_chunk_has_its_own_random_stream(data, small_cfg, tmp_path, monkeypatch):
    """Training and evaluation chunks get seeds from neuropcm.random paths, all distinct:
    the old ``seed_base + 1000 * attempt + c`` made evaluation chunk 1000 of one attempt
    reuse the stream of chunk 0 of the next."""
    import neuropcm.workloads.spiking._mnist_run as cl
    from neuropcm.random import int_seed

    monkeypatch.setattr(cl, "ChunkedRunner", _FakeRunner)
    cfg = small_cfg.replace("simulation", chunk=1)
    cl.run_clustering(cfg, data, n_train=3, n_test=1001, n_assign=2, seed=7, progress=False,
                      out=tmp_path / "r.h5", build_dir=tmp_path / "b")
    calls = _FakeRunner.last.calls
    seeds = [c[0] for c in calls]
    assert len(calls) == 3 + 2 * 2 + 2 * 1001 and len(set(seeds)) == len(seeds)
    assert seeds[:3] == [int_seed(7, "train", "chunk", k) for k in range(3)]
    assert seeds[3:7] == [int_seed(7, "assign", "attempt", a, "chunk", c)
                          for a in range(2) for c in range(2)]
    assert seeds[7:] == [int_seed(7, "test", "attempt", a, "chunk", c)
                         for a in range(2) for c in range(1001)]


# ------------------------------------------------------------------ short standalone runs
@pytest.fixture(scope="module")
def reference(data, small_cfg, tmp_path_factory):
    """An uninterrupted run of the small sidler2017 network (also the reference of the
    interruption tests)."""
    from neuropcm.workloads.spiking._mnist_run import run_clustering

    out = tmp_path_factory.mktemp("ref") / "full.h5"
    res = run_clustering(small_cfg, data, out=out, **RUN)
    return out, res


def _error(kind, fn, *args, **kw):
    """Call ``fn`` expecting ``kind``; its message and checkpoint. The exception (and the
    frames its traceback holds, with their Brian2 objects) is dropped on return, so the
    next build in this process gets the same code-object names and reuses its binary."""
    try:
        fn(*args, **kw)
    except kind as e:
        return str(e), getattr(e, "checkpoint", None)
    raise AssertionError(f"no {kind.__name__}")


RUN = dict(n_train=400, n_test=300, n_assign=400, seed=3, progress=False)
SAME = ("devices/plus/G", "devices/minus/G", "devices/plus/n_set", "network/theta",
        "results/test_predictions", "results/confusion", "results/assign_counts")


def _same_results(a_path, b_path):
    with h5py.File(a_path) as a, h5py.File(b_path) as b:
        assert a["results"].attrs["test_accuracy"] == b["results"].attrs["test_accuracy"]
        for name in SAME:
            assert np.array_equal(a[name][()], b[name][()]), name


@pytest.mark.brian2
def test_short_run_learns_and_resumes_exactly(data, small_cfg, reference, tmp_path):
    from neuropcm.errors import RunInterrupted
    from neuropcm.workloads._checkpoint import load_checkpoint
    from neuropcm.workloads.spiking._mnist_run import run_clustering

    full, res = reference
    # learns: 300 held-out examples, chance is 10 % with binomial std 1.7 %; 20 % is 5.8 std
    # above chance
    assert res["test_accuracy"] > 0.20, res
    assert res["n_set"] > 0 and res["train_examples"] == 400

    part = tmp_path / "part.h5"
    msg, _ = _error(RunInterrupted, run_clustering, small_cfg, data, out=part,
                    stop_after_chunks=2, **RUN)
    assert "holds 2 of 4 complete training chunks" in msg
    assert load_checkpoint(tmp_path / "part.h5.ckpt.h5").chunks_done == 2 and not part.exists()
    res2 = run_clustering(small_cfg, data, out=part, resume=True, **RUN)
    assert res2["test_accuracy"] == res["test_accuracy"]
    _same_results(full, part)
    with h5py.File(full) as a:
        assert a["results/confusion"][()].sum() == 300
        for ds in ("devices/plus/G", "network/theta", "results/confusion"):
            assert "units" in a[ds].attrs
        assert json.loads(a["config"].attrs["json"])["run"]["seed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part.h5"]
    assert run_folders(build_root(), small_cfg.name) == []


DET_RUN = dict(n_train=30, n_test=10, n_assign=20, seed=1, progress=False)


@pytest.fixture(scope="module")
def det_reference(data, det_cfg, tmp_path_factory):
    """An uninterrupted standalone run of the deterministic network."""
    from neuropcm.workloads.spiking._mnist_run import run_clustering

    out = tmp_path_factory.mktemp("det") / "sa.h5"
    run_clustering(det_cfg, binarised(data), out=out, **DET_RUN)
    return out


@pytest.mark.brian2
def test_runtime_mode_runs_the_same_network(data, det_cfg, det_reference, tmp_path):
    """Runtime (numpy) against cpp_standalone, as they are, on a network whose dynamics use
    no random numbers (the two targets' generators differ, so a noisy network could only be
    compared statistically): every spike count, conductance and device counter is equal;
    the thresholds agree to 1e-12 relative (exp() and -ffast-math round the last bits
    differently)."""
    from neuropcm.workloads.spiking._mnist_run import run_clustering

    rr = run_clustering(det_cfg, binarised(data), out=tmp_path / "rt.h5", mode="runtime",
                        runtime_target="numpy", **DET_RUN)
    assert rr["train_examples"] == 30
    with h5py.File(det_reference) as a, h5py.File(tmp_path / "rt.h5") as r:
        assert r.attrs["kind"] == "mnist_clustering"
        spikes = a["results/train_spikes_per_example"][()]
        assert spikes.min() > 1, "the comparison needs a network that fires"
        n_set = a["devices/plus/n_set"][()] + a["devices/minus/n_set"][()]
        assert n_set.sum() > 2 * 4704 * 1.5, "... and learns (more than the initial pulses)"
        for name in ("results/train_spikes_per_example", "results/assign_counts",
                     "results/test_counts", "results/test_predictions", "network/assignments"):
            assert np.array_equal(a[name][()], r[name][()]), name
        for side in ("plus", "minus"):
            for var in ("G", "n_set", "n_reset", "n_read", "energy", "t_prog"):
                name = f"devices/{side}/{var}"
                assert np.array_equal(a[name][()], r[name][()]), name
        np.testing.assert_allclose(r["network/theta"][()], a["network/theta"][()], rtol=1e-12,
                                   atol=1e-15)


@pytest.mark.brian2
def test_validation_split_is_held_out_and_scored(data, det_cfg, det_reference, tmp_path):
    """A validation split changes nothing of the training, labelling or test (the same
    results as the run without it), holds images out of training and labelling (the ones
    after the training examples in the seeded shuffle, checked against the shuffle
    re-derived here), and its accuracy is the stored predictions against the stored
    labels, the predictions being the class of highest mean count of its neurons."""
    from neuropcm.io import open_h5
    from neuropcm.random import rng
    from neuropcm.workloads.spiking._mnist_run import run_clustering

    d = binarised(data)
    rv = run_clustering(det_cfg, d, out=tmp_path / "v.h5", n_validation=40, **DET_RUN)
    with h5py.File(det_reference) as a, open_h5(tmp_path / "v.h5", kind="mnist_clustering") as v:
        for name in ("results/train_spikes_per_example", "results/assign_counts",
                     "results/test_counts", "network/assignments", "devices/plus/G"):
            assert np.array_equal(a[name][()], v[name][()]), name
        labels = v["results/validation_labels"][()]
        pred = v["results/validation_predictions"][()]
        counts = v["results/validation_counts"][()].astype(float)
        assign = v["network/assignments"][()]
        assert v["results"].attrs["validation_examples"] == 40
        assert json.loads(v["config"].attrs["json"])["run"]["n_validation"] == 40
    perm = rng(DET_RUN["seed"], "subset").permutation(len(d[0]))
    held = perm[DET_RUN["n_train"]:DET_RUN["n_train"] + 40]
    assert not set(held) & set(perm[:DET_RUN["n_train"]])
    assert np.array_equal(labels, d[1][held])
    means = np.stack([counts[:, assign == c].mean(1) if (assign == c).any()
                      else np.zeros(len(counts)) for c in range(10)], 1)
    answered = counts[:, assign >= 0].sum(1) > 0
    assert np.array_equal(pred[answered], means[answered].argmax(1))
    assert rv["validation_accuracy"] == pytest.approx(np.mean(pred == labels))


@pytest.mark.brian2
def test_runs_leave_no_files_in_the_build_folder(data, det_cfg, tmp_path):
    """A run adds nothing to its build folder (was: ~90 MB of run arguments per run), and
    other runs of the same network use the same folder; other builds of it are removed."""
    from neuropcm.workloads.spiking._mnist_run import default_build_dir, run_clustering

    d = binarised(data)
    kw = dict(n_train=20, n_test=10, n_assign=10, progress=False)
    folder = default_build_dir(det_cfg, det_cfg.simulation.chunk, 0)
    stale = folder.parent / f"mnist-{det_cfg.name}-{'0' * 16}"
    stale.mkdir(parents=True, exist_ok=True)
    run_clustering(det_cfg, d, out=tmp_path / "a.h5", seed=1, **kw)
    assert not stale.exists()

    def files():
        return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*")
                if p.is_file()}

    after_one = files()
    run_clustering(det_cfg, d, out=tmp_path / "b.h5", seed=2, **kw)
    assert files() == after_one
    assert not [p for p in after_one if p.startswith("run-") or "init_" in p]
    assert sorted(p.name for p in folder.parent.glob(f"mnist-{det_cfg.name}-*")) == [folder.name]


@pytest.fixture
def tiny_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mnt)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=True)


@pytest.mark.brian2
def test_full_disk_keeps_the_last_checkpoint(data, det_cfg, det_reference, tiny_disk):
    """The second checkpoint does not fit: one ResultsFileError, the first checkpoint intact;
    with space again, --resume ends with the uninterrupted result."""
    from neuropcm.errors import ResultsFileError
    from neuropcm.workloads._checkpoint import load_checkpoint
    from neuropcm.workloads.spiking._mnist_run import run_clustering

    d = binarised(data)
    out = tiny_disk / "r.h5"
    msg, ckpt = _error(ResultsFileError, run_clustering, det_cfg, d, out=out, **DET_RUN)
    assert "the disk is full" in msg and "\n" not in msg
    assert ckpt == tiny_disk / "r.h5.ckpt.h5"
    assert load_checkpoint(ckpt).chunks_done == 1
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["r.h5.ckpt.h5"]
    subprocess.run(["mount", "-o", "remount,size=8m", str(tiny_disk)], check=True)
    run_clustering(det_cfg, d, out=out, resume=True, **DET_RUN)
    _same_results(det_reference, out)


# ------------------------------------------------------------------ the command line
def _cli(args, **kw):
    return subprocess.Popen([sys.executable, "-m", "neuropcm.cli", "mnist", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "PYTHONPATH": str(REPO)},
                            **kw)


def _cli_args(small_toml, out):
    return ["--network", str(small_toml), "--train", "400", "--test", "300", "--assign",
            "400", "--seed", "3", "--quiet", "--out", str(out)]


def _chunks(ckpt):
    from neuropcm.workloads._checkpoint import checkpoint_chunks

    return checkpoint_chunks(ckpt)


@pytest.mark.slow
@pytest.mark.brian2
def test_cli_ctrl_c_stops_cleanly_and_resumes(small_toml, small_cfg, reference, tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) during a training chunk
    and again during labelling: each time exit 130 with how to continue, the checkpoint
    holds the complete chunks only, nothing is left running or lying around; the resumed
    run equals the uninterrupted one (was: the chunk was cut short, training went on and
    the run ended with exit 0 and another accuracy)."""
    out = tmp_path / "run.h5"
    ckpt = tmp_path / "run.h5.ckpt.h5"
    args = _cli_args(small_toml, out)
    for when, done, phase in ((lambda: _chunks(ckpt) == 1, 1, "training"),
                              (lambda: _chunks(ckpt) == 4, 4, "labelling")):
        proc = _cli(args + (["--resume"] if ckpt.exists() else []))
        child = wait_for_simulator(proc.pid, after=when)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        assert f"during {phase}" in err and f"holds {done} of 4 complete" in err, err
        assert "to continue: neuropcm mnist" in err and err.rstrip().endswith("--resume"), err
        assert _chunks(ckpt) == done and not out.exists()
        assert wait_gone(child, 2.0)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5.ckpt.h5"]
        assert run_folders(build_root(), small_cfg.name) == []
    proc = _cli(args + ["--resume"])
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    _same_results(reference[0], out)
    assert not ckpt.exists()


@pytest.mark.slow
@pytest.mark.brian2
def test_cli_kill_9_leaves_nothing_running_and_resumes(small_toml, small_cfg, reference,
                                                       tmp_path):
    """`kill -9` of the command while a chunk runs: the simulator dies with it; the next
    run removes what was left behind and `--resume` gives the uninterrupted result."""
    out = tmp_path / "run.h5"
    ckpt = tmp_path / "run.h5.ckpt.h5"
    args = _cli_args(small_toml, out)
    proc = _cli(args)
    child = wait_for_simulator(proc.pid, after=lambda: _chunks(ckpt) == 2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert wait_gone(child, 2.0), "the simulator outlived the command"
    assert _chunks(ckpt) == 2 and not out.exists()
    assert len(run_folders(build_root(), small_cfg.name)) == 1  # left by the killed run
    proc = _cli(args + ["--resume"])
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    _same_results(reference[0], out)
    assert run_folders(build_root(), small_cfg.name) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5", "run.png"]


@pytest.mark.slow
@pytest.mark.brian2
def test_concurrent_runs_of_one_network(data, det_cfg, det_reference, tmp_path):
    """Two runs of the same network at once share its build but not their files: each ends
    with the result it has alone (was: one results folder for both)."""
    from neuropcm.workloads.spiking._mnist_run import run_clustering

    code = ("import sys, brian2\n"
            "brian2.BrianLogger.log_level_error()\n"
            "from mnist_support import DETERMINISTIC, binarised, mnist_data\n"
            "from neuropcm.snn.config import load_network\n"
            "from neuropcm.workloads.spiking._mnist_run import run_clustering\n"
            "run_clustering(load_network(DETERMINISTIC), binarised(mnist_data()), n_train=30,"
            " n_test=10, n_assign=20, seed=int(sys.argv[1]), out=sys.argv[2], progress=False)\n")
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}"}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(seed),
                               str(tmp_path / f"{seed}.h5")],
                              env=env, stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    for p in procs:
        assert p.wait(timeout=600) == 0, p.stderr.read()[-3000:]
    run_clustering(det_cfg, binarised(data), out=tmp_path / "alone2.h5", **(DET_RUN | {"seed": 2}))
    _same_results(det_reference, tmp_path / "1.h5")
    _same_results(tmp_path / "alone2.h5", tmp_path / "2.h5")
    assert run_folders(build_root(), det_cfg.name) == []
