"""Brian2 PCM building blocks: device agreement with numba, STDP windows, WTA, homeostasis,
refresh, phase-change neuron, errors."""

import math

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2")
from brian2 import (Hz, NeuronGroup, Network, PoissonGroup, SpikeGeneratorGroup,  # noqa: E402
                    SpikeMonitor, Synapses, defaultclock, ms, mV, second, siemens, usiemens)
from scipy import stats  # noqa: E402

from neuropcm import PCMArray  # noqa: E402
from neuropcm.devices import get_preset  # noqa: E402
from neuropcm.devices.theory import accumulation_moments, open_loop_pulses  # noqa: E402
from neuropcm.errors import ParameterError, UnitError, UnknownPresetError  # noqa: E402
from neuropcm.snn import (PairSTDP, PCMSynapses, PhaseChangeNeurons, Plasticity,  # noqa: E402
                          ThresholdRefresh, TruncateRefresh, TwoWindowSTDP, WTALayer)

from snn_support import AlwaysLTP, clock_neuron, numpy_target  # noqa: E402,F401

pytestmark = pytest.mark.brian2


@pytest.mark.parametrize("overrides", [{}, {"set_dtod": 0.3}], ids=["nandakumar2018", "dtod"])
@pytest.mark.parametrize("n", [1, 4, 15])
def test_brian2_synapse_matches_numba_devices(n, overrides):
    N = 4000
    brian2.seed(n)
    pre = SpikeGeneratorGroup(N, [], [] * ms)
    post = clock_neuron()
    S = PCMSynapses(pre, post, plasticity=AlwaysLTP(), w_scale=1 / siemens, drift=False,
                    **overrides)
    S.connect()
    net = Network(pre, post, S)
    net.run(n * ms + 0.5 * ms)
    assert np.all(S.nsetp[:] == n) and np.all(S.nsetm[:] == 0)
    ref = PCMArray(N, "nandakumar2018", seed=100 + n, **overrides)
    ref.set_pulses(n)
    p = stats.ks_2samp(np.asarray(S.Gp_[:]), ref.conductance).pvalue
    assert p > 1e-3, p
    assert np.allclose(S.Pp_[:], ref.pulse_memory)
    # and against the exact model (no device-to-device spread)
    if not overrides:
        m, s = accumulation_moments(get_preset("nandakumar2018"), n)
        assert abs(np.mean(S.Gp_[:]) - m[n]) < 5 * s[n] / math.sqrt(N)


def test_two_window_stdp_exact_windows():
    # post spike at 30 ms; inputs last spiked 2 ms (pot), 7 ms (none), 15 ms (dep) before,
    # input 3 never (dep), input 4 spiked 2 ms *after* an earlier spike 25 ms before (pot).
    pre = SpikeGeneratorGroup(5, [0, 1, 2, 4, 4], [28, 23, 15, 5, 28] * ms)
    post = NeuronGroup(1, "v : 1", threshold="abs(t - 30*ms) < 0.05*ms")
    S = PCMSynapses(pre, post, plasticity=TwoWindowSTDP(5 * ms, 10 * ms), w_scale=1 / siemens)
    S.connect()
    Network(pre, post, S).run(35 * ms)
    assert list(S.nsetp[:]) == [1, 0, 0, 0, 1]
    assert list(S.nsetm[:]) == [0, 0, 1, 1, 0]
    assert list(S.nreadp[:]) == [1, 1, 1, 0, 2] and list(S.nreadm[:]) == [1, 1, 1, 0, 2]


def test_pair_stdp_signs():
    # pre before post -> LTP on G+; post before pre -> LTD on G-
    pre = SpikeGeneratorGroup(2, [0, 1], [10, 22] * ms)
    post = NeuronGroup(1, "v : 1", threshold="abs(t - 12*ms) < 0.05*ms")
    S = PCMSynapses(pre, post, plasticity=PairSTDP(20 * ms, 20 * ms), w_scale=1 / siemens)
    S.connect()
    Network(pre, post, S).run(30 * ms)
    assert list(S.nsetp[:]) == [1, 0] and list(S.nsetm[:]) == [0, 1]


