import numpy as np
import pytest


def se_mean(std, n):
    """Standard error of a sample mean."""
    return std / np.sqrt(n)


def se_std(sigma, mu4, n):
    """Standard error of a sample std from the 4th central moment (delta method)."""
    return np.sqrt(np.maximum(mu4 - sigma ** 4, 0) / n) / (2 * sigma)


@pytest.fixture
def tmp_h5(tmp_path):
    return tmp_path / "out.h5"
