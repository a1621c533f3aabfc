"""Extension points as registries (neuropcm.registry): the Registry class, and a drift
compensation or a preset registered by a user reaching every workload, ``--help`` and the
files with no other edit."""

import numpy as np
import pytest

import neuropcm.io as nio
from neuropcm.cli import main
from neuropcm.config import Config, describe, load_config, option
from neuropcm.crossbar import COMPENSATIONS, Crossbar, DriftCompensation
from neuropcm.devices.params import ProgrammedStateParams
from neuropcm.devices.presets import PRESETS
from neuropcm.errors import ParameterError, UnknownPresetError
from neuropcm.registry import Registry
from neuropcm.workloads import get_workload

W = np.array([[0.5, -1.0, 0.25], [1.0, 0.0, -0.5], [-0.75, 0.5, 1.0], [0.1, 0.2, -0.3]])


# ------------------------------------------------------------------ the Registry class
def test_register_get_and_the_mapping_protocol():
    r = Registry("shape", how="shapes.register(name, obj)")
    assert r.register("square", 4) == 4
    r.register("triangle", 3)
    assert r.get("square") == 4 and r["triangle"] == 3
    assert r.names() == ("square", "triangle") and list(r) == ["square", "triangle"]
    assert "square" in r and "circle" not in r and ["unhashable"] not in r
    assert len(r) == 2 and dict(r.items()) == {"square": 4, "triangle": 3}
    assert list(r.values()) == [4, 3]
    assert r.get("circle", None) is None and r.get("circle", 0) == 0
    assert "shape" in repr(r) and "square" in repr(r)
    r.register("square", 4)  # the same entry again: a no-op
    assert r.unregister("square") == 4 and r.names() == ("triangle",)
    for name in r:  # iteration is over a snapshot: changing the registry is safe
        r.register(name + "2", 0)
    assert r.names() == ("triangle", "triangle2")


def test_decorator_forms_and_build():
    r = Registry("greeting", how="greetings.register(name, obj)", key=lambda f: f.__name__)

    @r.register("hi")
    def hi(who="world"):
        return f"hi {who}"

    @r.register
    def hello(who="world"):
        return f"hello {who}"

    assert r.register(hi) is hi  # the key names it "hi": already there, the same object
    assert r.names() == ("hi", "hello")
    assert r.build("hi") == "hi world" and r.build({"name": "hello", "who": "PCM"}) == "hello PCM"
    with pytest.raises(UnknownPresetError, match=r"^where: unknown greeting 'bye'"):
        r.build({"name": "bye"}, "where")
    with pytest.raises(ParameterError, match=r"greeting 'hi' with settings \{'whom': 1\} is "
                                             r"invalid"):
        r.build({"name": "hi", "whom": 1})
    with pytest.raises(ParameterError, match=r"must be a name or a dict"):
        r.build(3)
    with pytest.raises(ParameterError, match=r"needs a name"):
        Registry("x", how="-").register(3)


def test_errors_name_the_value_and_the_fix():
    r = Registry("shape", how="shapes.register(name, obj)")
    r.register("square", 4)
    with pytest.raises(UnknownPresetError) as e:
        r.get("circle")
    msg = str(e.value)
    assert msg == ("unknown shape 'circle'; known: ['square']; register one with "
                   "shapes.register(name, obj)")
    assert isinstance(e.value, KeyError) and isinstance(e.value, ParameterError)
    with pytest.raises(UnknownPresetError, match="unknown shape 'circle'"):
        r.unregister("circle")
    with pytest.raises(UnknownPresetError):
        r.get(["unhashable"])
    with pytest.raises(ParameterError, match=r"shape 'square' is already registered as 4; "
                                             r"unregister\('square'\) it first"):
        r.register("square", 5)
    assert r["square"] == 4
    for bad in ("", None, 3):
        with pytest.raises(ParameterError, match="must be a non-empty string"):
            r.register(bad, 1)


def test_item_assignment_replaces_and_check_runs_on_every_entry(monkeypatch):
    seen = []

    def check(name, obj):
        seen.append(name)
        if obj < 0:
            raise ParameterError(f"shape {name!r}: {obj} sides")

    r = Registry("shape", how="-", check=check)
    r["square"] = 4
    r["square"] = 5  # dict semantics: replaces (monkeypatch.setitem relies on it)
    assert r["square"] == 5 and seen == ["square", "square"]
    with pytest.raises(ParameterError, match="-1 sides"):
        r.register("bad", -1)
    with pytest.raises(ParameterError, match="-1 sides"):
        r["bad"] = -1
    assert "bad" not in r
    with monkeypatch.context() as m:
        m.setitem(r, "triangle", 3)
        m.setitem(r, "square", 6)
        assert r["triangle"] == 3 and r["square"] == 6
    assert "triangle" not in r and r["square"] == 5  # undone
    del r["square"]
    assert len(r) == 0


