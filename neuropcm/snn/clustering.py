"""The MNIST clustering network in Brian2: built from a :class:`NetworkConfig`.

Poisson rate-coded 28x28 inputs -> differential 2-PCM synapses with two-window STDP -> a WTA
layer with homeostasis (Sidler et al. 2017; seed tutorial Fig. 16). This module builds the
network (for :class:`~neuropcm.snn.runner.ChunkedRunner`) and its initial device state; the
run itself -- training in chunks, labelling, testing, the results file -- is the workload
:mod:`neuropcm.workloads.spiking.mnist_clustering`.

"""

from __future__ import annotations

import gc

import brian2 as b
import numpy as np

from ..devices.array import PCMArray
from ..errors import NeuroPCMError, ParameterError
from ..random import int_seed, rng
from .config import NetworkConfig
from ._inputs import boost_flag, poisson_inputs
from .neurons import WTALayer
from .runner import Built
from .synapses import (PCMSynapses, ThresholdRefresh, TwoWindowSTDP, devices_to_synapse_state,
                       fold_source_reads)

N_PIXELS = 784


def n_inputs(cfg: NetworkConfig) -> int:
    """Number of input neurons of the network: one per pixel (784), twice that with
    complementary inputs (``cfg.input.complementary``), as the columns of :func:`encode`.

    Returns
    -------
    int
        784 or 1568; the network has ``n_inputs(cfg) * cfg.neurons.n`` synapses.
    """
    return N_PIXELS * (2 if cfg.input.complementary else 1)


def encode(images: np.ndarray, cfg: NetworkConfig) -> np.ndarray:
    """Relative input rates in [0, 1] (pixel/255), shape (examples, inputs); with
    complementary inputs the inverted image follows the image."""
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1) / 255.0
    if x.shape[1] != N_PIXELS:
        raise ParameterError(f"images must be 28x28, got {images.shape[1:]}")
    return np.hstack([x, 1.0 - x]) if cfg.input.complementary else x


def make_builder(cfg: NetworkConfig, fast: bool = True):
    """The builder of the clustering network for :class:`ChunkedRunner`.

    ``fast=False`` builds the network as earlier versions did, for side-by-side
    benchmarks (:mod:`scripts.bench_mnist`): a random number per input and time step, and
    one per possible device operation. The fast network (default) is the same model with
    the same distributions, drawing random numbers only for the events that happen (input
    spikes by their geometric gaps, device writes that are applied): its random stream,
    hence each run's spikes, differ from the old one."""
    inp_cfg, nc, sc, st = cfg.input, cfg.neurons, cfg.synapses, cfg.stdp
    T_ex = inp_cfg.example_duration * b.second  # the config holds SI floats; Brian2 quantities

    def builder(values: np.ndarray) -> Built:
        stim = b.TimedArray(values, dt=T_ex, name="stimulus")
        # Poisson inputs: a Bernoulli draw per step with p = rate*dt (as brian2.PoissonGroup),
        # the rate set once per example and random numbers drawn only for non-zero rates.
        # The presentation window is counted in whole time steps: a float modulo of t would
        # put an example's first step in or out of it depending on the target's rounding.
        steps_ex = round(inp_cfg.example_duration / cfg.simulation.dt)
        steps_pres = round(inp_cfg.presentation / cfg.simulation.dt)
        ns = {"stimulus": stim, "max_rate": inp_cfg.quantity("max_rate"),
              "steps_ex": steps_ex, "steps_pres": steps_pres}
        window = "rate > 0*Hz and t_in_timesteps % steps_ex < steps_pres"
        boost_steps = round(inp_cfg.boost_window / cfg.simulation.dt)
        if fast:
            ns["boost_factor"] = inp_cfg.boost_factor
            inp = poisson_inputs(values.shape[1], ns, boost_steps)
        elif boost_steps:
            raise ParameterError("input.boost_window needs the fast network (make_builder("
                                 "fast=True))")
        else:
            inp = b.NeuronGroup(values.shape[1], "rate : Hz\ngain : 1 (shared)",
                                name="inputs", threshold=f"{window} and rand() < rate * dt",
                                namespace=ns)
            inp.run_regularly("rate = stimulus(t, i) * max_rate * gain", dt=T_ex,
                              when="start", name="inputs_example_start")
        inp.gain = 1.0
        q = nc.quantity
        inhibition = q("inhibition")  # "reset", "none" or a voltage
        wta = WTALayer(nc.n, tau_m=q("tau_m"), v_rest=q("v_rest"), v_reset=q("v_reset"),
                       v_thresh=q("v_thresh"), refractory=q("refractory"),
                       inhibition=None if inhibition == "none" else inhibition,
                       t_inhibit=q("t_inhibit"),
                       homeostasis=None if nc.homeostasis == "none" else nc.homeostasis,
                       rate_target=q("rate_target"), tau_homeo=q("tau_homeo"),
                       eta_homeo=q("eta_homeo"), theta_plus=q("theta_plus"),
                       tau_theta=q("tau_theta"), name="wta", gated_noise=fast,
                       rate_cap=nc.rate_cap or None)
        # each example starts from rest (instead of a long free decay)
        wta.run_regularly("v = v_rest", dt=T_ex, when="start", name="wta_example_start")
        refresh = None if sc.refresh in (None, "none") else sc.refresh
        if refresh == "threshold" and sc.refresh_period > 0:
            refresh = ThresholdRefresh(period=sc.quantity("refresh_period"))
        # fast: the inputs keep their last spike time and spike count, so an input spike
        # writes nothing per synapse; synapses load a cached efficacy
        norm = {"norm_target": st.quantity("norm_target"), "norm_step": st.quantity(
            "norm_step"), "norm_rate": st.norm_rate} if st.norm_target > 0 else {}
        stdp = TwoWindowSTDP(st.quantity("dT_pot"), st.quantity("dT_dep"), st.p_pot, st.p_dep,
                             pre_time="tlast" if fast else None, **norm)
        cache = fast and sc.drift and sc.device_params().model == "pulsed"
        # N devices per side: the reads are summed, so w_scale / N keeps the weight range of
        # one pair (the weight is w_scale times the mean of the N differences, as the MLP's
        # mean of K devices); one pulse then moves the weight 1/N as much
        n_dev = sc.devices_per_synapse
        syn = PCMSynapses(inp, wta, preset=sc.preset, plasticity=stdp, refresh=refresh,
                          w_scale=sc.quantity("w_scale") / n_dev, read_noise=sc.read_noise,
                          drift=sc.drift, drift_update=sc.quantity("drift_update"),
                          noise_to="read_var" if sc.aggregate_noise else None, name="syn",
                          gated_noise=fast, cache_efficacy=cache,
                          read_counter="nspikes" if fast else None,
                          devices_per_synapse=n_dev, **sc.device_overrides)
        syn.connect()
        mon = b.SpikeMonitor(wta, name="spikes")
        ctl = b.NeuronGroup(1, "rng_seed : integer (shared)", name="control")
        # WTALayer's own synapses are listed too: the cpp_standalone device only declares
        # Synapses that are direct members of the Network
        extra = boost_flag(inp, wta, T_ex) if boost_steps else []
        net = b.Network(inp, wta, *wta.auxiliary_objects, syn, mon, ctl, *extra)
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


