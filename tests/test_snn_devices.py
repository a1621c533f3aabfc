"""Brian2 PCM synapses and neurons as device objects: export to PCMArray (streams,
temperature, counters), connect() that keeps existing synapses, endurance and temperature
in the generated code, and argument checks at the boundary."""

import math

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2")
from brian2 import (Hz, NeuronGroup, Network, SpikeGeneratorGroup,  # noqa: E402
                    kelvin, ms, mV, second, siemens, usiemens)
from scipy import stats  # noqa: E402

from neuropcm import PCMArray  # noqa: E402
from neuropcm.errors import ParameterError, UnitError  # noqa: E402
from neuropcm.random import rng  # noqa: E402
from neuropcm.snn import (PairSTDP, PCMSynapses, PhaseChangeNeurons, Plasticity,  # noqa: E402
                          ThresholdRefresh, TruncateRefresh, TwoWindowSTDP, WTALayer)
from neuropcm.snn.synapses import (devices_to_synapse_state,  # noqa: E402
                                   synapse_state_to_devices)

from snn_support import AlwaysLTP, clock_neuron, numpy_target  # noqa: E402,F401

pytestmark = pytest.mark.brian2
K_B = 1.380649e-23  # J/K


def _arrhenius(p, g, T):
    """exp(-Ea(G)/k (1/T - 1/T_ref)), Ea linear in G/g_max between the HRS and LRS values."""
    ea = p.ea_hrs + (p.ea_lrs - p.ea_hrs) * np.clip(g / p.g_max, 0, 1)
    return np.exp(-ea / K_B * (1 / T - 1 / p.t_ref))


# ------------------------------------------------------------------ export (issue point 5)
def test_exported_arrays_have_their_own_streams_temperature_and_counters():
    n = 200
    pre = SpikeGeneratorGroup(n, [], [] * ms)
    post = NeuronGroup(1, "v : 1")
    S = PCMSynapses(pre, post, w_scale=1 / siemens, temperature=320 * kelvin, seed=7)
    S.connect(j="0")
    S.Gp = 5 * usiemens          # both devices of every pair in the same state
    S.Gm = 5 * usiemens
    S.nup = 0.04
    S.num = 0.04
    Network(pre, post, S).run(2 * ms)
    plus, minus = S.to_devices()
    assert plus.temperature == minus.temperature == pytest.approx(320.0)
    assert plus.time == minus.time == pytest.approx(2e-3)
    # own streams: identical devices read differently, and the streams are the run's
    gp, gm = plus.read(), minus.read()
    assert np.all(gp != gm)
    for arr, name in ((plus, "G_plus"), (minus, "G_minus")):
        fresh = S.to_devices()[0 if name == "G_plus" else 1]
        assert fresh.rng.bit_generator.state == rng(7, "snn", "export", name).bit_generator.state
    again = S.to_devices()
    np.testing.assert_array_equal(again[0].read(), gp)        # same seed, same stream
    assert not np.array_equal(S.to_devices(seed=8)[0].read(), gp)
    # the reads are warmer than at t_ref by the Arrhenius factor
    mean, _ = S.to_devices()[0].read_moments()
    np.testing.assert_allclose(mean, 5e-6 * _arrhenius(plus.params, 5e-6, 320.0), rtol=1e-12)


def test_device_counters_round_trip_through_synapse_state():
    plus = PCMArray(50, seed=1)
    minus = PCMArray(50, seed=2)
    plus.set_pulses(np.arange(50) % 4)
    for _ in range(3):
        plus.read()
    for _ in range(5):
        minus.read()
    back = synapse_state_to_devices(devices_to_synapse_state(plus, minus), plus.params, seed=0)
    for a, b in zip((plus, minus), back):
        for f in ("n_set", "n_reset", "n_read", "energy", "conductance", "pulse_memory"):
            np.testing.assert_array_equal(getattr(b, f), getattr(a, f))
    assert np.all(back[0].n_read == 3) and np.all(back[1].n_read == 5)


