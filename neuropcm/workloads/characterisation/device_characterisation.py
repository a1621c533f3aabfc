"""Characterise a device preset on many simulated devices (``neuropcm run
device-characterisation``, alias ``neuropcm devices``).

Four experiments, each on fresh devices with its own random stream (levels are fractions of
the SET saturation level, :func:`~neuropcm.devices.theory.saturation_conductance`): the accumulation
curve (mean and std of G after 1..``pulses`` SET pulses from RESET, beside the exact
model of :mod:`neuropcm.devices.theory`), the programming error against the target, the
drift of several levels from 1 s to 1e6 s, and the read-noise std against conductance.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, option
from ...devices import PCMArray, get_preset
from ...devices.presets import preset_names
from ...devices.theory import accumulation_moments, saturation_conductance
from ...random import rng
from .. import DEVICE_BYTES, SEED_MAX, MemoryNeed, Workload, refuse_resume

#: Times after programming at which drift is read (s).
DRIFT_TIMES = np.logspace(0, 6, 25)
#: Repeated reads per device for the read-noise experiment.
N_READS = 32


#: Most simulated devices of one run: 1e8 gives the moments to ~1e-4 of their value, far
#: below the model's own uncertainty (and takes about a quarter of an hour).
MAX_DEVICES = 100_000_000


@dataclass(frozen=True)
class DeviceCharacterisationConfig(Config):
    """Settings of a device characterisation."""

    preset: str = option("nandakumar2018", "device preset to characterise",
                         choices=preset_names)
    devices: int = option(10_000, "simulated devices per experiment (at most 1e8: the "
                          "statistics stop improving long before)", lo=80, hi=MAX_DEVICES)
    pulses: int = option(20, "SET pulses of the accumulation curve", lo=1, hi=1000)
    seed: int = option(0, "seed of every random stream of the run", lo=0, hi=SEED_MAX)

    def memory_needs(self) -> list:
        """Two device arrays alive at once (the next experiment's is built before the last
        one is freed) and the repeated reads of the read-noise experiment."""
        n = self.devices
        return [MemoryNeed(2 * DEVICE_BYTES * n + N_READS * max(n // 4, 80) * 8,
                           {"devices": n}, f"{n} simulated devices")]

    def run_estimate(self) -> tuple[str, float]:
        """The size of the run and a rough time (s): per device ~2 us for programming and
        reads plus ~0.3 us per SET pulse (measured at 2e5 and 2e6 devices)."""
        return (f"{self.devices} devices x 4 experiments, {self.pulses} SET pulses",
                3.0 + self.devices * (2e-6 + 3e-7 * self.pulses))


def run(config: DeviceCharacterisationConfig, out, *, resume: bool = False,
        progress: bool = True) -> Path:
    """Measure the preset and write one ``device_characterisation`` HDF5 file.

    The arguments and return value are those of every workload's ``run`` (see
    :class:`~neuropcm.workloads.Workload`); ``resume`` is refused (no checkpoint).
    """
    from tqdm import tqdm

    from ...io import atomic_h5, write_config, write_dataset

    if resume:
        refuse_resume("device-characterisation", "it takes seconds")
    c = config
    params = get_preset(c.preset)
    # levels as fractions of what SET pulses can reach (pulsed devices saturate below g_max)
    g_top = saturation_conductance(params)
    steps = tqdm(total=4, desc=f"characterising {c.preset}", disable=not progress, unit="exp")
    res: dict[str, dict[str, tuple[np.ndarray, str]]] = {}

    # 1. accumulation curve from RESET
    arr = PCMArray(c.devices, params, seed=rng(c.seed, "accumulation"))
    mean, std = [arr.conductance.mean()], [arr.conductance.std()]
    for _ in range(c.pulses):
        arr.set_pulse()
        mean.append(arr.conductance.mean())
        std.append(arr.conductance.std())
    th_mean, th_std = accumulation_moments(params, c.pulses)
    res["accumulation"] = {"pulses": (np.arange(c.pulses + 1), "count"),
                           "mean": (np.array(mean), "S"), "std": (np.array(std), "S"),
                           "theory_mean": (th_mean, "S"), "theory_std": (th_std, "S")}
    steps.update()

    # 2. programming error against the target
    levels = np.linspace(0.1, 0.8, 8) * g_top
    per = c.devices // levels.size
    arr = PCMArray(per * levels.size, params, seed=rng(c.seed, "programming"))
    r = arr.program(np.repeat(levels, per))
    err = (r.achieved - r.target).reshape(levels.size, per)
    res["programming"] = {
        "target": (levels, "S"), "error_mean": (err.mean(1), "S"), "error_std": (err.std(1), "S"),
        "iterations_mean": (r.iterations.reshape(levels.size, per).mean(1), "count"),
        "converged": (r.converged.reshape(levels.size, per).mean(1), "1")}
    steps.update()

    # 3. drift of several levels
    levels_d = np.array([0.1, 0.3, 0.6, 0.9]) * g_top
    per = c.devices // levels_d.size
    arr = PCMArray(per * levels_d.size, params, seed=rng(c.seed, "drift"))
    arr.program(np.repeat(levels_d, per))
    t_p = arr.time
    drift = np.array([arr.read(t=t_p + t).reshape(levels_d.size, per).mean(1)
                      for t in DRIFT_TIMES]).T
    res["drift"] = {"time": (DRIFT_TIMES, "s"), "levels": (levels_d, "S"), "mean": (drift, "S")}
    steps.update()

    # 4. read-noise std against conductance
    levels_r = np.linspace(0.05, 0.95, 10) * g_top
    per = max(c.devices // (levels_r.size * 4), 8)
    arr = PCMArray(per * levels_r.size, params, seed=rng(c.seed, "read_noise"))
    arr.program(np.repeat(levels_r, per))
    t_r = arr.time + 1.0
    reads = np.array([arr.read(t=t_r) for _ in range(N_READS)])
    _, m_std = arr.read_moments(t=t_r)
    res["read_noise"] = {"conductance": (reads.mean(0), "S"),
                         "std": (reads.std(0, ddof=1), "S"), "model_std": (m_std, "S")}
    steps.update()
    steps.close()

    out = Path(out)
    with atomic_h5(out, kind=WORKLOAD.kind) as f:
        write_config(f, {**c.to_dict(), "params": params.as_dict(), "model": params.model})
        for name, group in res.items():
            g = f.create_group(f"results/{name}")
            for k, (v, u) in group.items():
                write_dataset(g, k, v, u)
        acc = res["accumulation"]
        rg = f["results"]
        rg.attrs["g_after_pulses"] = float(acc["mean"][0][-1])
        rg.attrs["g_after_pulses_theory"] = float(acc["theory_mean"][0][-1])
        rg.attrs["program_converged"] = float(res["programming"]["converged"][0].mean())
    return out


def summary(path) -> str:
    """Headline lines for the CLI, read from the file."""
    from ...io import open_h5, read_config

    with open_h5(path, kind=WORKLOAD.kind) as f:
        cfg = read_config(f)
        r = f["results"].attrs
        return (f"{cfg['preset']}: mean G after {cfg['pulses']} pulses "
                f"{r['g_after_pulses'] * 1e6:.2f} uS (exact model "
                f"{r['g_after_pulses_theory'] * 1e6:.2f} uS); program-and-verify converged "
                f"{100 * r['program_converged']:.1f} %")


def figure(path, png) -> Path:
    """The four-panel characterisation figure, from the file alone."""
    return plot_device_characterisation(path, png)


WORKLOAD = Workload(
    name="device-characterisation", kind="device_characterisation",
    config=DeviceCharacterisationConfig, run=run, summary=summary, figure=figure,
    description="characterise a PCM device preset on many simulated devices",
    default_out="devices.h5",
    aliases=("devices",), smoke=('devices=500',))


def plot_device_characterisation(h5_path, png_path) -> Path:
    """Four-panel PNG of a ``neuropcm devices`` file: accumulation, programming error,
    drift, read noise."""
    from ...io import open_h5, read_config
    from ...plotting import new_figure, save_figure

    with open_h5(h5_path, kind="device_characterisation") as f:
        cfg = read_config(f)
        r = {k: {n: f["results"][k][n][()] for n in f["results"][k]} for k in f["results"]}
    fig, ax = new_figure(2, 2, (11, 8))
    us = 1e6
    a = r["accumulation"]
    ax[0, 0].errorbar(a["pulses"], a["mean"] * us, yerr=a["std"] * us, fmt="o", ms=3, capsize=2,
                      label=f"simulated ({cfg['devices']} devices)")
    ax[0, 0].plot(a["pulses"], a["theory_mean"] * us, "k-", label="model (exact)")
    ax[0, 0].fill_between(a["pulses"], (a["theory_mean"] - a["theory_std"]) * us,
                          (a["theory_mean"] + a["theory_std"]) * us, color="k", alpha=0.1)
    ax[0, 0].set(xlabel="SET pulses after RESET", ylabel="G (µS)", title="Accumulation")
    ax[0, 0].legend()
    p = r["programming"]
    ax[0, 1].errorbar(p["target"] * us, p["error_mean"] * us, yerr=p["error_std"] * us, fmt="s",
                      capsize=3)
    ax[0, 1].axhline(0, color="k", lw=0.5)
    ax[0, 1].set(xlabel="target G (µS)", ylabel="achieved − target (µS)",
                 title=f"Programming error (mean ± std); converged "
                       f"{100 * p['converged'].mean():.1f} %")
    d = r["drift"]
    for lev, m in zip(d["levels"], d["mean"]):
        ax[1, 0].loglog(d["time"], m * us, "o-", ms=3, label=f"{lev * us:.1f} µS")
    ax[1, 0].set(xlabel="time since programming (s)", ylabel="mean read G (µS)", title="Drift")
    ax[1, 0].legend(fontsize=8)
    n = r["read_noise"]
    order = np.argsort(n["conductance"])
    ax[1, 1].plot(n["conductance"] * us, n["std"] * us, ".", ms=3, alpha=0.5, label="measured")
    ax[1, 1].plot(n["conductance"][order] * us, n["model_std"][order] * us, "k-", label="model")
    ax[1, 1].set(xlabel="G (µS)", ylabel="read-noise std (µS)", title="Read noise (t = 1 s)")
    ax[1, 1].legend()
    fig.suptitle(f"PCM preset {cfg['preset']!r} ({cfg['model']} model)")
    return save_figure(fig, png_path, dpi=110)
