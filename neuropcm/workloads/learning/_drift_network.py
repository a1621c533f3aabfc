"""The drift-resilient MLP of seed 2 (Muñoz-Martín et al. 2021) mapped on PCM crossbars.

A float 784-H-10 sigmoid MLP (biases kept: one more word line fed by 1 in layer 1, one
more hidden "unit" always on in layer 2) is stored on two crossbars with positive-only
weights ``W* = W + |W_min|`` and a dummy (reference) line holding ``|W_min|``, subtracted
digitally (seed 2, eqs. 2-4):

* **digital** weights (Fig. 5, left): ``bits``-bit codes on binary LRS/HRS devices, one
  line per bit, shift-and-add (the crossbar's ``bit-sliced`` mapping, ``binary`` preset);
* **analog** weights (Fig. 5, right, Fig. 6): ``levels`` conductance levels per device
  (the ``offset`` mapping, ``joshi2020`` preset: state-dependent drift), or the same with
  one drift exponent for every state (:data:`IDEAL_DRIFT`, Fig. 6a).

The weights are quantised by :func:`quantise` on a grid that holds 0 exactly (see there
why), so the crossbar's own quantiser reproduces the codes unchanged.

Hidden layer (the DSP of Fig. 3a): ``a = K (Y_main - Y_dummy)`` from the ADC outputs, ``K``
the LRS reference column's factor ``<G_LRS(t0)>/<G_LRS(t)>`` (seed 2 eq. 7; 1 without
compensation), ``h = sigmoid(a)`` (a look-up table on the ADC code in hardware) and the
6-bit unary (thermometer) code ``u = rint(6 h)``: ``u`` of the 6 word lines of the unit
are 1. Layer 2 is the (10, 6 (H + 1)) matrix whose 6 columns of unit ``i`` all hold
``W2[:, i] / 6`` (so ``a2 = W2 [u/6; 1]``; the bias is a unit with ``u = 6``). The class is
the largest ``a2`` (the sigmoid/softmax of the output layer does not change it).

ADC (``adc_mode``):

* ``"neuron"`` (default): one ADC per neuron converts the neuron's pre-activation after the
  analog shift-and-add and the differential subtraction of the dummy line ("a differential
  configuration of the MVM", seed 2 Sec. III), over the full scale of the activation
  (``V_FSR``, eq. 5): ``+-2 ln 11`` for the hidden layer (the unary code saturates at
  ``|a| = ln 11``), ``+-max|a_2|`` over the calibration inputs for the output layer. K
  multiplies the ADC output, so drift leaves the ADC a narrower signal (Fig. 3b). The
  crossbars run without their own periphery; conversions are counted here.
* ``"line"``: the crossbar's own ADC on every line (bit line, dummy line), shift-and-add
  and dummy subtraction in the DSP. Lines carry positive currents only, so the ADC is
  unipolar: codes ``0 .. 2^b - 1`` over ``[0, R)``, which is the crossbar's signed
  ``b + 1``-bit ADC of the same range on non-negative lines (identical codes and step
  ``R/2^b``). ``R`` is the crossbar's automatic range, the worst case of the mean line
  output over inputs in [0, 1] at programming (nothing saturates with ideal devices).

Saturated conversions are counted (``totals()["adc_saturated"]``), never silent.
"""

from __future__ import annotations

import warnings

import numpy as np

from ...crossbar.mapping import quantise_levels
from ...errors import ParameterError
from ...random import int_seed
from ._mlp import ACTIVATIONS, with_ones

#: Word lines of one hidden unit (the 6-bit unary code of seed 2).
UNARY = 6
#: Device overrides of the "ideal drift" analog variant (Fig. 6a): every state drifts
#: with the same exponent nu = 0.05 (no state dependence, no device-to-device spread).
IDEAL_DRIFT = {"nu_mean_min": 0.05, "nu_mean_max": 0.05, "nu_std_min": 0.0,
               "nu_std_max": 0.0}

