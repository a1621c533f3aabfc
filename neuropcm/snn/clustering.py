"""Unsupervised MNIST clustering with PCM synapses: the flagship run.

Poisson rate-coded 28x28 inputs -> differential 2-PCM synapses with two-window STDP -> a WTA
layer with homeostasis (Sidler et al. 2017; seed tutorial Fig. 16). After learning, each
neuron is labelled with the class it responded to most on training examples (frozen
network), and test examples are classified by the mean response of each class's neurons.

Training runs in chunks of examples (:class:`~neuropcm.snn.runner.ChunkedRunner`, compiled
once with cpp_standalone), checkpointing the full state after every complete chunk;
``resume=True`` continues an interrupted run with the same settings and ends with exactly
the uninterrupted result. Every random stream comes from the run's seed by
:mod:`neuropcm.random` (``"subset"``, ``("train", "order", epoch)``, ``("train", "chunk",
k)``, ``(phase, "attempt", a, "chunk", c)``, ``("init", ...)``).
"""

from __future__ import annotations

import gc
import json
import math
import time
from pathlib import Path

import brian2 as b
import numpy as np
from tqdm import tqdm

from ..analysis.metrics import accuracy_report, assign_labels, predict
from ..devices.array import PCMArray
from ..errors import (NeuroPCMError, ParameterError, ResultsFileError, RunInterrupted,
                      SimulationError)
from ..io import atomic_h5, write_array, write_config, write_dataset
from ..io.paths import check_output_path
from ..random import check_seed, int_seed, rng
from .builds import prune_builds
from .checkpoint import (Checkpoint, OutputLock, check_resume, checkpoint_chunks, checkpoint_path,
                         load_checkpoint, save_checkpoint)
from .clustering_plan import (RunPlan, check_counts, default_build_dir, plan,  # noqa: F401
                              run_settings)
from .config import NetworkConfig
from .neurons import WTALayer
from .runner import Built, ChunkedRunner
from .synapses import (PCMSynapses, ThresholdRefresh, TwoWindowSTDP,
                       devices_to_synapse_state, synapse_state_to_devices)

N_PIXELS = 784
#: Evaluation: re-presentations, with doubled input rates, of examples evoking no spike.
RETRIES = 2


def n_inputs(cfg: NetworkConfig) -> int:
    return N_PIXELS * (2 if cfg.input.complementary else 1)


def encode(images: np.ndarray, cfg: NetworkConfig) -> np.ndarray:
    """Relative input rates in [0, 1] (pixel/255), shape (examples, inputs); with
    complementary inputs the inverted image follows the image."""
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1) / 255.0
    if x.shape[1] != N_PIXELS:
        raise ParameterError(f"images must be 28x28, got {images.shape[1:]}")
    return np.hstack([x, 1.0 - x]) if cfg.input.complementary else x


