"""PCM + 3T1C weights (Ambrogio et al., Nature 558, 60 (2018); tutorial Fig. 10b): the
``3t1c`` mode of ``mlp-train``.

Each weight is ``w = w_slow + F``: ``w_slow = s (G+ - G-)`` on the PCM crossbar (the
non-volatile, coarse part) and ``F = p (g - g_shared)`` the contribution of a capacitor
(3T1C; in weight units, ``p = +-1`` the polarity). The capacitor is linear and
symmetric: an update changes it in equal steps ``delta`` (``counts`` by the run's pulse
rule, :func:`~neuropcm.crossbar.update.rule_counts`, with ``delta`` in place of epsilon),
clipped to ``|F| <= F_max``. Its physical charge moves up by ``delta (1 + a)`` and down by
``delta (1 - a)`` (``a`` the charging/discharging asymmetry), so a step of ``F`` is
``delta (1 + a sign(p n))`` per count ``n``. It leaks: between examples (each lasting
``example_time``) ``F <- F exp(-example_time / tau)``.

Every ``transfer_every`` examples the fast weights with ``|F| >= threshold`` are moved into
the PCM pair: the total ``w_slow + F`` (``w_slow`` the mean, noise-free read of the pair)
is written by program-and-verify (:meth:`~neuropcm.crossbar.Crossbar.program_weights`) and
their capacitor is reset (``F = 0``). Then the polarity is inverted (``p <- -p``; Ambrogio
2018), so an asymmetry ``a`` biases the next interval the other way and the two cancel
on average; the capacitors below the threshold are re-written to keep their contribution
(assumed: a charge copy within the 3T1C, no PCM programming).
"""

from __future__ import annotations

import math

import numpy as np

from ...crossbar.update import rule_counts
from ...random import rng


class FastSlowLayer:
    """A weight layer of PCM slow weights (a :class:`~._mlp_training.CrossbarLayer`
    ``slow``) and 3T1C fast weights, for layer ``l`` of the run's config ``c`` (its fields
    ``fast_range``, ``fast_steps``, ``fast_tau``, ``example_time``, ``fast_asymmetry``,
    ``polarity_inversion``, ``transfer_every``, ``transfer_threshold``, ``rule``,
    ``pulse_length``, ``seed``)."""

    def __init__(self, slow, c, l: int):
        self.slow, self.xb = slow, slow.xb
        self.f_max = float(c.fast_range * c.resolved("w_max")[l])
        self.delta = self.f_max / c.fast_steps
        self.leak = math.exp(-c.example_time / c.fast_tau)  # per example
        self.asym = float(c.fast_asymmetry)
        self.invert = bool(c.polarity_inversion)
        self.every = int(c.transfer_every)
        self.threshold = float(c.transfer_threshold) * self.f_max
        self.rule, self.bl = c.rule, int(c.pulse_length)
        self.F = np.zeros(self.xb.shape)
        self.polarity = 1
        self.since = 0
        self.n_transferred = 0
        self.rng = rng(c.seed, "mlp-train", "fast", l)

    # -- the layer interface of _mlp_training ------------------------------------------
    def read(self, A):
        return self.slow.read(A) + self.F @ A

    def read_t(self, D):
        return self.slow.read_t(D) + self.F.T @ D

    def update(self, inp, D, lr):
        """``counts`` equal steps by the pulse rule; charging steps ``1 + a``, discharging
        ``1 - a`` (in the capacitor's own direction ``p n``); clipped to ``F_max``."""
        n = rule_counts(self.rule, inp, D, -lr, self.delta, rng=self.rng,
                        pulse_length=self.bl)
        if not n.any():
            return
        size = 1.0 + self.asym * np.sign(self.polarity * n)
        np.clip(self.F + n * self.delta * size, -self.f_max, self.f_max, out=self.F)

    def step(self, n: int) -> None:
        """``n`` examples passed: leak, and transfer every ``transfer_every`` examples."""
        if self.leak != 1.0:
            self.F *= self.leak ** n
        self.since += n
        if self.since >= self.every:
            self.since = 0
            self.transfer()

    def refresh(self) -> int:
        return self.slow.refresh()

    def weights(self):
        """The mean read matrix of the PCM pairs plus the fast weights (weight units)."""
        return self.slow.weights() + self.F

    # -- the transfer -------------------------------------------------------------------
    def transfer(self) -> int:
        """Move the fast weights with ``|F| >= threshold`` into the PCM pairs (see the
        module docstring); invert the polarity. Returns the weights written."""
        mask = np.abs(self.F) >= max(self.threshold, np.finfo(float).tiny)
        n = 0
        if mask.any():
            w_max = self.xb.mapping.w_max
            target = np.clip(self.slow.weights() + self.F, -w_max, w_max)
            n = self.xb.program_weights(target, mask)
            self.F[mask] = 0.0
        if self.invert:
            self.polarity = -self.polarity
        self.n_transferred += n
        return n

    # -- checkpoint -------------------------------------------------------------------
    def state(self) -> dict:
        """The fast state (for the checkpoint): arrays and JSON-able scalars."""
        return {"F": self.F, "polarity": self.polarity, "since": self.since,
                "n_transferred": self.n_transferred, "rng": self.rng.bit_generator.state}

    def load_state(self, s: dict) -> None:
        self.F[...] = s["F"]
        self.polarity, self.since = int(s["polarity"]), int(s["since"])
        self.n_transferred = int(s["n_transferred"])
        self.rng.bit_generator.state = s["rng"]
