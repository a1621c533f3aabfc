"""mlp-train checkpoints and interruptions (issue 18, points 0 and 10).

The acceptance test runs the real command, ``python -m neuropcm.cli run mlp-train`` with a
bare ``--out run.h5`` (no folder part) in a temporary working directory, stops it after its
first checkpoint by SIGINT (Ctrl-C), its resumption by SIGTERM and the next by ``kill -9``,
resumes it to the end and compares the result file, dataset by dataset and attribute by
attribute (wall-clock timings aside), with an uninterrupted run of the same settings. The checkpoint is one file: no
separate crossbar files, no temporary file left behind. A checkpoint whose settings were
edited, or that is truncated or incomplete, is refused in one line.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from mnist_support import REPO

from neuropcm import cli
from neuropcm.errors import RunInterrupted, SchemaError
from neuropcm.workloads import get_workload

W = get_workload("mlp-train")
SETS = ("hidden=10", "train=300", "test=100", "epochs=4")
CKPT = "run.h5.ckpt.h5"
#: names of datasets and attributes that hold wall-clock times, the writing time, or a
#: checksum over the headlines (which include the wall-clock times)
TIMING = re.compile(r"(^|_)wall_s$|^created$|^results_sha256$")


def _argv(*extra, out="run.h5") -> list[str]:
    return ["run", "mlp-train", *[a for s in SETS for a in ("--set", s)], "--out", out,
            "--plot", "none", "--quiet", *extra]


def _default_sigint():
    # a test run as a background job inherits SIGINT ignored; a terminal's Ctrl-C reaches
    # a process whose SIGINT is at its default, so the command gets that back
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(cwd: Path, argv: list[str]) -> subprocess.Popen:
    """``neuropcm ARGV`` as its own process, in ``cwd``."""
    return subprocess.Popen([sys.executable, "-m", "neuropcm.cli", *argv], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)},
                            preexec_fn=_default_sigint)


def _finish(proc: subprocess.Popen, timeout: float = 180) -> str:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()  # only the process this test started
        proc.communicate()
        raise
    return err


def _items(f: h5py.File) -> dict:
    out = {"/": f}
    f.visititems(lambda name, obj: out.__setitem__(name, obj))
    return out


def _equal(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return a.shape == b.shape and bool(np.all(a == b))


def assert_same_results(a_path: Path, b_path: Path) -> None:
    """Every dataset and attribute of the two files equal (wall-clock timings and the
    writing time aside): the same groups, datasets, values, dtypes and units."""
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        ia, ib = _items(a), _items(b)
        assert sorted(ia) == sorted(ib)
        diff = []
        for name, oa in ia.items():
            ob = ib[name]
            assert type(oa) is type(ob), name
            if isinstance(oa, h5py.Dataset) and not TIMING.search(name.rsplit("/", 1)[-1]):
                if oa.dtype != ob.dtype or not _equal(oa[()], ob[()]):
                    diff.append(name)
            assert sorted(oa.attrs) == sorted(ob.attrs), name
            diff += [f"{name}@{k}" for k in oa.attrs
                     if not TIMING.search(k) and not _equal(oa.attrs[k], ob.attrs[k])]
        assert not diff, f"{a_path} and {b_path} differ in {diff}"
        n = len([1 for o in ia.values() if isinstance(o, h5py.Dataset)])
        assert n >= 20 and "results/weights/layer0" in ia  # the comparison saw the results


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run (its own process, the same command line)."""
    folder = tmp_path_factory.mktemp("reference")
    proc = _start(folder, _argv())
    err = _finish(proc)
    assert proc.returncode == 0, err
    assert sorted(os.listdir(folder)) == ["run.h5"]
    return folder / "run.h5"


def _wait_for_new_checkpoint(path: Path, proc: subprocess.Popen, after, timeout=120) -> None:
    """Until ``path`` is a checkpoint file other than ``after`` (an ``os.stat`` result or
    None): every save replaces the file by a rename, so a new inode is a new checkpoint."""
    t = time.monotonic()
    while True:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        if st is not None and (after is None or st.st_ino != after.st_ino):
            return
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before a new checkpoint: {proc.communicate()}")
        assert time.monotonic() - t < timeout, "no new checkpoint appeared"
        time.sleep(0.005)


def _epochs_done(ckpt: Path) -> int:
    with h5py.File(ckpt, "r") as f:  # one whole checkpoint, crossbars inside
        assert sorted(f["crossbars"]) == ["layer0", "layer1"]
        assert "devices" in f["crossbars/layer0"] and "settings_sha256" in f.attrs
        return int(f.attrs["epochs_done"])