def make_builder(cfg: NetworkConfig):
    """The builder of the clustering network for :class:`ChunkedRunner`."""
    inp_cfg, nc, sc, st = cfg.input, cfg.neurons, cfg.synapses, cfg.stdp

    def builder(values: np.ndarray) -> Built:
        stim = b.TimedArray(values, dt=inp_cfg.example_duration, name="stimulus")
        # Poisson inputs: a Bernoulli draw per step with p = rate*dt (as brian2.PoissonGroup),
        # the rate set once per example and random numbers drawn only for non-zero rates.
        # The presentation window is counted in whole time steps: a float modulo of t would
        # put an example's first step in or out of it depending on the target's rounding.
        steps_ex = round(float(inp_cfg.example_duration / cfg.simulation.dt))
        steps_pres = round(float(inp_cfg.presentation / cfg.simulation.dt))
        inp = b.NeuronGroup(
            values.shape[1], "rate : Hz\ngain : 1 (shared)", name="inputs",
            threshold="rate > 0*Hz and t_in_timesteps % steps_ex < steps_pres "
                      "and rand() < rate * dt",
            namespace={"stimulus": stim, "max_rate": inp_cfg.max_rate, "steps_ex": steps_ex,
                       "steps_pres": steps_pres})
        inp.gain = 1.0
        inp.run_regularly("rate = stimulus(t, i) * max_rate * gain", dt=inp_cfg.example_duration,
                          when="start", name="inputs_example_start")
        inhibition = nc.inhibition  # "reset", "none" or a voltage (parsed by load_network)
        wta = WTALayer(nc.n, tau_m=nc.tau_m, v_rest=nc.v_rest, v_reset=nc.v_reset,
                       v_thresh=nc.v_thresh, refractory=nc.refractory,
                       inhibition=None if inhibition == "none" else inhibition,
                       t_inhibit=nc.t_inhibit,
                       homeostasis=None if nc.homeostasis == "none" else nc.homeostasis,
                       rate_target=nc.rate_target, tau_homeo=nc.tau_homeo,
                       eta_homeo=nc.eta_homeo, name="wta")
        # each example starts from rest (instead of a long free decay)
        wta.run_regularly("v = v_rest", dt=inp_cfg.example_duration, when="start",
                          name="wta_example_start")
        refresh = None if sc.refresh in (None, "none") else sc.refresh
        if refresh == "threshold" and float(sc.refresh_period) > 0:
            refresh = ThresholdRefresh(period=sc.refresh_period)
        syn = PCMSynapses(inp, wta, preset=sc.preset,
                          plasticity=TwoWindowSTDP(st.dT_pot, st.dT_dep, st.p_pot, st.p_dep),
                          refresh=refresh,
                          w_scale=sc.w_scale, read_noise=sc.read_noise, drift=sc.drift,
                          drift_update=sc.drift_update,
                          noise_to="read_var" if sc.aggregate_noise else None, name="syn",
                          **sc.device_overrides)
        syn.connect()
        mon = b.SpikeMonitor(wta, name="spikes")
        ctl = b.NeuronGroup(1, "rng_seed : integer (shared)", name="control")
        # WTALayer's own synapses are listed too: the cpp_standalone device only declares
        # Synapses that are direct members of the Network
        net = b.Network(inp, wta, *wta.auxiliary_objects, syn, mon, ctl)
        return Built(net, stim, {"syn": syn, "wta": wta, "inputs": inp}, mon, ctl)

    return builder


def check_network(cfg: NetworkConfig) -> None:
    """Build the network's objects once in Brian2's runtime device, without running them:
    every check of :class:`WTALayer`, :class:`PCMSynapses` and the plasticity rule runs in
    a second instead of after a compilation.

    Raises
    ------
    ParameterError, UnitError, ModelError
        The message names the network and the problem.
    """
    from brian2.devices.device import RuntimeDevice

    if not isinstance(b.get_device(), RuntimeDevice):
        return
    from brian2.utils.logger import catch_logs

    target, error = b.prefs.codegen.target, None
    b.prefs.codegen.target = "numpy"
    try:
        with catch_logs():  # objects of a failed build warn "never included in a network"
            try:
                built = make_builder(cfg)(np.zeros((1, n_inputs(cfg))))
                built.net.run(0 * b.ms)  # also generates the code of every object (numpy)
            except NeuroPCMError as e:
                error = (type(e), str(e))
            built = None
            gc.collect()
    finally:
        b.prefs.codegen.target = target
    if error is not None:
        raise error[0](f"network {cfg.name!r}: {error[1]}")


def initial_synapse_state(cfg: NetworkConfig, seed: int) -> dict:
    """Initial G+/G- devices: fresh :class:`PCMArray` objects (RESET state), then a random
    number of SET pulses (``initial_pulses``), as ``{"syn.<var>": array}``."""
    n = n_inputs(cfg) * cfg.neurons.n
    params = cfg.synapses.device_params()
    arrays = []
    for side, n_max in zip(("plus", "minus"), cfg.synapses.initial_pulses):
        arr = PCMArray(n, params, seed=int_seed(seed, "init", side))
        arr.set_pulses(rng(seed, "init", side, "pulses").integers(0, int(n_max) + 1, n))
        arrays.append(arr)
    return {f"syn.{k}": v for k, v in devices_to_synapse_state(*arrays).items()}


def spike_counts(spike_i, spike_t, n_examples, n_neurons, example_duration) -> np.ndarray:
    """Spike counts per (example, neuron) from a chunk's output spikes."""
    ex = np.minimum((spike_t / float(example_duration) + 1e-9).astype(int), n_examples - 1)
    counts = np.zeros((n_examples, n_neurons), dtype=np.int32)
    np.add.at(counts, (ex, spike_i), 1)
    return counts


