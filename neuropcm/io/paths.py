"""Checks of output paths, made before any long work starts.

A command that writes a file at the end of a long run checks first that it can: the path
is not a folder, its folder can be created and written, and a file already there is one
the command may replace (a NeuroPCM file of the same kind, or an image of the same type).
Everything else is refused with a one-line error that names the path and the fix.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import ParameterError

__all__ = ["check_output_path", "HDF5_SIGNATURE", "PNG_SIGNATURE"]

#: First bytes of an HDF5 file (without a user block).
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: First bytes of a PNG image.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    return p


def _probe_writable(folder: Path, what: str, path: Path) -> None:
    """Create and remove a file in ``folder``: the only test that is right for root,
    ACLs and read-only file systems alike."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".neuropcm-probe-", dir=folder)
    except OSError as e:
        raise ParameterError(f"{what} {str(path)!r} cannot be written: folder {str(folder)!r} "
                             f"is not writable ({e.strerror}); choose another path") from None
    os.close(fd)
    os.unlink(probe)


def _existing_kind(path: Path) -> str | None:
    """The ``kind`` attribute of an existing NeuroPCM HDF5 file, else None."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            kind = f.attrs.get("kind")
    except OSError:
        return None
    if isinstance(kind, bytes):
        kind = kind.decode(errors="replace")
    return kind if isinstance(kind, str) else None


def check_output_path(path, *, what: str = "output", kind: str | None = None,
                      signature: bytes | None = None,
                      suffixes: tuple[str, ...] | None = None) -> Path:
    """Check that ``path`` can be written at the end of a run, and return it as a Path.

    Parameters
    ----------
    path : str or Path
        The file to be written (its folders may not exist yet).
    what : str
        How the user gave it (``"--out"``), for the messages.
    kind : str, optional
        For HDF5 outputs: an existing file is replaced only if it is a NeuroPCM file of this
        ``kind`` (a re-run); any other file there is refused.
    signature : bytes, optional
        For other outputs: an existing file is replaced only if it starts with these bytes
        (e.g. :data:`PNG_SIGNATURE`).
    suffixes : tuple of str, optional
        Allowed file-name suffixes (lower case, with the dot).

    Raises
    ------
    ParameterError
        The path is a folder, has a suffix not in ``suffixes``, lies under a file, cannot be
        written, or holds a file that must not be replaced.
    """
    if path is None or str(path) == "":
        raise ParameterError(f"{what} is empty; give a file name")
    p = Path(path)
    if p.is_dir():
        raise ParameterError(f"{what} {str(p)!r} is a folder; give a file name, e.g. "
                             f"{str(p / ('result' + (suffixes[0] if suffixes else '.h5')))!r}")
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise ParameterError(f"{what} {str(p)!r} must end in one of {list(suffixes)}")
    if p.exists() or p.is_symlink():
        if not p.is_file():
            raise ParameterError(f"{what} {str(p)!r} exists and is not a regular file; "
                                 f"choose another path")
        try:
            with open(p, "rb") as fh:
                head = fh.read(8)
        except OSError as e:
            raise ParameterError(f"{what} {str(p)!r} exists and cannot be read ({e.strerror}); "
                                 f"remove it or choose another path") from None
        if kind is not None:
            found = _existing_kind(p) if head == HDF5_SIGNATURE else None
            if found != kind:
                held = ("a NeuroPCM " + repr(found) + " file" if found else
                        "an HDF5 file not written by NeuroPCM" if head == HDF5_SIGNATURE else
                        "not an HDF5 file")
                raise ParameterError(f"{what} {str(p)!r} exists and is {held}, not a {kind!r} "
                                     f"result; it would be replaced: remove it or choose "
                                     f"another path")
        elif signature is not None and head[:len(signature)] != signature:
            raise ParameterError(f"{what} {str(p)!r} exists and is not a "
                                 f"{p.suffix.lstrip('.').upper() or 'matching'} file; it would "
                                 f"be replaced: remove it or choose another path")
    anchor = _nearest_existing(p.parent if str(p.parent) else Path("."))
    if not anchor.is_dir():
        raise ParameterError(f"{what} {str(p)!r} cannot be created: {str(anchor)!r} is a file, "
                             f"not a folder")
    _probe_writable(anchor, what, p)
    return p
