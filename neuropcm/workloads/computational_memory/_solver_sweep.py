"""The ``solver`` workload's opt-in sweep over wire resistance and stuck devices (issue 21,
point 4): the dense system solved at the first read time by crossbars that differ from
the run's own only in one circuit non-ideality.

* ``wire_sweep`` (ohm per cell segment, on rows and columns; driver and sense resistance
  0; the nodal network of :mod:`neuropcm.crossbar.circuit`, as mvm-precision's sweep);
* ``stuck_sweep``: a fraction ``p`` of the devices stuck, half at the lowest and half at
  the highest conductance (``p_stuck_off = p_stuck_on = p / 2``,
  :mod:`neuropcm.devices.faults`; stuck devices ignore programming).

Every point programs the crossbar with the run's crossbar seed, so the devices that are
not stuck are programmed as in the run (program-and-verify reads single devices, not
through the wires), and the ``0`` point of either sweep is the run's ``crossbar_0``
solve. Recorded per point: refinements, crossbar MVMs, final relative residual, final
error norm ``||x - x*||`` and whether the solve reached ``tol``.
"""

from __future__ import annotations

import numpy as np

from ...random import int_seed

#: Stored per sweep point (name: unit).
SWEEP_FIELDS = {"outer_iterations": "count", "mvms": "count",
                "final_relative_residual": "1", "final_error_norm": "1", "converged": "1"}


def crossbar(p, c, t: float, **extra):
    """The problem's crossbar operator programmed with the run's seed (plus ``extra``
    crossbar options), moved to time ``t``."""
    from ...crossbar.tiled import BandedCrossbar

    comp = None if c.drift_compensation == "none" else c.drift_compensation
    op = BandedCrossbar(p.A, c.preset, lower=p.band, upper=p.band, tile_rows=p.tile_rows,
                        mapping=c.mapping, seed=int_seed(c.seed, p.name, "crossbar"),
                        devices_per_weight=p.K, tol=c.program_tol,
                        max_iterations=c.program_max_iterations, drift_compensation=comp,
                        **extra)
    return op.at(t) if t > op.time else op


def sweep(p, c, solve, bar) -> dict:
    """``{"wires": {...}, "stuck": {...}}`` (only the sweeps asked for), each
    :data:`SWEEP_FIELDS` -> array over the sweep's values; ``solve(op)`` -> History."""
    out = {}
    for name, values, opts in (
            ("wires", c.wire_sweep, lambda r: {"wire_resistance_row": r,
                                               "wire_resistance_col": r}),
            ("stuck", c.stuck_sweep, lambda q: {"p_stuck_off": q / 2, "p_stuck_on": q / 2})):
        if not values:
            continue
        rows = []
        for v in values:
            h = solve(crossbar(p, c, c.times[0], **opts(v)))
            rows.append((h.iterations, h.mvms[-1], h.final, h.error_norm[-1], h.converged))
            bar.update()
        out[name] = {k: np.array(col, dtype=float if k.startswith("final") else np.int64)
                     for k, col in zip(SWEEP_FIELDS, zip(*rows))}
    return out


def draw(ax, cfg, sweeps: dict, r_unit: str = "Ω") -> None:
    """Refinements (markers; open: did not reach tol) against wire resistance and stuck
    fraction, on ``ax[0]`` and ``ax[1]``; the final error norm on twin axes."""
    for a, (name, values, xlabel) in zip(ax, (
            ("wires", cfg.get("wire_sweep", []), f"wire resistance per cell segment ({r_unit})"),
            ("stuck", cfg.get("stuck_sweep", []), "stuck fraction p (half off, half on)"))):
        d = sweeps.get(name)
        if d is None:
            a.text(0.5, 0.5, f"no {name} sweep in this run\n(set {name[:5]}_sweep)",
                   ha="center", va="center", transform=a.transAxes)
            a.set_axis_off()
            continue
        x = np.asarray(values, dtype=float)
        ok = d["converged"].astype(bool)
        a.plot(x, d["outer_iterations"], "-", color="C0")
        a.plot(x[ok], d["outer_iterations"][ok], "o", color="C0", label="refinements")
        a.plot(x[~ok], d["outer_iterations"][~ok], "o", mfc="none", color="C0",
               label=f"did not reach tol = {cfg['tol']:g}")
        a.set(xlabel=xlabel, ylabel="refinements (dense system, first time)")
        b = a.twinx()
        b.semilogy(x, d["final_error_norm"], "s--", color="C3", ms=4)
        b.set_ylabel("final ||x - x*||", color="C3")
        a.legend(fontsize=8, loc="upper left")
