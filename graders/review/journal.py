"""The reviews journal: every level and comment as it was entered, one JSON line each, never rewritten.

``OUT/reviews.jsonl`` belongs to whoever reviews in ``OUT`` (``iclab review OUT``).
A line is written with one ``write`` on a file opened for appending, then
fsynced, so a kill or a power cut leaves at worst a torn last line, which
reading skips and the next opening cuts off; a write that fails (a full disk)
is cut back off, so no half line is ever followed by good ones. The latest line
for an item wins: changing a level appends, it never edits::

    {"schema": "iclab/review/v1", "learner": "ana", "lab": "map-customer", "item": "idempotent-creates",
     "level": 3, "comment": "names the key, not where it is stored", "reviewer": "alice",
     "at": "2025-03-01T10:12:31.123456Z"}

``level`` null with a comment is a comment before a level (or a level taken back).
``OUT/reviews/*.jsonl`` are other reviewers' journals that ``iclab merge`` copied
in; they are read, never written.
"""
from __future__ import annotations

import datetime as dt
import errno
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..atomic import output_error

__all__ = ["SCHEMA", "FILE_NAME", "IMPORTED", "MAX_COMMENT", "Entry", "ReviewJournal", "read_reviews", "sources"]

SCHEMA = "iclab/review/v1"
FILE_NAME = "reviews.jsonl"
IMPORTED = "reviews"          # the folder of reviewers' journals merged in
MAX_COMMENT = 4000            # characters of one comment
_MAX_NAME = 200


@dataclass(frozen=True)
class Entry:
    """One level (or comment) a reviewer gave one rubric item of one learner's lab."""

    learner: str
    lab: str
    item: str
    level: int | None
    comment: str
    reviewer: str
    at: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.learner, self.lab, self.item)

    def to_line(self) -> bytes:
        doc = {"schema": SCHEMA, "learner": self.learner, "lab": self.lab, "item": self.item, "level": self.level,
               "comment": self.comment, "reviewer": self.reviewer, "at": self.at}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def problem(learner, lab, item, level, comment, reviewer) -> str | None:
    """Why these values cannot be a review entry, or None."""
    for name, value in (("learner", learner), ("lab", lab), ("item", item), ("reviewer", reviewer)):
        if not isinstance(value, str) or not value or len(value) > _MAX_NAME:
            return f"{name} must be a non-empty string of at most {_MAX_NAME} characters"
    if level is not None and (type(level) is not int or not 0 <= level <= 4):
        return "level must be 0, 1, 2, 3, 4 or null"
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        return f"comment must be a string of at most {MAX_COMMENT} characters"
    return None


def _entry(doc) -> Entry | None:
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        return None
    fields = (doc.get("learner"), doc.get("lab"), doc.get("item"), doc.get("level"), doc.get("comment", ""),
              doc.get("reviewer"))
    if problem(*fields) is not None:
        return None
    at = doc.get("at") if isinstance(doc.get("at"), str) else ""
    return Entry(*fields, at=at)


def read_reviews(path: Path) -> Iterator[Entry]:
    """The complete, valid entries of a reviews journal, in the order written (a torn last line skipped)."""
    try:
        fh = Path(path).open("rb")
    except FileNotFoundError:
        return
    with fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                return
            try:
                entry = _entry(json.loads(raw))
            except ValueError:
                continue
            if entry is not None:
                yield entry


def sources(out: Path) -> tuple[Path | None, list[Path]]:
    """A batch output's own reviews journal (None when absent) and the journals merged into it."""
    own = Path(out) / FILE_NAME
    folder = Path(out) / IMPORTED
    imported = sorted(p for p in folder.glob("*.jsonl") if p.is_file() and not p.is_symlink()) \
        if folder.is_dir() and not folder.is_symlink() else []
    return (own if own.is_file() else None), imported


class ReviewJournal:
    """``OUT/reviews.jsonl``, opened for appending: thread-safe, each line fsynced before ``append`` returns."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._repair()
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise output_error(self.path, exc) from None

    def _repair(self) -> None:
        """Cut a torn last line (a kill mid-write) so the next line starts on a line of its own."""
        if not self.path.is_file():
            return
        with self.path.open("rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)

    def append(self, entry: Entry) -> Entry:
        """Write ``entry`` (stamped now when it has no time) durably; OutputError when it cannot be."""
        if not entry.at:
            entry = Entry(entry.learner, entry.lab, entry.item, entry.level, entry.comment, entry.reviewer, now())
        line = entry.to_line()
        with self._lock:
            if self._fd is None:
                raise output_error(self.path, OSError(errno.EBADF, "the reviews journal is closed"))
            end = os.fstat(self._fd).st_size
            try:
                written = os.write(self._fd, line)
                if written != len(line):
                    raise OSError(errno.ENOSPC, "short write")
                os.fsync(self._fd)
            except OSError as exc:
                try:
                    os.ftruncate(self._fd, end)
                except OSError:
                    pass
                raise output_error(self.path, exc) from None
        return entry

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