def test_compensation_registry_checks_its_classes():
    class NoName(DriftCompensation):
        pass

    class Named(DriftCompensation):
        name = "named"

    with pytest.raises(ParameterError, match=r"name = None; set the class attribute name"):
        COMPENSATIONS.register(NoName)
    with pytest.raises(ParameterError, match=r"Named.name = 'named' must be the name it is "
                                             r"registered under; set name = 'other'"):
        COMPENSATIONS.register("other", Named)
    with pytest.raises(ParameterError, match="not a DriftCompensation subclass"):
        COMPENSATIONS.register("named", Named())
    with pytest.raises(ParameterError, match="'global' is already registered"):
        COMPENSATIONS.register("global", type("Global", (DriftCompensation,),
                                              {"name": "global"}))
    assert COMPENSATIONS.names() == ("global", "column", "lrs")


def test_file_kinds_and_refresh_rules_are_registries():
    from neuropcm.crossbar import REFRESH_RULES as crossbar_rules
    from neuropcm.devices.refresh import REFRESH_RULES, RefreshRule, ThresholdRefresh
    from neuropcm.io.kinds import KINDS, FileKind, get_kind, register_kind

    assert isinstance(KINDS, Registry) and get_kind("solver") is KINDS["solver"]
    assert register_kind(KINDS["solver"]) is KINDS["solver"]  # equal again: a no-op
    with pytest.raises(ParameterError, match="file kind 'solver' is already registered"):
        register_kind(FileKind("solver", 9, "another solver"))
    with pytest.raises(UnknownPresetError, match=r"unknown file kind 'nope'; known: .*; "
                                                 r"register one with .*register_kind"):
        get_kind("nope")
    kind = KINDS["mvm_precision"]
    assert kind.units_of("eta_t_max_global") == "1" and kind.units_of("eta_t_max_mine") == "1"
    assert kind.units_of("eta_t_max_") is None and kind.units_of("nothing") is None
    assert kind.dataset_units("results/drift/eta_mine") == "1"
    assert kind.dataset_units("results/drift/time") == "s"
    assert kind.dataset_units("results/drift/sub/eta_x") is None
    assert KINDS["snn_crossbar"].dataset_units("results/accuracy_column") == "1"
    with pytest.raises(ParameterError, match=r"exactly one \{placeholder\}"):
        FileKind("x", 1, "x", optional_patterns={"eta": "1"})
    with pytest.raises(ParameterError, match="'pulses' is not a unit"):
        FileKind("x", 1, "x", dataset_patterns={"a_{b}": "pulses"})

    assert crossbar_rules is REFRESH_RULES and REFRESH_RULES["threshold"] is ThresholdRefresh
    with pytest.raises(ParameterError, match="not a RefreshRule subclass"):
        REFRESH_RULES.register("bad", object)

    class Everything(RefreshRule):
        def select(self, g_plus, g_minus, g_ref):
            return np.ones(np.shape(g_plus), bool)

    REFRESH_RULES.register("everything", Everything)
    try:  # a registered rule is selectable by name and written to configs by name
        xb = Crossbar(W, "ideal", seed=0, refresh="everything")
        assert type(xb.refresh_rule) is Everything
        assert xb.config.to_dict()["update"]["refresh"] == "everything"
    finally:
        REFRESH_RULES.unregister("everything")
    with pytest.raises(ParameterError, match="unknown refresh rule 'everything'"):
        Crossbar(W, "ideal", seed=0, refresh="everything")


def test_brian2_refresh_rules():
    pytest.importorskip("brian2")
    from neuropcm.snn.refresh import REFRESH_RULES, TruncateRefresh, resolve_refresh

    assert REFRESH_RULES.names() == ("threshold", "truncate")
    assert type(resolve_refresh("truncate")) is TruncateRefresh
    with pytest.raises(UnknownPresetError, match=r"refresh: unknown Brian2 refresh rule "
                                                 r"'never'; known: \['threshold', 'truncate'\]"):
        resolve_refresh("never")
    with pytest.raises(ParameterError, match="neither a Refresh nor a ThresholdRefresh"):
        REFRESH_RULES.register("bad", int)


