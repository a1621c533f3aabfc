"""The MNIST clustering run's machinery (:mod:`neuropcm.workloads.spiking.mnist_clustering`):
training in checkpointed chunks, label assignment, testing, the results file."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
from brian2 import second
from tqdm import tqdm

from ...snn.metrics import accuracy_report, assign_labels, predict
from ...bridge.layout import SynapseLayout
from ...errors import ParameterError, ResultsFileError, RunInterrupted, SimulationError
from ...io import atomic_h5, write_array, write_config, write_dataset
from ...io.paths import check_output_path
from ...random import check_seed, int_seed, rng
from ...snn.builds import prune_builds
from ...snn.clustering import (check_network, encode, initial_synapse_state, make_builder,
                              n_inputs, spike_counts, synapse_devices_state)
from ...snn.config import NetworkConfig
from ...snn.runner import ChunkedRunner
from ...snn.synapses import synapse_state_to_devices
from .._checkpoint import (Checkpoint, OutputLock, check_resume, checkpoint_chunks,
                          checkpoint_path, load_checkpoint, save_checkpoint)
from ._mnist_plan import (RunPlan, check_counts, default_build_dir, plan,  # noqa: F401
                          run_settings)

#: Evaluation: re-presentations, with doubled input rates, of examples evoking no spike.
RETRIES = 2


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
                   runtime_target="cython", n_validation=0) -> dict:
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
    n_validation : int
        Training images held out of training (the ``n_validation`` after the training
        examples in the seeded shuffle) and classified like the test set: the accuracy to
        tune on, so that nothing is tuned on the test set (0: none).
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
                                                     len(train_x), len(test_x), n_validation)
    if mode not in ("standalone", "runtime"):
        raise ParameterError(f"mode = {mode!r} must be 'standalone' or 'runtime'")
    rp = plan(n_train, epochs, cfg.simulation.chunk)
    out = check_output_path(out, what="out", kind="mnist_clustering")
    ckpt = checkpoint_path(out)
    settings = run_settings(cfg, data, n_train=n_train, n_test=n_test, n_assign=n_assign,
                            epochs=epochs, seed=seed, mode=mode, chunk=rp.chunk, threads=threads,
                            runtime_target=runtime_target, n_validation=int(n_validation))
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
                           rp.chunk * cfg.input.example_duration * second, mode=mode,
                           build_dir=build_dir, dt=cfg.simulation.quantity("dt"), threads=threads,
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
            val_idx = _validation(seed, len(train_x), n_train, settings.get("n_validation", 0))
            if val_idx.size:
                phase = "validating"
                val_counts = _responses(runner, cfg, rp, state, train_x[val_idx], seed,
                                        "validation", progress)
            compile_s = runner.compile_s
    except KeyboardInterrupt as e:
        raise _stopped(e, ckpt, rp, phase) from None
    pred = predict(test_counts, assignments)
    rep = accuracy_report(test_y[:n_test], pred)
    validation = None
    if val_idx.size:
        val_pred = predict(val_counts, assignments)
        validation = {"labels": train_y[val_idx], "predictions": val_pred, "counts": val_counts,
                      "accuracy": accuracy_report(train_y[val_idx], val_pred)["accuracy"]}
    results = _write_results(out, cfg, settings, state, rep, pred, test_y[:n_test],
                             assignments, assign_counts, test_counts, {
                                 "train_examples": n_train * settings["epochs"],
                                 "presented_examples": rp.presented, "test_examples": n_test,
                                 "assign_examples": n_assign, "train_wall_s": train_wall,
                                 "test_wall_s": test_wall, "assign_wall_s": assign_wall,
                                 "compile_s": compile_s,
                                 "s_per_train_example": train_wall / rp.presented},
                             validation)
    return results


def _subset(seed: int, n_images: int, n_train: int) -> np.ndarray:
    return rng(seed, "subset").permutation(n_images)[:n_train]


def _validation(seed: int, n_images: int, n_train: int, n_validation: int) -> np.ndarray:
    """The held-out images: the ``n_validation`` after the training examples in the same
    seeded shuffle (so never trained on or used in the label assignment)."""
    return rng(seed, "subset").permutation(n_images)[n_train:n_train + n_validation]


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
            save_checkpoint(ckpt, Checkpoint(cp.settings, k + 1, train_wall, state,
                                             dict(runner.state_units)))
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
    desc = {"assign": "labelling", "test": "testing", "validation": "validating"}[phase]
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
                   assign_counts, test_counts, timing, validation=None) -> dict:
    params = cfg.synapses.device_params()
    n_in, n_out = n_inputs(cfg), cfg.neurons.n
    syn_state = synapse_devices_state(state, cfg)  # with the reads counted by the inputs
    # the stored arrays' random streams come from the run's seed (rng(seed, "snn", "export",
    # "G_plus"/"G_minus")): two runs with one seed write the same files
    n_dev = cfg.synapses.devices_per_synapse
    plus, minus = synapse_state_to_devices(syn_state, params, preset=cfg.synapses.preset,
                                           seed=check_seed(settings["seed"]),
                                           devices_per_synapse=n_dev)
    # N devices per side: arrays (N, synapses); the weight is the mean of the N differences
    # (the network's w_scale is divided by N, see neuropcm.snn.clustering)
    w = (plus.conductance - minus.conductance).reshape(n_dev, n_in, n_out).mean(axis=0)
    tot_p, tot_m = plus.totals(), minus.totals()
    results = {
        "test_accuracy": rep["accuracy"], **timing,
        "no_response": rep["no_response"], "n_set": tot_p["n_set"] + tot_m["n_set"],
        "n_reset": tot_p["n_reset"] + tot_m["n_reset"],
        "energy_J": float(plus.energy.sum() + minus.energy.sum()),
        "neurons_assigned": int(np.sum(assignments >= 0)),
    }
    if validation is not None:
        results["validation_accuracy"] = validation["accuracy"]
        results["validation_examples"] = len(validation["labels"])
    with atomic_h5(out, kind="mnist_clustering") as f:
        write_config(f, {"network": json.loads(cfg.to_json()), "run": settings})
        d = f.create_group("devices")
        for name, arr in (("plus", plus), ("minus", minus)):
            g = d.create_group(name)
            write_array(g, arr)
            g.attrs["layout"] = SynapseLayout(n_in, n_out).describe()  # k = input*n_out+neuron
            g.attrs["n_inputs"], g.attrs["n_outputs"] = n_in, n_out
            if n_dev > 1:
                g.attrs["devices_per_synapse"] = n_dev  # axis 0 of the arrays: the device
            g.attrs["time_origin"] = "t = 0 is the end of training (t_prog <= 0)"
        net = f.create_group("network")
        write_dataset(net, "theta", state["wta.theta"], "V")
        write_dataset(net, "assignments", assignments, "1")
        write_dataset(net, "weights", w.T.reshape(n_out, n_in), "S",
                      description="G+ - G- per (neuron, input)" if n_dev == 1 else
                      f"mean over the {n_dev} device pairs of G+ - G- per (neuron, input)")
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
        if validation is not None:
            for k in ("labels", "predictions"):
                write_dataset(r, f"validation_{k}", validation[k], "1")
            write_dataset(r, "validation_counts", validation["counts"], "count",
                          description="held-out training images (train then validation in "
                          "the seeded shuffle), frozen network")
    return results
