"""The chunked standalone runner's error paths: the device is restored on every exit, a
chunk that does not run to its end is never returned, the simulator dies with its parent,
and every run cleans up its files in the shared build folder."""

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import brian2 as b
import numpy as np
import pytest
from brian2.devices.device import RuntimeDevice

from mnist_support import DETERMINISTIC, REPO, alive, children, cmdline, wait_gone
from neuropcm.errors import RunInterrupted
from neuropcm.snn.builds import BuildFolder, prune_builds
from neuropcm.snn.runner import LAUNCHER, Built, ChunkedRunner


# ------------------------------------------------------------------ device restored
def _tiny_builder(values):
    stim = b.TimedArray(values, dt=1 * b.ms, name="stimulus")
    g = b.NeuronGroup(values.shape[1], "v = stimulus(t, i) : 1", threshold="v > 0.5", name="g",
                      namespace={"stimulus": stim})
    mon = b.SpikeMonitor(g, name="spikes")
    ctl = b.NeuronGroup(1, "rng_seed : integer (shared)", name="control")
    return Built(b.Network(g, mon, ctl), stim, {"g": g}, mon, ctl)


def _failing_builder(values):
    raise ValueError("a broken network definition")


def _check_restored(build_dir):
    assert isinstance(b.get_device(), RuntimeDevice)
    assert b.prefs.core.stop_on_keyboard_interrupt is True
    assert not list(build_dir.glob("run-*"))


@pytest.mark.brian2
def test_failed_builder_restores_the_runtime_device(tmp_path):
    with pytest.raises(ValueError, match="broken"):
        ChunkedRunner(_failing_builder, 2, 3, 2 * b.ms, build_dir=tmp_path / "bd")
    _check_restored(tmp_path / "bd")


@pytest.mark.brian2
def test_failed_compilation_restores_the_runtime_device(tmp_path, monkeypatch):
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    def failing_build(self, *a, **kw):
        raise RuntimeError("Project compilation failed (simulated)")

    monkeypatch.setattr(CPPStandaloneDevice, "build", failing_build)
    with pytest.raises(RuntimeError, match="compilation failed"):
        ChunkedRunner(_tiny_builder, 2, 3, 2 * b.ms, build_dir=tmp_path / "bd")
    _check_restored(tmp_path / "bd")
    # and the runtime target works as usual afterwards
    g = b.NeuronGroup(2, "dv/dt = -v/ms : 1")
    g.v = 1
    b.run(1 * b.ms)
    assert np.all(np.asarray(g.v) < 1)


# ------------------------------------------------------------------ incomplete chunks
@pytest.fixture(scope="module")
def det_runner():
    """A compiled runner of the deterministic test network (build reused across runs)."""
    from neuropcm.snn.clustering import initial_synapse_state, make_builder, n_inputs
    from neuropcm.workloads.spiking._mnist_plan import default_build_dir
    from neuropcm.snn.config import load_network

    cfg = load_network(DETERMINISTIC)
    chunk = cfg.simulation.chunk
    runner = ChunkedRunner(make_builder(cfg), chunk, n_inputs(cfg),
                           chunk * cfg.input.example_duration * b.second,
                           build_dir=default_build_dir(cfg, chunk, 0),
                           dt=cfg.simulation.quantity("dt"))
    stim = np.zeros((chunk, n_inputs(cfg)))
    stim[:, ::3] = 1.0
    yield runner, stim, initial_synapse_state(cfg, 0)
    runner.close()


FLAGS = {"syn.plastic": 1.0, "wta.homeostasis_on": 1.0}