def _stopped(e: BaseException, ckpt: Path, rp: RunPlan, phase: str) -> RunInterrupted:
    """The interruption, saying what the checkpoint holds."""
    done = checkpoint_chunks(ckpt)
    what = f"{e} -- " if str(e) else ""
    if done:
        msg = (f"{what}stopped during {phase}; the checkpoint {ckpt} holds {done} of "
               f"{rp.total_chunks} complete training chunks and nothing else: resume to "
               f"continue from there")
    else:
        msg = f"{what}stopped during {phase}, before the first checkpoint; nothing to resume"
    err = RunInterrupted(msg)
    err.checkpoint = ckpt if done else None
    return err


def run_clustering(cfg: NetworkConfig, data, *, n_train=60_000, n_test=10_000, epochs=1,
                   seed=0, out="mnist.h5", resume=False, mode="standalone", build_dir=None,
                   n_assign=None, progress=True, stop_after_chunks=None, threads=0,
                   runtime_target="cython") -> dict:
    """Train, label and test the clustering network; write one HDF5 results file.

    Parameters
    ----------
    cfg : NetworkConfig
        The network definition.
    data : tuple
        ``(train_images, train_labels, test_images, test_labels)`` (uint8 images).
    n_train, n_test, epochs, seed : int
        Examples per epoch (the first ``n_train`` of a seeded shuffle of the training set,
        reshuffled every epoch), test examples, epochs, seed; checked, never clamped.
    out : path
        Results file; the checkpoint is ``<out>.ckpt.h5`` next to it.
    resume : bool
        Continue from the checkpoint of an interrupted run with the same settings.
    mode : "standalone" or "runtime"
        cpp_standalone (compiled once) or Brian2 runtime (for debugging).
    build_dir : path, optional
        Folder of the compiled network (default :func:`default_build_dir`; other builds of
        the same network name are removed when unused).
    runtime_target : str
        Brian2 code-generation target of runtime mode (``"cython"`` or ``"numpy"``).
    n_assign : int
        Training examples used for the label assignment (default ``min(n_train, 10000)``).
    stop_after_chunks : int, optional
        Stop after this many training chunks in this call, as Ctrl-C would -- for testing.

    Returns
    -------
    dict
        Headline results (also in ``/results`` of the file).

    Raises
    ------
    RunInterrupted
        Ctrl-C or a chunk that did not run to its end; the checkpoint holds every complete
        chunk and nothing else.
    ParameterError
        Invalid counts, seed, output path, or a resume with other settings (checked before
        anything is compiled).
    """
    train_x, train_y, test_x, test_y = data
    seed = check_seed(seed)
    n_train, n_test, n_assign, epochs = check_counts(n_train, n_test, n_assign, epochs,
                                                     len(train_x), len(test_x))
    if mode not in ("standalone", "runtime"):
        raise ParameterError(f"mode = {mode!r} must be 'standalone' or 'runtime'")
    rp = plan(n_train, epochs, cfg.simulation.chunk)
    out = check_output_path(out, what="out", kind="mnist_clustering")
    ckpt = checkpoint_path(out)
    settings = run_settings(cfg, data, n_train=n_train, n_test=n_test, n_assign=n_assign,
                            epochs=epochs, seed=seed, mode=mode, chunk=rp.chunk, threads=threads,
                            runtime_target=runtime_target)
    lock = OutputLock(out)
    try:
        if resume:
            cp = load_checkpoint(ckpt)
            check_resume(cp.settings, settings, ckpt)
            if not 1 <= cp.chunks_done <= rp.total_chunks:
                raise ParameterError(f"{ckpt}: chunks_done = {cp.chunks_done} is not in 1.."
                                     f"{rp.total_chunks}; the file is damaged")
        else:
            cp = Checkpoint(settings, 0, 0.0, initial_synapse_state(cfg, seed))
        check_network(cfg)
        try:
            results = _run(cfg, data, settings, cp, rp, seed, out, ckpt, mode, build_dir, threads,
                           runtime_target, progress, stop_after_chunks)
        except (SimulationError, ResultsFileError) as e:
            e.checkpoint = ckpt if checkpoint_chunks(ckpt) else None
            raise
        if ckpt.exists():
            ckpt.unlink()
    finally:
        lock.close()
    return results


