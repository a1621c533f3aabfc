"""Outer-product updates and refresh of differential PCM pairs (physics.md section 4).

:class:`UpdateMixin` gives :class:`~neuropcm.crossbar.Crossbar` its :meth:`~UpdateMixin.update`
(K devices per side: pulses spread round-robin per weight, or all of an update on the device
a global counter selects, Boybat et al. 2018), :meth:`~UpdateMixin.refresh` (open-loop or
closed-loop rewrite) and :meth:`~UpdateMixin.program_weights` (program-and-verify of chosen
weights: closed-loop refresh, weight transfer); the pulses themselves are applied through
:meth:`neuropcm.devices.PCMArray.set_pulses` / ``reset``, so the device model alone decides
what a pulse does. The refresh rule itself is :mod:`neuropcm.devices.refresh` (shared with
the Brian2 engine).
"""

from __future__ import annotations

import json
import math

import numpy as np

# the refresh rule is the devices' (one rule for the crossbar and the SNN), re-exported here
from ..devices.refresh import (REFRESH_RULES, MaskRefresh, RefreshRule,  # noqa: F401
                               ThresholdRefresh)
from ..devices.theory import mean_set_curve, mean_step, open_loop_pulses  # noqa: F401
from ..errors import ModelError, ParameterError, ShapeError
from . import _kernels as K

UPDATE_MODES = ("deterministic", "stochastic", "mixed")
#: How the pulses of a weight are shared among its K devices per side: ``round-robin``,
#: pulse t of a weight on device ``(rr + t) mod K`` (a counter per weight); ``global``, all
#: pulses of one update on the device a global counter points at, the counter advancing
#: by one after every update (Boybat et al., Nat. Commun. 9, 2514 (2018)).
ARBITRATIONS = ("round-robin", "global")
#: Most SET pulses one update may ask of one device (beyond: a units mistake).
MAX_PULSES = 2 ** 20


def get_refresh(rule, where: str = "refresh"):
    """Resolve a refresh option into a :class:`~neuropcm.devices.refresh.RefreshRule`.

    None (no refresh), a rule name (``"threshold"``: :class:`ThresholdRefresh` with its
    defaults), a rule object, an object with ``select(g_plus, g_minus, g_max)`` or such a
    callable (wrapped in :class:`~neuropcm.devices.refresh.MaskRefresh`: noisy reads, the
    rewrite of every rule). The crossbar applies a rule after each update, so a rule with a
    Brian2 ``period`` is refused.
    """
    if rule is None:
        return None
    if isinstance(rule, str):
        try:
            return REFRESH_RULES[rule]()
        except KeyError:
            raise ParameterError(f"{where}: unknown refresh rule {rule!r}; known: "
                                 f"{sorted(REFRESH_RULES)}, None, or a callable "
                                 f"(g_plus, g_minus, g_max) -> mask") from None
    if isinstance(rule, RefreshRule):
        if getattr(rule, "period", None) is not None:
            raise ParameterError(f"{where} = {rule!r} has a period, which only the Brian2 "
                                 f"engine uses; the crossbar refreshes after every update: "
                                 f"give period=None")
        return rule
    if hasattr(rule, "select") and callable(rule.select):
        return MaskRefresh(rule.select)
    if callable(rule):
        return MaskRefresh(rule)
    raise ParameterError(f"{where} = {rule!r} must be None, a rule name {sorted(REFRESH_RULES)}"
                         f", an object with select(g_plus, g_minus, g_max) or a callable")


def check_refresh(value, where: str = "refresh"):
    """The refresh setting as a config holds it: None, a rule name, or a rule object
    (callables and ``select`` objects wrapped; a ``{"name": ..., **parameters}`` dict, as
    :func:`refresh_spec` writes it, rebuilt)."""
    if isinstance(value, dict):
        return REFRESH_RULES.build(value, where)
    rule = get_refresh(value, where)
    return value if isinstance(value, str) else rule


