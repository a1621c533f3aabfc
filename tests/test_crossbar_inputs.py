"""Crossbar matrices must be real numbers (issue 18, point 3): complex, boolean and object
matrices are refused in one line, before any device is programmed."""

import warnings

import numpy as np
import pytest

from neuropcm.crossbar import Crossbar
from neuropcm.crossbar.state import check_matrix
from neuropcm.errors import ParameterError

W = np.arange(6.0).reshape(2, 3) / 6


@pytest.mark.parametrize("bad,word", [
    (W + 1j * W, "complex128"),
    (W.astype(np.complex64), "complex64"),   # zero imaginary part: still refused
    (W > 0.3, "bool"),
    (W.astype(object), "object"),
    (np.array([["0.1", "0.2"], ["0.3", "0.4"]]), "<U3"),
])
def test_non_real_matrices_are_refused_in_one_line(bad, word):
    for call in (lambda: Crossbar(bad, "ideal", seed=0), lambda: check_matrix(bad)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no ComplexWarning before the error
            with pytest.raises(ParameterError) as e:
                call()
        msg = str(e.value)
        assert "\n" not in msg and "W" in msg and word in msg, msg
    xb = Crossbar(W, "ideal", seed=0)
    with pytest.raises(ParameterError, match=word.replace("<", ".")):
        xb.program(bad)


@pytest.mark.parametrize("ok", [W, W.astype(np.float32), (W * 6).astype(np.int64),
                                (W * 6).astype(np.uint8), W.tolist()])
def test_real_matrices_are_accepted(ok):
    out = check_matrix(ok)
    assert out.dtype == np.float64 and out.shape == (2, 3)
    np.testing.assert_array_equal(out, np.asarray(ok, dtype=float))


@pytest.mark.parametrize("sparse", [False, True])
def test_banded_crossbar_refuses_complex_matrices_by_the_same_rule(sparse):
    """The tiled crossbar checks its matrix with the crossbar's own rule (dense or sparse)."""
    import scipy.sparse as sp

    from neuropcm.crossbar.tiled import BandedCrossbar

    A = np.eye(4) + 0.1j * np.eye(4, k=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ParameterError) as e:
            BandedCrossbar(sp.csr_matrix(A) if sparse else A, lower=1, upper=1, tile_rows=2, seed=0)
    assert "complex128" in str(e.value) and "A" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("value, word", [(float("nan"), "finite"), (-1.0, "> 0"), (0.0, "> 0"),
                                         (np.array([1.0, np.inf]), "finite"),
                                         (np.ones(3), "shape"), ("x", "number")])
def test_a_user_compensation_factor_must_be_finite_and_positive(value, word):
    """issue 18, 3: a factor that would turn every output into NaN or flip its sign is
    refused in one line, naming the compensation class."""
    from neuropcm.crossbar import DriftCompensation

    class Broken(DriftCompensation):
        def factor(self, xb, transpose):
            return value

    xb = Crossbar(np.full((2, 2), 0.5), "joshi2020", seed=0, drift_compensation=Broken())
    with pytest.raises(ParameterError) as e:
        xb.matvec(np.ones(2))
    assert "Broken.factor" in str(e.value) and word in str(e.value)
    assert "\n" not in str(e.value)
