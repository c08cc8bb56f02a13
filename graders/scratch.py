"""Scratch folders (a batch run's, a gradebook build's, every sandbox's), and the sweep of those the dead left.

The process using a folder holds an exclusive ``flock`` on its lock file for
as long as it lives; the kernel drops it when the process dies, however it
dies (kill -9 included). So any later run can tell a dead run's folder from
a live one without trusting process ids, and removes it.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["RUN_PREFIX", "BUILD_PREFIX", "Scratch", "scratch_folder", "sweep"]

RUN_PREFIX = "iclab-batch-"        # under the temporary folder: a batch run's unpacked submissions
BUILD_PREFIX = ".iclab-build-"     # inside an output folder: a gradebook being built
_LOCK = ".lock"
_LEGACY_AGE = 3600.0               # folders from before locks: removed once untouched this long


def _base(base: Path | None) -> Path:
    return Path(base) if base is not None else Path(tempfile.gettempdir())


class Scratch:
    """A fresh folder ``base/prefix<pid>-XXXX``, locked until ``close()`` removes it."""

    def __init__(self, prefix: str, base: Path | None = None, *, mode: int = 0o700, sweep_first: bool = True):
        base = _base(base)
        if sweep_first:
            sweep(prefix, base)
        # Made under a hidden name, locked, then renamed: a sweeper never sees it unlocked.
        hidden = Path(tempfile.mkdtemp(prefix=f".{prefix.lstrip('.')}making-", dir=base))
        self._fd = os.open(hidden / _LOCK, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        self.path = base / f"{prefix}{os.getpid()}-{hidden.name.rsplit('-', 1)[-1]}"
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.chmod(hidden, mode)
            os.rename(hidden, self.path)
        except BaseException:
            os.close(self._fd)
            shutil.rmtree(hidden, ignore_errors=True)
            raise

    def close(self) -> None:
        """Remove the folder and let go of it (idempotent)."""
        if self._fd >= 0:
            shutil.rmtree(self.path, ignore_errors=True)
            os.close(self._fd)
            self._fd = -1


@contextmanager
def scratch_folder(prefix: str = RUN_PREFIX, base: Path | None = None) -> Iterator[Path]:
    """A fresh folder ``base/prefix<pid>-XXXX``, locked while in use and removed after; dead runs' swept first."""
    folder = Scratch(prefix, base)
    try:
        yield folder.path
    finally:
        folder.close()


def sweep(prefix: str = RUN_PREFIX, base: Path | None = None) -> list[Path]:
    """Remove the folders ``base/prefix*`` whose run is dead; returns what was removed."""
    base = _base(base)
    removed: list[Path] = []
    try:
        candidates = [p for p in base.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for path in candidates:
        try:
            if path.is_symlink() or not path.is_dir() or path.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        if _dead(path):
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                removed.append(path)
    return removed


def _dead(path: Path) -> bool:
    lock = path / _LOCK
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        # A folder from before runs locked theirs: judge it by age alone.
        try:
            return time.time() - path.stat().st_mtime > _LEGACY_AGE
        except OSError:
            return False
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # its run is alive
    except OSError:
        return False
    finally:
        os.close(fd)  # closing drops the lock we took, if we took it
    return True
