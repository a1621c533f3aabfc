"""Compressed sensing with approximate message passing on one PCM crossbar
(``neuropcm run compressed-sensing``; Le Gallo et al., IEEE TED 65, 4304 (2018); seed
tutorial Fig. 6).

Signal: a ``size x size`` image (the modified Shepp-Logan phantom, built analytically, or
a montage of MNIST test digits, each 28 x 28 centred in a 32 x 32 cell), cut into
``block x block`` blocks; each block is the coefficient vector ``x`` (length
``N = block^2``) of an orthonormal sparsifying transform (``haar``: the 2-D Haar wavelet
pyramid down to one scaling coefficient; ``dct``: the 2-D DCT-II). One Gaussian
measurement matrix ``A`` (``M x N``, ``M = round(compression N)``, entries N(0, 1/M))
compresses every block: ``y = A x``. All blocks are the columns of one matrix, so each
step below is one batched MVM.

AMP (Donoho, Maleki, Montanari 2009), per block, ``x^0 = 0``, ``z^0 = y``::

    u = x + A^T z
    x = eta(u; theta),  theta = lam ||z|| / sqrt(M)     (soft threshold)
    z = y - A x + (||x||_0 / M) z                        (Onsager term)

Three matrices, each in two input modes -- six variants, every MVM (compression included)
done by the variant's own operator:

* matrix: ``float`` (float64, the exact ``A``); ``fixed4`` (``Q_4(A)``, 4-bit symmetric
  fixed point, :func:`~neuropcm.workloads.computational_memory._precision.quantise`);
  ``pcm`` (``A`` stored once in a :class:`~neuropcm.crossbar.Crossbar`, ``differential``
  mapping, ``devices_per_weight`` devices per weight, ideal periphery; ``A x`` is a
  forward read, ``A^T z`` a transposed read of the same devices, right after programming).
* inputs: ``analog`` (float64 input vectors: the matrix-only comparison) or ``dac`` (every
  input vector, the signal at compression included, through the same ``dac_bits``-bit
  input converter: abs-max scaled per vector, the crossbar's
  :class:`~neuropcm.crossbar.DAC`; the matrix+vector comparison, e.g. "4x4-bit").

Both PCM modes read crossbars programmed with the same seed (the same devices).

The threshold factor ``lam`` decides the floor and AMP's stability (it diverges when
``||x||_0 / M`` nears 1, which a small ``lam`` reaches first with a perturbed matrix).
Each variant is run at every factor of ``lam_sweep`` on a *held-out* image (the phantom
shifted by half a block, or the next MNIST digits), and reported on the test image at its
own best stable factor (:func:`~._amp.choose_lambda`; ``lam`` set: one factor for all).

NMSE (dB) of iteration k: ``10 log10(||x^k - x||^2 / ||x||^2)`` over the whole image (the
transform is orthonormal, so pixels give the same value). Floor: the mean NMSE (dB) of the
last :data:`FLOOR_WINDOW` iterations; iterations to floor: the first k with
NMSE(k) <= floor + 1 dB; rate: the least-squares slope (dB/iteration) of NMSE(k) over
the same first iterations for the three matrices of an input mode -- those before the
earliest of them comes within 3 dB of its floor (:func:`~._amp.convergence_rate`), so
"same rate" compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...config import Config, option
from ...devices.presets import preset_names
from ...errors import ParameterError
from ...random import int_seed, rng
from .. import SEED_MAX, MemoryNeed, Workload, crossbar_bytes, refuse_resume
from ._amp import (  # noqa: F401
    FLOOR_MARGIN_DB,
    FLOOR_WINDOW,
    STABLE_MARGIN_DB,
    amp,
    choose_lambda,
    convergence_rate,
    floor_and_iterations,
    is_stable,
    nmse_db,
    rate_window,
)
from ._cs_report import figure, summary
from ._cs_signal import (  # noqa: F401
    INPUTS,
    KEYS,
    SHEPP_LOGAN,
    VARIANTS,
    from_blocks,
    mnist_montage,
    shepp_logan,
    signal_images,
    to_blocks,
    transform_matrix,
)

#: Bits of the fixed-point matrix.
FIXED_BITS = 4
#: Largest AMP threshold factor: ``theta = lam ||z|| / sqrt(M)`` is ``lam`` times the std of
#: the effective noise, and above a few (the minimax values for sparse signals are below
#: 3) every coefficient is thresholded to 0.
LAM_MAX = 10.0


@dataclass(frozen=True)
class CompressedSensingConfig(Config):
    """Settings of the compressed-sensing experiment."""

    image: str = option("shepp-logan", "test image (no download: analytic phantom or "
                        "the MNIST test digits of the offline cache)",
                        choices=("shepp-logan", "mnist"))
    size: int = option(128, "image side (pixels)", lo=2, hi=4096)
    block: int = option(32, "block side (pixels); N = block^2 coefficients per block",
                        lo=2, hi=128)
    transform: str = option("haar", "sparsifying transform per block",
                            choices=("haar", "dct"))
    compression: float = option(0.5, "measurements per coefficient M/N", lo=0.0,
                                lo_open=True, hi=1.0)
    lam_sweep: tuple[float, ...] = option(
        [0.8, 1.0, 1.2, 1.5, 2.0, 2.5], "AMP threshold factors tried on the held-out image "
        "(strictly increasing; theta = lam ||z|| / sqrt(M)); each variant is reported at its "
        f"best stable one (at most {LAM_MAX:g}: larger zeroes every coefficient)", lo=0.0,
        lo_open=True, hi=LAM_MAX)
    lam: float | None = option(None, "one threshold factor for every variant (None: each "
                               "at its own best stable factor of lam_sweep)", lo=0.0,
                               lo_open=True, hi=LAM_MAX)
    dac_bits: int = option(4, "bits of the input DAC of the matrix+vector comparison, the "
                           "same on every variant (4: the paper's 4x4-bit fixed point)",
                           lo=2, hi=24)
    iterations: int = option(30, "AMP iterations (it converges in tens; at most 1000)",
                             lo=FLOOR_WINDOW + 1, hi=1000)
    devices_per_weight: int = option(1, "PCM devices per matrix element", lo=1, hi=64)
    preset: str = option("joshi2020", "device preset", choices=preset_names)
    seed: int = option(0, "seed of every random stream of the run", lo=0, hi=SEED_MAX)

    def validate(self) -> None:
        if self.size % self.block:
            raise ParameterError(f"block = {self.block} does not divide size = {self.size};"
                                 f" give a block side that divides the image side")
        if self.transform == "haar" and self.block & (self.block - 1):
            raise ParameterError(f"block = {self.block} is not a power of two, which the "
                                 f"haar transform needs; give e.g. 16 or 32, or "
                                 f"transform = 'dct'")
        if self.image == "mnist" and self.size % 32:
            raise ParameterError(f"size = {self.size}: the MNIST montage puts one digit in "
                                 f"each 32 x 32 cell; give a multiple of 32")
        if self.measurements < 1:
            raise ParameterError(f"compression = {self.compression} gives no measurement "
                                 f"for N = {self.block ** 2}; raise it")
        v = list(self.lam_sweep)
        if not v or v != sorted(set(v)):
            raise ParameterError(f"lam_sweep = {v} must be a non-empty, strictly increasing "
                                 f"list, e.g. [1.0, 1.5, 2.0]")

    @property
    def measurements(self) -> int:
        """M, measurements per block."""
        return round(self.compression * self.block ** 2)

    def memory_needs(self) -> list:
        """The transform and measurement matrices, the two crossbars holding A
        (differential, K devices per side), and the blocks' coefficient vectors of AMP
        (about 30 copies: two images, x, u, z, y and the estimates kept per variant)."""
        n, m = self.block ** 2, self.measurements
        pixels = self.size ** 2
        return [MemoryNeed(8 * (3 * n * n + 2 * m * n), {"block": self.block},
                           "the transform and measurement matrices"),
                MemoryNeed(2 * crossbar_bytes(m * n, 2 * self.devices_per_weight * m * n),
                           {"block": self.block, "compression": self.compression,
                            "devices_per_weight": self.devices_per_weight},
                           f"two crossbars of {2 * self.devices_per_weight * m * n} devices"),
                MemoryNeed(8 * 30 * pixels, {"size": self.size}, "the images' coefficients")]

    def run_estimate(self) -> tuple[str, float]:
        """The size of the run and a rough time (s): programming two crossbars (~0.3 us per
        device), then per AMP run two MVMs per iteration (~0.4 ns per multiply-add;
        measured at 128/32 and 256/64), one run per variant and factor of the sweep plus
        the reported one."""
        n, m = self.block ** 2, self.measurements
        blocks = (self.size // self.block) ** 2
        runs = len(KEYS) * (len(self.lam_sweep) + 1)
        seconds = (1.0 + 4 * self.devices_per_weight * m * n * 3.2e-7 + 1e-8 * n * n
                   + runs * 2 * (self.iterations + 1) * m * n * blocks * 4e-10)
        what = (f"{blocks} blocks of N = {n}, M = {m}, {self.iterations} iterations x "
                f"{len(KEYS)} variants x {len(self.lam_sweep) + 1} factors")
        return what, seconds


def operators(variant: str, A: np.ndarray, c: CompressedSensingConfig, inputs: str):
    """``(forward, adjoint, crossbar)`` of one matrix (``float``, ``fixed4``, ``pcm``) with
    analog inputs or inputs through ``c.dac_bits``-bit DAC (``inputs``: ``analog`` or
    ``dac``); crossbar None unless ``pcm``."""
    from ._precision import quantise

    if inputs not in INPUTS:
        raise ParameterError(f"inputs = {inputs!r}; use one of {list(INPUTS)}")
    bits = c.dac_bits if inputs == "dac" else None

    def q(v):  # the same quantiser as the crossbar's DAC (see quantise)
        return v if bits is None else quantise(v, bits, axis=0)

    if variant in ("float", "fixed4"):
        Am = A if variant == "float" else quantise(A, FIXED_BITS)
        return (lambda v: Am @ q(v)), (lambda v: Am.T @ q(v)), None
    if variant == "pcm":
        from ...crossbar import Crossbar

        xb = Crossbar(A, c.preset, mapping="differential", seed=int_seed(c.seed, "devices"),
                      devices_per_weight=c.devices_per_weight, dac_bits=bits)
        return xb.matmat, xb.rmatmat, xb
    raise ParameterError(f"variant = {variant!r}; use one of {list(VARIANTS)}")


def load_image(c: CompressedSensingConfig) -> np.ndarray:
    """The configured test image (the reported one)."""
    return signal_images(c.image, c.size, c.block)[0]


# ----------------------------------------------------------------------------- the run
def run(config: CompressedSensingConfig, out, *, resume: bool = False,
        progress: bool = True) -> Path:
    """Choose each variant's threshold factor on the held-out image, then compress and
    recover the test image with each variant at its factor; write one
    ``compressed_sensing`` HDF5 file.

    The arguments and return value are those of every workload's ``run`` (see
    :class:`~neuropcm.workloads.Workload`); ``resume`` is refused (no checkpoint).
    """
    from tqdm import tqdm

    if resume:
        refuse_resume("compressed-sensing", "it takes seconds")
    c = config
    img, held_out = signal_images(c.image, c.size, c.block)
    T = transform_matrix(c.transform, c.block)
    X, X_tune = T @ to_blocks(img, c.block), T @ to_blocks(held_out, c.block)
    N, M = c.block ** 2, c.measurements
    A = rng(c.seed, "matrix").standard_normal((M, N)) / np.sqrt(M)
    lams = np.asarray(c.lam_sweep, dtype=float)
    bar = tqdm(total=len(KEYS) * (lams.size + 1) * c.iterations, desc="compressed-sensing",
               unit="it", disable=not progress)
    res, tune, pcm_vectors = {}, {}, 0
    for key in KEYS:
        v, inputs = key.split("_")
        fwd, adj, xb = operators(v, A, c, inputs)
        floors, stable = np.empty(lams.size), np.zeros(lams.size, bool)
        y_tune = fwd(X_tune)  # the held-out signal compressed by the variant's own MVM
        for j, lam in enumerate(lams):
            nmse = amp(fwd, adj, y_tune, N, lam=lam, iterations=c.iterations,
                       x_true=X_tune, step=bar.update)[1]
            floors[j], stable[j] = floor_and_iterations(nmse)[0], is_stable(nmse)
        lam, ok = choose_lambda(lams, floors, stable)
        lam = lam if c.lam is None else c.lam
        tune[key] = (floors, stable, lam, ok)
        before = xb.totals()["n_mvm"] if xb is not None else 0
        y = fwd(X)  # compression with the variant's own MVM (the crossbar for pcm)
        res[key] = amp(fwd, adj, y, N, lam=lam, iterations=c.iterations, x_true=X,
                       step=bar.update)
        if xb is not None:
            pcm_vectors += xb.totals()["n_mvm"] - before
    bar.close()
    # rates over the same iterations within an input mode: those before the variant of the
    # mode nearest its floor comes within 3 dB of it
    window = {i: min(rate_window(res[f"{v}_{i}"][1]) for v in VARIANTS) for i in INPUTS}

    from ...io import atomic_h5, write_config, write_dataset

    out = Path(out)
    with atomic_h5(out, kind=WORKLOAD.kind) as f:
        write_config(f, c.to_dict())
        r = f.create_group("results")
        write_dataset(r, "iteration", np.arange(1, c.iterations + 1), "count")
        write_dataset(r, "image", img, "1")
        write_dataset(r, "held_out_image", held_out, "1",
                      note="the image on which each variant's lam is chosen")
        write_dataset(r, "matrix", A, "1")
        write_dataset(r, "lam_sweep", lams, "1")
        for key, (x_hat, nmse, bs) in res.items():
            write_dataset(r, f"nmse_db_{key}", nmse, "1", note="NMSE in dB")
            write_dataset(r, f"onsager_{key}", bs, "1", note="mean ||x||_0 / M")
            write_dataset(r, f"reconstruction_{key}", from_blocks(T.T @ x_hat, c.size), "1")
            floors, stable, lam, ok = tune[key]
            write_dataset(r, f"tuning_floor_db_{key}", floors, "1",
                          note="floor (dB) on the held-out image at each lam of lam_sweep")
            write_dataset(r, f"tuning_stable_{key}", stable.astype(np.int8), "1",
                          note="1 where the held-out run was stable")
            floor, its = floor_and_iterations(nmse)
            r.attrs[f"final_nmse_db_{key}"] = floor
            r.attrs[f"iterations_to_floor_{key}"] = its
            r.attrs[f"rate_db_per_iteration_{key}"] = convergence_rate(
                nmse, window[key.split("_")[1]])
            r.attrs[f"lam_{key}"] = lam
            r.attrs[f"lam_stable_{key}"] = int(ok)
            r.attrs[f"stable_{key}"] = int(is_stable(nmse))
        for inputs, k in window.items():
            r.attrs[f"rate_window_{inputs}"] = k
        r.attrs["dac_bits"] = c.dac_bits
        r.attrs["measurements"] = M
        r.attrs["blocks"] = X.shape[1]
        r.attrs["pcm_mvm_vectors"] = int(pcm_vectors)
    return out


WORKLOAD = Workload(
    name="compressed-sensing", kind="compressed_sensing", config=CompressedSensingConfig,
    run=run, summary=summary, figure=figure,
    description="compressed sensing of an image with AMP recovery on one PCM crossbar vs "
                "float64 and 4-bit fixed point, with analog and DAC inputs",
    default_out="compressed_sensing.h5",
    smoke=('size=32', 'block=16', 'iterations=6'))
