"""The likelihood of SET steps (the core of
:func:`~neuropcm.devices.fit.accumulation.fit_accumulation`): each step Gaussian with mean
and std from the model's SET relations, scaled by a per-device factor that adaptive
Gauss-Hermite quadrature integrates out, steps ending at a clip censored."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import log_ndtr, ndtr

from .. import physics as ph

_U = 1e-6  # the likelihood works in uS for conditioning
_BIG = 1e12
_LOG2PI = math.log(2 * math.pi)


def _pulse_memory_table(mem: float, kmax: int) -> np.ndarray:
    """P after 0..kmax pulses from RESET: the relation PULSE_MEMORY applied k times."""
    out = np.empty(kmax + 1)
    p = 1.0
    for k in range(kmax + 1):
        out[k] = p
        p = float(ph.PULSE_MEMORY.numpy(p, mem))
    return out


class StepModel:
    """Likelihood of the SET steps, the device factor integrated by Gauss-Hermite."""

    def __init__(self, d, pulsed: bool, n_nodes: int):
        self.d, self.pulsed = d, pulsed
        x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
        self.x, self.logw = x, np.log(w / math.sqrt(2 * math.pi))
        self.y = (d.next - d.prev) / _U
        self.lo_gap = (d.lo - d.prev) / _U
        self.hi_gap = (d.hi - d.prev) / _U
        self.placement = None
        self.names = (("set_a", "set_b", "set_c", "set_d", "set_e", "set_f", "pulse_memory",
                       "set_dtod") if pulsed else ("set_step", "set_step_std"))

    def moments(self, theta):
        """Mean and std (uS) of each step without the device factor, or None if invalid."""
        d = self.d
        if self.pulsed:
            a, b, c, dd, e, f, mem = theta[:7]
            if not (0 < mem < 1e6):
                return None
            P = _pulse_memory_table(mem, d.kmax)[d.k]
            m = ph.SET_MEAN.numpy(d.prev, P, a, b, c)
            s = ph.SET_STD.numpy(d.prev, P, dd, e, f)
        else:
            m = ph.LINEAR_SET_MEAN.numpy(d.prev, 1.0, theta[0])
            s = ph.LINEAR_SET_STD.numpy(d.prev, 1.0, theta[1])
        return d.step_amp * m / _U, d.step_amp * s / _U

    def freeze(self, theta) -> None:
        """Freeze the step statistics that place each device's quadrature nodes (taken at
        ``theta``). The nodes then follow set_dtod smoothly (:meth:`nodes`) but not the
        other parameters, so the likelihood is a smooth function; :func:`fit_accumulation`
        re-freezes at the optimum and optimises again until the estimate stays put."""
        m, s = self.moments(theta)
        A, B, _, _, N = self.statistics(m, s)
        self.placement = (A, B, N)

    def nodes(self, theta):
        """Adaptive quadrature of the device factor: nodes ``f_ij = mu_i + tau_i x_j``
        around the mode ``mu_i`` of the factor's posterior (prior N(1, set_dtod^2), the
        frozen step statistics; censored steps ignored for the placement only), ``tau_i``
        its Gaussian (Laplace) width, and log-weights ``log(w_j tau_i / phi(x_j)) +
        log p(f_ij)``, ``p`` the prior density; nodes ``f <= 0`` are dropped (a device
        with factor 0 does not respond, see :meth:`_dead_component`). Returns ``(f,
        logw)``, shape (n_dev, n_nodes); one node ``f = 1`` without a device factor."""
        n = self.d.n_dev
        sd = abs(theta[7]) if self.pulsed else 0.0
        if self.placement is None or sd < 1e-12:
            return np.ones((n, 1)), np.zeros((n, 1))
        A, B, N = self.placement
        q = 1 / sd ** 2
        with np.errstate(divide="ignore", invalid="ignore"):  # likelihood-only mode, width
            fl = np.where(N > 0, (-B + np.sqrt(B * B + 4 * N * A)) / (2 * N), 1.0)
            fl = np.where(np.isfinite(fl) & (fl > 0), fl, 1.0)
            cl = np.maximum(3 * A / fl ** 4 - 2 * B / fl ** 3 - N / fl ** 2, 0.0)
        mu = (cl * fl + q) / (cl + q)
        prec = cl + q
        for _ in range(3):  # safeguarded Newton steps on the full log-posterior
            g1 = A / mu ** 3 - B / mu ** 2 - N / mu - (mu - 1) * q
            g2 = -3 * A / mu ** 4 + 2 * B / mu ** 3 + N / mu ** 2 - q
            ok = g2 < 0
            step = np.clip(np.where(ok, -g1 / np.where(ok, g2, -1.0), 0.0), -0.5 * mu, 0.5 * mu)
            mu = mu + step
            prec = np.where(ok, -g2, prec)
        tau = 1.0 / np.sqrt(prec)
        f = mu[:, None] + tau[:, None] * self.x
        r = (f - 1) / sd
        logw = (self.logw + 0.5 * self.x ** 2 + np.log(tau)[:, None] - 0.5 * r * r
                - math.log(sd))
        bad = f <= 0
        return np.where(bad, 1.0, f), np.where(bad, -np.inf, logw)

    def node_loglik(self, m, s, F):
        """Per-step log-likelihood at the nodes ``F`` of its device, (n_steps, n_nodes)."""
        d = self.d
        fm, fs = m[:, None] * F, s[:, None] * F
        out = np.empty(F.shape)
        z = (self.y[d.mid, None] - fm[d.mid]) / fs[d.mid]
        out[d.mid] = -0.5 * z * z - np.log(fs[d.mid]) - 0.5 * _LOG2PI
        out[d.low] = log_ndtr((self.lo_gap[d.low, None] - fm[d.low]) / fs[d.low])
        out[d.high] = log_ndtr((fm[d.high] - self.hi_gap[d.high, None]) / fs[d.high])
        return out

    def statistics(self, m, s):
        """Per-device sums of the uncensored steps: A = sum y^2/s^2, B = sum y m/s^2,
        C = sum m^2/s^2, D = sum log s, N = count."""
        d = self.d
        mid, n = d.mid, d.n_dev
        dm = d.step_dev[mid]
        y, mm, ss = self.y[mid], m[mid], s[mid]
        inv = 1.0 / (ss * ss)
        return (np.bincount(dm, y * y * inv, n), np.bincount(dm, y * mm * inv, n),
                np.bincount(dm, mm * mm * inv, n), np.bincount(dm, np.log(ss), n),
                np.bincount(dm, minlength=n).astype(float))

    def jacobian(self, theta, m, s):
        """d(mean, std)/d(theta) per step, by differences through the relations (exact for
        the coefficients, in which they are linear; central for the pulse memory)."""
        n = len(self.names)
        Jm, Js = np.zeros((n, m.size)), np.zeros((n, m.size))
        scale = self.scale()
        for i in range(n - (1 if self.pulsed else 0)):
            h = 1e-3 * scale[i]
            t = np.array(theta, float)
            if self.pulsed and i == 6:
                h = min(h, 0.5 * t[i])
                t[i] += h
                m1, s1 = self.moments(t)
                t[i] -= 2 * h
                m0, s0 = self.moments(t)
                Jm[i], Js[i] = (m1 - m0) / (2 * h), (s1 - s0) / (2 * h)
                continue
            t[i] += h
            m1, s1 = self.moments(t)
            Jm[i], Js[i] = (m1 - m) / h, (s1 - s) / h
        return Jm, Js

    def _terms(self, theta):
        """``(T, f, m, s, aux)``: per-device, per-node log terms (None if invalid)."""
        mom = self.moments(theta)
        if mom is None:
            return None
        m, s = mom
        if np.any(s <= 0):
            return None
        d = self.d
        A, B, C, D, N = self.statistics(m, s)
        f, logw = self.nodes(theta)
        L = (-A[:, None] / (2 * f * f) + B[:, None] / f - 0.5 * C[:, None]
             - N[:, None] * np.log(f) - D[:, None] - 0.5 * _LOG2PI * N[:, None])
        cens = d.low | d.high
        aux = None
        if np.any(cens):
            dc = d.step_dev[cens]
            fc = f[dc]
            mc, sc = m[cens, None], s[cens, None]
            low = d.low[cens, None]
            gap = np.where(low, self.lo_gap[cens, None], self.hi_gap[cens, None])
            sign = np.where(low, -1.0, 1.0)
            w = sign * (mc - gap / fc) / sc  # (gap - f m)/(f s) below, (f m - gap)/(f s) above
            lc = log_ndtr(w)
            np.add.at(L, dc, lc)
            aux = (cens, dc, sc, sign, w, lc)
        T = L + logw
        if self.pulsed and np.any(d.dead):
            T = self._dead_component(theta, T)
        return T, f, m, s, aux

    def value(self, theta) -> float:
        """Negative log-likelihood of the steps."""
        t = self._terms(theta)
        if t is None:
            return _BIG
        T = t[0]
        mx = T.max(axis=1, keepdims=True)
        if not np.all(np.isfinite(mx)):
            return _BIG
        total = float(np.sum(mx[:, 0] + np.log(np.exp(T - mx).sum(axis=1))))
        return -total if np.isfinite(total) else _BIG

    def nll(self, theta):
        """Negative log-likelihood of the steps and its gradient: analytic in the step
        mean and std (chained through the relations), a central difference in set_dtod
        (the quadrature nodes move with it)."""
        n_par = len(self.names)
        t = self._terms(theta)
        if t is None:
            mom = self.moments(theta)
            bad = 1.0 if mom is None else 1.0 + float(np.sum(np.maximum(-mom[1], 0)))
            return _BIG * bad, np.zeros(n_par)
        T, f, m, s, aux = t
        d = self.d
        mid, dev = d.mid, d.step_dev
        mx = T.max(axis=1, keepdims=True)
        if not np.all(np.isfinite(mx)):
            return _BIG, np.zeros(n_par)
        E = np.exp(T - mx)
        S = E.sum(axis=1, keepdims=True)
        total = float(np.sum(mx + np.log(S)))
        pi = (E / S)[:, :f.shape[1]]  # the factor-0 column has no step terms
        e0 = np.sum(pi, axis=1)
        e1, e2 = np.sum(pi / f, axis=1), np.sum(pi / (f * f), axis=1)
        y, mm, ss, dm = self.y[mid], m[mid], s[mid], dev[mid]
        inv = 1.0 / (ss * ss)
        gm, gs = np.zeros(m.size), np.zeros(m.size)
        gm[mid] = (y * e1[dm] - mm * e0[dm]) * inv
        gs[mid] = ((y * y * e2[dm] - 2 * y * mm * e1[dm] + mm * mm * e0[dm]) * inv / ss
                   - e0[dm] / ss)
        if aux is not None:
            cens, dc, sc, sign, w, lc = aux
            lam = np.exp(-0.5 * w * w - 0.5 * _LOG2PI - lc)
            pc = pi[dc]
            gm[cens] = np.sum(pc * sign * lam, axis=1) / sc[:, 0]
            gs[cens] = -np.sum(pc * lam * w, axis=1) / sc[:, 0]
        Jm, Js = self.jacobian(theta, m, s)
        grad = -(Jm @ gm + Js @ gs)
        if self.pulsed:
            h = 1e-5 * max(abs(theta[7]), 0.01)
            up, dn = np.array(theta, float), np.array(theta, float)
            up[7] += h
            dn[7] -= h
            grad[7] = (self.value(up) - self.value(dn)) / (2 * h)
        return -total, grad

    def _dead_component(self, theta, T):
        """Add the factor-0 column for the devices that never moved: a device whose steps
        are all exactly 0 has factor 0, probability Phi(-1/set_dtod) (the clip of
        F_SET_DEVICE); a factor > 0 explains it only where its steps are censored."""
        d = self.d
        sd = abs(theta[7])
        extra = np.full((T.shape[0], 1), -np.inf)
        if sd > 1e-12:
            extra[d.dead] = float(log_ndtr(-1.0 / sd))
        T = T.copy()
        T[d.dead & ~d.all_censored] = -np.inf
        return np.hstack([T, extra])

    def start(self, params) -> np.ndarray:
        """Moment regressions for the start: OLS of the steps on (G, 1, P), then of
        sqrt(pi/2)|residual| on the same regressors."""
        d = self.d
        mid = d.mid
        if not self.pulsed:
            y = self.y[mid] / d.step_amp[mid]
            return np.array([max(np.mean(y), 1e-3) * _U, max(np.std(y), 1e-3) * _U])
        mem = params.pulse_memory
        P = _pulse_memory_table(mem, d.kmax)[d.k][mid]
        X = np.stack([d.prev[mid] / _U, np.ones(mid.sum()), P], 1) * d.step_amp[mid, None]
        coef, *_ = np.linalg.lstsq(X, self.y[mid], rcond=None)
        r = np.abs(self.y[mid] - X @ coef) * math.sqrt(math.pi / 2)
        sc, *_ = np.linalg.lstsq(X, r, rcond=None)
        if np.any(X @ sc <= 0):
            sc = np.array([0.0, float(np.mean(r)), 0.0])
        return np.array([coef[0], coef[1] * _U, coef[2] * _U, sc[0], sc[1] * _U, sc[2] * _U,
                         mem, 0.1])

    def scale(self) -> np.ndarray:
        if self.pulsed:
            return np.array([0.1, _U, _U, 0.1, _U, _U, 1.0, 0.1])
        return np.array([_U, _U])

    def pit(self, theta, rng) -> np.ndarray:
        """Rosenblatt transforms of the steps: each step's CDF under the fitted model given
        the device's earlier steps (the device factor's posterior over the nodes)."""
        d = self.d
        m, s = self.moments(theta)
        f, logw = self.nodes(theta)
        F = f[d.step_dev]
        L = self.node_loglik(m, s, F)
        cum = np.cumsum(L, axis=0)
        first = np.r_[True, d.step_dev[1:] != d.step_dev[:-1]]
        start_idx = np.maximum.accumulate(np.where(first, np.arange(L.shape[0]), 0))
        before = cum - L - np.where(start_idx[:, None] > 0, cum[start_idx - 1], 0.0)
        before[first] = 0.0
        w = before + logw[d.step_dev]
        w = np.exp(w - w.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        fm, fs = m[:, None] * F, s[:, None] * F
        cdf = np.sum(w * ndtr((self.y[:, None] - fm) / fs), axis=1)
        p_lo = np.sum(w * ndtr((self.lo_gap[:, None] - fm) / fs), axis=1)
        p_hi = np.sum(w * ndtr((self.hi_gap[:, None] - fm) / fs), axis=1)
        u = cdf.copy()
        u[d.low] = rng.uniform(0, 1, d.low.sum()) * p_lo[d.low]
        u[d.high] = p_hi[d.high] + rng.uniform(0, 1, d.high.sum()) * (1 - p_hi[d.high])
        return u[~d.dead[d.step_dev]]
