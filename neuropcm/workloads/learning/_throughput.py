"""Throughput and energy of a crossbar run, from the run's own counters (a model).

Seed 2 (Muñoz-Martín et al., Sec. IV-B, Table I) reports 40 GOPS and 20,000 GOPS/W for
its 4-bit drift-resilient MLP from Cadence estimates of its circuits. This module turns
the counters every :class:`~neuropcm.crossbar.Crossbar` keeps (``totals()``: device reads,
SET/RESET pulses and their energy, ADC and DAC conversions) into the same figures under
assumptions stated here, never tuned to the paper's numbers:

Give the counters of the phase being modelled (:func:`between`: the inference pass
alone, without programming).

* **Operations** are bit level, as in seed 2: each device read during an MVM is one
  multiply (input times conductance) and one add (current summed on the line),
  ``ops = 2 * n_read``. ``network_ops`` (two per weight and image of the float network)
  is reported beside it when the caller gives the weight count.
* **Time**: every ADC converts one line per cycle of the master ``clock`` (seed 2:
  10 MHz), ``adcs`` ADCs work in parallel (default one per array), and the analog MVM
  settles within the cycle: ``time = adc_conversions / (adcs * clock)``. Crossbars read
  without an ADC (``adc_bits`` None: ideal readout) take one cycle per MVM vector,
  arrays one after another: ``time = n_mvm / clock``. Write (programming and update)
  time is not modelled; write energy is, through the pulse counters.
* **Energy**: the devices' own energy from their parameters (``e_read`` per read,
  ``e_set``/``e_reset`` per pulse; :class:`~neuropcm.devices.DeviceParams`), plus
  ``adc_conversions * adc_fom * 2**adc_bits`` (a Walden figure of merit, assumed
  50 fJ per conversion step, typical of SAR ADCs) plus ``dac_conversions * dac_energy``
  (0 by default: binary or unary word-line drivers). The digital logic (DSP, LUTs,
  shift-and-add) and the clock tree are not counted.

``GOPS = ops / time / 1e9`` and ``GOPS/W = ops / energy / 1e9`` (operations per joule).

Reads of zero inputs count as operations above (as the crossbar counters count them);
:func:`energy_variants` gives the figures counting only reads of non-zero inputs, for a
range of energies per read and ADC energies, and for ohmic reads ``V^2 G t`` (the
constant ``e_read`` = 0.1 pJ is an LRS of 25 uS at 0.2 V for 100 ns: every read counted
as an LRS read). :func:`area` is an assumed area model (cell and ADC areas) for TOPS/mm^2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...config import Config, option
from ...io.kinds import THROUGHPUT as THROUGHPUT_UNITS

#: Counters the model reads (keys of ``Crossbar.totals()``).
COUNTERS = ("n_read", "n_set", "n_reset", "energy", "adc_conversions", "dac_conversions",
            "n_mvm")


@dataclass(frozen=True)
class ThroughputModel(Config):
    """Assumptions of the throughput and energy model (see the module docstring)."""

    clock: float = option(10e6, "master clock: one ADC conversion per cycle (seed 2: 10 MHz; "
                          "at most 100 GHz, beyond any ADC)", unit="Hz", lo=0.0, lo_open=True,
                          hi=1e11)
    adcs: int = option(0, "ADCs converting in parallel (0: one per crossbar array; at most "
                       "1e6)", lo=0, hi=1_000_000)
    adc_fom: float = option(50e-15, "ADC energy per conversion step (Walden figure of merit; "
                            "assumed; at most 1 nJ, far above any ADC's fJ to pJ)", unit="J",
                            lo=0.0, hi=1e-9)
    dac_energy: float = option(0.0, "energy per DAC conversion (0: binary/unary word-line "
                               "drivers; at most 1 nJ)", unit="J", lo=0.0, hi=1e-9)


def sum_totals(crossbars) -> dict:
    """The counters of :data:`COUNTERS` summed over crossbars (their ``totals()``)."""
    out = dict.fromkeys(COUNTERS, 0)
    out["energy"] = 0.0
    for xb in crossbars:
        t = xb.totals()
        for k in COUNTERS:
            out[k] += t.get(k, 0)
    return out


def between(before: dict, after: dict) -> dict:
    """The counters accrued from ``before`` to ``after`` (two :func:`sum_totals`): e.g. the
    inference alone, without the programming pulses that came first."""
    return {k: after[k] - before.get(k, 0) for k in after}


def throughput(counts: dict, *, images: int, adc_bits: int | None, arrays: int,
               model: ThroughputModel | None = None, weights: int | None = None) -> dict:
    """GOPS and GOPS/W of a run from its summed counters (a model; module docstring).

    Parameters
    ----------
    counts : dict
        Summed ``Crossbar.totals()`` (:func:`sum_totals`): ``n_read``, ``energy`` (J, the
        devices' own), ``adc_conversions``, ``dac_conversions``.
    images : int
        Inputs the counters cover (for per-image figures).
    adc_bits : int or None
        Resolution of the ADCs (their energy is ``adc_fom * 2**adc_bits``); None: the
        crossbars have no ADC (ideal readout, no conversions).
    arrays : int
        Crossbar arrays of the network (one ADC each when ``model.adcs`` is 0).
    weights : int, optional
        Weights of the float network: adds ``network_ops = 2 * weights * images``.

    Returns
    -------
    dict
        SI values (units in :data:`UNITS`): ``ops``, ``ops_per_image``, ``time`` (s),
        ``ops_per_second`` (GOPS = 1e-9 of it), ``energy`` (J, total),
        ``energy_devices``, ``energy_adc``, ``energy_dac``, ``energy_per_image`` (J),
        ``ops_per_joule`` (GOPS/W = 1e-9 of it) and, with ``weights``, ``network_ops``.
    """
    from ...errors import ParameterError

    model = model or ThroughputModel()
    for name, v in (("images", images), ("adc_bits", adc_bits), ("arrays", arrays)):
        if name == "adc_bits" and v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ParameterError(f"{name} = {v!r}: give a positive whole number")
    missing = [k for k in ("n_read", "energy", "adc_conversions") if k not in counts]
    if missing:
        raise ParameterError(f"counts lack {missing}; give summed Crossbar.totals() "
                             f"(neuropcm.workloads.learning._throughput.sum_totals)")
    ops = 2.0 * counts["n_read"]
    if adc_bits is None:
        if counts["adc_conversions"]:
            raise ParameterError(f"adc_bits = None but the counters hold "
                                 f"{counts['adc_conversions']} ADC conversions; give the "
                                 f"ADCs' resolution")
        time, e_adc = counts.get("n_mvm", 0) / model.clock, 0.0
    else:
        adcs = model.adcs or arrays
        time = counts["adc_conversions"] / (adcs * model.clock)
        e_adc = counts["adc_conversions"] * model.adc_fom * 2.0 ** adc_bits
    e_dac = counts.get("dac_conversions", 0) * model.dac_energy
    energy = float(counts["energy"]) + e_adc + e_dac
    out = {"ops": ops, "ops_per_image": ops / images, "time": time,
           "ops_per_second": ops / time if time > 0 else math.nan,
           "energy": energy, "energy_devices": float(counts["energy"]),
           "energy_adc": e_adc, "energy_dac": e_dac, "energy_per_image": energy / images,
           "ops_per_joule": ops / energy if energy > 0 else math.nan}
    if weights is not None:
        out["network_ops"] = 2.0 * weights * images
    return out


#: Units of the values :func:`throughput` returns (the file kinds' vocabulary).
UNITS = THROUGHPUT_UNITS


def describe(result: dict) -> str:
    """One headline line: GOPS and GOPS/W, labelled as a model."""
    return (f"throughput model: {result['ops_per_second'] / 1e9:.3g} GOPS, "
            f"{result['ops_per_joule'] / 1e9:.3g} GOPS/W "
            f"({result['energy_per_image'] * 1e9:.3g} nJ per image; bit-level ops, "
            f"assumptions in neuropcm.workloads.learning._throughput)")


def energy_variants(counts: dict, *, adc_bits: int, nonzero_reads: float, x2g: float,
                    e_reads, adc_foms, v_read: float, t_read: float,
                    dac_energy: float = 0.0) -> dict:
    """GOPS/W of one inference pass under other energy assumptions than the devices'
    ``e_read`` (the reads dominate the energy, so the constant decides the figure).

    ``E = E_reads + adc_conversions * fom * 2**adc_bits + dac_conversions * dac_energy``
    with, for each swept ``e_read`` and ``fom``, ``E_reads = n * e_read`` (``n`` all
    reads, or only those of non-zero inputs), and ohmic reads ``E_reads = V_read^2 t_read
    sum x^2 G`` (``x2g``: each read cell dissipates ``(x V_read)^2 G`` for ``t_read``).
    Operations: ``2 n_read`` (``"all"``, every device read counted, as :func:`throughput`)
    or ``2 nonzero_reads`` (``"nonzero"``: a device on a word line at 0 V does nothing).

    Returns
    -------
    dict
        ``ops_nonzero`` (count); ``ops_per_joule_all``, ``ops_per_joule_nonzero`` (J^-1,
        shape ``(len(e_reads), len(adc_foms))``: constant energy per read, reads counted
        in the energy as in the operations); ``energy_ohmic_reads`` (J) and
        ``ops_per_joule_ohmic_all``, ``ops_per_joule_ohmic_nonzero`` (J^-1, per ``fom``).
    """
    e_reads = np.asarray(e_reads, float)[:, None]
    foms = np.asarray(adc_foms, float)[None, :]
    e_adc = counts["adc_conversions"] * foms * 2.0 ** adc_bits
    e_dac = counts.get("dac_conversions", 0) * dac_energy
    n_all, n_nz = float(counts["n_read"]), float(nonzero_reads)
    e_ohm = v_read ** 2 * t_read * float(x2g)
    return {"ops_nonzero": 2.0 * n_nz,
            "ops_per_joule_all": 2.0 * n_all / (n_all * e_reads + e_adc + e_dac),
            "ops_per_joule_nonzero": 2.0 * n_nz / (n_nz * e_reads + e_adc + e_dac),
            "energy_ohmic_reads": e_ohm,
            "ops_per_joule_ohmic_all": (2.0 * n_all / (e_ohm + e_adc + e_dac))[0],
            "ops_per_joule_ohmic_nonzero": (2.0 * n_nz / (e_ohm + e_adc + e_dac))[0]}


#: Units of the values :func:`energy_variants` returns.
ENERGY_UNITS = {"ops_nonzero": "count", "ops_per_joule_all": "J^-1",
                "ops_per_joule_nonzero": "J^-1", "energy_ohmic_reads": "J",
                "ops_per_joule_ohmic_all": "J^-1", "ops_per_joule_ohmic_nonzero": "J^-1"}


#: Area model of :func:`area` (assumed, no source in the project: an embedded 1T1R PCM
#: cell of 0.1 um^2 and a 6-bit SAR ADC with its sense amplifier of 3,000 um^2; seed 2
#: gives no areas, only its 0.03 TOPS/mm^2 at 4 bits and that the periphery dominates).
CELL_AREA_UM2 = 0.1
ADC_AREA_UM2 = 3000.0


def area(devices: int, adcs: int) -> float:
    """Silicon area (mm^2) of ``devices`` PCM cells and ``adcs`` ADCs under the assumed
    :data:`CELL_AREA_UM2` and :data:`ADC_AREA_UM2` (the digital logic is not counted)."""
    return (devices * CELL_AREA_UM2 + adcs * ADC_AREA_UM2) * 1e-6


def summary_row(counts: dict, *, images: int, adc_bits: int, arrays: int,
                model: ThroughputModel, e_read: float, v_read: float, t_read: float) -> dict:
    """The Fig. 9 figures of one mapped network from its counters of one pass
    (:func:`throughput` and :func:`energy_variants` at the model's ADC energy and the
    devices' ``e_read``): ``ops_per_second``, ``ops_per_second_nonzero`` (Hz),
    ``ops_per_joule``, ``ops_per_joule_nonzero``, ``ops_per_joule_ohmic`` (J^-1, ohmic
    reads, non-zero inputs), ``devices`` and ``adcs`` (count) for :func:`area`.
    ``counts`` holds ``nonzero_reads``, ``x2g`` and ``devices`` besides the totals."""
    tp = throughput(counts, images=images, adc_bits=adc_bits, arrays=arrays, model=model)
    ev = energy_variants(counts, adc_bits=adc_bits, nonzero_reads=counts["nonzero_reads"],
                         x2g=counts["x2g"], e_reads=[e_read], adc_foms=[model.adc_fom],
                         v_read=v_read, t_read=t_read, dac_energy=model.dac_energy)
    nz = ev["ops_nonzero"] / tp["ops"] if tp["ops"] else math.nan
    return {"ops_per_second": tp["ops_per_second"],
            "ops_per_second_nonzero": nz * tp["ops_per_second"],
            "ops_per_joule": tp["ops_per_joule"],
            "ops_per_joule_nonzero": float(ev["ops_per_joule_nonzero"][0, 0]),
            "ops_per_joule_ohmic": float(ev["ops_per_joule_ohmic_nonzero"][0]),
            "devices": int(counts["devices"]), "adcs": int(model.adcs or arrays)}


#: Units of :func:`summary_row`'s values.
ROW_UNITS = {"ops_per_second": "Hz", "ops_per_second_nonzero": "Hz", "ops_per_joule": "J^-1",
             "ops_per_joule_nonzero": "J^-1", "ops_per_joule_ohmic": "J^-1",
             "devices": "count", "adcs": "count"}
