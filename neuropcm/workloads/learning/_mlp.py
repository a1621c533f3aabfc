"""The multilayer perceptron of the MLP workloads: float math shared by every engine.

A network ``sizes = (n_0, n_1, ..., n_L)`` has weight layers ``W_l`` of shape
``(n_l, n_{l-1} + 1)``: the last column is the bias, fed by a constant input 1 (on a
crossbar: one more word line held at the top input). Examples are **columns**
(``(features, batch)``), the crossbar's convention (``xb @ X``).

Forward (``f`` the hidden activation, softmax at the output)::

    a_l = W_l [h_{l-1}; 1],   h_l = f(a_l) (l < L),   p = softmax(a_L)

Backward, cross-entropy loss ``-log p_y`` averaged over the batch of ``B`` examples::

    d_L = (p - onehot(y)) / B,   d_l = (W_{l+1}^T d_{l+1})[:-1] * f'(a_l)

and the gradient of ``W_l`` is ``d_l [h_{l-1}; 1]^T``. Every product with a weight matrix
goes through a callable (``forward[l](A)`` for ``W_l A``, ``backward[l](D)`` for
``W_l^T D``), so a float matrix and a PCM crossbar (forward and transposed reads) run the
same code; :func:`float_ops` makes the float callables.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ...errors import ParameterError, ShapeError
from ...random import rng

#: Hidden activations: name -> (f(a), f'(a) written with h = f(a)).
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "sigmoid": (lambda a: 0.5 * (1.0 + np.tanh(0.5 * a)),  # = 1/(1+e^-a), overflow-free
                lambda a, h: h * (1.0 - h)),
    "relu": (lambda a: np.maximum(a, 0.0), lambda a, h: (a > 0).astype(a.dtype)),
}


def check_activation(name: str) -> str:
    if name not in ACTIVATIONS:
        raise ParameterError(f"activation = {name!r} is unknown; use one of "
                             f"{sorted(ACTIVATIONS)}")
    return name


def init_weights(sizes: Sequence[int], seed, *path) -> list[np.ndarray]:
    """Glorot-uniform weights ``U(-r, r)``, ``r = sqrt(6 / (fan_in + fan_out))``, zero biases;
    layer ``l`` from ``neuropcm.random.rng(seed, *path, "init", l)``."""
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ParameterError(f"sizes = {sizes}: give at least two layer sizes, each >= 1")
    out = []
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        r = np.sqrt(6.0 / (n_in + n_out))
        W = np.zeros((n_out, n_in + 1))
        W[:, :-1] = rng(seed, *path, "init", l).uniform(-r, r, (n_out, n_in))
        out.append(W)
    return out


def with_ones(A: np.ndarray, value: float = 1.0) -> np.ndarray:
    """``A`` (features, batch) with a row of ``value`` appended (the bias input)."""
    return np.vstack([A, np.full((1, A.shape[1]), value, dtype=A.dtype)])


def softmax(Z: np.ndarray) -> np.ndarray:
    """Column-wise softmax of ``Z`` (classes, batch), shifted by the column max."""
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def float_ops(weights: Sequence[np.ndarray]) -> tuple[list, list]:
    """Forward ``W A`` and transposed ``W^T D`` callables of float weight matrices."""
    return ([lambda A, W=W: W @ A for W in weights],
            [lambda D, W=W: W.T @ D for W in weights])


def forward(ops: Sequence[Callable], X: np.ndarray, activation: str = "sigmoid"):
    """Forward pass of a batch ``X`` (features, batch).

    Returns ``(inputs, pre, P)``: ``inputs[l] = [h_{l-1}; 1]`` (the input of layer l),
    ``pre[l] = a_l`` and the output probabilities ``P`` (classes, batch).
    """
    f = ACTIVATIONS[activation][0]
    inputs, pre = [], []
    H = X
    for l, op in enumerate(ops):
        inp = with_ones(H)
        a = op(inp)
        inputs.append(inp)
        pre.append(a)
        H = f(a) if l < len(ops) - 1 else a
    return inputs, pre, softmax(H)


def backward(back_ops: Sequence[Callable], pre, P: np.ndarray, y: np.ndarray,
             activation: str = "sigmoid") -> list[np.ndarray]:
    """Errors ``d_l`` (n_l, batch) of every layer for labels ``y`` (batch,); see the
    module docstring. ``back_ops[l](D)`` is ``W_l^T D``."""
    f, df = ACTIVATIONS[activation]
    B = P.shape[1]
    D = P.copy()
    D[y, np.arange(B)] -= 1.0
    D /= B
    deltas = [D]
    for l in range(len(pre) - 1, 0, -1):
        back = back_ops[l](D)[:-1]
        a = pre[l - 1]
        D = back * df(a, f(a))
        deltas.append(D)
    return deltas[::-1]


def predict(ops: Sequence[Callable], X: np.ndarray, activation: str = "sigmoid",
            batch: int = 1000) -> np.ndarray:
    """Predicted classes of ``X`` (features, N), in batches of ``batch`` columns."""
    out = np.empty(X.shape[1], dtype=np.int64)
    for s in range(0, X.shape[1], batch):
        out[s:s + batch] = forward(ops, X[:, s:s + batch], activation)[2].argmax(axis=0)
    return out


def images_to_columns(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 28, 28) or (N, 784) -> float64 columns (784, N) in [0, 1]."""
    a = np.asarray(images)
    if a.ndim < 2:
        raise ShapeError(f"images of shape {a.shape}: give (N, rows, cols) or (N, features)")
    return a.reshape(len(a), -1).T.astype(np.float64) / 255.0


