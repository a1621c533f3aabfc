"""Differential 2-PCM synapses, plasticity rules and refresh rules for Brian2."""

from __future__ import annotations

import numpy as np
from brian2 import Quantity, Synapses, joule, second, siemens
from brian2.units.fundamentalunits import get_dimensions, have_same_dimensions

from ..devices import physics as ph
from ..devices.params import DeviceParams
from ..devices.presets import get_preset
from ..devices.theory import open_loop_thresholds
from ..errors import ParameterError, UnitError
from .models import (DeviceVars, drift_factor_expr, read_moments_expr, reset_code,
                     set_pulse_code)

PLUS = DeviceVars.with_suffix("p")   # G+ (LTP device)
MINUS = DeviceVars.with_suffix("m")  # G- (LTD device)
_FIELDS = {"G": "G", "P": "P", "t_prog": "t_prog", "nu": "nu", "f_set": "f_set",
           "n_set": "n_set", "n_reset": "n_reset", "energy": "energy"}
#: Brian2 variables of a PCMSynapses that hold device state (PCMArray field -> name).
SYNAPSE_DEVICE_VARS = [getattr(v, f) for v in (PLUS, MINUS) for f in _FIELDS] + ["nread"]


def cached_drift_vars():
    """G+/G- variables with cached drift factors ``dfp``/``dfm``."""
    import dataclasses

    return (dataclasses.replace(PLUS, drift_factor="dfp"),
            dataclasses.replace(MINUS, drift_factor="dfm"))


def devices_to_synapse_state(plus, minus) -> dict:
    """Brian2 variable values (SI, flat) of PCMSynapses from two PCMArrays (G+, G-)."""
    if plus.size != minus.size:
        raise ParameterError(f"G+ has {plus.size} devices, G- {minus.size}: they must match")
    out = {}
    for arr, v in ((plus, PLUS), (minus, MINUS)):
        st = arr.state_dict()["arrays"]
        for f in _FIELDS:
            out[getattr(v, f)] = st[f].ravel()
    out["nread"] = plus.state_dict()["arrays"]["n_read"].ravel()
    return out


