"""Network definitions for the MNIST clustering run, read from TOML into dataclasses.

Quantities are written as Brian2 expressions (``"20*ms"``, ``"0.02*mV/usiemens"``) and
checked for their dimension when read; a wrong or missing unit names the field and the
expected unit.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import brian2
from brian2 import Quantity
from brian2.units.fundamentalunits import get_dimensions

from ..errors import ParameterError, UnitError

NETWORKS_DIR = Path(__file__).resolve().parents[2] / "networks"
_UNITS = {k: v for k, v in vars(brian2).items() if isinstance(v, Quantity)}


def _q(text, unit: str, where: str) -> Quantity:
    """Parse ``text`` (e.g. ``"20*ms"``) and check that it has the dimension of ``unit``."""
    want = get_dimensions(eval(unit, {"__builtins__": {}}, _UNITS))
    if not isinstance(text, str):
        raise UnitError(f"{where} = {text!r} needs a unit, e.g. \"{text}*{unit}\"")
    try:
        value = eval(text, {"__builtins__": {}}, _UNITS)
    except Exception as e:  # noqa: BLE001 -- report any parse failure the same way
        raise ParameterError(f"{where} = {text!r} is not a quantity ({e}); write e.g. "
                             f"\"1*{unit}\"") from None
    if get_dimensions(value) is not want:
        raise UnitError(f"{where} = {text!r} has the wrong unit: expected {unit}")
    return value


@dataclass(frozen=True)
class InputConfig:
    """Poisson rate coding of the images."""
    max_rate: Quantity = field(default_factory=lambda: 63.75 * brian2.Hz)
    presentation: Quantity = field(default_factory=lambda: 350 * brian2.ms)
    rest: Quantity = field(default_factory=lambda: 50 * brian2.ms)
    complementary: bool = False

    @property
    def example_duration(self) -> Quantity:
        return self.presentation + self.rest


@dataclass(frozen=True)
class NeuronConfig:
    """WTA output layer (see :class:`neuropcm.snn.WTALayer`)."""
    n: int = 50
    tau_m: Quantity = field(default_factory=lambda: 20 * brian2.ms)
    v_rest: Quantity = field(default_factory=lambda: 0 * brian2.mV)
    v_reset: Quantity = field(default_factory=lambda: 0 * brian2.mV)
    v_thresh: Quantity = field(default_factory=lambda: 10 * brian2.mV)
    refractory: Quantity = field(default_factory=lambda: 5 * brian2.ms)
    inhibition: str = "reset"
    t_inhibit: Quantity = field(default_factory=lambda: 5 * brian2.ms)
    homeostasis: str = "target_rate"
    rate_target: Quantity = field(default_factory=lambda: 0.4 * brian2.Hz)
    tau_homeo: Quantity = field(default_factory=lambda: 30 * brian2.second)
    eta_homeo: Quantity = field(default_factory=lambda: 2 * brian2.mV)


@dataclass(frozen=True)
class SynapseConfig:
    """Differential 2-PCM synapses (see :class:`neuropcm.snn.PCMSynapses`)."""
    preset: str = "nandakumar2018"
    w_scale: Quantity = field(default_factory=lambda: 0.02 * brian2.mV / brian2.usiemens)
    initial_pulses: tuple = (3, 3)
    refresh: str | None = "threshold"
    refresh_period: Quantity = field(default_factory=lambda: 0 * brian2.second)  # 0: per event
    read_noise: bool = True
    drift: bool = True
    drift_update: Quantity = field(default_factory=lambda: 1 * brian2.second)
    aggregate_noise: bool = True


@dataclass(frozen=True)
class STDPConfig:
    """Two-window STDP (see :class:`neuropcm.snn.TwoWindowSTDP`)."""
    dT_pot: Quantity = field(default_factory=lambda: 25 * brian2.ms)
    dT_dep: Quantity = field(default_factory=lambda: 100 * brian2.ms)
    p_pot: float = 0.15
    p_dep: float = 0.05


@dataclass(frozen=True)
class SimulationConfig:
    dt: Quantity = field(default_factory=lambda: 0.5 * brian2.ms)
    chunk: int = 1000


@dataclass(frozen=True)
class NetworkConfig:
    """A complete network definition (one TOML file)."""
    name: str = "custom"
    input: InputConfig = field(default_factory=InputConfig)
    neurons: NeuronConfig = field(default_factory=NeuronConfig)
    synapses: SynapseConfig = field(default_factory=SynapseConfig)
    stdp: STDPConfig = field(default_factory=STDPConfig)
    simulation: SimulationConfig = field(default_factory=SimulationConfig)
    source: dict = field(default_factory=dict, compare=False)

    def to_json(self) -> str:
        """The definition as JSON (quantities as strings), to store in result files."""
        def enc(o):
            if isinstance(o, Quantity):
                return repr(o)
            raise TypeError(repr(o))
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "source"}
        d = {k: (dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v) for k, v in d.items()}
        return json.dumps({"network": d, "source": self.source}, default=enc, sort_keys=True)

    def replace(self, section: str, **changes) -> "NetworkConfig":
        """A copy with fields of one section changed (e.g. ``replace("neurons", n=100)``)."""
        return dataclasses.replace(self, **{section: dataclasses.replace(getattr(self, section),
                                                                         **changes)})


_SECTIONS = {"input": InputConfig, "neurons": NeuronConfig, "synapses": SynapseConfig,
             "stdp": STDPConfig, "simulation": SimulationConfig}


def _section(cls, raw: dict, name: str):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ParameterError(f"[{name}] has unknown keys {unknown}; known: {sorted(fields)}")
    defaults = cls()
    out = {}
    for key, value in raw.items():
        default = getattr(defaults, key)
        where = f"[{name}] {key}"
        if isinstance(default, Quantity):
            dim = get_dimensions(default)
            u = next(u for u in ("Hz", "second", "mV", "mV/usiemens")
                     if get_dimensions(eval(u, {}, _UNITS)) is dim)
            out[key] = _q(value, u, where)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ParameterError(f"{where} = {value!r} must be true or false")
            out[key] = value
        elif isinstance(default, int) and not isinstance(default, bool):
            if not isinstance(value, int) or value < 1:
                raise ParameterError(f"{where} = {value!r} must be a positive integer")
            out[key] = value
        elif isinstance(default, float):
            out[key] = float(value)
        elif isinstance(default, tuple):
            out[key] = tuple(value)
        else:
            out[key] = value
    return dataclasses.replace(defaults, **out)


def load_network(path_or_name) -> NetworkConfig:
    """Read a network definition: a TOML file path, or the name of one in ``networks/``."""
    path = Path(path_or_name)
    if not path.suffix and not path.exists():
        path = NETWORKS_DIR / f"{path_or_name}.toml"
    if not path.exists():
        known = sorted(p.stem for p in NETWORKS_DIR.glob("*.toml"))
        raise ParameterError(f"network definition {str(path_or_name)!r} not found; give a TOML "
                             f"file or one of {known}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ParameterError(f"{path}: not valid TOML ({e})") from None
    unknown = sorted(set(raw) - set(_SECTIONS) - {"name"})
    if unknown:
        raise ParameterError(f"{path}: unknown sections {unknown}; known: {sorted(_SECTIONS)}")
    kw = {k: _section(cls, raw.get(k, {}), k) for k, cls in _SECTIONS.items()}
    return NetworkConfig(name=raw.get("name", path.stem), source=raw, **kw)