def refresh_spec(rule):
    """The JSON form of a refresh setting: None, a rule name, or ``{"name": ...,
    **parameters}`` for a rule object.

    A rule object is storable when its type is exactly a class of :data:`REFRESH_RULES`
    and that class, called with the rule's attributes, rebuilds it (same attributes,
    JSON-able). Anything else raises :class:`ParameterError`: files never hold code.
    """
    if rule is None or isinstance(rule, str):
        return rule
    for name, cls in REFRESH_RULES.items():
        if type(rule) is cls:
            params = dict(vars(rule))
            try:
                ok = vars(cls(**params)) == params
                json.dumps(params)
            except (TypeError, ValueError):
                ok = False
            if ok:
                return {"name": name, **params}
    raise ParameterError(f"refresh rule {rule!r} is not a named rule ({sorted(REFRESH_RULES)}) "
                         f"and cannot be saved (files never hold code); set "
                         f"xb.refresh_rule = None before save() and set it again after load()")


def distribute(counts: np.ndarray, rr: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Spread ``counts`` (m, n) pulses round-robin over K devices per weight.

    Pulse number t of a weight goes to device ``(rr + t) mod K`` (the arbitration counter
    of multi-device synapses, Boybat et al. 2018). Returns the per-device counts (K, m, n)
    and the new counter.
    """
    k = np.arange(K).reshape(K, 1, 1)
    off = (k - rr[None]) % K
    per = (counts[None] - off + K - 1) // K
    return per.astype(np.int64), (rr + counts) % K


def coincidence_counts(rng: np.random.Generator, x: np.ndarray, d: np.ndarray, scale: float,
                       bl: int) -> np.ndarray:
    """Signed pulse counts of stochastic pulse coincidence for one input/error pair.

    Streams of ``BL`` slots: row j fires with probability ``p_x,j = c_x |x_j|``, output i
    with ``p_d,i = c_d |d_i|``; a device gets a pulse in each slot where both fire, signed
    by ``sign(scale x_j d_i)``. With ``c_x c_d = |scale|/BL`` the expected count is
    ``scale x_j d_i`` exactly; ``c_x``/``c_d`` are balanced so both maxima are equal, and BL
    grows to ``ceil(|scale| max|x| max|d|)`` when needed so no probability exceeds 1.
    """
    xm, dm = float(np.max(np.abs(x))), float(np.max(np.abs(d)))
    m, n = d.size, x.size
    if xm == 0 or dm == 0 or scale == 0:
        return np.zeros((m, n), np.int64)
    a = abs(scale)
    bl = max(int(bl), int(math.ceil(a * xm * dm)))
    cx = math.sqrt(a / bl * dm / xm)
    cd = math.sqrt(a / bl * xm / dm)
    px = np.minimum(cx * np.abs(x), 1.0)
    pd = np.minimum(cd * np.abs(d), 1.0)
    fire_x = rng.random((bl, n)) < px
    fire_d = rng.random((bl, m)) < pd
    out = np.zeros((m, n), np.int64)
    sd = (np.sign(d) * math.copysign(1.0, scale)).astype(np.int64)
    K.coincidences(fire_d, fire_x, sd, np.sign(x).astype(np.int64), out)
    return out


def rule_counts(mode: str, X: np.ndarray, D: np.ndarray, lr: float, eps: float, *,
                rng: np.random.Generator | None = None, pulse_length: int = 0,
                chi: np.ndarray | None = None) -> np.ndarray:
    """Signed pulse counts (m, n) of the update ``lr D X^T`` by a crossbar rule.

    ``deterministic``: ``rint(lr D X^T / eps)``; ``stochastic``: pulse coincidence
    (:func:`coincidence_counts`, one example column at a time, from ``rng``); ``mixed``:
    ``chi += lr D X^T``, ``counts = trunc(chi / eps)``, ``chi -= counts eps`` (``chi``
    updated in place). :meth:`UpdateMixin.update` applies these counts as pulses; the
    float reference of ideal devices applies ``counts * eps``.
    """
    if mode == "stochastic":
        counts = np.zeros((D.shape[0], X.shape[0]), np.int64)
        for b in range(X.shape[1]):
            counts += coincidence_counts(rng, X[:, b], D[:, b], lr / eps, pulse_length)
        return counts
    dW = lr * (D @ X.T)
    if mode == "deterministic":
        return np.rint(dW / eps).astype(np.int64)
    chi += dW
    counts = np.trunc(chi / eps).astype(np.int64)
    chi -= counts * eps
    return counts


class UpdateMixin:
    """Outer-product updates and refresh of a :class:`~neuropcm.crossbar.Crossbar`."""

    @property
    def epsilon(self) -> float:
        """Weight change of one SET pulse on one device (weight units)."""
        if self.config.update.epsilon is not None:
            return float(self.config.update.epsilon)
        if not self.mapping.trainable:
            raise ModelError(f"the {self.mapping.name!r} mapping does not support updates")
        return self.mapping.scale * mean_step(self.params) / self.mapping.K

    def update(self, x, d, lr, mode=None, arbitration="round-robin") -> np.ndarray:
        """Outer-product update ``W += lr * d x^T`` applied as SET pulses.

        Positive changes are SET pulses on G+, negative ones on G-, spread round-robin over
        the K devices of a weight; the device model decides what each pulse does.

        Parameters
        ----------
        x : array (n,) or (n, batch)
            Inputs (rows).
        d : array (m,) or (m, batch)
            Errors (outputs); the update sums over the batch.
        lr : float
            Learning rate (negative for gradient descent on ``d = dL/dy``).
        mode : {"deterministic", "stochastic", "mixed"}, optional
            ``deterministic``: ``rint(lr d x^T / epsilon)`` pulses. ``stochastic``:
            stochastic pulse coincidence of Bernoulli streams (expected count
            ``lr d_i x_j / epsilon``; drawn from the crossbar's stream ``"updates"``).
            ``mixed``: a float64 accumulator ``chi += lr d x^T`` transfers
            ``trunc(chi/epsilon)`` whole pulses and keeps the rest (Nandakumar 2018), so
            ``transferred + chi`` equals the requested total exactly. Default: the
            config's ``update_mode``.
        arbitration : {"round-robin", "global"}
            How the pulses are shared among the K devices of a side (:data:`ARBITRATIONS`).
            ``global``: every pulse of this update goes to device ``k = c mod K`` of each
            weight, ``c`` the global counter (:attr:`arbitration_counter`), which then
            advances by one (Boybat et al. 2018); stored in the round-robin counters, so a
            saved crossbar keeps it.

        Returns
        -------
        ndarray of int (m, n)
            Signed pulse counts applied per weight.
        """
        if not self.mapping.trainable:
            raise ModelError(f"update needs the 'differential' mapping; this crossbar uses "
                             f"{self.mapping.name!r}")
        mode = self.update_mode if mode is None else mode
        if mode not in UPDATE_MODES:
            raise ParameterError(f"mode = {mode!r} is not an update mode; use one of "
                                 f"{list(UPDATE_MODES)}")
        if arbitration not in ARBITRATIONS:
            raise ParameterError(f"arbitration = {arbitration!r} is unknown; use one of "
                                 f"{list(ARBITRATIONS)}")
        m, n = self.shape
        X = self._check_x(x, n, "x").astype(float)
        D = self._check_x(d, m, "d").astype(float)
        if X.shape[1] != D.shape[1]:
            raise ShapeError(f"x has batch {X.shape[1]} but d has batch {D.shape[1]}; give the "
                             f"same number of columns")
        try:
            lr = float(lr)
        except (TypeError, ValueError):
            raise ParameterError(f"lr = {lr!r} must be a finite number") from None
        if not math.isfinite(lr):
            raise ParameterError(f"lr = {lr!r} must be a finite number")
        eps = self.epsilon
        # pulses asked of one device at most: sum_b |lr d_ib x_jb| / epsilon
        peak = abs(lr) * float(np.abs(D).max(initial=0.0)) * float(np.abs(X).max(initial=0.0)) \
            * X.shape[1] / eps
        if not peak <= MAX_PULSES:
            raise ParameterError(
                f"the update lr d x^T asks for up to {peak:.4g} SET pulses on one device "
                f"(lr = {lr!r}, max|d| = {np.abs(D).max():.4g}, max|x| = {np.abs(X).max():.4g}, "
                f"epsilon = {eps:.4g} per pulse), more than {MAX_PULSES}; check the units "
                f"and scale of lr, x and d")
        nz = None
        if mode == "mixed":  # chi += dW, whole pulses out, in one pass (the kernel's docstring)
            counts = np.zeros((m, n), np.int64)
            buf = self._buffer_int("nz", m * n)
            nz = buf[:K.mixed_transfer(self.chi, self.transferred, lr * (D @ X.T), float(eps),
                                       counts, buf)].copy()
        else:
            counts = rule_counts(mode, X, D, lr, eps, rng=self._update_rng,
                                 pulse_length=self.config.update.pulse_length)
            self.transferred += counts * eps
        if arbitration == "global":
            self._apply_global(counts, nz)
        else:
            self._apply_counts(counts, nz)
        if self.refresh_rule is not None:
            self.refresh()
        return counts

    def _buffer_int(self, name, size):
        b = self._bufs.get(name)
        if b is None or b.shape != (size,):
            b = self._bufs[name] = np.empty(size, np.int64)
        return b

    def _apply_counts(self, counts, nz=None):
        """Apply signed pulse counts (m, n): positive on G+, negative on G-, round-robin
        over the K devices of each weight, only where a count is non-zero (``nz``: their
        flat indices, increasing; found here when None).

        Pulse round ``r`` of a side goes to its devices with more than ``r`` pulses in
        increasing flat order, as :meth:`~neuropcm.devices.PCMArray.set_pulses` does, so
        the devices draw the same numbers as a dense ``set_pulses`` of all counts. The
        cached read model is patched at the written weights when it was current
        (:meth:`_patch_eff`) instead of being rebuilt at the next read.
        """
        m, n = self.shape
        K_ = self.mapping.K
        if nz is None:
            nz = np.flatnonzero(counts)
        if nz.size == 0:
            return
        c = counts.reshape(-1)[nz]
        current = self._cache_key == (self.time, self._version)
        one = np.ones(1)
        for name, sel in (("G_plus", c > 0), ("G_minus", c < 0)):
            if not sel.any():
                continue
            w = nz[sel]
            rr = self._rr[name]
            per, new_rr = distribute(np.abs(c[sel])[None], rr.take(w)[None], K_)
            np.put(rr, w, new_rr[0])  # flat indices, in place whatever the layout
            per = per[:, 0]  # (K, len(w)) pulses per device
            dev = (np.arange(K_)[:, None] * (m * n) + w[None, :])  # flat device indices
            arr = self.arrays[name]
            for r in range(int(per.max())):
                arr._set_idx(dev[per > r], one)  # the device model's SET, sorted order
        self._written()
        if current:
            self._patch_eff(nz)

    @property
    def arbitration_counter(self) -> int:
        """The global arbitration counter (``global`` updates): the device index, mod K,
        the next update writes. Held in the round-robin counters (all equal under global
        arbitration), so :meth:`state_dict` keeps it."""
        return int(self._rr["G_plus"].flat[0]) % self.mapping.K

    def _apply_global(self, counts, nz=None):
        """Apply signed counts (m, n) to device ``k = arbitration_counter`` of every weight
        (G+ for positive, G- for negative counts), then advance the counter by one for
        every weight of both sides (the counter is global: it moves on every update, also
        one without pulses)."""
        K_ = self.mapping.K
        k = self.arbitration_counter
        current = self._cache_key == (self.time, self._version)
        if nz is None:
            nz = np.flatnonzero(counts)
        if nz.size:
            m, n = self.shape
            c = counts.reshape(-1)[nz]
            one = np.ones(1)
            for name, sel in (("G_plus", c > 0), ("G_minus", c < 0)):
                if not sel.any():
                    continue
                dev, per = k * (m * n) + nz[sel], np.abs(c[sel])
                arr = self.arrays[name]
                for r in range(int(per.max())):
                    arr._set_idx(dev[per > r], one)  # the device model's SET, sorted order
            self._written()
            if current:
                self._patch_eff(nz)
        for rr in self._rr.values():
            rr.fill((k + 1) % K_)

    def program_weights(self, W, mask=None, tol=None) -> int:
        """Write weights ``W`` (m, n) into the pairs selected by ``mask`` (m, n) by
        program-and-verify (:meth:`~neuropcm.devices.PCMArray.program`): each of the K
        devices of the side of ``sign(W)`` is programmed to ``|W| / scale``, the other side
        RESET (program to 0), so ``scale (mean_K G+ - mean_K G-)`` lands within the
        programming tolerance of ``W`` (clipped at ``g_max``). Used by the closed-loop
        refresh and by a weight transfer (Ambrogio et al. 2018). Returns the number of
        weights written."""
        if not self.mapping.trainable:
            raise ModelError(f"program_weights needs the 'differential' mapping; this crossbar "
                             f"uses {self.mapping.name!r}")
        W = np.asarray(W, dtype=float)
        if W.shape != self.shape:
            raise ShapeError(f"W has shape {W.shape}, the crossbar holds {self.shape}")
        mask = np.ones(self.shape, bool) if mask is None else np.asarray(mask, bool)
        n = int(mask.sum())
        if n == 0:
            return 0
        self._program_pairs(W / self.mapping.scale, np.broadcast_to(mask, (self.mapping.K,
                                                                           *self.shape)), tol)
        return n

    def _program_pairs(self, diff, mask, tol=None):
        """Program-and-verify the device pairs in ``mask`` (array shape) to the conductance
        difference ``diff`` (S, broadcastable): ``G+ = max(diff, 0)``, ``G- = max(-diff,
        0)``, each clipped to g_max."""
        g = self.params.g_max
        kw = {} if tol is None else {"tol": tol}
        shape = self.arrays["G_plus"].shape
        diff = np.broadcast_to(diff, shape)
        for name, t in (("G_plus", diff), ("G_minus", -diff)):
            arr, on = self.arrays[name], mask & (t > 0)
            if (mask & ~on).any():
                arr.reset(mask & ~on)  # the side that holds nothing: RESET only
            if on.any():
                arr.program(np.clip(t, 0.0, g), mask=on, **kw)  # RESET, then verify pulses
        self._written()

    def _patch_eff(self, nz):
        """Bring the cached read model up to date at the weights ``nz`` (flat) only.

        Only for the differential mapping without periphery or compensation (else the next
        read rebuilds it): the moments of the written devices at the current time, combined
        by :meth:`~neuropcm.crossbar.mapping.DifferentialMapping.groups` itself (so the
        values equal a rebuild's); the input bound ``safe`` is
        recomputed. Falls back to a rebuild when the noise flag could change.
        """
        e = self._eff_cache
        if not (self._plain and self.mapping.name == "differential" and e is not None
                and self._circuit is None):  # IR drop couples all weights of an array
            return
        m, n = self.shape
        K_ = self.mapping.K
        dev = (np.arange(K_)[:, None] * (m * n) + nz[None, :]).reshape(-1)
        moments = {}
        for name in ("G_plus", "G_minus"):
            mean, std = self.arrays[name]._moments_idx(dev, self.time)
            if self.config.read_clip:
                from ..devices.theory import rectified_moments

                mean, std = rectified_moments(mean, std)
            moments[name] = (mean.reshape(K_, -1), std.reshape(K_, -1))
        g = self.mapping.groups(moments)[0]  # the mapping's own combination, at nz only
        M, Vn = g.M, g.V
        if self.config.read_noise and e.noisy != bool(np.any(Vn > 0)):
            return  # the noise flag might change: let the next read rebuild
        e.M.reshape(-1)[nz] = M
        if e.noisy:
            e.V.reshape(-1)[nz] = Vn
        from .reads import _safe_inputs

        e.safe = _safe_inputs(e.M, e.V if e.noisy else np.zeros(1), e.vr, e.noisy, self.dtype)
        self._cache_key = (self.time, self._version)

    def refresh(self, rule=None, verify=False) -> int:
        """Apply the refresh rule to every differential pair now; returns how many pairs
        were refreshed (RESET both, difference rewritten open-loop on the larger side).

        ``rule`` (a rule name or object, as the ``refresh`` option) is applied instead of
        :attr:`refresh_rule`: occasional refresh of a crossbar built with ``refresh=None``.
        ``verify=True``: closed-loop refresh -- the same selection, the difference the rule
        reads rewritten by program-and-verify (:meth:`_program_pairs`) instead of the
        open-loop pulse count.
        """
        rule = self.refresh_rule if rule is None else get_refresh(rule, "rule")
        if rule is None or not self.mapping.trainable:
            return 0
        if verify:
            plus, minus = self.arrays["G_plus"], self.arrays["G_minus"]
            gp, gm = rule.read(plus), rule.read(minus)
            mask = np.asarray(rule.select(gp, gm, rule.reference(plus.params)), dtype=bool)
            nsel = int(mask.sum())
            if nsel:
                self._program_pairs(gp - gm, mask)
                self.n_refresh += nsel
            return nsel
        # the one refresh rule of both engines (neuropcm.devices.refresh)
        nsel = rule.apply(self.arrays["G_plus"], self.arrays["G_minus"])
        if nsel == 0:
            return 0
        self.n_refresh += nsel
        self._written()
        return nsel
