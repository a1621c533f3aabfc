"""A chain of SET pulses on one device as Brian2 functions, for the refresh rewrite.

The refresh's open-loop rewrite applies up to ``pulse_cap`` SET pulses to one device.
Brian2's abstract code has no loops or branches, so it used to be unrolled: ``pulse_cap``
gated copies of the pulse code, evaluated for every synapse of every sweep although
almost no pair is refreshed (a third of the 400-neuron network's time). These functions
run the pulses that happen, in a loop, with the same relations of
:mod:`neuropcm.devices.physics` and the same random numbers (one standard normal per
applied pulse, in pulse order; the C++ target's by the ziggurat of :mod:`._normal`, as
every gated draw of the synapses):

* ``set_chain(G, P, amp, k)``: the conductance after ``k`` pulses of relative amplitude
  ``amp``, each ``P <- PULSE_MEMORY(P)`` (pulsed model) then
  ``G <- SET_UPDATE(G, amp, SET_MEAN(G, P), SET_STD(G, P), xi)``;
* ``memory_chain(P, k)``: the pulse memory after ``k`` pulses (``P`` itself for models
  without one).

Each device parameter set gets its own pair (the values are compiled in as constants),
named by a hash of the code.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
from brian2 import DEFAULT_FUNCTIONS, Function, siemens
from brian2.parsing.rendering import CPPNodeRenderer

from ..devices import physics as ph
from ..devices.params import DeviceParams
from ._normal import ZIGGURAT_CPP

# helpers named per function (two parameter sets may share one code object)
_CPP_CLIP = ("static inline double _npcm_clip_{key}(const double x, const double lo, "
             "const double hi) {{ return x < lo ? lo : (x > hi ? hi : x); }}")
_CY_CLIP = ("cdef inline double _npcm_clip_{key}(double x, double lo, double hi):\n"
            "    return lo if x < lo else (hi if x > hi else x)\n"
            "cdef double _npcm_inf_{key} = float('inf')\n")


def _pulse_exprs(params: DeviceParams) -> tuple[str, str, dict]:
    """(new P, new G) of one pulse as Brian2 expressions of ``G``, ``P``, ``amp``, ``xi``,
    and the SI values of the ``pcm_*`` parameters they name."""
    ns: dict = {}
    mean_rel, std_rel = ph.set_relations(params)
    decayed = ph.PULSE_MEMORY.brian2(params, ns, P="P") if params.model == "pulsed" else "P"
    mean = mean_rel.brian2(params, ns, G="G", P="P")
    std = std_rel.brian2(params, ns, G="G", P="P")
    new_g = ph.SET_UPDATE.brian2(params, ns, G="G", amp="amp", dG_mean=f"({mean})",
                                 dG_std=f"({std})", xi="xi")
    values = {k: float(np.asarray(v)) for k, v in ns.items() if k.startswith("pcm_")}
    return decayed, new_g, values


def _cpp(expr: str, key: str) -> str:
    out = CPPNodeRenderer().render_expr(expr)
    return re.sub(r"\bclip\(", f"_npcm_clip_{key}(", out.replace("_brian_pow(", "pow("))


def _cython(expr: str, key: str) -> str:
    return re.sub(r"\binf\b", f"_npcm_inf_{key}",
                  re.sub(r"\bclip\(", f"_npcm_clip_{key}(", expr))


def _numpy_pulse(params: DeviceParams):
    mean_rel, std_rel = ph.set_relations(params)

    def pulse(G, P, amp, xi):
        if params.model == "pulsed":
            P = ph.PULSE_MEMORY(params, P=P)
        G = ph.SET_UPDATE(params, G=G, amp=amp, dG_mean=mean_rel(params, G=G, P=P),
                          dG_std=std_rel(params, G=G, P=P), xi=xi)
        return G, P
    return pulse


def chain_functions(params: DeviceParams, ns: dict) -> tuple[str, str]:
    """Put this parameter set's ``set_chain`` and ``memory_chain`` functions into the
    namespace ``ns``; returns their names there."""
    decayed, new_g, values = _pulse_exprs(params)
    consts = "".join(f"const double {k} = {v!r}; " for k, v in sorted(values.items()))
    key = hashlib.sha256(f"{consts}|{decayed}|{new_g}".encode()).hexdigest()[:10]
    g_name, p_name = f"npcm_set_chain_{key}", f"npcm_memory_chain_{key}"
    if g_name in ns:
        return g_name, p_name
    cy_consts = "".join(f"    cdef double {k} = {v!r}\n" for k, v in sorted(values.items()))
    pulse = _numpy_pulse(params)

    def set_chain_numpy(G, P, amp, k, _vectorisation_idx):
        # as the compiled targets: element by element, one normal per applied pulse
        n = len(np.atleast_1d(_vectorisation_idx))
        G, P, amp, k = (np.array(np.broadcast_to(np.asarray(a, dtype=float), (n,)))
                        for a in (G, P, amp, k))
        for e in np.flatnonzero(k > 0):
            g, p = G[e], P[e]
            for _ in range(int(k[e])):
                g, p = pulse(g, p, amp[e], np.random.randn())
            G[e] = g
        return G

    def memory_chain_numpy(P, k):
        P, k = np.broadcast_arrays(np.asarray(P, dtype=float), np.asarray(k, dtype=float))
        P = np.array(P)
        if params.model == "pulsed":
            for e in zip(*np.nonzero(k > 0)):
                for _ in range(int(k[e])):
                    P[e] = ph.PULSE_MEMORY(params, P=P[e])
        return P

    g_fn = Function(set_chain_numpy, arg_units=[siemens, 1, 1, 1], return_unit=siemens,
                    stateless=False, auto_vectorise=True)
    g_fn.implementations.add_implementation(
        "cpp", name=f"_{g_name}", dependencies={"_rand": DEFAULT_FUNCTIONS["rand"]},
        code=f"{ZIGGURAT_CPP}{_CPP_CLIP.format(key=key)}\n"
             f"inline double _{g_name}(double G, double P, const double amp, const double k, "
             f"const int _vectorisation_idx) {{ {consts}\n"
             f"  for (int _j = 0; _j < (int)k; _j++) {{ P = {_cpp(decayed, key)}; "
             f"const double xi = _npcm_zig_normal(_vectorisation_idx); G = {_cpp(new_g, key)}; }}\n"
             f"  return G; }}")
    g_fn.implementations.add_implementation(
        "cython", name=f"_{g_name}", dependencies={"_randn": DEFAULT_FUNCTIONS["randn"]},
        code=f"{_CY_CLIP.format(key=key)}"
             f"cdef double _{g_name}(double G, double P, double amp, double k, "
             f"int _vectorisation_idx):\n{cy_consts}"
             f"    cdef double xi\n    cdef int _j\n"
             f"    for _j in range(<int>k):\n        P = {_cython(decayed, key)}\n"
             f"        xi = _randn(_vectorisation_idx)\n        G = {_cython(new_g, key)}\n"
             f"    return G\n")
    g_fn.implementations.add_implementation("numpy", code=set_chain_numpy)
    p_fn = Function(memory_chain_numpy, arg_units=[1, 1], return_unit=1)
    p_fn.implementations.add_implementation(
        "cpp", name=f"_{p_name}",
        code=f"inline double _{p_name}(double P, const double k) {{ {consts}\n"
             f"  for (int _j = 0; _j < (int)k; _j++) {{ P = {_cpp(decayed, key)}; }}\n"
             f"  return P; }}")
    p_fn.implementations.add_implementation(
        "cython", name=f"_{p_name}",
        code=f"cdef double _{p_name}(double P, double k):\n{cy_consts}    cdef int _j\n"
             f"    for _j in range(<int>k):\n        P = {_cython(decayed, key)}\n    return P\n")
    p_fn.implementations.add_implementation("numpy", code=memory_chain_numpy)
    ns[g_name], ns[p_name] = g_fn, p_fn
    return g_name, p_name
