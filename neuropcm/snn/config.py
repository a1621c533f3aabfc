"""Network definitions for the MNIST clustering run, read from TOML into dataclasses.

Quantities are written as Brian2 unit expressions (``"20*ms"``, ``"0.02*mV/usiemens"``,
``"12 uS"``) and checked for their dimension and range when read; a wrong or missing unit,
a value out of range or an unknown key names the field and the fix. Nothing in a network
file is executed: expressions are parsed by :func:`parse_quantity`, which knows numbers,
Brian2's unit names and ``* / ** + -`` only.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import brian2
import numpy as np
from brian2 import Quantity
from brian2.units.fundamentalunits import get_dimensions

from ..errors import ParameterError, UnitError
from ..networks import DIR as NETWORKS_DIR  # the shipped definitions (package data)

#: The names an expression may use: Brian2's units (``ms``, ``mV``, ``uS``, ``usiemens`` ...).
UNIT_NAMES = {k: v for k, v in vars(brian2).items() if isinstance(v, Quantity)}
_MAX_EXPR = 200
_IMPLICIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s+([A-Za-z_(].*)$")
_BINOPS = {ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
           ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b}


def _eval_node(node):
    """Evaluate a parsed unit expression; anything but numbers, unit names and arithmetic
    is refused (no calls, attributes, subscripts or other names)."""
    if isinstance(node, ast.Expression):
        return _eval_node(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in UNIT_NAMES:
            raise ValueError(f"unknown unit {node.id!r}")
        return UNIT_NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval_node(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_eval_node(node.left), _eval_node(node.right))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        exp = node.right
        if isinstance(exp, ast.UnaryOp) and isinstance(exp.op, ast.USub):
            exp, sign = exp.operand, -1
        else:
            sign = 1
        if not (isinstance(exp, ast.Constant) and type(exp.value) in (int, float)
                and abs(exp.value) <= 16):
            raise ValueError("an exponent must be a number between -16 and 16")
        return _eval_node(node.left) ** (sign * exp.value)
    raise ValueError(f"{type(node).__name__} is not allowed in a unit expression")


def parse_quantity(text, where: str = "value"):
    """Parse a unit expression such as ``"20*ms"``, ``"12 uS"`` or ``"0.02*mV/usiemens"``.

    Numbers, the unit names of Brian2 and ``* / ** + -`` with parentheses only; nothing is
    executed. Returns a ``Quantity`` (or a float for a pure number).

    Raises
    ------
    ParameterError
        The text is not such an expression, or its value is not finite.
    """
    if not isinstance(text, str) or len(text) > _MAX_EXPR:
        raise ParameterError(f"{where} = {text!r} must be a unit expression (a string of at "
                             f"most {_MAX_EXPR} characters), e.g. \"20*ms\"")
    m = _IMPLICIT.match(text)
    src = f"({m.group(1)})*({m.group(2)})" if m else text
    try:
        value = _eval_node(ast.parse(src.strip(), mode="eval"))
    except (SyntaxError, ValueError, TypeError, ZeroDivisionError, OverflowError,
            brian2.DimensionMismatchError) as e:
        raise ParameterError(f"{where} = {text!r} is not a quantity ({e}); write e.g. "
                             f"\"20*ms\"") from None
    if not np.all(np.isfinite(np.asarray(value, dtype=float))):
        raise ParameterError(f"{where} = {text!r} is not finite")
    return value


def _quantity(text, unit: str, where: str) -> Quantity:
    """Parse ``text`` and check that it has the dimension of ``unit`` (a Brian2 unit name)."""
    if not isinstance(text, str):
        raise UnitError(f"{where} = {text!r} needs a unit, e.g. \"{text}*{unit}\"")
    value = parse_quantity(text, where)
    if get_dimensions(value) is not get_dimensions(_UNIT_OBJ[unit]):
        raise UnitError(f"{where} = {text!r} has the wrong unit: expected {unit}")
    return value


_UNIT_OBJ = {"Hz": brian2.Hz, "second": brian2.second, "mV": brian2.mV,
             "mV/usiemens": brian2.mV / brian2.usiemens}


def _f(default, unit: str | None = None, *, lo=None, lo_open=False, hi=None, choices=None):
    """A config field: its default and what a file may set it to (unit, bounds, choices)."""
    meta = {"unit": unit, "lo": lo, "lo_open": lo_open, "hi": hi, "choices": choices}
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=meta)
    if isinstance(default, (Quantity, tuple)):
        return field(default_factory=lambda: default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class InputConfig:
    """Poisson rate coding of the images."""
    max_rate: Quantity = _f(63.75 * brian2.Hz, "Hz", lo=0, lo_open=True)
    presentation: Quantity = _f(350 * brian2.ms, "second", lo=0, lo_open=True)
    rest: Quantity = _f(50 * brian2.ms, "second", lo=0)
    complementary: bool = _f(False)

    @property
    def example_duration(self) -> Quantity:
        return self.presentation + self.rest


@dataclass(frozen=True)
class NeuronConfig:
    """WTA output layer (see :class:`neuropcm.snn.WTALayer`). ``inhibition`` is ``"reset"``,
    ``"none"`` or a voltage subtracted from the other neurons (read as a quantity)."""
    n: int = _f(50, lo=1)
    tau_m: Quantity = _f(20 * brian2.ms, "second", lo=0, lo_open=True)
    v_rest: Quantity = _f(0 * brian2.mV, "mV")
    v_reset: Quantity = _f(0 * brian2.mV, "mV")
    v_thresh: Quantity = _f(10 * brian2.mV, "mV")
    refractory: Quantity = _f(5 * brian2.ms, "second", lo=0)
    inhibition: object = _f("reset", choices=("reset", "none", "<voltage>"))
    t_inhibit: Quantity = _f(5 * brian2.ms, "second", lo=0)
    homeostasis: str = _f("target_rate", choices=("target_rate", "adaptive", "none"))
    rate_target: Quantity = _f(0.4 * brian2.Hz, "Hz", lo=0, lo_open=True)
    tau_homeo: Quantity = _f(30 * brian2.second, "second", lo=0, lo_open=True)
    eta_homeo: Quantity = _f(2 * brian2.mV, "mV", lo=0)


@dataclass(frozen=True)
class SynapseConfig:
    """Differential 2-PCM synapses (see :class:`neuropcm.snn.PCMSynapses`).

    ``device_overrides`` changes fields of the device preset, e.g.
    ``{ g_max = "12 uS" }`` (units checked against the field; plain numbers for
    dimensionless fields); stored as SI floats.
    """
    preset: str = _f("nandakumar2018")
    w_scale: Quantity = _f(0.02 * brian2.mV / brian2.usiemens, "mV/usiemens", lo=0, lo_open=True)
    initial_pulses: tuple = _f((3, 3))
    refresh: str = _f("threshold", choices=("threshold", "truncate", "none"))
    refresh_period: Quantity = _f(0 * brian2.second, "second", lo=0)  # 0: at every event
    read_noise: bool = _f(True)
    drift: bool = _f(True)
    drift_update: Quantity = _f(1 * brian2.second, "second", lo=0, lo_open=True)
    aggregate_noise: bool = _f(True)
    device_overrides: dict = _f({})

    def device_params(self):
        """The device parameters: the preset with ``device_overrides`` applied."""
        from ..devices.presets import get_preset

        return get_preset(self.preset, **self.device_overrides)


@dataclass(frozen=True)
class STDPConfig:
    """Two-window STDP (see :class:`neuropcm.snn.TwoWindowSTDP`)."""
    dT_pot: Quantity = _f(25 * brian2.ms, "second", lo=0, lo_open=True)
    dT_dep: Quantity = _f(100 * brian2.ms, "second", lo=0, lo_open=True)
    p_pot: float = _f(0.15, lo=0.0, hi=1.0)
    p_dep: float = _f(0.05, lo=0.0, hi=1.0)


@dataclass(frozen=True)
class SimulationConfig:
    dt: Quantity = _f(0.5 * brian2.ms, "second", lo=0, lo_open=True)
    chunk: int = _f(1000, lo=1)


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

    def as_dict(self) -> dict:
        """The definition as a JSON-able dict (quantities as strings), without ``source``."""
        def enc(o):
            if isinstance(o, Quantity):
                return repr(o)
            if isinstance(o, tuple):
                return list(o)
            if isinstance(o, dict):
                return {k: enc(v) for k, v in o.items()}
            return o
        out = {"name": self.name}
        for f in dataclasses.fields(self):
            if f.name not in ("name", "source"):
                sec = getattr(self, f.name)
                out[f.name] = {g.name: enc(getattr(sec, g.name)) for g in dataclasses.fields(sec)}
        return out

    def to_json(self) -> str:
        """The definition and its TOML source as JSON, to store in result files."""
        return json.dumps({"network": self.as_dict(), "source": self.source}, sort_keys=True)

    def replace(self, section: str, **changes) -> "NetworkConfig":
        """A copy with fields of one section changed (e.g. ``replace("neurons", n=100)``)."""
        return dataclasses.replace(self, **{section: dataclasses.replace(getattr(self, section),
                                                                         **changes)})


_SECTIONS = {"input": InputConfig, "neurons": NeuronConfig, "synapses": SynapseConfig,
             "stdp": STDPConfig, "simulation": SimulationConfig}
_DEVICE_UNITS = {"S": brian2.siemens, "s": brian2.second, "J": brian2.joule, "K": brian2.kelvin}


def _check_range(value, meta, where: str, text) -> None:
    v = float(value / _UNIT_OBJ[meta["unit"]]) if meta.get("unit") else float(value)
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and (v < lo or (meta.get("lo_open") and v == lo)):
        raise ParameterError(f"{where} = {text!r} is out of range: it must be "
                             f"{'>' if meta.get('lo_open') else '>='} {lo}")
    if hi is not None and v > hi:
        raise ParameterError(f"{where} = {text!r} is out of range: it must be <= {hi}")


def _device_overrides(raw, preset: str, where: str) -> dict:
    """``{field: "value unit"}`` -> ``{field: SI float}``, units checked against the preset."""
    from ..devices.presets import get_preset

    if not isinstance(raw, dict):
        raise ParameterError(f"{where} = {raw!r} must be a table, e.g. {{ g_max = \"12 uS\" }}")
    units = type(get_preset(preset)).units()
    out = {}
    for name, text in raw.items():
        if name not in units:
            raise ParameterError(f"{where}: preset {preset!r} has no parameter {name!r}; "
                                 f"known: {sorted(units)}")
        unit = _DEVICE_UNITS.get(units[name])
        w = f"{where}.{name}"
        if unit is None:  # a count or a ratio
            if isinstance(text, bool) or not isinstance(text, (int, float, str)):
                raise ParameterError(f"{w} = {text!r} must be a number")
            value = parse_quantity(text, w) if isinstance(text, str) else float(text)
            if isinstance(value, Quantity) and not value.is_dimensionless:
                raise UnitError(f"{w} = {text!r} must be dimensionless ({units[name]})")
            out[name] = float(value)
        else:
            if not isinstance(text, str):
                raise UnitError(f"{w} = {text!r} needs a unit, e.g. \"{text} * "
                                f"{unit!s}\" ({units[name]})")
            value = parse_quantity(text, w)
            if get_dimensions(value) is not get_dimensions(unit):
                raise UnitError(f"{w} = {text!r} has the wrong unit: expected {units[name]}")
            out[name] = float(value / unit)
    try:
        get_preset(preset, **out)
    except ParameterError as e:
        raise ParameterError(f"{where}: {e}") from None
    return out


def _value(f, value, where: str, preset: str):
    """One field read from TOML, checked against its type, unit, bounds and choices."""
    meta, default = f.metadata, f.default if f.default is not dataclasses.MISSING \
        else f.default_factory()
    if f.name == "inhibition":
        if value in ("reset", "none"):
            return value
        v = _quantity(value, "mV", where)
        _check_range(v, {"unit": "mV", "lo": 0}, where, value)
        return v
    if f.name == "device_overrides":
        return _device_overrides(value, preset, where)
    if meta.get("unit"):
        v = _quantity(value, meta["unit"], where)
        _check_range(v, meta, where, value)
        return v
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ParameterError(f"{where} = {value!r} must be true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(f"{where} = {value!r} must be an integer")
        _check_range(value, meta, where, value)
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise ParameterError(f"{where} = {value!r} must be a finite number")
        _check_range(value, meta, where, value)
        return float(value)
    if isinstance(default, tuple):  # initial_pulses
        if not (isinstance(value, list) and len(value) == 2 and all(
                isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in value)):
            raise ParameterError(f"{where} = {value!r} must be two non-negative integers, "
                                 f"e.g. [3, 3]")
        return tuple(value)
    if not isinstance(value, str):
        raise ParameterError(f"{where} = {value!r} must be a string")
    if meta.get("choices") and value not in meta["choices"]:
        raise ParameterError(f"{where} = {value!r}; known: {list(meta['choices'])}")
    if f.name == "preset":
        from ..devices.presets import get_preset

        get_preset(value)  # UnknownPresetError lists the known presets
    return value


def _section(cls, raw, name: str, preset: str):
    if not isinstance(raw, dict):
        raise ParameterError(f"[{name}] must be a table, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ParameterError(f"[{name}] has unknown keys {unknown}; known: {sorted(fields)}")
    out = {key: _value(fields[key], value, f"[{name}] {key}", preset)
           for key, value in raw.items()}
    return dataclasses.replace(cls(), **out)


def _check_consistency(cfg: NetworkConfig, path) -> None:
    """Relations between fields that no single field can check."""
    nc = cfg.neurons
    if not (nc.v_thresh > nc.v_rest and nc.v_thresh > nc.v_reset):
        raise ParameterError(f"{path}: [neurons] v_thresh = {nc.v_thresh!r} must lie above "
                             f"v_rest and v_reset, or the neurons fire at every step")
    ratio = float(cfg.input.example_duration / cfg.simulation.dt)
    if abs(ratio - round(ratio)) > 1e-6:
        raise ParameterError(f"{path}: presentation + rest = {cfg.input.example_duration!r} must "
                             f"be a whole number of [simulation] dt = {cfg.simulation.dt!r}")


def load_network(path_or_name) -> NetworkConfig:
    """Read a network definition: a TOML file path, or the name of one in ``networks/``.

    Raises
    ------
    ParameterError, UnitError
        The file is missing, a folder, not UTF-8 TOML, or holds an unknown key or an invalid
        value (the message names the field).
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
    try:
        text = path.read_bytes().decode("utf-8")
        raw = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ParameterError(f"{path}: not a text (UTF-8) TOML file; give a network "
                             f"definition such as {NETWORKS_DIR / 'sidler2017.toml'}") from None
    except tomllib.TOMLDecodeError as e:
        raise ParameterError(f"{path}: not valid TOML ({e})") from None
    except OSError as e:
        raise ParameterError(f"{path}: cannot be read ({e.strerror})") from None
    unknown = sorted(set(raw) - set(_SECTIONS) - {"name"})
    if unknown:
        raise ParameterError(f"{path}: unknown sections {unknown}; known: {sorted(_SECTIONS)}")
    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.+-]{1,64}", name):
        raise ParameterError(f"{path}: name = {name!r} must be 1-64 letters, digits or _.+-")
    syn = raw.get("synapses", {})
    preset = syn.get("preset", SynapseConfig.preset) if isinstance(syn, dict) else None
    if not isinstance(preset, str):
        raise ParameterError(f"{path}: [synapses] preset = {preset!r} must be a preset name")
    try:
        kw = {k: _section(cls, raw.get(k, {}), k, preset) for k, cls in _SECTIONS.items()}
    except ParameterError as e:
        raise type(e)(f"{path}: {e}") from None
    except UnitError as e:
        raise UnitError(f"{path}: {e}") from None
    cfg = NetworkConfig(name=name, source=raw, **kw)
    _check_consistency(cfg, path)
    return cfg
