"""Mixed-precision linear solver (Le Gallo 2018) on PCM crossbars: the banded tiled
operator, the model matrices, and the claim that iterative refinement reaches float64
accuracy although every inner MVM runs on an imprecise, drifting crossbar."""

import math

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp

import neuropcm.io as nio
from neuropcm.config import apply_sets
from neuropcm.crossbar.tiled import BandedCrossbar, bandwidths
from neuropcm.errors import ParameterError
from neuropcm.workloads import get_workload
from neuropcm.workloads.computational_memory._refinement import (
    banded_covariance,
    inner_cg,
)
from neuropcm.workloads.computational_memory.solver import SolverConfig

RHO = 0.9  # the hard case of the stand-in matrices (the tests that name it)
SMALL = {"dense_n": 64, "banded_n": 200, "band": 12, "tile_rows": 12,
         "wire_sweep": [0.0, 20.0], "stuck_sweep": [0.0, 0.02]}


def band_matrix(n, w, rho=RHO, shift=0.0):
    """rho^|i-j| inside |i-j| <= w, 0 outside, plus shift on the diagonal (typed here)."""
    d = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    return np.where(d <= w, rho ** d, 0.0) + shift * np.eye(n)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    w = get_workload("solver")
    cfg = w.config(**SMALL)
    path = w.run(cfg, tmp_path_factory.mktemp("solver") / "solver.h5", progress=False)
    return cfg, path


def _exact(cfg, p):
    if p == "dense":
        return band_matrix(cfg.dense_n, cfg.dense_n, cfg.rho)
    return band_matrix(cfg.banded_n, cfg.band, cfg.rho, cfg.banded_shift)


# ----------------------------------------------------------------------------- operator
@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize("rows", [1, 7, 200])
def test_banded_operator_is_the_matrix_with_ideal_devices(mapping, rows):
    n, w = 200, 4
    A = band_matrix(n, w, shift=0.4)
    op = BandedCrossbar(sp.csr_matrix(A), "ideal", tile_rows=rows, mapping=mapping, seed=3,
                        devices_per_weight=2)
    g = np.random.default_rng(0)
    x, X = g.standard_normal(n), g.standard_normal((n, 3))
    scale = np.abs(A).sum(axis=1).max() * 10 * np.finfo(float).eps
    assert np.abs(op @ x - A @ x).max() <= scale * np.abs(x).max()
    assert np.abs(op.H @ x - A.T @ x).max() <= scale * np.abs(x).max()
    assert np.abs(op.matmat(X) - A @ X).max() <= scale * np.abs(X).max()
    assert op.n_mvm == 1 + 1 + 3


def test_banded_operator_stores_only_the_band():
    n, w, B, K = 200, 12, 12, 8
    op = BandedCrossbar(band_matrix(n, w, shift=0.4), "ideal", tile_rows=B, mapping="offset",
                        seed=1, devices_per_weight=K)
    assert bandwidths(band_matrix(n, w)) == (w, w)
    assert op.band_size == int((np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= w).sum())
    shapes = [(min(i + B, n) - i, min(i + B + w, n) - max(i - w, 0)) for i in range(0, n, B)]
    assert len(op.tiles) == math.ceil(n / B)
    assert op.stored_weights == sum(r * c for r, c in shapes) < n * n
    # offset mapping: K devices per stored weight plus a K-device reference line per column
    assert op.devices == op.read_devices == sum(K * (r * c + c) for r, c in shapes)
    x = np.ones(n)
    before = op.totals()["n_read"]
    for _ in range(3):
        op @ x
    assert op.totals()["n_read"] - before == 3 * op.devices


def test_banded_operator_refuses_entries_outside_the_band():
    A = band_matrix(30, 2)
    A[0, 10] = 0.5
    with pytest.raises(ParameterError, match=r"A\[0, 10\] = 0.5 lies outside the band"):
        BandedCrossbar(A, "ideal", lower=2, upper=2)
    with pytest.raises(ParameterError, match="tile_rows = 0"):
        BandedCrossbar(band_matrix(30, 2), "ideal", tile_rows=0)


