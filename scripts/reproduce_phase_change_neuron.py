"""Reproduce the phase-change neuron of Tuma et al. (Nat. Nanotechnol. 2016; seed tutorial
Fig. 13) with :class:`neuropcm.snn.PhaseChangeNeurons`.

Each neuron's membrane is one PCM device (``nandakumar2018`` preset); every input event is
a crystallising SET pulse whose amplitude is the input strength; the neuron fires when G
exceeds the threshold and is RESET. Three experiments:

1. firing rate vs input strength (regular 200 Hz pulse trains),
2. inter-spike-interval histograms at three strengths,
3. a population of neurons tracking a fast input signal: the population rate follows the
   signal with a lower error than any single neuron's rate.

Writes an HDF5 file and a PNG made from it::

    python scripts/reproduce_phase_change_neuron.py [--out pcn.h5] [--plot pcn.png] [--seed 1]
"""

from __future__ import annotations

import argparse
import time

import brian2 as b
import numpy as np

from neuropcm.analysis.plots import plot_phase_change_neuron
from neuropcm.io import atomic_h5, write_config, write_dataset
from neuropcm.snn import PhaseChangeNeurons

PULSE_RATE = 200 * b.Hz
G_TH = 6 * b.usiemens


def _pulses():
    # one source that fires at PULSE_RATE: a regular pulse train
    return b.SpikeGeneratorGroup(1, [0], [0] * b.ms, period=1 / PULSE_RATE, name="pulser*")


def rate_vs_strength(strengths, per, duration):
    b.start_scope()
    n = len(strengths) * per
    neu = PhaseChangeNeurons(n, G_threshold=G_TH)
    src = _pulses()
    syn = neu.input_synapses(src)
    syn.connect()
    syn.w = np.repeat(strengths, per)
    mon = b.SpikeMonitor(neu)
    b.run(duration)
    counts = np.bincount(mon.i, minlength=n).reshape(len(strengths), per)
    trains = mon.spike_trains()
    return counts / float(duration), trains


def population_tracking(n, duration, seed):
    b.start_scope()
    dt_sig = 1 * b.ms
    t_sig = np.arange(int(duration / dt_sig)) * float(dt_sig)
    signal = (0.55 + 0.25 * np.sin(2 * np.pi * 3 * t_sig)
              + 0.15 * np.sin(2 * np.pi * 7.3 * t_sig + 1))
    stim = b.TimedArray(signal, dt=dt_sig)
    neu = PhaseChangeNeurons(n, G_threshold=G_TH)
    src = _pulses()
    syn = neu.input_synapses(src)
    syn.connect()
    syn.run_regularly("w = stim(t)", dt=dt_sig)
    syn.namespace["stim"] = stim
    mon = b.SpikeMonitor(neu)
    # random start states so that the population is not synchronised
    neu.G = f"rand() * {float(G_TH)}*siemens"
    b.run(duration)
    return t_sig, signal, np.asarray(mon.i[:]), np.asarray(mon.t_[:])


def tracking_errors(t, signal, i, ts, n, bin_s=0.02, smooth_bins=3):
    """Normalised RMS error of the best linear fit of the signal from each single neuron's
    rate and from the population rate (binned, smoothed)."""
    edges = np.arange(0, t[-1] + bin_s, bin_s)
    centres = 0.5 * (edges[1:] + edges[:-1])
    sig = np.interp(centres, t, signal)
    kernel = np.ones(smooth_bins) / smooth_bins

    def err(rate):
        r = np.convolve(rate, kernel, mode="same")
        A = np.vstack([r, np.ones_like(r)]).T
        coef, *_ = np.linalg.lstsq(A, sig, rcond=None)
        return float(np.sqrt(np.mean((A @ coef - sig) ** 2)) / sig.std())

    single = np.array([err(np.histogram(ts[i == k], edges)[0].astype(float)) for k in range(n)])
    pop_rate = np.histogram(ts, edges)[0].astype(float)
    return centres, sig, pop_rate / (n * bin_s), single, err(pop_rate)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="pcn.h5")
    ap.add_argument("--plot", default="pcn.png")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--neurons", type=int, default=200, help="population size (>= 100)")
    args = ap.parse_args()
    b.prefs.codegen.target = "numpy"
    b.seed(args.seed)
    b.defaultclock.dt = 0.5 * b.ms
    t0 = time.time()
    strengths = np.linspace(0.1, 1.0, 10)
    rates, trains = rate_vs_strength(strengths, per=20, duration=5 * b.second)
    isi = {}
    for k in (1, 4, 9):
        isi[k] = np.concatenate([np.diff(np.asarray(trains[j] / b.second))
                                 for j in range(k * 20, (k + 1) * 20)])
    t, signal, i, ts = population_tracking(args.neurons, 3 * b.second, args.seed)
    centres, sig, pop, single, pop_err = tracking_errors(t, signal, i, ts, args.neurons)
    with atomic_h5(args.out, kind="phase_change_neuron") as f:
        write_config(f, {"seed": args.seed, "neurons": args.neurons, "preset": "nandakumar2018",
                         "pulse_rate_Hz": float(PULSE_RATE), "G_threshold_S": float(G_TH)})
        g = f.create_group("results")
        write_dataset(g, "strength", strengths, "1")
        write_dataset(g, "rate", rates, "Hz")
        for k, v in isi.items():
            write_dataset(g, f"isi/strength_{strengths[k]:.1f}", v, "s",
                          strength=float(strengths[k]))
        write_dataset(g, "tracking/time", centres, "s")
        write_dataset(g, "tracking/signal", sig, "1")
        write_dataset(g, "tracking/population_rate", pop, "Hz")
        write_dataset(g, "tracking/single_error", single, "1")
        g.attrs["population_error"] = pop_err
        g.attrs["best_single_error"] = float(single.min())
        g.attrs["median_single_error"] = float(np.median(single))
    plot_phase_change_neuron(args.out, args.plot)
    mean_rates = rates.mean(1)
    print(f"rate vs strength (Hz): " + ", ".join(f"{s:.1f}:{r:.1f}"
                                                  for s, r in zip(strengths, mean_rates)))
    for k, v in isi.items():
        print(f"ISI at strength {strengths[k]:.1f}: mean {1e3 * v.mean():.1f} ms, "
              f"CV {v.std() / v.mean():.2f}")
    print(f"tracking error (normalised RMS): population of {args.neurons}: {pop_err:.3f}; "
          f"single neurons: best {single.min():.3f}, median {np.median(single):.3f}")
    print(f"population beats every single neuron: {pop_err < single.min()}")
    print(f"wrote {args.out} and {args.plot} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
