"""The one seed scheme (neuropcm.random): reproducible, independent, validated."""

import numpy as np
import pytest

from neuropcm.errors import ParameterError
from neuropcm.random import check_seed, int_seed, rng, seed_sequence


def test_same_seed_and_path_give_the_same_stream():
    a = rng(7, "crossbar", "G_plus").random(1000)
    b = rng(7, "crossbar", "G_plus").random(1000)
    assert np.array_equal(a, b)


def test_paths_and_seeds_give_independent_streams():
    # 20,000 uniform pairs from streams that differ in one path element or in the seed:
    # correlation is N(0, 1/n) for independent streams, so |r| < 5/sqrt(n) fails ~1e-6.
    n = 20_000
    ref = rng(7, "train", "chunk", 1).random(n)
    for other in (rng(7, "train", "chunk", 2), rng(8, "train", "chunk", 1),
                  rng(7, "test", "chunk", 1), rng(7, "train")):
        r = np.corrcoef(ref, other.random(n))[0, 1]
        assert abs(r) < 5 / np.sqrt(n)
        assert not np.array_equal(ref[:10], other.random(10))


def test_seed_sequence_is_numpy_spawn_key():
    # An integer path is exactly numpy's own spawn key (documented equivalence).
    ss = seed_sequence(5, 0, 3)
    assert ss.entropy == 5 and ss.spawn_key == (0, 3)
    child = np.random.SeedSequence(5).spawn(1)[0]
    assert np.array_equal(seed_sequence(5, 0).generate_state(4), child.generate_state(4))


def test_int_seed_range_and_stability():
    s = [int_seed(1, "chunk", k) for k in range(2000)]
    assert all(0 <= v < 2 ** 31 for v in s)
    assert len(set(s)) == len(s)          # no collisions among 2000 chunks
    assert int_seed(1, "chunk", 5) == s[5]
    assert int_seed(1, "x", bits=8) < 256


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None, True])
def test_bad_seeds_are_refused(bad):
    with pytest.raises(ParameterError, match="seed"):
        check_seed(bad)
    with pytest.raises(ParameterError):
        rng(bad)


@pytest.mark.parametrize("bad", [-1, 2.0, None])
def test_bad_path_elements_are_refused(bad):
    with pytest.raises(ParameterError, match="path element"):
        rng(0, bad)
