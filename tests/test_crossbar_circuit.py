"""IR drop (neuropcm.crossbar.circuit): the solved network against nodal analysis by hand,
the zero-resistance limit, the transposed read, known line behaviour, caching, bad input."""

import math

import numpy as np
import pytest

from neuropcm.crossbar import Crossbar
from neuropcm.crossbar.circuit import NodalNetwork
from neuropcm.errors import ParameterError, UnitError

WIRES = dict(wire_resistance_row=40.0, wire_resistance_col=25.0, driver_resistance=100.0,
             sense_resistance=60.0)


def _means(xb, name):
    return xb.arrays[name].read_moments(clipped=True)[0]


def kcl_2x2(g, rr, rc, rd, rs, V):
    """Nodal analysis of a 2x2 array, every KCL equation typed out. Unknowns
    u00 u01 u10 u11 (row wire at cell rc), w00 w01 w10 w11 (column wire); rows driven
    next to column 0 through rd + rr, columns sensed next to row 0 through rs + rc."""
    a, b, c, e = 1 / (rd + rr), 1 / rr, 1 / rc, 1 / (rs + rc)
    g00, g01, g10, g11 = g[0, 0], g[0, 1], g[1, 0], g[1, 1]
    #            u00            u01         u10            u11          w00            w01            w10         w11
    A = np.array([
        [a + b + g00, -b,          0,             0,          -g00,          0,             0,          0],          # u00
        [-b,          b + g01,     0,             0,          0,             -g01,          0,          0],          # u01
        [0,           0,           a + b + g10,   -b,         0,             0,             -g10,       0],          # u10
        [0,           0,           -b,            b + g11,    0,             0,             0,          -g11],       # u11
        [-g00,        0,           0,             0,          e + c + g00,   0,             -c,         0],          # w00
        [0,           -g01,        0,             0,          0,             e + c + g01,   0,          -c],         # w01
        [0,           0,           -g10,          0,          -c,            0,             c + g10,    0],          # w10
        [0,           0,           0,             -g11,       0,             -c,            0,          c + g11]])   # w11
    rhs = np.array([a * V[0], 0, a * V[1], 0, 0, 0, 0, 0])
    v = np.linalg.solve(A, rhs)
    return np.array([e * v[4], e * v[5]])  # current into the sense amplifier of column 0, 1


def kcl_hand(g, rr, rc, rd, rs, V):
    """Nodal analysis of an R x C array (all resistances > 0): KCL at each node as the sum
    of conductance x voltage difference to each neighbour it is wired to."""
    R, C = g.shape
    u = {(r, c): r * C + c for r in range(R) for c in range(C)}
    w = {(r, c): R * C + r * C + c for r in range(R) for c in range(C)}
    A = np.zeros((2 * R * C, 2 * R * C))
    rhs = np.zeros(2 * R * C)

    def link(eq, other, G):  # G (v_eq - v_other) in the equation of node eq
        A[eq, eq] += G
        A[eq, other] -= G

    for r in range(R):
        for c in range(C):
            i = u[r, c]
            if c == 0:  # driver: G (v - V_r)
                A[i, i] += 1 / (rd + rr)
                rhs[i] += V[r] / (rd + rr)
            if c > 0:
                link(i, u[r, c - 1], 1 / rr)
            if c < C - 1:
                link(i, u[r, c + 1], 1 / rr)
            link(i, w[r, c], g[r, c])
            j = w[r, c]
            if r == 0:  # sense amplifier at virtual ground: G (v - 0)
                A[j, j] += 1 / (rs + rc)
            if r > 0:
                link(j, w[r - 1, c], 1 / rc)
            if r < R - 1:
                link(j, w[r + 1, c], 1 / rc)
            link(j, u[r, c], g[r, c])
    v = np.linalg.solve(A, rhs)
    return np.array([v[w[0, c]] / (rs + rc) for c in range(C)])


