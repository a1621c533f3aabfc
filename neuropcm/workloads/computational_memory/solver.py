"""Mixed-precision linear solver with the MVMs on PCM crossbars (``neuropcm run solver``).

Le Gallo et al., "Mixed-precision in-memory computing", Nat. Electron. 1, 246 (2018); seed
tutorial section II and Fig. 8. Iterative refinement (:mod:`._refinement`): the residual
``r = b - A x`` in float64 with the exact matrix, the correction from a few steps of
conjugate gradient whose MVMs are read from a crossbar holding ``A`` with K devices per
element, until ``||r|| / ||b|| < tol``.

Two systems, each ``b ~ U[0, 1]``:

* ``dense``: ``A_ij = rho^|i-j|`` (N = 500, K = 4), one crossbar;
* ``banded``: ``rho^|i-j|`` cut to ``band`` diagonals per side plus ``banded_shift`` on the
  diagonal (cut, it is not positive definite), N = 5000, K = 8, stored only where the band
  reaches as crossbar tiles along the diagonal (:class:`~neuropcm.crossbar.tiled.
  BandedCrossbar`).

``rho^|i-j|`` is an assumed stand-in for the paper's model covariance matrices. Each
crossbar is programmed once (program-and-verify) and read at each of ``times`` after
programming (drift grows between them). Beside each crossbar solve, in the same run: the
same refinement with the inner CG in float64 on the exact matrix (``float64_inner``), with
an exact (Cholesky) inner solve (``exact_inner``), and plain float64 CG (``float64_cg``).
Headline: the dense system at the first time.

Default settings and why:

* ``mapping = "offset"``: the matrices are non-negative, so each element is K devices on
  one line (the reference line holds zeros), as in the paper, whose 998,752 devices are
  8 per element of the 124,844-element band; ``"differential"`` doubles the devices.
* program-and-verify to +-1.74 uS in at most 20 shots (the paper's margin and budget).
* ``drift_compensation = "global"``: outputs rescaled by a calibration read (the paper
  calibrates against drift too); uncompensated, a day of drift makes the refinement
  diverge.
* ``inner_steps = 8``: the inner CG must not resolve the directions where the crossbar
  matrix is wrong; with these devices 10 steps already diverge for the dense system after
  a day of drift. A crossbar MVM counts one read of every tile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, option
from ...devices.presets import preset_names
from ...errors import ParameterError
from ...random import int_seed, rng
from .. import READ_TIME_MAX, SEED_MAX, MemoryNeed, Workload, crossbar_bytes, refuse_resume
from ...plotting import save_figure
from ._refinement import ExactSolver, banded_covariance, dense_covariance, inner_cg, plain_cg, \
    refine

PROBLEMS = ("dense", "banded")
#: Refinement variants stored per problem, besides ``crossbar_<k>`` (one per read time).
BASELINES = ("float64_inner", "exact_inner", "float64_cg")
#: Stored per-solve summary figures and their units.
FIGURES = {"final_relative_residual": "1", "outer_iterations": "count", "mvms": "count",
           "device_reads": "count"}


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
    banded_shift: float = option(0.4, "added to the banded matrix's diagonal (makes it SPD; "
                                 "at most 10: beyond, the matrix is nearly a multiple of the "
                                 "identity)", lo=0.0, hi=10.0)
    banded_devices_per_element: int = option(8, "devices K per matrix element (banded)", lo=1,
                                             hi=64)
    tile_rows: int = option(12, "rows per crossbar tile of the banded matrix", lo=1, hi=4096)
    rho: float = option(0.9, "correlation decay rho of A_ij = rho^|i-j|", lo=0.0, lo_open=True,
                        hi=0.999)
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
    tol: float = option(1e-12, "stop when ||b - A x|| / ||b|| < tol (at least 1e-16: float64 "
                        "cannot resolve less)", lo=1e-16, hi=1.0)
    max_outer: int = option(300, "most refinements per solve", lo=1, hi=10_000)
    seed: int = option(0, "seed of every random stream of the run", lo=0, hi=SEED_MAX)

    def validate(self) -> None:
        t = self.times
        if not 1 <= len(t) <= 8:
            raise ParameterError(f"SolverConfig.times = {list(t)!r} must hold 1 to 8 times")
        if any(b <= a for a, b in zip(t, t[1:])):
            raise ParameterError(f"SolverConfig.times = {list(t)!r} must be strictly "
                                 f"increasing (time only moves forward)")
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
                           f"the banded matrix and its crossbar tiles ({kb * wb} devices)")]

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
        return (f"dense N = {n} and banded N = {self.banded_n} (band {self.band}, {tiles} "
                f"tiles), {devices} devices, {len(self.times)} read times", seconds)


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
    from ...crossbar.tiled import BandedCrossbar

    comp = None if c.drift_compensation == "none" else c.drift_compensation
    op = BandedCrossbar(p.A, c.preset, lower=p.band, upper=p.band, tile_rows=p.tile_rows,
                        mapping=c.mapping, seed=int_seed(c.seed, p.name, "crossbar"),
                        devices_per_weight=p.K, tol=c.program_tol,
                        max_iterations=c.program_max_iterations, drift_compensation=comp)
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
    bar = tqdm(total=len(problems) * (2 + len(c.times)), desc="solver", unit="stage",
               disable=not progress)
    results = {p.name: _solve_problem(p, c, bar) for p in problems}
    bar.close()
    return _write(out, c, problems, results)


def _write(out, c: SolverConfig, problems, results) -> Path:
    from ...io import atomic_h5, write_config, write_dataset

    out = Path(out)
    with atomic_h5(out, kind=WORKLOAD.kind) as f:
        write_config(f, c.to_dict())
        rg = f.create_group("results")
        worst = 0.0
        for p in problems:
            r = results[p.name]
            g = rg.create_group(p.name)
            write_dataset(g, "times", np.array(c.times), "s")
            write_dataset(g, "b", p.b, "1")
            write_dataset(g, "x_exact", p.x_ref, "1")
            for k, v in r["diagnostics"].items():
                write_dataset(g, k, np.array(v), "count" if k.endswith("reads") else "1")
            for label, h in r["solves"].items():
                s = g.create_group(label)
                write_dataset(s, "relative_residual", np.array(h.relative_residual), "1")
                write_dataset(s, "relative_error", np.array(h.relative_error), "1")
                write_dataset(s, "mvms", np.array(h.mvms, np.int64), "count")
                write_dataset(s, "device_reads", np.array(h.device_reads, np.int64), "count")
                write_dataset(s, "x", h.x, "1")
                s.attrs["converged"] = h.converged
            xb = [r["solves"][f"crossbar_{k}"] for k in range(len(c.times))]
            figs = {"final_relative_residual": [h.final for h in xb],
                    "outer_iterations": [h.iterations for h in xb],
                    "mvms": [h.mvms[-1] for h in xb],
                    "device_reads": [h.device_reads[-1] for h in xb]}
            for k, v in figs.items():
                rg.attrs[f"{p.name}_crossbar_{k}"] = np.array(v)
            for label in BASELINES:
                h = r["solves"][label]
                rg.attrs[f"{p.name}_{label}_final_relative_residual"] = h.final
                rg.attrs[f"{p.name}_{label}_outer_iterations"] = h.iterations
                rg.attrs[f"{p.name}_{label}_mvms"] = h.mvms[-1]
            for k in ("devices", "band_devices", "read_devices", "tiles", "programming_reads"):
                rg.attrs[f"{p.name}_{k}"] = int(r[k])
            rg.attrs[f"{p.name}_lambda_min"] = p.exact.lambda_min
            rg.attrs[f"{p.name}_condition_number"] = p.exact.condition_number
            worst = max(worst, *figs["final_relative_residual"])
            if p.name == "dense":
                rg.attrs["final_relative_residual"] = xb[0].final
                rg.attrs["outer_iterations"] = xb[0].iterations
                rg.attrs["crossbar_mvms"] = xb[0].mvms[-1]
                rg.attrs["device_reads"] = xb[0].device_reads[-1]
        rg.attrs["worst_final_relative_residual"] = worst
    return out


def summary(path) -> str:
    """Headline lines for the CLI, read from the file."""
    from ...io import open_h5, read_config

    with open_h5(path, kind=WORKLOAD.kind) as f:
        cfg = read_config(f)
        a = f["results"].attrs
        lines = []
        for p in PROBLEMS:
            n = cfg[f"{p}_n"]
            K = cfg[f"{p}_devices_per_element"]
            lines.append(f"{p} N={n} K={K} (cond {a[f'{p}_condition_number']:.0f}, "
                         f"{a[f'{p}_devices']} devices, {a[f'{p}_band_devices']} on matrix "
                         f"elements):")
            for k, t in enumerate(cfg["times"]):
                lines.append(
                    f"  crossbar at t={t:g} s: ||r||/||b|| = "
                    f"{a[f'{p}_crossbar_final_relative_residual'][k]:.2e} after "
                    f"{a[f'{p}_crossbar_outer_iterations'][k]} refinements, "
                    f"{a[f'{p}_crossbar_mvms'][k]} crossbar MVMs, "
                    f"{a[f'{p}_crossbar_device_reads'][k]:.3g} device reads")
            for label, what in (("float64_inner", "float64 inner CG"),
                                ("exact_inner", "exact inner solve"),
                                ("float64_cg", "plain float64 CG")):
                unit = "iterations" if label == "float64_cg" else "refinements"
                lines.append(f"  {what}: {a[f'{p}_{label}_final_relative_residual']:.2e} "
                             f"after {a[f'{p}_{label}_outer_iterations']} {unit}, "
                             f"{a[f'{p}_{label}_mvms']} float64 MVMs")
    return "\n".join(lines)


def figure(path, png) -> Path:
    """Relative residual against refinement (the paper's figure; dotted: the relative
    error of the solution, the paper's axis) and against MVMs, for both systems, from the
    file alone."""
    import h5py
    from ...plotting import colours, new_figure

    from ...io import open_h5, read_config

    with open_h5(path, kind=WORKLOAD.kind) as f:
        cfg = read_config(f)
        data = {p: {lab: {k: g[k][()] for k in ("relative_residual", "relative_error", "mvms")}
                    for lab, g in f["results"][p].items() if isinstance(g, h5py.Group)}
                for p in PROBLEMS}
    fig, ax = new_figure(2, 2, (11, 8))
    colors = colours(len(cfg["times"]), 0.0, 0.8)
    for j, p in enumerate(PROBLEMS):
        d = data[p]
        for k, t in enumerate(cfg["times"]):
            h = d[f"crossbar_{k}"]
            lab = f"PCM crossbar, t = {t:g} s"
            ax[0, j].semilogy(h["relative_residual"], "o-", ms=3, color=colors[k], label=lab)
            ax[0, j].semilogy(h["relative_error"], ":", lw=1, color=colors[k],
                              label="  its error ||x - x*|| / ||x*||" if k == 0 else None)
            ax[1, j].semilogy(h["mvms"], h["relative_residual"], "-", color=colors[k], label=lab)
        for lab, style, name in (("float64_inner", "k--", "float64 inner CG"),
                                 ("exact_inner", "ks:", "exact inner solve")):
            ax[0, j].semilogy(d[lab]["relative_residual"], style, ms=4, label=name)
        ax[1, j].semilogy(d["float64_inner"]["mvms"], d["float64_inner"]["relative_residual"],
                          "k--", label="float64 inner CG")
        ax[1, j].semilogy(d["float64_cg"]["mvms"], d["float64_cg"]["relative_residual"], "r-",
                          label="plain float64 CG")
        n, K = cfg[f"{p}_n"], cfg[f"{p}_devices_per_element"]
        for a in ax[:, j]:
            a.axhline(cfg["tol"], color="gray", lw=0.8)
            a.legend(fontsize=8)
        ax[0, j].set(xlabel="refinement (outer iteration)", ylabel="relative residual (error)",
                     title=f"{p}, N = {n}, K = {K}, {cfg['inner_steps']} inner CG steps")
        ax[1, j].set(xlabel="MVMs of the inner solver (crossbar or float64)",
                     ylabel="||b - Ax|| / ||b||")
    return save_figure(fig, png)


WORKLOAD = Workload(
    name="solver", kind="solver", config=SolverConfig, run=run, summary=summary,
    figure=figure, description="mixed-precision linear solver with MVMs on PCM crossbars "
                               "(Le Gallo 2018)", default_out="solver.h5",
    smoke=('dense_n=30', 'banded_n=60'))
