"""Read what the harness reports for each record, and scan it for leaks without repeating a secret."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from ...evidence import show
from .records import Case

__all__ = ["LEAK_LABEL", "Output"]

# Quoted, because iclab masks whatever follows "key=" or "Bearer " in evidence, and a
# quote is where its patterns stop: the label stays visible where the leak was.
LEAK_LABEL = '"<LEAKED {}>"'


@dataclass(frozen=True)
class Output:
    """What one hidden record became, as the harness reported it (untrusted, so shape-checked)."""

    kept: bool
    error: str | None
    message: str | None
    extras: dict
    line: str | None
    line_error: str | None
    mutated: bool

    @property
    def rendered(self) -> str:
        """Message and extras as one text to scan: what a log reader would see."""
        if not self.extras:
            return self.message or ""
        return f"{self.message or ''}\n{json.dumps(self.extras, default=_render, ensure_ascii=False, sort_keys=True)}"


def _render(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)


def _outputs(record, data) -> tuple[list[Output] | None, str]:
    """The harness's answer as Outputs, or None and a reason for the learner."""
    if not record.ok:
        return None, f"logging through your PiiFilter and JsonFormatter failed: {record.problem()}"
    value = record.value
    if not isinstance(value, list) or len(value) != len(data.cases) or not all(isinstance(v, dict) for v in value):
        return None, "the logging harness gave an unreadable answer (was it replaced from your code?)"
    out = []
    for v in value:
        text = lambda k: v.get(k) if isinstance(v.get(k), str) else None  # noqa: E731
        extras = v.get("extras") if isinstance(v.get("extras"), dict) else {}
        out.append(Output(v.get("kept") is True, text("error"), text("message"), extras, text("line"),
                          text("line_error"), v.get("mutated") is not False))
    return out, ""


# -- reading the output -------------------------------------------------------
def _problem(out: Output) -> str | None:
    """Why a record cannot be read at all, or None."""
    if out.error:
        return f"your filter raised {out.error}"
    if not out.kept:
        return "the record was dropped: filter() must return True and mask, never discard"
    return None


def _hide_leaks(text: str, case: Case) -> str:
    """The offending text with every planted secret replaced by a label, so evidence never repeats one."""
    for secret in case.secrets:
        for piece in sorted({secret.value, *secret.fragments}, key=lambda p: (-len(p), p)):
            text = text.replace(piece, LEAK_LABEL.format(secret.kind))
    return text


def _excerpt(text: str, needle: str, width: int = 150) -> str:
    text = " ".join(text.split())
    at = max(0, text.find(needle) - width // 3) if needle in text else 0
    cut = text[at:at + width]
    return ("..." if at else "") + cut + ("..." if at + width < len(text) else "")


def _leaks(out: Output, case: Case, kinds) -> list:
    text = out.rendered
    return [s for s in case.secrets if s.kind in kinds and any(f in text for f in s.fragments)]


def _lost_context(out: Output, case: Case) -> list[str]:
    return [w for w in case.context if w not in (out.message or "")]


def _case_rows(pairs, kinds, *, context: bool = True):
    """Mismatch rows for records leaking a secret of ``kinds`` (or losing their context words)."""
    rows, judged = [], 0
    for out, case in pairs:
        wanted = [s for s in case.secrets if s.kind in kinds]
        if not wanted:
            continue
        judged += 1
        problem = _problem(out)
        if problem:
            rows.append((case.label, [problem]))
            continue
        leaked = _leaks(out, case, kinds)
        lines = []
        if leaked:
            shown = _hide_leaks(out.rendered, case)
            lines.append(f"leaked {', '.join(sorted({s.kind for s in leaked}))}: {_excerpt(shown, LEAK_LABEL[:8])}")
        lost = _lost_context(out, case) if context else []
        if lost:
            lines.append(f"over-masked: {show(lost[0], 40)} is gone from {show(_hide_leaks(out.message or '', case), 90)}")
        if lines:
            rows.append((f"{case.label} ({case.where})", lines))
    return rows, judged
