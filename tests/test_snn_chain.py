"""The refresh rewrite's SET-pulse chain as Brian2 functions (neuropcm.snn._chain): the
distribution after k pulses against the numba devices and the exact accumulation model,
the pulse memory against its formula, zero pulses, the endurance rule counted ahead, and
the compiled targets against numpy."""

import math

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2")
from brian2 import Network, NeuronGroup, SpikeGeneratorGroup, ms, siemens, usiemens  # noqa: E402
from scipy import stats  # noqa: E402

from neuropcm import PCMArray  # noqa: E402
from neuropcm.devices import get_preset  # noqa: E402
from neuropcm.devices.theory import accumulation_moments  # noqa: E402
from neuropcm.snn import PCMSynapses, ThresholdRefresh  # noqa: E402
from neuropcm.snn._chain import chain_functions  # noqa: E402

from snn_support import clock_neuron  # noqa: E402

pytestmark = pytest.mark.brian2


def _chain(params, g0, p0, k, f_set=1.0, seed=1):
    """G and P of devices after ``k`` chained pulses (one run_regularly call)."""
    brian2.seed(seed)
    ns = {}
    g_name, p_name = chain_functions(params, ns)
    grp = NeuronGroup(len(g0), "G : siemens\nP : 1\nk : 1\nf : 1", namespace=ns)
    grp.G, grp.P, grp.k, grp.f = g0 * siemens, p0, k, f_set
    # P is read by set_chain before it is advanced: both see the state before the chain
    grp.run_regularly(f"G = {g_name}(G, P, f, k)\nP = {p_name}(P, k)", dt=1 * ms)
    Network(grp).run(1 * ms)
    return np.asarray(grp.G_[:]), np.asarray(grp.P[:])


@pytest.mark.parametrize("k", [1, 5, 18])
def test_chain_matches_the_devices_and_the_exact_model(k):
    n = 4000
    p = get_preset("nandakumar2018")
    start = PCMArray(n, "nandakumar2018", seed=3)  # the RESET state every chain starts from
    g, mem = _chain(p, start.conductance.copy(), start.pulse_memory.copy(), np.full(n, k))
    ref = PCMArray(n, "nandakumar2018", seed=4)
    ref.set_pulses(k)
    assert stats.ks_2samp(g, ref.conductance).pvalue > 1e-3
    m, s = accumulation_moments(p, k)
    assert abs(g.mean() - m[k]) < 5 * s[k] / math.sqrt(n)
    # pulse memory: P exp(-1/n_mem) per pulse, typed here
    np.testing.assert_allclose(mem, start.pulse_memory * math.exp(-k / p.pulse_memory),
                               rtol=1e-12)
    assert np.all((g >= p.g_min) & (g <= p.g_max))


def test_zero_pulses_change_nothing_and_draw_nothing():
    p = get_preset("nandakumar2018")
    g0 = np.linspace(1e-6, 9e-6, 50)
    p0 = np.linspace(0.2, 1.0, 50)
    k = np.where(np.arange(50) % 2 == 0, 0, 3)
    g, mem = _chain(p, g0, p0, k)
    even = k == 0
    assert np.array_equal(g[even], g0[even]) and np.array_equal(mem[even], p0[even])
    assert np.all(g[~even] != g0[~even])
    # the odd devices draw exactly as when the even ones are absent: no draws for k = 0
    g_odd, _ = _chain(p, g0[~even], p0[~even], k[~even])
    np.testing.assert_array_equal(g[~even], g_odd)


def test_amplitude_scales_the_step():
    """With no SET noise (set_d = set_e = set_f = 0) one pulse adds amp (a G + b + c P)."""
    p = get_preset("nandakumar2018", set_d=0.0, set_e=0.0, set_f=0.0)
    g0, p0, amp = np.full(3, 2e-6), np.full(3, 1.0), np.array([0.5, 1.0, 1.5])
    g, _ = _chain(p, g0, p0, np.ones(3), f_set=amp)
    pm = p0 * math.exp(-1 / p.pulse_memory)
    np.testing.assert_allclose(g, g0 + amp * (p.set_a * g0 + p.set_b + p.set_c * pm),
                               rtol=1e-12)


@pytest.mark.parametrize("used", [0, 7, 9, 10])
def test_refresh_rewrite_stops_at_the_endurance(used):
    """A refreshed pair near its endurance: the RESET and then each rewrite pulse is
    applied only while n_set + n_reset < endurance (the rule, pulse by pulse, typed here);
    a worn-out device is left as it was."""
    endurance, n = 12, 200
    pre = SpikeGeneratorGroup(n, [], [] * ms)
    post = clock_neuron()
    S = PCMSynapses(pre, post, refresh=ThresholdRefresh(reads="programmed"), w_scale=1 / siemens,
                    drift=False, g_max=12e-6, endurance=endurance)
    S.connect()
    S.Gp, S.Gm = 10 * usiemens, 4 * usiemens  # saturated: refreshed at the first spike
    S.nsetp = used
    Network(pre, post, S).run(1.5 * ms)
    rule = ThresholdRefresh(reads="programmed")
    wanted = int(rule.pulses(get_preset("nandakumar2018", g_max=12e-6), np.array([6e-6]))[0])
    n_reset = int(used < endurance)  # the RESET itself needs a writable device
    applied = 0
    for _ in range(wanted):  # the rule, pulse by pulse
        if used + n_reset + applied < endurance:
            applied += 1
    assert np.all(S.nresetp[:] == n_reset)
    assert np.all(S.nsetp[:] == used + applied)
    if used >= endurance:
        assert np.allclose(S.Gp_[:], 10e-6)


def test_compiled_target_matches_numpy():
    """Cython against numpy on a run with no SET noise: the same conductances."""
    p = get_preset("nandakumar2018", set_d=0.0, set_e=0.0, set_f=0.0)
    g0 = np.linspace(0.5e-6, 11e-6, 40)
    p0 = np.linspace(0.1, 1.0, 40)
    k = np.arange(40) % 19
    prefs = brian2.prefs
    old = prefs.codegen.target
    try:
        prefs.codegen.target = "numpy"
        a = _chain(p, g0, p0, k)
        prefs.codegen.target = "cython"
        b = _chain(p, g0, p0, k)
    finally:
        prefs.codegen.target = old
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12)
