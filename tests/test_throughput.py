"""The throughput/energy model: its formulas typed here, counters of a real crossbar."""

import numpy as np
import pytest

from neuropcm.crossbar import Crossbar
from neuropcm.errors import ParameterError
from neuropcm.workloads.learning._throughput import (ThroughputModel, between, sum_totals,
                                                     throughput)


def test_formulas_from_counts():
    counts = {"n_read": 1000, "energy": 2e-10, "adc_conversions": 40, "dac_conversions": 8}
    m = ThroughputModel(clock=1e6, adcs=2, adc_fom=1e-15, dac_energy=3e-15)
    r = throughput(counts, images=4, adc_bits=5, arrays=7, model=m, weights=100)
    assert r["ops"] == 2000
    assert r["ops_per_image"] == 500
    assert r["time"] == pytest.approx(40 / (2 * 1e6))
    assert r["ops_per_second"] == pytest.approx(2000 / 20e-6)
    e = 2e-10 + 40 * 1e-15 * 32 + 8 * 3e-15
    assert r["energy"] == pytest.approx(e)
    assert r["ops_per_joule"] == pytest.approx(2000 / e)
    assert r["network_ops"] == 800
    # adcs = 0: one ADC per array
    r1 = throughput(counts, images=4, adc_bits=5, arrays=7, model=ThroughputModel(clock=1e6))
    assert r1["time"] == pytest.approx(40 / (7 * 1e6))


def test_inference_counters_of_a_crossbar():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 9))
    xb = Crossbar(W, "binary", mapping="bit-sliced", seed=0, bits=3, adc_bits=6)
    before = sum_totals([xb])
    X = rng.random((9, 5))
    xb @ X
    c = between(before, sum_totals([xb]))
    assert c["n_set"] == 0 and c["n_reset"] == 0  # programming is not in the inference
    # reads only: the devices' energy is e_read per read
    assert c["energy"] == pytest.approx(c["n_read"] * xb.params.e_read)
    assert c["n_read"] >= W.size * 3 * 5  # every bit device read once per input vector
    r = throughput(c, images=5, adc_bits=6, arrays=1)
    assert r["ops"] == 2 * c["n_read"]


@pytest.mark.parametrize("kw", [dict(images=0), dict(adc_bits=-1), dict(arrays=1.5)])
def test_bad_arguments(kw):
    args = dict(images=1, adc_bits=4, arrays=1) | kw
    with pytest.raises(ParameterError):
        throughput({"n_read": 1, "energy": 0.0, "adc_conversions": 1}, **args)
    with pytest.raises(ParameterError, match="lack"):
        throughput({"n_read": 1}, images=1, adc_bits=4, arrays=1)


def test_without_adcs_each_mvm_takes_one_cycle():
    counts = {"n_read": 600, "energy": 1e-11, "adc_conversions": 0, "n_mvm": 30}
    r = throughput(counts, images=3, adc_bits=None, arrays=2,
                   model=ThroughputModel(clock=2e6))
    assert r["time"] == pytest.approx(30 / 2e6)
    assert r["energy_adc"] == 0.0 and r["energy"] == pytest.approx(1e-11)
    with pytest.raises(ParameterError, match="adc_bits = None"):
        throughput(counts | {"adc_conversions": 5}, images=3, adc_bits=None, arrays=2)


def test_energy_variants_formulas():
    """GOPS/W tables of ``energy_variants``: constant energy per read (all reads, or only
    those of non-zero inputs, in operations and energy alike), and ohmic reads
    ``V^2 t sum x^2 G``, each with ADC energy ``conversions * fom * 2^bits``."""
    from neuropcm.workloads.learning._throughput import ENERGY_UNITS, energy_variants

    counts = {"n_read": 1000, "energy": 1e-10, "adc_conversions": 40, "dac_conversions": 8}
    r = energy_variants(counts, adc_bits=5, nonzero_reads=250.0, x2g=3e-3,
                        e_reads=[1e-14, 1e-13], adc_foms=[0.0, 1e-15], v_read=0.2,
                        t_read=1e-7, dac_energy=2e-15)
    assert set(r) == set(ENERGY_UNITS)
    assert r["ops_nonzero"] == 500
    dac = 8 * 2e-15
    for i, er in enumerate((1e-14, 1e-13)):
        for k, fom in enumerate((0.0, 1e-15)):
            adc = 40 * fom * 32
            assert r["ops_per_joule_all"][i, k] == pytest.approx(2000 / (1000 * er + adc + dac))
            assert r["ops_per_joule_nonzero"][i, k] == pytest.approx(
                500 / (250 * er + adc + dac))
    e_ohm = 0.04 * 1e-7 * 3e-3
    assert r["energy_ohmic_reads"] == pytest.approx(e_ohm)
    np.testing.assert_allclose(r["ops_per_joule_ohmic_all"],
                               [2000 / (e_ohm + dac), 2000 / (e_ohm + 40 * 32e-15 + dac)])
    np.testing.assert_allclose(r["ops_per_joule_ohmic_nonzero"],
                               [500 / (e_ohm + dac), 500 / (e_ohm + 40 * 32e-15 + dac)])
