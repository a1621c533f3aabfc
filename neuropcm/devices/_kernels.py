"""numba kernels of the device models.

Array in, array out (state arrays are updated in place), explicit random numbers
passed in (drawn by the caller from a seeded ``numpy.random.Generator``), the formula
in each docstring. The formulas themselves are the relations of
:mod:`neuropcm.devices.physics`, compiled here, never retyped.
"""

from __future__ import annotations

import numba

from . import faults
from . import physics as ph

_pulse_memory = ph.PULSE_MEMORY.numba
_drift_pulsed = ph.DRIFT_PULSED.numba
_drift_programmed = ph.DRIFT_PROGRAMMED.numba
_read_std_pulsed = ph.READ_STD_PULSED.numba
_read_std_programmed = ph.READ_STD_PROGRAMMED.numba
_temperature = ph.TEMPERATURE.numba
_set_update = ph.SET_UPDATE.numba
_reset_level = ph.RESET_LEVEL.numba
_writable = ph.WRITABLE.numba
_can_write_rule = numba.njit(inline="always")(faults.can_write)


@numba.njit(inline="always")
def _can_write(stuck, n_set, n_reset, i, endurance):
    """The stuck rule :func:`~neuropcm.devices.faults.can_write` of device ``i``."""
    return _can_write_rule(stuck[i], _writable(n_set[i], n_reset[i], endurance))


def _make_set_kernels(mean_fn, std_fn):
    @numba.njit(inline="always")
    def pulse(i, a, x, G, P, f_set, t_prog, n_set, energy, now, mem, mean_p, std_p, g_min,
              g_max, e_set):
        """One SET pulse of relative amplitude ``a`` with the normal ``x`` on device ``i``:
        ``P <- P exp(-1/mem)``; ``G <- clip(G + a f_set (mean(G, P) + std(G, P) x), g_min,
        g_max)``; ``t_prog <- now``; ``n_set += 1``; ``energy += e_set``."""
        p = _pulse_memory(P[i], mem)
        g = G[i]
        m = mean_fn(g, p, *mean_p)
        s = std_fn(g, p, *std_p)
        G[i] = _set_update(g, a * f_set[i], m, s, x, g_min, g_max)
        P[i] = p
        t_prog[i] = now
        n_set[i] += 1
        energy[i] += e_set

    @numba.njit(nogil=True)
    def set_kernel(G, P, f_set, t_prog, n_set, n_reset, energy, stuck, idx, amp, xi, now,
                   mem, mean_p, std_p, g_min, g_max, e_set, endurance):
        """Apply one SET pulse to each device ``idx[k]`` (in place).

        ``P <- P exp(-1/mem)``;
        ``G <- clip(G + amp_k f_set (mean(G, P) + std(G, P) xi_k), g_min, g_max)``;
        the drift clock restarts (``t_prog = now``); counters and energy updated.
        Stuck devices (worn out or faulted: the rule
        :func:`~neuropcm.devices.faults.can_write`) and pulses with ``amp_k <= 0`` are
        skipped entirely. ``amp`` has length 1 (shared) or ``len(idx)``.
        """
        one_amp = amp.size == 1
        for k in range(idx.size):
            i = idx[k]
            a = amp[0] if one_amp else amp[k]
            if a <= 0.0 or not _can_write(stuck, n_set, n_reset, i, endurance):
                continue
            pulse(i, a, xi[k], G, P, f_set, t_prog, n_set, energy, now, mem, mean_p, std_p,
                  g_min, g_max, e_set)

    @numba.njit(nogil=True)
    def set_rounds(G, P, f_set, t_prog, n_set, n_reset, energy, stuck, active, n_active, counts,
                   k0, k1, xi, now, mem, mean_p, std_p, g_min, g_max, e_set, endurance):
        """Apply pulse rounds ``k0 .. k1-1`` of ``counts`` nominal SET pulses (in place).

        In round ``k`` every device ``i`` with ``counts[i] > k`` gets one pulse of amplitude
        1 -- the update of :func:`set_kernel`,
        ``G <- clip(G + f_set (mean(G, P) + std(G, P) xi_j), g_min, g_max)`` after
        ``P <- P exp(-1/mem)`` -- in increasing ``i``, taking the next normal ``xi_j``
        (also for a stuck device, which is skipped): the same updates and draws, in
        the same order, as ``k1 - k0`` calls of :func:`set_kernel` on the devices with
        ``counts > k``. ``active[:n_active]`` holds, ascending, the devices with
        ``counts > k0``; it is compacted in place to those with ``counts > k1``, whose
        number is returned. ``xi`` holds exactly the draws of these rounds.
        """
        j = 0
        for k in range(k0, k1):
            m = 0
            for q in range(n_active):
                i = active[q]
                if _can_write(stuck, n_set, n_reset, i, endurance):
                    pulse(i, 1.0, xi[j], G, P, f_set, t_prog, n_set, energy, now, mem,
                          mean_p, std_p, g_min, g_max, e_set)
                j += 1
                if counts[i] > k + 1:
                    active[m] = i
                    m += 1
            n_active = m
        return n_active

    return set_kernel, set_rounds


