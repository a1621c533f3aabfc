"""Checks of output paths, made before any long work starts.

A command that writes a file at the end of a long run checks first that it can: the path
is not a folder, its folder can be created and written, and a file already there is one
the command may replace (a NeuroPCM file of the same kind, or an image NeuroPCM wrote).
Everything else is refused with a one-line error that names the path and the fix.

The rule of what may be replaced lives in :func:`check_replace` (HDF5) and
:func:`neuropcm.plotting.replace_refusal` (images); the writers apply it again when they
write (:func:`neuropcm.io.hdf5.atomic_h5`, :func:`neuropcm.plotting.save_figure`), so a
user's file is never replaced, whichever way NeuroPCM is called.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import ParameterError

__all__ = ["check_output_path", "check_replace", "locked_message", "is_lock_error",
           "HDF5_SIGNATURE", "PNG_SIGNATURE"]

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


def is_lock_error(e: OSError) -> bool:
    """Whether h5py could not open a file because another process holds it open for
    writing (HDF5's file locking)."""
    return isinstance(e, BlockingIOError) or "unable to lock file" in str(e)


def locked_message(path) -> str:
    """The one line for an HDF5 file another process is writing."""
    return f"{path} is being written by another process; wait for it to finish"


def _existing_kind(path: Path) -> str | None:
    """The ``kind`` attribute of an existing NeuroPCM HDF5 file, else None.

    Raises
    ------
    ParameterError
        Another process has the file open for writing.
    """
    import h5py

    try:
        with h5py.File(path, "r") as f:
            kind = f.attrs.get("kind")
    except OSError as e:
        if is_lock_error(e):
            raise ParameterError(locked_message(path)) from None
        return None
    if isinstance(kind, bytes):
        kind = kind.decode(errors="replace")
    return kind if isinstance(kind, str) else None


def check_replace(path, *, what: str = "output", kind: str | None = None,
                  signature: bytes | None = None, image: bool = False) -> None:
    """Refuse to write over an existing file NeuroPCM may not replace; nothing if there is
    none.

    With ``kind`` (an HDF5 output), only a NeuroPCM file of that same kind may be replaced
    (a re-run): a file that is not HDF5, an HDF5 file NeuroPCM did not write and a NeuroPCM
    file of another kind (someone's result of another run) are refused. With ``image``,
    only an image of the same format that carries NeuroPCM's mark may be replaced
    (:func:`neuropcm.plotting.replace_refusal`; ``signature`` overrides the format's first
    bytes). Otherwise an existing file must start with ``signature``, if given.

    Raises
    ------
    ParameterError
        One line naming ``what``, the path, what is there and the fix.
    """
    p = Path(path)
    if not (p.exists() or p.is_symlink()):
        return
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
    elif image:
        from ..plotting import replace_refusal

        why = replace_refusal(p, signature)
        if why is not None:
            raise ParameterError(f"{what} {str(p)!r} exists and {why}; it would be replaced: "
                                 f"remove it or choose another path")
    elif signature is not None and head[:len(signature)] != signature:
        raise ParameterError(f"{what} {str(p)!r} exists and is not a "
                             f"{p.suffix.lstrip('.').upper() or 'matching'} file; it would "
                             f"be replaced: remove it or choose another path")


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
        For images: an existing file is replaced only if it starts with these bytes (e.g.
        :data:`PNG_SIGNATURE`) and carries NeuroPCM's mark
        (:func:`neuropcm.plotting.replace_refusal`).
    suffixes : tuple of str, optional
        Allowed file-name suffixes (lower case, with the dot). Given without ``kind``, the
        output is an image: an existing file is replaced only if NeuroPCM wrote it.

    Raises
    ------
    ParameterError
        The path is a folder, has a suffix not in ``suffixes``, lies under a file, cannot be
        written, or holds a file that must not be replaced (:func:`check_replace`).
    """
    if path is None or str(path) == "":
        raise ParameterError(f"{what} is empty; give a file name")
    p = Path(path)
    if p.is_dir():
        raise ParameterError(f"{what} {str(p)!r} is a folder; give a file name, e.g. "
                             f"{str(p / ('result' + (suffixes[0] if suffixes else '.h5')))!r}")
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise ParameterError(f"{what} {str(p)!r} must end in one of {list(suffixes)}")
    check_replace(p, what=what, kind=kind, signature=signature,
                  image=kind is None and (signature is not None or suffixes is not None))
    anchor = _nearest_existing(p.parent if str(p.parent) else Path("."))
    if not anchor.is_dir():
        raise ParameterError(f"{what} {str(p)!r} cannot be created: {str(anchor)!r} is a file, "
                             f"not a folder")
    _probe_writable(anchor, what, p)
    return p
