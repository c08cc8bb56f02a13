"""Small, readable expected-vs-actual evidence for learners."""
from __future__ import annotations

import json
from typing import Any, Iterable

__all__ = ["show", "field_diff", "mismatch_table", "MAX_LINES"]

MAX_LINES = 6


def show(value: Any, limit: int = 120) -> str:
    """A compact one-line rendering of a value."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        try:
            text = repr(value)
        except RecursionError:  # a value nested past the recursion limit: name it, never crash a check
            text = f"<a {type(value).__name__} nested too deep to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def field_diff(expected: dict, actual: Any, fields: Iterable[str] | None = None) -> list[str]:
    """Lines naming each field whose value differs."""
    if not isinstance(actual, dict):
        return [f"expected an object, got {show(actual)}"]
    keys = list(fields) if fields is not None else sorted(set(expected) | set(actual))
    lines = []
    for key in keys:
        want = expected.get(key, "<absent>")
        got = actual.get(key, "<absent>")
        if want != got:
            lines.append(f"{key}: expected {show(want, 60)}, got {show(got, 60)}")
    return lines


def mismatch_table(rows: list[tuple[str, list[str]]], total: int) -> str:
    """Evidence for a set of cases: the first few mismatching ones, then a count."""
    out = []
    for label, lines in rows[:3]:
        out.append(f"case {label}:")
        out.extend("  " + ln for ln in lines[:3])
    if len(rows) > 3:
        out.append(f"... and {len(rows) - 3} more of {total} cases")
    return "\n".join(out[: MAX_LINES * 2])