def test_banded_operator_seeded_and_drifting():
    A = band_matrix(60, 3, shift=0.4)
    kw = {"tile_rows": 10, "seed": 5, "devices_per_weight": 2}
    a, b = BandedCrossbar(A, "joshi2020", **kw), BandedCrossbar(A, "joshi2020", **kw)
    x = np.linspace(-1, 1, 60)
    assert np.array_equal(a @ x, b @ x)
    m1 = a.at(1.0).effective_matrix().toarray()
    m2 = a.at(86400.0).effective_matrix().toarray()
    assert a.time == 86400.0
    # without compensation drift lowers every stored conductance: |W| shrinks on the band
    on = A != 0
    assert np.all(np.abs(m2[on]) < np.abs(m1[on]))
    with pytest.raises(ParameterError, match="time only moves forward"):
        a.at(10.0)


# ----------------------------------------------------------------------------- matrices
def test_banded_stand_in_needs_the_shift_to_be_spd():
    n, w = 200, 12
    A = band_matrix(n, w)
    assert np.linalg.eigvalsh(A)[0] < 0  # cut to a band, rho^|i-j| is indefinite
    S = band_matrix(n, w, shift=0.4)
    assert np.linalg.eigvalsh(S)[0] > 0
    assert np.array_equal(banded_covariance(n, RHO, w, 0.4).toarray(), S)
    # physics.md facts at N = 5000 (LAPACK banded eigensolver on a band built here)
    N = 5000
    ab = np.array([np.r_[np.zeros(k), np.full(N - k, RHO ** k)] for k in range(w, -1, -1)])
    lam = sla.eigvals_banded(ab, select="i", select_range=(0, 0))[0]
    assert lam == pytest.approx(-0.34, abs=0.01)
    ab[-1] += 0.4
    assert sla.eigvals_banded(ab, select="i", select_range=(0, 0))[0] == pytest.approx(0.06,
                                                                                      abs=0.01)


def test_inner_cg_solves_spd_exactly_and_stops_on_negative_curvature():
    A = band_matrix(20, 20)
    r = np.random.default_rng(2).uniform(0, 1, 20)
    z, m = inner_cg(A, r, 40)
    assert m <= 40
    assert np.linalg.norm(z - np.linalg.solve(A, r)) <= 1e-8 * np.linalg.norm(z)
    z, m = inner_cg(-np.eye(20), r, 10)
    assert m == 1 and not z.any()


# ----------------------------------------------------------------------------- the run
def test_refinement_reaches_tol_on_the_crossbar_at_1_s_and_1_day(small_run):
    cfg, path = small_run
    res = nio.open(path)
    for p in ("dense", "banded"):
        A = _exact(cfg, p)
        b = res.dataset(f"results/{p}/b")
        x_star = np.linalg.solve(A, b)
        w = np.linalg.eigvalsh(A)
        for k in range(len(cfg.times)):
            curve = res.dataset(f"results/{p}/crossbar_{k}/relative_residual")
            assert curve[0] == 1.0 and curve[-1] < cfg.tol <= 1e-15
            assert (curve[:-1] >= cfg.tol).all()  # stops at the first refinement below tol
            x = res.dataset(f"results/{p}/crossbar_{k}/x")
            rel = np.linalg.norm(b - A @ x) / np.linalg.norm(b)
            assert rel < 2 * cfg.tol  # recomputed here from the stored solution
            # forward error bounded by the condition number times the residual
            err = np.linalg.norm(x - x_star) / np.linalg.norm(x_star)
            assert err <= 1.01 * (w[-1] / w[0]) * rel
        assert res.results[f"{p}_crossbar_final_relative_residual"] == pytest.approx(
            [res.dataset(f"results/{p}/crossbar_{k}/relative_residual")[-1]
             for k in range(len(cfg.times))])


