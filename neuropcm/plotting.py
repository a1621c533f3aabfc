"""The one way NeuroPCM makes and saves a figure (workloads' figures and the analysis plots).

Figures are :class:`matplotlib.figure.Figure` objects made without :mod:`matplotlib.pyplot`:
no global figure manager, no backend switch (a user's notebook backend is left alone) and
nothing to close; :meth:`~matplotlib.figure.Figure.savefig` renders PNGs with Agg.

Every image NeuroPCM writes carries its mark, ``NeuroPCM <version>``, in the format's own
metadata (PNG text ``Software``; ``Creator`` of PDF, SVG, PS and EPS; the Exif/TIFF tag
``Software`` of JPEG, TIFF and WebP), and :func:`save_figure` replaces an existing file only
if it carries that mark (:func:`replace_refusal`): a user's own image is never overwritten
(nor is any file of a format without room for the mark: ``.raw``, ``.rgba``, ``.pgf``). The
same rule checks ``--out``/``--plot`` before a run
(:func:`neuropcm.io.paths.check_output_path`). Images are written atomically.

Examples
--------
>>> from neuropcm.plotting import new_figure, save_figure
>>> fig, ax = new_figure(1, 2, (8, 3))
>>> _ = ax[0].plot([0, 1], [0, 1])
>>> save_figure(fig, "out/demo.png")                                # doctest: +SKIP
"""

from __future__ import annotations

import gzip
import io
import os
import re
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

from .errors import ParameterError, ResultsFileError

__all__ = ["new_figure", "colours", "errorbar_over_seeds", "save_figure", "replace_refusal",
           "neuropcm_mark", "MARK_PREFIX"]

#: What the mark of every NeuroPCM image starts with (then the version).
MARK_PREFIX = "NeuroPCM "

#: First bytes of each image format, where it has fixed ones.
_SIGNATURES = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF", "jpg": b"\xff\xd8\xff",
               "jpeg": b"\xff\xd8\xff", "ps": b"%!PS", "eps": (b"%!PS", b"\xc5\xd0\xd3\xc6"),
               "svgz": b"\x1f\x8b", "tif": (b"II*\x00", b"MM\x00*"),
               "tiff": (b"II*\x00", b"MM\x00*")}
#: How a text-based format records its creator: a pattern around the mark.
_TEXT_MARKS = {
    "pdf": rb"/Creator\s*\(NeuroPCM ",
    "ps": rb"%%Creator: NeuroPCM ",
    "eps": rb"%%Creator: NeuroPCM ",
    "svg": rb"<dc:creator>\s*<cc:Agent>\s*<dc:title>NeuroPCM ",
    "svgz": rb"<dc:creator>\s*<cc:Agent>\s*<dc:title>NeuroPCM ",
}
#: Formats written by Pillow, whose mark is the Exif/TIFF tag ``Software`` (305).
_EXIF_FORMATS = ("jpg", "jpeg", "tif", "tiff", "webp")
_EXIF_SOFTWARE = 305