# ------------------------------------------------------------------ connect (issue point 7)
def test_second_connect_initialises_only_the_new_synapses():
    brian2.seed(4)
    pre = SpikeGeneratorGroup(400, [], [] * ms)
    post = clock_neuron()
    S = PCMSynapses(pre, post, plasticity=TwoWindowSTDP(5 * ms, 10 * ms), w_scale=1 / siemens,
                    initial_pulses=(3, 2))
    S.connect(i=np.arange(200), j=0)
    # learning happened on the first ten: a state no initialisation produces
    S.Gp = 11 * usiemens
    S.nsetp = 40
    S.nreadm = 9
    S.tpre = 3 * ms
    S.plastic = 0
    S.connect(i=np.arange(200, 400), j=0)
    assert len(S) == 400
    old, new = slice(0, 200), slice(200, 400)
    np.testing.assert_array_equal(S.Gp_[old], 11e-6)
    np.testing.assert_array_equal(S.nsetp[old], 40)
    np.testing.assert_array_equal(S.nreadm[old], 9)
    np.testing.assert_array_equal(S.tpre_[old], 3e-3)
    assert float(S.plastic[:]) == 0.0            # still frozen
    # the new ones: RESET state plus 0..3 / 0..2 initial pulses, never-spiked inputs
    assert np.all((S.nsetp[new] >= 0) & (S.nsetp[new] <= 3))
    assert np.all((S.nsetm[new] >= 0) & (S.nsetm[new] <= 2))
    assert np.all(S.nresetp[new] == 0) and np.all(S.nreadm[new] == 0)
    fresh = np.asarray(S.nsetp[new]) == 0
    assert fresh.sum() > 20 and np.all(S.Gp_[new][fresh] < 0.2e-6)    # RESET level
    assert S.Gp_[new][~fresh].mean() > 1e-6                           # SET pulses
    np.testing.assert_array_equal(S.tpre_[new], -1e9)
    assert np.all(np.asarray(S.pcm_initialised[:]) == 1)


# ------------------------------------------------------------------ endurance (point 8)
def test_worn_out_devices_are_stuck_as_in_pcmarray():
    N, endurance = 3000, 4
    brian2.seed(12)
    pre = SpikeGeneratorGroup(N, [], [] * ms)
    post = clock_neuron()
    S = PCMSynapses(pre, post, plasticity=AlwaysLTP(), w_scale=1 / siemens, drift=False,
                    endurance=endurance)
    S.connect()
    net = Network(pre, post, S)
    net.run(endurance * ms + 0.5 * ms)
    g4, e4 = np.asarray(S.Gp_[:]).copy(), np.asarray(S.energyp_[:]).copy()
    net.run(6 * ms)                                  # six more post spikes: no effect
    assert np.all(S.nsetp[:] == endurance)
    np.testing.assert_array_equal(S.Gp_[:], g4)
    np.testing.assert_array_equal(S.energyp_[:], e4)
    # the numba devices do the same: 10 pulses on a 4-cycle device leave it after 4
    ref = PCMArray(N, "nandakumar2018", seed=3, endurance=endurance)
    ref.set_pulses(10)
    assert np.all(ref.n_set == endurance)
    assert stats.ks_2samp(g4, ref.conductance).pvalue > 1e-3


def test_worn_out_devices_are_not_refreshed():
    # endurance 1: the RESET of the refresh wears both devices out, the rewrite is skipped
    # (g_max 12 uS: the thresholds are 9 and 3 uS)
    rule = ThresholdRefresh(reads="programmed")
    pre = SpikeGeneratorGroup(4, [], [] * ms)
    post = clock_neuron()
    S = PCMSynapses(pre, post, refresh=rule, w_scale=1 / siemens, drift=False, endurance=1,
                    g_max=12e-6)
    S.connect()
    S.Gp = 10 * usiemens
    S.Gm = 4 * usiemens
    Network(pre, post, S).run(2.5 * ms)              # two checks
    assert list(S.nresetp[:]) == [1] * 4 and list(S.nresetm[:]) == [1] * 4
    assert list(S.nsetp[:]) == [0] * 4 and list(S.nrefresh[:]) == [1] * 4
    # the numpy engine, with the same rule on the same states
    arrays = []
    for g in (10e-6, 4e-6):
        st = PCMArray(4, seed=0, endurance=1, g_max=12e-6).state_dict()
        st["arrays"]["G"][:] = g
        arrays.append(PCMArray.from_state(S.device_params, st))
    assert rule.apply(*arrays) == 4
    for a in arrays:
        assert list(a.n_reset) == [1] * 4 and list(a.n_set) == [0] * 4