def test_accuracy_is_not_limited_by_the_crossbar_and_drift_costs_refinements(small_run):
    cfg, path = small_run
    res = nio.open(path)
    for p in ("dense", "banded"):
        eta = res.dataset(f"results/{p}/mvm_relative_error")
        err = res.dataset(f"results/{p}/matrix_error_rms")
        # one crossbar MVM is only good to ~1e-2, the refined solution to < 1e-12
        assert (eta > 1e-3).all() and (err > 1e-3).all()
        assert max(res.results[f"{p}_crossbar_final_relative_residual"]) < cfg.tol
        # a day of drift leaves a larger (compensated) matrix error than 1 s
        assert err[-1] > err[0]
        assert res.dataset(f"results/{p}/matrix_error_max")[-1] > \
            res.dataset(f"results/{p}/matrix_error_max")[0]


def test_baselines(small_run):
    cfg, path = small_run
    r = nio.open(path).results
    for p in ("dense", "banded"):
        assert r[f"{p}_exact_inner_outer_iterations"] <= 2
        assert r[f"{p}_exact_inner_mvms"] == 0
        for v in ("float64_inner", "exact_inner", "float64_cg"):
            assert r[f"{p}_{v}_final_relative_residual"] < cfg.tol
        assert r[f"{p}_float64_cg_mvms"] == r[f"{p}_float64_cg_outer_iterations"]
        assert r[f"{p}_float64_inner_mvms"] <= \
            cfg.inner_steps * r[f"{p}_float64_inner_outer_iterations"]


def test_counts_are_consistent(small_run):
    cfg, path = small_run
    res = nio.open(path)
    r = res.results
    n, K = cfg.dense_n, cfg.dense_devices_per_element
    assert r["dense_read_devices"] == r["dense_devices"] == K * n * n + K * n  # + reference line
    assert r["dense_band_devices"] == K * n * n and r["dense_tiles"] == 1
    nb, w, Kb = cfg.banded_n, cfg.band, cfg.banded_devices_per_element
    assert r["banded_band_devices"] == Kb * (nb * (2 * w + 1) - w * (w + 1))
    for p in ("dense", "banded"):
        for k in range(len(cfg.times)):
            mv = res.dataset(f"results/{p}/crossbar_{k}/mvms")
            reads = res.dataset(f"results/{p}/crossbar_{k}/device_reads")
            assert np.array_equal(reads, mv * r[f"{p}_read_devices"])
            it = r[f"{p}_crossbar_outer_iterations"][k]
            assert len(mv) == it + 1 and mv[-1] == r[f"{p}_crossbar_mvms"][k]
            assert mv[-1] <= cfg.inner_steps * it
        assert (res.dataset(f"results/{p}/calibration_reads") > 0).all()  # global compensation
    assert r["final_relative_residual"] == r["dense_crossbar_final_relative_residual"][0]
    assert r["outer_iterations"] == r["dense_crossbar_outer_iterations"][0]
    assert r["crossbar_mvms"] == r["dense_crossbar_mvms"][0]
    assert r["device_reads"] == r["crossbar_mvms"] * r["dense_read_devices"]
    assert r["worst_final_relative_residual"] == max(
        max(r[f"{p}_crossbar_final_relative_residual"]) for p in ("dense", "banded"))


