"""Build a Brian2 network once and run it in chunks with new inputs and carried-over state.

:class:`ChunkedRunner` takes a *builder* -- a function that creates the Brian2 objects for
a given input array -- and runs it chunk after chunk:

* ``mode="standalone"`` (default): the network is generated and compiled once with
  Brian2's ``cpp_standalone`` device; each chunk reruns the compiled binary with
  ``device.run(run_args=...)``, which sets the input ``TimedArray``, the whole carried-over
  state and a per-chunk random seed. No recompilation, no Python in the loop.
* ``mode="runtime"`` (debugging): the objects are rebuilt for every chunk in Brian2's
  runtime (numpy or Cython) target and the state is copied in.

Each chunk starts at t = 0, so state variables that hold absolute times (in seconds:
``lastspike``, times of last writes, last presynaptic spikes) are shifted by the chunk
duration when carried over. Each chunk gets its own random seed from the caller (see
:mod:`neuropcm.random`), so a run interrupted after any chunk and resumed from its state
gives exactly the result of the uninterrupted run.

A chunk either runs to its end or raises: Ctrl-C (``KeyboardInterrupt``) or a simulator
stopped early gives :class:`~neuropcm.errors.RunInterrupted`, a failed or inconsistent
simulator result :class:`~neuropcm.errors.SimulationError`; a state is returned only for a
complete chunk. The standalone binary runs through a launcher that makes the kernel kill it
when this process dies (even by ``kill -9``); its files live in this run's own subfolder of
the build folder (:class:`~neuropcm.snn.builds.BuildFolder`), removed by :meth:`close`.
"""

from __future__ import annotations

import gc
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import brian2 as b
import numpy as np
from brian2.core.variables import ArrayVariable

from ..errors import ParameterError, RunInterrupted, SimulationError
from ..io.kinds import units_for_dimension
from .builds import BuildFolder

#: The launcher script (see its docstring).
LAUNCHER = str(Path(__file__).with_name("_launch.py"))


@dataclass
class Built:
    """What a builder returns.

    Attributes
    ----------
    net : brian2.Network
        All objects to simulate.
    stimulus : brian2.TimedArray
        The input array (replaced for every chunk).
    state_groups : dict
        ``{name: group}`` whose state is carried from chunk to chunk.
    monitor : brian2.SpikeMonitor
        Output spikes of a chunk.
    control : brian2.NeuronGroup
        A group with the shared variables ``rng_seed`` and any flags.
    """

    net: b.Network
    stimulus: b.TimedArray
    state_groups: dict
    monitor: b.SpikeMonitor
    control: b.NeuronGroup


#: Brian2's network loop reads the process CPU clock at every time step (a system call,
#: ~10 % of a 50-neuron run); it is only needed once, after the loop (the run time it
#: reports). Patched in the generated source; left alone if Brian2's template differs.
_CLOCK_PER_STEP = ("        current = std::clock();\n"
                   "        elapsed_realtime = (double)(current - start)/(1 * CLOCKS_PER_SEC);\n")
_LOOP_END = "    Network::_globally_running = false;\n"


def patch_network_source(path: Path) -> bool:
    """Move the CPU-clock read of Brian2's ``network.cpp`` (no OpenMP, no time limit) out of
    the per-step loop; True if patched."""
    text = path.read_text()
    if text.count(_CLOCK_PER_STEP) != 1 or text.count(_LOOP_END) != 1 or \
            "maximum_run_time" in text or "elapsed_realtime>" in text:
        return False
    text = text.replace(_CLOCK_PER_STEP, "").replace(
        _LOOP_END, _LOOP_END + "    elapsed_realtime = (double)(std::clock() - start)/"
                               "(1 * CLOCKS_PER_SEC);\n")
    # Brian2 rewrites the unpatched file at every build; the same patched text gets the
    # time of its first writing back, so make does not recompile it (the build is cached)
    copy = path.with_name(path.name + ".patched")
    same = copy.exists() and copy.read_text() == text
    path.write_text(text)
    if same:
        st = copy.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    else:
        copy.write_text(text)
        st = path.stat()
        os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns))
    return True


