"""Plasticity rules of differential 2-PCM synapses: Brian2 code setting the LTP/LTD gates."""

from __future__ import annotations

from brian2 import second, siemens

from ..errors import ParameterError
from ._checks import check_number, check_quantity


class Plasticity:
    """A plasticity rule: Brian2 code that sets the 0/1 gates ``ltp`` and ``ltd`` (and the
    relative pulse amplitudes ``ltp_amp``/``ltd_amp``) on which the synapse applies SET
    pulses to G+ and G-.

    Subclasses define :meth:`model`, :meth:`on_pre` (code run before the efficacy read on a
    presynaptic spike), :meth:`on_post` and :meth:`namespace`.
    """

    gates_on = "post"  # "pre" or "post": where the gates are computed

    def model(self) -> str:
        """Brian2 model lines of the rule's own synaptic variables (traces, spike times).

        :class:`~neuropcm.snn.synapses.PCMSynapses` appends them to the synapse's
        equations. The gates ``ltp``, ``ltd``, ``ltp_amp`` and ``ltd_amp`` are temporaries
        of the event code and need no line here.

        Returns
        -------
        str
            Equation lines, newline-separated; ``""`` (the base rule): none.
        """
        return ""

    def on_pre(self) -> str:
        """Brian2 code run on every presynaptic spike, before the efficacy read.

        A rule with ``gates_on = "both"`` sets ``ltd``/``ltd_amp`` here: the synapse applies
        the G- pulse after the efficacy read, in the same presynaptic update.

        Returns
        -------
        str
            Abstract code statements; ``""`` (the base rule): nothing.
        """
        return ""

    def on_post(self) -> str:
        """Brian2 code run on every postsynaptic spike, before the SET pulses it gates.

        It sets ``ltp``/``ltp_amp`` (and, with ``gates_on = "post"``, ``ltd``/``ltd_amp``
        too); the synapse then applies a SET pulse to G+ where ``ltp`` is 1 and to G- where
        ``ltd`` is 1, each scaled by its amplitude, unless the synapse is frozen
        (``plastic = 0``).

        Returns
        -------
        str
            Abstract code statements; ``""`` (the base rule): nothing.
        """
        return ""

    def on_post_end(self) -> str:
        """Code run at the end of a postsynaptic update (after the writes)."""
        return ""

    def namespace(self) -> dict:
        """Constants the rule's code refers to by name, added to the synapse's namespace.

        Returns
        -------
        dict
            Name -> value (Brian2 quantities where the value has a unit); ``{}`` (the base
            rule): none.
        """
        return {}


