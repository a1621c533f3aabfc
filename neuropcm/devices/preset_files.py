"""A user's device as a preset file: TOML data that any preset name can point to.

A preset file holds a base preset (a built-in one of the same device model, whose other
fields are kept), every changed field with its value, unit and (for fitted values) standard
error, its provenance and the quality of the fit that made it::

    # NeuroPCM device preset: data only (parsed, validated, never executed)
    [preset]
    format = "neuropcm-preset"
    format_version = 1
    name = "mydevice"
    base = "nandakumar2018"
    model = "pulsed"
    description = "..."

    [parameters.set_a]
    value = -0.0832
    stderr = 0.0011
    unit = "1"

    [provenance]            # free text and numbers: source file name and sha256, date, ...
    [quality]               # goodness of fit: log-likelihood, p-values, ...

Wherever a preset is named (``PCMArray(n, preset=...)``, ``Crossbar(W, preset=...)``, a
network file's ``synapses.preset``, ``--set preset=...``, sweep grids,
``neuropcm devices --preset``), the name may be a path to such a file (``mine.toml``,
``./fits/mine.toml``) or the name of one in the user preset folder: ``$NEUROPCM_PRESETS``,
by default the platform's user config folder (``~/.config/neuropcm/presets`` on Linux;
:func:`user_preset_dir`). Built-in names come first: a file cannot shadow them.

A file is parsed with :mod:`tomllib` and validated like constructor arguments: unknown
tables or fields, a unit that is not the field's, a value that is not a number, a base of
another model or a value outside a parameter's physical bounds are refused in one line. The
parameters keep the file (:attr:`~neuropcm.devices.params.DeviceParams.source`: path,
sha256 and whole text), so a result file records it and a run can be repeated without it.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import tomllib
from pathlib import Path

from .._version import __version__
from ..errors import ParameterError, UnknownPresetError
from .builtin_presets import PRESETS
from .params import DeviceParams

__all__ = ["FORMAT", "FORMAT_VERSION", "ENV", "user_preset_dir", "find_preset_file",
           "user_presets", "load_preset_file", "preset_from_text", "write_preset_file",
           "preset_file_text", "is_preset_path", "check_replaceable"]

#: The ``[preset] format`` of a NeuroPCM preset file, and its version.
FORMAT, FORMAT_VERSION = "neuropcm-preset", 1
#: The environment variable naming the user preset folder.
ENV = "NEUROPCM_PRESETS"
#: Largest preset file read (a preset is a few kB; anything larger is not one).
MAX_BYTES = 1 << 20
_TABLES = {"preset", "parameters", "provenance", "quality"}
_PRESET_KEYS = {"format", "format_version", "name", "base", "model", "description"}
_PARAM_KEYS = {"value", "stderr", "unit"}


def user_preset_dir() -> Path:
    """The user preset folder: ``$NEUROPCM_PRESETS``, else the platform's user config folder
    (``platformdirs.user_config_dir("neuropcm") / "presets"``)."""
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("neuropcm")) / "presets"


def is_preset_path(name: str) -> bool:
    """Whether the preset name ``name`` is meant as a file path (it ends in ``.toml`` or has
    a folder part) rather than a name."""
    return name.endswith(".toml") or os.sep in name or "/" in name


def find_preset_file(name: str) -> Path | None:
    """The preset file a (non-built-in) preset name stands for: the path itself, or
    ``<user preset folder>/<name>.toml``; None if there is none."""
    if is_preset_path(name):
        p = Path(name).expanduser()
        return p if p.is_file() else None
    p = user_preset_dir() / f"{name}.toml"
    return p if p.is_file() else None


def user_presets() -> dict[str, Path]:
    """The preset files of the user preset folder by name (file stem), sorted."""
    d = user_preset_dir()
    if not d.is_dir():
        return {}
    return {p.stem: p for p in sorted(d.glob("*.toml")) if p.is_file()}


def load_preset_file(path) -> DeviceParams:
    """The validated parameters of the preset file ``path`` (see the module docstring).

    Raises
    ------
    UnknownPresetError
        No such file.
    ParameterError
        Not a readable NeuroPCM preset file, or invalid content (one line naming the file,
        the item and the fix).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise UnknownPresetError(f"preset file {str(path)!r} does not exist; give the path of "
                                 f"a preset file (neuropcm fit ... --out FILE.toml writes one)")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ParameterError(f"preset file {str(path)!r} has {size} bytes; a preset file is "
                             f"a small TOML file (at most {MAX_BYTES} bytes)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParameterError(f"preset file {str(path)!r} is not UTF-8 text (a binary file?); "
                             f"give a TOML preset file") from None
    return preset_from_text(text, str(path))