def make_args(jobs: int | None = None) -> list[str]:
    """Arguments of ``make`` for a standalone build: at most ``jobs`` compilers at once
    (default ``os.cpu_count()``; Brian2's own default ``-j`` has no limit)."""
    n = jobs if jobs is not None else (os.cpu_count() or 1)
    return [f"-j{max(int(n), 1)}"]


def state_variables(group) -> list[str]:
    """Names of the per-element, writable state variables of a Brian2 group."""
    names = []
    for name, var in group.variables.items():
        if (isinstance(var, ArrayVariable) and not var.read_only and not var.scalar
                and var.owner is not None and var.owner.name == group.name
                and not name.startswith("_") and name not in ("i", "j", "N", "delay")):
            names.append(name)
    return sorted(names)


def _sigint_handler():
    """Python's own SIGINT handler (``KeyboardInterrupt``) -- or ``SIG_IGN`` if SIGINT was
    ignored when Brian2 replaced the handler (a background job of a script): Brian2's
    handler would swallow the first Ctrl-C, or fail calling ``SIG_IGN``."""
    before = getattr(getattr(b, "_int_handler", None), "previous_handler",
                     signal.default_int_handler)
    return signal.SIG_IGN if before is signal.SIG_IGN else signal.default_int_handler


def _interrupted(what: str) -> RunInterrupted:
    return RunInterrupted(f"{what}; the chunk was not completed and nothing of it was kept")


