"""Rubric items: what a lab asks a person to judge, and where the learner's answer to it is.

A lab declares them in ``lab.toml`` (validated by ``lab.schema.json``)::

    [[rubric]]
    id = "idempotent-creates"
    title = "Idempotent creates"
    criterion = 11
    prompt = "How would you make the ERP create calls idempotent ...?"
    answer = { file = "answers.md", section = "Idempotent creates" }     # a Markdown section
    # answer = { file = "findings.toml", fields = ["INC-*.escalation"] }  # or TOML text fields (* matches keys)
    points = 10
    dimension = "Integration fundamentals"
    levels = { 0 = "not addressed", 1 = "...", 2 = "names the idea", 3 = "...", 4 = "applies it to this case" }

A level is worth ``points * level / 4``. The answer file is never needed for
automatic grading: a submission without it grades as before, its rubric items
unanswered. :func:`capture` reads an answer out of a learner's folder, which
is untrusted: it follows no link, reads no device or pipe, reads a bounded
number of bytes and keeps a bounded number of characters, and masks secrets.
"""
from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..masking import mask
from ..results import Dimension

__all__ = ["LEVELS", "MAX_ANSWER_CHARS", "Answer", "RubricItem", "parse_rubric", "capture", "capture_all",
           "item_to_dict", "item_from_dict", "points_for"]

LEVELS = (0, 1, 2, 3, 4)
MAX_FILE_BYTES = 256 * 1024      # an answer file read beyond this is cut (a learner's file, not ours)
MAX_ANSWER_CHARS = 20_000        # characters kept per answer: a reviewer reads, a journal line stays small

_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")


@dataclass(frozen=True)
class RubricItem:
    """One thing a person scores on a 0-4 scale: its question, where the answer is, what it is worth."""

    id: str
    title: str
    prompt: str
    file: str
    section: str | None            # a Markdown heading's text, for a .md answer file
    fields: tuple[str, ...]        # dotted TOML paths of text fields (``*`` in a key matches), for a .toml file
    points: float
    dimension: Dimension
    levels: tuple[str, ...]        # descriptors of levels 0 to 4
    criterion: int | None = None   # the ticket's acceptance criterion that states it

    @property
    def where(self) -> str:
        """Where the answer is, in words: ``answers.md, section "Idempotent creates"``."""
        if self.section is not None:
            return f'{self.file}, section "{self.section}"'
        return f"{self.file}, {', '.join(self.fields)}"


@dataclass(frozen=True)
class Answer:
    """A learner's answer to one rubric item, as found in their submission."""

    text: str          # masked, at most MAX_ANSWER_CHARS
    answered: bool     # something besides the template's comments and whitespace
    note: str = ""     # why there is no answer, or that it was cut


def points_for(item_points: float, level: float) -> float:
    return round(item_points * level / 4, 2)


def parse_rubric(entries) -> tuple[RubricItem, ...]:
    """Rubric items from lab.toml's ``[[rubric]]`` tables (already schema-valid)."""
    out = []
    for e in entries or ():
        answer = e["answer"]
        out.append(RubricItem(
            id=e["id"], title=e["title"], prompt=e["prompt"].strip(), file=answer["file"],
            section=answer.get("section"), fields=tuple(answer.get("fields", ())), points=float(e["points"]),
            dimension=Dimension(e["dimension"]), levels=tuple(str(e["levels"][str(n)]).strip() for n in LEVELS),
            criterion=e.get("criterion")))
    return tuple(out)


def item_to_dict(item: RubricItem) -> dict:
    """The item as journaled with each grading: the gradebook and the review page never need lab.toml."""
    return {"id": item.id, "title": item.title, "prompt": item.prompt, "file": item.file, "section": item.section,
            "fields": list(item.fields), "points": item.points, "dimension": item.dimension.value,
            "levels": list(item.levels), "criterion": item.criterion}


def item_from_dict(doc: dict) -> RubricItem:
    levels = tuple(str(x) for x in doc.get("levels", ()))
    if len(levels) != len(LEVELS):
        raise ValueError("a rubric item needs five level descriptors")
    return RubricItem(id=str(doc["id"]), title=str(doc.get("title") or doc["id"]), prompt=str(doc.get("prompt", "")),
                      file=str(doc.get("file", "")), section=doc.get("section"),
                      fields=tuple(str(f) for f in doc.get("fields") or ()), points=float(doc["points"]),
                      dimension=Dimension(doc["dimension"]), levels=levels,
                      criterion=doc.get("criterion") if isinstance(doc.get("criterion"), int) else None)


# --------------------------------------------------------------------------- reading answers


