"""Measurements simulated with :class:`~neuropcm.devices.array.PCMArray`, one protocol per
kind of measurement, and a CSV writer: for round-trip tests, examples and for planning a
measurement (how many devices give which standard errors)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..array import PCMArray
from ..presets import get_preset
from .data import Measurements
from .result import FitResult, ks_by_step, simulation_params

#: Read times of the drift protocol (s after the write).
DRIFT_TIMES = (0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1e3, 3e3, 1e4, 3e4, 1e5)
#: Temperatures of the temperature protocol (K).
TEMPERATURES = (280.0, 290.0, 300.0, 310.0, 320.0, 330.0)


def _devices(preset, n: int, seed: int, gn_range=(0.05, 1.0)):
    """Devices spread over the window: programmed to log-uniform targets in ``gn_range``
    (programmed-state model) or given 8..20 SET pulses from RESET (pulsed: G of about 5 to
    12 uS, where the read-noise offset of 0.13 uS stays small); returns (array, targets)."""
    params = get_preset(preset)
    rng = np.random.default_rng([seed, 1])
    arr = PCMArray(n, params, seed)
    if params.model == "programmed":
        lo, hi = np.log(gn_range[0]), np.log(gn_range[1])
        targets = params.g_max * np.exp(rng.uniform(lo, hi, n))
        arr.program(targets)
        return arr, targets
    arr.set_pulses(rng.integers(8, 21, n))
    return arr, None


def accumulation(preset="nandakumar2018", n_devices: int = 300, n_pulses: int = 20,
                 seed: int = 0) -> Measurements:
    """Conductance states (:attr:`PCMArray.conductance`, no read noise) of ``n_devices``
    devices after 0 (RESET) .. ``n_pulses`` nominal SET pulses."""
    arr = PCMArray(n_devices, preset, seed)
    rows = [arr.conductance.copy()]
    for _ in range(n_pulses):
        arr.set_pulse()
        rows.append(arr.conductance.copy())
    G = np.stack(rows, 1)
    k = n_pulses + 1
    return Measurements.from_arrays("accumulation", device=np.repeat(np.arange(n_devices), k),
                                    pulse=np.tile(np.arange(k), n_devices),
                                    conductance=G.ravel(), source=f"<simulated {preset}>")


def programming(preset="joshi2020", n_devices: int = 2000, seed: int = 0) -> Measurements:
    """One-shot programming to uniform targets in [0, g_max] (``binary``: half to the HRS
    level ``reset_mean``, half to g_max); the programmed states."""
    params = get_preset(preset)
    rng = np.random.default_rng([seed, 2])
    if preset == "binary":
        targets = rng.choice([params.reset_mean, params.g_max], n_devices)
    else:
        targets = rng.uniform(0.0, 1.0, n_devices) * params.g_max
    arr = PCMArray(n_devices, params, seed)
    arr.program(targets)
    return Measurements.from_arrays("programming", device=np.arange(n_devices), target=targets,
                                    conductance=arr.conductance.copy(),
                                    source=f"<simulated {preset}>")


def drift(preset="joshi2020", n_devices: int = 2000, seed: int = 0, times=DRIFT_TIMES,
          gn_range=(0.05, 1.0)) -> Measurements:
    """Devices written at time 0 (see :func:`_devices`), each read once at each time
    (:meth:`PCMArray.read`, with read noise)."""
    arr, targets = _devices(preset, n_devices, seed, gn_range)
    times = np.asarray(times, float)
    G = np.stack([arr.read(t=float(t)) for t in times], 1)
    cols = {"time": np.tile(times, n_devices), "conductance": G.ravel()}
    if targets is not None:
        cols["target"] = np.repeat(targets, times.size)
    return Measurements.from_arrays("drift", device=np.repeat(np.arange(n_devices), times.size),
                                    source=f"<simulated {preset}>", **cols)


def read_noise(preset="joshi2020", n_devices: int = 2000, seed: int = 0, times=(10.0, 1e4),
               reads: int = 8, gn_range=(0.05, 1.0)) -> Measurements:
    """Devices written at time 0, read ``reads`` times at each of ``times``."""
    arr, targets = _devices(preset, n_devices, seed, gn_range)
    blocks = [np.stack([arr.read(t=float(t)) for _ in range(reads)], 1) for t in times]
    G = np.stack(blocks, 1)  # devices x times x reads
    n_t = len(times)
    cols = {"time": np.tile(np.repeat(np.asarray(times, float), reads), n_devices),
            "conductance": G.ravel()}
    if targets is not None:
        cols["target"] = np.repeat(targets, n_t * reads)
    return Measurements.from_arrays("read-noise",
                                    device=np.repeat(np.arange(n_devices), n_t * reads),
                                    source=f"<simulated {preset}>", **cols)


def temperature(preset="nandakumar2018", n_devices: int = 2000, seed: int = 0,
                temperatures=TEMPERATURES, gn_range=(0.05, 1.0)) -> Measurements:
    """Devices written at time 0 and read right away at each ambient temperature."""
    arr, targets = _devices(preset, n_devices, seed, gn_range)
    temps = np.asarray(temperatures, float)
    G = []
    for T in temps:
        arr.temperature = float(T)
        G.append(arr.read(t=0.0))
    G = np.stack(G, 1)
    cols = {"temperature": np.tile(temps, n_devices), "conductance": G.ravel()}
    if targets is not None:
        cols["target"] = np.repeat(targets, temps.size)
    return Measurements.from_arrays("temperature",
                                    device=np.repeat(np.arange(n_devices), temps.size),
                                    source=f"<simulated {preset}>", **cols)


_WRITE_UNITS = {"conductance": ("uS", 1e6), "target": ("uS", 1e6), "time": ("s", 1.0),
                "temperature": ("K", 1.0), "pulse": ("", 1.0), "run": ("", 1.0),
                "amplitude": ("", 1.0)}


def write_csv(data: Measurements, path, comment: str = "") -> Path:
    """Write measurements as a long-format CSV (conductances in uS), with ``comment`` as
    leading ``#`` lines."""
    path = Path(path)
    names = [k for k in ("pulse", "run", "amplitude", "target", "time", "temperature",
                         "conductance") if data.has(k)]
    header = ["device"] + [f"{k} [{_WRITE_UNITS[k][0]}]" if _WRITE_UNITS[k][0] else k
                           for k in names]
    lines = [f"# {ln}".rstrip() for ln in comment.splitlines()] if comment else []
    lines.append(",".join(header))
    cols = [data[k] * _WRITE_UNITS[k][1] for k in names]
    whole = {"pulse", "run"}
    for i in range(data.n_points):
        cells = [data.device_names[data.device[i]]]
        cells += [str(int(c[i])) if k in whole else f"{c[i]:.10g}" for k, c in zip(names, cols)]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def accumulation_predictive(fit: FitResult, data: Measurements, seed: int = 0,
                            n_sim: int = 2000) -> dict:
    """Simulate the data's protocol on devices of the fitted parameters with
    :class:`PCMArray` (RESET, then each device's pulses with their amplitudes, a RESET
    before each run) and compare the conductance after each pulse number (pooled over
    runs) with ``scipy.stats.ks_2samp``."""
    params = simulation_params(fit)
    c = data.columns
    dev = data.device
    run = c.get("run", np.zeros(dev.size)).astype(np.int64)
    pulse = c["pulse"].astype(np.int64)
    amp = c.get("amplitude", np.ones(dev.size))
    n, n_run, kmax = data.n_devices, int(run.max()) + 1, int(pulse.max())
    last = np.full((n, n_run), -1)
    np.maximum.at(last, (dev, run), pulse)
    amps = np.ones((n, n_run, kmax + 1))
    amps[dev, run, pulse] = amp
    observed = np.zeros((n, n_run, kmax + 1), bool)
    observed[dev, run, pulse] = True
    rep = max(1, -(-n_sim // n))
    arr = PCMArray(n * rep, params, seed)
    sim_step, sim_g = [], []
    for r in range(n_run):
        if r:
            arr.reset()
        for k in range(kmax + 1):
            if k:
                live = np.tile(last[:, r] >= k, rep)
                if live.any():
                    arr.set_pulse(mask=live, amplitude=np.tile(amps[:, r, k], rep))
            obs = np.tile(observed[:, r, k], rep)
            sim_g.append(arr.conductance[obs])
            sim_step.append(np.full(int(obs.sum()), k))
    return ks_by_step(pulse, c["conductance"], np.concatenate(sim_step), np.concatenate(sim_g),
                      "pulse")
