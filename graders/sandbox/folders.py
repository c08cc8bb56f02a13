"""The grader's scratch folders: one base per user, each folder marked with the process that made it.

A grading that is killed (``kill -9``, a CI job cancelled) cannot remove its
sandbox copies. Every folder made here carries ``.owner``, the pid and start
time of the process that made it; the first grading of any later process
removes every folder whose owner is gone, so what dead runs left never piles up.
"""
from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
from pathlib import Path

__all__ = ["base", "new_folder", "sweep_stale"]

_OWNER = ".owner"


def _start_time(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (tells a pid apart from a later one that reuses it)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


@functools.cache
def _me() -> str:
    return f"{os.getpid()} {_start_time(os.getpid()) or '?'}"


def base() -> Path:
    """The folder every sandbox's folder lives in: traversable, not listable (names are random).

    Sandboxes run as other ids than the grader (namespace mode as root,
    process mode with an id of its own), which must reach their own folder.
    """
    folder = Path(tempfile.gettempdir()) / f"iclab-sandboxes-{os.getuid()}"
    folder.mkdir(mode=0o711, exist_ok=True)
    if folder.stat().st_mode & 0o777 != 0o711:
        os.chmod(folder, 0o711)
    _sweep_once(folder)
    return folder


def new_folder(prefix: str, mode: int = 0o711) -> Path:
    """A fresh folder under ``base()``, marked as this process's."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=base()))
    os.chmod(folder, mode)
    (folder / _OWNER).write_text(_me(), encoding="ascii")
    return folder


def _alive(owner: str) -> bool:
    try:
        pid, started = owner.split()
        return _start_time(int(pid)) == started
    except ValueError:
        return False


def sweep_stale(folder: Path) -> int:
    """Remove every folder under ``folder`` whose owner process is gone; how many went."""
    removed = 0
    for entry in os.scandir(folder):
        if not entry.is_dir(follow_symlinks=False):
            continue
        try:
            owner = Path(entry.path, _OWNER).read_text(encoding="ascii")
        except OSError:
            owner = ""  # made before owners were written, half made by a killed run, or being made right now
        if owner == _me() or _alive(owner):
            continue
        if not owner and time.time() - entry.stat(follow_symlinks=False).st_mtime < 6 * 3600:
            continue  # another grader between making the folder and marking it, or an older iclab still running
        shutil.rmtree(entry.path, ignore_errors=True)
        removed += 1
    return removed


_swept: set[str] = set()


def _sweep_once(folder: Path) -> None:
    if str(folder) not in _swept:
        _swept.add(str(folder))
        sweep_stale(folder)
