"""Generic config dataclasses (neuropcm.config): validation, loading, --set, help, diffs."""

from __future__ import annotations

from dataclasses import dataclass

import brian2
import pytest

from neuropcm.config import (Config, apply_sets, check_resume, describe, load_config, option,
                             parse_quantity, settings_diff)
from neuropcm.errors import ParameterError, UnitError


@dataclass(frozen=True)
class Inner(Config):
    tau: float = option(0.02, "membrane time constant", unit="s", lo=0.0, lo_open=True)
    pulses: tuple[int, ...] = option([3, 3], "initial pulses", lo=0)


@dataclass(frozen=True)
class Demo(Config):
    n: int = option(10, "number of devices", lo=1, hi=1000)
    rate: float = option(5.0, "input rate", unit="Hz", lo=0.0)
    mode: str = option("fast", "how to run", choices=("fast", "exact"))
    flag: bool = option(False, "a switch")
    limit: int | None = option(None, "optional count", lo=0)
    inner: Inner = option(Inner, "nested section")


def test_defaults_and_si_storage():
    d = Demo()
    assert d.n == 10 and d.rate == 5.0 and d.inner.tau == 0.02 and d.inner.pulses == (3, 3)
    assert Demo(rate=20 * brian2.Hz).rate == pytest.approx(20.0)
    assert Demo(rate="2 kHz").rate == pytest.approx(2000.0)
    assert Demo(inner={"tau": "5*ms"}).inner.tau == pytest.approx(0.005)


@pytest.mark.parametrize("kw, match", [
    ({"n": 2.7}, "whole number"), ({"n": 0}, ">= 1"), ({"n": 1001}, "<= 1000"),
    ({"n": True}, "not a boolean"), ({"rate": float("nan")}, "not finite"),
    ({"rate": -1.0}, ">= 0"), ({"mode": "slow"}, "not one of"), ({"flag": 1}, "true or false"),
    ({"limit": -3}, ">= 0"), ({"inner": {"tau": 0}}, "> 0"), ({"inner": {"pulses": [1.5]}},
                                                                "whole number"),
    ({"inner": {"bogus": 1}}, "unknown setting"), ({"rate": "5*foo"}, "not a Brian2 unit"),
])
def test_bad_values_are_refused_with_the_field_named(kw, match):
    with pytest.raises(ParameterError, match=match):
        Demo(**kw)


def test_wrong_dimension_is_a_unit_error():
    with pytest.raises(UnitError, match="rate"):
        Demo(rate=5 * brian2.mV)
    with pytest.raises(UnitError):
        Demo(rate="5*mV")


def test_quantity_strings_never_execute_code(tmp_path):
    marker = tmp_path / "pwned"
    for text in (f"__import__('os').system('touch {marker}')", f"open('{marker}', 'w')",
                 "ms.__class__", "(lambda: 1)()"):
        with pytest.raises(ParameterError):
            parse_quantity(text)
    assert not marker.exists()


def test_toml_then_values_then_sets(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('n = 4\nmode = "exact"\n[inner]\ntau = "10 ms"\n')
    c = load_config(Demo, p, ["inner.tau=30*ms", "rate=7", "flag=true", "limit=3"], n=6)
    assert (c.n, c.mode, c.rate, c.flag, c.limit) == (6, "exact", 7.0, True, 3)
    assert c.inner.tau == pytest.approx(0.03)
    assert apply_sets(c, ["mode=fast"]).mode == "fast"
    assert Demo.from_dict(c.to_dict()) == c          # round trip through plain values


@pytest.mark.parametrize("sets, match", [(["bogus=1"], "no field 'bogus'"),
                                         (["n"], "field=value"),
                                         (["n.x=1"], "no sub-fields"),
                                         (["n=abc"], "whole number")])
def test_bad_sets(sets, match):
    with pytest.raises(ParameterError, match=match):
        load_config(Demo, None, sets)


def test_bad_files(tmp_path):
    with pytest.raises(ParameterError, match="not a file"):
        load_config(Demo, tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\x00\xff n = = 1")
    with pytest.raises(ParameterError, match="not a valid TOML"):
        load_config(Demo, bad)


def test_describe_lists_every_field_with_unit_and_doc():
    rows = {r[0]: r for r in describe(Demo)}
    assert set(rows) == {"n", "rate", "mode", "flag", "limit", "inner.tau", "inner.pulses"}
    assert rows["rate"][1] == "Hz" and "input rate" in rows["rate"][3]
    assert "fast, exact" in rows["mode"][3]


def test_settings_diff_names_changed_fields_and_resume_refuses():
    a = Demo().to_dict()
    b = Demo(n=3, inner={"tau": 0.01}).to_dict()
    assert settings_diff(a, b) == ["inner.tau: 0.02 -> 0.01", "n: 10 -> 3"]
    assert settings_diff(a, a) == []
    check_resume(a, a, "x.ckpt.h5")
    with pytest.raises(ParameterError, match=r"inner.tau: 0.02 -> 0.01; n: 10 -> 3"):
        check_resume(a, b, "x.ckpt.h5")
