"""The batch journal: one JSON line per finished grading, appended the moment it completes.

A run killed at any instant leaves at worst one torn last line; reopening
drops it, so a resumed run regrades exactly what was not recorded. A write
that fails (a full disk) is cut back off, so the journal never holds half a
line followed by good ones.

Two kinds of line, both keyed by ``unit``:

    {"unit": "ana::map-customer", "submission": "ana", "source": "ana.zip", "result": {iclab/result/v1}}
    {"unit": "bob::", "submission": "bob", "source": "bob", "status": "ungradable", "reason": "..."}

A grading of a lab with rubric items (graders/review) also carries ``"rubric": [...]``:
each item as lab.toml declared it at grading time, with the learner's answer to it.

the second for a learner in whom no lab could be graded (refused or ungradable).
"""
from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path
from typing import Iterator

from ..atomic import output_error

__all__ = ["Journal", "read_entries"]


def _valid(entry) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("unit"), str) or not isinstance(entry.get("submission"), str):
        return False
    if "result" in entry:
        return isinstance(entry["result"], dict)
    return entry.get("status") in ("refused", "ungradable") and isinstance(entry.get("reason"), str)


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
            if _valid(entry):
                yield entry


class Journal:
    """Append-only, fsynced, thread-safe."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        try:
            self._repair()
            self.done = {e["unit"] for e in read_entries(path)}
            self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise output_error(path, exc) from None

    def _repair(self) -> None:
        """Cut a torn last line left by a killed run."""
        if not self.path.is_file():
            return
        with self.path.open("rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)

    def append(self, unit: str, submission: str, result: dict, *, source: str = "",
               rubric: list[dict] | None = None) -> None:
        """Record one finished lab grading (with the lab's rubric items and the learner's answers, if it has any)."""
        entry = {"unit": unit, "submission": submission, "source": source, "result": result}
        if rubric is not None:
            entry["rubric"] = rubric
        self._write(entry)

    def append_outcome(self, unit: str, submission: str, status: str, reason: str, *, source: str = "") -> None:
        """Record a learner with nothing to grade, with its status and reason."""
        self._write({"unit": unit, "submission": submission, "source": source, "status": status, "reason": reason})

    def _write(self, entry: dict) -> None:
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        with self._lock:
            if self._fd is None:  # closed (an interrupted run): the grading is simply not recorded
                return
            end = os.fstat(self._fd).st_size
            try:
                written = os.write(self._fd, line)
                if written != len(line):
                    raise OSError(errno.ENOSPC, "short write")  # the kernel took only part of the line
                os.fsync(self._fd)
            except OSError as exc:
                try:
                    os.ftruncate(self._fd, end)
                except OSError:
                    pass
                raise output_error(self.path, exc) from None
            self.done.add(entry["unit"])

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
