"""Every code block of the tutorials runs.

Each page of ``docs/tutorials/`` (and each page of ``docs/guide/`` that holds code) is
turned into one script -- its ```` ```python ```` blocks as they are, each line of its
```` ```bash ```` blocks as a call of the ``neuropcm`` command (``neuropcm.cli.main``,
which must return 0) -- and run in a fresh folder, in a subprocess, in page order. ```` ```console ```` blocks (commands for other machines) and
```` ```text ```` blocks are shown, not run; the ``{plot}`` figures are drawn by the docs
build itself. Pages that compile a Brian2 network or run a Dask cluster are ``slow``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
TUTORIALS = DOCS / "tutorials"

#: Pages that take over ~10 s on 2 cores: a Brian2 compile, a cpp_standalone build, a Dask
#: cluster, a few trainings.
SLOW = {"a_brian2_pcm_synapses", "b_mnist_clustering", "d_computational_memory_mlp",
        "e_analysing_results", "f_sweeps_dask", "your-device"}

_FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", re.DOTALL | re.MULTILINE)


def code_blocks(text: str) -> list[tuple[str, str]]:
    """The fenced code blocks of a Markdown page: ``[(language, code), ...]`` in order
    (directive fences such as ```` ```{plot} ```` are not code blocks)."""
    return [(m.group(1), m.group(2)) for m in _FENCE.finditer(text)]


def page_script(text: str) -> str:
    """One Python script running the page's ``python`` and ``bash`` blocks in order.

    The page's code runs under ``if __name__ == "__main__"``: a Dask local cluster starts
    its workers by importing the main script, which must not run the page again."""
    return (f"if __name__ == '__main__':\n"
            f"    exec(compile({_page_code(text)!r}, '<page>', 'exec'), "
            f"{{'__name__': '__main__'}})\n")


def _page_code(text: str) -> str:
    parts = ["from neuropcm.cli import main as _neuropcm_main", ""]
    for lang, code in code_blocks(text):
        if lang == "python":
            parts.append(code)
        elif lang == "bash":
            for line in code.splitlines():
                line = line.split(" #")[0].strip()
                if not line:
                    continue
                args = shlex.split(line)
                if args[0] != "neuropcm":
                    raise ValueError(f"a bash block runs only neuropcm commands: {line!r}")
                parts.append(textwrap.dedent(f"""\
                    print("$ " + {line!r}, flush=True)
                    _rc = _neuropcm_main({args[1:]!r})
                    assert _rc == 0, f"exit status {{_rc}}: " + {line!r}
                    """))
    return "\n".join(parts)


def test_code_blocks_are_found():
    """The extraction sees the blocks it must run, and no ``{plot}`` directive."""
    text = "x\n```python\na = 1\n```\n```{plot}\nb = 2\n```\n```bash\nneuropcm inspect f.h5\n```\n"
    assert code_blocks(text) == [("python", "a = 1\n"), ("bash", "neuropcm inspect f.h5\n")]
    script = _page_code(text)
    assert "a = 1" in script and "b = 2" not in script and "['inspect', 'f.h5']" in script
    compile(page_script(text), "<page>", "exec")


def test_bash_blocks_run_only_neuropcm():
    with pytest.raises(ValueError, match="only neuropcm"):
        page_script("```bash\nrm -rf x\n```\n")


def _pages():
    """The tutorials, and the guide pages that hold code to run (getting started, ...)."""
    out = []
    guides = [p for p in sorted((DOCS / "guide").glob("*.md"))
              if any(lang in ("python", "bash") for lang, _ in code_blocks(p.read_text()))]
    for p in sorted(TUTORIALS.glob("*.md")) + guides:
        if p.stem == "index":
            continue
        marks = [pytest.mark.slow] if p.stem in SLOW else []
        out.append(pytest.param(p, id=p.stem, marks=marks))
    return out


@pytest.mark.parametrize("page", _pages())
def test_tutorial_runs(page: Path, tmp_path: Path):
    text = page.read_text(encoding="utf-8")
    blocks = [b for b in code_blocks(text) if b[0] in ("python", "bash")]
    assert blocks, f"{page.name} has no code block to run"
    script = tmp_path / f"{page.stem}.py"
    script.write_text(page_script(text), encoding="utf-8")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore::DeprecationWarning")
    env["NEUROPCM_PRESETS"] = str(tmp_path / "no-user-presets")
    res = subprocess.run([sys.executable, str(script)], check=False, cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=1200)
    assert res.returncode == 0, (f"{page.name} failed:\n--- stdout\n{res.stdout[-4000:]}"
                                 f"\n--- stderr\n{res.stderr[-4000:]}")