@pytest.mark.parametrize("shape", [(2, 2), (3, 3)])
def test_crossbar_read_equals_hand_nodal_analysis(shape):
    rng = np.random.default_rng(5)
    W = rng.uniform(-1, 1, shape)
    x = rng.uniform(-0.3, 0.3, shape[1])
    xb = Crossbar(W, "ideal", seed=1, read_noise=False, **WIRES)
    p = [WIRES[k] for k in ("wire_resistance_row", "wire_resistance_col", "driver_resistance",
                            "sense_resistance")]
    solve = kcl_2x2 if shape == (2, 2) else kcl_hand
    # weight (i, j) sits at physical row j (input) and column i (output)
    Ip = solve(_means(xb, "G_plus")[0].T, *p, x)
    Im = solve(_means(xb, "G_minus")[0].T, *p, x)
    want = xb.mapping.scale * (Ip - Im)
    got = xb @ x
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    assert np.abs(got - W @ x).max() > 1e-6  # the wires matter at these values
    # the network alone, and both hand solutions agree with each other on a 2x2
    g = rng.uniform(1e-6, 2e-5, shape)
    net = NodalNetwork(g, *p).currents(x)
    np.testing.assert_allclose(net, kcl_hand(g, *p, x), rtol=1e-12)
    if shape == (2, 2):
        np.testing.assert_allclose(kcl_2x2(g, *p, x), kcl_hand(g, *p, x), rtol=1e-12)


def test_zero_resistance_is_the_ideal_read_bit_for_bit():
    rng = np.random.default_rng(2)
    W = rng.standard_normal((12, 9))
    zero = {k: 0.0 for k in WIRES}
    a = Crossbar(W, "joshi2020", seed=4)
    b = Crossbar(W, "joshi2020", seed=4, **zero)
    assert b.n_factorisations == 0
    X = rng.standard_normal((9, 5))
    Y = rng.standard_normal((12, 3))
    for xb in (a, b):
        xb.at(100.0)
    assert np.array_equal(a @ X, b @ X)
    assert np.array_equal(a @ X[:, 0], b @ X[:, 0])
    assert np.array_equal(a.H @ Y, b.H @ Y)
    g = rng.uniform(0, 1e-5, (4, 3))
    assert np.array_equal(NodalNetwork(g).transfer(), g.T)


def test_transposed_read_is_forward_read_of_the_transposed_network():
    rng = np.random.default_rng(3)
    W = rng.uniform(-1, 1, (7, 5))
    swapped = dict(WIRES, wire_resistance_row=WIRES["wire_resistance_col"],
                   wire_resistance_col=WIRES["wire_resistance_row"])
    a = Crossbar(W, "ideal", seed=1, read_noise=False, **WIRES)
    b = Crossbar(W.T, "ideal", seed=1, read_noise=False, **swapped)
    Y = rng.standard_normal((7, 4))
    got, want = a.H @ Y, b @ Y
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    assert np.abs(got - W.T @ Y).max() > 1e-6


def _far_drop(N, g, r):
    """Relative attenuation of the current of the column farthest from the drivers: N x N
    uniform array, row wires r, all rows at 1 V, columns at virtual ground."""
    I = NodalNetwork(np.full((N, N), g), r_row=r).currents(np.ones(N))
    return 1 - I / (N * g)


def test_far_columns_attenuate_more_and_match_the_line_formula():
    N, g, r = 64, 1e-5, 0.5
    drop = _far_drop(N, g, r)
    assert np.all(np.diff(drop) > 0)  # each column farther from the drivers loses more
    # first order for a driven line of N cells, N segments, each cell drawing g V:
    # segment k carries (N - k + 1) g V, so the far end drops r g V N (N + 1) / 2.
    eps = r * g * N * (N + 1) / 2
    # the exact drop is below the first-order one (attenuated cells draw less); the next
    # order of the continuous line 1 - sech(x), x^2/2 = eps, is -(5/6) eps^2, so the ratio
    # lies in (1 - eps, 1]
    assert 1 - eps < drop[-1] / eps <= 1
    # grows with array size and with conductance
    sizes = [_far_drop(n, g, r)[-1] for n in (16, 32, 64)]
    conds = [_far_drop(N, gg, r)[-1] for gg in (1e-6, 1e-5, 1e-4)]
    assert sizes[0] < sizes[1] < sizes[2] and conds[0] < conds[1] < conds[2]
    # both wires: the column farthest from the drivers still reads least
    I = NodalNetwork(np.full((N, N), g), r_row=r, r_col=r).currents(np.ones(N))
    assert np.all(np.diff(I) < 0)