class TwoWindowSTDP(Plasticity):
    """Modified two-window STDP of Sidler et al. (ICANN 2017).

    On a postsynaptic spike at ``t_j``, a synapse whose input last spiked at ``t_i`` is
    potentiated (one SET pulse on G+) if ``t_j - t_i < dT_pot``, depressed (one SET pulse
    on G-) if ``t_j - t_i > dT_dep`` (also when the input never spiked), and left alone
    otherwise.

    Parameters
    ----------
    dT_pot, dT_dep : brian2 time
        Potentiation and depression windows, finite, ``0 <= dT_pot <= dT_dep``.
    p_pot, p_dep : float
        Probability that a potentiation / depression event actually applies its pulse
        (stochastic STDP, a lower effective learning rate for coarse PCM steps; default 1).
    pre_time : str or None
        Name of a presynaptic variable holding the time of the neuron's last spike (e.g.
        ``tlast : second`` with reset ``tlast = t``; never spiked: a large negative time).
        All synapses of a presynaptic neuron share it, so the synapses need no ``tpre`` of
        their own and a presynaptic spike writes nothing per synapse. None (default): a
        per-synapse ``tpre`` set by each presynaptic spike.
    norm_target, norm_step : brian2 conductance or None
        Weight normalisation as PCM pulses (after Diehl & Cook 2015, who rescale each
        neuron's input weights to a fixed sum): the target keeps ``wsum``, the sum of
        ``G+ - G-`` over its synapses at its last update (a :class:`WTALayer` does). When it
        exceeds ``norm_target``, each synapse with ``G+ > G-`` also gets a depression
        pulse (SET on G-) with probability
        ``clip(norm_rate (wsum - norm_target)/wsum (G+ - G-)/norm_step, 0, 1)``: in
        expectation each weight shrinks in proportion to itself, as a multiplicative
        rescaling, when ``norm_step`` is the conductance one pulse adds. None: off.
    norm_rate : float
        Fraction of the excess removed per update (0..1].
    """

    def __init__(self, dT_pot, dT_dep, p_pot=1.0, p_dep=1.0, pre_time=None,
                 norm_target=None, norm_step=None, norm_rate=1.0):
        self.dT_pot = check_quantity(dT_pot, second, "dT_pot", "5*ms", "nonnegative")
        self.dT_dep = check_quantity(dT_dep, second, "dT_dep", "10*ms", "nonnegative")
        if float(dT_pot) > float(dT_dep):
            raise ParameterError(f"dT_pot = {dT_pot!r} is longer than dT_dep = {dT_dep!r}; the "
                                 f"potentiation window must not exceed the depression window")
        self.p_pot = check_number(p_pot, "p_pot", 0.0, 1.0)
        self.p_dep = check_number(p_dep, "p_dep", 0.0, 1.0)
        if pre_time is not None and not (isinstance(pre_time, str) and
                                         pre_time.isidentifier()):
            raise ParameterError(f"pre_time = {pre_time!r} must be the name of a presynaptic "
                                 f"variable (e.g. 'tlast') or None")
        self.pre_time = pre_time
        self.norm_target = self.norm_step = None
        if norm_target is not None:
            self.norm_target = check_quantity(norm_target, siemens, "norm_target",
                                              "60*usiemens", "positive")
            if norm_step is None:
                raise ParameterError("norm_target needs norm_step, the conductance one "
                                     "depression pulse adds (e.g. norm_step=0.5*usiemens)")
            self.norm_step = check_quantity(norm_step, siemens, "norm_step", "0.5*usiemens",
                                            "positive")
        self.norm_rate = check_number(norm_rate, "norm_rate", 0.0, 1.0)
        self.post_variables = ("wsum", "wsum_acc") if norm_target is not None else ()

    def on_post_end(self):
        return "wsum_acc_post += Gp - Gm" if self.norm_target is not None else ""

    def model(self):
        """``tpre : second``, the per-synapse time of the input's last spike, when
        ``pre_time`` is None; ``""`` with ``pre_time`` (the presynaptic group keeps it).

        :meth:`~neuropcm.snn.synapses.PCMSynapses.connect` starts ``tpre`` at a large
        negative time (never spiked, so a postsynaptic spike before any input spike
        depresses).
        """
        return "tpre : second" if self.pre_time is None else ""

    def on_pre(self):
        """``tpre = t`` (record the input spike time) when ``pre_time`` is None; ``""`` with
        ``pre_time``: a presynaptic spike then writes nothing per synapse."""
        return "tpre = t" if self.pre_time is None else ""

    def on_post(self):
        """The two-window gates, set on each postsynaptic spike at ``t``.

        ``ltp = int(t - tpre < stdp_dT_pot)`` and ``ltd = int(t - tpre > stdp_dT_dep)``
        (``tpre`` is ``{pre_time}_pre`` with ``pre_time``), each also gated by a ``rand()``
        draw when ``p_pot``/``p_dep`` is below 1. With ``norm_target``, ``ltd`` is also set
        with the normalisation probability of the class docstring. Both amplitudes are 1:
        one full SET pulse per event.

        Returns
        -------
        str
            Abstract code setting ``ltp``, ``ltd``, ``ltp_amp`` and ``ltd_amp``.
        """
        tpre = "tpre" if self.pre_time is None else f"{self.pre_time}_pre"
        pot = f"int(t - {tpre} < stdp_dT_pot)"
        dep = f"int(t - {tpre} > stdp_dT_dep)"
        if self.p_pot < 1:
            pot += f" * int(rand() < {self.p_pot!r})"
        if self.p_dep < 1:
            dep += f" * int(rand() < {self.p_dep!r})"
        if self.norm_target is not None:
            big = "clip(wsum_post, stdp_norm_target, inf*siemens)"
            p = (f"clip({self.norm_rate!r} * ({big} - stdp_norm_target) / {big} * "
                 f"(Gp - Gm) / stdp_norm_step, 0, 1)")
            dep = f"int(({dep}) + int(rand() < {p}) > 0)"
        return f"ltp = {pot}\nltd = {dep}\nltp_amp = 1.0\nltd_amp = 1.0"

    def namespace(self):
        """The windows ``stdp_dT_pot`` and ``stdp_dT_dep`` (brian2 times), plus
        ``stdp_norm_target`` and ``stdp_norm_step`` (conductances) with ``norm_target``;
        the probabilities and ``norm_rate`` are written into the code as literals."""
        ns = {"stdp_dT_pot": self.dT_pot, "stdp_dT_dep": self.dT_dep}
        if self.norm_target is not None:
            ns.update(stdp_norm_target=self.norm_target, stdp_norm_step=self.norm_step)
        return ns

    def __repr__(self):
        return f"TwoWindowSTDP(dT_pot={self.dT_pot!r}, dT_dep={self.dT_dep!r})"