# ------------------------------------------------------------------ callable choices
def test_callable_choices_are_read_when_checking_and_describing():
    allowed = ["a"]

    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Demo(Config):
        mode: str = option("a", lambda: f"a mode of {len(allowed)}", choices=lambda: tuple(allowed))
        level: str | float = option("auto", "a level", unit="V", choices=lambda: ("auto",))

    with pytest.raises(ParameterError, match=r"Demo.mode = 'b' is not one of \['a'\]"):
        Demo(mode="b")
    allowed.append("b")
    assert Demo(mode="b").mode == "b"
    assert describe(Demo)[0][3] == "a mode of 2 (one of a, b)"
    assert load_config(Demo, None, ["level=auto"]).level == "auto"
    with pytest.raises(ParameterError, match=r"must be one of \['auto'\] or a quantity"):
        load_config(Demo, None, ["level=loud"])


# ------------------------------------------------------------------ the acceptance test
class Mine(DriftCompensation):
    """A user's compensation: undo a drift of exponent 0.05 since programming."""

    name = "mine"

    def calibrate(self, xb):
        self.t_p = xb.time

    def factor(self, xb, transpose):
        return ((xb.time - self.t_p + 20.0) / 20.0) ** 0.05


@pytest.fixture
def mine():
    COMPENSATIONS.register(Mine)
    yield Mine
    COMPENSATIONS.unregister("mine")


def test_a_registered_compensation_is_selectable_everywhere(mine, tmp_path, capsys):
    xb = Crossbar(W, "joshi2020", seed=0, drift_compensation="mine")
    assert type(xb.compensation) is Mine
    assert xb.config.to_dict()["compensation"]["drift_compensation"] == "mine"
    xb.at(xb.time + 1e4)
    assert xb.compensation_factor == pytest.approx(((1e4 + 20.0) / 20.0) ** 0.05)
    assert Crossbar.load(xb.save(tmp_path / "xb.h5")).compensation.name == "mine"

    solver = load_config(get_workload("solver").config, None, ["drift_compensation=mine"])
    assert solver.drift_compensation == "mine"
    snn = load_config(get_workload("snn-crossbar").config, None, ["compensation=mine"])
    assert snn.compensation == "mine"
    for name in ("solver", "mvm-precision"):
        with pytest.raises(SystemExit) as e:
            main(["run", name, "--help"])
        assert e.value.code == 0
        assert "mine" in capsys.readouterr().out, name

    w = get_workload("mvm-precision")
    from neuropcm.workloads.computational_memory import mvm_precision
    assert mvm_precision.COMPENSATIONS == ("none", "global", "column", "lrs", "mine")
    out = w.run(load_config(w.config, None, list(w.smoke)), tmp_path / "mvm.h5",
                progress=False)
    r = nio.open(out)
    times = r.dataset("results/drift/time").size
    for name in ("none", "global", "column", "lrs", "mine"):
        assert r.dataset(f"results/drift/eta_{name}").shape[0] == times
        assert r.datasets[f"results/drift/eta_{name}"].units == "1"
        assert r.units[f"eta_t_max_{name}"] == "1"
    assert "mine " in w.summary(out)


def test_the_builtin_set_is_back_after_the_fixture():
    assert COMPENSATIONS.names() == ("global", "column", "lrs")
    with pytest.raises(ParameterError, match="is not one of"):
        load_config(get_workload("solver").config, None, ["drift_compensation=mine"])


def test_a_class_that_needs_arguments_says_how_to_build_it_by_name(monkeypatch):
    class Needs(DriftCompensation):
        name = "needs"

        def __init__(self, nu):
            self.nu = nu

    monkeypatch.setitem(COMPENSATIONS, "needs", Needs)
    with pytest.raises(ParameterError, match=r"drift_compensation = 'needs': Needs.from_config"
                                             r"\(section\) failed .*override from_config"):
        Crossbar(W, "joshi2020", seed=0, drift_compensation="needs")


def test_a_registered_preset_is_accepted_by_workload_configs(monkeypatch, capsys):
    monkeypatch.setitem(PRESETS, "test_programmed", lambda: ProgrammedStateParams(g_max=20e-6))
    for name, field in (("mvm-precision", "preset"), ("solver", "preset"),
                        ("drift-resilient", "preset"), ("drift-resilient", "analog_preset"),
                        ("compressed-sensing", "preset")):
        cfg = load_config(get_workload(name).config, None, [f"{field}=test_programmed"])
        assert getattr(cfg, field) == "test_programmed"
    # a filter over the registry: correlation takes pulsed presets only
    with pytest.raises(ParameterError, match=r"preset = 'test_programmed' is not one of "
                                             r"\['nandakumar2018'\]"):
        load_config(get_workload("correlation").config, None, ["preset=test_programmed"])
    with pytest.raises(SystemExit):
        main(["run", "mvm-precision", "--help"])
    assert "test_programmed" in capsys.readouterr().out
