"""Programming of a :class:`~neuropcm.devices.array.PCMArray`: one-shot (programmed-state
model) and iterative program-and-verify (pulsed model). Called by
:meth:`PCMArray.program <neuropcm.devices.array.PCMArray.program>`, which checks the
arguments; both obey the stuck rule :func:`~neuropcm.devices.faults.can_write` (endurance,
:data:`~neuropcm.devices.physics.WRITABLE`, and manufacturing faults).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import physics as ph
from . import validation as V

_AMP_MIN = 0.05  # smallest relative pulse amplitude program-and-verify uses


@dataclass(frozen=True)
class ProgramResult:
    """Outcome of :meth:`PCMArray.program` for the programmed devices (flat, in mask order).

    Attributes
    ----------
    target : ndarray
        Requested conductances (S).
    achieved : ndarray
        Programmed (noise-free, un-drifted) conductances afterwards (S).
    verified : ndarray
        The last verify read of each device (S); for one-shot programming, a read right after.
    iterations : ndarray of int
        Programming pulses (SET or RESET) or shots used per device.
    converged : ndarray of bool
        Whether the verify read came within the tolerance inside the budget.
    tol : float
        The tolerance used (S).
    """

    target: np.ndarray
    achieved: np.ndarray
    verified: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    tol: float

    @property
    def fraction_converged(self) -> float:
        """Fraction of devices that converged."""
        return float(np.mean(self.converged)) if self.converged.size else 1.0


def program_oneshot(arr, idx, tgt, tol, budget) -> ProgramResult:
    """One-shot programming of devices ``idx`` to ``tgt`` (S), re-programmed until a verify
    read is within ``tol`` (if ``tol > 0``) or ``budget`` shots are spent.

    Each shot: ``G = clip(tgt + sigma_prog(tgt) xi, g_min, g_max)``, ``P = 1``, drift clock
    restarted, a new drift exponent drawn at the target, one SET and one RESET counted.
    Worn-out devices are not written (0 shots, not converged, ``verified`` 0).
    """
    p, s = arr.params, arr._s
    iters = np.zeros(idx.size, np.int64)
    converged = np.zeros(idx.size, bool)
    verified = np.zeros(idx.size)
    todo = np.arange(idx.size)
    for _ in range(budget):
        sub = idx[todo]
        live = V.writable(p, s["n_set"][sub], s["n_reset"][sub], s["stuck"][sub])
        sub, todo = sub[live], todo[live]
        if sub.size == 0:
            break
        s["G"][sub] = ph.PROGRAM_LEVEL(p, Gt=tgt[todo], sigma=ph.PROG_STD(p, Gt=tgt[todo]),
                                       xi=arr._normals(sub.size))
        s["P"][sub] = 1.0
        s["t_prog"][sub] = arr.time
        s["n_set"][sub] += 1
        s["n_reset"][sub] += 1
        s["energy"][sub] += p.e_set + p.e_reset
        arr._draw_nu(sub, tgt[todo])
        iters[todo] += 1
        verified[todo] = arr._read_idx(sub, arr.time)
        ok = np.abs(verified[todo] - tgt[todo]) <= tol if tol > 0 else np.ones(sub.size, bool)
        converged[todo[ok]] = True
        todo = todo[~ok]
        if todo.size == 0:
            break
    return ProgramResult(tgt, s["G"][idx].copy(), verified, iters, converged, tol)


def program_verify(arr, idx, tgt, tol, budget) -> ProgramResult:
    """Iterative program-and-verify of devices ``idx`` (pulsed model): RESET, then read;
    while the read is outside ``tgt +- tol``, a SET pulse of amplitude
    ``clip(error/mean_step, 0.05, 1)`` (or a RESET after an overshoot), up to ``budget``
    pulses. Worn-out devices are not written (they stop where they are)."""
    p, s = arr.params, arr._s
    arr._reset_idx(idx)
    iters = np.zeros(idx.size, np.int64)
    converged = np.zeros(idx.size, bool)
    verified = np.zeros(idx.size)
    todo = np.arange(idx.size)
    decay = math.exp(-1.0 / p.pulse_memory)
    for it in range(budget + 1):
        sub = idx[todo]
        r = arr._read_idx(sub, arr.time)
        verified[todo] = r
        err = tgt[todo] - r
        ok = np.abs(err) <= tol
        converged[todo[ok]] = True
        if it == budget:
            break
        keep = ~ok & V.writable(p, s["n_set"][sub], s["n_reset"][sub], s["stuck"][sub])
        todo, err, r, sub = todo[keep], err[keep], r[keep], sub[keep]
        if todo.size == 0:
            break
        over = err < 0
        if over.any():
            arr._reset_idx(sub[over])
        under = ~over
        if under.any():
            step = ph.SET_MEAN(p, G=r[under], P=s["P"][sub[under]] * decay)
            amp = np.where(step > 0, np.clip(err[under] / np.where(step > 0, step, 1.0),
                                             _AMP_MIN, 1.0), 1.0)
            arr._set_idx(sub[under], np.ascontiguousarray(amp))
        iters[todo] += 1
    return ProgramResult(tgt, s["G"][idx].copy(), verified, iters, converged, tol)