def train_float(X: np.ndarray, y: np.ndarray, sizes: Sequence[int], *, seed, epochs: int,
                lr: float, batch: int = 1, activation: str = "sigmoid", path=("mlp",),
                callback: Callable | None = None) -> list[np.ndarray]:
    """Plain float minibatch SGD on the cross-entropy (the software reference).

    Weights from :func:`init_weights` ``(seed, *path)``; the order of examples of epoch
    ``e`` from ``rng(seed, *path, "order", e)``; ``W_l -= lr d_l [h_{l-1}; 1]^T``.
    ``callback(epoch, weights)`` is called after every epoch.
    """
    check_activation(activation)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if X.ndim != 2 or X.shape[0] != sizes[0] or y.shape != (X.shape[1],):
        raise ShapeError(f"X {X.shape} and y {y.shape}: give X (features = {sizes[0]}, N) "
                         f"and y (N,)")
    weights = init_weights(sizes, seed, *path)
    fwd, back = float_ops(weights)
    for e in range(epochs):
        order = rng(seed, *path, "order", e).permutation(X.shape[1])
        for s in range(0, len(order), batch):
            i = order[s:s + batch]
            inputs, pre, P = forward(fwd, X[:, i], activation)
            for W, D, inp in zip(weights, backward(back, pre, P, y[i], activation), inputs):
                W -= lr * (D @ inp.T)
        if callback is not None:
            callback(e, weights)
    return weights


def check_mnist_dir(mnist_dir) -> None:
    """The one check of a workload's ``mnist_dir`` field: None or an existing folder."""
    from pathlib import Path

    if mnist_dir is not None and not Path(mnist_dir).expanduser().is_dir():
        raise ParameterError(f"mnist_dir = {mnist_dir!r} is not a folder; give the folder of "
                             f"the IDX files (e.g. Fashion-MNIST) or leave it unset")


def load_columns(split: str, n: int, *, seed, dataset: str = "mnist", mnist_dir=None,
                 rand_fraction: float = 0.1, name: str | None = None):
    """The first ``n`` examples of an MNIST-format split as float columns (784, n) in
    [0, 1] and int64 labels: the offline MNIST, or the IDX files in ``mnist_dir``;
    ``dataset = "rand-mnist"`` replaces ``rand_fraction`` of every image's pixels
    (:func:`neuropcm.datasets.mnist.rand_mnist`, stream ``int_seed(seed, "rand-mnist",
    split)``). ``n`` beyond the split is refused, naming the field ``name``."""
    from ...datasets import load_mnist
    from ...datasets.mnist import rand_mnist
    from ...random import int_seed

    if dataset not in ("mnist", "rand-mnist"):
        raise ParameterError(f"dataset = {dataset!r} is unknown; use 'mnist' or 'rand-mnist'")
    images, labels = load_mnist(split, mnist_dir=mnist_dir, limit=n)
    if n > len(images):
        raise ParameterError(f"{name or split} = {n} but the dataset has only {len(images)} "
                             f"examples; give {name or split} <= {len(images)}")
    if dataset == "rand-mnist":
        images = rand_mnist(images, rand_fraction, int_seed(seed, "rand-mnist", split))
    return images_to_columns(images), labels.astype(np.int64)


def load_validation(n: int, *, seed, dataset: str = "mnist", mnist_dir=None,
                    rand_fraction: float = 0.1, train: int = 0):
    """The last ``n`` examples of the training split as float columns (784, n) and labels:
    the held-out validation examples, disjoint from the first ``train`` (refused when they
    would overlap); rand-MNIST
    noise from the stream ``int_seed(seed, "rand-mnist", "validation")``. ``n = 0`` gives
    (784, 0) and (0,)."""
    from ...datasets import load_mnist
    from ...datasets.mnist import rand_mnist
    from ...random import int_seed

    if n == 0:
        return np.zeros((784, 0)), np.zeros(0, np.int64)
    images, labels = load_mnist("train", mnist_dir=mnist_dir)
    if n + train > len(images):
        raise ParameterError(f"train = {train} plus validation = {n} exceed the "
                             f"{len(images)} examples of the training split; give train + "
                             f"validation <= {len(images)} (validation = 0: none)")
    images, labels = images[-n:], labels[-n:]
    if dataset == "rand-mnist":
        images = rand_mnist(images, rand_fraction, int_seed(seed, "rand-mnist", "validation"))
    return images_to_columns(images), labels.astype(np.int64)
