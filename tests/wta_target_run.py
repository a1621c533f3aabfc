"""Run a deterministic PCM + WTA network in one Brian2 target and save its spikes.

Used by tests/test_snn_targets.py in a subprocess per target:
    python tests/wta_target_run.py TARGET OUT.npz [BUILD_DIR]
Deterministic: `ideal` devices (no noise), a fixed input spike pattern, two-window STDP,
WTA with reset inhibition and target-rate homeostasis; the synapses are made by two
connect() calls, read at 310 K, refreshed by the threshold rule (noisy reads) and wear out
after 20 writes, so every target runs that code too.
"""

import sys

import brian2 as b
import numpy as np

from neuropcm.snn import PCMSynapses, ThresholdRefresh, TwoWindowSTDP, WTALayer


def main(target, out, build_dir=None):
    if target == "cpp_standalone":
        b.set_device("cpp_standalone", directory=build_dir)
    else:
        b.prefs.codegen.target = target
    b.defaultclock.dt = 0.5 * b.ms
    rng = np.random.default_rng(0)
    n_in, n_out, T = 30, 6, 0.6
    times = np.sort(rng.uniform(0, T, 900))
    idx = rng.integers(0, n_in, 900)
    times = np.round(times / 0.0005) * 0.0005
    pairs = {(i, t) for i, t in zip(idx, times)}
    idx, times = map(np.array, zip(*sorted(pairs)))
    inp = b.SpikeGeneratorGroup(n_in, idx, times * b.second)
    wta = WTALayer(n_out, rate_target=8 * b.Hz, tau_homeo=0.2 * b.second, eta_homeo=2 * b.mV,
                   v_thresh=6 * b.mV, t_inhibit=3 * b.ms)
    syn = PCMSynapses(inp, wta, preset="ideal", plasticity=TwoWindowSTDP(10 * b.ms, 30 * b.ms),
                      w_scale=0.2 * b.mV / b.usiemens, read_noise=False,
                      refresh=ThresholdRefresh(max_pulses=40), temperature=310 * b.kelvin,
                      endurance=20)
    syn.connect(condition="j < 3")
    syn.connect(condition="j >= 3")
    syn.Gp = rng.uniform(2, 20, n_in * n_out) * b.usiemens
    syn.Gm = rng.uniform(0, 12, n_in * n_out) * b.usiemens
    mon = b.SpikeMonitor(wta)
    b.run(T * b.second)
    np.savez(out, i=np.asarray(mon.i[:]), t=np.asarray(mon.t_[:]), Gp=np.asarray(syn.Gp_[:]),
             Gm=np.asarray(syn.Gm_[:]), theta=np.asarray(wta.theta_[:]),
             **{k: np.asarray(getattr(syn, k)[:]) for k in
                ("nsetp", "nsetm", "nresetp", "nresetm", "nreadp", "nrefresh")})


if __name__ == "__main__":
    main(*sys.argv[1:])
