"""The ``solver`` workload's file, summary and figure (split from :mod:`.solver`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...plotting import save_figure
from ._solver_cost import C_SWEEP, PAPER_GAIN, gain
from ._solver_sweep import SWEEP_FIELDS, draw
from .mvm_precision import WIRE_R_UNIT

KIND = "solver"
PROBLEMS = ("dense", "banded")
#: Refinement variants stored per problem, besides ``crossbar_<k>`` (one per read time).
BASELINES = ("float64_inner", "exact_inner", "float64_cg")
#: The paper's numbers (seed tutorial section II, Fig. 8b; Le Gallo 2018).
PAPER = {"error_norm": 1e-15, "refinements": 23, "gain": PAPER_GAIN}


def write(out, c, problems, results) -> Path:
    """One ``solver`` HDF5 file of the run's solves, diagnostics, work and sweeps."""
    from ...io import atomic_h5, write_config, write_dataset

    out = Path(out)
    with atomic_h5(out, kind=KIND) as f:
        write_config(f, c.to_dict())
        rg = f.create_group("results")
        write_dataset(rg, "cost_c", C_SWEEP, "1",
                      description="cost of one crossbar MVM in float64 flop-equivalents "
                                  "(assumed, swept)")
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
                write_dataset(s, "error_norm", np.array(h.error_norm), "1")
                write_dataset(s, "mvms", np.array(h.mvms, np.int64), "count")
                write_dataset(s, "device_reads", np.array(h.device_reads, np.int64), "count")
                write_dataset(s, "x", h.x, "1")
                s.attrs["converged"] = h.converged
            w = r["work"]
            write_dataset(g, "gain", gain(w["cg_float64_flops"], w["float64_flops"],
                                          w["crossbar_mvms"], C_SWEEP), "1",
                          description="modelled time/energy of plain CG over the crossbar "
                                      "refinement at the first time, against cost_c")
            for k, v in w.items():
                rg.attrs[f"{p.name}_work_{k}"] = v
            xb = [r["solves"][f"crossbar_{k}"] for k in range(len(c.times))]
            figs = {"final_relative_residual": [h.final for h in xb],
                    "final_error_norm": [h.error_norm[-1] for h in xb],
                    "outer_iterations": [h.iterations for h in xb],
                    "mvms": [h.mvms[-1] for h in xb],
                    "device_reads": [h.device_reads[-1] for h in xb]}
            for k, v in figs.items():
                rg.attrs[f"{p.name}_crossbar_{k}"] = np.array(v)
            for label in BASELINES:
                h = r["solves"][label]
                rg.attrs[f"{p.name}_{label}_final_relative_residual"] = h.final
                rg.attrs[f"{p.name}_{label}_final_error_norm"] = h.error_norm[-1]
                rg.attrs[f"{p.name}_{label}_outer_iterations"] = h.iterations
                rg.attrs[f"{p.name}_{label}_mvms"] = h.mvms[-1]
            for k in ("devices", "band_devices", "read_devices", "tiles", "programming_reads"):
                rg.attrs[f"{p.name}_{k}"] = int(r[k])
            rg.attrs[f"{p.name}_lambda_min"] = p.exact.lambda_min
            rg.attrs[f"{p.name}_condition_number"] = p.exact.condition_number
            worst = max(worst, *figs["final_relative_residual"])
            if p.name == "dense":
                rg.attrs["final_relative_residual"] = xb[0].final
                rg.attrs["final_error_norm"] = xb[0].error_norm[-1]
                rg.attrs["outer_iterations"] = xb[0].iterations
                rg.attrs["crossbar_mvms"] = xb[0].mvms[-1]
                rg.attrs["device_reads"] = xb[0].device_reads[-1]
                rg.attrs["cg_iterations"] = w["cg_iterations"]
                rg.attrs["gain_bound"] = w["gain_bound"]
                rg.attrs["break_even_cost"] = w["break_even_cost"]
                _write_sweeps(rg, c, r["sweeps"], write_dataset)
        rg.attrs["worst_final_relative_residual"] = worst
    return out


