"""Multi-PCM synapses (Boybat et al., Nat. Commun. 9, 2514 (2018); seed tutorial, "multi-PCM
architectures"): the Brian2 code of a :class:`~neuropcm.snn.PCMSynapses` with N devices on
each side of its differential pair (``devices_per_synapse=N``, N >= 2; N = 1 is the 2-PCM
synapse of :func:`~neuropcm.snn.synapses.pcm_synapses_code`, unchanged).

The rule, as the MLP's ``arbitration = "global"`` (:mod:`neuropcm.crossbar.update`):

* read: ``w_scale * (sum_k read(G+_k) - sum_k read(G-_k))`` -- the devices' currents
  summed (Boybat); the read noises are independent, so the variance is the sum of the 2N
  device read variances;
* write: each plasticity event (a SET pulse on G+ or G-) goes to the ONE device ``k = arb``
  of that side, ``arb`` an arbitration counter shared by all synapses of a postsynaptic
  neuron, advanced by one (mod N) after each postsynaptic spike of that neuron while the
  synapses are plastic. Boybat's counter is global (advanced after every update of the
  network); in an event-driven network the updates of one neuron's synapses happen at its
  spikes, so a counter per neuron advanced at its spikes is the Brian2 form of it (every
  synapse of a neuron writes the same device index at one update, devices are used in
  turn, and the choice never depends on a synapse's own state). It differs from one
  network-wide counter in that neurons do not share the index: with a WTA output only one
  neuron fires at a time, so a network-wide counter would only add a shift per neuron.
  The counter is the per-synapse integer ``arb`` (all synapses of a neuron hold the same
  value), a state variable: chunked runs and checkpoints carry it;
* refresh: the rule (:class:`~neuropcm.devices.refresh.ThresholdRefresh` or a Brian2
  rule) applied to each device pair ``(G+_k, G-_k)`` on its own, as the crossbar applies
  it to its ``(K, m, n)`` arrays: a saturated pair is RESET and its difference re-written
  on its formerly larger side, so the synapse's net difference is kept within the
  programming error of the pairs rewritten. A periodic sweep checks all N pairs; the
  per-event rule checks the pair just written (the others changed only by drift since
  their own check).

The selected device is copied into temporaries (``Gp_sel``, ...), the 2-PCM code of
:mod:`neuropcm.snn.models` and :mod:`neuropcm.snn.refresh` runs on them unchanged, and the
result is copied back with exact 0/1 selections (``1*x + 0*y``).
"""

from __future__ import annotations

import dataclasses

from ..errors import ParameterError
from .models import DeviceVars, efficacy_code, set_pulse_code
from .refresh import refresh_code, refresh_model

#: Most devices per side of a synapse (the code grows with N).
MAX_DEVICES = 16
#: Fields of a device copied into the selection temporaries.
_COPY = ("G", "P", "t_prog", "nu", "f_set", "n_set", "n_reset", "energy", "n_read",
         "drift_factor")


def check_devices(n, where: str = "devices_per_synapse") -> int:
    """``n`` as an int in 1..:data:`MAX_DEVICES`, else a one-line ParameterError."""
    import numbers

    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or \
            not 1 <= int(n) <= MAX_DEVICES:
        raise ParameterError(f"{where} = {n!r} must be a whole number of PCM devices per side "
                             f"in 1..{MAX_DEVICES} (1: the 2-PCM synapse), e.g. "
                             f"{where.rsplit('.', 1)[-1]} = 4")
    return int(n)


def side_vars(side: str, n: int, cached: bool = False) -> list[DeviceVars]:
    """The Brian2 variable names of the N devices of one side (``"p"``: G+, ``"m"``: G-),
    ``Gp0, Pp0, ..., nreadp0`` (and ``dfp0`` with cached drift) for device 0, etc."""
    return [dataclasses.replace(DeviceVars.with_suffix(f"{side}{k}"), n_read=f"nread{side}{k}",
                                drift_factor=f"df{side}{k}" if cached else "")
            for k in range(n)]


def _sel_vars(side: str, cached: bool) -> DeviceVars:
    """Temporaries holding the selected device of one side."""
    return DeviceVars(G=f"G{side}_sel", P=f"P{side}_sel", t_prog=f"tprog{side}_sel",
                      nu=f"nu{side}_sel", f_set=f"fset{side}_sel", n_set=f"nset{side}_sel",
                      n_reset=f"nreset{side}_sel", energy=f"energy{side}_sel",
                      n_read=f"nread{side}_sel", drift_factor=f"df{side}_sel" if cached else "")


def _copy_in(devs: list[DeviceVars], sel: DeviceVars) -> list[str]:
    """``sel.f = sum_k [arb == k] dev_k.f``: exact (one term is x, the others 0)."""
    lines = []
    for f in _COPY:
        if getattr(sel, f):
            terms = " + ".join(f"arb_on{k} * {getattr(v, f)}" for k, v in enumerate(devs))
            lines.append(f"{getattr(sel, f)} = {terms}")
    return lines


