"""Unsupervised MNIST clustering with PCM synapses: the flagship run.

Poisson rate-coded 28x28 inputs -> differential 2-PCM synapses with two-window STDP -> a WTA
layer with homeostasis (Sidler et al. 2017; seed tutorial Fig. 16). After learning, each
neuron is labelled with the class it responded to most on training examples (frozen
network), and test examples are classified by the mean response of each class's neurons.

Training runs in chunks of examples (:class:`~neuropcm.snn.runner.ChunkedRunner`, compiled
once with cpp_standalone), checkpointing the full state after every chunk; ``resume=True``
continues an interrupted run and ends with exactly the uninterrupted result.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import brian2 as b
import numpy as np
from tqdm import tqdm

from .. import __version__
from ..analysis.metrics import accuracy_report, assign_labels, predict
from ..devices.array import PCMArray
from ..devices.presets import get_preset
from ..errors import ParameterError
from ..io import atomic_h5, open_h5, write_array, write_config, write_dataset
from .config import NetworkConfig
from .neurons import WTALayer
from .runner import Built, ChunkedRunner, chunk_seed
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
        # the rate set once per example and random numbers drawn only for non-zero rates
        inp = b.NeuronGroup(
            values.shape[1], "rate : Hz\ngain : 1 (shared)", name="inputs",
            threshold="rate > 0*Hz and t - T_ex * floor(t / T_ex) < T_pres and rand() < rate * dt",
            namespace={"stimulus": stim, "max_rate": inp_cfg.max_rate,
                       "T_ex": inp_cfg.example_duration, "T_pres": inp_cfg.presentation})
        inp.gain = 1.0
        inp.run_regularly("rate = stimulus(t, i) * max_rate * gain", dt=inp_cfg.example_duration,
                          when="start", name="inputs_example_start")
        inhibition = nc.inhibition if nc.inhibition in ("reset", "none", None) else \
            eval(nc.inhibition, {}, vars(b))
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
                          noise_to="read_var" if sc.aggregate_noise else None, name="syn")
        syn.connect()
        mon = b.SpikeMonitor(wta, name="spikes")
        ctl = b.NeuronGroup(1, "rng_seed : integer (shared)", name="control")
        # WTALayer's own synapses are listed too: the cpp_standalone device only declares
        # Synapses that are direct members of the Network
        net = b.Network(inp, wta, *wta.auxiliary_objects, syn, mon, ctl)
        return Built(net, stim, {"syn": syn, "wta": wta, "inputs": inp}, mon, ctl)

    return builder


def initial_synapse_state(cfg: NetworkConfig, seed: int) -> dict:
    """Initial G+/G- devices: fresh :class:`PCMArray` objects (RESET state), then a random
    number of SET pulses (``initial_pulses``), as ``{"syn.<var>": array}``."""
    n = n_inputs(cfg) * cfg.neurons.n
    params = get_preset(cfg.synapses.preset)
    rng = np.random.default_rng([seed, 1])
    arrays = []
    for k, n_max in enumerate(cfg.synapses.initial_pulses):
        arr = PCMArray(n, params, seed=int(rng.integers(2 ** 31)))
        arr.set_pulses(rng.integers(0, int(n_max) + 1, n))
        arrays.append(arr)
    return {f"syn.{k}": v for k, v in devices_to_synapse_state(*arrays).items()}


def spike_counts(spike_i, spike_t, n_examples, n_neurons, example_duration) -> np.ndarray:
    """Spike counts per (example, neuron) from a chunk's output spikes."""
    ex = np.minimum((spike_t / float(example_duration) + 1e-9).astype(int), n_examples - 1)
    counts = np.zeros((n_examples, n_neurons), dtype=np.int32)
    np.add.at(counts, (ex, spike_i), 1)
    return counts


@dataclass
class RunPlan:
    """How a training run is split into chunks."""
    chunk: int
    chunks_per_epoch: int
    epochs: int
    n_train: int

    @property
    def total_chunks(self) -> int:
        return self.chunks_per_epoch * self.epochs

    @property
    def presented(self) -> int:
        return self.total_chunks * self.chunk