def _run(cfg, data, settings, cp, rp, seed, out, ckpt, mode, build_dir, threads,
         runtime_target, progress, stop_after_chunks) -> dict:
    """Training from ``cp``, labelling, testing and the results file."""
    train_x, train_y, test_x, test_y = data
    n_train, n_test, n_assign = settings["n_train"], settings["n_test"], settings["n_assign"]
    if mode == "standalone" and build_dir is None:
        build_dir = default_build_dir(cfg, rp.chunk, threads)
        prune_builds(build_dir.parent, rf"mnist-{cfg.name}-[0-9a-f]{{16}}|mnist-[0-9a-f]{{16}}",
                     keep=build_dir)
    phase = "building the simulator"
    try:
        with ChunkedRunner(make_builder(cfg), rp.chunk, n_inputs(cfg),
                           rp.chunk * cfg.input.example_duration, mode=mode, build_dir=build_dir,
                           dt=cfg.simulation.dt, threads=threads,
                           runtime_target=runtime_target) as runner:
            phase = "training"
            state, train_wall = _train(runner, cfg, train_x, cp, rp, seed, ckpt, progress,
                                       stop_after_chunks)
            phase = "labelling"
            t0 = time.perf_counter()
            assign_idx = _subset(seed, len(train_x), n_train)[:n_assign]
            assign_counts = _responses(runner, cfg, rp, state, train_x[assign_idx], seed,
                                       "assign", progress)
            assignments = assign_labels(assign_counts, train_y[assign_idx])
            assign_wall = time.perf_counter() - t0
            phase = "testing"
            t0 = time.perf_counter()
            test_counts = _responses(runner, cfg, rp, state, test_x[:n_test], seed, "test",
                                     progress)
            test_wall = time.perf_counter() - t0
            compile_s = runner.compile_s
    except KeyboardInterrupt as e:
        raise _stopped(e, ckpt, rp, phase) from None
    pred = predict(test_counts, assignments)
    rep = accuracy_report(test_y[:n_test], pred)
    results = _write_results(out, cfg, settings, state, rep, pred, test_y[:n_test],
                             assignments, assign_counts, test_counts, {
                                 "train_examples": n_train * settings["epochs"],
                                 "presented_examples": rp.presented, "test_examples": n_test,
                                 "assign_examples": n_assign, "train_wall_s": train_wall,
                                 "test_wall_s": test_wall, "assign_wall_s": assign_wall,
                                 "compile_s": compile_s,
                                 "s_per_train_example": train_wall / rp.presented})
    return results


def _subset(seed: int, n_images: int, n_train: int) -> np.ndarray:
    return rng(seed, "subset").permutation(n_images)[:n_train]


def _train(runner, cfg, train_x, cp: Checkpoint, rp: RunPlan, seed, ckpt, progress,
           stop_after_chunks):
    """The training chunks after ``cp``; the state is checkpointed after each complete one."""
    subset = _subset(seed, len(train_x), rp.n_train)
    state, train_wall, start = cp.state, cp.train_wall_s, cp.chunks_done
    bar = tqdm(total=rp.presented, initial=start * rp.chunk, unit="ex", desc="training",
               disable=not progress, smoothing=0.3)
    plastic = {"syn.plastic": 1.0, "wta.homeostasis_on": 1.0}
    try:
        for k in range(start, rp.total_chunks):
            epoch, c = divmod(k, rp.chunks_per_epoch)
            order = subset[rng(seed, "train", "order", epoch).permutation(rp.n_train)]
            idx = np.resize(order, rp.chunks_per_epoch * rp.chunk)[c * rp.chunk:
                                                                    (c + 1) * rp.chunk]
            t0 = time.perf_counter()
            state, si, _ = runner.run_chunk(encode(train_x[idx], cfg), state,
                                            int_seed(seed, "train", "chunk", k), plastic)
            state["chunk.spikes_per_example"] = np.append(
                state.get("chunk.spikes_per_example", np.zeros(0)), len(si) / rp.chunk)
            train_wall += time.perf_counter() - t0
            units = {**runner.state_units, "chunk.spikes_per_example": "count"}
            save_checkpoint(ckpt, Checkpoint(cp.settings, k + 1, train_wall, state, units))
            bar.update(rp.chunk)
            bar.set_postfix(ms_per_ex=f"{1e3 * train_wall / ((k + 1 - start) * rp.chunk):.2f}")
            if stop_after_chunks is not None and k + 1 - start >= stop_after_chunks:
                raise KeyboardInterrupt(f"stopped after chunk {k + 1} (test interruption)")
    finally:
        bar.close()
    return state, train_wall


