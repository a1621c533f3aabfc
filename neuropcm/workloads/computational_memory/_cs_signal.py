"""Test images, sparsifying transforms, block layout and the variants compared of the
compressed-sensing workload (:mod:`neuropcm.workloads.computational_memory.compressed_sensing`)."""

from __future__ import annotations

import numpy as np

from ...errors import ParameterError

#: The matrices compared: float64, 4-bit fixed point, the PCM crossbar.
VARIANTS = ("float", "fixed4", "pcm")
#: Input modes: analog (float64) input vectors, or every input through the same DAC.
INPUTS = ("analog", "dac")
#: Every (matrix, inputs) pair, as ``"{variant}_{inputs}"``.
KEYS = tuple(f"{v}_{i}" for i in INPUTS for v in VARIANTS)
#: Modified Shepp-Logan phantom (Toft 1996): intensity, semi-axes a, b, centre x0, y0,
#: rotation (degrees), on [-1, 1]^2 with y up.
SHEPP_LOGAN = ((1.0, .69, .92, 0.0, 0.0, 0.0), (-.8, .6624, .874, 0.0, -.0184, 0.0),
               (-.2, .11, .31, .22, 0.0, -18.0), (-.2, .16, .41, -.22, 0.0, 18.0),
               (.1, .21, .25, 0.0, .35, 0.0), (.1, .046, .046, 0.0, .1, 0.0),
               (.1, .046, .046, 0.0, -.1, 0.0), (.1, .046, .023, -.08, -.605, 0.0),
               (.1, .023, .023, 0.0, -.606, 0.0), (.1, .023, .046, .06, -.605, 0.0))


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
        tenths[(xr / a) ** 2 + (yr / b) ** 2 <= 1] += round(10 * v)
    return tenths / 10.0


def mnist_montage(size: int, first: int = 0) -> np.ndarray:
    """MNIST test digits ``first .. first + (size/32)^2 - 1``, each centred in a 32 x 32
    cell, intensities / 255 (from the offline cache, :func:`neuropcm.datasets.load_mnist`)."""
    from ...datasets import load_mnist

    n = size // 32
    digits = load_mnist("test", limit=first + n * n)[0][first:].astype(float) / 255.0
    img = np.zeros((size, size))
    for k, d in enumerate(digits):
        r, c = divmod(k, n)
        img[32 * r + 2:32 * r + 30, 32 * c + 2:32 * c + 30] = d
    return img


def signal_images(image: str, size: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """The reported image and the held-out image on which the threshold factor is chosen.

    ``shepp-logan``: the phantom, and the phantom shifted (circularly) by half a block
    along both axes, so that every block of the held-out image holds other pixels;
    ``mnist``: the first ``(size/32)^2`` test digits, and the next as many.
    """
    if image == "shepp-logan":
        img = shepp_logan(size)
        return img, np.roll(img, (block // 2, block // 2), axis=(0, 1))
    if image == "mnist":
        return mnist_montage(size), mnist_montage(size, first=(size // 32) ** 2)
    raise ParameterError(f"image = {image!r}; use 'shepp-logan' or 'mnist'")


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
    block = round(np.sqrt(cols.shape[0]))
    n = size // block
    return cols.T.reshape(n, n, block, block).transpose(0, 2, 1, 3).reshape(size, size)