def _write_sweeps(rg, c, sweeps: dict, write_dataset) -> None:
    for name, d in sweeps.items():
        g = rg.create_group(f"sweep_{name}")
        if name == "wires":
            write_dataset(g, "resistance", np.array(c.wire_sweep, float), WIRE_R_UNIT,
                          description="wire resistance per cell segment (ohm)")
        else:
            write_dataset(g, "fraction", np.array(c.stuck_sweep, float), "1",
                          description="stuck fraction (half off, half on)")
        for k, unit in SWEEP_FIELDS.items():
            write_dataset(g, k, d[k], unit)


def summary(path) -> str:
    """Headline lines for the CLI, read from the file."""
    from ...io import open_h5, read_config

    with open_h5(path, kind=KIND) as f:
        cfg = read_config(f)
        a = f["results"].attrs
        lines = [(f"paper (Le Gallo 2018, tutorial Fig. 8b): ||x - x*|| ~ "
                 f"{PAPER['error_norm']:.0e} in ~{PAPER['refinements']} refinements, accuracy "
                 f"not limited by the crossbar; up to {PAPER['gain']}x time/energy against "
                 f"float64 (POWER8/P100 host)")]
        for p in PROBLEMS:
            n = cfg[f"{p}_n"]
            K = cfg[f"{p}_devices_per_element"]
            lines.append(f"{p} N={n} K={K}, rho = {cfg['rho']:g} (condition number "
                         f"{a[f'{p}_condition_number']:.1f}; lambda_min "
                         f"{a[f'{p}_lambda_min']:.3g}), {a[f'{p}_devices']} devices, "
                         f"{a[f'{p}_band_devices']} on matrix elements:")
            for k, t in enumerate(cfg["times"]):
                lines.append(
                    f"  crossbar at t={t:g} s: ||r||/||b|| = "
                    f"{a[f'{p}_crossbar_final_relative_residual'][k]:.2e}, ||x - x*|| = "
                    f"{a[f'{p}_crossbar_final_error_norm'][k]:.2e} after "
                    f"{a[f'{p}_crossbar_outer_iterations'][k]} refinements, "
                    f"{a[f'{p}_crossbar_mvms'][k]} crossbar MVMs, "
                    f"{a[f'{p}_crossbar_device_reads'][k]:.3g} device reads")
            for label, what in (("float64_inner", "float64 inner CG"),
                                ("exact_inner", "exact inner solve"),
                                ("float64_cg", "plain float64 CG")):
                unit = "iterations" if label == "float64_cg" else "refinements"
                lines.append(f"  {what}: {a[f'{p}_{label}_final_relative_residual']:.2e} "
                             f"(||x - x*|| = {a[f'{p}_{label}_final_error_norm']:.2e}) "
                             f"after {a[f'{p}_{label}_outer_iterations']} {unit}, "
                             f"{a[f'{p}_{label}_mvms']} float64 MVMs")
            w = {k: a[f"{p}_work_{k}"] for k in ("refinements", "crossbar_mvms",
                                                  "float64_mvms", "cg_iterations",
                                                  "float64_flops", "cg_float64_flops",
                                                  "gain_bound", "break_even_cost")}
            lines.append(
                f"  work at t={cfg['times'][0]:g} s against plain CG: {w['float64_mvms']} vs "
                f"{w['cg_iterations']} float64 MVMs, {w['float64_flops']:.3g} vs "
                f"{w['cg_float64_flops']:.3g} float64 flops, + {w['crossbar_mvms']} crossbar "
                f"MVMs; modelled time/energy gain <= {w['gain_bound']:.2f}x (free crossbar "
                f"MVMs; paper {PAPER['gain']}x), > 1 while a crossbar MVM costs < "
                f"{w['break_even_cost']:.3g} float64 flops")
        for name, key, what in (("wires", "resistance", "wire resistance (ohm)"),
                                ("stuck", "fraction", "stuck fraction")):
            g = f["results"].get(f"sweep_{name}")
            if g is None:
                continue
            pts = ", ".join(f"{v:g}: {it}{'' if ok else ' (no)'}" for v, it, ok in zip(
                g[key][()], g["outer_iterations"][()], g["converged"][()]))
            lines.append(f"dense refinements against {what} at t={cfg['times'][0]:g} s "
                         f"('no': did not reach tol): {pts}")
    return "\n".join(lines)


