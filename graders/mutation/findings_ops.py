"""Mutants of a TOML findings file: a cause, a citation or a flag changed, an item left out.

Findings are what an analyst hands over; the grader judges their structured
part exactly. A mutant changes one judged thing: a boolean flipped, a value
without spaces (a category, a cited correlation id, a timestamp, a source)
replaced by another value the same key takes elsewhere in the file or by a
near miss of itself, one cited item (an inline table in an array) or one
whole finding (a table) left out. Prose (strings with spaces) is for a person
to read and is not mutated. Every mutant is still valid TOML.
"""
from __future__ import annotations

import re
import tomllib

from .model import Mutant, dedupe, make_mutant

__all__ = ["findings_mutants"]

_PAIR = re.compile(r'(?P<key>[A-Za-z_][\w-]*)\s*=\s*(?:"(?P<str>[^"\\\n]*)"|(?P<bool>true|false)\b)')
_INLINE = re.compile(r"\{[^{}\n]*\}")
_TABLE = re.compile(r"^\[(?P<name>[^\[\]\n]+)\][ \t]*$", re.M)


def _in_comment(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    quoted = False
    for ch in text[line_start:pos]:
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:
            return True
    return False


def _near_miss(value: str) -> str:
    """The value with its last letter or digit changed (a citation one character off)."""
    for i in range(len(value) - 1, -1, -1):
        ch = value[i]
        if ch.isdigit():
            return value[:i] + str((int(ch) + 1) % 10) + value[i + 1:]
        if ch.isalpha():
            nxt = "a" if ch.lower() == "z" else chr(ord(ch.lower()) + 1)
            return value[:i] + (nxt.upper() if ch.isupper() else nxt) + value[i + 1:]
    return value + "x"


def findings_mutants(file: str, text: str) -> list[Mutant]:
    """Every mutant of one TOML findings file that still parses."""
    pairs = [m for m in _PAIR.finditer(text) if not _in_comment(text, m.start())]
    values_of: dict[str, list[str]] = {}
    for m in pairs:
        if m.group("str") is not None and not any(c.isspace() for c in m.group("str")):
            values_of.setdefault(m.group("key"), [])
            if m.group("str") not in values_of[m.group("key")]:
                values_of[m.group("key")].append(m.group("str"))
    found = []

    def edit(operator: str, start: int, end: int, new: str) -> None:
        found.append(make_mutant(file, operator, text, text[:start] + new + text[end:]))

    for m in pairs:
        if m.group("bool") is not None:
            edit("findings-flag", m.start("bool"), m.end("bool"), "false" if m.group("bool") == "true" else "true")
            continue
        value = m.group("str")
        if not value or any(c.isspace() for c in value):
            continue  # prose, for a person to read
        others = [v for v in values_of[m.group("key")] if v != value][:2]
        for other in others:
            edit("findings-value", m.start("str"), m.end("str"), other)
        if not others or m.group("key") not in ("category", "kind", "source"):
            edit("findings-value", m.start("str"), m.end("str"), _near_miss(value))
    for m in _INLINE.finditer(text):
        if _in_comment(text, m.start()):
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.end())
        line_end = len(text) if line_end < 0 else line_end + 1
        if text[line_start:m.start()].strip() == "" and text[m.end():line_end].strip() in ("", ","):
            edit("findings-dropped-item", line_start, line_end, "")  # the item on a line of its own
        else:
            tail = re.match(r"\s*,\s*", text[m.end():])
            edit("findings-dropped-item", m.start(), m.end() + (tail.end() if tail else 0), "")
    tables = list(_TABLE.finditer(text))
    for i, m in enumerate(tables):
        end = tables[i + 1].start() if i + 1 < len(tables) else len(text)
        edit("findings-dropped-entry", m.start(), end, "")
    return dedupe([m for m in found if m is not None and _parses(m.source)])


def _parses(text: str) -> bool:
    try:
        tomllib.loads(text)
        return True
    except tomllib.TOMLDecodeError:
        return False
