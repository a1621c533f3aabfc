"""Refresh of saturated differential pairs in the Brian2 engine.

:class:`~neuropcm.devices.refresh.ThresholdRefresh` is the devices' rule, shared with the
crossbar: its selection and pulse count come from there as Brian2 expressions, and this
module adds what the Brian2 engine does around them (reading the devices, RESET and the
open-loop SET pulses of its device code). :class:`TruncateRefresh` is a Brian2-only rule.
The rules selectable by name (``refresh="truncate"``) are the registry
:data:`REFRESH_RULES` (the Brian2 engine's: a rule needs Brian2 code).
"""

from __future__ import annotations

from brian2 import joule

from ..checks import count
from ..devices import physics as ph
from ..devices.params import DeviceParams
from ..devices.refresh import RefreshRule, ThresholdRefresh
from ..errors import ParameterError
from ..registry import Registry
from ._chain import chain_functions
from .models import DeviceVars, read_expr, reset_code, set_pulse_code

__all__ = ["Refresh", "ThresholdRefresh", "TruncateRefresh", "REFRESH_RULES", "refresh_code",
           "refresh_model", "resolve_refresh"]


class Refresh:
    """A Brian2-only refresh rule: code run after plasticity (or, with a ``period``, by a
    ``run_regularly`` sweep over all synapses)."""

    period = None

    def code(self, params: DeviceParams, ns: dict, plus: DeviceVars, minus: DeviceVars,
             gate: str = "1") -> str:
        """Abstract code; ``gate`` (0/1 expression) enables the refresh (0: frozen)."""
        raise NotImplementedError

    def model(self) -> str:
        """Brian2 model lines of the rule's own synaptic variables (counters, state),
        appended to the synapse's equations by :func:`refresh_model`.

        Returns
        -------
        str
            Equation lines, newline-separated; ``""`` (the base rule): none.
        """
        return ""


class TruncateRefresh(Refresh):
    """CEA N2D2 "truncate" refresh (physics.md section 4b), on the programmed conductances.

    Every ``every`` postsynaptic spikes (an integer >= 1): when one device is more than
    twice the other, only the dominated (smaller) one is RESET; otherwise both are RESET.
    """

    def __init__(self, every=20):
        self.every = count(every, "every", lo=1)

    def code(self, params, ns, plus, minus, gate="1"):
        return "\n".join([
            "npost += 1",
            f"rf = ({gate}) * int(npost % {self.every} == 0)",
            f"rf_p = rf * int(not ({plus.G} > 2 * {minus.G}))",
            f"rf_m = rf * int(not ({minus.G} > 2 * {plus.G}))",
            reset_code(params, plus, ns, gate="rf_p"),
            reset_code(params, minus, ns, gate="rf_m"),
            "nrefresh += rf",
        ])

    def model(self):
        """Two integer counters per synapse: ``npost``, the postsynaptic spikes seen (a
        refresh every ``every``-th), and ``nrefresh``, the refreshes applied."""
        return "npost : integer\nnrefresh : integer"


def _check_rule(name: str, cls) -> None:
    if not (isinstance(cls, type) and issubclass(cls, (Refresh, ThresholdRefresh))):
        raise ParameterError(f"Brian2 refresh rule {name!r}: {cls!r} is neither a Refresh "
                             f"nor a ThresholdRefresh subclass; register the class itself")


#: The Brian2 engine's named refresh rules: ``refresh="truncate"`` is ``TruncateRefresh()``.
REFRESH_RULES = Registry("Brian2 refresh rule",
                         how="neuropcm.snn.refresh.REFRESH_RULES.register(name, cls)",
                         check=_check_rule)
REFRESH_RULES.register("threshold", ThresholdRefresh)
REFRESH_RULES.register("truncate", TruncateRefresh)
_REFRESH = REFRESH_RULES  # the former private name


def resolve_refresh(refresh):
    """None, a :class:`ThresholdRefresh`, a :class:`Refresh` or a rule name of
    :data:`REFRESH_RULES`."""
    if refresh is None or isinstance(refresh, (Refresh, ThresholdRefresh)):
        return refresh
    if isinstance(refresh, RefreshRule):
        raise ParameterError(f"refresh = {refresh!r} has no Brian2 form; the Brian2 engine "
                             f"takes ThresholdRefresh, TruncateRefresh or a Refresh subclass")
    if isinstance(refresh, str):
        return REFRESH_RULES.build(refresh, "refresh")
    raise ParameterError(f"refresh = {refresh!r} must be None, a rule name "
                         f"{list(REFRESH_RULES)} or a refresh rule object")


def refresh_model(refresh) -> str:
    """Model lines of a resolved rule's Brian2 variables."""
    return "nrefresh : integer" if isinstance(refresh, ThresholdRefresh) else refresh.model()


