"""Differential 2-PCM synapses for Brian2 (plasticity rules in
:mod:`neuropcm.snn.plasticity`, refresh in :mod:`neuropcm.snn.refresh`)."""

from __future__ import annotations

import numpy as np
from brian2 import Quantity, Synapses, joule, kelvin, second, siemens
from brian2.units.fundamentalunits import get_dimensions

from ..checks import count
from ..devices import physics as ph
from ..devices.params import DeviceParams
from ..devices.presets import get_preset
from ..devices.validation import as_temperature
from ..errors import ParameterError, UnitError
from ..random import check_seed
from ._checks import check_quantity
from ._multi import check_devices, multi_synapses_code, side_vars
from ._state import (EXPORT_STREAM, MINUS, PLUS, SYNAPSE_DEVICE_VARS,
                     cached_drift_vars, devices_to_synapse_state, fold_source_reads,
                     synapse_device_vars, synapse_state_to_devices, synapse_state_units)
from .models import (DeviceVars, drift_factor_expr, efficacy_code, read_moments_expr,
                     set_pulse_code)
from .plasticity import PairSTDP, Plasticity, TwoWindowSTDP  # noqa: F401  (re-exported)
from .refresh import (Refresh, ThresholdRefresh, TruncateRefresh,  # noqa: F401
                      refresh_code, refresh_model, resolve_refresh)

__all__ = ["EXPORT_STREAM", "MINUS", "PLUS", "SYNAPSE_DEVICE_VARS", "PCMSynapses",
           "cached_drift_vars", "device_init_code", "devices_to_synapse_state",
           "fold_source_reads", "pcm_synapses_code", "synapse_device_vars",
           "synapse_state_to_devices", "synapse_state_units"]


# ------------------------------------------------------------------ the synapse
def pcm_synapses_code(params: DeviceParams, plasticity: Plasticity | None,
                      refresh, ns: dict, target_var: str = "v",
                      read_noise: bool = True, drift: bool = True, cached_drift: bool = False,
                      noise_to: str | None = None, temperature: float | None = None,
                      gated_noise: bool = True, cache_efficacy: bool = False,
                      source_reads: bool = False) -> dict:
    """The model, on_pre and on_post code of a differential 2-PCM synapse.

    The efficacy of a presynaptic spike is ``w_scale * (read(G+) - read(G-))`` added to
    ``{target_var}_post``, where a read is the drifted, temperature-scaled conductance plus
    fresh read noise (``temperature`` in K; None: the reference). Device parameters are put
    into ``ns`` (the group's namespace). With ``cached_drift`` the drift factors live in the
    variables ``dfp``/``dfm`` (set to 1 by every write and re-evaluated by the caller's
    ``run_regularly``). With ``noise_to``, the read-noise variance of each event,
    ``w_scale**2 (var+ + var-)``, is added to that postsynaptic variable instead of drawing
    a Gaussian per event (the target adds one Gaussian of the summed variance per step:
    exact in distribution). ``refresh`` is a resolved rule (see
    :func:`~neuropcm.snn.refresh.resolve_refresh`) or None. ``gated_noise``: the random
    numbers of writes (and of a refresh's reads) are drawn only for the operations that
    happen (see :func:`~neuropcm.snn.models.gated_normal`). ``cache_efficacy``: the
    variables ``eff``/``effvar`` hold the read's mean and noise variance, recomputed by
    the code ``update_efficacy`` (appended to every write; the caller runs it with the
    drift update). ``source_reads``: the efficacy reads are not counted per synapse (the
    presynaptic group counts its spikes, see ``PCMSynapses(read_counter=)``).
    """
    plus, minus = (cached_drift_vars() if cached_drift else (PLUS, MINUS))
    model = [plus.equations(params), minus.equations(params)]
    pre = []
    post = []
    ns["pcm_e_read"] = params.e_read * joule
    if plasticity is not None:
        model.append(plasticity.model())
        pre.append(plasticity.on_pre())
    extra, update_eff, reads = efficacy_code(
        params, [plus], [minus], ns, drift=drift, temperature=temperature,
        read_noise=read_noise, noise_to=noise_to, target_var=target_var,
        cache_efficacy=cache_efficacy, source_reads=source_reads)
    model += extra
    pre += reads
    model.append("plastic : 1 (shared)")  # 0 freezes plasticity and refresh (evaluation)
    if plasticity is not None:
        ltp = set_pulse_code(params, plus, ns, gate="ltp * plastic", amplitude="ltp_amp",
                             gated_noise=gated_noise)
        ltd = set_pulse_code(params, minus, ns, gate="ltd * plastic", amplitude="ltd_amp",
                             gated_noise=gated_noise)
        if plasticity.gates_on == "both":
            pre += [ltd, update_eff]
            post += [plasticity.on_post(), ltp]
        else:
            post += [plasticity.on_post(), ltp, ltd]
    sweep = None
    if refresh is not None:
        model.append(refresh_model(refresh))
        rcode = refresh_code(refresh, params, ns, plus, minus, gate="int(plastic > 0)",
                             drift=drift, read_noise=read_noise, temperature=temperature,
                             gated_noise=gated_noise)
        if refresh.period is None:
            post.append(rcode)
        else:
            sweep = "\n".join(c for c in (rcode, update_eff) if c)
    if post:
        post += [update_eff, plasticity.on_post_end() if plasticity is not None else ""]
    return {"refresh_sweep": sweep, "update_efficacy": update_eff,
            "model": "\n".join(m for m in model if m),
            "on_pre": "\n".join(c for c in pre if c),
            "on_post": "\n".join(c for c in post if c) or None}