def synapse_devices_state(state: dict, cfg: NetworkConfig) -> dict:
    """The synapses' device variables (``SYNAPSE_DEVICE_VARS``, SI) from a run's state
    ``{"syn.<var>": ..., "inputs.<var>": ...}``, with the efficacy reads counted by the
    inputs (``inputs.nspikes``, if the network has it) folded into the read counters and
    energies of both devices of each synapse (synapse k = input * neurons + neuron)."""
    syn = {k[4:]: v for k, v in state.items() if k.startswith("syn.")}
    if "inputs.nspikes" not in state:
        return syn
    reads = np.repeat(np.asarray(state["inputs.nspikes"]), cfg.neurons.n)
    return fold_source_reads(syn, reads, cfg.synapses.device_params(),
                             cfg.synapses.devices_per_synapse)


def initial_synapse_state(cfg: NetworkConfig, seed: int) -> dict:
    """Initial G+/G- devices: fresh :class:`PCMArray` objects (RESET state), then a random
    number of SET pulses (``initial_pulses``), as ``{"syn.<var>": array}``; with N devices
    per side (``devices_per_synapse``), arrays of shape (N, synapses), each device drawn
    on its own."""
    n = n_inputs(cfg) * cfg.neurons.n
    n_dev = cfg.synapses.devices_per_synapse
    shape = n if n_dev == 1 else (n_dev, n)
    params = cfg.synapses.device_params()
    arrays = []
    for side, n_max in zip(("plus", "minus"), cfg.synapses.initial_pulses):
        arr = PCMArray(shape, params, seed=int_seed(seed, "init", side))
        arr.set_pulses(rng(seed, "init", side, "pulses").integers(0, int(n_max) + 1, shape))
        arrays.append(arr)
    return {f"syn.{k}": v for k, v in devices_to_synapse_state(*arrays, n_dev).items()}


def spike_counts(spike_i, spike_t, n_examples, n_neurons, example_duration) -> np.ndarray:
    """Spike counts per (example, neuron) from a chunk's output spikes."""
    ex = np.minimum((spike_t / float(example_duration) + 1e-9).astype(int), n_examples - 1)
    counts = np.zeros((n_examples, n_neurons), dtype=np.int32)
    np.add.at(counts, (ex, spike_i), 1)
    return counts