def _copy_out(devs: list[DeviceVars], sel: DeviceVars, params) -> list[str]:
    """Write the written fields of ``sel`` back into the selected device (the drift
    exponent only for the programmed model, whose RESET re-draws it; f_set is constant)."""
    fields = [f for f in _COPY if f != "f_set" and getattr(sel, f)
              and (f != "nu" or params.model == "programmed")]
    return [f"{getattr(v, f)} = arb_on{k} * {getattr(sel, f)} + (1 - arb_on{k}) * "
            f"{getattr(v, f)}" for k, v in enumerate(devs) for f in fields]


def _mean_diff(plus, minus) -> str:
    """The mean over the N pairs of G+ - G- (programmed): the weight, in one device's
    units, that a plasticity rule's ``Gp - Gm`` refers to."""
    sp = " + ".join(v.G for v in plus)
    sm = " + ".join(v.G for v in minus)
    return f"((({sp}) - ({sm})) / {len(plus)})"


def multi_synapses_code(params, plasticity, refresh, ns: dict, n: int, target_var="v",
                        read_noise=True, drift=True, cached_drift=False, noise_to=None,
                        temperature=None, gated_noise=True, cache_efficacy=False,
                        source_reads=False) -> dict:
    """The model, on_pre and on_post code of a synapse with ``n >= 2`` devices per side;
    the arguments and the returned dict are those of
    :func:`~neuropcm.snn.synapses.pcm_synapses_code` (see the module docstring for the
    rule). A plasticity rule's ``Gp - Gm`` (weight normalisation) becomes the mean over
    the N pairs, and its ``norm_step`` (one pulse's change of it) ``norm_step / N``."""
    from brian2 import joule

    plus, minus = side_vars("p", n, cached_drift), side_vars("m", n, cached_drift)
    sel_p, sel_m = _sel_vars("p", cached_drift), _sel_vars("m", cached_drift)
    model = [v.equations(params) for v in plus + minus]
    model.append("arb : integer  # arbitration counter: the device the next update writes")
    ns["pcm_e_read"] = params.e_read * joule
    pre, post = [], []
    if plasticity is not None:
        model.append(plasticity.model())
        pre.append(plasticity.on_pre())
    extra, update_eff, reads = efficacy_code(
        params, plus, minus, ns, drift=drift, temperature=temperature,
        read_noise=read_noise, noise_to=noise_to, target_var=target_var,
        cache_efficacy=cache_efficacy, source_reads=source_reads)
    model += extra
    pre += reads
    model.append("plastic : 1 (shared)")
    select = [f"arb_on{k} = int(arb == {k})" for k in range(n)]
    mean_w = _mean_diff(plus, minus)
    ltp = ltd = ""
    if plasticity is not None:
        ltp = set_pulse_code(params, sel_p, ns, gate="ltp * plastic", amplitude="ltp_amp",
                             gated_noise=gated_noise)
        ltd = set_pulse_code(params, sel_m, ns, gate="ltd * plastic", amplitude="ltd_amp",
                             gated_noise=gated_noise)
        if plasticity.gates_on == "both":  # the G- pulse in the presynaptic update
            pre += select + _copy_in(minus, sel_m) + [ltd] + _copy_out(minus, sel_m, params)
            pre.append(update_eff)
            ltd = ""
    sweep = rcode = None
    if refresh is not None:
        model.append(refresh_model(refresh))
        kw = {"gate": "int(plastic > 0)", "drift": drift, "read_noise": read_noise,
              "temperature": temperature, "gated_noise": gated_noise}
        if refresh.period is None:  # the pair just written
            rcode = refresh_code(refresh, params, ns, sel_p, sel_m, **kw)
        else:  # every pair, by the sweep; the gate made per synapse (Brian2 allows writes
            # of scalar temporaries only before the first vector write of a block)
            kw["gate"] = "int(plastic > 0) * int(arb >= 0)"
            sweep = "\n".join([refresh_code(refresh, params, ns, p, m, **kw)
                               for p, m in zip(plus, minus)] + [update_eff])
    if plasticity is not None or rcode is not None:
        if plasticity is not None:
            # weight normalisation: the weight is the mean pair, one pulse moves it 1/N
            post.append(plasticity.on_post().replace("Gp - Gm", mean_w).replace(
                "/ stdp_norm_step", f"/ (stdp_norm_step / {n})"))
        post += select + _copy_in(plus, sel_p) + _copy_in(minus, sel_m)
        post += [ltp, ltd, rcode or ""]
        post += _copy_out(plus, sel_p, params) + _copy_out(minus, sel_m, params)
        end = plasticity.on_post_end().replace("Gp - Gm", mean_w) if plasticity else ""
        # the counter advances after each update event of the neuron (not when frozen)
        post += [update_eff, end, f"arb = (arb + int(plastic > 0)) % {n}"]
    return {"refresh_sweep": sweep, "update_efficacy": update_eff,
            "model": "\n".join(m for m in model if m),
            "on_pre": "\n".join(c for c in pre if c),
            "on_post": "\n".join(c for c in post if c) or None}