def device_init_code(params: DeviceParams, v: DeviceVars, ns: dict) -> dict:
    """String initialisers (work in every Brian2 target) putting fresh devices in the RESET
    state, as :class:`~neuropcm.devices.PCMArray` does."""
    init = {v.G: ph.RESET_LEVEL.brian2(params, ns, xi="randn()"), v.P: "1.0",
            v.t_prog: "0*second", v.n_set: "0", v.n_reset: "0", v.energy: "0*joule"}
    if v.n_read:
        init[v.n_read] = "0"
    if params.model == "pulsed":
        init[v.nu] = ph.NU_DEVICE.brian2(params, ns, xi="randn()")
        init[v.f_set] = ph.F_SET_DEVICE.brian2(params, ns, xi="randn()")
    else:
        mu = ph.NU_MEAN.brian2(params, ns, Gt=v.G)
        sd = ph.NU_STD.brian2(params, ns, Gt=v.G)
        init[v.nu] = f"abs({mu} + {sd} * randn())"
        init[v.f_set] = "1.0"
    if v.drift_factor:
        init[v.drift_factor] = "1.0"
    return init


#: Condition selecting the synapses whose devices connect() has not initialised yet.
_NEW = "pcm_initialised == 0"


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
    refresh : None, "threshold", "truncate", ThresholdRefresh or Refresh
        Refresh rule for saturated pairs. ``"threshold"`` is
        :class:`~neuropcm.devices.refresh.ThresholdRefresh` with its defaults, the same rule
        the crossbar applies (noisy reads, the device-derived cap).
    w_scale : brian2 quantity
        Scale from conductance to the target variable, in ``[target_var]/siemens``
        (e.g. ``1*mV/usiemens``); finite and positive (LTP on G+ raises the efficacy).
    target_var : str
        Postsynaptic variable the efficacy is added to (default ``"v"``).
    read_noise, drift : bool
        Whether synaptic reads (and a refresh's noisy reads) include read noise and drift.
    temperature : brian2 temperature or None
        Operating temperature of the devices (finite, positive; fixed for the object's
        life). Reads scale with the Arrhenius factor of
        :data:`~neuropcm.devices.physics.TEMPERATURE`, as :class:`~neuropcm.devices.PCMArray`
        reads; None: the model's reference temperature (factor 1, no code).
    seed : int or None
        The run's seed, used by :meth:`to_devices` for the random streams of the exported
        arrays (Brian2's own generator is seeded with ``brian2.seed``, which cannot be read
        back).
    drift_update : brian2 time or None
        If given (positive), each device's drift factor is kept in a variable
        (``dfp``/``dfm``), set to 1 by every write and re-evaluated from the drift relation
        every ``drift_update`` (default None: evaluated at every read). Between updates the
        factor of an unwritten device is at most ``drift_update`` old: a relative error
        below ``nu * drift_update / t0`` (0.1 % for 1 s with the Nandakumar model).
    noise_to : str or None
        Postsynaptic variable (units of ``target_var``**2) that accumulates the read-noise
        variance of all events of a time step instead of one Gaussian per event; the
        target must add ``sqrt(var) * randn()`` once per step and clear it, as
        :class:`~neuropcm.snn.WTALayer` does with ``noise_to="read_var"``. Exact in
        distribution, and much faster for dense inputs.
    initial_pulses : (int, int) or None
        Random initial state: on ``connect``, each new G+ gets a uniformly random number of
        SET pulses in ``0..initial_pulses[0]`` and each new G- in ``0..initial_pulses[1]``
        (non-negative integers; ``2.7`` is refused, not truncated).
    gated_noise : bool
        Draw the random numbers of SET pulses, RESETs and a refresh's reads only for the
        operations that happen (default; the same distribution as one draw per possible
        operation, far fewer draws: a refresh sweep that rewrites few pairs no longer draws
        a number for every possible pulse of every pair). False: the random stream of
        earlier versions.
    cache_efficacy : bool
        Keep each synapse's read mean (``eff``, G+ - G- drifted) and read-noise variance
        (``effvar``) in variables recomputed by every write and every drift update, so an
        event only loads them: the same values as reading the devices at the event (the
        drift factors are those cached by ``drift_update``, which this needs; pulsed device
        models only). Values set by hand on ``Gp``/``Gm`` take effect at the next drift
        update.
    read_counter : str or None
        Name of an integer variable of the source group counting its spikes (e.g.
        ``nspikes : integer`` with reset ``nspikes += 1``). Each presynaptic spike reads
        every synapse of the neuron, so the synapses then do not count their efficacy
        reads: ``nreadp``/``nreadm`` and the energies hold the other reads (a refresh's)
        and :meth:`to_devices` adds ``read_counter`` of the presynaptic neuron (and its
        read energy); see :func:`fold_source_reads`. Less memory traffic per event.
    devices_per_synapse : int
        N PCM devices on each side of the pair, 1..16 (Boybat et al. 2018; default 1, the
        2-PCM synapse): efficacy ``w_scale (sum_k G+_k - sum_k G-_k)`` (reads summed, so
        ``w_scale`` is per device), each plasticity pulse on the one device ``arb`` of
        its side, ``arb`` a counter per postsynaptic neuron advanced at its spikes, refresh
        per device pair; see :mod:`neuropcm.snn._multi`. Variables ``Gp0..``, ``arb``.
    **overrides : float
        Device parameter overrides (SI).

    Notes
    -----
    Per-synapse variables: ``Gp, Gm`` (siemens), ``Pp, Pm``, ``tprogp, tprogm``,
    ``nup, num``, ``fsetp, fsetm``, counters ``nsetp, nsetm, nresetp, nresetm``,
    ``nreadp, nreadm``, energies ``energyp, energym`` (+ ``tpre`` for two-window STDP,
    ``nrefresh`` with refresh); ``pcm_initialised`` marks synapses whose devices
    :meth:`connect` has initialised. The shared ``plastic`` (set to 1 by the first
    :meth:`connect`) freezes plasticity and refresh when 0. With ``devices_per_synapse``
    N >= 2 the device variables carry the device index (``Gp0 .. Gp{N-1}``, ...; see
    :func:`synapse_device_vars`), ``arb`` is the arbitration counter, and
    :meth:`to_devices` gives arrays of shape (N, synapses).

    The device code is that of :mod:`neuropcm.devices` (see :mod:`neuropcm.snn.models`):
    worn-out devices are stuck, reads scale with temperature. Left out: drift does not
    depend on temperature, and the per-read clip at 0 of :meth:`PCMArray.read` is not
    applied to synaptic efficacy reads (only to a refresh's noisy reads).
    """

    def __init__(self, source, target, preset="nandakumar2018", plasticity=None,
                 refresh=None, w_scale=None, target_var="v", read_noise=True, drift=True,
                 initial_pulses=None, drift_update=None, noise_to=None, namespace=None,
                 name="pcmsynapses*", method=None, temperature=None, seed=None,
                 gated_noise=True, cache_efficacy=False, read_counter=None,
                 devices_per_synapse=1, **overrides):
        self.devices_per_synapse = n_dev = check_devices(devices_per_synapse)
        self.device_params = get_preset(preset, **overrides)
        self.preset = preset if isinstance(preset, str) else "custom"
        if plasticity is not None and not isinstance(plasticity, Plasticity):
            raise ParameterError(f"plasticity = {plasticity!r} must be a Plasticity rule "
                                 f"such as TwoWindowSTDP(dT_pot, dT_dep) or None")
        self.plasticity = plasticity
        missing = [v for v in getattr(plasticity, "post_variables", ()) if v not in
                   target.variables]
        if missing:
            raise ParameterError(f"{plasticity!r} needs the target variables {missing} (a "
                                 f"WTALayer has them)")
        self.refresh = resolve_refresh(refresh)
        if target_var not in target.variables:
            raise ParameterError(f"target has no variable {target_var!r}; pass target_var=")
        want = target.variables[target_var].dim / get_dimensions(siemens)
        if w_scale is None or not isinstance(w_scale, Quantity) or \
                get_dimensions(w_scale) is not want:
            raise UnitError(f"w_scale = {w_scale!r} must be a Brian2 quantity in units of "
                            f"{target_var}/siemens, e.g. w_scale=1*mV/usiemens")
        w = np.asarray(w_scale)
        if w.ndim != 0 or not np.isfinite(float(w)) or float(w) <= 0:
            raise ParameterError(f"w_scale = {w_scale!r} must be one finite, positive value, "
                                 f"e.g. w_scale=1*mV/usiemens")
        ns = {"w_scale": w_scale}
        if noise_to is not None and noise_to not in target.variables:
            raise ParameterError(f"noise_to = {noise_to!r}: the target has no such variable; "
                                 f"use a WTALayer (noise_to='read_var') or define one")
        if drift_update is not None:
            check_quantity(drift_update, second, "drift_update", "1*second", "positive")
        temp_k = None
        if temperature is not None:
            temp_k = as_temperature(float(check_quantity(
                temperature, kelvin, "temperature", "300*kelvin", "positive") / kelvin))
        self._seed = None if seed is None else check_seed(seed)
        self._gated_noise = bool(gated_noise)
        self._temperature = self.device_params.t_ref if temp_k is None else temp_k
        self._initial_pulses = None
        if initial_pulses is not None:
            if isinstance(initial_pulses, str) or np.ndim(initial_pulses) != 1 or \
                    len(initial_pulses) != 2:
                raise ParameterError(f"initial_pulses = {initial_pulses!r} must be two "
                                     f"non-negative integers (G+, G-), e.g. (3, 3)")
            self._initial_pulses = tuple(count(x, f"initial_pulses[{k}]", lo=0)
                                         for k, x in enumerate(initial_pulses))
        cached = bool(drift and drift_update is not None)
        if cache_efficacy and not cached:
            raise ParameterError("cache_efficacy=True needs drift=True and a drift_update "
                                 "(the cached efficacies are refreshed with the drift "
                                 "factors), e.g. drift_update=1*second")
        if cache_efficacy and self.device_params.model != "pulsed":
            raise ParameterError(f"cache_efficacy=True needs a 'pulsed' device model (the "
                                 f"read noise of the {self.device_params.model!r} model "
                                 f"changes with the time since the write); use "
                                 f"cache_efficacy=False")
        self.read_counter = read_counter
        if read_counter is not None:
            var = source.variables.get(read_counter) if isinstance(read_counter, str) \
                else None
            if var is None or np.dtype(var.dtype).kind not in "iu" or var.scalar:
                raise ParameterError(f"read_counter = {read_counter!r} must name an integer "
                                     f"per-neuron variable of the source group that counts "
                                     f"its spikes (e.g. 'nspikes : integer' with reset "
                                     f"'nspikes += 1')")
        self.plus_vars, self.minus_vars = cached_drift_vars() if cached else (PLUS, MINUS)
        kw = {"cached_drift": cached, "noise_to": noise_to, "temperature": temp_k,
              "gated_noise": bool(gated_noise), "cache_efficacy": bool(cache_efficacy),
              "source_reads": read_counter is not None}
        if n_dev == 1:
            self._devices = ([self.plus_vars], [self.minus_vars])
            code = pcm_synapses_code(self.device_params, plasticity, self.refresh, ns,
                                     target_var, read_noise, drift, **kw)
        else:
            self._devices = (side_vars("p", n_dev, cached), side_vars("m", n_dev, cached))
            code = multi_synapses_code(self.device_params, plasticity, self.refresh, ns, n_dev,
                                       target_var, read_noise, drift, **kw)
        if plasticity is not None:
            ns.update(plasticity.namespace())
        ns.update(namespace or {})
        kw = {"method": method} if method else {}
        model = (code["model"] + "\nk_init : integer  # initial SET pulses (scratch)"
                 "\npcm_initialised : integer  # 1: devices initialised by connect()")
        self._connected = False  # plastic is set to 1 by the first connect() only
        super().__init__(source, target, model=model, on_pre=code["on_pre"],
                         on_post=code["on_post"], namespace=ns, name=name, **kw)
        if code["refresh_sweep"] is not None:
            self.run_regularly(code["refresh_sweep"], dt=self.refresh.period, when="end",
                               name=self.name + "_refresh")
        if cached:
            self.run_regularly("".join(
                f"{v.drift_factor} = {drift_factor_expr(self.device_params, v, ns)}\n"
                for v in self._devices[0] + self._devices[1]) + code["update_efficacy"],
                dt=drift_update, when="start", name=self.name + "_drift")
        self.add_attribute("brian_code")
        self.brian_code = code

    @property
    def initial_pulses(self):
        """The ``initial_pulses`` given (a pair of ints) or None."""
        return self._initial_pulses

    @property
    def temperature(self):
        """Operating temperature of the devices (brian2 quantity)."""
        return self._temperature * kelvin

    @property
    def seed(self):
        """The run's seed given at construction (None if none)."""
        return self._seed

    def connect(self, *args, **kwargs):
        """Connect as :meth:`brian2.Synapses.connect`. Only the new synapses are initialised
        (devices in the RESET state with their device-to-device parameters drawn, counters
        0, ``initial_pulses``); synapses made by earlier calls keep their state."""
        super().connect(*args, **kwargs)
        if not self._connected:  # a later connect() must not unfreeze a frozen group
            self.plastic = 1.0
            self._connected = True
        for v in self._devices[0] + self._devices[1]:
            for var, expr in device_init_code(self.device_params, v, self.namespace).items():
                getattr(self, var)[_NEW] = expr
        if isinstance(self.plasticity, TwoWindowSTDP) and self.plasticity.pre_time is None:
            self.tpre[_NEW] = "-1e9*second"  # never spiked: "older than dT_dep"
        if self._initial_pulses is not None:
            self._apply_initial_pulses()
        if "eff" in self.variables:
            for var, expr in self._efficacy_init().items():
                getattr(self, var)[_NEW] = expr
        self.pcm_initialised[_NEW] = "1"

    def _efficacy_init(self) -> dict:
        """String initialisers of ``eff``/``effvar`` from the devices as they are."""
        ns = self.namespace
        t = self._temperature if self._temperature != self.device_params.t_ref else None
        (mp, sp), (mm, sm) = (zip(*[read_moments_expr(self.device_params, v, ns, True,
                                                      temperature=t) for v in vs])
                              for vs in self._devices)
        if len(mp) == 1:
            return {"eff": f"{mp[0]} - {mm[0]}", "effvar": f"({sp[0]})**2 + ({sm[0]})**2"}
        return {"eff": f"({' + '.join(mp)}) - ({' + '.join(mm)})",
                "effvar": " + ".join(f"({x})**2" for x in sp + sm)}

    def _apply_initial_pulses(self):
        """Uniformly random 0..n SET pulses on each new device, through the device model's
        SET code, as conditional variable assignments (they run at initialisation in every
        target)."""
        for n, v in ((n, v) for n, vs in zip(self._initial_pulses, self._devices)
                     for v in vs):
            self.k_init[_NEW] = f"int(rand() * {n + 1})"
            for k in range(1, n + 1):
                lines = set_pulse_code(self.device_params, v, self.namespace,
                                       gate=f"int(k_init >= {k})",
                                       gated_noise=self._gated_noise).split("\n")
                gate_name, gate_expr = lines[0].split(" = ", 1)
                for line in lines[1:]:
                    line = line.replace(gate_name, f"({gate_expr})")
                    if " += " in line:
                        var, expr = line.split(" += ", 1)
                        expr = f"{var} + ({expr})"
                    else:
                        var, expr = line.split(" = ", 1)
                    getattr(self, var)[_NEW] = expr

    def to_devices(self, seed=None):
        """The G+ and G- devices as two :class:`~neuropcm.devices.PCMArray` (flat, in
        synapse order; (N, synapses) with N devices per side), with their full state -- for
        HDF5 and the crossbar.

        Each array has its own counters, the synapses' temperature, the network time as its
        clock and its own random stream derived from the run's seed (``seed``, else the
        constructor's): ``rng(seed, "snn", "export", "G_plus")`` / ``"G_minus"``. With no
        seed at all the streams are fresh and unpredictable (as ``PCMArray(seed=None)``).
        """
        seed = self._seed if seed is None else check_seed(seed)
        n = self.devices_per_synapse
        state = {name: np.asarray(getattr(self, name + "_")[:])
                 for name in synapse_device_vars(n)}
        if self.read_counter is not None:
            counts = np.asarray(self.source.variables[self.read_counter].get_value())
            state = fold_source_reads(state, counts[np.asarray(self.i[:])],
                                      self.device_params, n)
        return synapse_state_to_devices(state, self.device_params, float(self.t / second),
                                        self.preset, seed=seed, temperature=self._temperature,
                                        devices_per_synapse=n)