def test_interrupted_run_resumes_to_the_uninterrupted_result(reference, tmp_path):
    """A real run with a bare ``--out`` (the case whose checkpoints lost their crossbar
    files) is stopped after its first checkpoint by Ctrl-C (SIGINT: exit 130 and the
    command that continues), that command is stopped after the next checkpoint by SIGTERM
    (143, the same command), and the next by ``kill -9``; each time the checkpoint is one
    whole file and nothing else is left but the lock file (and, after kill -9, a temporary
    file as a kill during a save leaves one). The last ``--resume`` ends with exactly the
    uninterrupted run's file and leaves nothing else behind."""
    ckpt = tmp_path / CKPT
    argv, before, done = _argv(), None, 0
    for how, status in (("SIGINT", 130), ("SIGTERM", 143), ("SIGKILL", -signal.SIGKILL)):
        proc = _start(tmp_path, argv)
        _wait_for_new_checkpoint(ckpt, proc, before)
        os.kill(proc.pid, getattr(signal, how))
        err = _finish(proc)
        assert proc.returncode == status, (how, err)
        assert not (tmp_path / "run.h5").exists()
        before = os.stat(ckpt)
        done, was = _epochs_done(ckpt), done
        assert was < done < 4, (how, was, done)
        left = sorted(p.name for p in tmp_path.iterdir())
        assert left in ([CKPT], [".run.h5.lock", CKPT]), (how, left)  # no crossbar files
        if how == "SIGKILL":
            # what a kill during a checkpoint's write leaves: a temporary file named by
            # tempfile.mkstemp next to it (as atomic_h5 makes it); the next run removes it
            (tmp_path / f".{CKPT}.k2j4x9_q.tmp").write_bytes(b"\0" * 4096)
            assert argv == _argv("--resume")
            continue
        lines = err.strip().splitlines()
        assert len(lines) == 2, err
        why = r"terminated \(SIGTERM\) -- " if how == "SIGTERM" else ""
        # (after epoch N: the signal came as the checkpoint of epoch N had just been saved)
        assert re.fullmatch(rf"neuropcm: {why}stopped (during epoch {done + 1}|after epoch "
                            rf"{done}) of 4; the checkpoint {re.escape(CKPT)} holds {done} of 4 "
                            rf"complete epochs and nothing else: resume to continue from there",
                            lines[0]), lines[0]
        prefix = "neuropcm: to continue: "
        assert lines[1].startswith(prefix + "neuropcm run mlp-train "), lines[1]
        argv = shlex.split(lines[1][len(prefix):])[1:]  # the command it gives, as typed
        assert argv == _argv("--resume")
    proc = _start(tmp_path, argv)
    err = _finish(proc)
    assert proc.returncode == 0, err
    assert sorted(os.listdir(tmp_path)) == ["run.h5"]  # no checkpoint, lock or .tmp left
    assert_same_results(reference, tmp_path / "run.h5")


# ----------------------------------------------------------------- damaged or edited
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> tuple[Path, dict]:
    """A real checkpoint after epoch 1 of 2 (the run interrupted in epoch 2), and the
    settings of its run."""
    import neuropcm.workloads.learning._mlp_training as T

    folder = tmp_path_factory.mktemp("checkpoint")
    cfg = W.config(hidden=8, train=120, test=50, epochs=2, seed=3)
    real, calls = T.train_epoch, {"n": 0}

    def cut(*a, **k):
        calls["n"] += 1
        if calls["n"] == 4:  # epoch 2, first network (pcm, float, quantised per epoch)
            raise KeyboardInterrupt
        return real(*a, **k)

    T.train_epoch = cut
    try:
        with pytest.raises(RunInterrupted, match="holds 1 of 2 complete epochs") as e:
            W.run(cfg, folder / "r.h5", progress=False)
    finally:
        T.train_epoch = real
    assert e.value.checkpoint == folder / "r.h5.ckpt.h5"
    assert sorted(p.name for p in folder.iterdir()) == ["r.h5.ckpt.h5"]
    return folder / "r.h5.ckpt.h5", cfg


def _cli_lines(capsys, argv) -> tuple[int, list[str]]:
    rc = cli.main(argv)
    return rc, [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]


def _resume_argv(cfg, out: Path, **change) -> list[str]:
    sets = {"hidden": cfg.hidden, "train": cfg.train, "test": cfg.test, "epochs": cfg.epochs,
            "seed": cfg.seed, **change}
    return ["run", "mlp-train", *[a for k, v in sets.items() for a in ("--set", f"{k}={v}")],
            "--out", str(out), "--plot", "none", "--quiet", "--resume"]