set_pulsed, set_rounds_pulsed = _make_set_kernels(ph.SET_MEAN.numba, ph.SET_STD.numba)
set_linear, set_rounds_linear = _make_set_kernels(ph.LINEAR_SET_MEAN.numba,
                                                  ph.LINEAR_SET_STD.numba)


@numba.njit(nogil=True)
def reset(G, P, t_prog, n_set, n_reset, energy, stuck, idx, xi, now, reset_mean, reset_std,
          g_min, g_max, e_reset, endurance, count):
    """RESET devices ``idx[k]`` (in place).

    ``G <- clip(reset_mean + reset_std xi_k, g_min, g_max)``, ``P <- 1``,
    ``t_prog <- now``; ``n_reset += 1`` and ``energy += e_reset`` when ``count``.
    Stuck devices (worn out or faulted: :func:`~neuropcm.devices.faults.can_write`) are
    skipped entirely.
    """
    for k in range(idx.size):
        i = idx[k]
        if not _can_write(stuck, n_set, n_reset, i, endurance):
            continue
        G[i] = _reset_level(xi[k], reset_mean, reset_std, g_min, g_max)
        P[i] = 1.0
        t_prog[i] = now
        if count:
            n_reset[i] += 1
            energy[i] += e_reset


@numba.njit(nogil=True)
def moments_pulsed(G, nu, t_prog, idx, t, T, temp_on, t0, read_slope, read_offset,
                   ea_hrs, ea_lrs, g_max, t_ref, mean_out, std_out):
    """Mean and std of a read of devices ``idx[k]`` at time ``t`` (pulsed model).

    ``mean = G (max(t - t_p, T0)/T0)^-nu * A(G, T)``, ``std = read_slope*mean + read_offset``
    with the Arrhenius factor ``A`` applied only when ``temp_on``.
    """
    for k in range(idx.size):
        i = idx[k]
        gd = G[i] * _drift_pulsed(t - t_prog[i], nu[i], t0)
        if temp_on:
            gd *= _temperature(G[i], T, ea_hrs, ea_lrs, g_max, t_ref)
        mean_out[k] = gd
        std_out[k] = _read_std_pulsed(gd, read_slope, read_offset)


@numba.njit(nogil=True)
def moments_programmed(G, nu, t_prog, idx, t, T, temp_on, t0, t_read, q_a, q_b, q_max,
                       ea_hrs, ea_lrs, g_max, t_ref, mean_out, std_out):
    """Mean and std of a read of devices ``idx[k]`` at time ``t`` (programmed-state model).

    ``mean = G ((dt + t0)/t0)^-nu * A(G, T)``,
    ``std = mean * min(q_a/(G/g_max)^q_b, q_max) * sqrt(ln((dt + t0 + t_read)/(2 t_read)))``
    with ``dt = t - t_prog``.
    """
    for k in range(idx.size):
        i = idx[k]
        dt = t - t_prog[i]
        gd = G[i] * _drift_programmed(dt, nu[i], t0)
        if temp_on:
            gd *= _temperature(G[i], T, ea_hrs, ea_lrs, g_max, t_ref)
        mean_out[k] = gd
        std_out[k] = _read_std_programmed(gd, G[i], dt, q_a, g_max, q_b, q_max, t0, t_read)


@numba.njit(nogil=True)
def sample_read(mean, std, xi, out):
    """Noisy read: ``out = max(mean + std * xi, 0)``."""
    for k in range(mean.size):
        v = mean[k] + std[k] * xi[k]
        out[k] = v if v > 0.0 else 0.0
