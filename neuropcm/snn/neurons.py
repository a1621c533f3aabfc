"""Output neurons for PCM networks: a LIF layer with exact winner-take-all and
homeostasis, and the phase-change neuron of Tuma et al. (2016)."""

from __future__ import annotations

import numpy as np
from brian2 import Hz, NeuronGroup, Quantity, Synapses, ms, mV, second, siemens, volt

from ..checks import count
from ..devices.presets import get_preset
from ..errors import ParameterError
from ._checks import check_quantity as _q
from .models import DeviceVars, gated_normal, reset_code, set_pulse_code
from .synapses import device_init_code

_HOMEOSTASIS = ("target_rate", "adaptive", None)


class WTALayer(NeuronGroup):
    """Leaky integrate-and-fire output layer with exact winner-take-all and homeostasis.

    Exact WTA (physics.md section 7): a neuron whose ``v`` exceeds its threshold
    ``v_th = v_thresh + theta`` in a time step becomes a *candidate*; candidates compare
    margins ``v - v_th`` through a zero-delay ``Synapses`` pathway on the ``cand`` event,
    and only the candidate with the largest margin (ties: lowest index) fires. The spike
    threshold is evaluated after the synapses, so this gives the same spikes in the numpy,
    Cython and cpp_standalone targets. The neuron index is kept in the constant variable
    ``idx`` (synaptic code never reads ``i``).

    Every quantity is checked for its dimension, finiteness and sign when the layer is made.

    Parameters
    ----------
    N : int
        Number of neurons.
    tau_m : time
        Membrane time constant, positive (``dv/dt = (v_rest - v)/tau_m``, input adds to
        ``v``).
    v_rest, v_reset, v_thresh : voltage
        Resting potential, reset value after a spike, base threshold (any sign).
    refractory : time
        Refractory period of the winner (non-negative).
    inhibition : "reset", voltage or None
        What the other neurons get when one fires: ``"reset"`` puts their ``v`` to
        ``v_reset`` and holds them for ``t_inhibit`` (Querlioz/Sidler style); a voltage
        (non-negative) is subtracted from their ``v``; ``None`` leaves them alone.
    t_inhibit : time
        How long the others are held after a winner spike (with ``"reset"``; non-negative).
    homeostasis : "target_rate", "adaptive" or None
        ``"target_rate"``: activity trace ``dA/dt = -A/tau_homeo`` (``A += 1/tau_homeo``
        per spike, an estimate of the rate) and
        ``dtheta/dt = eta_homeo (A - rate_target) / (rate_target tau_homeo)``: neurons
        firing above the target raise their threshold, silent ones lower it, so all take
        part (a neuron at twice the target rate raises its threshold by ``eta_homeo`` per
        ``tau_homeo``). With ``rate_cap`` the drive is bounded:
        ``dtheta/dt = eta_homeo (min(A / rate_target, rate_cap) - 1) / tau_homeo``, so a
        burst of spikes raises the threshold by at most ``(rate_cap - 1) eta_homeo`` per
        ``tau_homeo`` (unbounded, one spike adds ``eta_homeo / (rate_target tau_homeo)``,
        which a silent neuron takes ``1 / rate_target`` to undo).
        ``"adaptive"`` (Diehl & Cook 2015): ``theta += theta_plus`` per spike and decays
        with ``tau_theta``.
    rate_target : frequency
        Target firing rate of each neuron (``"target_rate"``; positive).
    tau_homeo, eta_homeo : time, voltage
        Homeostasis time constant (positive) and rate (non-negative).
    rate_cap : float or None
        ``"target_rate"``: the activity, in multiples of ``rate_target``, above which the
        threshold rises no faster (> 1; None: unbounded).
    theta_plus, tau_theta : voltage, time
        Adaptive threshold step (non-negative) and decay time constant (positive).
    theta_min : voltage or None
        Lower bound of ``theta``.
    dt : time or None
        Time step of the layer (positive).
    gated_noise : bool
        Draw the summed read noise of a step (see ``PCMSynapses(noise_to=)``) only for
        neurons that had synaptic reads in it (default; same distribution). False: one
        draw per neuron and step, the random stream of earlier versions.

    Notes
    -----
    The competition and inhibition ``Synapses`` are contained objects of the layer, so
    Brian2's magic ``run()`` and ``Network(layer)`` include them. With the
    ``cpp_standalone`` device and an explicit ``Network``, also add
    ``*layer.auxiliary_objects`` (that device only declares Synapses that are direct members
    of the network).
    """

    def __init__(self, N, tau_m=20 * ms, v_rest=0 * mV, v_reset=0 * mV, v_thresh=20 * mV,
                 refractory=2 * ms, inhibition="reset", t_inhibit=5 * ms,
                 homeostasis="target_rate", rate_target=None, tau_homeo=1 * second,
                 eta_homeo=1 * mV, theta_plus=0.05 * mV, tau_theta=1e4 * second,
                 theta_min=None, name="wta*", dt=None, clock=None, gated_noise=True,
                 rate_cap=None):
        N = count(N, "N", lo=1)
        _q(tau_m, second, "tau_m", "20*ms", "positive")
        for nm, val in (("v_rest", v_rest), ("v_reset", v_reset), ("v_thresh", v_thresh)):
            _q(val, volt, nm, "-65*mV")
        _q(refractory, second, "refractory", "2*ms", "nonnegative")
        _q(t_inhibit, second, "t_inhibit", "5*ms", "nonnegative")
        if homeostasis not in _HOMEOSTASIS:
            raise ParameterError(f"homeostasis = {homeostasis!r}; known: {list(_HOMEOSTASIS)}")
        if homeostasis == "target_rate":
            if rate_target is None:
                raise ParameterError("homeostasis='target_rate' needs rate_target, e.g. "
                                     "rate_target=2*Hz")
        if rate_target is not None:
            _q(rate_target, Hz, "rate_target", "2*Hz", "positive")
        _q(tau_homeo, second, "tau_homeo", "1*second", "positive")
        if rate_cap is not None:
            if isinstance(rate_cap, (Quantity, bool)) or not isinstance(rate_cap, (int, float)) \
                    or not np.isfinite(rate_cap) or rate_cap <= 1:
                raise ParameterError(f"rate_cap = {rate_cap!r} must be a number > 1 (a multiple "
                                     f"of rate_target), e.g. rate_cap=3, or None (unbounded)")
            if homeostasis != "target_rate":
                raise ParameterError(f"rate_cap = {rate_cap!r} bounds homeostasis='target_rate'; "
                                     f"homeostasis is {homeostasis!r}: drop rate_cap")
        _q(eta_homeo, volt, "eta_homeo", "1*mV", "nonnegative")
        _q(theta_plus, volt, "theta_plus", "0.05*mV", "nonnegative")
        _q(tau_theta, second, "tau_theta", "1e4*second", "positive")
        if dt is not None:
            _q(dt, second, "dt", "0.5*ms", "positive")
        if theta_min is not None:
            _q(theta_min, volt, "theta_min", "-5*mV")
        if isinstance(inhibition, str) and inhibition == "reset":
            pass
        elif isinstance(inhibition, Quantity):
            _q(inhibition, volt, "inhibition", "5*mV", "nonnegative")
        elif inhibition is not None:
            raise ParameterError(f"inhibition = {inhibition!r} must be 'reset', a voltage or None")
        eqs = ["dv/dt = (v_rest - v) / tau_m : volt (unless refractory)",
               "v_th = v_thresh + theta : volt",
               "idx : integer (constant)", "beaten : integer", "is_cand : integer",
               "t_inh : second",
               "read_var : volt**2  # read-noise variance of this step's inputs (noise_to)",
               "wsum : siemens  # sum of G+ - G- of the inputs at the last update",
               "wsum_acc : siemens  # ... being summed by the synapses' update"]
        reset = ["v = v_reset", "wsum = wsum_acc", "wsum_acc = 0*siemens"]
        # homeostasis_on (shared): 0 freezes the thresholds, e.g. during evaluation
        eqs.append("homeostasis_on : 1 (shared)")
        if homeostasis == "target_rate":
            drive = ("(A - rate_target) / (rate_target * tau_homeo)" if rate_cap is None else
                     "(clip(A / rate_target, 0, rate_cap) - 1) / tau_homeo")
            eqs += ["dA/dt = -A / tau_homeo : Hz",
                    f"dtheta/dt = homeostasis_on * eta_homeo * {drive} : volt"]
            reset.append("A += 1 / tau_homeo")
        elif homeostasis == "adaptive":
            eqs += ["dtheta/dt = -homeostasis_on * theta / tau_theta : volt"]
            reset.append("theta += homeostasis_on * theta_plus")
        else:
            eqs += ["theta : volt"]
        ns = dict(tau_m=tau_m, v_rest=v_rest, v_reset=v_reset, v_thresh=v_thresh,
                  tau_homeo=tau_homeo, eta_homeo=eta_homeo, rate_target=rate_target,
                  theta_plus=theta_plus, tau_theta=tau_theta, t_ref=refractory,
                  t_inhibit=t_inhibit, rate_cap=None if rate_cap is None else float(rate_cap))
        ns = {k: v for k, v in ns.items() if v is not None}
        kw = {"dt": dt} if dt is not None else {}
        if clock is not None:
            kw["clock"] = clock
        super().__init__(
            N, "\n".join(eqs), threshold="is_cand == 1 and beaten == 0 and v > v_th",
            reset="\n".join(reset),
            refractory="(t - lastspike) < t_ref or (t - t_inh) < t_inhibit",
            events={"cand": "v > v_th and not_refractory"}, namespace=ns,
            method="exponential_euler",  # exact for v and A; theta (slow) by Euler
            name=name, **kw)
        self.set_event_schedule("spike", "after_synapses")
        self.run_on_event("cand", "is_cand = 1", when="before_synapses")
        self.idx = "i"
        self.t_inh = "-1e9*second"
        self.homeostasis_on = 1.0
        for attr in ("homeostasis", "competition", "inhibition_synapses", "auxiliary_objects"):
            self.add_attribute(attr)
        self.homeostasis = homeostasis
        # zero-delay comparison of candidates' margins (ties to the lower index)
        self.competition = Synapses(
            self, self, on_pre="beaten_post += int(v_pre - v_th_pre > v_post - v_th_post or "
                               "(v_pre - v_th_pre == v_post - v_th_post and idx_pre < idx_post))",
            on_event="cand", namespace=self.namespace, name=self.name + "_competition", **kw)
        self.competition.connect(condition="i != j")
        self.contained_objects.append(self.competition)
        self.run_regularly("is_cand = 0\nbeaten = 0", when="start", name=self.name + "_clear")
        # one Gaussian per neuron and step for the summed read noise of PCMSynapses(noise_to=
        # "read_var"), before the spike threshold sees v
        xi = gated_normal("int(read_var > 0*volt**2)", self.namespace, gated_noise)
        self.run_regularly(f"v += sqrt(read_var) * {xi}\nread_var = 0*volt**2",
                           when="after_synapses", order=-1, name=self.name + "_readnoise")
        if theta_min is not None:
            self.run_regularly("theta = clip(theta, theta_min_c, inf*volt)", when="end",
                               name=self.name + "_thetamin")
            self.namespace["theta_min_c"] = theta_min
        self.inhibition_synapses = None
        if inhibition is not None:
            on = ("v_post = v_reset\nt_inh_post = t" if inhibition == "reset"
                  else "v_post -= w_inh")
            if isinstance(inhibition, Quantity):
                self.namespace["w_inh"] = inhibition
            self.inhibition_synapses = Synapses(self, self, on_pre=on, namespace=self.namespace,
                                                name=self.name + "_inhibition", **kw)
            self.inhibition_synapses.connect(condition="i != j")
            self.contained_objects.append(self.inhibition_synapses)
        self.auxiliary_objects = [o for o in (self.competition, self.inhibition_synapses)
                                  if o is not None]