def new_figure(nrows: int | None = 1, ncols: int = 1, size=(7.0, 4.5)):
    """A new figure of ``size`` inches with an ``nrows`` x ``ncols`` grid of axes.

    Returns ``(fig, axes)`` as :func:`matplotlib.pyplot.subplots` does (one axes object for
    a 1 x 1 grid, else an array); ``nrows=None`` gives a figure without axes,
    ``(fig, None)``.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    return fig, (None if nrows is None else fig.subplots(nrows, ncols))


def colours(n: int, lo: float = 0.0, hi: float = 0.85, cmap: str = "viridis") -> np.ndarray:
    """``n`` RGBA colours spread over ``[lo, hi]`` of the colormap ``cmap``."""
    import matplotlib

    return matplotlib.colormaps[cmap](np.linspace(lo, hi, n))


def errorbar_over_seeds(ax, x, y, fmt="o-", scale=1.0, **kwargs):
    """Draw the mean of ``y`` at each distinct ``x`` with bars over its range (min to max),
    as reproductions draw a quantity over seeds.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes to draw on.
    x, y : array_like
        One value per run (a run per seed and point); runs with equal ``x`` are grouped.
    fmt : str
        Marker and line format of :meth:`~matplotlib.axes.Axes.errorbar`.
    scale : float
        Factor on ``y`` (100: fractions drawn as percent).
    **kwargs
        Passed to :meth:`~matplotlib.axes.Axes.errorbar` (``label``, ``color``, ...).
    """
    x, y = np.asarray(x, float), scale * np.asarray(y, float)
    xs = np.unique(x)
    groups = [y[x == v] for v in xs]
    m = np.array([g.mean() for g in groups])
    lo, hi = np.array([g.min() for g in groups]), np.array([g.max() for g in groups])
    return ax.errorbar(xs, m, yerr=[m - lo, hi - m], fmt=fmt, capsize=3, **kwargs)


def neuropcm_mark() -> str:
    """The mark NeuroPCM writes into its images: ``"NeuroPCM <version>"``."""
    from ._version import __version__

    return MARK_PREFIX + __version__


def _format(path: Path) -> str:
    return path.suffix.lower().lstrip(".")


def _png_texts(fh) -> dict:
    """The text chunks (tEXt, zTXt, iTXt) of an open PNG file, keyword -> text (read chunk
    by chunk: image data is skipped, not read)."""
    texts = {}
    fh.seek(8)
    while True:
        head = fh.read(8)
        if len(head) < 8:
            return texts
        length, ctype = struct.unpack(">I4s", head)
        if ctype in (b"tEXt", b"zTXt", b"iTXt") and length < 1 << 24:
            body = fh.read(length)
            fh.seek(4, os.SEEK_CUR)  # CRC
            key, _, rest = body.partition(b"\0")
            try:
                if ctype == b"tEXt":
                    text = rest.decode("latin-1")
                elif ctype == b"zTXt":
                    text = zlib.decompress(rest[1:]).decode("latin-1")
                else:  # compression flag, method, language\0, translated keyword\0, text
                    flag, rest = rest[:1], rest[2:]
                    rest = rest.split(b"\0", 2)[-1]
                    text = (zlib.decompress(rest) if flag == b"\1" else rest).decode("utf-8")
            except (zlib.error, UnicodeDecodeError, IndexError):
                continue
            texts[key.decode("latin-1")] = text
        elif ctype == b"IEND":
            return texts
        else:
            fh.seek(length + 4, os.SEEK_CUR)


def _has_mark(path: Path, fmt: str) -> bool | None:
    """Whether the image at ``path`` carries NeuroPCM's mark (None: the format has no place
    for one)."""
    if fmt == "png":
        with open(path, "rb") as fh:
            return _png_texts(fh).get("Software", "").startswith(MARK_PREFIX)
    if fmt in _TEXT_MARKS:
        data = path.read_bytes()
        if fmt == "svgz":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError):
                return False
        return re.search(_TEXT_MARKS[fmt], data) is not None
    if fmt in _EXIF_FORMATS:
        from PIL import Image

        try:
            with Image.open(path) as im:
                mark = im.getexif().get(_EXIF_SOFTWARE, "")
        except (OSError, ValueError, SyntaxError):
            return False
        if isinstance(mark, bytes):
            mark = mark.decode("latin-1")
        return isinstance(mark, str) and mark.startswith(MARK_PREFIX)
    return None


def replace_refusal(path, signature: bytes | None = None) -> str | None:
    """Why NeuroPCM must not write an image over the existing file ``path``: the end of a
    sentence ``"<path> exists and ..."``, or None when it may (no file there, or an image
    of the same format that carries NeuroPCM's mark, :func:`neuropcm_mark`).

    The format is the file name's suffix; ``signature`` (the first bytes the existing file
    must start with) defaults to the format's own. Formats without room for a mark
    (``.webp``, ``.raw``, ...) are never replaced.
    """
    p = Path(path)
    if not (p.exists() or p.is_symlink()):
        return None
    if not p.is_file():
        return "is not a regular file"
    fmt = _format(p)
    name = fmt.upper() or "matching"
    try:
        with open(p, "rb") as fh:
            head = fh.read(8)
        expected = signature if signature is not None else _SIGNATURES.get(fmt)
        if expected is not None and not head.startswith(expected):
            return f"is not a {name} file"
        marked = _has_mark(p, fmt)
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    if marked is None:
        files = f".{fmt} files carry" if fmt else "a file without a suffix carries"
        return f"NeuroPCM cannot tell that it wrote it ({files} no NeuroPCM mark)"
    if not marked:
        return (f"is a {name} file NeuroPCM did not write (it lacks the mark "
                f"'{MARK_PREFIX.strip()} <version>' NeuroPCM puts in its images)")
    return None


def _savefig_kwargs(fmt: str) -> dict:
    """The mark in the metadata of format ``fmt`` (where it has a place for one)."""
    mark = neuropcm_mark()
    if fmt == "png":
        return {"metadata": {"Software": mark}}
    if fmt in _TEXT_MARKS:
        return {"metadata": {"Creator": mark}}
    if fmt in ("tif", "tiff"):
        return {"pil_kwargs": {"tiffinfo": {_EXIF_SOFTWARE: mark}}}
    if fmt in _EXIF_FORMATS:
        from PIL import Image

        exif = Image.Exif()
        exif[_EXIF_SOFTWARE] = mark
        return {"pil_kwargs": {"exif": exif.tobytes()}}
    return {}


def save_figure(fig, png, dpi: int = 120) -> Path:
    """Lay out ``fig``, write it to ``png`` (folders made as needed) and return the path:
    the last step of every figure.

    The format is the suffix of ``png`` (``.png`` is added to a name without one). The
    image is rendered in memory, then written to a temporary file next to ``png`` and
    renamed over it, so a failed save leaves the previous file as it was.

    Raises
    ------
    ParameterError
        ``png`` is a folder, has a suffix matplotlib cannot write, or an existing file there
        is not an image NeuroPCM wrote (:func:`replace_refusal`) -- one line naming it.
    ResultsFileError
        The file could not be written (full disk, no permission).
    """
    png = Path(png)
    if png.suffix == "":
        png = png.with_name(png.name + ".png")
    fmt = _format(png)
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ParameterError(f"image {str(png)!r}: matplotlib cannot write {png.suffix!r} "
                             f"files; use one of {sorted('.' + t for t in supported)}")
    if png.is_dir():
        raise ParameterError(f"image {str(png)!r} is a folder; give a file name, e.g. "
                             f"{str(png / 'figure.png')!r}")
    why = replace_refusal(png)
    if why is not None:
        raise ParameterError(f"image {str(png)!r} exists and {why}; it would be replaced: "
                             f"choose another name or remove the file")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, **_savefig_kwargs(fmt))
    png.parent.mkdir(parents=True, exist_ok=True)
    _write_replace(png, buf.getbuffer())
    return png


def file_mode(path) -> int:
    """The permissions a file written at ``path`` by renaming a temporary file over it
    should get: those of the file it replaces, else what ``open()`` would give a new file
    (0o666 less the umask), not the 0o600 of :func:`tempfile.mkstemp`."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        pass
    try:
        with open("/proc/self/status") as fh:
            umask = next(int(line.split()[1], 8) for line in fh if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def _write_replace(path: Path, data) -> None:
    """Write ``data`` to a temporary file next to ``path`` and rename it over ``path``."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, file_mode(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise ResultsFileError(f"image {str(path)!r} could not be written ({e.strerror or e}); "
                               f"the previous file there, if any, is unchanged") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
