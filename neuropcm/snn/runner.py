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
duration when carried over. The random seed of chunk ``k`` is derived from the run's seed
and ``k`` alone, so a run interrupted after any chunk and resumed from its state gives
exactly the result of the uninterrupted run.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import brian2 as b
import numpy as np
from brian2.core.variables import ArrayVariable

from ..errors import ParameterError


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


def state_variables(group) -> list[str]:
    """Names of the per-element, writable state variables of a Brian2 group."""
    names = []
    for name, var in group.variables.items():
        if (isinstance(var, ArrayVariable) and not var.read_only and not var.scalar
                and var.owner is not None and var.owner.name == group.name
                and not name.startswith("_") and name not in ("i", "j", "N", "delay")):
            names.append(name)
    return sorted(names)


def chunk_seed(seed: int, k: int) -> int:
    """The random seed of chunk ``k`` of a run seeded with ``seed`` (31-bit)."""
    h = hashlib.sha256(f"{seed}:{k}".encode()).digest()
    return int.from_bytes(h[:4], "little") & 0x7FFFFFFF


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
        Folder of the standalone project (reused when the generated code is unchanged).
    runtime_target : str
        Brian2 code generation target in runtime mode (``"cython"`` or ``"numpy"``).
    """

    def __init__(self, builder: Callable, rows: int, inputs: int, duration, mode="standalone",
                 build_dir=None, runtime_target="cython", dt=None, threads: int = 0):
        if mode not in ("standalone", "runtime"):
            raise ParameterError(f"mode = {mode!r} must be 'standalone' or 'runtime'")
        self.builder, self.rows, self.inputs = builder, int(rows), int(inputs)
        self.duration, self.mode, self.dt = duration, mode, dt
        self.runtime_target, self.threads = runtime_target, threads
        self.build_dir = Path(build_dir) if build_dir is not None else None
        self.compile_s = 0.0
        self._built: Built | None = None
        self._vars: dict[str, list[str]] | None = None
        if mode == "standalone":
            self._build_standalone()

    # ------------------------------------------------------------------ standalone
    def _build_standalone(self) -> None:
        import time

        if self.build_dir is None:
            raise ParameterError("standalone mode needs a build_dir")
        b.set_device("cpp_standalone", directory=str(self.build_dir), build_on_run=False)
        # a fresh project even if this process built another one before
        dev = b.get_device()
        dev.reinit()
        dev.activate(directory=str(self.build_dir), build_on_run=False)
        b.prefs.devices.cpp_standalone.openmp_threads = self.threads
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
        t0 = time.perf_counter()
        try:
            dev.build(directory=str(self.build_dir), run=False, with_output=False)
        except Exception:
            # a half-written project must not be reused
            shutil.rmtree(self.build_dir, ignore_errors=True)
            raise
        self.compile_s = time.perf_counter() - t0

    def close(self) -> None:
        """Give Brian2's default (runtime) device back."""
        if self.mode == "standalone":
            from brian2.devices.device import reset_device

            reset_device()

    # ------------------------------------------------------------------ one chunk
    def run_chunk(self, stimulus: np.ndarray, state: dict | None, seed: int,
                  flags: dict | None = None) -> tuple[dict, np.ndarray, np.ndarray]:
        """Run one chunk.

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
        """
        stimulus = np.ascontiguousarray(stimulus, dtype=np.float64)
        if stimulus.shape != (self.rows, self.inputs):
            raise ParameterError(f"stimulus of shape {stimulus.shape}, the network was built for "
                                 f"{(self.rows, self.inputs)}")
        carry = {k: v for k, v in (state or {}).items() if k.startswith("chunk.")}
        state = {k: v for k, v in (state or {}).items() if not k.startswith("chunk.")}
        flags = dict(flags or {})
        if self.mode == "standalone":
            built = self._built
            args = {built.stimulus: stimulus, built.control.rng_seed: int(seed)}
            for key, value in {**state, **flags}.items():
                gname, var = key.split(".", 1)
                group = built.state_groups[gname] if gname in built.state_groups else \
                    built.control
                view = getattr(group, var)
                args[view] = b.Quantity(np.asarray(value), dim=view.dim)
            b.get_device().run(directory=str(self.build_dir), with_output=False, run_args=args)
        else:
            b.prefs.codegen.target = self.runtime_target
            if self.dt is not None:
                b.defaultclock.dt = self.dt
            built = self.builder(stimulus)
            self._vars = {k: state_variables(g) for k, g in built.state_groups.items()}
            for key, value in {**state, **flags}.items():
                gname, var = key.split(".", 1)
                group = built.state_groups[gname] if gname in built.state_groups else \
                    built.control
                setattr(group, var + "_", value)
            b.seed(int(seed))
            built.net.run(self.duration)
        out = {}
        D = float(self.duration)
        for gname, names in self._vars.items():
            g = built.state_groups[gname]
            for name in names:
                var = g.variables[name]
                arr = np.array(getattr(g, name + "_")[:], copy=True)
                if var.dim is b.second.dim:
                    arr = arr - D
                out[f"{gname}.{name}"] = arr
        out.update(carry)
        return out, np.asarray(built.monitor.i[:]).copy(), np.asarray(built.monitor.t_[:]).copy()
