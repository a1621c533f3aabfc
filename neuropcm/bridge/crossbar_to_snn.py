"""Crossbar -> SNN: an MLP stored on crossbars, run as a rate-coded spiking network.

A one-hidden-layer MLP (:func:`train_mlp`, numpy minibatch SGD, ReLU hidden layer,
softmax output, float-trained) is mapped to two differential crossbars
(:func:`mlp_crossbars`), each bias stored as one more input row held at the top rate.
The hidden activations are carried as relative rates ``h = relu(a) / s`` with ``s``
the hidden scale (:attr:`MLP.scale`, a high percentile of the training activations), so
the second crossbar stores ``[s W2 | b2]`` and its outputs equal the float logits
``W2 relu(a) + b2`` exactly (:func:`crossbar_mlp_logits`: ``xb1 -> ReLU -> xb2`` on the
crossbars' reads).

The spiking network (:func:`run_mlp_snn`, Brian2) has Poisson inputs at ``x R``
(``R = max_rate``) and two layers of non-leaky integrate-and-fire neurons, ``v += w /
theta`` per presynaptic spike, threshold 1, reset by subtraction ``v -= 1``.

Rate relation. Reset by subtraction conserves charge: after time ``T`` a neuron's count
``n`` and potential ``v`` satisfy ``n + v = Q(T)``, the integrated input ``Q(T) = sum_i
w_i N_i(T) / theta`` (``N_i`` the presynaptic counts), and ``v < 1``; so for a positive
mean current ``I = sum_i w_i r_i`` (weight units per second) the count is ``floor(Q(T))``
up to excursions and ``rate -> max(0, I) / theta``, while a negative mean current gives
(almost) no spikes: the neuron computes a ReLU of its input current. With
``theta_1 = s`` (the hidden scale, weight units) the hidden rate is
``R relu(W1 [x, 1]) / s = R h``: the crossbar's hidden relative rate, times ``R``. The
output neurons (``theta_2`` set so the largest mean drive gives about ``spikes_top``
spikes) get ``I = R (s W2 h + b2)``, the logits times ``R``; the class is the output
neuron with the most spikes, ties broken by the potential left at the end.

Weights are the crossbars' mean reads at their current time
(:meth:`Crossbar.effective_weights`): the very device arrays' state, read noise averaged
over the many spikes of a presentation.

Arguments are checked before any work (one-line errors naming the value and the fix):
training inputs must be finite relative rates in [0, 1], labels whole numbers in
``[0, classes)``; times and rates may be Brian2 quantities or plain SI numbers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import ParameterError, ShapeError
from ..random import check_seed, int_seed, rng
from .. import checks as chk


class MLP(NamedTuple):
    """A float MLP ``x -> relu(W1 x + b1) -> W2 h + b2``; ``scale`` (> 0) is the hidden
    activation that maps to the top rate (the 99.5th percentile of the training
    subset's positive hidden activations)."""

    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    scale: float

    def hidden(self, x) -> np.ndarray:
        """ReLU hidden activations (examples, hidden)."""
        return np.maximum(np.asarray(x, float) @ self.W1.T + self.b1, 0.0)

    def logits(self, x) -> np.ndarray:
        """Output logits (examples, classes)."""
        return self.hidden(x) @ self.W2.T + self.b2


def _check_training(x, y, seed, *, classes, epochs, lr, batch, hidden=None):
    """The one check of :func:`train_mlp`'s and :func:`train_softmax`'s arguments.

    Returns ``x`` (float, finite, in [0, 1]), ``y`` (int64, in ``[0, classes)``) and the
    hyper-parameters ``classes, epochs, lr, batch, hidden`` (``hidden`` None for softmax).
    """
    check_seed(seed)
    classes = chk.count(classes, "classes", lo=1)
    epochs = chk.count(epochs, "epochs", lo=1)
    batch = chk.count(batch, "batch", lo=1)
    if hidden is not None:
        hidden = chk.count(hidden, "hidden", lo=1)
    lr = chk.scalar(lr, "lr", sign="positive")
    x = chk.real(x, "x", what="input")
    y = chk.numeric(y, "y", kinds="iuf")
    if x.ndim != 2 or 0 in x.shape or y.shape != (len(x),):
        raise ShapeError(f"x {x.shape} and y {y.shape} must be (examples, features), "
                         f"(examples,) with at least one example and one feature")
    if x.min() < 0 or x.max() > 1:
        bad = float(x.min() if x.min() < 0 else x.max())
        raise ParameterError(f"x contains {bad!r}; inputs must lie in [0, 1]: give relative "
                             f"rates (e.g. relative_rates(images))")
    y = chk.whole_numbers(y, "y", "label")
    if y.min() < 0:
        raise ParameterError(f"y contains the label {int(y.min())}; labels must be whole "
                             f"numbers in [0, classes) = [0, {classes}): fix the labels")
    if y.max() >= classes:
        raise ParameterError(f"y contains the label {int(y.max())}; labels must be whole "
                             f"numbers in [0, classes) = [0, {classes}): pass classes > "
                             f"{int(y.max())} or fix the labels")
    return x, y, classes, epochs, lr, batch, hidden


def _check_trained(lr, *weights) -> None:
    """Refuse weights that diverged during training (NaN/Inf)."""
    for w in weights:
        if not np.all(np.isfinite(w)):
            raise ParameterError(f"training diverged (the weights became NaN/Inf) with "
                                 f"lr = {lr!r}; lower lr")


def train_mlp(x, y, seed, *, hidden: int = 64, classes: int = 10, epochs: int = 5,
              lr: float = 0.1, batch: int = 50) -> MLP:
    """A one-hidden-layer ReLU MLP by minibatch SGD on the softmax cross-entropy.

    ``x`` (examples, features) in [0, 1], ``y`` classes (whole numbers in ``[0,
    classes)``). Initial weights (He-uniform) and the order of examples come from
    ``neuropcm.random.rng(seed, "bridge", "mlp", ...)``.

    Raises
    ------
    ParameterError
        NaN/Inf or out-of-range inputs or labels; ``hidden``, ``classes``, ``epochs``,
        ``batch`` not whole numbers >= 1; ``lr`` not a finite number > 0; training that
        diverged.
    ShapeError
        ``x``, ``y`` not (examples, features), (examples,).
    """
    x, y, classes, epochs, lr, batch, hidden = _check_training(
        x, y, seed, classes=classes, epochs=epochs, lr=lr, batch=batch, hidden=hidden)
    g = rng(seed, "bridge", "mlp", "init")
    d = x.shape[1]
    W1 = g.uniform(-1, 1, (hidden, d)) * np.sqrt(6.0 / d)
    W2 = g.uniform(-1, 1, (classes, hidden)) * np.sqrt(6.0 / hidden)
    b1, b2 = np.zeros(hidden), np.zeros(classes)
    onehot = np.eye(classes)[y]
    for ep in range(epochs):
        order = rng(seed, "bridge", "mlp", "epoch", ep).permutation(len(x))
        for s in range(0, len(x), batch):
            i = order[s:s + batch]
            a = x[i] @ W1.T + b1
            h = np.maximum(a, 0.0)
            z = h @ W2.T + b2
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            gz = (p - onehot[i]) / len(i)
            ga = (gz @ W2) * (a > 0)
            W2 -= lr * gz.T @ h
            b2 -= lr * gz.sum(0)
            W1 -= lr * ga.T @ x[i]
            b1 -= lr * ga.sum(0)
    _check_trained(lr, W1, b1, W2, b2)
    hpos = np.maximum(x @ W1.T + b1, 0.0)
    hpos = hpos[hpos > 0]
    scale = float(np.percentile(hpos, 99.5)) if hpos.size else 1.0
    return MLP(W1, b1, W2, b2, scale)


def train_softmax(x, y, seed, *, classes: int = 10, epochs: int = 5, lr: float = 0.5,
                  batch: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by minibatch SGD (the single-layer baseline).

    Order of examples from ``neuropcm.random.rng(seed, "bridge", "softmax", epoch)``.
    Returns ``W`` (classes, features) and ``b`` (classes,). The arguments are checked as
    by :func:`train_mlp` (the same check).
    """
    x, y, classes, epochs, lr, batch, _ = _check_training(
        x, y, seed, classes=classes, epochs=epochs, lr=lr, batch=batch)
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
    _check_trained(lr, W, b)
    return W, b


def with_bias(x) -> np.ndarray:
    """Inputs with the constant bias input 1 appended (examples, features + 1); ``x``
    (examples, features) finite."""
    x = chk.real(x, "x", what="input")
    if x.ndim != 2:
        raise ShapeError(f"x has shape {x.shape}; give (examples, features) (one example: "
                         f"x[None])")
    return np.hstack([x, np.ones((len(x), 1))])


def _check_mlp(mlp) -> None:
    """Refuse anything but an :class:`MLP` of finite, consistent weights and scale > 0."""
    if not isinstance(mlp, MLP):
        raise ParameterError(f"mlp is a {type(mlp).__name__}, not an MLP; give the result "
                             f"of train_mlp()")
    ws = {k: chk.real(getattr(mlp, k), f"mlp.{k}", what="weight")
          for k in ("W1", "b1", "W2", "b2")}
    W1, b1, W2, b2 = ws.values()
    if not (W1.ndim == 2 and W2.ndim == 2 and b1.shape == (W1.shape[0],)
            and W2.shape[1] == W1.shape[0] and b2.shape == (W2.shape[0],)):
        raise ShapeError(f"mlp.W1 {ws['W1'].shape}, b1 {ws['b1'].shape}, W2 {ws['W2'].shape}, "
                         f"b2 {ws['b2'].shape} do not fit (hidden, inputs), (hidden,), "
                         f"(classes, hidden), (classes,)")
    chk.scalar(mlp.scale, "mlp.scale", sign="positive")


def _check_crossbars(xb1, xb2, n_in: int | None = None) -> None:
    """Refuse objects that are not crossbars, or (given ``n_in``) crossbars that do not
    chain as ``(hidden, n_in + 1)``, ``(classes, hidden + 1)``."""
    for name, xb in (("xb1", xb1), ("xb2", xb2)):
        if not (hasattr(xb, "effective_weights") and hasattr(xb, "shape")):
            raise ParameterError(f"{name} is a {type(xb).__name__}, not a crossbar; give the "
                                 f"crossbars of mlp_crossbars()")
    if n_in is None:
        return
    if xb1.shape[1] != n_in + 1 or xb2.shape[1] != xb1.shape[0] + 1:
        raise ShapeError(f"crossbars {tuple(xb1.shape)}, {tuple(xb2.shape)} and {n_in} inputs "
                         f"do not fit (xb1: hidden x (inputs+1), xb2: classes x (hidden+1))")


def _snn_args(x, max_rate, duration, dt, spikes_top, seed):
    """The checks shared by :func:`run_mlp_snn` and :func:`run_rate_snn`: ``x`` (float,
    finite, 2-d) relative rates in [0, 1], at least one example; ``max_rate`` (Hz),
    ``duration``, ``dt`` (s) finite > 0, ``max_rate * dt <= 1``, ``duration`` a whole
    number of steps; ``spikes_top`` finite > 0; ``seed`` a seed. Returns the numbers."""
    if len(x) == 0:
        raise ShapeError(f"x has shape {x.shape}; give at least one example")
    if x.min() < 0 or x.max() > 1:
        bad = float(x.min() if x.min() < 0 else x.max())
        raise ParameterError(f"x must lie in [0, 1] but contains {bad!r}; give relative rates "
                             f"(pixel/255, see relative_rates)")
    max_rate = chk.scalar(max_rate, "max_rate", "Hz", sign="positive")
    duration = chk.scalar(duration, "duration", "s", sign="positive")
    dt = chk.scalar(dt, "dt", "s", sign="positive")
    spikes_top = chk.scalar(spikes_top, "spikes_top", sign="positive")
    if max_rate * dt > 1:
        raise ParameterError(f"max_rate {max_rate!r} Hz * dt {dt!r} s = {max_rate * dt!r} > 1: "
                             f"the Bernoulli step cannot represent it; use a smaller dt")
    chk.whole_steps(duration, dt)
    check_seed(seed)
    return max_rate, duration, dt, spikes_top


def mlp_crossbars(mlp: MLP, preset="joshi2020", *, seed=0, **options):
    """The two layers of ``mlp`` on differential crossbars: ``[W1 | b1]`` and
    ``[s W2 | b2]`` (``s = mlp.scale``); seeds ``int_seed(seed, "bridge", "layer", k)``.
    ``options`` go to both :class:`~neuropcm.crossbar.Crossbar` objects."""
    from ..crossbar import Crossbar

    _check_mlp(mlp)
    m1 = np.hstack([mlp.W1, mlp.b1[:, None]])
    m2 = np.hstack([mlp.scale * mlp.W2, mlp.b2[:, None]])
    return (Crossbar(m1, preset, seed=int_seed(seed, "bridge", "layer", 1), **options),
            Crossbar(m2, preset, seed=int_seed(seed, "bridge", "layer", 2), **options))


def crossbar_mlp_logits(xb1, xb2, x, scale: float) -> np.ndarray:
    """Logits of the crossbar MLP: ``xb2 @ [relu(xb1 @ [x, 1]) / scale, 1]`` on the
    crossbars' reads (read noise, periphery and compensation included); (examples,
    classes)."""
    scale = chk.scalar(scale, "scale", sign="positive")
    xr = with_bias(x)
    _check_crossbars(xb1, xb2, xr.shape[1] - 1)
    h = np.maximum((xb1 @ xr.T).T, 0.0) / scale
    return (xb2 @ with_bias(h).T).T


class SNNResult(NamedTuple):
    """Spike counts of a presentation: ``hidden`` (examples, hidden), ``output``
    (examples, classes), ``v_output`` the output potentials left at the end, ``theta``
    the two thresholds (weight units)."""

    hidden: np.ndarray
    output: np.ndarray
    v_output: np.ndarray
    theta: tuple

    def predictions(self) -> np.ndarray:
        """Most output spikes; ties broken by the potential left at the end."""
        top = self.output == self.output.max(1, keepdims=True)
        return np.argmax(np.where(top, self.v_output, -np.inf), 1)


def run_mlp_snn(w1, w2, x, scale: float, *, max_rate: float = 100.0,
                duration: float = 0.5, dt: float = 1e-3, spikes_top: float = 40.0,
                seed=0) -> SNNResult:
    """Run a two-layer MLP as a rate-coded IF network on ``x`` (see the module notes).

    Parameters
    ----------
    w1, w2 : ndarray (hidden, inputs + 1), (classes, hidden + 1)
        The layers' weights, bias column last (e.g. ``xb.effective_weights()[0]``).
    x : ndarray (examples, inputs)
        Relative input rates in [0, 1] (without the bias input).
    scale : float
        Hidden scale ``s`` (weight units): the hidden threshold ``theta_1``.
    max_rate, duration, dt : float
        Top rate (Hz; the bias inputs fire at it), presentation time and step (s).
    spikes_top : float
        ``theta_2`` is set so the largest mean output drive of the batch gives about this
        many spikes.
    seed : int
        Brian2's random numbers come from ``neuropcm.random.int_seed(seed, "bridge",
        "mlp-snn")``.
    """
    w1 = chk.real(w1, "w1", what="weight")
    w2 = chk.real(w2, "w2", what="weight")
    x = chk.real(x, "x", what="relative rate")
    if (w1.ndim != 2 or w2.ndim != 2 or x.ndim != 2 or x.shape[1] + 1 != w1.shape[1]
            or w2.shape[1] != w1.shape[0] + 1):
        raise ShapeError(f"w1 {w1.shape}, w2 {w2.shape} and x {x.shape} do not fit "
                         f"(w1: hidden x (inputs+1), w2: classes x (hidden+1))")
    max_rate, duration, dt, spikes_top = _snn_args(x, max_rate, duration, dt, spikes_top,
                                                   seed)
    scale = chk.scalar(scale, "scale", sign="positive")

    import brian2 as b

    n_ex, n_in = x.shape
    n_h, n_cl = w1.shape[0], w2.shape[0]
    # theta_2 from the rate relation applied to the mean drives
    h = np.maximum(with_bias(x) @ w1.T, 0.0) / scale
    drive = (with_bias(h) @ w2.T) * max_rate * duration
    theta2 = max(float(drive.max()), 1e-300) / spikes_top
    b.start_scope()
    step = dt * b.second
    # explicit orders: objects of equal order run in name order, and Brian2's names carry
    # a process-wide counter, so the two generators' draws would swap between calls
    inp = b.PoissonGroup(n_ex * n_in, rates=x.ravel() * max_rate * b.Hz, dt=step, order=0)
    bias = b.PoissonGroup(n_ex, rates=max_rate * b.Hz, dt=step, order=1)
    hid = b.NeuronGroup(n_ex * n_h, "v : 1", threshold="v >= 1", reset="v -= 1",
                        method="exact", dt=step)
    out = b.NeuronGroup(n_ex * n_cl, "v : 1", threshold="v >= 1", reset="v -= 1",
                        method="exact", dt=step)
    syns = []
    for pre, post, w, theta, n_pre, n_post in (
            (inp, hid, w1[:, :-1], scale, n_in, n_h), (bias, hid, w1[:, -1:], scale, 1, n_h),
            (hid, out, w2[:, :-1], theta2, n_h, n_cl), (bias, out, w2[:, -1:], theta2, 1, n_cl)):
        s = b.Synapses(pre, post, "w : 1", on_pre="v_post += w", dt=step)
        ex, k, c = np.meshgrid(np.arange(n_ex), np.arange(n_pre), np.arange(n_post),
                               indexing="ij")
        s.connect(i=(ex * n_pre + k).ravel(), j=(ex * n_post + c).ravel())
        s.w = np.broadcast_to(w.T[None] / theta, (n_ex, n_pre, n_post)).ravel()
        syns.append(s)
    mh, mo = b.SpikeMonitor(hid), b.SpikeMonitor(out)
    net = b.Network(inp, bias, hid, out, *syns, mh, mo)
    b.seed(int_seed(seed, "bridge", "mlp-snn"))
    net.run(duration * b.second, namespace={})
    ch = np.bincount(np.asarray(mh.i[:]), minlength=n_ex * n_h).reshape(n_ex, n_h)
    co = np.bincount(np.asarray(mo.i[:]), minlength=n_ex * n_cl).reshape(n_ex, n_cl)
    return SNNResult(ch, co, np.asarray(out.v[:]).reshape(n_ex, n_cl), (scale, theta2))


def run_crossbar_mlp_snn(xb1, xb2, x, scale: float, **kw) -> SNNResult:
    """:func:`run_mlp_snn` with the weights read now from the crossbars ``xb1``, ``xb2``
    (their mean reads over their device arrays at their current time)."""
    _check_crossbars(xb1, xb2)
    return run_mlp_snn(xb1.effective_weights()[0], xb2.effective_weights()[0], x, scale,
                       **kw)


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
    Wt = chk.real(weights, "weights", what="weight")
    x = chk.real(x, "x", what="relative rate")
    if Wt.ndim != 2 or x.ndim != 2 or x.shape[1] != Wt.shape[1]:
        raise ShapeError(f"weights {Wt.shape} and x {x.shape} do not fit: give weights "
                         f"(classes, inputs) and x (examples, inputs)")
    max_rate, duration, dt, spikes_top = _snn_args(x, max_rate, duration, dt, spikes_top,
                                                   seed)

    import brian2 as b

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
