"""Magnitudes at the crossbar's boundary: matrices, inputs and updates whose reads would
overflow (or whose read noise would underflow) the dtype raise a clear error naming the
value, never give silent inf/NaN; large but representable inputs still work."""

import re

import numpy as np
import pytest

from neuropcm.crossbar import Crossbar
from neuropcm.errors import ParameterError


@pytest.mark.parametrize("w,dtype", [(1e300, "float64"), (1e150, "float64"),
                                     (1e20, "float32")])
def test_matrix_whose_reads_overflow_is_refused(w, dtype):
    W = np.full((3, 4), w) * np.array([1, -1, 1, 1])
    with pytest.raises(ParameterError,
                       match=re.escape(f"W has entries up to {w:.4g}: its reads overflow {dtype}")):
        Crossbar(W, "joshi2020", seed=0, dtype=dtype)


def test_matrix_whose_read_noise_underflows_is_refused():
    with pytest.raises(ParameterError, match="only up to 1e-200.*underflow float64"):
        Crossbar(np.full((2, 2), 1e-200), "joshi2020", seed=0)
    with pytest.raises(ParameterError, match="underflow float32"):
        Crossbar(np.full((2, 2), 1e-20), "joshi2020", seed=0, dtype="float32")


def test_representable_extremes_still_work():
    """1e20 fits float64 reads (variances ~1e40); 1e-3 fits float32."""
    W = np.random.default_rng(0).standard_normal((4, 5))
    for scale, dtype in ((1e20, "float64"), (1e-3, "float32"), (1e15, "float32")):
        xb = Crossbar(W * scale, "ideal", seed=0, dtype=dtype)
        x = np.random.default_rng(1).standard_normal(5)
        np.testing.assert_allclose(xb @ x, (W * scale) @ x, rtol=1e-5)


@pytest.mark.parametrize("batch", [None, 1, 7])
def test_input_whose_read_overflows_is_refused(batch):
    """float32: x = 1e20 makes x^2 (the variance product) overflow although W x fits."""
    W = np.random.default_rng(2).standard_normal((6, 8))
    xb = Crossbar(W, "joshi2020", seed=1, dtype="float32")
    x = np.full(8 if batch is None else (8, batch), 1e20, np.float32)
    with pytest.raises(ParameterError, match=r"x has entries up to 1e\+20.*overflows float32"):
        xb @ x
    with pytest.raises(ParameterError, match="overflows float32"):
        xb.H @ np.full(6, 1e20, np.float32)
    # float64: a product beyond 1.8e308
    xd = Crossbar(W, "joshi2020", seed=1)
    with pytest.raises(ParameterError, match=r"up to 1e\+307.*overflows float64"):
        xd @ np.full(8, 1e307)


def test_large_representable_inputs_are_read_exactly_in_distribution():
    """1e15 in float32: x^2 = 1e30 and the outputs fit; the read is W x scaled."""
    W = np.random.default_rng(3).standard_normal((6, 8))
    xb = Crossbar(W, "ideal", seed=1, dtype="float32")
    x = np.random.default_rng(4).standard_normal((8, 3)) * 1e15
    np.testing.assert_allclose(xb @ x, W @ x, rtol=1e-5)
    assert np.isfinite(Crossbar(W, "joshi2020", seed=1, dtype="float32") @ x).all()


def test_update_asking_absurd_pulse_counts_is_refused():
    xb = Crossbar(np.zeros((3, 4)), "ideal", seed=0, w_max=1.0, refresh=None)
    with pytest.raises(ParameterError, match="SET pulses on one device"):
        xb.update(np.ones(4), np.ones(3), lr=1e300)
    with pytest.raises(ParameterError, match="SET pulses on one device"):
        xb.update(np.full(4, 1e200), np.full(3, 1e200), lr=1.0)  # lr d x^T overflows
    assert xb.totals()["n_set"] == 2 * 3 * 4  # nothing was applied (programming only)
