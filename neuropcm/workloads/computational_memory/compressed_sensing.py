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

Three variants compute every MVM (compression included) differently:

* ``float``: float64 with the exact ``A``.
* ``fixed4``: 4-bit fixed point ("4x4-bit fixed point" of the paper's figure): the matrix
  is ``Q_4(A)`` and, with ``fixed_inputs`` (default), every input vector is quantised to
  4 bits too (:func:`neuropcm.workloads.computational_memory.mvm_precision.quantise`: symmetric, max-abs
  scaled per vector, 7 levels a side).
* ``pcm``: ``A`` stored once in a :class:`~neuropcm.crossbar.Crossbar` (``differential``
  mapping, ``devices_per_weight`` devices per weight, ideal periphery); the compression
  ``y = xb @ x``, every ``A x`` (forward read) and every ``A^T z`` (transposed read of the
  same devices, ``xb.rmatmat``) happen on it, right after programming.

NMSE (dB) of iteration k: ``10 log10(||x^k - x||^2 / ||x||^2)`` over the whole image (the
transform is orthonormal, so pixels give the same value). Floor: the mean NMSE (dB) of the
last :data:`FLOOR_WINDOW` iterations; iterations to floor: the first k with
NMSE(k) <= floor + 1 dB. The threshold ``lam`` is one for all variants; AMP diverges when
``||x||_0 / M`` nears 1, which a too small ``lam`` reaches first with the quantised or
PCM matrix (column norms a few % off): the Onsager coefficients are stored per iteration.
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
from ...plotting import save_figure

#: Iterations averaged into the error floor.
FLOOR_WINDOW = 5
#: A variant is "at its floor" from the first iteration within this many dB of it.
FLOOR_MARGIN_DB = 1.0
#: Bits of the fixed-point variant.
FIXED_BITS = 4
VARIANTS = ("float", "fixed4", "pcm")
#: Largest AMP threshold factor: ``theta = lam ||z|| / sqrt(M)`` is ``lam`` times the std of
#: the effective noise, and above a few (the minimax values for sparse signals are below
#: 3) every coefficient is thresholded to 0.
LAM_MAX = 10.0
#: Modified Shepp-Logan phantom (Toft 1996): intensity, semi-axes a, b, centre x0, y0,
#: rotation (degrees), on [-1, 1]^2 with y up.
SHEPP_LOGAN = ((1.0, .69, .92, 0.0, 0.0, 0.0), (-.8, .6624, .874, 0.0, -.0184, 0.0),
               (-.2, .11, .31, .22, 0.0, -18.0), (-.2, .16, .41, -.22, 0.0, 18.0),
               (.1, .21, .25, 0.0, .35, 0.0), (.1, .046, .046, 0.0, .1, 0.0),
               (.1, .046, .046, 0.0, -.1, 0.0), (.1, .046, .023, -.08, -.605, 0.0),
               (.1, .023, .023, 0.0, -.606, 0.0), (.1, .023, .046, .06, -.605, 0.0))


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
    lam: float = option(1.5, "AMP threshold factor: theta = lam ||z|| / sqrt(M) (at most "
                        f"{LAM_MAX:g}: a threshold of {LAM_MAX:g} noise std zeroes every "
                        "coefficient, so AMP returns 0; the tuned values are ~1 to 3)",
                        lo=0.0, lo_open=True, hi=LAM_MAX)
    iterations: int = option(30, "AMP iterations (it converges in tens; at most 1000)",
                             lo=FLOOR_WINDOW + 1, hi=1000)
    devices_per_weight: int = option(1, "PCM devices per matrix element", lo=1, hi=64)
    fixed_inputs: bool = option(True, "quantise the input vectors of the fixed-point "
                                "MVMs to 4 bits too (False: the matrix only)")
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

    @property
    def measurements(self) -> int:
        """M, measurements per block."""
        return int(round(self.compression * self.block ** 2))

    def memory_needs(self) -> list:
        """The transform and measurement matrices, the crossbar holding A (differential,
        K devices per side), and the blocks' coefficient vectors of AMP (about 12 copies:
        x, u, z, y and the estimates kept per variant)."""
        n, m = self.block ** 2, self.measurements
        pixels = self.size ** 2
        return [MemoryNeed(8 * (3 * n * n + 2 * m * n), {"block": self.block},
                           "the transform and measurement matrices"),
                MemoryNeed(crossbar_bytes(m * n, 2 * self.devices_per_weight * m * n),
                           {"block": self.block, "compression": self.compression,
                            "devices_per_weight": self.devices_per_weight},
                           f"a crossbar of {2 * self.devices_per_weight * m * n} devices"),
                MemoryNeed(8 * 12 * pixels, {"size": self.size}, "the image's coefficients")]

    def run_estimate(self) -> tuple[str, float]:
        """The size of the run and a rough time (s): programming the crossbar (~0.3 us per
        device), then per iteration two MVMs of each variant (~0.4 ns per multiply-add;
        measured at 128/32 and 256/64)."""
        n, m = self.block ** 2, self.measurements
        blocks = (self.size // self.block) ** 2
        seconds = (1.0 + 2 * self.devices_per_weight * m * n * 3.2e-7 + 1e-8 * n * n
                   + len(VARIANTS) * 2 * (self.iterations + 1) * m * n * blocks * 4e-10)
        return (f"{blocks} blocks of N = {n}, M = {m}, {self.iterations} iterations x "
                f"{len(VARIANTS)} variants", seconds)


# ----------------------------------------------------------------------------- images
def shepp_logan(size: int) -> np.ndarray:
    """The modified Shepp-Logan phantom (:data:`SHEPP_LOGAN`) sampled at the pixel
    centres of a ``size x size`` grid on [-1, 1]^2 (row 0 at the top); values in [0, 1]."""
    c = (np.arange(size) + 0.5) / size * 2 - 1
    x, y = np.meshgrid(c, -c)
    tenths = np.zeros((size, size), dtype=np.int64)  # exact sums (1 - 0.8 - 0.2 = 0)
    for v, a, b, x0, y0, phi in SHEPP_LOGAN:
        p = np.deg2rad(phi)
        xr = (x - x0) * np.cos(p) + (y - y0) * np.sin(p)
        yr = -(x - x0) * np.sin(p) + (y - y0) * np.cos(p)
        tenths[(xr / a) ** 2 + (yr / b) ** 2 <= 1] += int(round(10 * v))
    return tenths / 10.0


def mnist_montage(size: int) -> np.ndarray:
    """The first ``(size/32)^2`` MNIST test digits, each centred in a 32 x 32 cell,
    intensities / 255 (from the offline cache, :func:`neuropcm.datasets.load_mnist`)."""
    from ...datasets import load_mnist

    n = size // 32
    digits = load_mnist("test", limit=n * n)[0].astype(float) / 255.0
    img = np.zeros((size, size))
    for k, d in enumerate(digits):
        r, c = divmod(k, n)
        img[32 * r + 2:32 * r + 30, 32 * c + 2:32 * c + 30] = d
    return img


# ----------------------------------------------------------------------------- transforms
def _haar2(a: np.ndarray) -> np.ndarray:
    """2-D Haar pyramid of a stack (..., B, B): each level maps the top-left low-pass
    square by orthonormal pairs ((p + q)/sqrt2 | (p - q)/sqrt2) along rows, then columns."""
    a = np.array(a, dtype=float)
    n = a.shape[-1]
    s2 = np.sqrt(2.0)
    while n > 1:
        s = a[..., :n, :n]
        s = np.concatenate([(s[..., 0::2] + s[..., 1::2]) / s2,
                            (s[..., 0::2] - s[..., 1::2]) / s2], axis=-1)
        s = np.concatenate([(s[..., 0::2, :] + s[..., 1::2, :]) / s2,
                            (s[..., 0::2, :] - s[..., 1::2, :]) / s2], axis=-2)
        a[..., :n, :n] = s
        n //= 2
    return a


def transform_matrix(kind: str, block: int) -> np.ndarray:
    """Orthonormal ``N x N`` matrix (N = block^2) taking a block's pixels (row-major) to
    its coefficients: ``haar`` (2-D pyramid) or ``dct`` (2-D DCT-II,
    ``C[k, n] = sqrt(2/B) cos(pi (2n + 1) k / 2B)``, row 0 divided by sqrt 2; ``C (x) C``)."""
    if kind == "haar":
        eye = np.eye(block * block).reshape(-1, block, block)
        return _haar2(eye).reshape(block * block, -1).T
    if kind == "dct":
        k, n = np.meshgrid(np.arange(block), np.arange(block), indexing="ij")
        C = np.sqrt(2.0 / block) * np.cos(np.pi * (2 * n + 1) * k / (2 * block))
        C[0] /= np.sqrt(2.0)
        return np.kron(C, C)
    raise ParameterError(f"transform = {kind!r}; use 'haar' or 'dct'")


def to_blocks(img: np.ndarray, block: int) -> np.ndarray:
    """Pixels of each block as the columns of an (N, blocks) matrix (row-major order)."""
    n = img.shape[0] // block
    return img.reshape(n, block, n, block).transpose(0, 2, 1, 3).reshape(n * n, -1).T


def from_blocks(cols: np.ndarray, size: int) -> np.ndarray:
    """Inverse of :func:`to_blocks`."""
    block = int(round(np.sqrt(cols.shape[0])))
    n = size // block
    return cols.T.reshape(n, n, block, block).transpose(0, 2, 1, 3).reshape(size, size)


# ----------------------------------------------------------------------------- AMP
def nmse_db(x_hat: np.ndarray, x: np.ndarray) -> float:
    """``10 log10(||x_hat - x||^2 / ||x||^2)`` over all entries."""
    return float(10 * np.log10(np.sum((x_hat - x) ** 2) / np.sum(x ** 2)))


def amp(forward, adjoint, y, n: int, *, lam: float, iterations: int, onsager: bool = True,
        x_true=None, step=None):
    """Approximate message passing with soft thresholding, one column per signal.

    Parameters
    ----------
    forward, adjoint : callable
        ``forward(X)`` = A X for X (n, cols); ``adjoint(Z)`` = A^T Z for Z (M, cols).
    y : ndarray (M, cols)
        Measurements.
    n : int
        Signal length N.
    lam : float
        Threshold factor: ``theta = lam ||z|| / sqrt(M)`` per column.
    iterations : int
        AMP iterations.
    onsager : bool
        Keep the Onsager term ``(||x||_0 / M) z`` (False: plain iterative soft
        thresholding with the same threshold rule).
    x_true : ndarray (n, cols), optional
        The signal, for the NMSE of each iteration.
    step : callable, optional
        Called after each iteration (progress).

    Returns
    -------
    x : ndarray (n, cols)
        The estimate after the last iteration.
    nmse : ndarray (iterations,)
        NMSE (dB) per iteration (NaN without ``x_true``).
    b : ndarray (iterations,)
        Mean over columns of the Onsager coefficient ``||x||_0 / M`` per iteration.
    """
    y = np.asarray(y, dtype=float)
    M = y.shape[0]
    x = np.zeros((n, y.shape[1]))
    z = y.copy()
    nmse = np.full(iterations, np.nan)
    bs = np.empty(iterations)
    for t in range(iterations):
        u = x + adjoint(z)
        theta = lam * np.linalg.norm(z, axis=0) / np.sqrt(M)
        x = np.sign(u) * np.maximum(np.abs(u) - theta, 0.0)
        b = np.count_nonzero(x, axis=0) / M
        z = y - forward(x) + (b * z if onsager else 0.0)
        bs[t] = b.mean()
        if x_true is not None:
            nmse[t] = nmse_db(x, x_true)
        if step is not None:
            step()
    return x, nmse, bs


def floor_and_iterations(nmse) -> tuple[float, int]:
    """The floor (mean of the last :data:`FLOOR_WINDOW` NMSE values, dB) and the first
    iteration (1-based) within :data:`FLOOR_MARGIN_DB` of it."""
    nmse = np.asarray(nmse, dtype=float)
    floor = float(nmse[-FLOOR_WINDOW:].mean())
    return floor, int(np.nonzero(nmse <= floor + FLOOR_MARGIN_DB)[0][0]) + 1


def operators(variant: str, A: np.ndarray, c: CompressedSensingConfig):
    """``(forward, adjoint, crossbar)`` of one variant (crossbar None unless ``pcm``)."""
    if variant == "float":
        return (lambda v: A @ v), (lambda v: A.T @ v), None
    if variant == "fixed4":
        from ._precision import quantise

        Aq = quantise(A, FIXED_BITS)

        def q(v):
            return quantise(v, FIXED_BITS, axis=0) if c.fixed_inputs else v

        return (lambda v: Aq @ q(v)), (lambda v: Aq.T @ q(v)), None
    if variant == "pcm":
        from ...crossbar import Crossbar

        xb = Crossbar(A, c.preset, mapping="differential", seed=int_seed(c.seed, "devices"),
                      devices_per_weight=c.devices_per_weight)
        return xb.matmat, xb.rmatmat, xb
    raise ParameterError(f"variant = {variant!r}; use one of {list(VARIANTS)}")


def load_image(c: CompressedSensingConfig) -> np.ndarray:
    """The configured test image."""
    return shepp_logan(c.size) if c.image == "shepp-logan" else mnist_montage(c.size)


# ----------------------------------------------------------------------------- the run
def run(config: CompressedSensingConfig, out, *, resume: bool = False,
        progress: bool = True) -> Path:
    """Compress and recover the image with each variant; write one
    ``compressed_sensing`` HDF5 file.

    The arguments and return value are those of every workload's ``run`` (see
    :class:`~neuropcm.workloads.Workload`); ``resume`` is refused (no checkpoint).
    """
    from tqdm import tqdm

    if resume:
        refuse_resume("compressed-sensing", "it takes seconds")
    c = config
    img = load_image(c)
    T = transform_matrix(c.transform, c.block)
    X = T @ to_blocks(img, c.block)
    N, M = c.block ** 2, c.measurements
    A = rng(c.seed, "matrix").standard_normal((M, N)) / np.sqrt(M)
    bar = tqdm(total=len(VARIANTS) * c.iterations, desc="compressed-sensing", unit="it",
               disable=not progress)
    res = {}
    for v in VARIANTS:
        fwd, adj, xb = operators(v, A, c)
        y = fwd(X)  # compression with the variant's own MVM (the crossbar for pcm)
        x_hat, nmse, bs = amp(fwd, adj, y, N, lam=c.lam, iterations=c.iterations,
                              x_true=X, step=bar.update)
        res[v] = (x_hat, nmse, bs)
        if xb is not None:
            pcm_vectors = xb.totals()["n_mvm"]
    bar.close()

    from ...io import atomic_h5, write_config, write_dataset

    out = Path(out)
    with atomic_h5(out, kind=WORKLOAD.kind) as f:
        write_config(f, c.to_dict())
        r = f.create_group("results")
        write_dataset(r, "iteration", np.arange(1, c.iterations + 1), "count")
        write_dataset(r, "image", img, "1")
        write_dataset(r, "matrix", A, "1")
        for v, (x_hat, nmse, bs) in res.items():
            write_dataset(r, f"nmse_db_{v}", nmse, "1", note="NMSE in dB")
            write_dataset(r, f"onsager_{v}", bs, "1", note="mean ||x||_0 / M")
            write_dataset(r, f"reconstruction_{v}", from_blocks(T.T @ x_hat, c.size), "1")
            floor, its = floor_and_iterations(nmse)
            r.attrs[f"final_nmse_db_{v}"] = floor
            r.attrs[f"iterations_to_floor_{v}"] = its
        r.attrs["lam"] = c.lam
        r.attrs["measurements"] = M
        r.attrs["blocks"] = X.shape[1]
        r.attrs["pcm_mvm_vectors"] = int(pcm_vectors)
    return out


# ----------------------------------------------------------------------------- reading
def _load(path) -> dict:
    from ...io import open_h5, read_config

    with open_h5(path, kind=WORKLOAD.kind) as f:
        r = f["results"]
        return {"config": read_config(f), "attrs": {k: r.attrs[k] for k in r.attrs},
                **{k: r[k][()] for k in r}}


def summary(path) -> str:
    """Headline lines for the CLI, read from the file."""
    d = _load(path)
    a, cfg = d["attrs"], d["config"]
    lines = [f"{cfg['size']}x{cfg['size']} {cfg['image']}, {cfg['transform']} "
             f"{cfg['block']}x{cfg['block']} blocks ({a['blocks']}), M = {a['measurements']}"
             f" of N = {cfg['block'] ** 2}, lam = {a['lam']:g}, {cfg['iterations']} AMP "
             f"iterations"]
    for v in VARIANTS:
        lines.append(f"{v:>6}: floor {a['final_nmse_db_' + v]:7.2f} dB, within "
                     f"{FLOOR_MARGIN_DB:g} dB of it after {a['iterations_to_floor_' + v]} "
                     f"iterations")
    lines.append(f"all {a['pcm_mvm_vectors']} PCM MVM vectors (compression and recovery) "
                 f"on one crossbar; paper: same convergence rate as float, higher floor")
    return "\n".join(lines)


def figure(path, png) -> Path:
    """Fig. 6b-style figure from the file alone: NMSE (dB) against iteration for the
    three variants, the original image and the reconstructions."""
    from ...plotting import new_figure

    d = _load(path)
    a = d["attrs"]
    fig = new_figure(None, 1, (13, 5))[0]
    gs = fig.add_gridspec(2, 3, width_ratios=[2.2, 1, 1])
    ax = fig.add_subplot(gs[:, 0])
    labels = {"float": "floating point (float64)",
              "fixed4": "4x4-bit fixed point" if d["config"]["fixed_inputs"]
              else "4-bit matrix, float inputs",
              "pcm": f"PCM crossbar, K = {d['config']['devices_per_weight']}"}
    for v, style in zip(VARIANTS, ("g--", "b-.", "r-")):
        ax.plot(d["iteration"], d[f"nmse_db_{v}"], style, lw=1.8,
                label=f"{labels[v]}: floor {a['final_nmse_db_' + v]:.1f} dB")
        k = a[f"iterations_to_floor_{v}"]
        ax.plot(k, d[f"nmse_db_{v}"][k - 1], style[0] + "o", ms=6)
    ax.set(xlabel="iteration k", ylabel="NMSE (dB)",
           title=f"AMP recovery, M/N = {a['measurements']}/{d['config']['block'] ** 2}, "
                 f"λ = {a['lam']:g} (dots: within {FLOOR_MARGIN_DB:g} dB of the floor)")
    ax.legend()
    ax.grid(alpha=0.3)
    panels = [("original", d["image"])] + [(labels[v], d[f"reconstruction_{v}"])
                                           for v in VARIANTS]
    for i, (title, im) in enumerate(panels):
        sub = fig.add_subplot(gs[i // 2, 1 + i % 2])
        sub.imshow(im, cmap="gray", vmin=0, vmax=max(float(d["image"].max()), 1e-12))
        sub.set_title(title, fontsize=9)
        sub.axis("off")
    return save_figure(fig, png)


WORKLOAD = Workload(
    name="compressed-sensing", kind="compressed_sensing", config=CompressedSensingConfig,
    run=run, summary=summary, figure=figure,
    description="compressed sensing of an image with AMP recovery on one PCM crossbar vs "
                "float64 and 4-bit fixed point",
    default_out="compressed_sensing.h5",
    smoke=('size=32', 'block=16', 'iterations=6'))