_sigmoid = ACTIVATIONS["sigmoid"][0]


#: Quantisation grids of :func:`quantise`.
GRIDS = ("zero", "midrise")


def quantise(W: np.ndarray, levels: int,
             grid: str = "zero") -> tuple[np.ndarray, np.ndarray, int, float]:
    """Quantisation of ``W`` to ``levels`` codes for the positive-only mapping.

    * ``"zero"``: the crossbar's rule (:func:`neuropcm.crossbar.mapping.quantise_levels`),
      a grid holding 0 over ``[min(W_min, 0), max(W_max, 0)]``. At 2 levels it is
      ``{W_min, 0}`` or ``{0, W_max}``: the weights are one-signed, which is why 1-2 bits
      (and 2-4 analog levels) fail on it.
    * ``"midrise"``: ``levels`` equal cells over ``[W_min, W_max]``, every weight at the
      centre of its cell, ``lo + delta (q + 1/2)`` with ``delta = (W_max - W_min) /
      levels``; 0 is not a grid point, so 2 levels give both signs. The crossbar holds
      ``Wq + s`` on its zero-holding grid (:func:`grid_offset`, ``|s| <= delta/2``) and
      :class:`MappedMLP` subtracts ``s sum(x)`` as one more dummy line.

    Returns
    -------
    Wq : ndarray
        The quantised matrix (``delta (q - q_c)`` on the zero grid).
    q : ndarray of int64
        Codes in ``[0, levels - 1]``.
    q_c : int
        The dummy line's code (``|W_min|`` in steps; on the midrise grid that of
        ``Wq + s``).
    delta : float
        The step.
    """
    if grid == "zero":
        q, q_c, delta = quantise_levels(W, levels)
        return delta * (q - q_c), q, q_c, delta
    if grid != "midrise":
        raise ParameterError(f"grid = {grid!r}; use one of {list(GRIDS)}")
    W = np.asarray(W, dtype=float)
    lo, hi = float(W.min()), float(W.max())
    delta = (hi - lo) / levels if hi > lo else 1.0
    q = np.clip(np.floor((W - lo) / delta), 0, levels - 1).astype(np.int64)
    Wq = lo + delta * (q + 0.5)
    return Wq, q, int(np.rint(-(lo + delta / 2) / delta)), delta


def grid_offset(W: np.ndarray, levels: int) -> float:
    """The shift ``s`` that puts a matrix on a midrise grid (its codes 0 and
    ``levels - 1`` both used, as :func:`quantise` gives) onto a grid holding 0 with the
    same step: ``delta = (max W - min W)/(levels - 1)``, ``q_c = rint(-min W/delta)``,
    ``s = -delta q_c - min W`` (``|s| <= delta/2``)."""
    W = np.asarray(W, dtype=float)
    lo, hi = float(W.min()), float(W.max())
    if hi <= lo:
        return 0.0
    delta = (hi - lo) / (levels - 1)
    return -delta * float(np.rint(-lo / delta)) - lo


def expand_unary(W2: np.ndarray) -> np.ndarray:
    """Layer 2 on the unary word lines: (m, H + 1) -> (m, 6 (H + 1)), every column
    repeated 6 times and divided by 6 (the last is the bias unit)."""
    return np.repeat(np.asarray(W2, dtype=float), UNARY, axis=1) / UNARY


def unary_code(h: np.ndarray) -> np.ndarray:
    """Thermometer code of hidden activations ``h`` (H, B) in [0, 1]: (6 (H + 1), B) word
    lines, line ``6 i + k`` at 1 when ``rint(6 h_i) > k``; the last 6 lines (bias unit)
    are 1."""
    u = np.rint(UNARY * np.asarray(h, dtype=float))
    k = np.arange(UNARY, dtype=float)
    lines = (u[:, None, :] > k[None, :, None]).reshape(-1, u.shape[1])
    return np.vstack([lines, np.ones((UNARY, u.shape[1]), bool)]).astype(np.float64)


