"""One lock helper (:mod:`neuropcm.io.locks`): one writer per output in every workload.

The holders run in child processes (an ``flock`` taken twice in one process by two file
descriptors conflicts as well, but only another process shows what users meet), which
print ``locked`` once they hold the lock and then sleep until killed.
"""

import os
import signal
import subprocess
import sys
import threading

import pytest

from neuropcm.cli import main
from neuropcm.io import FileLock, LockHeld, try_lock, wait_lock
from neuropcm.io import locks as L
from neuropcm.workloads._checkpoint import OutputLock

HOLD = {
    "file": "from neuropcm.io import FileLock\nlock = FileLock({path!r})\n",
    "output": "from neuropcm.workloads._checkpoint import OutputLock\nlock = OutputLock({path!r})\n",
    "sweep": "from pathlib import Path\nfrom neuropcm.sweep.runner import _lock_folder\n"
             "lock = _lock_folder(Path({path!r}))\n",
}


@pytest.fixture
def holder():
    """``holder(kind, path)``: a child process holding a lock of ``kind`` on ``path``."""
    procs = []

    def start(kind, path):
        code = HOLD[kind].format(path=str(path)) + \
            "import time\nprint('locked', flush=True)\ntime.sleep(600)\n"
        p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        procs.append(p)
        assert p.stdout.readline().strip() == "locked"
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)
        p.stdout.close()


def _kill9(p):
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)


def test_second_holder_in_another_process_is_refused_with_path_and_pid(tmp_path, holder):
    path = tmp_path / ".out.h5.lock"
    p = holder("file", path)
    with pytest.raises(LockHeld) as e:
        FileLock(path, what=str(tmp_path / "out.h5"))
    msg = str(e.value)
    assert "\n" not in msg
    assert msg == (f"{tmp_path / 'out.h5'} is being written by another NeuroPCM run "
                   f"(pid {p.pid}); wait for it to end or choose another --out")
    assert e.value.pid == p.pid and e.value.path == path
    assert try_lock(path) is None and try_lock(path, shared=True) is None
    with pytest.raises(LockHeld, match=str(path)):  # by default the message names the file
        FileLock(path)


def test_sigkill_releases_the_lock(tmp_path, holder):
    path = tmp_path / ".out.h5.lock"
    _kill9(holder("file", path))
    assert path.exists()  # the file stays; the lock died with its holder
    with FileLock(path) as lock:
        assert lock.held and L.lock_holder(path) == os.getpid()
    assert not lock.held
    # the output lock of a killed run (file left behind, no holder) is taken again
    out = tmp_path / "r.h5"
    _kill9(holder("output", out))
    assert (tmp_path / ".r.h5.lock").exists()
    with OutputLock(out):
        pass
    assert not (tmp_path / ".r.h5.lock").exists()  # removed by its holder on close


def test_shared_and_exclusive(tmp_path):
    path = tmp_path / "lock"
    a, b = try_lock(path, shared=True), wait_lock(path, shared=True)
    try:
        assert a is not None
        with pytest.raises(LockHeld):
            FileLock(path)  # another open file: conflicts even within one process
    finally:
        os.close(a)
        os.close(b)
    with FileLock(path):
        assert try_lock(path, shared=True) is None


def test_a_file_removed_by_its_holder_is_not_locked_twice(tmp_path, monkeypatch):
    """The holder of a ``remove=True`` lock unlinks the file while holding it; a process
    that opened the old file meanwhile must lock the new one, or two could hold "it"."""
    path = tmp_path / "lock"
    real, calls = L.fcntl.flock, []

    def flock(fd, mode):
        if not calls:  # between our open and our lock, the holder removed the file
            path.unlink()
        calls.append(fd)
        return real(fd, mode)

    monkeypatch.setattr(L.fcntl, "flock", flock)
    fd = try_lock(path)
    assert len(calls) == 2 and os.fstat(fd).st_ino == os.stat(path).st_ino
    os.close(fd)


def test_sweep_folder_lock(tmp_path, holder):
    p = holder("sweep", tmp_path)
    from neuropcm.sweep.runner import _lock_folder

    with pytest.raises(LockHeld, match=rf"sweep folder {tmp_path} is being written by another "
                                       rf"NeuroPCM sweep \(pid {p.pid}\); wait"):
        _lock_folder(tmp_path)


def test_output_lock_joins_in_its_thread_and_refuses_other_threads(tmp_path):
    out = tmp_path / "o.h5"
    (tmp_path / ".o.h5.0123.tmp").write_bytes(b"left by a killed run")
    outer = OutputLock(out)
    assert not list(tmp_path.glob("*.tmp"))
    inner = OutputLock(out)  # the same run one level down (mnist-clustering's engine)
    inner.close()
    errors = []
    t = threading.Thread(target=lambda: errors.append(pytest.raises(LockHeld, OutputLock, out)))
    t.start()
    t.join()
    assert errors and str(out) in str(errors[0].value)
    outer.close()
    with OutputLock(out):  # released by the outer holder only
        pass


# ----------------------------------------------------------------- every workload
MLP = ["run", "mlp-train", "--plot", "none", "--quiet", "--set", "hidden=10",
       "--set", "train=200", "--set", "test=100", "--set", "epochs=1"]


def test_two_mlp_train_runs_on_one_out(tmp_path, holder, capsys):
    """The second run, started while the first holds the output, is refused in one line
    with status 2 and touches neither the file nor the first run's checkpoint."""
    from neuropcm.io import atomic_h5

    out = tmp_path / "m.h5"
    with atomic_h5(out, kind="mlp_train") as f:  # an earlier result, replaced by a rerun
        f.attrs["note"] = "earlier"
    ckpt = tmp_path / "m.h5.ckpt.h5"
    ckpt.write_bytes(b"the first run's checkpoint")
    before = {q: (q.read_bytes(), q.stat().st_mtime_ns) for q in (out, ckpt)}
    first = holder("output", out)
    capsys.readouterr()
    assert main([*MLP, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"neuropcm: error: {out} is being written by another NeuroPCM run "
                   f"(pid {first.pid}); wait for it to end or choose another --out")
    assert {q: (q.read_bytes(), q.stat().st_mtime_ns) for q in before} == before
    assert not list(tmp_path.glob("*.tmp"))
    # once the first run is gone (even by kill -9), the same command runs
    _kill9(first)
    ckpt.unlink()
    assert main([*MLP, "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert sorted(q.name for q in tmp_path.iterdir()) == ["m.h5"]  # no lock file left
