"""`iclab watch`: check the workspace every time a file in it is saved, and show the result in place.

How saves are noticed. On Linux, inotify (through ctypes: no dependency) reports
a write the moment it happens. Everywhere else, and where events do not arrive
(WSL2 folders under ``/mnt/c``, network folders: the watch is accepted and then
stays silent), the workspace's files are polled: a ``stat`` of each of its few
dozen files every half second, microseconds of work. While inotify is in use a
slower poll still runs every two seconds as a safety net; the first change it
finds that no event announced switches the watch to polling, and the screen
says so. A library such as watchdog would add a dependency for what these two
cheap mechanisms already cover.

Keys (the terminal is put in cbreak mode, and restored on the way out):
``h`` the next hint, ``c`` check now, ``q`` quit (Ctrl+C too).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import os
import select
import struct
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from . import hints
from .errors import IclabError
from .manifest import Lab
from .render.text import to_screen, to_text
from .workspace import source_tree

__all__ = ["watch", "Watcher", "Inotify", "snapshot", "Screen", "compose", "POLL_SECONDS", "SAFETY_SECONDS"]

POLL_SECONDS = 0.5
SAFETY_SECONDS = 2.0
_SETTLE_SECONDS = 0.15   # a save is often several writes (or a write and a rename): wait for the last

_IGNORED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git", ".solution"}


def _ignored(rel: str) -> bool:
    """Editor droppings and caches: a swap file or a compiled module is not a save."""
    parts = rel.split("/")
    name = parts[-1]
    return (any(p in _IGNORED_DIRS for p in parts) or name.startswith((".#", "#")) or name.endswith(("~", ".swp", ".swx",
            ".swo", ".pyc", ".tmp")) or name == "4913" or name.startswith(".") and name != ".iclab.toml")


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """relative path -> (mtime in ns, size) of every file that matters in the workspace."""
    out = {}
    for path in source_tree(root):
        rel = path.relative_to(root).as_posix()
        if _ignored(rel):
            continue
        try:
            st = path.stat()
        except OSError:
            continue
        out[rel] = (st.st_mtime_ns, st.st_size)
    return out


def _changed(before: dict, after: dict) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


class Inotify:
    """Linux inotify through ctypes: one watch per folder of the workspace; names of changed files out."""

    _IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE = 0x2, 0x4, 0x8
    _IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
    _IN_ISDIR, _IN_Q_OVERFLOW = 0x40000000, 0x4000
    _MASK = _IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE
    _EVENT = struct.Struct("iIII")

    def __init__(self, root: Path):
        if not sys.platform.startswith("linux"):
            raise OSError("inotify is Linux only")
        self._libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        self.fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self.root = root
        self._folders: dict[int, str] = {}
        for folder in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
            rel = folder.relative_to(root).as_posix()
            if rel == "." or not _ignored(rel + "/x"):
                self._add(folder)

    def _add(self, folder: Path) -> None:
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(folder), self._MASK)
        if wd < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {folder} failed")
        rel = folder.relative_to(self.root).as_posix()
        self._folders[wd] = "" if rel == "." else rel + "/"

    def read(self) -> set[str]:
        """The workspace files events were reported for since the last read (never blocks)."""
        names: set[str] = set()
        while True:
            try:
                data = os.read(self.fd, 64 * 1024)
            except BlockingIOError:
                return names
            offset = 0
            while offset + self._EVENT.size <= len(data):
                wd, mask, _cookie, length = self._EVENT.unpack_from(data, offset)
                raw = data[offset + self._EVENT.size: offset + self._EVENT.size + length].rstrip(b"\0")
                offset += self._EVENT.size + length
                if mask & self._IN_Q_OVERFLOW:
                    names.add("*")  # the kernel dropped events: treat it as "something changed"
                    continue
                rel = self._folders.get(wd, "") + os.fsdecode(raw)
                if mask & self._IN_ISDIR:
                    if mask & (self._IN_CREATE | self._IN_MOVED_TO) and not _ignored(rel + "/x"):
                        self._add(self.root / rel)
                        # files written there before the watch existed sent no event: they are new all the same
                        names |= {p.relative_to(self.root).as_posix() for p in source_tree(self.root / rel)}
                    continue
                if raw and not _ignored(rel):
                    names.add(rel)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@dataclass
class Watcher:
    """Tells whether the workspace changed: inotify where it works, polling where it does not.

    ``mode`` is ``inotify`` or ``polling``; ``note`` says why polling was chosen.
    """

    root: Path
    poll: bool = False
    clock: Callable[[], float] = field(default=None)  # type: ignore[assignment]
    make_inotify: Callable[[Path], Inotify] = Inotify

    def __post_init__(self):
        import time

        self.clock = self.clock or time.monotonic
        self.note = "asked for with --poll" if self.poll else ""
        self.inotify: Inotify | None = None
        if not self.poll:
            try:
                self.inotify = self.make_inotify(self.root)
            except (OSError, AttributeError) as exc:  # no inotify here (macOS, Windows, a limit reached)
                self.note = f"no file events here ({exc.__class__.__name__})"
        self._seen = snapshot(self.root)
        self._next_scan = self.clock() + self.interval
        self._reported: set[str] = set()

    @property
    def mode(self) -> str:
        return "inotify" if self.inotify is not None else "polling"

    @property
    def interval(self) -> float:
        return SAFETY_SECONDS if self.inotify is not None else POLL_SECONDS

    def fileno(self) -> int | None:
        return self.inotify.fd if self.inotify is not None else None

    def timeout(self) -> float:
        return max(0.0, self._next_scan - self.clock())

    def changes(self) -> set[str]:
        """Files changed since the last call (empty when nothing did); switches to polling if events are missing."""
        found: set[str] = set()
        if self.inotify is not None:
            found = self.inotify.read()
            self._reported |= found
        if self.clock() >= self._next_scan:
            now = snapshot(self.root)
            changed = _changed(self._seen, now)
            self._seen = now
            if self.inotify is None:
                found |= changed
            else:
                late = self.inotify.read()  # queued while we scanned: announced, not missing
                found |= late
                missed = changed - self._reported - late
                if missed and "*" not in self._reported | late:
                    self.inotify.close()
                    self.inotify = None
                    self.note = f"no file event came for {sorted(missed)[0]}"
                    found |= missed
                self._reported = set()
            self._next_scan = self.clock() + self.interval
        if "*" in found:  # the kernel's queue overflowed: something changed, names unknown
            found = (found - {"*"}) or {"several files"}
        return found

    def close(self) -> None:
        if self.inotify is not None:
            self.inotify.close()
            self.inotify = None


@dataclass
class Screen:
    """What the watch shows: the latest run, a hint if one was asked for, and how saves are noticed."""

    lab: Lab
    root: Path
    runs: int = 0
    when: str = ""
    why: str = ""
    busy: str = ""
    tests: object | None = None
    result: object | None = None
    error: str = ""
    hint: object | None = None
    notes: tuple[str, ...] = ()
    mode: str = ""
    note: str = ""


def _wrap(text: str, width: int) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        out += textwrap.wrap(line, width, replace_whitespace=False, drop_whitespace=False) if len(line) > width else [line]
    return out


def compose(screen: Screen, rows: int, columns: int, *, color: bool = False) -> list[str]:
    """The lines of one screen, at most ``rows``, none wider than ``columns``."""
    rows, columns = max(rows, 6), max(columns, 20)
    how = f"{screen.mode} ({screen.note})" if screen.note else screen.mode
    head = [f"iclab watch: {screen.lab.id} in {screen.root}"]
    if screen.busy:
        head.append(f"checking ({screen.busy}) ...")
    elif screen.runs:
        head.append(f"run {screen.runs} at {screen.when} ({screen.why})")
    foot = [f"h hint   c check now   q quit   saves seen by {how}"]
    hint: list[str] = []
    if screen.hint is not None:
        h = screen.hint
        body = _wrap(h.body, columns)
        room = max(3, (rows - len(head) - len(foot)) // 2)
        hint = [f"hint {h.number} of {h.total}: {h.title}{'' if h.fresh else ' (the last one)'}"] + body[: room - 1]
        if len(body) > room - 1:
            hint.append(f"... ({len(body) - room + 1} more lines: `iclab hint {screen.lab.id}` prints it all)")
        hint.append("")
    middle: list[str] = []
    if screen.error:
        middle = _wrap(f"could not check: {screen.error}", columns)
    elif screen.tests is not None:
        t = screen.tests
        middle.append(f"visible tests: {t.passed} passed, {t.failed + t.errors} failed ({t.summary})")
        middle += [f"note: {n}" for n in t.notes]
    middle += [f"note: {n}" for n in screen.notes]
    if screen.result is not None and not screen.error:
        room = rows - len(head) - len(foot) - len(hint) - len(middle) - 1
        middle += to_screen(screen.result, rows=max(1, room), columns=columns, color=color)
    lines = head + [""] + hint + middle
    lines = lines[: rows - len(foot)]
    lines += [""] * (rows - len(foot) - len(lines))
    return [ln if len(ln) <= columns or "\x1b[" in ln else ln[: columns - 1] + "…" for ln in lines + foot]


class _Terminal:
    """The terminal in cbreak mode on the alternate screen, or plain streams when they are not terminals."""

    def __init__(self, out: TextIO, keys: TextIO):
        self.out, self.keys = out, keys
        self.tty_out = out.isatty()
        self.tty_in = keys.isatty()
        self._saved = None

    def __enter__(self) -> "_Terminal":
        if self.tty_in:
            import termios
            import tty

            self._saved = termios.tcgetattr(self.keys.fileno())
            tty.setcbreak(self.keys.fileno())
        if self.tty_out:
            self.out.write("\x1b[?1049h\x1b[?25l")  # the alternate screen, no cursor: the user's scrollback stays
            self.out.flush()
        return self

    def __exit__(self, *exc) -> None:
        if self.tty_out:
            self.out.write("\x1b[?25h\x1b[?1049l")
            self.out.flush()
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.keys.fileno(), termios.TCSADRAIN, self._saved)

    def size(self) -> tuple[int, int]:
        try:
            size = os.get_terminal_size(self.out.fileno())
            return size.lines, size.columns
        except (OSError, ValueError):
            return 40, 100

    def draw(self, lines: list[str]) -> None:
        # Home, then each line over the last one, cleared to its end: redrawn in place, without flicker.
        self.out.write("\x1b[H" + "\n".join(ln + "\x1b[K" for ln in lines) + "\x1b[J")
        self.out.flush()

    def read_keys(self) -> str:
        try:
            return os.read(self.keys.fileno(), 64).decode("utf-8", "replace")
        except (BlockingIOError, InterruptedError):
            return ""


def watch(lab: Lab, root: Path, *, poll: bool = False, out: TextIO | None = None, keys: TextIO | None = None,
          check: Callable | None = None) -> int:
    """Watch ``root`` until ``q``: returns the number of checks run."""
    from .trainee import check_workspace

    out = out or sys.stdout
    keys = keys or sys.stdin
    check = check or (lambda: check_workspace(lab, root))
    watcher = Watcher(root, poll=poll)
    screen = Screen(lab, root, mode=watcher.mode, note=watcher.note)
    color = out.isatty() and "NO_COLOR" not in os.environ

    with _Terminal(out, keys) as term:

        def draw() -> None:
            screen.mode, screen.note = watcher.mode, watcher.note
            if term.tty_out:
                rows, columns = term.size()
                term.draw(compose(screen, rows, columns, color=color))

        def run(why: str) -> None:
            screen.busy = why
            draw()
            try:
                done = check()
                screen.tests, screen.result, screen.error = done.tests, done.result, ""
                screen.notes = done.notes
            except IclabError as exc:
                screen.error = str(exc)
            screen.busy, screen.why = "", why
            screen.runs += 1
            screen.when = dt.datetime.now().strftime("%H:%M:%S")
            if not term.tty_out:  # a log, not a screen: print each run whole
                tests = screen.tests
                head = f"--- run {screen.runs} at {screen.when} ({why})"
                body = screen.error or (
                    (f"visible tests: {tests.passed} passed, {tests.failed + tests.errors} failed ({tests.summary})\n"
                     if tests is not None else "") + to_text(screen.result))
                out.write(f"{head}\n{body}\n")
                out.flush()
            draw()

        try:
            run("first run")
            size = term.size()
            while True:
                ready = [f for f in (watcher.fileno(), keys.fileno() if term.tty_in else None) if f is not None]
                readable, _, _ = select.select(ready, [], [], watcher.timeout())
                if term.tty_in and keys.fileno() in readable:
                    for key in term.read_keys().lower():
                        if key == "q":
                            return screen.runs
                        if key == "c":
                            run("c pressed")
                        elif key == "h":
                            try:
                                screen.hint = hints.next_hint(lab)
                            except IclabError as exc:
                                screen.error = str(exc)
                            draw()
                changed = watcher.changes()
                if changed:
                    deadline = watcher.clock() + _SETTLE_SECONDS
                    while watcher.clock() < deadline:  # let the rest of the save land, then check once
                        select.select([f for f in (watcher.fileno(),) if f is not None], [], [],
                                      max(0.0, deadline - watcher.clock()))
                        changed |= watcher.changes()
                    names = sorted(changed)
                    run(f"{names[0]} saved" + (f" and {len(names) - 1} more" if len(names) > 1 else ""))
                if term.size() != size:
                    size = term.size()
                    draw()
        except KeyboardInterrupt:
            return screen.runs
        finally:
            watcher.close()
