"""The training engine of ``mlp-train``: one loop for PCM crossbars and float references.

A network is a list of *layers*, each with ``read(A)`` (``W A``), ``read_t(D)``
(``W^T D``) and ``update(inp, D, lr)`` (gradient step ``W -= lr D inp^T`` by the layer's
own rule). :func:`train_epoch` runs minibatch SGD of a network (forward and backward of
:mod:`neuropcm.workloads.learning._mlp`); a crossbar network and its float references are trained
on the same examples in the same order (:func:`epoch_order`); :func:`evaluate` predicts
in batches through the same reads.

Layers:

* :class:`CrossbarLayer`: ``W`` in a differential PCM :class:`~neuropcm.crossbar.Crossbar`;
  forward and transposed crossbar reads; :meth:`Crossbar.update` (SET pulses only, the
  crossbar's rule ``deterministic``, ``stochastic`` or ``mixed``); occasional refresh.
* :class:`QuantisedLayer`: float weights changed by the same pulse rule as the crossbar
  (``W += counts * epsilon``, the same ``chi`` for ``mixed``, the same random stream for
  ``stochastic``): what an ideal device gives.
* :class:`FloatLayer`: plain float SGD (``W -= lr D inp^T``), the software reference.
"""

from __future__ import annotations

import numpy as np

from ...crossbar.update import rule_counts
from ...random import rng
from . import _mlp


class FloatLayer:
    """Plain float weights ``W`` (n_out, n_in + 1), updated ``W -= lr D inp^T``."""

    def __init__(self, W):
        self.W = np.array(W, dtype=float)

    def read(self, A):
        return self.W @ A

    def read_t(self, D):
        return self.W.T @ D

    def update(self, inp, D, lr):
        self.W -= lr * (D @ inp.T)

    def weights(self):
        return self.W


class QuantisedLayer(FloatLayer):
    """Float weights changed by a crossbar's pulse rule (see :meth:`Crossbar.update`).

    ``dW = (-lr) D inp^T``; ``deterministic``: ``counts = rint(dW / eps)``; ``mixed``:
    ``chi += dW``, ``counts = trunc(chi / eps)``, ``chi -= counts eps``; ``stochastic``:
    pulse coincidence, all by the crossbar's own :func:`~neuropcm.crossbar.update.rule_counts`,
    from the crossbar's stream ``(xb_seed, "crossbar", "updates")``, streams of ``pulse_length``
    slots. Then ``W += counts eps``. With ideal devices (exact linear steps, no noise, no
    saturation, no refresh) a crossbar under the same rule holds these weights.
    """

    def __init__(self, W, eps: float, mode: str, xb_seed: int, pulse_length: int):
        super().__init__(W)
        self.eps, self.mode, self.bl = float(eps), mode, int(pulse_length)
        self.chi = np.zeros_like(self.W)
        self.rng = rng(xb_seed, "crossbar", "updates")

    def update(self, inp, D, lr):
        self.W += rule_counts(self.mode, inp, D, -lr, self.eps, rng=self.rng,
                              pulse_length=self.bl, chi=self.chi) * self.eps


class CrossbarLayer:
    """A weight layer on a differential PCM crossbar ``xb`` updated in ``mode``; ``rule``
    is the refresh rule applied by :meth:`refresh` (None: never), open-loop or by
    program-and-verify (``verify``); ``arbitration`` shares the pulses among the devices
    of a side (:meth:`Crossbar.update`)."""

    def __init__(self, xb, mode: str, rule=None, verify: bool = False,
                 arbitration: str = "round-robin"):
        self.xb, self.mode, self.rule = xb, mode, rule
        self.verify, self.arbitration = bool(verify), arbitration

    def read(self, A):
        return self.xb.read(A)

    def read_t(self, D):
        return self.xb.read(D, transpose=True)

    def update(self, inp, D, lr):
        self.xb.update(inp, D, -lr, mode=self.mode, arbitration=self.arbitration)

    def refresh(self) -> int:
        return 0 if self.rule is None else self.xb.refresh(self.rule, verify=self.verify)

    def step(self, n: int) -> None:
        """``n`` examples were trained (nothing happens between them on PCM alone)."""

    def weights(self):
        """The mean read matrix now (weight units)."""
        return self.xb.effective_weights()[0]


def pcm_layer(c, xb, l: int):
    """The training layer of crossbar ``xb`` (layer ``l``) with the settings of an
    ``mlp-train`` config ``c``: update rule, refresh rule and write, arbitration; in mode
    ``3t1c`` wrapped with 3T1C fast weights
    (:class:`~neuropcm.workloads.learning._mlp_fast.FastSlowLayer`)."""
    from ._mlp_fast import FastSlowLayer

    layer = CrossbarLayer(xb, c.update_mode, c.refresh_rule(),
                          verify=c.refresh_write == "verify", arbitration=c.arbitration)
    return FastSlowLayer(layer, c, l) if c.mode == "3t1c" else layer


def ops(layers):
    """Forward and transposed product callables of a network's layers (for
    :func:`~neuropcm.workloads.learning._mlp.forward` / ``backward``)."""
    return [l.read for l in layers], [l.read_t for l in layers]


def epoch_order(seed, epoch: int, n: int) -> np.ndarray:
    """The order of the ``n`` training examples in epoch ``epoch``: the permutation of
    ``rng(seed, "mlp-train", "order", epoch)`` (as ``_mlp.train_float`` with path
    ``("mlp-train",)``)."""
    return rng(seed, "mlp-train", "order", epoch).permutation(n)


def train_epoch(net, X, y, order, *, lr: float, batch: int, activation: str,
                refresh_every: int | None = None, progress=None) -> int:
    """One pass of minibatch SGD of the network ``net`` (its layers) over ``X[:, order]``.

    Each minibatch (``batch`` columns): forward through the layers' reads, errors ``d_l``
    by backpropagation through the transposed reads, then every layer's
    ``update(inp_l, d_l, lr)``. After every ``refresh_every`` examples (None: never) each
    layer with a ``refresh`` method is refreshed. ``progress`` (a tqdm bar or None)
    advances by the examples done. Returns the number of pairs refreshed.
    """
    f, b = ops(net)
    n_ref = 0
    since = 0
    for s in range(0, len(order), batch):
        i = order[s:s + batch]
        inputs, pre, P = _mlp.forward(f, X[:, i], activation)
        deltas = _mlp.backward(b, pre, P, y[i], activation)
        for layer, D, inp in zip(net, deltas, inputs):
            layer.update(inp, D, lr)
            if hasattr(layer, "step"):  # time passes: 3T1C decay and transfers
                layer.step(len(i))
        since += len(i)
        if refresh_every is not None and since >= refresh_every:
            since = 0
            n_ref += sum(layer.refresh() for layer in net if hasattr(layer, "refresh"))
        if progress is not None:
            progress.update(len(i))
    return n_ref


def evaluate(layers, X, y, activation: str, batch: int = 1000) -> tuple[float, np.ndarray]:
    """Accuracy and predictions of a network on ``X`` (features, N), labels ``y``."""
    pred = _mlp.predict(ops(layers)[0], X, activation, batch=batch)
    return float(np.mean(pred == y)), pred