def _responses(runner, cfg, rp: RunPlan, state, images, seed, phase, progress):
    """Spike counts of the frozen network; examples that evoke no spike are shown again
    with the input rates doubled, up to ``RETRIES`` times (Diehl & Cook 2015)."""
    n_in, n_out, T_ex = n_inputs(cfg), cfg.neurons.n, cfg.input.example_duration
    frozen = {"syn.plastic": 0.0, "wta.homeostasis_on": 0.0}
    desc = {"assign": "labelling", "test": "testing"}[phase]
    counts = np.zeros((len(images), n_out), dtype=np.int32)
    todo = np.arange(len(images))
    for attempt in range(RETRIES + 1):
        flags = {**frozen, "inputs.gain": 2.0 ** attempt}
        n_ch = math.ceil(len(todo) / rp.chunk)
        for c in tqdm(range(n_ch), desc=desc + (f" (x{2 ** attempt})" if attempt else ""),
                      disable=not progress, unit="chunk"):
            part = todo[c * rp.chunk:(c + 1) * rp.chunk]
            stim = np.zeros((rp.chunk, n_in))
            stim[:len(part)] = encode(images[part], cfg)
            _, si, stt = runner.run_chunk(
                stim, state, int_seed(seed, phase, "attempt", attempt, "chunk", c), flags)
            counts[part] = spike_counts(si, stt, rp.chunk, n_out, T_ex)[:len(part)]
        todo = todo[counts[todo].sum(1) == 0]
        if todo.size == 0:
            break
    return counts


def _write_results(out, cfg, settings, state, rep, pred, test_labels, assignments,
                   assign_counts, test_counts, timing) -> dict:
    params = cfg.synapses.device_params()
    n_in, n_out = n_inputs(cfg), cfg.neurons.n
    syn_state = {k[4:]: v for k, v in state.items() if k.startswith("syn.")}
    plus, minus = synapse_state_to_devices(syn_state, params, preset=cfg.synapses.preset)
    w = (plus.conductance - minus.conductance).reshape(n_in, n_out)
    tot_p, tot_m = plus.totals(), minus.totals()
    results = {
        "test_accuracy": rep["accuracy"], **timing,
        "no_response": rep["no_response"], "n_set": tot_p["n_set"] + tot_m["n_set"],
        "n_reset": tot_p["n_reset"] + tot_m["n_reset"],
        "energy_J": float(plus.energy.sum() + minus.energy.sum()),
        "neurons_assigned": int(np.sum(assignments >= 0)),
    }
    with atomic_h5(out, kind="mnist_clustering") as f:
        write_config(f, {"network": json.loads(cfg.to_json()), "run": settings})
        d = f.create_group("devices")
        for name, arr in (("plus", plus), ("minus", minus)):
            g = d.create_group(name)
            write_array(g, arr)
            g.attrs["layout"] = f"flat synapse order k = input * {n_out} + neuron"
            g.attrs["time_origin"] = "t = 0 is the end of training (t_prog <= 0)"
        net = f.create_group("network")
        write_dataset(net, "theta", state["wta.theta"], "V")
        write_dataset(net, "assignments", assignments, "1")
        write_dataset(net, "weights", w.T.reshape(n_out, n_in), "S",
                      description="G+ - G- per (neuron, input)")
        r = f.create_group("results")
        for k, v in results.items():
            r.attrs[k] = v
        write_dataset(r, "confusion", rep["confusion"], "count",
                      description="rows: true class; columns: predicted, last = no response")
        write_dataset(r, "per_class_accuracy", rep["per_class_accuracy"], "1")
        write_dataset(r, "test_predictions", pred, "1")
        write_dataset(r, "test_labels", test_labels, "1")
        write_dataset(r, "train_spikes_per_example", state["chunk.spikes_per_example"],
                      "count", description="mean output spikes per example, per chunk")
        write_dataset(r, "assign_counts", assign_counts, "count")
        write_dataset(r, "test_counts", test_counts, "count")
    return results
