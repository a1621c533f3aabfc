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
    c = load_config(Demo, p, ["inner.tau=30*ms", "rate=7 Hz", "flag=true", "limit=3"], n=6)
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
    with pytest.raises(ParameterError, match="not a text"):
        load_config(Demo, bad)
    bad.write_text("n = = 1\n")
    with pytest.raises(ParameterError, match=r"bad\.toml: not valid TOML"):
        load_config(Demo, bad)
    with pytest.raises(ParameterError, match="not found"):
        load_config(Demo, tmp_path / "missing.toml")


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


# ------------------------------------------------------------------ values written as text
def test_text_values_with_a_unit_need_one(tmp_path):
    """From a file or --set a bare number for a field with a unit is refused (seconds or
    milliseconds?); from Python it is taken as SI."""
    p = tmp_path / "c.toml"
    for text in ("rate = 7\n", 'rate = "7"\n', "[inner]\ntau = 0.02\n"):
        p.write_text(text)
        with pytest.raises(UnitError, match=r"c\.toml: .*(rate|inner\.tau) = .* needs a unit"):
            load_config(Demo, p)
    with pytest.raises(UnitError, match=r"^rate = 7 needs a unit \(Hz\): write a quantity "
                                        r"such as \"5\*Hz\""):
        load_config(Demo, None, ["rate=7"])
    with pytest.raises(UnitError, match=r"inner\.tau = 20 needs a unit \(s\).*\"20\*ms\""):
        apply_sets(Demo(), ["inner.tau=20"])
    assert load_config(Demo, None, ["rate=7*Hz"]).rate == 7.0
    assert Demo(rate=7).rate == 7.0 and Demo(inner={"tau": 0.5}).inner.tau == 0.5
    # counts and plain numbers keep their TOML types in a file
    p.write_text('n = "5"\n')
    with pytest.raises(ParameterError, match=r"n = '5' must be an integer"):
        load_config(Demo, p)
    assert Demo(n="5").n == 5


def test_errors_name_the_field_as_the_user_wrote_it(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[inner]\ntau = "-5*ms"\n')
    with pytest.raises(ParameterError) as e:
        load_config(Demo, p)
    assert str(e.value) == (f"{p}: inner.tau = '-5*ms' (= -0.005 s) is out of range: it must "
                            f"be > 0 s")
    with pytest.raises(ParameterError, match=r"^inner\.tau = '-5\*ms'"):
        load_config(Demo, None, ["inner.tau=-5*ms"])
    with pytest.raises(ParameterError, match=r"^Demo\.inner\.tau = -1"):
        Demo(inner={"tau": -1})
    with pytest.raises(ParameterError, match=r"^Inner\.tau = -1"):
        Inner(tau=-1)


def test_wrong_unit_in_text_names_the_text():
    with pytest.raises(UnitError, match=r"rate = '5\*mV' has the wrong unit: expected Hz"):
        load_config(Demo, None, ["rate=5*mV"])


def test_one_parser_for_every_file():
    from neuropcm.snn import config as network_config

    assert network_config.parse_quantity is parse_quantity
    assert parse_quantity("2 kHz") == 2 * brian2.kHz
    assert parse_quantity("1e-3 * second ** -1") == 1e-3 * brian2.Hz
    assert parse_quantity("(2 + 3) * mV - 1*mV") == 4 * brian2.mV
    assert parse_quantity("0.5") == 0.5
    for text, match in [("5*foo", "not a Brian2 unit"), ("2*ms + 3*mV", "not a quantity"),
                        ("ms ** ms", "exponent"), ("1" * 201, "at most 200"),
                        ("1e308 * 1e308 * ms", "not finite"), ("1/0*ms", "not a quantity")]:
        with pytest.raises(ParameterError, match=match):
            parse_quantity(text)


@dataclass(frozen=True)
class Shapes(Config):
    pair: tuple[int, int] = option([1, 2], "exactly two counts", lo=0)
    gap: str | float = option("auto", "a keyword or a time", unit="s", lo=0.0,
                              choices=("auto", "off"))
    when: float | None = option(None, "optional time", unit="s")


def test_fixed_length_lists_and_keyword_or_quantity_fields():
    assert Shapes().pair == (1, 2) and Shapes(pair=[4, 0]).pair == (4, 0)
    with pytest.raises(ParameterError, match=r"pair = \[1\] must be a list of 2 values"):
        Shapes(pair=[1])
    assert Shapes(gap="off").gap == "off"
    assert Shapes(gap="3 ms").gap == pytest.approx(3e-3)
    with pytest.raises(ParameterError, match=r"gap = 'sometimes' must be one of \['auto', "
                                             r"'off'\] or a quantity in s"):
        Shapes(gap="sometimes")
    with pytest.raises(UnitError):
        Shapes(gap="3 mV")
    with pytest.raises(ParameterError, match=">= 0 s"):
        Shapes(gap=-1.0)
    with pytest.raises(UnitError, match="needs a unit"):
        load_config(Shapes, None, ["gap=3"])
    assert load_config(Shapes, None, ["gap=auto"]).gap == "auto"
    assert Shapes.from_dict(Shapes(gap=0.5, when=1.0).to_dict()) == Shapes(gap=0.5, when=1.0)


def test_quantity_gives_the_field_with_its_brian2_unit():
    d = Demo(rate="2 kHz", inner={"tau": "5 ms"})
    assert d.quantity("rate") == 2 * brian2.kHz
    assert d.inner.quantity("tau") == 5 * brian2.ms
    assert d.quantity("n") == 10 and d.quantity("limit") is None
    assert Shapes().quantity("gap") == "auto"
    assert Shapes(gap=0.25).quantity("gap") == 250 * brian2.ms
    with pytest.raises(ParameterError, match="no field 'bogus'"):
        d.quantity("bogus")
