"""The memory a run may plan for (neuropcm.checks): MemAvailable, a cgroup limit and the
user's cap NEUROPCM_MEMORY, whichever is least."""

from __future__ import annotations

import pytest

from neuropcm import checks
from neuropcm.errors import ParameterError


@pytest.mark.parametrize("text, nbytes", [("8GiB", 8 * 2**30), ("500MB", 500e6),
                                           ("123", 123), ("1.5 GB", 1.5e9), ("64kib", 65536)])
def test_the_cap_reads_sizes(monkeypatch, text, nbytes):
    monkeypatch.setenv(checks.MEMORY_ENV, text)
    assert checks.memory_cap() == int(nbytes)
    assert checks.available_bytes() <= int(nbytes)


@pytest.mark.parametrize("text", ["lots", "-1GB", "0", "1 parsec", "nan", "inf GB"])
def test_a_bad_cap_is_refused_in_one_line(monkeypatch, text):
    monkeypatch.setenv(checks.MEMORY_ENV, text)
    with pytest.raises(ParameterError) as e:
        checks.memory_cap()
    assert checks.MEMORY_ENV in str(e.value) and "\n" not in str(e.value)


def test_without_a_cap_the_machine_decides(monkeypatch):
    monkeypatch.delenv(checks.MEMORY_ENV, raising=False)
    assert checks.memory_cap() is None
    free = checks.available_bytes()
    assert free is None or free > 0
    with pytest.raises(ParameterError, match="GiB available"):
        checks.check_memory(1e18, "an exabyte", "ask for less")
