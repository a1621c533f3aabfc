"""Multi-PCM synapses in the Brian2 engine (Boybat et al. 2018; ``PCMSynapses(
devices_per_synapse=N)``, neuropcm.snn._multi): N = 1 is today's synapse, pulses follow the
arbitration counter, the efficacy sums the 2N devices (mean and read-noise variance), refresh
per device pair, export/import through HDF5, checkpoint/resume of a clustering run with the
counter, and the argument checks."""

import re
from pathlib import Path

import h5py
import numpy as np
import pytest

brian2 = pytest.importorskip("brian2")
from brian2 import (  # noqa: E402
    Network,
    NeuronGroup,
    SpikeGeneratorGroup,
    SpikeMonitor,
    ms,
    siemens,
    usiemens,
)
from snn_support import AlwaysLTP, clock_neuron, numpy_target  # noqa: E402,F401

from neuropcm.errors import ParameterError  # noqa: E402
from neuropcm.io.arrays import read_array, write_array  # noqa: E402
from neuropcm.snn import PairSTDP, PCMSynapses, ThresholdRefresh, TwoWindowSTDP  # noqa: E402
from neuropcm.snn.synapses import (  # noqa: E402
    devices_to_synapse_state,
    synapse_device_vars,
    synapse_state_to_devices,
)

pytestmark = pytest.mark.brian2
US = 1e-6


def _pair_net(n_dev, n_syn=1, **kw):
    """n_syn inputs, each into its own clock neuron (post spikes at 1, 2, ... ms)."""
    pre = SpikeGeneratorGroup(n_syn, [], [] * ms)
    post = NeuronGroup(n_syn, "v : 1", reset="",
                       threshold="t > 0.5*ms and abs(t/ms - floor(t/ms + 0.5)) < 0.01")
    S = PCMSynapses(pre, post, w_scale=1 / siemens, devices_per_synapse=n_dev, **kw)
    S.connect(j="i")
    return pre, post, S


# ------------------------------------------------------------------ N = 1 is today's synapse
def test_one_device_per_side_is_exactly_the_default_synapse():
    """Same code, same variables, same random stream: identical spikes and devices."""
    def build(**extra):
        brian2.seed(11)  # connect() draws the initial pulses
        pre = brian2.PoissonGroup(20, 200 * brian2.Hz)
        post = NeuronGroup(2, "dv/dt = -v/(10*ms) : 1", threshold="v > 0.05", reset="v = 0")
        S = PCMSynapses(pre, post, w_scale=0.01 / usiemens, initial_pulses=(3, 3),
                        plasticity=TwoWindowSTDP(5 * ms, 10 * ms, p_pot=0.5),
                        refresh=ThresholdRefresh(period=2 * ms), drift_update=1 * ms,
                        cache_efficacy=True, seed=3, **extra)
        S.connect()
        mon = SpikeMonitor(post)
        return S, mon, Network(pre, post, S, mon)
    # both built before either runs: connect() stamps the initial pulses with the clock's t
    (a, ma, na), (b, mb, nb) = build(), build(devices_per_synapse=1)
    for net in (na, nb):
        brian2.seed(12)
        net.run(20 * ms)
    assert a.brian_code == b.brian_code
    assert sorted(a.variables) == sorted(b.variables) and "arb" not in b.variables
    assert ma.num_spikes > 0 and np.array_equal(ma.i[:], mb.i[:])
    np.testing.assert_array_equal(ma.t[:], mb.t[:])
    for name in synapse_device_vars(1) + ["eff", "effvar", "nrefresh"]:
        np.testing.assert_array_equal(getattr(a, name + "_")[:], getattr(b, name + "_")[:],
                                      err_msg=name)
    assert synapse_device_vars(1)[:2] == ["Gp", "Pp"]


