"""Fit the device model to a user's measurements: a preset file and a fit report.

``neuropcm fit accumulation data.csv --out mine.toml --plot fit.png`` (or ``neuropcm run
device-fit --set data=data.csv``) reads the measurements (:mod:`neuropcm.devices.fit`: CSV
in long format or HDF5, units checked), fits the parameters of the one relation that kind
of measurement determines, checks the fit by simulating devices from the fitted preset
under the data's protocol (a two-sample Kolmogorov-Smirnov test per pulse number, time,
target or temperature: the posterior-predictive check), and writes

* the preset file (``mine.toml``, :mod:`neuropcm.devices.preset_files`): the base preset,
  every fitted field with its standard error and unit, the provenance (the data file's
  name and sha256, the method, NeuroPCM's version) and the quality of the fit; usable by
  name or path wherever a preset is;
* the fit's own file (kind ``device_fit``, ``mine.fit.h5`` beside it): the values,
  standard errors and correlations of the fitted parameters and the check per step, from
  which :func:`figure` draws the report (``neuropcm plot mine.fit.h5``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, option
from ...devices.builtin_presets import PRESETS
from ...errors import ParameterError
from .. import DEVICE_BYTES, SEED_MAX, MemoryNeed, Workload, refuse_resume

#: Per kind of measurement: (the step variable and its unit, the compared quantity and its
#: unit) of the posterior-predictive check (:func:`neuropcm.devices.fit.posterior_predictive`).
CHECKS = {"accumulation": (("pulse", "count"), ("conductance", "S")),
          "programming": (("target", "S"), ("deviation", "S")),
          "drift": (("time", "s"), ("ratio", "1")),
          "read-noise": (("time", "s"), ("relative_deviation", "1")),
          "temperature": (("temperature", "K"), ("ratio", "1"))}
#: Significance level of the check: the model describes the data when no step's KS p-value
#: is below it after a Bonferroni correction over the steps.
ALPHA = 0.01


def _kinds() -> tuple[str, ...]:
    from ...devices.fit import FITTERS

    return ("auto", *FITTERS)


def example_data() -> Path:
    """The example measurements shipped in the package (accumulation curves)."""
    from importlib.resources import files

    return Path(str(files("neuropcm.data") / "example_accumulation.csv"))


@dataclass(frozen=True)
class DeviceFitConfig(Config):
    """Settings of a fit of the device model to measurements."""

    data: str = option("", "measurements: a CSV file in long format or an HDF5 file "
                       "(neuropcm/data/README.md); '' = the example shipped in the package")
    kind: str = option("auto", "kind of measurement (auto: from the file's columns)",
                       choices=_kinds)
    base: str = option("", "built-in preset whose other fields the fitted preset keeps ('': "
                       "the fitter's default for the model of the data)",
                       choices=lambda: ("", *sorted(PRESETS)))
    name: str = option("mydevice", "name of the fitted preset (written in the preset file)")
    preset_out: str = option("", "preset file to write ('': OUT with .toml)")
    check_devices: int = option(2000, "simulated devices of the posterior-predictive check",
                                lo=100, hi=1_000_000)
    seed: int = option(0, "seed of the fit's random streams and of the check", lo=0,
                       hi=SEED_MAX)

    def validate(self) -> None:
        """The data file exists and is CSV or HDF5; the preset file ends in .toml."""
        if self.data:
            p = Path(self.data)
            if not p.is_file():
                raise ParameterError(f"{self.where('data')} = {self.data!r} is not a file; "
                                     f"give a CSV or HDF5 file of measurements")
            if p.suffix.lower() not in (".csv", ".h5", ".hdf5"):
                raise ParameterError(f"{self.where('data')} = {self.data!r}: give a .csv or "
                                     f".h5 file (neuropcm/data/README.md)")
        if self.preset_out and not self.preset_out.endswith(".toml"):
            raise ParameterError(f"{self.where('preset_out')} = {self.preset_out!r} must "
                                 f"end in .toml")
        if not self.name.strip() or "/" in self.name or self.name.endswith(".toml") \
                or self.name in PRESETS:
            raise ParameterError(f"{self.where('name')} = {self.name!r} must be a plain name "
                                 f"other than the built-in presets {sorted(PRESETS)}")

    def _data_bytes(self) -> int:
        src = Path(self.data) if self.data else example_data()
        try:
            return src.stat().st_size
        except OSError:
            return 0

    def memory_needs(self) -> list:
        """The measurements as arrays (about 16 float64 values per CSV row of ~30 bytes:
        the columns and the fitter's work arrays) and the devices of the check."""
        rows = max(self._data_bytes() / 30, 1)
        return [MemoryNeed(rows * 16 * 8, {"data": self.data or "(example)"},
                           "the measurements and the fit's work arrays"),
                MemoryNeed(3 * DEVICE_BYTES * self.check_devices,
                           {"check_devices": self.check_devices},
                           "the simulated devices of the check")]

    def run_estimate(self) -> tuple[str, float]:
        """The size and a rough time (s): ~1 s per 6000 measurement rows for the fit
        (measured on the example) and ~0.5 ms per simulated device for the check."""
        rows = self._data_bytes() / 30
        return (f"~{rows:.0f} measurement rows, {self.check_devices} check devices",
                2.0 + rows / 6000 + 5e-4 * self.check_devices)


def preset_path(config: DeviceFitConfig, out) -> Path:
    """The preset file a fit writing ``out`` writes."""
    return Path(config.preset_out) if config.preset_out else Path(out).with_suffix(".toml")


def run(config: DeviceFitConfig, out, *, resume: bool = False, progress: bool = True) -> Path:
    """Read, fit, check; write the ``device_fit`` file ``out`` and the preset file.

    The arguments and return value are those of every workload's ``run`` (see
    :class:`~neuropcm.workloads.Workload`); ``resume`` is refused (a fit takes seconds).
    """
    from ...devices.fit import FITTERS, posterior_predictive, read_measurements
    from ...devices.preset_files import check_replaceable, write_preset_file
    from ...io import atomic_h5, write_config, write_dataset
    from ...io.paths import check_output_path

    if resume:
        refuse_resume("device-fit", "a fit takes seconds")
    c = config
    out = Path(out)
    toml = preset_path(c, out)
    if toml.resolve() == out.resolve():
        raise ParameterError(f"the preset file {str(toml)!r} is the same file as --out")
    check_replaceable(toml)  # before any work; the writer checks again
    check_output_path(out, what="--out", kind="device_fit")
    src = Path(c.data) if c.data else example_data()
    data = read_measurements(src, None if c.kind == "auto" else c.kind)
    fitter = FITTERS[data.kind]
    fit = fitter(data, seed=c.seed) if not c.base else fitter(data, base=c.base, seed=c.seed)
    fit.params()  # fitted values outside a parameter's physical bounds: refused here
    check = posterior_predictive(fit, data, seed=c.seed, n_sim=c.check_devices)
    (step, step_unit), (qty, qty_unit) = CHECKS[data.kind]
    p = np.asarray(check["p_value"], dtype=float)
    k = max(p.size, 1)
    ok = bool(fit.quality.get("ok", True)) and bool(p.size == 0 or p.min() >= ALPHA / k)
    names = list(fit.values)
    sd = np.sqrt(np.clip(np.diag(fit.covariance), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = fit.covariance / np.outer(sd, sd)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    with atomic_h5(out, kind="device_fit") as f:
        write_config(f, {**c.to_dict(), "data_file": src.name, "data_sha256": sha,
                         "relation": fit.relation, "model": fit.model, "base": fit.base,
                         "method": fit.method, "preset_file": str(toml)})
        r = f.create_group("results")
        r.attrs["n_devices"] = int(fit.n_devices)
        r.attrs["n_points"] = int(fit.n_points)
        r.attrs["parameters"] = len(names)
        r.attrs["check_steps"] = int(p.size)
        r.attrs["check_min_p_value"] = float(p.min()) if p.size else 1.0
        r.attrs["describes_data"] = int(ok)
        for n in names:
            write_dataset(r, f"parameters/{n}", np.float64(fit.values[n]), fit.units[n])
            write_dataset(r, f"stderr/{n}", np.float64(fit.stderr[n]), fit.units[n])
        write_dataset(r, "parameter_names", np.array([n.encode() for n in names]), "1")
        write_dataset(r, "correlation", np.nan_to_num(corr, nan=0.0), "1")
        write_dataset(r, f"check/{step}", np.asarray(check["step"], float), step_unit)
        for key in ("statistic", "p_value"):
            write_dataset(r, f"check/{key}", np.asarray(check[key], float), "1")
        for key in ("n_data", "n_sim"):
            write_dataset(r, f"check/{key}", np.asarray(check[key], np.int64), "count")
        for key in ("data_mean", "data_std", "sim_mean", "sim_std"):
            write_dataset(r, f"check/{qty}_{key}", np.asarray(check[key], float), qty_unit)
    quality = {k: v for k, v in fit.quality.items()
               if isinstance(v, (bool, int, float, str)) and not isinstance(v, np.ndarray)}
    write_preset_file(toml, c.name, fit.base, fit.values, stderr=fit.stderr,
                      description=f"{fit.relation} fitted to {src.name}",
                      provenance={"source": src.name, "source_sha256": sha,
                                  "relation": fit.relation, "method": fit.method,
                                  "n_devices": int(fit.n_devices), "n_points": int(fit.n_points),
                                  "fit_file": out.name},
                      quality={**quality, "check": "ks_2samp per " + step,
                               "check_min_p_value": float(p.min()) if p.size else 1.0,
                               "describes_data": ok})
    return out


def _load(path) -> dict:
    from ...io import open_h5, read_config, read_dataset

    with open_h5(path, kind="device_fit") as f:
        cfg = read_config(f)
        r = f["results"]
        names = [n.decode() for n in read_dataset(r, "parameter_names", "1")]
        units = {n: r[f"parameters/{n}"].attrs["units"] for n in names}
        d = {"cfg": cfg, "attrs": dict(r.attrs), "names": names, "units": units,
             "values": {n: float(r[f"parameters/{n}"][()]) for n in names},
             "stderr": {n: float(r[f"stderr/{n}"][()]) for n in names},
             "check": {k: r["check"][k][()] for k in r["check"]}}
    return d


def summary(path) -> str:
    """Headline lines for the CLI: the fit, its parameters with standard errors, the check."""
    d = _load(path)
    a, cfg = d["attrs"], d["cfg"]
    lines = [f"{cfg['relation']} of {int(a['n_devices'])} devices ({int(a['n_points'])} "
             f"points) from {cfg['data_file']}, base {cfg['base']}: {cfg['method']}"]
    w = max(len(n) for n in d["names"])
    for n in d["names"]:
        lines.append(f"  {n:<{w}}  {d['values'][n]: .5g} ± {d['stderr'][n]:.2g} "
                     f"{d['units'][n]}")
    lines.append(f"check: {int(a['check_steps'])} steps, smallest KS p-value "
                 f"{a['check_min_p_value']:.3g}; the model "
                 f"{'describes' if a['describes_data'] else 'does NOT describe'} the data; "
                 f"preset file {cfg['preset_file']}")
    return "\n".join(lines)


def figure(path, png) -> Path:
    """The fit report: data against devices simulated from the fitted preset (mean and
    spread per step), the standardised residual per step, the KS p-value per step, and the
    table of parameters with standard errors."""
    from ...plotting import new_figure, save_figure

    d = _load(path)
    cfg, ch = d["cfg"], d["check"]
    (step, step_unit), (qty, qty_unit) = CHECKS[cfg["relation"]]
    x = ch[step]
    scale, unit = (1e6, "µS") if qty_unit == "S" else (1.0, qty_unit)
    dm, ds = ch[f"{qty}_data_mean"] * scale, ch[f"{qty}_data_std"] * scale
    sm, ss = ch[f"{qty}_sim_mean"] * scale, ch[f"{qty}_sim_std"] * scale
    fig, ax = new_figure(2, 2, (12, 8.5))
    xlabel = f"{step} ({step_unit})" if step_unit not in ("1", "count") else step
    ax[0, 0].fill_between(x, sm - ss, sm + ss, color="C1", alpha=0.25,
                          label="fitted model: mean ± std")
    ax[0, 0].plot(x, sm, "-", color="C1")
    ax[0, 0].errorbar(x, dm, yerr=ds, fmt="o", ms=3, capsize=2, color="C0",
                      label="measured: mean ± std")
    ax[0, 0].set(xlabel=xlabel, ylabel=f"{qty.replace('_', ' ')} ({unit})",
                 title=f"{cfg['relation']}: data against the fitted model")
    ax[0, 0].legend(fontsize=8)
    se = np.sqrt(ds ** 2 / np.maximum(ch["n_data"], 1) + ss ** 2 / np.maximum(ch["n_sim"], 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (dm - sm) / se, 0.0)
    ax[0, 1].axhspan(-2, 2, color="k", alpha=0.07)
    ax[0, 1].plot(x, z, "o-", ms=3)
    ax[0, 1].axhline(0, color="k", lw=0.5)
    ax[0, 1].set(xlabel=xlabel, ylabel="(data − model) mean / s.e.",
                 title="Residual of the mean per step (band: ±2)")
    p = np.clip(ch["p_value"], 1e-300, 1)
    ax[1, 0].semilogy(x, p, "o-", ms=3)
    ax[1, 0].axhline(ALPHA / max(len(p), 1), color="C3", ls="--",
                     label=f"{ALPHA:g} / {len(p)} steps (Bonferroni)")
    ax[1, 0].set(xlabel=xlabel, ylabel="KS p-value",
                 title="Posterior-predictive check (two-sample KS per step)")
    ax[1, 0].legend(fontsize=8)
    ax[1, 1].axis("off")
    rows = [[n, f"{d['values'][n]:.5g}", f"{d['stderr'][n]:.2g}", d["units"][n]]
            for n in d["names"]]
    table = ax[1, 1].table(cellText=rows, colLabels=["parameter", "value", "std. error",
                                                     "unit"], loc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    ax[1, 1].set_title(cfg['method'].split(' (')[0], fontsize=9)
    verdict = "describes" if d["attrs"]["describes_data"] else "does NOT describe"
    fig.suptitle(f"Fit of {cfg['data_file']} ({int(d['attrs']['n_devices'])} devices; base "
                 f"{cfg['base']}): the model {verdict} the data")
    return save_figure(fig, png, dpi=110)


WORKLOAD = Workload(
    name="device-fit", kind="device_fit", config=DeviceFitConfig, run=run, summary=summary,
    figure=figure, default_out="device_fit.h5", aliases=("fit",),
    description="fit the device model to measurements: a preset file and a fit report",
    smoke=("check_devices=200",))