def test_crossbar_64x64_far_outputs_read_lower():
    W = np.full((64, 64), 0.5)
    xb = Crossbar(W, "ideal", seed=1, read_noise=False, wire_resistance_row=1.0,
                  wire_resistance_col=1.0)
    y = xb @ np.ones(64)
    assert np.all(np.diff(y) < 0) and np.all(y < W @ np.ones(64))


def test_factorisation_cached_and_invalidated():
    rng = np.random.default_rng(6)
    W = rng.uniform(-1, 1, (10, 8))
    xb = Crossbar(W, "joshi2020", seed=2, read_noise=False, **WIRES)
    n0 = xb.n_factorisations
    x = rng.standard_normal(8)
    y1 = xb @ x
    assert xb.n_factorisations == n0 + 2  # G+ and G-, one network each
    xb @ rng.standard_normal((8, 16))
    assert np.array_equal(xb @ x, y1) and xb.n_factorisations == n0 + 2
    xb.H @ rng.standard_normal(10)
    xb.H @ rng.standard_normal((10, 3))
    assert xb.n_factorisations == n0 + 4  # the transposed networks, once
    xb.program(-W)  # a write
    assert np.abs(xb @ x + y1).max() < 0.3 * np.abs(y1).max()  # reads the new state
    assert xb.n_factorisations == n0 + 6
    xb.advance(3600.0)  # drift changes the conductances
    xb @ x
    assert xb.n_factorisations == n0 + 8
    ideal = Crossbar(W, "ideal", seed=2, read_noise=False, **WIRES)
    ideal @ x
    k = ideal.n_factorisations
    ideal.advance(3600.0)  # no drift: same conductances, no new factorisation
    ideal @ x
    assert ideal.n_factorisations == k


@pytest.mark.parametrize("value, error, words", [
    (-1.0, ParameterError, ">= 0"), (math.nan, ParameterError, "not finite"),
    (math.inf, ParameterError, "not finite"), ("siemens", UnitError, "wrong unit")])
@pytest.mark.parametrize("field", list(WIRES))
def test_bad_resistance_refused_in_one_line(field, value, error, words):
    if value == "siemens":
        import brian2
        value = 2 * brian2.siemens
    with pytest.raises(error) as e:
        Crossbar(np.eye(3), "ideal", **{field: value})
    msg = str(e.value)
    assert "\n" not in msg and field in msg and words in msg


def test_resistance_quantity_in_ohm_accepted_and_tiles_inherit():
    import brian2
    import scipy.sparse as sp

    from neuropcm.crossbar.tiled import BandedCrossbar

    xb = Crossbar(np.eye(3), "ideal", wire_resistance_row=2 * brian2.kohm)
    assert xb.config.periphery.wire_resistance_row == 2000.0
    A = sp.diags([np.ones(5), np.ones(6), np.ones(5)], [-1, 0, 1]).tocsr()
    band = BandedCrossbar(A, "ideal", lower=1, upper=1, tile_rows=3, seed=1,
                          read_noise=False, wire_resistance_row=50.0)
    assert all(t.crossbar.config.periphery.wire_resistance_row == 50.0 for t in band.tiles)
    band @ np.ones(6)
    assert all(t.crossbar.n_factorisations == 2 for t in band.tiles)
    with pytest.raises(ParameterError):
        NodalNetwork(np.array([[1e-5, -1e-6]]), r_row=1.0)
