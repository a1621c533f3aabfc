"""IR drop (neuropcm.crossbar.circuit): the solved network against nodal analysis by hand,
the zero-resistance limit, the transposed read, known line behaviour, caching, bad input."""

import math

import numpy as np
import pytest

from neuropcm.crossbar import Crossbar
from neuropcm.crossbar.circuit import NodalNetwork
from neuropcm.errors import ParameterError, UnitError

WIRES = {"wire_resistance_row": 40.0, "wire_resistance_col": 25.0, "driver_resistance": 100.0,
             "sense_resistance": 60.0}


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


# ---------------------------------------------------------------- the fast transfer matrix
CASES = [(rr, rc, rd, rs) for rr in (0.0, 3.0) for rc in (0.0, 2.0) for rd in (0.0, 50.0)
         for rs in (0.0, 70.0)]


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (5, 7), (9, 4)])
@pytest.mark.parametrize("p", CASES)
def test_transfer_from_the_heads_equals_solving_every_line(shape, p):
    """T from the heads' Schur complement, T solved line by line from the same
    factorisation and the full solve for unit inputs agree; the Schur path is the one
    taken whenever rows and columns both have nodes."""
    g = np.random.default_rng(8).uniform(1e-7, 3e-5, shape)
    net = NodalNetwork(g, *p)
    T = net.transfer()
    want = net.transfer(method="solve")
    np.testing.assert_allclose(T, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    np.testing.assert_allclose(net.currents(np.eye(shape[0])), want, rtol=1e-12,
                               atol=1e-12 * np.abs(want).max())
    rows_have_nodes, cols_have_nodes = p[0] + p[2] > 0, p[1] + p[3] > 0
    assert net._schur == (rows_have_nodes and cols_have_nodes)
    if not any(p):
        assert np.array_equal(T, g.T)


def test_dissection_orders_every_node_once_with_n_log_n_fill():
    """Every node is eliminated once, the line heads last; nested dissection keeps the
    factor's fill within a few N log2 N for N = 2 n^2 nodes (a banded order needs about
    N * 2n: 8 N log2 N already at n = 64)."""
    from neuropcm.crossbar.circuit import _dissection

    for R, C in ((1, 1), (3, 8), (8, 3), (13, 17)):
        cells = np.arange(R * C).reshape(R, C)
        order = np.concatenate([_dissection(cells, R * C + cells, (R, C)), cells[:, 0],
                                R * C + cells[0, :]])
        assert np.array_equal(np.sort(order), np.arange(2 * R * C))
    for n in (32, 64, 128):
        net = NodalNetwork(np.full((n, n), 1e-5), 1.0, 1.0)
        N = net.size
        assert N == 2 * n * n and net.lu.L.nnz < 3 * N * math.log2(N)
    with pytest.raises(ParameterError, match="method"):
        net.transfer(method="dense")


# ---------------------------------------------------------------- tiles, ADC, compensation
def test_banded_tiles_read_through_their_own_networks():
    """Each tile of a BandedCrossbar is an array with its own wires: its mean read is
    scale (T(G+) - T(G-)) of networks of the tile's size, and the operator's read is the
    tiles' reads put together."""
    import scipy.sparse as sp

    from neuropcm.crossbar.tiled import BandedCrossbar

    rng = np.random.default_rng(9)
    A = sp.diags([rng.uniform(-1, 1, 11), rng.uniform(1, 2, 12), rng.uniform(-1, 1, 11)],
                 [-1, 0, 1]).tocsr()
    band = BandedCrossbar(A, "ideal", lower=1, upper=1, tile_rows=4, seed=2, read_noise=False,
                          **WIRES)
    p = [WIRES[k] for k in ("wire_resistance_row", "wire_resistance_col", "driver_resistance",
                            "sense_resistance")]
    x = rng.standard_normal(12)
    want = np.zeros(12)
    for t, Mt in zip(band.tiles, band.effective_blocks()):
        xb = t.crossbar
        T = [NodalNetwork(_means(xb, k)[0].T, *p).transfer() for k in ("G_plus", "G_minus")]
        np.testing.assert_allclose(Mt, xb.mapping.scale * (T[0] - T[1]), rtol=1e-12,
                                   atol=1e-12 * np.abs(Mt).max())
        want[t.rows] = Mt @ x[t.cols]
    np.testing.assert_allclose(band @ x, want, rtol=1e-12, atol=1e-12)
    assert np.abs(want - A @ x).max() > 1e-6


def test_transposed_adc_range_is_that_of_the_transposed_networks():
    """With R_d != R_s the transposed read has networks of its own; its automatic ADC full
    scale is the worst case of their matrix, max_j sum_i |T_ij| x_max h/(h-1), and the
    worst-case input reads without clipping. Column wires and a sense resistance without
    driver resistance make the two directions differ."""
    rng = np.random.default_rng(10)
    W = rng.uniform(0.2, 1.0, (24, 6))
    xb = Crossbar(W, "ideal", seed=3, wire_resistance_col=400.0, sense_resistance=300.0,
                  adc_bits=8, read_noise=False)
    p = (0.0, 400.0, 0.0, 300.0)
    gp, gm = (_means(xb, k)[0] for k in ("G_plus", "G_minus"))
    s = xb.mapping.scale
    fwd = s * (NodalNetwork(gp.T, *p).transfer() - NodalNetwork(gm.T, *p).transfer())
    swapped = (p[1], p[0], p[2], p[3])
    tr = s * (NodalNetwork(gp, *swapped).transfer() - NodalNetwork(gm, *swapped).transfer()).T
    h = 2 ** 7
    want = np.abs(tr).sum(axis=0).max() * h / (h - 1)
    assert xb._adc_ranges[0][2] == pytest.approx(want, rel=1e-12)
    assert abs(np.abs(fwd).sum(axis=0).max() * h / (h - 1) / want - 1) > 1e-3
    j = int(np.abs(tr).sum(axis=0).argmax())
    xb.H @ np.sign(tr[:, j])
    assert xb.totals()["adc_saturated"] == 0


@pytest.mark.parametrize("r_ds", [(0.0, 0.0), (80.0, 80.0)])
def test_equal_port_resistors_make_the_transposed_read_reciprocal(r_ds):
    """With R_d = R_s the transposed network is the forward one with the same port
    resistors: by reciprocity its matrix is the forward matrix transposed, and the crossbar
    reuses the forward networks (no new factorisation)."""
    g = np.random.default_rng(13).uniform(1e-7, 3e-5, (7, 5))
    rr, rc = 30.0, 45.0
    fwd = NodalNetwork(g, rr, rc, *r_ds).transfer()
    tr = NodalNetwork(g.T, rc, rr, *r_ds).transfer()
    np.testing.assert_allclose(tr, fwd.T, rtol=1e-12, atol=1e-12 * np.abs(fwd).max())
    other = NodalNetwork(g.T, rc, rr, r_ds[0] + 50.0, r_ds[1]).transfer()
    assert np.abs(other - fwd.T).max() > 1e-3 * np.abs(fwd).max()
    W = np.random.default_rng(14).uniform(-1, 1, (7, 5))
    xb = Crossbar(W, "ideal", seed=1, read_noise=False, wire_resistance_row=rr,
                  wire_resistance_col=rc, driver_resistance=r_ds[0], sense_resistance=r_ds[1])
    twin = Crossbar(W.T, "ideal", seed=1, read_noise=False, wire_resistance_row=rc,
                    wire_resistance_col=rr, driver_resistance=r_ds[0],
                    sense_resistance=r_ds[1])
    xb @ np.ones(5)
    k = xb.n_factorisations
    Y = np.random.default_rng(15).standard_normal((7, 3))
    got, want = xb.H @ Y, twin @ Y
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    assert xb.n_factorisations == k


NU, T0, T1, T2 = 0.06, 20.0, 1e4, 1e6
EXACT = {"prog_p2": 0.0, "prog_p1": 0.0, "prog_p0": 0.0, "q_a": 0.0, "set_step_std": 0.0,
         "nu_mean_min": NU, "nu_mean_max": NU, "nu_std_min": 0.0, "nu_std_max": 0.0}
HIGH = {"wire_resistance_row": 150.0, "wire_resistance_col": 150.0}


def _age0_matrix(xb, transpose):
    """scale (T(G+_0) - T(G-_0)): the age-0 state read through its networks."""
    from neuropcm.crossbar.compensation import age0_moments

    rr, rc = HIGH["wire_resistance_row"], HIGH["wire_resistance_col"]
    T = []
    for k in ("G_plus", "G_minus"):
        g = age0_moments(xb.arrays[k], xb.config.read_clip)[0][0]
        T.append(NodalNetwork(g, rc, rr).transfer().T if transpose
                 else NodalNetwork(g.T, rr, rc).transfer())
    return xb.mapping.scale * (T[0] - T[1])


@pytest.mark.parametrize("comp", ["global", "column"])
def test_compensation_reference_follows_writes_through_the_networks(comp):
    """After an update at T1 the reference is the calibration read of the age-0 state
    through its networks, M_0' X_c, in both directions (a write moves every current of its
    array), so the factor at T2 is sum|M_0' X_c| / sum|Y(T2)|."""
    rng = np.random.default_rng(11)
    W = rng.standard_normal((6, 10))
    xb = Crossbar(W, "joshi2020", seed=4, drift_compensation=comp, refresh=None,
                  device_overrides=EXACT, **HIGH)
    xb.at(T1)
    i, j = np.argwhere(W < 0)[0]
    assert xb.update(np.eye(10)[j], np.eye(6)[i], lr=3 * xb.epsilon).sum() == 3
    xb.at(T2)
    for tr, inputs in ((False, 10), (True, 6)):
        Xc = xb.calibration_inputs(transpose=tr)
        ref = (_age0_matrix(xb, tr).T if tr else _age0_matrix(xb, tr)) @ Xc
        now = xb.read(Xc, transpose=tr, compensate=False)
        if comp == "global":
            f = np.abs(ref).sum() / np.abs(now).sum()
        else:
            f = np.abs(ref).sum(axis=1) / np.abs(now).sum(axis=1)
        u = rng.standard_normal(inputs)
        got = xb.read(u, transpose=tr)
        np.testing.assert_allclose(got, f * xb.read(u, transpose=tr, compensate=False),
                                   rtol=1e-9)


def test_lrs_column_is_read_through_its_network():
    """The LRS reference column is a column of devices with its own wires, read with every
    row at 1 V: K = sum T(G_LRS) / sum T(G_LRS d(t)), which IR drop moves away from the
    ideal 1/d(t) (the attenuation shrinks as the devices drift down)."""
    W = np.random.default_rng(12).standard_normal((6, 40))
    xb = Crossbar(W, "joshi2020", seed=5, drift_compensation="lrs", lrs_devices=40,
                  device_overrides=EXACT, **HIGH)
    xb.at(T2)
    g = xb.arrays["lrs"].conductance
    d = ((T2 + T0) / T0) ** -NU
    rr, rc = HIGH["wire_resistance_row"], HIGH["wire_resistance_col"]
    K = (NodalNetwork(g[:, None], rr, rc).transfer().sum()
         / NodalNetwork(g[:, None] * d, rr, rc).transfer().sum())
    assert xb.lrs_factor() == pytest.approx(K, rel=1e-12)
    assert abs(K * d - 1) > 1e-4
