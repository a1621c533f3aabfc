"""Writing the efficiency results of a drift-resilient run (``results/energy``,
``results/other_adc`` and the Fig. 9 rows of ``results/bits``) from the counters of its
passes (:mod:`~neuropcm.workloads.learning._throughput`)."""

from __future__ import annotations

import numpy as np

from ._throughput import (
    ENERGY_UNITS,
    ROW_UNITS,
    energy_variants,
    summary_row,
    throughput,
)
from ._throughput import UNITS as THROUGHPUT_UNITS


def write_efficiency(r, c, counters: dict, other_counters: dict, other_acc: np.ndarray,
                     bits_counts: list, *, images: int) -> None:
    """Write into the ``results`` group ``r`` of config ``c``: GOPS/W under the swept
    energy assumptions (``counters``: the drift run's t0 pass of instance 0, with
    ``nonzero_reads`` and ``x2g``), the other ADC placement's accuracy ``other_acc``
    (t0, t_max by instance) and throughput (``other_counters``), and per weight bits of
    the bits sweep (``bits_counts``) the Fig. 9 figures."""
    from ...devices import get_preset
    from ...io import write_dataset

    e_read = get_preset(c.preset, **(c.device_overrides or {})).e_read
    rows = [summary_row(cnt, images=images, adc_bits=c.adc_bits, arrays=2,
                        model=c.throughput, e_read=e_read, v_read=c.v_read,
                        t_read=1.0 / c.throughput.clock) for cnt in bits_counts]
    for key, unit in ROW_UNITS.items():  # Fig. 9: throughput against weight bits
        write_dataset(r["bits"], key, np.array([row[key] for row in rows]), unit,
                      dims="bits")
    t_read = 1.0 / c.throughput.clock  # a read lasts one cycle of the clock
    ev = energy_variants(counters, adc_bits=c.adc_bits,
                         nonzero_reads=counters["nonzero_reads"], x2g=counters["x2g"],
                         e_reads=c.e_read_sweep, adc_foms=c.adc_fom_sweep,
                         v_read=c.v_read, t_read=t_read,
                         dac_energy=c.throughput.dac_energy)
    g = r.create_group("energy")
    write_dataset(g, "e_read", np.array(c.e_read_sweep), "J")
    write_dataset(g, "adc_fom", np.array(c.adc_fom_sweep), "J")
    write_dataset(g, "v_read", c.v_read, "V")
    write_dataset(g, "t_read", t_read, "s")
    write_dataset(g, "nonzero_reads", counters["nonzero_reads"], "count")
    for key, val in ev.items():
        write_dataset(g, key, val, ENERGY_UNITS[key],
                      **({"dims": "e_read, adc_fom"} if np.ndim(val) == 2 else
                         {"dims": "adc_fom"} if np.ndim(val) == 1 else {}))
    g = r.create_group("other_adc")
    write_dataset(g, "accuracy_t0", other_acc[0], "1", dims="instances")
    write_dataset(g, "accuracy_final", other_acc[1], "1", dims="instances")
    tpo = throughput(other_counters, images=images, adc_bits=c.adc_bits,
                     arrays=2, model=c.throughput)
    for key in ("ops_per_second", "ops_per_joule"):
        write_dataset(g, key, tpo[key], THROUGHPUT_UNITS[key])
    write_dataset(g, "adc_conversions", other_counters["adc_conversions"], "count")
    write_dataset(g, "ops_per_joule_nonzero", energy_variants(
        other_counters, adc_bits=c.adc_bits, nonzero_reads=other_counters["nonzero_reads"],
        x2g=other_counters["x2g"],
        e_reads=[e_read],
        adc_foms=[c.throughput.adc_fom], v_read=c.v_read, t_read=t_read,
        dac_energy=c.throughput.dac_energy)["ops_per_joule_nonzero"][0, 0], "J^-1")
