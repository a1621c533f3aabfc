"""PCMArray.read_moments(clipped=True): the moments of the clipped read max(g + s xi, 0)."""

import math

import numpy as np

from neuropcm import PCMArray


def test_clipped_moments_match_sampled_reads():
    a = PCMArray(200, "joshi2020", seed=0)
    a.program(np.r_[np.full(150, 0.5e-6), np.full(50, 20e-6)])  # low states often clip at 0
    t = 1e4
    mean, std = a.read_moments(t=t, clipped=True)
    m0, s0 = a.read_moments(t=t)
    R = 5_000
    reads = np.stack([a.read(t=t) for _ in range(R)])
    assert np.all(np.abs(reads.mean(axis=0) - mean) < 5 * std / math.sqrt(R) + 1e-15)
    assert np.all(np.abs(reads.std(axis=0) - std) < 5 * std / math.sqrt(R) * 1.5 + 1e-15)
    clipped = ((reads == 0).mean(axis=0) > 0.01) & (s0 > 0)
    assert clipped.any()
    assert np.all(mean[clipped] > m0[clipped]) and np.all(std[clipped] < s0[clipped])
    # unclipped states: identical to the Gaussian moments
    far = m0 > 8 * s0
    np.testing.assert_allclose(mean[far], m0[far], rtol=1e-9)
