"""The numerics of MVM precision shared by the computational-memory workloads: b-bit fixed
point (the crossbar's DAC), the relative error of an MVM and the equivalent bits of an error
(mvm-precision, compressed sensing)."""

from __future__ import annotations

import numpy as np

from ...errors import ParameterError


def quantise(a, bits: int, axis: int | None = None) -> np.ndarray:
    """b-bit symmetric fixed point: ``rint(a / delta) * delta``, ``delta = max|a| / L``,
    ``L = 2^(bits-1) - 1`` (round half to even; nothing saturates since ``|a| <= max|a|``).

    Parameters
    ----------
    a : array_like
        Values to quantise (a vector, or a matrix).
    bits : int
        Bits including the sign (>= 2).
    axis : None or 0
        None: one ``delta`` for the whole array (the matrix); 0: one per column of a 2-d
        array (each input vector). An all-zero array or column stays zero.

    Notes
    -----
    The quantiser is the crossbar's input DAC with abs-max scaling
    (:class:`neuropcm.crossbar.DAC`), so the fixed-point baseline and a crossbar with
    ``dac_bits = b`` quantise inputs identically.
    """
    from ...crossbar import DAC

    a = np.asarray(a, dtype=float)
    if axis is None:
        xs, scale, _ = DAC(bits).apply(a.reshape(-1, 1), np.float64)  # abs-max: no clips
        return (xs * scale[None, :]).reshape(a.shape)
    if axis != 0 or a.ndim != 2:
        raise ParameterError(f"axis = {axis!r} with an array of shape {a.shape}: give "
                             f"axis=None, or axis=0 for the columns of a 2-d array")
    xs, scale, _ = DAC(bits).apply(a, np.float64)
    return xs * scale[None, :]


def relative_error(y_hat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``||y_hat - y|| / ||y||`` of each column (one value per input vector)."""
    return np.linalg.norm(y_hat - y, axis=0) / np.linalg.norm(y, axis=0)


def equivalent_bits(bits, eta_fixed, eta_pcm: float) -> tuple[int, float]:
    """The largest b with ``eta_fixed(b) >= eta_pcm`` (``bits[0] - 1`` if none) and the
    fractional b where ``log2 eta_fixed`` (linear in b between neighbours) equals
    ``log2 eta_pcm`` (NaN outside the range of ``bits``).

    ``eta_fixed`` must decrease with b (it does for b >= 2: each extra bit halves the
    step).
    """
    bits = np.asarray(bits, dtype=int)
    ef = np.asarray(eta_fixed, dtype=float)
    ok = np.nonzero(ef >= eta_pcm)[0]
    whole = int(bits[ok[-1]]) if ok.size else int(bits[0]) - 1
    frac = float("nan")
    lf, lp = np.log2(ef), np.log2(eta_pcm)
    for i in range(len(bits) - 1):
        if lf[i] >= lp >= lf[i + 1] and lf[i] > lf[i + 1]:
            frac = float(bits[i] + (lf[i] - lp) / (lf[i] - lf[i + 1]))
            break
    return whole, frac