def _wta_burst(weights, inhibition=None, refractory=50 * ms):
    """All neurons get one input at 1 ms of size weights[k]; record spike order."""
    n = len(weights)
    inp = SpikeGeneratorGroup(1, [0], [1] * ms)
    wta = WTALayer(n, homeostasis=None, inhibition=inhibition, refractory=refractory,
                   tau_m=1e6 * ms, v_thresh=10 * mV)
    syn = Synapses(inp, wta, "w : volt", on_pre="v_post += w")
    syn.connect()
    syn.w = weights
    mon = SpikeMonitor(wta)
    Network(inp, wta, syn, mon).run(5 * ms)
    return np.asarray(mon.i[:]), np.asarray(mon.t / defaultclock.dt).round().astype(int)


def test_wta_one_spike_per_step_in_margin_order_ties_to_lowest_index():
    w = np.array([12, 15, 11, 15, 9, 14]) * mV
    i, steps = _wta_burst(w)
    # one spike per step; candidates fire in order of decreasing margin, ties -> lower index
    assert len(set(steps)) == len(steps)
    assert list(i) == [1, 3, 5, 0, 2]  # neuron 4 never crosses (9 mV < 10 mV)
    assert np.all(np.diff(steps) == 1)


def test_wta_reset_inhibition_silences_the_others():
    w = np.array([12, 15, 11, 15]) * mV
    i, _ = _wta_burst(w, inhibition="reset")
    assert list(i) == [1]


def test_wta_random_input_never_two_spikes_in_a_step():
    brian2.seed(3)
    inp = PoissonGroup(50, rates=80 * Hz)
    wta = WTALayer(20, rate_target=10 * Hz, inhibition=None, refractory=0.2 * ms)
    syn = Synapses(inp, wta, "w : volt", on_pre="v_post += w")
    syn.connect()
    syn.w = "rand() * 3*mV"
    mon = SpikeMonitor(wta)
    Network(inp, wta, syn, mon).run(1 * second)
    steps = np.asarray(mon.t / defaultclock.dt).round().astype(int)
    assert mon.num_spikes > 200
    assert np.bincount(steps).max() == 1


def _homeostasis_counts(homeostasis):
    brian2.seed(7)
    inp = PoissonGroup(40, rates=50 * Hz)
    wta = WTALayer(8, homeostasis=homeostasis, rate_target=5 * Hz, tau_homeo=0.5 * second,
                   eta_homeo=5 * mV, refractory=1 * ms, t_inhibit=2 * ms)
    syn = Synapses(inp, wta, "w : volt", on_pre="v_post += w")
    syn.connect()
    syn.w = "(1 + j) * 0.4*mV"  # neuron 7 gets 8x the drive of neuron 0
    mon = SpikeMonitor(wta)
    net = Network(inp, wta, syn, mon)
    net.run(4 * second)
    late = np.asarray(mon.i[np.asarray(mon.t) > 2.0])
    return np.bincount(late, minlength=8)


def test_homeostasis_equalises_firing():
    without = _homeostasis_counts(None)
    with_h = _homeostasis_counts("target_rate")
    cv = lambda c: c.std() / c.mean()  # noqa: E731
    assert with_h.min() > 0 and cv(with_h) < 0.35
    assert cv(without) > 2 * cv(with_h)
    # every neuron near the target rate of 5 Hz over the last 2 s
    assert abs(with_h.mean() / 2.0 - 5.0) < 2.0


