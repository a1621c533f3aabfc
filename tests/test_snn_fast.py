"""The event-driven options of the SNN building blocks (issue 22): random numbers drawn only
for operations that happen, Poisson inputs drawn by their gaps, cached efficacies, reads
counted by the presynaptic neuron, the presynaptic spike time of two-window STDP, the
adaptive threshold of Diehl & Cook, bounded parallel compilation."""

import math
import os

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2")
from brian2 import (
    Network,
    NeuronGroup,
    SpikeMonitor,
    TimedArray,
    kelvin,
    ms,
    mV,
    second,
    siemens,
    usiemens,
)
from scipy import stats
from snn_support import AlwaysLTP, clock_neuron, numpy_target  # noqa: F401

from neuropcm.devices import get_preset
from neuropcm.errors import ParameterError
from neuropcm.snn import PCMSynapses, ThresholdRefresh, TwoWindowSTDP, WTALayer
from neuropcm.snn.models import RANDN_IF

pytestmark = pytest.mark.brian2


# ------------------------------------------------------------------ randn_if
@pytest.mark.parametrize("target", ["numpy", "cython"])
def test_randn_if_draws_standard_normals_only_where_gated(target):
    brian2.prefs.codegen.target = target
    brian2.seed(11)
    n = 6000
    g = NeuronGroup(n, "gate : 1\nx : 1", namespace={"randn_if": RANDN_IF})
    g.gate = "i % 3 == 0"
    g.x = 7.0
    g.run_regularly("x = randn_if(gate)", dt=1 * second)
    Network(g).run(0.5 * ms)
    x, gate = np.asarray(g.x[:]), np.asarray(g.gate[:]) != 0
    assert np.all(x[~gate] == 0.0)
    p = stats.kstest(x[gate], "norm").pvalue
    assert p > 1e-3, p
    # the draws are independent: neighbours are uncorrelated (|r| < 5 / sqrt(n/3))
    r = np.corrcoef(x[gate][:-1], x[gate][1:])[0, 1]
    assert abs(r) < 5 / math.sqrt(n / 3)


@pytest.mark.parametrize("pulses", [1, 3])
def test_gated_set_pulses_have_the_distribution_of_ungated_ones(pulses):
    """Gated noise changes which random numbers are drawn, not the distribution of G."""
    out = {}
    for gated in (True, False):
        brian2.seed(5 if gated else 6)
        pre = brian2.SpikeGeneratorGroup(4000, [], [] * ms)
        post = clock_neuron()
        S = PCMSynapses(pre, post, plasticity=AlwaysLTP(), w_scale=1 / siemens, drift=False,
                        gated_noise=gated)
        S.connect()
        Network(pre, post, S).run(pulses * ms + 0.5 * ms)
        assert np.all(S.nsetp[:] == pulses)
        out[gated] = np.asarray(S.Gp_[:])
    p = stats.ks_2samp(out[True], out[False]).pvalue
    assert p > 1e-3, p


# ------------------------------------------------------------------ Poisson inputs by gaps
def _inputs(rates_hz, steps_pres, steps_ex, examples=1, boost_steps=0, boost_factor=2.0,
            extra=()):
    from neuropcm.snn._inputs import poisson_inputs

    dt = float(brian2.defaultclock.dt)
    stim = TimedArray(np.tile(np.asarray(rates_hz, float), (examples, 1)),
                      dt=steps_ex * dt * second)
    ns = {"stimulus": stim, "max_rate": 1.0 * brian2.Hz, "steps_ex": steps_ex,
          "steps_pres": steps_pres, "boost_factor": boost_factor}
    inp = poisson_inputs(len(rates_hz), ns, boost_steps)
    inp.gain = 1.0
    mon = SpikeMonitor(inp)
    objs = [f(inp) for f in extra]
    Network(inp, mon, *[o for group in objs for o in group]).run(examples * steps_ex * dt *
                                                                 second)
    return inp, mon