def plan(n_train: int, epochs: int, chunk_max: int) -> RunPlan:
    """Chunks of equal size (the compiled duration) covering ``n_train`` examples per
    epoch; the last chunk of an epoch is topped up with repeats of that epoch's first
    examples when ``n_train`` is not a multiple."""
    if n_train < 1 or epochs < 1:
        raise ParameterError(f"train = {n_train} and epochs = {epochs} must be >= 1")
    n_ch = math.ceil(n_train / chunk_max)
    return RunPlan(math.ceil(n_train / n_ch), n_ch, epochs, n_train)


def _run_id(cfg: NetworkConfig, args: dict) -> str:
    return hashlib.sha256((cfg.to_json() + json.dumps(args, sort_keys=True)).encode()) \
        .hexdigest()[:16]


def _save_checkpoint(path, run_id, chunks_done, train_wall_s, state) -> None:
    with atomic_h5(path, kind="mnist_checkpoint") as f:
        f.attrs["run_id"] = run_id
        f.attrs["chunks_done"] = chunks_done
        f.attrs["train_wall_s"] = train_wall_s
        g = f.create_group("state")
        for k, v in state.items():
            write_dataset(g, k, v, "SI")


def _load_checkpoint(path, run_id):
    if not Path(path).exists():
        return None
    with open_h5(path, kind="mnist_checkpoint") as f:
        if f.attrs["run_id"] != run_id:
            return None
        state = {k: f["state"][k][()] for k in f["state"]}
        return int(f.attrs["chunks_done"]), float(f.attrs["train_wall_s"]), state


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
        reshuffled every epoch), test examples, epochs, seed.
    out : path
        Results file; the checkpoint is ``<out>.ckpt.h5`` next to it.
    resume : bool
        Continue from the checkpoint of an interrupted run with the same settings.
    mode : "standalone" or "runtime"
        cpp_standalone (compiled once) or Brian2 runtime (for debugging).
    runtime_target : str
        Brian2 code-generation target of runtime mode (``"cython"`` or ``"numpy"``).
    n_assign : int
        Training examples used for the label assignment (default ``min(n_train, 10000)``).
    stop_after_chunks : int, optional
        Stop (raise ``KeyboardInterrupt``) after this many training chunks in this call, as
        an interruption would -- for testing resumption.

    Returns
    -------
    dict
        Headline results (also in ``/results`` of the file).
    """
    train_x, train_y, test_x, test_y = data
    n_train = min(int(n_train), len(train_x))
    n_test = min(int(n_test), len(test_x))
    n_assign = min(int(n_assign or min(n_train, 10_000)), n_train)
    rp = plan(n_train, epochs, cfg.simulation.chunk)
    out = Path(out)
    ckpt = out.with_name(out.name + ".ckpt.h5")
    args = {"n_train": n_train, "epochs": epochs, "seed": seed, "mode": mode,
            "chunk": rp.chunk, "neuropcm": __version__}
    run_id = _run_id(cfg, args)
    subset = np.random.default_rng([seed, 0]).permutation(len(train_x))[:n_train]
    T_ex = cfg.input.example_duration
    n_in, n_out = n_inputs(cfg), cfg.neurons.n
    if build_dir is None:
        from ..datasets.mnist import resolve_data_dir
        build_dir = resolve_data_dir() / "build" / f"mnist-{_run_id(cfg, {'chunk': rp.chunk})}"
    runner = ChunkedRunner(make_builder(cfg), rp.chunk, n_in, rp.chunk * T_ex, mode=mode,
                           build_dir=build_dir, dt=cfg.simulation.dt, threads=threads,
                           runtime_target=runtime_target)
    try:
        start, train_wall, state = 0, 0.0, initial_synapse_state(cfg, seed)
        if resume:
            found = _load_checkpoint(ckpt, run_id)
            if found is not None:
                start, train_wall, state = found
        bar = tqdm(total=rp.presented, initial=start * rp.chunk, unit="ex", desc="training",
                   disable=not progress, smoothing=0.3)
        plastic = {"syn.plastic": 1.0, "wta.homeostasis_on": 1.0}
        for k in range(start, rp.total_chunks):
            epoch, c = divmod(k, rp.chunks_per_epoch)
            order = subset[np.random.default_rng([seed, 1000 + epoch]).permutation(n_train)]
            idx = np.resize(order, rp.chunks_per_epoch * rp.chunk)[c * rp.chunk:
                                                                    (c + 1) * rp.chunk]
            t0 = time.perf_counter()
            state, si, _ = runner.run_chunk(encode(train_x[idx], cfg), state,
                                            chunk_seed(seed, k), plastic)
            state["chunk.spikes_per_example"] = np.append(
                state.get("chunk.spikes_per_example", np.zeros(0)), len(si) / rp.chunk)
            train_wall += time.perf_counter() - t0
            _save_checkpoint(ckpt, run_id, k + 1, train_wall, state)
            bar.update(rp.chunk)
            bar.set_postfix(ms_per_ex=f"{1e3 * train_wall / ((k + 1 - start) * rp.chunk):.2f}")
            if stop_after_chunks is not None and k + 1 - start >= stop_after_chunks:
                bar.close()
                raise KeyboardInterrupt(f"stopped after chunk {k + 1} (test interruption)")
        bar.close()

        frozen = {"syn.plastic": 0.0, "wta.homeostasis_on": 0.0}

        def responses(images, desc, seed_base):
            """Spike counts of the frozen network; examples that evoke no spike are shown
            again with the input rates doubled, up to ``RETRIES`` times (Diehl & Cook 2015)."""
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
                        stim, state, chunk_seed(seed, seed_base + 1000 * attempt + c), flags)
                    counts[part] = spike_counts(si, stt, rp.chunk, n_out, T_ex)[:len(part)]
                todo = todo[counts[todo].sum(1) == 0]
                if todo.size == 0:
                    break
            return counts

        t0 = time.perf_counter()
        assign_idx = subset[:n_assign]
        assign_counts = responses(train_x[assign_idx], "labelling", 10 ** 6)
        assignments = assign_labels(assign_counts, train_y[assign_idx])
        assign_wall = time.perf_counter() - t0
        t0 = time.perf_counter()
        test_counts = responses(test_x[:n_test], "testing", 2 * 10 ** 6)
        test_wall = time.perf_counter() - t0
        pred = predict(test_counts, assignments)
        rep = accuracy_report(test_y[:n_test], pred)
    finally:
        runner.close()

    # ------------------------------------------------------------------ results file
    params = get_preset(cfg.synapses.preset)
    syn_state = {k[4:]: v for k, v in state.items() if k.startswith("syn.")}
    plus, minus = synapse_state_to_devices(syn_state, params, preset=cfg.synapses.preset)
    w = (plus.conductance - minus.conductance).reshape(n_in, n_out)
    tot_p, tot_m = plus.totals(), minus.totals()
    results = {
        "test_accuracy": rep["accuracy"], "train_examples": n_train * epochs,
        "presented_examples": rp.presented, "test_examples": n_test,
        "assign_examples": n_assign, "train_wall_s": train_wall, "test_wall_s": test_wall,
        "assign_wall_s": assign_wall, "compile_s": runner.compile_s,
        "ms_per_train_example": 1e3 * train_wall / rp.presented,
        "no_response": rep["no_response"], "n_set": tot_p["n_set"] + tot_m["n_set"],
        "n_reset": tot_p["n_reset"] + tot_m["n_reset"],
        "energy_J": float(plus.energy.sum() + minus.energy.sum()),
        "neurons_assigned": int(np.sum(assignments >= 0)),
    }
    with atomic_h5(out, kind="mnist_clustering") as f:
        write_config(f, {"network": json.loads(cfg.to_json()), "run": args,
                         "n_test": n_test, "n_assign": n_assign})
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
        write_dataset(r, "test_labels", test_y[:n_test], "1")
        write_dataset(r, "train_spikes_per_example", state["chunk.spikes_per_example"],
                      "count", description="mean output spikes per example, per chunk")
        write_dataset(r, "assign_counts", assign_counts, "count")
        write_dataset(r, "test_counts", test_counts, "count")
    if ckpt.exists():
        ckpt.unlink()
    return results
