"""Write outputs atomically: a temporary file beside the target, then a rename.

Whoever reads an output (an instructor, a CI artifact upload, an LMS import)
sees either the previous complete file or the new complete one, never a
truncated file that looks complete, whether the write failed on a full disk,
a read-only folder or a kill. Every failure to write becomes OutputError
naming the path, so the CLI says it in one line.
"""
from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .errors import OutputError

__all__ = ["ENVIRONMENT_ERRNOS", "atomic_open", "ensure_folder", "output_error", "write_bytes", "write_text"]

# Failures of the machine, not of iclab: the user fixes them outside iclab (exit 1, one line).
ENVIRONMENT_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG,
                                errno.ENOTDIR, errno.ENAMETOOLONG})
_WHY = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
        errno.EFBIG: "the file size limit is reached", errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied (a read-only folder?)", errno.EPERM: "permission denied"}


_UMASK = os.umask(0o022)
os.umask(_UMASK)


def output_error(path: Path, exc: OSError) -> OutputError:
    """One line naming what could not be written and why."""
    why = _WHY.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()
    return OutputError(f"cannot write {path}: {why}")


def ensure_folder(folder: Path) -> Path:
    """``folder`` and its parents, made if missing; OutputError if that is impossible."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"cannot write {folder}: a file of that name is in the way") from None
    except OSError as exc:
        raise output_error(folder, exc) from None
    if not folder.is_dir():
        raise OutputError(f"cannot write {folder}: a file of that name is in the way")
    return folder


@contextmanager
def atomic_open(path: Path, mode: str = "w", *, encoding: str | None = "utf-8", newline: str | None = None,
                fsync: bool = True) -> Iterator[IO]:
    """A file handle whose content appears at ``path`` only once the block finished without error."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    binary = "b" in mode
    if path.exists() and not path.is_file():
        # A device, a pipe or a socket (-o /dev/null, -o /dev/stdout): write through it. A rename
        # would replace the device node itself with a regular file (as root, for every program).
        try:
            with open(path, mode, encoding=None if binary else encoding, newline=None if binary else newline) as fh:
                yield fh
        except OSError as exc:
            raise output_error(path, exc) from None
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise output_error(path.parent if path.parent.exists() else path, exc) from None
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; an output gets the usual permissions
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else newline) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        raise output_error(path, exc) from None
    except BaseException:
        _unlink(tmp)
        raise


def write_text(path: Path, text: str, *, fsync: bool = True) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w", fsync=fsync) as fh:
        fh.write(text)
    return Path(path)


def write_bytes(path: Path, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb", fsync=fsync) as fh:
        fh.write(data)
    return Path(path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