def test_reset_draws_a_new_drift_exponent_in_the_programmed_model():
    # as PCMArray: a RESET of the programmed-state model re-draws nu for the new state
    N = 3000
    brian2.seed(21)
    pre = SpikeGeneratorGroup(N, [], [] * ms)
    post = clock_neuron()
    S = PCMSynapses(pre, post, preset="joshi2020", refresh=TruncateRefresh(every=1),
                    w_scale=1 / siemens, drift=False)
    S.connect()
    S.Gp = 5 * usiemens
    S.Gm = 5 * usiemens                               # equal: both are RESET
    S.nup = 7.0                                       # a value no draw gives
    Network(pre, post, S).run(1.5 * ms)
    assert np.all(S.nresetp[:] == 1)
    ref = PCMArray(N, "joshi2020", seed=5)
    ref.reset()
    assert stats.ks_2samp(np.asarray(S.nup[:]), ref.drift_exponent).pvalue > 1e-3


# ------------------------------------------------------------------ temperature (point 8)
def test_synaptic_reads_scale_with_temperature():
    N, T = 4000, 330.0
    brian2.seed(9)
    pre = SpikeGeneratorGroup(N, np.arange(N), np.full(N, 1.0) * ms)
    post = NeuronGroup(N, "v : volt")
    S = PCMSynapses(pre, post, w_scale=1 * mV / usiemens, drift=False, temperature=T * kelvin)
    S.connect(j="i")
    gp, gm = 9e-6, 2e-6
    S.Gp = gp * siemens
    S.Gm = gm * siemens
    Network(pre, post, S).run(2 * ms)
    p = S.device_params
    mp, mm = gp * _arrhenius(p, gp, T), gm * _arrhenius(p, gm, T)
    sd = math.hypot(p.read_slope * mp + p.read_offset, p.read_slope * mm + p.read_offset)
    x = np.asarray(post.v_[:]) / 1e-3 * 1e-6          # efficacy / w_scale (S)
    assert abs(x.mean() - (mp - mm)) < 5 * sd / math.sqrt(N)
    assert abs(x.std(ddof=1) / sd - 1) < 5 / math.sqrt(2 * (N - 1))
    assert mp - mm > 1.2 * (gp - gm)                  # a clear effect at +30 K


# ------------------------------------------------------------------ input checks (15, 16)
@pytest.mark.parametrize("bad", [(2.7, 3), (-1, 2), (3,), (3, 2, 1), "33", (True, 2)])
def test_initial_pulses_must_be_two_nonnegative_integers(bad):
    g = NeuronGroup(1, "v : volt")
    with pytest.raises(ParameterError, match="initial_pulses"):
        PCMSynapses(g, g, w_scale=1 * mV / usiemens, initial_pulses=bad)


def test_integral_initial_pulses_are_kept():
    g = NeuronGroup(1, "v : volt")
    S = PCMSynapses(SpikeGeneratorGroup(1, [], [] * ms), g, w_scale=1 * mV / usiemens,
                    initial_pulses=(3.0, np.int64(2)))
    assert S.initial_pulses == (3, 2)


