"""Poisson inputs -> differential 2-PCM synapses with two-window STDP -> WTA layer.

The smallest useful NeuroPCM network, written as an ordinary Brian2 script:
    python networks/example_pcm_wta.py
"""
from brian2 import Hz, PoissonGroup, SpikeMonitor, mV, ms, run, second, seed, usiemens

from neuropcm.snn import PCMSynapses, TwoWindowSTDP, WTALayer

seed(1)
inputs = PoissonGroup(100, rates="(10 + 40 * (i < 50)) * Hz")       # half the inputs are busy
layer = WTALayer(10, v_thresh=15 * mV, rate_target=5 * Hz)           # exact WTA + homeostasis
syn = PCMSynapses(inputs, layer, preset="nandakumar2018",            # G+ - G- per synapse
                  plasticity=TwoWindowSTDP(dT_pot=20 * ms, dT_dep=40 * ms),
                  refresh="threshold", w_scale=0.3 * mV / usiemens, initial_pulses=(4, 4))
syn.connect()
spikes = SpikeMonitor(layer)
run(2 * second)

w = (syn.Gp - syn.Gm) / usiemens
print(f"{spikes.num_spikes} output spikes; SET pulses {sum(syn.nsetp) + sum(syn.nsetm)}, "
      f"RESETs {sum(syn.nresetp) + sum(syn.nresetm)}, energy "
      f"{float(sum(syn.energyp) + sum(syn.energym)) * 1e9:.2f} nJ")
print(f"mean weight from busy inputs {w[syn.i < 50].mean():.2f} uS, "
      f"from quiet inputs {w[syn.i >= 50].mean():.2f} uS")