class PairSTDP(Plasticity):
    """Classic pair-based STDP with exponential traces, for comparison.

    Each pre spike bumps a presynaptic trace ``apre`` and depresses (a SET pulse on G-)
    with relative amplitude ``A_dep * apost``; each post spike bumps ``apost`` and
    potentiates (G+) with amplitude ``A_pot * apre``. Amplitudes are capped at 1 and
    pulses below ``min_amp`` are skipped. Traces decay with ``tau_pre``/``tau_post``
    (finite, positive); ``A_pot``, ``A_dep`` are finite and non-negative, ``min_amp`` in
    [0, 1].
    """

    gates_on = "both"

    def __init__(self, tau_pre, tau_post, A_pot=1.0, A_dep=1.0, min_amp=0.05):
        self.tau_pre = check_quantity(tau_pre, second, "tau_pre", "20*ms", "positive")
        self.tau_post = check_quantity(tau_post, second, "tau_post", "20*ms", "positive")
        self.A_pot = check_number(A_pot, "A_pot", 0.0)
        self.A_dep = check_number(A_dep, "A_dep", 0.0)
        self.min_amp = check_number(min_amp, "min_amp", 0.0, 1.0)

    def model(self):
        """The two traces, per synapse: ``apre`` and ``apost`` (dimensionless), decaying
        with ``stdp_tau_pre``/``stdp_tau_post`` as event-driven equations (Brian2 updates
        them only on the synapse's pre- and postsynaptic spikes)."""
        return ("dapre/dt = -apre/stdp_tau_pre : 1 (event-driven)\n"
                "dapost/dt = -apost/stdp_tau_post : 1 (event-driven)")

    def on_pre(self):
        """Depression on a presynaptic spike (this rule gates on both sides):
        ``ltd_amp = clip(A_dep * apost, 0, 1)``, ``ltd = 1`` when ``ltd_amp > min_amp``
        (the synapse applies the G- pulse after the efficacy read of the same update),
        then ``apre += 1``."""
        return (f"ltd_amp = clip({self.A_dep!r} * apost, 0, 1)\n"
                f"ltd = int(ltd_amp > {self.min_amp!r})\napre += 1.0")

    def on_post(self):
        """Potentiation on a postsynaptic spike: ``ltp_amp = clip(A_pot * apre, 0, 1)``,
        ``ltp = 1`` when ``ltp_amp > min_amp``, then ``apost += 1``; ``ltd`` is left to
        :meth:`on_pre`."""
        return (f"ltp_amp = clip({self.A_pot!r} * apre, 0, 1)\n"
                f"ltp = int(ltp_amp > {self.min_amp!r})\napost += 1.0")

    def namespace(self):
        """The trace time constants ``stdp_tau_pre`` and ``stdp_tau_post`` (brian2 times);
        ``A_pot``, ``A_dep`` and ``min_amp`` are written into the code as literals."""
        return {"stdp_tau_pre": self.tau_pre, "stdp_tau_post": self.tau_post}