@pytest.mark.brian2
def test_chunk_stopped_early_is_refused(det_runner, monkeypatch):
    """A simulator that ends a chunk early (as Brian2's binary does on its first SIGINT
    when compiled with stop_on_keyboard_interrupt) must not hand back a state."""
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    runner, stim, state = det_runner
    full, _, _ = runner.run_chunk(stim, state, 1, FLAGS)
    original = CPPStandaloneDevice.run

    def stops_early(self, *a, **kw):
        original(self, *a, **kw)
        with open(os.path.join(self.results_dir, "last_run_info.txt"), "w") as f:
            f.write("0.01 0.42\n")

    monkeypatch.setattr(CPPStandaloneDevice, "run", stops_early)
    with pytest.raises(RunInterrupted, match="stopped at 42.0 % of the chunk"):
        runner.run_chunk(stim, state, 1, FLAGS)
    monkeypatch.undo()
    again, _, _ = runner.run_chunk(stim, state, 1, FLAGS)
    for k in full:
        assert np.array_equal(full[k], again[k]), k


@pytest.mark.brian2
def test_ctrl_c_during_a_chunk_kills_the_simulator(det_runner):
    """SIGINT to this process while the binary runs: RunInterrupted, no state, the binary
    is gone, and the runner still works."""
    from neuropcm.snn.runner import _sigint_handler

    if _sigint_handler() is signal.SIG_IGN:
        # a background job (``cmd &``, nohup) starts with SIGINT ignored: the runner keeps
        # it ignored, as Ctrl-C cannot reach such a process anyway
        pytest.skip("SIGINT is ignored in this process (started as a background job)")
    runner, stim, state = det_runner
    seen = []

    def interrupt():
        deadline = time.time() + 60
        while time.time() < deadline and not seen:
            for c in children(os.getpid()):
                if "./main" in cmdline(c):
                    seen.append(c)
                    os.kill(os.getpid(), signal.SIGINT)
                    return
            time.sleep(0.0005)

    # the binary runs only ~0.1 s: try a few chunks until the signal lands during one
    sent = 0
    for _ in range(20):
        t = threading.Thread(target=interrupt)
        t.start()
        try:
            runner.run_chunk(stim, state, 1, FLAGS)
        except RunInterrupted as e:
            assert "not completed" in str(e)
            t.join()
            break
        t.join()
        sent += bool(seen)
        seen.clear()
    else:
        assert not sent, f"{sent} chunks were interrupted and still returned a state"
        pytest.skip("the signal never landed while the simulator ran")
    assert wait_gone(seen[0], 2.0)
    out, _, _ = runner.run_chunk(stim, state, 1, FLAGS)
    assert out["syn.Gp"].shape == state["syn.Gp"].shape


