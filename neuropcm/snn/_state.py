"""Device state of :class:`~neuropcm.snn.PCMSynapses` as Brian2 variables and as
:class:`~neuropcm.devices.PCMArray` pairs (export, import, read counters); re-exported by
:mod:`neuropcm.snn.synapses`."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..devices.params import DeviceParams
from ..errors import ParameterError
from ..random import check_seed, rng
from ._multi import check_devices, side_vars
from .models import DeviceVars

PLUS = dataclasses.replace(DeviceVars.with_suffix("p"), n_read="nreadp")   # G+ (LTP device)
MINUS = dataclasses.replace(DeviceVars.with_suffix("m"), n_read="nreadm")  # G- (LTD device)
_FIELDS = ("G", "P", "t_prog", "nu", "f_set", "n_set", "n_reset", "n_read", "energy")
#: Brian2 variables of a PCMSynapses that hold device state (G+ then G-, PCMArray fields).
SYNAPSE_DEVICE_VARS = [getattr(v, f) for v in (PLUS, MINUS) for f in _FIELDS]
#: Path of the random streams of exported devices under the run's seed (neuropcm.random).
EXPORT_STREAM = ("snn", "export")


def cached_drift_vars():
    """G+/G- variables with cached drift factors ``dfp``/``dfm``."""
    return (dataclasses.replace(PLUS, drift_factor="dfp"),
            dataclasses.replace(MINUS, drift_factor="dfm"))


def _sides(n: int = 1):
    """((name, [DeviceVars of its devices]) for G+ and G-): ``PLUS``/``MINUS`` for one
    device per side, ``Gp0, ...`` (:func:`~neuropcm.snn._multi.side_vars`) for N."""
    if check_devices(n) == 1:
        return (("G_plus", [PLUS]), ("G_minus", [MINUS]))
    return (("G_plus", side_vars("p", n)), ("G_minus", side_vars("m", n)))


def synapse_device_vars(devices_per_synapse: int = 1) -> list[str]:
    """Brian2 variables holding device state of a PCMSynapses with N devices per side
    (``SYNAPSE_DEVICE_VARS`` for N = 1; ``Gp0, Pp0, ...`` device by device for N >= 2)."""
    return [getattr(v, f) for _, vs in _sides(devices_per_synapse) for v in vs for f in _FIELDS]


def devices_to_synapse_state(plus, minus, devices_per_synapse: int = 1) -> dict:
    """Brian2 variable values (SI, flat) of PCMSynapses from two PCMArrays (G+, G-), each
    device with its own state and counters; with N devices per side the arrays have shape
    (N, synapses), device k going to the variables of device k (``Gp0``, ...)."""
    if plus.shape != minus.shape:
        raise ParameterError(f"G+ has shape {plus.shape}, G- {minus.shape}: they must match")
    n = check_devices(devices_per_synapse)
    if n > 1 and (len(plus.shape) != 2 or plus.shape[0] != n):
        raise ParameterError(f"arrays of shape {plus.shape}: {n} devices per side need "
                             f"shape ({n}, synapses)")
    out = {}
    for arr, (_, vs) in zip((plus, minus), _sides(n)):
        st = arr.state_dict()["arrays"]
        for k, v in enumerate(vs):
            for f in _FIELDS:
                out[getattr(v, f)] = (st[f] if n == 1 else st[f][k]).ravel()
    return out


def synapse_state_units(devices_per_synapse: int = 1) -> dict:
    """Unit (``neuropcm.io.kinds.UNITS``) of each device variable of PCMSynapses, by
    Brian2 name (the keys of :func:`devices_to_synapse_state`)."""
    from ..devices.validation import STATE_UNITS

    return {getattr(v, f): STATE_UNITS[f] for _, vs in _sides(devices_per_synapse)
            for v in vs for f in _FIELDS}


def synapse_state_to_devices(state: dict, params, time: float = 0.0, preset="custom", *,
                             seed=None, temperature=None, devices_per_synapse: int = 1):
    """Two PCMArrays (G+, G-) from PCMSynapses variable values (see
    :func:`devices_to_synapse_state`).

    Parameters
    ----------
    state : dict
        Variable values by Brian2 name (:func:`synapse_device_vars`), SI.
    params : DeviceParams
        Device model.
    time : float
        The arrays' clock (s).
    preset : str
        Preset name recorded in the arrays.
    seed : int or None
        The run's seed: G+ gets the random stream ``rng(seed, "snn", "export", "G_plus")``
        and G- ``rng(seed, "snn", "export", "G_minus")`` (:mod:`neuropcm.random`). None:
        fresh, unpredictable streams (as ``PCMArray(seed=None)``), independent of each other
        -- never in a seeded run: arrays written to a file must carry streams derived from
        the run's seed, or two runs with one seed write different files.
    temperature : float or None
        Operating temperature (K) of both arrays; None: the model's reference ``t_ref``.
    devices_per_synapse : int
        N: arrays of shape (synapses,) for 1, (N, synapses) for N >= 2.
    """
    from ..devices.array import PCMArray

    if seed is not None:
        seed = check_seed(seed)
    temp = params.t_ref if temperature is None else float(temperature)
    missing = [k for k in synapse_device_vars(devices_per_synapse) if k not in state]
    if missing:
        raise ParameterError(f"synapse state lacks {missing}; give every variable of "
                             f"synapse_device_vars({devices_per_synapse})")
    arrays = []
    for name, vs in _sides(devices_per_synapse):
        arr = {f: np.stack([np.asarray(state[getattr(v, f)]).ravel() for v in vs])
               for f in _FIELDS}
        if len(vs) == 1:
            arr = {k: a[0] for k, a in arr.items()}
        gen = np.random.default_rng() if seed is None else rng(seed, *EXPORT_STREAM, name)
        arrays.append(PCMArray.from_state(params, {
            "arrays": arr, "time": float(time), "temperature": temp,
            "rng_state": gen.bit_generator.state}, preset=preset, seed=seed))
    return tuple(arrays)


def fold_source_reads(state: dict, reads, params: DeviceParams,
                      devices_per_synapse: int = 1) -> dict:
    """Device state (:func:`synapse_device_vars`) with ``reads`` (per synapse: its
    presynaptic neuron's spike count, see ``PCMSynapses(read_counter=)``) added to the read
    counters of every device (each spike reads all 2N) and their read energy to the
    energies; a new dict."""
    reads = np.asarray(reads)
    out = dict(state)
    for _, vs in _sides(devices_per_synapse):
        for v in vs:
            out[v.n_read] = np.asarray(state[v.n_read]) + reads.astype(np.asarray(
                state[v.n_read]).dtype)
            out[v.energy] = np.asarray(state[v.energy]) + reads * params.e_read
    return out