def preset_from_text(text: str, origin: str) -> DeviceParams:
    """The validated parameters of a preset file's ``text`` (``origin`` names it in errors
    and is recorded as its path)."""
    where = f"preset file {origin!r}"
    if "\x00" in text:
        raise ParameterError(f"{where} holds NUL bytes (a binary file?); give a TOML preset "
                             f"file")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ParameterError(f"{where} is not valid TOML ({e}); fix the file") from None
    unknown = sorted(set(doc) - _TABLES)
    if unknown:
        raise ParameterError(f"{where}: unknown table(s) or key(s) {unknown}; a preset file "
                             f"has {sorted(_TABLES)}")
    head = _table(doc, "preset", where)
    if head.get("format") != FORMAT:
        raise ParameterError(f"{where}: [preset] format = {head.get('format')!r}, expected "
                             f"{FORMAT!r}; this is not a NeuroPCM preset file")
    extra = sorted(set(head) - _PRESET_KEYS)
    if extra:
        raise ParameterError(f"{where}: unknown key(s) {extra} in [preset]; known: "
                             f"{sorted(_PRESET_KEYS)}")
    version = head.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION \
            or version < 1:
        raise ParameterError(f"{where}: [preset] format_version = {version!r}; this NeuroPCM "
                             f"({__version__}) reads versions 1..{FORMAT_VERSION}")
    base, model, name = head.get("base"), head.get("model"), head.get("name")
    if not isinstance(name, str) or not name.strip() or is_preset_path(name) \
            or name in PRESETS:
        raise ParameterError(f"{where}: [preset] name = {name!r} must be a plain name (no "
                             f"folder, no .toml) other than the built-in {sorted(PRESETS)}")
    if not isinstance(base, str) or base not in PRESETS:
        raise ParameterError(f"{where}: [preset] base = {base!r} must be a built-in preset, "
                             f"one of {sorted(PRESETS)}")
    params = _base(base)
    if model != params.model:
        raise ParameterError(f"{where}: [preset] model = {model!r}, but base {base!r} is a "
                             f"{params.model!r} model; give model = {params.model!r}")
    values = _values(_table(doc, "parameters", where), type(params), where)
    for t in ("provenance", "quality"):
        if t in doc:
            _table(doc, t, where)
    try:
        params = params.replace(**values)
    except ParameterError as e:
        raise ParameterError(f"{where}: {e}") from None
    source = {"path": origin, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
              "text": text}
    return params.with_reference(name, params).with_source(source)


def _base(name: str) -> DeviceParams:
    """The built-in preset ``name``'s values, labelled as that preset."""
    params = PRESETS[name]()
    return params.with_reference(name, params)


def _table(doc: dict, name: str, where: str) -> dict:
    t = doc.get(name)
    if not isinstance(t, dict):
        raise ParameterError(f"{where}: [{name}] is missing or not a table; see "
                             f"neuropcm.devices.preset_files for the format")
    return t


