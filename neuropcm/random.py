"""One seed scheme: every random stream is derived from ``(seed, *path)``.

A run has one user seed (a non-negative integer). Each random stream in it -- a device
array's noise, a crossbar's read noise, a training chunk's Brian2 generator, a data
subset's permutation -- is named by a *path* of strings and non-negative integers, e.g.
``("crossbar", "G_plus")`` or ``("train", "chunk", 17)``, and drawn from
``numpy.random.SeedSequence(seed, spawn_key=path)``. Different paths give statistically
independent streams (SeedSequence's guarantee); the same ``(seed, path)`` always gives
the same stream, on every machine and in every process. There is no other derivation
in the package.

Examples
--------
>>> from neuropcm.random import rng, int_seed
>>> g = rng(3, "crossbar", "reads")            # a numpy Generator
>>> s = int_seed(3, "train", "chunk", 17)      # an int for C code (Brian2 standalone)
"""

from __future__ import annotations

import hashlib

import numpy as np

from .errors import ParameterError

__all__ = ["check_seed", "seed_sequence", "rng", "int_seed"]


def check_seed(seed, name: str = "seed") -> int:
    """Return ``seed`` as an int, or raise a one-line error if it is not a seed.

    A seed is a non-negative integer (``numpy.random.SeedSequence`` entropy).
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"{name} = {seed!r} must be a non-negative integer, e.g. 0")
    if seed < 0:
        raise ParameterError(f"{name} = {seed!r} is negative; give a non-negative integer, "
                             f"e.g. 0")
    return int(seed)


def _key(part) -> int:
    """One path element as a 32-bit word: ints as they are, strings by a stable hash."""
    if isinstance(part, str):
        return int.from_bytes(hashlib.sha256(part.encode()).digest()[:4], "little")
    if isinstance(part, (bool, np.bool_)) or not isinstance(part, (int, np.integer)) \
            or part < 0:
        raise ParameterError(f"random-stream path element {part!r} must be a string or a "
                             f"non-negative integer")
    return int(part)


def seed_sequence(seed, *path) -> np.random.SeedSequence:
    """The ``SeedSequence`` of the stream named ``path`` under ``seed``.

    Parameters
    ----------
    seed : int
        The run's seed (non-negative).
    *path : str or int
        Names of the stream, outermost first.
    """
    return np.random.SeedSequence(check_seed(seed), spawn_key=tuple(_key(p) for p in path))


def rng(seed, *path) -> np.random.Generator:
    """A ``numpy.random.Generator`` (PCG64) for the stream ``(seed, *path)``."""
    return np.random.default_rng(seed_sequence(seed, *path))


def int_seed(seed, *path, bits: int = 31) -> int:
    """An integer seed in ``[0, 2**bits)`` for the stream ``(seed, *path)``.

    For generators outside numpy (Brian2's C++ ``seed()``, which takes a 32-bit value):
    the first 64-bit word of the stream's SeedSequence state, shifted to ``bits`` bits.
    """
    if not 1 <= bits <= 63:
        raise ParameterError(f"bits = {bits!r} must be in 1..63")
    word = int(seed_sequence(seed, *path).generate_state(1, dtype=np.uint64)[0])
    return word >> (64 - bits)
