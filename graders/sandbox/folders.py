"""The sandboxes' scratch folders: one base per user, each folder locked by the process using it.

A grading that is killed (``kill -9``, a CI job cancelled) cannot remove its
sandbox copies. The first sandbox folder any later process makes sweeps the
base of every folder whose process is gone (graders/scratch.py: an ``flock``
the kernel drops when its holder dies).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..scratch import Scratch, sweep

__all__ = ["base", "new_folder", "PREFIXES"]

PREFIXES = ("sb-", "zy-", "gr-")  # a child's folder, a fork server's, a grading's copy of the submission
_swept: set[str] = set()


def base() -> Path:
    """The folder every sandbox's folder lives in: traversable, not listable (names are random).

    Sandboxes run as other ids than the grader (namespace mode as root,
    process mode with an id of its own), which must reach their own folder.
    """
    folder = Path(tempfile.gettempdir()) / f"iclab-sandboxes-{os.getuid()}"
    folder.mkdir(mode=0o711, exist_ok=True)
    if folder.stat().st_mode & 0o777 != 0o711:
        os.chmod(folder, 0o711)
    if str(folder) not in _swept:  # once per process: what dead runs left
        _swept.add(str(folder))
        for prefix in PREFIXES:
            sweep(prefix, folder)
    return folder


def new_folder(prefix: str, mode: int = 0o711) -> Scratch:
    """A fresh, locked folder under ``base()``; ``.close()`` removes it."""
    return Scratch(prefix, base(), mode=mode, sweep_first=False)
