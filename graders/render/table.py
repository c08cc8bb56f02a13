"""Plain fixed-width tables for the terminal.

Columns line up by what a terminal shows: CJK and other wide characters take
two columns, combining marks none; a cell's line breaks and control characters
are shown as one visible mark, so a row stays one line (gradebook reasons and
problems hold several lines).
"""
from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"\r\n|[\x00-\x1f\x7f]")


def _flat(cell: str) -> str:
    return _CONTROL.sub(lambda m: " ↵ " if m.group() in ("\n", "\r\n") else "\ufffd", cell)


def _width(text: str) -> int:
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(headers: list[str], rows: list[list[str]]) -> str:
    rows = [[_flat(cell) for cell in row] for row in rows]
    widths = [_width(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], _width(cell))

    def fmt(row):
        return "  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)).rstrip()
    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    lines += [fmt(r) for r in rows]
    return "\n".join(lines) + "\n"