# ------------------------------------------------------------------ arbitration and reads
def test_pulses_go_to_the_device_the_counter_selects():
    """K = 7 potentiation events on N = 3 devices: hand-run trace 0 1 2 0 1 2 0; the
    counters add up; the efficacy is w_scale (sum G+ - sum G-) of the devices."""
    n_dev, K = 3, 7
    pre, post, S = _pair_net(n_dev, plasticity=AlwaysLTP(), read_noise=False, drift=False)
    net = Network(pre, post, S)
    net.run(0.5 * ms)
    written = []
    for _ in range(K):  # post spikes at 1, 2, ... ms
        before = np.array([getattr(S, f"nsetp{k}")[0] for k in range(n_dev)])
        net.run(1 * ms)
        after = np.array([getattr(S, f"nsetp{k}")[0] for k in range(n_dev)])
        assert (after - before).sum() == 1
        written.append(int(np.argmax(after - before)))
    assert written == [0, 1, 2, 0, 1, 2, 0]
    assert int(S.arb[0]) == K % n_dev
    n_set = [int(getattr(S, f"nsetp{k}")[0]) for k in range(n_dev)]
    assert n_set == [3, 2, 2] and sum(n_set) == K
    assert all(int(getattr(S, f"nsetm{k}")[0]) == 0 for k in range(n_dev))
    # one input spike now (between post spikes): v += sum G+ - sum G- (w_scale = 1/S)
    plus, minus = S.to_devices(seed=0)
    assert plus.shape == (n_dev, 1) and np.array_equal(plus.n_set[:, 0], n_set)
    want = plus.conductance.sum() - minus.conductance.sum()
    pre.set_spikes([0], [net.t + 0.2 * ms])
    v0 = float(post.v[0])
    net.run(0.5 * ms)
    assert float(post.v[0]) - v0 == pytest.approx(want, rel=1e-12)
    # each input spike reads all 2N devices once
    assert all(int(getattr(S, f"nread{s}{k}")[0]) == 1 for s in "pm" for k in range(n_dev))


def test_pair_stdp_depression_in_the_presynaptic_update_follows_the_counter():
    """PairSTDP (G- pulses on input spikes, G+ on output spikes), N = 2, output spikes at
    1..5 ms, input spikes at 1.5..5.5 ms. Hand-run trace: the counter is 1 after the first
    output spike and alternates; LTP at output spikes 2..5 (apre > 0) on devices 1 0 1 0,
    LTD at every input spike (apost > 0) on devices 1 0 1 0 1."""
    pre = SpikeGeneratorGroup(1, [0] * 5, np.array([1.5, 2.5, 3.5, 4.5, 5.5]) * ms)
    post = clock_neuron()
    S = PCMSynapses(pre, post, plasticity=PairSTDP(20 * ms, 20 * ms), w_scale=1 / siemens,
                    devices_per_synapse=2, read_noise=False, drift=False)
    S.connect()
    Network(pre, post, S).run(6 * ms)
    assert [int(S.nsetp0[0]), int(S.nsetp1[0])] == [2, 2]
    assert [int(S.nsetm0[0]), int(S.nsetm1[0])] == [2, 3]
    assert int(S.arb[0]) == 5 % 2


def test_efficacy_cache_holds_the_summed_moments_of_the_devices():
    """eff / effvar (cached path, drift factors cached) = sum of the device read means and
    of their variances, recomputed from the exported devices (read std 0.03 G + 0.13 uS)."""
    n_dev = 4
    pre, post, S = _pair_net(n_dev, n_syn=30, plasticity=AlwaysLTP(),
                             drift_update=0.5 * ms, cache_efficacy=True, seed=2)
    gen = np.random.default_rng(0)
    for s in "pm":
        for k in range(n_dev):
            setattr(S, f"G{s}{k}", gen.uniform(0.5, 8.0, 30) * usiemens)
    net = Network(pre, post, S)
    net.run(3.2 * ms)  # 3 writes; the drift factors last updated at 3.0 ms
    plus, minus = S.to_devices()
    p = plus.params
    t_upd = 3.0e-3
    mean = {}
    for name, arr in (("p", plus), ("m", minus)):
        st = arr.state_dict()["arrays"]
        g = st["G"] * np.maximum((t_upd - st["t_prog"]) / p.t0, 1.0) ** (-st["nu"])  # drift
        g = np.where(st["t_prog"] >= t_upd, st["G"], g)  # written after the update: 1
        mean[name] = g
    sd = {k: p.read_slope * g + p.read_offset for k, g in mean.items()}
    np.testing.assert_allclose(S.eff_[:], mean["p"].sum(0) - mean["m"].sum(0), rtol=1e-9)
    np.testing.assert_allclose(S.effvar_[:], (sd["p"] ** 2).sum(0) + (sd["m"] ** 2).sum(0),
                               rtol=1e-9)


def test_read_noise_variance_is_the_sum_of_the_2n_device_variances():
    """4000 synapses in one state, one input spike each: the efficacies' sample variance
    equals sum_k var(G+_k) + var(G-_k), var = (0.03 G + 0.13 uS)^2 (pulsed model, no
    drift); tolerance 5 standard errors of a sample variance, s^2 sqrt(2/(n-1))."""
    n_dev, n = 3, 4000
    pre, post, S = _pair_net(n_dev, n_syn=n, drift=False)
    gp, gm = [2.0, 5.0, 8.0], [1.0, 0.5, 6.0]
    for k in range(n_dev):
        setattr(S, f"Gp{k}", gp[k] * usiemens)
        setattr(S, f"Gm{k}", gm[k] * usiemens)
    pre.set_spikes(np.arange(n), np.full(n, 0.3) * ms)
    Network(pre, post, S).run(0.4 * ms)
    v = np.asarray(post.v[:])  # in siemens (w_scale = 1/S)
    p = S.device_params
    var = sum((p.read_slope * g * US + p.read_offset) ** 2 for g in gp + gm)
    assert v.mean() == pytest.approx((sum(gp) - sum(gm)) * US,
                                     abs=5 * np.sqrt(var / n))
    se = var * np.sqrt(2 / (n - 1))
    assert abs(v.var(ddof=1) - var) < 5 * se, (v.var(ddof=1), var)


