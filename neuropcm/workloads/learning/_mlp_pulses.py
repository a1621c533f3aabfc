"""The check of ``mlp-train``'s deterministic update rule before training (issue 20, 5b).

``rule = "deterministic"`` applies ``rint(lr d_i x_j / epsilon)`` pulses per update. When
``lr |d x| < epsilon / 2`` for every weight, every update rounds to zero pulses and the
network never changes (9.3 % at the in-situ defaults, silently, before this check). So
before the long work the expected pulses of the first :data:`PROBE` examples are computed
with the initial float weights: the requested ``sum |lr d x^T| / epsilon`` and the
delivered ``sum |rint(lr d x^T / epsilon)|`` per layer. None delivered: refused (one line
naming lr, epsilon and the lr that would give pulses). Less than :data:`WARN_FRACTION` of
the update's magnitude delivered correctly (``sum |rint(u) - u| / sum |u| > 1 -
WARN_FRACTION``, ``u = lr d x / epsilon``): a warning. The stochastic rule and
mixed-precision accumulation are unbiased and not checked.
"""

from __future__ import annotations

import warnings

import numpy as np

from ...errors import ParameterError
from . import _mlp

#: Training examples the check looks at.
PROBE = 100
#: Below this fraction of the update's magnitude delivered, the run warns.
WARN_FRACTION = 0.5


def expected_pulses(weights, X, y, lr: float, eps, activation: str = "sigmoid"):
    """Per layer: ``(requested, delivered, error, peak)`` summed over the examples (columns
    of ``X``), one update per example from the float ``weights`` (not changed):
    ``u = lr d x^T / eps``; requested ``sum |u|``, delivered ``sum |rint(u)|``, error
    ``sum |rint(u) - u|`` and peak ``max |u|``."""
    fwd, back = _mlp.float_ops(weights)
    out = np.zeros((len(weights), 4))
    for i in range(X.shape[1]):
        inputs, pre, P = _mlp.forward(fwd, X[:, i:i + 1], activation)
        for l, (D, inp) in enumerate(zip(_mlp.backward(back, pre, P, y[i:i + 1], activation),
                                         inputs)):
            u = lr * (D @ inp.T) / eps[l]
            r = np.rint(u)
            out[l, :3] += (np.abs(u).sum(), np.abs(r).sum(), np.abs(r - u).sum())
            out[l, 3] = max(out[l, 3], float(np.abs(u).max()))
    return out


def check_pulse_counts(c, nets, X, y) -> None:
    """Refuse or warn (see the module docstring) for the deterministic rule of ``c``."""
    if c.mode == "mixed-precision" or c.rule != "deterministic":
        return
    eps = [getattr(l, "delta", None) or l.xb.epsilon for l in nets["pcm"]]
    what = "3T1C step" if c.mode == "3t1c" else "epsilon"
    lr = c.resolved("lr")
    n = min(PROBE, X.shape[1])
    s = expected_pulses([l.W for l in nets["float"]], X[:, :n], y[:n], lr, eps, c.activation)
    req, got, err, peak = s.sum(0)[0], s.sum(0)[1], s.sum(0)[2], s[:, 3].max()
    if got == 0:
        raise ParameterError(
            f"rule = 'deterministic' rounds every update of the first {n} examples to zero "
            f"pulses (largest |lr d x| / {what} = {peak:.3g} < 0.5 at lr = {lr:g}, "
            f"{what} = {min(eps):.3g}): the network would not learn; give lr >= "
            f"{lr * 0.5 / peak:.3g} or rule = 'stochastic'")
    if req > 0 and err > (1 - WARN_FRACTION) * req:
        warnings.warn(
            f"rule = 'deterministic' delivers {got:.0f} pulses for {req:.0f} requested on the "
            f"first {n} examples (rounding error {100 * err / req:.0f} % of the update at lr "
            f"= {lr:g}); most small updates are lost -- consider rule = 'stochastic'",
            stacklevel=2)
