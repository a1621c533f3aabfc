"""Poisson rate-coded inputs of the clustering network, drawn event by event, with the
optional boost window (stronger input for examples the output has not answered yet)."""

from __future__ import annotations

import brian2 as b
import numpy as np

#: The number of silent steps before the next spike, from ``u = log(U)`` (``U`` uniform)
#: and ``log_q = log(1 - p)``: geometric, ``P(K >= k) = (1 - p)**k``; ``int`` floors it.
_GAP = "int(clip({u} / {log_q}, 0, 1e9))"


def poisson_inputs(n: int, ns: dict, boost_steps: int = 0) -> b.NeuronGroup:
    """Poisson inputs as a Bernoulli process per time step (``p = rate*dt``, as
    ``brian2.PoissonGroup``) drawn by its gaps: a random number per spike and per example
    instead of one per input and step.

    ``ns`` holds ``stimulus`` (a TimedArray, one row per example), ``max_rate``,
    ``steps_ex`` and ``steps_pres`` (time steps per example and of the presentation) and,
    with ``boost_steps > 0``, ``boost_factor``. The rate is set at each example start and
    the next spike's step drawn then (the rate changes there) and after each spike. A
    silent input (``p = 0``) gets ``log_q = -1e-300``: its next spike lies beyond the clip
    of 1e9 steps and is redrawn at the next example start, so the threshold only compares
    the step with ``next_step`` (no per-step load of the rate). Each input keeps the time
    of its last spike (``tlast``) and counts its spikes (``nspikes``) for the synapses
    (``TwoWindowSTDP(pre_time=)``, ``PCMSynapses(read_counter=)``); its reset runs before
    the synapses, as a per-synapse ``tpre = t`` on_pre did.

    Boost window (``boost_steps > 0``, Diehl & Cook 2015 show an image again with stronger
    input when the output stayed silent): for ``boost_steps`` after the presentation the
    inputs fire at ``boost_factor`` times their rate as long as the linked variable
    ``silent`` (set to 1 at each example start, to 0 by an output spike; see
    :func:`boost_flag`) is 1. Its spikes are their own Bernoulli process (``next_b``).
    """
    phase = "(t_in_timesteps % steps_ex)"
    pres = f"{phase} < steps_pres"
    eqs = ["rate : Hz", "gain : 1 (shared)",
           "next_step : integer  # time step of the next spike",
           "log_q : 1  # log(1 - rate*dt)",
           "tlast : second  # time of the last spike (two-window STDP)",
           "nspikes : integer  # spikes so far: efficacy reads of each of its synapses"]
    gap = _GAP.format(u="u_gap", log_q="log_q")
    start = ["rate = stimulus(t, i) * max_rate * gain",
             "log_q = -clip(-log(1 - clip(rate * dt, 0, 1)), 1e-300, inf)",
             f"next_step = t_in_timesteps + {_GAP.format(u='log(rand())', log_q='log_q')}"]
    if boost_steps > 0:
        ns["steps_boost"] = int(boost_steps)
        eqs += ["silent : 1 (linked)", "next_b : integer  # next spike of the boost window",
                "log_qb : 1  # log(1 - boost_factor*rate*dt)"]
        boost = (f"{phase} >= steps_pres and {phase} < steps_pres + steps_boost and "
                 f"silent > 0")
        threshold = (f"({pres} and t_in_timesteps >= next_step) or "
                     f"({boost} and t_in_timesteps >= next_b)")
        gap_b = _GAP.format(u="u_gap", log_q="log_qb")
        reset = ["u_gap = log(rand())", f"in_pres = int({pres})",
                 (f"next_step = in_pres * (t_in_timesteps + 1 + {gap}) + (1 - in_pres) * "
                  f"next_step"),
                 f"next_b = (1 - in_pres) * (t_in_timesteps + 1 + {gap_b}) + in_pres * next_b"]
        start += ["log_qb = -clip(-log(1 - clip(boost_factor * rate * dt, 0, 1)), 1e-300, inf)",
                  "next_b = t_in_timesteps + steps_pres + "
                  + _GAP.format(u="log(rand())", log_q="log_qb")]
    else:
        threshold = f"{pres} and t_in_timesteps >= next_step"
        reset = ["u_gap = log(rand())", f"next_step = t_in_timesteps + 1 + {gap}"]
    inp = b.NeuronGroup(n, "\n".join(eqs), name="inputs", threshold=threshold,
                        reset="\n".join(reset + ["tlast = t", "nspikes += 1"]), namespace=ns)
    inp.tlast = -1e9 * b.second  # never spiked: "older than dT_dep"
    inp.resetter["spike"].when = "before_synapses"
    inp.run_regularly("\n".join(start), dt=ns["stimulus"].dt * b.second, when="start",
                      name="inputs_example_start")
    return inp


def boost_flag(inp: b.NeuronGroup, output: b.NeuronGroup, example: b.Quantity) -> list:
    """The ``silent`` flag of :func:`poisson_inputs`' boost window: 1 at each example start,
    0 after any spike of ``output``; linked into ``inp``. Returns the objects to add to the
    network."""
    flag = b.NeuronGroup(1, "silent : 1", name="boost_flag")
    flag.run_regularly("silent = 1", dt=example, when="start", name="boost_flag_start")
    clear = b.Synapses(output, flag, on_pre="silent_post = 0", name="boost_clear")
    clear.connect()
    inp.silent = b.linked_var(flag, "silent", index=np.zeros(len(inp), dtype=int))
    return [flag, clear]
