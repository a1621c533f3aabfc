"""The all-PCM network of the pattern-detection run, built with Brian2 from the public
building blocks of :mod:`neuropcm.snn`.

* ``soma``: :class:`~neuropcm.snn.PhaseChangeNeurons` -- each neuron's membrane is one PCM
  device; it fires when its conductance exceeds ``G_threshold`` and is RESET.
* ``syn``: :class:`~neuropcm.snn.PCMSynapses` (differential pairs, two-window STDP) from
  the inputs to ``dend``: each input spike reads its pair and adds
  ``w = w_scale (G+ - G-)`` (plus read noise) to the neuron's summed input ``I``.
* ``dend``: the summing node of each neuron (the pulse-forming circuit): at the end of
  each step's synaptic reads, if ``I >= drive_threshold`` the neuron's device gets one
  crystallising SET pulse of relative amplitude ``min(I, 1)`` (the device code of
  :func:`neuropcm.snn.set_pulse_code`), then ``I = 0``. It spikes when its soma does (the
  soma's conductance is a linked variable, same threshold), which triggers the STDP of
  ``syn``.
* WTA (several neurons): a spike RESETs the devices of the other neurons (lateral
  inhibition by re-amorphisation).

Per step ``k``: thresholds (soma and dend see ``G > G_threshold``), synapses (reads of
step ``k``'s inputs, STDP on a spike, the WTA RESETs), the drive pulses, then the soma's own
RESET. An output spike at step ``k`` thus follows the pulse of step ``k - 1``.
"""

from __future__ import annotations

import numpy as np


def simulate(spikes: np.ndarray, *, learn_steps: int, dt: float, neurons: int,
             preset: str, g_threshold: float, w_scale: float, drive_threshold: float,
             dT_pot: float, dT_dep: float, p_dep: float, refresh, initial_pulses: int, record_every: int,
             brian_seed: int, seed: int, g_plus_init=None,
             record_neuron: bool = False) -> dict:
    """Run the network on ``spikes`` (steps, inputs; bool): plastic for the first
    ``learn_steps`` steps, frozen after (the test).

    Parameters are SI floats (``dt``, ``dT_pot``, ``dT_dep`` in s; ``p_dep`` the
    probability of a depression pulse; ``refresh`` a rule of :class:`~neuropcm.snn.PCMSynapses`; ``g_threshold`` in S,
    ``w_scale`` in 1/S). Returns the output spikes (``spike_step``, ``spike_neuron``),
    the programmed conductances of the synapses every ``record_every`` steps
    (``record_step``; ``g_plus``, ``g_minus``: (records, inputs, neurons), S) and the
    pulse and RESET counts of the neurons' devices.

    ``g_plus_init`` (S, one per synapse in the order ``syn.connect()`` makes them: input
    ``i``, neuron ``j`` at ``i * neurons + j``) replaces the random
    initial G+; ``record_neuron`` adds the neurons' conductance at the end of every step
    (``neuron_g``: steps, neurons; S).
    """
    import brian2 as b

    from ...snn import (
        DeviceVars,
        PCMSynapses,
        PhaseChangeNeurons,
        TwoWindowSTDP,
        reset_code,
        set_pulse_code,
    )

    b.start_scope()
    b.prefs.codegen.target = "numpy"  # runtime: small networks, no compilation
    b.seed(brian_seed)
    steps, n_in = spikes.shape
    b.defaultclock.dt = dt * b.second  # every object of the network on one clock
    # (no locals named like model variables: Brian2 resolves names in this frame too)
    in_steps, in_index = np.nonzero(spikes)
    inp = b.SpikeGeneratorGroup(n_in, in_index, in_steps * dt * b.second, name="inputs")
    soma = PhaseChangeNeurons(neurons, preset=preset, G_threshold=g_threshold * b.siemens,
                              name="soma")
    ns = {"G_threshold": g_threshold * b.siemens, "drive_threshold": drive_threshold}
    dend = b.NeuronGroup(neurons, "I : 1\nG_soma : siemens (linked)",
                         threshold="G_soma > G_threshold", reset="",
                         events={"drive": "I >= drive_threshold"}, namespace=ns,
                         name="dend")
    dend.G_soma = b.linked_var(soma, "G")
    # the drive is decided after the step's synaptic reads, and I cleared after it
    dend.set_event_schedule("drive", "after_synapses", order=0)
    dend.run_regularly("I = 0", when="after_synapses", order=10, name="dend_clear")
    post = DeviceVars(**{f: f"{getattr(soma.vars, f)}_post" for f in
                         ("G", "P", "t_prog", "nu", "f_set", "n_set", "n_reset", "energy")})
    dns = {}
    drive = b.Synapses(dend, soma, on_pre=set_pulse_code(soma.device_params, post, dns,
                                                         gate="1", amplitude="clip(I_pre, 0, 1)"),
                       on_event="drive", namespace=dns, name="drive")
    drive.connect(j="i")
    drive.pre.when, drive.pre.order = "after_synapses", 5
    syn = PCMSynapses(inp, dend, preset=preset, plasticity=TwoWindowSTDP(
        dT_pot * b.second, dT_dep * b.second, p_dep=p_dep), w_scale=w_scale / b.siemens, target_var="I",
        initial_pulses=(initial_pulses, 0), refresh=refresh, seed=seed, name="syn")
    syn.connect()
    if g_plus_init is not None:
        syn.Gp = np.asarray(g_plus_init, dtype=float) * b.siemens
    objs = [inp, soma, dend, drive, syn]
    if neurons > 1:
        wns = {}
        wta = b.Synapses(soma, soma, on_pre=reset_code(soma.device_params, post, wns),
                         namespace=wns, name="wta")
        wta.connect(condition="i != j")
        objs.append(wta)
    smon = b.SpikeMonitor(soma, name="out_spikes")
    wmon = b.StateMonitor(syn, ["Gp", "Gm"], record=True, dt=record_every * dt * b.second,
                          name="weights")
    mons = [smon, wmon]
    if record_neuron:
        gmon = b.StateMonitor(soma, "G", record=True, when="end", name="neuron_g")
        mons.append(gmon)
    net = b.Network(*objs, *mons)
    net.run(learn_steps * dt * b.second, namespace={})
    syn.plastic = 0.0  # the test: frozen synapses
    if steps > learn_steps:
        net.run((steps - learn_steps) * dt * b.second, namespace={})
    order = np.argsort(np.asarray(syn.j[:]) * n_in + np.asarray(syn.i[:]), kind="stable")
    n_rec = len(wmon.t)
    gp = np.asarray(wmon.Gp_[:])[order].reshape(neurons, n_in, n_rec).transpose(2, 1, 0)
    gm = np.asarray(wmon.Gm_[:])[order].reshape(neurons, n_in, n_rec).transpose(2, 1, 0)
    extra = {"neuron_g": np.asarray(gmon.G_[:]).T} if record_neuron else {}
    return {**extra, "spike_step": np.rint(np.asarray(smon.t_[:]) / dt).astype(np.int64),
            "spike_neuron": np.asarray(smon.i[:], dtype=np.int64),
            "record_step": np.rint(np.asarray(wmon.t_[:]) / dt).astype(np.int64),
            "g_plus": gp, "g_minus": gm,
            "neuron_set_pulses": np.asarray(soma.nset[:], dtype=np.int64),
            "neuron_resets": np.asarray(soma.nreset[:], dtype=np.int64)}
