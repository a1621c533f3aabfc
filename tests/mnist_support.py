"""Shared helpers of the MNIST run tests (networks, data, processes)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
DETERMINISTIC = TESTS / "networks" / "deterministic.toml"


def mnist_data():
    """Full MNIST from the offline cache; the README's set-up provides it, so a missing
    cache is a failure, not a skip."""
    from neuropcm.datasets import load_mnist

    try:
        return (*load_mnist("train"), *load_mnist("test"))
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"the MNIST cache is missing or broken ({e}); run the README set-up")


def binarised(data):
    """Images with pixels 0 or 255 (the deterministic network's inputs)."""
    tr_x, tr_y, te_x, te_y = data
    return (np.where(tr_x > 127, 255, 0).astype(np.uint8), tr_y,
            np.where(te_x > 127, 255, 0).astype(np.uint8), te_y)


def small_sidler_toml(folder: Path) -> Path:
    """sidler2017 with 100-example chunks, under its own name (its own build folder)."""
    from neuropcm.snn.config import NETWORKS_DIR

    text = (NETWORKS_DIR / "sidler2017.toml").read_text()
    new, n1 = re.subn(r"^chunk = 1000\b", "chunk = 100", text, flags=re.M)
    new, n2 = re.subn(r'^name = "sidler2017"', 'name = "test-sidler2017"', new, flags=re.M)
    assert n1 == n2 == 1
    path = folder / "small.toml"
    path.write_text(new)
    return path


def children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (Linux /proc)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_for_simulator(pid: int, timeout: float = 300, after=lambda: True) -> int:
    """Wait until ``pid`` runs a simulator binary (``./main``) while ``after()`` holds;
    return the binary's pid."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if after():
            for c in children(pid):
                if "./main" in cmdline(c):
                    return c
        time.sleep(0.002)
    raise AssertionError("no simulator process appeared")


def run_folders(build_root: Path, name: str) -> list[Path]:
    """The per-run subfolders in the build folders of network ``name``."""
    return sorted(build_root.glob(f"mnist-{name}-*/run-*"))


def build_root() -> Path:
    from neuropcm.datasets.mnist import resolve_data_dir

    return resolve_data_dir() / "build"


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.01)
    return False