def test_file_kind_summary_and_figure(small_run, tmp_path):
    cfg, path = small_run
    res = nio.open(path)
    assert res.kind.name == "solver"
    assert SolverConfig.from_dict(res.config) == cfg
    assert res.units["outer_iterations"] == "count" and res.units["crossbar_mvms"] == "count"
    assert res.units["dense_crossbar_final_relative_residual"] == "1"
    assert res.datasets["results/banded/times"].units == "s"
    assert res.datasets["results/dense/crossbar_1/device_reads"].units == "count"
    w = get_workload("solver")
    text = w.summary(path)
    assert "refinements" in text and "t=86400 s" in text
    png = w.figure(path, tmp_path / "fig.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- issue 20 A3
def test_default_matrix_states_its_conditioning(small_run):
    """Default rho = 0.5, tol = 1e-15; the stored condition numbers are those of the
    matrices typed here, below the stated bound ((1 + rho)/(1 - rho))^2, and printed."""
    cfg, path = small_run
    assert SolverConfig().rho == 0.5 and SolverConfig().tol == 1e-15
    r = nio.open(path).results
    bound = ((1 + cfg.rho) / (1 - cfg.rho)) ** 2
    for p in ("dense", "banded"):
        w = np.linalg.eigvalsh(_exact(cfg, p))
        assert r[f"{p}_condition_number"] == pytest.approx(w[-1] / w[0], rel=1e-9)
        assert r[f"{p}_lambda_min"] == pytest.approx(w[0], rel=1e-9)
        assert 1 < r[f"{p}_condition_number"] < bound
    text = get_workload("solver").summary(path)
    assert f"condition number {r['dense_condition_number']:.1f}" in text
    assert "paper" in text and "6.8x" in text


def test_error_norm_reaches_the_float64_floor(small_run):
    """||x - x*|| is stored per refinement (the paper's axis); the crossbar's final error
    is that of float64 itself: within 10x of plain float64 CG's and of cond * eps * ||x*||
    (accuracy not limited by the crossbar), after more refinements than the float64 inner
    solver (the crossbar only costs refinements)."""
    cfg, path = small_run
    res = nio.open(path)
    r = res.results
    eps = np.finfo(float).eps
    for p in ("dense", "banded"):
        xs = res.dataset(f"results/{p}/x_exact")
        for k in range(len(cfg.times)):
            g = f"results/{p}/crossbar_{k}"
            e = res.dataset(f"{g}/error_norm")
            x = res.dataset(f"{g}/x")
            assert e[-1] == pytest.approx(np.linalg.norm(x - xs), rel=1e-12)
            np.testing.assert_allclose(res.dataset(f"{g}/relative_error"),
                                       e / np.linalg.norm(xs), rtol=1e-12)
            assert e[0] == pytest.approx(np.linalg.norm(xs), rel=1e-12)  # x_0 = 0
            floor = max(r[f"{p}_float64_cg_final_error_norm"],
                        r[f"{p}_condition_number"] * eps * np.linalg.norm(xs))
            assert e[-1] < 10 * floor
        assert min(r[f"{p}_crossbar_outer_iterations"]) > \
            r[f"{p}_float64_inner_outer_iterations"]
    assert r["final_error_norm"] == r["dense_crossbar_final_error_norm"][0]


def test_work_against_plain_cg_is_the_typed_model(small_run):
    """Work of the crossbar refinement (first time) against plain float64 CG, from the
    counts in the file and the model typed here: host flops (R + 1)(2 nnz + 3 n) + R n +
    10 n m against k (2 nnz + 10 n), gain cg / (mixed + c m), bound cg / mixed,
    break-even c* = (cg - mixed) / m (>= 0)."""
    cfg, path = small_run
    res = nio.open(path)
    r = res.results
    c = res.dataset("results/cost_c")
    assert c[0] == 1 and c[-1] == 1e8 and np.all(np.diff(c) > 0)
    for p, n, nnz in (("dense", cfg.dense_n, cfg.dense_n ** 2),
                      ("banded", cfg.banded_n, sp.csr_matrix(_exact(cfg, p="banded")).nnz)):
        R = r[f"{p}_crossbar_outer_iterations"][0]
        m = r[f"{p}_crossbar_mvms"][0]
        k = r[f"{p}_float64_cg_outer_iterations"]
        mixed = (R + 1) * (2 * nnz + 3 * n) + R * n + 10 * n * m
        cg = k * (2 * nnz + 10 * n)
        w = {key: r[f"{p}_work_{key}"] for key in ("refinements", "crossbar_mvms",
                                                   "float64_mvms", "cg_iterations",
                                                   "float64_flops", "cg_float64_flops",
                                                   "gain_bound", "break_even_cost")}
        assert (w["refinements"], w["crossbar_mvms"], w["float64_mvms"],
                w["cg_iterations"]) == (R, m, R + 1, k)
        assert w["float64_flops"] == mixed and w["cg_float64_flops"] == cg
        assert w["gain_bound"] == pytest.approx(cg / mixed, rel=1e-12)
        assert w["break_even_cost"] == pytest.approx(max((cg - mixed) / m, 0), rel=1e-12,
                                                     abs=1e-12)
        np.testing.assert_allclose(res.dataset(f"results/{p}/gain"), cg / (mixed + c * m),
                                   rtol=1e-12)
    assert r["gain_bound"] == r["dense_work_gain_bound"]
    assert r["cg_iterations"] == r["dense_float64_cg_outer_iterations"]


def test_circuit_sweeps_of_the_dense_system(small_run):
    """The opt-in sweeps: per value refinements, MVMs, final residual and error norm, and
    whether tol was reached (exactly when the final residual is below it). The 0 points of
    both sweeps are the same crossbar (same seed, no wires, no faults): identical
    solves."""
    cfg, path = small_run
    res = nio.open(path)
    wires, stuck = "results/sweep_wires", "results/sweep_stuck"
    assert tuple(res.dataset(f"{wires}/resistance")) == cfg.wire_sweep
    assert res.datasets[f"{wires}/resistance"].units == "S^-1"  # ohm (WIRE_R_UNIT)
    assert tuple(res.dataset(f"{stuck}/fraction")) == cfg.stuck_sweep
    for g in (wires, stuck):
        conv = res.dataset(f"{g}/converged").astype(bool)
        assert np.array_equal(conv, res.dataset(f"{g}/final_relative_residual") < cfg.tol)
        it = res.dataset(f"{g}/outer_iterations")
        assert np.all(res.dataset(f"{g}/mvms") <= cfg.inner_steps * it)
    for k in ("outer_iterations", "mvms", "final_relative_residual", "final_error_norm"):
        assert res.dataset(f"{wires}/{k}")[0] == res.dataset(f"{stuck}/{k}")[0]


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("sets, match", [
    (["rho=1.0"], "rho = 1.0"),
    (['times=["86400*second", "1*second"]'], "strictly increasing"),
    (["banded_n=200", "band=200"], "band = 200"),
    (["tol=0"], "tol = 0"),
    (["mapping=bit-sliced"], "bit-sliced"),
    (["program_max_iterations=0"], "program_max_iterations = 0"),
    (["times=[]"], "1 to 8 times"),
    (['wire_sweep=["2*ohm", "1*ohm"]'], "wire_sweep .*strictly increasing"),
    (["stuck_sweep=[1.5]"], "stuck_sweep"),
    (['wire_sweep=["-1*ohm"]'], "wire_sweep"),
])
def test_config_errors(sets, match):
    with pytest.raises(ParameterError, match=match):
        apply_sets(SolverConfig(), sets)


def test_indefinite_band_is_refused_before_programming(tmp_path):
    w = get_workload("solver")
    # the hard case's rho^|i-j| cut to 4 diagonals + 0.4: indefinite
    cfg = w.config(**{**SMALL, "band": 4, "rho": RHO, "banded_shift": 0.4})
    out = tmp_path / "x.h5"
    with pytest.raises(ParameterError, match=r"not positive definite .*raise banded_shift"):
        w.run(cfg, out, progress=False)
    assert not out.exists()
    with pytest.raises(ParameterError, match="no checkpoint"):
        w.run(cfg, out, resume=True, progress=False)


@pytest.mark.slow
def test_full_size_run(tmp_path):
    """The paper's sizes: N = 500 dense (K = 4), N = 5000 banded (K = 8, 998,752 devices
    on the band), at 1 s and 1 day."""
    w = get_workload("solver")
    cfg = w.config()
    r = nio.open(w.run(cfg, tmp_path / "full.h5", progress=False)).results
    assert r["banded_band_devices"] == 998_752
    assert r["dense_band_devices"] == 1_000_000
    assert r["worst_final_relative_residual"] < cfg.tol
    for p in ("dense", "banded"):
        assert max(r[f"{p}_crossbar_final_relative_residual"]) < cfg.tol
