"""The reference pages of the docs are rendered from the registries, not kept by hand: a
field added to a workload's config, a preset added or changed, a file kind registered or a
command added shows up in the page text (``docs/_ext/neuropcm_docgen.py``)."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from neuropcm.config import option

from docs_support import docgen


@pytest.fixture(scope="module")
def gen():
    """The docs' generator module."""
    return docgen()


def _row(page: str, name: str) -> str:
    """The table row of field/parameter ``name`` (its first cell is ``name`` in code)."""
    rows = [ln for ln in page.splitlines() if ln.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"{name!r}: {len(rows)} rows"
    return rows[0]


def test_a_new_workload_field_appears(gen):
    from neuropcm.workloads import get_workload

    w = get_workload("device-characterisation")

    @dataclasses.dataclass(frozen=True)
    class Extended(w.config):
        dwell_time: float = option(2.5e-3, "time each device waits between pulses",
                                   unit="s", lo=0.0, hi=10.0)

    before = gen.workloads_page({w.name: w})
    after = gen.workloads_page({w.name: dataclasses.replace(w, config=Extended)})
    assert "dwell_time" not in before
    row = _row(after, "dwell_time")
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == ["`dwell_time`", "s", "`0.0025`", ">= 0, <= 10",
                     "time each device waits between pulses"]
    # every field of the real config is in the page, with its unit
    for f in dataclasses.fields(w.config):
        assert f"`{f.name}`" in _row(before, f.name)
        if f.metadata.get("unit"):
            assert f"| {f.metadata['unit']} |" in _row(before, f.name)


def test_a_changed_field_changes_the_page(gen):
    from neuropcm.workloads import get_workload

    w = get_workload("device-characterisation")
    f = next(f for f in dataclasses.fields(w.config) if f.name == "devices")

    @dataclasses.dataclass(frozen=True)
    class Changed(w.config):
        devices: int = option(1234, "a new meaning of devices", lo=7, hi=99999)

    row = _row(gen.workloads_page({w.name: dataclasses.replace(w, config=Changed)}), "devices")
    assert "`1234`" in row and ">= 7, <= 99999" in row and "a new meaning of devices" in row
    assert f.default != 1234


def test_nested_sections_and_choices(gen):
    from neuropcm.crossbar import CrossbarConfig

    rows = gen.config_rows(CrossbarConfig)
    names = [r[0] for r in rows]
    assert "`periphery`" in names and "`periphery.adc_bits`" in names
    comp = next(r for r in rows if r[0] == "`compensation.drift_compensation`")
    assert "global" in comp[3]  # its choices, read from the compensation registry


def test_a_new_or_changed_preset_appears(gen):
    from neuropcm.devices.presets import PRESETS, joshi2020

    def mydevice():
        """My device: joshi2020 with a wider window.

        Measured on our wafer, 2026 (an example for the test)."""
        return joshi2020().replace(g_max=31e-6)

    page = gen.presets_page({**PRESETS, "mydevice": mydevice})
    assert "### `mydevice`" in page
    assert "My device: joshi2020 with a wider window." in page
    assert "Measured on our wafer" in page
    table = page.split("## Parameters of `ProgrammedStateParams`")[1]
    header = next(ln for ln in table.splitlines() if ln.startswith("| parameter |"))
    assert header.rstrip(" |").split(" | ")[-2].strip() == "`mydevice`"
    g_max = _row(table, "g_max")
    # one column per preset of the class, in the table's order: mydevice comes last
    assert g_max.rstrip(" |").split(" | ")[-2].strip() == "3.1e-05"
    assert "| S |" in g_max
    assert "mydevice" not in gen.presets_page(PRESETS)


def test_every_parameter_has_its_unit(gen):
    from neuropcm.devices import ProgrammedStateParams, PulsedParams
    from neuropcm.devices.presets import PRESETS

    page = gen.presets_page(PRESETS)
    for cls in (PulsedParams, ProgrammedStateParams):
        for f in dataclasses.fields(cls):
            assert f"| `{f.name}` | {f.metadata.get('unit') or '1'} |" in page


def test_a_new_file_kind_appears(gen):
    from neuropcm.io.kinds import KINDS, FileKind

    kind = FileKind("test_widget", 3, "widgets measured for a test",
                    headline={"widget_yield": "1"}, bounds={"widget_yield": (0, 1)},
                    datasets={"results/widget/current": "A"})
    page = gen.kinds_page({**{n: KINDS.get(n) for n in KINDS.names()}, kind.name: kind})
    assert "## `test_widget` (schema 3)" in page
    assert "| `/results/widget/current` | dataset | A |" in page
    assert "| `/results@widget_yield` | headline | 1 | [0, 1], finite |" in page
    assert "test_widget" not in gen.kinds_page(KINDS)


def test_relations_page_holds_each_expression(gen):
    from neuropcm.devices import physics

    page = gen.relations_page(physics.RELATIONS, physics)
    for name, r in physics.RELATIONS.items():
        assert f"{name} = {r.expr}" in page
    # the docstring written after the relation in physics.py is shown with it
    assert "Endurance rule" in page


def test_cli_page_holds_every_command(gen):
    from neuropcm.cli import build_parser

    p = build_parser()
    page = gen.cli_page(p)
    sub = gen._subparsers(p)
    for name in sub.choices:
        assert f"`neuropcm {name}`" in page
    extra = argparse.ArgumentParser(prog="neuropcm")
    s = extra.add_subparsers()
    s.add_parser("frobnicate", help="a command added in a test")
    assert "`neuropcm frobnicate`" in gen.cli_page(extra)


def test_generate_writes_once(gen, tmp_path):
    written = gen.generate(tmp_path)
    ref = tmp_path / "reference" / "generated"
    for page in ("workloads.md", "presets.md", "relations.md", "file-kinds.md", "cli.md"):
        assert (ref / page).is_file()
    assert (tmp_path / "api" / "generated" / "neuropcm.devices.rst").is_file()
    assert written
    assert gen.generate(tmp_path) == []  # unchanged pages are not rewritten (no rebuild)