def test_poisson_inputs_by_gaps_are_a_bernoulli_process():
    """Counts per presentation are Binomial(steps, p) (mean and variance against the
    formulas); a spike in the first step has probability p; nothing in the rest window or
    from a silent input."""
    brian2.defaultclock.dt = 1 * ms
    brian2.seed(3)
    n, rate, steps_pres, steps_ex = 3000, 80.0, 50, 70
    p = rate * 1e-3
    inp, mon = _inputs([rate] * n + [0.0] * 5, steps_pres, steps_ex, examples=2)
    i, t = np.asarray(mon.i[:]), np.asarray(mon.t_[:])
    step = np.round(t / 1e-3).astype(int)
    assert np.all(i < n)                                  # silent inputs stay silent
    assert np.all(step % steps_ex < steps_pres)           # nothing during rest
    counts = np.bincount(i * 2 + step // steps_ex, minlength=2 * n)
    mean, var = steps_pres * p, steps_pres * p * (1 - p)
    se_mean = math.sqrt(var / counts.size)
    assert abs(counts.mean() - mean) < 5 * se_mean
    # variance of a sample variance: (mu4 - var^2 (n-3)/(n-1)) / n; 5 standard errors
    mu4 = var * (1 + 3 * (steps_pres - 2) * p * (1 - p))
    se_var = math.sqrt((mu4 - var ** 2) / counts.size)
    assert abs(counts.var(ddof=1) - var) < 5 * se_var
    first = np.mean(np.isin(np.arange(n), i[step == 0]))
    assert abs(first - p) < 5 * math.sqrt(p * (1 - p) / n)
    assert np.all(np.asarray(inp.nspikes[:]) == np.bincount(i, minlength=n + 5))


def _boost(output_threshold):
    """A boost flag cleared by an output neuron that fires when ``output_threshold`` holds."""
    from neuropcm.snn._inputs import boost_flag

    def make(inp):
        out = NeuronGroup(1, "", threshold=output_threshold)
        return [out, *boost_flag(inp, out, float(inp.namespace["stimulus"].dt) * second)]

    return make


def test_boost_window_fires_at_the_boosted_rate_only_while_the_output_is_silent():
    """Silent output: in the boost window the inputs are a Bernoulli process of p = factor
    * rate * dt (mean count against the formula); an output spike in the presentation (at
    step 10 of each example) closes the window, from the step after it."""
    brian2.defaultclock.dt = 1 * ms
    brian2.seed(8)
    n, rate, factor, pres, boost, ex = 2000, 40.0, 3.0, 30, 20, 60
    _, mon = _inputs([rate] * n, pres, ex, examples=2, boost_steps=boost,
                     boost_factor=factor, extra=[_boost("False")])
    phase = np.round(np.asarray(mon.t_[:]) / 1e-3).astype(int) % ex
    assert np.all(phase < pres + boost)
    in_boost = np.sum(phase >= pres) / (2 * n)
    mean = boost * factor * rate * 1e-3
    assert abs(in_boost - mean) < 5 * math.sqrt(mean * (1 - factor * rate * 1e-3) / (2 * n))
    in_pres = np.sum(phase < pres) / (2 * n)
    assert abs(in_pres - pres * rate * 1e-3) < 5 * math.sqrt(pres * rate * 1e-3 / (2 * n))
    _, mon = _inputs([rate] * n, pres, ex, examples=2, boost_steps=boost,
                     boost_factor=factor, extra=[_boost("t_in_timesteps % 60 == 10")])
    phase = np.round(np.asarray(mon.t_[:]) / 1e-3).astype(int) % ex
    assert np.sum(phase < pres) > 0 and np.all(phase < pres)


def test_poisson_inputs_at_p_one_fire_every_presentation_step():
    brian2.defaultclock.dt = 1 * ms
    _, mon = _inputs([1000.0, 0.0], steps_pres=6, steps_ex=9, examples=2)
    steps = np.round(np.asarray(mon.t_[:]) / 1e-3).astype(int)
    assert np.all(np.asarray(mon.i[:]) == 0)
    assert list(steps) == [0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14]


# ------------------------------------------------------------------ the synapse's options
def _network(fast, seed=4, T=400 * ms):
    """Inputs firing on a fixed pattern (with their last spike time and spike count) into a
    WTA layer through plastic PCM synapses with drift, read noise, a refresh sweep and
    drift updates; the same random draws with and without the fast options."""
    brian2.defaultclock.dt = 0.5 * ms
    brian2.seed(seed)
    n_in = 40
    inp = NeuronGroup(n_in, "tlast : second\nnspikes : integer",
                      threshold="(t_in_timesteps + 7 * i) % (5 + i % 13) == 0",
                      reset="tlast = t\nnspikes += 1")
    inp.tlast = -1e9 * second
    inp.resetter["spike"].when = "before_synapses"  # as on_pre "tpre = t" (see clustering)
    wta = WTALayer(5, rate_target=20 * brian2.Hz, tau_homeo=0.1 * second, v_thresh=4 * mV,
                   refractory=2 * ms, t_inhibit=2 * ms)
    syn = PCMSynapses(inp, wta, plasticity=TwoWindowSTDP(5 * ms, 20 * ms, 0.7, 0.5,
                                                         pre_time="tlast" if fast else None),
                      refresh=ThresholdRefresh(period=50 * ms, max_pulses=6),
                      w_scale=0.3 * mV / usiemens, drift_update=20 * ms, noise_to="read_var",
                      initial_pulses=(4, 2), temperature=310 * kelvin,
                      cache_efficacy=fast, read_counter="nspikes" if fast else None)
    syn.connect()
    mon = SpikeMonitor(wta)
    Network(inp, wta, *wta.auxiliary_objects, syn, mon).run(T)
    return syn, mon


def test_fast_synapse_options_give_the_same_run():
    """cache_efficacy, read_counter and TwoWindowSTDP(pre_time=) change where things are
    kept, not what happens: with one seed every spike, conductance and counter is equal."""
    a, ma = _network(False)
    b, mb = _network(True)
    assert ma.num_spikes > 20 and np.sum(a.nsetp[:]) > 100 and np.sum(a.nrefresh[:]) > 0
    assert np.array_equal(ma.i[:], mb.i[:]) and np.array_equal(ma.t_[:], mb.t_[:])
    for var in ("Gp", "Gm", "nsetp", "nsetm", "nresetp", "tprogp"):
        assert np.array_equal(getattr(a, var + "_")[:], getattr(b, var + "_")[:]), var
    # the fast synapses count only the refresh reads; the exported devices add the inputs'
    assert np.all(b.nreadp[:] < a.nreadp[:])
    for da, db in zip(a.to_devices(seed=1), b.to_devices(seed=1)):
        assert np.array_equal(da.n_read, db.n_read)
        np.testing.assert_allclose(db.energy, da.energy, rtol=1e-12)


def test_cached_efficacy_is_the_read_mean_and_variance():
    """eff and effvar equal the drifted, temperature-scaled means and the read variances of
    the devices as they are at the end (after writes, refreshes and drift updates)."""
    syn, _ = _network(True)
    p = get_preset("nandakumar2018")
    Gp, Gm = np.asarray(syn.Gp_[:]), np.asarray(syn.Gm_[:])
    mp, mm = Gp * np.asarray(syn.dfp[:]), Gm * np.asarray(syn.dfm[:])
    k_b = 1.380649e-23

    def arrhenius(g):  # exp(-Ea(G)/k (1/T - 1/T_ref)), Ea linear in G/g_max
        ea = p.ea_hrs + (p.ea_lrs - p.ea_hrs) * np.clip(g / p.g_max, 0, 1)
        return np.exp(-ea / k_b * (1 / 310 - 1 / p.t_ref))

    mp, mm = mp * arrhenius(Gp), mm * arrhenius(Gm)
    np.testing.assert_allclose(syn.eff_[:], mp - mm, rtol=1e-9, atol=1e-15)

    def std(g):  # the pulsed model's read noise, 0.03 G + 0.13 uS
        return p.read_offset + p.read_slope * g

    np.testing.assert_allclose(syn.effvar_[:], std(mp) ** 2 + std(mm) ** 2, rtol=1e-9)


def test_fast_options_are_refused_where_they_cannot_hold():
    inp = NeuronGroup(2, "x : 1\nc : 1", threshold="False")
    post = NeuronGroup(1, "v : volt")
    with pytest.raises(ParameterError, match="drift_update"):
        PCMSynapses(inp, post, w_scale=1 * mV / usiemens, cache_efficacy=True)
    with pytest.raises(ParameterError, match="pulsed"):
        PCMSynapses(inp, post, w_scale=1 * mV / usiemens, cache_efficacy=True,
                    drift_update=1 * second, preset="joshi2020")
    for bad in ("nope", "c"):  # missing; not an integer
        with pytest.raises(ParameterError, match="read_counter"):
            PCMSynapses(inp, post, w_scale=1 * mV / usiemens, read_counter=bad)
    with pytest.raises(ParameterError, match="pre_time"):
        TwoWindowSTDP(5 * ms, 10 * ms, pre_time="t last")


# ------------------------------------------------------------------ adaptive threshold
def test_adaptive_threshold_follows_the_hand_computed_trace():
    """Diehl & Cook's adaptive threshold: theta jumps by theta_plus at each spike and decays
    with tau_theta; after spikes at t_k, theta(T) = theta_plus sum_k exp(-(T - t_k)/tau)."""
    brian2.defaultclock.dt = 0.1 * ms
    wta = WTALayer(1, homeostasis="adaptive", theta_plus=0.5 * mV, tau_theta=40 * ms,
                   inhibition=None, refractory=0 * ms, v_thresh=1 * mV, tau_m=1e9 * ms)
    drive = NeuronGroup(1, "", threshold="t_in_timesteps % 100 == 5")  # every 10 ms
    syn = brian2.Synapses(drive, wta, on_pre="v_post += 50*mV")
    syn.connect()
    mon = SpikeMonitor(wta)
    T = 95 * ms
    Network(wta, *wta.auxiliary_objects, drive, syn, mon).run(T)
    tk = np.asarray(mon.t_[:])
    assert tk.size >= 8
    # exponential Euler per step: exact decay exp(-dt/tau) per step, so the formula holds
    expected = 0.5e-3 * np.sum(np.exp(-(float(T) - 1e-4 - tk) / 0.04))
    assert float(wta.theta_[0]) == pytest.approx(expected, rel=1e-3)


def test_network_config_passes_the_adaptive_threshold():
    from neuropcm.snn.clustering import make_builder
    from neuropcm.snn.config import load_network

    cfg = load_network("sidler2017", ["neurons.homeostasis=adaptive",
                                      'neurons.theta_plus="0.07*mV"',
                                      'neurons.tau_theta="500*second"', "neurons.n=3"])
    built = make_builder(cfg)(np.zeros((1, 784)))
    wta = built.state_groups["wta"]
    assert wta.homeostasis == "adaptive"
    assert float(wta.namespace["theta_plus"]) == pytest.approx(0.07e-3)
    assert float(wta.namespace["tau_theta"]) == pytest.approx(500.0)
    # the boost window lengthens the example and adds its flag to the network
    cfg = cfg.replace("input", boost_window=0.1, boost_factor=4.0)
    assert cfg.input.example_duration == pytest.approx(0.2 + 0.1 + 0.02)
    built = make_builder(cfg)(np.zeros((1, 784)))
    assert "boost_flag" in [o.name for o in built.net.objects]
    assert built.state_groups["inputs"].namespace["boost_factor"] == 4.0
    with pytest.raises(ParameterError, match="boost_window"):
        make_builder(cfg, fast=False)(np.zeros((1, 784)))


# ------------------------------------------------------------------ compilation
def test_standalone_builds_run_at_most_one_compiler_per_core():
    from neuropcm.snn.runner import make_args

    assert make_args() == [f"-j{os.cpu_count() or 1}"]
    assert make_args(3) == ["-j3"] and make_args(0) == ["-j1"]


# ------------------------------------------------------------------ weight normalisation
def test_normalisation_pulses_follow_the_formula():
    """A neuron whose inputs sum above norm_target: at its next update each synapse gets a
    depression pulse with probability rate (wsum - target)/wsum (G+ - G-)/step (binomial
    count against the formula); at the first update wsum is 0 (nothing summed yet)."""
    brian2.defaultclock.dt = 0.1 * ms
    brian2.seed(2)
    n, x = 3000, 2.0e-6
    pre = NeuronGroup(n, "", threshold="False")
    post = NeuronGroup(1, "v : volt\nwsum : siemens\nwsum_acc : siemens",
                       threshold="abs(t - 1*ms) < 0.05*ms or abs(t - 2*ms) < 0.05*ms",
                       reset="wsum = wsum_acc\nwsum_acc = 0*siemens")
    rule = TwoWindowSTDP(5 * ms, 10 * ms, p_pot=1.0, p_dep=0.0,
                         norm_target=4500 * usiemens, norm_step=1.0 * usiemens, norm_rate=0.5)
    S = PCMSynapses(pre, post, plasticity=rule, w_scale=1 * mV / usiemens, drift=False,
                    read_noise=False, preset="ideal")
    S.connect()
    S.Gp = x * siemens
    S.Gm = 0 * siemens
    net = Network(pre, post, S)
    net.run(1.5 * ms)
    assert np.all(S.nsetm[:] == 0)                      # first update: nothing summed
    assert float(post.wsum_[0]) == pytest.approx(n * x)  # ... now the sum is known
    net.run(1 * ms)
    wsum, target = n * x, 4.5e-3
    p = 0.5 * (wsum - target) / wsum * x / 1e-6
    k = int(np.sum(S.nsetm[:]))
    assert abs(k - n * p) < 5 * math.sqrt(n * p * (1 - p)), (k, n * p)


def test_normalisation_needs_its_target_variables():
    pre = NeuronGroup(2, "", threshold="False")
    post = NeuronGroup(1, "v : volt")
    rule = TwoWindowSTDP(5 * ms, 10 * ms, norm_target=50 * usiemens, norm_step=1 * usiemens)
    with pytest.raises(ParameterError, match="wsum"):
        PCMSynapses(pre, post, plasticity=rule, w_scale=1 * mV / usiemens)
    with pytest.raises(ParameterError, match="norm_step"):
        TwoWindowSTDP(5 * ms, 10 * ms, norm_target=50 * usiemens)


def test_network_source_reads_the_cpu_clock_once_and_stays_cached(tmp_path):
    """The per-step CPU-clock system call of Brian2's network loop is moved after the loop;
    the patched file keeps the time of its first writing (make does not rebuild it); a
    source of another shape is left alone."""
    import time

    from neuropcm.snn.runner import patch_network_source

    src = ("    while(clock && clock->running())\n    {\n        clock = next_clocks();\n"
           "        current = std::clock();\n"
           "        elapsed_realtime = (double)(current - start)/(1 * CLOCKS_PER_SEC);\n"
           "    }\n    Network::_globally_running = false;\n")
    path = tmp_path / "network.cpp"
    path.write_text(src)
    assert patch_network_source(path)
    text = path.read_text()
    loop, after = text.split("Network::_globally_running = false;")
    assert "std::clock" not in loop and "std::clock() - start" in after
    first = path.stat().st_mtime_ns
    time.sleep(0.05)
    path.write_text(src)  # Brian2 writes its unpatched source again at the next build
    assert patch_network_source(path) and path.stat().st_mtime_ns == first
    other = tmp_path / "other.cpp"
    other.write_text(src.replace("(1 * CLOCKS_PER_SEC)", "(2 * CLOCKS_PER_SEC)"))
    assert not patch_network_source(other)
