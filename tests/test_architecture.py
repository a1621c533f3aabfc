"""The package's import graph: no circles, and every arrow points down the floor order.

Every module of ``neuropcm/`` is parsed with :mod:`ast` (imports at module level and
inside functions, relative imports resolved); ``from pkg import sub`` is an arrow to the
submodule ``pkg.sub`` when it is one, otherwise to the package module ``pkg``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

# Floors, lowest first: a module imports only from its own floor or lower ones.
FLOORS = [
    ("base", {"errors", "units", "random", "_version", "_moved", "plotting", "registry", "checks",
              "config", "datasets", "networks"}),
    ("devices", {"devices"}),
    ("io", {"io"}),
    ("engines", {"snn", "crossbar"}),
    ("bridge", {"bridge"}),
    ("workloads", {"workloads"}),
    ("analysis/sweep", {"analysis", "sweep"}),
    ("cli", {"cli"}),
]
#: Parts of one floor that must not import each other.
APART = [{"snn", "crossbar"}, {"analysis", "sweep"}]

ROOT = Path(__file__).resolve().parents[1] / "neuropcm"


def module_files(root: Path, package: str) -> dict[str, Path]:
    """Module name -> file for every ``.py`` file under the package directory ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _target(name: str, modules) -> str | None:
    """The module ``name`` denotes: itself, or its longest prefix that is a module."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_edges(root: Path, modules: dict[str, Path]) -> list[tuple[str, str, str, int, str]]:
    """Every arrow ``(importer, imported, file, line, source line)`` between the modules of
    the package directory ``root``, one per import statement and imported module."""
    edges = []
    for mod, path in modules.items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        is_pkg = path.name == "__init__.py"
        here = mod.split(".") if is_pkg else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    up = here[:len(here) - node.level + 1]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                else:
                    base = node.module or ""
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                         for a in node.names]
            else:
                continue
            for target in dict.fromkeys(_target(name, modules) for name in names):
                if target is not None and target != mod:
                    edges.append((mod, target, f"{root.name}/{path.relative_to(root)}",
                                  node.lineno, lines[node.lineno - 1].strip()))
    return edges


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _floor(mod: str, package: str) -> tuple[int, str, str] | None:
    """``(floor index, floor name, part)`` of a module; None for the facade."""
    if mod == package:
        return None
    part = mod.split(".")[1]
    for i, (name, parts) in enumerate(FLOORS):
        if part in parts:
            return i, name, part
    return -1, "(none)", part


def check_package(root: Path, package: str = "neuropcm") -> tuple[list[str], list[str]]:
    """The circles and the floor violations of the package in directory ``root``.

    Returns
    -------
    circles : list of str
        One message per circle: its modules and the import lines that close it.
    violations : list of str
        One message per arrow that points up the floor order, joins two parts that must
        stay apart, or leaves a module with no floor (``file:line``, both floors).
    """
    # the top-level facade may import anything; no module inside may import it
    edges = [e for e in import_edges(root, module_files(root, package)) if e[0] != package]
    graph: dict[str, set[str]] = {}
    for a, b, *_ in edges:
        graph.setdefault(a, set()).add(b)
    circles = []
    for comp in _circles(graph):
        inside = set(comp)
        lines = [f"  {f}:{n}: {a} -> {b}: {src}" for a, b, f, n, src in edges
                 if a in inside and b in inside]
        circles.append(f"circle among {', '.join(comp)}:\n" + "\n".join(lines))
    violations = []
    for a, b, f, n, src in edges:
        fa, fb = _floor(a, package), _floor(b, package)
        where = f"{f}:{n}: {src}"
        if fa[0] < 0:
            violations.append(f"{where}: {a} has no floor; add {fa[2]!r} to FLOORS")
        elif fb is None:
            violations.append(f"{where}: {a} imports the facade {b}; import the submodule")
        elif fb[0] < 0:
            violations.append(f"{where}: {b} has no floor; add {fb[2]!r} to FLOORS")
        elif fb[0] > fa[0]:
            violations.append(f"{where}: {a} (floor {fa[1]}) imports {b} (floor {fb[1]}), "
                              f"a higher floor")
        elif fa[2] != fb[2] and {fa[2], fb[2]} in APART:
            violations.append(f"{where}: {a} and {b} share the floor {fa[1]} but "
                              f"{fa[2]} must not import {fb[2]}")
    return circles, violations


def test_the_package_has_no_circles_and_keeps_its_floors():
    circles, violations = check_package(ROOT)
    assert not circles, "import circles:\n" + "\n".join(circles)
    assert not violations, "imports against the floor order:\n" + "\n".join(violations)


@pytest.fixture
def bad_tree(tmp_path):
    """A throwaway ``neuropcm`` with two circles, an upward arrow and a sideways one."""
    files = {
        "__init__.py": "from .devices import a\n",
        "errors.py": "def f():\n    from .devices.a import x\n",  # base -> devices: up
        "devices/__init__.py": "",
        "devices/a.py": "from . import b\nx = 1\n",
        "devices/b.py": "from neuropcm.devices.a import x\n",  # closes the circle
        "io/__init__.py": "from .c import z\nNAME = 1\n",
        "io/c.py": "from . import NAME\nz = 2\n",  # a name of __init__: package circle
        "crossbar/__init__.py": "from ..snn import y\n",  # engines apart
        "snn/__init__.py": "y = 1\n",
    }
    for name, text in files.items():
        path = tmp_path / "neuropcm" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path / "neuropcm"


def test_the_checker_reports_circles_and_upward_arrows(bad_tree):
    circles, violations = check_package(bad_tree)
    modules, package = sorted(circles)
    assert modules.startswith("circle among neuropcm.devices.a, neuropcm.devices.b:")
    assert "devices/a.py:1: neuropcm.devices.a -> neuropcm.devices.b" in modules
    assert "devices/b.py:1: neuropcm.devices.b -> neuropcm.devices.a" in modules
    assert package.startswith("circle among neuropcm.io, neuropcm.io.c:")
    assert "io/c.py:1: neuropcm.io.c -> neuropcm.io: from . import NAME" in package
    up, apart = sorted(violations, key=lambda v: "crossbar" in v)
    assert "errors.py:2:" in up and "(floor base)" in up and "(floor devices)" in up
    assert "crossbar/__init__.py:1:" in apart and "crossbar must not import snn" in apart