def hidden_float(W1q: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The unary code of the float network with matrix ``W1q`` for inputs ``X`` (784, B)."""
    return unary_code(_sigmoid(W1q @ with_ones(X)))


def predict_float(W1q: np.ndarray, W2q: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Classes of the quantised float network (same unary code, no devices)."""
    return (expand_unary(W2q) @ hidden_float(W1q, X)).argmax(axis=0)


#: ADC placements (see the module docstring).
ADC_MODES = ("neuron", "line")
#: Full scale of the hidden pre-activation in ``"neuron"`` mode: twice the input where
#: the unary code saturates (``rint(6 sigmoid(a)) = 6`` from ``a = ln 11``).
HIDDEN_RANGE = 2.0 * float(np.log(11.0))


def input_conductance(xb, X: np.ndarray) -> float:
    """``sum_vectors sum_j x_j^2 sum_(devices on input line j) G`` (S) of one read of the
    crossbar ``xb`` with inputs ``X`` (n, B), at the devices' programmed conductances
    (every array whose last axis is the input: main, dummy/bit-plane arrays; not the LRS
    reference column, which is read once per K update). Times ``V_read^2 t_read`` it is
    the ohmic energy of the read, ``sum V^2 G t`` over the cells (inputs in [0, 1] scale
    the word-line voltage)."""
    x2 = np.square(X).sum(axis=1)
    n = X.shape[0]
    total = 0.0
    for name, a in xb.arrays.items():
        g = np.asarray(a.conductance)
        if name in ("main", "ref", "G_plus", "G_minus") and g.shape[-1] == n:
            total += float(g.reshape(-1, n).sum(axis=0) @ x2)
    return total


class MappedMLP:
    """The two crossbars of one device instance and the DSP between them.

    Parameters
    ----------
    W1q, W2q : ndarray
        Quantised layers ``(H, 785)`` and ``(10, H + 1)`` (from :func:`quantise`).
    weights : {"digital", "analog"}
        ``bit-sliced`` binary devices or ``offset`` multilevel devices.
    levels : int
        Codes per weight (``2^bits`` for digital).
    adc_bits : int or None
        ADC resolution (None: no ADC).
    calibration : ndarray (784, B)
        Inputs setting the output layer's ADC full scale in ``"neuron"`` mode (module
        docstring).
    preset : str
        Device preset.
    seed : int
        Instance seed; layer ``l`` uses ``int_seed(seed, "layer", l)``.
    adc_mode : {"neuron", "line"}
        Where the ADCs sit (module docstring).
    device_overrides : dict, optional
        Device parameter overrides (e.g. :data:`IDEAL_DRIFT`).
    grid : {"zero", "midrise"}
        The grid ``W1q``, ``W2q`` are on (:func:`quantise`). On the midrise grid each
        layer's crossbar holds ``W + s`` (:func:`grid_offset`) and a read subtracts
        ``s sum(x) / K``: one more dummy line of LRS devices (drifting with the LRS
        mean, so K restores it like the rest), its devices not simulated.
    crossbar_options : dict, optional
        Further :class:`~neuropcm.crossbar.Crossbar` options of both layers' crossbars,
        e.g. ``wire_resistance_row``/``wire_resistance_col`` (IR drop, solved per physical
        array) or ``p_stuck_off``/``p_stuck_on`` (device faults, drawn from the layer's
        seed; the LRS reference column has its own faults too).
    """

    def __init__(self, W1q, W2q, *, weights: str, levels: int, adc_bits: int | None,
                 calibration: np.ndarray, preset: str, seed: int, adc_mode: str = "neuron",
                 device_overrides: dict | None = None, crossbar_options: dict | None = None,
                 grid: str = "zero"):
        true = [np.asarray(W1q, float), expand_unary(W2q)]
        self._build(true, [with_ones(calibration), hidden_float(true[0], calibration)],
                    [HIDDEN_RANGE, None], weights=weights, levels=levels, adc_bits=adc_bits,
                    preset=preset, seed=seed, adc_mode=adc_mode,
                    device_overrides=device_overrides, crossbar_options=crossbar_options,
                    grid=grid)

    def _build(self, true, inputs, ranges, *, weights, levels, adc_bits, preset, seed,
               adc_mode, device_overrides, crossbar_options, grid) -> None:
        """The crossbars (and neuron ADCs) of the layers ``true`` (quantised matrices)
        with calibration inputs ``inputs``; ``ranges[l]`` the neuron ADC's full scale
        (None: ``max |W x|`` over the calibration inputs)."""
        from ...crossbar import ADC, Crossbar

        if weights not in ("digital", "analog"):
            raise ParameterError(f"weights = {weights!r}; use 'digital' or 'analog'")
        if adc_mode not in ADC_MODES:
            raise ParameterError(f"adc_mode = {adc_mode!r}; use one of {list(ADC_MODES)}")
        bits = int(levels).bit_length() - 1 if weights == "digital" else None
        if bits is not None and 2 ** bits != levels:
            raise ParameterError(f"levels = {levels} of digital weights must be a power of 2")
        if grid not in GRIDS:
            raise ParameterError(f"grid = {grid!r}; use one of {list(GRIDS)}")
        self.offsets = [grid_offset(W, levels) if grid == "midrise" else 0.0 for W in true]
        line_adc = adc_bits is not None and adc_mode == "line"
        self.crossbars, self.adcs = [], []
        for l, (Wt, Xc, s, R) in enumerate(zip(true, inputs, self.offsets, ranges)):
            W = Wt + s  # the crossbar's matrix (on its zero-holding grid)
            Wq, _, _, delta = quantise(W, levels)
            if not np.allclose(Wq, W, rtol=0, atol=1e-9 * delta):
                raise ParameterError(f"layer {l + 1} is not on a {levels}-level grid; pass "
                                     f"matrices from quantise()")
            opts = dict(seed=int_seed(seed, "layer", l), drift_compensation="lrs",
                        device_overrides=device_overrides, **(crossbar_options or {}))
            if line_adc:  # dac_range = 1: inputs in [0, 1] reach the array unscaled
                opts.update(adc_bits=adc_bits + 1, dac_range=1.0)
            if bits is None:
                xb = Crossbar(Wq, preset, mapping="offset", **opts)
            else:
                xb = Crossbar(Wq, preset, mapping="bit-sliced", bits=bits, **opts)
            self.crossbars.append(xb)
            if adc_bits is not None and adc_mode == "neuron":
                R = float(np.abs(Wt @ Xc).max()) if R is None else R
                h = 2 ** (adc_bits - 1)
                R *= h / (h - 1) if h > 1 else 1.0  # the largest value is the top code
                self.adcs.append((ADC(adc_bits, R), R))
        self.t_prog = self.crossbars[0].time
        self.neuron_conversions = 0
        self.neuron_saturated = 0
        #: With ``count_inputs`` True, every read of a layer adds the device reads whose
        #: input is non-zero (a word line at 0 V carries no current, so its devices do no
        #: multiply) to ``nonzero_reads``, and ``sum x^2 G`` over the reads
        #: (:func:`input_conductance`; S) to ``x2g``.
        self.count_inputs = False
        self.nonzero_reads = 0.0
        self.x2g = 0.0

    def advance_to(self, age: float) -> "MappedMLP":
        """Move both crossbars to ``age`` seconds after programming."""
        for xb in self.crossbars:
            xb.at(self.t_prog + age)
        return self

    def factors(self) -> tuple[float, float]:
        """The LRS reference columns' factors ``K`` of the two layers now."""
        return tuple(float(xb.lrs_factor()) for xb in self.crossbars)

    def _layer(self, l: int, X: np.ndarray, k: float = 1.0) -> np.ndarray:
        """Read of layer ``l`` (uncompensated) through the neuron ADCs if any; on the
        midrise grid less the offset line ``s sum(x) / k`` (``k`` the layer's K now)."""
        xb = self.crossbars[l]
        before = xb.totals()["n_read"] if self.count_inputs else 0
        Y = xb.read(X, compensate=False)
        if self.offsets[l]:
            Y = Y - (self.offsets[l] / k) * X.sum(axis=0)
        if self.count_inputs:
            self.nonzero_reads += ((xb.totals()["n_read"] - before) * np.count_nonzero(X)
                                   / X.size)
            self.x2g += input_conductance(xb, X)
        if self.adcs:
            adc, R = self.adcs[l]
            self.neuron_saturated += adc.apply(Y, R)
            self.neuron_conversions += Y.size
        return Y

    def predict(self, X1: np.ndarray) -> dict:
        """Classes of the inputs ``X1 = with_ones(X)`` (785, B) now, without (``"none"``:
        dummy lines only) and with (``"lrs"``) the K-factor compensation: ``{name:
        classes}``. Layer 1 is read once and its output rescaled by K for the compensated
        path (the crossbar's own compensation multiplies the same output by the same K);
        at programming time (K = 1) both paths are one computation."""
        with warnings.catch_warnings():  # saturation is counted in totals() instead
            warnings.filterwarnings("ignore", "ADC saturated", RuntimeWarning)
            if any(self.offsets):  # the offset line drifts with the LRS: K first
                k1, k2 = self.factors()
                Y1 = self._layer(0, X1, k1)
            else:
                Y1 = self._layer(0, X1)
                k1, k2 = self.factors()
            out = {}
            for name, (f1, f2) in (("none", (1.0, 1.0)), ("lrs", (k1, k2))):
                if name == "lrs" and f1 == 1.0 and f2 == 1.0:
                    out[name] = out["none"]
                    continue
                U = unary_code(_sigmoid(f1 * Y1))
                out[name] = (f2 * self._layer(1, U, k2)).argmax(axis=0)
        return out

    def totals(self) -> dict:
        """Summed ``totals()`` of both crossbars, with the neuron ADCs' conversions (in
        ``"neuron"`` mode) added to ``adc_conversions``/``adc_saturated``."""
        out: dict = {}
        for xb in self.crossbars:
            for k, v in xb.totals().items():
                out[k] = out.get(k, 0) + v
        out["adc_conversions"] += self.neuron_conversions
        out["adc_saturated"] += self.neuron_saturated
        return out


class MappedLayer(MappedMLP):
    """A one-layer network (784 -> 10, biases kept) on one crossbar, seed 2's Fig. 4a: the
    class is the largest ADC output (the neuron ADC's full scale ``max |W x|`` over the
    calibration inputs, as the MLP's output layer). K scales every output alike, so it
    does not change the class: drift costs accuracy here only through the ADC, whose
    fixed full scale leaves the narrowed signal fewer codes.

    Parameters are those of :class:`MappedMLP` with one matrix ``Wq`` (10, 785).
    """

    def __init__(self, Wq, *, weights: str, levels: int, adc_bits: int | None,
                 calibration: np.ndarray, preset: str, seed: int, adc_mode: str = "neuron",
                 device_overrides: dict | None = None, crossbar_options: dict | None = None,
                 grid: str = "zero"):
        self._build([np.asarray(Wq, float)], [with_ones(calibration)], [None],
                    weights=weights, levels=levels, adc_bits=adc_bits, preset=preset,
                    seed=seed, adc_mode=adc_mode, device_overrides=device_overrides,
                    crossbar_options=crossbar_options, grid=grid)

    def predict(self, X1: np.ndarray) -> dict:
        """Classes of ``X1 = with_ones(X)`` now: ``{"none": c, "lrs": c}`` (the same)."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "ADC saturated", RuntimeWarning)
            (k,) = self.factors()
            c = self._layer(0, X1, k).argmax(axis=0)
        return {"none": c, "lrs": c}