def _read_untrusted(folder: Path, rel: str) -> tuple[str | None, str]:
    """The text of ``folder/rel`` (bounded, UTF-8 with replacements), or None and why not.

    No link is followed on the way (a folder submission could point answers.md at
    /etc/passwd), and only a regular file is read (a FIFO would block the batch).
    """
    parts = [p for p in rel.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        return None, f"{rel} is not a path inside the submission"
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None, "the submission folder cannot be read"
    try:
        for part in parts[:-1]:
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=fd)
            os.close(fd)
            fd = nxt
        try:
            leaf = os.open(parts[-1], flags, dir_fd=fd)
        except FileNotFoundError:
            return None, f"the submission has no {rel}"
        try:
            if not stat.S_ISREG(os.fstat(leaf).st_mode):
                return None, f"{rel} is not a regular file"
            with os.fdopen(leaf, "rb", closefd=False) as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        finally:
            os.close(leaf)
    except FileNotFoundError:
        return None, f"the submission has no {rel}"
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            return None, f"{rel} is a link or lies behind one; answers are read from regular files only"
        return None, f"{rel} cannot be read ({exc.strerror})"
    finally:
        os.close(fd)
    cut = len(data) > MAX_FILE_BYTES
    text = data[:MAX_FILE_BYTES].decode("utf-8", errors="replace").lstrip("\ufeff")
    return text, (f"{rel} is larger than {MAX_FILE_BYTES // 1024} KB; read up to there" if cut else "")


def markdown_section(text: str, heading: str) -> str | None:
    """The body of the first section titled ``heading`` (any level, case and spacing ignored), or None.

    The body runs to the next heading of the same or a higher level; lines inside
    fenced code blocks are never taken for headings.
    """
    want = " ".join(heading.split()).casefold()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    fence = None
    start = level = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            marker = stripped[:3]
            fence = None if fence == marker else (fence or marker)
            continue
        if fence:
            continue
        m = _HEADING.match(line)
        if not m:
            continue
        if start is not None and len(m.group(1)) <= level:
            return "\n".join(lines[start:i])
        if start is None and " ".join(m.group(2).split()).casefold() == want:
            start, level = i + 1, len(m.group(1))
    return None if start is None else "\n".join(lines[start:])


def toml_fields(doc: dict, pattern: str) -> list[tuple[tuple[int, ...], str, object]]:
    """Every value whose dotted path matches ``pattern`` (``INC-*.escalation``: ``*`` within a key).

    Returns (the keys' places in the document, the path, the value), in document order.
    """
    found: list[tuple[tuple[int, ...], str, object]] = [((), "", doc)]
    for part in pattern.split("."):
        step = []
        for place, path, node in found:
            if not isinstance(node, dict):
                continue
            for i, (key, value) in enumerate(node.items()):
                if fnmatch.fnmatchcase(key, part):
                    step.append(((*place, i), f"{path}.{key}" if path else key, value))
        found = step
    return found


def toml_field(doc: dict, path: str):
    """The value at a dotted path without wildcards (``INC-1.escalation``), or None."""
    node = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _finish(text: str, note: str = "") -> Answer:
    body = _COMMENT.sub("", text).strip()
    if not body:
        return Answer("", False, note or "left blank (only the template's comments)")
    if len(body) > MAX_ANSWER_CHARS:
        body = body[:MAX_ANSWER_CHARS]
        note = "; ".join(filter(None, [note, f"cut at {MAX_ANSWER_CHARS:,} characters"]))
    return Answer(mask(body), True, note)


def capture(item: RubricItem, folder: Path) -> Answer:
    """The learner's answer to ``item`` in the submission ``folder`` (never raises for what is in it)."""
    text, note = _read_untrusted(Path(folder), item.file)
    if text is None:
        return Answer("", False, note)
    if item.section is not None:
        body = markdown_section(text, item.section)
        if body is None:
            return Answer("", False, f'{item.file} has no section "{item.section}"')
        return _finish(body, note)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return Answer("", False, f"{item.file} is not valid TOML ({str(exc).splitlines()[0]})")
    found = []
    missing = []
    for n, pattern in enumerate(item.fields):
        matches = toml_fields(doc, pattern)
        if not matches:
            missing.append(pattern)
        for place, path, value in matches:
            if not isinstance(value, str):
                missing.append(f"{path} (a {type(value).__name__}, not text)")
            elif _COMMENT.sub("", value).strip():
                found.append((place, n, path, value.strip()))
    if not found:
        why = f"{item.file} has no {', '.join(missing)}" if missing else f"{', '.join(item.fields)} left blank"
        return Answer("", False, why)
    found.sort()  # document order: one incident's fields together
    single = len(found) == 1 and "*" not in "".join(item.fields)
    text = found[0][3] if single else "\n\n".join(f"[{path}]\n{value}" for _, _, path, value in found)
    return _finish(text, note)


def capture_all(items, folder: Path | None) -> list[dict]:
    """Each item with the answer found in ``folder`` (None: a refused lab, nothing to read), for the journal."""
    out = []
    for item in items:
        doc = item_to_dict(item)
        if folder is None:
            doc["answer"] = {"text": "", "answered": False, "note": "the submission was refused"}
        else:
            found = capture(item, folder)
            doc["answer"] = {"text": found.text, "answered": found.answered, "note": found.note}
        out.append(doc)
    return out