def refresh_code(refresh, params: DeviceParams, ns: dict, plus: DeviceVars, minus: DeviceVars,
                 gate: str = "1", drift: bool = True, read_noise: bool = True,
                 temperature: float | None = None, gated_noise: bool = True) -> str:
    """Abstract code of a resolved refresh rule, enabled by the 0/1 expression ``gate``.

    For :class:`ThresholdRefresh` with ``reads="noisy"`` the devices are read as the
    synapse reads them (``drift``, ``read_noise``, ``temperature``), clipped at 0 as
    :meth:`PCMArray.read`; each check counts one read of each device (and its energy).
    With ``gated_noise`` (default) random numbers are drawn only for the reads, RESETs and
    pulses that happen (the same distribution; ``False``: the random stream of earlier
    versions, one draw per possible operation).
    """
    if not isinstance(refresh, ThresholdRefresh):
        return refresh.code(params, ns, plus, minus, gate=gate)
    lines = [f"rf_on = {gate}"]
    if refresh.reads == "programmed":
        lines += [f"rf_gp = {plus.G}", f"rf_gm = {minus.G}"]
    else:
        for name, v in (("rf_gp", plus), ("rf_gm", minus)):
            rd = read_expr(params, v, ns, read_noise, drift, temperature, True,
                           gate="rf_on" if gated_noise else None)
            lines += [f"{name} = {rd}",
                      f"{v.n_read} += rf_on", f"{v.energy} += rf_on * pcm_e_read"]
    lines += [f"rf = rf_on * {refresh.brian2_select('rf_gp', 'rf_gm', refresh.reference(params))}",
              "rf_diff = rf_gp - rf_gm",
              f"rf_n = {refresh.brian2_pulses('rf_diff', params)}",
              reset_code(params, plus, ns, gate="rf", gated_noise=gated_noise),
              reset_code(params, minus, ns, gate="rf", gated_noise=gated_noise),
              # the open-loop rewrite goes to the formerly larger side: its device is copied
              # into temporaries, pulsed rf_n times, and copied back (one chain of pulses
              # instead of one per side)
              "rf_wp = rf * int(rf_diff > 0*siemens)",
              "rf_wm = rf * (1 - rf_wp)"]
    w = DeviceVars(G="rf_G", P="rf_P", t_prog="rf_tp", nu="", f_set="rf_f", n_set="rf_ns",
                   n_reset="rf_nr", energy="rf_E")
    fields = ("G", "P", "t_prog", "f_set", "n_set", "n_reset", "energy")
    for f in fields:
        p_, m_, w_ = getattr(plus, f), getattr(minus, f), getattr(w, f)
        lines.append(f"{w_} = rf_wp * {p_} + (1 - rf_wp) * {m_}")
    if gated_noise:
        lines += _chain_code(params, w, ns)
    else:  # the earlier code: pulse_cap gated pulses unrolled, a normal drawn for each
        for k in range(1, refresh.pulse_cap(params) + 1):
            lines.append(set_pulse_code(params, w, ns, gate=f"rf * int(rf_n >= {k})",
                                        gated_noise=False))
    for f in ("G", "P", "t_prog", "n_set", "energy"):
        for v, sel in ((plus, "rf_wp"), (minus, "rf_wm")):
            lines.append(f"{getattr(v, f)} = {sel} * {getattr(w, f)} + (1 - {sel}) * "
                         f"{getattr(v, f)}")
    lines.append("nrefresh += rf")
    return "\n".join(lines)


def _chain_code(params: DeviceParams, w: DeviceVars, ns: dict) -> list:
    """The rewrite's ``rf_n`` SET pulses on the device ``w`` as one loop
    (:mod:`neuropcm.snn._chain`): the pulses a writable device takes, ``rf_k``, are those
    for which ``n_set + n_reset < endurance`` still holds before each (the endurance rule
    counted ahead: ``ceil(endurance - n_set - n_reset)``, at most ``rf_n``)."""
    g_chain, p_chain = chain_functions(params, ns)
    ns["pcm_e_set"] = params.e_set * joule
    ph.WRITABLE.brian2(params, ns, n_set=w.n_set, n_reset=w.n_reset)  # pcm_endurance into ns
    return [f"rf_k = rf * int(clip(ceil(pcm_endurance - {w.n_set} - {w.n_reset}), 0, rf_n))",
            f"{w.G} = {g_chain}({w.G}, {w.P}, {w.f_set}, rf_k)",
            f"{w.P} = {p_chain}({w.P}, rf_k)",
            f"{w.t_prog} = int(rf_k > 0) * t + (1 - int(rf_k > 0)) * {w.t_prog}",
            f"{w.n_set} += rf_k",
            f"{w.energy} += rf_k * pcm_e_set"]
