"""What the learner's map-customer code answered, checked for shape before anything reads it.

Every value that crosses the wire is untrusted: ``map_account`` may return a float, raise a
``Rejected`` whose ``.code`` is a list, or ``map_batch`` may return a dict of strings. ``answer``
turns a call record into one of three plain kinds, and the helpers below never index a value
whose type they have not checked, so a wrong type becomes a reason, never an internal error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ...evidence import show as _show

__all__ = ["Answer", "answer", "kind_of", "show", "label", "same"]


def kind_of(value) -> str:
    """``a float``, ``None``, ``a list``: the type of a value as a learner reads it."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"


def show(value, limit: int = 60) -> str:
    """``evidence.show``, also for values too deep for json (they come back as their type)."""
    try:
        return _show(value, limit)
    except (RecursionError, MemoryError):
        return f"<{kind_of(value)} nested too deep to show>"


def same(a, b) -> bool:
    """Equality that a NaN or a deeply nested value cannot turn into an exception."""
    try:
        return bool(a == b)
    except (RecursionError, TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Answer:
    """One ``map_account`` call: a customer dict, a ``Rejected`` with text code and field, or an error."""

    kind: str  # customer | rejected | error
    customer: dict | None = None
    code: str = ""
    field: str = ""
    message: str = ""
    text: str = ""  # for an error: one line for the learner

    def describe(self) -> str:
        if self.kind == "customer":
            return f"returned a customer {show(self.customer, 70)}"
        if self.kind == "rejected":
            return f"raised Rejected({self.code!r}, {self.field!r})"
        return self.text


def answer(record, function: str = "map_account") -> Answer:
    """The record of one call as an ``Answer``; wrong types become errors with a reason."""
    if record.ok:
        value = record.value
        if isinstance(value, dict):
            return Answer("customer", customer=value)
        if isinstance(value, float) and math.isnan(value):
            return Answer("error", text=f"{function}() returned NaN; a dict was expected")
        return Answer("error", text=f"{function}() returned {kind_of(value)}; a dict was expected")
    error = record.error
    if error is not None and error.type == "Rejected" and error.stage == "call":
        attrs = error.attrs if isinstance(error.attrs, dict) else {}
        code, field = attrs.get("code"), attrs.get("field")
        if isinstance(code, str) and isinstance(field, str):
            return Answer("rejected", code=code, field=field, message=str(error.message))
        return Answer("error", text=f"{function}() raised Rejected whose .code and .field are not both strings "
                                    f"(code {show(code, 30)}, field {show(field, 30)})")
    return Answer("error", text=record.problem() or f"{function}() failed")


def label(account: dict, note: str = "") -> str:
    """How a case is named in evidence: its AccountId, and the edge class it stands for."""
    ident = account.get("AccountId")
    ident = ident.strip() if isinstance(ident, str) and ident.strip() else "<blank AccountId>"
    return f"{ident} ({note})" if note else ident