def _values(table: dict, cls, where: str) -> dict[str, float]:
    """``{field: SI value}`` of a ``[parameters]`` table, every entry checked."""
    units = cls.units()
    out = {}
    for field, entry in table.items():
        if field not in units:
            raise ParameterError(f"{where}: [parameters.{field}] is not a parameter of the "
                                 f"{cls.model!r} model; known: {sorted(units)}")
        if not isinstance(entry, dict):
            raise ParameterError(f"{where}: [parameters.{field}] must be a table with value "
                                 f"and unit, got {entry!r}")
        extra = sorted(set(entry) - _PARAM_KEYS)
        if extra or "value" not in entry or "unit" not in entry:
            raise ParameterError(f"{where}: [parameters.{field}] needs value and unit (and "
                                 f"optionally stderr), got keys {sorted(entry)}")
        if entry["unit"] != units[field]:
            raise ParameterError(f"{where}: [parameters.{field}] unit = {entry['unit']!r}, "
                                 f"but {field} is in {units[field]!r} (SI); convert the value")
        for key in ("value", "stderr"):
            v = entry.get(key, 0.0)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v \
                    or v in (float("inf"), float("-inf")):
                raise ParameterError(f"{where}: [parameters.{field}] {key} = {v!r} must be a "
                                     f"finite number")
        if entry.get("stderr", 0.0) < 0:
            raise ParameterError(f"{where}: [parameters.{field}] stderr = {entry['stderr']!r} "
                                 f"must be >= 0")
        out[field] = float(entry["value"])
    return out


def preset_file_text(name: str, base: str, values: dict, *, stderr: dict | None = None,
                     description: str = "", provenance: dict | None = None,
                     quality: dict | None = None) -> str:
    """The text of a preset file (see the module docstring); nothing is validated here:
    :func:`write_preset_file` reads the text back before it writes it."""
    import tomli_w

    if base not in PRESETS:
        raise ParameterError(f"base = {base!r} must be a built-in preset, one of "
                             f"{sorted(PRESETS)}")
    units = type(_base(base)).units()
    params = {k: {"value": float(v), **({"stderr": float(stderr[k])}
                                        if stderr and k in stderr else {}),
                  "unit": units.get(k, "?")} for k, v in values.items()}
    doc = {"preset": {"format": FORMAT, "format_version": FORMAT_VERSION, "name": name,
                      "base": base, "model": _base(base).model,
                      "description": description},
           "parameters": params,
           "provenance": {"created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                          "neuropcm_version": __version__, **(provenance or {})},
           "quality": dict(quality or {})}
    head = "# NeuroPCM device preset: data only (parsed, validated, never executed)\n"
    return head + tomli_w.dumps(_plain(doc))


def _plain(v):
    """Numpy scalars and tuples as TOML-writable Python values (None dropped)."""
    import numpy as np

    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items() if x is not None}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_plain(x) for x in np.asarray(v).tolist()] if isinstance(v, np.ndarray) \
            else [_plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def check_replaceable(path) -> None:
    """Refuse ``path`` if a file is there that is not a NeuroPCM preset file (a file
    NeuroPCM did not write is never replaced); a missing file is fine.

    Raises
    ------
    ParameterError
        One line naming the file and the fix.
    """
    path = Path(path)
    if not path.exists():
        return
    try:
        old = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        ours = old.get("preset", {}).get("format") == FORMAT
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        ours = False
    if not ours:
        raise ParameterError(f"{str(path)!r} exists and is not a NeuroPCM preset file; "
                             f"choose another --out or remove it")


def write_preset_file(path, name: str, base: str, values: dict, **kwargs) -> Path:
    """Write a preset file (arguments as :func:`preset_file_text`) atomically, after reading
    its text back as :func:`preset_from_text` would (so an invalid preset is never written).

    Raises
    ------
    ParameterError
        Invalid content, or ``path`` exists and is not a NeuroPCM preset file (a file
        NeuroPCM did not write is never replaced).
    """
    path = Path(path)
    if path.suffix != ".toml":
        raise ParameterError(f"preset file {str(path)!r} must end in .toml")
    text = preset_file_text(name, base, values, **kwargs)
    preset_from_text(text, str(path))
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
