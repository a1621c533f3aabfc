"""Per-line ADC gain and offset spread (``adc_gain_std``, ``adc_offset_lsb_std``).

Line ``i`` of a read converts ``y_i`` to
``code_i = clip(rint(((1 + g_i) y_i + o_i lsb) / lsb), lo, hi)``, ``lsb = 2 range / 2^b``,
with ``g_i ~ N(0, adc_gain_std^2)`` and ``o_i ~ N(0, adc_offset_lsb_std^2)`` drawn once per
crossbar from its stream ``(seed, "crossbar", "converters", direction, group)``."""

import copy

import numpy as np
import pytest

from neuropcm.crossbar import Crossbar
from neuropcm.errors import ParameterError
from neuropcm.random import rng

BITS = 8
LO, HI = -2 ** (BITS - 1), 2 ** (BITS - 1) - 1
RANGE = 10.0


def _expected(y, g, o):
    """The typed formula, row i one line."""
    lsb = 2 * RANGE / 2 ** BITS
    c = np.rint(((1 + g)[:, None] * y + (o * lsb)[:, None]) / lsb)
    return np.clip(c, LO, HI) * lsb


@pytest.mark.parametrize("transpose, lines", [(False, 1000), (True, 1000)])
def test_per_line_gains_and_offsets_have_the_configured_std(transpose, lines):
    shape = (3, lines) if transpose else (lines, 3)
    W = np.random.default_rng(0).uniform(-1, 1, shape)
    xb = Crossbar(W, "ideal", seed=5, adc_bits=BITS, adc_gain_std=0.01,
                  adc_offset_lsb_std=0.5)
    g, o = xb.adc_spread("transposed" if transpose else "forward")
    assert g.shape == o.shape == (lines,)
    # sample std of N normals: relative standard error 1/sqrt(2N) (2.2 % at N = 1000)
    tol = 5 / np.sqrt(2 * lines)
    assert abs(g.std(ddof=1) / 0.01 - 1) < tol and abs(o.std(ddof=1) / 0.5 - 1) < tol
    assert abs(g.mean()) < 5 * 0.01 / np.sqrt(lines) and abs(o.mean()) < 5 * 0.5 / np.sqrt(lines)
    # drawn once, from the named stream
    assert xb.adc_spread("transposed" if transpose else "forward")[0] is g
    z = rng(5, "crossbar", "converters", "transposed" if transpose else "forward", 0) \
        .standard_normal((2, lines))
    assert np.array_equal(g, 0.01 * z[0]) and np.array_equal(o, 0.5 * z[1])


def test_forward_and_transposed_lines_have_their_own_converters():
    xb = Crossbar(np.ones((50, 50)), "ideal", seed=1, adc_bits=BITS, adc_gain_std=0.02)
    gf, _ = xb.adc_spread("forward")
    gt, _ = xb.adc_spread("transposed")
    assert not np.array_equal(gf, gt)
    assert abs(np.corrcoef(gf, gt)[0, 1]) < 0.5
    other = Crossbar(np.ones((50, 50)), "ideal", seed=2, adc_bits=BITS, adc_gain_std=0.02)
    assert not np.array_equal(gf, other.adc_spread("forward")[0])


def test_read_equals_the_formula_on_an_ideal_crossbar():
    m, n = 40, 30
    W = np.random.default_rng(2).uniform(-1, 1, (m, n))
    xb = Crossbar(W, "ideal", seed=3, read_noise=False, adc_bits=BITS, adc_range=RANGE,
                  dac_range=1.0, adc_gain_std=0.05, adc_offset_lsb_std=2.0)
    M, _ = xb.effective_weights()
    X = np.random.default_rng(4).uniform(-1, 1, (n, 7))
    Xt = np.random.default_rng(5).uniform(-1, 1, (m, 7))
    g, o = xb.adc_spread("forward")
    gt, ot = xb.adc_spread("transposed")
    y, yt = xb.read(X), xb.read(Xt, transpose=True)
    np.testing.assert_allclose(y, _expected(M @ X, g, o), rtol=0, atol=1e-12)
    np.testing.assert_allclose(yt, _expected(M.T @ Xt, gt, ot), rtol=0, atol=1e-12)
    # the spread matters: the reads differ from those of identical converters
    assert not np.allclose(y, _expected(M @ X, 0 * g, 0 * o))


