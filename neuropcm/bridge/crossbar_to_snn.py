"""Crossbar -> SNN: a classifier stored on a crossbar, run as a rate-coded spiking network.

A single-layer softmax classifier (:func:`train_softmax`, numpy, seeded) is stored on a
differential crossbar with its bias as one more input held at the top rate. The spiking
network (:func:`run_rate_snn`, Brian2) has Poisson inputs at ``rate = x * max_rate`` and
one non-leaky integrate-and-fire neuron per class, ``v += w/theta`` per input spike,
threshold 1, reset ``v -= 1`` (charge is conserved, so a neuron's count over ``T`` is
``floor(max(0, sum_i w_i n_i)/theta)`` of its input counts ``n_i``: the crossbar's MVM of
the spike counts). The weights are the crossbar's mean reads at its current time
(:meth:`Crossbar.effective_weights`), i.e. the very device arrays' state; read noise is
averaged out over the many spikes of a presentation. The prediction is the neuron with the
most spikes, ties broken by the membrane potential left at the end.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError, ShapeError
from ..random import int_seed, rng


def train_softmax(x, y, seed, *, classes: int = 10, epochs: int = 5, lr: float = 0.5,
                  batch: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by minibatch SGD on the cross-entropy.

    ``x`` (examples, features) in [0, 1], ``y`` classes; the order of examples comes from
    ``neuropcm.random.rng(seed, "bridge", "softmax", epoch)``. Returns ``W`` (classes,
    features) and ``b`` (classes,).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, int)
    if x.ndim != 2 or y.shape != (len(x),):
        raise ShapeError(f"x {x.shape} and y {y.shape} must be (examples, features), "
                         f"(examples,)")
    W = np.zeros((classes, x.shape[1]))
    b = np.zeros(classes)
    onehot = np.eye(classes)[y]
    for ep in range(epochs):
        order = rng(seed, "bridge", "softmax", ep).permutation(len(x))
        for s in range(0, len(x), batch):
            i = order[s:s + batch]
            z = x[i] @ W.T + b
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            g = (p - onehot[i]) / len(i)
            W -= lr * g.T @ x[i]
            b -= lr * g.sum(0)
    return W, b


def with_bias(x) -> np.ndarray:
    """Inputs with the constant bias input 1 appended (examples, features + 1)."""
    x = np.asarray(x, float)
    return np.hstack([x, np.ones((len(x), 1))])


def run_rate_snn(weights, x, *, max_rate: float = 100.0, duration: float = 0.5,
                 dt: float = 1e-3, spikes_top: float = 40.0, seed=0) -> np.ndarray:
    """Run ``weights`` (classes, inputs) as a rate-coded IF network on ``x``.

    Parameters
    ----------
    weights : ndarray (classes, inputs)
        Synaptic weights (weight units, e.g. ``xb.effective_weights()[0]``).
    x : ndarray (examples, inputs)
        Relative input rates in [0, 1] (the bias input included).
    max_rate, duration, dt : float
        Top input rate (Hz), presentation time and time step (s).
    spikes_top : float
        The threshold ``theta`` is set so that the largest mean drive of the batch gives
        about this many output spikes.
    seed : int
        Brian2's random numbers come from ``neuropcm.random.int_seed(seed, "bridge",
        "snn")``.

    Returns
    -------
    ndarray (examples, classes)
        Spike counts plus the final membrane potential (in [0, 1) for a neuron that
        spiked): an exact tie-break of equal counts.
    """
    import brian2 as b

    Wt = np.asarray(weights, float)
    x = np.asarray(x, float)
    if Wt.ndim != 2 or x.ndim != 2 or x.shape[1] != Wt.shape[1]:
        raise ShapeError(f"weights {Wt.shape} and x {x.shape} do not fit")
    if x.min() < 0 or x.max() > 1 or max_rate * dt > 1:
        raise ParameterError("x must lie in [0, 1] and max_rate * dt <= 1")
    n_ex, n_in = x.shape
    n_cl = Wt.shape[0]
    drive = (x @ Wt.T) * max_rate * duration
    theta = max(float(drive.max()), 1e-300) / spikes_top
    b.start_scope()
    b.seed(int_seed(seed, "bridge", "snn"))
    inp = b.PoissonGroup(n_ex * n_in, rates=x.ravel() * max_rate * b.Hz, dt=dt * b.second)
    out = b.NeuronGroup(n_ex * n_cl, "v : 1", threshold="v >= 1", reset="v -= 1",
                        method="exact", dt=dt * b.second)
    syn = b.Synapses(inp, out, "w : 1", on_pre="v_post += w", dt=dt * b.second)
    ex, k, c = np.meshgrid(np.arange(n_ex), np.arange(n_in), np.arange(n_cl), indexing="ij")
    syn.connect(i=(ex * n_in + k).ravel(), j=(ex * n_cl + c).ravel())
    syn.w = np.broadcast_to(Wt.T[None] / theta, (n_ex, n_in, n_cl)).ravel()
    mon = b.SpikeMonitor(out)
    net = b.Network(inp, out, syn, mon)
    net.run(duration * b.second, namespace={})
    counts = np.bincount(np.asarray(mon.i[:]), minlength=n_ex * n_cl).astype(float)
    return (counts + np.asarray(out.v[:])).reshape(n_ex, n_cl)