@pytest.mark.parametrize("a0", [0.0, 2.0, 30.0, 400.0])
def test_rate_cap_bounds_the_threshold_drive(a0):
    """target_rate with rate_cap = 3, no input: A(t) = A0 exp(-t/tau) (exact), and theta
    follows the Euler sum of eta (min(A/r, 3) - 1)/tau typed here; at A0 = 0 it falls at
    eta/tau, far above the cap it rises at 2 eta/tau until A drops below 3 r."""
    r, tau, eta, dt, steps = 1.0, 0.5, 2e-3, 1e-3, 800
    wta = WTALayer(4, rate_target=r * Hz, tau_homeo=tau * second, eta_homeo=eta * brian2.volt,
                   rate_cap=3, v_thresh=1e3 * mV, dt=dt * second)
    wta.A = a0 * Hz
    Network(wta).run(steps * dt * second)
    a = a0 * np.exp(-np.arange(steps) * dt / tau)
    # theta_{k+1} = theta_k + dt f(A_k), A by its exact exponential step
    expected = np.sum(dt * eta * (np.minimum(a / r, 3.0) - 1.0) / tau)
    np.testing.assert_allclose(np.asarray(wta.theta_[:]), expected, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(np.asarray(wta.A_[:]), a0 * np.exp(-steps * dt / tau),
                               rtol=1e-9)
    if a0 == 400.0:  # A/r above 3 throughout: the capped slope exactly
        assert expected == pytest.approx(2 * eta * steps * dt / tau, rel=1e-12)


def test_unbounded_drive_is_the_uncapped_rule():
    """Without rate_cap one spike's trace A = 1/tau raises theta by eta/(r tau) in the
    long run (the integral of A/r over its decay), which rate_cap bounds."""
    r, tau, eta, dt = 1.0, 0.05, 2e-3, 1e-4
    wta = WTALayer(1, rate_target=r * Hz, tau_homeo=tau * second, eta_homeo=eta * brian2.volt,
                   v_thresh=1e3 * mV, dt=dt * second)
    wta.A = 1 / (tau * second)
    T = 10 * tau
    Network(wta).run(T * second)
    # integral of eta (A/r - 1)/tau: eta/(r tau) (1 - e^-10) - eta T/tau; the Euler sum of
    # the decaying A over-counts the first part by a relative dt/(2 tau)
    jump = eta / (r * tau)
    expected = jump * (1 - math.exp(-10)) - eta * T / tau
    assert float(wta.theta_[0]) == pytest.approx(expected, abs=jump * dt / tau)
    assert expected > 0.4 * jump  # the spike's share is what is checked


@pytest.mark.parametrize("cap, homeo, match", [
    (1.0, "target_rate", "rate_cap = 1.0 must be a number > 1"),
    (np.nan, "target_rate", "must be a number > 1"),
    (3 * Hz, "target_rate", "must be a number > 1"),
    (3, "adaptive", "bounds homeostasis='target_rate'"),
])
def test_rate_cap_bad_values(cap, homeo, match):
    with pytest.raises(ParameterError, match=match):
        WTALayer(2, rate_target=1 * Hz, homeostasis=homeo, rate_cap=cap)


def _refresh_run(refresh, gp, gm, spikes=1):
    n = len(gp)
    pre = SpikeGeneratorGroup(n, [], [] * ms)
    post = clock_neuron()
    # g_max 12 uS: the default thresholds are 9 and 3 uS
    S = PCMSynapses(pre, post, refresh=refresh, w_scale=1 / siemens, drift=False, g_max=12e-6)
    S.connect()
    S.Gp = gp
    S.Gm = gm
    Network(pre, post, S).run(spikes * ms + 0.5 * ms)
    return S


def test_threshold_refresh_preserves_net_weight_and_counts_resets():
    N = 3000
    brian2.seed(5)
    p = get_preset("nandakumar2018", g_max=12e-6)
    rule = ThresholdRefresh(reads="programmed")
    gp = np.where(np.arange(N) % 2 == 0, 10.0, 4.0) * usiemens   # even: w = +6, odd: w = -6
    gm = np.where(np.arange(N) % 2 == 0, 4.0, 10.0) * usiemens
    sat = _refresh_run(rule, gp, gm)
    w_new = np.asarray(sat.Gp_[:] - sat.Gm_[:]) * 1e6
    assert np.all(sat.nresetp[:] == 1) and np.all(sat.nresetm[:] == 1)
    assert np.all(sat.nrefresh[:] == 1)
    # the number of pulses whose mean curve is nearest to |w| = 6 uS
    m, s = accumulation_moments(p, 25)
    k = int(open_loop_pulses(p, np.array([6e-6]))[0])  # nearest mean gain from RESET
    even = np.arange(N) % 2 == 0
    assert np.all(sat.nsetp[:][even] == k) and np.all(sat.nsetm[:][~even] == k)
    # net weight preserved in expectation up to the pulse quantisation of the open-loop rewrite
    exp_w = (m[k] - p.reset_mean - p.reset_std / math.sqrt(2 * math.pi)) * 1e6
    assert abs(w_new[even].mean() - exp_w) < 5 * s[k] * 1e6 / math.sqrt(even.sum())
    assert abs(w_new[~even].mean() + exp_w) < 5 * s[k] * 1e6 / math.sqrt(even.sum())
    assert abs(exp_w - 6.0) <= 0.5 * (m[k + 1] - m[k - 1]) * 1e6
    # unsaturated pairs are left alone
    calm = _refresh_run(rule, np.full(10, 5.0) * usiemens, np.full(10, 2.0) * usiemens)
    assert np.all(calm.nresetp[:] == 0) and np.allclose(calm.Gp_[:], 5e-6)


def test_truncate_refresh_semantics():
    gp = np.array([8.0, 5.0, 1.0, 6.0]) * usiemens
    gm = np.array([3.0, 4.0, 6.0, 6.0]) * usiemens
    S = _refresh_run(TruncateRefresh(every=2), gp, gm, spikes=2)
    # after the 2nd post spike: pair 0 -> only G- reset; 1, 3 -> both; 2 -> only G+
    assert list(S.nresetp[:]) == [0, 1, 1, 1]
    assert list(S.nresetm[:]) == [1, 1, 0, 1]
    assert np.allclose(S.Gp_[:][0], 8e-6) and np.allclose(S.Gm_[:][2], 6e-6)
    S1 = _refresh_run(TruncateRefresh(every=2), gp, gm, spikes=1)
    assert np.all(S1.nresetp[:] == 0) and np.all(S1.nresetm[:] == 0)


def test_efficacy_is_scaled_differential_read():
    pre = SpikeGeneratorGroup(1, [0], [1] * ms)
    post = NeuronGroup(1, "v : volt")
    S = PCMSynapses(pre, post, w_scale=2 * mV / usiemens, read_noise=False, drift=False)
    S.connect()
    S.Gp = 7 * usiemens
    S.Gm = 2 * usiemens
    Network(pre, post, S).run(2 * ms)
    assert float(post.v[0] / mV) == pytest.approx(10.0)
    devs = S.to_devices()
    assert devs[0].conductance[0] == pytest.approx(7e-6)
    assert devs[0].n_read[0] == 1 and devs[1].n_read[0] == 1


def test_phase_change_neuron_rate_increases_with_input():
    brian2.seed(11)
    N = 60
    strengths = np.repeat([0.2, 0.4, 0.7, 1.0], 15)
    neu = PhaseChangeNeurons(N, G_threshold=6 * usiemens)
    src = PoissonGroup(N, rates=200 * Hz)
    syn = neu.input_synapses(src)
    syn.connect(j="i")
    syn.w = strengths
    mon = SpikeMonitor(neu)
    Network(neu, src, syn, mon).run(2 * second)
    counts = np.bincount(mon.i, minlength=N).reshape(4, 15).mean(1)
    assert np.all(np.diff(counts) > 0), counts
    assert stats.spearmanr(strengths, np.bincount(mon.i, minlength=N)).statistic > 0.8
    # every spike is followed by a RESET of that neuron's device
    assert np.array_equal(np.asarray(neu.nreset[:]), np.bincount(mon.i, minlength=N))


def test_errors():
    g = NeuronGroup(1, "v : volt")
    with pytest.raises(ParameterError, match="dT_pot"):
        TwoWindowSTDP(20 * ms, 10 * ms)
    with pytest.raises(UnitError, match="dT_pot"):
        TwoWindowSTDP(5, 10 * ms)
    with pytest.raises(UnknownPresetError, match="joshi2020"):
        PCMSynapses(g, g, preset="nope", w_scale=1 * mV / usiemens)
    with pytest.raises(UnitError, match="w_scale"):
        PCMSynapses(g, g, w_scale=1 * mV)
    with pytest.raises(ParameterError, match="refresh"):
        PCMSynapses(g, g, w_scale=1 * mV / usiemens, refresh="sometimes")
    with pytest.raises(ParameterError, match="rate_target"):
        WTALayer(5)
    with pytest.raises(UnitError, match="tau_m"):
        WTALayer(5, tau_m=20, rate_target=1 * Hz)
    with pytest.raises(ParameterError, match="G_threshold"):
        PhaseChangeNeurons(3, G_threshold=50 * usiemens)  # above g_max


def test_initial_pulses_uniform_and_applied_once():
    N = 3000
    brian2.seed(2)
    pre = SpikeGeneratorGroup(N, [], [] * ms)
    post = NeuronGroup(1, "v : 1")
    S = PCMSynapses(pre, post, w_scale=1 / siemens, initial_pulses=(4, 2))
    S.connect()
    net = Network(pre, post, S)
    net.run(1 * ms)
    counts_p = np.bincount(np.asarray(S.nsetp[:]), minlength=5)
    counts_m = np.bincount(np.asarray(S.nsetm[:]), minlength=3)
    assert len(counts_p) == 5 and len(counts_m) == 3
    assert stats.chisquare(counts_p).pvalue > 1e-3 and stats.chisquare(counts_m).pvalue > 1e-3
    before = np.asarray(S.nsetp[:]).copy()
    net.run(2 * ms)
    assert np.array_equal(np.asarray(S.nsetp[:]), before)


def test_example_network_learns_the_busy_inputs():
    import runpy
    from pathlib import Path

    g = runpy.run_path(str(Path(__file__).parents[1] / "networks" / "example_pcm_wta.py"))
    syn, w = g["syn"], np.asarray(g["w"])
    busy = np.asarray(syn.i[:]) < 50
    assert g["spikes"].num_spikes > 10
    # what the example claims: STDP strengthens the busy inputs against the quiet ones
    assert w[busy].mean() > w[~busy].mean() + 0.5
    # every SET/RESET is booked in the device counters and energy
    p = syn.device_params
    n_set = int(np.sum(syn.nsetp[:]) + np.sum(syn.nsetm[:]))
    n_reset = int(np.sum(syn.nresetp[:]) + np.sum(syn.nresetm[:]))
    n_read = int(np.sum(syn.nreadp[:]) + np.sum(syn.nreadm[:]))
    energy = float(np.sum(syn.energyp_[:]) + np.sum(syn.energym_[:]))
    assert n_set > 0
    assert energy == pytest.approx(n_set * p.e_set + n_reset * p.e_reset + n_read * p.e_read,
                                   rel=1e-9)


def test_periodic_threshold_refresh_sweeps_without_post_spikes():
    pre = SpikeGeneratorGroup(4, [], [] * ms)
    post = NeuronGroup(1, "v : 1")  # never fires
    S = PCMSynapses(pre, post, refresh=ThresholdRefresh(period=2 * ms, reads="programmed"),
                    w_scale=1 / siemens, drift=False, g_max=12e-6)
    S.connect()
    S.Gp = np.array([10.0, 10.0, 5.0, 2.0]) * usiemens
    S.Gm = np.array([4.0, 1.0, 2.0, 10.0]) * usiemens
    net = Network(pre, post, S)
    net.run(3 * ms)   # sweeps at 0 and 2 ms
    # only pair 0 is saturated (10 > 9 and 4 > 3): refreshed once, then no longer saturated
    assert list(S.nrefresh[:]) == [1, 0, 0, 0]
    assert list(S.nresetp[:]) == [1, 0, 0, 0] and list(S.nresetm[:]) == [1, 0, 0, 0]
    assert S.Gp_[0] > S.Gm_[0]
    S.plastic = 0  # frozen: no refresh
    S.Gp = 11 * usiemens
    S.Gm = 5 * usiemens
    net.run(3 * ms)
    assert list(S.nrefresh[:]) == [1, 0, 0, 0]
