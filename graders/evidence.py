"""Small, readable expected-vs-actual evidence for learners.

Every value ``show`` renders is grading data: hidden inputs and fixtures are
generated, and what the submission returned was computed from them. So ``show``
marks its text synthetic (``masking.synthetic``): the results show e-mails,
phones and cards in it whole, the digits a learner must compare included, and
still mask any secret (a token, a password, a key) in it. Free text a check
writes around it (a learner's printed output, an exception message) stays
masked whole.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from .masking import synthetic

__all__ = ["show", "field_diff", "mismatch_table", "MAX_LINES"]

MAX_LINES = 6


def show(value: Any, limit: int = 120) -> str:
    """A compact one-line rendering of a value, marked as grading data (see the module docstring)."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        try:
            text = repr(value)
        except RecursionError:  # a value nested past the recursion limit: name it, never crash a check
            text = f"<a {type(value).__name__} nested too deep to show>"
    return synthetic(text if len(text) <= limit else text[: limit - 3] + "...")


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
