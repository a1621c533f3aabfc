"""Network definitions of the MNIST clustering run: TOML files read into
:class:`NetworkConfig` by the generic loader of :mod:`neuropcm.config`.

Each section of a file (``[input]``, ``[neurons]``, ``[synapses]``, ``[stdp]``,
``[simulation]``) is a :class:`~neuropcm.config.Config` whose fields declare their unit,
bounds and meaning; values are stored in SI and given to Brian2 as quantities by
:meth:`~neuropcm.config.Config.quantity`. In a file, quantities are written as Brian2 unit
expressions (``"20*ms"``, ``"0.02*mV/usiemens"``, ``"12 uS"``) and checked for their
dimension and range when read; a wrong or missing unit, a value out of range or an unknown
key names the field and the fix. Nothing in a network file is executed (see
:func:`~neuropcm.config.parse_quantity`). ``--set neurons.n=100``-style overrides go
through the same loader (:func:`load_network` ``sets``, :func:`~neuropcm.config.apply_sets`).
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ..config import Config, config_from_toml, option, read_toml
from ..config import parse_quantity  # noqa: F401  (re-exported: one parser for every file)
from ..devices.overrides import DeviceOverridesText, overrides_in_si
from ..devices.presets import get_preset
from ..errors import ParameterError, UnknownPresetError
from ..networks import DIR as NETWORKS_DIR  # the shipped definitions (package data)

__all__ = ["InputConfig", "NeuronConfig", "SynapseConfig", "STDPConfig", "SimulationConfig",
           "NetworkConfig", "load_network", "parse_quantity", "NETWORKS_DIR"]


def _refresh_rules() -> tuple[str, ...]:
    """The Brian2 refresh rules registered now (imported when a config is checked: the
    rules' module imports Brian2, which a network definition alone does not need)."""
    from .refresh import REFRESH_RULES

    return tuple(REFRESH_RULES)


@dataclass(frozen=True)
class InputConfig(Config):
    """Poisson rate coding of the images."""

    max_rate: float = option(63.75, "rate of a white pixel (255), linear in intensity",
                             unit="Hz", lo=0.0, lo_open=True)
    presentation: float = option(0.35, "how long an image is shown", unit="s", lo=0.0,
                                 lo_open=True)
    rest: float = option(0.05, "inputs off after each image", unit="s", lo=0.0)
    complementary: bool = option(False, "784 more inputs carrying the inverted image "
                                 "(Sidler 2017)")
    boost_window: float = option(0.0, "after the presentation, the image is shown this much "
                                 "longer at boost_factor times the rate while the output has "
                                 "not fired (Diehl & Cook 2015 repeat silent examples with "
                                 "stronger input); 0: off", unit="s", lo=0.0)
    boost_factor: float = option(2.0, "rate factor of the boost window", lo=1.0)

    @property
    def example_duration(self) -> float:
        """``presentation + boost_window + rest`` (s)."""
        return self.presentation + self.boost_window + self.rest


@dataclass(frozen=True)
class NeuronConfig(Config):
    """WTA output layer (see :class:`neuropcm.snn.WTALayer`)."""

    n: int = option(50, "output neurons", lo=1)
    tau_m: float = option(0.02, "membrane time constant", unit="s", lo=0.0, lo_open=True)
    v_rest: float = option(0.0, "resting potential", unit="V")
    v_reset: float = option(0.0, "potential after a spike", unit="V")
    v_thresh: float = option(0.01, "base threshold (above v_rest and v_reset)", unit="V")
    refractory: float = option(0.005, "winner's refractory period", unit="s", lo=0.0)
    inhibition: str | float = option("reset", "when one neuron fires: reset the others, "
                                     "none, or a voltage subtracted from them", unit="V",
                                     lo=0.0, choices=("reset", "none"))
    t_inhibit: float = option(0.005, "how long the others are held after a reset", unit="s",
                              lo=0.0)
    homeostasis: str = option("target_rate", "threshold adaptation (see "
                              "neuropcm.snn.WTALayer)",
                              choices=("target_rate", "adaptive", "none"))
    rate_target: float = option(0.4, "homeostasis target rate per neuron", unit="Hz", lo=0.0,
                                lo_open=True)
    tau_homeo: float = option(30.0, "time constant of the rate estimate", unit="s", lo=0.0,
                              lo_open=True)
    eta_homeo: float = option(0.002, "threshold change per tau_homeo at twice the target "
                              "rate", unit="V", lo=0.0)
    rate_cap: float = option(0.0, "homeostasis 'target_rate': activity (multiple of "
                             "rate_target) above which the threshold rises no faster; bounds "
                             "what a burst of spikes adds (0: unbounded)", lo=0.0)
    theta_plus: float = option(5e-5, "homeostasis 'adaptive' (Diehl & Cook 2015): threshold "
                               "step per spike", unit="V", lo=0.0)
    tau_theta: float = option(1e4, "homeostasis 'adaptive': decay time constant of the "
                              "threshold (slow: Diehl & Cook use 1e7 s at 0.5 ms steps)",
                              unit="s", lo=0.0, lo_open=True)

    def validate(self) -> None:
        if 0 < self.rate_cap <= 1:
            raise ParameterError(f"{self.where('rate_cap')} = {self.rate_cap:g} must be 0 "
                                 f"(unbounded) or above 1 (a multiple of rate_target), e.g. 3")
        if self.rate_cap and self.homeostasis != "target_rate":
            raise ParameterError(f"{self.where('rate_cap')} = {self.rate_cap:g} bounds "
                                 f"homeostasis 'target_rate', not {self.homeostasis!r}: set it "
                                 f"to 0")
        if not (self.v_thresh > self.v_rest and self.v_thresh > self.v_reset):
            raise ParameterError(
                f"{self.where('v_thresh')} = {self.v_thresh:g} V must lie above v_rest = "
                f"{self.v_rest:g} V and v_reset = {self.v_reset:g} V, or the neurons fire at "
                f"every step")


@dataclass(frozen=True)
class SynapseConfig(DeviceOverridesText, Config):
    """Differential 2-PCM synapses (see :class:`neuropcm.snn.PCMSynapses`).

    ``device_overrides`` changes fields of the device preset, e.g. ``{ g_max = "12 uS" }``
    (units checked against the field; plain numbers for counts and ratios); stored in SI.
    """

    preset: str = option("nandakumar2018", "device preset: a built-in name, a preset file's "
                         "path (relative to the working folder) or its name in the user preset "
                         "folder (neuropcm.devices.presets)")
    w_scale: float = option(20.0, "input weight per conductance difference G+ - G- "
                            "(0.02 mV/uS: 1 uS adds 0.02 mV per input spike)", unit="V/S",
                            lo=0.0, lo_open=True)
    initial_pulses: tuple[int, int] = option([3, 3], "initial state: 0..k random SET pulses "
                                             "on each G+ and G- device", lo=0)
    refresh: str = option("threshold", "conductance refresh (aihwkit threshold refresh)",
                          choices=lambda: (*_refresh_rules(), "none"))
    refresh_period: float = option(0.0, "refresh sweep period (0: at every event)", unit="s",
                                   lo=0.0)
    read_noise: bool = option(True, "read noise of the devices")
    drift: bool = option(True, "conductance drift")
    drift_update: float = option(1.0, "how often the drift factors are re-evaluated",
                                 unit="s", lo=0.0, lo_open=True)
    aggregate_noise: bool = option(True, "read noise summed per neuron and step (exact in "
                                   "distribution)")
    devices_per_synapse: int = option(1, "PCM devices on each side of a synapse (Boybat 2018: "
                                      "N; 1: the 2-PCM synapse); reads summed, w_scale "
                                      "divided by N (the same weight range, steps 1/N), "
                                      "each update on one device chosen by a counter per "
                                      "neuron, refresh per device pair", lo=1, hi=16)
    device_overrides: dict = option({}, "preset fields changed, e.g. { g_max = \"12 uS\" }")

    def validate(self) -> None:
        """The preset exists; ``device_overrides`` are its fields, converted to SI and
        valid for it."""
        try:
            get_preset(self.preset)
        except UnknownPresetError as e:
            raise UnknownPresetError(f"{self.where('preset')}: {e}") from None
        out = overrides_in_si(self.preset, self.device_overrides,
                              self.where("device_overrides"))
        object.__setattr__(self, "device_overrides", out)

    def device_params(self):
        """The device parameters: the preset with ``device_overrides`` applied."""
        return get_preset(self.preset, **self.device_overrides)


@dataclass(frozen=True)
class STDPConfig(Config):
    """Two-window STDP (see :class:`neuropcm.snn.TwoWindowSTDP`)."""

    dT_pot: float = option(0.025, "potentiate inputs that spiked within this window",
                           unit="s", lo=0.0, lo_open=True)
    dT_dep: float = option(0.1, "depress inputs silent for longer than this", unit="s",
                           lo=0.0, lo_open=True)
    p_pot: float = option(0.15, "probability that a potentiation event applies a pulse",
                          lo=0.0, hi=1.0)
    p_dep: float = option(0.05, "probability that a depression event applies a pulse",
                          lo=0.0, hi=1.0)
    norm_target: float = option(0.0, "weight normalisation (Diehl & Cook 2015) as depression "
                                "pulses: each neuron's sum of G+ - G- above this is removed "
                                "stochastically (see neuropcm.snn.TwoWindowSTDP); 0: off",
                                unit="S", lo=0.0)
    norm_step: float = option(1e-6, "conductance one depression pulse adds (normalisation)",
                              unit="S", lo=0.0, lo_open=True)
    norm_rate: float = option(1.0, "fraction of the excess removed per postsynaptic update",
                              lo=0.0, hi=1.0)


@dataclass(frozen=True)
class SimulationConfig(Config):
    """Time step and checkpoint granularity."""

    dt: float = option(0.0005, "simulation time step", unit="s", lo=0.0, lo_open=True)
    chunk: int = option(1000, "examples per standalone run (checkpoint granularity)", lo=1)


@dataclass(frozen=True)
class NetworkConfig(Config):
    """A complete network definition (one TOML file).

    :attr:`source` (not a field) is the TOML file's contents as read, kept for the results
    file (:meth:`to_json`); it does not take part in equality or :meth:`to_dict`.
    """

    name: str = option("custom", "name (1-64 letters, digits or _.+-; names the build "
                       "folder)")
    input: InputConfig = option(InputConfig, "Poisson rate coding of the images")
    neurons: NeuronConfig = option(NeuronConfig, "WTA output layer")
    synapses: SynapseConfig = option(SynapseConfig, "differential 2-PCM synapses")
    stdp: STDPConfig = option(STDPConfig, "two-window STDP")
    simulation: SimulationConfig = option(SimulationConfig, "time step and chunks")

    source: ClassVar = types.MappingProxyType({})  # set per object by load_network

    def validate(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.+-]{1,64}", self.name):
            raise ParameterError(f"{self.where('name')} = {self.name!r} must be 1-64 letters, "
                                 f"digits or _.+-")
        dur, dt = self.input.example_duration, self.simulation.dt
        ratio = dur / dt
        if abs(ratio - round(ratio)) > 1e-6:
            raise ParameterError(
                f"{self.where('input.presentation')} + rest = {dur:g} s must be a whole number "
                f"of {self.where('simulation.dt')} = {dt:g} s")

    def to_json(self) -> str:
        """The definition (SI values, :meth:`to_dict`) and its TOML source as JSON, to
        store in result files."""
        return json.dumps({"network": self.to_dict(), "source": dict(self.source)},
                          sort_keys=True)

    def replace(self, section: str | None = None, /, **changes) -> "NetworkConfig":
        """A validated copy with fields changed: of one section
        (``replace("neurons", n=100)``) or of the network (``replace(name="x")``); the
        source is kept."""
        if section is not None:
            sub = getattr(self, section, None)
            if not isinstance(sub, Config):
                raise ParameterError(f"NetworkConfig has no section {section!r}; known: "
                                     f"{[f.name for f in dataclasses.fields(self)][1:]}")
            changes = {section: sub.replace(**changes)}
        new = dataclasses.replace(self, **changes)
        object.__setattr__(new, "source", self.source)
        return new


def load_network(path_or_name, sets=()) -> NetworkConfig:
    """Read a network definition: a TOML file path, or the name of one in ``networks/``;
    ``sets`` are ``--set section.field=value`` overrides (e.g. ``"neurons.n=100"``).

    Raises
    ------
    ParameterError, UnitError
        The file is missing, a folder, not UTF-8 TOML, or holds an unknown key or an invalid
        value (the message names the file and the field).
    """
    path = Path(path_or_name)
    if not path.suffix and not path.exists():
        path = NETWORKS_DIR / f"{path_or_name}.toml"
    known = sorted(p.stem for p in NETWORKS_DIR.glob("*.toml"))
    if path.is_dir():
        raise ParameterError(f"network definition {str(path_or_name)!r} is a folder; give a TOML "
                             f"file or one of {known}")
    if not path.exists():
        raise ParameterError(f"network definition {str(path_or_name)!r} not found; give a TOML "
                             f"file or one of {known}")
    raw = read_toml(path, "network definition")
    named = raw if "name" in raw else {**raw, "name": path.stem}
    cfg = config_from_toml(NetworkConfig, named, path, sets)
    object.__setattr__(cfg, "source", raw)
    return cfg
