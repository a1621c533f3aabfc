"""Label assignment and scoring of unsupervised clustering networks (the MNIST run and its
analyses)."""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError

__all__ = ["assign_labels", "class_rates", "predict", "confusion_matrix", "accuracy_report"]


def assign_labels(counts, labels, n_classes: int = 10) -> np.ndarray:
    """Give each neuron the class it responded to most (mean spike count per class).

    Parameters
    ----------
    counts : ndarray (examples, neurons)
        Spike counts of each neuron for each example.
    labels : ndarray (examples,)
        True classes in ``0..n_classes-1``.

    Returns
    -------
    ndarray (neurons,) of int
        Assigned class, or -1 for a neuron that never fired.
    """
    counts = np.asarray(counts, dtype=float)
    labels = np.asarray(labels)
    if counts.ndim != 2 or labels.shape != (counts.shape[0],):
        raise ShapeError(f"counts {counts.shape} and labels {labels.shape} do not match: need "
                         f"(examples, neurons) and (examples,)")
    rates = class_rates(counts, labels, n_classes)
    out = np.argmax(rates, axis=0)
    out[counts.sum(0) == 0] = -1
    return out


def class_rates(counts, labels, n_classes: int = 10) -> np.ndarray:
    """Mean spike count of each neuron for each class, shape (classes, neurons)."""
    counts = np.asarray(counts, dtype=float)
    sums = np.zeros((n_classes, counts.shape[1]))
    np.add.at(sums, np.asarray(labels), counts)
    n = np.bincount(labels, minlength=n_classes)[:, None]
    return sums / np.maximum(n, 1)


def predict(counts, assignments, n_classes: int = 10) -> np.ndarray:
    """Predict each example's class: the class whose assigned neurons have the highest mean
    spike count (Diehl & Cook 2015). Examples with no spike from an assigned neuron get -1."""
    counts = np.asarray(counts, dtype=float)
    assignments = np.asarray(assignments)
    if counts.ndim != 2 or assignments.shape != (counts.shape[1],):
        raise ShapeError(f"counts {counts.shape} and assignments {assignments.shape} do not "
                         f"match")
    scores = np.full((counts.shape[0], n_classes), 0.0)
    for c in range(n_classes):
        members = assignments == c
        if members.any():
            scores[:, c] = counts[:, members].mean(1)
    pred = np.argmax(scores, axis=1)
    pred[scores.max(1) == 0] = -1
    return pred


def confusion_matrix(labels, predictions, n_classes: int = 10) -> np.ndarray:
    """Confusion matrix ``M[true, predicted]``; a last column counts examples with no
    prediction (-1). Shape (n_classes, n_classes + 1)."""
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    m = np.zeros((n_classes, n_classes + 1), dtype=np.int64)
    np.add.at(m, (labels, np.where(predictions < 0, n_classes, predictions)), 1)
    return m


def accuracy_report(labels, predictions, n_classes: int = 10) -> dict:
    """Accuracy, per-class accuracy and confusion matrix."""
    cm = confusion_matrix(labels, predictions, n_classes)
    per_class = np.diag(cm[:, :n_classes]) / np.maximum(cm.sum(1), 1)
    return {"accuracy": float(np.mean(np.asarray(labels) == np.asarray(predictions))),
            "per_class_accuracy": per_class, "confusion": cm,
            "no_response": int(cm[:, n_classes].sum())}
