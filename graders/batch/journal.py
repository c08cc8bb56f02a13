"""The batch journal: one JSON line per finished lab grading, appended the moment it completes.

A run killed at any instant leaves at worst one torn last line; reopening
drops it, so a resumed run regrades exactly what was not recorded.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Iterator

__all__ = ["Journal", "read_entries"]


def read_entries(path: Path) -> Iterator[dict]:
    """Complete entries of a journal, skipping a torn final line."""
    if not path.is_file():
        return
    with path.open("rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                return
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, dict) and "unit" in entry and "result" in entry:
                yield entry


class Journal:
    """Append-only, fsynced, thread-safe."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._repair()
        self.done = {e["unit"] for e in read_entries(path)}
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _repair(self) -> None:
        """Cut a torn last line left by a killed run."""
        if not self.path.is_file():
            return
        with self.path.open("rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)

    def append(self, unit: str, submission: str, result: dict) -> None:
        line = json.dumps({"unit": unit, "submission": submission, "result": result},
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        with self._lock:
            os.write(self._fd, line)
            os.fsync(self._fd)
            self.done.add(unit)

    def close(self) -> None:
        os.close(self._fd)