class ChunkedRunner:
    """Run a network built by ``builder(stimulus_values)`` in chunks.

    Parameters
    ----------
    builder : callable
        ``builder(stimulus_values) -> Built``; ``stimulus_values`` has shape
        ``(rows, inputs)`` and is what the ``TimedArray`` holds.
    rows, inputs : int
        Shape of the stimulus of one chunk (fixed: it is compiled in).
    duration : brian2 time
        Simulated time of one chunk.
    mode : "standalone" or "runtime"
    build_dir : path
        Folder of the standalone project (reused when the generated code is unchanged;
        shared safely with concurrent runs).
    runtime_target : str
        Brian2 code generation target in runtime mode (``"cython"`` or ``"numpy"``).
    threads : int
        OpenMP threads of the standalone simulator (0: none).
    step_clock : bool
        Keep Brian2's read of the CPU clock at every time step (a system call per step;
        default False: read once after the loop, see :func:`patch_network_source`).

    Notes
    -----
    Use it as a context manager, or call :meth:`close`: it gives back Brian2's runtime
    device and removes this run's files. While it exists, Brian2's
    ``core.stop_on_keyboard_interrupt`` is off (and compiled off into the binary) and SIGINT
    has Python's own handler, so Ctrl-C stops a chunk with an exception instead of ending it
    early as if it were complete.
    """

    def __init__(self, builder: Callable, rows: int, inputs: int, duration, mode="standalone",
                 build_dir=None, runtime_target="cython", dt=None, threads: int = 0,
                 step_clock: bool = False):
        if mode not in ("standalone", "runtime"):
            raise ParameterError(f"mode = {mode!r} must be 'standalone' or 'runtime'")
        self.builder, self.rows, self.inputs = builder, int(rows), int(inputs)
        self.duration, self.mode, self.dt = duration, mode, dt
        self.runtime_target, self.threads = runtime_target, threads
        self.step_clock = step_clock
        self.build_dir = Path(build_dir).resolve() if build_dir is not None else None
        self.compile_s = 0.0
        self._built: Built | None = None
        self._vars: dict[str, list[str]] | None = None
        #: unit of each collected state entry ("group.var"), for checkpoints
        self.state_units: dict[str, str] = {}
        self._folder: BuildFolder | None = None
        self._device_set = False
        self._make_pref = None
        self._stop_pref = b.prefs.core.stop_on_keyboard_interrupt
        self._target_pref = b.prefs.codegen.target
        b.prefs.core.stop_on_keyboard_interrupt = False
        self._sigint = None
        if threading.current_thread() is threading.main_thread():
            self._sigint = signal.signal(signal.SIGINT, _sigint_handler())
        if mode == "standalone":
            try:
                self._build_standalone()
            except BaseException:
                self.close()
                raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ standalone
    def _build_standalone(self) -> None:
        if self.build_dir is None:
            raise ParameterError("standalone mode needs a build_dir")
        self._folder = BuildFolder(self.build_dir)
        b.set_device("cpp_standalone", directory=str(self.build_dir), build_on_run=False)
        self._device_set = True
        # a fresh project even if this process built another one before
        dev = b.get_device()
        dev.reinit()
        dev.activate(directory=str(self.build_dir), build_on_run=False)
        # objects of earlier networks still in memory would make Brian2 number the new
        # code objects differently (``..._codeobject_1``): other file names, a full rebuild
        gc.collect()
        prefs = b.prefs.devices.cpp_standalone
        prefs.openmp_threads = self.threads
        # Brian2's default "make -j" starts one compiler per file (60+ at once): at most one
        # per core; the preference is given back by close()
        if self._make_pref is None:
            self._make_pref = list(prefs.extra_make_args_unix)
        prefs.extra_make_args_unix = make_args()
        if self.dt is not None:
            b.defaultclock.dt = self.dt
        built = self.builder(np.zeros((self.rows, self.inputs)))
        self._built = built
        self._vars = {k: state_variables(g) for k, g in built.state_groups.items()}
        dev = b.get_device()
        dev.apply_run_args()
        seed_arr = dev.get_array_name(built.control.variables["rng_seed"])
        n_gen = max(self.threads, 1)
        dev.insert_code("main", f"for (int _i=0; _i<{n_gen}; _i++) "
                                f"brian::_random_generators[_i].seed((unsigned long)"
                                f"brian::{seed_arr}[0] * 1000003UL + _i);")
        built.net.run(self.duration)
        with self._folder.building():
            t0 = time.perf_counter()
            dev.build(directory=str(self.build_dir), compile=False, run=False,
                      with_output=False)
            if not self.step_clock:
                patch_network_source(self.build_dir / "network.cpp")
            from brian2.codegen.cpp_prefs import get_compiler_and_args

            dev.compile_source(str(self.build_dir), get_compiler_and_args()[0], False, False)
            self.compile_s = time.perf_counter() - t0

    def close(self) -> None:
        """Give Brian2's default (runtime) device and preferences back; remove this run's
        files. Safe to call more than once."""
        # let the Brian2 objects go even if a traceback still holds this runner: alive,
        # they would make the next network's code objects numbered differently
        self._built = None
        if self._device_set:
            from brian2.devices.device import reset_device

            b.get_device().reinit()  # the device holds every object of the network
            reset_device()
            self._device_set = False
        if self._folder is not None:
            self._folder.close()
            self._folder = None
        if self._make_pref is not None:
            b.prefs.devices.cpp_standalone.extra_make_args_unix = self._make_pref
            self._make_pref = None
        if self._stop_pref is not None:
            b.prefs.core.stop_on_keyboard_interrupt = self._stop_pref
            b.prefs.codegen.target = self._target_pref
            self._stop_pref = None
        if self._sigint is not None:
            signal.signal(signal.SIGINT, self._sigint)
            self._sigint = None

    # ------------------------------------------------------------------ one chunk
    def run_chunk(self, stimulus: np.ndarray, state: dict | None, seed: int,
                  flags: dict | None = None) -> tuple[dict, np.ndarray, np.ndarray]:
        """Run one chunk to its end.

        Parameters
        ----------
        stimulus : ndarray (rows, inputs)
            Values of the input ``TimedArray``.
        state : dict or None
            ``{"group.var": array}`` to start from (missing variables keep their initial
            values); time variables as at the end of the previous chunk.
        seed : int
            Random seed of this chunk.
        flags : dict
            Values of shared variables, ``{"group.var": value}``.

        Returns
        -------
        state : dict
            The state at the end of the chunk, times already shifted for the next chunk.
        spike_i, spike_t : ndarray
            Output spikes (neuron index, time in s from the chunk start).

        Raises
        ------
        RunInterrupted
            Ctrl-C, or the simulator stopped before the end of the chunk.
        SimulationError
            The simulator failed or its results are incomplete (e.g. a full disk).
        """
        stimulus = np.ascontiguousarray(stimulus, dtype=np.float64)
        if stimulus.shape != (self.rows, self.inputs):
            raise ParameterError(f"stimulus of shape {stimulus.shape}, the network was built for "
                                 f"{(self.rows, self.inputs)}")
        carry = {k: v for k, v in (state or {}).items() if k.startswith("chunk.")}
        state = {k: v for k, v in (state or {}).items() if not k.startswith("chunk.")}
        flags = dict(flags or {})
        try:
            if self.mode == "standalone":
                built = self._built
                self._run_standalone(stimulus, state, flags, int(seed))
            else:
                built = self._run_runtime(stimulus, state, flags, int(seed))
            out, spike_i, spike_t = self._collect(built)
        except RunInterrupted:
            raise
        except KeyboardInterrupt:
            raise _interrupted("interrupted") from None
        _check_sizes(out, state, spike_i, spike_t)
        out.update(carry)
        return out, spike_i, spike_t

    def _collect(self, built: Built):
        """The state after a chunk (times shifted by its duration) and its output spikes."""
        D = float(self.duration)
        try:
            out = {}
            for gname, names in self._vars.items():
                g = built.state_groups[gname]
                for name in names:
                    arr = np.array(getattr(g, name + "_")[:], copy=True)
                    if g.variables[name].dim is b.second.dim:
                        arr = arr - D
                    out[f"{gname}.{name}"] = arr
                    self.state_units[f"{gname}.{name}"] = units_for_dimension(
                        g.variables[name].dim)
            spike_i = np.asarray(built.monitor.i[:]).copy()
            spike_t = np.asarray(built.monitor.t_[:]).copy()
        except OSError as e:
            raise SimulationError(f"the simulator's results could not be read ({e}); is the "
                                  f"disk of {self.build_dir} full?") from None
        return out, spike_i, spike_t

    def _run_standalone(self, stimulus, state, flags, seed) -> None:
        built, run_dir = self._built, self._folder.run_dir
        results, args_dir = run_dir / "results", run_dir / "args"
        need = stimulus.nbytes + 2 * sum(np.asarray(v).nbytes for v in state.values()) + 2 ** 20
        free = shutil.disk_usage(run_dir).free
        if free < need:
            raise SimulationError(f"{run_dir}: {free / 1e6:.1f} MB free, the simulator's files "
                                  f"need {need / 1e6:.1f} MB; free some disk space")
        try:
            shutil.rmtree(results, ignore_errors=True)
            results.mkdir()
            args_dir.mkdir(exist_ok=True)
            args = self._run_args(args_dir, stimulus, state, flags, seed)
        except OSError as e:
            shutil.rmtree(args_dir, ignore_errors=True)
            raise SimulationError(f"the simulator's input files could not be written in "
                                  f"{run_dir} ({e.strerror}); free some disk space") from None
        stderr = run_dir / "stderr.txt"
        prefs = b.prefs.devices.cpp_standalone
        run_cmd = prefs.run_cmd_unix
        prefs.run_cmd_unix = [sys.executable, "-S", "-E", LAUNCHER, str(os.getpid()),
                              str(stderr), "./main"]
        try:
            with self._folder.running():
                b.get_device().run(directory=str(self.build_dir),
                                   results_directory=os.path.relpath(results, self.build_dir),
                                   with_output=False, run_args=args)
        except RuntimeError as e:
            if "Project run failed" not in str(e):
                raise
            err = _tail(stderr)
            if not err:  # killed by a signal (SIGINT/SIGTERM sent to it alone, OOM killer)
                raise _interrupted("the simulator process was stopped before the end of the "
                                   "chunk") from None
            raise SimulationError(f"the simulator failed: {err}; the chunk was not "
                                  f"completed") from None
        finally:
            prefs.run_cmd_unix = run_cmd
            b.Network._globally_running = False
            shutil.rmtree(args_dir, ignore_errors=True)
        err = _tail(stderr)
        if err:
            raise SimulationError(f"the simulator reported: {err}")
        info = results / "last_run_info.txt"
        try:
            fraction = float(info.read_text().split()[1])
        except (OSError, IndexError, ValueError):
            raise SimulationError(f"the simulator left no complete run record in {results}; is "
                                  f"the disk full?") from None
        if fraction < 1.0:
            raise _interrupted(f"the simulator stopped at {100 * fraction:.1f} % of the chunk")

    def _run_args(self, folder: Path, stimulus, state, flags, seed) -> list[str]:
        """The binary's command-line arguments ``group.var=value``; arrays go to raw files
        in ``folder`` (this run's own: never shared with another run)."""
        built = self._built
        args = [_file_arg(folder, f"{built.stimulus.name}.values", stimulus,
                          built.stimulus.values.dtype),
                f"{built.control.name}.rng_seed={seed}"]
        for key, value in {**state, **flags}.items():
            gname, var = key.split(".", 1)
            group = built.state_groups.get(gname, built.control)
            v = group.variables[var]
            if v.scalar:
                x = float(np.asarray(value))
                if not np.isfinite(x):
                    raise ParameterError(f"{key} = {x!r} must be finite")
                args.append(f"{group.name}.{var}={x!r}")
            else:
                args.append(_file_arg(folder, f"{group.name}.{var}", value, v.dtype))
        return args

    def _run_runtime(self, stimulus, state, flags, seed) -> Built:
        b.prefs.codegen.target = self.runtime_target
        if self.dt is not None:
            b.defaultclock.dt = self.dt
        built = self.builder(stimulus)
        self._vars = {k: state_variables(g) for k, g in built.state_groups.items()}
        for key, value in {**state, **flags}.items():
            gname, var = key.split(".", 1)
            group = built.state_groups[gname] if gname in built.state_groups else built.control
            setattr(group, var + "_", value)
        b.seed(seed)
        try:
            built.net.run(self.duration)
        finally:
            b.Network._globally_running = False
        dt = float(self.dt if self.dt is not None else b.defaultclock.dt)
        if abs(float(built.net.t_) - float(self.duration)) > dt / 2:
            raise _interrupted(f"the simulation stopped at t = {float(built.net.t_):g} s of "
                               f"{float(self.duration):g} s")
        return built


def _file_arg(folder: Path, name: str, value, dtype) -> str:
    """Write an array run argument as raw values and give its command-line form."""
    path = folder / f"{name}.dat"
    data = np.ascontiguousarray(value, dtype=dtype)
    with open(path, "wb") as fh:
        fh.write(data.tobytes())
    return f"{name}={path}"


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    return " | ".join(text.splitlines()[-lines:])


def _check_sizes(out: dict, given: dict, spike_i, spike_t) -> None:
    """Each group's variables have one length, equal to that of the state given in; the
    spike monitor's arrays have one length: else the results were truncated."""
    lengths: dict[str, int] = {}
    for key, arr in {**given, **out}.items():
        n = np.asarray(arr).size
        if np.asarray(arr).ndim == 0:
            continue
        g = key.split(".", 1)[0]
        if lengths.setdefault(g, n) != n:
            raise SimulationError(f"the simulator returned {key} with {n} values, expected "
                                  f"{lengths[g]}: its results are incomplete (a full disk?)")
    if spike_i.shape != spike_t.shape:
        raise SimulationError("the simulator returned spike arrays of different lengths: its "
                              "results are incomplete (a full disk?)")
