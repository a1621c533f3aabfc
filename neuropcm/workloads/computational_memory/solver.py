"""Mixed-precision linear solver with the MVMs on PCM crossbars (``neuropcm run solver``).

Le Gallo et al., "Mixed-precision in-memory computing", Nat. Electron. 1, 246 (2018); seed
tutorial section II and Fig. 8. Iterative refinement (:mod:`._refinement`): the residual
``r = b - A x`` in float64 with the exact matrix, the correction from a few steps of
conjugate gradient whose MVMs are read from a crossbar holding ``A`` with K devices per
element, until ``||r|| / ||b|| < tol``.

Two systems, each ``b ~ U[0, 1]``:

* ``dense``: ``A_ij = rho^|i-j|`` (N = 500, K = 4), one crossbar;
* ``banded``: ``rho^|i-j|`` cut to ``band`` diagonals per side plus ``banded_shift`` on the
  diagonal, N = 5000, K = 8, stored only where the band reaches as crossbar tiles along
  the diagonal (:class:`~neuropcm.crossbar.tiled.BandedCrossbar`).

``rho^|i-j|`` is an assumed stand-in for the paper's model covariance matrices. Its
conditioning is stated: the eigenvalues of the dense matrix lie in
``((1 - rho)/(1 + rho), (1 + rho)/(1 - rho))``, so its condition number is below
``((1 + rho)/(1 - rho))^2`` (9 at the default ``rho = 0.5``); the run computes both
matrices' extreme eigenvalues and stores and prints their condition numbers. At
``rho = 0.5`` the paper's picture shows: the refinement reaches float64 accuracy
(``tol = 1e-15``, the error norm ``||x - x*||`` at the float64 floor) and the crossbar only
costs refinements. The documented hard case is ``rho = 0.9`` (condition number ~360; its
band cut at 12 is indefinite, so ``banded_shift = 0.4``; ``tol = 1e-12``): there even a
float64 inner solver needs ~80 refinements of 8 CG steps.

Each crossbar is programmed once (program-and-verify) and read at each of ``times`` after
programming (drift grows between them). Beside each crossbar solve, in the same run: the
same refinement with the inner CG in float64 on the exact matrix (``float64_inner``), with
an exact (Cholesky) inner solve (``exact_inner``), and plain float64 CG (``float64_cg``),
whose float64 work the crossbar refinement is compared with (refinements, crossbar MVMs,
float64 MVMs and flops, and the model of the paper's time/energy gain:
:mod:`._solver_cost`). Opt-in (``wire_sweep``, ``stuck_sweep``): the dense system solved
again with wire resistance or stuck devices (:mod:`._solver_sweep`). Headline: the dense
system at the first time.

Default settings and why:

* ``mapping = "offset"``: the matrices are non-negative, so each element is K devices on
  one line (the reference line holds zeros), as in the paper, whose 998,752 devices are
  8 per element of the 124,844-element band; ``"differential"`` doubles the devices.
* program-and-verify to +-1.74 uS in at most 20 shots (the paper's margin and budget).
* ``drift_compensation = "global"``: outputs rescaled by a calibration read (the paper
  calibrates against drift too); uncompensated, a day of drift made the refinement of the
  hard case diverge.
* ``inner_steps = 8``: the inner CG must not resolve the directions where the crossbar
  matrix is wrong; in the hard case 10 steps already diverged for the dense system after
  a day of drift. A crossbar MVM counts one read of every tile.
* ``rho = 0.5``, ``banded_shift = 0``, ``tol = 1e-15``: the stated-conditioning system
  above (issue 20, point 3); the hard case is ``--set rho=0.9 banded_shift=0.4
  tol=1e-12``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, option
from ...devices.presets import preset_names
from ...errors import ParameterError
from ...random import rng
from .. import (
    READ_TIME_MAX,
    SEED_MAX,
    MemoryNeed,
    Workload,
    crossbar_bytes,
    refuse_resume,
)
from . import _solver_report as report
from ._refinement import (
    ExactSolver,
    banded_covariance,
    dense_covariance,
    inner_cg,
    plain_cg,
    refine,
)
from ._solver_cost import work
from ._solver_sweep import crossbar, sweep
from .mvm_precision import WIRE_R_MAX

PROBLEMS, BASELINES = report.PROBLEMS, report.BASELINES


def compensation_choices() -> tuple[str, ...]:
    """``"none"`` and every registered drift compensation, read when a config is checked."""
    from ...crossbar.compensation import compensation_names

    return ("none", *compensation_names())


@dataclass(frozen=True)
class SolverConfig(Config):
    """Settings of the mixed-precision solver run."""

    dense_n: int = option(500, "size N of the dense system (at most 20000: 4e8 elements, "
                          "800 times the paper's)", lo=2, hi=20_000)
    dense_devices_per_element: int = option(4, "devices K per matrix element (dense)", lo=1,
                                            hi=64)
    banded_n: int = option(5000, "size N of the banded system (at most 1e6, 200 times the "
                           "paper's)", lo=2, hi=1_000_000)
    band: int = option(12, "diagonals per side of the banded system (below banded_n)", lo=1,
                       hi=1000)
    banded_shift: float = option(0.0, "added to the banded matrix's diagonal (0.4 makes the "
                                 "hard case rho = 0.9 SPD; at most 10: beyond, the matrix is "
                                 "nearly a multiple of the identity)", lo=0.0, hi=10.0)
    banded_devices_per_element: int = option(8, "devices K per matrix element (banded)", lo=1,
                                             hi=64)
    tile_rows: int = option(12, "rows per crossbar tile of the banded matrix", lo=1, hi=4096)
    rho: float = option(0.5, "correlation decay rho of A_ij = rho^|i-j| (condition number < "
                        "((1+rho)/(1-rho))^2: 9 at 0.5; the hard case 0.9: ~360)", lo=0.0,
                        lo_open=True, hi=0.999)
    preset: str = option("joshi2020", "device preset", choices=preset_names)
    mapping: str = option("offset", "weight mapping: offset = one device set per (positive) "
                          "element, as the paper", choices=("offset", "differential"))
    program_tol: float = option(1.74e-6, "program-and-verify tolerance (at most 100 uS: above "
                                "every preset's conductance range)", unit="S", lo=0.0,
                                hi=1e-4)
    program_max_iterations: int = option(20, "program-and-verify budget of shots", lo=1,
                                         hi=1000)
    drift_compensation: str = option("global", "crossbar output rescaling against drift",
                                     choices=compensation_choices)
    times: tuple[float, ...] = option([1.0, 86400.0], "read times after programming "
                                      f"(increasing; 1 to 8 times up to {READ_TIME_MAX:g} s, "
                                      f"about 10 years)", unit="s", lo=0.0, hi=READ_TIME_MAX)
    inner_steps: int = option(8, "CG steps of the inner solver", lo=1, hi=1000)
    tol: float = option(1e-15, "stop when ||b - A x|| / ||b|| < tol (at least 1e-16: float64 "
                        "cannot resolve less)", lo=1e-16, hi=1.0)
    max_outer: int = option(300, "most refinements per solve", lo=1, hi=10_000)
    wire_sweep: tuple[float, ...] = option([], "wire resistances per cell segment (rows and "
                                           "columns) of the dense system's extra solves at the "
                                           "first time (strictly increasing; empty: none; "
                                           "assumed range ~1-10 ohm, as mvm-precision's)",
                                           unit="ohm", lo=0.0, hi=WIRE_R_MAX)
    stuck_sweep: tuple[float, ...] = option([], "fractions of stuck devices (half off, half "
                                            "on) of the dense system's extra solves at the "
                                            "first time (strictly increasing; empty: none)",
                                            lo=0.0, hi=1.0)
    seed: int = option(0, "seed of every random stream of the run", lo=0, hi=SEED_MAX)

    def validate(self) -> None:
        t = self.times
        if not 1 <= len(t) <= 8:
            raise ParameterError(f"SolverConfig.times = {list(t)!r} must hold 1 to 8 times")
        if any(b <= a for a, b in itertools.pairwise(t)):
            raise ParameterError(f"SolverConfig.times = {list(t)!r} must be strictly "
                                 f"increasing (time only moves forward)")
        for name in ("wire_sweep", "stuck_sweep"):
            v = getattr(self, name)
            if any(b <= a for a, b in itertools.pairwise(v)):
                raise ParameterError(f"SolverConfig.{name} = {list(v)!r} must be strictly "
                                     f"increasing")
        if self.band >= self.banded_n:
            raise ParameterError(f"SolverConfig.band = {self.band} must be < banded_n = "
                                 f"{self.banded_n}")

    def _per_element(self, k: int) -> int:
        return k * (2 if self.mapping == "differential" else 1)

    def _banded_weights(self) -> int:
        """Weights stored by the banded system's tiles (each tile_rows x (tile_rows + 2
        band), along the diagonal)."""
        rows = min(self.tile_rows, self.banded_n)
        tiles = -(-self.banded_n // rows)
        return tiles * rows * min(rows + 2 * self.band, self.banded_n)

    def memory_needs(self) -> list:
        """Each system's matrix, factor and copies, and its crossbar."""
        n, nb = self.dense_n, self.banded_n
        wb = self._banded_weights()
        kd = self._per_element(self.dense_devices_per_element)
        kb = self._per_element(self.banded_devices_per_element)
        return [MemoryNeed(8 * 8 * n * n + crossbar_bytes(n * n, kd * n * n),
                           {"dense_n": n, "dense_devices_per_element":
                            self.dense_devices_per_element},
                           f"the dense matrix, its factor and a crossbar of {kd * n * n} "
                           f"devices"),
                MemoryNeed(8 * 3 * wb + 8 * 8 * nb * (2 * self.band + 1)
                           + crossbar_bytes(wb, kb * wb),
                           {"banded_n": nb, "band": self.band, "tile_rows": self.tile_rows,
                            "banded_devices_per_element": self.banded_devices_per_element},
                           f"the banded matrix and its crossbar tiles ({kb * wb} devices)")] \
            + ([MemoryNeed(3500 * n * n, {"dense_n": n, "wire_sweep": list(self.wire_sweep)},
                           "the sparse LU factors of one dense nodal network (~3.5 kB per "
                           "cell, measured at 256 and 512)")]
               if any(r > 0 for r in self.wire_sweep) else [])

    def run_estimate(self) -> tuple[str, float]:
        """The size of the run and a rough time (s): programming (~1.8 us per device), the
        dense eigenvalues and factor (~1e-10 s * N^3), and the solves' crossbar MVMs (about
        30 refinements of inner_steps reads per solve; ~0.15 ms per tile read and ~2 ns
        per multiply-add; measured at the defaults and at 1000/20000)."""
        n = self.dense_n
        wb = self._banded_weights()
        tiles = -(-self.banded_n // min(self.tile_rows, self.banded_n))
        devices = (self._per_element(self.dense_devices_per_element) * n * n
                   + self._per_element(self.banded_devices_per_element) * wb)
        mvms = len(self.times) * 30 * (self.inner_steps + 1)
        seconds = (2.0 + devices * 1.8e-6 + 1e-10 * n ** 3
                   + mvms * ((tiles + 1) * 1.5e-4 + (n * n + wb) * 2e-9))
        extra = len(self.wire_sweep) + len(self.stuck_sweep)  # dense solves: programming,
        nets = sum(r > 0 for r in self.wire_sweep) * self.dense_devices_per_element  # IR drop
        seconds += extra * (self._per_element(self.dense_devices_per_element) * n * n * 1.8e-6
                            + 30 * (self.inner_steps + 1) * n * n * 2e-9) \
            + nets * 0.4 * (n / 256) ** 3  # one network ~0.4 s at 256 x 256, ~n^3
        return ((f"dense N = {n} and banded N = {self.banded_n} (band {self.band}, {tiles} "
                f"tiles), {devices} devices, {len(self.times)} read times"), seconds)


@dataclass
class _Problem:
    name: str
    A: object  # ndarray (dense) or csr_matrix (banded)
    band: int
    K: int
    tile_rows: int
    b: np.ndarray
    exact: ExactSolver
    x_ref: np.ndarray


def _problems(c: SolverConfig) -> list[_Problem]:
    """Both systems, checked SPD (fast, before any crossbar is programmed)."""
    out = []
    for name, n, K in (("dense", c.dense_n, c.dense_devices_per_element),
                       ("banded", c.banded_n, c.banded_devices_per_element)):
        if name == "dense":
            A, band, rows = dense_covariance(n, c.rho), n - 1, n
            what, fix = f"the dense matrix rho^|i-j| (rho = {c.rho})", ""
        else:
            A, band, rows = banded_covariance(n, c.rho, c.band, c.banded_shift), c.band, \
                c.tile_rows
            what = (f"the banded matrix (rho = {c.rho}, band = {c.band}, banded_shift = "
                    f"{c.banded_shift})")
            fix = "raise banded_shift"
        exact = ExactSolver(A, band, what, fix)
        b = rng(c.seed, name, "b").uniform(0.0, 1.0, n)
        out.append(_Problem(name, A, band, K, rows, b, exact, exact.solve(b)))
    return out


def _block(A, tile) -> np.ndarray:
    """``A[tile.rows, tile.cols]`` as a dense array (A dense or sparse)."""
    B = A[tile.rows, tile.cols]
    return B.toarray() if hasattr(B, "toarray") else np.asarray(B)


def _solve_problem(p: _Problem, c: SolverConfig, bar) -> dict:
    op = crossbar(p, c, 0.0)
    bar.update()
    per_element = p.K * (2 if c.mapping == "differential" else 1)
    res = {"devices": op.devices, "band_devices": per_element * op.band_size,
           "tiles": len(op.tiles), "programming_reads": op.totals()["n_read"], "solves": {}}

    def step(label):
        return lambda k, rel: bar.set_postfix_str(f"{p.name} {label} k={k} res={rel:.1e}",
                                                    refresh=False)

    def solve(label, inner, reads=None):
        return refine(p.A, p.b, inner, c.tol, c.max_outer, p.x_ref, reads, step(label))

    res["solves"]["float64_inner"] = solve("float64", lambda r: inner_cg(p.A, r, c.inner_steps))
    res["solves"]["exact_inner"] = solve("exact", lambda r: (p.exact.solve(r), 0))
    res["solves"]["float64_cg"] = plain_cg(p.A, p.b, c.tol, 10 * p.A.shape[0], p.x_ref)
    bar.update()
    a_max = float(abs(p.A).max())
    probe = rng(c.seed, p.name, "probe").standard_normal(p.A.shape[0])
    diag = {"matrix_error_rms": [], "matrix_error_max": [], "mvm_relative_error": [],
            "calibration_reads": []}
    for k, t in enumerate(c.times):
        op.at(t)
        r0 = op.totals()["n_read"]
        # elementwise error of the mean operator at t over every stored weight (drift and
        # its compensation, which reads each tile's calibration inputs at a new time)
        err = np.concatenate([(Mt - _block(p.A, tl)).ravel()
                              for tl, Mt in zip(op.tiles, op.effective_blocks())])
        diag["matrix_error_rms"].append(float(np.sqrt(np.mean(err ** 2))) / a_max)
        diag["matrix_error_max"].append(float(np.abs(err).max()) / a_max)
        diag["calibration_reads"].append(op.totals()["n_read"] - r0)
        y = p.A @ probe  # one read of a random vector: the crossbar's own precision at t
        diag["mvm_relative_error"].append(float(np.linalg.norm(op @ probe - y)
                                                / np.linalg.norm(y)))
        base = op.totals()["n_read"]
        res["solves"][f"crossbar_{k}"] = solve(
            f"t={t:g}s", lambda r: inner_cg(op, r, c.inner_steps),
            lambda base=base: op.totals()["n_read"] - base)
        bar.update()
    res["read_devices"] = op.read_devices
    res["diagnostics"] = diag
    nnz = p.A.nnz if hasattr(p.A, "nnz") else p.A.size
    res["work"] = work(p.A.shape[0], nnz, res["solves"]["crossbar_0"],
                       res["solves"]["float64_cg"])
    if p.name == "dense":  # the opt-in circuit sweeps (none by default)
        res["sweeps"] = sweep(p, c, lambda xb: solve(
            "sweep", lambda r: inner_cg(xb, r, c.inner_steps)), bar)
    return res


def run(config: SolverConfig, out, *, resume: bool = False, progress: bool = True) -> Path:
    """Solve both systems and write one ``solver`` HDF5 file.

    The arguments and return value are those of every workload's ``run`` (see
    :class:`~neuropcm.workloads.Workload`); ``resume`` is refused (no checkpoint).
    """
    from tqdm import tqdm

    if resume:
        refuse_resume("solver", "it takes about a minute")
    c = config
    problems = _problems(c)
    bar = tqdm(total=len(problems) * (2 + len(c.times)) + len(c.wire_sweep)
               + len(c.stuck_sweep), desc="solver", unit="stage", disable=not progress)
    results = {p.name: _solve_problem(p, c, bar) for p in problems}
    bar.close()
    return report.write(out, c, problems, results)


WORKLOAD = Workload(
    name="solver", kind="solver", config=SolverConfig, run=run, summary=report.summary,
    figure=report.figure, description="mixed-precision linear solver with MVMs on PCM "
                                      "crossbars (Le Gallo 2018)", default_out="solver.h5",
    smoke=('dense_n=30', 'banded_n=60', 'wire_sweep=["0*ohm", "20*ohm"]', 'stuck_sweep=[0, 0.02]'))
