"""Judging pii-logging's evidence: mask_text's lines, the filter's records, the formatter's lines.

Each layer is judged on its own terms. mask_text's checks read what
mask_text returned. The filter's checks compare what the filter left on a
record with what the contract builds from the learner's *own* mask_text
(``record.msg`` = mask_text(message), strings of extras through mask_text,
sensitive keys "***"), so a regex bug is charged once, by its kind's check,
and not again by the filter's. The formatter is fed records straight from
the grader, so a filter bug never costs it points.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from ...evidence import show
from .output import LEAK_LABEL, excerpt, hide
from .planted import runs
from .records import SENSITIVE_KEYS, Obj

__all__ = ["text_rows", "safe_rows", "marker_rows", "handled_kinds", "expected_extra", "Unjudgeable", "same",
           "first_difference", "as_sent", "expected_line", "expected_ts", "hide_values"]


class Unjudgeable(Exception):
    """The contract's output depends on a mask_text answer that failed (charged by mask_text's checks)."""


# -- mask_text ------------------------------------------------------------------
def _leaked(masked: str, secrets) -> list:
    return [s for s in secrets if any(f in masked for f in s.fragments)]


def text_rows(texts, masked, kind: str):
    """Rows for lines holding a secret of ``kind`` that leak it or lose the text around it."""
    rows, judged = [], 0
    for text, m in zip(texts, masked):
        wanted = [s for s in text.secrets if s.kind == kind]
        if not wanted or (m.problem and text.charged != kind):
            continue  # a crash on a line is charged once, to the check that owns the line
        judged += 1
        if m.problem:
            rows.append((text.label, [m.problem]))
            continue
        lines = []
        if _leaked(m.value, wanted):
            shown = hide(m.value, text.secrets)
            lines.append(f"leaked: {excerpt(shown, LEAK_LABEL[:8])}")
        lost = [c for c in text.chunks(kind) if c not in m.value]
        if lost:
            lines.append(f"over-masked: {show(lost[0].strip(), 40)} is gone from {show(hide(m.value, text.secrets), 90)}")
        if lines:
            rows.append((text.label, lines))
    return rows, judged


def handled_kinds(texts, masked) -> set[str]:
    """Kinds of which mask_text masked at least one planted secret."""
    return {s.kind for text, m in zip(texts, masked) if m.value is not None
            for s in text.secrets if not _leaked(m.value, [s])}


def safe_rows(texts, masked, kind: str):
    """Rows for safe values of ``kind`` that did not survive verbatim."""
    rows, judged = [], 0
    for text, m in zip(texts, masked):
        if m.problem:
            if text.charged == kind:  # a crash on a line is charged once, to the check that owns the line
                judged += 1
                rows.append((text.label, [m.problem]))
            continue
        for value in (v for k, v in text.safe if k == kind):
            judged += 1
            if value not in m.value:
                rows.append((text.label, [f"expected {value!r} verbatim",
                                          f"got: {excerpt(hide(m.value, text.secrets), '', 120)}"]))
    return rows, judged


def marker_rows(texts, masked):
    """Rows for lines masked without a leak or lost text whose output still differs from the contract's."""
    rows, judged = [], 0
    for text, m in zip(texts, masked):
        if not text.secrets or m.problem or _leaked(m.value, text.secrets):
            continue
        if any(c not in m.value for c in text.chunks()) or any(v not in m.value for _, v in text.safe):
            continue  # lost text belongs to the kind's check, a lost safe value to keeps-*
        judged += 1
        if m.value != text.exact:
            rows.append((text.label, [f"expected {show(text.exact, 100)}",
                                      f"got      {show(hide(m.value, text.secrets), 100)}"]))
    return rows, judged


# -- PiiFilter --------------------------------------------------------------------
def expected_extra(value, key, masked: dict):
    """What the contract makes of one extra, given what the learner's mask_text returns for each string."""
    if isinstance(key, str) and key.lower() in SENSITIVE_KEYS:
        return "***"
    if isinstance(value, str):
        m = masked[value]
        if m.problem:
            raise Unjudgeable(m.problem)
        return m.value
    if isinstance(value, dict):
        return {k: expected_extra(v, k, masked) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(expected_extra(v, None, masked) for v in value)
    return as_sent(value)


def as_sent(value):
    """A value as the harness reports the caller's object when nothing changed it."""
    if isinstance(value, Obj):
        return value.shown
    if isinstance(value, dict):
        return {k: as_sent(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(as_sent(v) for v in value)
    return value


def same(a, b) -> bool:
    """Equal, and of the same types all the way down (True is not 1, a tuple is not a list)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def first_difference(want, got, path: str = "") -> tuple[str, object, object] | None:
    """The first place where ``got`` differs from ``want``: (path, wanted, got)."""
    if type(want) is not type(got):
        return path or "(the value)", want, got
    if isinstance(want, dict):
        for k in want:
            if k not in got:
                return f"{path}.{k}".lstrip("."), want[k], "<absent>"
            found = first_difference(want[k], got[k], f"{path}.{k}")
            if found:
                return found
        extra = sorted(set(got) - set(want), key=str)
        return (f"{path}.{extra[0]}".lstrip("."), "<absent>", got[extra[0]]) if extra else None
    if isinstance(want, (list, tuple)):
        if len(want) != len(got):
            return path or "(the value)", want, got
        for i, (x, y) in enumerate(zip(want, got)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if want == got else (path or "(the value)", want, got)


def hide_values(text: str, planted) -> str:
    """``text`` with each value planted in the filter's records (and its long pieces) replaced by a label."""
    for value in planted:
        for piece in sorted({value, *runs(value, 5)}, key=lambda p: (-len(p), p)):
            text = text.replace(piece, '"<SECRET>"')
    return text


# -- JsonFormatter ---------------------------------------------------------------
def expected_ts(created: float) -> str:
    moment = dt.datetime.fromtimestamp(created, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Obj):
        return value.text  # str() of a UUID or a path is its text
    return str(value)


def expected_line(record) -> dict:
    """The JSON object the contract's formatter writes for ``record``, parsed."""
    doc = {k: json.loads(json.dumps(v, default=_json_default)) for k, v in (record.extra or {}).items()}
    doc.update({"ts": expected_ts(record.created), "level": record.level, "logger": record.logger,
                "message": record.message})
    return doc