@pytest.mark.brian2
def test_sigint_ignored_by_the_parent_stays_ignored(det_runner):
    """A background job of a script starts with SIGINT ignored; Brian2's handler then fails
    calling ``SIG_IGN`` on the first SIGINT (a TypeError ended such a run). The runner keeps
    SIGINT ignored, so the run goes on."""
    code = textwrap.dedent(f"""
        import os, signal, threading
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        import brian2 as b, numpy as np
        from neuropcm.snn.clustering import initial_synapse_state, make_builder, n_inputs
        from neuropcm.workloads.spiking._mnist_plan import default_build_dir
        from neuropcm.snn.config import load_network
        from neuropcm.snn.runner import ChunkedRunner
        cfg = load_network({str(DETERMINISTIC)!r})
        c = cfg.simulation.chunk
        with ChunkedRunner(make_builder(cfg), c, n_inputs(cfg),
                           c * cfg.input.example_duration * b.second,
                           build_dir=default_build_dir(cfg, c, 0),
                           dt=cfg.simulation.quantity("dt")) as r:
            for k in range(3):
                threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGINT)).start()
                r.run_chunk(np.ones((c, n_inputs(cfg))), initial_synapse_state(cfg, 0), k,
                            {{"syn.plastic": 1.0, "wta.homeostasis_on": 1.0}})
        assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN  # Brian2's, restored
        print("ran 3 chunks")
        """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0 and "ran 3 chunks" in r.stdout, r.stderr[-3000:]


# ------------------------------------------------------------------ launcher
def test_simulator_dies_with_its_parent_even_on_kill_9(tmp_path):
    """The launcher makes the kernel kill the binary when the process that started it
    dies, even by SIGKILL (which the parent cannot catch)."""
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import os, subprocess, sys, time
        p = subprocess.Popen([sys.executable, "-S", "-E", {LAUNCHER!r}, str(os.getpid()),
                              {str(tmp_path / 'err.txt')!r}, "/bin/sleep", "60"])
        print(p.pid, flush=True)
        time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    deadline = time.time() + 10
    while "sleep" not in cmdline(child) and time.time() < deadline:
        time.sleep(0.01)
    assert "sleep" in cmdline(child)
    parent.kill()
    parent.wait()
    assert wait_gone(child, 5.0), "the simulator outlived its parent"


def test_launcher_refuses_when_its_parent_is_gone(tmp_path):
    r = subprocess.run([sys.executable, "-S", "-E", LAUNCHER, "1", str(tmp_path / "e"),
                        "/bin/true"])
    assert r.returncode == 75


# ------------------------------------------------------------------ build folders
def _hold(path, mode):
    """A child process holding a flock on ``path`` until killed."""
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import fcntl, os, sys, time
        fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, {mode})
        print("locked", flush=True)
        time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_build_folder_run_subfolders(tmp_path):
    bd = tmp_path / "mnist-x-0123456789abcdef"
    a = BuildFolder(bd)
    (a.run_dir / "results").mkdir()
    assert a.run_dir.parent == bd.resolve() and a.run_dir.name.startswith(f"run-{os.getpid()}-")
    # a run killed by kill -9 leaves its subfolder with nobody holding its lock ...
    dead = bd / "run-999999-dead"
    dead.mkdir()
    (dead / "lock").touch()
    (dead / "results.dat").write_bytes(b"x" * 1000)
    # ... a live run in another process holds its lock
    live = bd / "run-1-live"
    live.mkdir()
    holder = _hold(live / "lock", fcntl.LOCK_EX)
    try:
        b2 = BuildFolder(bd)
        names = sorted(p.name for p in bd.glob("run-*"))
        assert "run-999999-dead" not in names and "run-1-live" in names
        assert a.run_dir.name in names and b2.run_dir.name in names
        b2.close()
        a.close()
        assert sorted(p.name for p in bd.glob("run-*")) == ["run-1-live"]
    finally:
        holder.kill()
        holder.wait()


def test_prune_keeps_builds_in_use(tmp_path):
    keep = tmp_path / "mnist-net-00000000000000aa"
    unused = tmp_path / "mnist-net-00000000000000bb"
    used = tmp_path / "mnist-net-00000000000000cc"
    legacy = tmp_path / "mnist-0662852ee1043bf3"
    other = tmp_path / "mnist-othernet-00000000000000dd"
    for d in (keep, unused, used, legacy, other):
        d.mkdir()
        (d / "main").touch()
    holder = BuildFolder(used)
    try:
        removed = prune_builds(tmp_path, r"mnist-net-[0-9a-f]{16}|mnist-[0-9a-f]{16}", keep)
        assert sorted(p.name for p in removed) == [legacy.name, unused.name]
        assert keep.exists() and used.exists() and other.exists()
    finally:
        holder.close()


def test_a_pruned_folder_is_recreated_not_half_used(tmp_path):
    """A run that starts while its folder is being pruned ends up in a fresh folder."""
    bd = tmp_path / "mnist-net-00000000000000aa"
    bd.mkdir()
    pruner = _hold(bd / ".inuse", fcntl.LOCK_EX)
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("f", BuildFolder(bd)))
    t.start()
    time.sleep(0.3)
    assert "f" not in result  # waits for the pruner
    import shutil

    shutil.rmtree(bd)  # what the pruner does while it holds the lock
    pruner.kill()
    pruner.wait()
    t.join(10)
    f = result["f"]
    assert (bd / ".inuse").exists() and f.run_dir.exists()
    f.close()


def test_alive_helper():
    assert alive(os.getpid()) and not alive(2 ** 22 + 12345)