def test_edited_settings_are_refused(checkpoint, tmp_path, capsys):
    """The seed in the checkpoint's settings changed to 4 and the run resumed with seed 4:
    refused in one line (the settings no longer match their checksum); the file is kept."""
    src, cfg = checkpoint
    ck = tmp_path / "r.h5.ckpt.h5"
    shutil.copyfile(src, ck)
    # unedited, another seed is refused by the settings rule, naming the field
    rc, lines = _cli_lines(capsys, _resume_argv(cfg, tmp_path / "r.h5", seed=4))
    assert rc == 2 and len(lines) == 1 and "seed: 3 -> 4" in lines[0], lines
    with h5py.File(ck, "r+") as f:
        settings = json.loads(f.attrs["settings"])
        assert settings["seed"] == 3
        settings["seed"] = 4
        f.attrs["settings"] = json.dumps(settings, sort_keys=True)
    before = ck.read_bytes()
    rc, lines = _cli_lines(capsys, _resume_argv(cfg, tmp_path / "r.h5", seed=4))
    assert rc == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"neuropcm: error: cannot resume from {ck}: the checkpoint's "
                               f"settings were edited; "), lines[0]
    assert "run without --resume" in lines[0]
    assert ck.read_bytes() == before and not (tmp_path / "r.h5").exists()
    with pytest.raises(SchemaError, match="settings were edited"):  # the API says the same
        W.run(cfg.replace(seed=4), tmp_path / "r.h5", resume=True, progress=False)


def test_truncated_checkpoint_is_reported_as_damaged(checkpoint, tmp_path, capsys):
    """Half a checkpoint file: one line saying it is damaged and when it was written (not
    "no such file"); a fresh run (without --resume) replaces it."""
    src, cfg = checkpoint
    ck = tmp_path / "r.h5.ckpt.h5"
    data = src.read_bytes()
    ck.write_bytes(data[:len(data) // 2])
    rc, lines = _cli_lines(capsys, _resume_argv(cfg, tmp_path / "r.h5"))
    assert rc == 2 and len(lines) == 1, lines
    msg = lines[0]
    assert msg.startswith(f"neuropcm: error: cannot resume from {ck}: the checkpoint (last "
                          f"written 20"), msg
    assert "is incomplete or damaged: not a readable HDF5 file (truncated or corrupt)" in msg
    assert "no such file" not in msg and "run without --resume" in msg
    out = W.run(cfg, tmp_path / "r.h5", progress=False)  # starting over is allowed
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_incomplete_checkpoint_names_the_run_that_wrote_it(checkpoint, tmp_path, capsys):
    """A readable checkpoint missing a crossbar: one line naming when and by which run it
    was written, and what is missing."""
    src, cfg = checkpoint
    ck = tmp_path / "r.h5.ckpt.h5"
    shutil.copyfile(src, ck)
    with h5py.File(ck, "r+") as f:
        created = f.attrs["created"]
        del f["crossbars/layer1"]
    rc, lines = _cli_lines(capsys, _resume_argv(cfg, tmp_path / "r.h5"))
    assert rc == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"neuropcm: error: cannot resume from {ck}: the checkpoint "
                               f"(written {created} by NeuroPCM "), lines[0]
    assert "by a run with these same settings) is incomplete or damaged: " \
           "/crossbars/layer1 is missing" in lines[0], lines[0]


def test_mnist_checkpoint_settings_carry_a_checksum(tmp_path):
    """The shared checkpoint of mnist-clustering stores the same checksum and refuses an
    edit of its settings."""
    from neuropcm.workloads._checkpoint import (
        Checkpoint,
        load_checkpoint,
        save_checkpoint,
        settings_checksum,
    )

    ck = tmp_path / "m.h5.ckpt.h5"
    settings = {"seed": 3, "n_train": 400, "network": {"name": "x", "neurons": {"n": 50}}}
    save_checkpoint(ck, Checkpoint(settings, 2, 1.5, {}))
    assert load_checkpoint(ck).settings == settings
    with h5py.File(ck, "r+") as f:
        assert f.attrs["settings_sha256"] == settings_checksum(settings)
        f.attrs["settings"] = json.dumps({**settings, "seed": 4}, sort_keys=True)
    with pytest.raises(SchemaError, match="the checkpoint's settings were edited; ") as e:
        load_checkpoint(ck)
    assert "\n" not in str(e.value)


# ----------------------------------------------------------------- Ctrl-C outside a run
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interruption_during_start_up_is_one_line(monkeypatch, capsys, tmp_path, signum):
    """Ctrl-C (or SIGTERM) while the command starts (building the parser imports every
    workload; then data loading, compiling): one line, exit 130 / 143, no traceback; with a
    checkpoint there, it is kept and the command that continues is given."""
    def slow_start():
        if signum == signal.SIGTERM:
            cli._on_sigterm(signum, None)
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "build_parser", slow_start)
    status = 143 if signum == signal.SIGTERM else 130
    what = "terminated (SIGTERM)" if signum == signal.SIGTERM else "interrupted"
    rc, lines = _cli_lines(capsys, _argv())
    assert rc == status and lines == [f"neuropcm: {what}; nothing was written"]
    (tmp_path / CKPT).write_bytes(b"kept")
    rc, lines = _cli_lines(capsys, _argv("--resume"))
    assert rc == status and lines == [
        f"neuropcm: {what}; nothing new was written, the checkpoint {CKPT} is kept",
        f"neuropcm: to continue: neuropcm {shlex.join(_argv('--resume'))}"]
    assert (tmp_path / CKPT).read_bytes() == b"kept"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # main() restores it
