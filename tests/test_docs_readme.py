"""The README is the first page: its two set-up commands are where ``.ci/run`` and users
look for them, and every link it makes into the docs leads to a file of this checkout."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _command(marker: str) -> str:
    lines = README.splitlines()
    i = lines.index(f"<!-- {marker} -->")
    line = lines[i + 1]
    assert line.startswith("    ") and not line.startswith("     "), line
    return line[4:]


def test_the_two_commands():
    main = _command("main-command")
    test = _command("test-command")
    assert main.startswith("python3 -m venv .venv && .venv/bin/pip install -e . && ")
    assert "neuropcm mnist" in main
    assert test.startswith("python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && ")
    assert test.endswith("python -m pytest")
    assert README.count("<!-- main-command -->") == 1
    assert README.count("<!-- test-command -->") == 1


def test_links_lead_to_files():
    links = re.findall(r"\]\(([^)\s]+)\)", README)
    local = [ln for ln in links if not re.match(r"^[a-z]+:", ln) and not ln.startswith("#")]
    assert len(local) >= 10, local
    missing = [ln for ln in local if not (ROOT / ln.split("#")[0]).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"


def test_the_docs_build_command_is_the_ci_one():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m sphinx -W" in README and "python -m sphinx -W" in ci
    assert "'.[docs]'" in README and "'.[docs]'" in ci