def test_defaults_are_bit_identical_to_no_spread():
    W = np.random.default_rng(6).uniform(-1, 1, (20, 12))
    X = np.random.default_rng(7).uniform(-1, 1, (12, 5))
    Xt = np.random.default_rng(8).uniform(-1, 1, (20, 5))
    for mapping in ("differential", "offset", "bit-sliced"):
        a = Crossbar(W, "joshi2020", mapping=mapping, seed=9, adc_bits=6)
        b = Crossbar(W, "joshi2020", mapping=mapping, seed=9, adc_bits=6, adc_gain_std=0.0,
                     adc_offset_lsb_std=0.0)
        assert a.adc_spread() is None and a.config.periphery.adc_gain_std == 0
        for xb in (a, b):
            xb.advance(100.0)
        assert np.array_equal(a.read(X), b.read(X))
        assert np.array_equal(a.read(Xt, transpose=True), b.read(Xt, transpose=True))
    # and equal to the plain quantiser of the mean read (ideal, no noise)
    xb = Crossbar(W, "ideal", seed=3, read_noise=False, adc_bits=BITS, adc_range=RANGE,
                  dac_range=1.0)
    M, _ = xb.effective_weights()
    zero = np.zeros(W.shape[0])
    np.testing.assert_array_equal(xb.read(X), _expected(M @ X, zero, zero))


@pytest.mark.parametrize("mapping", ["differential", "offset"])
def test_state_round_trip_redraws_the_same_converters(mapping, tmp_path):
    W = np.random.default_rng(10).uniform(-1, 1, (16, 10))
    xb = Crossbar(W, "joshi2020", mapping=mapping, seed=11, adc_bits=6,
                  adc_gain_std=0.03, adc_offset_lsb_std=1.0)
    xb.advance(50.0)
    X = np.random.default_rng(12).uniform(-1, 1, (10, 4))
    Xt = np.random.default_rng(13).uniform(-1, 1, (16, 4))
    xb.read(X)  # spread drawn before the save
    state = copy.deepcopy(xb.state_dict())
    assert state["config"]["periphery"]["adc_gain_std"] == 0.03
    twin = Crossbar.from_state(state)
    for k in ("forward", "transposed") + (("reference",) if mapping == "offset" else ()):
        assert all(np.array_equal(u, v) for u, v in zip(xb.adc_spread(k), twin.adc_spread(k)))
    assert np.array_equal(xb.read(X), twin.read(X))
    assert np.array_equal(xb.read(Xt, transpose=True), twin.read(Xt, transpose=True))
    xb.save(tmp_path / "xb.h5")
    loaded = Crossbar.load(tmp_path / "xb.h5")
    assert loaded.config.periphery.adc_offset_lsb_std == 1.0
    assert np.array_equal(xb.read(X), loaded.read(X))


@pytest.mark.parametrize("options, words", [
    ({"adc_bits": 6, "adc_gain_std": -0.01}, "adc_gain_std"),
    ({"adc_bits": 6, "adc_gain_std": float("nan")}, "adc_gain_std"),
    ({"adc_bits": 6, "adc_offset_lsb_std": -1.0}, "adc_offset_lsb_std"),
    ({"adc_bits": 6, "adc_offset_lsb_std": float("inf")}, "adc_offset_lsb_std"),
    ({"adc_gain_std": 0.01}, "adc_gain_std"),
    ({"adc_offset_lsb_std": 0.5}, "adc_offset_lsb_std"),
])
def test_bad_spread_is_refused_in_one_line(options, words):
    with pytest.raises(ParameterError) as e:
        Crossbar(np.ones((3, 3)), "ideal", **options)
    msg = str(e.value)
    assert words in msg and "\n" not in msg


def test_adc_spread_direction_is_checked():
    xb = Crossbar(np.ones((3, 3)), "ideal", adc_bits=4, adc_gain_std=0.01)
    with pytest.raises(ParameterError, match="direction"):
        xb.adc_spread("sideways")