_WTA_OK = {"rate_target": 2 * Hz}
BAD_WTA = [
    ("tau_m", -20 * ms), ("tau_m", 0 * ms), ("tau_m", np.nan * ms), ("tau_m", [1, 2] * ms),
    ("v_thresh", np.inf * mV), ("v_rest", np.nan * mV), ("refractory", -1 * ms),
    ("t_inhibit", -1 * ms), ("rate_target", -2 * Hz), ("rate_target", 0 * Hz),
    ("tau_homeo", 0 * second), ("eta_homeo", -1 * mV), ("theta_plus", -0.1 * mV),
    ("tau_theta", -1 * second), ("inhibition", -5 * mV), ("theta_min", np.nan * mV),
    ("dt", 0 * ms), ("N", 2.5),
]


@pytest.mark.parametrize("name,value", BAD_WTA, ids=[f"{n}={v}" for n, v in BAD_WTA])
def test_wta_layer_checks_its_quantities(name, value):
    kw = dict(_WTA_OK, **{name: value})
    n = kw.pop("N", 3)
    with pytest.raises(ParameterError, match=name):
        WTALayer(n, **kw)


@pytest.mark.parametrize("name,value", [("tau_m", 20), ("theta_plus", 0.05),
                                        ("tau_theta", 5 * mV), ("eta_homeo", 1 * ms)])
def test_wta_layer_checks_units(name, value):
    with pytest.raises(UnitError, match=name):
        WTALayer(3, **dict(_WTA_OK, **{name: value}))


def test_other_building_blocks_check_their_arguments():
    g = NeuronGroup(1, "v : volt")
    ws = 1 * mV / usiemens
    cases = [
        (lambda: PCMSynapses(g, g, w_scale=-1 * mV / usiemens), ParameterError, "w_scale"),
        (lambda: PCMSynapses(g, g, w_scale=np.nan * mV / usiemens), ParameterError, "w_scale"),
        (lambda: PCMSynapses(g, g, w_scale=ws, temperature=-1 * kelvin), ParameterError,
         "temperature"),
        (lambda: PCMSynapses(g, g, w_scale=ws, temperature=300), UnitError, "temperature"),
        (lambda: PCMSynapses(g, g, w_scale=ws, drift_update=0 * ms), ParameterError,
         "drift_update"),
        (lambda: PCMSynapses(g, g, w_scale=ws, seed=-1), ParameterError, "seed"),
        (lambda: PhaseChangeNeurons(3, G_threshold=np.nan * usiemens), ParameterError,
         "G_threshold"),
        (lambda: PhaseChangeNeurons(3, dt=-1 * ms), ParameterError, "dt"),
        (lambda: PhaseChangeNeurons(2.5), ParameterError, "N"),
        (lambda: TwoWindowSTDP(np.nan * ms, 10 * ms), ParameterError, "dT_pot"),
        (lambda: TwoWindowSTDP(5 * ms, -1 * ms), ParameterError, "dT_dep"),
        (lambda: TwoWindowSTDP(5 * ms, 10 * ms, p_pot=np.nan), ParameterError, "p_pot"),
        (lambda: TwoWindowSTDP(5 * ms, 10 * ms, p_dep=1.5), ParameterError, "p_dep"),
        (lambda: PairSTDP(-1 * ms, 20 * ms), ParameterError, "tau_pre"),
        (lambda: PairSTDP(20 * ms, 20), UnitError, "tau_post"),
        (lambda: PairSTDP(20 * ms, 20 * ms, A_pot=np.nan), ParameterError, "A_pot"),
        (lambda: PairSTDP(20 * ms, 20 * ms, A_dep=-1.0), ParameterError, "A_dep"),
        (lambda: PairSTDP(20 * ms, 20 * ms, min_amp=2.0), ParameterError, "min_amp"),
        (lambda: TruncateRefresh(every=2.5), ParameterError, "every"),
        (lambda: ThresholdRefresh(max_pulses=12.5), ParameterError, "max_pulses"),
        (lambda: ThresholdRefresh(period=-1 * ms), ParameterError, "period"),
    ]
    for make, err, name in cases:
        with pytest.raises(err, match=name):
            make()