def synapse_state_to_devices(state: dict, params, time: float = 0.0, preset="custom"):
    """Two PCMArrays (G+, G-) from PCMSynapses variable values (see
    :func:`devices_to_synapse_state`)."""
    from ..devices.array import PCMArray

    arrays = []
    for v in (PLUS, MINUS):
        arr = {f: np.asarray(state[getattr(v, f)]) for f in _FIELDS}
        n = arr["G"].size
        arr["n_read"] = np.asarray(state["nread"])
        arr = {k: a.reshape(n) for k, a in arr.items()}
        arrays.append(PCMArray.from_state(params, {
            "arrays": arr, "time": time, "temperature": params.t_ref,
            "rng_state": np.random.default_rng(0).bit_generator.state}, preset=preset))
    return tuple(arrays)


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
    p_pot, p_dep : float
        Probability that a potentiation / depression event actually applies its pulse
        (stochastic STDP, a lower effective learning rate for coarse PCM steps; default 1).
    """

    def __init__(self, dT_pot, dT_dep, p_pot=1.0, p_dep=1.0):
        self.dT_pot = _check_time(dT_pot, "dT_pot")
        self.dT_dep = _check_time(dT_dep, "dT_dep")
        if float(dT_pot) > float(dT_dep):
            raise ParameterError(f"dT_pot = {dT_pot!r} is longer than dT_dep = {dT_dep!r}; the "
                                 f"potentiation window must not exceed the depression window")
        for name, p in (("p_pot", p_pot), ("p_dep", p_dep)):
            if not 0 <= float(p) <= 1:
                raise ParameterError(f"{name} = {p!r} must be a probability in [0, 1]")
        self.p_pot, self.p_dep = float(p_pot), float(p_dep)

    def model(self):
        return "tpre : second"

    def on_pre(self):
        return "tpre = t"

    def on_post(self):
        pot = "int(t - tpre < stdp_dT_pot)"
        dep = "int(t - tpre > stdp_dT_dep)"
        if self.p_pot < 1:
            pot += f" * int(rand() < {self.p_pot!r})"
        if self.p_dep < 1:
            dep += f" * int(rand() < {self.p_dep!r})"
        return f"ltp = {pot}\nltd = {dep}\nltp_amp = 1.0\nltd_amp = 1.0"

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
    """A refresh rule for saturated differential pairs: Brian2 code run after plasticity
    (or, with a ``period``, by a ``run_regularly`` sweep over all synapses)."""

    period = None

    def code(self, params: DeviceParams, ns: dict, plus: DeviceVars = PLUS,
             minus: DeviceVars = MINUS) -> str:
        raise NotImplementedError

    def model(self) -> str:
        return ""


class ThresholdRefresh(Refresh):
    """IBM aihwkit one-sided refresh (physics.md section 4a).

    When the larger device exceeds ``upper * g_max`` and the smaller exceeds ``lower * g_max``,
    both are RESET and the difference is re-written onto one side with open-loop SET
    pulses: the number of pulses whose mean accumulation curve (computed from the device
    model) comes nearest to the old difference, at most ``max_pulses``.

    Parameters
    ----------
    upper, lower : float
        Thresholds as fractions of g_max (as :class:`neuropcm.crossbar.ThresholdRefresh`).
    max_pulses : int
        Longest open-loop rewrite.
    period : brian2 time or None
        None: checked after every plasticity event (postsynaptic spike) of a synapse. A time:
        checked for all synapses every ``period`` instead (a periodic refresh sweep, much
        cheaper when postsynaptic spikes are frequent: the unrolled rewrite is evaluated per
        check).
    """

    def __init__(self, upper=0.75, lower=0.25, max_pulses=12, period=None):
        if not 0 < lower <= upper <= 1:
            raise ParameterError(f"need 0 < lower <= upper <= 1, got lower={lower!r}, "
                                 f"upper={upper!r}")
        self.upper, self.lower, self.max_pulses = float(upper), float(lower), int(max_pulses)
        self.period = None if period is None else _check_time(period, "period")

    def code(self, params, ns, plus=PLUS, minus=MINUS):
        gmax = params.g_max
        hi, lo = f"({self.upper * gmax!r}*siemens)", f"({self.lower * gmax!r}*siemens)"
        thresholds = open_loop_thresholds(params, self.max_pulses)
        lines = [f"rf = int(({plus.G} > {hi} and {minus.G} > {lo}) or "
                 f"({minus.G} > {hi} and {plus.G} > {lo}))",
                 f"rf_diff = {plus.G} - {minus.G}"]
        # open-loop rewrite: the pulse count whose mean gain from RESET is nearest to |diff|
        # (neuropcm.devices.theory.open_loop_pulses, unrolled)
        lines.append("rf_n = " + " + ".join(
            f"int(abs(rf_diff) > ({float(th)!r}*siemens))" for th in thresholds))
        lines.append(reset_code(params, plus, ns, gate="rf"))
        lines.append(reset_code(params, minus, ns, gate="rf"))
        for k in range(1, self.max_pulses + 1):
            lines.append(set_pulse_code(params, plus, ns, gate=f"rf * int(rf_n >= {k}) * "
                                                            f"int(rf_diff > 0*siemens)"))
            lines.append(set_pulse_code(params, minus, ns, gate=f"rf * int(rf_n >= {k}) * "
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

    def code(self, params, ns, plus=PLUS, minus=MINUS):
        return "\n".join([
            "npost += 1",
            f"rf = int(npost % {self.every} == 0)",
            f"rf_p = rf * int(not ({plus.G} > 2 * {minus.G}))",
            f"rf_m = rf * int(not ({minus.G} > 2 * {plus.G}))",
            reset_code(params, plus, ns, gate="rf_p"),
            reset_code(params, minus, ns, gate="rf_m"),
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
                      read_noise: bool = True, drift: bool = True, cached_drift: bool = False,
                      noise_to: str | None = None) -> dict:
    """The model, on_pre and on_post code of a differential 2-PCM synapse.

    The efficacy of a presynaptic spike is ``w_scale * (read(G+) - read(G-))`` added to
    ``{target_var}_post``, where a read is the drifted conductance plus fresh read noise.
    Device parameters are put into ``ns`` (the group's namespace). With ``cached_drift``
    the drift factors live in the variables ``dfp``/``dfm`` (set to 1 by every write and
    re-evaluated by the caller's ``run_regularly``). With ``noise_to``, the read-noise
    variance of each event, ``w_scale**2 (var+ + var-)``, is added to that postsynaptic
    variable instead of drawing a Gaussian per event (the target adds one Gaussian of the
    summed variance per step: exact in distribution).
    """
    plus, minus = (cached_drift_vars() if cached_drift else (PLUS, MINUS))
    model = [plus.equations(), minus.equations(), "nread : integer"]
    pre = []
    post = []
    ns["pcm_e_read"] = params.e_read * joule
    e_read = "pcm_e_read"
    if plasticity is not None:
        model.append(plasticity.model())
        pre.append(plasticity.on_pre())
    # one read of each device; the two independent Gaussian read noises are drawn as one
    # Gaussian of the summed variance (exact in distribution, half the random numbers)
    mean_p, std_p = read_moments_expr(params, plus, ns, drift, gd="rd_p")
    mean_m, std_m = read_moments_expr(params, minus, ns, drift, gd="rd_m")
    pre += [f"rd_p = {mean_p}", f"rd_m = {mean_m}"]
    noise = f" + sqrt(({std_p})**2 + ({std_m})**2) * randn()" if read_noise and not noise_to \
        else ""
    pre += [f"{target_var}_post += w_scale * (rd_p - rd_m{noise})",
            "nread += 1", f"{plus.energy} += {e_read}", f"{minus.energy} += {e_read}"]
    if read_noise and noise_to:
        pre.append(f"{noise_to}_post += w_scale**2 * (({std_p})**2 + ({std_m})**2)")
    model.append("plastic : 1 (shared)")  # 0 freezes plasticity and refresh (evaluation)
    if plasticity is not None:
        ltp = set_pulse_code(params, plus, ns, gate="ltp * plastic", amplitude="ltp_amp")
        ltd = set_pulse_code(params, minus, ns, gate="ltd * plastic", amplitude="ltd_amp")
        if plasticity.gates_on == "both":
            pre += [ltd]
            post += [plasticity.on_post(), ltp]
        else:
            post += [plasticity.on_post(), ltp, ltd]
    sweep = None
    if refresh is not None:
        model.append(refresh.model())
        rcode = refresh.code(params, ns, plus, minus).replace(
            "rf = int(", "rf = int(plastic > 0) * int(", 1)
        if refresh.period is None:
            post.append(rcode)
        else:
            sweep = rcode
    return {"refresh_sweep": sweep, "model": "\n".join(m for m in model if m),
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
    drift_update : brian2 time or None
        If given, each device's drift factor is kept in a variable (``dfp``/``dfm``),
        set to 1 by every write and re-evaluated from the drift relation every
        ``drift_update`` (default None: evaluated at every read). Between updates the
        factor of an unwritten device is at most ``drift_update`` old: a relative error
        below ``nu * drift_update / t0`` (0.1 % for 1 s with the Nandakumar model).
    noise_to : str or None
        Postsynaptic variable (units of ``target_var``**2) that accumulates the read-noise
        variance of all events of a time step instead of one Gaussian per event; the
        target must add ``sqrt(var) * randn()`` once per step and clear it, as
        :class:`~neuropcm.snn.WTALayer` does with ``noise_to="read_var"``. Exact in
        distribution, and much faster for dense inputs.
    initial_pulses : (int, int) or None
        Random initial state: on ``connect``, G+ gets a uniformly random number of SET pulses
        in ``0..initial_pulses[0]`` and G- in ``0..initial_pulses[1]``.
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
                 initial_pulses=None, drift_update=None, noise_to=None, namespace=None,
                 name="pcmsynapses*", method=None, **overrides):
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
        if noise_to is not None and noise_to not in target.variables:
            raise ParameterError(f"noise_to = {noise_to!r}: the target has no such variable; "
                                 f"use a WTALayer (noise_to='read_var') or define one")
        if drift_update is not None:
            _check_time(drift_update, "drift_update")
        cached = bool(drift and drift_update is not None)
        self.plus_vars, self.minus_vars = cached_drift_vars() if cached else (PLUS, MINUS)
        code = pcm_synapses_code(self.device_params, plasticity, self.refresh, ns, target_var,
                                 read_noise, drift, cached_drift=cached, noise_to=noise_to)
        if plasticity is not None:
            ns.update(plasticity.namespace())
        ns.update(namespace or {})
        kw = {"method": method} if method else {}
        model = code["model"] + "\nk_init : integer  # initial SET pulses (scratch)"
        super().__init__(source, target, model=model, on_pre=code["on_pre"],
                         on_post=code["on_post"], namespace=ns, name=name, **kw)
        if code["refresh_sweep"] is not None:
            self.run_regularly(code["refresh_sweep"], dt=self.refresh.period, when="end",
                               name=self.name + "_refresh")
        if cached:
            vp, vm = cached_drift_vars()
            self.run_regularly(
                f"{vp.drift_factor} = {drift_factor_expr(self.device_params, vp, ns)}\n"
                f"{vm.drift_factor} = {drift_factor_expr(self.device_params, vm, ns)}",
                dt=drift_update, when="start", name=self.name + "_drift")
        self.add_attribute("initial_pulses")
        self.initial_pulses = None
        if initial_pulses is not None:
            n_p, n_m = (int(x) for x in initial_pulses)
            if n_p < 0 or n_m < 0:
                raise ParameterError(f"initial_pulses = {initial_pulses!r} must be two "
                                     f"non-negative integers")
            self.initial_pulses = (n_p, n_m)
        self.add_attribute("brian_code")
        self.brian_code = code

    def connect(self, *args, **kwargs):
        """Connect as :meth:`brian2.Synapses.connect`; new devices are put in the RESET
        state with their device-to-device parameters drawn."""
        super().connect(*args, **kwargs)
        self.plastic = 1.0
        for v in (PLUS, MINUS):
            for var, expr in device_init_code(self.device_params, v, self.namespace).items():
                setattr(self, var, expr)
        if isinstance(self.plasticity, TwoWindowSTDP):
            self.tpre = "-1e9*second"  # never spiked: "older than dT_dep"
        if self.initial_pulses is not None:
            self._apply_initial_pulses()

    def _apply_initial_pulses(self):
        """Uniformly random 0..n SET pulses on each device, through the device model's SET
        code, as variable assignments (they run at initialisation in every target)."""
        for n, v in zip(self.initial_pulses, (self.plus_vars, self.minus_vars)):
            self.k_init = f"int(rand() * {n + 1})"
            for k in range(1, n + 1):
                lines = set_pulse_code(self.device_params, v, self.namespace,
                                       gate=f"int(k_init >= {k})").split("\n")
                gate_name, gate_expr = lines[0].split(" = ", 1)
                for line in lines[1:]:
                    line = line.replace(gate_name, f"({gate_expr})")
                    if " += " in line:
                        var, expr = line.split(" += ", 1)
                        expr = f"{var} + ({expr})"
                    else:
                        var, expr = line.split(" = ", 1)
                    setattr(self, var, expr)

    def to_devices(self):
        """The G+ and G- devices as two :class:`~neuropcm.devices.PCMArray` (flat, in
        synapse order), with their full state -- for HDF5 and the crossbar."""
        state = {name: np.asarray(getattr(self, name + "_")[:]) for name in SYNAPSE_DEVICE_VARS}
        return synapse_state_to_devices(state, self.device_params, float(self.t / second),
                                        self.preset)