# ------------------------------------------------------------------ refresh
def test_sweep_refreshes_every_saturated_pair_and_keeps_the_difference():
    """ideal devices (linear SET steps of set_step, no noise): every pair (11, 9) uS is
    saturated; after the sweep all 2N devices are below the thresholds, each pair holds
    round(2 uS / step) steps, so the net difference N * 2 uS is kept to N * step / 2."""
    n_dev = 3
    rule = ThresholdRefresh(reads="programmed", period=1 * ms)
    pre, post, S = _pair_net(n_dev, preset="ideal", refresh=rule, read_noise=False,
                             drift=False)
    p = S.device_params
    hi, lo = 0.9 * p.g_max, 0.7 * p.g_max  # above upper and lower * g_sat
    for k in range(n_dev):
        setattr(S, f"Gp{k}", hi * siemens)
        setattr(S, f"Gm{k}", lo * siemens)
    Network(pre, post, S).run(1.5 * ms)
    gp = np.array([float(getattr(S, f"Gp{k}_")[0]) for k in range(n_dev)])
    gm = np.array([float(getattr(S, f"Gm{k}_")[0]) for k in range(n_dev)])
    assert int(S.nrefresh[0]) == n_dev
    assert all(int(getattr(S, f"nreset{s}{k}")[0]) == 1 for s in "pm" for k in range(n_dev))
    g_ref = rule.reference(p)
    assert np.all(gp < rule.upper * g_ref) and np.all(gm < rule.upper * g_ref)
    assert not rule.select(gp, gm, g_ref).any()
    net = gp.sum() - gm.sum()
    assert abs(net - n_dev * (hi - lo)) <= n_dev * p.set_step / 2 + 1e-15


def test_event_refresh_checks_the_pair_just_written():
    """Per-event refresh: the first post spike writes (and refreshes) pair 0 only, the
    second pair 1."""
    rule = ThresholdRefresh(reads="programmed")
    pre, post, S = _pair_net(2, preset="ideal", refresh=rule, plasticity=AlwaysLTP(),
                             read_noise=False, drift=False)
    g = S.device_params.g_max
    for k in range(2):
        setattr(S, f"Gp{k}", 0.9 * g * siemens)
        setattr(S, f"Gm{k}", 0.7 * g * siemens)
    net = Network(pre, post, S)
    net.run(1.5 * ms)
    assert [int(S.nresetp0[0]), int(S.nresetp1[0])] == [1, 0] and int(S.nrefresh[0]) == 1
    net.run(1 * ms)
    assert [int(S.nresetp0[0]), int(S.nresetp1[0])] == [1, 1] and int(S.nrefresh[0]) == 2


# ------------------------------------------------------------------ export / import
def test_n_device_state_round_trips_through_hdf5(tmp_path):
    n_dev = 4
    pre, post, S = _pair_net(n_dev, n_syn=5, plasticity=AlwaysLTP(), initial_pulses=(3, 3),
                             seed=5)
    Network(pre, post, S).run(4.5 * ms)
    plus, minus = S.to_devices()
    assert plus.shape == minus.shape == (n_dev, 5)
    with h5py.File(tmp_path / "d.h5", "w") as f:
        write_array(f.create_group("plus"), plus)
        write_array(f.create_group("minus"), minus)
    with h5py.File(tmp_path / "d.h5") as f:
        back = read_array(f["plus"]), read_array(f["minus"])
    state = devices_to_synapse_state(*back, devices_per_synapse=n_dev)
    assert sorted(state) == sorted(synapse_device_vars(n_dev))
    for name in synapse_device_vars(n_dev):
        np.testing.assert_array_equal(state[name], getattr(S, name + "_")[:], err_msg=name)
    again = synapse_state_to_devices(state, plus.params, plus.time, seed=5,
                                     devices_per_synapse=n_dev)
    for a, b in zip((plus, minus), again):
        for f in ("conductance", "pulse_memory", "n_set", "n_reset", "n_read", "energy"):
            np.testing.assert_array_equal(getattr(b, f), getattr(a, f))


