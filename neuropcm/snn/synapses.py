"""Differential 2-PCM synapses, plasticity rules and refresh rules for Brian2."""

from __future__ import annotations

import numpy as np
from brian2 import Quantity, Synapses, joule, second, siemens
from brian2.units.fundamentalunits import get_dimensions, have_same_dimensions

from ..devices import physics as ph
from ..devices.params import DeviceParams
from ..devices.presets import get_preset
from ..devices.theory import accumulation_moments
from ..errors import ParameterError, UnitError
from .models import DeviceVars, read_expr, reset_code, set_pulse_code

PLUS = DeviceVars.with_suffix("p")   # G+ (LTP device)
MINUS = DeviceVars.with_suffix("m")  # G- (LTD device)


def _check_time(value, name):
    if not isinstance(value, Quantity) or not have_same_dimensions(value, second):
        raise UnitError(f"{name} = {value!r} must be a Brian2 time, e.g. {name}=20*ms")
    if not np.isfinite(float(value)) or float(value) < 0:
        raise ParameterError(f"{name} = {value!r} must be a finite, non-negative time")
    return value


# ------------------------------------------------------------------ plasticity rules
class Plasticity:
    """A plasticity rule: Brian2 code that sets the 0/1 gates ``ltp`` and ``ltd`` (and the
    relative pulse amplitudes ``ltp_amp``/``ltd_amp``) on which the synapse applies SET
    pulses to G+ and G-.

    Subclasses define :meth:`model`, :meth:`on_pre` (code run before the efficacy read on a
    presynaptic spike), :meth:`on_post` and :meth:`namespace`.
    """

    gates_on = "post"  # "pre" or "post": where the gates are computed

    def model(self) -> str:
        return ""

    def on_pre(self) -> str:
        return ""

    def on_post(self) -> str:
        return ""

    def namespace(self) -> dict:
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
        Potentiation and depression windows, ``dT_pot <= dT_dep``.
    """

    def __init__(self, dT_pot, dT_dep):
        self.dT_pot = _check_time(dT_pot, "dT_pot")
        self.dT_dep = _check_time(dT_dep, "dT_dep")
        if float(dT_pot) > float(dT_dep):
            raise ParameterError(f"dT_pot = {dT_pot!r} is longer than dT_dep = {dT_dep!r}; the "
                                 f"potentiation window must not exceed the depression window")

    def model(self):
        return "tpre : second"

    def on_pre(self):
        return "tpre = t"

    def on_post(self):
        return ("ltp = int(t - tpre < stdp_dT_pot)\nltd = int(t - tpre > stdp_dT_dep)\n"
                "ltp_amp = 1.0\nltd_amp = 1.0")

    def namespace(self):
        return {"stdp_dT_pot": self.dT_pot, "stdp_dT_dep": self.dT_dep}

    def __repr__(self):
        return f"TwoWindowSTDP(dT_pot={self.dT_pot!r}, dT_dep={self.dT_dep!r})"


class PairSTDP(Plasticity):
    """Classic pair-based STDP with exponential traces, for comparison.

    Each pre spike bumps a presynaptic trace ``apre`` and depresses (a SET pulse on G-)
    with relative amplitude ``A_dep * apost``; each post spike bumps ``apost`` and
    potentiates (G+) with amplitude ``A_pot * apre``. Amplitudes are capped at 1 and
    pulses below ``min_amp`` are skipped. Traces decay with ``tau_pre``/``tau_post``.
    """

    gates_on = "both"

    def __init__(self, tau_pre, tau_post, A_pot=1.0, A_dep=1.0, min_amp=0.05):
        self.tau_pre = _check_time(tau_pre, "tau_pre")
        self.tau_post = _check_time(tau_post, "tau_post")
        if float(tau_pre) <= 0 or float(tau_post) <= 0:
            raise ParameterError("tau_pre and tau_post must be > 0")
        self.A_pot, self.A_dep, self.min_amp = float(A_pot), float(A_dep), float(min_amp)

    def model(self):
        return ("dapre/dt = -apre/stdp_tau_pre : 1 (event-driven)\n"
                "dapost/dt = -apost/stdp_tau_post : 1 (event-driven)")

    def on_pre(self):
        return (f"ltd_amp = clip({self.A_dep!r} * apost, 0, 1)\n"
                f"ltd = int(ltd_amp > {self.min_amp!r})\napre += 1.0")

    def on_post(self):
        return (f"ltp_amp = clip({self.A_pot!r} * apre, 0, 1)\n"
                f"ltp = int(ltp_amp > {self.min_amp!r})\napost += 1.0")

    def namespace(self):
        return {"stdp_tau_pre": self.tau_pre, "stdp_tau_post": self.tau_post}


# ------------------------------------------------------------------ refresh rules
class Refresh:
    """A refresh rule for saturated differential pairs: Brian2 code run after plasticity."""

    def code(self, params: DeviceParams, ns: dict) -> str:
        raise NotImplementedError

    def model(self) -> str:
        return ""


class ThresholdRefresh(Refresh):
    """IBM aihwkit one-sided refresh (physics.md section 4a).

    When the larger device exceeds ``high * g_max`` and the smaller exceeds ``low * g_max``,
    both are RESET and the difference is re-written onto one side with open-loop SET
    pulses: the number of pulses whose mean accumulation curve (computed from the device
    model) comes nearest to the old difference, at most ``max_pulses``.
    """

    def __init__(self, high=0.75, low=0.25, max_pulses=12):
        if not 0 < low <= high <= 1:
            raise ParameterError(f"need 0 < low <= high <= 1, got low={low!r}, high={high!r}")
        self.high, self.low, self.max_pulses = float(high), float(low), int(max_pulses)

    def code(self, params, ns):
        gmax = params.g_max
        hi, lo = f"({self.high * gmax!r}*siemens)", f"({self.low * gmax!r}*siemens)"
        mean, _ = accumulation_moments(params, self.max_pulses)
        lines = [f"rf = int(({PLUS.G} > {hi} and {MINUS.G} > {lo}) or "
                 f"({MINUS.G} > {hi} and {PLUS.G} > {lo}))",
                 f"rf_diff = {PLUS.G} - {MINUS.G}"]
        # pulses nearest to |diff| on the model's mean curve from RESET
        lines.append("rf_n = " + " + ".join(
            f"int(abs(rf_diff) > ({float(0.5 * (mean[k - 1] + mean[k]))!r}*siemens))"
            for k in range(1, self.max_pulses + 1)))
        lines.append(reset_code(params, PLUS, ns, gate="rf"))
        lines.append(reset_code(params, MINUS, ns, gate="rf"))
        for k in range(1, self.max_pulses + 1):
            lines.append(set_pulse_code(params, PLUS, ns, gate=f"rf * int(rf_n >= {k}) * "
                                                            f"int(rf_diff > 0*siemens)"))
            lines.append(set_pulse_code(params, MINUS, ns, gate=f"rf * int(rf_n >= {k}) * "
                                                             f"int(rf_diff < 0*siemens)"))
        lines.append("nrefresh += rf")
        return "\n".join(lines)

    def model(self):
        return "nrefresh : integer"


class TruncateRefresh(Refresh):
    """CEA N2D2 "truncate" refresh (physics.md section 4b).

    Every ``every`` postsynaptic spikes: when one device is more than twice the other,
    only the dominated (smaller) one is RESET; otherwise both are RESET.
    """

    def __init__(self, every=20):
        if int(every) < 1:
            raise ParameterError(f"every = {every!r} must be >= 1 postsynaptic spike")
        self.every = int(every)

    def code(self, params, ns):
        return "\n".join([
            "npost += 1",
            f"rf = int(npost % {self.every} == 0)",
            f"rf_p = rf * int(not ({PLUS.G} > 2 * {MINUS.G}))",
            f"rf_m = rf * int(not ({MINUS.G} > 2 * {PLUS.G}))",
            reset_code(params, PLUS, ns, gate="rf_p"),
            reset_code(params, MINUS, ns, gate="rf_m"),
            "nrefresh += rf",
        ])

    def model(self):
        return "npost : integer\nnrefresh : integer"


_REFRESH = {"threshold": ThresholdRefresh, "truncate": TruncateRefresh}


def _resolve_refresh(refresh):
    if refresh is None or isinstance(refresh, Refresh):
        return refresh
    if isinstance(refresh, str):
        try:
            return _REFRESH[refresh]()
        except KeyError:
            raise ParameterError(f"unknown refresh rule {refresh!r}; known: "
                                 f"{sorted(_REFRESH)} or a Refresh object") from None
    raise ParameterError(f"refresh = {refresh!r} must be None, a rule name {sorted(_REFRESH)} "
                         f"or a Refresh object")


# ------------------------------------------------------------------ the synapse
def pcm_synapses_code(params: DeviceParams, plasticity: Plasticity | None,
                      refresh: Refresh | None, ns: dict, target_var: str = "v",
                      read_noise: bool = True, drift: bool = True) -> dict:
    """The model, on_pre and on_post code of a differential 2-PCM synapse.

    The efficacy of a presynaptic spike is ``w_scale * (read(G+) - read(G-))`` added to
    ``{target_var}_post``, where a read is the drifted conductance plus fresh read noise.
    Device parameters are put into ``ns`` (the group's namespace).
    """
    def rd(v):
        if drift:
            return read_expr(params, v, ns, noise=read_noise)
        if not read_noise:
            return v.G
        std = ph.READ_STD_PULSED.brian2(params, ns, Gd=v.G) if params.model == "pulsed" else \
            ph.READ_STD_PROGRAMMED.brian2(params, ns, Gd=v.G, G=v.G, dt="(t - %s)" % v.t_prog)
        return f"({v.G} + ({std}) * randn())"

    model = [PLUS.equations(), MINUS.equations(), "nread : integer"]
    pre = []
    post = []
    ns["pcm_e_read"] = params.e_read * joule
    e_read = "pcm_e_read"
    if plasticity is not None:
        model.append(plasticity.model())
        pre.append(plasticity.on_pre())
    pre += [f"{target_var}_post += w_scale * ({rd(PLUS)} - {rd(MINUS)})",
            "nread += 1", f"{PLUS.energy} += {e_read}", f"{MINUS.energy} += {e_read}"]
    if plasticity is not None:
        if plasticity.gates_on == "both":
            pre += [set_pulse_code(params, MINUS, ns, gate="ltd", amplitude="ltd_amp")]
            post += [plasticity.on_post(),
                     set_pulse_code(params, PLUS, ns, gate="ltp", amplitude="ltp_amp")]
        else:
            post += [plasticity.on_post(),
                     set_pulse_code(params, PLUS, ns, gate="ltp", amplitude="ltp_amp"),
                     set_pulse_code(params, MINUS, ns, gate="ltd", amplitude="ltd_amp")]
    if refresh is not None:
        model.append(refresh.model())
        post.append(refresh.code(params, ns))
    return {"model": "\n".join(m for m in model if m),
            "on_pre": "\n".join(c for c in pre if c),
            "on_post": "\n".join(c for c in post if c) or None}


def device_init_code(params: DeviceParams, v: DeviceVars, ns: dict) -> dict:
    """String initialisers (work in every Brian2 target) putting fresh devices in the RESET
    state, as :class:`~neuropcm.devices.PCMArray` does."""
    init = {v.G: ph.RESET_LEVEL.brian2(params, ns, xi="randn()"), v.P: "1.0",
            v.t_prog: "0*second", v.n_set: "0", v.n_reset: "0", v.energy: "0*joule"}
    if params.model == "pulsed":
        init[v.nu] = ph.NU_DEVICE.brian2(params, ns, xi="randn()")
        init[v.f_set] = ph.F_SET_DEVICE.brian2(params, ns, xi="randn()")
    else:
        mu = ph.NU_MEAN.brian2(params, ns, Gt=v.G)
        sd = ph.NU_STD.brian2(params, ns, Gt=v.G)
        init[v.nu] = f"abs({mu} + {sd} * randn())"
        init[v.f_set] = "1.0"
    return init


class PCMSynapses(Synapses):
    """Brian2 ``Synapses`` made of differential pairs of PCM devices.

    Parameters
    ----------
    source, target : brian2 groups
        Pre- and postsynaptic groups.
    preset : str or DeviceParams
        Device model of both devices of each pair (default ``"nandakumar2018"``).
    plasticity : Plasticity or None
        E.g. :class:`TwoWindowSTDP`; LTP = SET pulse on G+, LTD = SET pulse on G-.
    refresh : None, "threshold", "truncate" or Refresh
        Refresh rule for saturated pairs.
    w_scale : brian2 quantity
        Scale from conductance to the target variable, in ``[target_var]/siemens``
        (e.g. ``1*mV/usiemens``).
    target_var : str
        Postsynaptic variable the efficacy is added to (default ``"v"``).
    read_noise, drift : bool
        Whether synaptic reads include read noise and drift.
    initial_pulses : (int, int) or None
        Random initial state: at the first time step, G+ gets a uniformly random number of
        SET pulses in ``0..initial_pulses[0]`` and G- in ``0..initial_pulses[1]`` (applied
        once per synapse; the flag ``initialised`` survives chunked/standalone reruns).
    **overrides : float
        Device parameter overrides (SI).

    Notes
    -----
    Per-synapse variables: ``Gp, Gm`` (siemens), ``Pp, Pm``, ``tprogp, tprogm``,
    ``nup, num``, ``fsetp, fsetm``, counters ``nsetp, nsetm, nresetp, nresetm``,
    ``nread``, energies ``energyp, energym`` (+ ``tpre`` for two-window STDP,
    ``nrefresh`` with refresh). New synapses start in the RESET state.
    """

    def __init__(self, source, target, preset="nandakumar2018", plasticity=None,
                 refresh=None, w_scale=None, target_var="v", read_noise=True, drift=True,
                 initial_pulses=None, namespace=None, name="pcmsynapses*", method=None,
                 **overrides):
        self.device_params = get_preset(preset, **overrides)
        self.preset = preset if isinstance(preset, str) else "custom"
        if plasticity is not None and not isinstance(plasticity, Plasticity):
            raise ParameterError(f"plasticity = {plasticity!r} must be a Plasticity rule "
                                 f"such as TwoWindowSTDP(dT_pot, dT_dep) or None")
        self.plasticity = plasticity
        self.refresh = _resolve_refresh(refresh)
        if target_var not in target.variables:
            raise ParameterError(f"target has no variable {target_var!r}; pass target_var=")
        want = target.variables[target_var].dim / get_dimensions(siemens)
        if w_scale is None or not isinstance(w_scale, Quantity) or \
                get_dimensions(w_scale) is not want:
            raise UnitError(f"w_scale = {w_scale!r} must be a Brian2 quantity in units of "
                            f"{target_var}/siemens, e.g. w_scale=1*mV/usiemens")
        ns = {"w_scale": w_scale}
        code = pcm_synapses_code(self.device_params, plasticity, self.refresh, ns, target_var,
                                 read_noise, drift)
        if plasticity is not None:
            ns.update(plasticity.namespace())
        ns.update(namespace or {})
        kw = {"method": method} if method else {}
        model = code["model"] + "\ninitialised : integer"
        super().__init__(source, target, model=model, on_pre=code["on_pre"],
                         on_post=code["on_post"], namespace=ns, name=name, **kw)
        if initial_pulses is not None:
            n_p, n_m = (int(x) for x in initial_pulses)
            if n_p < 0 or n_m < 0:
                raise ParameterError(f"initial_pulses = {initial_pulses!r} must be two "
                                     f"non-negative integers")
            lines = ["todo = int(initialised == 0)",
                     f"k_p = int(rand() * {n_p + 1})", f"k_m = int(rand() * {n_m + 1})"]
            for k in range(1, max(n_p, n_m) + 1):
                if k <= n_p:
                    lines.append(set_pulse_code(self.device_params, PLUS, ns,
                                                gate=f"todo * int(k_p >= {k})"))
                if k <= n_m:
                    lines.append(set_pulse_code(self.device_params, MINUS, ns,
                                                gate=f"todo * int(k_m >= {k})"))
            lines.append("initialised = 1")
            # a slow clock: the code runs at t = 0 (and is a no-op afterwards)
            self.run_regularly("\n".join(lines), dt=1e4 * second, when="start",
                               name=self.name + "_init")
        self.add_attribute("brian_code")
        self.brian_code = code

    def connect(self, *args, **kwargs):
        """Connect as :meth:`brian2.Synapses.connect`; new devices are put in the RESET
        state with their device-to-device parameters drawn."""
        super().connect(*args, **kwargs)
        for v in (PLUS, MINUS):
            for var, expr in device_init_code(self.device_params, v, self.namespace).items():
                setattr(self, var, expr)
        if isinstance(self.plasticity, TwoWindowSTDP):
            self.tpre = "-1e9*second"  # never spiked: "older than dT_dep"

    def to_devices(self):
        """The G+ and G- devices as two :class:`~neuropcm.devices.PCMArray` (flat, in
        synapse order), with their full state -- for HDF5 and the crossbar."""
        from ..devices.array import PCMArray

        arrays = []
        n = len(self)
        for v in (PLUS, MINUS):
            state = {"arrays": {
                "G": np.asarray(getattr(self, v.G)[:]), "P": np.asarray(getattr(self, v.P)[:]),
                "t_prog": np.asarray(getattr(self, v.t_prog)[:]),
                "nu": np.asarray(getattr(self, v.nu)[:]),
                "f_set": np.asarray(getattr(self, v.f_set)[:]),
                "n_set": np.asarray(getattr(self, v.n_set)[:]),
                "n_reset": np.asarray(getattr(self, v.n_reset)[:]),
                "n_read": np.asarray(self.nread[:]),
                "energy": np.asarray(getattr(self, v.energy)[:])},
                "time": float(self.t / second),
                "temperature": self.device_params.t_ref,
                "rng_state": np.random.default_rng(0).bit_generator.state}
            for k, a in state["arrays"].items():
                state["arrays"][k] = a.reshape(n)
            arrays.append(PCMArray.from_state(self.device_params, state, preset=self.preset))
        return tuple(arrays)