class PhaseChangeNeurons(NeuronGroup):
    """Phase-change neurons (Tuma et al., Nat. Nanotechnol. 11, 693 (2016)).

    The membrane state is the conductance of one PCM device per neuron (variables as
    :class:`~neuropcm.snn.models.DeviceVars` with no suffix: ``G``, ``P``, ``tprog``, ...).
    Each input event is a crystallising SET pulse whose relative amplitude is the input
    strength (the increment scales linearly with it -- assumed, physics.md section 1); the
    neuron fires when ``G`` exceeds ``G_threshold`` and is RESET, which re-amorphises the
    cell to a random state. The stochastic SET increments and RESET levels make the
    inter-spike intervals random.

    Parameters
    ----------
    N : int
        Number of neurons.
    preset : str or DeviceParams
        Device model (a pulsed preset, default ``"nandakumar2018"``).
    G_threshold : conductance
        Firing threshold (default 0.6 g_max), between the RESET level and g_max.
    dt : time or None
        Time step (positive).
    **overrides : float
        Device parameter overrides (SI), e.g. ``reset_std=0.3e-6`` for a wider RESET spread.

    Notes
    -----
    The device code is that of :mod:`neuropcm.devices` (a worn-out device is stuck, so a
    worn-out neuron stops changing). The threshold looks at the programmed conductance: no
    reads, hence no read noise, drift or temperature.
    """

    def __init__(self, N, preset="nandakumar2018", G_threshold=None, name="pcmneurons*",
                 dt=None, **overrides):
        N = count(N, "N", lo=1)
        self.device_params = p = get_preset(preset, **overrides)
        if G_threshold is None:
            G_threshold = 0.6 * p.g_max * siemens
        _q(G_threshold, siemens, "G_threshold", "6*usiemens", "positive")
        if dt is not None:
            _q(dt, second, "dt", "0.1*ms", "positive")
        if not p.reset_mean < float(G_threshold) <= p.g_max:
            raise ParameterError(f"G_threshold = {G_threshold!r} must lie between the RESET level"
                                 f" {p.reset_mean!r} S and g_max {p.g_max!r} S")
        self.vars = v = DeviceVars.with_suffix("")
        kw = {"dt": dt} if dt is not None else {}
        ns = {"G_threshold": G_threshold}
        reset = reset_code(p, v, ns)
        init = device_init_code(p, v, ns)
        super().__init__(N, v.equations(p), threshold="G > G_threshold", reset=reset,
                         namespace=ns, name=name, **kw)
        for var, expr in init.items():
            setattr(self, var, expr)

    def input_synapses(self, source, name="pcminput*"):
        """Synapses from ``source`` (not yet connected): each presynaptic spike is a SET pulse
        on the target neuron's device, of relative amplitude ``w`` (a per-synapse variable:
        set it after ``connect``; 0 means no pulse)."""
        post = DeviceVars(**{f: f"{getattr(self.vars, f)}_post" for f in
                             ("G", "P", "t_prog", "nu", "f_set", "n_set", "n_reset", "energy")})
        ns = {}
        S = Synapses(source, self, model="w : 1",
                     on_pre=set_pulse_code(self.device_params, post, ns, gate="1", amplitude="w"),
                     namespace=ns, name=name)
        return S