# ------------------------------------------------------------------ the clustering run
@pytest.mark.slow
@pytest.mark.parametrize("n_dev", [1, 2])
def test_tiny_clustering_run_resumes_exactly_with_the_counter(n_dev, tmp_path):
    """sidler2017 with 3 neurons, devices_per_synapse from the network definition, Brian2
    runtime (numpy): interrupted after one chunk and resumed = uninterrupted, the
    checkpoint holds the arbitration counter."""
    from mnist_support import mnist_data

    from neuropcm.errors import RunInterrupted
    from neuropcm.snn.config import load_network
    from neuropcm.workloads._checkpoint import load_checkpoint
    from neuropcm.workloads.spiking._mnist_run import run_clustering

    cfg = load_network("sidler2017", [f"synapses.devices_per_synapse={n_dev}",
                                      "neurons.n=3", "simulation.chunk=4",
                                      f"name=tiny-multi{n_dev}"])
    assert cfg.synapses.devices_per_synapse == n_dev
    data = mnist_data()
    kw = {"n_train": 8, "n_test": 4, "n_assign": 4, "seed": 2, "progress": False,
          "mode": "runtime", "runtime_target": "numpy"}
    full = run_clustering(cfg, data, out=tmp_path / "full.h5", **kw)
    part = tmp_path / "part.h5"
    with pytest.raises(RunInterrupted, match="holds 1 of 2"):
        run_clustering(cfg, data, out=part, stop_after_chunks=1, **kw)
    cp = load_checkpoint(tmp_path / "part.h5.ckpt.h5")
    if n_dev > 1:
        arb = cp.state["syn.arb"]
        assert arb.shape == (784 * 3,) and set(np.unique(arb)) <= set(range(n_dev))
        assert "syn.Gp1" in cp.state and "syn.Gp" not in cp.state
    else:
        assert "syn.arb" not in cp.state
    res = run_clustering(cfg, data, out=part, resume=True, **kw)
    assert res["n_set"] == full["n_set"] and res["test_accuracy"] == full["test_accuracy"]
    with h5py.File(tmp_path / "full.h5") as a, h5py.File(part) as b:
        for name in ("devices/plus/G", "devices/minus/n_set", "network/weights",
                     "results/test_counts"):
            np.testing.assert_array_equal(a[name][()], b[name][()], err_msg=name)
        assert a["devices/plus/G"].shape == ((n_dev, 784 * 3) if n_dev > 1 else (784 * 3,))
    if n_dev > 1:  # the crossbar readout reads one pair per synapse: refused, not misread
        from neuropcm.workloads.spiking.snn_crossbar import _network
        with pytest.raises(ParameterError, match=f"devices_per_synapse = {n_dev}.*give a"):
            _network(str(tmp_path / "full.h5"))


# ------------------------------------------------------------------ bad values
@pytest.mark.parametrize("bad", [0, 17, 2.5, True, "4"])
def test_bad_device_counts_are_refused_with_the_fix(bad):
    pre = SpikeGeneratorGroup(1, [], [] * ms)
    post = NeuronGroup(1, "v : 1")
    with pytest.raises(ParameterError) as e:
        PCMSynapses(pre, post, w_scale=1 / siemens, devices_per_synapse=bad)
    msg = str(e.value)
    assert "\n" not in msg and f"devices_per_synapse = {bad!r}" in msg and "1..16" in msg


@pytest.mark.parametrize("bad, match", [("0", "= 0 is out of range: it must be >= 1"),
                                        ("17", "= 17 is out of range: it must be <= 16"),
                                        ("2.5", "= 2.5 must be a whole number")])
def test_network_definition_refuses_bad_device_counts(bad, match):
    from neuropcm.snn.config import load_network

    with pytest.raises(ParameterError, match=re.escape(f"synapses.devices_per_synapse {match}")):
        load_network("sidler2017", [f"synapses.devices_per_synapse={bad}"])


def test_memory_estimate_counts_every_device_of_a_synapse(tmp_path):
    """The clustering run's memory and time estimates grow with the devices per side: N
    devices hold N times one pair's state (the estimate that refuses too-large runs)."""
    from neuropcm.workloads.spiking.mnist_clustering import SYNAPSE_BYTES, MnistClusteringConfig

    base = (Path(__file__).resolve().parents[1] / "neuropcm" / "networks"
            / "sidler2017.toml").read_text()
    needs = {}
    for n in (1, 4):
        net = tmp_path / f"n{n}.toml"
        net.write_text(base.replace("devices_per_synapse = 1", f"devices_per_synapse = {n}"))
        cfg = MnistClusteringConfig(network=str(net))
        needs[n] = (cfg.memory_needs()[0].nbytes, cfg.run_estimate()[1])
    assert needs[1][0] == SYNAPSE_BYTES * 784 * 50
    assert needs[4][0] == 4 * needs[1][0]
    assert needs[4][1] > needs[1][1]
