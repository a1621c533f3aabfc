"""Precision of an analog PCM matrix-vector multiplication against b-bit fixed point
(``neuropcm run mvm-precision``; seed tutorial Sec. II, Fig. 5b: "a precision comparable
to that of 4-bit fixed point arithmetic").

A ``rows x cols`` Gaussian matrix ``W`` (entries N(0, 1)) multiplies ``vectors`` Gaussian
input vectors ``x`` (N(0, 1)). The error of one product ``y_hat`` against the exact
float64 ``y = W x`` is the relative error

    eta = ||y_hat - y||_2 / ||y||_2 .

* **b-bit fixed point** (b = ``bits_min`` .. ``bits_max``): ``y_hat = Q_b(W) Q_b(x)`` with
  the symmetric, max-abs-scaled, round-to-nearest quantiser :func:`quantise`:
  ``Q_b(a) = rint(a / delta) * delta`` with ``delta = max|a| / L`` and ``L = 2^(b-1) - 1``
  levels on each side of zero (the whole matrix has one ``delta``; each input vector its
  own). This is the rule of the crossbar's input DAC
  (:class:`neuropcm.crossbar.DAC`), which :func:`quantise` calls.
* **PCM**: ``W`` is stored in a :class:`~neuropcm.crossbar.Crossbar` (``differential``
  mapping, ``K`` devices per weight averaged, ideal periphery) and ``y_hat = xb @ x`` is
  one analog read (programming noise frozen per device instance, fresh read noise per
  read). ``instances`` independent device instances (Monte Carlo) of the same ``W``
  are programmed for each K.

Headline ``equivalent_bits`` (per K, right after programming): the largest b whose
fixed-point ``eta`` the PCM MVM matches or beats, ``mean eta_fixed(b) >= mean eta_PCM``
(``bits_min - 1`` when PCM is worse than every b tried). ``equivalent_bits_fractional``
interpolates ``log2 eta_fixed`` linearly in b to the b where it equals ``eta_PCM``.

Drift: the same devices (``drift_devices_per_weight`` per weight; one instance seed per
instance, so every compensation sees the same programmed devices) are read from
``t_min`` to ``t_max`` after programming (log-spaced) without compensation and with
each of the crossbar's compensations (``global``, ``column``, ``lrs`` and every one
registered in :data:`neuropcm.crossbar.COMPENSATIONS` when the run starts; dataset
``eta_<name>``, headline ``eta_t_max_<name>``).

Wire resistance (opt-in: ``tile_sizes`` and ``wire_sweep``, both empty by default, and
then nothing of it is run or written): for each tile size ``n`` an ``n x n`` Gaussian
matrix and ``vectors`` Gaussian inputs (streams ``("wires", "matrix"|"inputs", n)``) are
read by crossbars with wire resistance ``r`` per cell segment on rows and columns
(driver and sense resistance 0; the nodal network of :mod:`neuropcm.crossbar.circuit`),
K = the first of ``devices_per_weight``, ``instances`` device instances per ``n`` (seed
``("wires", "devices", n, j)``: every ``r`` reads the same programmed devices with the
same read noise, so ``r = 0`` is the ideal read of those devices). Datasets
``results/wires/{tile_size, resistance, eta, equivalent_bits}``; the equivalent bits of
each ``(n, r)`` are :func:`equivalent_bits` against the fixed-point ``eta`` of that
``n x n`` matrix and its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, option
from ...devices.presets import preset_names
from ...errors import ParameterError
from ...plotting import save_figure
from ...random import int_seed, rng
from .. import READ_TIME_MAX, SEED_MAX, MemoryNeed, Workload, crossbar_bytes, refuse_resume
from ._precision import equivalent_bits, quantise, relative_error  # noqa: F401


def sweep_compensations() -> dict:
    """Drift compensations of the time sweep, read from the registry now: file/dataset
    name -> Crossbar option (``"none"``: None, then every registered name)."""
    from ...crossbar.compensation import compensation_names

    return {"none": None, **{n: n for n in compensation_names()}}


def __getattr__(name):
    # COMPENSATIONS, the names of the time sweep, is read from the registry on each access
    if name == "COMPENSATIONS":
        return tuple(sweep_compensations())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Largest matrix side: a few times the largest fabricated crossbar tiles (1024 lines).
MAX_SIDE = 4096
#: Per-unit costs of :meth:`MVMPrecisionConfig.run_estimate` (s; fitted to runs at 128 x 128,
#: 256 x 256 and 1024 x 1024 on a 2-core machine): one programmed device
#: (program-and-verify), one device's read moments at a new time, one crossbar built, one
#: multiply-add of an MVM.
_S_PER_PROGRAMMED_DEVICE = 3.2e-7
_S_PER_DEVICE_MOMENT = 2.5e-7
_S_PER_CROSSBAR = 0.05
_S_PER_MAC = 2e-10
#: Cost (s) of one nodal network of the wire sweep at 256 x 256 (nested-dissection
#: factorisation and ``T`` from its Schur complement: 0.33 s CPU at 256, 2.7 s at 512 on a
#: 2-core machine), taken to scale as n^3.
_S_PER_NETWORK_256 = 0.4

#: Bounds of the wire sweep: tile sizes (fabricated tiles are 64..1024 lines) and
#: resistance per cell segment (ohm; far above any metal line).
WIRE_TILE_MIN, WIRE_TILE_MAX = 8, 1024
WIRE_R_MAX = 1e3


@dataclass(frozen=True)
class MVMPrecisionConfig(Config):
    """Settings of the MVM-precision experiment."""

    rows: int = option(256, f"rows of the Gaussian matrix (at most {MAX_SIDE}: a few times "
                       f"the largest crossbar tiles)", lo=2, hi=MAX_SIDE)
    cols: int = option(256, f"columns of the Gaussian matrix (input length; at most "
                       f"{MAX_SIDE})", lo=2, hi=MAX_SIDE)
    vectors: int = option(100, "Gaussian input vectors per measurement", lo=2, hi=100_000)
    instances: int = option(10, "device instances per K (Monte Carlo; at most 100)", lo=2,
                            hi=100)
    devices_per_weight: tuple[int, ...] = option([1, 2, 4, 8], "devices per weight K to "
                                                 "compare (strictly increasing)", lo=1, hi=64)
    bits_min: int = option(2, "fewest fixed-point bits", lo=2, hi=24)
    bits_max: int = option(8, "most fixed-point bits", lo=2, hi=24)
    preset: str = option("joshi2020", "device preset", choices=preset_names)
    drift_devices_per_weight: int = option(1, "devices per weight of the drift sweep",
                                           lo=1, hi=64)
    t_min: float = option(1.0, "first read time after programming", unit="s", lo=0.0,
                          lo_open=True, hi=READ_TIME_MAX)
    t_max: float = option(1e6, f"last read time after programming (at most {READ_TIME_MAX:g} "
                          f"s, about 10 years: beyond the measured drift)", unit="s", lo=0.0,
                          lo_open=True, hi=READ_TIME_MAX)
    time_points: int = option(13, lambda: "read times of the drift sweep (log-spaced, at most "
                              "200), read without compensation and with each registered one: "
                              + ", ".join(list(sweep_compensations())[1:]), lo=2, hi=200)
    tile_sizes: tuple[int, ...] = option([], f"square tile sizes n of the wire-resistance "
                                         f"sweep ({WIRE_TILE_MIN}..{WIRE_TILE_MAX}, strictly "
                                         f"increasing; empty: no sweep)", lo=WIRE_TILE_MIN,
                                         hi=WIRE_TILE_MAX)
    wire_sweep: tuple[float, ...] = option([], "wire resistances per cell segment of the "
                                           "sweep, on rows and columns (strictly increasing; "
                                           "empty: no sweep). Assumed range: published 1T1R "
                                           "arrays have ~1-10 ohm per cell segment depending "
                                           "on the metal pitch (no source in the project's "
                                           "physics notes or seed papers)", unit="ohm",
                                           lo=0.0, hi=WIRE_R_MAX)
    seed: int = option(0, "seed of every random stream of the run", lo=0, hi=SEED_MAX)

    def validate(self) -> None:
        if self.bits_min > self.bits_max:
            raise ParameterError(f"bits_min = {self.bits_min} is above bits_max = "
                                 f"{self.bits_max}; give bits_min <= bits_max")
        ks = self.devices_per_weight
        if not ks:
            raise ParameterError("devices_per_weight is empty; give at least one K, e.g. [1]")
        if list(ks) != sorted(set(ks)):
            raise ParameterError(f"devices_per_weight = {list(ks)} must be strictly "
                                 f"increasing, e.g. [1, 2, 4, 8]")
        if self.t_min >= self.t_max:
            raise ParameterError(f"t_min = {self.t_min} s is not below t_max = {self.t_max} s;"
                                 f" give t_min < t_max")
        if bool(self.tile_sizes) != bool(self.wire_sweep):
            raise ParameterError(f"tile_sizes = {list(self.tile_sizes)} and wire_sweep = "
                                 f"{list(self.wire_sweep)}: the wire sweep needs both (or "
                                 f"neither), e.g. tile_sizes=[64, 128] and wire_sweep=[\"0 "
                                 f"ohm\", \"1 ohm\"]")
        for name in ("tile_sizes", "wire_sweep"):
            v = list(getattr(self, name))
            if v != sorted(set(v)):
                raise ParameterError(f"{name} = {v} must be strictly increasing")

    @property
    def wires(self) -> bool:
        """Whether the run sweeps wire resistance."""
        return bool(self.tile_sizes)

    def to_dict(self) -> dict:
        """As :meth:`Config.to_dict`, without the wire-sweep fields when there is no sweep
        (files without the sweep stay those of before it existed)."""
        d = super().to_dict()
        if not self.wires:
            del d["tile_sizes"], d["wire_sweep"]
        return d

    def memory_needs(self) -> list:
        """The matrix, inputs and outputs, the largest crossbar (2 K devices per weight,
        differential) and the error arrays."""
        w = self.rows * self.cols
        k = max(max(self.devices_per_weight), self.drift_devices_per_weight)
        comps = len(sweep_compensations())
        etas = 8 * self.instances * self.vectors * (len(self.devices_per_weight)
                                                    + comps * self.time_points)
        return [MemoryNeed(8 * (4 * w + 3 * self.vectors * (self.rows + self.cols)),
                           {"rows": self.rows, "cols": self.cols, "vectors": self.vectors},
                           "the matrix, its quantised copies and the input vectors"),
                MemoryNeed(1.5 * crossbar_bytes(w, 2 * k * w),
                           {"rows": self.rows, "cols": self.cols, "devices_per_weight": k},
                           f"crossbars of {2 * k * w} devices (the next is built before the "
                           f"last is freed)"),
                MemoryNeed(etas, {"instances": self.instances, "vectors": self.vectors,
                                  "time_points": self.time_points}, "the error arrays")] + (
            [MemoryNeed(3500 * max(self.tile_sizes) ** 2,  # 0.9 GB peak measured at 512
                        {"tile_sizes": max(self.tile_sizes)},
                        "the sparse LU factors and T of the largest wire-sweep tile")]
            if self.wires else [])

    def run_estimate(self) -> tuple[str, float]:
        """The size of the run and a rough time (s) from the per-unit costs above."""
        w = self.rows * self.cols
        comps = len(sweep_compensations())
        kd = self.drift_devices_per_weight
        programmed = self.instances * 2 * w * (sum(self.devices_per_weight) + comps * kd)
        reads = self.instances * (len(self.devices_per_weight) + comps * self.time_points)
        crossbars = self.instances * (len(self.devices_per_weight) + comps)
        seconds = (1.0 + programmed * _S_PER_PROGRAMMED_DEVICE
                   + self.instances * comps * self.time_points * 2 * kd * w
                   * _S_PER_DEVICE_MOMENT + crossbars * _S_PER_CROSSBAR
                   + reads * 3 * w * self.vectors * _S_PER_MAC)
        size = ""
        if self.wires:  # 2 K arrays (G+, G-) per crossbar, one network each for r > 0
            k = self.devices_per_weight[0]
            nets = self.instances * 2 * k * sum(1 for r in self.wire_sweep if r > 0)
            seconds += sum(nets * _S_PER_NETWORK_256 * (n / 256) ** 3 + self.instances
                           * len(self.wire_sweep) * _S_PER_CROSSBAR for n in self.tile_sizes)
            size = (f"; wire sweep: {len(self.tile_sizes)} tile sizes x "
                    f"{len(self.wire_sweep)} resistances x {self.instances} instances")
        return (f"{self.rows} x {self.cols} matrix, {self.vectors} vectors, {self.instances} "
                f"instances x ({len(self.devices_per_weight)} K + {comps} compensations x "
                f"{self.time_points} read times){size}", seconds)


def _crossbar(W, c: MVMPrecisionConfig, K: int, seed: int, compensation=None):
    from ...crossbar import Crossbar

    return Crossbar(W, c.preset, mapping="differential", seed=seed, devices_per_weight=K,
                    drift_compensation=compensation)


#: Unit of ``results/wires/resistance`` in the file: the vocabulary of
#: :mod:`neuropcm.io.kinds` has no ohm symbol, and ``"S^-1"`` is the vocabulary's unit of
#: a resistance (:func:`neuropcm.io.kinds.units_for_dimension`); the values are ohm.
WIRE_R_UNIT = "S^-1"


def _wire_sweep(c: MVMPrecisionConfig, bits) -> dict:
    """eta ``(tile_size, resistance, instances, vectors)`` and equivalent bits
    ``(tile_size, resistance)`` of the wire-resistance sweep (module docstring)."""
    from ...crossbar import Crossbar

    K = c.devices_per_weight[0]
    rs = list(c.wire_sweep)
    eta = np.empty((len(c.tile_sizes), len(rs), c.instances, c.vectors))
    eb = np.empty((len(c.tile_sizes), len(rs)))
    for a, n in enumerate(c.tile_sizes):
        W = rng(c.seed, "wires", "matrix", n).standard_normal((n, n))
        X = rng(c.seed, "wires", "inputs", n).standard_normal((n, c.vectors))
        Y = W @ X
        ef = np.array([relative_error(quantise(W, b) @ quantise(X, b, axis=0), Y).mean()
                       for b in bits])
        for j in range(c.instances):
            seed = int_seed(c.seed, "wires", "devices", n, j)
            for b, r in enumerate(rs):
                xb = Crossbar(W, c.preset, mapping="differential", seed=seed,
                              devices_per_weight=K, wire_resistance_row=r,
                              wire_resistance_col=r)
                eta[a, b, j] = relative_error(xb @ X, Y)
        for b in range(len(rs)):
            eb[a, b] = equivalent_bits(bits, ef, eta[a, b].mean())[0]
    return {"eta": eta, "equivalent_bits": eb}


# ----------------------------------------------------------------------------- the run
def run(config: MVMPrecisionConfig, out, *, resume: bool = False,
        progress: bool = True) -> Path:
    """Measure fixed-point and PCM MVM errors and write one ``mvm_precision`` HDF5 file.

    The arguments and return value are those of every workload's ``run`` (see
    :class:`~neuropcm.workloads.Workload`); ``resume`` is refused (no checkpoint).
    """
    from tqdm import tqdm

    if resume:
        refuse_resume("mvm-precision", "it takes well under a minute")
    c = config
    W = rng(c.seed, "matrix").standard_normal((c.rows, c.cols))
    X = rng(c.seed, "inputs").standard_normal((c.cols, c.vectors))
    Y = W @ X
    bits = np.arange(c.bits_min, c.bits_max + 1)
    ks = list(c.devices_per_weight)
    times = np.logspace(np.log10(c.t_min), np.log10(c.t_max), c.time_points)
    comps = sweep_compensations()
    bar = tqdm(total=1 + c.instances * (len(ks) + len(comps)), desc="mvm-precision",
               unit="step", disable=not progress)

    eta_fixed = np.array([relative_error(quantise(W, b) @ quantise(X, b, axis=0), Y)
                          for b in bits])
    bar.update()

    eta_pcm = np.empty((len(ks), c.instances, c.vectors))
    for i, K in enumerate(ks):
        for j in range(c.instances):
            xb = _crossbar(W, c, K, int_seed(c.seed, "devices", K, j))
            eta_pcm[i, j] = relative_error(xb @ X, Y)
            bar.update()

    drift = {}
    for name, comp in comps.items():
        e = np.empty((times.size, c.instances, c.vectors))
        for j in range(c.instances):
            # one seed per instance: every compensation reads the same programmed devices
            xb = _crossbar(W, c, c.drift_devices_per_weight, int_seed(c.seed, "drift", j),
                           comp)
            t_prog = xb.time
            for k, t in enumerate(times):
                e[k, j] = relative_error(xb.at(t_prog + t) @ X, Y)
            bar.update()
        drift[name] = e
    bar.close()

    wires = _wire_sweep(c, bits) if c.wires else None

    ef_mean = eta_fixed.mean(axis=1)
    ep_mean = eta_pcm.mean(axis=(1, 2))
    eb = [equivalent_bits(bits, ef_mean, e) for e in ep_mean]

    from ...io import atomic_h5, write_config, write_dataset

    out = Path(out)
    with atomic_h5(out, kind=WORKLOAD.kind) as f:
        write_config(f, c.to_dict())
        r = f.create_group("results")
        write_dataset(r, "matrix", W, "1")
        write_dataset(r, "inputs", X, "1")
        g = r.create_group("fixed")
        write_dataset(g, "bits", bits, "count")
        write_dataset(g, "eta", eta_fixed, "1", dims="bits, vectors")
        g = r.create_group("pcm")
        write_dataset(g, "devices_per_weight", np.array(ks), "count")
        write_dataset(g, "eta", eta_pcm, "1", dims="K, instances, vectors")
        g = r.create_group("drift")
        write_dataset(g, "time", times, "s")
        for name, e in drift.items():
            write_dataset(g, f"eta_{name}", e, "1", dims="time, instances, vectors")
        if wires is not None:
            g = r.create_group("wires")
            write_dataset(g, "tile_size", np.array(c.tile_sizes), "count")
            write_dataset(g, "resistance", np.array(c.wire_sweep, dtype=float), WIRE_R_UNIT)
            write_dataset(g, "eta", wires["eta"], "1",
                          dims="tile_size, resistance, instances, vectors")
            write_dataset(g, "equivalent_bits", wires["equivalent_bits"], "1",
                          dims="tile_size, resistance")
        r.attrs["devices_per_weight"] = np.array(ks)
        r.attrs["equivalent_bits"] = np.array([w for w, _ in eb])
        r.attrs["equivalent_bits_fractional"] = np.array([fr for _, fr in eb])
        r.attrs["eta_pcm"] = ep_mean
        # Monte Carlo standard error: instances are the independent samples (the
        # programming noise is shared by all vectors of one instance)
        r.attrs["eta_pcm_se"] = eta_pcm.mean(axis=2).std(axis=1, ddof=1) / np.sqrt(c.instances)
        r.attrs["drift_devices_per_weight"] = c.drift_devices_per_weight
        for name, e in drift.items():
            r.attrs[f"eta_t_max_{name}"] = float(e[-1].mean())
    return out


# ----------------------------------------------------------------------------- reading
def _load(path) -> dict:
    from ...io import open_h5, read_config

    with open_h5(path, kind=WORKLOAD.kind) as f:
        r = f["results"]
        d = {"config": read_config(f), "attrs": {k: r.attrs[k] for k in r.attrs}}
        for grp in ("fixed", "pcm", "drift", "wires"):
            if grp in r:
                d[grp] = {k: r[grp][k][()] for k in r[grp]}
    return d


def _file_compensations(d: dict) -> list[str]:
    """The compensations a file holds: the registered ones in sweep order, then any other
    (written with a class not registered now), sorted."""
    held = {k[len("eta_"):] for k in d["drift"] if k.startswith("eta_")}
    order = [n for n in sweep_compensations() if n in held]
    return order + sorted(held - set(order))


def summary(path) -> str:
    """Headline lines for the CLI, read from the file."""
    d = _load(path)
    a, cfg = d["attrs"], d["config"]
    bits = d["fixed"]["bits"]
    ef = d["fixed"]["eta"].mean(axis=1)
    lines = [f"{cfg['rows']}x{cfg['cols']} Gaussian MVM, {cfg['preset']}, "
             f"{cfg['instances']} device instances x {cfg['vectors']} vectors",
             "fixed point eta: " + ", ".join(f"{b} b {e:.4f}" for b, e in zip(bits, ef))]
    for K, w, fr, e, se in zip(a["devices_per_weight"], a["equivalent_bits"],
                               a["equivalent_bits_fractional"], a["eta_pcm"],
                               a["eta_pcm_se"]):
        shown = f"< {bits[0]}" if w < bits[0] else str(w)
        lines.append(f"K = {K}: eta_PCM = {e:.4f} +- {se:.4f} -> equivalent_bits {shown} "
                     f"({fr:.2f} fractional)" + ("; paper: about 4" if K == 1 else ""))
    lines.append(f"at t = {cfg['t_max']:g} s (K = {a['drift_devices_per_weight']}): "
                 + ", ".join(f"{n} {a['eta_t_max_' + n]:.4f}" for n in _file_compensations(d)))
    if "wires" in d:
        w = d["wires"]
        lines.append(f"wire resistance (rows and columns, per cell segment; K = "
                     f"{cfg['devices_per_weight'][0]}): eta_PCM (equivalent bits)")
        lines.append(f"{'n':>6} " + " ".join(f"{r:>9g} ohm" for r in w["resistance"]))
        for n, e, b in zip(w["tile_size"], w["eta"], w["equivalent_bits"]):
            lines.append(f"{n:>6} " + " ".join(f"{x.mean():>8.4f} ({int(y):>2})"
                                               for x, y in zip(e, b)))
    return "\n".join(lines)


def figure(path, png) -> Path:
    """Fig. 5b-style figure from the file alone: (a) eta of b-bit fixed point against b
    with the PCM eta for each K; (b) PCM eta against time, per drift compensation; (c),
    only with the wire sweep: equivalent bits against wire resistance, per tile size."""
    from ...plotting import colours, new_figure

    d = _load(path)
    a = d["attrs"]
    bits, ef = d["fixed"]["bits"], d["fixed"]["eta"]
    wires = d.get("wires")
    fig, ax = new_figure(1, 3 if wires else 2, (18 if wires else 12, 4.8))
    ax[0].errorbar(bits, ef.mean(1), yerr=ef.std(1), fmt="ks-", capsize=3,
                   label="b-bit fixed point (W and x)")
    palette = colours(len(a["devices_per_weight"]), 0, 0.85)
    for K, e, w, col in zip(a["devices_per_weight"], d["pcm"]["eta"], a["equivalent_bits"],
                            palette):
        m, s = e.mean(), e.std()
        ax[0].axhline(m, color=col, lw=1.5, label=f"PCM, K = {K}: η = {m:.3f} (≈ {w} bits)")
        ax[0].axhspan(m - s, m + s, color=col, alpha=0.12)
    ax[0].set(yscale="log", xlabel="fixed-point bits b", ylabel="relative error η",
              title="MVM precision right after programming (mean ± std)")
    ax[0].legend(fontsize=8)
    t = d["drift"]["time"]
    for name in _file_compensations(d):
        e = d["drift"][f"eta_{name}"].mean(axis=2)  # (time, instances)
        m, s = e.mean(1), e.std(1)
        ax[1].plot(t, m, "o-", ms=3, label=f"compensation: {name}")
        ax[1].fill_between(t, m - s, m + s, alpha=0.15)
    for b in (3, 4, 5):
        if b in bits:
            ax[1].axhline(ef[list(bits).index(b)].mean(), color="k", ls=":", lw=0.8)
            ax[1].text(t[0], ef[list(bits).index(b)].mean(), f" {b}-bit", va="bottom",
                       fontsize=8)
    ax[1].set(xscale="log", yscale="log", xlabel="time since programming (s)",
              ylabel="relative error η",
              title=f"Drift, K = {a['drift_devices_per_weight']} (mean ± std over instances)")
    ax[1].legend(fontsize=8)
    if wires:
        rs = wires["resistance"]
        for n, b in zip(wires["tile_size"], wires["equivalent_bits"]):
            ax[2].plot(rs, b, "o-", ms=4, label=f"{n} x {n}")
        ax[2].set(xlabel="wire resistance per cell segment (Ω)", ylabel="equivalent bits",
                  title=f"IR drop, K = {d['config']['devices_per_weight'][0]}")
        ax[2].legend(fontsize=8, title="tile")
    return save_figure(fig, png)


WORKLOAD = Workload(
    name="mvm-precision", kind="mvm_precision", config=MVMPrecisionConfig, run=run,
    summary=summary, figure=figure,
    description="PCM matrix-vector multiplication error against b-bit fixed point, per K "
                "and over drift",
    default_out="mvm_precision.h5",
    smoke=('rows=16', 'cols=16', 'vectors=8', 'instances=2', 'devices_per_weight=[1, 2]', 'bits_max=4', 'time_points=2'))
