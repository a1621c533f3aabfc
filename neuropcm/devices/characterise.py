"""Characterise a device preset on many simulated devices (``neuropcm devices``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..io import atomic_h5, write_config, write_dataset
from .array import PCMArray
from .presets import get_preset
from .theory import accumulation_moments

N_PULSES = 20
DRIFT_TIMES = np.logspace(0, 6, 25)   # s after programming
N_READS = 32                          # repeated reads per device for the read-noise panel


def characterise(preset: str = "nandakumar2018", devices: int = 10_000, seed: int = 0,
                 out: str | Path = "devices.h5", progress: bool = True) -> Path:
    """Measure a preset on ``devices`` simulated devices and write the results to HDF5.

    Four experiments, each on fresh devices: the accumulation curve (mean and std of G
    after 1..20 SET pulses from RESET, with the analytic reference), the programming error
    against the target, the drift of several levels from 1 s to 1e6 s, and the read-noise
    std against the conductance.

    Returns
    -------
    Path
        The HDF5 file written (kind ``"device_characterisation"``).
    """
    params = get_preset(preset)
    if devices < 80:
        from ..errors import ParameterError
        raise ParameterError(f"devices = {devices} is too few to characterise; use >= 80")
    rng = np.random.SeedSequence(seed)
    seeds = [int(s.generate_state(1)[0]) for s in rng.spawn(4)]
    steps = tqdm(total=4, desc=f"characterising {preset}", disable=not progress, unit="exp")
    res: dict[str, dict[str, tuple[np.ndarray, str]]] = {}

    # 1. accumulation curve
    arr = PCMArray(devices, params, seed=seeds[0])
    mean, std = [arr.conductance.mean()], [arr.conductance.std()]
    for _ in range(N_PULSES):
        arr.set_pulse()
        mean.append(arr.conductance.mean())
        std.append(arr.conductance.std())
    th_mean, th_std = accumulation_moments(params, N_PULSES)
    res["accumulation"] = {"pulses": (np.arange(N_PULSES + 1), "pulses"),
                           "mean": (np.array(mean), "S"), "std": (np.array(std), "S"),
                           "theory_mean": (th_mean, "S"), "theory_std": (th_std, "S")}
    steps.update()

    # 2. programming error vs target
    levels = np.linspace(0.1, 0.8, 8) * params.g_max
    per = devices // levels.size
    arr = PCMArray(per * levels.size, params, seed=seeds[1])
    target = np.repeat(levels, per)
    r = arr.program(target)
    err = (r.achieved - r.target).reshape(levels.size, per)
    res["programming"] = {
        "target": (levels, "S"), "error_mean": (err.mean(1), "S"), "error_std": (err.std(1), "S"),
        "iterations_mean": (r.iterations.reshape(levels.size, per).mean(1), "pulses"),
        "converged": (r.converged.reshape(levels.size, per).mean(1), "1")}
    steps.update()

    # 3. drift of several levels
    levels_d = np.array([0.1, 0.3, 0.6, 0.9]) * params.g_max
    per = devices // levels_d.size
    arr = PCMArray(per * levels_d.size, params, seed=seeds[2])
    arr.program(np.repeat(levels_d, per))
    t_p = arr.time
    drift = np.array([arr.read(t=t_p + t).reshape(levels_d.size, per).mean(1)
                      for t in DRIFT_TIMES]).T
    res["drift"] = {"time": (DRIFT_TIMES, "s"), "levels": (levels_d, "S"), "mean": (drift, "S")}
    steps.update()

    # 4. read-noise std vs conductance
    levels_r = np.linspace(0.05, 0.95, 10) * params.g_max
    per = max(devices // (levels_r.size * 4), 8)
    arr = PCMArray(per * levels_r.size, params, seed=seeds[3])
    arr.program(np.repeat(levels_r, per))
    t_r = arr.time + 1.0
    reads = np.array([arr.read(t=t_r) for _ in range(N_READS)])
    m_mean, m_std = arr.read_moments(t=t_r)
    res["read_noise"] = {"conductance": (reads.mean(0), "S"), "std": (reads.std(0, ddof=1), "S"),
                         "model_std": (m_std, "S")}
    steps.update()
    steps.close()

    out = Path(out)
    with atomic_h5(out, kind="device_characterisation") as f:
        write_config(f, {"preset": preset, "devices": devices, "seed": seed,
                         "params": params.as_dict(), "model": params.model})
        for name, group in res.items():
            g = f.create_group(f"results/{name}")
            for k, (v, u) in group.items():
                write_dataset(g, k, v, u)
    return out