def figure(path, png) -> Path:
    """Rows: relative residual against refinement (dotted: relative error), the error
    norm ``||x - x*||`` against refinement (the paper's Fig. 8b axis), the residual
    against MVMs; the modelled time/energy gain against the crossbar MVM cost, and the
    refinements of the opt-in circuit sweeps (wire resistance, stuck fraction), from the
    file alone."""
    import h5py

    from ...io import open_h5, read_config
    from ...plotting import colours, new_figure

    with open_h5(path, kind=KIND) as f:
        cfg = read_config(f)
        res = f["results"]
        keys = ("relative_residual", "relative_error", "error_norm", "mvms")
        data = {p: {lab: {k: g[k][()] for k in keys}
                    for lab, g in res[p].items() if isinstance(g, h5py.Group)}
                for p in PROBLEMS}
        cost = res["cost_c"][()]
        gains = {p: res[p]["gain"][()] for p in PROBLEMS}
        sweeps = {name: {k: res[f"sweep_{name}"][k][()] for k in SWEEP_FIELDS}
                  for name in ("wires", "stuck") if f"sweep_{name}" in res}
    fig, ax = new_figure(5, 2, (12, 19))
    colors = colours(len(cfg["times"]), 0.0, 0.8)
    for j, p in enumerate(PROBLEMS):
        d = data[p]
        for k, t in enumerate(cfg["times"]):
            h = d[f"crossbar_{k}"]
            lab = f"PCM crossbar, t = {t:g} s"
            ax[0, j].semilogy(h["relative_residual"], "o-", ms=3, color=colors[k], label=lab)
            ax[0, j].semilogy(h["relative_error"], ":", lw=1, color=colors[k],
                              label="  its error ||x - x*|| / ||x*||" if k == 0 else None)
            ax[1, j].semilogy(h["error_norm"], "o-", ms=3, color=colors[k], label=lab)
            ax[2, j].semilogy(h["mvms"], h["relative_residual"], "-", color=colors[k],
                              label=lab)
        for lab, style, name in (("float64_inner", "k--", "float64 inner CG"),
                                 ("exact_inner", "ks:", "exact inner solve")):
            ax[0, j].semilogy(d[lab]["relative_residual"], style, ms=4, label=name)
            ax[1, j].semilogy(d[lab]["error_norm"], style, ms=4, label=name)
        ax[2, j].semilogy(d["float64_inner"]["mvms"], d["float64_inner"]["relative_residual"],
                          "k--", label="float64 inner CG")
        ax[2, j].semilogy(d["float64_cg"]["mvms"], d["float64_cg"]["relative_residual"], "r-",
                          label="plain float64 CG")
        n, K = cfg[f"{p}_n"], cfg[f"{p}_devices_per_element"]
        ax[0, j].axhline(cfg["tol"], color="gray", lw=0.8)
        ax[1, j].axhline(PAPER["error_norm"], color="gray", lw=0.8, ls="--",
                         label=f"paper: ~{PAPER['error_norm']:.0e}")
        ax[3, 0].loglog(cost, gains[p], "-", label=f"{p}, N = {n}")
        for a in ax[:3, j]:
            a.legend(fontsize=8)
        ax[0, j].set(xlabel="refinement (outer iteration)", ylabel="relative residual (error)",
                     title=f"{p}, N = {n}, K = {K}, rho = {cfg['rho']:g}, "
                           f"{cfg['inner_steps']} inner CG steps")
        ax[1, j].set(xlabel="refinement (outer iteration)", ylabel="||x - x*||")
        ax[2, j].set(xlabel="MVMs of the inner solver (crossbar or float64)",
                     ylabel="||b - Ax|| / ||b||")
    ax[3, 0].axhline(PAPER["gain"], color="gray", ls="--", lw=0.8,
                     label=f"paper: up to {PAPER['gain']}x (large matrices)")
    ax[3, 0].axhline(1.0, color="k", lw=0.6)
    ax[3, 0].set(xlabel="cost of one crossbar MVM (float64 flop-equivalents; assumed, swept)",
                 ylabel="modelled T_CG / T_mixed (time or energy)")
    ax[3, 0].legend(fontsize=8)
    draw([ax[3, 1], ax[4, 0]], cfg, sweeps)
    ax[4, 1].set_axis_off()
    return save_figure(fig, png)
